//! The operators' side: accounts, roles and region scopes, short-lived session tokens, and the
//! admin/query API. Every function here checks role and scope itself, and every change and every
//! read of personal data is appended to the audit chain (stream `admin`) in the same transaction.
//! The `yibao` binary calls the same functions as the [`Actor::System`] (whoever runs it holds the
//! database and the data key already).
//!
//! | role | sees | may also |
//! |---|---|---|
//! | `clerk` (counter clerk) | persons and settlements of its region, masked | reveal a certificate number; issue an e-credential |
//! | `auditor` | the same, names masked too | verify the audit chain |
//! | `regional_admin` | the same as a clerk | add operators below it in its region; issue, rotate and revoke institution credentials of its region |
//! | `national_admin` | everything, every region | everything |
//!
//! A scope is a division code: `000000` national, `xx0000` a province, any other a city (its
//! first four digits, so `xxxx00` and `xxxx99` name the same city). A person is in scope by the
//! region of their record (`person.admdvs`); a settlement by its insured place or its treatment
//! place.

use crate::error::GatewayError;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use yibao_domain::DateTime;
use yibao_store::audit::{self, ADMIN_STREAM};
use yibao_store::credential::{self, Credential};
use yibao_store::operator::{self, Operator};
use yibao_store::{registry, settlement as st, DbError, Store, Tx};

/// Lifetime of a session token.
pub const TOKEN_TTL_SECS: i64 = 900;
/// Failed logins before an operator id is locked for [`LOCKOUT`].
const MAX_FAILURES: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(900);
/// Operator ids whose failures are tracked at once.
const LOGIN_TRACKED: usize = 10_000;
/// Default overlap during which a rotated-out secret still authenticates.
pub const ROTATE_OVERLAP_SECS: i64 = 600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Clerk,
    Auditor,
    RegionalAdmin,
    NationalAdmin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "clerk" => Role::Clerk,
            "auditor" => Role::Auditor,
            "regional_admin" => Role::RegionalAdmin,
            "national_admin" => Role::NationalAdmin,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Auditor => "auditor",
            Role::RegionalAdmin => "regional_admin",
            Role::NationalAdmin => "national_admin",
        }
    }
    fn is_admin(self) -> bool {
        matches!(self, Role::RegionalAdmin | Role::NationalAdmin)
    }
}

/// True when division `admdvs` lies within `scope`.
pub fn in_scope(scope: &str, admdvs: &str) -> bool {
    if scope == "000000" {
        return true;
    }
    if scope.ends_with("0000") {
        return scope.get(..2).is_some() && scope.get(..2) == admdvs.get(..2);
    }
    scope.get(..4).is_some() && scope.get(..4) == admdvs.get(..4)
}

/// `inner` is a scope within `outer`: inside it, and no wider (a city cannot grant a province,
/// only the national scope grants the national scope).
fn scope_within(outer: &str, inner: &str) -> bool {
    let wider = (inner == "000000" && outer != "000000") || (inner.ends_with("0000") && !outer.ends_with("0000"));
    in_scope(outer, inner) && !wider
}

/// An admin refusal or failure: HTTP status, stable code, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AdminError {}

pub type AdminResult<T> = Result<T, AdminError>;

fn fail(status: u16, code: &'static str, message: impl Into<String>) -> AdminError {
    AdminError { status, code, message: message.into() }
}

impl From<DbError> for AdminError {
    fn from(e: DbError) -> AdminError {
        fail(500, "INTERNAL", e.to_string())
    }
}

impl From<registry::RegistryError> for AdminError {
    fn from(e: registry::RegistryError) -> AdminError {
        fail(500, "INTERNAL", e.to_string())
    }
}

impl From<GatewayError> for AdminError {
    fn from(e: GatewayError) -> AdminError {
        match e {
            GatewayError::Business(m) => fail(400, "BAD_REQUEST", m),
            GatewayError::Refused { status, code, msg } => fail(status, code, msg),
            GatewayError::System(m) => fail(500, "INTERNAL", m),
        }
    }
}

/// A logged-in operator, as its token says and the store confirms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub opter_id: String,
    pub role: Role,
    pub scope: String,
    pub expires: i64,
}

/// Who acts.
#[derive(Clone, Debug)]
pub enum Actor {
    /// The command line (it holds the database and the data key); named for the audit log.
    System(String),
    Operator(Session),
}

impl Actor {
    fn name(&self) -> String {
        match self {
            Actor::System(who) => format!("system:{who}"),
            Actor::Operator(s) => format!("operator:{}", s.opter_id),
        }
    }
    fn role(&self) -> Role {
        match self {
            Actor::System(_) => Role::NationalAdmin,
            Actor::Operator(s) => s.role,
        }
    }
    fn scope(&self) -> &str {
        match self {
            Actor::System(_) => "000000",
            Actor::Operator(s) => &s.scope,
        }
    }
    fn require(&self, allowed: &[Role], what: &str) -> AdminResult<()> {
        if allowed.contains(&self.role()) {
            return Ok(());
        }
        Err(fail(403, "FORBIDDEN_ROLE", format!("{what} is not permitted to role {}", self.role().as_str())))
    }
    fn require_scope(&self, admdvs: &str, what: &str) -> AdminResult<()> {
        if in_scope(self.scope(), admdvs) {
            return Ok(());
        }
        Err(fail(
            403,
            "OUT_OF_SCOPE",
            format!("{what} is in region {admdvs}, outside this operator's region {}", self.scope()),
        ))
    }
}

fn now_local() -> DateTime {
    crate::clock::now().0
}

fn unix(now: DateTime) -> i64 {
    now.0 - 8 * 3600
}

fn audit(tx: &mut dyn Tx, actor: &Actor, now: DateTime, action: &str, target: &str, detail: &str) -> AdminResult<()> {
    let name = actor.name();
    audit::append(tx, &audit::Entry { stream: ADMIN_STREAM, at_time: now.0, actor: &name, action, target, detail })?;
    Ok(())
}

// ---- sessions ----------------------------------------------------------------------------------

/// Failed logins per operator id (bounded).
#[derive(Default)]
pub struct Logins {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logins")
    }
}

fn token_payload(s: &Session) -> Vec<u8> {
    json!({ "sub": s.opter_id, "role": s.role.as_str(), "scope": s.scope, "exp": s.expires }).to_string().into_bytes()
}

/// Checks an id and password; answers a session token. Unknown ids, wrong passwords and disabled
/// accounts get the same answer; five failures lock the id for 15 minutes.
pub fn login(store: &Store, logins: &Logins, opter_id: &str, password: &str) -> AdminResult<(String, Session)> {
    let bad = || fail(401, "LOGIN_FAILED", "unknown operator or wrong password");
    if opter_id.is_empty() || opter_id.len() > 64 || password.len() > 512 {
        return Err(bad());
    }
    {
        let f = logins.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, at)) = f.get(opter_id) {
            if *n >= MAX_FAILURES && at.elapsed() < LOCKOUT {
                return Err(fail(
                    429,
                    "LOGIN_LOCKED",
                    format!("too many failed logins for {opter_id}; try again later"),
                ));
            }
        }
    }
    let op = store.read(|tx| operator::get(tx, opter_id))?;
    let ok = match &op {
        Some(o) => yibao_crypto::password::verify(password, &o.pwd_hash) && o.stas == operator::stas::ACTIVE,
        None => {
            // Spend the same time as a real check, so that ids cannot be told apart by timing.
            let _ = yibao_crypto::password::verify(password, dummy_hash());
            false
        }
    };
    let mut f = logins.failures.lock().unwrap_or_else(|p| p.into_inner());
    if !ok {
        if f.len() >= LOGIN_TRACKED {
            f.retain(|_, (_, at)| at.elapsed() < LOCKOUT);
        }
        if f.len() < LOGIN_TRACKED {
            let e = f.entry(opter_id.to_owned()).or_insert((0, Instant::now()));
            if e.1.elapsed() >= LOCKOUT {
                *e = (0, Instant::now());
            }
            e.0 += 1;
            e.1 = Instant::now();
        }
        return Err(bad());
    }
    f.remove(opter_id);
    drop(f);
    let o = op.ok_or_else(bad)?;
    let role = Role::parse(&o.role)
        .ok_or_else(|| fail(500, "INTERNAL", format!("operator {opter_id} has an unknown role")))?;
    let s = Session { opter_id: o.opter_id, role, scope: o.admdvs, expires: unix(now_local()) + TOKEN_TTL_SECS };
    let token = yibao_crypto::token::sign(&store.vault().mac_key("operator-token"), &token_payload(&s));
    Ok((token, s))
}

/// An argon2id hash of a random password: compared against when an id is unknown.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        yibao_crypto::password::hash(&yibao_crypto::hex(&yibao_crypto::random::<16>())).unwrap_or_default()
    })
}

/// The session a bearer token stands for: signature, expiry, and the operator still active with
/// the same role and scope.
pub fn session(store: &Store, token: &str) -> AdminResult<Session> {
    let bad = |m: &str| fail(401, "TOKEN_INVALID", m.to_owned());
    let payload = yibao_crypto::token::verify(&store.vault().mac_keys("operator-token"), token)
        .map_err(|_| bad("the session token is not valid; log in again"))?;
    let v: Value = serde_json::from_slice(&payload).map_err(|_| bad("the session token is not valid"))?;
    let s = Session {
        opter_id: v["sub"].as_str().unwrap_or_default().to_owned(),
        role: Role::parse(v["role"].as_str().unwrap_or_default())
            .ok_or_else(|| bad("the session token is not valid"))?,
        scope: v["scope"].as_str().unwrap_or_default().to_owned(),
        expires: v["exp"].as_i64().unwrap_or(0),
    };
    if unix(now_local()) > s.expires {
        return Err(fail(401, "TOKEN_EXPIRED", "the session expired; log in again"));
    }
    let o = store.read(|tx| operator::get(tx, &s.opter_id))?;
    match o {
        Some(o) if o.stas == operator::stas::ACTIVE && o.role == s.role.as_str() && o.admdvs == s.scope => Ok(s),
        _ => Err(fail(401, "TOKEN_REVOKED", "the operator was disabled or changed; log in again")),
    }
}

// ---- operators ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct NewOperator {
    pub opter_id: String,
    pub opter_name: String,
    pub role: String,
    pub admdvs: String,
    pub password: String,
}

/// Adds an operator. A regional administrator may add clerks, auditors and regional
/// administrators within its own region; a national administrator anyone.
pub fn add_operator(store: &Store, actor: &Actor, n: &NewOperator) -> AdminResult<Value> {
    actor.require(&[Role::RegionalAdmin, Role::NationalAdmin], "adding an operator")?;
    let role = Role::parse(&n.role).ok_or_else(|| {
        fail(400, "BAD_REQUEST", format!("role {:?}: clerk, auditor, regional_admin or national_admin", n.role))
    })?;
    if n.opter_id.is_empty()
        || n.opter_id.len() > 64
        || !n.opter_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(fail(400, "BAD_REQUEST", "opter_id: 1 to 64 letters, digits, '-', '_' or '.'"));
    }
    if n.opter_name.chars().count() > 50 {
        return Err(fail(400, "BAD_REQUEST", "opter_name: at most 50 characters"));
    }
    if n.admdvs != "000000" {
        yibao_domain::codes::Admdvs::parse(&n.admdvs).map_err(|e| fail(400, "BAD_REQUEST", format!("admdvs: {e}")))?;
    }
    if role > actor.role() || (role == Role::NationalAdmin && actor.role() != Role::NationalAdmin) {
        return Err(fail(
            403,
            "FORBIDDEN_ROLE",
            format!("a {} cannot create a {}", actor.role().as_str(), role.as_str()),
        ));
    }
    if role == Role::NationalAdmin && n.admdvs != "000000" {
        return Err(fail(400, "BAD_REQUEST", "a national administrator's admdvs is 000000"));
    }
    if !scope_within(actor.scope(), &n.admdvs) {
        return Err(fail(
            403,
            "OUT_OF_SCOPE",
            format!("region {} is outside this operator's region {}", n.admdvs, actor.scope()),
        ));
    }
    let pwd_hash =
        yibao_crypto::password::hash(&n.password).map_err(|e| fail(400, "BAD_REQUEST", format!("password: {e}")))?;
    let now = now_local();
    let o = Operator {
        opter_id: n.opter_id.clone(),
        opter_name: n.opter_name.clone(),
        role: role.as_str().to_owned(),
        admdvs: n.admdvs.clone(),
        pwd_hash,
        stas: operator::stas::ACTIVE.to_owned(),
        created: now.0,
    };
    store.write(|tx| {
        operator::insert(tx, &o).map_err(|e| match e {
            DbError::Unique(_) => fail(409, "CONFLICT", format!("operator {} exists", o.opter_id)),
            other => other.into(),
        })?;
        audit(tx, actor, now, "operator.add", &o.opter_id, &format!("role={} admdvs={}", o.role, o.admdvs))
    })?;
    Ok(json!({ "opter_id": o.opter_id, "role": o.role, "admdvs": o.admdvs }))
}

// ---- institution credentials ------------------------------------------------------------------

fn institution_admdvs(tx: &mut dyn Tx, code: &str) -> AdminResult<String> {
    registry::institution(tx, code)?
        .map(|i| i.admdvs)
        .ok_or_else(|| fail(404, "NOT_FOUND", format!("{code} is not a designated institution")))
}

fn credential_json(c: &Credential, with_secret: bool) -> Value {
    let mut v = json!({
        "paasid": c.paasid, "fixmedins_code": c.fixmedins_code, "stas": c.stas,
        "prev_secret_valid_until": c.prev_until, "sm2_pubkey": c.sm2_pubkey,
    });
    if with_secret {
        v["secret"] = json!(c.secret);
    }
    v
}

/// Issues a credential for an institution; the answer is the only time the secret is shown.
pub fn issue_credential(store: &Store, actor: &Actor, code: &str, sm2_pubkey: Option<&str>) -> AdminResult<Value> {
    actor.require(&[Role::RegionalAdmin, Role::NationalAdmin], "issuing a credential")?;
    if let Some(pk) = sm2_pubkey {
        yibao_crypto::sm2::PublicKey::from_hex(pk).map_err(|e| fail(400, "BAD_REQUEST", format!("sm2_pubkey: {e}")))?;
    }
    let now = now_local();
    let c = store.write(|tx| {
        let admdvs = institution_admdvs(tx, code)?;
        actor.require_scope(&admdvs, &format!("institution {code}"))?;
        let c = credential::issue(tx, code, sm2_pubkey, unix(now))?;
        audit(
            tx,
            actor,
            now,
            "credential.issue",
            &c.paasid,
            &format!("fixmedins_code={code} sm2={}", sm2_pubkey.is_some()),
        )?;
        Ok::<_, AdminError>(c)
    })?;
    Ok(credential_json(&c, true))
}

fn own_credential(tx: &mut dyn Tx, actor: &Actor, paasid: &str) -> AdminResult<Credential> {
    let c = credential::get(tx, paasid)?.ok_or_else(|| fail(404, "NOT_FOUND", format!("no credential {paasid}")))?;
    let admdvs = institution_admdvs(tx, &c.fixmedins_code)?;
    actor.require_scope(&admdvs, &format!("credential {paasid}"))?;
    Ok(c)
}

/// A new secret for a credential; the old one authenticates for `overlap_secs` more.
pub fn rotate_credential(store: &Store, actor: &Actor, paasid: &str, overlap_secs: i64) -> AdminResult<Value> {
    actor.require(&[Role::RegionalAdmin, Role::NationalAdmin], "rotating a credential")?;
    let overlap = overlap_secs.clamp(0, 86_400);
    let now = now_local();
    let c = store.write(|tx| {
        own_credential(tx, actor, paasid)?;
        let c = credential::rotate(tx, paasid, unix(now) + overlap, unix(now))?
            .ok_or_else(|| fail(409, "CONFLICT", format!("credential {paasid} is revoked")))?;
        audit(tx, actor, now, "credential.rotate", paasid, &format!("overlap_secs={overlap}"))?;
        Ok::<_, AdminError>(c)
    })?;
    Ok(credential_json(&c, true))
}

/// Revokes a credential at once.
pub fn revoke_credential(store: &Store, actor: &Actor, paasid: &str) -> AdminResult<Value> {
    actor.require(&[Role::RegionalAdmin, Role::NationalAdmin], "revoking a credential")?;
    let now = now_local();
    store.write(|tx| {
        own_credential(tx, actor, paasid)?;
        credential::revoke(tx, paasid, unix(now))?;
        audit(tx, actor, now, "credential.revoke", paasid, "")
    })?;
    Ok(json!({ "paasid": paasid, "stas": credential::stas::REVOKED }))
}

// ---- personal data -----------------------------------------------------------------------------

fn mask_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count().max(1))),
        None => String::new(),
    }
}

fn mask_certno(certno: &str) -> String {
    let c: Vec<char> = certno.chars().collect();
    if c.len() <= 10 {
        return "*".repeat(c.len());
    }
    format!(
        "{}{}{}",
        c[..6].iter().collect::<String>(),
        "*".repeat(c.len() - 10),
        c[c.len() - 4..].iter().collect::<String>()
    )
}

fn mask_tel(tel: &str) -> String {
    let c: Vec<char> = tel.chars().collect();
    if c.len() <= 7 {
        return "*".repeat(c.len());
    }
    format!(
        "{}{}{}",
        c[..3].iter().collect::<String>(),
        "*".repeat(c.len() - 7),
        c[c.len() - 4..].iter().collect::<String>()
    )
}

fn no_person(actor: &Actor, psn_no: &str) -> AdminError {
    fail(404, "NOT_FOUND", format!("no insured person {psn_no} in this operator's region {}", actor.scope()))
}

/// The region of a person the operator may see. A person outside the operator's region gets
/// the very answer of a person who does not exist (status, code and message, and the same work
/// before it: no personal data is opened), so that the admin API does not tell an operator who
/// is insured elsewhere.
fn person_in_scope(tx: &mut dyn Tx, actor: &Actor, psn_no: &str) -> AdminResult<String> {
    registry::person_admdvs(tx, psn_no)?.filter(|a| in_scope(actor.scope(), a)).ok_or_else(|| no_person(actor, psn_no))
}

/// A person as an operator may see them (see the module table); `reveal` asks for the clear
/// certificate number, permitted to clerks and administrators, and audited as such.
pub fn read_person(store: &Store, actor: &Actor, psn_no: &str, reveal: bool) -> AdminResult<Value> {
    if reveal {
        actor.require(&[Role::Clerk, Role::RegionalAdmin, Role::NationalAdmin], "revealing a certificate number")?;
    }
    let now = now_local();
    store.write(|tx| {
        person_in_scope(tx, actor, psn_no)?;
        let p = registry::person_by_psn_no(tx, psn_no)?.ok_or_else(|| no_person(actor, psn_no))?;
        let role = actor.role();
        let name = if role == Role::Auditor { mask_name(&p.psn_name) } else { p.psn_name.clone() };
        let certno = if reveal { p.certno.clone() } else { mask_certno(&p.certno) };
        let enrollments: Vec<Value> = registry::enrollments_of(tx, psn_no)?
            .iter()
            .map(|e| json!({ "insutype": e.insutype, "psn_type": e.psn_type, "psn_insu_stas": e.psn_insu_stas, "begndate": e.begndate.to_string(), "enddate": e.enddate.map(|d| d.to_string()), "insuplc_admdvs": e.insuplc_admdvs }))
            .collect();
        audit(tx, actor, now, "person.read", psn_no, &format!("reveal={}", u8::from(reveal)))?;
        Ok(json!({
            "psn_no": p.psn_no, "psn_cert_type": p.psn_cert_type, "certno": certno, "psn_name": name,
            "gend": p.gend, "brdy": p.brdy.to_string(), "naty": p.naty, "admdvs": p.admdvs,
            "tel": p.tel.as_deref().map(mask_tel),
            "addr": if reveal && role.is_admin() { p.addr.clone().map(Value::String).unwrap_or(Value::Null) } else { Value::Null },
            "death_date": p.death_date.map(|d| d.to_string()), "enrollments": enrollments,
        }))
    })
}

/// A settlement's amounts and parties, for an operator of its insured or treatment region.
pub fn read_settlement(store: &Store, actor: &Actor, setl_id: &str) -> AdminResult<Value> {
    let now = now_local();
    store.write(|tx| {
        // Out of scope answers as "no such settlement": a 403 would confirm it exists.
        let s = st::settlement(tx, setl_id, false)?
            .filter(|s| in_scope(actor.scope(), &s.insuplc_admdvs) || in_scope(actor.scope(), &s.admdvs))
            .ok_or_else(|| {
                fail(404, "NOT_FOUND", format!("no settlement {setl_id} in this operator's region {}", actor.scope()))
            })?;
        let amounts: serde_json::Map<String, Value> =
            st::AMOUNT_COLS.iter().map(|c| ((*c).to_owned(), json!(s.amount(c)))).collect();
        audit(tx, actor, now, "settlement.read", setl_id, &format!("psn_no={}", s.psn_no))?;
        Ok(json!({
            "setl_id": s.setl_id, "mdtrt_id": s.mdtrt_id, "psn_no": s.psn_no, "fixmedins_code": s.fixmedins_code,
            "admdvs": s.admdvs, "insuplc_admdvs": s.insuplc_admdvs, "insutype": s.insutype, "med_type": s.med_type,
            "setl_time": DateTime(s.setl_time).to_string(), "refd_setl_flag": if s.refd_setl_flag { "1" } else { "0" },
            "revs_setl_id": s.revs_setl_id, "amounts": amounts,
        }))
    })
}

/// Issues an e-credential token for a person (what the holder's phone would show).
pub fn issue_ec(store: &Store, actor: &Actor, psn_no: &str, ttl_secs: i64) -> AdminResult<Value> {
    actor.require(&[Role::Clerk, Role::RegionalAdmin, Role::NationalAdmin], "issuing an e-credential")?;
    let now = now_local();
    store.write(|tx| {
        let admdvs = person_in_scope(tx, actor, psn_no)?;
        let token = crate::ecred::issue(store.vault(), &admdvs, psn_no, unix(now), ttl_secs)?;
        let t = crate::ecred::verify(store.vault(), &token, unix(now), "mdtrt_cert_no")?;
        audit(tx, actor, now, "ec.issue", psn_no, &format!("serial={} expires={}", t.serial, t.expires))?;
        Ok(json!({ "mdtrt_cert_type": "01", "mdtrt_cert_no": token, "psn_no": psn_no, "expires": t.expires }))
    })
}

/// Walks the audit chains.
pub fn verify_audit(store: &Store, actor: &Actor) -> AdminResult<Value> {
    actor.require(&[Role::Auditor, Role::NationalAdmin], "verifying the audit log")?;
    let r = store.read(audit::verify)?;
    Ok(json!({
        "streams": r.streams, "records": r.records, "ok": r.problems.is_empty(),
        "problems": r.problems.iter().map(|p| json!({ "stream": p.stream, "seq": p.seq, "what": p.what })).collect::<Vec<_>>(),
        "heads": r.heads.iter().map(|(s, q, h)| json!({ "stream": s, "seq": q, "hash": h })).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(in_scope("000000", "310100"));
        assert!(in_scope("320000", "320400"));
        assert!(!in_scope("320000", "310100"));
        assert!(in_scope("320400", "320499"));
        assert!(in_scope("320400", "320402"));
        assert!(!in_scope("320400", "320500"));
        assert!(!in_scope("320400", "32"));
        assert!(scope_within("320000", "320400"));
        assert!(!scope_within("320400", "320000"));
        assert!(!scope_within("320000", "000000"));
        assert!(scope_within("000000", "000000"));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_certno("11010519491231002X"), "110105********002X");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_tel("13800138000"), "138****8000");
    }

    #[test]
    fn dummy_hash_is_a_real_hash() {
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!yibao_crypto::password::verify("anything at all", dummy_hash()));
    }
}
