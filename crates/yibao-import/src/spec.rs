//! What each kind of file holds: its columns, how a row is checked and written, and how the
//! store's rows are written back out in the same format.

use crate::fields::{Fields, Reason};
use crate::ImportError;
use yibao_domain::DateTime;
use yibao_store::catalog::CatalogError;
use yibao_store::registry::RegistryError;
use yibao_store::{DbError, Tx};

/// Why a row could not be written: the row's own fault (reported, the import goes on), or the
/// store's (the import stops).
pub enum WriteError {
    Row(Reason),
    Fatal(DbError),
}

impl From<RegistryError> for WriteError {
    fn from(e: RegistryError) -> WriteError {
        match e {
            RegistryError::Db(db) => WriteError::Fatal(db),
            other => WriteError::Row(other.to_string()),
        }
    }
}

impl From<CatalogError> for WriteError {
    fn from(e: CatalogError) -> WriteError {
        match e {
            CatalogError::Db(db) => WriteError::Fatal(db),
            other => WriteError::Row(other.to_string()),
        }
    }
}

pub type Emit<'a, R> = dyn FnMut(&R) -> Result<(), ImportError> + 'a;

/// `Sync`: a spec and its records are read by the store's write body, which may run on
/// another thread.
pub trait Spec: Sync {
    type Rec: Sync;
    /// The columns, in the order exports write them.
    fn columns(&self) -> &'static [&'static str];
    /// Checks one row and builds the record.
    fn parse(&self, f: &Fields) -> Result<Self::Rec, Reason>;
    /// Keys that may appear only once in a file: (what the key is, its value).
    fn keys(&self, r: &Self::Rec) -> Vec<(&'static str, String)>;
    fn write(&self, tx: &mut dyn Tx, r: &Self::Rec, rid: i64, now: DateTime) -> Result<(), WriteError>;
    /// The record's values in `columns()` order; empty for none.
    fn values(&self, r: &Self::Rec) -> Vec<String>;
    /// Calls `emit` for every stored record, in a stable order.
    fn export(&self, tx: &mut dyn Tx, emit: &mut Emit<Self::Rec>) -> Result<(), ImportError>;
}

/// Export page size: large enough to be cheap, small enough to stream.
pub const EXPORT_PAGE: i64 = 1000;

pub fn opt_string<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(String::new, T::to_string)
}

pub fn flag(v: bool) -> String {
    if v { "1" } else { "0" }.to_owned()
}
