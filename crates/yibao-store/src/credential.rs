//! Institution credentials: an `x-tif-paasid` and its secret. The `x-tif-signature` scheme
//! (interface-spec.md §1.1) is keyed by the secret itself, so the platform must be able to
//! recover it: the secret is sealed with the store's vault (SM4-GCM), never stored in clear and
//! never hashed. A rotation keeps the previous secret valid until `prev_until`; a revoked
//! credential authenticates nothing.

use crate::db::{vault_of, DbError, Row, Tx};
use crate::params;

pub mod stas {
    pub const ACTIVE: &str = "active";
    pub const REVOKED: &str = "revoked";
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub paasid: String,
    pub fixmedins_code: String,
    pub secret: String,
    pub prev_secret: Option<String>,
    /// Unix seconds until which `prev_secret` is still accepted.
    pub prev_until: Option<i64>,
    /// SEC1 hex of the institution's SM2 public key; when set, envelopes must be SM2-signed.
    pub sm2_pubkey: Option<String>,
    pub stas: String,
    pub created: i64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("paasid", &self.paasid)
            .field("fixmedins_code", &self.fixmedins_code)
            .field("stas", &self.stas)
            .finish_non_exhaustive()
    }
}

impl Credential {
    pub fn active(&self) -> bool {
        self.stas == stas::ACTIVE
    }

    /// The secrets accepted at `now` (unix seconds): the current one, and the previous one during
    /// the overlap after a rotation.
    pub fn secrets_at(&self, now: i64) -> Vec<&str> {
        let mut v = vec![self.secret.as_str()];
        if let (Some(p), Some(until)) = (&self.prev_secret, self.prev_until) {
            if now <= until {
                v.push(p);
            }
        }
        v
    }
}

fn aad(col: &str, paasid: &str) -> String {
    format!("inst_credential.{col}|{paasid}")
}

/// A new random secret: 32 bytes, hex.
pub fn new_secret() -> String {
    yibao_crypto::hex(&yibao_crypto::random::<32>())
}

const COLS: &str = "paasid, fixmedins_code, secret, prev_secret, prev_until, sm2_pubkey, stas, created";

fn from_row(tx: &dyn Tx, r: &Row) -> Result<Credential, DbError> {
    let v = vault_of(tx, "credential")?;
    let paasid = r.str(0)?;
    let open = |col: &str, s: String| {
        v.open(&aad(col, &paasid), &s).map_err(|e| DbError::Decode(format!("credential {paasid}: {e}")))
    };
    Ok(Credential {
        fixmedins_code: r.str(1)?,
        secret: open("secret", r.str(2)?)?,
        prev_secret: r.opt_str(3)?.map(|s| open("prev_secret", s)).transpose()?,
        prev_until: r.opt_i64(4)?,
        sm2_pubkey: r.opt_str(5)?,
        stas: r.str(6)?,
        created: r.i64(7)?,
        paasid,
    })
}

/// Issues a new credential for an institution: paasid `<code>-<8 hex>` and a random secret.
pub fn issue(tx: &mut dyn Tx, fixmedins_code: &str, sm2_pubkey: Option<&str>, now: i64) -> Result<Credential, DbError> {
    let v = vault_of(tx, "credential")?;
    let paasid = format!("{fixmedins_code}-{}", yibao_crypto::hex(&yibao_crypto::random::<4>()));
    let secret = new_secret();
    let n = tx.execute(
        &format!("INSERT INTO inst_credential ({COLS}, updt_time) VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, $6) ON CONFLICT DO NOTHING"),
        params![&paasid, fixmedins_code, v.seal(&aad("secret", &paasid), &secret), sm2_pubkey, stas::ACTIVE, now],
    )?;
    if n == 0 {
        return Err(DbError::Unique(format!("paasid {paasid}")));
    }
    Ok(Credential {
        paasid,
        fixmedins_code: fixmedins_code.to_owned(),
        secret,
        prev_secret: None,
        prev_until: None,
        sm2_pubkey: sm2_pubkey.map(str::to_owned),
        stas: stas::ACTIVE.to_owned(),
        created: now,
    })
}

pub fn get(tx: &mut dyn Tx, paasid: &str) -> Result<Option<Credential>, DbError> {
    let r = tx.query_opt(&format!("SELECT {COLS} FROM inst_credential WHERE paasid = $1"), params![paasid])?;
    r.map(|r| from_row(tx, &r)).transpose()
}

/// Every credential of an institution, newest first.
pub fn of_institution(tx: &mut dyn Tx, fixmedins_code: &str) -> Result<Vec<Credential>, DbError> {
    let rows = tx.query(
        &format!("SELECT {COLS} FROM inst_credential WHERE fixmedins_code = $1 ORDER BY created DESC, paasid"),
        params![fixmedins_code],
    )?;
    rows.iter().map(|r| from_row(tx, r)).collect()
}

/// Replaces the secret of an active credential; the old one stays valid until `overlap_until`.
/// Returns the credential with its new secret, or None for an unknown or revoked paasid.
pub fn rotate(tx: &mut dyn Tx, paasid: &str, overlap_until: i64, now: i64) -> Result<Option<Credential>, DbError> {
    // Locked until the transaction ends: two rotations must not both read the same secret, or
    // the second would make the first's new secret its "previous" one never, losing it.
    let sql = format!("SELECT {COLS} FROM inst_credential WHERE paasid = $1{}", tx.dialect().for_update());
    let row = tx.query_opt(&sql, params![paasid])?;
    let Some(mut c) = row.map(|r| from_row(tx, &r)).transpose()?.filter(Credential::active) else {
        return Ok(None);
    };
    let v = vault_of(tx, "credential")?;
    let secret = new_secret();
    tx.execute(
        "UPDATE inst_credential SET secret = $2, prev_secret = $3, prev_until = $4, updt_time = $5 WHERE paasid = $1",
        params![
            paasid,
            v.seal(&aad("secret", paasid), &secret),
            v.seal(&aad("prev_secret", paasid), &c.secret),
            overlap_until,
            now
        ],
    )?;
    c.prev_secret = Some(std::mem::replace(&mut c.secret, secret));
    c.prev_until = Some(overlap_until);
    Ok(Some(c))
}

/// Revokes a credential at once. Returns false for an unknown paasid.
pub fn revoke(tx: &mut dyn Tx, paasid: &str, now: i64) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE inst_credential SET stas = $2, prev_secret = NULL, prev_until = NULL, updt_time = $3 WHERE paasid = $1",
        params![paasid, stas::REVOKED, now],
    )?;
    Ok(n > 0)
}

/// The key ids credential secrets are sealed under (checked at startup, as persons' are).
pub fn sealed_key_ids(tx: &mut dyn Tx) -> Result<Vec<String>, DbError> {
    let rows = tx.query("SELECT DISTINCT substr(secret, 1, 8) FROM inst_credential", params![])?;
    rows.iter().map(|r| r.str(0)).collect()
}

/// Re-seals credential secrets under the current key. Returns how many were re-sealed.
pub fn rekey(tx: &mut dyn Tx) -> Result<u64, DbError> {
    let v = vault_of(tx, "credential")?;
    // Locked: a rotation committed between this read and the write below would be undone.
    let sql = format!("SELECT {COLS} FROM inst_credential ORDER BY paasid{}", tx.dialect().for_update());
    let rows = tx.query(&sql, params![])?;
    let mut n = 0;
    for r in &rows {
        let stale = !v.is_current(&r.str(2)?) || r.opt_str(3)?.is_some_and(|s| !v.is_current(&s));
        if !stale {
            continue;
        }
        let c = from_row(tx, r)?;
        tx.execute(
            "UPDATE inst_credential SET secret = $2, prev_secret = $3 WHERE paasid = $1",
            params![
                &c.paasid,
                v.seal(&aad("secret", &c.paasid), &c.secret),
                c.prev_secret.as_deref().map(|p| v.seal(&aad("prev_secret", &c.paasid), p))
            ],
        )?;
        n += 1;
    }
    Ok(n)
}
