//! National dictionaries the rules branch on. Codes outside these sets are kept as text where the
//! interface allows local extensions (psn_type, med_type); the engine maps them to categories.

use serde::{Deserialize, Serialize};

/// Insurance types (insutype) the engine settles.
pub mod insutype {
    pub const EMPLOYEE: &str = "310";
    pub const CIVIL_SERVANT: &str = "320";
    pub const LARGE_AMOUNT: &str = "330";
    pub const RESIDENT: &str = "390";
    pub const RESIDENT_SERIOUS: &str = "392";
    pub const MATERNITY: &str = "510";
    pub const ALL: &[(&str, &str)] = &[
        ("310", "职工基本医疗保险"),
        ("320", "公务员医疗补助"),
        ("330", "大额医疗费用补助"),
        ("340", "离休人员医疗保障"),
        ("390", "城乡居民基本医疗保险"),
        ("392", "城乡居民大病医疗保险"),
        ("510", "生育保险"),
    ];
    pub fn is_known(code: &str) -> bool {
        ALL.iter().any(|(c, _)| *c == code)
    }
    /// The types whose policy is settled directly (the others are layers on top of them).
    pub fn is_primary(code: &str) -> bool {
        matches!(code, EMPLOYEE | RESIDENT | MATERNITY)
    }
}

/// Person category, derived from the national psn_type code (11/1101 in service, 12/1201
/// retired, 14xx minors and students, 15xx adult residents, 16 elderly residents).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PsnCategory {
    InService,
    Retired,
    Veteran, // 离休
    Child,   // minors, pupils, university students
    Adult,
    Elderly,
}

impl PsnCategory {
    pub fn from_psn_type(code: &str) -> Option<PsnCategory> {
        let two = code.get(..2)?;
        Some(match two {
            "11" => PsnCategory::InService,
            "12" => PsnCategory::Retired,
            "13" => PsnCategory::Veteran,
            "14" => PsnCategory::Child,
            "15" => PsnCategory::Adult,
            "16" => PsnCategory::Elderly,
            _ => return None,
        })
    }
}

/// What a visit is, for the purpose of choosing the benefit rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitClass {
    /// Ordinary outpatient and emergency (门诊统筹).
    Outpatient,
    /// Outpatient chronic and special diseases (门诊慢特病).
    Chronic,
    Inpatient,
    /// Purchases at a designated pharmacy.
    Pharmacy,
    Maternity,
}

impl VisitClass {
    /// Maps a national med_type (and its 6-digit provincial extensions) to a class.
    pub fn from_med_type(med_type: &str) -> Option<VisitClass> {
        let two = med_type.get(..2)?;
        Some(match two {
            "11" | "12" | "13" | "15" | "16" | "19" => VisitClass::Outpatient,
            "14" => VisitClass::Chronic,
            "21" | "22" | "23" | "24" | "25" | "26" | "28" | "71" => VisitClass::Inpatient,
            "41" => VisitClass::Pharmacy,
            "51" | "52" | "53" => VisitClass::Maternity,
            "99" => match med_type {
                "9902" | "9904" | "9907" | "9921" | "9925" => VisitClass::Inpatient,
                _ => VisitClass::Outpatient,
            },
            _ => return None,
        })
    }
    pub fn is_inpatient(self) -> bool {
        matches!(self, VisitClass::Inpatient)
    }
    /// Clearing category (clr_type): 11 outpatient, 21 inpatient, 41 pharmacy.
    pub fn clr_type(self) -> &'static str {
        match self {
            VisitClass::Inpatient => "21",
            VisitClass::Pharmacy => "41",
            VisitClass::Maternity => "99",
            _ => "11",
        }
    }
}

/// Charge item grade: 甲 (fully in scope), 乙 (part self-paid first), 丙 (outside the list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChrgitmLv {
    #[serde(rename = "01")]
    A,
    #[serde(rename = "02")]
    B,
    #[serde(rename = "03")]
    C,
}

impl ChrgitmLv {
    pub fn parse(code: &str) -> Option<ChrgitmLv> {
        match code {
            "01" | "1" | "甲" => Some(ChrgitmLv::A),
            "02" | "2" | "乙" => Some(ChrgitmLv::B),
            "03" | "3" | "丙" => Some(ChrgitmLv::C),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            ChrgitmLv::A => "01",
            ChrgitmLv::B => "02",
            ChrgitmLv::C => "03",
        }
    }
}

/// Hospital grade used by policy: 3, 2, 1, or 0 for pharmacies and ungraded institutions.
/// Derived from the national hosp_lv dictionary (01–03 三级, 04–06 二级, 07–10 一级,
/// 12 三级无等, 13 二级无等, 14 一级无等, 11 无等级).
pub fn grade_from_hosp_lv(hosp_lv: &str) -> Option<u8> {
    Some(match hosp_lv {
        "01" | "02" | "03" | "12" => 3,
        "04" | "05" | "06" | "13" => 2,
        "07" | "08" | "09" | "10" | "14" => 1,
        "11" => 0,
        _ => return None,
    })
}

/// Fund payment types (fund_pay_type) in setldetail.
pub mod fund {
    pub const EMPLOYEE_POOL: &str = "310100";
    pub const EMPLOYEE_ACCOUNT: &str = "310200";
    pub const CIVIL_SERVANT: &str = "320100";
    pub const LARGE_AMOUNT: &str = "330100";
    pub const RESIDENT_POOL: &str = "390100";
    pub const RESIDENT_SERIOUS: &str = "390200";
    pub const MATERNITY: &str = "510100";
    pub const ASSISTANCE: &str = "610100";
    pub const MUTUAL_AID: &str = "310201";
    pub fn name(code: &str) -> &'static str {
        match code {
            EMPLOYEE_POOL => "职工基本医疗保险统筹基金",
            EMPLOYEE_ACCOUNT => "职工基本医疗保险个人账户基金",
            MUTUAL_AID => "个人账户共济支付",
            CIVIL_SERVANT => "公务员医疗补助基金",
            LARGE_AMOUNT => "大额医疗费用补助基金",
            RESIDENT_POOL => "城乡居民基本医疗保险基金",
            RESIDENT_SERIOUS => "城乡居民大病医疗保险基金",
            MATERNITY => "生育基金",
            ASSISTANCE => "医疗救助基金",
            _ => "其他基金",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_classes() {
        assert_eq!(PsnCategory::from_psn_type("1201"), Some(PsnCategory::Retired));
        assert_eq!(PsnCategory::from_psn_type("11"), Some(PsnCategory::InService));
        assert_eq!(PsnCategory::from_psn_type("1403"), Some(PsnCategory::Child));
        assert_eq!(PsnCategory::from_psn_type("9"), None);
        assert_eq!(VisitClass::from_med_type("21"), Some(VisitClass::Inpatient));
        assert_eq!(VisitClass::from_med_type("140104"), Some(VisitClass::Chronic));
        assert_eq!(VisitClass::from_med_type("41"), Some(VisitClass::Pharmacy));
        assert_eq!(VisitClass::from_med_type("xx"), None);
        assert_eq!(grade_from_hosp_lv("02"), Some(3));
        assert_eq!(grade_from_hosp_lv("99"), None);
    }
}
