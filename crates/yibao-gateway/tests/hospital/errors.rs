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
        assert!(reg(json!({ "psn_no": "NOBODY" })).contains("no such insured person"));
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
