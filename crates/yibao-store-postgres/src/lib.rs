//! PostgreSQL backend, on the synchronous `postgres` crate.
//!
//! * A small pool of connections (`Mutex<Vec<_>>`), opened on demand and kept up to
//!   [`IDLE_MAX`] idle; a connection that failed at the connection level is dropped, and a
//!   pooled connection found dead when its transaction begins is replaced transparently.
//! * Each pooled connection caches its prepared statements by SQL text: the hot paths repeat the
//!   same statements, so they are parsed and planned once per connection.
//! * Parameters are prepared with the types the caller's [`Value`]s carry (`Int` → INT8,
//!   `Text` → TEXT) rather than inferred by the server, so `$1` means the same on every engine.
//! * Writers run in READ COMMITTED and serialize with `SELECT … FOR UPDATE`
//!   ([`Dialect::for_update`]); a transaction that fails with a serialization failure (40001) or a
//!   deadlock (40P01) is rolled back and its body run again, as the `Store::write` contract allows.
//! * Readers run in `REPEATABLE READ READ ONLY`: one consistent snapshot for the whole body.
//!
//! Unlike SQLite, PostgreSQL aborts the whole transaction when one statement fails: later
//! statements fail too, and a COMMIT would silently roll back. So a body that swallows a
//! statement error and asks to commit gets that first error back instead of a silent rollback.

use postgres::error::SqlState;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use yibao_store::{Backend, DbError, Dialect, Row, Tx, TxEnd, Value};

/// Connections kept open for reuse; more may exist briefly under load.
const IDLE_MAX: usize = 16;

/// Transactions in progress at once, across all threads; further callers wait their turn.
/// Why: PostgreSQL runs one process per connection, and on a small machine throughput falls
/// when more of them compete than there are cores (measured with `yibao bench` on 2 cores:
/// 128 settled visits/s with 4–16 concurrent transactions, 82/s with 32). Waiting here is
/// cheaper than contending there.
const ACTIVE_MAX: usize = 8;

/// Prepared statements kept per connection before the cache is cleared (guards against SQL
/// built dynamically, e.g. `IN (…)` lists of varying length).
const STMT_CACHE_MAX: usize = 512;

/// How many times a body is run again after a serialization failure or a deadlock.
const MAX_RETRIES: u32 = 5;

/// Key of the transaction-scoped advisory lock that serializes migrations across processes
/// ("yibao" in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x7969_6261_6f00_0001;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_schema", include_str!("../migrations/0001_schema.sql")),
    ("0002_msg_log_by_institution", include_str!("../migrations/0002_msg_log_by_institution.sql")),
    ("0003_lookup_indexes", include_str!("../migrations/0003_lookup_indexes.sql")),
];

const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// One pooled connection and its statement cache.
struct Conn {
    client: Client,
    stmts: HashMap<String, Statement>,
}

pub struct PgBackend {
    config: Config,
    idle: Mutex<Vec<Conn>>,
    /// Transactions in progress, bounded by [`ACTIVE_MAX`].
    active: Mutex<usize>,
    freed: std::sync::Condvar,
    /// BEGIN, COMMIT and ROLLBACK run so far ([`Backend::control_statements`]).
    control: AtomicU64,
}

impl fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the Config: it would print the password.
        f.debug_struct("PgBackend")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("user", &self.config.get_user())
            .field("idle", &self.idle.lock().map(|p| p.len()).unwrap_or(0))
            .finish()
    }
}

impl PgBackend {
    /// Connects to `url` (`postgres://user:pass@host:port/db` or `host=… user=… dbname=…`),
    /// applies pending migrations and keeps the connection for the pool.
    pub fn open(url: &str) -> Result<PgBackend, DbError> {
        let mut config: Config =
            url.parse().map_err(|e| DbError::Other(format!("invalid PostgreSQL connection string: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("yibao");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let backend = PgBackend {
            config,
            idle: Mutex::new(Vec::new()),
            active: Mutex::new(0),
            freed: std::sync::Condvar::new(),
            control: AtomicU64::new(0),
        };
        let mut conn = backend.connect()?;
        migrate(&mut conn.client)?;
        backend.give(conn);
        Ok(backend)
    }

    fn connect(&self) -> Result<Conn, DbError> {
        let client = self.config.connect(NoTls).map_err(|e| {
            let msg = match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                None => error_chain(&e),
            };
            DbError::Unavailable(format!(
                "cannot connect to PostgreSQL (hosts {:?}, database {:?}): {msg}",
                self.config.get_hosts(),
                self.config.get_dbname().unwrap_or_default()
            ))
        })?;
        Ok(Conn { client, stmts: HashMap::new() })
    }

    /// A connection from the pool, or a new one, with a transaction begun by `begin`. A pooled
    /// connection that turns out dead (server restarted, idle timeout) is dropped and replaced.
    fn begin(&self, begin: &str) -> Result<Conn, DbError> {
        loop {
            let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let was_pooled = pooled.is_some();
            let mut conn = match pooled {
                Some(c) => c,
                None => self.connect()?,
            };
            self.control.fetch_add(1, Ordering::Relaxed);
            match conn.client.batch_execute(begin) {
                Ok(()) => return Ok(conn),
                Err(e) => {
                    let err = map_err(&e);
                    if was_pooled && (conn.client.is_closed() || matches!(err, DbError::Unavailable(_))) {
                        tracing::debug!(error = %err, "dropping dead pooled PostgreSQL connection");
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Returns a connection to the pool unless it is dead or the pool is full.
    fn give(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut pool = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < IDLE_MAX {
            pool.push(conn);
        }
    }

    /// Ends the transaction with ROLLBACK and pools the connection if that worked.
    fn rollback(&self, mut conn: Conn) {
        self.control.fetch_add(1, Ordering::Relaxed);
        if conn.client.batch_execute("ROLLBACK").is_ok() {
            self.give(conn);
        }
    }

    fn commit(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        self.control.fetch_add(1, Ordering::Relaxed);
        conn.client.batch_execute("COMMIT")
    }

    /// Runs `body` in a transaction begun with `begin`, ending it as the body asks, and runs it
    /// again (after rolling back) when PostgreSQL reports a serialization failure or deadlock.
    /// Waits until fewer than [`ACTIVE_MAX`] transactions are in progress; the permit ends one.
    /// A thread already inside a transaction (a body that opens another) never waits, so
    /// nesting cannot deadlock on the bound.
    fn permit(&self) -> Permit<'_> {
        let nested = HELD.with(|h| h.get() > 0);
        let mut n = self.active.lock().unwrap_or_else(|p| p.into_inner());
        while !nested && *n >= ACTIVE_MAX {
            n = self.freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
        HELD.with(|h| h.set(h.get() + 1));
        Permit(self)
    }

    fn transact(
        &self,
        begin: &str,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<TxEnd, DbError>,
    ) -> Result<(), DbError> {
        let _permit = self.permit();
        let mut attempt = 0u32;
        loop {
            let mut conn = self.begin(begin)?;
            let mut tx = PgTx { conn: &mut conn, first_error: None, retryable: false };
            let end = body(&mut tx);
            let (first_error, mut retryable) = (tx.first_error.take(), tx.retryable);

            let result = if retryable {
                // Whatever the body decided, it decided on a transaction PostgreSQL refused.
                self.rollback(conn);
                Err(first_error.unwrap_or_else(|| DbError::Other("serialization failure".into())))
            } else {
                match end {
                    Ok(TxEnd::Commit) => match first_error {
                        Some(e) => {
                            self.rollback(conn);
                            Err(e)
                        }
                        None => match self.commit(&mut conn) {
                            Ok(()) => {
                                self.give(conn);
                                Ok(())
                            }
                            Err(e) => {
                                // A failed COMMIT has ended the transaction; a connection error
                                // leaves its outcome unknown, so only server-reported
                                // serialization failures are retried.
                                retryable = is_retryable(&e);
                                let err = map_err(&e);
                                self.give(conn);
                                Err(err)
                            }
                        },
                    },
                    Ok(TxEnd::Rollback) => {
                        self.rollback(conn);
                        Ok(())
                    }
                    Err(e) => {
                        self.rollback(conn);
                        Err(e)
                    }
                }
            };

            match result {
                Err(e) if retryable => {
                    if attempt >= MAX_RETRIES {
                        return Err(DbError::Unavailable(format!("{e} (gave up after {} attempts)", attempt + 1)));
                    }
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "transaction conflict, running the body again");
                    std::thread::sleep(backoff(attempt));
                }
                other => return other,
            }
        }
    }
}

/// A place among the [`ACTIVE_MAX`] transactions in progress, given back on drop (a panicking
/// body included).
struct Permit<'a>(&'a PgBackend);

thread_local! {
    /// Permits held by this thread (see [`PgBackend::permit`]).
    static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        HELD.with(|h| h.set(h.get().saturating_sub(1)));
        let mut n = self.0.active.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

/// 2, 4, 8, 16, 32 ms, plus up to as much again of jitter so that colliding writers spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 1u64 << attempt.min(10);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let jitter_us = nanos % (base * 1000);
    Duration::from_micros(base * 1000 + jitter_us)
}

fn migrate(client: &mut Client) -> Result<(), DbError> {
    for &(name, sql) in MIGRATIONS {
        let fail = |e: postgres::Error| match map_err(&e) {
            DbError::Other(m) => DbError::Other(format!("migration {name}: {m}")),
            other => other,
        };
        let mut tx = client.transaction().map_err(fail)?;
        // Held until this transaction ends: a second process starting at the same moment waits
        // here, then sees the migration recorded.
        tx.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
             CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);"
        ))
        .map_err(fail)?;
        let done = tx.query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[&name]).map_err(fail)?.is_some();
        if !done {
            tracing::info!(migration = name, "applying");
            tx.batch_execute(sql).map_err(fail)?;
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))",
                &[&name],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

fn is_retryable(e: &postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

fn map_err(e: &postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let msg = db.message().to_owned();
        // The message names the constraint; the DETAIL would carry the key's values, which may
        // be personal data, so it is left out (SQLite's messages carry none either).
        if *code == SqlState::UNIQUE_VIOLATION {
            return DbError::Unique(msg);
        }
        let c = code.code();
        if c.starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
        {
            return DbError::Unavailable(format!("{msg} (SQLSTATE {c})"));
        }
        return DbError::Other(format!("{msg} (SQLSTATE {c})"));
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        DbError::Unavailable(error_chain(e))
    } else {
        DbError::Other(error_chain(e))
    }
}

/// The error and its causes: `postgres::Error` displays only its kind ("error connecting to
/// server", "error serializing parameter 0"), the reason is in its source.
pub fn error_chain(e: &postgres::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}

/// A [`Value`] bound as a parameter of the type it carries.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Int(None) | Value::Text(None) => Ok(IsNull::Yes),
            Value::Int(Some(v)) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                _ => Err(format!("integer parameter bound to a {ty} column").into()),
            },
            Value::Text(Some(s)) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn param_type(v: &Value) -> Type {
    match v {
        Value::Int(_) => Type::INT8,
        Value::Text(_) => Type::TEXT,
    }
}

#[derive(Clone, Copy)]
enum Decode {
    I64,
    I32,
    I16,
    Text,
    Bool,
}

struct PgTx<'c> {
    conn: &'c mut Conn,
    /// The first statement error: PostgreSQL refuses everything after it until ROLLBACK.
    first_error: Option<DbError>,
    /// A statement failed with 40001 or 40P01: the body must run again.
    retryable: bool,
}

impl PgTx<'_> {
    /// The cached statement for `sql` prepared with the types of `params`, preparing it if needed.
    fn statement(&mut self, sql: &str, params: &[Value]) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.conn.stmts.get(sql) {
            let same =
                st.params().len() == params.len() && st.params().iter().zip(params).all(|(t, v)| *t == param_type(v));
            if same {
                return Ok(st.clone());
            }
        }
        let types: Vec<Type> = params.iter().map(param_type).collect();
        let st = self.conn.client.prepare_typed(sql, &types)?;
        if self.conn.stmts.len() >= STMT_CACHE_MAX {
            self.conn.stmts.clear();
        }
        self.conn.stmts.insert(sql.to_owned(), st.clone());
        Ok(st)
    }

    /// Maps a statement's error, remembering it if it aborted the server-side transaction
    /// (errors raised on this side, e.g. a parameter out of range, leave it usable).
    fn failed(&mut self, e: &postgres::Error) -> DbError {
        let err = map_err(e);
        if is_retryable(e) {
            self.retryable = true;
        }
        if self.first_error.is_none() && (e.as_db_error().is_some() || e.is_closed()) {
            self.first_error = Some(err.clone());
        }
        err
    }

    fn try_execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, postgres::Error> {
        let st = self.statement(sql, params)?;
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.conn.client.execute(&st, &refs)
    }

    fn try_query(&mut self, sql: &str, params: &[Value]) -> Result<Result<Vec<Row>, DbError>, postgres::Error> {
        let st = self.statement(sql, params)?;
        let mut decoders = Vec::with_capacity(st.columns().len());
        for c in st.columns() {
            decoders.push(match *c.type_() {
                Type::INT8 => Decode::I64,
                Type::INT4 => Decode::I32,
                Type::INT2 => Decode::I16,
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Decode::Text,
                Type::BOOL => Decode::Bool,
                ref other => {
                    return Ok(Err(DbError::Decode(format!(
                        "column {:?} has type {other}: only BIGINT and TEXT are stored; CAST it to BIGINT (e.g. CAST(SUM(x) AS BIGINT))",
                        c.name()
                    ))))
                }
            });
        }
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.conn.client.query(&st, &refs)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut vals = Vec::with_capacity(decoders.len());
            for (i, d) in decoders.iter().enumerate() {
                vals.push(match d {
                    Decode::I64 => Value::Int(r.try_get::<_, Option<i64>>(i)?),
                    Decode::I32 => Value::Int(r.try_get::<_, Option<i32>>(i)?.map(i64::from)),
                    Decode::I16 => Value::Int(r.try_get::<_, Option<i16>>(i)?.map(i64::from)),
                    Decode::Text => Value::Text(r.try_get::<_, Option<String>>(i)?),
                    Decode::Bool => Value::Int(r.try_get::<_, Option<bool>>(i)?.map(i64::from)),
                });
            }
            out.push(Row(vals));
        }
        Ok(Ok(out))
    }
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.try_execute(sql, params).map_err(|e| self.failed(&e))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.try_query(sql, params).map_err(|e| self.failed(&e))?
    }
}

impl Backend for PgBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn write(&self, body: &mut (dyn FnMut(&mut dyn Tx) -> Result<TxEnd, DbError> + Send)) -> Result<(), DbError> {
        self.transact(BEGIN_WRITE, body)
    }

    fn read(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), DbError>) -> Result<(), DbError> {
        // Read-only: ROLLBACK and COMMIT are the same, and a swallowed error loses nothing.
        self.transact(BEGIN_READ, &mut |tx| body(tx).map(|()| TxEnd::Rollback))
    }

    fn control_statements(&self) -> u64 {
        self.control.load(Ordering::Relaxed)
    }
}
