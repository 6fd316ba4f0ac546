//! The pure engine, without any store: settlement of 10/100/1000-line bills, classification of
//! one fee line, and policy parsing and lookup. Run with `cargo bench -p yibao-domain`; under
//! `cargo test` each benchmark runs once, as a smoke test.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::collections::BTreeMap;
use std::hint::black_box;
use yibao_domain::catalog::{classify, CatalogItem, FeeLine, ItemRules, LineContext, LineSplit};
use yibao_domain::dict::{ChrgitmLv, PsnCategory, VisitClass};
use yibao_domain::policy::Policy;
use yibao_domain::settle::{self, AccountFacts, PersonFacts, RemoteType, SettleInput, VisitFacts};
use yibao_domain::{Date, Fen, Qty, Ratio, UnitPrice};

fn policy_text(name: &str) -> String {
    let path = format!("{}/../../policies/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A bill of `n` lines: mostly 甲类, some 乙类 with a self-pay-first share, a few 丙类.
fn bill(n: usize) -> Vec<LineSplit> {
    (0..n)
        .map(|i| {
            let amount = Fen(1_000 + (i as i64 * 7_919) % 50_000);
            let (lv, prop) = match i % 10 {
                0 => (ChrgitmLv::C, Ratio::ZERO),
                1..=3 => (ChrgitmLv::B, Ratio::parse("0.1").expect("ratio")),
                _ => (ChrgitmLv::A, Ratio::ZERO),
            };
            let (full, pre) = match lv {
                ChrgitmLv::C => (amount, Fen::ZERO),
                _ => (Fen::ZERO, amount.mul_ratio(prop)),
            };
            LineSplit {
                chrgitm_lv: lv,
                selfpay_prop: prop,
                pric_uplmt: None,
                fulamt_ownpay: full,
                overlmt: Fen::ZERO,
                preselfpay: pre,
                inscp: amount - full - pre,
                lmt_used_flag: false,
                memo: None,
            }
        })
        .collect()
}

fn settlement(c: &mut Criterion) {
    let policy = Policy::from_json(&policy_text("beijing-310")).expect("policy");
    let person = PersonFacts {
        psn_type: "1101".into(),
        category: PsnCategory::InService,
        cvlserv: false,
        idet_types: vec![],
        insutypes: vec!["310".into()],
    };
    let ytd: BTreeMap<String, Fen> = BTreeMap::new();
    let account = AccountFacts { use_account: true, own_balance: Fen::yuan(2_000), mulaid: vec![] };
    let mut g = c.benchmark_group("settle");
    for (class, n) in [(VisitClass::Outpatient, 10), (VisitClass::Outpatient, 100), (VisitClass::Inpatient, 1000)] {
        let visit = VisitFacts {
            visit_class: class,
            grade: 3,
            adm_seq: 1,
            remote: RemoteType::Local,
            prior_dedc: Fen::ZERO,
            prior_inscp: Fen::ZERO,
            first_segment: true,
        };
        let lines = bill(n);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(
            BenchmarkId::new(format!("{class:?}").to_lowercase(), format!("{n}_lines")),
            &lines,
            |b, lines| {
                b.iter(|| {
                    let input = SettleInput {
                        policy: &policy,
                        person: &person,
                        visit: &visit,
                        ytd: &ytd,
                        lines,
                        account: &account,
                    };
                    settle::settle(black_box(&input)).expect("settles")
                })
            },
        );
    }
    g.finish();
}

fn classification(c: &mut Criterion) {
    let item = CatalogItem {
        hilist_code: "XA01AAA0001010100001".into(),
        admdvs: "000000".into(),
        begndate: Date::parse("2020-01-01").expect("date"),
        enddate: None,
        hilist_name: "bench item".into(),
        list_type: "101".into(),
        med_chrgitm_type: "09".into(),
        chrgitm_lv: ChrgitmLv::B,
        selfpay_prop: Ratio::parse("0.1").expect("ratio"),
        pric_uplmt: Some(UnitPrice::yuan(50)),
        rules: ItemRules::default(),
        ver: "bench".into(),
    };
    let line = FeeLine {
        amount: Fen::yuan(120),
        cnt: Qty::units(3),
        pric: UnitPrice::yuan(40),
        hosp_appr_flag: Some("0".into()),
    };
    let ctx = LineContext {
        psn_type: "1101",
        gend: "1",
        age: 45,
        grade: 3,
        insutype: "310",
        visit_class: VisitClass::Outpatient,
    };
    c.bench_function("classify/one_line", |b| b.iter(|| classify(black_box(Some(&item)), black_box(&line), &ctx)));
}

fn policies(c: &mut Criterion) {
    let text = policy_text("suzhou-310");
    c.bench_function("policy/parse_suzhou_310", |b| b.iter(|| Policy::from_json(black_box(&text)).expect("policy")));
    let p = Policy::from_json(&text).expect("policy");
    c.bench_function("policy/pool_for", |b| {
        b.iter(|| {
            [VisitClass::Outpatient, VisitClass::Inpatient, VisitClass::Pharmacy]
                .map(|v| black_box(&p).pool_for(v).is_some())
        })
    });
}

criterion_group!(benches, settlement, classification, policies);
criterion_main!(benches);
