//! x-tif headers for a server that requires them (`serve --auth required`, the default): each
//! request is signed with its institution's credential, read from the demo credentials file
//! (`<db>.demo-credentials.json`, written by `serve --demo`) or `--credentials FILE`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Credentials by institution code, and a source of nonces unique to this run.
pub struct Signer {
    by_code: HashMap<String, (String, String)>,
    nonce_prefix: String,
    serial: AtomicU64,
}

impl Signer {
    /// Reads `{"credentials": [{"fixmedins_code", "paasid", "secret"}, ...]}`.
    pub fn load(path: &Path) -> Result<Signer, String> {
        let what = |e: String| format!("credentials {}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| what(e.to_string()))?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| what(e.to_string()))?;
        let list = doc["credentials"].as_array().ok_or_else(|| what("no \"credentials\" list".into()))?;
        let mut by_code = HashMap::new();
        for c in list {
            let field = |k: &str| c[k].as_str().map(str::to_owned).ok_or_else(|| what(format!("an entry without {k}")));
            by_code.insert(field("fixmedins_code")?, (field("paasid")?, field("secret")?));
        }
        if by_code.is_empty() {
            return Err(what("the list is empty".into()));
        }
        Ok(Signer { by_code, nonce_prefix: yibao_crypto::hex(&yibao_crypto::random::<8>()), serial: AtomicU64::new(0) })
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// The header lines for a request body (an envelope naming its `fixmedins_code`), signed
    /// now with a fresh nonce; empty when no credential is held for the institution.
    pub fn headers(&self, body: &[u8]) -> String {
        let Some((paasid, secret)) = institution_of(body).and_then(|c| self.by_code.get(c)) else {
            return String::new();
        };
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let nonce = format!("{}{:x}", self.nonce_prefix, self.serial.fetch_add(1, Ordering::Relaxed));
        let signature = yibao_crypto::sha256_hex(format!("{ts}{secret}{nonce}{ts}").as_bytes());
        format!("x-tif-paasid: {paasid}\r\nx-tif-timestamp: {ts}\r\nx-tif-nonce: {nonce}\r\nx-tif-signature: {signature}\r\n")
    }
}

/// The `fixmedins_code` of an envelope the generator built (compact JSON, so a plain search).
fn institution_of(body: &[u8]) -> Option<&str> {
    let key = b"\"fixmedins_code\":\"";
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let len = body[at..].iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&body[at..at + len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_the_institutions_credential() {
        let dir = std::env::temp_dir().join(format!("yibao-bench-sign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("creds.json");
        std::fs::write(&file, r#"{"credentials":[{"fixmedins_code":"H1","paasid":"H1-a","secret":"s3cret"}]}"#)
            .unwrap();
        let s = Signer::load(&file).unwrap();
        let h = s.headers(br#"{"fixmedins_code":"H1","infno":"1101"}"#);
        let get = |k: &str| h.lines().find_map(|l| l.strip_prefix(k)).unwrap().to_owned();
        assert_eq!(get("x-tif-paasid: "), "H1-a");
        let (ts, nonce) = (get("x-tif-timestamp: "), get("x-tif-nonce: "));
        assert_eq!(get("x-tif-signature: "), yibao_crypto::sha256_hex(format!("{ts}s3cret{nonce}{ts}").as_bytes()));
        assert_ne!(nonce, get_nonce(&s.headers(br#"{"fixmedins_code":"H1"}"#)), "a fresh nonce each time");
        assert_eq!(s.headers(br#"{"fixmedins_code":"H2"}"#), "", "no credential, no headers");
        std::fs::write(&file, r#"{"operator":{}}"#).unwrap();
        assert!(Signer::load(&file).err().unwrap().contains("no \"credentials\" list"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn get_nonce(h: &str) -> String {
        h.lines().find_map(|l| l.strip_prefix("x-tif-nonce: ")).unwrap().to_owned()
    }
}
