use std::collections::BTreeMap;
use std::sync::Arc;
use yibao_domain::Fen;
use yibao_store::settlement::{self as st, Event, MsgRecord};
use yibao_store::{DbError, Store};
use yibao_store_postgres::PgBackend;
use yibao_store_sqlite::SqliteBackend;
use yibao_store_tests::{conformance, Engine, TestStore};

fn msg(id: &str) -> MsgRecord {
    MsgRecord {
        msgid: id.into(),
        fixmedins_code: "H11010000001".into(),
        infno: "2207".into(),
        req_digest: "abc".into(),
        psn_no: Some("P1".into()),
        ref_id: Some("S1".into()),
        response: "{\"setlinfo\":{}}".into(),
        created: 1,
        reversed: false,
    }
}

fn visit(id: &str, fixmedins_code: &str, stas: &str, begntime: i64) -> st::Visit {
    st::Visit {
        mdtrt_id: id.into(),
        psn_no: "P1".into(),
        insutype: "310".into(),
        fixmedins_code: fixmedins_code.into(),
        admdvs: "110100".into(),
        insuplc_admdvs: "110100".into(),
        med_type: "11".into(),
        ipt_otp_no: id.into(),
        begntime,
        endtime: None,
        stas: stas.into(),
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: Some("11010519491231002X".into()),
        dise_codg: None,
        dise_name: None,
        adm_seq: None,
        info: "{}".into(),
        updt_time: begntime,
    }
}

conformance! {
    /// An institution's current visits of a person: open or discharged at any age, others only
    /// since the given time, cancelled never, and another institution's or person's not at all.
    fn current_visits_of_an_institution(store: &Store) -> Result<(), DbError> {
        let (h, other) = ("H11010000001", "H11010000002");
        let current = |since: i64| store.read(|tx| st::has_current_visit(tx, "P1", h, since));
        assert!(!current(0)?, "no visit yet");
        store.write(|tx| st::insert_visit(tx, &visit("V1", other, st::visit_stas::OPEN, 100)))?;
        store.write(|tx| st::insert_visit(tx, &visit("V2", h, st::visit_stas::CANCELLED, 500)))?;
        assert!(!current(0)?, "another institution's visit, a cancelled one");
        assert!(!store.read(|tx| st::has_current_visit(tx, "P2", other, 0))?, "another person");
        store.write(|tx| st::insert_visit(tx, &visit("V3", h, st::visit_stas::SETTLED, 200)))?;
        assert!(current(200)? && !current(201)?, "a settled visit counts while recent");
        store.write(|tx| st::insert_visit(tx, &visit("V4", h, st::visit_stas::DISCHARGED, 50)))?;
        assert!(current(10_000)?, "a discharged stay counts until it is settled");
        Ok(())
    }

    /// Accumulator deltas add up, and their negation restores zero.
    fn accumulators_add_and_reverse(store: &Store) -> Result<(), DbError> {
        let d = BTreeMap::from([("I.inpatient".to_owned(), Fen(12_345)), ("ADM".to_owned(), Fen(1))]);
        store.write(|tx| st::apply_deltas(tx, "P1", "310", 2026, "110100", &d))?;
        store.write(|tx| st::apply_deltas(tx, "P1", "310", 2026, "110100", &d))?;
        let got = store.read(|tx| st::accumulators(tx, "P1", "310", 2026))?;
        assert_eq!(got["I.inpatient"], Fen(24_690));
        assert_eq!(got["ADM"], Fen(2));
        assert!(store.read(|tx| st::accumulators(tx, "P1", "310", 2025))?.is_empty(), "years are separate");
        let neg: BTreeMap<String, Fen> = d.iter().map(|(k, v)| (k.clone(), -*v)).collect();
        store.write(|tx| st::apply_deltas(tx, "P1", "310", 2026, "110100", &neg))?;
        let got = store.read(|tx| st::accumulators(tx, "P1", "310", 2026))?;
        assert_eq!(got["I.inpatient"], Fen(12_345));
        Ok(())
    }

    /// A msgid is recorded once per institution and reads back whole; another institution's log
    /// is another namespace, which neither finds nor marks the first's record.
    fn msgid_log_is_single_entry_per_institution(store: &Store) -> Result<(), DbError> {
        const A: &str = "H11010000001";
        const B: &str = "H11010000002";
        store.write(|tx| st::msg_put(tx, &msg("M1")))?;
        let again = store.write(|tx| st::msg_put(tx, &msg("M1")));
        assert!(matches!(again, Err(DbError::Unique(_))), "{again:?}");
        assert_eq!(store.read(|tx| st::msg_get(tx, A, "M1"))?, Some(msg("M1")));
        assert_eq!(store.read(|tx| st::msg_get(tx, B, "M1"))?, None);
        let theirs = MsgRecord { fixmedins_code: B.into(), infno: "2601".into(), ..msg("M1") };
        store.write(|tx| st::msg_put(tx, &theirs))?;
        store.write(|tx| st::msg_mark_reversed(tx, B, "M1"))?;
        assert!(store.read(|tx| st::msg_get(tx, B, "M1"))?.unwrap().reversed);
        assert_eq!(store.read(|tx| st::msg_get(tx, A, "M1"))?, Some(msg("M1")), "A's record is untouched");
        assert_eq!(store.read(|tx| st::msg_get(tx, A, "nope"))?, None);
        Ok(())
    }

    /// A claimed msgid holds its record once completed; a later claim finds it; a claim whose
    /// transaction rolls back leaves nothing.
    fn msgid_claim_then_complete(store: &Store) -> Result<(), DbError> {
        let m = msg("M2");
        let first = store.write(|tx| {
            let c = st::msg_claim(tx, &m)?;
            st::msg_complete(tx, &m)?;
            Ok::<_, DbError>(c)
        })?;
        assert_eq!(first, None);
        assert_eq!(store.read(|tx| st::msg_get(tx, &m.fixmedins_code, "M2"))?, Some(m.clone()));
        assert_eq!(store.write(|tx| st::msg_claim(tx, &m))?, Some(m.clone()));
        let failed: Result<(), DbError> = store.write(|tx| {
            assert_eq!(st::msg_claim(tx, &msg("M3"))?, None);
            Err(DbError::Other("the work failed".into()))
        });
        assert!(failed.is_err());
        assert_eq!(store.read(|tx| st::msg_get(tx, &m.fixmedins_code, "M3"))?, None);
        assert_eq!(store.write(|tx| st::msg_claim(tx, &msg("M3")))?, None, "the rolled-back claim left no place taken");
        Ok(())
    }

    /// Copies of one msgid claimed at once on real threads: one does the work, each other one
    /// waits for it and finds its record (never nothing, never a failure).
    fn concurrent_claims_of_one_msgid_wait_for_the_first(store: &Store) {
        const COPIES: usize = 4;
        let barrier = std::sync::Barrier::new(COPIES);
        let mut bad = 0;
        for round in 0..10 {
            let m = msg(&format!("C{round}"));
            let got: Vec<Result<Option<MsgRecord>, DbError>> = std::thread::scope(|s| {
                let t: Vec<_> = (0..COPIES)
                    .map(|_| {
                        let (barrier, m) = (&barrier, &m);
                        s.spawn(move || {
                            barrier.wait();
                            store.write(|tx| {
                                let prev = st::msg_claim(tx, m)?;
                                if prev.is_none() {
                                    // The work, long enough for the other copies to arrive.
                                    std::thread::sleep(std::time::Duration::from_millis(20));
                                    st::msg_complete(tx, m)?;
                                }
                                Ok::<_, DbError>(prev)
                            })
                        })
                    })
                    .collect();
                t.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let worked = got.iter().filter(|r| matches!(r, Ok(None))).count();
            let replayed = got.iter().filter(|r| matches!(r, Ok(Some(p)) if *p == m)).count();
            if worked != 1 || replayed != COPIES - 1 {
                bad += 1;
                eprintln!("round {round}: {got:?}");
            }
        }
        assert_eq!(bad, 0, "{bad} of 10 rounds: a copy did the work twice or failed");
    }
}

conformance! {
    /// A store made before msgids were scoped by institution (msg_log keyed by msgid alone)
    /// is migrated when it is opened: its records read back whole, sealed answers included, and
    /// two institutions may then hold the same msgid.
    fn msg_log_migrates_to_per_institution_keys(store: &TestStore) -> Result<(), DbError> {
        // Put this database back as it was before 0002.
        store.write(|tx| {
            tx.execute("DROP TABLE msg_log", &[])?;
            tx.execute(
                "CREATE TABLE msg_log (msgid TEXT PRIMARY KEY, fixmedins_code TEXT NOT NULL, infno TEXT NOT NULL, req_digest TEXT NOT NULL, psn_no TEXT, ref_id TEXT, response TEXT NOT NULL, created BIGINT NOT NULL, reversed BIGINT NOT NULL DEFAULT 0)",
                &[],
            )?;
            tx.execute("DELETE FROM schema_migrations WHERE name = '0002_msg_log_by_institution'", &[])
        })?;
        let sealed = MsgRecord { msgid: "OLD2".into(), response: "{\"psn_name\":\"张伟\"}".into(), ..msg("OLD2") };
        store.write(|tx| {
            st::msg_put(tx, &msg("OLD1"))?;
            st::msg_put(tx, &sealed)
        })?;
        let clash = MsgRecord { fixmedins_code: "H11010000002".into(), ..msg("OLD1") };
        assert!(store.write(|tx| st::msg_put(tx, &clash)).is_err(), "before: one namespace");

        let reopened = match store.engine() {
            Engine::Sqlite => Store::new(Arc::new(SqliteBackend::open(store.sqlite_path().unwrap())?)),
            Engine::Postgres => Store::new(Arc::new(PgBackend::open(&store.postgres_url().unwrap())?)),
        };
        let a = "H11010000001";
        assert_eq!(reopened.read(|tx| st::msg_get(tx, a, "OLD1"))?, Some(msg("OLD1")));
        assert_eq!(reopened.read(|tx| st::msg_get(tx, a, "OLD2"))?, Some(sealed.clone()));
        reopened.write(|tx| st::msg_put(tx, &clash))?;
        assert_eq!(reopened.read(|tx| st::msg_get(tx, "H11010000002", "OLD1"))?, Some(clash.clone()));
        assert!(matches!(reopened.write(|tx| st::msg_put(tx, &msg("OLD1"))), Err(DbError::Unique(_))));
        let applied = reopened.read(|tx| {
            tx.query("SELECT name FROM schema_migrations WHERE name = '0002_msg_log_by_institution'", &[])
        })?;
        assert_eq!(applied.len(), 1);
        Ok(())
    }
    /// Followers read the outbox in sequence order, from where they stopped.
    fn outbox_is_read_in_order(store: &Store) -> Result<(), DbError> {
        for seq in [30, 10, 20] {
            store.write(|tx| st::append_event(tx, &Event { seq, admdvs: "110100".into(), event_type: "settlement.settled".into(), aggregate_id: format!("S{seq}"), payload: "{}".into(), created: seq }))?;
        }
        let all: Vec<i64> = store.read(|tx| st::events_after(tx, 0, 10))?.iter().map(|e| e.seq).collect();
        assert_eq!(all, [10, 20, 30]);
        let rest: Vec<i64> = store.read(|tx| st::events_after(tx, 10, 1))?.iter().map(|e| e.seq).collect();
        assert_eq!(rest, [20]);
        Ok(())
    }

    /// Stored files are visible to their owner only.
    fn files_belong_to_their_institution(store: &Store) -> Result<(), DbError> {
        store.write(|tx| st::put_file(tx, "F1", "H11010000001", "a.txt", "内容", 1))?;
        assert_eq!(store.read(|tx| st::get_file(tx, "F1", "H11010000001"))?, Some(("a.txt".into(), "内容".into())));
        assert_eq!(store.read(|tx| st::get_file(tx, "F1", "H11010000002"))?, None);
        Ok(())
    }
}

conformance! {
    /// `$n` means parameter n on both engines, whatever order the placeholders appear in.
    fn placeholders_bind_by_number(store: &Store) -> Result<(), DbError> {
        store.write(|tx| {
            tx.execute("CREATE TABLE ph (id BIGINT PRIMARY KEY, a TEXT, b BIGINT)", &[])?;
            tx.execute("INSERT INTO ph (b, id, a) VALUES ($3, $1, $2)", yibao_store::params![1i64, "one", 100i64])?;
            tx.execute("UPDATE ph SET a = $2, b = $3 WHERE id = $1", yibao_store::params![1i64, "uno", 7i64])
        })?;
        let row = store.read(|tx| tx.query_opt("SELECT a, b FROM ph WHERE id = $1", yibao_store::params![1i64]))?.unwrap();
        assert_eq!((row.str(0)?, row.i64(1)?), ("uno".to_owned(), 7));
        Ok(())
    }
}
