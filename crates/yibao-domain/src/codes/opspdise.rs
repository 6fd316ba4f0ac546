//! Outpatient chronic/special disease codes (`opsp_dise_code`): `M` + 5 digits, e.g. `M03900`
//! (hypertension), `M01600` (diabetes).

use super::{check_chars, check_len, is_digit, string_code, trimmed, CodeError};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpspDiseCode(String);

impl OpspDiseCode {
    pub fn parse(s: &str) -> Result<OpspDiseCode, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 6..=6, "6")?;
        check_chars(s, 0, 1, |c| c == 'M', "M")?;
        check_chars(s, 1, 6, is_digit, "a digit")?;
        Ok(OpspDiseCode(s.to_string()))
    }
}

string_code!(OpspDiseCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_examples() {
        assert_eq!(OpspDiseCode::parse("M03900").unwrap().as_str(), "M03900");
        assert_eq!(OpspDiseCode::parse(" M01600 ").unwrap().to_string(), "M01600");
    }

    #[test]
    fn exact_errors() {
        assert_eq!(OpspDiseCode::parse("M0390"), Err(CodeError::Length { expected: "6", got: 5 }));
        assert_eq!(OpspDiseCode::parse("m03900"), Err(CodeError::Charset { pos: 1, found: 'm', expected: "M" }));
        assert_eq!(OpspDiseCode::parse("M039O0"), Err(CodeError::Charset { pos: 5, found: 'O', expected: "a digit" }));
        assert!(OpspDiseCode::parse("M0390é").is_err());
    }

    #[test]
    fn serde_validates() {
        let c: OpspDiseCode = serde_json::from_str("\"M03900\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"M03900\"");
        assert!(serde_json::from_str::<OpspDiseCode>("\"X03900\"").is_err());
    }
}
