//! Operator passwords: argon2id with the crate's default parameters (19 MiB, 2 passes, 1 lane;
//! the OWASP minimum), a random 16-byte salt, stored as a PHC string.

use crate::{err, CryptoError};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Shortest accepted password.
pub const MIN_LEN: usize = 10;
/// Longest accepted password (argon2 would take more, a login form should not).
pub const MAX_LEN: usize = 128;

/// Hashes a password; refuses one shorter than [`MIN_LEN`] or longer than [`MAX_LEN`].
pub fn hash(password: &str) -> Result<String, CryptoError> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(err(format!("a password has {MIN_LEN} to {MAX_LEN} characters")));
    }
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| err(format!("argon2: {e}")))
}

/// True when `password` matches the PHC string `stored`.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LEN * 4 {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_and_verifies() {
        let h = super::hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("correct horse battery", &h));
        assert!(!super::verify("correct horse batterx", &h));
        assert!(!super::verify("x", "not a hash"));
        assert!(super::hash("short").is_err());
        assert_ne!(h, super::hash("correct horse battery").unwrap(), "salted");
    }
}
