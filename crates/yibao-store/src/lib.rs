//! The store of yibao. [`db`] is the interface a database engine implements; the modules beside
//! it are repositories, each written once in portable SQL and proven on every backend by the
//! conformance suite (`yibao-store-tests`).

pub mod audit;
pub mod catalog;
pub mod credential;
pub mod db;
pub mod ecred;
mod ids;
pub mod msg_log;
pub mod operator;
pub mod policy;
pub mod registry;
pub mod settlement;

pub use db::{Backend, DbError, Dialect, Row, Tx, TxEnd, Value};
pub use ids::IdGen;
pub use yibao_crypto::Vault;

use std::sync::{Arc, OnceLock};

/// A handle on one database: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
    ids: Arc<IdGen>,
    vault: Arc<Vault>,
}

/// The key of stores made with [`Store::new`]: random, and gone when the process ends.
fn ephemeral_vault() -> Arc<Vault> {
    static V: OnceLock<Arc<Vault>> = OnceLock::new();
    V.get_or_init(|| Arc::new(Vault::from_hex_list(&Vault::generate_hex()).expect("a generated key is valid"))).clone()
}

impl Store {
    /// A store whose personal data is sealed under a random key that lives as long as this
    /// process (tests, examples). A platform that keeps its data uses [`Store::with_vault`].
    pub fn new(backend: Arc<dyn Backend>) -> Store {
        Store::with_vault(backend, ephemeral_vault())
    }

    /// A store sealing personal data under the configured key ring.
    pub fn with_vault(backend: Arc<dyn Backend>, vault: Arc<Vault>) -> Store {
        Store { backend, ids: Arc::new(IdGen::new()), vault }
    }

    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The same database under another key ring (key rotation, tests).
    pub fn with_other_vault(&self, vault: Arc<Vault>) -> Store {
        Store { backend: self.backend.clone(), ids: self.ids.clone(), vault }
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
    pub fn write<T: Send, E: From<DbError> + Send>(
        &self,
        mut body: impl FnMut(&mut dyn Tx) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        let mut out: Option<Result<T, E>> = None;
        self.backend.write(&mut |tx| {
            let r = body(&mut VaultTx { tx, vault: &self.vault });
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
            out = Some(body(&mut VaultTx { tx, vault: &self.vault }));
            Ok(())
        })?;
        out.expect("backend returned Ok without running the body")
    }
}

/// A backend transaction that also carries the store's vault.
struct VaultTx<'a> {
    tx: &'a mut dyn Tx,
    vault: &'a Arc<Vault>,
}

impl Tx for VaultTx<'_> {
    fn dialect(&self) -> Dialect {
        self.tx.dialect()
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.tx.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.tx.query(sql, params)
    }
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        self.tx.query_opt(sql, params)
    }
    fn vault(&self) -> Option<Arc<Vault>> {
        Some(self.vault.clone())
    }
}
