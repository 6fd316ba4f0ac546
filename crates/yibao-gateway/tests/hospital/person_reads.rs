//! Answers that carry a person's identity or balance are in the institution's audit chain
//! (review of issue 9, finding 1): 2101, 2206, 2303, 5201 and 5203, as 1101, 2001 and 5206.

use crate::client::*;
use crate::outpatient::{register_and_upload, settle_input};
use crate::pharmacy::sale;
use serde_json::json;
use yibao_store::{audit, Store};
use yibao_store_tests::conformance;

/// Targets of the records of `action` in an institution's chain.
fn audited(store: &Store, code: &str, action: &str) -> Vec<String> {
    store
        .read(|tx| audit::records(tx, code, 0, 10_000))
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| r.target)
        .collect()
}

conformance! {
    /// A pharmacy's pre-settlement answers the person's name, ID number and balance: audited,
    /// as are the pre-settlement of a visit and the queries of visits and settlements.
    fn answers_with_a_persons_identity_are_audited(store: &Store) {
        seed(store);
        let shop = Hospital::new(store, &pharmacy(store, "110100"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let pre = shop.ok("2101", sale(&shop, &psn, "55.60"));
        assert_eq!(pre["setlinfo"]["certno"], psn.1.as_str(), "{pre}");
        assert_eq!(audited(store, &shop.code, "2101"), vec![psn.0.clone()]);

        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let (mdtrt_id, total) = register_and_upload(&h, &psn);
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }));
        assert_eq!(pre["setlinfo"]["psn_name"], psn_name(store, &psn.0).as_str());
        assert_eq!(audited(store, &h.code, "2206"), vec![psn.0.clone()]);
        let out = h.ok("2207", settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
        let setl_id = out["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
        let q = h.ok("5203", json!({ "data": { "psn_no": psn.0, "setl_id": setl_id } }));
        assert_eq!(q["setlinfos"][0]["setlinfo"]["certno"], psn.1.as_str(), "{q}");
        assert_eq!(audited(store, &h.code, "5203"), vec![psn.0.clone()]);
        let v = h.ok("5201", json!({ "data": { "psn_no": psn.0 } }));
        assert_eq!(v["mdtrtinfo"].as_array().unwrap().len(), 1);
        assert_eq!(audited(store, &h.code, "5201"), vec![psn.0.clone()]);
        // A query that answers nobody records nobody.
        h.ok("5203", json!({ "data": { "psn_no": "110100999999999", "setl_id": setl_id } }));
        assert_eq!(audited(store, &h.code, "5203").len(), 1);
        assert!(store.read(audit::verify).unwrap().problems.is_empty());
    }
}
