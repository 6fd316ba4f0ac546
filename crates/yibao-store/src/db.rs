//! The narrow waist between repositories and database engines. Repositories speak portable SQL
//! (`$n` placeholders, BIGINT and TEXT only, `ON CONFLICT`, `RETURNING`) through [`Tx`]; each
//! backend crate supplies connections, transactions, its dialect and its migrations.
//!
//! Why not an ORM or `sqlx::Any`: a ledger needs exact control of the SQL and of locking, and we
//! store only integers and text, so a two-variant value type is all the abstraction needed.

use std::fmt;

/// A bound parameter or a column value. Both variants carry their type even when NULL, because
/// PostgreSQL checks parameter types strictly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(Some(v as i64))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(Some(v as i64))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        Value::Text(v.map(str::to_owned))
    }
}
impl From<yibao_domain::Fen> for Value {
    fn from(v: yibao_domain::Fen) -> Value {
        Value::Int(Some(v.0))
    }
}
impl From<yibao_domain::Date> for Value {
    fn from(v: yibao_domain::Date) -> Value {
        Value::Int(Some(v.days() as i64))
    }
}
impl From<Option<yibao_domain::Date>> for Value {
    fn from(v: Option<yibao_domain::Date>) -> Value {
        Value::Int(v.map(|d| d.days() as i64))
    }
}
impl From<yibao_domain::DateTime> for Value {
    fn from(v: yibao_domain::DateTime) -> Value {
        Value::Int(Some(v.0))
    }
}

/// Builds a parameter slice: `params![a, b]` → `&[Value::from(a), Value::from(b)]`.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::db::Value::from($v)),*][..] };
}

/// One result row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn i64(&self, i: usize) -> Result<i64, DbError> {
        self.opt_i64(i)?.ok_or_else(|| DbError::Decode(format!("column {i} is NULL")))
    }
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            Some(Value::Text(None)) => Ok(None),
            other => Err(DbError::Decode(format!("column {i}: expected integer, got {other:?}"))),
        }
    }
    pub fn str(&self, i: usize) -> Result<String, DbError> {
        self.opt_str(i)?.ok_or_else(|| DbError::Decode(format!("column {i} is NULL")))
    }
    pub fn opt_str(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            Some(Value::Int(None)) => Ok(None),
            other => Err(DbError::Decode(format!("column {i}: expected text, got {other:?}"))),
        }
    }
    pub fn fen(&self, i: usize) -> Result<yibao_domain::Fen, DbError> {
        self.i64(i).map(yibao_domain::Fen)
    }
    pub fn date(&self, i: usize) -> Result<yibao_domain::Date, DbError> {
        self.i64(i).map(|d| yibao_domain::Date::from_days(d as i32))
    }
    pub fn opt_date(&self, i: usize) -> Result<Option<yibao_domain::Date>, DbError> {
        Ok(self.opt_i64(i)?.map(|d| yibao_domain::Date::from_days(d as i32)))
    }
    pub fn bool(&self, i: usize) -> Result<bool, DbError> {
        self.i64(i).map(|v| v != 0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row lock suffix for a SELECT that must serialize writers. SQLite has one writer at a time,
    /// so it needs none.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Membership in a JSON array of texts bound as parameter `$n` (see [`json_texts`]): one
    /// statement text whatever the number of values, so it is prepared once.
    pub fn in_json_texts(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("IN (SELECT value FROM json_each(${n}))"),
            // `= ANY(ARRAY(…))`, not `IN (SELECT …)`: PostgreSQL plans the latter as a semi
            // join that scans every row of the leading key (all of an institution's mappings).
            Dialect::Postgres => format!("= ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(${n} AS TEXT)::jsonb)))"),
        }
    }
}

/// 64-bit FNV-1a over the concatenation of `parts`: a fast, stable, non-cryptographic hash
/// (advisory lock keys, the msgid log's request digests, which are stored: never change it).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Serializes the writers that name the same `name` until their transactions end. PostgreSQL
/// writers run concurrently, and a check-then-write over rows that may not exist yet (no row to
/// lock `FOR UPDATE`) needs a lock of its own: a transaction-scoped advisory lock keyed by a
/// 64-bit hash of the name (a collision only serializes two unrelated writers). SQLite has one
/// writer at a time, so it needs none and pays nothing.
pub fn lock_name(tx: &mut dyn Tx, name: &str) -> Result<(), DbError> {
    if tx.dialect() == Dialect::Postgres {
        let h = fnv1a(&[name.as_bytes()]);
        // `execute`, not `query`: the function returns `void`, which rows cannot carry.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[Value::Int(Some(h as i64))])?;
    }
    Ok(())
}

/// A list of texts as the JSON array [`Dialect::in_json_texts`] takes.
pub fn json_texts<S: AsRef<str>>(items: &[S]) -> Value {
    // Display of a JSON value cannot fail (a fallback list here would silently drop items).
    let list: serde_json::Value = items.iter().map(|s| serde_json::Value::from(s.as_ref())).collect();
    Value::Text(Some(list.to_string()))
}

/// Rows per multi-row INSERT, largest first: powers of two, so any count up to 31 takes at most
/// one statement per bit (10 rows are 8 + 2; 17 are 16 + 1) and five statement texts per table
/// cover every count, each prepared once per connection; far under either engine's limit on
/// parameters (SQLite 32,766; PostgreSQL 65,535) for tables of up to 100 columns.
const INSERT_CHUNKS: [usize; 5] = [16, 8, 4, 2, 1];

/// Inserts rows with multi-row `INSERT … VALUES (…), (…)` statements: `head` is the statement
/// up to `VALUES`, `tail` what follows the values (e.g. an `ON CONFLICT` clause), `params` the
/// rows' values one row after another, `ncols` per row. Returns the rows written.
pub fn insert_many(tx: &mut dyn Tx, head: &str, tail: &str, ncols: usize, params: &[Value]) -> Result<u64, DbError> {
    if ncols == 0 || !params.len().is_multiple_of(ncols) {
        return Err(DbError::Other(format!("insert_many: {} values are not rows of {ncols}", params.len())));
    }
    let mut rest = params;
    let mut written = 0;
    while !rest.is_empty() {
        let rows = rest.len() / ncols;
        let chunk = INSERT_CHUNKS.into_iter().find(|c| *c <= rows).unwrap_or(1);
        let (now, later) = rest.split_at(chunk * ncols);
        written += tx.execute(&multi_row_sql(head, tail, ncols, chunk), now)?;
        rest = later;
    }
    Ok(written)
}

fn multi_row_sql(head: &str, tail: &str, ncols: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * ncols * 5 + 16);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..ncols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * ncols + c + 1).to_string());
        }
        sql.push(')');
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    sql
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// A UNIQUE or PRIMARY KEY constraint refused the write; carries the engine's message.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
    #[error("cannot decode row: {0}")]
    Decode(String),
}

/// A transaction in progress. Statements run in order; nothing is visible to others until the
/// backend commits.
pub trait Tx {
    fn dialect(&self) -> Dialect;
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(DbError::Other(format!("expected at most one row, got {}", rows.len())));
        }
        Ok(rows.pop())
    }

    /// The data key ring that seals personal data in this transaction. Backends leave it to
    /// [`crate::Store`], which hands every body a transaction that carries its vault.
    fn vault(&self) -> Option<std::sync::Arc<yibao_crypto::Vault>> {
        None
    }
}

/// The vault of a transaction, or an error naming what needed it: personal data is never
/// written or read in clear.
pub fn vault_of(tx: &dyn Tx, what: &str) -> Result<std::sync::Arc<yibao_crypto::Vault>, DbError> {
    tx.vault().ok_or_else(|| DbError::Other(format!("{what}: no data key in this transaction (use Store::write/read)")))
}

/// What a write closure asks of the backend when it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxEnd {
    Commit,
    Rollback,
}

/// A database engine. `write` runs the body in one transaction, durable when it returns with
/// `Commit`; `read` runs it on a consistent snapshot and never writes.
pub trait Backend: Send + Sync + fmt::Debug {
    fn dialect(&self) -> Dialect;
    /// `body` is `Send`: a backend may run it on another thread while the caller waits (the
    /// SQLite backend's group commit does).
    fn write(&self, body: &mut (dyn FnMut(&mut dyn Tx) -> Result<TxEnd, DbError> + Send)) -> Result<(), DbError>;
    fn read(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), DbError>) -> Result<(), DbError>;
    /// Transaction-control statements run so far (BEGIN, COMMIT, ROLLBACK, savepoints, and
    /// whatever else the backend runs around a body), counted apart from the body's statements:
    /// on PostgreSQL each is a round trip of its own.
    fn control_statements(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the statements it is given.
    struct Recorder(Vec<(String, usize)>);

    impl Tx for Recorder {
        fn dialect(&self) -> Dialect {
            Dialect::Sqlite
        }
        fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
            self.0.push((sql.to_owned(), params.len()));
            Ok(sql.matches('(').count() as u64 - 1)
        }
        fn query(&mut self, _: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
            Ok(Vec::new())
        }
    }

    /// Each statement carries the largest chunk that fits: one statement per bit of the count.
    #[test]
    fn insert_many_takes_one_statement_per_power_of_two() {
        for (rows, chunks) in
            [(1, vec![1]), (2, vec![2]), (10, vec![8, 2]), (15, vec![8, 4, 2, 1]), (33, vec![16, 16, 1])]
        {
            let mut tx = Recorder(Vec::new());
            let params: Vec<Value> = (0..rows * 2).map(|i| Value::from(i as i64)).collect();
            assert_eq!(insert_many(&mut tx, "INSERT INTO t (a, b)", "", 2, &params).unwrap(), rows as u64);
            let got: Vec<usize> = tx.0.iter().map(|(_, n)| n / 2).collect();
            assert_eq!(got, chunks, "{rows} rows");
        }
        let mut tx = Recorder(Vec::new());
        insert_many(&mut tx, "INSERT INTO t (a, b)", "ON CONFLICT DO NOTHING", 2, &vec![Value::from(1i64); 4]).unwrap();
        assert_eq!(tx.0[0].0, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING");
    }
}
