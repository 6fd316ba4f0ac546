//! Resident identity numbers (GB 11643-1999), the `certno` / `psn_cert_no` of the interface.
//! They are personal data: `Debug` and `Display` show only the masked form.

use super::admdvs::check_province;
use super::CodeError;
use super::{check_chars, check_len, code_serde, digit_value, is_digit, trimmed, Admdvs};
use crate::date::Date;
use std::fmt;

/// An 18-character resident identity number with a valid province, birth date and check
/// character. The check character is stored uppercase (`x` is accepted on input).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdCardNo(String);

/// Gender as encoded in the identity number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    /// The national `gend` dictionary value.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "1",
            Gender::Female => "2",
        }
    }
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";
/// Older numbers cannot carry earlier births; anything before is a typing error.
const MIN_BIRTH_YEAR: i32 = 1850;

/// The check character for 17 ASCII digits (ISO 7064 MOD 11-2).
fn check_char(body: &[u8]) -> char {
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(&b, w)| digit_value(b) * w).sum();
    char::from(CHECK_CHARS[(sum % 11) as usize])
}

/// The birth date in `yyyyMMdd`, which must be a real date from 1850 on.
fn birth_from(ymd8: &str) -> Result<Date, CodeError> {
    let bad = || CodeError::BirthDate(ymd8.to_string());
    let num = |r: std::ops::Range<usize>| ymd8.get(r).and_then(|t| t.parse::<u32>().ok());
    let (y, m, d) = match (num(0..4), num(4..6), num(6..8)) {
        (Some(y), Some(m), Some(d)) => (y as i32, m, d),
        _ => return Err(bad()),
    };
    if y < MIN_BIRTH_YEAR {
        return Err(bad());
    }
    Date::from_ymd(y, m, d).map_err(|_| bad())
}

impl IdCardNo {
    pub fn parse(s: &str) -> Result<IdCardNo, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 18..=18, "18")?;
        check_chars(s, 0, 17, is_digit, "a digit")?;
        check_chars(s, 17, 18, |c| is_digit(c) || c == 'X' || c == 'x', "a digit or X")?;
        // All ASCII from here on, so byte slicing is safe.
        let s = s.to_ascii_uppercase();
        check_province(&s)?;
        birth_from(&s[6..14])?;
        let expected = check_char(&s.as_bytes()[..17]);
        let found = char::from(s.as_bytes()[17]);
        if expected != found {
            return Err(CodeError::CheckDigit { expected, found });
        }
        Ok(IdCardNo(s))
    }

    /// Builds a number from its parts, computing the check character (used by the demo-data
    /// generator). `area6` is the division of registration; `seq3` is 0–999, odd for men.
    pub fn from_parts(area6: &str, birth: Date, seq3: u16) -> Result<IdCardNo, CodeError> {
        let area = Admdvs::parse(area6)?;
        let (y, m, d) = birth.ymd();
        let ymd8 = format!("{y:04}{m:02}{d:02}");
        if !(MIN_BIRTH_YEAR..=9999).contains(&y) {
            return Err(CodeError::BirthDate(ymd8));
        }
        if seq3 > 999 {
            return Err(CodeError::Format("a sequence number from 000 to 999"));
        }
        let body = format!("{}{ymd8}{seq3:03}", area.as_str());
        let check = check_char(body.as_bytes());
        IdCardNo::parse(&format!("{body}{check}"))
    }

    /// The clear number, for the wire and for storage. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 6 and last 4 characters, the rest as asterisks: `110105********002X`.
    pub fn masked(&self) -> String {
        let head = self.0.get(..6).unwrap_or("");
        let tail = self.0.get(14..).unwrap_or("");
        format!("{head}********{tail}")
    }

    pub fn birth_date(&self) -> Date {
        // Parsing proved these digits are a real date; the fallback is unreachable.
        birth_from(self.0.get(6..14).unwrap_or("")).unwrap_or(Date::MIN)
    }

    /// The 17th digit: odd for men, even for women.
    pub fn gender(&self) -> Gender {
        match self.0.as_bytes().get(16).map(|&b| digit_value(b) % 2) {
            Some(1) => Gender::Male,
            _ => Gender::Female,
        }
    }

    /// The division of registration (first six digits); only its province is validated.
    pub fn area(&self) -> &str {
        self.0.get(..6).unwrap_or("")
    }
}

impl fmt::Display for IdCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdCardNo").field(&self.masked()).finish()
    }
}

// Serialises the clear number: the wire and the database need it, and it must round-trip.
code_serde!(IdCardNo, expose);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "11010519491231002X";

    #[test]
    fn known_valid() {
        let id = IdCardNo::parse(VALID).unwrap();
        assert_eq!(id.expose(), VALID);
        assert_eq!(id.birth_date(), Date::from_ymd(1949, 12, 31).unwrap());
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.gender().code(), "2");
        assert_eq!(id.area(), "110105");
        assert_eq!(id.masked(), "110105********002X");
        // Lowercase x is accepted and stored uppercase.
        assert_eq!(IdCardNo::parse(" 11010519491231002x ").unwrap(), id);
    }

    #[test]
    fn never_shows_the_clear_number() {
        let id = IdCardNo::parse(VALID).unwrap();
        let dbg = format!("{id:?}");
        assert!(!dbg.contains(VALID), "{dbg}");
        assert!(!dbg.contains("19491231"), "{dbg}");
        assert_eq!(dbg, "IdCardNo(\"110105********002X\")");
        assert_eq!(id.to_string(), "110105********002X");
        assert!(!format!("{:?}", Some(&id)).contains(VALID));
    }

    #[test]
    fn serde_round_trips_clear_value() {
        let id = IdCardNo::parse(VALID).unwrap();
        let j = serde_json::to_string(&id).unwrap();
        assert_eq!(j, format!("\"{VALID}\""));
        assert_eq!(serde_json::from_str::<IdCardNo>(&j).unwrap(), id);
        let e = serde_json::from_str::<IdCardNo>("\"110105194912310021\"").unwrap_err();
        assert!(e.to_string().contains("check digit should be X, found 1"), "{e}");
    }

    #[test]
    fn exact_errors() {
        assert_eq!(IdCardNo::parse("  "), Err(CodeError::Empty));
        assert_eq!(IdCardNo::parse("110105194912310021"), Err(CodeError::CheckDigit { expected: 'X', found: '1' }));
        assert_eq!(IdCardNo::parse("11010519491231002"), Err(CodeError::Length { expected: "18", got: 17 }));
        assert_eq!(
            IdCardNo::parse("1101051949123100X2"),
            Err(CodeError::Charset { pos: 17, found: 'X', expected: "a digit" })
        );
        assert_eq!(
            IdCardNo::parse("11010519491231002Y"),
            Err(CodeError::Charset { pos: 18, found: 'Y', expected: "a digit or X" })
        );
        assert_eq!(IdCardNo::parse("99010519491231002X"), Err(CodeError::UnknownProvince("99".into())));
        assert_eq!(IdCardNo::parse("110105194902300021"), Err(CodeError::BirthDate("19490230".into())));
        assert_eq!(IdCardNo::parse("110105184912310021"), Err(CodeError::BirthDate("18491231".into())));
        // 18 characters, one of them multi-byte: reported, not a panic.
        assert_eq!(
            IdCardNo::parse("1101051949123100２X"),
            Err(CodeError::Charset { pos: 17, found: '２', expected: "a digit" })
        );
    }

    #[test]
    fn from_parts_builds_the_known_number() {
        let birth = Date::from_ymd(1949, 12, 31).unwrap();
        let id = IdCardNo::from_parts("110105", birth, 2).unwrap();
        assert_eq!(id.expose(), VALID);
        assert_eq!(
            IdCardNo::from_parts("110105", birth, 1000),
            Err(CodeError::Format("a sequence number from 000 to 999"))
        );
        assert_eq!(
            IdCardNo::from_parts("110105", Date::from_ymd(1800, 1, 1).unwrap(), 1),
            Err(CodeError::BirthDate("18000101".into()))
        );
        assert_eq!(IdCardNo::from_parts("990105", birth, 1), Err(CodeError::UnknownProvince("99".into())));
    }

    fn area() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["110105", "130399", "500155", "820000", "650102"]).prop_map(String::from)
    }

    fn birth() -> impl Strategy<Value = Date> {
        let lo = Date::from_ymd(1850, 1, 1).unwrap().days();
        let hi = Date::from_ymd(2100, 12, 31).unwrap().days();
        (lo..=hi).prop_map(Date::from_days)
    }

    proptest! {
        #[test]
        fn from_parts_round_trips(area in area(), birth in birth(), seq in 0u16..=999) {
            let id = IdCardNo::from_parts(&area, birth, seq).unwrap();
            let again = IdCardNo::parse(id.expose()).unwrap();
            prop_assert_eq!(&again, &id);
            prop_assert_eq!(id.birth_date(), birth);
            let want = if seq % 2 == 1 { Gender::Male } else { Gender::Female };
            prop_assert_eq!(id.gender(), want);
            prop_assert_eq!(id.area(), area.as_str());
        }

        #[test]
        fn every_single_substitution_is_rejected(
            area in area(), birth in birth(), seq in 0u16..=999,
            pos in 0usize..18, repl in "[0-9X]",
        ) {
            let id = IdCardNo::from_parts(&area, birth, seq).unwrap();
            let mut chars: Vec<char> = id.expose().chars().collect();
            let r = repl.chars().next().unwrap_or('0');
            prop_assume!(chars[pos] != r);
            chars[pos] = r;
            let mutated: String = chars.into_iter().collect();
            prop_assert!(IdCardNo::parse(&mutated).is_err(), "{} accepted", mutated);
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = IdCardNo::parse(&s);
        }
    }
}
