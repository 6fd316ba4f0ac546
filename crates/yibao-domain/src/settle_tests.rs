//! The rounding points of the engine: a fund's payment is the exact sum of segment × ratio over
//! its bands, rounded half up once; the civil-servant subsidy likewise.

use super::*;
use crate::catalog::LineSplit;
use crate::dict::ChrgitmLv;
use proptest::prelude::*;

fn policy(pool: &str, extra: &str) -> Policy {
    Policy::from_json(&format!(
        r#"{{ "admdvs": "110100", "insutype": "310", "ver": "T", "begndate": "2024-01-01", "pool_fund": "310100",
              "pools": [ {pool} ] {extra} }}"#
    ))
    .unwrap()
}

fn settle_one(p: &Policy, cvlserv: bool, inscp: Fen) -> Outcome {
    let person = PersonFacts { cvlserv, ..crate::settle::fixtures::employee(&["310", "320"]) };
    let visit = crate::settle::fixtures::first_visit(VisitClass::Inpatient);
    let line = LineSplit {
        chrgitm_lv: ChrgitmLv::A,
        selfpay_prop: Ratio::ZERO,
        pric_uplmt: None,
        fulamt_ownpay: Fen::ZERO,
        overlmt: Fen::ZERO,
        preselfpay: Fen::ZERO,
        inscp,
        lmt_used_flag: false,
        memo: None,
    };
    let ytd = BTreeMap::new();
    let account = AccountFacts::default();
    settle(&SettleInput { policy: p, person: &person, visit: &visit, ytd: &ytd, lines: &[line], account: &account })
        .unwrap()
}

/// Two bands whose pieces each end in half a fen: 28,699.90 × 0.85 = 24,394.915 and
/// 0.05 × 0.90 = 0.045. Their exact sum 24,394.96 is already whole fen; rounding each piece
/// first (24,394.92 + 0.05) would pay 24,394.97.
#[test]
fn two_half_fen_bands_are_rounded_once() {
    let p = policy(
        r#"{ "visit_classes": ["inpatient"], "group": "inpatient",
             "deductible": { "scope": "admission", "rows": [] },
             "bands": { "basis": "with_deductible", "scope": "admission",
                        "tables": [ { "bands": [ { "upto": "28699.90", "ratio": "0.85" }, { "ratio": "0.90" } ] } ] },
             "no_annual_cap": "test" }"#,
        "",
    );
    let o = settle_one(&p, false, Fen(2_869_995));
    assert_eq!(o.hifp_pay, Fen(2_439_496));
    let detail = &o.trace.iter().find(|s| s.step == "pooled fund").unwrap().detail;
    assert!(detail.contains("28699.90 × 0.8500 = 24394.915 + 0.05 × 0.9000 = 0.045; pays 24394.96"), "{detail}");
}

/// A bill beyond the bounds of one settlement is refused before anything is paid, even when
/// each line is within bounds.
#[test]
fn a_bill_beyond_the_bounds_is_refused() {
    let p = policy(
        r#"{ "visit_classes": ["inpatient"], "group": "inpatient",
             "deductible": { "scope": "admission", "rows": [] },
             "bands": { "basis": "above_deductible", "scope": "admission", "tables": [ { "bands": [ { "ratio": "0.9" } ] } ] },
             "no_annual_cap": "test" }"#,
        "",
    );
    let lines = |n: usize| {
        let one = LineSplit {
            chrgitm_lv: ChrgitmLv::A,
            selfpay_prop: Ratio::ZERO,
            pric_uplmt: None,
            fulamt_ownpay: Fen::ZERO,
            overlmt: Fen::ZERO,
            preselfpay: Fen::ZERO,
            inscp: Fen::yuan(2_500_000),
            lmt_used_flag: false,
            memo: None,
        };
        vec![one; n]
    };
    let person = crate::settle::fixtures::employee(&["310"]);
    let visit = crate::settle::fixtures::first_visit(VisitClass::Inpatient);
    let (ytd, account) = (BTreeMap::new(), AccountFacts::default());
    let go = |l: &[LineSplit]| {
        settle(&SettleInput { policy: &p, person: &person, visit: &visit, ytd: &ytd, lines: l, account: &account })
    };
    assert_eq!(go(&lines(8)).unwrap().hifp_pay, Fen::yuan(18_000_000));
    let e = go(&lines(9)).unwrap_err();
    assert!(e.to_string().contains("the bill's total 22500000.00 is above 20000000.00"), "{e}");
}

/// The civil-servant subsidy is rounded once: 0.01 × 0.5 + 10.02 × 0.25 = 0.005 + 2.505 = 2.51,
/// where rounding each part would pay 0.01 + 2.51 = 2.52.
#[test]
fn civil_servant_subsidy_is_rounded_once() {
    let p = policy(
        r#"{ "visit_classes": ["inpatient"], "group": "inpatient",
             "deductible": { "scope": "admission", "rows": [ { "amounts": ["0.01"] } ] },
             "bands": { "basis": "above_deductible", "scope": "admission", "tables": [ { "bands": [ { "ratio": "0" } ] } ] },
             "no_annual_cap": "test" }"#,
        r#", "civil_servant": { "insutype": "320", "fund": "320100", "visit_classes": ["inpatient"],
              "rows": [ { "dedc_ratio": "0.5", "coins_ratio": "0.25" } ], "no_annual_cap": "test" }"#,
    );
    let o = settle_one(&p, true, Fen(1_003));
    assert_eq!(o.cvlserv_pay, Fen(251));
}

/// A capped walk pays exactly the room the cap leaves, and says so in words.
#[test]
fn the_cap_cuts_the_exact_sum() {
    let bands: Vec<Band> =
        serde_json::from_str(r#"[{"upto":"100.01","ratio":"0.85"},{"upto":"200","ratio":"0.9"},{"ratio":"0.95"}]"#)
            .unwrap();
    let w = walk_bands(&bands, Fen(0), Fen(30_000), Ratio::ZERO, Ratio::ZERO, Some(Fen(12_345)));
    assert_eq!(w.paid, Fen(12_345));
    let d = w.describe();
    assert!(d.contains("capped: pays 0.00 of 95.00, the annual cap is used up"), "{d}");
    assert!(d.contains("capped: pays 38.4415 of 89.991, all the annual cap had left"), "{d}");
    // Beyond the cap, exactly: (89.991 − 38.4415) ÷ 0.9 of the cut piece + all 100.00 of the
    // next = 157.277222… yuan, reported rounded to 157.28.
    assert_eq!((w.over_exact.num, w.over_exact.den), (141_549_500, 9_000));
    assert_eq!(w.over_cap, Fen(15_728));
}

/// The large-amount layer walks the exact amount beyond the cap: its range ends inside a fen.
#[test]
fn an_exact_range_is_walked_exactly() {
    let bands: Vec<Band> = serde_json::from_str(r#"[{"upto":"100","ratio":"0.5"},{"ratio":"0.6"}]"#).unwrap();
    // 10,000.5 fen from 0: 10,000 × 0.5 + 0.5 × 0.6 = 5,000.3 fen → 5,000.
    let len = super::bands::ExactFen { num: 20_001, den: 2 };
    let w = super::bands::walk_bands_exact(&bands, Fen(0), Fen(0), len, Ratio::ZERO, None);
    assert_eq!(w.exact, 5_000 * 10_000 * 2 + 6_000);
    assert_eq!(w.paid, Fen(5_000));
    assert!(w.describe().contains("0.005 × 0.6000 = 0.003"), "{}", w.describe());
    // A deductible of 50 yuan: from 5,000 fen, the same end.
    let w = super::bands::walk_bands_exact(&bands, Fen(5_000), Fen(0), len, Ratio::ZERO, None);
    assert_eq!(w.paid, Fen(2_500));
}

/// Bands from random limits and ratios.
fn arb_bands() -> impl Strategy<Value = Vec<Band>> {
    prop::collection::vec((1i64..2_000_000, 0u32..=10_000), 1..5).prop_map(|v| {
        let mut upto = 0;
        let n = v.len();
        v.into_iter()
            .enumerate()
            .map(|(i, (step, r))| {
                upto += step;
                Band { upto: (i + 1 < n).then_some(Fen(upto)), ratio: Ratio(r) }
            })
            .collect()
    })
}

proptest! {
    /// The walk pays what the hand model says: Σ segment × ratio exactly, cut at the cap, rounded
    /// half up once. It is never more than a fen per piece from the per-piece rounding.
    #[test]
    fn single_rounding_equals_the_hand_model(
        bands in arb_bands(),
        from in 0i64..5_000_000,
        len in 0i64..10_000_000,
        room in prop::option::of(0i64..5_000_000),
    ) {
        let to = from + len;
        let w = walk_bands(&bands, Fen(from), Fen(to), Ratio::ZERO, Ratio::ZERO, room.map(Fen));
        let mut exact: i128 = 0;
        let mut per_piece: i64 = 0;
        let mut lo = i64::MIN;
        for b in &bands {
            let hi = b.upto.map_or(i64::MAX, |u| u.0);
            let seg = (to.min(hi) - from.max(lo)).max(0);
            lo = hi;
            exact += seg as i128 * b.ratio.0 as i128;
            per_piece += Fen(seg).mul_ratio(b.ratio).0;
        }
        if let Some(r) = room {
            exact = exact.min(r as i128 * 10_000);
        }
        let want = (exact + 5_000) / 10_000;
        prop_assert_eq!(w.paid.0 as i128, want);
        if let Some(r) = room {
            prop_assert!(w.paid.0 <= r);
        } else {
            prop_assert!((w.paid.0 - per_piece).abs() <= bands.len() as i64);
        }
    }
}
