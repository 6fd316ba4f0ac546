//! Platform operators (经办人员 of the insurance agencies): an id, a role, a region scope and an
//! argon2id password hash (PHC string; the hashing is the caller's, with `yibao-crypto`).

use crate::db::{DbError, Row, Tx};
use crate::params;

pub mod stas {
    pub const ACTIVE: &str = "active";
    pub const DISABLED: &str = "disabled";
}

#[derive(Clone, PartialEq, Eq)]
pub struct Operator {
    pub opter_id: String,
    pub opter_name: String,
    pub role: String,
    pub admdvs: String,
    pub pwd_hash: String,
    pub stas: String,
    pub created: i64,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("opter_id", &self.opter_id)
            .field("role", &self.role)
            .field("admdvs", &self.admdvs)
            .field("stas", &self.stas)
            .finish_non_exhaustive()
    }
}

const COLS: &str = "opter_id, opter_name, role, admdvs, pwd_hash, stas, created";

fn from_row(r: &Row) -> Result<Operator, DbError> {
    Ok(Operator {
        opter_id: r.str(0)?,
        opter_name: r.str(1)?,
        role: r.str(2)?,
        admdvs: r.str(3)?,
        pwd_hash: r.str(4)?,
        stas: r.str(5)?,
        created: r.i64(6)?,
    })
}

/// Adds an operator; an opter_id already taken is `DbError::Unique`.
pub fn insert(tx: &mut dyn Tx, o: &Operator) -> Result<(), DbError> {
    let n = tx.execute(
        &format!(
            "INSERT INTO operator ({COLS}, updt_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING"
        ),
        params![&o.opter_id, &o.opter_name, &o.role, &o.admdvs, &o.pwd_hash, &o.stas, o.created],
    )?;
    if n == 0 {
        return Err(DbError::Unique(format!("operator {}", o.opter_id)));
    }
    Ok(())
}

pub fn get(tx: &mut dyn Tx, opter_id: &str) -> Result<Option<Operator>, DbError> {
    let r = tx.query_opt(&format!("SELECT {COLS} FROM operator WHERE opter_id = $1"), params![opter_id])?;
    r.as_ref().map(from_row).transpose()
}

pub fn count(tx: &mut dyn Tx) -> Result<i64, DbError> {
    tx.query_opt("SELECT COUNT(*) FROM operator", params![])?.map_or(Ok(0), |r| r.i64(0))
}

/// Sets the status (active / disabled). Returns false for an unknown operator.
pub fn set_stas(tx: &mut dyn Tx, opter_id: &str, stas: &str, now: i64) -> Result<bool, DbError> {
    let n =
        tx.execute("UPDATE operator SET stas = $2, updt_time = $3 WHERE opter_id = $1", params![opter_id, stas, now])?;
    Ok(n > 0)
}

/// Replaces the password hash. Returns false for an unknown operator.
pub fn set_password(tx: &mut dyn Tx, opter_id: &str, pwd_hash: &str, now: i64) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE operator SET pwd_hash = $2, updt_time = $3 WHERE opter_id = $1",
        params![opter_id, pwd_hash, now],
    )?;
    Ok(n > 0)
}
