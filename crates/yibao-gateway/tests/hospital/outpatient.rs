use crate::client::*;
use serde_json::json;
use yibao_domain::Fen;
use yibao_store::Store;
use yibao_store_tests::conformance;

/// Registers a Beijing employee at a 三级 hospital and uploads two lines (甲 and 乙).
pub(crate) fn register_and_upload(h: &Hospital, psn: &(String, String)) -> (String, Fen) {
    let (psn_no, certno) = psn;
    h.ok("9001", json!({ "signIn": { "opter_no": "0001", "mac": "00:00", "ip": "127.0.0.1" } }));
    let info =
        h.ok("1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "psn_name": psn_name(h.store, psn_no) } }));
    assert_eq!(info["baseinfo"]["psn_no"], psn_no.as_str());
    let reg = h.ok("2201", json!({ "data": { "psn_no": psn_no, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "ipt_otp_no": h.msgid(), "atddr_no": "D001", "dr_name": "王医生", "dept_code": "01", "dept_name": "内科", "caty": "A03" } }));
    let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    h.ok("2203", json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": "11", "begntime": now().to_string(), "dise_codg": "I10.x00", "dise_name": "高血压" },
                         "diseinfo": [{ "diag_type": "1", "diag_srt_no": "1", "diag_code": "I10.x00", "diag_name": "高血压", "diag_dept": "内科", "dise_dor_no": "D001", "dise_dor_name": "王医生", "diag_time": now().to_string(), "vali_flag": "1" }] }));
    let a = items(h.store, &h.code, "01", 1);
    let b = items(h.store, &h.code, "02", 1);
    let rows = fee_rows(&mdtrt_id, psn_no, "B1", "F", &[(&a[0], "18.50", "2"), (&b[0], "45.20", "1")]);
    let up = h.ok("2204", json!({ "feedetail": rows }));
    let result = up["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    for r in result {
        let parts = fen(&r["fulamt_ownpay_amt"])
            + fen(&r["overlmt_amt"])
            + fen(&r["preselfpay_amt"])
            + fen(&r["inscp_scp_amt"]);
        assert_eq!(parts, fen(&r["det_item_fee_sumamt"]), "{r}");
    }
    assert_eq!(result[0]["chrgitm_lv"], "01");
    assert_eq!(result[1]["chrgitm_lv"], "02");
    (mdtrt_id, Fen(3700 + 4520))
}

pub(crate) fn settle_input(psn_no: &str, certno: &str, mdtrt_id: &str, pre: &serde_json::Value) -> serde_json::Value {
    let s = &pre["setlinfo"];
    json!({ "data": {
        "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": "11", "medfee_sumamt": s["medfee_sumamt"],
        "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310", "invono": "",
        "fulamt_ownpay_amt": s["fulamt_ownpay_amt"], "overlmt_selfpay": s["overlmt_selfpay"], "preselfpay_amt": s["preselfpay_amt"], "inscp_scp_amt": s["inscp_scp_amt"],
    }})
}

/// Pre-settles and settles the visits (of `register_and_upload`) on a thread each, all at once;
/// returns the 2207 envelopes.
fn settle_at_once(h: &Hospital, psn: &(String, String), visits: &[String]) -> Vec<serde_json::Value> {
    std::thread::scope(|s| {
        let handles: Vec<_> = visits
            .iter()
            .map(|m| {
                s.spawn(move || {
                    let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": m, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
                    h.send("2207", &h.msgid(), settle_input(&psn.0, &psn.1, m, &pre))
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

conformance! {
    /// register → upload → pre-settle → settle (→ retry) → reverse, and every balance after it.
    fn outpatient_visit_settles_retries_and_reverses(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let (psn_no, certno) = (&psn.0, &psn.1);
        let before_balance = balance(store, psn_no);
        let before_cum = accumulators(store, psn_no);
        let (mdtrt_id, total) = register_and_upload(&h, &psn);

        let pre = h.ok("2206", json!({ "data": { "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }));
        check_setlinfo(&pre["setlinfo"]);
        assert!(pre["setlinfo"]["setl_id"].is_null());
        let line_preself = scalar(store, "SELECT CAST(SUM(preselfpay_amt) AS BIGINT) FROM fee_line", &[]);
        assert!(line_preself > 0, "the 乙类 line has a self-pay-first share");
        assert_eq!(fen(&pre["setlinfo"]["preselfpay_amt"]), Fen(line_preself), "visit totals are the sum of the lines");
        // Pre-settlement writes nothing.
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM settlement", &[]), 0);

        let msgid = h.msgid();
        let input = settle_input(psn_no, certno, &mdtrt_id, &pre);
        let first = h.send("2207", &msgid, input.clone());
        assert_eq!(first["infcode"], 0, "{first}");
        let s = &first["output"]["setlinfo"];
        check_setlinfo(s);
        for k in ["medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "hifp_pay", "act_pay_dedc"] {
            assert_eq!(s[k], pre["setlinfo"][k], "pre-settle and settle differ in {k}");
        }
        assert_eq!(s["medins_setl_id"], msgid.as_str());
        let setl_id = s["setl_id"].as_str().unwrap().to_owned();
        let acct = fen(&s["acct_pay"]);
        assert!(acct.0 > 0, "the account pays the outpatient share");
        assert_eq!(balance(store, psn_no), before_balance - acct);

        // The same msgid again: the first answer, nothing written twice.
        let again = h.send("2207", &msgid, input.clone());
        assert_eq!(again["output"], first["output"]);
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM settlement", &[]), 1);
        assert_eq!(balance(store, psn_no), before_balance - acct);
        // Settling again under a new msgid finds nothing left to settle.
        assert!(h.fails("2207", input).contains("no unsettled fee details"));

        let rev = h.ok("2208", json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no } }));
        check_setlinfo(&rev["setlinfo"]);
        assert_eq!(fen(&rev["setlinfo"]["medfee_sumamt"]), -total);
        assert_eq!(balance(store, psn_no), before_balance, "reversal restores the account");
        assert_eq!(accumulators(store, psn_no), before_cum, "reversal restores the accumulators");
        assert!(h.fails("2208", json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no } })).contains("already reversed"));

        let q = h.ok("5203", json!({ "data": { "psn_no": psn_no, "mdtrt_id": mdtrt_id } }));
        assert_eq!(q["setlinfos"].as_array().unwrap().len(), 2);
        let events: Vec<String> = store.read(|tx| tx.query("SELECT event_type FROM outbox ORDER BY seq", &[])).unwrap().iter().map(|r| r.str(0).unwrap()).collect();
        assert_eq!(events, ["visit.registered", "fees.uploaded", "settlement.settled", "settlement.reversed"]);
    }

    /// 2601 of a settlement undoes it; 2601 of the reversal makes the settlement stand again.
    fn reversal_by_msgid_and_its_undoing(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let before = balance(store, &psn.0);
        let (mdtrt_id, _) = register_and_upload(&h, &psn);
        // A pre-settlement quoting the wrong total is refused with the right one.
        let wrong = h.fails("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "45.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
        assert!(wrong.contains("medfee_sumamt: 45.20 does not match the uploaded fee details (82.20)"), "{wrong}");
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
        let settle_msgid = h.msgid();
        let r = h.send("2207", &settle_msgid, settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
        assert_eq!(r["infcode"], 0, "{r}");
        assert!(balance(store, &psn.0) < before);
        let undo_msgid = h.msgid();
        let undo = h.send("2601", &undo_msgid, json!({ "data": { "psn_no": psn.0, "omsgid": settle_msgid, "oinfno": "2207" } }));
        assert_eq!(undo["infcode"], 0, "{undo}");
        assert_eq!(balance(store, &psn.0), before);
        // Asking twice is harmless.
        let twice = h.ok("2601", json!({ "data": { "psn_no": psn.0, "omsgid": settle_msgid, "oinfno": "2207" } }));
        assert_eq!(twice["data"]["result"], "already reversed");
        let active = scalar(store, "SELECT COUNT(*) FROM settlement WHERE refd_setl_flag = 0 AND revs_setl_id IS NULL", &[]);
        assert_eq!(active, 0);
    }

    /// A 2208 undone by 2601 reinstates the settlement with its original amounts.
    fn reversal_of_a_cancellation_reinstates(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let (mdtrt_id, _) = register_and_upload(&h, &psn);
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
        let settled = h.ok("2207", settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
        let after_settle = balance(store, &psn.0);
        let cum = accumulators(store, &psn.0);
        let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap();
        let cancel_msgid = h.msgid();
        let c = h.send("2208", &cancel_msgid, json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn.0 } }));
        assert_eq!(c["infcode"], 0, "{c}");
        let back = h.ok("2601", json!({ "data": { "psn_no": psn.0, "omsgid": cancel_msgid, "oinfno": "2208" } }));
        assert_eq!(back["data"]["result"], "reversed");
        assert_eq!(fen(&back["reversal"]["setlinfo"]["medfee_sumamt"]), Fen(8220));
        assert_eq!(balance(store, &psn.0), after_settle);
        assert_eq!(accumulators(store, &psn.0), cum);
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM settlement WHERE refd_setl_flag = 0 AND revs_setl_id IS NULL", &[]), 1);
    }

    /// A msgid reversed before it arrived is void: the late original is refused.
    fn late_original_after_its_reversal_is_refused(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let lost = h.msgid();
        let r = h.ok("2601", json!({ "data": { "psn_no": psn.0, "omsgid": lost, "oinfno": "2201" } }));
        assert!(r["data"]["result"].as_str().unwrap().contains("void"));
        let late = h.send("2201", &lost, json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": "X1" } }));
        assert_eq!(late["infcode"], -2);
        assert!(late["err_msg"].as_str().unwrap().contains("reversed (2601) before it arrived"), "{late}");
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM visit", &[]), 0);
    }

    /// Uploads of the same serial numbers racing for one visit (each classified on its own
    /// snapshot before the write): exactly one lands, the others are refused, and the visit
    /// holds that upload's lines once.
    fn racing_uploads_of_the_same_lines_land_once(store: &Store) {
        seed(store);
        let code = hospital(store, "110100", "01");
        let psn = person(store, "110100", "310", "11", 0);
        let h = Hospital::new(store, &code);
        let (mdtrt_id, _) = register_and_upload(&h, &psn);
        let a = items(store, &code, "01", 1);
        let rows = fee_rows(&mdtrt_id, &psn.0, "B2", "R", &[(&a[0], "3.00", "1"), (&a[0], "4.00", "2")]);
        let answers: Vec<serde_json::Value> = std::thread::scope(|s| {
            let sends: Vec<_> = (0..6)
                .map(|_| {
                    let (h, rows) = (&h, &rows);
                    s.spawn(move || h.send("2204", &h.msgid(), json!({ "feedetail": rows })))
                })
                .collect();
            sends.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(answers.iter().filter(|r| r["infcode"] == 0).count(), 1, "{answers:?}");
        for r in answers.iter().filter(|r| r["infcode"] != 0) {
            assert!(r["err_msg"].as_str().unwrap_or_default().contains("was already uploaded"), "{r}");
        }
        let stored = "SELECT COUNT(*) FROM fee_line WHERE mdtrt_id = $1 AND chrg_bchno = 'B2'";
        assert_eq!(scalar(store, stored, &[&mdtrt_id]), 2);
    }

    /// Settlements of one person racing for an account that cannot pay them all: each must
    /// compute from the balance the one before left (on PostgreSQL a settlement holds the person
    /// while it computes), so all of them settle and together they pay exactly the balance.
    fn concurrent_settlements_share_a_small_account(store: &Store) {
        seed(store);
        let code = hospital(store, "110100", "01");
        let psn = person(store, "110100", "310", "11", 20_000);
        // Leave 150.00 yuan in the account: six visits of 82.20 want 493.20 from it.
        let left = Fen(15_000);
        let drain = balance(store, &psn.0) - left;
        store
            .write(|tx| {
                let kind = yibao_domain::registry::EntryKind::Settle;
                yibao_store::registry::append_account_entry(tx, &psn.0, "110100", -drain, kind, Some("drain"), now())
            })
            .unwrap();
        let h = Hospital::new(store, &code);
        let visits: Vec<String> = (0..6).map(|_| register_and_upload(&h, &psn).0).collect();
        let answers = settle_at_once(&h, &psn, &visits);
        for a in &answers {
            assert_eq!(a["infcode"], 0, "a settlement was refused: {a}");
        }
        let paid: Fen = answers.iter().map(|a| fen(&a["output"]["setlinfo"]["acct_pay"])).sum();
        assert_eq!(paid, left, "the account paid {paid} of {left}");
        assert_eq!(balance(store, &psn.0), Fen::ZERO);
    }

    /// Many settlements of one person at once: every account debit lands exactly once.
    fn concurrent_settlements_of_one_person_serialize(store: &Store) {
        seed(store);
        let code = hospital(store, "110100", "01");
        let psn = person(store, "110100", "310", "11", 100_000);
        let before = balance(store, &psn.0);
        let h = Hospital::new(store, &code);
        let visits: Vec<String> = (0..6).map(|_| register_and_upload(&h, &psn).0).collect();
        let paid: Vec<Fen> = settle_at_once(&h, &psn, &visits)
            .iter()
            .map(|a| {
                assert_eq!(a["infcode"], 0, "{a}");
                fen(&a["output"]["setlinfo"]["acct_pay"])
            })
            .collect();
        let total: Fen = paid.iter().copied().sum();
        assert_eq!(balance(store, &psn.0), before - total);
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM settlement", &[]), 6);
        let ledger = scalar(store, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM acct_entry WHERE psn_no = $1 AND kind = 'settle'", &[&psn.0]);
        assert_eq!(Fen(-ledger), total);
    }
}
