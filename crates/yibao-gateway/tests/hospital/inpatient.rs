use crate::client::*;
use serde_json::json;
use yibao_domain::Fen;
use yibao_store::Store;
use yibao_store_tests::conformance;

/// Pre-settles and settles the unsettled lines of a stay, whose total the HIS knows.
fn settle(h: &Hospital, psn: &(String, String), mdtrt_id: &str, mid: bool, total: &str) -> serde_json::Value {
    let base = json!({ "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "mdtrt_id": mdtrt_id, "psn_setlway": "01", "acct_used_flag": "1", "insutype": "310", "mid_setl_flag": if mid { "1" } else { "0" }, "medfee_sumamt": total });
    let pre = h.ok("2303", json!({ "data": base.clone() }));
    check_setlinfo(&pre["setlinfo"]);
    let mut input = base;
    for k in ["medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"] {
        input[k] = pre["setlinfo"][k].clone();
    }
    let out = h.ok("2304", json!({ "data": input }));
    check_setlinfo(&out["setlinfo"]);
    for k in ["medfee_sumamt", "hifp_pay", "act_pay_dedc", "acct_pay"] {
        assert_eq!(out["setlinfo"][k], pre["setlinfo"][k], "2303 and 2304 differ in {k}");
    }
    out
}

conformance! {
    /// Admission → fees → mid-stay settlement → more fees → discharge → final settlement: the
    /// deductible is charged once per stay, the admission counts once, and reversing both
    /// segments (latest first) restores everything.
    fn inpatient_stay_with_mid_stay_settlement(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let before_balance = balance(store, &psn.0);
        let before_cum = accumulators(store, &psn.0);
        let adm = h.ok("2401", json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "coner_name": "家属", "tel": "13800000000", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "21", "ipt_no": h.msgid(), "medrcdno": "MR1", "atddr_no": "D001", "chfpdr_name": "王医生", "adm_diag_dscr": "肺炎", "adm_dept_codg": "03", "adm_dept_name": "呼吸科", "adm_bed": "12", "dscg_maindiag_code": "J18.900", "dscg_maindiag_name": "肺炎", "dise_codg": "J18.900", "dise_name": "肺炎" },
                                     "diseinfo": [{ "psn_no": psn.0, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": "1", "diag_code": "J18.900", "diag_name": "肺炎", "adm_cond": "1", "diag_dept": "呼吸科", "dise_dor_no": "D001", "dise_dor_name": "王医生", "diag_time": now().to_string() }] }));
        let mdtrt_id = adm["result"]["mdtrt_id"].as_str().unwrap().to_owned();
        let a = items(store, &h.code, "01", 2);
        h.ok("2301", json!({ "feedetail": fee_rows(&mdtrt_id, &psn.0, "", "A", &[(&a[0], "1000", "10"), (&a[1], "250", "4")]) }));
        // Final settlement is refused while the patient is in hospital.
        let still_in = h.send("2304", &h.msgid(), json!({ "data": { "psn_no": psn.0, "mdtrt_id": mdtrt_id, "medfee_sumamt": "11000", "mid_setl_flag": "0" } }));
        assert!(still_in["err_msg"].as_str().unwrap().contains("still in hospital"), "{still_in}");
        let first = settle(&h, &psn, &mdtrt_id, true, "11000");
        let records = store.read(|tx| yibao_store::audit::records(tx, &h.code, 0, 10_000)).unwrap();
        let pre_reads: Vec<String> = records.into_iter().filter(|r| r.action == "2303").map(|r| r.target).collect();
        assert_eq!(pre_reads, vec![psn.0.clone()], "2303 answers the person's baseinfo: audited");
        assert_eq!(fen(&first["setlinfo"]["medfee_sumamt"]), Fen::yuan(11_000));
        assert_eq!(fen(&first["setlinfo"]["act_pay_dedc"]), Fen::yuan(1_300), "Beijing first admission deductible");
        // (11,000 − 1,300) × 85% at a 三级 hospital.
        assert_eq!(fen(&first["setlinfo"]["hifp_pay"]), Fen::yuan(8_245));

        h.ok("2301", json!({ "feedetail": fee_rows(&mdtrt_id, &psn.0, "", "B", &[(&a[0], "1000", "20")]) }));
        h.ok("2402", json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": psn.0, "insutype": "310", "endtime": now().to_string(), "dise_codg": "J18.900", "dise_name": "肺炎", "dscg_way": "1" }, "diseinfo": [] }));
        let last = settle(&h, &psn, &mdtrt_id, false, "20000.00");
        assert_eq!(fen(&last["setlinfo"]["act_pay_dedc"]), Fen::ZERO, "the deductible is charged once per stay");
        // Cumulative 31,000 in the stay: 11,000..30,000 at 85% and 30,000..31,000 at 90%.
        assert_eq!(fen(&last["setlinfo"]["hifp_pay"]), Fen::yuan(19_000 * 85 / 100 + 900));
        let cum = accumulators(store, &psn.0);
        assert!(cum.contains(&("310".into(), "ADM".into(), 1)), "{cum:?}");
        assert!(cum.contains(&("310".into(), "I.inpatient".into(), 3_100_000)), "{cum:?}");
        assert_eq!(text(store, &format!("SELECT stas FROM visit WHERE mdtrt_id = '{mdtrt_id}'")), "settled");

        let first_id = first["setlinfo"]["setl_id"].as_str().unwrap();
        let last_id = last["setlinfo"]["setl_id"].as_str().unwrap();
        let early = h.fails("2305", json!({ "data": { "mdtrt_id": mdtrt_id, "setl_id": first_id, "psn_no": psn.0 } }));
        assert!(early.contains("later settlement"), "{early}");
        h.ok("2305", json!({ "data": { "mdtrt_id": mdtrt_id, "setl_id": last_id, "psn_no": psn.0 } }));
        assert_eq!(text(store, &format!("SELECT stas FROM visit WHERE mdtrt_id = '{mdtrt_id}'")), "discharged");
        h.ok("2305", json!({ "data": { "mdtrt_id": mdtrt_id, "setl_id": first_id, "psn_no": psn.0 } }));
        assert_eq!(accumulators(store, &psn.0), before_cum);
        assert_eq!(balance(store, &psn.0), before_balance);
        // With nothing settled, discharge and admission can be undone.
        h.ok("2405", json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": psn.0 } }));
        h.ok("2404", json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": psn.0 } }));
        assert_eq!(text(store, &format!("SELECT stas FROM visit WHERE mdtrt_id = '{mdtrt_id}'")), "cancelled");
    }

    /// The second admission of the year gets the second-admission deductible.
    fn second_admission_of_the_year_has_the_lower_deductible(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let a = items(store, &h.code, "01", 1);
        let mut dedc = Vec::new();
        for _ in 0..2 {
            let adm = h.ok("2401", json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "21", "ipt_no": h.msgid(), "dise_codg": "J18.900", "dise_name": "肺炎" } }));
            let m = adm["result"]["mdtrt_id"].as_str().unwrap().to_owned();
            h.ok("2301", json!({ "feedetail": fee_rows(&m, &psn.0, "", "A", &[(&a[0], "500", "10")]) }));
            h.ok("2402", json!({ "dscginfo": { "mdtrt_id": m, "psn_no": psn.0, "insutype": "310", "endtime": now().to_string(), "dscg_way": "1" } }));
            dedc.push(fen(&settle(&h, &psn, &m, false, "5000")["setlinfo"]["act_pay_dedc"]));
        }
        assert_eq!(dedc, [Fen::yuan(1_300), Fen::yuan(650)]);
    }
}
