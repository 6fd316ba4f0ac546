//! SM4 (GB/T 32907). [`Sm4Gcm`] is the only mode the platform stores or sends data with: GCM
//! over the SM4 block cipher exactly as RFC 8998 defines it (12-byte nonce, 16-byte tag), built
//! from the `aes-gcm` crate's GCM, which is generic over any 128-bit block cipher. The raw block,
//! ECB and CBC functions exist for known-answer and OpenSSL differential tests (OpenSSL 3.0 has
//! no SM4-GCM) and for interoperating with HIS vendors' legacy SM4/ECB envelopes; they give no
//! integrity and are not used for data at rest.

use crate::{err, CryptoError};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{AesGcm, KeyInit};
use sm4::cipher::{BlockCipherDecrypt, BlockCipherEncrypt};

/// Nonce length of [`Sm4Gcm`].
pub const NONCE_LEN: usize = 12;
/// Tag length of [`Sm4Gcm`].
pub const TAG_LEN: usize = 16;

type Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// SM4-GCM with a fixed key. Cheap to use many times: the key schedule is computed once.
#[derive(Clone)]
pub struct Sm4Gcm(Gcm);

impl std::fmt::Debug for Sm4Gcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm4Gcm(..)")
    }
}

impl Sm4Gcm {
    pub fn new(key: &[u8; 16]) -> Sm4Gcm {
        Sm4Gcm(Gcm::new(key.into()))
    }

    /// ciphertext ‖ tag.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        let tag = self
            .0
            .encrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into())
            .expect("SM4-GCM takes messages far longer than any field");
        buf.extend_from_slice(&tag);
        buf
    }

    /// The plaintext of ciphertext ‖ tag, or an error if anything (ciphertext, tag, nonce, aad)
    /// was changed.
    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let n = sealed.len().checked_sub(TAG_LEN).ok_or_else(|| err("SM4-GCM: sealed text shorter than its tag"))?;
        let mut buf = sealed[..n].to_vec();
        let tag: &[u8; TAG_LEN] = sealed[n..].try_into().map_err(|_| err("SM4-GCM: bad tag length"))?;
        self.0
            .decrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into(), tag.into())
            .map_err(|_| err("SM4-GCM: authentication failed (wrong key, or the data was changed)"))?;
        Ok(buf)
    }
}

fn block_cipher(key: &[u8; 16]) -> sm4::Sm4 {
    sm4::Sm4::new(key.into())
}

/// One SM4 block encryption.
pub fn encrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let mut b = (*block).into();
    block_cipher(key).encrypt_block(&mut b);
    b.into()
}

/// One SM4 block decryption.
pub fn decrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let mut b = (*block).into();
    block_cipher(key).decrypt_block(&mut b);
    b.into()
}

fn pkcs7_pad(data: &[u8]) -> Vec<u8> {
    let pad = 16 - data.len() % 16;
    let mut v = data.to_vec();
    v.extend(std::iter::repeat_n(pad as u8, pad));
    v
}

fn pkcs7_unpad(mut v: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    let pad = *v.last().ok_or_else(|| err("SM4: empty ciphertext"))? as usize;
    if pad == 0 || pad > 16 || pad > v.len() || v[v.len() - pad..].iter().any(|b| *b as usize != pad) {
        return Err(err("SM4: bad padding"));
    }
    v.truncate(v.len() - pad);
    Ok(v)
}

fn blocks(v: &[u8]) -> Result<impl Iterator<Item = [u8; 16]> + '_, CryptoError> {
    if !v.len().is_multiple_of(16) {
        return Err(err("SM4: ciphertext is not a whole number of blocks"));
    }
    Ok(v.chunks(16).map(|c| c.try_into().expect("16-byte chunk")))
}

/// SM4-ECB with PKCS#7 padding (`openssl enc -sm4-ecb`).
pub fn ecb_encrypt(key: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let c = block_cipher(key);
    let mut out = pkcs7_pad(plaintext);
    for chunk in out.chunks_mut(16) {
        let b: &mut [u8; 16] = chunk.try_into().expect("16-byte chunk");
        c.encrypt_block(b.into());
    }
    out
}

pub fn ecb_decrypt(key: &[u8; 16], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let c = block_cipher(key);
    let mut out = Vec::with_capacity(ciphertext.len());
    for b in blocks(ciphertext)? {
        let mut b = b.into();
        c.decrypt_block(&mut b);
        out.extend_from_slice(&b);
    }
    pkcs7_unpad(out)
}

/// SM4-CBC with PKCS#7 padding (`openssl enc -sm4-cbc`).
pub fn cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let c = block_cipher(key);
    let mut prev = *iv;
    let mut out = pkcs7_pad(plaintext);
    for chunk in out.chunks_mut(16) {
        for (x, p) in chunk.iter_mut().zip(prev) {
            *x ^= p;
        }
        let b: &mut [u8; 16] = chunk.try_into().expect("16-byte chunk");
        c.encrypt_block(b.into());
        prev.copy_from_slice(b);
    }
    out
}

pub fn cbc_decrypt(key: &[u8; 16], iv: &[u8; 16], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let c = block_cipher(key);
    let mut prev = *iv;
    let mut out = Vec::with_capacity(ciphertext.len());
    for b in blocks(ciphertext)? {
        let mut x = b.into();
        c.decrypt_block(&mut x);
        out.extend(x.iter().zip(prev).map(|(a, p)| a ^ p));
        prev = b;
    }
    pkcs7_unpad(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hex, unhex};

    fn key(h: &str) -> [u8; 16] {
        unhex(h).unwrap().try_into().unwrap()
    }

    /// GB/T 32907-2016 Appendix A: example 1, and example 2 (the block encrypted 1,000,000 times).
    #[test]
    fn gbt_32907_known_answers() {
        let k = key("0123456789abcdeffedcba9876543210");
        let p: [u8; 16] = k;
        let c = encrypt_block(&k, &p);
        assert_eq!(hex(&c), "681edf34d206965e86b3e94f536e4246");
        assert_eq!(decrypt_block(&k, &c), p);
        if !cfg!(debug_assertions) || std::env::var_os("YIBAO_SLOW_KAT").is_some() {
            let mut b = p;
            for _ in 0..1_000_000 {
                b = encrypt_block(&k, &b);
            }
            assert_eq!(hex(&b), "595298c7c6fd271f0402f804c33d3f66");
        }
    }

    /// RFC 8998 Appendix A.1.
    #[test]
    fn rfc_8998_gcm_known_answer() {
        let g = Sm4Gcm::new(&key("0123456789ABCDEFFEDCBA9876543210"));
        let nonce: [u8; 12] = unhex("00001234567800000000ABCD").unwrap().try_into().unwrap();
        let aad = unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let pt = unhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA").unwrap();
        let sealed = g.seal(&nonce, &aad, &pt);
        assert_eq!(
            hex(&sealed),
            "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d83de3541e4c2b58177e065a9bf7b62ec"
        );
        assert_eq!(g.open(&nonce, &aad, &sealed).unwrap(), pt);
        for i in [0, 63, 79] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(g.open(&nonce, &aad, &bad).is_err(), "a flipped bit at {i} is caught");
        }
        assert!(g.open(&nonce, b"other aad", &sealed).is_err());
        assert!(g.open(&nonce, &aad, &sealed[..10]).is_err());
    }

    #[test]
    fn ecb_and_cbc_round_trip() {
        let k = key("0123456789abcdeffedcba9876543210");
        let iv = [7u8; 16];
        for n in [0usize, 1, 15, 16, 17, 100] {
            let m: Vec<u8> = (0..n as u8).collect();
            assert_eq!(ecb_decrypt(&k, &ecb_encrypt(&k, &m)).unwrap(), m);
            assert_eq!(cbc_decrypt(&k, &iv, &cbc_encrypt(&k, &iv, &m)).unwrap(), m);
        }
        assert!(ecb_decrypt(&k, &[0u8; 15]).is_err());
    }
}
