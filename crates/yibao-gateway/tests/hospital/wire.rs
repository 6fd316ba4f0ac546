//! The wire's edges: what a value may look like (amounts, times, flags), the answers' keys and
//! types against interface-spec.md, and the body limit.

use crate::client::*;
use serde_json::{json, Value};
use yibao_store::Store;
use yibao_store_tests::conformance;

fn counts(store: &Store) -> Vec<i64> {
    ["visit", "fee_line", "settlement", "outbox", "msg_log", "acct_entry", "accumulator"]
        .iter()
        .map(|t| scalar(store, &format!("SELECT COUNT(*) FROM {t}"), &[]))
        .collect()
}

fn register(h: &Hospital, psn: &(String, String)) -> String {
    let reg = h.ok("2201", json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": h.msgid() } }));
    reg["data"]["mdtrt_id"].as_str().unwrap().to_owned()
}

fn admit(h: &Hospital, psn: &(String, String)) -> String {
    let adm = h.ok("2401", json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "21", "ipt_no": h.msgid(), "dise_codg": "J18.900", "dise_name": "肺炎" } }));
    adm["result"]["mdtrt_id"].as_str().unwrap().to_owned()
}

conformance! {
    /// An amount, quantity or price is a JSON number or a string of one, nothing else: `true`
    /// was read as 1, and "+45.20" or " 45.20" as 45.20.
    fn amounts_are_numbers_or_numeric_strings_only(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let mdtrt_id = register(&h, &psn);
        let a = items(store, &h.code, "01", 1);
        let before = counts(store);
        let line = |k: &str, v: Value| {
            let mut rows = fee_rows(&mdtrt_id, &psn.0, "B1", "F", &[(&a[0], "45.20", "1")]);
            rows[0][k] = v;
            h.fails("2204", json!({ "feedetail": rows }))
        };
        assert_eq!(line("cnt", json!(true)), "input.feedetail[0].cnt: true is not a number");
        assert_eq!(line("pric", json!(false)), "input.feedetail[0].pric: false is not a number");
        assert_eq!(line("det_item_fee_sumamt", json!(true)), "input.feedetail[0].det_item_fee_sumamt: true is not a number");
        for bad in ["+45.20", " 45.20", "45.20 ", "45.", "4.52e1"] {
            let e = line("det_item_fee_sumamt", json!(bad));
            assert!(e.starts_with("input.feedetail[0].det_item_fee_sumamt: ") && e.contains("not a decimal number"), "{bad:?}: {e}");
        }
        assert!(line("cnt", json!("+1")).starts_with("input.feedetail[0].cnt: "));
        assert!(line("cnt", json!({ "v": 1 })).starts_with("input.feedetail[0].cnt: must be a number"));
        let recon = h.fails("3201", json!({ "data": { "insutype": "310", "clr_type": "11", "setl_optins": "110100", "stmt_begndate": "2020-01-01", "stmt_enddate": "2020-01-31", "medfee_sumamt": "0", "fund_pay_sumamt": "0", "acct_pay": "0", "fixmedins_setl_cnt": true } }));
        assert_eq!(recon, "input.data.fixmedins_setl_cnt: true is not a number");
        assert_eq!(counts(store), before, "refused uploads wrote nothing");
        // The same values as plain numbers and numeric strings are read.
        let rows = fee_rows(&mdtrt_id, &psn.0, "B1", "F", &[(&a[0], "45.20", "1")]);
        h.ok("2204", json!({ "feedetail": rows }));
        let pre = |v: Value| h.fails("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": v } }));
        assert_eq!(pre(json!(true)), "input.data.medfee_sumamt: true is not a number");
        assert!(pre(json!("+45.20")).contains("not a decimal number"));
        h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "45.20" } }));
        h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": 45.2 } }));
    }

    /// Errors name the field as sent, with its path; times of things that happened may not lie
    /// in the future beyond a day.
    fn errors_name_the_field_sent_and_future_times_are_refused(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let bad = "110101199001011230";
        let by_certno = h.fails("1101", json!({ "data": { "certno": bad, "psn_cert_type": "01" } }));
        assert!(by_certno.starts_with("input.data.certno: ") && by_certno.contains("check digit"), "{by_certno}");
        let by_cert = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": bad } }));
        assert!(by_cert.starts_with("input.data.mdtrt_cert_no: ") && by_cert.contains("check digit"), "{by_cert}");
        let no_type = h.fails("1101", json!({ "data": { "mdtrt_cert_no": psn.1 } }));
        assert_eq!(no_type, "input.data.mdtrt_cert_type: required");

        let before = counts(store);
        let reg = |t: &str| h.fails("2201", json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": t, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": h.msgid() } }));
        let e = reg("9999-12-31 00:00:00");
        assert!(e.starts_with("input.data.begntime: 9999-12-31 00:00:00 is in the future (the latest accepted is "), "{e}");
        let two_days = yibao_domain::DateTime(now().0 + 2 * 86_400).to_string();
        assert!(reg(&two_days).contains("is in the future"));
        let adm = h.fails("2401", json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "begntime": "2099-01-01 08:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "21", "ipt_no": h.msgid() } }));
        assert!(adm.starts_with("input.mdtrtinfo.begntime: 2099-01-01 08:00:00 is in the future"), "{adm}");
        assert_eq!(counts(store), before, "nothing registered");
        // Within the day's tolerance (a later slot today, a clock a little ahead) is accepted.
        let soon = yibao_domain::DateTime(now().0 + 3600).to_string();
        let mdtrt_id = h.ok("2201", json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": soon, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": h.msgid() } }))["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        let a = items(store, &h.code, "01", 1);
        let mut rows = fee_rows(&mdtrt_id, &psn.0, "B1", "F", &[(&a[0], "1", "1")]);
        rows[0]["fee_ocur_time"] = json!("2100-01-01 00:00:00");
        let fee = h.fails("2204", json!({ "feedetail": rows }));
        assert!(fee.starts_with("input.feedetail[0].fee_ocur_time: 2100-01-01 00:00:00 is in the future"), "{fee}");
    }

    /// 2304 with mid_setl_flag 0 closes the stay: it needs the discharge (2402) on record, and
    /// `dscgTime` does not stand in for it. A pre-settlement may preview with dscgTime.
    fn final_settlement_needs_a_recorded_discharge(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let mdtrt_id = admit(&h, &psn);
        let a = items(store, &h.code, "01", 1);
        h.ok("2301", json!({ "feedetail": fee_rows(&mdtrt_id, &psn.0, "", "A", &[(&a[0], "1000", "2")]) }));
        let data = json!({ "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "mdtrt_id": mdtrt_id, "acct_used_flag": "0", "insutype": "310", "mid_setl_flag": "0", "medfee_sumamt": "2000", "dscgTime": now().to_string() });
        let pre = h.ok("2303", json!({ "data": data }));
        let mut input = data.clone();
        for k in ["fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"] {
            input[k] = pre["setlinfo"][k].clone();
        }
        let before = counts(store);
        let refused = h.fails("2304", json!({ "data": input }));
        assert!(refused.contains("still in hospital"), "{refused}");
        assert_eq!(counts(store), before, "nothing settled");
        assert_eq!(text(store, &format!("SELECT stas FROM visit WHERE mdtrt_id = '{mdtrt_id}'")), "open");
        let mut far = data.clone();
        far["dscgTime"] = json!("9999-12-31 00:00:00");
        assert!(h.fails("2303", json!({ "data": far })).starts_with("input.data.dscgTime: 9999-12-31 00:00:00 is in the future"));
        h.ok("2402", json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": psn.0, "insutype": "310", "endtime": now().to_string(), "dscg_way": "1" } }));
        h.ok("2304", json!({ "data": input }));
        assert_eq!(text(store, &format!("SELECT stas FROM visit WHERE mdtrt_id = '{mdtrt_id}'")), "settled");
    }
}
