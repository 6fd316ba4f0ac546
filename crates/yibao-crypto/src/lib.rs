//! National cryptography for yibao, on the RustCrypto `sm2`, `sm3` and `sm4` crates:
//!
//! * [`sm3`]: SM3 hash (GB/T 32905) and HMAC-SM3.
//! * [`sm4`]: SM4 (GB/T 32907) in GCM mode (authenticated; the construction of RFC 8998, built
//!   from the `aes-gcm` crate's generic GCM over the `sm4` block cipher), plus raw ECB/CBC used
//!   only by the differential tests against OpenSSL.
//! * [`sm2`]: SM2 signatures with SM3 and the default user id `1234567812345678` (GB/T 32918),
//!   key generation, and the encodings OpenSSL and HIS vendors use (raw r‖s, DER, SPKI).
//! * [`vault`]: the data-at-rest key ring (SM4-GCM sealed fields, HMAC-SM3 blind indexes, key
//!   rotation).
//! * [`token`]: short-lived HMAC-SM3 signed tokens.
//! * [`sha256_hex`]: the `x-tif-signature` digest of the national gateway.
//!
//! These crates have not been independently audited (their READMEs say so); the known-answer and
//! OpenSSL differential tests in `tests/` are what this project relies on.

pub mod password;
pub mod sm2;
pub mod sm3;
pub mod sm4;
pub mod token;
pub mod vault;

pub use vault::Vault;

/// A cryptographic operation failed. Messages never contain key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoError(pub String);

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CryptoError {}

pub(crate) fn err(msg: impl Into<String>) -> CryptoError {
    CryptoError(msg.into())
}

/// Fills `buf` from the operating system's random source.
pub fn random_fill(buf: &mut [u8]) {
    // The OS source failing is unrecoverable for a platform that signs and encrypts.
    getrandom::fill(buf).expect("the operating system random source failed");
}

/// `N` random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    random_fill(&mut b);
    b
}

/// Lower-case hex of SHA-256 (used by `x-tif-signature`).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

/// Equality that takes the same time wherever the inputs differ (for MACs and signatures).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Parses hex (either case, no separators).
pub fn unhex(s: &str) -> Result<Vec<u8>, CryptoError> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err(err("hex text has an odd number of digits"));
    }
    let digit = |c: u8| -> Result<u8, CryptoError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(err("hex text holds a character that is not a hex digit")),
        }
    };
    s.as_bytes().chunks(2).map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(bytes: &[u8], table: &[u8; 64], pad: bool) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= n {
                s.push(table[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                s.push('=');
            }
        }
    }
    s
}

fn b64_decode(s: &str, table: &[u8; 64]) -> Result<Vec<u8>, CryptoError> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    // A reverse table (0xFF = not in the alphabet): a linear search per character was the
    // hottest function of the settlement path, which opens sealed fields on every request.
    let mut rev = [0xFFu8; 256];
    for (i, t) in table.iter().enumerate() {
        rev[*t as usize] = i as u8;
    }
    for c in s.bytes() {
        let v = match rev[c as usize] {
            0xFF => return Err(err("not base64 text")),
            v => v as u32,
        };
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 || acc != 0 {
        return Err(err("base64 text has trailing bits"));
    }
    Ok(out)
}

/// Standard base64 with padding (what HIS vendors put in `cainfo`).
pub fn base64(bytes: &[u8]) -> String {
    b64_encode(bytes, B64_STD, true)
}

pub fn unbase64(s: &str) -> Result<Vec<u8>, CryptoError> {
    b64_decode(s, B64_STD)
}

/// URL-safe base64 without padding (tokens, sealed fields).
pub fn base64url(bytes: &[u8]) -> String {
    b64_encode(bytes, B64_URL, false)
}

pub fn unbase64url(s: &str) -> Result<Vec<u8>, CryptoError> {
    if s.contains('=') {
        return Err(err("url-safe base64 here carries no padding"));
    }
    b64_decode(s, B64_URL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_round_trip() {
        for n in 0..40u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            assert_eq!(unhex(&hex(&v)).unwrap(), v);
            assert_eq!(unbase64(&base64(&v)).unwrap(), v);
            assert_eq!(unbase64url(&base64url(&v)).unwrap(), v);
        }
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert!(unhex("0g").is_err());
        assert!(unhex("abc").is_err());
        assert!(unbase64url("YWI=").is_err());
        assert!(unbase64("Y").is_err());
        assert!(unbase64("YR==").is_err(), "trailing bits are refused");
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
