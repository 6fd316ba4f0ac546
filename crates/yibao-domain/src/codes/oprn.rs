//! ICD-9-CM-3 医保版 operation codes (`oprn_oprt_code`), e.g. `51.2300`, `96.0800x005`.

use super::diag::icd_tail_ok;
use super::{string_code, trimmed, CodeError};

/// An operation code: 2 digits, `.`, 1–4 of `[0-9x]`, then optionally `x` + 3 digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OprnCode(String);

const SHAPE: &str = "an ICD-9-CM-3 code: 2 digits, '.', 1–4 of 0-9 or x, then optionally x and \
    3 digits (e.g. 51.2300, 96.0800x005)";

fn is_oprn(b: &[u8]) -> bool {
    match b {
        [d1, d2, b'.', tail @ ..] => d1.is_ascii_digit() && d2.is_ascii_digit() && icd_tail_ok(tail, 4),
        _ => false,
    }
}

impl OprnCode {
    pub fn parse(s: &str) -> Result<OprnCode, CodeError> {
        let s = trimmed(s)?;
        if !is_oprn(s.as_bytes()) {
            return Err(CodeError::Format(SHAPE));
        }
        Ok(OprnCode(s.to_string()))
    }
}

string_code!(OprnCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_examples() {
        for s in ["51.2300", "96.0800x005", "01.3900x009", "60.5x02", "31.1x00x005", "38.9501", "02.3405", "99.0"] {
            let o = OprnCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(o.as_str(), s);
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "5.2300",
            "51.",
            "51",
            "512300",
            "51.23000",
            "51.2300x05",
            "51.2300X005",
            "A1.2300",
            "51.2300x0051",
            "５1.2300",
        ] {
            assert_eq!(OprnCode::parse(s), Err(CodeError::Format(SHAPE)), "{s}");
        }
        assert_eq!(OprnCode::parse(""), Err(CodeError::Empty));
    }

    #[test]
    fn serde_validates() {
        let o: OprnCode = serde_json::from_str("\"96.0800x005\"").unwrap();
        assert_eq!(serde_json::to_string(&o).unwrap(), "\"96.0800x005\"");
        assert!(serde_json::from_str::<OprnCode>("\"96\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,16}") {
            let _ = OprnCode::parse(&s);
        }

        #[test]
        fn generated_codes_parse(s in "[0-9]{2}\\.[0-9x]{1,4}(x[0-9]{3})?") {
            prop_assert!(OprnCode::parse(&s).is_ok(), "{}", s);
        }
    }
}
