//! SQLite backend. One writer connection (SQLite allows one writer anyway, and `BEGIN IMMEDIATE`
//! takes the write lock up front so a transaction never fails half-way on `database is locked`)
//! shared by concurrent writers through group commit ([`group`]); a small pool of reader
//! connections that WAL lets run beside it. A write returns only once its COMMIT is synced to
//! disk, so an acknowledged settlement survives power loss; the sync is pipelined behind the
//! writer, and WAL checkpoints run between batches (see [`group`]).

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use yibao_store::{Backend, DbError, Dialect, Row, Tx, TxEnd, Value};

mod group;

/// Readers kept open for reuse; more may exist briefly under load. Generous, because a reader
/// opened past the pool is closed after one transaction, and a fresh connection pays for the
/// schema and every statement again: under a burst of concurrent reads that churn made reads
/// slower exactly when more of them waited. An idle connection costs little memory.
const READERS_MAX: usize = 64;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_schema", include_str!("../migrations/0001_schema.sql")),
    ("0002_msg_log_by_institution", include_str!("../migrations/0002_msg_log_by_institution.sql")),
    ("0003_lookup_indexes", include_str!("../migrations/0003_lookup_indexes.sql")),
];

#[derive(Debug)]
pub struct SqliteBackend {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Batching of the writers that share `writer`, and the syncs that make them durable.
    group: group::GroupCommit,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteBackend, DbError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Unavailable(format!("{}: {e}", dir.display())))?;
        }
        let writer = open_conn(&path, false)?;
        migrate(&writer)?;
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        Ok(SqliteBackend {
            path,
            writer: Mutex::new(writer),
            group: group::GroupCommit::new(wal.into()),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// (COMMITs issued, write bodies they carried, WAL syncs) so far: how well group commit
    /// batches.
    pub fn group_stats(&self) -> (u64, u64, u64) {
        self.group.stats()
    }

    fn take_reader(&self) -> Result<Connection, DbError> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => open_conn(&self.path, true),
        }
    }

    fn give_reader(&self, c: Connection) {
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < READERS_MAX {
            pool.push(c);
        }
    }
}

fn open_conn(path: &Path, read_only: bool) -> Result<Connection, DbError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let c = Connection::open_with_flags(path, flags)
        .map_err(|e| DbError::Unavailable(format!("{}: {e}", path.display())))?;
    let pragmas = if read_only {
        "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;"
    } else {
        // synchronous=NORMAL: COMMIT writes the WAL without syncing it; `group` syncs it before
        // any write returns or any reader answers. No automatic checkpoints, which run inside
        // a COMMIT: the writer runs one between batches every so often (see `group`); a WAL
        // grown past 64 MiB is cut back when it starts over. Savepoint journals stay in memory.
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
    };
    c.execute_batch(pragmas).map_err(map_err)?;
    // Query-planner stability: plans never depend on bound values. Without it SQLite marks a
    // statement like `… WHERE a = ?1 ORDER BY b DESC LIMIT 1` to be re-prepared whenever a
    // parameter is re-bound, so the statement cache saved nothing: re-parsing was a third of
    // the server's CPU under load. We keep no statistics tables, so no plan gets worse.
    c.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(map_err)?;
    c.set_prepared_statement_cache_capacity(256);
    Ok(c)
}

fn migrate(c: &Connection) -> Result<(), DbError> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(map_err)?;
    for (name, sql) in MIGRATIONS {
        let done: i64 = c
            .query_row("SELECT COUNT(*) FROM schema_migrations WHERE name = ?1", [name], |r| r.get(0))
            .map_err(map_err)?;
        if done > 0 {
            continue;
        }
        tracing::info!(migration = name, "applying");
        let body = format!(
            "BEGIN IMMEDIATE; {sql}\n; INSERT INTO schema_migrations VALUES ('{name}', strftime('%s','now')); COMMIT;"
        );
        if let Err(e) = c.execute_batch(&body) {
            let _ = c.execute_batch("ROLLBACK");
            return Err(map_err(e));
        }
    }
    Ok(())
}

pub(crate) fn map_err(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            DbError::Unique(msg.clone().unwrap_or_default())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
            ) =>
        {
            DbError::Unavailable(e.to_string())
        }
        _ => DbError::Other(e.to_string()),
    }
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// Binds `params` to `st`. Repositories write `$1`-style placeholders. SQLite reads `$1` as a
/// *named* parameter whose index is its order of first appearance, so `... $3 ... $1` must not
/// be bound by position: each parameter is bound by the number in its name, which means exactly
/// what `$1` means on PostgreSQL. (Binding by name rather than rewriting the SQL to `?1` spares
/// a string rewrite per statement on the hot path.)
/// The statement with `$n` placeholders written `?n`: SQLite binds `?n` to index n, so
/// parameters bind by position; `$n` is a *named* parameter to SQLite, whose index is its order
/// of first appearance, and mapping names to numbers cost a name lookup per parameter and call
/// (a tenth of the writer's time with multi-row inserts). Placeholders are the only `$` in our SQL.
fn positional(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) { '?' } else { c });
    }
    std::borrow::Cow::Owned(out)
}

fn bind(st: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<(), DbError> {
    let count = st.parameter_count();
    if count != params.len() {
        return Err(DbError::Other(format!("{} parameters given, the statement uses {count}", params.len())));
    }
    for (i, v) in params.iter().enumerate() {
        st.raw_bind_parameter(i + 1, Param(v)).map_err(map_err)?;
    }
    Ok(())
}

/// Runs one statement without parameters through the statement cache: transaction control runs
/// several times per request, and `execute_batch` would parse it anew every time.
pub(crate) fn exec(conn: &Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql).and_then(|mut st| st.raw_execute()).map(drop).map_err(map_err)
}

/// Starts the read transaction's snapshot with a read of the smallest table.
fn take_snapshot(conn: &Connection) -> Result<(), DbError> {
    let mut st = conn.prepare_cached("SELECT 1 FROM schema_migrations LIMIT 1").map_err(map_err)?;
    let mut rows = st.raw_query();
    rows.next().map_err(map_err)?;
    Ok(())
}

pub(crate) struct SqliteTx<'c>(pub(crate) &'c Connection);

impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut st = self.0.prepare_cached(&positional(sql)).map_err(map_err)?;
        bind(&mut st, params)?;
        let n = st.raw_execute().map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut st = self.0.prepare_cached(&positional(sql)).map_err(map_err)?;
        let ncol = st.column_count();
        bind(&mut st, params)?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            let mut vals = Vec::with_capacity(ncol);
            for i in 0..ncol {
                vals.push(match r.get_ref(i).map_err(map_err)? {
                    ValueRef::Null => Value::Int(None),
                    ValueRef::Integer(v) => Value::Int(Some(v)),
                    ValueRef::Text(t) => Value::Text(Some(String::from_utf8_lossy(t).into_owned())),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(DbError::Decode(format!("column {i}: only INTEGER and TEXT are stored")))
                    }
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn control_statements(&self) -> u64 {
        self.group.control.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Group commit (see [`group`]): the body runs inside its own SAVEPOINT of a transaction that
    /// may carry other writers' bodies too, and this returns only once that transaction's single
    /// COMMIT (one fsync for the whole batch) has succeeded, or with its error.
    fn write(&self, body: &mut (dyn FnMut(&mut dyn Tx) -> Result<TxEnd, DbError> + Send)) -> Result<(), DbError> {
        group::write(&self.group, &self.writer, body)
    }

    fn read(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), DbError>) -> Result<(), DbError> {
        let conn = self.take_reader()?;
        // BEGIN, the snapshot's read and COMMIT (or ROLLBACK): counted as transaction control.
        self.group.control.fetch_add(3, std::sync::atomic::Ordering::Relaxed);
        exec(&conn, "BEGIN")?;
        // Take the snapshot now (a deferred transaction takes it at its first read), then wait
        // until all it shows is durable: a reader never answers from a COMMIT not yet synced.
        if let Err(e) = take_snapshot(&conn).and_then(|()| self.group.barrier()) {
            let _ = exec(&conn, "ROLLBACK");
            self.give_reader(conn);
            return Err(e);
        }
        // On panic the reader is dropped (closed), never returned to the pool mid-transaction.
        let r = body(&mut SqliteTx(&conn));
        // A reader whose transaction did not end is closed, not pooled: its snapshot would keep
        // the WAL from starting over.
        if exec(&conn, "COMMIT").is_ok() {
            self.give_reader(conn);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteBackend;
    use yibao_store::{params, Backend, TxEnd, Value};

    /// Concurrent writers share COMMITs: fewer COMMITs than writes, and every write is there.
    #[test]
    fn concurrent_writers_are_batched() {
        let dir = std::env::temp_dir().join(format!("yibao-group-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = SqliteBackend::open(dir.join("g.db")).unwrap();
        db.write(&mut |tx| tx.execute("CREATE TABLE w (id BIGINT PRIMARY KEY)", &[]).map(|_| TxEnd::Commit)).unwrap();
        let before = db.group_stats();
        std::thread::scope(|s| {
            for t in 0..8i64 {
                let db = &db;
                s.spawn(move || {
                    for i in 0..50i64 {
                        db.write(&mut |tx| {
                            tx.execute("INSERT INTO w (id) VALUES ($1)", params![t * 100 + i])?;
                            // Long enough for the other threads to queue up behind this body.
                            std::thread::sleep(std::time::Duration::from_micros(100));
                            Ok(TxEnd::Commit)
                        })
                        .unwrap();
                    }
                });
            }
        });
        let (commits, bodies, syncs) = db.group_stats();
        let (commits, bodies, syncs) = (commits - before.0, bodies - before.1, syncs - before.2);
        assert!(syncs >= 1 && syncs <= commits, "{syncs} WAL syncs for {commits} COMMITs");
        assert_eq!(bodies, 400);
        assert!(commits < 300, "{commits} COMMITs for 400 concurrent writes: no batching");
        let mut n = 0;
        db.read(&mut |tx| {
            n = tx.query("SELECT COUNT(*) FROM w", &[])?[0].i64(0)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 400);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// When the WAL cannot be synced, the write is not acknowledged, and neither is any later
    /// one: what the OS kept of the WAL is then unknown.
    #[test]
    fn a_failed_wal_sync_acknowledges_nothing_more() {
        let dir = std::env::temp_dir().join(format!("yibao-sync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = SqliteBackend::open(dir.join("s.db")).unwrap();
        db.write(&mut |tx| tx.execute("CREATE TABLE w (id BIGINT PRIMARY KEY)", &[]).map(|_| TxEnd::Commit)).unwrap();
        // SQLite keeps writing through its open descriptor; the syncer, which opens the file by
        // name, finds it gone.
        std::fs::remove_file(dir.join("s.db-wal")).unwrap();
        let insert = |id: i64| {
            db.write(&mut |tx| tx.execute("INSERT INTO w (id) VALUES ($1)", params![id]).map(|_| TxEnd::Commit))
        };
        assert!(matches!(insert(1), Err(yibao_store::DbError::Unavailable(_))));
        assert!(matches!(insert(2), Err(yibao_store::DbError::Unavailable(_))));
        let read = db.read(&mut |tx| tx.query("SELECT id FROM w", &[]).map(drop));
        // Refused either by the sync barrier or by SQLite itself, which notices the missing WAL.
        assert!(read.is_err(), "a reader answered after a failed sync");
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A write started inside a write body is refused at once: it would otherwise queue behind
    /// the batch that is running it, and every writer would wait for ever.
    #[test]
    fn a_write_inside_a_write_is_refused() {
        let dir = std::env::temp_dir().join(format!("yibao-nested-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = SqliteBackend::open(dir.join("n.db")).unwrap();
        let mut inner = None;
        db.write(&mut |_| {
            inner = Some(db.write(&mut |_| Ok(TxEnd::Commit)));
            Ok(TxEnd::Commit)
        })
        .unwrap();
        assert!(matches!(inner, Some(Err(yibao_store::DbError::Other(ref m))) if m.contains("inside a write")));
        // And the writer goes on.
        db.write(&mut |_| Ok(TxEnd::Commit)).unwrap();
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `$n` means the n-th parameter wherever it appears, as on PostgreSQL.
    #[test]
    fn placeholders_bind_by_number() {
        let dir = std::env::temp_dir().join(format!("yibao-bind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = SqliteBackend::open(dir.join("b.db")).unwrap();
        let mut got = Vec::new();
        db.read(&mut |tx| {
            let r = tx.query("SELECT $3, $1, $2, $1", params![10i64, "b", 30i64])?;
            got = r[0].0.clone();
            assert!(tx.query("SELECT $1, $2", params![1i64]).is_err(), "too few parameters");
            assert!(tx.query("SELECT $1", params![1i64, 2i64]).is_err(), "too many parameters");
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![Value::from(30i64), Value::from(10i64), Value::from("b"), Value::from(10i64)]);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
