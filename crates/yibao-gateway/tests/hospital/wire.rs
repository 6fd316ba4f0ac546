//! The wire's edges: what a value may look like (amounts, times, flags), the answers' keys and
//! types against interface-spec.md, and the body limit.

use crate::client::*;
use crate::outpatient::{register_and_upload, settle_input};
use serde_json::{json, Value};
use std::io::{Read, Write};
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

/// The keys of interface-spec.md §3.1 a settlement answer's setlinfo carries, with their JSON
/// type: `s` text, `n` number, `s?` text that is null only in a pre-settlement.
const SETLINFO: &[(&str, &str)] = &[
    ("mdtrt_id", "s"),
    ("setl_id", "s?"),
    ("psn_no", "s"),
    ("psn_name", "s"),
    ("psn_cert_type", "s"),
    ("certno", "s"),
    ("gend", "s"),
    ("naty", "s"),
    ("brdy", "s"),
    ("age", "n"),
    ("insutype", "s"),
    ("psn_type", "s"),
    ("cvlserv_flag", "s"),
    ("setl_time", "s?"),
    ("mdtrt_cert_type", "s"),
    ("med_type", "s"),
    ("medfee_sumamt", "n"),
    ("fulamt_ownpay_amt", "n"),
    ("overlmt_selfpay", "n"),
    ("preselfpay_amt", "n"),
    ("inscp_scp_amt", "n"),
    ("act_pay_dedc", "n"),
    ("hifp_pay", "n"),
    ("pool_prop_selfpay", "n"),
    ("cvlserv_pay", "n"),
    ("hifes_pay", "n"),
    ("hifmi_pay", "n"),
    ("hifob_pay", "n"),
    ("maf_pay", "n"),
    ("oth_pay", "n"),
    ("fund_pay_sumamt", "n"),
    ("psn_part_amt", "n"),
    ("acct_pay", "n"),
    ("psn_cash_pay", "n"),
    ("hosp_part_amt", "n"),
    ("balc", "n"),
    ("acct_mulaid_pay", "n"),
    ("medins_setl_id", "s"),
    ("clr_optins", "s"),
    ("clr_way", "s?"),
    ("clr_type", "s"),
    ("hifdm_pay", "n"),
    // Regional keys of §3.1 that HIS read (the Chongqing samples).
    ("dedc_std", "n"),
    ("insu_admdvs", "s"),
    ("setl_type", "s"),
    ("begndate", "s"),
    ("enddate", "s"),
];

fn check_keys(infno: &str, out: &Value, presettle: bool) {
    let s = &out["setlinfo"];
    for (k, t) in SETLINFO {
        let v = s.get(*k).unwrap_or_else(|| panic!("{infno} setlinfo lacks {k}: {s}"));
        let ok = match *t {
            "n" => v.is_number(),
            "s?" if presettle => v.is_null(),
            _ => v.is_string(),
        };
        assert!(ok, "{infno} setlinfo.{k} is {v}, wanted {t}{}", if presettle { " (pre-settlement)" } else { "" });
    }
    let age = s["age"].to_string();
    assert!(age.split_once('.').is_some_and(|(_, d)| d.len() == 1), "{infno} age (4,1) has one decimal: {age}");
    assert!(out["setldetail"].is_array(), "{infno}: {out}");
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
        assert!(no_type.starts_with("input.data.mdtrt_cert_type: required"), "{no_type}");

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
        let out = h.ok("2304", json!({ "data": input }));
        assert_eq!(out["setlinfo"]["setl_type"], "2");
        assert_eq!(text(store, &format!("SELECT stas FROM visit WHERE mdtrt_id = '{mdtrt_id}'")), "settled");
    }

    /// 1101 answers with the spec's key names and types: `exp_content`, `age` (4,1).
    fn person_info_has_the_spec_keys_and_types(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let out = h.ok("1101", by_id_card(store, &psn));
        let b = out["baseinfo"].as_object().unwrap();
        assert!(b.contains_key("exp_content") && !b.contains_key("expContent"), "{out}");
        let age = b["age"].to_string();
        assert!(b["age"].is_number() && age.split_once('.').is_some_and(|(_, d)| d.len() == 1), "age {age}");
        let whole = yibao_domain::Date::parse(b["brdy"].as_str().unwrap()).unwrap().age_on(now().date());
        assert_eq!(age.split_once('.').unwrap().0, whole.to_string());
    }

    /// vali_flag and rid have one type in every catalog query: 0/1 text and text (char 40).
    fn catalog_rows_type_flags_and_ids_alike(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        for infno in ["1312", "1316", "1317", "1318", "1319"] {
            let out = h.ok(infno, json!({ "data": { "updt_time": "2000-01-01 00:00:00", "page_num": 1, "page_size": 50 } }));
            let rows = out["data"].as_array().unwrap();
            assert!(!rows.is_empty(), "{infno} has rows in the demo world");
            for r in rows {
                assert!(r["vali_flag"] == "1" || r["vali_flag"] == "0", "{infno} vali_flag {}", r["vali_flag"]);
                assert!(r["rid"].as_str().is_some_and(|s| !s.is_empty() && s.len() <= 40), "{infno} rid {}", r["rid"]);
            }
        }
    }

    /// Every settlement answer — outpatient 2206/2207/2208, inpatient 2303/2304/2305 — carries
    /// every setlinfo key of §3.1 with its JSON type, and the inpatient ones every key 2207 has.
    fn settlement_answers_carry_every_setlinfo_key(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let (mdtrt_id, total) = register_and_upload(&h, &psn);
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": total, "chrg_bchno": "B1", "acct_used_flag": "1", "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1 } }));
        check_keys("2206", &pre, true);
        let setl = h.ok("2207", settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
        check_keys("2207", &setl, false);
        assert_eq!(setl["setlinfo"]["insu_admdvs"], "110100");
        let today = now().date().to_string();
        assert_eq!((setl["setlinfo"]["begndate"].as_str(), setl["setlinfo"]["enddate"].as_str()), (Some(today.as_str()), Some(today.as_str())));
        let setl_id = setl["setlinfo"]["setl_id"].as_str().unwrap();
        let rev = h.ok("2208", json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn.0 } }));
        check_keys("2208", &rev, false);

        let stay = admit(&h, &psn);
        let a = items(store, &h.code, "01", 1);
        h.ok("2301", json!({ "feedetail": fee_rows(&stay, &psn.0, "", "A", &[(&a[0], "1000", "3")]) }));
        let data = json!({ "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "mdtrt_id": stay, "acct_used_flag": "1", "insutype": "310", "mid_setl_flag": "1", "medfee_sumamt": "3000" });
        let pre = h.ok("2303", json!({ "data": data }));
        check_keys("2303", &pre, true);
        let mut input = data.clone();
        for k in ["fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"] {
            input[k] = pre["setlinfo"][k].clone();
        }
        let mid = h.ok("2304", json!({ "data": input }));
        check_keys("2304", &mid, false);
        assert_eq!(mid["setlinfo"]["setl_type"], "1", "a mid-stay segment");
        assert_eq!(mid["setlinfo"]["dedc_std"].to_string(), "1300.00", "Beijing's first-admission deductible at a 三级 hospital");
        let rev = h.ok("2305", json!({ "data": { "mdtrt_id": stay, "setl_id": mid["setlinfo"]["setl_id"], "psn_no": psn.0 } }));
        check_keys("2305", &rev, false);
        let keys = |v: &Value| v["setlinfo"].as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
        for (infno, out) in [("2303", &pre), ("2304", &mid), ("2305", &rev)] {
            let missing: Vec<_> = keys(&setl).difference(&keys(out)).cloned().collect();
            assert!(missing.is_empty(), "{infno} lacks keys 2207 has: {missing:?}");
        }
    }
}

/// The largest valid request — a 2204 of `ROWS_MAX` lines with every field of interface-spec.md
/// §4.1 at its width (text as 3-byte UTF-8 characters) — fits the body limit with a margin.
#[test]
fn the_largest_fee_upload_fits_the_body_limit() {
    let cjk = |n: usize| "医".repeat(n);
    let num = |s: &str| s.parse::<serde_json::Number>().unwrap();
    let code = |n: usize| "9".repeat(n);
    let line = json!({
        "feedetl_sn": code(30), "mdtrt_id": code(30), "psn_no": code(30), "chrg_bchno": code(30), "dise_codg": code(30),
        "rxno": code(30), "rx_circ_flag": code(3), "fee_ocur_time": "2026-12-31 23:59:59", "med_list_codg": code(50),
        "medins_list_codg": code(150),
        "det_item_fee_sumamt": num("-99999999999999.99"),
        "cnt": num("-999999999999.9999"),
        "pric": num("-9999999999.999999"),
        "sin_dos_dscr": cjk(200), "used_frqu_dscr": cjk(200),
        "prd_days": num("-99.99"), "medc_way_dscr": cjk(200),
        "bilg_dept_codg": code(30), "bilg_dept_name": cjk(100), "bilg_dr_codg": code(30), "bilg_dr_name": cjk(50),
        "acord_dept_codg": code(30), "acord_dept_name": cjk(100), "orders_dr_code": code(30), "orders_dr_name": cjk(50),
        "hosp_appr_flag": code(3), "tcmdrug_used_way": code(6), "etip_flag": code(3), "etip_hosp_code": code(30),
        "dscg_tkdrug_flag": code(3), "matn_fee_flag": code(6), "exp_content": cjk(4000),
    });
    let line_bytes = line.to_string().len();
    let rows = yibao_gateway::ROWS_MAX;
    let env = json!({ "infno": "2204", "msgid": code(30), "mdtrtarea_admvs": "110100", "insuplc_admdvs": "110100", "recer_sys_code": code(10), "infver": code(6), "opter_type": "1", "opter": code(30), "opter_name": cjk(50), "inf_time": "2026-12-31 23:59:59", "fixmedins_code": code(12), "fixmedins_name": cjk(200), "sign_no": code(30), "dev_no": code(100), "dev_safe_info": cjk(2000), "cainfo": code(1024), "signtype": code(10), "input": { "feedetail": [] } });
    // Each line adds its text and a comma.
    let largest = env.to_string().len() + rows * (line_bytes + 1);
    println!("one line {line_bytes} bytes; {rows} lines and the envelope {largest} bytes");
    assert_eq!(line_bytes, 15_895, "the computation in BODY_MAX_BYTES's comment");
    assert!(largest as f64 * 1.2 < yibao_gateway::BODY_MAX_BYTES as f64, "{largest} leaves no margin");
}

fn post(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> (String, Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.lines().next().unwrap_or_default().to_owned(), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A body over the limit is refused with the national envelope (infcode -2, a stable code),
/// on the generic path and on an older per-service path alike.
#[test]
fn a_body_over_the_limit_gets_the_national_envelope() {
    let store = yibao_store_tests::sqlite_store();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut app = yibao_gateway::App::with_auth((*store).clone(), yibao_gateway::AuthMode::Off, Default::default());
    app.body_max = 4096;
    rt.spawn(async move { axum::serve(listener, yibao_gateway::router(app)).await });
    let big = format!("{{\"infno\":\"2204\",\"input\":{{\"feedetail\":[\"{}\"]}}}}", "x".repeat(5000));
    for path in ["/fsi/api/rsfComIfsService/callService", "/fsi/api/outpatientDocInfoService/outpatientFeeListUp"] {
        let (status, r) = post(addr, path, big.as_bytes());
        assert!(status.contains("413"), "{path}: {status}");
        assert_eq!(r["infcode"], -2, "{path}: {r}");
        assert!(r["err_msg"].as_str().unwrap_or_default().starts_with("BODY_TOO_LARGE: "), "{path}: {r}");
        assert_eq!(r["inf_refmsgid"].as_str().map(str::len), Some(30), "{r}");
        assert_eq!(r["output"], json!({}));
    }
    // Just under the limit is read (and answered as the envelope it is not).
    let (status, r) = post(addr, "/fsi/api/rsfComIfsService/callService", &vec![b' '; 4000]);
    assert!(status.contains("200"), "{status}");
    assert!(r["err_msg"].as_str().unwrap().contains("not valid JSON"), "{r}");
}
