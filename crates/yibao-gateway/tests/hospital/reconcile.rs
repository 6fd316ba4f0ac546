use crate::client::*;
use serde_json::json;
use yibao_domain::Fen;
use yibao_store::Store;
use yibao_store_tests::conformance;

conformance! {
    /// 3201 balances when the institution's totals match, and says where they do not; 3202
    /// classifies every settlement of the period.
    fn reconciliation_totals_and_details(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &pharmacy(store, "110100"));
        let psn = person(store, "110100", "310", "11", 10_000);
        let a = items(store, &h.code, "01", 1);
        let mut rows = fee_rows("", &psn.0, "", "P", &[(&a[0], "20", "1")]);
        rows[0].as_object_mut().unwrap().remove("mdtrt_id");
        let out = h.ok("2102", json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "insutype": "310", "medfee_sumamt": "20", "acct_used_flag": "1" }, "feedetail": rows }));
        let s = &out["setlinfo"];
        let today = now().date().to_string();
        let total = |medfee: &str, cnt: i64| json!({ "data": { "insutype": "310", "clr_type": "41", "setl_optins": "110100", "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": medfee, "fund_pay_sumamt": s["fund_pay_sumamt"], "acct_pay": s["acct_pay"], "fixmedins_setl_cnt": cnt } });
        let ok = h.ok("3201", total("20", 1));
        assert_eq!(ok["stmtinfo"]["stmt_rslt"], "0", "{ok}");
        let off = h.ok("3201", total("21", 2));
        assert_eq!(off["stmtinfo"]["stmt_rslt"], "1");
        assert!(off["stmtinfo"]["stmt_rslt_dscr"].as_str().unwrap().contains("medfee_sumamt: centre 20.00, institution 21.00"));

        let line = format!("{}\t{}\t{}\t20.00\t{}\t{}\t0\nS-EXTRA\tM-X\t{}\t5.00\t0\t0\t0\n", s["setl_id"].as_str().unwrap(), s["mdtrt_id"].as_str().unwrap(), psn.0, fen(&s["fund_pay_sumamt"]), fen(&s["acct_pay"]), psn.0);
        let up = h.ok("9101", json!({ "fsUploadIn": { "in": line, "filename": "detail.txt", "fixmedins_code": h.code } }));
        let det = h.ok("3202", json!({ "data": { "file_qury_no": up["file_qury_no"], "clr_type": "41", "setl_optins": "110100", "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": "25", "fund_pay_sumamt": "0", "cash_payamt": "0", "fixmedins_setl_cnt": 2 } }));
        let rows = det["stmtdetail"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["stmt_rslt"], "0");
        assert_eq!(rows[1]["stmt_rslt"], "1", "the institution's extra row");
        let dl = h.ok("9102", json!({ "fsDownloadIn": { "file_qury_no": det["fileinfo"]["file_qury_no"], "filename": "plc", "fixmedins_code": h.code } }));
        assert!(dl["content"].as_str().unwrap().contains("S-EXTRA"));
        assert_eq!(fen(&s["medfee_sumamt"]), Fen(2000));
    }
}
