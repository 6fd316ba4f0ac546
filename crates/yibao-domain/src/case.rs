//! The calculator's case format (docs/calc-format.md): a policy, a person's state and a bill,
//! settled without any store. Analysts use it to see what a parameter change does.

use crate::catalog::{classify, CatalogItem, FeeLine, ItemRules, LineContext, LineSplit, NATIONAL_ADMDVS};
use crate::dict::{ChrgitmLv, PsnCategory, VisitClass};
use crate::money::{Fen, Qty, Ratio, UnitPrice};
use crate::policy::Policy;
use crate::settle::{self, AccountFacts, Outcome, PersonFacts, RemoteType, SettleError, SettleInput, VisitFacts};
use crate::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod steps;
pub use steps::{run_steps, State, Step, StepResult, StepsResult};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The policy document itself, or (for the CLI) a path to one, relative to the case file.
    pub policy: serde_json::Value,
    pub person: CasePerson,
    pub visit: CaseVisit,
    /// Year-to-date accumulators (cum_type_code → yuan), e.g. {"F.inpatient": "95000"}; the
    /// admission counter `ADM` is a count ({"ADM": 2}).
    #[serde(default, deserialize_with = "ytd_with_counts")]
    pub ytd: BTreeMap<String, Fen>,
    #[serde(default)]
    pub account: AccountFacts,
    /// The bill of a single settlement (without `steps`).
    #[serde(default)]
    pub lines: Vec<CaseLine>,
    /// A sequence instead of one settlement: settle, reverse N, settle… over one person's
    /// evolving accumulators and balances ([`run_steps`]).
    #[serde(default)]
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasePerson {
    pub psn_type: String,
    #[serde(default = "male")]
    pub gend: String,
    #[serde(default = "forty")]
    pub age: i32,
    #[serde(default)]
    pub cvlserv: bool,
    #[serde(default)]
    pub idet_types: Vec<String>,
    /// Insurance types held; defaults to the policy's.
    #[serde(default)]
    pub insutypes: Vec<String>,
}

fn male() -> String {
    "1".into()
}
fn forty() -> i32 {
    40
}
fn one() -> u32 {
    1
}
fn local() -> RemoteType {
    RemoteType::Local
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseVisit {
    pub med_type: String,
    pub grade: u8,
    #[serde(default = "one")]
    pub adm_seq: u32,
    #[serde(default = "local")]
    pub remote: RemoteType,
    #[serde(default)]
    pub prior_dedc: Fen,
    #[serde(default)]
    pub prior_inscp: Fen,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLine {
    #[serde(default)]
    pub name: Option<String>,
    pub amount: Fen,
    #[serde(default)]
    pub cnt: Option<Qty>,
    #[serde(default)]
    pub pric: Option<UnitPrice>,
    #[serde(default)]
    pub hosp_appr_flag: Option<String>,
    /// The catalog attributes of the item; absent = not in the catalog (self-paid).
    #[serde(default)]
    pub item: Option<CaseItem>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseItem {
    pub chrgitm_lv: ChrgitmLv,
    #[serde(default)]
    pub selfpay_prop: Ratio,
    #[serde(default)]
    pub pric_uplmt: Option<UnitPrice>,
    #[serde(default)]
    pub rules: ItemRules,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub policy: String,
    pub lines: Vec<LineSplit>,
    #[serde(serialize_with = "outcome_with_counts")]
    pub outcome: Outcome,
}

/// The engine keeps the admission counter in the accumulator map as a count of fen; an analyst
/// reads and writes it as a count.
pub(crate) fn outcome_with_counts<S: serde::Serializer>(o: &Outcome, s: S) -> Result<S::Ok, S::Error> {
    let mut v = serde_json::to_value(o).map_err(serde::ser::Error::custom)?;
    if let Some(n) = o.deltas.get(crate::settle::cum::ADMISSIONS) {
        v["deltas"][crate::settle::cum::ADMISSIONS] = serde_json::Value::from(n.0);
    }
    v.serialize(s)
}

/// Accumulators as an analyst reads them: `ADM` a count, the rest amounts.
pub(crate) fn ytd_counts_out<S: serde::Serializer>(ytd: &BTreeMap<String, Fen>, s: S) -> Result<S::Ok, S::Error> {
    let mut v = serde_json::to_value(ytd).map_err(serde::ser::Error::custom)?;
    if let Some(n) = ytd.get(crate::settle::cum::ADMISSIONS) {
        v[crate::settle::cum::ADMISSIONS] = serde_json::Value::from(n.0);
    }
    v.serialize(s)
}

fn ytd_with_counts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Fen>, D::Error> {
    let raw = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let f = if k == crate::settle::cum::ADMISSIONS {
                v.as_u64()
                    .filter(|n| *n <= 1000)
                    .map(|n| Fen(n as i64))
                    .ok_or_else(|| serde::de::Error::custom(format!("ytd.ADM: {v} is not a count of admissions")))?
            } else {
                Fen::deserialize(v).map_err(|e| serde::de::Error::custom(format!("ytd.{k}: {e}")))?
            };
            Ok((k, f))
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("person.psn_type {0:?} is not a known person type")]
    PsnType(String),
    #[error("visit.med_type {0:?} is not a known medical type")]
    MedType(String),
    #[error("lines[{0}]: pric × cnt = {1} but amount is {2}")]
    Amount(usize, Fen, Fen),
    #[error("a case gives either lines (one settlement) or steps (a sequence), not both")]
    LinesAndSteps,
    #[error("this case is a sequence of steps: run it with run_steps")]
    IsSequence,
    #[error("steps[{0}]: {1}")]
    Step(usize, String),
    #[error("lines[{line}].{field}: {error}", field = .error.field())]
    Bounds { line: usize, error: crate::bounds::BoundError },
    #[error("lines[{0}].pric: needed with cnt; amount {1} ÷ cnt {cnt} is not a unit price of at most 6 decimals", cnt = .2.to_decimal_string())]
    NoPrice(usize, Fen, Qty),
    #[error("ytd.{0}: {1}")]
    Ytd(String, String),
    #[error(transparent)]
    Settle(#[from] SettleError),
}

/// A year-to-date that no sequence of settlements can produce is refused: a fund payment needs
/// at least as much policy-range amount above the deductible (F.<g> ≤ I.<g> − D.<g>, the ratio
/// being at most 1), a deductible at least as much policy-range amount (D.<g> ≤ I.<g>), and
/// likewise for the 大病 (S) and assistance (M) layers. Bands running on an empty year after
/// ¥280,000 paid out would price the bill as the year's first.
pub fn check_ytd(ytd: &BTreeMap<String, Fen>) -> Result<(), CaseError> {
    let get = |k: &str| ytd.get(k).copied().unwrap_or_default();
    for (k, v) in ytd {
        if k != crate::settle::cum::ADMISSIONS && v.0 < 0 {
            return Err(CaseError::Ytd(k.clone(), format!("{v} is negative")));
        }
    }
    for k in ytd.keys() {
        let (inscp, dedc) = if let Some(g) = k.strip_prefix("F.") {
            (format!("I.{g}"), Some(format!("D.{g}")))
        } else if let Some(g) = k.strip_prefix("D.") {
            (format!("I.{g}"), None)
        } else if k == crate::settle::cum::SERIOUS_FUND || k == crate::settle::cum::ASSIST_FUND {
            (format!("{}.I", &k[..1]), None)
        } else {
            continue;
        };
        let (i, d) = (get(&inscp), dedc.as_deref().map(get).unwrap_or_default());
        if get(k) > i - d {
            let base = match &dedc {
                Some(dk) => format!("{inscp} − {dk} = {}", i - d),
                None => format!("{inscp} = {i}"),
            };
            return Err(CaseError::Ytd(
                k.clone(),
                format!("{} cannot have been paid on {base} of policy-range amount this year; give the year's {inscp} (and D., ADM) it was paid on", get(k)),
            ));
        }
    }
    Ok(())
}

/// Settles a case under `policy` (already resolved from `case.policy`).
pub fn run(case: &Case, policy: &Policy) -> Result<CaseResult, CaseError> {
    if !case.steps.is_empty() {
        return Err(if case.lines.is_empty() { CaseError::IsSequence } else { CaseError::LinesAndSteps });
    }
    check_ytd(&case.ytd)?;
    settle_bill(case, policy, &case.visit, 0, &case.ytd, &case.account, &case.lines)
}

/// Settles one bill of the case's person: `visit` with `extra_admissions` added to its
/// admission number (admissions an earlier step of a sequence made), on `ytd` and `account`.
fn settle_bill(
    case: &Case,
    policy: &Policy,
    case_visit: &CaseVisit,
    extra_admissions: i64,
    ytd: &BTreeMap<String, Fen>,
    account: &AccountFacts,
    case_lines: &[CaseLine],
) -> Result<CaseResult, CaseError> {
    let category = PsnCategory::from_psn_type(&case.person.psn_type)
        .ok_or_else(|| CaseError::PsnType(case.person.psn_type.clone()))?;
    let class = VisitClass::from_med_type(&case_visit.med_type)
        .ok_or_else(|| CaseError::MedType(case_visit.med_type.clone()))?;
    let ctx = LineContext {
        psn_type: &case.person.psn_type,
        gend: &case.person.gend,
        age: case.person.age,
        grade: case_visit.grade,
        insutype: &policy.insutype,
        visit_class: class,
    };
    let lines = case_lines.iter().enumerate().map(|(i, l)| split_line(i, l, &ctx)).collect::<Result<Vec<_>, _>>()?;
    let mut insutypes = case.person.insutypes.clone();
    if insutypes.is_empty() {
        insutypes.push(policy.insutype.clone());
    }
    let person = PersonFacts {
        psn_type: case.person.psn_type.clone(),
        category,
        cvlserv: case.person.cvlserv,
        idet_types: case.person.idet_types.clone(),
        insutypes,
    };
    // The case names the admission; the gateway's rule counts the sequence's on from it.
    let counted = i64::from(case_visit.adm_seq) - 1 + extra_admissions;
    let adm_seq = crate::visit_rules::admission_number(class, None, counted);
    let visit = VisitFacts {
        visit_class: class,
        grade: case_visit.grade,
        adm_seq,
        remote: case_visit.remote,
        prior_dedc: case_visit.prior_dedc,
        prior_inscp: case_visit.prior_inscp,
        first_segment: case_visit.prior_inscp.is_zero(),
    };
    let input = SettleInput { policy, person: &person, visit: &visit, ytd, lines: &lines, account };
    let outcome = settle::settle(&input)?;
    Ok(CaseResult { policy: policy.ver.clone(), lines, outcome })
}

/// amount ÷ cnt as a unit price, if it is exact in a price's 6 decimals (and cnt is not 0).
fn exact_price(amount: Fen, cnt: Qty) -> Option<UnitPrice> {
    // fen × 10^4 = price units; ÷ (cnt units / 10^4).
    let num = amount.0 as i128 * 10_000 * Qty::SCALE as i128;
    let den = cnt.0 as i128;
    if den == 0 || num % den != 0 {
        return None;
    }
    let p = num / den;
    (p.unsigned_abs() < 10u128.pow(16)).then_some(UnitPrice(p as i64))
}

fn split_line(i: usize, l: &CaseLine, ctx: &LineContext) -> Result<LineSplit, CaseError> {
    let cnt = l.cnt.unwrap_or(Qty::units(1));
    let pric = match (l.pric, l.cnt) {
        (Some(p), _) => p,
        (None, None) => UnitPrice::from_fen(l.amount),
        // The unit price is what a price cap is held against: the whole amount of 10 bed-days
        // is not the price of one. Derived only when amount ÷ cnt is exact at 6 decimals.
        (None, Some(c)) => exact_price(l.amount, c).ok_or(CaseError::NoPrice(i, l.amount, c))?,
    };
    if l.pric.is_some() && (pric.times(cnt) - l.amount).0.abs() > 1 {
        return Err(CaseError::Amount(i, pric.times(cnt), l.amount));
    }
    let cap = l.item.as_ref().and_then(|it| it.pric_uplmt);
    crate::bounds::check_line(pric, cnt, l.amount, cap).map_err(|error| CaseError::Bounds { line: i, error })?;
    let item = l.item.as_ref().map(|it| CatalogItem {
        hilist_code: l.name.clone().unwrap_or_default(),
        admdvs: NATIONAL_ADMDVS.into(),
        begndate: Date::MIN,
        enddate: None,
        hilist_name: l.name.clone().unwrap_or_default(),
        list_type: String::new(),
        med_chrgitm_type: String::new(),
        chrgitm_lv: it.chrgitm_lv,
        selfpay_prop: it.selfpay_prop,
        pric_uplmt: it.pric_uplmt,
        rules: it.rules.clone(),
        ver: String::new(),
    });
    let fee = FeeLine { amount: l.amount, cnt, pric, hosp_appr_flag: l.hosp_appr_flag.clone() };
    Ok(classify(item.as_ref(), &fee, ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_settles_like_the_engine() {
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        let case: Case = serde_json::from_str(
            r#"{ "policy": "beijing-310.json",
                 "person": { "psn_type": "1101" },
                 "visit": { "med_type": "21", "grade": 3 },
                 "lines": [ { "name": "手术费", "amount": "20000", "item": { "chrgitm_lv": "01" } },
                            { "name": "进口耗材", "amount": "120", "pric": "120", "item": { "chrgitm_lv": "02", "selfpay_prop": "0.1", "pric_uplmt": "110" } },
                            { "name": "自费药", "amount": "50" } ] }"#,
        )
        .unwrap();
        let r = run(&case, &policy).unwrap();
        let o = &r.outcome;
        assert_eq!((o.overlmt_selfpay, o.preselfpay_amt, o.fulamt_ownpay_amt), (Fen(1000), Fen(1100), Fen(5000)));
        // in scope 20,000 + 99 = 20,099; (20,099 − 1,300) × 85% = 15,979.15
        assert_eq!(o.hifp_pay, Fen(1_597_915));
        let unknown = serde_json::from_str::<Case>(
            r#"{"policy":{},"person":{"psn_type":"1101","colour":1},"visit":{"med_type":"21","grade":3},"lines":[]}"#,
        );
        assert!(unknown.is_err_and(|e| e.to_string().contains("colour")));
    }

    /// A refund line larger than what it refunds in the same bill makes a part of the bill
    /// negative: refused, where it once made the fund pay more than the bill (and the identity
    /// assertion panic).
    #[test]
    fn a_negative_part_of_a_bill_is_refused() {
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        let case: Case = serde_json::from_str(
            r#"{ "policy": "beijing-310.json", "person": { "psn_type": "1101" }, "visit": { "med_type": "21", "grade": 3 },
                 "lines": [ { "name": "手术费", "amount": "20000", "item": { "chrgitm_lv": "01" } },
                            { "name": "自费药退费", "amount": "-5000" } ] }"#,
        )
        .unwrap();
        let e = run(&case, &policy).unwrap_err();
        assert!(e.to_string().contains("fulamt_ownpay_amt is negative"), "{e}");
    }

    /// Price × quantity at the largest values neither wraps nor panics: it is held to the
    /// largest amount, which no real amount matches.
    #[test]
    fn an_absurd_price_times_quantity_is_refused() {
        let case: Case = serde_json::from_str(
            r#"{ "policy": "beijing-310.json", "person": { "psn_type": "1101" }, "visit": { "med_type": "11", "grade": 3 },
                 "lines": [ { "name": "x", "amount": "10", "pric": "9999999999.999999", "cnt": "999999999999.9999" } ] }"#,
        )
        .unwrap();
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        assert!(matches!(run(&case, &policy), Err(CaseError::Amount(0, Fen(crate::money::FEN_MAX), _))));
    }

    /// The review's outpatient line (¥1,000,000.00 × 10, settled once with the fund paying
    /// ¥8,498,895) is refused naming the line and field.
    #[test]
    fn a_line_beyond_the_bounds_is_refused() {
        let case: Case = serde_json::from_str(
            r#"{ "policy": "beijing-310.json", "person": { "psn_type": "1101" }, "visit": { "med_type": "11", "grade": 3 },
                 "lines": [ { "name": "ok", "amount": "10", "item": { "chrgitm_lv": "01" } },
                            { "name": "x", "amount": "10000000", "pric": "1000000", "cnt": "10", "item": { "chrgitm_lv": "01" } } ] }"#,
        )
        .unwrap();
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        let e = run(&case, &policy).unwrap_err().to_string();
        assert!(e.starts_with("lines[1].det_item_fee_sumamt: 10000000.00 is above 3000000.00"), "{e}");
    }

    /// A fund payment so far with no (or too little) policy-range amount to have been paid on
    /// is refused naming `ytd`: the bands would otherwise start at the year's first yuan.
    #[test]
    fn an_impossible_year_to_date_is_refused() {
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        let case = |ytd: &str| {
            serde_json::from_str::<Case>(&format!(
                r#"{{ "policy": "x", "person": {{ "psn_type": "1201" }}, "visit": {{ "med_type": "21", "grade": 3, "adm_seq": 2 }},
                     "ytd": {ytd}, "lines": [ {{ "amount": "1000", "item": {{ "chrgitm_lv": "01" }} }} ] }}"#
            ))
            .unwrap()
        };
        let refused = |ytd: &str| run(&case(ytd), &policy).unwrap_err().to_string();
        let e = refused(r#"{ "F.inpatient": "280000" }"#);
        assert!(
            e.starts_with("ytd.F.inpatient: 280000.00 cannot have been paid on I.inpatient − D.inpatient = 0.00"),
            "{e}"
        );
        let e = refused(r#"{ "F.inpatient": "5000", "I.inpatient": "6000", "D.inpatient": "1300", "ADM": 1 }"#);
        assert!(
            e.starts_with("ytd.F.inpatient: 5000.00 cannot have been paid on I.inpatient − D.inpatient = 4700.00"),
            "{e}"
        );
        assert!(refused(r#"{ "D.inpatient": "1300" }"#).starts_with("ytd.D.inpatient"));
        assert!(refused(r#"{ "S.F": "10", "S.I": "5" }"#).starts_with("ytd.S.F"));
        assert!(refused(r#"{ "I.inpatient": "-1" }"#).starts_with("ytd.I.inpatient: -1.00 is negative"));
        // A year the first stay can produce is settled: 6,000 with 1,300 deducted, 4,277 paid.
        let ok = r#"{ "F.inpatient": "4277", "I.inpatient": "6000", "D.inpatient": "1300", "ADM": 1 }"#;
        assert_eq!(run(&case(ok), &policy).unwrap().outcome.hifp_pay, Fen::yuan(1_000 - 650).mul_ratio(Ratio(9_100)));
        let mut seq = case(ok);
        seq.steps = vec![serde_json::from_str(r#"{"reverse": 1}"#).unwrap()];
        seq.lines.clear();
        seq.ytd.insert("F.inpatient".into(), Fen::yuan(9_000));
        assert!(matches!(run_steps(&seq, &policy), Err(CaseError::Ytd(k, _)) if k == "F.inpatient"));
    }

    /// A line without `pric` at the most negative amount a case can carry is refused naming the
    /// field, not a panic (its price, derived from the amount, once saturated to i64::MIN and
    /// taking its magnitude overflowed).
    #[test]
    fn the_most_negative_amount_without_a_price_is_refused() {
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        for amount in ["-99999999999999.99", "99999999999999.99"] {
            let case: Case = serde_json::from_str(&format!(
                r#"{{ "policy": "x", "person": {{ "psn_type": "1101" }}, "visit": {{ "med_type": "11", "grade": 3 }},
                     "lines": [ {{ "name": "x", "amount": "{amount}" }} ] }}"#
            ))
            .unwrap();
            let e = run(&case, &policy).unwrap_err();
            assert!(matches!(&e, CaseError::Bounds { line: 0, .. }), "{e}");
            assert!(e.to_string().starts_with("lines[0].pric: "), "{e}");
        }
    }

    /// `cnt` without `pric`: the unit price is amount ÷ cnt when that is exact (床位费 600 for
    /// 10 days against a cap of 50: 100 over the cap, not 600 − 50 = 550), else refused.
    #[test]
    fn a_count_without_a_price_divides_the_amount_or_is_refused() {
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        let case = |amount: &str, cnt: &str| {
            serde_json::from_str::<Case>(&format!(
                r#"{{ "policy": "x", "person": {{ "psn_type": "1101" }}, "visit": {{ "med_type": "21", "grade": 3 }},
                     "lines": [ {{ "name": "床位费", "amount": "{amount}", "cnt": "{cnt}", "item": {{ "chrgitm_lv": "01", "pric_uplmt": "50" }} }} ] }}"#
            ))
            .unwrap()
        };
        let r = run(&case("600", "10"), &policy).unwrap();
        assert_eq!((r.lines[0].overlmt, r.lines[0].inscp), (Fen::yuan(100), Fen::yuan(500)));
        assert_eq!(r.lines[0].pric_uplmt, Some(UnitPrice::yuan(50)));
        for (amount, cnt) in [("100", "3"), ("600", "0")] {
            let e = run(&case(amount, cnt), &policy).unwrap_err().to_string();
            assert!(e.starts_with("lines[0].pric: needed with cnt; amount"), "{e}");
        }
    }

    /// The admission counter is a count in a case's `ytd`, not an amount of yuan.
    #[test]
    fn the_admission_counter_is_read_as_a_count() {
        let case = |ytd: &str| {
            serde_json::from_str::<Case>(&format!(
                r#"{{ "policy": "x", "person": {{ "psn_type": "1101" }}, "visit": {{ "med_type": "21", "grade": 3 }},
                     "ytd": {ytd}, "lines": [] }}"#
            ))
        };
        let c = case(r#"{ "ADM": 2, "F.inpatient": "1300.5" }"#).unwrap();
        assert_eq!((c.ytd["ADM"], c.ytd["F.inpatient"]), (Fen(2), Fen(130_050)));
        assert!(case(r#"{ "ADM": "1.5" }"#).unwrap_err().to_string().contains("ytd.ADM"));
        assert!(case(r#"{ "F.inpatient": "1.005" }"#).unwrap_err().to_string().contains("ytd.F.inpatient"));
    }
}
