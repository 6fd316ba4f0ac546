use std::collections::BTreeMap;
use yibao_domain::Fen;
use yibao_store::settlement::{self as st, Event, MsgRecord};
use yibao_store::{DbError, Store};
use yibao_store_tests::conformance;

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

    /// A msgid is recorded once; the record reads back whole.
    fn msgid_log_is_single_entry(store: &Store) -> Result<(), DbError> {
        store.write(|tx| st::msg_put(tx, &msg("M1")))?;
        let again = store.write(|tx| st::msg_put(tx, &msg("M1")));
        assert!(matches!(again, Err(DbError::Unique(_))), "{again:?}");
        assert_eq!(store.read(|tx| st::msg_get(tx, "M1"))?, Some(msg("M1")));
        store.write(|tx| st::msg_mark_reversed(tx, "M1"))?;
        assert!(store.read(|tx| st::msg_get(tx, "M1"))?.unwrap().reversed);
        assert_eq!(store.read(|tx| st::msg_get(tx, "nope"))?, None);
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
