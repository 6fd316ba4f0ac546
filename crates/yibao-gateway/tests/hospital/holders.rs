//! Whose credential is whose (review of issue 9, findings 2–4): 1101 by card needs the name, a
//! wrong credential and an unknown psn_no are answered alike (and counted as lookups), and a
//! person registered with a passport is served like a resident ID card holder.

use crate::client::*;
use crate::pharmacy::sale;
use serde_json::{json, Value};
use yibao_gateway::{App, AuthMode, Limits};
use yibao_store::Store;
use yibao_store_tests::conformance;

const NOBODY: &str = "110100999999999";

fn err(r: &Value) -> String {
    assert_eq!(r["infcode"], -2, "{r}");
    r["err_msg"].as_str().unwrap().to_owned()
}

fn register(h: &Hospital, psn_no: &str, cert_type: &str, certno: &str) -> Value {
    h.send("2201", &h.msgid(), json!({ "data": { "psn_no": psn_no, "insutype": "310", "begntime": now().to_string(), "ipt_otp_no": h.msgid(), "mdtrt_cert_type": cert_type, "mdtrt_cert_no": certno, "card_sn": "K1" } }))
}

/// Turns a person of the demo world into a foreign passport holder (psn_cert_type 08).
fn passport_holder(store: &Store, psn_no: &str, passport: &str) {
    store
        .write(|tx| {
            let mut p = yibao_store::registry::person_by_psn_no(tx, psn_no).unwrap().unwrap();
            p.psn_cert_type = "08".into();
            p.certno = passport.into();
            yibao_store::registry::upsert_person(tx, &p, now()).map_err(|e| yibao_store::DbError::Other(e.to_string()))
        })
        .unwrap();
}

conformance! {
    /// A social security card (03) is not checked against a register of issued cards, so its
    /// number is no more proof of presence than an ID number: 1101 wants the holder's name too.
    fn a_card_lookup_needs_the_holders_name(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let name = psn_name(store, &psn.0);
        let no_name = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "03", "mdtrt_cert_no": psn.1, "card_sn": "anything" } }));
        assert!(no_name.contains("input.data.psn_name: required with mdtrt_cert_type 03"), "{no_name}");
        let wrong = h.fails("1101", json!({ "data": { "mdtrt_cert_type": "03", "mdtrt_cert_no": psn.1, "card_sn": "K1", "psn_name": format!("{name}甲") } }));
        assert!(wrong.contains("no insured person holds"), "{wrong}");
        let ok = h.ok("1101", json!({ "data": { "mdtrt_cert_type": "03", "mdtrt_cert_no": psn.1, "card_sn": "K1", "psn_name": name } }));
        assert_eq!(ok["baseinfo"]["psn_no"], psn.0.as_str());
    }

    /// 2201, 2101 and 2001 with a credential answer an unknown psn_no exactly as an existing
    /// psn_no with someone else's credential: they do not tell who is insured.
    fn a_wrong_credential_and_an_unknown_person_are_answered_alike(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let shop = Hospital::new(store, &pharmacy(store, "110100"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let other = person(store, "110100", "310", "12", 0);
        let alike = |existing: String, unknown: String| {
            assert_eq!(existing.replace(&psn.0, "?"), unknown.replace(NOBODY, "?"));
            assert!(existing.contains("is not that of psn_no"), "{existing}");
        };
        for t in ["02", "03"] {
            alike(err(&register(&h, &psn.0, t, &other.1)), err(&register(&h, NOBODY, t, &other.1)));
            alike(err(&register(&h, &psn.0, t, &other.1)), err(&register(&h, NOBODY, t, &psn.1)));
        }
        let q2001 = |psn_no: &str| h.send("2001", &h.msgid(), json!({ "data": { "psn_no": psn_no, "insutype": "310", "mdtrt_cert_type": "02", "mdtrt_cert_no": other.1 } }));
        alike(err(&q2001(&psn.0)), err(&q2001(NOBODY)));
        let sell = |psn_no: &str| shop.send("2101", &shop.msgid(), sale(&shop, &(psn_no.to_owned(), other.1.clone()), "55.60"));
        alike(err(&sell(&psn.0)), err(&sell(NOBODY)));
        let adm = |psn_no: &str| h.send("2401", &h.msgid(), json!({ "mdtrtinfo": { "psn_no": psn_no, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": other.1, "med_type": "21", "ipt_no": h.msgid(), "dise_codg": "J18.900", "dise_name": "肺炎" }, "diseinfo": [] }));
        alike(err(&adm(&psn.0)), err(&adm(NOBODY)));
    }

    /// Persons registered with another certificate than the resident ID card (passports,
    /// permits, residence cards) are looked up by the spec's psn_cert_type + certno + psn_name,
    /// and their visits opened by their card (03, the number of their own certificate).
    fn a_passport_holder_is_served(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        passport_holder(store, &psn.0, "E12345678");
        let name = psn_name(store, &psn.0);
        let info = h.ok("1101", json!({ "data": { "psn_cert_type": "08", "certno": "e12345678", "psn_name": name } }));
        assert_eq!(info["baseinfo"]["psn_no"], psn.0.as_str());
        assert_eq!(info["baseinfo"]["psn_cert_type"], "08");
        let by_card = h.ok("1101", json!({ "data": { "mdtrt_cert_type": "03", "mdtrt_cert_no": "E12345678", "card_sn": "K1", "psn_cert_type": "08", "psn_name": name } }));
        assert_eq!(by_card["baseinfo"]["psn_no"], psn.0.as_str());
        let as_id = h.fails("1101", json!({ "data": { "psn_cert_type": "01", "certno": "E12345678", "psn_name": name } }));
        assert!(as_id.contains("input.data.certno"), "an ID card keeps its check: {as_id}");
        let r = register(&h, &psn.0, "03", "E12345678");
        assert_eq!(r["infcode"], 0, "{r}");
        let other = register(&h, &psn.0, "03", "E12345679");
        assert!(err(&other).contains("is not that of psn_no"));
        assert!(err(&register(&h, &psn.0, "02", "E12345678")).contains("input.data.mdtrt_cert_no"), "02 is the resident ID card");
        let q = h.send("2001", &h.msgid(), json!({ "data": { "psn_no": psn.0, "insutype": "310", "mdtrt_cert_type": "03", "mdtrt_cert_no": "E12345678", "card_sn": "K1" } }));
        assert_eq!(q["infcode"], 0, "{q}");
    }
}

conformance! {
    /// The spec's flow asks 2001 between 1101 and registration, with a psn_no only: a 1101 of
    /// the same institution for the person's credential, within a day, is a relation; another
    /// institution's 1101 is not.
    fn a_benefit_check_follows_a_person_lookup(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let stranger = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 0);
        let q2001 = |h: &Hospital| h.send("2001", &h.msgid(), json!({ "data": { "psn_no": psn.0, "insutype": "310" } }));
        assert!(err(&q2001(&h)).contains("not a patient of"));
        h.ok("1101", by_id_card(store, &psn));
        let r = q2001(&h);
        assert_eq!(r["output"]["trtinfo"][0]["trt_enjymnt_flag"], "1", "{r}");
        assert!(err(&q2001(&stranger)).contains("not a patient of"), "another institution's 1101 is no relation");
        assert_eq!(h.send("5206", &h.msgid(), json!({ "data": { "psn_no": psn.0 } }))["infcode"], 0);
    }
}

conformance! {
    /// A number given with a pre-settlement or settlement is compared with what the request
    /// loaded already (the number the visit was opened with, or the person's own for a visit
    /// opened by e-credential), not looked up again by blind index: a registry row whose index
    /// no longer matches does not matter to it.
    fn a_given_number_is_compared_with_the_visits(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let other = person(store, "110100", "310", "12", 0);
        let (mdtrt_id, total) = crate::outpatient::register_and_upload(&h, &psn);
        let token = yibao_gateway::admin::issue_ec(store, &yibao_gateway::admin::Actor::System("t".into()), &psn.0, 300).unwrap()["mdtrt_cert_no"].as_str().unwrap().to_owned();
        let by_token = h.ok("2201", json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "ipt_otp_no": h.msgid(), "mdtrt_cert_type": "01", "mdtrt_cert_no": token } }));
        let by_token = by_token["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        let a = items(store, &h.code, "01", 1);
        h.ok("2204", json!({ "feedetail": fee_rows(&by_token, &psn.0, "B1", "T", &[(&a[0], "10", "1")]) }));
        store.write(|tx| tx.execute("UPDATE person SET cert_bidx = 'stale' WHERE psn_no = $1", yibao_store::params![&psn.0]).map(drop)).unwrap();
        let pre = |m: &str, fee: &str, certno: &str| h.send("2206", &h.msgid(), json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "mdtrt_id": m, "medfee_sumamt": fee, "chrg_bchno": "B1", "acct_used_flag": "1" } }));
        let total = total.to_string();
        assert_eq!(pre(&mdtrt_id, &total, &psn.1.to_lowercase())["infcode"], 0);
        assert!(err(&pre(&mdtrt_id, &total, &other.1)).contains("is not that of psn_no"));
        assert_eq!(pre(&by_token, "10", &psn.1)["infcode"], 0);
        assert!(err(&pre(&by_token, "10", &other.1)).contains("is not that of psn_no"));
    }
}

conformance! {
    /// An e-credential bound to one institution's visit is not presented again by another,
    /// even for a read (1101, 2001).
    fn a_bound_token_is_not_replayed_elsewhere(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let elsewhere = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 0);
        let token = yibao_gateway::admin::issue_ec(store, &yibao_gateway::admin::Actor::System("t".into()), &psn.0, 300).unwrap()["mdtrt_cert_no"].as_str().unwrap().to_owned();
        let cred = json!({ "mdtrt_cert_type": "01", "mdtrt_cert_no": token });
        let r = h.send("2201", &h.msgid(), json!({ "data": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "ipt_otp_no": h.msgid(), "mdtrt_cert_type": "01", "mdtrt_cert_no": token } }));
        assert_eq!(r["infcode"], 0, "{r}");
        let mdtrt_id = r["output"]["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        assert_eq!(h.send("1101", &h.msgid(), json!({ "data": cred }))["infcode"], 0, "the visit's institution may read again");
        let e = err(&elsewhere.send("1101", &elsewhere.msgid(), json!({ "data": cred })));
        assert!(e.contains("already used at another institution") && !e.contains(&mdtrt_id), "{e}");
        let e = err(&elsewhere.send("2001", &elsewhere.msgid(), json!({ "data": { "psn_no": psn.0, "insutype": "310", "mdtrt_cert_type": "01", "mdtrt_cert_no": token } })));
        assert!(e.contains("already used at another institution"), "{e}");
    }
}

/// Refused credentials of 2201 count against the person-lookup limit: guessing who holds a
/// number through registrations is limited as lookups are.
#[test]
fn refused_credentials_count_as_lookups() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let limits = Limits { rate_per_sec: 0.0, lookups_per_min: 3.0, ..Limits::default() };
    let mut h = Hospital::new(&store, &hospital(&store, "110100", "01"));
    h.app = App::with_auth((*store).clone(), AuthMode::Required, limits);
    let psn = person(&store, "110100", "310", "11", 0);
    let other = person(&store, "110100", "310", "12", 0);
    for _ in 0..3 {
        assert!(err(&register(&h, &psn.0, "02", &other.1)).contains("is not that of psn_no"));
    }
    let r = h.send("1101", &h.msgid(), by_id_card(&store, &psn));
    assert_eq!(r["http_status"], 429, "{r}");
    assert_eq!(register(&h, &psn.0, "02", &psn.1)["infcode"], 0, "registrations themselves are not limited");
}
