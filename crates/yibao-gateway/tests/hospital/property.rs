//! Random bills through the whole interface: identities hold, pre-settlement equals settlement,
//! and settle-then-reverse leaves every balance and accumulator exactly as before.

use crate::client::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use yibao_store::Store;

fn catalog(store: &Store, code: &str) -> Vec<(String, String)> {
    let mut all = items(store, code, "01", 8);
    all.extend(items(store, code, "02", 8));
    all.extend(items(store, code, "03", 4));
    all
}

fn settle_and_reverse(
    h: &Hospital,
    psn: &(String, String),
    lines: &[(usize, u32, u32)],
    acct: bool,
    catalog: &[(String, String)],
) {
    let store = h.store;
    let before = (balance(store, &psn.0), accumulators(store, &psn.0));
    let reg = h.ok("2201", json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "ipt_otp_no": h.msgid() } }));
    let m = reg["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let prices: Vec<String> = lines.iter().map(|(_, fen, _)| format!("{}.{:02}", fen / 100, fen % 100)).collect();
    let counts: Vec<String> = lines.iter().map(|(_, _, n)| n.to_string()).collect();
    let spec: Vec<(&(String, String), &str, &str)> = lines
        .iter()
        .enumerate()
        .map(|(i, (k, _, _))| (&catalog[*k % catalog.len()], prices[i].as_str(), counts[i].as_str()))
        .collect();
    let rows = fee_rows(&m, &psn.0, "B", "L", &spec);
    let total: yibao_domain::Fen = rows.as_array().unwrap().iter().map(|r| fen(&r["det_item_fee_sumamt"])).sum();
    h.ok("2204", json!({ "feedetail": rows }));
    let data = json!({ "psn_no": psn.0, "mdtrt_id": m, "medfee_sumamt": total, "chrg_bchno": "B", "acct_used_flag": if acct { "1" } else { "0" }, "mdtrt_cert_type": "02" });
    let pre = h.ok("2206", json!({ "data": data }));
    check_setlinfo(&pre["setlinfo"]);
    let mut input = data.clone();
    for k in ["fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"] {
        input[k] = pre["setlinfo"][k].clone();
    }
    let out = h.ok("2207", json!({ "data": input }));
    let s = &out["setlinfo"];
    check_setlinfo(s);
    for (k, v) in pre["setlinfo"].as_object().unwrap() {
        if !["setl_id", "setl_time", "medins_setl_id", "clr_way"].contains(&k.as_str()) {
            assert_eq!(&s[k], v, "pre-settlement and settlement differ in {k}");
        }
    }
    assert_eq!(out["setldetail"], pre["setldetail"]);
    let funds: yibao_domain::Fen = out["setldetail"].as_array().unwrap().iter().map(|r| fen(&r["fund_payamt"])).sum();
    assert_eq!(
        funds,
        fen(&s["fund_pay_sumamt"]) + fen(&s["acct_pay"]) + fen(&s["acct_mulaid_pay"]),
        "setldetail lists every payer"
    );
    h.ok("2208", json!({ "data": { "setl_id": s["setl_id"], "mdtrt_id": m, "psn_no": psn.0 } }));
    assert_eq!(
        (balance(store, &psn.0), accumulators(store, &psn.0)),
        before,
        "settle then reverse restores everything"
    );
    let _: Value = h.ok("2205", json!({ "data": { "mdtrt_id": m, "chrg_bchno": "0000", "psn_no": psn.0 } }));
}

#[test]
fn random_bills_through_the_interface() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let code = hospital(&store, "110100", "01");
    let h = Hospital::new(&store, &code);
    let psn = person(&store, "110100", "310", "11", 1_000);
    let cat = catalog(&store, &code);
    // Bills of up to 12 lines × 2,000 × 4 cross the 1,800 outpatient deductible, so both the
    // account-only and the pooled-fund paths are exercised.
    let cfg = ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(cfg, |(lines in prop::collection::vec((0usize..20, 1u32..200_000, 1u32..5), 1..12), acct in any::<bool>())| {
        settle_and_reverse(&h, &psn, &lines, acct, &cat);
    });
}
