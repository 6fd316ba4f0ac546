//! SM3 (GB/T 32905) and HMAC-SM3 (RFC 2104 over SM3).

use hmac::{KeyInit, Mac};
use sm3::Digest;

/// SM3 of `data`.
pub fn hash(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// SM3 over several parts, as if concatenated.
pub fn hash_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sm3::Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Lower-case hex of SM3.
pub fn hash_hex(data: &[u8]) -> String {
    crate::hex(&hash(data))
}

/// HMAC-SM3 of `data` under `key` (any length).
pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_parts(key, &[data])
}

/// HMAC-SM3 over several parts, as if concatenated.
pub fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <hmac::Hmac<sm3::Sm3> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Checks an HMAC-SM3 in constant time.
pub fn hmac_verify(key: &[u8], data: &[u8], mac: &[u8]) -> bool {
    crate::ct_eq(&hmac(key, data), mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GB/T 32905-2016 Appendix A, examples 1 and 2.
    #[test]
    fn gbt_32905_known_answers() {
        assert_eq!(hash_hex(b"abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
        assert_eq!(hash_hex(&b"abcd".repeat(16)), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
        assert_eq!(hash_parts(&[b"a", b"bc"]), hash(b"abc"));
    }

    #[test]
    fn hmac_is_keyed_and_checks() {
        let a = hmac(b"key", b"data");
        assert_ne!(a, hmac(b"key2", b"data"));
        assert_eq!(a, hmac_parts(b"key", &[b"da", b"ta"]));
        assert!(hmac_verify(b"key", b"data", &a));
        assert!(!hmac_verify(b"key", b"datb", &a));
    }
}
