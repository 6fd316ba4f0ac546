//! Who may learn about a person, and whose account a visit settles against (issue 9, items 7
//! and 8): 1101 needs the patient's credential, 2001 and 5206 a patient of the institution,
//! every such read is in the audit chain, lookups are limited per institution, and a visit is
//! opened only on the person's own credential.

use crate::client::*;
use crate::pharmacy::sale;
use serde_json::{json, Value};
use yibao_domain::codes::IdCardNo;
use yibao_gateway::admin::{self, Actor};
use yibao_gateway::{ecred, App, AuthMode, Limits};
use yibao_store::{audit, Store};
use yibao_store_tests::conformance;

fn counts(store: &Store) -> Vec<i64> {
    ["visit", "msg_log", "audit_log", "settlement", "fee_line", "acct_entry"]
        .iter()
        .map(|t| scalar(store, &format!("SELECT COUNT(*) FROM {t}"), &[]))
        .collect()
}

/// Audit records of `action` in an institution's chain: (target, detail).
fn reads(store: &Store, code: &str, action: &str) -> Vec<(String, String)> {
    store
        .read(|tx| audit::records(tx, code, 0, 10_000))
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| (r.target, r.detail))
        .collect()
}

/// A valid ID number that no insured person of the store holds.
fn unknown_id(store: &Store) -> String {
    let day = yibao_domain::Date::parse("1901-02-03").unwrap();
    let id = IdCardNo::from_parts("110101", day, 997).unwrap();
    let n = scalar(store, &format!("SELECT COUNT(*) FROM person WHERE brdy = {}", day.days()), &[]);
    assert_eq!(n, 0, "nobody of the demo world was born on that day");
    id.expose().to_owned()
}

fn ec(store: &Store, psn_no: &str) -> String {
    admin::issue_ec(store, &Actor::System("test".into()), psn_no, 300).unwrap()["mdtrt_cert_no"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn register(h: &Hospital, psn_no: &str, cert: Value) -> Value {
    let mut d = json!({ "psn_no": psn_no, "insutype": "310", "begntime": now().to_string(), "ipt_otp_no": h.msgid() });
    d.as_object_mut().unwrap().extend(cert.as_object().unwrap().clone());
    h.send("2201", &h.msgid(), json!({ "data": d }))
}

conformance! {
    /// 1101 answers only for the credential the patient presents: not for a psn_no, not for an
    /// ID number without the holder's name; a wrong name is answered as an unknown number. Each
    /// answer is in the institution's audit chain; a refusal is not an answer and is not.
    fn a_person_lookup_needs_the_patients_credential(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let name = psn_name(store, &psn.0);

        let by_psn_no = h.fails("1101", json!({ "data": { "psn_no": psn.0 } }));
        assert!(by_psn_no.contains("input.data.mdtrt_cert_type: required") && by_psn_no.contains("not by psn_no"), "{by_psn_no}");
        assert!(!by_psn_no.contains(&name), "{by_psn_no}");
        let no_name = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1 } }));
        assert!(no_name.contains("input.data.psn_name: required"), "{no_name}");
        let wrong_name = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "psn_name": format!("{name}甲") } }));
        let unknown = unknown_id(store);
        let nobody = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": unknown, "psn_name": name } }));
        let masked = |id: &str| IdCardNo::parse(id).unwrap().masked();
        assert_eq!(wrong_name.replace(&masked(&psn.1), "?"), nobody.replace(&masked(&unknown), "?"), "a wrong name is answered as a number nobody holds");
        let no_sn = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "03", "mdtrt_cert_no": psn.1 } }));
        assert!(no_sn.contains("input.data.card_sn: required"), "{no_sn}");
        assert!(reads(store, &h.code, "1101").is_empty(), "refusals read nothing and record nothing");

        let answers = [
            h.ok("1101", by_id_card(store, &psn)),
            h.ok("1101", json!({ "data": { "psn_cert_type": "01", "certno": psn.1, "psn_name": name } })),
            h.ok("1101", json!({ "data": { "mdtrt_cert_type": "03", "mdtrt_cert_no": psn.1, "card_sn": "K0123456789", "psn_name": name } })),
            h.ok("1101", json!({ "data": { "mdtrt_cert_type": "01", "mdtrt_cert_no": ec(store, &psn.0) } })),
        ];
        for a in &answers {
            assert_eq!(a["baseinfo"]["psn_no"], psn.0.as_str(), "{a}");
        }
        let audited = reads(store, &h.code, "1101");
        assert_eq!(audited.len(), 4, "every answer is a record: {audited:?}");
        for (target, detail) in &audited {
            assert_eq!(target, &psn.0);
            assert!(detail.contains("read") && !detail.contains(&psn.1) && !detail.contains(&name), "{detail}");
        }
        assert!(store.read(audit::verify).unwrap().problems.is_empty());
    }

    /// A visit settles against the account of the person it names, so it is opened only on
    /// that person's own credential: another person's ID number, card or e-credential, or none,
    /// is refused by 2201, 2401 and 2102, and nothing is written.
    fn a_visit_needs_the_persons_own_credential(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let other = person(store, "110100", "310", "12", 0);
        assert_ne!(psn.1, other.1);
        let their_token = ec(store, &other.0);
        let before = counts(store);
        let refused = |r: Value, want: &str| {
            assert_eq!(r["infcode"], -2, "{r}");
            let e = r["err_msg"].as_str().unwrap();
            assert!(e.contains(want), "{want}: {e}");
        };
        let not_theirs = format!("is not that of psn_no {}", psn.0);
        refused(register(&h, &psn.0, json!({ "mdtrt_cert_type": "02", "mdtrt_cert_no": other.1 })), &not_theirs);
        refused(register(&h, &psn.0, json!({ "mdtrt_cert_type": "03", "mdtrt_cert_no": other.1, "card_sn": "K1" })), &not_theirs);
        refused(register(&h, &psn.0, json!({ "mdtrt_cert_type": "02" })), "input.data.mdtrt_cert_no: required");
        refused(register(&h, &psn.0, json!({})), "input.data.mdtrt_cert_type: required");
        refused(register(&h, &psn.0, json!({ "mdtrt_cert_type": "01", "mdtrt_cert_no": their_token })), "belongs to another person");
        let adm = |certno: &str| h.send("2401", &h.msgid(), json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": "21", "ipt_no": h.msgid(), "dise_codg": "J18.900", "dise_name": "肺炎" }, "diseinfo": [] }));
        refused(adm(&other.1), &not_theirs);
        let shop = Hospital::new(store, &pharmacy(store, "110100"));
        let mixed = (psn.0.clone(), other.1.clone());
        refused(shop.send("2101", &shop.msgid(), sale(&shop, &mixed, "55.60")), &not_theirs);
        refused(shop.send("2102", &shop.msgid(), sale(&shop, &mixed, "55.60")), &not_theirs);
        assert_eq!(counts(store), before, "refused visits write nothing");

        // The person's own credential opens them; settling the visit with another's is refused.
        let reg = register(&h, &psn.0, json!({ "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1 }));
        let mdtrt_id = reg["output"]["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        let pre = |certno: &str| h.send("2206", &h.msgid(), json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "mdtrt_id": mdtrt_id, "medfee_sumamt": "0", "acct_used_flag": "1" } }));
        refused(pre(&other.1), &not_theirs);
        refused(pre(&psn.1), "no unsettled fee details");
        assert_eq!(register(&h, &psn.0, json!({ "mdtrt_cert_type": "03", "mdtrt_cert_no": psn.1, "card_sn": "K1" }))["infcode"], 0);
        assert_eq!(adm(&psn.1)["infcode"], 0);
        assert_eq!(shop.send("2102", &shop.msgid(), sale(&shop, &psn, "55.60"))["infcode"], 0);
    }

    /// 2001 and 5206 carry only a psn_no: they answer an institution with a current visit of
    /// the person, or one that presents the person's credential; anyone else is refused alike
    /// whether the person exists or not. Answers are audited.
    fn benefit_check_and_totals_only_for_the_institutions_patients(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let elsewhere = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 0);
        let other = person(store, "110100", "310", "12", 0);
        let q2001 = |h: &Hospital, psn_no: &str, extra: Value| {
            let mut d = json!({ "psn_no": psn_no, "insutype": "310" });
            d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            h.send("2001", &h.msgid(), json!({ "data": d }))
        };
        let q5206 = |h: &Hospital, psn_no: &str| h.send("5206", &h.msgid(), json!({ "data": { "psn_no": psn_no } }));
        let err = |r: Value| r["err_msg"].as_str().unwrap_or_default().replace(&psn.0, "?").replace("110100999999999", "?");
        let stranger = err(q2001(&h, &psn.0, json!({})));
        assert!(stranger.contains("not a patient of"), "{stranger}");
        assert_eq!(stranger, err(q2001(&h, "110100999999999", json!({}))), "refused alike whether the person exists or not");
        assert!(err(q5206(&h, &psn.0)).contains("not a patient of"));
        assert!(err(q2001(&h, &psn.0, json!({ "mdtrt_cert_type": "02", "mdtrt_cert_no": other.1 }))).contains("is not that of psn_no"));
        assert!(reads(store, &h.code, "2001").is_empty() && reads(store, &h.code, "5206").is_empty());

        // With the person's credential; then, once registered here, by psn_no.
        let r = q2001(&h, &psn.0, json!({ "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1 }));
        assert_eq!(r["output"]["trtinfo"][0]["trt_enjymnt_flag"], "1", "{r}");
        assert_eq!(register(&h, &psn.0, json!({ "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1 }))["infcode"], 0);
        assert_eq!(q2001(&h, &psn.0, json!({}))["infcode"], 0);
        assert_eq!(q5206(&h, &psn.0)["infcode"], 0);
        assert!(err(q2001(&elsewhere, &psn.0, json!({}))).contains("not a patient of"), "a visit elsewhere is no relation here");
        assert_eq!(reads(store, &h.code, "2001").len(), 2);
        assert_eq!(reads(store, &h.code, "5206"), vec![(psn.0.clone(), reads(store, &h.code, "5206")[0].1.clone())]);
    }
}

/// Person lookups have a bucket of their own per institution: past it, 429 LOOKUP_LIMITED and
/// one warning line (no personal data) for the run of refusals; other transactions and other
/// institutions go on.
#[test]
fn person_lookups_are_limited_per_institution() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let limits = Limits { rate_per_sec: 0.0, lookups_per_min: 3.0, ..Limits::default() };
    let mut h = Hospital::new(&store, &hospital(&store, "110100", "01"));
    h.app = App::with_auth((*store).clone(), AuthMode::Required, limits.clone());
    let mut h2 = Hospital::new(&store, &hospital(&store, "110100", "04"));
    h2.app = h.app.clone();
    let psn = person(&store, "110100", "310", "11", 0);
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..3 {
            assert_eq!(h.send("1101", &h.msgid(), by_id_card(&store, &psn))["infcode"], 0);
        }
        for infno in ["1101", "2001", "5206", "2101"] {
            let r = h.send(infno, &h.msgid(), json!({ "data": { "psn_no": psn.0, "insutype": "310" } }));
            assert_eq!(r["http_status"], 429, "{r}");
            assert!(r["err_msg"].as_str().unwrap().starts_with("LOOKUP_LIMITED: "), "{r}");
        }
        assert_eq!(
            h.send("9001", &h.msgid(), json!({ "signIn": { "opter_no": "1" } }))["infcode"],
            0,
            "other transactions go on"
        );
        assert_eq!(h2.send("1101", &h2.msgid(), by_id_card(&store, &psn))["infcode"], 0, "other institutions go on");
    });
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let alerts: Vec<&str> = text.lines().filter(|l| l.contains("LOOKUP_LIMITED")).collect();
    assert_eq!(alerts.len(), 1, "one alert for the run of refusals: {text}");
    assert!(alerts[0].contains("WARN") && alerts[0].contains(&h.code), "{}", alerts[0]);
    assert!(!text.contains(&psn.1) && !text.contains(&psn.0), "no personal data in the alert: {text}");
}

conformance! {
    /// Every refusal of an e-credential names the field as sent, with its path: the token in
    /// `input.data` (1101, 2201) or `input.mdtrtinfo` (2401), malformed, forged, expired,
    /// another person's or already used.
    fn e_credential_errors_name_the_field_path(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let other = person(store, "110100", "310", "12", 0);
        let issue = |p: &str| admin::issue_ec(store, &Actor::System("test".into()), p, 300).unwrap()["mdtrt_cert_no"].as_str().unwrap().to_owned();
        let err = |r: &Value| r["err_msg"].as_str().unwrap_or_default().to_owned();
        let q = |tok: &str| err(&h.send("1101", &h.msgid(), json!({ "data": { "mdtrt_cert_type": "01", "mdtrt_cert_no": tok } })));
        let reg = |tok: &str| h.send("2201", &h.msgid(), json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "01", "mdtrt_cert_no": tok, "ipt_otp_no": h.msgid() } }));
        let adm = |tok: &str| err(&h.send("2401", &h.msgid(), json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "01", "mdtrt_cert_no": tok, "med_type": "21", "ipt_no": h.msgid(), "dise_codg": "J18.900", "dise_name": "肺炎" }, "diseinfo": [] })));
        let starts = |e: String, prefix: &str| assert!(e.starts_with(prefix), "expected {prefix}…: {e}");

        starts(q("110100ecnot-a-token"), "input.data.mdtrt_cert_no: not an e-credential token");
        starts(adm("110100ecnot-a-token"), "input.mdtrtinfo.mdtrt_cert_no: not an e-credential token");
        let old = ecred::issue(store.vault(), "110100", &psn.0, unix_now() - 400, 300).unwrap();
        starts(q(&old), "input.data.mdtrt_cert_no: the e-credential expired ");
        starts(adm(&old), "input.mdtrtinfo.mdtrt_cert_no: the e-credential expired ");
        let stranger = yibao_store::Vault::from_hex_list(&yibao_store::Vault::generate_hex()).unwrap();
        let forged = ecred::issue(&stranger, "110100", &psn.0, unix_now(), 300).unwrap();
        starts(q(&forged), "input.data.mdtrt_cert_no: the e-credential's signature does not verify");
        starts(adm(&forged), "input.mdtrtinfo.mdtrt_cert_no: the e-credential's signature does not verify");
        starts(adm(&issue(&other.0)), "input.mdtrtinfo.mdtrt_cert_no: the e-credential belongs to another person");

        // Used by a registration: refused for another registration and for an admission.
        let token = issue(&psn.0);
        assert_eq!(reg(&token)["infcode"], 0);
        starts(err(&reg(&token)), "input.data.mdtrt_cert_no: this e-credential was already used (2201 for visit");
        starts(adm(&token), "input.mdtrtinfo.mdtrt_cert_no: this e-credential was already used (2201 for visit");
    }
}
