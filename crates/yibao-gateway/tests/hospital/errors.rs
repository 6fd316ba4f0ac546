use crate::client::*;
use serde_json::json;
use yibao_store::Store;
use yibao_store_tests::conformance;

fn counts(store: &Store) -> Vec<i64> {
    ["visit", "fee_line", "settlement", "outbox", "msg_log", "acct_entry", "accumulator"]
        .iter()
        .map(|t| scalar(store, &format!("SELECT COUNT(*) FROM {t}"), &[]))
        .collect()
}

conformance! {
    /// Bad input gets infcode -2 naming the field, and changes nothing.
    fn bad_requests_are_refused_precisely_and_change_nothing(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let before = counts(store);

        let mut env = h.envelope("2201", &h.msgid(), json!({}));
        env.as_object_mut().unwrap().remove("mdtrtarea_admvs");
        let r = h.raw(&env);
        assert_eq!((r["infcode"].as_i64(), r["err_msg"].as_str()), (Some(-2), Some("mdtrtarea_admvs: required")));
        let mut env = h.envelope("2201", &h.msgid(), json!({}));
        env["fixmedins_code"] = json!("H1101000000X");
        assert!(h.raw(&env)["err_msg"].as_str().unwrap().starts_with("fixmedins_code:"));
        let mut env = h.envelope("2201", &h.msgid(), json!({}));
        env["fixmedins_code"] = json!("H11010099999");
        env["msgid"] = json!(format!("H11010099999{}0001", now().compact()));
        let r = h.raw(&env);
        assert_eq!(r["http_status"], 403, "a credential speaks for its own institution only: {r}");
        assert!(r["err_msg"].as_str().unwrap().starts_with("AUTH_WRONG_INSTITUTION:"), "{r}");
        assert!(h.raw_unsigned(&env)["err_msg"].as_str().unwrap().contains("is not a designated institution"));
        assert_eq!(h.raw(&json!("[1,2]"))["infcode"], -2);
        let (_, r, _) = yibao_gateway::handle(store, b"{not json", None, now());
        assert!(r.unwrap_err().to_string().contains("not valid JSON"));
        assert!(h.fails("9999", json!({})).contains("infno 9999"));

        let reg = |extra: serde_json::Value| {
            let mut d = json!({ "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": "OP1" });
            for (k, v) in extra.as_object().unwrap() {
                if v.is_null() { d.as_object_mut().unwrap().remove(k); } else { d[k] = v.clone(); }
            }
            h.fails("2201", json!({ "data": d }))
        };
        assert_eq!(reg(json!({ "psn_no": null })), "input.data.psn_no: required");
        assert!(reg(json!({ "begntime": "2024-13-01 00:00:00" })).starts_with("input.data.begntime:"));
        assert!(reg(json!({ "mdtrt_cert_type": "07" })).contains("is not one of 01, 02, 03"));
        assert!(reg(json!({ "insutype": "390" })).contains("is not insured under insutype 390"));
        assert!(reg(json!({ "ipt_otp_no": "X".repeat(31) })).contains("at most 30"));
        // An unknown psn_no is answered as someone else's credential (no existence oracle).
        assert!(reg(json!({ "psn_no": "NOBODY" })).contains("is not that of psn_no NOBODY"));
        let bad_id = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "110101199001011230" } }));
        assert!(bad_id.contains("check digit"), "{bad_id}");
        assert_eq!(counts(store), before, "refused requests wrote nothing");
    }

    /// One institution cannot touch another's visit; a msgid cannot be reused for another request.
    fn institutions_are_isolated_and_msgids_are_single_use(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let other = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 0);
        let msgid = h.msgid();
        let input = json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": "OP1" } });
        let r = h.send("2201", &msgid, input);
        let mdtrt_id = r["output"]["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        let theirs = other.fails("2202", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id } }));
        assert!(theirs.contains("belongs to another institution"), "{theirs}");
        let reused = h.send("2201", &msgid, json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": "OP2" } }));
        assert!(reused["err_msg"].as_str().unwrap().contains("already used by another request"), "{reused}");
        // Out of region: a Shanghai insured person registers at Beijing hospitals; only one that is
        // networked for cross-region settlement may take the visit.
        let sh = person(store, "310100", "310", "11", 0);
        let pick = |flag: i64| text(store, &format!("SELECT fixmedins_code FROM institution WHERE admdvs = '110100' AND fixmedins_type = '1' AND remote_flag = {flag} ORDER BY fixmedins_code LIMIT 1"));
        let register_at = |code: &str| {
            let h = Hospital::new(store, code);
            let mut env = h.envelope("2201", &h.msgid(), json!({ "data": { "psn_no": sh.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": sh.1, "ipt_otp_no": "OP3" } }));
            env["insuplc_admdvs"] = json!("310100");
            h.raw(&env)
        };
        let refused = register_at(&pick(0));
        assert_eq!(refused["infcode"], -2, "{refused}");
        assert!(refused["err_msg"].as_str().unwrap().contains("not networked"), "{refused}");
        let accepted = register_at(&pick(1));
        assert_eq!(accepted["infcode"], 0, "{accepted}");
    }
}

conformance! {
    /// A fee line beyond the bounds of a line (price, count, amount; yibao_domain::bounds) is
    /// refused with infcode -2 naming the row and field, and nothing is written: the review's
    /// 2204 lines (¥1,000,000.00 × 10, and 9999999.999999 × 9999.9999) were once settled with the
    /// fund paying millions and billions. The same holds for 2301 and a pharmacy sale (2101/2102).
    fn fee_lines_beyond_the_bounds_are_refused_naming_the_field(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let (mdtrt_id, _) = crate::outpatient::register_and_upload(&h, &psn);
        let before = counts(store);
        let a = items(store, &h.code, "01", 1);
        let upload = |lines: &[(&(String, String), &str, &str)]| {
            let r = h.send("2204", &h.msgid(), json!({ "feedetail": fee_rows(&mdtrt_id, &psn.0, "B2", "X", lines) }));
            assert_eq!(r["infcode"], -2, "{r}");
            r["err_msg"].as_str().unwrap().to_owned()
        };
        let e = upload(&[(&a[0], "10", "1"), (&a[0], "1000000", "10")]);
        assert!(e.starts_with("input.feedetail[1].det_item_fee_sumamt: 10000000.00 is above 3000000.00"), "{e}");
        let e = upload(&[(&a[0], "9999999.999999", "9999.9999")]);
        assert!(e.starts_with("input.feedetail[0].pric: 9999999.999999 is above 3000000.000000"), "{e}");
        let e = upload(&[(&a[0], "0.01", "1000001")]);
        assert!(e.starts_with("input.feedetail[0].cnt: 1000001.0000 is above 1000000.0000"), "{e}");
        // A CAR-T dose is a real charge.
        let ok = h.send("2204", &h.msgid(), json!({ "feedetail": fee_rows(&mdtrt_id, &psn.0, "B3", "Y", &[(&a[0], "1200000", "1")]) }));
        assert_eq!(ok["infcode"], 0, "{ok}");
        let after_ok = counts(store);
        assert_eq!(after_ok[1], before[1] + 1, "only the good upload wrote a line");

        // 2301: the same refusal for an inpatient stay.
        let adm = h.ok("2401", json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "coner_name": "家属", "tel": "13800000000", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "21", "ipt_no": h.msgid(), "medrcdno": "MR1", "atddr_no": "D001", "chfpdr_name": "王医生", "adm_diag_dscr": "肺炎", "adm_dept_codg": "03", "adm_dept_name": "呼吸科", "adm_bed": "12", "dscg_maindiag_code": "J18.900", "dscg_maindiag_name": "肺炎", "dise_codg": "J18.900", "dise_name": "肺炎" },
                                     "diseinfo": [{ "psn_no": psn.0, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": "1", "diag_code": "J18.900", "diag_name": "肺炎", "adm_cond": "1", "diag_dept": "呼吸科", "dise_dor_no": "D001", "dise_dor_name": "王医生", "diag_time": now().to_string() }] }));
        let stay = adm["result"]["mdtrt_id"].as_str().unwrap().to_owned();
        let lines = counts(store)[1];
        let r = h.send("2301", &h.msgid(), json!({ "feedetail": fee_rows(&stay, &psn.0, "", "I", &[(&a[0], "100", "2"), (&a[0], "5000000", "1")]) }));
        assert_eq!(r["infcode"], -2, "{r}");
        assert!(r["err_msg"].as_str().unwrap().starts_with("input.feedetail[1].pric: 5000000.000000 is above 3000000.000000"), "{r}");
        assert_eq!(counts(store)[1], lines, "the refused 2301 wrote no line");

        // 2101/2102: a pharmacy sale with a line beyond the bounds.
        let ph = Hospital::new(store, &pharmacy(store, "110100"));
        let b = items(store, &ph.code, "01", 1);
        let mut rows = fee_rows("", &psn.0, "", "P", &[(&b[0], "12.80", "2"), (&b[0], "1000000", "10")]);
        for r in rows.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("mdtrt_id");
        }
        let sale = json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "insutype": "310", "med_type": "41", "medfee_sumamt": "10000025.60", "acct_used_flag": "1", "psn_setlway": "01" }, "feedetail": rows });
        let before_sale = counts(store);
        for infno in ["2101", "2102"] {
            let r = ph.send(infno, &ph.msgid(), sale.clone());
            assert_eq!(r["infcode"], -2, "{r}");
            assert!(r["err_msg"].as_str().unwrap().starts_with("input.feedetail[1].det_item_fee_sumamt:"), "{infno}: {r}");
        }
        assert_eq!(counts(store)[..3], before_sale[..3], "the refused sale wrote no visit, line or settlement");
    }
}
