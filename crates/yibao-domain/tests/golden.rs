//! Worked examples from domain.md §B. WE-17..WE-25 (derived [D] examples from cited city
//! parameters) and WE-26 (the Jiangxi 2025 大病 rule) run through the real policy files in
//! /policies. WE-01, the official Shandong 大病 example, has no shipped policy: it runs on the
//! 南昌 resident policy edited in the test (`isolate_serious`: a basic fund paying exactly the
//! example's 100,000, Shandong's 大病 deductible, bands and cap).

use proptest::prelude::*;
use std::collections::BTreeMap;
use yibao_domain::catalog::LineSplit;
use yibao_domain::dict::{ChrgitmLv, PsnCategory, VisitClass};
use yibao_domain::policy::Policy;
use yibao_domain::settle::{self, AccountFacts, Outcome, PersonFacts, RemoteType, SettleInput, VisitFacts};
use yibao_domain::{Fen, Ratio};

fn policy(name: &str) -> Policy {
    let text = std::fs::read_to_string(format!("{}/../../policies/{name}.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    Policy::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn line(inscp: Fen, fulamt: Fen) -> LineSplit {
    LineSplit {
        chrgitm_lv: ChrgitmLv::A,
        selfpay_prop: Ratio::ZERO,
        pric_uplmt: None,
        fulamt_ownpay: fulamt,
        overlmt: Fen::ZERO,
        preselfpay: Fen::ZERO,
        inscp,
        lmt_used_flag: false,
        memo: None,
    }
}

fn person(cat: PsnCategory, insutypes: &[&str]) -> PersonFacts {
    let psn_type = match cat {
        PsnCategory::InService => "1101",
        PsnCategory::Retired => "1201",
        PsnCategory::Child => "1403",
        _ => "1501",
    };
    PersonFacts {
        psn_type: psn_type.into(),
        category: cat,
        cvlserv: false,
        idet_types: vec![],
        insutypes: insutypes.iter().map(|s| s.to_string()).collect(),
    }
}

fn inpatient(grade: u8, adm_seq: u32) -> VisitFacts {
    VisitFacts {
        visit_class: VisitClass::Inpatient,
        grade,
        adm_seq,
        remote: RemoteType::Local,
        prior_dedc: Fen::ZERO,
        prior_inscp: Fen::ZERO,
        first_segment: true,
    }
}

fn run(p: &Policy, who: &PersonFacts, v: &VisitFacts, ytd: &BTreeMap<String, Fen>, lines: &[LineSplit]) -> Outcome {
    let account = AccountFacts::default();
    settle::settle(&SettleInput { policy: p, person: who, visit: v, ytd, lines, account: &account }).unwrap()
}

fn fund_for(p: &Policy, who: &PersonFacts, v: &VisitFacts, inscp_yuan: i64) -> Fen {
    run(p, who, v, &BTreeMap::new(), &[line(Fen::yuan(inscp_yuan), Fen::ZERO)]).hifp_pay
}

/// The fund and the patient's policy-range share of a one-line bill, in fen.
fn fund_and_patient(p: &Policy, who: &PersonFacts, v: &VisitFacts, inscp_yuan: i64) -> (i64, i64) {
    let o = run(p, who, v, &BTreeMap::new(), &[line(Fen::yuan(inscp_yuan), Fen::ZERO)]);
    (o.hifp_pay.0, (o.inscp_scp_amt - o.fund_pay_sumamt).0)
}

#[test]
fn we17_to_we21_beijing_employee_inpatient() {
    let bj = policy("beijing-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let ret = person(PsnCategory::Retired, &["310"]);
    assert_eq!(fund_and_patient(&bj, &ins, &inpatient(3, 1), 20_000), (1_589_500, 410_500), "WE-17");
    assert_eq!(fund_and_patient(&bj, &ins, &inpatient(3, 1), 50_000), (4_289_500, 710_500), "WE-18");
    assert_eq!(fund_and_patient(&bj, &ret, &inpatient(3, 1), 50_000), (4_521_700, 478_300), "WE-19");
    assert_eq!(fund_and_patient(&bj, &ins, &inpatient(2, 1), 35_000), (2_956_900, 543_100), "WE-21");
}

/// WE-20 is a second admission, so the year already holds the first stay. The policy reads the
/// bands as cumulative over the year, the deductible counting: the second stay covers
/// first..first + 20,000 with its 650 deductible at the start, so 19,350 × 85 % = 16,447.50 holds
/// only while first + 20,000 ≤ 30,000, i.e. a first stay of at most 10,000 in policy range.
/// (Per-stay bands would give 16,447.50 whatever the first stay was.)
#[test]
fn we20_beijing_second_admission_after_a_first_stay() {
    let bj = policy("beijing-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let second = |first_yuan: i64| {
        let first = run(&bj, &ins, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen::yuan(first_yuan), Fen::ZERO)]);
        assert_eq!(first.deltas.get("ADM"), Some(&Fen(1)));
        let o = run(&bj, &ins, &inpatient(3, 2), &first.deltas, &[line(Fen::yuan(20_000), Fen::ZERO)]);
        (o.hifp_pay.0, (o.inscp_scp_amt - o.fund_pay_sumamt).0)
    };
    assert_eq!(second(5_000), (1_644_750, 355_250), "WE-20 after a first stay of 5,000");
    assert_eq!(second(10_000), (1_644_750, 355_250), "WE-20 after a first stay of 10,000");
    // One yuan more and the last yuan of the second stay is in the 90 % band (+0.05).
    assert_eq!(second(10_001).0, 1_644_750 + 5);
    // A first stay of 12,000: the last 2,000 of the second falls in the 90 % band (+100).
    assert_eq!(second(12_000).0, 1_644_750 + 10_000);
}

/// The policy reads Beijing's bands ("起付标准以上至3万元 …") as running on the year's cumulative
/// policy-range amount (a derived reading, see its provenance; WE-18 is a single stay): the year's 50,000 in two stays of 20,000 and 30,000 pays the
/// second stay from where the first left off — the 90 % and 95 % bands — not from 0 again.
#[test]
fn we18_beijing_bands_run_on_the_years_cumulative_amount() {
    let bj = policy("beijing-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let first = run(&bj, &ins, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen::yuan(20_000), Fen::ZERO)]);
    assert_eq!(first.hifp_pay, Fen::yuan(15_895));
    let ytd: BTreeMap<String, Fen> = first.deltas.clone();
    let second = run(&bj, &ins, &inpatient(3, 2), &ytd, &[line(Fen::yuan(30_000), Fen::ZERO)]);
    // Deductible 650; 20,650..30,000 at 85 % + 30,000..40,000 at 90 % + 40,000..50,000 at 95 %
    // = 7,947.50 + 9,000 + 9,500. Per admission it would be 29,350 × 85 % = 24,947.50.
    assert_eq!(second.act_pay_dedc, Fen::yuan(650));
    assert_eq!(second.hifp_pay, Fen(2_644_750));
    // The year pays WE-18's 42,895 less 85 % of the second deductible.
    assert_eq!(first.hifp_pay + second.hifp_pay, Fen(4_289_500) - Fen::yuan(650).mul_ratio(Ratio(8_500)));
}

/// Mid-stay segments pay what the whole stay pays: 1,300.03 then 0.03 at 85 % would round
/// 2.55 and 2.55 fen up to 3 + 3, where the whole stay's 5.1 fen is 5; the second segment
/// carries the first's −0.45 and pays 2.
#[test]
fn mid_stay_segments_sum_to_the_whole_stay() {
    let bj = policy("beijing-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let first = run(&bj, &ins, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen(130_003), Fen::ZERO)]);
    assert_eq!(first.hifp_pay, Fen(3));
    let v2 = VisitFacts {
        prior_dedc: first.act_pay_dedc,
        prior_inscp: first.inscp_scp_amt,
        first_segment: false,
        ..inpatient(3, 1)
    };
    let second = run(&bj, &ins, &v2, &first.deltas, &[line(Fen(3), Fen::ZERO)]);
    let whole = run(&bj, &ins, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen(130_006), Fen::ZERO)]);
    assert_eq!(whole.hifp_pay, Fen(5));
    assert_eq!(second.hifp_pay, Fen(2));
    let pooled = &second.trace.iter().find(|s| s.step == "pooled fund").unwrap().detail;
    assert!(
        pooled.ends_with(
            "pays 0.0255, plus -0.0045 the earlier segments of this stay left in rounding, rounded half up to 0.02"
        ),
        "{pooled}"
    );
}

#[test]
fn we22_we23_changzhou_resident() {
    let cz = policy("changzhou-390");
    let adult = person(PsnCategory::Adult, &["390"]);
    let child = person(PsnCategory::Child, &["390"]);
    assert_eq!(fund_for(&cz, &adult, &inpatient(3, 1), 10_000), Fen(690_000), "WE-22");
    assert_eq!(fund_for(&cz, &child, &inpatient(3, 1), 10_000), Fen(816_000), "WE-23 student");
    assert_eq!(fund_for(&cz, &adult, &inpatient(2, 1), 10_000), Fen(816_000), "WE-23 adult at grade 2");
}

#[test]
fn we24_suzhou_child_and_admission_sequence() {
    let sz = policy("suzhou-390");
    let child = person(PsnCategory::Child, &["390"]);
    let o = run(&sz, &child, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen::yuan(60_000), Fen::ZERO)]);
    assert_eq!(o.hifp_pay, Fen(4_560_000), "WE-24");
    assert_eq!(o.act_pay_dedc, Fen::yuan(500));
    // Second admission: deductible 50% of the first; third and later: 100.
    let o2 = run(&sz, &child, &inpatient(3, 2), &BTreeMap::new(), &[line(Fen::yuan(1_000), Fen::ZERO)]);
    assert_eq!(o2.act_pay_dedc, Fen::yuan(250));
    let o3 = run(&sz, &child, &inpatient(3, 5), &BTreeMap::new(), &[line(Fen::yuan(1_000), Fen::ZERO)]);
    assert_eq!(o3.act_pay_dedc, Fen::yuan(100));
}

#[test]
fn suzhou_bands_are_cumulative_over_the_year() {
    let sz = policy("suzhou-390");
    let child = person(PsnCategory::Child, &["390"]);
    // 39,500 above the deductible already this year: the next 1,000 straddles the 40k limit.
    let ytd =
        BTreeMap::from([("I.inpatient".to_owned(), Fen::yuan(40_000)), ("D.inpatient".to_owned(), Fen::yuan(500))]);
    let o = run(&sz, &child, &inpatient(3, 2), &ytd, &[line(Fen::yuan(1_250), Fen::ZERO)]);
    // deductible 250; 1,000 above it: 500 at 75% + 500 at 80% = 775.
    assert_eq!(o.hifp_pay, Fen::yuan(775));
}

/// domain.md §A.3.4 bands stop at 350,000 above the deductible (¥200k–350k at 90 %): a year's
/// 400,000 above it pays 40k × 75 % + 60k × 80 % + 100k × 85 % + 150k × 90 % = 298,000, nothing
/// on the last 50,000 (an open-ended 90 % band would pay 343,000).
#[test]
fn suzhou_bands_stop_at_350000_above_the_deductible() {
    let sz = policy("suzhou-390");
    let child = person(PsnCategory::Child, &["390"]);
    let o = run(&sz, &child, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen::yuan(400_500), Fen::ZERO)]);
    assert_eq!(o.act_pay_dedc, Fen::yuan(500));
    assert_eq!(o.hifp_pay, Fen::yuan(298_000));
    // Over the year too: 349,000 above the deductible already, the next 2,000 pays 1,000 at 90 %.
    let ytd = BTreeMap::from([
        ("I.inpatient".to_owned(), Fen::yuan(349_500)),
        ("D.inpatient".to_owned(), Fen::yuan(500)),
        ("F.inpatient".to_owned(), Fen::yuan(297_100)),
        ("ADM".to_owned(), Fen(1)),
    ]);
    let o = run(&sz, &child, &inpatient(3, 2), &ytd, &[line(Fen::yuan(2_250), Fen::ZERO)]);
    assert_eq!(o.hifp_pay, Fen::yuan(900));
}

fn chronic(grade: u8) -> VisitFacts {
    VisitFacts { visit_class: VisitClass::Chronic, adm_seq: 0, ..inpatient(grade, 1) }
}

/// 门诊慢特病 follow the inpatient ratios with no deductible and count against the inpatient
/// cap (南昌 employee: 三级 85 %, cap 100,000; 苏州 resident: the year's inpatient bands, one
/// 350,000 for inpatient + 门诊特定项目), not the ordinary-outpatient rule.
#[test]
fn chronic_visits_settle_with_the_inpatient_group() {
    let nc = policy("nanchang-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let o = run(&nc, &ins, &chronic(3), &BTreeMap::new(), &[line(Fen::yuan(10_000), Fen::ZERO)]);
    assert_eq!((o.act_pay_dedc, o.hifp_pay), (Fen::ZERO, Fen::yuan(8_500)));
    assert_eq!(o.deltas.get("I.inpatient"), Some(&Fen::yuan(10_000)));
    // 99,000 of the inpatient cap already used this year: 1,000 left.
    let ytd =
        BTreeMap::from([("F.inpatient".to_owned(), Fen::yuan(99_000)), ("I.inpatient".to_owned(), Fen::yuan(120_000))]);
    let o = run(&nc, &ins, &chronic(3), &ytd, &[line(Fen::yuan(10_000), Fen::ZERO)]);
    assert_eq!(o.hifp_pay, Fen::yuan(1_000));

    let sz = policy("suzhou-390");
    let child = person(PsnCategory::Child, &["390"]);
    let o = run(&sz, &child, &chronic(3), &BTreeMap::new(), &[line(Fen::yuan(10_000), Fen::ZERO)]);
    assert_eq!((o.act_pay_dedc, o.hifp_pay), (Fen::ZERO, Fen::yuan(7_500)));
    // After a stay of 40,500 (39,500 above the deductible 500): 500 at 75 % + 1,500 at 80 %.
    let ytd = BTreeMap::from([
        ("I.inpatient".to_owned(), Fen::yuan(40_000)),
        ("D.inpatient".to_owned(), Fen::yuan(500)),
        ("F.inpatient".to_owned(), Fen::yuan(29_625)),
        ("ADM".to_owned(), Fen(1)),
    ]);
    let o = run(&sz, &child, &chronic(3), &ytd, &[line(Fen::yuan(2_000), Fen::ZERO)]);
    assert_eq!(o.hifp_pay, Fen::yuan(1_575));
}

#[test]
fn we25_shanghai_employee() {
    let sh = policy("shanghai-310");
    let ins = person(PsnCategory::InService, &["310"]);
    assert_eq!(fund_for(&sh, &ins, &inpatient(3, 1), 20_000), Fen(1_572_500), "WE-25");
}

/// A policy whose basic pool pays `first` in full and nothing beyond, to isolate the layer.
fn isolate_serious(mut p: Policy, basic_pays: Fen) -> Policy {
    let pool = p.pools.iter_mut().find(|x| x.visit_classes.contains(&VisitClass::Inpatient)).unwrap();
    pool.deductible.rows.clear();
    pool.annual_caps.clear();
    pool.bands.tables.truncate(1);
    pool.bands.tables[0].grades.clear();
    pool.bands.tables[0].psn.clear();
    pool.bands.tables[0].bands =
        serde_json::from_str(&format!(r#"[{{"upto":"{}","ratio":"1"}},{{"ratio":"0"}}]"#, basic_pays)).unwrap();
    p
}

/// WE-26 through the shipped 南昌 resident policy as it is: at a 三级 hospital a stay of 124,100
/// in policy range leaves 50,000 after the basic fund (deductible 600, then 60 %: 74,100).
#[test]
fn we26_jiangxi_resident_serious_illness() {
    let p = policy("nanchang-390");
    let mut who = person(PsnCategory::Adult, &["390", "392"]);
    let bill = [line(Fen::yuan(124_100), Fen::ZERO)];
    let o = run(&p, &who, &inpatient(3, 1), &BTreeMap::new(), &bill);
    assert_eq!(o.hifp_pay, Fen::yuan(74_100));
    assert_eq!(o.inscp_scp_amt - o.hifp_pay, Fen::yuan(50_000));
    assert_eq!(o.hifmi_pay, Fen::yuan(19_800), "WE-26 ordinary: (50,000 − 17,000) × 60 %");
    who.idet_types = vec!["MA2".into()];
    let o = run(&p, &who, &inpatient(3, 1), &BTreeMap::new(), &bill);
    assert_eq!(o.hifmi_pay, Fen::yuan(26_975), "WE-26 hardship: (50,000 − 8,500) × 65 %");
    // Without the 392 enrollment the layer does not pay.
    let none = person(PsnCategory::Adult, &["390"]);
    assert_eq!(run(&p, &none, &inpatient(3, 1), &BTreeMap::new(), &bill).hifmi_pay, Fen::ZERO);
}

#[test]
fn we01_shandong_serious_illness_official_example() {
    let mut p = isolate_serious(policy("nanchang-390"), Fen::yuan(100_000));
    let s = p.serious.as_mut().unwrap();
    s.deductible = Fen::yuan(10_000);
    s.bands = serde_json::from_str(r#"[{"upto":"100000","ratio":"0.5"},{"ratio":"0.6"}]"#).unwrap();
    s.annual_cap = Some(Fen::yuan(200_000));
    s.hardship = None;
    p.assistance = None;
    let who = person(PsnCategory::Adult, &["390", "392"]);
    let o = run(&p, &who, &inpatient(3, 1), &BTreeMap::new(), &[line(Fen::yuan(270_000), Fen::yuan(30_000))]);
    assert_eq!(o.medfee_sumamt, Fen::yuan(300_000));
    assert_eq!(o.hifp_pay, Fen::yuan(100_000));
    assert_eq!(o.hifmi_pay, Fen::yuan(87_000), "WE-01: 45,000 + 42,000");
    assert_eq!(o.hifp_pay + o.hifmi_pay, Fen::yuan(187_000));
    assert_eq!(o.psn_part_amt, Fen::yuan(113_000));
}

#[test]
fn annual_cap_passes_the_rest_to_the_large_amount_layer() {
    let bj = policy("beijing-310");
    let who = person(PsnCategory::InService, &["310", "330"]);
    let ytd = BTreeMap::from([
        ("F.inpatient".to_owned(), Fen::yuan(295_000)),
        ("I.inpatient".to_owned(), Fen::yuan(400_000)),
        ("D.inpatient".to_owned(), Fen::yuan(1_300)),
    ]);
    let o = run(&bj, &who, &inpatient(3, 2), &ytd, &[line(Fen::yuan(20_650), Fen::ZERO)]);
    // deductible 650; 20,000 at 95 % would be 19,000 but only 5,000 of the cap is left.
    assert_eq!(o.hifp_pay, Fen::yuan(5_000));
    // 5,000 / 0.95 = 5,263.157… covered; 14,736.842… over the cap. The layer pays 85 % of the
    // exact amount, 12,526.315…, rounded once to 12,526.32 (85 % of a rounded-up 14,736.85 or
    // of a rounded 14,736.84 would be 12,526.3225 or 12,526.314: two rounding points).
    assert_eq!(o.deltas["S.I"], Fen(1_473_684), "the accounts hold the amount rounded half up");
    assert_eq!(o.hifob_pay, Fen(1_252_632));
    let layer = &o.trace.iter().find(|s| s.step == "serious illness layer").unwrap().detail;
    assert!(
        layer.contains("14736.842105… × 0.8500 = 12526.315789…; pays 12526.315789… rounded half up to 12526.32"),
        "{layer}"
    );
    assert_eq!(o.deltas["F.inpatient"], Fen::yuan(5_000));
}

/// 职工大病 in 南昌 pays 90 % of the year's policy-range burden after the basic fund beyond 100,000.
#[test]
fn nanchang_employee_serious_illness_starts_at_100000_of_burden() {
    let nc = policy("nanchang-310");
    let who = person(PsnCategory::InService, &["310", "330"]);
    let ytd = BTreeMap::from([("S.I".to_owned(), Fen::yuan(95_000))]);
    // Deductible 800, then 40,000 × 85 % = 34,000: the person bears 6,800 in policy range.
    let o = run(&nc, &who, &inpatient(3, 1), &ytd, &[line(Fen::yuan(40_800), Fen::ZERO)]);
    assert_eq!(o.hifp_pay, Fen::yuan(34_000));
    // Burden 6,800: 95,000..101,800, of which 1,800 beyond 100,000 → 1,620.
    assert_eq!(o.hifob_pay, Fen::yuan(1_620));
}

#[test]
fn remote_temporary_care_reduces_the_ratio() {
    let bj = policy("beijing-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let mut v = inpatient(3, 1);
    v.remote = RemoteType::Temporary;
    // (20,000 − 1,300) × (85% − 20 pp) = 12,155 (WE-27 bound: ≥ 65%).
    assert_eq!(fund_for(&bj, &ins, &v, 20_000), Fen::yuan(12_155));
    v.remote = RemoteType::Referral;
    assert_eq!(fund_for(&bj, &ins, &v, 20_000), Fen::yuan(14_025));
}

#[test]
fn account_then_family_account_then_cash() {
    let bj = policy("beijing-310");
    let ins = person(PsnCategory::InService, &["310"]);
    let account = AccountFacts {
        use_account: true,
        own_balance: Fen::yuan(100),
        mulaid: vec![("P-SPOUSE".into(), Fen::yuan(50))],
    };
    let v = VisitFacts { visit_class: VisitClass::Outpatient, ..inpatient(3, 1) };
    let lines = [line(Fen::yuan(200), Fen::ZERO)];
    let o = settle::settle(&SettleInput {
        policy: &bj,
        person: &ins,
        visit: &v,
        ytd: &BTreeMap::new(),
        lines: &lines,
        account: &account,
    })
    .unwrap();
    // Outpatient deductible 1,800 not reached: the whole 200 is the patient's.
    assert_eq!(
        (o.hifp_pay, o.acct_pay, o.acct_mulaid_pay, o.psn_cash_pay),
        (Fen::ZERO, Fen::yuan(100), Fen::yuan(50), Fen::yuan(50))
    );
    assert_eq!(o.mulaid_pays, vec![("P-SPOUSE".to_owned(), Fen::yuan(50))]);
}

#[test]
fn policy_loader_rejects_bad_documents_with_a_path() {
    let good =
        std::fs::read_to_string(format!("{}/../../policies/suzhou-390.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let cases = [
        (good.replace("\"ratio\": \"0.75\"", "\"ratio\": \"1.75\""), "pools[0].bands.tables[0].bands[0].ratio"),
        (good.replace("\"upto\": \"100000\"", "\"upto\": \"30000\""), "bands overlap"),
        (good.replace("\"group\": \"inpatient\"", "\"group\": \"inpatient\", \"colour\": 1"), "unknown field `colour`"),
        (good.replace("\"begndate\": \"2024-01-01\"", "\"begndate\": \"2024-02-30\""), "begndate"),
        (good.replace("\"390100\"", "\"39010\""), "pool_fund"),
        // A pool rule without caps must say so; one with caps must cap everyone.
        (
            good.replace("\"annual_caps\": [{\"amount\": \"350000\"}],", ""),
            "pools[0].annual_caps: a pool rule needs annual caps",
        ),
        (
            good.replace(
                "\"annual_caps\": [{\"amount\": \"350000\"}],",
                "\"annual_caps\": [{\"grades\": [3], \"amount\": \"350000\"}],",
            ),
            "pools[0].annual_caps[0]: the last cap row must match everyone",
        ),
        (
            good.replace(
                "\"annual_caps\": [{\"amount\": \"350000\"}],",
                "\"annual_caps\": [{\"amount\": \"350000\"}], \"no_annual_cap\": \"x\",",
            ),
            "pools[0].no_annual_cap",
        ),
        (good.replace("\"bands\": \"verified:", "\"bands\": \"maybe:"), "pools[0].provenance.bands"),
        // A grade no band table matches would be paid nothing: the last table matches everyone.
        (
            good.replace(
                "\"tables\": [\n          {\n            \"bands\"",
                "\"tables\": [\n          {\n            \"grades\": [3], \"bands\"",
            ),
            "pools[0].bands.tables[0]: the last band table must match everyone",
        ),
        // A group is labelled by its weakest value.
        (
            good.replace("\"bands\": \"verified: ", "\"bands\": \"verified: ASSUMED: "),
            "pools[0].provenance.bands: labelled \"verified\" but says part of it is assumed",
        ),
        (
            good.replace("\"bands\": \"verified: ", "\"bands\": \"third-party: rows derived "),
            "pools[0].provenance.bands: labelled \"third-party\" but says part of it is derived",
        ),
    ];
    for (text, expect) in cases {
        let err = Policy::from_json(&text).unwrap_err().to_string();
        assert!(err.contains(expect), "{err:?} should mention {expect:?}");
    }
    // The layers above the pool too: a cap, or the reason there is none.
    let nc =
        std::fs::read_to_string(format!("{}/../../policies/nanchang-390.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let cases = [
        (nc.replace("\"annual_cap\": \"300000\",", ""), "serious.annual_cap: needs an annual cap"),
        (nc.replace("\"annual_cap\": \"300000\",", "\"no_annual_cap\": \"none in the source\","), ""),
        (
            nc.replace("\"ratio\": \"0.70\", \"annual_cap\": \"30000\"", "\"ratio\": \"0.70\""),
            "assistance.classes[1].annual_cap",
        ),
    ];
    for (text, expect) in cases {
        match Policy::from_json(&text) {
            Err(e) => assert!(!expect.is_empty() && e.to_string().contains(expect), "{e} should mention {expect:?}"),
            Ok(_) => assert!(expect.is_empty(), "accepted, should mention {expect:?}"),
        }
    }
}

/// Every shipped policy says, for every parameter group, how far its values are verified, and
/// every pool rule has caps or says why not.
#[test]
fn shipped_policies_carry_provenance_and_caps() {
    let dir = format!("{}/../../policies", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let p = Policy::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let at = |what: &str| format!("{}: {what}", path.display());
        for (i, pool) in p.pools.iter().enumerate() {
            let pv = &pool.provenance;
            assert!(pv.deductible.is_some() && pv.bands.is_some(), "{}", at(&format!("pools[{i}]")));
            assert!(pool.annual_caps.is_empty() || pv.annual_caps.is_some(), "{}", at(&format!("pools[{i}] caps")));
            assert!(!pool.annual_caps.is_empty() || pool.no_annual_cap.is_some(), "{}", at(&format!("pools[{i}]")));
        }
        assert!(p.serious.as_ref().is_none_or(|s| s.provenance.is_some()), "{}", at("serious"));
        assert!(p.civil_servant.as_ref().is_none_or(|s| s.provenance.is_some()), "{}", at("civil_servant"));
        assert!(p.assistance.as_ref().is_none_or(|s| s.provenance.is_some()), "{}", at("assistance"));
        assert!(p.account.as_ref().is_none_or(|s| s.provenance.is_some()), "{}", at("account"));
        assert!(p.remote.provenance.is_some(), "{}", at("remote"));
        // domain.md §A.5 gives only upper limits (≤ 10 / ≤ 20 points): using them is a choice.
        assert_eq!(p.remote.provenance.as_ref().and_then(|v| v.level()), Some("assumed"), "{}", at("remote"));
        n += 1;
    }
    assert_eq!(n, 10);
}

#[test]
fn policy_versions_must_tile_time() {
    let a = policy("suzhou-390");
    let mut b = a.clone();
    b.begndate = yibao_domain::Date::parse("2025-01-01").unwrap();
    b.ver = "2025".into();
    let err = yibao_domain::policy::validate_timeline(&[&a, &b]).unwrap_err().to_string();
    assert!(err.contains("open-ended"), "{err}");
    let mut a2 = a.clone();
    a2.enddate = Some(yibao_domain::Date::parse("2024-12-01").unwrap());
    assert!(yibao_domain::policy::validate_timeline(&[&a2, &b]).unwrap_err().to_string().contains("gap"));
    a2.enddate = Some(yibao_domain::Date::parse("2025-01-01").unwrap());
    assert!(yibao_domain::policy::validate_timeline(&[&a2, &b]).is_ok());
}

/// (policy index, grade, admission number, lines (inscp, overlmt, preselfpay, fulamt), fund paid
/// so far this year, account balance, retired)
type Case = (usize, u8, u32, Vec<(i64, i64, i64, i64)>, i64, i64, bool);

fn arb_case() -> impl Strategy<Value = Case> {
    (
        0usize..6,
        0u8..=3,
        1u32..5,
        prop::collection::vec((0i64..5_000_000, 0i64..100_000, 0i64..100_000, 0i64..1_000_000), 1..30),
        // Often none yet, so the segment property below runs for capped policies too.
        prop_oneof![Just(0i64), 0i64..40_000_000],
        0i64..5_000_000,
        any::<bool>(),
    )
}

const ALL: [&str; 6] = ["beijing-310", "shanghai-310", "changzhou-390", "suzhou-390", "nanchang-310", "nanchang-390"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Identities hold, no fund pays past its cap, and a mid-stay split pays the basic fund
    /// exactly what one bill pays.
    #[test]
    fn identities_caps_and_segments(case in arb_case()) {
        let (pi, grade, adm, raw, ytd_fund, balance, retired) = case;
        let p = policy(ALL[pi]);
        let cat = if retired { PsnCategory::Retired } else if p.insutype == "390" { PsnCategory::Adult } else { PsnCategory::InService };
        let mut who = person(cat, &["310", "330", "390", "392"]);
        who.idet_types = vec!["MA3".into()];
        let lines: Vec<LineSplit> = raw.iter().map(|(a, b, c, d)| LineSplit { inscp: Fen(*a), overlmt: Fen(*b), preselfpay: Fen(*c), fulamt_ownpay: Fen(*d), ..line(Fen(0), Fen(0)) }).collect();
        let ytd = BTreeMap::from([("F.inpatient".to_owned(), Fen(ytd_fund))]);
        let account = AccountFacts { use_account: true, own_balance: Fen(balance), mulaid: vec![] };
        let v = inpatient(grade, adm);
        // `settle` asserts the settlement identities itself.
        let o = settle::settle(&SettleInput { policy: &p, person: &who, visit: &v, ytd: &ytd, lines: &lines, account: &account }).unwrap();
        let cap = p.pool_for(VisitClass::Inpatient).unwrap().annual_caps.first().map(|c| c.amount);
        if let Some(cap) = cap {
            prop_assert!(o.hifp_pay.0 <= (cap.0 - ytd_fund).max(0));
        }
        prop_assert!(o.acct_pay.0 <= balance);
        // The reversal's deltas restore every accumulator, and it pays every payer back.
        let n = o.negated();
        for (k, d) in &o.deltas {
            prop_assert_eq!(n.deltas.get(k).copied(), Some(-*d), "{}", k);
        }
        prop_assert_eq!(n.deltas.len(), o.deltas.len());
        prop_assert_eq!((n.medfee_sumamt, n.fund_pay_sumamt, n.acct_pay, n.psn_cash_pay), (-o.medfee_sumamt, -o.fund_pay_sumamt, -o.acct_pay, -o.psn_cash_pay));

        // Split the same bill into two segments of one stay (no cap, admission-scoped bands).
        if cap.is_none() || ytd_fund == 0 {
            let mid = lines.len() / 2;
            let first = run(&p, &who, &v, &ytd, &lines[..mid]);
            let ytd2: BTreeMap<String, Fen> = first.deltas.iter().map(|(k, d)| (k.clone(), *ytd.get(k).unwrap_or(&Fen(0)) + *d)).collect();
            let v2 = VisitFacts { prior_dedc: first.act_pay_dedc, prior_inscp: first.inscp_scp_amt, first_segment: false, ..v.clone() };
            let second = run(&p, &who, &v2, &ytd2, &lines[mid..]);
            let whole = run(&p, &who, &v, &ytd, &lines);
            prop_assert_eq!(first.act_pay_dedc + second.act_pay_dedc, whole.act_pay_dedc);
            // The second segment carries what rounding the first left: together they pay
            // exactly what one bill pays (each rounding on its own could be a fen off).
            prop_assert_eq!(first.hifp_pay + second.hifp_pay, whole.hifp_pay);
        }
    }
}
