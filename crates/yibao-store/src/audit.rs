//! The tamper-evident audit log: one SM3 hash chain per stream (each designated institution's
//! interface writes form a stream named by its code; operators' changes and reads of personal
//! data form the stream `admin`). A record's hash is `SM3(canonical content)`, and the content
//! includes the previous record's hash, so changing, removing or reordering any record breaks the
//! chain from that record on; `audit_head` holds each stream's last seq and hash, so removing the
//! newest records is caught too. Records are appended in the same database transaction as the
//! change they describe.
//!
//! Concurrency: appending locks the stream's head row (`FOR UPDATE` on PostgreSQL; SQLite has
//! one writer), so writes of one institution serialize at the end of their transactions while
//! different institutions do not wait for each other.
//!
//! Records never hold personal data in clear: actors and targets are codes and ids (psn_no,
//! setl_id, msgid), and request contents appear only as keyed digests.

use crate::db::{DbError, Row, Tx};
use crate::params;

/// prev_hash of a stream's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Stream of operators' actions.
pub const ADMIN_STREAM: &str = "admin";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub stream: String,
    pub seq: i64,
    pub at_time: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What to append; seq, prev_hash and hash are the log's.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub stream: &'a str,
    pub at_time: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
}

impl AuditRecord {
    /// The bytes the hash covers: a version tag, then every field but `hash`, each as a 4-byte
    /// big-endian length and its UTF-8 bytes (so no two different records share an encoding).
    pub fn canonical(&self) -> Vec<u8> {
        let fields: [&str; 8] = [
            &self.stream,
            &self.seq.to_string(),
            &self.at_time.to_string(),
            &self.actor,
            &self.action,
            &self.target,
            &self.detail,
            &self.prev_hash,
        ];
        let mut out = b"yibao-audit-v1".to_vec();
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_be_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }

    pub fn compute_hash(&self) -> String {
        yibao_crypto::sm3::hash_hex(&self.canonical())
    }
}

const COLS: &str = "stream, seq, at_time, actor, action, target, detail, prev_hash, hash";

fn record_from(r: &Row) -> Result<AuditRecord, DbError> {
    Ok(AuditRecord {
        stream: r.str(0)?,
        seq: r.i64(1)?,
        at_time: r.i64(2)?,
        actor: r.str(3)?,
        action: r.str(4)?,
        target: r.str(5)?,
        detail: r.str(6)?,
        prev_hash: r.str(7)?,
        hash: r.str(8)?,
    })
}

fn head(tx: &mut dyn Tx, stream: &str, lock: &str) -> Result<Option<(i64, String)>, DbError> {
    let sql = format!("SELECT seq, hash FROM audit_head WHERE stream = $1{lock}");
    tx.query_opt(&sql, params![stream])?.map(|r| Ok((r.i64(0)?, r.str(1)?))).transpose()
}

/// Appends one record to its stream's chain and returns it.
pub fn append(tx: &mut dyn Tx, e: &Entry) -> Result<AuditRecord, DbError> {
    let lock = tx.dialect().for_update();
    let (seq, prev_hash) = match head(tx, e.stream, lock)? {
        Some(h) => h,
        None => {
            tx.execute(
                "INSERT INTO audit_head (stream, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
                params![e.stream, GENESIS],
            )?;
            head(tx, e.stream, lock)?.ok_or_else(|| DbError::Other(format!("audit head of {} vanished", e.stream)))?
        }
    };
    let mut rec = AuditRecord {
        stream: e.stream.to_owned(),
        seq: seq + 1,
        at_time: e.at_time,
        actor: e.actor.to_owned(),
        action: e.action.to_owned(),
        target: e.target.to_owned(),
        detail: e.detail.to_owned(),
        prev_hash,
        hash: String::new(),
    };
    rec.hash = rec.compute_hash();
    tx.execute(
        &format!("INSERT INTO audit_log ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
        params![
            &rec.stream,
            rec.seq,
            rec.at_time,
            &rec.actor,
            &rec.action,
            &rec.target,
            &rec.detail,
            &rec.prev_hash,
            &rec.hash
        ],
    )?;
    tx.execute(
        "UPDATE audit_head SET seq = $2, hash = $3 WHERE stream = $1",
        params![&rec.stream, rec.seq, &rec.hash],
    )?;
    Ok(rec)
}

/// Whether the stream (an institution) answered a 1101 about `psn_no` at or after `since`: an
/// index probe (`audit_log_person_reads`, partial on action 1101).
pub fn read_1101_since(tx: &mut dyn Tx, stream: &str, psn_no: &str, since: i64) -> Result<bool, DbError> {
    let row = tx.query_opt(
        "SELECT 1 FROM audit_log WHERE stream = $1 AND target = $2 AND at_time >= $3 AND action = '1101' LIMIT 1",
        params![stream, psn_no, since],
    )?;
    Ok(row.is_some())
}

/// The records of a stream after `after_seq`, at most `limit`, in seq order.
pub fn records(tx: &mut dyn Tx, stream: &str, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>, DbError> {
    let sql = format!("SELECT {COLS} FROM audit_log WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3");
    tx.query(&sql, params![stream, after_seq, limit])?.iter().map(record_from).collect()
}

/// Every stream named by a record or a head.
pub fn streams(tx: &mut dyn Tx) -> Result<Vec<String>, DbError> {
    let rows =
        tx.query("SELECT stream FROM audit_head UNION SELECT DISTINCT stream FROM audit_log ORDER BY 1", params![])?;
    rows.iter().map(|r| r.str(0)).collect()
}

/// The first thing wrong in a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub stream: String,
    /// The record named (for a missing tail: the last one that should exist).
    pub seq: i64,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stream {} record {}: {}", self.stream, self.seq, self.what)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub streams: u64,
    pub records: u64,
    /// At most one per stream: the first record where its chain breaks.
    pub problems: Vec<Problem>,
    /// (stream, last seq, last hash) of every intact stream: record these elsewhere to catch a
    /// rewrite of a whole tail later (see docs/security.md).
    pub heads: Vec<(String, i64, String)>,
}

/// Walks every chain from its first record and names the first changed, removed, inserted or
/// reordered record of each stream.
pub fn verify(tx: &mut dyn Tx) -> Result<Report, DbError> {
    let mut report = Report::default();
    for stream in streams(tx)? {
        report.streams += 1;
        match verify_stream(tx, &stream, &mut report.records)? {
            Ok((seq, hash)) => report.heads.push((stream, seq, hash)),
            Err(p) => report.problems.push(p),
        }
    }
    Ok(report)
}

fn verify_stream(tx: &mut dyn Tx, stream: &str, count: &mut u64) -> Result<Result<(i64, String), Problem>, DbError> {
    let problem = |seq: i64, what: String| Ok(Err(Problem { stream: stream.to_owned(), seq, what }));
    let (mut last_seq, mut last_hash) = (0i64, GENESIS.to_owned());
    loop {
        let page = records(tx, stream, last_seq, 1000)?;
        if page.is_empty() {
            break;
        }
        for r in page {
            *count += 1;
            if r.seq != last_seq + 1 {
                return problem(
                    last_seq + 1,
                    format!("missing: the chain jumps from record {last_seq} to record {} (removed records)", r.seq),
                );
            }
            if r.compute_hash() != r.hash {
                return problem(r.seq, "changed: its content no longer matches its hash".into());
            }
            if r.prev_hash != last_hash {
                return problem(
                    r.seq,
                    format!(
                        "out of chain: it does not follow record {last_seq} (a record was removed, inserted or reordered here)"
                    ),
                );
            }
            last_seq = r.seq;
            last_hash = r.hash;
        }
    }
    match head(tx, stream, "")? {
        None => problem(last_seq, "the stream's head is missing".into()),
        Some((seq, _)) if seq > last_seq => problem(
            last_seq + 1,
            format!("missing: the head says the chain ends at record {seq}, the log ends at {last_seq}"),
        ),
        Some((seq, hash)) if seq != last_seq || hash != last_hash => problem(
            last_seq,
            format!("the head (record {seq}) does not match the last record: the head or the tail was changed"),
        ),
        Some(_) => Ok(Ok((last_seq, last_hash))),
    }
}
