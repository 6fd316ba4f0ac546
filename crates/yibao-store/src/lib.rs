//! The store of yibao. [`db`] is the interface a database engine implements; the modules beside
//! it are repositories, each written once in portable SQL and proven on every backend by the
//! conformance suite (`yibao-store-tests`).

pub mod catalog;
pub mod db;
mod ids;
pub mod policy;
pub mod registry;
pub mod settlement;

pub use db::{Backend, DbError, Dialect, Row, Tx, TxEnd, Value};
pub use ids::IdGen;

use std::sync::Arc;

/// A handle on one database: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
    ids: Arc<IdGen>,
}

impl Store {
    pub fn new(backend: Arc<dyn Backend>) -> Store {
        Store { backend, ids: Arc::new(IdGen::new()) }
    }

    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    pub fn ids(&self) -> &IdGen {
        &self.ids
    }

    /// Runs `body` in one write transaction: committed if it returns `Ok`, rolled back (nothing
    /// written) if it returns `Err`. A backend may run `body` again after a transient failure,
    /// so it must not have effects outside the transaction.
    pub fn write<T, E: From<DbError>>(&self, mut body: impl FnMut(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let mut out: Option<Result<T, E>> = None;
        self.backend.write(&mut |tx| {
            let r = body(tx);
            let end = if r.is_ok() { TxEnd::Commit } else { TxEnd::Rollback };
            out = Some(r);
            Ok(end)
        })?;
        out.expect("backend returned Ok without running the body")
    }

    /// Runs `body` on a consistent read-only snapshot.
    pub fn read<T, E: From<DbError>>(&self, mut body: impl FnMut(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let mut out: Option<Result<T, E>> = None;
        self.backend.read(&mut |tx| {
            out = Some(body(tx));
            Ok(())
        })?;
        out.expect("backend returned Ok without running the body")
    }
}
