//! ICD-10 医保版 diagnosis codes (`diag_code`), e.g. `I10.x00`, `I20.800x007`, `A00`.

use super::{string_code, trimmed, CodeError};

/// A diagnosis code: uppercase letter + 2 digits, optionally `.` + 1–3 of `[0-9x]`, then
/// optionally `x` + 3 digits (the national extension).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiagCode(String);

const SHAPE: &str = "an ICD-10 code: uppercase letter and 2 digits, optionally '.' and 1–3 of \
    0-9 or x, then optionally x and 3 digits (e.g. I10.x00, I20.800x007)";

/// Checks the part after the `.` of an ICD code: 1..=`max` of `[0-9x]`, optionally followed by
/// `x` + 3 digits. The extension is always the last 4 bytes, so no backtracking is needed.
/// Works on bytes: any non-ASCII byte simply fails to match.
pub(super) fn icd_tail_ok(rest: &[u8], max: usize) -> bool {
    let body_ok = |t: &[u8]| (1..=max).contains(&t.len()) && t.iter().all(|&c| c.is_ascii_digit() || c == b'x');
    if body_ok(rest) {
        return true;
    }
    match rest.len().checked_sub(4).map(|k| rest.split_at(k)) {
        Some((body, [b'x', ext @ ..])) => body_ok(body) && ext.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn is_diag(b: &[u8]) -> bool {
    match b {
        [l, d1, d2, rest @ ..] if l.is_ascii_uppercase() && d1.is_ascii_digit() => {
            d2.is_ascii_digit()
                && match rest {
                    [] => true,
                    [b'.', tail @ ..] => icd_tail_ok(tail, 3),
                    _ => false,
                }
        }
        _ => false,
    }
}

impl DiagCode {
    pub fn parse(s: &str) -> Result<DiagCode, CodeError> {
        let s = trimmed(s)?;
        if !is_diag(s.as_bytes()) {
            return Err(CodeError::Format(SHAPE));
        }
        Ok(DiagCode(s.to_string()))
    }

    /// The ICD-10 chapter letter, e.g. `I` for circulatory diseases.
    pub fn chapter_letter(&self) -> char {
        self.0.chars().next().unwrap_or('A')
    }

    /// The three-character category, e.g. `I10`.
    pub fn category(&self) -> &str {
        self.0.get(..3).unwrap_or("")
    }
}

string_code!(DiagCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_examples() {
        for s in [
            "I10.x00",
            "E11.900",
            "I20.800x007",
            "I10.x00x002",
            "C61.x00",
            "K22.301",
            "Z98.800x210",
            "J96.900x001",
            "A00",
            "I10.8x001",
        ] {
            let d = DiagCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(d.as_str(), s);
        }
        let d = DiagCode::parse(" I20.800x007 ").unwrap();
        assert_eq!(d.chapter_letter(), 'I');
        assert_eq!(d.category(), "I20");
        assert_eq!(d.to_string(), "I20.800x007");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "i10.x00",
            "I1.000",
            "I10.",
            "I10.x00x0",
            "110.x00",
            "I10.x000",
            "I10.X00",
            "I10x001",
            "I10.x00x0021",
            "I10.x00y002",
            "I10.中",
            "I1０.x00",
        ] {
            assert_eq!(DiagCode::parse(s), Err(CodeError::Format(SHAPE)), "{s}");
        }
        assert_eq!(DiagCode::parse(" "), Err(CodeError::Empty));
    }

    #[test]
    fn serde_validates() {
        let d: DiagCode = serde_json::from_str("\"I10.x00\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"I10.x00\"");
        assert!(serde_json::from_str::<DiagCode>("\"i10\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,16}") {
            let _ = DiagCode::parse(&s);
        }

        #[test]
        fn generated_codes_parse(s in "[A-Z][0-9]{2}(\\.[0-9x]{1,3}(x[0-9]{3})?)?") {
            prop_assert!(DiagCode::parse(&s).is_ok(), "{}", s);
        }
    }
}
