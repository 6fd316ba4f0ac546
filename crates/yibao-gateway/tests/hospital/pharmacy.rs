use crate::client::*;
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_store::Store;
use yibao_store_tests::conformance;

pub(crate) fn sale(h: &Hospital, psn: &(String, String), medfee: &str) -> Value {
    let a = items(h.store, &h.code, "01", 1);
    let b = items(h.store, &h.code, "02", 1);
    let mut rows = fee_rows("", &psn.0, "", "P", &[(&a[0], "12.80", "2"), (&b[0], "30", "1")]);
    for r in rows.as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("mdtrt_id");
    }
    json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "insutype": "310", "med_type": "41", "medfee_sumamt": medfee, "acct_used_flag": "1", "psn_setlway": "01" }, "feedetail": rows })
}

conformance! {
    /// A pharmacy sale: pre-settle (nothing written), settle (visit, lines, settlement in one
    /// call), reverse.
    fn pharmacy_sale_settles_and_reverses(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &pharmacy(store, "110100"));
        let psn = person(store, "110100", "310", "11", 10_000);
        let before = balance(store, &psn.0);
        let pre = h.ok("2101", sale(&h, &psn, "55.60"));
        check_setlinfo(&pre["setlinfo"]);
        assert_eq!(pre["result"].as_array().unwrap().len(), 2);
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM visit", &[]), 0, "pre-settlement writes nothing");
        let out = h.ok("2102", sale(&h, &psn, "55.60"));
        check_setlinfo(&out["setlinfo"]);
        assert_eq!(out["setlinfo"]["acct_pay"], pre["setlinfo"]["acct_pay"]);
        let paid = fen(&out["setlinfo"]["acct_pay"]);
        assert_eq!(paid, Fen(5560), "Beijing pharmacy purchases are paid from the account");
        assert_eq!(balance(store, &psn.0), before - paid);
        let s = &out["setlinfo"];
        h.ok("2103", json!({ "data": { "setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": psn.0 } }));
        assert_eq!(balance(store, &psn.0), before);
        let wrong = h.fails("2102", sale(&h, &psn, "50"));
        assert!(wrong.contains("does not match"), "{wrong}");
    }
}
