//! SM2 digital signatures (GB/T 32918.2) with SM3 and the default user id (distinguishing
//! identifier) `1234567812345678`, as OpenSSL and the national platform's SDKs use by default.
//!
//! Encodings: a private key is 32 bytes (hex); a public key is the uncompressed SEC1 point
//! `04‖x‖y` (65 bytes, hex) or an X.509 SubjectPublicKeyInfo (DER/PEM, what OpenSSL reads); a
//! signature is raw `r‖s` (64 bytes; base64 in `cainfo`, as the Jilin SDK sends it) or DER.

use crate::{err, CryptoError};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};

/// The default SM2 user id of GB/T 35276.
pub const DEFAULT_USER_ID: &str = "1234567812345678";

/// An SM2 key pair.
#[derive(Clone)]
pub struct KeyPair(SigningKey);

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sm2::KeyPair(public {})", self.public().to_hex())
    }
}

impl KeyPair {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> KeyPair {
        loop {
            // A random 256-bit string is a valid scalar unless it is 0 or ≥ n (chance ~2^-32).
            if let Ok(k) = KeyPair::from_bytes(&crate::random::<32>()) {
                return k;
            }
        }
    }

    /// From a 32-byte big-endian private scalar.
    pub fn from_bytes(secret: &[u8]) -> Result<KeyPair, CryptoError> {
        SigningKey::from_slice(DEFAULT_USER_ID, secret).map(KeyPair).map_err(|_| err("SM2: not a valid private key"))
    }

    /// A key derived deterministically from `seed` (e.g. a configured master key): SM3-based
    /// counter mode until a valid scalar comes out.
    pub fn derive(seed: &[u8], label: &str) -> KeyPair {
        for i in 0u32.. {
            let d = crate::sm3::hmac_parts(seed, &[label.as_bytes(), &i.to_be_bytes()]);
            if let Ok(k) = KeyPair::from_bytes(&d) {
                return k;
            }
        }
        unreachable!("a valid scalar is found within a few tries")
    }

    pub fn from_hex(secret_hex: &str) -> Result<KeyPair, CryptoError> {
        KeyPair::from_bytes(&crate::unhex(secret_hex)?)
    }

    /// The private scalar, hex. Handle with care.
    pub fn secret_hex(&self) -> String {
        crate::hex(&self.0.to_bytes())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().clone())
    }

    /// Signs `msg` (SM3 with Z_A of the default user id); raw r‖s.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let s: Signature = self.0.sign(msg);
        s.to_bytes().into()
    }
}

/// An SM2 public key.
#[derive(Clone, Debug)]
pub struct PublicKey(VerifyingKey);

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.0.to_sec1_bytes() == other.0.to_sec1_bytes()
    }
}

impl Eq for PublicKey {}

/// DER prefix of an SM2 SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { id-ecPublicKey, sm2 },
/// BIT STRING (65 bytes follow: 04‖x‖y) }.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf,
    0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
];

impl PublicKey {
    /// From a SEC1 point (uncompressed `04‖x‖y` or compressed).
    pub fn from_sec1(bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        VerifyingKey::from_sec1_bytes(DEFAULT_USER_ID, bytes)
            .map(PublicKey)
            .map_err(|_| err("SM2: not a valid public key point"))
    }

    pub fn from_hex(h: &str) -> Result<PublicKey, CryptoError> {
        PublicKey::from_sec1(&crate::unhex(h)?)
    }

    /// The uncompressed point, hex (130 digits).
    pub fn to_hex(&self) -> String {
        crate::hex(&self.0.to_sec1_bytes())
    }

    /// X.509 SubjectPublicKeyInfo, DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut v = SPKI_PREFIX.to_vec();
        v.extend_from_slice(&self.0.to_sec1_bytes());
        v
    }

    /// From SubjectPublicKeyInfo DER (as `openssl pkey -pubout -outform DER` writes).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, CryptoError> {
        if der.len() != SPKI_PREFIX.len() + 65 || der[..SPKI_PREFIX.len()] != SPKI_PREFIX {
            return Err(err("SM2: not an SM2 SubjectPublicKeyInfo"));
        }
        PublicKey::from_sec1(&der[SPKI_PREFIX.len()..])
    }

    /// PEM `PUBLIC KEY` (for `openssl pkeyutl -pubin`).
    pub fn to_pem(&self) -> String {
        let b = crate::base64(&self.to_spki_der());
        let lines: Vec<&str> = b.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
    }

    /// Checks a raw r‖s signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match Signature::from_slice(sig) {
            Ok(s) => self.0.verify(msg, &s).is_ok(),
            Err(_) => false,
        }
    }
}

/// raw r‖s → DER `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn sig_to_der(raw: &[u8; 64]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        if v.is_empty() || v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let body: Vec<u8> = [int(&raw[..32]), int(&raw[32..])].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` → raw r‖s.
pub fn sig_from_der(der: &[u8]) -> Result<[u8; 64], CryptoError> {
    let bad = || err("SM2: not a DER signature");
    if der.len() < 8 || der[0] != 0x30 || der[1] as usize != der.len() - 2 {
        return Err(bad());
    }
    let mut rest = &der[2..];
    let mut out = [0u8; 64];
    for half in out.chunks_mut(32) {
        if rest.len() < 2 || rest[0] != 0x02 {
            return Err(bad());
        }
        let n = rest[1] as usize;
        let v = rest.get(2..2 + n).ok_or_else(bad)?;
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        if v.len() > 32 {
            return Err(bad());
        }
        half[32 - v.len()..].copy_from_slice(&v);
        rest = &rest[2 + n..];
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let k = KeyPair::generate();
        let s = k.sign(b"message");
        assert!(k.public().verify(b"message", &s));
        assert!(!k.public().verify(b"messagf", &s));
        let mut bad = s;
        bad[10] ^= 1;
        assert!(!k.public().verify(b"message", &bad));
        assert!(!KeyPair::generate().public().verify(b"message", &s), "another key does not verify");
        assert!(!k.public().verify(b"message", &s[..63]));
        let again = KeyPair::from_hex(&k.secret_hex()).unwrap();
        assert_eq!(again.public(), k.public());
        assert_eq!(PublicKey::from_hex(&k.public().to_hex()).unwrap(), k.public());
        assert_eq!(PublicKey::from_spki_der(&k.public().to_spki_der()).unwrap(), k.public());
        assert_eq!(sig_from_der(&sig_to_der(&s)).unwrap(), s);
        assert!(KeyPair::from_bytes(&[0u8; 32]).is_err());
        assert_eq!(KeyPair::derive(b"seed", "x").public(), KeyPair::derive(b"seed", "x").public());
        assert_ne!(KeyPair::derive(b"seed", "x").public(), KeyPair::derive(b"seed", "y").public());
    }

    #[test]
    fn der_of_small_integers() {
        let mut raw = [0u8; 64];
        raw[31] = 1;
        raw[32] = 0x80;
        let der = sig_to_der(&raw);
        assert_eq!(der[..5], [0x30, der.len() as u8 - 2, 0x02, 0x01, 0x01]);
        assert_eq!(sig_from_der(&der).unwrap(), raw);
        assert!(sig_from_der(&der[..der.len() - 1]).is_err());
    }
}
