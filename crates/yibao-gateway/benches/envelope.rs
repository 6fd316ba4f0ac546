//! The gateway's own work on a request, without HTTP: parsing the national envelope, and a
//! whole pre-settlement (2206) through `handle` on a seeded SQLite store — parse, dispatch,
//! store reads, the engine — plus serializing its answer as the HTTP layer would.
//! Run with `cargo bench -p yibao-gateway`; under `cargo test` each runs once, as a smoke test.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;
use yibao_domain::DateTime;
use yibao_gateway::Envelope;
use yibao_store::{params, DbError, Store};

fn now() -> DateTime {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    DateTime(secs + 8 * 3600)
}

fn envelope(infno: &str, msgid: &str, code: &str, admdvs: &str, input: Value) -> Vec<u8> {
    json!({
        "infno": infno, "msgid": msgid, "mdtrtarea_admvs": admdvs, "insuplc_admdvs": admdvs, "recer_sys_code": "YBXT",
        "infver": "V1.0", "opter_type": "1", "opter": "0001", "opter_name": "收费员", "inf_time": now().to_string(),
        "fixmedins_code": code, "fixmedins_name": "测试医院", "sign_no": "", "input": input,
    })
    .to_string()
    .into_bytes()
}

fn fee_rows(mdtrt_id: &str, psn_no: &str, items: &[Item], n: usize) -> Value {
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            let (local, national) = &items[i % items.len()];
            json!({ "feedetl_sn": format!("F{i}"), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1", "med_type": "11",
                    "fee_ocur_time": now().to_string(), "med_list_codg": national, "medins_list_codg": local,
                    "det_item_fee_sumamt": "37.00", "cnt": "2", "pric": "18.50", "bilg_dept_codg": "01", "bilg_dept_name": "内科",
                    "bilg_dr_codg": "D001", "bilg_dr_name": "王医生", "hosp_appr_flag": "0" })
        })
        .collect();
    Value::Array(rows)
}

fn parse(c: &mut Criterion) {
    let settle = envelope(
        "2207",
        "H11010000001202401011200000001",
        "H11010000001",
        "110100",
        json!({ "data": {
        "psn_no": "110100000000001", "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": "82.20", "psn_setlway": "01",
        "mdtrt_id": "123456789", "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310", "fulamt_ownpay_amt": "0.00",
        "overlmt_selfpay": "0.00", "preselfpay_amt": "4.52", "inscp_scp_amt": "77.68" } }),
    );
    let items: Vec<Item> = (0..20).map(|i| (format!("HIS-{i}"), format!("XA01AAA00010101000{i:02}"))).collect();
    let upload = envelope(
        "2204",
        "H11010000001202401011200000002",
        "H11010000001",
        "110100",
        json!({ "feedetail": fee_rows("123456789", "110100000000001", &items, 20) }),
    );
    c.bench_function("envelope/parse_2207", |b| b.iter(|| Envelope::parse(black_box(&settle)).expect("parses")));
    c.bench_function("envelope/parse_2204_20_lines", |b| {
        b.iter(|| Envelope::parse(black_box(&upload)).expect("parses"))
    });
}

/// A seeded store with one registered visit of 20 uploaded lines, and the 2206 request for it.
fn presettle_setup() -> (yibao_store_tests::TestStore, Vec<u8>) {
    let store = yibao_store_tests::sqlite_store();
    yibao_seed::seed_demo(&store, &yibao_seed::SeedOptions { persons: 200, ..Default::default() }).expect("seed");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut files: Vec<_> =
        std::fs::read_dir(dir).expect("policies").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for f in files {
        let p = yibao_domain::policy::Policy::from_json(&std::fs::read_to_string(&f).expect("read")).expect("policy");
        store.write(|tx| yibao_store::policy::put_policy(tx, &p, 0)).expect("put policy");
    }
    let (code, psn_no, items) = pick(&store).expect("a hospital, a person and items");
    // A visit is opened on the patient's own credential: the ID card's number (sealed at rest).
    let certno = store
        .read(|tx| yibao_store::registry::person_certno(tx, &psn_no))
        .expect("read the ID number")
        .expect("the person has one");
    let call = |infno: &str, serial: u32, input: Value| -> Value {
        let body = envelope(infno, &format!("{code}{}{serial:04}", now().compact()), &code, "110100", input);
        let (_, r, _) = yibao_gateway::handle(&store, &body, None, now());
        r.unwrap_or_else(|e| panic!("{infno}: {e}"))
    };
    let reg = call(
        "2201",
        1,
        json!({ "data": { "psn_no": psn_no, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "ipt_otp_no": "OP1" } }),
    );
    let mdtrt_id = reg["data"]["mdtrt_id"].as_str().expect("mdtrt_id").to_owned();
    call("2204", 2, json!({ "feedetail": fee_rows(&mdtrt_id, &psn_no, &items, 20) }));
    let pre = envelope(
        "2206",
        &format!("{code}{}0003", now().compact()),
        &code,
        "110100",
        json!({ "data": {
        "psn_no": psn_no, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": "740.00", "psn_setlway": "01",
        "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }),
    );
    (store, pre)
}

/// (local code, national code) of a catalogue item.
type Item = (String, String);

/// A Beijing hospital, an in-service employee of Beijing, and 20 of the hospital's plain items.
fn pick(store: &Store) -> Result<(String, String, Vec<Item>), DbError> {
    store.read(|tx| {
        let code = tx.query("SELECT fixmedins_code FROM institution WHERE admdvs LIKE '1101%' AND fixmedins_type = '1' ORDER BY fixmedins_code LIMIT 1", &[])?[0].str(0)?;
        let psn = tx.query("SELECT e.psn_no FROM enrollment e WHERE e.insuplc_admdvs = '110100' AND e.insutype = '310' AND e.psn_type LIKE '11%'
            AND NOT EXISTS (SELECT 1 FROM person_idet i WHERE i.psn_no = e.psn_no) ORDER BY e.psn_no LIMIT 1", &[])?[0].str(0)?;
        let items = tx
            .query("SELECT m.medins_list_codg, m.med_list_codg FROM med_map m JOIN catalog_item c ON c.hilist_code = m.med_list_codg
                    WHERE m.fixmedins_code = $1 AND c.pric_uplmt IS NULL AND c.lmt_used_flag = 0 AND c.rules = '{}' ORDER BY 1 LIMIT 20", params![code.as_str()])?
            .iter()
            .map(|r| Ok((r.str(0)?, r.str(1)?)))
            .collect::<Result<Vec<Item>, DbError>>()?;
        Ok((code, psn, items))
    })
}

fn presettle(c: &mut Criterion) {
    let (store, body) = presettle_setup();
    let t = now();
    c.bench_function("handle/2206_presettle_20_lines", |b| {
        b.iter(|| {
            let (_, r, _) = yibao_gateway::handle(&store, black_box(&body), None, t);
            r.expect("pre-settles")
        })
    });
    let (_, answer, _) = yibao_gateway::handle(&store, &body, None, t);
    let answer = json!({ "infcode": 0, "output": answer.expect("pre-settles") });
    c.bench_function("response/serialize_2206", |b| {
        b.iter(|| serde_json::to_vec(black_box(&answer)).expect("serializes"))
    });
}

criterion_group!(benches, parse, presettle);
criterion_main!(benches);
