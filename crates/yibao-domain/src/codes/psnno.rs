//! Platform-issued person numbers (`psn_no`): opaque, 1–30 ASCII letters and digits.

use super::{check_chars, check_len, string_code, trimmed, CodeError};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PsnNo(String);

const MAX_LEN: usize = 30;

impl PsnNo {
    pub fn parse(s: &str) -> Result<PsnNo, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 1..=MAX_LEN, "1–30")?;
        let ok = |c: char| c.is_ascii_alphanumeric();
        check_chars(s, 0, MAX_LEN, ok, "an ASCII letter or digit")?;
        Ok(PsnNo(s.to_string()))
    }
}

string_code!(PsnNo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_opaque_numbers() {
        assert_eq!(PsnNo::parse("43000011000000000000000001").unwrap().as_str().len(), 26);
        assert_eq!(PsnNo::parse(" a1B2 ").unwrap().as_str(), "a1B2");
    }

    #[test]
    fn exact_errors() {
        assert_eq!(PsnNo::parse(""), Err(CodeError::Empty));
        assert_eq!(PsnNo::parse(&"1".repeat(31)), Err(CodeError::Length { expected: "1–30", got: 31 }));
        assert_eq!(
            PsnNo::parse("4300-01"),
            Err(CodeError::Charset { pos: 5, found: '-', expected: "an ASCII letter or digit" })
        );
        assert_eq!(
            PsnNo::parse("张三"),
            Err(CodeError::Charset { pos: 1, found: '张', expected: "an ASCII letter or digit" })
        );
    }

    #[test]
    fn serde_validates() {
        let p: PsnNo = serde_json::from_str("\"P001\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"P001\"");
        assert!(serde_json::from_str::<PsnNo>("\"\"").is_err());
    }
}
