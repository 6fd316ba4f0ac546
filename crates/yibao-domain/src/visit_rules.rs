//! The policy choices made about a visit before the engine runs: which remote-care reduction
//! applies, which admission of the year a stay is, and which region's policy settles it. Pure,
//! so the gateway and `yibao calc` choose alike.

use crate::dict::VisitClass;
use crate::settle::RemoteType;

/// One city (pooling region) when the first four digits agree: xxxx00 and xxxx99 name one city.
pub fn same_city(a: &str, b: &str) -> bool {
    a.get(..4).is_some() && a.get(..4) == b.get(..4)
}

/// The remote-care type of a visit treated in `treated_in` for a person insured in
/// `insured_in`. Without a filing (异地备案) on record, referral (23) and emergency (13, 24)
/// visits get the referral reduction and everything else the temporary one.
pub fn remote_type(treated_in: &str, insured_in: &str, med_type: &str) -> RemoteType {
    if same_city(treated_in, insured_in) {
        return RemoteType::Local;
    }
    match med_type.get(..2) {
        Some("23" | "13" | "24") => RemoteType::Referral,
        _ => RemoteType::Temporary,
    }
}

/// The region whose policy settles for `admdvs` when it has none of its own: a city's
/// 市本级 code (xxxx99) falls back to the city (xxxx00).
pub fn policy_fallback(admdvs: &str) -> Option<String> {
    match (admdvs.strip_suffix("99"), admdvs.get(..4)) {
        (Some(_), Some(city)) => Some(format!("{city}00")),
        _ => None,
    }
}

/// Which admission of the year a visit is (1 = first), within 1..=999. Outpatient visits are 1;
/// a later segment of a stay keeps the number its first segment took (`this_stay`, when
/// earlier segments of it are settled); a new stay follows the admissions counted this year.
pub fn admission_number(class: VisitClass, this_stay: Option<i64>, admissions_counted: i64) -> u32 {
    let n = match (class.is_inpatient(), this_stay) {
        (false, _) => 1,
        (true, Some(n)) => n,
        (true, None) => admissions_counted.saturating_add(1),
    };
    n.clamp(1, 999) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_type_by_place_and_med_type() {
        assert_eq!(remote_type("110100", "110199", "21"), RemoteType::Local, "市本级 is the same city");
        assert_eq!(remote_type("310100", "110100", "23"), RemoteType::Referral);
        assert_eq!(remote_type("310100", "110100", "1301"), RemoteType::Referral, "a provincial extension of 13");
        assert_eq!(remote_type("310100", "110100", "24"), RemoteType::Referral);
        assert_eq!(remote_type("310100", "110100", "21"), RemoteType::Temporary);
        assert_eq!(remote_type("310100", "110100", "2"), RemoteType::Temporary, "too short to be a referral");
        assert_eq!(remote_type("", "", "21"), RemoteType::Temporary, "no region is no city");
    }

    #[test]
    fn only_a_xxxx99_region_falls_back_to_its_city() {
        assert_eq!(policy_fallback("320599").as_deref(), Some("320500"));
        assert_eq!(policy_fallback("320500"), None);
        assert_eq!(policy_fallback("99"), None);
        assert_eq!(policy_fallback("1199").as_deref(), Some("119900"));
    }

    #[test]
    fn admission_numbers() {
        assert_eq!(admission_number(VisitClass::Outpatient, Some(3), 5), 1);
        assert_eq!(admission_number(VisitClass::Inpatient, None, 0), 1);
        assert_eq!(admission_number(VisitClass::Inpatient, None, 2), 3);
        assert_eq!(admission_number(VisitClass::Inpatient, Some(2), 5), 2, "a later segment keeps its number");
        assert_eq!(admission_number(VisitClass::Inpatient, None, 5_000), 999);
        assert_eq!(admission_number(VisitClass::Inpatient, None, -4), 1);
        assert_eq!(admission_number(VisitClass::Inpatient, None, i64::MAX), 999);
    }

    /// `yibao calc` numbers admissions as the gateway does: an outpatient visit is admission 1
    /// whatever the case says, so a per-admission outpatient deductible is the first one.
    #[test]
    fn calc_numbers_an_outpatient_visit_as_the_gateway_does() {
        let mut p: serde_json::Value =
            serde_json::from_str(include_str!("../../../policies/beijing-310.json")).unwrap();
        p["pools"][1]["deductible"] =
            serde_json::json!({ "scope": "admission", "rows": [{ "amounts": ["100", "50"] }] });
        let policy = crate::policy::Policy::from_json(&p.to_string()).unwrap();
        let case: crate::case::Case = serde_json::from_str(
            r#"{ "policy": "x", "person": { "psn_type": "1101" }, "visit": { "med_type": "11", "grade": 3, "adm_seq": 2 },
                 "lines": [ { "amount": "1000", "item": { "chrgitm_lv": "01" } } ] }"#,
        )
        .unwrap();
        let r = crate::case::run(&case, &policy).unwrap();
        assert_eq!(r.outcome.act_pay_dedc, crate::Fen::yuan(100), "{:?}", r.outcome.trace);
    }
}
