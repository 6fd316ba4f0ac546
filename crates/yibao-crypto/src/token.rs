//! Short-lived bearer tokens: `base64url(payload).base64url(HMAC-SM3(key, payload))`. The
//! payload is the caller's (JSON for operator sessions); this module only signs and checks.

use crate::{err, CryptoError};

/// Signs `payload` under `key`.
pub fn sign(key: &[u8], payload: &[u8]) -> String {
    let mac = crate::sm3::hmac_parts(key, &[b"yibao/token/v1\0", payload]);
    format!("{}.{}", crate::base64url(payload), crate::base64url(&mac))
}

/// The payload of a token signed under any of `keys`; an error for anything else. Expiry is the
/// caller's to check, inside the payload.
pub fn verify(keys: &[[u8; 32]], token: &str) -> Result<Vec<u8>, CryptoError> {
    if token.len() > 4096 {
        return Err(err("token too long"));
    }
    let (p, m) = token.split_once('.').ok_or_else(|| err("not a token"))?;
    let payload = crate::unbase64url(p).map_err(|_| err("not a token"))?;
    let mac = crate::unbase64url(m).map_err(|_| err("not a token"))?;
    for k in keys {
        let want = crate::sm3::hmac_parts(k, &[b"yibao/token/v1\0", &payload]);
        if crate::ct_eq(&want, &mac) {
            return Ok(payload);
        }
    }
    Err(err("token signature does not verify"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn signs_and_refuses_forgeries() {
        let k = [1u8; 32];
        let t = super::sign(&k, b"{\"sub\":\"op1\"}");
        assert_eq!(super::verify(&[k], &t).unwrap(), b"{\"sub\":\"op1\"}");
        assert!(super::verify(&[[2u8; 32]], &t).is_err());
        assert_eq!(super::verify(&[[2u8; 32], k], &t).unwrap(), b"{\"sub\":\"op1\"}");
        let (p, m) = t.split_once('.').unwrap();
        let forged = format!("{}.{m}", crate::base64url(b"{\"sub\":\"admin\"}"));
        assert!(super::verify(&[k], &forged).is_err());
        assert!(super::verify(&[k], p).is_err());
        assert!(super::verify(&[k], "").is_err());
    }
}
