//! Typed national identifiers. Each type is parsed once, at the edge (request bodies, config,
//! CSV imports), so a value of the type always holds a valid code and the rest of the system
//! never re-checks it.
//!
//! Common rules: `parse` trims surrounding whitespace and does no other normalisation unless a
//! type says so; positions in errors are 1-based character positions, as a person counts them.
//! Serialisation is the plain string; deserialisation goes through `parse`, so a bad code in a
//! config file or request is rejected with the same message.

mod admdvs;
mod diag;
mod fixmedins;
mod idcard;
mod medlist;
mod oprn;
mod opspdise;
mod psnno;
mod uscc;

pub use admdvs::{Admdvs, AdmdvsLevel};
pub use diag::DiagCode;
pub use fixmedins::{FixmedinsCode, FixmedinsKind};
pub use idcard::{Gender, IdCardNo};
pub use medlist::{MedListCode, MedListKind};
pub use oprn::OprnCode;
pub use opspdise::OpspDiseCode;
pub use psnno::PsnNo;
pub use uscc::Uscc;

use std::ops::RangeInclusive;

/// Why a string is not a valid code. Messages are meant to be shown as they are, to a cashier
/// at the counter as well as in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is empty")]
    Empty,
    /// `got` counts characters, not bytes.
    #[error("wrong length: expected {expected} characters, got {got}")]
    Length { expected: &'static str, got: usize },
    /// `pos` is the 1-based character position; `expected` says what belongs there.
    #[error("character {pos} is {found:?}, but must be {expected}")]
    Charset { pos: usize, found: char, expected: &'static str },
    #[error("check digit should be {expected}, found {found}")]
    CheckDigit { expected: char, found: char },
    #[error("unknown province code {0}: the first two digits must be a province-level division")]
    UnknownProvince(String),
    #[error("birth date {0} is not a real calendar date in 1850 or later")]
    BirthDate(String),
    #[error("malformed code: expected {0}")]
    Format(&'static str),
}

/// Trims the input and rejects what is left if it is empty.
fn trimmed(s: &str) -> Result<&str, CodeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(CodeError::Empty);
    }
    Ok(s)
}

/// Checks the length in characters (not bytes, so multi-byte input is reported honestly).
fn check_len(s: &str, allowed: RangeInclusive<usize>, expected: &'static str) -> Result<(), CodeError> {
    let got = s.chars().count();
    if allowed.contains(&got) {
        Ok(())
    } else {
        Err(CodeError::Length { expected, got })
    }
}

/// Checks the characters at 0-based positions `from..to` (clamped to the string) against `ok`.
/// Works on chars, so it is safe on any UTF-8; once it passes over the whole string, the string is
/// ASCII and byte slicing is safe.
fn check_chars(
    s: &str,
    from: usize,
    to: usize,
    ok: impl Fn(char) -> bool,
    expected: &'static str,
) -> Result<(), CodeError> {
    let bad = s.chars().enumerate().skip(from).take(to.saturating_sub(from)).find(|&(_, c)| !ok(c));
    match bad {
        Some((i, found)) => Err(CodeError::Charset { pos: i + 1, found, expected }),
        None => Ok(()),
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_upper_alnum(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase()
}

/// Value of an ASCII digit; callers have already checked the character.
fn digit_value(b: u8) -> u32 {
    u32::from(b.wrapping_sub(b'0'))
}

/// `FromStr` and serde for a code type with a `parse` constructor; `$clear` names the method
/// giving the wire form (the clear value).
macro_rules! code_serde {
    ($t:ty, $clear:ident) => {
        impl std::str::FromStr for $t {
            type Err = $crate::codes::CodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.$clear())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// `as_str`, `Display`, `FromStr` and serde for a code type that is a validated `String` in `.0`.
macro_rules! string_code {
    ($t:ty) => {
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        $crate::codes::code_serde!($t, as_str);
    };
}

use code_serde;
use string_code;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_specific() {
        let e = CodeError::CheckDigit { expected: 'X', found: '3' };
        assert_eq!(e.to_string(), "check digit should be X, found 3");
        let e = CodeError::Charset { pos: 5, found: 'O', expected: "a digit" };
        assert_eq!(e.to_string(), "character 5 is 'O', but must be a digit");
        let e = CodeError::Length { expected: "18", got: 17 };
        assert_eq!(e.to_string(), "wrong length: expected 18 characters, got 17");
    }

    #[test]
    fn helpers_are_utf8_safe() {
        assert_eq!(trimmed("  \t"), Err(CodeError::Empty));
        assert!(check_len("中国", 2..=2, "2").is_ok());
        assert_eq!(
            check_chars("12中4", 0, 4, is_digit, "a digit"),
            Err(CodeError::Charset { pos: 3, found: '中', expected: "a digit" })
        );
        assert!(check_chars("12", 0, 99, is_digit, "a digit").is_ok());
    }

    proptest::proptest! {
        // An alphabet close to real codes, so inputs reach the deep checks, plus multi-byte
        // look-alikes (full-width digits, CJK) that must be reported and never panic.
        #[test]
        fn no_parser_panics(s in "[0-9Xx.中２ MHPCTZEY]{0,32}") {
            let _ = Admdvs::parse(&s);
            let _ = IdCardNo::parse(&s);
            let _ = Uscc::parse(&s);
            let _ = FixmedinsCode::parse(&s);
            let _ = MedListCode::parse(&s);
            let _ = DiagCode::parse(&s);
            let _ = OprnCode::parse(&s);
            let _ = OpspDiseCode::parse(&s);
            let _ = PsnNo::parse(&s);
        }
    }
}
