//! E-credential (医保电子凭证) tokens: what the holder's phone shows as a QR code and a HIS
//! presents as `mdtrt_cert_type` 01 with the token as `mdtrt_cert_no`.
//!
//! A token is `<admdvs6>ec<base64url(payload ‖ signature)>`:
//!
//! * `admdvs6`: the person's region (as real tokens begin, interface-spec.md §7.1);
//! * payload: version `0x01` (1 byte) ‖ expiry (unix seconds, u32 big-endian) ‖ serial (8
//!   random bytes) ‖ psn_no (UTF-8, at most 30 bytes);
//! * signature: SM2 with SM3 and the default user id, raw r‖s (64 bytes), by the platform's
//!   e-credential key, over `"yibao-ec-v1\0" ‖ admdvs6 ‖ payload`.
//!
//! The token is self-contained: anyone with the platform's public key (`GET /ec/public-key`) can
//! check it offline. Its length is 8 + ⌈4·(77 + len(psn_no))/3⌉ characters: 131 for the demo
//! world's 15-character psn_no. That is longer than the 64 characters of the spec's `ecToken`
//! field, because an SM2 signature alone is 64 bytes; `mdtrt_cert_no` accepts up to 200
//! characters for type 01.
//!
//! "Used" means bound to a visit: the first state-changing transaction that presents a token
//! (2201 registration, 2401 admission, 2102 pharmacy sale, or 2207/2304 settlement of a visit
//! registered otherwise) binds it to its visit. Presenting it again for the same visit (2207
//! after 2201) is accepted while it is fresh; for any other visit, or to open another visit, it
//! is refused. Reads (1101, 2206 pre-settlement, …) check the token but never bind it; a read
//! about the person alone (1101) accepts a bound token. An expired token is refused everywhere.

use crate::error::{biz, Result};
use serde_json::Value;
use yibao_crypto::sm2::{KeyPair, PublicKey};
use yibao_store::ecred::{self, EcUse};
use yibao_store::{Tx, Vault};

/// Name of the vault-derived SM2 key that signs tokens.
const KEY_NAME: &str = "e-credential";
/// Default lifetime of a token.
pub const DEFAULT_TTL_SECS: i64 = 300;
/// Longest lifetime a token may claim (a token from further in the future is refused).
pub const MAX_TTL_SECS: i64 = 3600;
/// Longest `mdtrt_cert_no` accepted for type 01.
pub const TOKEN_MAX: usize = 200;

const DOMAIN: &[u8] = b"yibao-ec-v1\0";
const PSN_NO_MAX: usize = 30;

/// A verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub admdvs: String,
    pub psn_no: String,
    pub expires: i64,
    /// Hex of the 8-byte serial: what "used" is recorded under.
    pub serial: String,
}

/// The platform's e-credential signing key (current) and every key that still verifies.
pub fn keys(vault: &Vault) -> Vec<KeyPair> {
    vault.sm2_keys(KEY_NAME)
}

/// The public key that verifies new tokens.
pub fn public_key(vault: &Vault) -> PublicKey {
    keys(vault)[0].public()
}

/// Issues a token for a person of region `admdvs`, valid for `ttl_secs` from `now_unix`.
pub fn issue(vault: &Vault, admdvs: &str, psn_no: &str, now_unix: i64, ttl_secs: i64) -> Result<String> {
    if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(biz(format!("admdvs {admdvs:?}: six digits")));
    }
    if psn_no.is_empty() || psn_no.len() > PSN_NO_MAX {
        return Err(biz(format!("psn_no: 1 to {PSN_NO_MAX} bytes")));
    }
    let ttl = ttl_secs.clamp(1, MAX_TTL_SECS);
    let expires = u32::try_from(now_unix + ttl).map_err(|_| biz("expiry out of range"))?;
    let mut payload = vec![1u8];
    payload.extend_from_slice(&expires.to_be_bytes());
    payload.extend_from_slice(&yibao_crypto::random::<8>());
    payload.extend_from_slice(psn_no.as_bytes());
    let sig = keys(vault)[0].sign(&[DOMAIN, admdvs.as_bytes(), &payload].concat());
    payload.extend_from_slice(&sig);
    Ok(format!("{admdvs}ec{}", yibao_crypto::base64url(&payload)))
}

/// Checks a presented token: shape, signature under a platform key, expiry. `field` is the
/// path of the field as sent (`input.data.mdtrt_cert_no`), which every error names.
pub fn verify(vault: &Vault, token: &str, now_unix: i64, field: &str) -> Result<Token> {
    let malformed =
        || biz(format!("{field}: not an e-credential token (医保电子凭证); ask the holder to show the code again"));
    if token.len() > TOKEN_MAX || token.len() < 10 || !token.is_ascii() {
        return Err(malformed());
    }
    let (admdvs, rest) = token.split_at(6);
    let body = rest.strip_prefix("ec").ok_or_else(malformed)?;
    if !admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let raw = yibao_crypto::unbase64url(body).map_err(|_| malformed())?;
    if raw.len() < 1 + 4 + 8 + 1 + 64 || raw[0] != 1 {
        return Err(malformed());
    }
    let (payload, sig) = raw.split_at(raw.len() - 64);
    let signed = [DOMAIN, admdvs.as_bytes(), payload].concat();
    if !keys(vault).iter().any(|k| k.public().verify(&signed, sig)) {
        return Err(biz(format!(
            "{field}: the e-credential's signature does not verify: it was not issued by this platform or was altered"
        )));
    }
    let expires = u32::from_be_bytes(payload[1..5].try_into().expect("4 bytes")) as i64;
    let psn_no = std::str::from_utf8(&payload[13..]).map_err(|_| malformed())?.to_owned();
    if now_unix > expires {
        return Err(biz(format!(
            "{field}: the e-credential expired {} s ago; ask the holder to refresh the code",
            now_unix - expires
        )));
    }
    if expires - now_unix > MAX_TTL_SECS + 300 {
        return Err(malformed());
    }
    Ok(Token { admdvs: admdvs.to_owned(), psn_no, expires, serial: yibao_crypto::hex(&payload[5..13]) })
}

/// The token a request presents: `mdtrt_cert_type` "01" in `input.data` or `input.mdtrtinfo`.
/// Checks it and that it names the request's psn_no; returns the path of the field it was
/// read from (`input.data.mdtrt_cert_no`) with it, None when no e-credential is presented.
pub fn presented(vault: &Vault, input: &Value, now_unix: i64) -> Result<Option<(String, Token)>> {
    for node in ["data", "mdtrtinfo"] {
        let Some(d) = input.get(node).filter(|d| d.is_object()) else { continue };
        if d.get("mdtrt_cert_type").and_then(Value::as_str).map(str::trim) != Some("01") {
            continue;
        }
        let field = format!("input.{node}.mdtrt_cert_no");
        let no = d
            .get("mdtrt_cert_no")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| biz(format!("{field}: required for mdtrt_cert_type 01 (the e-credential token)")))?;
        let t = verify(vault, no, now_unix, &field)?;
        if let Some(p) = d.get("psn_no").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty()) {
            if p != t.psn_no {
                return Err(biz(format!("{field}: the e-credential belongs to another person than psn_no {p}")));
            }
        }
        return Ok(Some((field, t)));
    }
    Ok(None)
}

/// The visit a state-changing answer concerns: the input's mdtrt_id, else the output's.
pub fn visit_of(input: &Value, output: &Value) -> Option<String> {
    let s = |v: &Value| v.get("mdtrt_id").and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty());
    ["data", "mdtrtinfo"]
        .iter()
        .find_map(|n| input.get(n).and_then(s))
        .or_else(|| ["data", "result", "setlinfo"].iter().find_map(|n| output.get(n).and_then(s)))
}

/// Refuses a token already bound to a visit when the request comes from another institution,
/// concerns another visit, or would open a new one (`opens_visit`). A read about the person
/// alone (1101) by the institution of the visit may present it again; another institution may
/// not (the holder gave it to one counter). `field` is where the token was sent ([`presented`]).
pub fn check_unused(
    tx: &mut dyn Tx,
    t: &Token,
    field: &str,
    input: &Value,
    fixmedins_code: &str,
    opens_visit: bool,
) -> Result<()> {
    let Some(prev) = ecred::get(tx, &t.serial)? else { return Ok(()) };
    let concerns = visit_of(input, &Value::Null);
    let other_visit = concerns.as_deref().is_some_and(|m| m != prev.mdtrt_id);
    if prev.fixmedins_code != fixmedins_code {
        // Another institution's visit is not named to this one.
        return Err(biz(format!(
            "{field}: this e-credential was already used at another institution; ask the holder to refresh the code"
        )));
    }
    if other_visit || (concerns.is_none() && opens_visit) {
        return Err(used(field, &prev));
    }
    Ok(())
}

/// Binds a presented token to the visit, or refuses it when it is bound to another.
pub fn bind(
    tx: &mut dyn Tx,
    t: &Token,
    field: &str,
    mdtrt_id: &str,
    fixmedins_code: &str,
    infno: &str,
    now_unix: i64,
) -> Result<()> {
    let u = EcUse {
        serial: t.serial.clone(),
        psn_no: t.psn_no.clone(),
        mdtrt_id: mdtrt_id.to_owned(),
        fixmedins_code: fixmedins_code.to_owned(),
        infno: infno.to_owned(),
        expires: t.expires,
        used_time: now_unix,
    };
    match ecred::record(tx, &u)? {
        Some(prev) if prev.mdtrt_id != mdtrt_id => Err(used(field, &prev)),
        _ => Ok(()),
    }
}

fn used(field: &str, prev: &EcUse) -> crate::error::GatewayError {
    biz(format!(
        "{field}: this e-credential was already used ({} for visit {}); ask the holder to refresh the code",
        prev.infno, prev.mdtrt_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "input.data.mdtrt_cert_no";

    fn vault() -> Vault {
        Vault::from_hex_list("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
    }

    #[test]
    fn issues_and_verifies() {
        let v = vault();
        let t = issue(&v, "110100", "1101000000000001", 1_000, 300).unwrap();
        assert!(t.starts_with("110100ec"));
        assert_eq!(t.len(), 8 + ((77 + 16) * 4usize).div_ceil(3), "{t}");
        let got = verify(&v, &t, 1_100, F).unwrap();
        assert_eq!((got.psn_no.as_str(), got.expires, got.admdvs.as_str()), ("1101000000000001", 1_300, "110100"));
        assert!(verify(&v, &t, 1_301, F).unwrap_err().to_string().contains("expired 1 s ago"));
        let e = verify(&v, "110100ecjunk", 1_000, "input.mdtrtinfo.mdtrt_cert_no").unwrap_err().to_string();
        assert!(e.starts_with("input.mdtrtinfo.mdtrt_cert_no: not an e-credential"), "{e}");
    }

    #[test]
    fn refuses_forgeries() {
        let v = vault();
        let t = issue(&v, "110100", "P1", 1_000, 300).unwrap();
        let other = Vault::from_hex_list("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap();
        assert!(verify(&other, &t, 1_000, F).unwrap_err().to_string().contains("does not verify"));
        // Another region on the same payload and signature.
        let moved = format!("310100{}", &t[6..]);
        assert!(verify(&v, &moved, 1_000, F).unwrap_err().to_string().contains("does not verify"));
        // One character of the payload changed.
        let mut b = t.clone().into_bytes();
        b[12] = if b[12] == b'A' { b'B' } else { b'A' };
        assert!(verify(&v, std::str::from_utf8(&b).unwrap(), 1_000, F).is_err());
        for junk in ["", "110100ec", "110100xx", "11010Xec", "110100ec!!!!", &"1".repeat(500)] {
            assert!(verify(&v, junk, 1_000, F).unwrap_err().to_string().contains("not an e-credential"), "{junk}");
        }
    }
}
