//! A hospital system's view of the platform: holds a credential of its institution, signs every
//! request with the x-tif headers, builds envelopes with fresh msgids and reads answers. Also
//! seeds a small demo world and looks up what the tests need in it.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use yibao_domain::{DateTime, Fen};
use yibao_gateway::{App, AuthHeaders, AuthMode, Limits};
use yibao_store::{params, DbError, Store};

pub struct Hospital<'a> {
    pub store: &'a Store,
    pub code: String,
    pub admdvs: String,
    seq: AtomicU32,
    /// The platform as this hospital reaches it: authentication required.
    pub app: App,
    pub paasid: String,
    pub secret: String,
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

static NONCE: AtomicU64 = AtomicU64::new(0);

/// A nonce never used before in this process.
pub fn nonce() -> String {
    format!("t{}-{}", std::process::id(), NONCE.fetch_add(1, Ordering::Relaxed))
}

/// Issues a credential for an institution; (paasid, secret).
pub fn credential(store: &Store, code: &str) -> (String, String) {
    let c = store.write(|tx| yibao_store::credential::issue(tx, code, None, unix_now())).expect("issue a credential");
    (c.paasid.clone(), c.secret.clone())
}

/// Now, China time, as the platform sees it.
pub fn now() -> DateTime {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    DateTime(secs + 8 * 3600)
}

static RUN: AtomicU32 = AtomicU32::new(0);

impl<'a> Hospital<'a> {
    pub fn new(store: &'a Store, code: &str) -> Hospital<'a> {
        let admdvs = format!("{}00", &code[1..5]);
        let (paasid, secret) = credential(store, code);
        // No rate limit here: the suite sends as fast as it can; tests/trust.rs covers the limit.
        let app = App::with_auth(store.clone(), AuthMode::Required, Limits { rate_per_sec: 0.0, ..Limits::default() });
        Hospital {
            store,
            code: code.to_owned(),
            admdvs,
            seq: AtomicU32::new(RUN.fetch_add(1000, Ordering::Relaxed)),
            app,
            paasid,
            secret,
        }
    }

    /// Fresh x-tif headers for the next request.
    pub fn headers(&self) -> AuthHeaders {
        AuthHeaders::sign(&self.paasid, &self.secret, unix_now(), &nonce())
    }

    /// fixmedins_code(12) + time(14) + serial(4): the spec's msgid shape.
    pub fn msgid(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) % 10_000;
        format!("{}{}{n:04}", self.code, now().compact())
    }

    pub fn envelope(&self, infno: &str, msgid: &str, input: Value) -> Value {
        json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": self.admdvs, "insuplc_admdvs": self.admdvs,
            "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "0001", "opter_name": "收费员",
            "inf_time": now().to_string(), "fixmedins_code": self.code, "fixmedins_name": "测试医院", "sign_no": "",
            "input": input,
        })
    }

    /// Sends a signed request and returns the whole response envelope (plus `http_status`).
    pub fn raw(&self, envelope: &Value) -> Value {
        self.raw_with(&self.headers(), envelope.to_string().as_bytes())
    }

    /// Sends `body` with the given headers.
    pub fn raw_with(&self, headers: &AuthHeaders, body: &[u8]) -> Value {
        let (_, result, _) = yibao_gateway::handle_request(&self.app, headers, body, None, now());
        answer(result)
    }

    /// Sends a request past authentication, as a trusted tool inside the platform would.
    pub fn raw_unsigned(&self, envelope: &Value) -> Value {
        let (_, result, _) = yibao_gateway::handle(self.store, envelope.to_string().as_bytes(), None, now());
        answer(result)
    }

    pub fn send(&self, infno: &str, msgid: &str, input: Value) -> Value {
        self.raw(&self.envelope(infno, msgid, input))
    }

    /// A call that must succeed; returns its output.
    pub fn ok(&self, infno: &str, input: Value) -> Value {
        let r = self.send(infno, &self.msgid(), input);
        assert_eq!(r["infcode"], 0, "{infno} failed: {r}");
        r["output"].clone()
    }

    /// A call that must fail with a business error; returns err_msg.
    pub fn fails(&self, infno: &str, input: Value) -> String {
        let r = self.send(infno, &self.msgid(), input);
        assert_eq!(r["infcode"], -2, "{infno} should have been refused: {r}");
        r["err_msg"].as_str().unwrap_or_default().to_owned()
    }
}

fn answer(result: Result<Value, yibao_gateway::GatewayError>) -> Value {
    match result {
        Ok(out) => json!({ "infcode": 0, "output": out, "http_status": 200 }),
        Err(e) => json!({ "infcode": e.infcode(), "err_msg": e.to_string(), "http_status": e.http_status() }),
    }
}

pub fn fen(v: &Value) -> Fen {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v} is not an amount: {e}"))
}

/// The national identities on a setlinfo.
pub fn check_setlinfo(s: &Value) {
    let f = |k: &str| fen(&s[k]);
    assert_eq!(
        f("medfee_sumamt"),
        f("fulamt_ownpay_amt") + f("overlmt_selfpay") + f("preselfpay_amt") + f("inscp_scp_amt"),
        "{s}"
    );
    assert_eq!(f("medfee_sumamt"), f("fund_pay_sumamt") + f("psn_part_amt") + f("hosp_part_amt"), "{s}");
    assert_eq!(f("psn_part_amt"), f("acct_pay") + f("acct_mulaid_pay") + f("psn_cash_pay"), "{s}");
}

/// A seeded demo world with its policies.
pub fn seed(store: &Store) {
    let opts = yibao_seed::SeedOptions { persons: 400, ..Default::default() };
    yibao_seed::seed_demo(store, &opts).expect("seed");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let p = yibao_domain::policy::Policy::from_json(&std::fs::read_to_string(&f).unwrap()).unwrap();
        store.write(|tx| yibao_store::policy::put_policy(tx, &p, 0)).unwrap();
    }
}

pub fn scalar(store: &Store, sql: &str, args: &[&str]) -> i64 {
    store
        .read(|tx| {
            let ps: Vec<yibao_store::Value> = args.iter().map(|a| yibao_store::Value::from(*a)).collect();
            let r = tx.query_opt(sql, &ps)?.ok_or_else(|| DbError::Other("no row".into()))?;
            r.i64(0)
        })
        .unwrap()
}

pub fn text(store: &Store, sql: &str) -> String {
    store
        .read(|tx| tx.query_opt(sql, params![])?.ok_or_else(|| DbError::Other(format!("no row: {sql}")))?.str(0))
        .unwrap()
}

/// An insured person of `region` under `insutype` with `psn_type` starting with `prefix`, whose
/// account holds at least `min_balance` fen. Returns (psn_no, certno); the certificate number is
/// sealed at rest, so it comes from the registry.
pub fn person(store: &Store, region: &str, insutype: &str, prefix: &str, min_balance: i64) -> (String, String) {
    let sql = format!(
        "SELECT p.psn_no FROM person p JOIN enrollment e ON e.psn_no = p.psn_no
         WHERE e.insuplc_admdvs = '{region}' AND e.insutype = '{insutype}' AND e.psn_type LIKE '{prefix}%' AND p.death_date IS NULL
           AND COALESCE((SELECT a.balance_after FROM acct_entry a WHERE a.psn_no = p.psn_no ORDER BY a.seq DESC LIMIT 1), 0) >= {min_balance}
           AND NOT EXISTS (SELECT 1 FROM person_idet i WHERE i.psn_no = p.psn_no)
           AND NOT EXISTS (SELECT 1 FROM mulaid_binding m WHERE m.benef_psn_no = p.psn_no)
         ORDER BY p.psn_no LIMIT 1"
    );
    store
        .read(|tx| {
            let r = tx
                .query_opt(&sql, params![])?
                .ok_or_else(|| DbError::Other(format!("no person for {region}/{insutype}/{prefix}")))?;
            let psn_no = r.str(0)?;
            let p = yibao_store::registry::person_by_psn_no(tx, &psn_no)
                .map_err(|e| DbError::Other(e.to_string()))?
                .ok_or_else(|| DbError::Other(format!("person {psn_no} vanished")))?;
            Ok::<_, DbError>((psn_no, p.certno))
        })
        .unwrap()
}

/// A person's name (sealed at rest, so from the registry): 1101 by ID number needs it.
pub fn psn_name(store: &Store, psn_no: &str) -> String {
    store
        .read(|tx| yibao_store::registry::person_by_psn_no(tx, psn_no).map_err(|e| DbError::Other(e.to_string())))
        .unwrap()
        .unwrap_or_else(|| panic!("no person {psn_no}"))
        .psn_name
}

/// 1101 input for a person by ID card (02): the number and the holder's name.
pub fn by_id_card(store: &Store, psn: &(String, String)) -> serde_json::Value {
    json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "psn_name": psn_name(store, &psn.0) } })
}

/// A hospital of `region` with hosp_lv `lv`.
pub fn hospital(store: &Store, region: &str, lv: &str) -> String {
    text(store, &format!("SELECT fixmedins_code FROM institution WHERE admdvs = '{region}' AND hosp_lv = '{lv}' AND fixmedins_type = '1' ORDER BY fixmedins_code LIMIT 1"))
}

pub fn pharmacy(store: &Store, region: &str) -> String {
    text(store, &format!("SELECT fixmedins_code FROM institution WHERE admdvs = '{region}' AND fixmedins_type = '2' ORDER BY fixmedins_code LIMIT 1"))
}

/// `n` (local code, national code, chrgitm_lv) mappings of an institution, of class `lv`, without price caps or restrictions.
pub fn items(store: &Store, fixmedins: &str, lv: &str, n: usize) -> Vec<(String, String)> {
    let sql = format!(
        "SELECT m.medins_list_codg, m.med_list_codg FROM med_map m JOIN catalog_item c ON c.hilist_code = m.med_list_codg
         WHERE m.fixmedins_code = '{fixmedins}' AND c.chrgitm_lv = '{lv}' AND c.pric_uplmt IS NULL AND c.lmt_used_flag = 0 AND c.rules = '{{}}'
         ORDER BY m.medins_list_codg LIMIT {n}"
    );
    store
        .read(|tx| {
            tx.query(&sql, params![])?
                .iter()
                .map(|r| Ok::<_, DbError>((r.str(0)?, r.str(1)?)))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
}

/// Fee detail rows: (local, national, price yuan, count).
pub fn fee_rows(
    mdtrt_id: &str,
    psn_no: &str,
    batch: &str,
    prefix: &str,
    lines: &[(&(String, String), &str, &str)],
) -> Value {
    let rows: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, ((local, national), pric, cnt))| {
            let amount = yibao_domain::UnitPrice::parse(pric).unwrap().times(yibao_domain::Qty::parse(cnt).unwrap());
            json!({
                "feedetl_sn": format!("{prefix}{i}"), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch, "med_type": "21",
                "fee_ocur_time": now().to_string(), "med_list_codg": national, "medins_list_codg": local,
                "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric, "bilg_dept_codg": "01", "bilg_dept_name": "内科",
                "bilg_dr_codg": "D001", "bilg_dr_name": "王医生", "hosp_appr_flag": "0",
            })
        })
        .collect();
    Value::Array(rows)
}

pub fn balance(store: &Store, psn_no: &str) -> Fen {
    store.read(|tx| yibao_store::registry::account_balance(tx, psn_no)).unwrap()
}

/// All accumulators of a person as text, for before/after comparisons.
pub fn accumulators(store: &Store, psn_no: &str) -> Vec<(String, String, i64)> {
    store
        .read(|tx| {
            tx.query("SELECT insutype, cum_type_code, cum FROM accumulator WHERE psn_no = $1 AND cum <> 0 ORDER BY insutype, cum_type_code", params![psn_no])?
                .iter()
                .map(|r| Ok::<_, DbError>((r.str(0)?, r.str(1)?, r.i64(2)?)))
                .collect()
        })
        .unwrap()
}

/// A writer the log subscriber appends to.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
