//! Who may call the interface, and how often.
//!
//! Every request carries `x-tif-paasid`, `x-tif-timestamp` (unix seconds), `x-tif-nonce` and
//! `x-tif-signature = hex(SHA256(timestamp + secret + nonce + timestamp))` (interface-spec.md
//! §1.1), keyed by the secret of an institution credential. The timestamp must be within
//! [`Limits::skew_secs`] of the platform's clock, a nonce is accepted once per credential while
//! its timestamp is fresh, and the credential's institution must be the envelope's
//! `fixmedins_code`. An envelope may in addition be signed through `signtype`/`cainfo` (`SM3`:
//! HMAC-SM3 under the secret; `SM2`: an SM2 signature under the key the institution registered,
//! mandatory when it registered one) over [`signing_text`]; that signature covers the input, the
//! x-tif signature does not.
//!
//! Refusals are [`GatewayError::Refused`]: HTTP 401 (authentication), 403 (wrong institution),
//! 429 (rate limit), with an envelope whose infcode is -2 and whose err_msg starts with a stable
//! code. Every memory this module keeps is bounded ([`Limits`]).

use crate::error::{refused, GatewayError, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use yibao_store::credential::{self, Credential};
use yibao_store::Store;

/// Whether requests must be authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Every interface request must carry valid x-tif headers (the default of `yibao serve`).
    Required,
    /// Nothing is checked but the rate limit (demos, benchmarks, tests of other things).
    Off,
}

impl std::str::FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<AuthMode, String> {
        match s {
            "required" => Ok(AuthMode::Required),
            "off" => Ok(AuthMode::Off),
            other => Err(format!("auth mode {other:?}: use required or off")),
        }
    }
}

/// Bounds on everything the guard remembers and allows.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted distance between x-tif-timestamp and the platform's clock.
    pub skew_secs: i64,
    /// Nonces remembered at once (over all credentials); when full of fresh nonces, requests
    /// are refused rather than a nonce forgotten early.
    pub nonce_capacity: usize,
    /// Sustained requests per second per institution; 0 turns the rate limit off.
    pub rate_per_sec: f64,
    /// Requests an idle institution may send at once.
    pub burst: f64,
    /// Institutions tracked by the rate limiter at once.
    pub rate_keys: usize,
    /// Person lookups (1101, 2001, 5206) per institution per minute; 0 turns the limit off.
    /// Its own bucket: a counter asks about the patients in front of it, a harvester asks
    /// about many; a refusal is `LOOKUP_LIMITED` and an alert in the log.
    pub lookups_per_min: f64,
    /// How long a credential read from the store is trusted before it is read again (a
    /// revocation in another process takes effect within this time; in this one, at once).
    pub credential_ttl: Duration,
    /// Credentials cached at once.
    pub credential_capacity: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            skew_secs: 300,
            nonce_capacity: 1_000_000,
            rate_per_sec: 500.0,
            burst: 1000.0,
            rate_keys: 100_000,
            lookups_per_min: 300.0,
            credential_ttl: Duration::from_secs(5),
            credential_capacity: 10_000,
        }
    }
}

/// The x-tif headers of a request, as text (absent or not UTF-8: None).
#[derive(Clone, Debug, Default)]
pub struct AuthHeaders {
    pub paasid: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub signature: Option<String>,
}

impl AuthHeaders {
    pub fn from_map(h: &axum::http::HeaderMap) -> AuthHeaders {
        let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_owned());
        AuthHeaders {
            paasid: get("x-tif-paasid"),
            timestamp: get("x-tif-timestamp"),
            nonce: get("x-tif-nonce"),
            signature: get("x-tif-signature"),
        }
    }

    /// Headers for a request signed with `secret` (what a HIS sends).
    pub fn sign(paasid: &str, secret: &str, timestamp: i64, nonce: &str) -> AuthHeaders {
        AuthHeaders {
            paasid: Some(paasid.to_owned()),
            timestamp: Some(timestamp.to_string()),
            nonce: Some(nonce.to_owned()),
            signature: Some(x_tif_signature(timestamp, secret, nonce)),
        }
    }
}

/// `hex(SHA256(timestamp + secret + nonce + timestamp))`, lower case.
pub fn x_tif_signature(timestamp: i64, secret: &str, nonce: &str) -> String {
    yibao_crypto::sha256_hex(format!("{timestamp}{secret}{nonce}{timestamp}").as_bytes())
}

/// A request that passed the x-tif checks.
#[derive(Clone, Debug)]
pub struct Caller {
    pub paasid: String,
    pub fixmedins_code: String,
    pub timestamp: i64,
    pub nonce: String,
    credential: Credential,
}

/// The remembered state: nonces, rate buckets, cached credentials.
pub struct Guard {
    pub mode: AuthMode,
    pub limits: Limits,
    nonces: Mutex<Nonces>,
    buckets: Mutex<HashMap<String, Bucket>>,
    lookups: Mutex<HashMap<String, Bucket>>,
    creds: Mutex<HashMap<String, (Instant, Option<Credential>)>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("mode", &self.mode).field("limits", &self.limits).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Nonces {
    /// (paasid, nonce) → unix second after which the nonce could no longer be fresh.
    seen: HashMap<(String, String), i64>,
    inserts: u64,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// An alert was logged for the refusals in progress (one line per episode, not per request).
    alerted: bool,
}

const NONCE_MAX: usize = 64;
const PAASID_MAX: usize = 64;
const CAINFO_MAX: usize = 1024;

impl Guard {
    pub fn new(mode: AuthMode, limits: Limits) -> Guard {
        Guard {
            mode,
            limits,
            nonces: Mutex::default(),
            buckets: Mutex::default(),
            lookups: Mutex::default(),
            creds: Mutex::default(),
        }
    }

    /// Forgets a cached credential (after a rotation or revocation in this process).
    pub fn forget_credential(&self, paasid: &str) {
        self.creds.lock().unwrap_or_else(|p| p.into_inner()).remove(paasid);
    }

    fn credential(&self, store: &Store, paasid: &str) -> Result<Option<Credential>> {
        let now = Instant::now();
        {
            let cache = self.creds.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, c)) = cache.get(paasid) {
                if now.duration_since(*at) < self.limits.credential_ttl {
                    return Ok(c.clone());
                }
            }
        }
        let c = store.read(|tx| credential::get(tx, paasid))?;
        let mut cache = self.creds.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= self.limits.credential_capacity {
            cache.clear();
        }
        cache.insert(paasid.to_owned(), (now, c.clone()));
        Ok(c)
    }

    /// The x-tif checks: headers present and well-formed, credential active, signature, clock
    /// skew, then the nonce (remembered only once everything else passed, so that forged
    /// requests cannot fill the memory).
    pub fn authenticate(&self, store: &Store, h: &AuthHeaders, now_unix: i64) -> Result<Caller> {
        let need = |v: &Option<String>, name: &str| {
            v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
                refused(401, "AUTH_MISSING", format!("header {name} is required (interface-spec §1.1 x-tif headers)"))
            })
        };
        let paasid = need(&h.paasid, "x-tif-paasid")?;
        let ts_text = need(&h.timestamp, "x-tif-timestamp")?;
        let nonce = need(&h.nonce, "x-tif-nonce")?;
        let sig = need(&h.signature, "x-tif-signature")?;
        if paasid.len() > PAASID_MAX {
            return Err(refused(401, "AUTH_MALFORMED", format!("x-tif-paasid: at most {PAASID_MAX} characters")));
        }
        if nonce.len() > NONCE_MAX || !nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(refused(
                401,
                "AUTH_MALFORMED",
                format!("x-tif-nonce: 1 to {NONCE_MAX} letters, digits, '-' or '_'"),
            ));
        }
        let timestamp: i64 = ts_text
            .parse()
            .ok()
            .filter(|_| ts_text.len() <= 12 && ts_text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| refused(401, "AUTH_MALFORMED", "x-tif-timestamp: unix seconds (digits only)"))?;
        if sig.len() != 64 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refused(401, "AUTH_MALFORMED", "x-tif-signature: 64 hex digits (SHA-256)"));
        }
        let cred = self.credential(store, &paasid)?.ok_or_else(|| {
            refused(401, "AUTH_UNKNOWN_PAASID", format!("x-tif-paasid {paasid} is not a credential of this platform"))
        })?;
        if !cred.active() {
            return Err(refused(401, "AUTH_REVOKED", format!("credential {paasid} was revoked")));
        }
        let sig = sig.to_ascii_lowercase();
        let ok = cred
            .secrets_at(now_unix)
            .iter()
            .any(|secret| yibao_crypto::ct_eq(x_tif_signature(timestamp, secret, &nonce).as_bytes(), sig.as_bytes()));
        if !ok {
            return Err(refused(
                401,
                "AUTH_BAD_SIGNATURE",
                "x-tif-signature does not match hex(SHA256(timestamp + secret + nonce + timestamp))",
            ));
        }
        let skew = self.limits.skew_secs;
        if (now_unix - timestamp).abs() > skew {
            return Err(refused(
                401,
                "AUTH_STALE",
                format!("x-tif-timestamp {timestamp} is more than {skew} s from the platform's clock ({now_unix})"),
            ));
        }
        self.remember_nonce(&paasid, &nonce, timestamp + skew, now_unix)?;
        Ok(Caller { fixmedins_code: cred.fixmedins_code.clone(), paasid, timestamp, nonce, credential: cred })
    }

    fn remember_nonce(&self, paasid: &str, nonce: &str, until: i64, now_unix: i64) -> Result<()> {
        let mut n = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        n.inserts += 1;
        if n.seen.len() >= self.limits.nonce_capacity || n.inserts.is_multiple_of(4096) {
            n.seen.retain(|_, until| *until >= now_unix);
        }
        let key = (paasid.to_owned(), nonce.to_owned());
        if n.seen.get(&key).is_some_and(|u| *u >= now_unix) {
            return Err(refused(
                401,
                "AUTH_REPLAY",
                format!("x-tif-nonce {nonce} was already used by {paasid}; every request needs a new nonce"),
            ));
        }
        if n.seen.len() >= self.limits.nonce_capacity {
            return Err(refused(429, "AUTH_BUSY", "too many requests in the replay window; retry shortly"));
        }
        n.seen.insert(key, until);
        Ok(())
    }

    /// The token bucket of `key` (an institution): refuses with 429 when it is empty.
    pub fn rate_limit(&self, key: &str) -> Result<()> {
        let (rate, burst) = (self.limits.rate_per_sec, self.limits.burst.max(1.0));
        if rate <= 0.0 {
            return Ok(());
        }
        match take(&self.buckets, key, rate, burst, self.limits.rate_keys) {
            Taken::Yes => Ok(()),
            Taken::Crowded => {
                Err(refused(429, "RATE_LIMITED", "the platform is tracking too many callers; retry shortly"))
            }
            Taken::No { .. } => Err(refused(
                429,
                "RATE_LIMITED",
                format!("{key} sent more than {rate} requests per second (burst {burst}); slow down and retry"),
            )),
        }
    }

    /// The person-lookup bucket of an institution ([`Limits::lookups_per_min`], a minute's worth
    /// at once): refuses with 429 `LOOKUP_LIMITED`, and logs a warning, once per run of refusals,
    /// that someone may be harvesting personal data.
    pub fn lookup_limit(&self, fixmedins_code: &str) -> Result<()> {
        let per_min = self.limits.lookups_per_min;
        if per_min <= 0.0 {
            return Ok(());
        }
        match take(&self.lookups, fixmedins_code, per_min / 60.0, per_min.max(1.0), self.limits.rate_keys) {
            Taken::Yes => Ok(()),
            Taken::Crowded => {
                Err(refused(429, "LOOKUP_LIMITED", "the platform is tracking too many callers; retry shortly"))
            }
            Taken::No { first } => {
                if first {
                    tracing::warn!(
                        target: "yibao::alert",
                        alert = "LOOKUP_LIMITED",
                        fixmedins_code,
                        per_min,
                        "an institution asks about more persons than its counters serve; possible harvesting of personal data"
                    );
                }
                Err(refused(
                    429,
                    "LOOKUP_LIMITED",
                    format!("{fixmedins_code} looked up more than {per_min} persons in a minute; wait and retry"),
                ))
            }
        }
    }
}

enum Taken {
    Yes,
    /// Empty; `first` for the first refusal since the last success.
    No {
        first: bool,
    },
    /// Too many keys tracked at once.
    Crowded,
}

/// Takes a token from `key`'s bucket (refilled at `rate` per second up to `burst`).
fn take(buckets: &Mutex<HashMap<String, Bucket>>, key: &str, rate: f64, burst: f64, max_keys: usize) -> Taken {
    let now = Instant::now();
    let mut b = buckets.lock().unwrap_or_else(|p| p.into_inner());
    if !b.contains_key(key) && b.len() >= max_keys {
        // A bucket that has refilled is the same as no bucket: forget those.
        let full_after = Duration::from_secs_f64(burst / rate);
        b.retain(|_, x| now.duration_since(x.at) < full_after);
        if b.len() >= max_keys {
            return Taken::Crowded;
        }
    }
    let e = b.entry(key.to_owned()).or_insert(Bucket { tokens: burst, at: now, alerted: false });
    e.tokens = (e.tokens + now.duration_since(e.at).as_secs_f64() * rate).min(burst);
    e.at = now;
    if e.tokens < 1.0 {
        let first = !e.alerted;
        e.alerted = true;
        return Taken::No { first };
    }
    e.tokens -= 1.0;
    e.alerted = false;
    Taken::Yes
}

/// What the envelope-level checks need from the raw request.
pub struct Signed<'a> {
    pub infno: &'a str,
    pub msgid: &'a str,
    pub fixmedins_code: &'a str,
    pub signtype: Option<&'a str>,
    pub cainfo: Option<&'a str>,
    /// The `input` as sent: an object, a JSON string, or absent.
    pub input: Option<&'a Value>,
}

impl Caller {
    /// The envelope must be the credential's institution's, and signed as the credential asks.
    pub fn check_envelope(&self, s: &Signed) -> Result<()> {
        if s.fixmedins_code != self.fixmedins_code {
            return Err(refused(
                403,
                "AUTH_WRONG_INSTITUTION",
                format!(
                    "credential {} belongs to {}, not to fixmedins_code {}",
                    self.paasid, self.fixmedins_code, s.fixmedins_code
                ),
            ));
        }
        let signtype = s.signtype.map(str::to_ascii_uppercase);
        let required_sm2 = self.credential.sm2_pubkey.is_some();
        match (signtype.as_deref(), required_sm2) {
            (None, false) => return Ok(()),
            (None, true) | (Some("SM3"), true) => {
                return Err(refused(
                    401,
                    "AUTH_SIGNATURE_REQUIRED",
                    format!(
                        "credential {} registered an SM2 key: sign the envelope with signtype SM2 and cainfo",
                        self.paasid
                    ),
                ))
            }
            _ => {}
        }
        let cainfo = s
            .cainfo
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refused(401, "AUTH_MISSING", "cainfo: required when signtype is given"))?;
        if cainfo.len() > CAINFO_MAX {
            return Err(refused(401, "AUTH_MALFORMED", format!("cainfo: at most {CAINFO_MAX} characters")));
        }
        let text = signing_text(self.timestamp, &self.nonce, &self.paasid, s);
        let ok = match signtype.as_deref() {
            Some("SM3") => yibao_crypto::unhex(cainfo)
                .map(|mac| yibao_crypto::sm3::hmac_verify(self.credential.secret.as_bytes(), text.as_bytes(), &mac))
                .unwrap_or(false),
            Some("SM2") => {
                let Some(pk) = &self.credential.sm2_pubkey else {
                    return Err(refused(
                        401,
                        "AUTH_NO_SM2_KEY",
                        format!("credential {} has no SM2 public key registered; use signtype SM3", self.paasid),
                    ));
                };
                let pk = yibao_crypto::sm2::PublicKey::from_hex(pk)
                    .map_err(|e| GatewayError::System(format!("stored SM2 key of {}: {e}", self.paasid)))?;
                yibao_crypto::unbase64(cainfo).map(|sig| pk.verify(text.as_bytes(), &sig)).unwrap_or(false)
            }
            Some(other) => {
                return Err(refused(401, "AUTH_MALFORMED", format!("signtype {other:?}: use SM3 or SM2")));
            }
            None => unreachable!("handled above"),
        };
        if !ok {
            return Err(refused(
                401,
                "AUTH_BAD_SIGNATURE",
                format!("cainfo is not a valid {} signature of this envelope", signtype.unwrap_or_default()),
            ));
        }
        Ok(())
    }
}

/// The text an envelope signature (`cainfo`) covers, lines joined by `\n`:
///
/// ```text
/// yibao-sign-v1
/// <x-tif-timestamp>
/// <x-tif-nonce>
/// <x-tif-paasid>
/// <infno>
/// <msgid>
/// <fixmedins_code>
/// <lower-case hex SM3 of the input's signing form>
/// ```
///
/// The signing form of `input` is its UTF-8 text when it was sent as a JSON string, the
/// [`canonical_json`] of it when it was sent as an object, and nothing when it was absent.
pub fn signing_text(timestamp: i64, nonce: &str, paasid: &str, s: &Signed) -> String {
    let form = match s.input {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(v) => canonical_json(v),
    };
    format!(
        "yibao-sign-v1\n{timestamp}\n{nonce}\n{paasid}\n{}\n{}\n{}\n{}",
        s.infno,
        s.msgid,
        s.fixmedins_code,
        yibao_crypto::sm3::hash_hex(form.as_bytes())
    )
}

/// Canonical JSON: no whitespace, object keys sorted by UTF-16 code units, strings escaped as
/// RFC 8785 does (only `"`, `\` and control characters; `\b \f \n \r \t`, others `\u00xx`),
/// numbers exactly as they were sent (amounts are decimal text, never re-formatted).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `cainfo` for signtype SM3: hex(HMAC-SM3(secret, signing text)).
pub fn cainfo_sm3(secret: &str, text: &str) -> String {
    yibao_crypto::hex(&yibao_crypto::sm3::hmac(secret.as_bytes(), text.as_bytes()))
}

/// `cainfo` for signtype SM2: base64(r‖s) of the SM2 signature of the signing text.
pub fn cainfo_sm2(key: &yibao_crypto::sm2::KeyPair, text: &str) -> String {
    yibao_crypto::base64(&key.sign(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_and_escapes() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, 2.50, "x\ny"], "a": {"d": null, "c": true}, "é": "\u0001/"}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":{"c":true,"d":null},"b":[1,2.50,"x\ny"],"é":"\u0001/"}"#);
    }

    #[test]
    fn x_tif_signature_is_the_spec_formula() {
        // hex(SHA256("1700000000" + "s3cret" + "n1" + "1700000000")).
        assert_eq!(
            x_tif_signature(1_700_000_000, "s3cret", "n1"),
            yibao_crypto::sha256_hex(b"1700000000s3cretn11700000000")
        );
    }

    #[test]
    fn rate_limit_refuses_after_the_burst_and_is_bounded() {
        let g = Guard::new(AuthMode::Off, Limits { rate_per_sec: 1.0, burst: 3.0, rate_keys: 2, ..Limits::default() });
        for _ in 0..3 {
            g.rate_limit("H1").unwrap();
        }
        let e = g.rate_limit("H1").unwrap_err();
        assert_eq!(e.http_status(), 429);
        assert!(e.to_string().starts_with("RATE_LIMITED: H1 sent more than"), "{e}");
        g.rate_limit("H2").unwrap();
        assert_eq!(g.rate_limit("H3").unwrap_err().http_status(), 429, "the tracker is bounded");
    }

    #[test]
    fn nonces_are_bounded_and_expire() {
        let g = Guard::new(AuthMode::Required, Limits { nonce_capacity: 2, ..Limits::default() });
        g.remember_nonce("p", "a", 100, 50).unwrap();
        assert!(g.remember_nonce("p", "a", 100, 50).unwrap_err().to_string().starts_with("AUTH_REPLAY"));
        g.remember_nonce("q", "a", 100, 50).unwrap();
        assert!(g.remember_nonce("p", "b", 100, 50).unwrap_err().to_string().starts_with("AUTH_BUSY"));
        // Once the first two are past their window they are forgotten and there is room again.
        g.remember_nonce("p", "b", 300, 150).unwrap();
        g.remember_nonce("p", "a", 300, 150).unwrap();
        let _ = json!({});
    }
}
