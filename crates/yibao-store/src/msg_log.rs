//! The idempotency log (msg_log): one record per (institution, msgid), with the first answer,
//! so a retry gets it again. Answers holding personal data are sealed.

use crate::db::{vault_of, DbError, Dialect, Tx};
use crate::params;
use crate::settlement::{open_col, seal_col};
use yibao_crypto::Vault;

/// JSON keys whose values are personal data.
const PERSONAL_KEYS: &[&str] = &["\"certno\"", "\"psn_name\"", "\"mdtrt_cert_no\"", "\"tel\"", "\"addr\""];

/// A stored answer is sealed when it holds personal data; others (fee results, ids) stay JSON,
/// which saves sealing large fee uploads. A JSON answer starts with `{`, a sealed one with its
/// key id.
fn seal_answer(v: &Vault, msgid: &str, response: &str) -> String {
    if PERSONAL_KEYS.iter().any(|k| response.contains(k)) || !response.starts_with('{') {
        seal_col(v, "msg_log.response", msgid, response)
    } else {
        response.to_owned()
    }
}

fn open_answer(v: &Vault, msgid: &str, stored: String) -> Result<String, DbError> {
    if stored.starts_with('{') {
        return Ok(stored);
    }
    open_col(v, "msg_log.response", msgid, &stored)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgRecord {
    pub msgid: String,
    pub fixmedins_code: String,
    pub infno: String,
    pub req_digest: String,
    pub psn_no: Option<String>,
    pub ref_id: Option<String>,
    pub response: String,
    pub created: i64,
    pub reversed: bool,
}

const MSG_COLS: &str = "msgid, fixmedins_code, infno, req_digest, psn_no, ref_id, response, created, reversed";

/// The record of `msgid` in the log of institution `fixmedins_code`: msgids are scoped by their
/// sender, so one institution can neither void nor squat another's.
pub fn msg_get(tx: &mut dyn Tx, fixmedins_code: &str, msgid: &str) -> Result<Option<MsgRecord>, DbError> {
    let v = vault_of(tx, "msg_log")?;
    let row = tx.query_opt(
        &format!("SELECT {MSG_COLS} FROM msg_log WHERE fixmedins_code = $1 AND msgid = $2"),
        params![fixmedins_code, msgid],
    )?;
    row.map(|r| {
        Ok(MsgRecord {
            msgid: r.str(0)?,
            fixmedins_code: r.str(1)?,
            infno: r.str(2)?,
            req_digest: r.str(3)?,
            psn_no: r.opt_str(4)?,
            ref_id: r.opt_str(5)?,
            response: open_answer(&v, msgid, r.str(6)?)?,
            created: r.i64(7)?,
            reversed: r.bool(8)?,
        })
    })
    .transpose()
}

pub fn msg_put(tx: &mut dyn Tx, m: &MsgRecord) -> Result<(), DbError> {
    let response = seal_answer(&*vault_of(tx, "msg_log")?, &m.msgid, &m.response);
    tx.execute(
        &format!("INSERT INTO msg_log ({MSG_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
        params![
            m.msgid.as_str(),
            m.fixmedins_code.as_str(),
            m.infno.as_str(),
            m.req_digest.as_str(),
            m.psn_no.clone(),
            m.ref_id.clone(),
            response,
            m.created,
            m.reversed
        ],
    )?;
    Ok(())
}

/// Takes the place of `m`'s msgid before the work it records, so that copies of one request
/// never both do it: returns the record already there (the caller replays or refuses it), or
/// None when this transaction now holds the msgid until it ends, and must write `m` with
/// [`msg_complete`].
///
/// PostgreSQL: a placeholder row is inserted at once (`ON CONFLICT DO NOTHING`). A second copy
/// arriving while the first is in progress waits on that row; when the first commits, the
/// second finds its record and replays the first answer; when it rolls back, the second takes
/// the place. Two statements either way, as many as a read and an insert.
/// SQLite: its one writer already runs writes one after another, so a read is enough and
/// [`msg_complete`] inserts the record (no statement added to the benchmarked path).
pub fn msg_claim(tx: &mut dyn Tx, m: &MsgRecord) -> Result<Option<MsgRecord>, DbError> {
    if tx.dialect() == Dialect::Postgres {
        // The answer is not known yet: an empty JSON object, never read by anyone else (the row
        // is invisible to them until this transaction commits with the real answer).
        let n = tx.execute(
            &format!("INSERT INTO msg_log ({MSG_COLS}) VALUES ($1, $2, $3, $4, $5, $6, '{{}}', $7, $8) ON CONFLICT DO NOTHING"),
            params![m.msgid.as_str(), m.fixmedins_code.as_str(), m.infno.as_str(), m.req_digest.as_str(), m.psn_no.clone(), m.ref_id.clone(), m.created, m.reversed],
        )?;
        if n == 1 {
            return Ok(None);
        }
        // A conflict: the row is committed, and this new statement's snapshot shows it.
        return match msg_get(tx, &m.fixmedins_code, &m.msgid)? {
            Some(prev) => Ok(Some(prev)),
            None => Err(DbError::Other(format!("msgid {} conflicts but has no record", m.msgid))),
        };
    }
    msg_get(tx, &m.fixmedins_code, &m.msgid)
}

/// Writes the record of a msgid whose place [`msg_claim`] took in this transaction.
pub fn msg_complete(tx: &mut dyn Tx, m: &MsgRecord) -> Result<(), DbError> {
    if tx.dialect() != Dialect::Postgres {
        return msg_put(tx, m);
    }
    let response = seal_answer(&*vault_of(tx, "msg_log")?, &m.msgid, &m.response);
    let n = tx.execute(
        "UPDATE msg_log SET infno = $3, req_digest = $4, psn_no = $5, ref_id = $6, response = $7, created = $8, reversed = $9 WHERE fixmedins_code = $1 AND msgid = $2",
        params![m.fixmedins_code.as_str(), m.msgid.as_str(), m.infno.as_str(), m.req_digest.as_str(), m.psn_no.clone(), m.ref_id.clone(), response, m.created, m.reversed],
    )?;
    if n != 1 {
        return Err(DbError::Other(format!("msgid {}: completed without being claimed", m.msgid)));
    }
    Ok(())
}

pub fn msg_mark_reversed(tx: &mut dyn Tx, fixmedins_code: &str, msgid: &str) -> Result<(), DbError> {
    tx.execute(
        "UPDATE msg_log SET reversed = 1 WHERE fixmedins_code = $1 AND msgid = $2",
        params![fixmedins_code, msgid],
    )?;
    Ok(())
}
