//! Basic information: persons, enrollments as of a date, the personal-account ledger, mutual aid.

use yibao_domain::registry::{
    Contribution, Employer, Enrollment, EntryKind, Institution, MulaidBinding, Person, PersonIdet, Region,
};
use yibao_domain::{Date, DateTime, Fen};
use yibao_store::registry::{self as reg, RegistryError};
use yibao_store::Store;
use yibao_store_tests::conformance;

fn d(s: &str) -> Date {
    Date::parse(s).expect("test date")
}

fn t0() -> DateTime {
    DateTime::parse("2024-03-01 08:00:00").expect("test time")
}

fn person(psn_no: &str, certno: &str) -> Person {
    yibao_store_tests::sample_person(psn_no, certno)
}

const CERT_A: &str = "11010519491231002X";
const CERT_B: &str = "110105194912310038";

fn add_person(store: &Store, psn_no: &str, certno: &str) {
    store.write(|tx| reg::insert_person(tx, &person(psn_no, certno), t0())).expect("insert person");
}

fn enrollment(insutype: &str, beg: &str, end: Option<&str>) -> Enrollment {
    Enrollment {
        psn_no: "P1".into(),
        insutype: insutype.into(),
        begndate: d(beg),
        enddate: end.map(d),
        paus_date: None,
        psn_type: "1101".into(),
        psn_insu_stas: "1".into(),
        insuplc_admdvs: "110100".into(),
        emp_no: None,
        cvlserv_flag: false,
    }
}

fn types_on(store: &Store, date: &str) -> Vec<String> {
    store
        .read(|tx| reg::enrollments_as_of(tx, "P1", d(date)))
        .expect("enrollments")
        .into_iter()
        .map(|e| e.insutype)
        .collect()
}

fn credit(store: &Store, psn_no: &str, yuan: i64) -> Result<yibao_domain::registry::AccountEntry, RegistryError> {
    store.write(|tx| reg::append_account_entry(tx, psn_no, "110100", Fen::yuan(yuan), EntryKind::Credit, None, t0()))
}

fn balance(store: &Store, psn_no: &str) -> Fen {
    store.read(|tx| reg::account_balance(tx, psn_no)).expect("balance")
}

conformance! {
    fn enrollment_as_of_dates(store: &Store) -> Result<(), RegistryError> {
        add_person(store, "P1", CERT_A);
        let mut paused = enrollment("330", "2024-01-01", None);
        paused.psn_insu_stas = "2".into();
        paused.paus_date = Some(d("2024-06-01"));
        let mut old = enrollment("390", "2020-01-01", None);
        old.psn_insu_stas = "4".into();
        old.enddate = Some(d("2024-01-01"));
        store.write(|tx| {
            reg::insert_enrollment(tx, &enrollment("310", "2024-01-01", Some("2025-01-01")), t0())?;
            reg::insert_enrollment(tx, &paused, t0())?;
            reg::insert_enrollment(tx, &old, t0())
        })?;
        assert_eq!(types_on(store, "2023-12-31"), ["390"]);
        assert_eq!(types_on(store, "2024-01-01"), ["310", "330"]);
        assert_eq!(types_on(store, "2024-05-31"), ["310", "330"]);
        assert_eq!(types_on(store, "2024-06-01"), ["310"]);
        assert_eq!(types_on(store, "2024-12-31"), ["310"]);
        assert!(types_on(store, "2025-01-01").is_empty());
        let one = store.read(|tx| reg::enrollment_as_of(tx, "P1", "310", d("2024-02-02")))?;
        assert_eq!(one.map(|e| e.begndate), Some(d("2024-01-01")));
        let dup = store.write(|tx| reg::insert_enrollment(tx, &enrollment("310", "2024-01-01", None), t0()));
        assert!(matches!(dup, Err(RegistryError::Duplicate(_))), "{dup:?}");
        // Ending a period on retirement; the next period starts the same day.
        store.write(|tx| {
            reg::end_enrollment(tx, "P1", "310", d("2024-01-01"), d("2024-07-01"), t0())?;
            let mut retired = enrollment("310", "2024-07-01", None);
            retired.psn_type = "1201".into();
            reg::insert_enrollment(tx, &retired, t0())
        })?;
        let now = store.read(|tx| reg::enrollment_as_of(tx, "P1", "310", d("2024-08-01")))?;
        assert_eq!(now.map(|e| e.psn_type).as_deref(), Some("1201"));
        assert_eq!(store.read(|tx| reg::enrollments_of(tx, "P1"))?.len(), 4);
        Ok(())
    }

    fn person_lookup_and_unique_certificate(store: &Store) -> Result<(), RegistryError> {
        add_person(store, "P1", CERT_A);
        let found = store.read(|tx| reg::person_by_cert(tx, "01", CERT_A))?;
        assert_eq!(found, Some(person("P1", CERT_A)));
        assert_eq!(store.read(|tx| reg::person_by_psn_no(tx, "P1"))?, Some(person("P1", CERT_A)));
        assert_eq!(store.read(|tx| reg::person_by_cert(tx, "01", CERT_B))?, None);

        // Same certificate under another psn_no: refused, with the certificate masked.
        let e = store.write(|tx| reg::insert_person(tx, &person("P2", CERT_A), t0())).unwrap_err();
        let RegistryError::Duplicate(msg) = &e else { panic!("{e:?}") };
        assert!(msg.contains("110105********002X") && msg.contains("P1") && !msg.contains(CERT_A), "{msg}");
        let e = store.write(|tx| reg::upsert_person(tx, &person("P2", CERT_A), t0())).unwrap_err();
        assert!(matches!(e, RegistryError::Duplicate(_)), "{e:?}");
        let e = store.write(|tx| reg::insert_person(tx, &person("P1", CERT_B), t0())).unwrap_err();
        assert_eq!(e, RegistryError::Duplicate("person P1".into()));
        assert_eq!(store.read(|tx| reg::person_by_psn_no(tx, "P2"))?, None);
        assert_eq!(store.read(reg::count_persons)?, 1);

        // An upsert under the same psn_no updates the record.
        let mut renamed = person("P1", CERT_A);
        renamed.psn_name = "张伟伟".into();
        store.write(|tx| reg::upsert_person(tx, &renamed, t0()))?;
        assert_eq!(store.read(|tx| reg::person_by_psn_no(tx, "P1"))?, Some(renamed));
        Ok(())
    }

    fn identities_as_of(store: &Store) -> Result<(), RegistryError> {
        add_person(store, "P1", CERT_A);
        let idet = PersonIdet {
            psn_idet_type: "MA2".into(),
            psn_type_lv: None,
            begndate: d("2024-01-01"),
            enddate: Some(d("2025-01-01")),
            memo: Some("低保".into()),
        };
        store.write(|tx| reg::insert_person_idet(tx, "P1", &idet))?;
        assert_eq!(store.read(|tx| reg::person_idets_as_of(tx, "P1", d("2024-06-01")))?, std::slice::from_ref(&idet));
        assert!(store.read(|tx| reg::person_idets_as_of(tx, "P1", d("2025-01-01")))?.is_empty());
        let e = store.write(|tx| reg::insert_person_idet(tx, "NOBODY", &idet)).unwrap_err();
        assert_eq!(e, RegistryError::NotFound("person NOBODY".into()));
        let e = store.write(|tx| reg::insert_person_idet(tx, "P1", &idet)).unwrap_err();
        assert!(matches!(e, RegistryError::Duplicate(_)), "{e:?}");
        Ok(())
    }

    fn regions_employers_institutions(store: &Store) -> Result<(), RegistryError> {
        let region = Region {
            admdvs: "320400".into(),
            name: "常州市".into(),
            prov_admdvs: "320000".into(),
            lv: "city".into(),
            pool_flag: true,
        };
        let emp = Employer {
            emp_no: "E1".into(),
            uscc: "91350100M000100Y43".into(),
            emp_name: "某公司".into(),
            admdvs: "320400".into(),
        };
        let mut inst = Institution {
            fixmedins_code: "H32040000001".into(),
            fixmedins_name: "常州市第一人民医院".into(),
            fixmedins_type: "1".into(),
            hosp_lv: "01".into(),
            admdvs: "320400".into(),
            uscc: None,
            remote_flag: true,
            agre_begn: d("2020-01-01"),
            agre_end: None,
        };
        store.write(|tx| {
            reg::upsert_region(tx, &region, t0())?;
            reg::upsert_employer(tx, &emp, t0())?;
            reg::upsert_institution(tx, &inst, t0())
        })?;
        assert_eq!(store.read(|tx| reg::region(tx, "320400"))?, Some(region.clone()));
        assert_eq!(store.read(reg::regions)?, [region]);
        assert_eq!(store.read(|tx| reg::employer(tx, "E1"))?, Some(emp.clone()));
        assert_eq!(store.read(|tx| reg::institution(tx, "H32040000001"))?, Some(inst.clone()));
        assert_eq!(store.read(|tx| reg::institutions_after(tx, "", 10))?.len(), 1);

        let other = Employer { emp_no: "E2".into(), ..emp };
        let e = store.write(|tx| reg::upsert_employer(tx, &other, t0())).unwrap_err();
        assert!(matches!(e, RegistryError::Duplicate(_)), "{e:?}");
        inst.hosp_lv = "99".into();
        let e = store.write(|tx| reg::upsert_institution(tx, &inst, t0())).unwrap_err();
        assert_eq!(e, RegistryError::Invalid { field: "hosp_lv", value: "99".into() });
        Ok(())
    }

    fn ledger_balance_and_refusal(store: &Store) -> Result<(), RegistryError> {
        add_person(store, "P1", CERT_A);
        assert_eq!(balance(store, "P1"), Fen::ZERO);
        credit(store, "P1", 100)?;
        let e2 = credit(store, "P1", -30)?;
        assert_eq!((e2.seq, e2.balance_after, e2.amount), (2, Fen::yuan(70), Fen::yuan(-30)));
        assert_eq!(balance(store, "P1"), Fen::yuan(70));

        // Refused: nothing is written, the balance is unchanged.
        let e = credit(store, "P1", -71).unwrap_err();
        assert_eq!(
            e,
            RegistryError::InsufficientBalance { psn_no: "P1".into(), balance: Fen::yuan(70), amount: Fen::yuan(71) }
        );
        let entries = store.read(|tx| reg::account_entries(tx, "P1", 10))?;
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(balance(store, "P1"), Fen::yuan(70));

        // A contribution credits the account in the same transaction.
        let c = Contribution {
            id: 42,
            psn_no: "P1".into(),
            insutype: "310".into(),
            admdvs: "110100".into(),
            period_ym: "202403".into(),
            emp_amt: Fen::yuan(900),
            psn_amt: Fen::yuan(200),
            acct_amt: Fen::yuan(200),
            rcv_date: d("2024-03-15"),
        };
        let entry = store.write(|tx| reg::record_contribution(tx, &c, t0()))?.expect("credited");
        assert_eq!((entry.seq, entry.kind, entry.ref_id.as_deref()), (3, EntryKind::Credit, Some("42")));
        assert_eq!(balance(store, "P1"), Fen::yuan(270));
        let again = Contribution { id: 43, ..c };
        let e = store.write(|tx| reg::record_contribution(tx, &again, t0())).unwrap_err();
        assert!(matches!(e, RegistryError::Duplicate(_)), "{e:?}");
        assert_eq!(balance(store, "P1"), Fen::yuan(270));

        let e = credit(store, "NOBODY", 1).unwrap_err();
        assert_eq!(e, RegistryError::NotFound("person NOBODY".into()));
        Ok(())
    }

    fn concurrent_appends_serialize(store: &Store) -> Result<(), RegistryError> {
        add_person(store, "P1", CERT_A);
        const THREADS: usize = 4;
        const EACH: usize = 25;
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..EACH {
                        credit(store, "P1", 1).expect("concurrent credit");
                    }
                });
            }
        });
        assert_eq!(balance(store, "P1"), Fen::yuan((THREADS * EACH) as i64));
        let entries = store.read(|tx| reg::account_entries(tx, "P1", 1000))?;
        let seqs: Vec<i64> = entries.iter().rev().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=(THREADS * EACH) as i64).collect::<Vec<_>>());

        // 100 yuan, 8 threads each trying to take 20 one-yuan debits: exactly 100 succeed.
        let paid = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..20 {
                        match credit(store, "P1", -1) {
                            Ok(_) => { paid.fetch_add(1, std::sync::atomic::Ordering::Relaxed); }
                            Err(RegistryError::InsufficientBalance { .. }) => {}
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                });
            }
        });
        assert_eq!(paid.into_inner(), 100);
        assert_eq!(balance(store, "P1"), Fen::ZERO);
        Ok(())
    }

    fn mutual_aid_owners(store: &Store) -> Result<(), RegistryError> {
        add_person(store, "OWNER1", CERT_A);
        add_person(store, "OWNER2", CERT_B);
        add_person(store, "CHILD", "110105201001010010");
        let bind = |owner: &str, beg: &str, end: Option<&str>| MulaidBinding {
            owner_psn_no: owner.into(),
            benef_psn_no: "CHILD".into(),
            relation: "child".into(),
            begndate: d(beg),
            enddate: end.map(d),
        };
        store.write(|tx| {
            reg::bind_mulaid(tx, &bind("OWNER2", "2024-01-01", None))?;
            reg::bind_mulaid(tx, &bind("OWNER1", "2024-01-01", Some("2024-07-01")))
        })?;
        let owners = |date: &str| -> Vec<String> {
            store
                .read(|tx| reg::mulaid_owners_of(tx, "CHILD", d(date)))
                .expect("owners")
                .into_iter()
                .map(|b| b.owner_psn_no)
                .collect()
        };
        assert_eq!(owners("2024-03-01"), ["OWNER1", "OWNER2"]);
        assert_eq!(owners("2024-07-01"), ["OWNER2"]);
        assert!(owners("2023-12-31").is_empty());
        let e = store.write(|tx| reg::bind_mulaid(tx, &bind("NOBODY", "2024-01-01", None))).unwrap_err();
        assert_eq!(e, RegistryError::NotFound("person NOBODY".into()));
        let e = store.write(|tx| reg::bind_mulaid(tx, &bind("OWNER2", "2024-01-01", None))).unwrap_err();
        assert!(matches!(e, RegistryError::Duplicate(_)), "{e:?}");
        Ok(())
    }
}
