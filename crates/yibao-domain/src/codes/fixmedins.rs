//! Designated medical institution codes (`fixmedins_code`): `H` or `P`, the 6-digit division,
//! then a 5-digit serial, e.g. `H50015501017`.

use super::{check_chars, check_len, is_digit, string_code, trimmed, Admdvs, CodeError};

/// A 12-character designated institution code whose division is a valid [`Admdvs`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FixmedinsCode(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FixmedinsKind {
    /// Medical institution, prefix `H`.
    Hospital,
    /// Retail pharmacy, prefix `P`.
    Pharmacy,
}

impl FixmedinsKind {
    pub fn prefix(self) -> char {
        match self {
            FixmedinsKind::Hospital => 'H',
            FixmedinsKind::Pharmacy => 'P',
        }
    }
}

const MAX_SERIAL: u32 = 99_999;

impl FixmedinsCode {
    pub fn parse(s: &str) -> Result<FixmedinsCode, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 12..=12, "12")?;
        let is_kind = |c| c == 'H' || c == 'P';
        check_chars(s, 0, 1, is_kind, "H (hospital) or P (pharmacy)")?;
        check_chars(s, 1, 12, is_digit, "a digit")?;
        // All ASCII from here on; the division error names the province.
        Admdvs::parse(&s[1..7])?;
        Ok(FixmedinsCode(s.to_string()))
    }

    pub fn from_parts(kind: FixmedinsKind, admdvs: &Admdvs, serial: u32) -> Result<FixmedinsCode, CodeError> {
        if serial > MAX_SERIAL {
            return Err(CodeError::Format("a 5-digit serial from 00000 to 99999"));
        }
        FixmedinsCode::parse(&format!("{}{admdvs}{serial:05}", kind.prefix()))
    }

    pub fn kind(&self) -> FixmedinsKind {
        if self.0.starts_with('P') {
            FixmedinsKind::Pharmacy
        } else {
            FixmedinsKind::Hospital
        }
    }

    /// The division the institution is registered in.
    pub fn admdvs(&self) -> Admdvs {
        // Parsing validated these six digits as a division.
        Admdvs::trusted(self.0.get(1..7).unwrap_or(""))
    }

    /// The 5-digit serial within the division.
    pub fn serial(&self) -> u32 {
        self.0.get(7..).and_then(|t| t.parse().ok()).unwrap_or(0)
    }
}

string_code!(FixmedinsCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_examples() {
        let h = FixmedinsCode::parse("H50015501017").unwrap();
        assert_eq!(h.kind(), FixmedinsKind::Hospital);
        assert_eq!(h.admdvs().as_str(), "500155");
        assert_eq!(h.serial(), 1017);
        let h2 = FixmedinsCode::parse(" H13110200026 ").unwrap();
        assert_eq!(h2.as_str(), "H13110200026");
        assert_eq!(h2.admdvs().province_name(), "河北省");
        let p = FixmedinsCode::parse("P11010500003").unwrap();
        assert_eq!(p.kind(), FixmedinsKind::Pharmacy);
    }

    #[test]
    fn from_parts_round_trips() {
        let a = Admdvs::parse("500155").unwrap();
        let c = FixmedinsCode::from_parts(FixmedinsKind::Hospital, &a, 1017).unwrap();
        assert_eq!(c.as_str(), "H50015501017");
        assert_eq!(
            FixmedinsCode::from_parts(FixmedinsKind::Pharmacy, &a, 100_000),
            Err(CodeError::Format("a 5-digit serial from 00000 to 99999"))
        );
    }

    #[test]
    fn exact_errors() {
        assert_eq!(FixmedinsCode::parse("H5001550101"), Err(CodeError::Length { expected: "12", got: 11 }));
        assert_eq!(
            FixmedinsCode::parse("h50015501017"),
            Err(CodeError::Charset { pos: 1, found: 'h', expected: "H (hospital) or P (pharmacy)" })
        );
        assert_eq!(
            FixmedinsCode::parse("H5001550101A"),
            Err(CodeError::Charset { pos: 12, found: 'A', expected: "a digit" })
        );
        assert_eq!(FixmedinsCode::parse("H99015501017"), Err(CodeError::UnknownProvince("99".into())));
        assert!(FixmedinsCode::parse("H5001550101é").is_err());
    }

    #[test]
    fn serde_validates() {
        let c: FixmedinsCode = serde_json::from_str("\"H50015501017\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"H50015501017\"");
        assert!(serde_json::from_str::<FixmedinsCode>("\"X50015501017\"").is_err());
    }
}
