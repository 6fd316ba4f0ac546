//! Msgids belong to their sender: the shape the spec gives them (fixmedins_code + time +
//! serial) is enforced, each institution's msgids are its own namespace, and copies of one
//! request delivered at once all get the first copy's answer.

use crate::client::*;
use crate::outpatient::{register_and_upload, settle_input};
use serde_json::json;
use yibao_store::Store;
use yibao_store_tests::conformance;

conformance! {
    /// A msgid that does not begin with the sender's fixmedins_code is refused, naming `msgid`,
    /// and changes nothing.
    fn a_msgid_must_begin_with_the_senders_code(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let other = hospital(store, "110100", "04");
        let psn = person(store, "110100", "310", "11", 0);
        let input = json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": "OP1" } });
        let theirs = format!("{other}{}0001", now().compact());
        for msgid in [theirs.as_str(), "20241122153000000100000000001", h.code.as_str()] {
            let r = h.send("2201", msgid, input.clone());
            assert_eq!(r["infcode"], -2, "{r}");
            assert!(r["err_msg"].as_str().unwrap().starts_with("msgid:"), "{r}");
        }
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM visit", &[]), 0);
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM msg_log", &[]), 0);
        assert_eq!(h.send("2201", &h.msgid(), input)["infcode"], 0);
    }

    /// Another institution's 2601 naming this one's msgids finds nothing of it: it can neither
    /// void a msgid before it arrives nor reverse a settlement made under one.
    fn another_institution_cannot_void_or_reverse_a_msgid(store: &Store) {
        seed(store);
        let a = Hospital::new(store, &hospital(store, "110100", "01"));
        let b = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 50_000);
        // B voids A's next msgid (predictable: code + time + serial) before A sends it.
        let next = a.msgid();
        let void = b.ok("2601", json!({ "data": { "psn_no": psn.0, "omsgid": next, "oinfno": "2201" } }));
        assert!(void["data"]["result"].as_str().unwrap().contains("void"), "{void}");
        let reg = a.send("2201", &next, json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": "OP1" } }));
        assert_eq!(reg["infcode"], 0, "A's request was voided by B: {reg}");

        // A settles; B's 2601 of that msgid reverses nothing.
        let (mdtrt_id, _) = register_and_upload(&a, &psn);
        let pre = a.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
        let settle_msgid = a.msgid();
        assert_eq!(a.send("2207", &settle_msgid, settle_input(&psn.0, &psn.1, &mdtrt_id, &pre))["infcode"], 0);
        let after = balance(store, &psn.0);
        let r = b.send("2601", &b.msgid(), json!({ "data": { "psn_no": psn.0, "omsgid": settle_msgid, "oinfno": "2207" } }));
        assert!(r["infcode"] == 0 && r["output"]["data"]["result"].as_str().unwrap().contains("void"), "{r}");
        assert_eq!(balance(store, &psn.0), after, "B reversed A's settlement");
        let standing = "SELECT COUNT(*) FROM settlement WHERE refd_setl_flag = 0 AND revs_setl_id IS NULL";
        assert_eq!(scalar(store, standing, &[]), 1);
        // A itself still can.
        let undo = a.ok("2601", json!({ "data": { "psn_no": psn.0, "omsgid": settle_msgid, "oinfno": "2207" } }));
        assert_eq!(undo["data"]["result"], "reversed");
        assert_eq!(scalar(store, standing, &[]), 0);
    }

    /// Copies of one 2207 (same msgid, same body) delivered at once, round after round: every
    /// copy gets the first copy's answer, and the visit is settled once.
    fn copies_of_a_settlement_delivered_at_once_all_get_the_first_answer(store: &Store) {
        const COPIES: usize = 4;
        const ROUNDS: usize = 8;
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 100_000);
        let barrier = std::sync::Barrier::new(COPIES);
        let mut bad = Vec::new();
        for round in 0..ROUNDS {
            let (mdtrt_id, _) = register_and_upload(&h, &psn);
            let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
            let env = h.envelope("2207", &h.msgid(), settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
            let answers: Vec<serde_json::Value> = std::thread::scope(|s| {
                let t: Vec<_> = (0..COPIES)
                    .map(|_| {
                        let (h, env, barrier) = (&h, &env, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            h.raw(env)
                        })
                    })
                    .collect();
                t.into_iter().map(|t| t.join().unwrap()).collect()
            });
            let same = answers.iter().all(|a| a["infcode"] == 0 && a["output"] == answers[0]["output"]);
            let settled = scalar(store, "SELECT COUNT(*) FROM settlement WHERE mdtrt_id = $1", &[&mdtrt_id]);
            if !same || settled != 1 {
                bad.push(format!("round {round}: {settled} settlements, answers {answers:?}"));
            }
        }
        assert!(bad.is_empty(), "{} of {ROUNDS} rounds: {bad:#?}", bad.len());
    }

    /// Two 2601s (different msgids) of one omsgid delivered at once, round after round: one
    /// reverses the settlement, the other answers "already reversed" (not an empty reversal).
    fn two_reversals_of_one_msgid_at_once(store: &Store) {
        const ROUNDS: usize = 6;
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 100_000);
        let barrier = std::sync::Barrier::new(2);
        let mut bad = Vec::new();
        for round in 0..ROUNDS {
            let (mdtrt_id, _) = register_and_upload(&h, &psn);
            let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
            let settle_msgid = h.msgid();
            assert_eq!(h.send("2207", &settle_msgid, settle_input(&psn.0, &psn.1, &mdtrt_id, &pre))["infcode"], 0);
            let undo = json!({ "data": { "psn_no": psn.0, "omsgid": settle_msgid, "oinfno": "2207" } });
            let envs = [h.envelope("2601", &h.msgid(), undo.clone()), h.envelope("2601", &h.msgid(), undo)];
            let mut results: Vec<String> = std::thread::scope(|s| {
                let t: Vec<_> = envs
                    .iter()
                    .map(|env| {
                        let (h, barrier) = (&h, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            h.raw(env)
                        })
                    })
                    .collect();
                t.into_iter().map(|t| t.join().unwrap()["output"]["data"]["result"].as_str().unwrap_or("?").to_owned()).collect()
            });
            results.sort();
            if results != ["already reversed", "reversed"] {
                bad.push(format!("round {round}: {results:?}"));
            }
        }
        assert!(bad.is_empty(), "{} of {ROUNDS} rounds: {bad:#?}", bad.len());
    }
}
