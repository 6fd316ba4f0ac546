//! Catalog items and the classification of one fee line against them: which part of the line is
//! fully self-paid (丙类, outside the list, or failing a restriction), above the price cap, paid
//! first by the patient (乙类 share), and in the policy range. Always
//! `amount = fulamt_ownpay + overlmt + preselfpay + inscp`.

use crate::date::Date;
use crate::dict::{ChrgitmLv, VisitClass};
use crate::money::{Fen, Qty, Ratio, UnitPrice};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One national list item as in force over [begndate, enddate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub hilist_code: String,
    /// '000000' for the national row, else the province or pooling region it applies to.
    pub admdvs: String,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
    pub hilist_name: String,
    pub list_type: String,
    pub med_chrgitm_type: String,
    pub chrgitm_lv: ChrgitmLv,
    pub selfpay_prop: Ratio,
    /// Price cap per unit; None = no cap.
    #[serde(default)]
    pub pric_uplmt: Option<UnitPrice>,
    #[serde(default)]
    pub rules: ItemRules,
    #[serde(default)]
    pub ver: String,
}

pub const NATIONAL_ADMDVS: &str = "000000";

/// Restrictions (限定支付范围) and per-person-type self-pay ratios of an item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRules {
    /// Self-pay ratio by psn_type code (exact code first, then its 2-digit category).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selfpay_by_psn_type: BTreeMap<String, Ratio>,
    /// Only for this gender ("1" male, "2" female).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_max: Option<u32>,
    /// Only at hospitals of at least this grade (1..3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_grade: Option<u8>,
    /// Only for these insurance types; empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insutypes: Vec<String>,
    /// Only for these visit classes; empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub visit_classes: Vec<VisitClass>,
    /// A restricted indication (限定支付): covered only when the hospital does not report a
    /// refused approval (hosp_appr_flag 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indication: Option<String>,
}

impl CatalogItem {
    pub fn in_force(&self, on: Date) -> bool {
        self.begndate <= on && self.enddate.is_none_or(|e| on < e)
    }
    pub fn lmt_used_flag(&self) -> bool {
        self.rules.indication.is_some()
            || self.rules.gend.is_some()
            || self.rules.age_min.is_some()
            || self.rules.age_max.is_some()
            || self.rules.min_grade.is_some()
            || !self.rules.insutypes.is_empty()
            || !self.rules.visit_classes.is_empty()
    }
    /// The self-pay ratio for a person type.
    pub fn selfpay_for(&self, psn_type: &str) -> Ratio {
        let r = &self.rules.selfpay_by_psn_type;
        r.get(psn_type).or_else(|| psn_type.get(..2).and_then(|c| r.get(c))).copied().unwrap_or(self.selfpay_prop)
    }
}

/// Who is treated where: what restrictions are checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineContext<'a> {
    pub psn_type: &'a str,
    pub gend: &'a str,
    pub age: i32,
    pub grade: u8,
    pub insutype: &'a str,
    pub visit_class: VisitClass,
}

/// One fee line as uploaded (2204/2301).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    pub amount: Fen,
    pub cnt: Qty,
    pub pric: UnitPrice,
    pub hosp_appr_flag: Option<String>,
}

/// The split of one line (the 2204/2301 `result` fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSplit {
    pub chrgitm_lv: ChrgitmLv,
    pub selfpay_prop: Ratio,
    pub pric_uplmt: Option<UnitPrice>,
    pub fulamt_ownpay: Fen,
    pub overlmt: Fen,
    pub preselfpay: Fen,
    pub inscp: Fen,
    pub lmt_used_flag: bool,
    /// Why a line was not (fully) covered, for the cashier.
    pub memo: Option<String>,
}

impl LineSplit {
    pub fn total(&self) -> Fen {
        self.fulamt_ownpay + self.overlmt + self.preselfpay + self.inscp
    }
}

/// Classifies one line. `item` is the catalog row in force at the treatment place, if any.
pub fn classify(item: Option<&CatalogItem>, line: &FeeLine, ctx: &LineContext) -> LineSplit {
    let Some(item) = item else {
        return self_paid(line.amount, ChrgitmLv::C, None, false, "not in the catalog (目录外)");
    };
    let lmt = item.lmt_used_flag();
    if item.chrgitm_lv == ChrgitmLv::C {
        return self_paid(line.amount, ChrgitmLv::C, item.pric_uplmt, lmt, "class C (丙类)");
    }
    if let Some(why) = restriction_failure(item, line, ctx) {
        return self_paid(line.amount, item.chrgitm_lv, item.pric_uplmt, lmt, &why);
    }
    // Refund lines carry negative amounts: split the magnitude and restore the sign, so a refund
    // exactly mirrors the charge it undoes.
    let sign = if line.amount.0 < 0 { -1 } else { 1 };
    let amount = Fen(line.amount.0.abs());
    let overlmt = match item.pric_uplmt {
        // (price − cap) × qty, rounded once (domain.md §A.2 step 1.2); the amount less a rounded
        // cap × qty would round twice and can be a fen off. Never more than the line itself.
        Some(cap) if line.pric > cap => UnitPrice(line.pric.0 - cap.0).times(Qty(line.cnt.0.abs())).min(amount),
        _ => Fen::ZERO,
    };
    let ratio = item.selfpay_for(ctx.psn_type);
    let preselfpay = (amount - overlmt).mul_ratio(ratio);
    let inscp = amount - overlmt - preselfpay;
    let split = LineSplit {
        chrgitm_lv: item.chrgitm_lv,
        selfpay_prop: ratio,
        pric_uplmt: item.pric_uplmt,
        fulamt_ownpay: Fen::ZERO,
        overlmt: Fen(sign * overlmt.0),
        preselfpay: Fen(sign * preselfpay.0),
        inscp: Fen(sign * inscp.0),
        lmt_used_flag: lmt,
        memo: (overlmt.0 > 0).then(|| "price above the cap (超限价)".to_owned()),
    };
    assert_eq!(split.total(), line.amount, "line split must add up");
    split
}

fn self_paid(amount: Fen, lv: ChrgitmLv, cap: Option<UnitPrice>, lmt: bool, why: &str) -> LineSplit {
    LineSplit {
        chrgitm_lv: lv,
        selfpay_prop: Ratio::ONE,
        pric_uplmt: cap,
        fulamt_ownpay: amount,
        overlmt: Fen::ZERO,
        preselfpay: Fen::ZERO,
        inscp: Fen::ZERO,
        lmt_used_flag: lmt,
        memo: Some(why.to_owned()),
    }
}

fn restriction_failure(item: &CatalogItem, line: &FeeLine, ctx: &LineContext) -> Option<String> {
    let r = &item.rules;
    if let Some(g) = &r.gend {
        if g != ctx.gend {
            return Some(format!("restricted to gender {g} (限性别)"));
        }
    }
    if r.age_min.is_some_and(|m| ctx.age < m as i32) || r.age_max.is_some_and(|m| ctx.age > m as i32) {
        return Some(format!(
            "restricted to ages {}..{} (限年龄)",
            r.age_min.map_or(String::new(), |v| v.to_string()),
            r.age_max.map_or(String::new(), |v| v.to_string())
        ));
    }
    if r.min_grade.is_some_and(|g| ctx.grade < g) {
        return Some(format!("restricted to grade {}+ hospitals (限医院等级)", r.min_grade.unwrap_or(0)));
    }
    if !r.insutypes.is_empty() && !r.insutypes.iter().any(|t| t == ctx.insutype) {
        return Some("restricted to other insurance types (限险种)".to_owned());
    }
    if !r.visit_classes.is_empty() && !r.visit_classes.contains(&ctx.visit_class) {
        return Some("restricted to other visit types (限就医类型)".to_owned());
    }
    if r.indication.is_some() && line.hosp_appr_flag.as_deref() == Some("2") {
        return Some("restricted indication not approved (限定支付，审批不通过)".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(lv: ChrgitmLv, ratio: u32, cap: Option<i64>) -> CatalogItem {
        CatalogItem {
            hilist_code: "XB03ACY199B002010104718".into(),
            admdvs: NATIONAL_ADMDVS.into(),
            begndate: Date::parse("2024-01-01").unwrap(),
            enddate: None,
            hilist_name: "test".into(),
            list_type: "101".into(),
            med_chrgitm_type: "09".into(),
            chrgitm_lv: lv,
            selfpay_prop: Ratio(ratio),
            pric_uplmt: cap.map(UnitPrice::yuan),
            rules: ItemRules::default(),
            ver: "1".into(),
        }
    }
    fn ctx() -> LineContext<'static> {
        LineContext {
            psn_type: "1101",
            gend: "1",
            age: 40,
            grade: 3,
            insutype: "310",
            visit_class: VisitClass::Outpatient,
        }
    }
    fn line(yuan_fen: i64, pric: UnitPrice, cnt: Qty) -> FeeLine {
        FeeLine { amount: Fen(yuan_fen), cnt, pric, hosp_appr_flag: None }
    }

    #[test]
    fn real_sample_class_b_line() {
        // 2204 sample: 4.52 at 乙类 5% → preselfpay 0.23, inscp 4.29.
        let s = classify(Some(&item(ChrgitmLv::B, 500, None)), &line(452, UnitPrice(4_520_000), Qty::units(1)), &ctx());
        assert_eq!((s.preselfpay, s.inscp, s.fulamt_ownpay), (Fen(23), Fen(429), Fen(0)));
    }

    #[test]
    fn we16_price_cap_then_class_b() {
        // WE-16: 超声 ¥120, cap ¥110, 乙类 10% → overlimit 10, preself 11, inscp 99.
        let s = classify(
            Some(&item(ChrgitmLv::B, 1000, Some(110))),
            &line(12000, UnitPrice::yuan(120), Qty::units(1)),
            &ctx(),
        );
        assert_eq!((s.overlmt, s.preselfpay, s.inscp), (Fen(1000), Fen(1100), Fen(9900)));
    }

    /// The part over the cap is rhu((price − cap) × qty): 0.114 − 0.106 = 0.008 yuan → 0.01.
    /// The amount less rhu(cap × qty) would give 0.11 − 0.11 = 0.00.
    #[test]
    fn over_cap_part_is_rounded_once() {
        let mut it = item(ChrgitmLv::A, 0, None);
        it.pric_uplmt = Some(UnitPrice(106_000));
        let s = classify(Some(&it), &line(11, UnitPrice(114_000), Qty::units(1)), &ctx());
        assert_eq!((s.overlmt, s.inscp), (Fen(1), Fen(10)));
        // Refunds mirror it.
        let r = classify(Some(&it), &line(-11, UnitPrice(114_000), Qty::units(-1)), &ctx());
        assert_eq!((r.overlmt, r.inscp), (Fen(-1), Fen(-10)));
        // Never more than the line: 3 × 0.114 = 0.342 billed as 0.34, over the cap 3 × 0.008 = 0.024.
        let s = classify(Some(&it), &line(34, UnitPrice(114_000), Qty::units(3)), &ctx());
        assert_eq!((s.overlmt, s.inscp), (Fen(2), Fen(32)));
    }

    #[test]
    fn outside_catalog_and_class_c_are_self_paid() {
        let s = classify(None, &line(500, UnitPrice::yuan(5), Qty::units(1)), &ctx());
        assert_eq!(s.fulamt_ownpay, Fen(500));
        let s = classify(Some(&item(ChrgitmLv::C, 10000, None)), &line(500, UnitPrice::yuan(5), Qty::units(1)), &ctx());
        assert_eq!((s.fulamt_ownpay, s.inscp), (Fen(500), Fen(0)));
    }

    #[test]
    fn restrictions_make_a_line_self_paid() {
        let mut it = item(ChrgitmLv::A, 0, None);
        it.rules.gend = Some("2".into());
        let s = classify(Some(&it), &line(500, UnitPrice::yuan(5), Qty::units(1)), &ctx());
        assert_eq!(s.fulamt_ownpay, Fen(500));
        assert!(s.memo.unwrap().contains("gender"));
        let mut it = item(ChrgitmLv::A, 0, None);
        it.rules.indication = Some("限二线用药".into());
        let mut l = line(500, UnitPrice::yuan(5), Qty::units(1));
        assert_eq!(classify(Some(&it), &l, &ctx()).inscp, Fen(500));
        l.hosp_appr_flag = Some("2".into());
        assert_eq!(classify(Some(&it), &l, &ctx()).fulamt_ownpay, Fen(500));
    }

    #[test]
    fn per_person_type_ratio_and_refund_mirror() {
        let mut it = item(ChrgitmLv::B, 1000, None);
        it.rules.selfpay_by_psn_type.insert("12".into(), Ratio(500));
        let mut c = ctx();
        c.psn_type = "1201";
        let s = classify(Some(&it), &line(1000, UnitPrice::yuan(10), Qty::units(1)), &c);
        assert_eq!(s.preselfpay, Fen(50));
        let r = classify(Some(&it), &line(-1000, UnitPrice::yuan(10), Qty::units(-1)), &c);
        assert_eq!((r.preselfpay, r.inscp), (Fen(-50), Fen(-950)));
    }
}
