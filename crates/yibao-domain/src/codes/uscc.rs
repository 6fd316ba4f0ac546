//! Unified social credit codes (GB 32100-2015), carried by every institution and employer.

use super::{check_chars, check_len, is_digit, string_code, trimmed, CodeError};

/// An 18-character unified social credit code with a valid check character.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

/// The 31 characters of the code; a character's value is its index. I, O, Z, S and V are left
/// out because they are easily confused with digits or each other.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const CHARSET_DESC: &str = "a digit or an uppercase letter other than I, O, Z, S, V";

fn in_charset(c: char) -> bool {
    u8::try_from(c).is_ok_and(|b| CHARSET.contains(&b))
}

fn value(b: u8) -> u32 {
    CHARSET.iter().position(|&c| c == b).unwrap_or(0) as u32
}

/// The check character for the first 17 characters (already checked against the charset).
fn check_char(body: &[u8]) -> char {
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(&b, w)| value(b) * w).sum();
    char::from(CHARSET[((31 - sum % 31) % 31) as usize])
}

impl Uscc {
    pub fn parse(s: &str) -> Result<Uscc, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 18..=18, "18")?;
        check_chars(s, 0, 18, in_charset, CHARSET_DESC)?;
        check_chars(s, 2, 8, is_digit, "a digit (division code)")?;
        // All ASCII from here on.
        let b = s.as_bytes();
        let expected = check_char(&b[..17]);
        let found = char::from(b[17]);
        if expected != found {
            return Err(CodeError::CheckDigit { expected, found });
        }
        Ok(Uscc(s.to_string()))
    }

    /// Builds a code from the 2-character registration authority and type, the 6-digit division
    /// and the 9-character organisation body, computing the check character.
    pub fn from_parts(reg_type2: &str, admdvs6: &str, body9: &str) -> Result<Uscc, CodeError> {
        let parts = [(reg_type2, 2, "2"), (admdvs6, 6, "6"), (body9, 9, "9")];
        for (part, n, expected) in parts {
            check_len(part, n..=n, expected)?;
            check_chars(part, 0, n, in_charset, CHARSET_DESC)?;
        }
        check_chars(admdvs6, 0, 6, is_digit, "a digit (division code)")?;
        let body = format!("{reg_type2}{admdvs6}{body9}");
        let check = check_char(body.as_bytes());
        Uscc::parse(&format!("{body}{check}"))
    }

    /// Registration authority and organisation type, e.g. "91" for an enterprise registered with
    /// market regulation.
    pub fn reg_type(&self) -> &str {
        self.0.get(..2).unwrap_or("")
    }

    /// The 6-digit division of registration; not checked against GB/T 2260 because central
    /// registrations use codes such as 100000.
    pub fn admdvs_code(&self) -> &str {
        self.0.get(2..8).unwrap_or("")
    }

    /// The 9-character organisation body (the old organisation code).
    pub fn body(&self) -> &str {
        self.0.get(8..17).unwrap_or("")
    }
}

string_code!(Uscc);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Checked by hand: weighted sum 1640, 1640 mod 31 = 28, 31 − 28 = 3.
    const VALID: &str = "91350100M000100Y43";

    #[test]
    fn known_valid() {
        let u = Uscc::parse(VALID).unwrap();
        assert_eq!(u.as_str(), VALID);
        assert_eq!(u.reg_type(), "91");
        assert_eq!(u.admdvs_code(), "350100");
        assert_eq!(u.body(), "M000100Y4");
        assert_eq!(Uscc::from_parts("91", "350100", "M000100Y4").unwrap(), u);
    }

    #[test]
    fn exact_errors() {
        assert_eq!(Uscc::parse("91350100M000100Y44"), Err(CodeError::CheckDigit { expected: '3', found: '4' }));
        assert_eq!(Uscc::parse("91350100M000100Y4"), Err(CodeError::Length { expected: "18", got: 17 }));
        assert_eq!(
            Uscc::parse("91350100M0001O0Y43"),
            Err(CodeError::Charset { pos: 14, found: 'O', expected: CHARSET_DESC })
        );
        assert_eq!(
            Uscc::parse("91350100m000100Y43"),
            Err(CodeError::Charset { pos: 9, found: 'm', expected: CHARSET_DESC })
        );
        assert_eq!(
            Uscc::parse("9135A100M000100Y43"),
            Err(CodeError::Charset { pos: 5, found: 'A', expected: "a digit (division code)" })
        );
        assert_eq!(Uscc::from_parts("91", "35010", "M000100Y4"), Err(CodeError::Length { expected: "6", got: 5 }));
    }

    #[test]
    fn serde_validates() {
        let u: Uscc = serde_json::from_str(&format!("\"{VALID}\"")).unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{VALID}\""));
        assert!(serde_json::from_str::<Uscc>("\"91350100M000100Y44\"").is_err());
    }

    fn chars(n: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(CHARSET.to_vec()), n)
            .prop_map(|v| v.into_iter().map(char::from).collect())
    }

    proptest! {
        #[test]
        fn every_single_substitution_is_rejected(
            reg in chars(2), area in "[0-9]{6}", body in chars(9),
            pos in 0usize..18, repl in prop::sample::select(CHARSET.to_vec()),
        ) {
            let u = Uscc::from_parts(&reg, &area, &body).unwrap();
            prop_assert_eq!(Uscc::parse(u.as_str()).unwrap(), u.clone());
            let mut b = u.as_str().as_bytes().to_vec();
            prop_assume!(b[pos] != repl);
            b[pos] = repl;
            let mutated: String = b.into_iter().map(char::from).collect();
            prop_assert!(Uscc::parse(&mutated).is_err(), "{} accepted", mutated);
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = Uscc::parse(&s);
        }
    }
}
