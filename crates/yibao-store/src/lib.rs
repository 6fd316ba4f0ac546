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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// A handle on one database: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
    ids: Arc<IdGen>,
    vault: Arc<Vault>,
    counters: Arc<Counters>,
}

/// What a store has run since it was made (see [`Store::counts`]), for tests that hold the
/// statements per request to a ceiling (`hospital` test `statements`). Differences of two
/// readings (`after - before`) count what ran in between. Transaction control is the backend's
/// count, shared by every store on that backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Statements the repositories ran (`execute`, `query`): each a round trip on PostgreSQL.
    /// A body run again after a serialization failure counts again.
    pub statements: u64,
    /// Transaction control the backend ran around them ([`Backend::control_statements`]).
    pub control: u64,
    /// Write and read transactions (bodies run).
    pub writes: u64,
    pub reads: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, o: Counts) -> Counts {
        Counts {
            statements: self.statements.saturating_sub(o.statements),
            control: self.control.saturating_sub(o.control),
            writes: self.writes.saturating_sub(o.writes),
            reads: self.reads.saturating_sub(o.reads),
        }
    }
}

/// Shared by a store's clones. A transaction counts its statements in a plain field and adds
/// them here once, when its body returns: two relaxed atomic adds per transaction.
#[derive(Debug, Default)]
struct Counters {
    statements: AtomicU64,
    writes: AtomicU64,
    reads: AtomicU64,
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
        Store { backend, ids: Arc::new(IdGen::new()), vault, counters: Arc::default() }
    }

    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The same database under another key ring (key rotation, tests).
    pub fn with_other_vault(&self, vault: Arc<Vault>) -> Store {
        Store { backend: self.backend.clone(), ids: self.ids.clone(), vault, counters: self.counters.clone() }
    }

    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    pub fn ids(&self) -> &IdGen {
        &self.ids
    }

    /// Statements and transactions run so far through this store and its clones.
    pub fn counts(&self) -> Counts {
        Counts {
            statements: self.counters.statements.load(Ordering::Relaxed),
            control: self.backend.control_statements(),
            writes: self.counters.writes.load(Ordering::Relaxed),
            reads: self.counters.reads.load(Ordering::Relaxed),
        }
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
            let mut vtx = VaultTx { tx, vault: &self.vault, statements: 0 };
            let r = body(&mut vtx);
            self.counted(&self.counters.writes, vtx.statements);
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
            let mut vtx = VaultTx { tx, vault: &self.vault, statements: 0 };
            out = Some(body(&mut vtx));
            self.counted(&self.counters.reads, vtx.statements);
            Ok(())
        })?;
        out.expect("backend returned Ok without running the body")
    }

    fn counted(&self, transactions: &AtomicU64, statements: u64) {
        transactions.fetch_add(1, Ordering::Relaxed);
        self.counters.statements.fetch_add(statements, Ordering::Relaxed);
    }
}

/// A backend transaction that also carries the store's vault and counts its statements.
struct VaultTx<'a> {
    tx: &'a mut dyn Tx,
    vault: &'a Arc<Vault>,
    statements: u64,
}

impl Tx for VaultTx<'_> {
    fn dialect(&self) -> Dialect {
        self.tx.dialect()
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.statements += 1;
        self.tx.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.statements += 1;
        self.tx.query(sql, params)
    }
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        self.statements += 1;
        self.tx.query_opt(sql, params)
    }
    fn vault(&self) -> Option<Arc<Vault>> {
        Some(self.vault.clone())
    }
}
