//! Policy documents in the store. A new version is accepted only if, together with the versions
//! already stored for its region × insurance type, the timeline has no gap and no overlap.

use crate::db::{DbError, Tx};
use crate::params;
use yibao_domain::policy::{validate_timeline, Policy, PolicyError};
use yibao_domain::Date;

#[derive(Debug, thiserror::Error)]
pub enum PolicyStoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("no {insutype} policy of region {admdvs} is in force on {date}")]
    NotInForce { admdvs: String, insutype: String, date: Date },
}

/// Stores a validated policy, replacing a version with the same begin date.
pub fn put_policy(tx: &mut dyn Tx, p: &Policy, now: i64) -> Result<(), PolicyStoreError> {
    p.validate()?;
    let mut others = versions(tx, &p.admdvs, &p.insutype)?;
    others.retain(|o| o.begndate != p.begndate);
    let mut all: Vec<&Policy> = others.iter().collect();
    all.push(p);
    validate_timeline(&all)?;
    tx.execute(
        "INSERT INTO policy (admdvs, insutype, begndate, enddate, ver, body, updt_time) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (admdvs, insutype, begndate) DO UPDATE SET enddate = excluded.enddate, ver = excluded.ver, body = excluded.body, updt_time = excluded.updt_time",
        params![p.admdvs.as_str(), p.insutype.as_str(), p.begndate, p.enddate, p.ver.as_str(), p.to_json(), now],
    )?;
    Ok(())
}

pub fn versions(tx: &mut dyn Tx, admdvs: &str, insutype: &str) -> Result<Vec<Policy>, PolicyStoreError> {
    let rows = tx.query(
        "SELECT body FROM policy WHERE admdvs = $1 AND insutype = $2 ORDER BY begndate",
        params![admdvs, insutype],
    )?;
    rows.iter().map(|r| Ok(Policy::from_json(&r.str(0)?)?)).collect()
}

pub fn policy_in_force(tx: &mut dyn Tx, admdvs: &str, insutype: &str, on: Date) -> Result<Policy, PolicyStoreError> {
    let row = tx.query_opt(
        "SELECT body FROM policy WHERE admdvs = $1 AND insutype = $2 AND begndate <= $3 AND (enddate IS NULL OR enddate > $3)",
        params![admdvs, insutype, on],
    )?;
    match row {
        Some(r) => Ok(Policy::from_json(&r.str(0)?)?),
        None => {
            Err(PolicyStoreError::NotInForce { admdvs: admdvs.to_owned(), insutype: insutype.to_owned(), date: on })
        }
    }
}

/// All stored versions, for export and the operator console.
pub fn all_policies(tx: &mut dyn Tx) -> Result<Vec<Policy>, PolicyStoreError> {
    let rows = tx.query("SELECT body FROM policy ORDER BY admdvs, insutype, begndate", &[])?;
    rows.iter().map(|r| Ok(Policy::from_json(&r.str(0)?)?)).collect()
}
