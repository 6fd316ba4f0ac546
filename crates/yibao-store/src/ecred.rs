//! Uses of e-credential (医保电子凭证) tokens. A token is self-contained and signed (see the
//! gateway's `ecred` module); the store only remembers which tokens were used and for which
//! visit, so that one token serves one visit. Rows past their token's expiry may be pruned.

use crate::db::{DbError, Tx};
use crate::params;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcUse {
    pub serial: String,
    pub psn_no: String,
    pub mdtrt_id: String,
    pub fixmedins_code: String,
    pub infno: String,
    pub expires: i64,
    pub used_time: i64,
}

pub fn get(tx: &mut dyn Tx, serial: &str) -> Result<Option<EcUse>, DbError> {
    let r = tx.query_opt(
        "SELECT serial, psn_no, mdtrt_id, fixmedins_code, infno, expires, used_time FROM ec_use WHERE serial = $1",
        params![serial],
    )?;
    r.map(|r| {
        Ok(EcUse {
            serial: r.str(0)?,
            psn_no: r.str(1)?,
            mdtrt_id: r.str(2)?,
            fixmedins_code: r.str(3)?,
            infno: r.str(4)?,
            expires: r.i64(5)?,
            used_time: r.i64(6)?,
        })
    })
    .transpose()
}

/// Records the use of a token for a visit. Returns the earlier use instead when the token was
/// already used (by this visit or another).
pub fn record(tx: &mut dyn Tx, u: &EcUse) -> Result<Option<EcUse>, DbError> {
    if let Some(prev) = get(tx, &u.serial)? {
        return Ok(Some(prev));
    }
    let n = tx.execute(
        "INSERT INTO ec_use (serial, psn_no, mdtrt_id, fixmedins_code, infno, expires, used_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        params![&u.serial, &u.psn_no, &u.mdtrt_id, &u.fixmedins_code, &u.infno, u.expires, u.used_time],
    )?;
    if n == 0 {
        // A concurrent use won.
        return get(tx, &u.serial);
    }
    Ok(None)
}

/// Forgets uses of tokens that expired before `before` (unix seconds); they can never be
/// presented again.
pub fn prune(tx: &mut dyn Tx, before: i64) -> Result<u64, DbError> {
    tx.execute("DELETE FROM ec_use WHERE expires < $1", params![before])
}
