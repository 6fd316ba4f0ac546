//! The demo world on SQLite: counts, determinism, every code valid, refusal to seed twice.

use std::sync::Arc;
use yibao_domain::codes::{
    Admdvs, DiagCode, FixmedinsCode, IdCardNo, MedListCode, OprnCode, OpspDiseCode, PsnNo, Uscc,
};
use yibao_domain::registry::medical_assistance_class;
use yibao_domain::{Date, DateTime};
use yibao_seed::{seed_demo, SeedError, SeedOptions, SeedReport};
use yibao_store::catalog::{self as cat, ListKind};
use yibao_store::registry as reg;
use yibao_store::{params, Store};
use yibao_store_sqlite::SqliteBackend;

const PERSONS: usize = 500;

struct TempStore {
    dir: std::path::PathBuf,
    store: Store,
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fresh(name: &str) -> TempStore {
    let dir = std::env::temp_dir().join(format!("yibao-seed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let backend = SqliteBackend::open(dir.join("seed.db")).expect("open SQLite");
    TempStore { dir, store: Store::new(Arc::new(backend)) }
}

fn options() -> SeedOptions {
    SeedOptions {
        persons: PERSONS,
        today: Date::parse("2026-11-22").expect("date"),
        batch: 128,
        ..SeedOptions::default()
    }
}

fn texts(store: &Store, sql: &str) -> Vec<String> {
    store.read(|tx| tx.query(sql, params![])?.iter().map(|r| r.str(0)).collect::<Result<Vec<_>, _>>()).expect(sql)
}

fn seeded(name: &str) -> (TempStore, SeedReport) {
    let ts = fresh(name);
    let report = seed_demo(&ts.store, &options()).expect("seed");
    (ts, report)
}

#[test]
fn counts_and_shape() {
    let (ts, r) = seeded("counts");
    assert_eq!(r.persons, PERSONS as u64);
    assert_eq!(r.regions, 9);
    assert!(r.institutions >= 60, "{r:?}");
    assert!(r.catalog_items >= 300, "{r:?}");
    assert!(r.mappings > 1000 && r.employers == 200 && r.codes >= 50, "{r:?}");
    // 35 % in service with 310 + 330 (+ 320), 10 % retired with two periods each, 55 % residents.
    assert!(r.enrollments > 2 * PERSONS as u64, "{r:?}");
    assert!(r.contributions > 0 && r.account_entries > r.contributions, "{r:?}");
    assert_eq!(r.policy_targets.len(), 25);
    let count = |sql: &str| texts(&ts.store, sql)[0].parse::<i64>().expect("count");
    assert_eq!(count("SELECT CAST(COUNT(*) AS TEXT) FROM person"), PERSONS as i64);
    assert_eq!(count("SELECT CAST(COUNT(*) AS TEXT) FROM enrollment") as u64, r.enrollments);
    assert_eq!(count("SELECT CAST(COUNT(*) AS TEXT) FROM contribution") as u64, r.contributions);
    assert_eq!(count("SELECT CAST(COUNT(*) AS TEXT) FROM acct_entry") as u64, r.account_entries);
    let list_types = texts(&ts.store, "SELECT DISTINCT list_type FROM catalog_item ORDER BY list_type");
    assert_eq!(list_types, ["101", "102", "103", "201", "301"]);
    let classes = texts(&ts.store, "SELECT DISTINCT chrgitm_lv FROM catalog_item ORDER BY chrgitm_lv");
    assert_eq!(classes, ["01", "02", "03"]);
    let psn_types = texts(&ts.store, "SELECT DISTINCT psn_type FROM enrollment ORDER BY psn_type");
    for t in ["1101", "1201", "1403", "1501", "16"] {
        assert!(psn_types.iter().any(|p| p == t), "{t} missing from {psn_types:?}");
    }
}

#[test]
fn deterministic_for_a_seed() {
    let (a, _) = seeded("det-a");
    let (b, _) = seeded("det-b");
    // Certificate numbers and names are sealed at rest: compare them as the registry opens them.
    let keys = |s: &yibao_store::Store| -> Vec<String> {
        s.read(|tx| yibao_store::registry::persons_after(tx, "", 1_000_000))
            .expect("persons")
            .iter()
            .map(|p| format!("{} {} {}", p.psn_no, p.certno, p.psn_name))
            .collect()
    };
    assert_eq!(keys(&a.store), keys(&b.store));
    let entries = "SELECT psn_no || ' ' || CAST(seq AS TEXT) || ' ' || CAST(balance_after AS TEXT) FROM acct_entry ORDER BY psn_no, seq";
    assert_eq!(texts(&a.store, entries), texts(&b.store, entries));
    let other = fresh("det-c");
    seed_demo(&other.store, &SeedOptions { seed: 7, ..options() }).expect("seed 7");
    assert_ne!(keys(&a.store), keys(&other.store));
}

#[test]
fn every_code_parses() {
    let (ts, _) = seeded("codes");
    let s = &ts.store;
    for (psn_no, certno, brdy, gend) in s
        .read(|tx| yibao_store::registry::persons_after(tx, "", 1_000_000))
        .expect("persons")
        .into_iter()
        .map(|p| (p.psn_no, p.certno, p.brdy, p.gend))
    {
        PsnNo::parse(&psn_no).expect("psn_no");
        let id = IdCardNo::parse(&certno).unwrap_or_else(|e| panic!("{psn_no}: {e}"));
        assert_eq!(id.birth_date(), brdy);
        assert_eq!(id.gender().code(), gend);
    }
    for c in texts(s, "SELECT fixmedins_code FROM institution") {
        FixmedinsCode::parse(&c).expect("fixmedins_code");
    }
    for c in texts(s, "SELECT uscc FROM institution UNION ALL SELECT uscc FROM employer") {
        Uscc::parse(&c).expect("uscc");
    }
    for c in texts(s, "SELECT admdvs FROM region") {
        Admdvs::parse(&c).expect("admdvs");
    }
    for c in texts(s, "SELECT hilist_code FROM catalog_item UNION SELECT med_list_codg FROM med_map") {
        MedListCode::parse(&c).expect("list code");
    }
    for c in texts(s, "SELECT code FROM code_list WHERE list_kind = 'diag'") {
        DiagCode::parse(&c).expect("diag");
    }
    for c in texts(s, "SELECT code FROM code_list WHERE list_kind = 'oprn'") {
        OprnCode::parse(&c).expect("oprn");
    }
    for c in texts(s, "SELECT code FROM code_list WHERE list_kind = 'opsp'") {
        OpspDiseCode::parse(&c).expect("opsp");
    }
    for t in texts(s, "SELECT psn_idet_type FROM person_idet") {
        assert!(medical_assistance_class(&t).is_some(), "{t}");
    }
}

#[test]
fn demo_data_is_usable() {
    let (ts, _) = seeded("usable");
    let s = &ts.store;
    let today = options().today;
    for (kind, code) in [
        (ListKind::Diag, "I10.x00"),
        (ListKind::Diag, "E11.900"),
        (ListKind::Diag, "J18.900"),
        (ListKind::Diag, "K35.800"),
        (ListKind::Oprn, "47.0901"),
        (ListKind::Opsp, "M03900"),
        (ListKind::Opsp, "M01600"),
    ] {
        assert!(s.read(|tx| cat::code_in_force(tx, kind, code, today)).expect("code").is_some(), "{code}");
    }
    // Jiangsu rows take precedence over national ones for 常州, not for 北京.
    let province_code = texts(s, "SELECT hilist_code FROM catalog_item WHERE admdvs = '320000' LIMIT 1").remove(0);
    let cz = s.read(|tx| cat::catalog_item_in_force(tx, &province_code, "320400", today)).expect("cz").expect("row");
    let bj = s.read(|tx| cat::catalog_item_in_force(tx, &province_code, "110100", today)).expect("bj").expect("row");
    assert_eq!((cz.admdvs.as_str(), bj.admdvs.as_str()), ("320000", "000000"));
    // Every employee in service has a positive balance equal to the sum of the entries.
    let psn_no =
        texts(s, "SELECT psn_no FROM enrollment WHERE psn_type = '1101' AND enddate IS NULL LIMIT 1").remove(0);
    let balance = s.read(|tx| reg::account_balance(tx, &psn_no)).expect("balance");
    let entries = s.read(|tx| reg::account_entries(tx, &psn_no, 100)).expect("entries");
    assert!(balance.0 > 0);
    assert_eq!(entries.iter().map(|e| e.amount.0).sum::<i64>(), balance.0);
    let active = s.read(|tx| reg::enrollments_as_of(tx, &psn_no, today)).expect("enrollments");
    assert!(active.iter().any(|e| e.insutype == "310") && active.iter().any(|e| e.insutype == "330"));
    // Mappings resolve for a hospital.
    let (fixmedins, local) = s
        .read(|tx| {
            let r = tx.query("SELECT fixmedins_code, medins_list_codg FROM med_map LIMIT 1", params![])?;
            Ok::<_, yibao_store::DbError>((r[0].str(0)?, r[0].str(1)?))
        })
        .expect("mapping");
    assert!(s.read(|tx| cat::mapping_in_force(tx, &fixmedins, &local, today)).expect("map").is_some());
    let bindings = texts(s, "SELECT benef_psn_no FROM mulaid_binding");
    if let Some(benef) = bindings.first() {
        let owners = s.read(|tx| reg::mulaid_owners_of(tx, benef, today)).expect("owners");
        assert!(!owners.is_empty());
    }
    let _ = DateTime::from_date(today);
}

#[test]
fn seeding_twice_is_refused() {
    let (ts, _) = seeded("twice");
    let again = seed_demo(&ts.store, &options());
    assert!(matches!(again, Err(SeedError::AlreadySeeded { persons }) if persons == PERSONS as i64), "{again:?}");
    let count = texts(&ts.store, "SELECT CAST(COUNT(*) AS TEXT) FROM person");
    assert_eq!(count, [PERSONS.to_string()]);
}
