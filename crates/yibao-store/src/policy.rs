//! Policy documents in the store. A new version is accepted only if, together with the versions
//! already stored for its region × insurance type, the timeline has no gap and no overlap.

use crate::db::{lock_name, DbError, Tx};
use crate::params;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use yibao_domain::policy::{validate_timeline, Policy, PolicyError};
use yibao_domain::Date;

/// Most distinct policy documents kept parsed; a full cache is simply emptied.
const PARSED_MAX: usize = 256;

/// Parses a stored policy document, reusing an earlier parse of the very same text.
///
/// Why: every pre-settlement and settlement loads the policy in force, and parsing and
/// validating its JSON cost more than the rest of the lookup. Keying on the whole text (not
/// on region, type and version) makes a stale entry impossible: a changed document is a
/// different key, whatever store or process wrote it.
fn parse_stored(body: &str) -> Result<Policy, PolicyError> {
    static PARSED: OnceLock<Mutex<HashMap<String, Policy>>> = OnceLock::new();
    let cache = PARSED.get_or_init(Mutex::default);
    if let Some(p) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(body) {
        return Ok(p.clone());
    }
    let p = Policy::from_json(body)?;
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if c.len() >= PARSED_MAX {
        c.clear();
    }
    c.insert(body.to_owned(), p.clone());
    Ok(p)
}

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
    // The timeline is checked against the stored versions and then written: two loads for the
    // same region × type must not both check before either writes (each alone may tile time
    // while both together overlap). There may be no row yet to lock, hence a named lock.
    lock_name(tx, &format!("policy|{}|{}", p.admdvs, p.insutype))?;
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
    rows.iter().map(|r| Ok(parse_stored(&r.str(0)?)?)).collect()
}

pub fn policy_in_force(tx: &mut dyn Tx, admdvs: &str, insutype: &str, on: Date) -> Result<Policy, PolicyStoreError> {
    let row = tx.query_opt(
        "SELECT body FROM policy WHERE admdvs = $1 AND insutype = $2 AND begndate <= $3 AND (enddate IS NULL OR enddate > $3)",
        params![admdvs, insutype, on],
    )?;
    match row {
        Some(r) => Ok(parse_stored(&r.str(0)?)?),
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
