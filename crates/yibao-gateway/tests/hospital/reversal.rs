//! A reversal's answer is its settlement's answer negated, and it refunds every account the
//! settlement drew on, a relative's family account (家庭共济) included; undoing it by 2601 draws
//! on them again.

use crate::client::*;
use crate::outpatient::{register_and_upload, settle_input};
use serde_json::{json, Value};
use yibao_domain::registry::{EntryKind, MulaidBinding};
use yibao_domain::{Date, Fen};
use yibao_store::registry::{account_balance, append_account_entry, bind_mulaid};
use yibao_store::Store;
use yibao_store_tests::conformance;

/// The setlinfo keys that carry amounts: a reversal negates them.
const AMOUNTS: [&str; 20] = [
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "hifdm_pay",
];

/// `rev` is `orig` with every amount negated (the same JSON type), its own ids and time, and
/// every other key as it was.
fn assert_mirror(orig: &Value, rev: &Value) {
    let (o, r) = (orig["setlinfo"].as_object().unwrap(), rev["setlinfo"].as_object().unwrap());
    assert_eq!(o.keys().collect::<Vec<_>>(), r.keys().collect::<Vec<_>>(), "the same keys in the same order");
    for (k, v) in o {
        let w = &r[k];
        match k.as_str() {
            "setl_id" | "medins_setl_id" => assert_ne!(v, w, "{k}"),
            // The reversal's own time (within the same second here) and balance after it.
            "setl_time" => assert!(w.is_string(), "{k}"),
            "balc" => assert!(w.is_number(), "{k}"),
            _ if AMOUNTS.contains(&k.as_str()) => {
                assert_eq!(fen(w), -fen(v), "{k}");
                assert_eq!((v.is_number(), v.is_string()), (w.is_number(), w.is_string()), "{k}");
            }
            _ => assert_eq!(v, w, "{k}"),
        }
    }
    let (od, rd) = (orig["setldetail"].as_array().unwrap(), rev["setldetail"].as_array().unwrap());
    assert_eq!(od.len(), rd.len());
    for (a, b) in od.iter().zip(rd) {
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, v) in a {
            if matches!(k.as_str(), "fund_payamt" | "inscp_scp_amt") {
                assert_eq!(fen(&b[k]), -fen(v), "setldetail.{k}");
                assert_eq!(v.is_number(), b[k].is_number(), "setldetail.{k}");
            } else {
                assert_eq!(v, &b[k], "setldetail.{k}");
            }
        }
    }
}

fn kinds(store: &Store, psn_no: &str) -> Vec<String> {
    store
        .read(|tx| {
            tx.query("SELECT kind FROM acct_entry WHERE psn_no = $1 ORDER BY seq", yibao_store::params![psn_no])?
                .iter()
                .map(|r| r.str(0))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
}

conformance! {
    /// A beneficiary with 1.00 left in their own account: the relative's account pays the rest.
    /// 2208 answers the settlement negated and refunds both accounts; 2601 of the 2208 settles
    /// again and draws on both again, by the same amounts.
    fn a_reversal_mirrors_its_settlement_and_refunds_the_family_account(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let owner = person(store, "110100", "310", "12", 50_000).0;
        assert_ne!(owner, psn.0);
        store
            .write(|tx| {
                let bal = account_balance(tx, &psn.0)?;
                append_account_entry(tx, &psn.0, "110100", Fen(100) - bal, EntryKind::Settle, None, now())?;
                let b = MulaidBinding {
                    owner_psn_no: owner.clone(),
                    benef_psn_no: psn.0.clone(),
                    relation: "spouse".into(),
                    begndate: Date::parse("2020-01-01").unwrap(),
                    enddate: None,
                };
                bind_mulaid(tx, &b)
            })
            .unwrap();
        let owner_before = balance(store, &owner);
        let cum_before = accumulators(store, &psn.0);
        let (mdtrt_id, _) = register_and_upload(&h, &psn);
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "82.20", "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }));
        let settled = h.ok("2207", settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
        let s = &settled["setlinfo"];
        check_setlinfo(s);
        let family = fen(&s["acct_mulaid_pay"]);
        assert_eq!(fen(&s["acct_pay"]), Fen(100), "{s}");
        assert!(family.0 > 0, "{s}");
        assert_eq!(balance(store, &owner), owner_before - family);
        assert_eq!(balance(store, &psn.0), Fen::ZERO);

        let cancel_msgid = h.msgid();
        let setl_id = s["setl_id"].as_str().unwrap();
        let c = h.send("2208", &cancel_msgid, json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn.0 } }));
        assert_eq!(c["infcode"], 0, "{c}");
        let rev = &c["output"];
        check_setlinfo(&rev["setlinfo"]);
        assert_mirror(&settled, rev);
        assert_eq!(fen(&rev["setlinfo"]["balc"]), Fen(100));
        assert_eq!(balance(store, &owner), owner_before, "the family account is refunded");
        assert_eq!(balance(store, &psn.0), Fen(100));
        assert_eq!(accumulators(store, &psn.0), cum_before);
        let owner_kinds = kinds(store, &owner);
        assert_eq!(owner_kinds[owner_kinds.len() - 2..], ["mulaid_pay", "mulaid_reverse"]);

        // 2601 of the 2208: the settlement stands again, drawing on both accounts again.
        let back = h.ok("2601", json!({ "data": { "psn_no": psn.0, "omsgid": cancel_msgid, "oinfno": "2208" } }));
        assert_eq!(back["data"]["result"], "reversed");
        let again = &back["reversal"]["setlinfo"];
        for k in AMOUNTS {
            assert_eq!(again[k], s[k], "{k}");
        }
        assert_eq!(back["reversal"]["setldetail"], settled["setldetail"]);
        assert_eq!(balance(store, &owner), owner_before - family);
        assert_eq!(balance(store, &psn.0), Fen::ZERO);
        assert_ne!(accumulators(store, &psn.0), cum_before);
        let owner_kinds = kinds(store, &owner);
        assert_eq!(owner_kinds[owner_kinds.len() - 3..], ["mulaid_pay", "mulaid_reverse", "mulaid_pay"]);
    }
}
