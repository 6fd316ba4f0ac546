use super::*;
use crate::catalog::LineSplit;
use crate::dict::{ChrgitmLv, PsnCategory, VisitClass};
use crate::money::Ratio;
use crate::policy::Policy;
use crate::settle::{settle, AccountFacts, PersonFacts, RemoteType, SettleInput, VisitFacts};
use proptest::prelude::*;

fn policies() -> [Policy; 2] {
    [
        Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap(),
        Policy::from_json(include_str!("../../../policies/nanchang-310.json")).unwrap(),
    ]
}

fn line((fulamt_ownpay, overlmt, preselfpay, inscp): (i64, i64, i64, i64)) -> LineSplit {
    LineSplit {
        chrgitm_lv: ChrgitmLv::A,
        selfpay_prop: Ratio::ZERO,
        pric_uplmt: None,
        fulamt_ownpay: Fen(fulamt_ownpay),
        overlmt: Fen(overlmt),
        preselfpay: Fen(preselfpay),
        inscp: Fen(inscp),
        lmt_used_flag: false,
        memo: None,
    }
}

/// Sums every amount of a settlement and its reversal and of their effects.
fn assert_nets(o: &Outcome, r: &Reversal) {
    let e = Effects::of(o);
    assert_eq!(e.own_account + r.effects.own_account, Fen::ZERO);
    for (k, v) in &e.deltas {
        assert_eq!(*v + r.effects.deltas[k], Fen::ZERO, "{k}");
    }
    assert_eq!(e.deltas.len(), r.effects.deltas.len());
    assert_eq!(e.family.len(), r.effects.family.len());
    for ((a, x), (b, y)) in e.family.iter().zip(&r.effects.family) {
        assert_eq!((a, *x + *y), (b, Fen::ZERO));
    }
    for (x, y) in o.setldetail.iter().zip(&r.outcome.setldetail) {
        assert_eq!(x.fund_pay_type, y.fund_pay_type);
        assert_eq!((x.fund_payamt + y.fund_payamt, x.inscp_scp_amt + y.inscp_scp_amt), (Fen::ZERO, Fen::ZERO));
        assert_eq!(x.crt_payb_lmt_amt, y.crt_payb_lmt_amt, "a limit is not an amount moved");
    }
    assert_eq!(o.medfee_sumamt + r.outcome.medfee_sumamt, Fen::ZERO);
    assert_eq!(o.psn_cash_pay + r.outcome.psn_cash_pay, Fen::ZERO);
}

proptest! {
    /// For random settlements (both layers, civil servants, assistance classes, own and family
    /// accounts, any year-to-date), original + reverse(original) nets to zero everywhere, and
    /// reinstating gives the original back.
    #[test]
    fn a_settlement_and_its_reversal_net_to_zero(
        which in 0usize..2,
        lines in prop::collection::vec((0i64..300_000, 0i64..100_000, 0i64..200_000, 0i64..3_000_000), 1..6),
        inpatient in any::<bool>(),
        grade in 0u8..4,
        adm_seq in 1u32..4,
        remote in 0usize..4,
        cvlserv in any::<bool>(),
        idet in prop::option::of(0usize..4),
        ytd in (0i64..20_000_000, 0i64..200_000, 0i64..15_000_000, 0i64..2_000_000),
        use_account in any::<bool>(),
        own_balance in 0i64..1_000_000,
        family in prop::collection::vec(0i64..500_000, 0..3),
    ) {
        let policy = &policies()[which];
        let person = PersonFacts {
            psn_type: "1101".into(),
            category: PsnCategory::InService,
            cvlserv,
            idet_types: idet.map(|i| format!("MA{}", i + 1)).into_iter().collect(),
            insutypes: vec!["310".into(), "320".into(), "330".into()],
        };
        let visit = VisitFacts {
            visit_class: if inpatient { VisitClass::Inpatient } else { VisitClass::Outpatient },
            grade,
            adm_seq,
            remote: [RemoteType::Local, RemoteType::LongTerm, RemoteType::Referral, RemoteType::Temporary][remote],
            prior_dedc: Fen::ZERO,
            prior_inscp: Fen::ZERO,
            first_segment: true,
        };
        let g = policy.pool_for(visit.visit_class).map(|p| p.group.clone()).unwrap_or_default();
        let ytd: BTreeMap<String, Fen> = [
            (crate::settle::cum::inscp(&g), Fen(ytd.0)),
            (crate::settle::cum::dedc(&g), Fen(ytd.1)),
            (crate::settle::cum::fund(&g), Fen(ytd.2)),
            (crate::settle::cum::SERIOUS_BASE.to_owned(), Fen(ytd.3)),
        ]
        .into_iter()
        .collect();
        let mulaid = family.iter().enumerate().map(|(i, b)| (format!("P{i}"), Fen(*b))).collect();
        let account = AccountFacts { use_account, own_balance: Fen(own_balance), mulaid };
        let splits: Vec<LineSplit> = lines.into_iter().map(line).collect();
        let input = SettleInput { policy, person: &person, visit: &visit, ytd: &ytd, lines: &splits, account: &account };
        let o = settle(&input).unwrap();
        let r = reverse(&o);
        assert_nets(&o, &r);
        prop_assert_eq!(check_nets_to_zero(&o, &r.outcome, &Effects::of(&o).moves(), &r.effects.moves()), Ok(()));
        let back = reinstate(&o);
        prop_assert_eq!(&back.effects, &Effects::of(&o));
        prop_assert_eq!(back.outcome.setldetail, o.setldetail.clone());
    }
}

/// A settlement that draws on the own and the family accounts: the reversal refunds each of
/// them by what it paid, as positive moves.
#[test]
fn a_reversal_refunds_every_account_it_drew_on() {
    let policy = &policies()[0];
    let person = crate::settle::fixtures::employee(&["310"]);
    let visit = crate::settle::fixtures::first_visit(VisitClass::Outpatient);
    let account = AccountFacts {
        use_account: true,
        own_balance: Fen(1_000),
        mulaid: vec![("A".into(), Fen(2_000)), ("B".into(), Fen(50_000))],
    };
    let ytd = BTreeMap::new();
    let lines = [line((10_000, 0, 0, 0))];
    let input = SettleInput { policy, person: &person, visit: &visit, ytd: &ytd, lines: &lines, account: &account };
    let o = settle(&input).unwrap();
    assert_eq!((o.acct_pay, o.acct_mulaid_pay), (Fen(1_000), Fen(9_000)), "{o:?}");
    let r = reverse(&o);
    assert_eq!(r.effects.own_account, Fen(1_000));
    assert_eq!(r.effects.family, vec![("A".to_owned(), Fen(2_000)), ("B".to_owned(), Fen(7_000))]);
    assert_eq!(r.outcome.acct_mulaid_pay, Fen(-9_000));
    assert_eq!(Effects::of(&o).own_account, Fen(-1_000));
}

/// The postcondition names what does not net.
#[test]
fn a_wrong_mirror_is_named() {
    let mut o =
        Outcome { medfee_sumamt: Fen(100), psn_part_amt: Fen(100), psn_cash_pay: Fen(100), ..Default::default() };
    o.fulamt_ownpay_amt = Fen(100);
    let mut wrong = o.negated();
    wrong.psn_cash_pay = Fen(-99);
    let none = BTreeMap::new();
    let e = check_nets_to_zero(&o, &wrong, &none, &none).unwrap_err();
    assert_eq!(e, "psn_cash_pay 0.01");
}
