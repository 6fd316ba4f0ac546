//! The data key ring: personal data at rest is sealed with SM4-GCM and found through keyed SM3
//! blind indexes.
//!
//! A master key (16 or 32 bytes, given as hex in `YIBAO_DATA_KEY`) is never used directly; each
//! purpose gets its own subkey, `HMAC-SM3(master, "yibao/<purpose>/v1")`:
//!
//! | purpose | use |
//! |---|---|
//! | `sm4-gcm` (first 16 bytes) | sealing fields |
//! | `blind-index` | HMAC-SM3 of normalised values, truncated to 16 bytes |
//! | `mac/<name>` | HMAC-SM3 keys of other components (operator tokens, audit digests) |
//! | `sm2/<name>` | SM2 key pairs ([`Vault::sm2_keys`], via [`crate::sm2::KeyPair::derive`]): `e-credential` signs e-credential tokens |
//!
//! A sealed field reads `<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>`, where `kid` is the first
//! 8 hex digits of `SM3("yibao/kid/v1" ‖ master)`. The associated data names the column and the
//! row (e.g. `person.certno|<psn_no>`), so a sealed value moved to another column or row no longer
//! opens. The ring holds the current key, which seals, and any number of old keys, which only
//! open; a value sealed under an old key is re-sealed by `yibao rekey`.

use crate::sm4::{Sm4Gcm, NONCE_LEN};
use crate::{err, CryptoError};

struct DataKey {
    id: String,
    gcm: Sm4Gcm,
    index: [u8; 32],
    master: Vec<u8>,
}

/// The key ring. Its `Debug` shows key ids only.
pub struct Vault {
    keys: Vec<DataKey>,
    /// Derived SM2 key pairs by name (deriving one costs a scalar multiplication).
    sm2: std::sync::Mutex<std::collections::HashMap<String, Vec<crate::sm2::KeyPair>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "Vault(keys {ids:?})")
    }
}

fn subkey(master: &[u8], purpose: &str) -> [u8; 32] {
    crate::sm3::hmac(master, format!("yibao/{purpose}/v1").as_bytes())
}

impl DataKey {
    fn new(master: &[u8]) -> Result<DataKey, CryptoError> {
        if master.len() != 16 && master.len() != 32 {
            return Err(err(format!("a data key is 16 or 32 bytes (32 or 64 hex digits), not {} bytes", master.len())));
        }
        let enc = subkey(master, "sm4-gcm");
        let enc: [u8; 16] = enc[..16].try_into().expect("16 of 32 bytes");
        let id = crate::hex(&crate::sm3::hash_parts(&[b"yibao/kid/v1", master])[..4]);
        Ok(DataKey { id, gcm: Sm4Gcm::new(&enc), index: subkey(master, "blind-index"), master: master.to_vec() })
    }
}

impl Vault {
    /// A ring with `current` sealing and `old` keys opening only.
    pub fn new(current: &[u8], old: &[&[u8]]) -> Result<Vault, CryptoError> {
        let mut keys = vec![DataKey::new(current)?];
        for o in old {
            let k = DataKey::new(o)?;
            if keys.iter().all(|x| x.id != k.id) {
                keys.push(k);
            }
        }
        Ok(Vault { keys, sm2: Default::default() })
    }

    /// From configuration text: hex keys separated by commas, the current key first
    /// (`YIBAO_DATA_KEY=<new>,<old>` during a rotation).
    pub fn from_hex_list(spec: &str) -> Result<Vault, CryptoError> {
        let keys: Vec<Vec<u8>> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|h| crate::unhex(h).map_err(|e| err(format!("data key: {e}"))))
            .collect::<Result<_, _>>()?;
        let (first, rest) = keys.split_first().ok_or_else(|| err("no data key given"))?;
        let old: Vec<&[u8]> = rest.iter().map(Vec::as_slice).collect();
        Vault::new(first, &old)
    }

    /// A new random 32-byte key, hex.
    pub fn generate_hex() -> String {
        crate::hex(&crate::random::<32>())
    }

    /// Id of the current key.
    pub fn key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Ids of every key, current first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plaintext` under the current key, bound to `aad` (column and row).
    pub fn seal(&self, aad: &str, plaintext: &str) -> String {
        let k = &self.keys[0];
        let nonce = crate::random::<NONCE_LEN>();
        let mut blob = nonce.to_vec();
        blob.extend(k.gcm.seal(&nonce, aad.as_bytes(), plaintext.as_bytes()));
        format!("{}:{}", k.id, crate::base64url(&blob))
    }

    /// Opens a sealed field; fails when the key is unknown or anything was changed.
    pub fn open(&self, aad: &str, sealed: &str) -> Result<String, CryptoError> {
        let (kid, body) = sealed.split_once(':').ok_or_else(|| err("not a sealed value"))?;
        let k = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or_else(|| err(format!("sealed under key {kid}, which is not configured")))?;
        let blob = crate::unbase64url(body).map_err(|_| err("sealed value is damaged"))?;
        if blob.len() < NONCE_LEN {
            return Err(err("sealed value is damaged"));
        }
        let nonce: [u8; NONCE_LEN] = blob[..NONCE_LEN].try_into().expect("nonce length");
        let pt = k.gcm.open(&nonce, aad.as_bytes(), &blob[NONCE_LEN..]).map_err(|_| {
            err(format!("sealed value for {} does not authenticate (changed, moved or wrong key)", aad_column(aad)))
        })?;
        String::from_utf8(pt).map_err(|_| err("sealed value is not text"))
    }

    /// True when `sealed` is under the current key (nothing for `rekey` to do).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.split_once(':').is_some_and(|(kid, _)| kid == self.keys[0].id)
    }

    /// Keyed blind index of a normalised value under the current key: hex of the first 16 bytes
    /// of `HMAC-SM3(index key, label ‖ 0 ‖ value)`.
    pub fn blind_index(&self, label: &str, value: &str) -> String {
        Self::index_with(&self.keys[0], label, value)
    }

    /// The blind index of a value under every key, current first: a row not yet re-keyed is
    /// still found.
    pub fn blind_indexes(&self, label: &str, value: &str) -> Vec<String> {
        self.keys.iter().map(|k| Self::index_with(k, label, value)).collect()
    }

    fn index_with(k: &DataKey, label: &str, value: &str) -> String {
        let m = crate::sm3::hmac_parts(&k.index, &[label.as_bytes(), &[0], value.as_bytes()]);
        crate::hex(&m[..16])
    }

    /// An HMAC-SM3 key for another component, derived from the current key.
    pub fn mac_key(&self, name: &str) -> [u8; 32] {
        subkey(&self.keys[0].master, &format!("mac/{name}"))
    }

    /// The same key under every key of the ring, current first (to verify across a rotation).
    pub fn mac_keys(&self, name: &str) -> Vec<[u8; 32]> {
        self.keys.iter().map(|k| subkey(&k.master, &format!("mac/{name}"))).collect()
    }

    /// The SM2 key pairs derived for `name` under every key, current first.
    pub fn sm2_keys(&self, name: &str) -> Vec<crate::sm2::KeyPair> {
        let mut cache = self.sm2.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(name.to_owned())
            .or_insert_with(|| {
                self.keys
                    .iter()
                    .map(|k| crate::sm2::KeyPair::derive(&k.master, &format!("yibao/sm2/{name}/v1")))
                    .collect()
            })
            .clone()
    }
}

/// The column part of an aad (`person.certno|P1` → `person.certno`): errors never show row keys.
fn aad_column(aad: &str) -> &str {
    aad.split('|').next().unwrap_or(aad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(spec: &str) -> Vault {
        Vault::from_hex_list(spec).unwrap()
    }

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    #[test]
    fn seals_opens_and_binds_to_the_row() {
        let v = vault(K1);
        let s = v.seal("person.certno|P1", "11010519491231002X");
        assert!(!s.contains("11010519491231002X"));
        assert!(s.starts_with(&format!("{}:", v.key_id())));
        assert_eq!(v.open("person.certno|P1", &s).unwrap(), "11010519491231002X");
        assert_ne!(s, v.seal("person.certno|P1", "11010519491231002X"), "a fresh nonce each time");
        let e = v.open("person.certno|P2", &s).unwrap_err().to_string();
        assert!(e.contains("person.certno") && !e.contains("P2"), "{e}");
        let mut damaged = s.clone().into_bytes();
        let last = damaged.len() - 3;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        assert!(v.open("person.certno|P1", std::str::from_utf8(&damaged).unwrap()).is_err());
        assert!(v.open("x", "no colon").is_err());
        assert!(v.open("x", "abcd1234:").is_err());
    }

    #[test]
    fn rotation_opens_old_values_and_seals_new_ones_under_the_new_key() {
        let old = vault(K1);
        let sealed_old = old.seal("a", "secret");
        let rotated = vault(&format!("{K2},{K1}"));
        assert_eq!(rotated.open("a", &sealed_old).unwrap(), "secret");
        assert!(!rotated.is_current(&sealed_old));
        let sealed_new = rotated.seal("a", "secret");
        assert!(rotated.is_current(&sealed_new));
        assert!(old.open("a", &sealed_new).unwrap_err().to_string().contains("not configured"));
        let idx = rotated.blind_indexes("certno", "X");
        assert_eq!(idx.len(), 2);
        assert_eq!(idx[1], old.blind_index("certno", "X"));
        assert_eq!(idx[0], rotated.blind_index("certno", "X"));
        assert_ne!(idx[0], idx[1]);
        assert_ne!(rotated.blind_index("certno", "X"), rotated.blind_index("tel", "X"));
        assert_eq!(rotated.mac_keys("t")[1], old.mac_key("t"));
        assert!(!format!("{rotated:?}").contains(K1));
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(Vault::from_hex_list("").is_err());
        assert!(Vault::from_hex_list("abcd").is_err());
        assert!(Vault::from_hex_list("zz").is_err());
        assert_eq!(Vault::generate_hex().len(), 64);
    }
}
