use yibao_domain::policy::Policy;
use yibao_domain::Date;
use yibao_store::policy::{policy_in_force, put_policy, versions, PolicyStoreError};
use yibao_store::Store;
use yibao_store_tests::conformance;

fn suzhou() -> Policy {
    Policy::from_json(include_str!("../../../../policies/suzhou-390.json")).unwrap()
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

conformance! {
    /// Versions are looked up by date and must tile time; a refused version writes nothing.
    fn policy_versions_by_date(store: &Store) {
        let mut v1 = suzhou();
        v1.enddate = Some(d("2025-01-01"));
        store.write(|tx| put_policy(tx, &v1, 1)).unwrap();
        let mut v2 = suzhou();
        v2.ver = "SZ-390-2025.1".into();
        v2.begndate = d("2025-01-01");
        store.write(|tx| put_policy(tx, &v2, 2)).unwrap();
        let on = |day: &str| store.read(|tx| policy_in_force(tx, "320500", "390", d(day))).map(|p| p.ver);
        assert_eq!(on("2024-12-31").unwrap(), "SZ-390-2024.1");
        assert_eq!(on("2025-01-01").unwrap(), "SZ-390-2025.1");
        assert!(matches!(on("2023-06-01"), Err(PolicyStoreError::NotInForce { .. })));

        // A version beginning before the open-ended one ends overlaps it.
        let mut bad = suzhou();
        bad.ver = "overlap".into();
        bad.begndate = d("2024-06-01");
        bad.enddate = Some(d("2025-03-01"));
        let err = store.write(|tx| put_policy(tx, &bad, 3)).unwrap_err().to_string();
        assert!(err.contains("overlaps"), "{err}");
        assert_eq!(store.read(|tx| versions(tx, "320500", "390")).unwrap().len(), 2);
    }
}

conformance! {
    /// Two loads of open-ended versions at once (each alone tiles time, together they overlap):
    /// exactly one lands, round after round, on real concurrent threads.
    fn concurrent_open_ended_loads_do_not_both_land(store: &Store) {
        let (mut a, mut b) = (suzhou(), suzhou());
        a.enddate = None;
        b.ver = "SZ-390-2025.1".into();
        b.begndate = d("2025-01-01");
        b.enddate = None;
        let barrier = std::sync::Barrier::new(2);
        let mut overlapping = 0;
        for round in 0..40 {
            store.write(|tx| tx.execute("DELETE FROM policy WHERE admdvs = '320500' AND insutype = '390'", &[])).unwrap();
            let landed = std::thread::scope(|s| {
                let t: Vec<_> = [&a, &b]
                    .into_iter()
                    .map(|p| {
                        let barrier = &barrier;
                        s.spawn(move || {
                            barrier.wait();
                            store.write(|tx| put_policy(tx, p, round)).is_ok()
                        })
                    })
                    .collect();
                t.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count()
            });
            let stored = store.read(|tx| versions(tx, "320500", "390")).unwrap();
            assert_eq!(stored.len(), landed, "round {round}: what was acknowledged is what is stored");
            if landed != 1 {
                overlapping += 1;
            }
        }
        assert_eq!(overlapping, 0, "{overlapping} of 40 rounds stored two open-ended versions");
    }
}
