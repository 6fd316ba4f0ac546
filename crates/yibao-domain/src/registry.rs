//! Basic information (基础信息): regions, employers, institutions, insured persons, their
//! enrollments, contributions, personal-account entries and family mutual-aid bindings.
//!
//! Codes are plain `String`s here: they are parsed with [`crate::codes`] at the edge (import,
//! seed, gateway) before a record is built, and a record read back from the store holds what was
//! checked on the way in.

use crate::date::{Date, DateTime};
use crate::dict::grade_from_hosp_lv;
use crate::money::Fen;
use serde::{Deserialize, Serialize};

/// An administrative division that carries data: a province, or a pooling region (统筹区).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub admdvs: String,
    pub name: String,
    /// Its province (`xx0000`); a province row names itself.
    pub prov_admdvs: String,
    /// `province`, `city` or `county`.
    pub lv: String,
    /// True for a pooling region, which has its own policy parameters.
    pub pool_flag: bool,
}

/// An insured employer (参保单位).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employer {
    pub emp_no: String,
    pub uscc: String,
    pub emp_name: String,
    pub admdvs: String,
}

/// A designated institution (定点医药机构): a hospital or a retail pharmacy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// National dictionary: `1` medical institution, `2` retail pharmacy.
    pub fixmedins_type: String,
    /// National hosp_lv dictionary (01 三级特等 … 11 无等级 … 14 一级无等).
    pub hosp_lv: String,
    pub admdvs: String,
    #[serde(default)]
    pub uscc: Option<String>,
    /// Networked for cross-region direct settlement (异地联网).
    #[serde(default)]
    pub remote_flag: bool,
    /// The service agreement is in force over [agre_begn, agre_end).
    pub agre_begn: Date,
    #[serde(default)]
    pub agre_end: Option<Date>,
}

pub const FIXMEDINS_TYPE_HOSPITAL: &str = "1";
pub const FIXMEDINS_TYPE_PHARMACY: &str = "2";

impl Institution {
    /// Grade used by policy (3, 2, 1; 0 for pharmacies and ungraded), or None for a hosp_lv
    /// outside the national dictionary.
    pub fn grade(&self) -> Option<u8> {
        grade_from_hosp_lv(&self.hosp_lv)
    }
    pub fn is_pharmacy(&self) -> bool {
        self.fixmedins_type == FIXMEDINS_TYPE_PHARMACY
    }
    pub fn agreement_on(&self, d: Date) -> bool {
        self.agre_begn <= d && self.agre_end.is_none_or(|e| d < e)
    }
}

/// An insured person (1101 `baseinfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub psn_no: String,
    /// psn_cert_type dictionary: `01` resident identity card, …
    pub psn_cert_type: String,
    pub certno: String,
    pub psn_name: String,
    /// `1` male, `2` female.
    pub gend: String,
    pub brdy: Date,
    /// Ethnicity (民族) code, `01` 汉族.
    pub naty: String,
    pub admdvs: String,
    #[serde(default)]
    pub tel: Option<String>,
    #[serde(default)]
    pub addr: Option<String>,
    #[serde(default)]
    pub death_date: Option<Date>,
}

/// psn_cert_type of the resident identity card.
pub const CERT_TYPE_ID_CARD: &str = "01";

impl Person {
    /// Whole years of age on `d`.
    pub fn age_on(&self, d: Date) -> i32 {
        self.brdy.age_on(d)
    }
}

/// A special identity (1101 `idetinfo`). Medical-assistance classes use psn_idet_type `MA1`
/// to `MA4` for 医疗救助 class 1–4 (see [`medical_assistance_class`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonIdet {
    pub psn_idet_type: String,
    #[serde(default)]
    pub psn_type_lv: Option<String>,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
    #[serde(default)]
    pub memo: Option<String>,
}

impl PersonIdet {
    pub fn in_force(&self, d: Date) -> bool {
        self.begndate <= d && self.enddate.is_none_or(|e| d < e)
    }
}

/// The medical-assistance class (1–4) an identity type stands for. Our convention, since the
/// national identity dictionary is local: `MA1` 特困人员/孤儿, `MA2` 低保对象/返贫致贫人口,
/// `MA3` 低保边缘家庭成员/易返贫致贫监测对象, `MA4` 因病致贫重病患者.
pub fn medical_assistance_class(psn_idet_type: &str) -> Option<u8> {
    match psn_idet_type {
        "MA1" => Some(1),
        "MA2" => Some(2),
        "MA3" => Some(3),
        "MA4" => Some(4),
        _ => None,
    }
}

/// Enrollment in one insurance type (1101 `insuinfo`), effective over [begndate, enddate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub psn_no: String,
    pub insutype: String,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
    /// From this date on, benefits are suspended (暂停参保).
    #[serde(default)]
    pub paus_date: Option<Date>,
    pub psn_type: String,
    /// `1` normal, `2` paused, `4` ended (psn_insu_stas dictionary).
    pub psn_insu_stas: String,
    pub insuplc_admdvs: String,
    #[serde(default)]
    pub emp_no: Option<String>,
    #[serde(default)]
    pub cvlserv_flag: bool,
}

impl Enrollment {
    /// Entitled on `d`: begndate ≤ d < enddate and d before any pause. The status describes the
    /// enrollment today while the dates describe its history, so a paused (`2`) or ended (`4`)
    /// row still counts before the date that paused or ended it; without such a date it never
    /// counts. Any other status (0 never insured, 3 invalid) never counts.
    pub fn active_on(&self, d: Date) -> bool {
        let in_range = self.begndate <= d && self.enddate.is_none_or(|e| d < e);
        let before_pause = self.paus_date.is_none_or(|p| d < p);
        let status_ok = match self.psn_insu_stas.as_str() {
            "1" => true,
            "2" => self.paus_date.is_some(),
            "4" => self.enddate.is_some(),
            _ => false,
        };
        in_range && before_pause && status_ok
    }
}

/// One month of contributions (征缴) for one person and insurance type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub id: i64,
    pub psn_no: String,
    pub insutype: String,
    pub admdvs: String,
    /// `yyyyMM`.
    pub period_ym: String,
    /// Employer part, all of it to the pooled fund.
    pub emp_amt: Fen,
    /// Individual part.
    pub psn_amt: Fen,
    /// Credited to the personal account (after the 2021 reform: the individual part).
    pub acct_amt: Fen,
    pub rcv_date: Date,
}

/// Why a personal-account entry was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Money in: a contribution, a retiree credit from the pool, an opening balance.
    Credit,
    /// Paid towards the owner's own settlement.
    Settle,
    /// A settlement reversed: the payment comes back.
    Reverse,
    /// Paid towards a relative's settlement (家庭共济).
    MulaidPay,
    MulaidReverse,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Credit => "credit",
            EntryKind::Settle => "settle",
            EntryKind::Reverse => "reverse",
            EntryKind::MulaidPay => "mulaid_pay",
            EntryKind::MulaidReverse => "mulaid_reverse",
        }
    }
    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "credit" => EntryKind::Credit,
            "settle" => EntryKind::Settle,
            "reverse" => EntryKind::Reverse,
            "mulaid_pay" => EntryKind::MulaidPay,
            "mulaid_reverse" => EntryKind::MulaidReverse,
            _ => return None,
        })
    }
}

/// One entry of a personal-account ledger. Entries are only appended; the balance is the
/// `balance_after` of the entry with the highest `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    pub psn_no: String,
    pub seq: i64,
    pub entry_time: DateTime,
    /// Signed: credits positive, payments negative.
    pub amount: Fen,
    pub balance_after: Fen,
    pub kind: EntryKind,
    #[serde(default)]
    pub ref_id: Option<String>,
    #[serde(default)]
    pub memo: Option<String>,
}

/// Family mutual aid (家庭共济): the owner's personal account may pay for the beneficiary over
/// [begndate, enddate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MulaidBinding {
    pub owner_psn_no: String,
    pub benef_psn_no: String,
    /// Relation of the beneficiary to the owner: `spouse`, `parent`, `child`, `sibling`, ….
    pub relation: String,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
}

impl MulaidBinding {
    pub fn in_force(&self, d: Date) -> bool {
        self.begndate <= d && self.enddate.is_none_or(|e| d < e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn enrollment(stas: &str, end: Option<&str>, paus: Option<&str>) -> Enrollment {
        Enrollment {
            psn_no: "P1".into(),
            insutype: "310".into(),
            begndate: d("2024-01-01"),
            enddate: end.map(d),
            paus_date: paus.map(d),
            psn_type: "1101".into(),
            psn_insu_stas: stas.into(),
            insuplc_admdvs: "110100".into(),
            emp_no: None,
            cvlserv_flag: false,
        }
    }

    #[test]
    fn enrollment_dates_bound_entitlement() {
        let e = enrollment("1", Some("2025-01-01"), None);
        assert!(!e.active_on(d("2023-12-31")));
        assert!(e.active_on(d("2024-01-01")));
        assert!(e.active_on(d("2024-12-31")));
        assert!(!e.active_on(d("2025-01-01")));
    }

    #[test]
    fn pause_and_status() {
        let p = enrollment("2", None, Some("2024-06-01"));
        assert!(p.active_on(d("2024-05-31")));
        assert!(!p.active_on(d("2024-06-01")));
        assert!(!enrollment("2", None, None).active_on(d("2024-05-01")));
        assert!(enrollment("4", Some("2024-03-01"), None).active_on(d("2024-02-01")));
        assert!(!enrollment("4", None, None).active_on(d("2024-02-01")));
        assert!(!enrollment("3", None, None).active_on(d("2024-02-01")));
    }

    #[test]
    fn grades_and_classes() {
        let i = Institution {
            fixmedins_code: "H11010100001".into(),
            fixmedins_name: "x".into(),
            fixmedins_type: "1".into(),
            hosp_lv: "04".into(),
            admdvs: "110100".into(),
            uscc: None,
            remote_flag: false,
            agre_begn: d("2020-01-01"),
            agre_end: None,
        };
        assert_eq!(i.grade(), Some(2));
        assert!(i.agreement_on(d("2024-01-01")));
        assert_eq!(medical_assistance_class("MA3"), Some(3));
        assert_eq!(medical_assistance_class("MA5"), None);
        assert_eq!(EntryKind::parse(EntryKind::MulaidPay.as_str()), Some(EntryKind::MulaidPay));
    }
}
