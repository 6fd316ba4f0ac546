//! National medical list codes (医保目录编码, `med_list_codg` / `hilist_code`). The first
//! character tells the kind of item, and with it the list type and the shape of the rest.
//!
//! Assumptions, since the published rules cover only part of this: a leading `Y` is taken for an
//! institution preparation (医疗机构制剂) and a leading `E` for an ethnic drug (民族药); `M` is
//! not a list prefix here because `M` + 5 digits is the chronic/special disease code
//! ([`super::OpspDiseCode`]).

use super::{check_chars, check_len, is_digit, is_upper_alnum, string_code, trimmed, CodeError};

/// A medical list code whose shape matches its kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MedListCode(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MedListKind {
    /// 西药, prefix `X`.
    WesternDrug,
    /// 中成药, prefix `Z`.
    PatentDrug,
    /// 中药饮片, prefix `T`.
    HerbalPiece,
    /// 医疗机构制剂, prefix `Y` (assumed).
    Preparation,
    /// 民族药, prefix `E` (assumed).
    EthnicDrug,
    /// 医用耗材, prefix `C`.
    Consumable,
    /// 医疗服务项目, all digits.
    Service,
}

impl MedListKind {
    /// The national `list_type` dictionary value.
    pub fn list_type(self) -> &'static str {
        match self {
            MedListKind::WesternDrug | MedListKind::PatentDrug => "101",
            MedListKind::HerbalPiece => "102",
            MedListKind::Preparation => "103",
            MedListKind::EthnicDrug => "104",
            MedListKind::Service => "201",
            MedListKind::Consumable => "301",
        }
    }

    fn from_first(c: char) -> Option<MedListKind> {
        Some(match c {
            'X' => MedListKind::WesternDrug,
            'Z' => MedListKind::PatentDrug,
            'T' => MedListKind::HerbalPiece,
            'Y' => MedListKind::Preparation,
            'E' => MedListKind::EthnicDrug,
            'C' => MedListKind::Consumable,
            '0'..='9' => MedListKind::Service,
            _ => return None,
        })
    }

    /// Allowed total length and the shape to name in an error.
    fn shape(self) -> (std::ops::RangeInclusive<usize>, &'static str) {
        match self {
            MedListKind::WesternDrug | MedListKind::PatentDrug => (10..=23, DRUG),
            MedListKind::HerbalPiece | MedListKind::Preparation | MedListKind::EthnicDrug => (8..=30, OTHER_DRUG),
            MedListKind::Consumable => (15..=27, CONSUMABLE),
            MedListKind::Service => (9..=15, SERVICE),
        }
    }
}

const MAX_LEN: usize = 50;
const ANY: &str = "a medical list code: X/Z drug, T herbal piece, Y preparation, E ethnic drug \
    or C consumable code in uppercase letters and digits, or a 9–15 digit service item code";
const DRUG: &str = "a drug code: X or Z followed by uppercase letters and digits, 10–23 in all";
const OTHER_DRUG: &str = "a T, Y or E code followed by uppercase letters and digits, 8–30 in all";
const CONSUMABLE: &str = "a consumable code: C followed by 14–26 uppercase letters and digits";
const SERVICE: &str = "a service item code of 9–15 digits";

impl MedListCode {
    pub fn parse(s: &str) -> Result<MedListCode, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 1..=MAX_LEN, "at most 50")?;
        let first = s.chars().next().unwrap_or(' ');
        let kind = MedListKind::from_first(first).ok_or(CodeError::Format(ANY))?;
        let (len, shape) = kind.shape();
        match kind {
            MedListKind::Service => check_chars(s, 0, MAX_LEN, is_digit, "a digit")?,
            _ => check_chars(s, 0, MAX_LEN, is_upper_alnum, "an uppercase letter or digit")?,
        }
        if !len.contains(&s.len()) {
            return Err(CodeError::Format(shape));
        }
        Ok(MedListCode(s.to_string()))
    }

    pub fn kind(&self) -> MedListKind {
        let first = self.0.chars().next().unwrap_or('0');
        MedListKind::from_first(first).unwrap_or(MedListKind::Service)
    }

    /// The national `list_type` dictionary value: 101 drugs, 102 herbal pieces,
    /// 103 preparations, 104 ethnic drugs, 201 service items, 301 consumables.
    pub fn list_type(&self) -> &'static str {
        self.kind().list_type()
    }
}

string_code!(MedListCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(s: &str) -> MedListKind {
        MedListCode::parse(s).unwrap().kind()
    }

    #[test]
    fn parses_examples() {
        assert_eq!(kind("XB03ACY199B002010104718"), MedListKind::WesternDrug);
        assert_eq!(kind("XB06ACL388B0"), MedListKind::WesternDrug);
        assert_eq!(kind("ZG02AAG0401"), MedListKind::PatentDrug);
        assert_eq!(kind("T001700643"), MedListKind::HerbalPiece);
        assert_eq!(kind("Y5001550001"), MedListKind::Preparation);
        assert_eq!(kind("E00000001"), MedListKind::EthnicDrug);
        assert_eq!(kind("C02040205800005113250000023"), MedListKind::Consumable);
        assert_eq!(kind(" 003107020070000 "), MedListKind::Service);
        assert_eq!(kind("120100001"), MedListKind::Service);
    }

    #[test]
    fn list_types() {
        let lt = |s: &str| MedListCode::parse(s).unwrap().list_type();
        assert_eq!(lt("XB06ACL388B0"), "101");
        assert_eq!(lt("ZG02AAG0401"), "101");
        assert_eq!(lt("T001700643"), "102");
        assert_eq!(lt("Y5001550001"), "103");
        assert_eq!(lt("E00000001"), "104");
        assert_eq!(lt("003107020070000"), "201");
        assert_eq!(lt("C02040205800005113250000023"), "301");
    }

    #[test]
    fn exact_errors() {
        let p = MedListCode::parse;
        assert_eq!(p(""), Err(CodeError::Empty));
        assert_eq!(p("xb06acl388b0"), Err(CodeError::Format(ANY)));
        assert_eq!(p("M03900"), Err(CodeError::Format(ANY)));
        assert_eq!(p("药品XB06"), Err(CodeError::Format(ANY)));
        assert_eq!(
            p("XB06acl388B0"),
            Err(CodeError::Charset { pos: 5, found: 'a', expected: "an uppercase letter or digit" })
        );
        assert_eq!(
            p("XB06 ACL388B0"),
            Err(CodeError::Charset { pos: 5, found: ' ', expected: "an uppercase letter or digit" })
        );
        assert_eq!(p("00310702007000A"), Err(CodeError::Charset { pos: 15, found: 'A', expected: "a digit" }));
        assert_eq!(p("XB06ACL38"), Err(CodeError::Format(DRUG)));
        assert_eq!(p("XB03ACY199B0020101047180"), Err(CodeError::Format(DRUG)));
        assert_eq!(p("T001700"), Err(CodeError::Format(OTHER_DRUG)));
        assert_eq!(p("C0204020580000"), Err(CodeError::Format(CONSUMABLE)));
        assert_eq!(p("00310702"), Err(CodeError::Format(SERVICE)));
        assert_eq!(p("0031070200700001"), Err(CodeError::Format(SERVICE)));
        assert_eq!(p(&"C".repeat(51)), Err(CodeError::Length { expected: "at most 50", got: 51 }));
    }

    #[test]
    fn serde_validates() {
        let c: MedListCode = serde_json::from_str("\"XB06ACL388B0\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"XB06ACL388B0\"");
        assert!(serde_json::from_str::<MedListCode>("\"xb06\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = MedListCode::parse(&s);
        }
    }
}
