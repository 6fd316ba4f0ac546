//! Administrative division codes (GB/T 2260), the `admdvs` / `insu_admdvs` of the interface.

use super::{check_chars, check_len, is_digit, string_code, trimmed, CodeError};

/// A 6-digit administrative division whose first two digits are a real province-level division.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Admdvs(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdmdvsLevel {
    Province,
    City,
    County,
}

/// The 34 province-level divisions by their two-digit code.
const PROVINCES: [(&str, &str); 34] = [
    ("11", "北京市"),
    ("12", "天津市"),
    ("13", "河北省"),
    ("14", "山西省"),
    ("15", "内蒙古自治区"),
    ("21", "辽宁省"),
    ("22", "吉林省"),
    ("23", "黑龙江省"),
    ("31", "上海市"),
    ("32", "江苏省"),
    ("33", "浙江省"),
    ("34", "安徽省"),
    ("35", "福建省"),
    ("36", "江西省"),
    ("37", "山东省"),
    ("41", "河南省"),
    ("42", "湖北省"),
    ("43", "湖南省"),
    ("44", "广东省"),
    ("45", "广西壮族自治区"),
    ("46", "海南省"),
    ("50", "重庆市"),
    ("51", "四川省"),
    ("52", "贵州省"),
    ("53", "云南省"),
    ("54", "西藏自治区"),
    ("61", "陕西省"),
    ("62", "甘肃省"),
    ("63", "青海省"),
    ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
    ("71", "台湾省"),
    ("81", "香港特别行政区"),
    ("82", "澳门特别行政区"),
];

/// Name of the province-level division with this two-digit code.
pub(super) fn province_name(code2: &str) -> Option<&'static str> {
    PROVINCES.iter().find(|(c, _)| *c == code2).map(|&(_, name)| name)
}

/// Rejects a code whose first two characters are not a province; the caller has checked that
/// the first two characters are ASCII digits.
pub(super) fn check_province(code: &str) -> Result<(), CodeError> {
    let p = code.get(..2).unwrap_or(code);
    match province_name(p) {
        Some(_) => Ok(()),
        None => Err(CodeError::UnknownProvince(p.to_string())),
    }
}

impl Admdvs {
    pub fn parse(s: &str) -> Result<Admdvs, CodeError> {
        let s = trimmed(s)?;
        check_len(s, 6..=6, "6")?;
        check_chars(s, 0, 6, is_digit, "a digit")?;
        check_province(s)?;
        Ok(Admdvs(s.to_string()))
    }

    /// Wraps a slice of an already-validated code, skipping the checks; only for sibling
    /// types whose own parsing ran `Admdvs::parse` on the same characters.
    pub(super) fn trusted(s: &str) -> Admdvs {
        Admdvs(s.to_string())
    }

    /// `xx0000` is a province; `xxxx00` a city, and so is `xxxx99`, which pooling regions use
    /// (e.g. 130399 for the Tangshan city-level pool); anything else is a county.
    pub fn level(&self) -> AdmdvsLevel {
        if self.tail(2) == "0000" {
            AdmdvsLevel::Province
        } else if matches!(self.tail(4), "00" | "99") {
            AdmdvsLevel::City
        } else {
            AdmdvsLevel::County
        }
    }

    /// The province-level division, `xx0000`.
    pub fn province(&self) -> Admdvs {
        Admdvs(format!("{}0000", self.head(2)))
    }

    /// The city, `xxxx00`, for a county or city (a pooling code `xxxx99` maps to its city
    /// `xxxx00`); a province is its own city.
    pub fn city(&self) -> Admdvs {
        match self.level() {
            AdmdvsLevel::Province => self.clone(),
            _ => Admdvs(format!("{}00", self.head(4))),
        }
    }

    /// Hierarchical containment, reflexive: a province contains every code of the province; a
    /// city (`xxxx00` or `xxxx99`) contains every non-province code sharing its first four
    /// digits (so `xxxx00` and `xxxx99` contain each other: they name the same city); a county
    /// contains only itself.
    pub fn contains(&self, other: &Admdvs) -> bool {
        match self.level() {
            AdmdvsLevel::Province => self.head(2) == other.head(2),
            AdmdvsLevel::City => other.level() != AdmdvsLevel::Province && self.head(4) == other.head(4),
            AdmdvsLevel::County => self == other,
        }
    }

    /// Name of the province-level division, e.g. "河北省" for 130399.
    pub fn province_name(&self) -> &'static str {
        // Parsing guarantees the prefix is in the table.
        province_name(self.head(2)).unwrap_or("")
    }

    // The code is 6 ASCII digits, so these byte slices cannot fail; `get` keeps it panic-free.
    fn head(&self, n: usize) -> &str {
        self.0.get(..n).unwrap_or("")
    }
    fn tail(&self, from: usize) -> &str {
        self.0.get(from..).unwrap_or("")
    }
}

string_code!(Admdvs);

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Admdvs {
        Admdvs::parse(s).unwrap()
    }

    #[test]
    fn parses_and_trims() {
        assert_eq!(a(" 110105 ").as_str(), "110105");
        assert_eq!(a("820000").province_name(), "澳门特别行政区");
        assert_eq!(a("130399").province_name(), "河北省");
        assert_eq!("500155".parse::<Admdvs>().unwrap().to_string(), "500155");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(Admdvs::parse(""), Err(CodeError::Empty));
        assert_eq!(Admdvs::parse("11010"), Err(CodeError::Length { expected: "6", got: 5 }));
        assert_eq!(Admdvs::parse("11O105"), Err(CodeError::Charset { pos: 3, found: 'O', expected: "a digit" }));
        assert_eq!(Admdvs::parse("北京市朝阳区"), Err(CodeError::Charset { pos: 1, found: '北', expected: "a digit" }));
        for bad in ["100000", "160000", "240000", "470000", "550000", "660000", "990000"] {
            assert_eq!(Admdvs::parse(bad), Err(CodeError::UnknownProvince(bad[..2].to_string())));
        }
    }

    #[test]
    fn table_has_all_34() {
        for (code, _) in PROVINCES {
            assert!(Admdvs::parse(&format!("{code}0000")).is_ok());
        }
    }

    #[test]
    fn levels_and_hierarchy() {
        assert_eq!(a("130000").level(), AdmdvsLevel::Province);
        assert_eq!(a("130300").level(), AdmdvsLevel::City);
        assert_eq!(a("130399").level(), AdmdvsLevel::City);
        assert_eq!(a("130302").level(), AdmdvsLevel::County);
        assert_eq!(a("130302").province(), a("130000"));
        assert_eq!(a("130302").city(), a("130300"));
        assert_eq!(a("130399").city(), a("130300"));
        assert_eq!(a("130000").city(), a("130000"));
        assert!(a("130000").contains(&a("130302")));
        assert!(a("130000").contains(&a("130399")));
        assert!(a("130000").contains(&a("130000")));
        assert!(!a("130000").contains(&a("140000")));
        assert!(a("130399").contains(&a("130302")));
        assert!(a("130300").contains(&a("130302")));
        assert!(a("130300").contains(&a("130399")));
        assert!(!a("130399").contains(&a("130402")));
        assert!(!a("130399").contains(&a("130000")));
        assert!(!a("130302").contains(&a("130300")));
        assert!(a("130302").contains(&a("130302")));
    }

    #[test]
    fn serde_validates() {
        let v: Admdvs = serde_json::from_str("\"500155\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"500155\"");
        let e = serde_json::from_str::<Admdvs>("\"990000\"").unwrap_err();
        assert!(e.to_string().contains("unknown province code 99"), "{e}");
    }
}
