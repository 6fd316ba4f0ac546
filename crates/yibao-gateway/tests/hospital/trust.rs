//! Trust, end to end: every refusal (bad signature, stale timestamp, replayed nonce, wrong
//! institution, another institution's visit or settlement, expired / forged / reused
//! e-credential, operator outside their region or role, rate limit) and every guarantee (no clear
//! ID number in the database file or the logs, the audit chain catches a one-byte change).

use crate::client::*;
use crate::outpatient::{register_and_upload, settle_input};
use serde_json::{json, Value};
use yibao_gateway::admin::{self, Actor, NewOperator};
use yibao_gateway::{ecred, App, AuthHeaders, AuthMode, Limits};
use yibao_store::{audit, params, Store};
use yibao_store_tests::conformance;

fn counts(store: &Store) -> Vec<i64> {
    ["visit", "msg_log", "audit_log", "settlement", "ec_use"]
        .iter()
        .map(|t| scalar(store, &format!("SELECT COUNT(*) FROM {t}"), &[]))
        .collect()
}

fn err(r: &Value) -> &str {
    r["err_msg"].as_str().unwrap_or_default()
}

/// Refused with this HTTP status and stable code.
fn assert_refused(r: &Value, status: u16, code: &str) {
    assert_eq!(r["http_status"], status, "{r}");
    assert_eq!(r["infcode"], -2, "{r}");
    assert!(err(r).starts_with(&format!("{code}: ")), "expected {code}: {r}");
}

fn system() -> Actor {
    Actor::System("test".into())
}

/// An envelope of 1101 for a person, as text.
fn query_1101(h: &Hospital, psn: &(String, String)) -> String {
    h.envelope("1101", &h.msgid(), by_id_card(h.store, psn)).to_string()
}

fn register_2201(h: &Hospital, psn_no: &str, cert_type: &str, cert_no: &str) -> Value {
    h.send("2201", &h.msgid(), json!({ "data": { "psn_no": psn_no, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no, "ipt_otp_no": h.msgid() } }))
}

fn login(store: &Store, id: &str, password: &str) -> Actor {
    let logins = admin::Logins::default();
    let (token, _) = admin::login(store, &logins, id, password).unwrap_or_else(|e| panic!("login {id}: {e}"));
    Actor::Operator(admin::session(store, &token).unwrap())
}

fn add(store: &Store, by: &Actor, id: &str, role: &str, admdvs: &str) -> Result<Value, admin::AdminError> {
    let n = NewOperator {
        opter_id: id.into(),
        opter_name: id.into(),
        role: role.into(),
        admdvs: admdvs.into(),
        password: format!("{id}-password-1"),
    };
    admin::add_operator(store, by, &n)
}

conformance! {
    /// x-tif headers: missing, malformed, wrong secret, stale, replayed, unknown, revoked, wrong
    /// institution — each refused with its status and code, and none writes anything.
    fn x_tif_refusals(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let other = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 0);
        let ok = h.raw_with(&h.headers(), query_1101(&h, &psn).as_bytes());
        assert_eq!(ok["infcode"], 0, "{ok}");
        let before = counts(store);
        let write = |hd: &AuthHeaders| h.raw_with(hd, h.envelope("9001", &h.msgid(), json!({ "signIn": { "opter_no": "1" } })).to_string().as_bytes());

        assert_refused(&write(&AuthHeaders::default()), 401, "AUTH_MISSING");
        let mut no_sig = h.headers();
        no_sig.signature = None;
        assert_refused(&write(&no_sig), 401, "AUTH_MISSING");
        assert_refused(&write(&AuthHeaders::sign(&h.paasid, "not the secret", unix_now(), &nonce())), 401, "AUTH_BAD_SIGNATURE");
        let mut other_nonce = h.headers();
        other_nonce.nonce = Some(nonce());
        assert_refused(&write(&other_nonce), 401, "AUTH_BAD_SIGNATURE");
        let mut shifted = h.headers();
        shifted.timestamp = Some((unix_now() + 1).to_string());
        assert_refused(&write(&shifted), 401, "AUTH_BAD_SIGNATURE");
        assert_refused(&write(&AuthHeaders::sign(&h.paasid, &h.secret, unix_now() - 301, &nonce())), 401, "AUTH_STALE");
        assert_refused(&write(&AuthHeaders::sign(&h.paasid, &h.secret, unix_now() + 301, &nonce())), 401, "AUTH_STALE");
        assert_refused(&write(&AuthHeaders::sign(&h.paasid, &h.secret, unix_now(), "a nonce with spaces")), 401, "AUTH_MALFORMED");
        let mut bad_ts = h.headers();
        bad_ts.timestamp = Some("-12".into());
        assert_refused(&write(&bad_ts), 401, "AUTH_MALFORMED");
        assert_refused(&write(&AuthHeaders::sign("H11010000001-00000000", &h.secret, unix_now(), &nonce())), 401, "AUTH_UNKNOWN_PAASID");
        // Another institution's credential cannot speak for this one.
        let r = other.raw_with(&other.headers(), h.envelope("9001", &h.msgid(), json!({ "signIn": { "opter_no": "1" } })).to_string().as_bytes());
        assert_refused(&r, 403, "AUTH_WRONG_INSTITUTION");
        assert_eq!(counts(store), before, "refused requests write nothing");

        // A replayed nonce: the first use passes, the second is refused.
        let once = h.headers();
        assert_eq!(h.raw_with(&once, query_1101(&h, &psn).as_bytes())["infcode"], 0);
        assert_refused(&h.raw_with(&once, query_1101(&h, &psn).as_bytes()), 401, "AUTH_REPLAY");

        // Rotation: the old secret works during the overlap, not after it.
        let rotated = admin::rotate_credential(store, &system(), &h.paasid, 600).unwrap();
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();
        h.app.guard.forget_credential(&h.paasid);
        let q = |secret: &str| h.raw_with(&AuthHeaders::sign(&h.paasid, secret, unix_now(), &nonce()), query_1101(&h, &psn).as_bytes());
        assert_eq!(q(&h.secret)["infcode"], 0, "the old secret during the overlap");
        assert_eq!(q(&new_secret)["infcode"], 0);
        store.write(|tx| yibao_store::credential::rotate(tx, &h.paasid, unix_now() - 1, unix_now())).unwrap();
        h.app.guard.forget_credential(&h.paasid);
        assert_refused(&q(&new_secret), 401, "AUTH_BAD_SIGNATURE");
        // Revocation.
        admin::revoke_credential(store, &system(), &h.paasid).unwrap();
        h.app.guard.forget_credential(&h.paasid);
        assert_refused(&q(&h.secret), 401, "AUTH_REVOKED");
    }

    /// signtype SM3 (HMAC-SM3 under the secret) and SM2 (the institution's registered key) cover
    /// the input: a changed input is refused.
    fn envelope_signatures_cover_the_input(store: &Store) {
        seed(store);
        let code = hospital(store, "110100", "01");
        let h = Hospital::new(store, &code);
        let psn = person(store, "110100", "310", "11", 0);
        let signed = |h: &Hospital, signtype: &str, sign: &dyn Fn(&str) -> String, tamper: bool| {
            let hd = h.headers();
            let mut env = h.envelope("1101", &h.msgid(), by_id_card(store, &psn));
            let s = yibao_gateway::auth::Signed {
                infno: "1101", msgid: env["msgid"].as_str().unwrap(), fixmedins_code: &h.code,
                signtype: Some(signtype), cainfo: None, input: Some(&env["input"]),
            };
            let text = yibao_gateway::auth::signing_text(hd.timestamp.as_deref().unwrap().parse().unwrap(), hd.nonce.as_deref().unwrap(), &h.paasid, &s);
            env["signtype"] = json!(signtype);
            env["cainfo"] = json!(sign(&text));
            if tamper {
                env["input"]["data"]["mdtrt_cert_no"] = json!(psn.1.replace('1', "2"));
            }
            h.raw_with(&hd, env.to_string().as_bytes())
        };
        let secret = h.secret.clone();
        let sm3 = move |t: &str| yibao_gateway::auth::cainfo_sm3(&secret, t);
        assert_eq!(signed(&h, "SM3", &sm3, false)["infcode"], 0);
        assert_refused(&signed(&h, "SM3", &sm3, true), 401, "AUTH_BAD_SIGNATURE");
        assert_refused(&signed(&h, "SM2", &sm3, false), 401, "AUTH_NO_SM2_KEY");
        assert_refused(&signed(&h, "RSA", &sm3, false), 401, "AUTH_MALFORMED");

        // An institution that registered an SM2 key must sign with it.
        let key = yibao_crypto::sm2::KeyPair::generate();
        let c = admin::issue_credential(store, &system(), &code, Some(&key.public().to_hex())).unwrap();
        let mut h2 = Hospital::new(store, &code);
        h2.paasid = c["paasid"].as_str().unwrap().to_owned();
        h2.secret = c["secret"].as_str().unwrap().to_owned();
        let sm2 = |t: &str| yibao_gateway::auth::cainfo_sm2(&key, t);
        assert_eq!(signed(&h2, "SM2", &sm2, false)["infcode"], 0);
        assert_refused(&signed(&h2, "SM2", &sm2, true), 401, "AUTH_BAD_SIGNATURE");
        let stranger = yibao_crypto::sm2::KeyPair::generate();
        assert_refused(&signed(&h2, "SM2", &|t: &str| yibao_gateway::auth::cainfo_sm2(&stranger, t), false), 401, "AUTH_BAD_SIGNATURE");
        let secret2 = h2.secret.clone();
        assert_refused(&signed(&h2, "SM3", &move |t: &str| yibao_gateway::auth::cainfo_sm3(&secret2, t), false), 401, "AUTH_SIGNATURE_REQUIRED");
        assert_refused(&h2.raw(&h2.envelope("1101", &h2.msgid(), json!({ "data": { "psn_no": psn.0 } }))), 401, "AUTH_SIGNATURE_REQUIRED");
    }

    /// 2207, 2208, 2304 and 5203 on another institution's visit or settlement are refused (or,
    /// for the query, answer nothing), and change nothing.
    fn another_institutions_visit_or_settlement_is_refused(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let other = Hospital::new(store, &hospital(store, "110100", "04"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let (mdtrt_id, total) = register_and_upload(&h, &psn);
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }));
        let input = settle_input(&psn.0, &psn.1, &mdtrt_id, &pre);
        let before = counts(store);
        assert!(other.fails("2207", input.clone()).contains("belongs to another institution"));
        assert_eq!(counts(store), before);
        let setl = h.ok("2207", input);
        let setl_id = setl["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
        let before = counts(store);
        let theirs = other.fails("2208", json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn.0 } }));
        assert!(theirs.contains("belongs to another institution"), "{theirs}");
        let listed = other.ok("5203", json!({ "data": { "psn_no": psn.0, "setl_id": setl_id } }));
        assert_eq!(listed["setlinfos"], json!([]), "another institution's settlement is not shown");
        let mine = h.ok("5203", json!({ "data": { "psn_no": psn.0, "setl_id": setl_id } }));
        assert_eq!(mine["setlinfos"].as_array().unwrap().len(), 1);
        // An inpatient stay at h, settled by the other institution.
        let adm = h.ok("2401", json!({ "mdtrtinfo": { "psn_no": psn.0, "insutype": "310", "begntime": now().to_string(), "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "21", "ipt_no": h.msgid(), "dise_codg": "J18.900", "dise_name": "肺炎" }, "diseinfo": [] }));
        let stay = adm["result"]["mdtrt_id"].as_str().unwrap().to_owned();
        let before_stay = counts(store);
        let theirs = other.fails("2304", json!({ "data": { "psn_no": psn.0, "mdtrt_id": stay, "medfee_sumamt": "0", "mid_setl_flag": "1", "insutype": "310" } }));
        assert!(theirs.contains("belongs to another institution"), "{theirs}");
        assert_eq!(counts(store), before_stay);
        assert_eq!(before[3] , counts(store)[3], "no settlement was written by the other institution");
    }

    /// E-credentials: accepted in 1101/2201/2206/2207; bound to one visit; expired, forged,
    /// altered, another person's and reused tokens refused with clear errors.
    fn e_credentials(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 50_000);
        let other_psn = person(store, "110100", "310", "12", 0);
        let issue = |p: &str| admin::issue_ec(store, &system(), p, 300).unwrap()["mdtrt_cert_no"].as_str().unwrap().to_owned();
        let token = issue(&psn.0);
        assert!(token.starts_with("110100ec"), "{token}");
        let info = h.ok("1101", json!({ "data": { "mdtrt_cert_type": "01", "mdtrt_cert_no": token } }));
        assert_eq!(info["baseinfo"]["psn_no"], psn.0.as_str());
        assert_eq!(info["baseinfo"]["certno"], psn.1.as_str(), "the HIS gets the clear number of the holder it authenticated");
        // A 1101 read does not use the token up: it registers a visit next.
        let reg = register_2201(&h, &psn.0, "01", &token);
        assert_eq!(reg["infcode"], 0, "{reg}");
        let visit_a = reg["output"]["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        // The same token for another registration: used.
        let again = register_2201(&h, &psn.0, "01", &token);
        assert!(err(&again).contains("already used (2201 for visit"), "{again}");
        // Fees, pre-settlement and settlement of visit A with the same token: the same visit.
        let a = items(store, &h.code, "01", 1);
        h.ok("2204", json!({ "feedetail": fee_rows(&visit_a, &psn.0, "B1", "F", &[(&a[0], "18.50", "2")]) }));
        let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "01", "mdtrt_cert_no": token, "med_type": "11", "medfee_sumamt": "37.00", "psn_setlway": "01", "mdtrt_id": visit_a, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }));
        let mut input = settle_input(&psn.0, &token, &visit_a, &pre);
        input["data"]["mdtrt_cert_type"] = json!("01");
        let setl = h.send("2207", &h.msgid(), input.clone());
        assert_eq!(setl["infcode"], 0, "{setl}");
        // A second visit cannot be settled with the first visit's token.
        let token_b = issue(&psn.0);
        let visit_b = register_2201(&h, &psn.0, "01", &token_b)["output"]["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        input["data"]["mdtrt_id"] = json!(visit_b);
        let reused = h.send("2207", &h.msgid(), input);
        assert!(err(&reused).contains("already used"), "{reused}");

        let q = |tok: &str| h.send("1101", &h.msgid(), json!({ "data": { "mdtrt_cert_type": "01", "mdtrt_cert_no": tok } }));
        // Expired.
        let old = ecred::issue(store.vault(), "110100", &psn.0, unix_now() - 400, 300).unwrap();
        assert!(err(&q(&old)).contains("the e-credential expired 100 s ago"), "{}", q(&old));
        // Forged: signed by another key.
        let stranger = yibao_store::Vault::from_hex_list(&yibao_store::Vault::generate_hex()).unwrap();
        let forged = ecred::issue(&stranger, "110100", &psn.0, unix_now(), 300).unwrap();
        assert!(err(&q(&forged)).contains("signature does not verify"), "{}", q(&forged));
        // Altered: one character changed.
        let mut altered = token.clone().into_bytes();
        let i = altered.len() / 2;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        let r = q(std::str::from_utf8(&altered).unwrap());
        assert!(err(&r).contains("does not verify") || err(&r).contains("not an e-credential"), "{r}");
        assert!(err(&q("110100ecnot-a-token")).contains("not an e-credential"));
        // Another person's token for this psn_no.
        let theirs = issue(&other_psn.0);
        assert!(err(&register_2201(&h, &psn.0, "01", &theirs)).contains("belongs to another person"));
        assert_eq!(scalar(store, "SELECT COUNT(*) FROM ec_use", &[]), 2, "uses recorded: visit A, visit B");
    }

    /// Every interface write appends to its institution's chain in the same transaction; a
    /// refused write or a replay appends nothing; a one-byte change is named by verify.
    fn gateway_writes_are_audited(store: &Store) {
        seed(store);
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let psn = person(store, "110100", "310", "11", 0);
        let audit_n = || scalar(store, "SELECT COUNT(*) FROM audit_log WHERE stream = $1", &[&h.code]);
        let msgid = h.msgid();
        let sign_in = json!({ "signIn": { "opter_no": "0001" } });
        assert_eq!(h.send("9001", &msgid, sign_in.clone())["infcode"], 0);
        assert_eq!(audit_n(), 1);
        assert_eq!(h.send("9001", &msgid, sign_in)["infcode"], 0, "the same msgid again");
        assert_eq!(audit_n(), 1, "a replay changes nothing and is not a new record");
        assert_eq!(register_2201(&h, "NOBODY", "02", &psn.1)["infcode"], -2);
        assert_eq!(audit_n(), 1, "a refused write leaves no record");
        assert_eq!(register_2201(&h, &psn.0, "02", &psn.1)["infcode"], 0);
        assert_eq!(audit_n(), 2);
        let details = text(store, &format!("SELECT detail FROM audit_log WHERE stream = '{}' AND seq = 2", h.code));
        assert!(details.contains(&format!("psn_no={}", psn.0)) && !details.contains(&psn.1), "no ID number in the audit log: {details}");
        let ok = store.read(audit::verify).unwrap();
        assert!(ok.problems.is_empty(), "{ok:?}");
        // One byte of one record.
        store.write(|tx| tx.execute("UPDATE audit_log SET action = '2202' WHERE stream = $1 AND seq = 2", params![h.code.as_str()])).unwrap();
        let r = store.read(audit::verify).unwrap();
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert_eq!((r.problems[0].stream.as_str(), r.problems[0].seq), (h.code.as_str(), 2));
        assert!(r.problems[0].to_string().contains("changed"), "{}", r.problems[0]);
    }

    /// Operators: roles and region scopes on every call; masked output; reads audited.
    fn operators_by_role_and_region(store: &Store) {
        seed(store);
        let bj = person(store, "110100", "310", "11", 0);
        let sh = person(store, "310100", "310", "11", 0);
        add(store, &system(), "nat", "national_admin", "000000").unwrap();
        let nat = login(store, "nat", "nat-password-1");
        add(store, &nat, "bj_admin", "regional_admin", "110100").unwrap();
        add(store, &nat, "sh_clerk", "clerk", "310100").unwrap();
        let bj_admin = login(store, "bj_admin", "bj_admin-password-1");
        add(store, &bj_admin, "bj_clerk", "clerk", "110100").unwrap();
        add(store, &bj_admin, "bj_auditor", "auditor", "110100").unwrap();
        let code = |r: Result<Value, admin::AdminError>| r.map_err(|e| (e.status, e.code)).unwrap_err();
        assert_eq!(code(add(store, &bj_admin, "x1", "national_admin", "000000")), (403, "FORBIDDEN_ROLE"));
        assert_eq!(code(add(store, &bj_admin, "x2", "clerk", "310100")), (403, "OUT_OF_SCOPE"));
        assert_eq!(code(add(store, &bj_admin, "x3", "regional_admin", "110000")), (403, "OUT_OF_SCOPE"), "not above its own region");
        let clerk = login(store, "bj_clerk", "bj_clerk-password-1");
        let auditor = login(store, "bj_auditor", "bj_auditor-password-1");
        let sh_clerk = login(store, "sh_clerk", "sh_clerk-password-1");
        assert_eq!(code(add(store, &clerk, "x4", "clerk", "110100")), (403, "FORBIDDEN_ROLE"));

        let seen = admin::read_person(store, &clerk, &bj.0, false).unwrap();
        let masked = format!("{}********{}", &bj.1[..6], &bj.1[14..]);
        assert_eq!(seen["certno"], masked.as_str());
        assert!(!seen.to_string().contains(&bj.1));
        assert_eq!(admin::read_person(store, &clerk, &bj.0, true).unwrap()["certno"], bj.1.as_str());
        // Outside the operator's region is answered exactly as a person who does not exist.
        let nobody = "110100999999999";
        let same_as_nobody = |r: Result<Value, admin::AdminError>, asked: &str, none: Result<Value, admin::AdminError>| {
            let (e, n) = (r.unwrap_err(), none.unwrap_err());
            assert_eq!((e.status, e.code), (404, "NOT_FOUND"), "{e}");
            assert_eq!((e.status, e.code, e.message.replace(asked, "?")), (n.status, n.code, n.message.replace(nobody, "?")));
        };
        same_as_nobody(admin::read_person(store, &clerk, &sh.0, false), &sh.0, admin::read_person(store, &clerk, nobody, false));
        same_as_nobody(admin::read_person(store, &sh_clerk, &bj.0, true), &bj.0, admin::read_person(store, &sh_clerk, nobody, true));
        let by_auditor = admin::read_person(store, &auditor, &bj.0, false).unwrap();
        assert!(by_auditor["psn_name"].as_str().unwrap().ends_with('*'), "{by_auditor}");
        assert_eq!(code(admin::read_person(store, &auditor, &bj.0, true)), (403, "FORBIDDEN_ROLE"));
        assert!(admin::read_person(store, &nat, &sh.0, true).is_ok(), "national scope");
        assert_eq!(code(admin::issue_credential(store, &clerk, &hospital(store, "110100", "01"), None)), (403, "FORBIDDEN_ROLE"));
        assert_eq!(code(admin::issue_credential(store, &bj_admin, &hospital(store, "310100", "01"), None)), (403, "OUT_OF_SCOPE"));
        assert_eq!(code(admin::verify_audit(store, &clerk)), (403, "FORBIDDEN_ROLE"));
        same_as_nobody(admin::issue_ec(store, &sh_clerk, &bj.0, 300), &bj.0, admin::issue_ec(store, &sh_clerk, nobody, 300));

        // A Beijing settlement: Shanghai's clerk may not read it.
        let h = Hospital::new(store, &hospital(store, "110100", "01"));
        let (mdtrt_id, total) = register_and_upload(&h, &bj);
        let pre = h.ok("2206", json!({ "data": { "psn_no": bj.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": bj.1, "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }));
        let setl_id = h.ok("2207", settle_input(&bj.0, &bj.1, &mdtrt_id, &pre))["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
        assert_eq!(admin::read_settlement(store, &auditor, &setl_id).unwrap()["psn_no"], bj.0.as_str());
        let (e, n) = (admin::read_settlement(store, &sh_clerk, &setl_id).unwrap_err(), admin::read_settlement(store, &sh_clerk, "999999999").unwrap_err());
        assert_eq!((e.status, e.code, e.message.replace(&setl_id, "?")), (404, "NOT_FOUND", n.message.replace("999999999", "?")));

        // Sessions: wrong password, lockout, forged and outdated tokens.
        let logins = admin::Logins::default();
        for _ in 0..5 {
            assert_eq!(admin::login(store, &logins, "bj_clerk", "wrong password!").unwrap_err().code, "LOGIN_FAILED");
        }
        assert_eq!(admin::login(store, &logins, "bj_clerk", "bj_clerk-password-1").unwrap_err().code, "LOGIN_LOCKED");
        assert_eq!(admin::login(store, &logins, "nobody", "whatever-password").unwrap_err().code, "LOGIN_FAILED");
        let (token, _) = admin::login(store, &admin::Logins::default(), "bj_clerk", "bj_clerk-password-1").unwrap();
        let forged = format!("{}x", token);
        assert_eq!(admin::session(store, &forged).unwrap_err().code, "TOKEN_INVALID");
        let payload = yibao_crypto::base64url(br#"{"sub":"bj_clerk","role":"national_admin","scope":"000000","exp":9999999999}"#);
        let mac = token.split_once('.').unwrap().1;
        assert_eq!(admin::session(store, &format!("{payload}.{mac}")).unwrap_err().code, "TOKEN_INVALID");
        store.write(|tx| yibao_store::operator::set_stas(tx, "bj_clerk", "disabled", 0)).unwrap();
        assert_eq!(admin::session(store, &token).unwrap_err().code, "TOKEN_REVOKED");

        // Every operator read of personal data is in the admin chain, and the chain holds.
        let reads = scalar(store, "SELECT COUNT(*) FROM audit_log WHERE stream = 'admin' AND action = 'person.read'", &[]);
        assert_eq!(reads, 4, "the successful reads only");
        assert!(store.read(audit::verify).unwrap().problems.is_empty());
    }
}

/// The token bucket: an institution over its rate gets 429 and a clear message.
#[test]
fn rate_limit_refuses_with_429() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let mut h = Hospital::new(&store, &hospital(&store, "110100", "01"));
    h.app = App::with_auth(
        (*store).clone(),
        AuthMode::Required,
        Limits { rate_per_sec: 0.5, burst: 3.0, ..Limits::default() },
    );
    let psn = person(&store, "110100", "310", "11", 0);
    for _ in 0..3 {
        assert_eq!(h.raw_with(&h.headers(), query_1101(&h, &psn).as_bytes())["infcode"], 0);
    }
    let r = h.raw_with(&h.headers(), query_1101(&h, &psn).as_bytes());
    assert_refused(&r, 429, "RATE_LIMITED");
    assert!(err(&r).contains("sent more than 0.5 requests per second"), "{r}");
}

/// After seeding and settling, no ID number of any person appears anywhere in the SQLite files
/// (database and write-ahead log), and neither do their phone numbers; names are sealed.
#[test]
fn no_clear_id_number_in_the_database_file() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let h = Hospital::new(&store, &hospital(&store, "110100", "01"));
    let psn = person(&store, "110100", "310", "11", 50_000);
    let (mdtrt_id, total) = register_and_upload(&h, &psn);
    let pre = h.ok("2206", json!({ "data": { "psn_no": psn.0, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn.1, "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310" } }));
    let setl = h.ok("2207", settle_input(&psn.0, &psn.1, &mdtrt_id, &pre));
    assert_eq!(setl["setlinfo"]["certno"], psn.1.as_str(), "the answer carries it; the store does not");
    let token = admin::issue_ec(&store, &system(), &psn.0, 300).unwrap()["mdtrt_cert_no"].as_str().unwrap().to_owned();
    assert_eq!(register_2201(&h, &psn.0, "01", &token)["infcode"], 0);
    let persons = store.read(|tx| yibao_store::registry::persons_after(tx, "", 1_000_000)).unwrap();
    assert_eq!(persons.len(), 400);
    let names = scalar(&store, "SELECT COUNT(*) FROM person WHERE psn_name NOT LIKE '%:%'", &[]);
    assert_eq!(names, 0, "every name is sealed");
    let path = store.sqlite_path().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
    assert!(bytes.len() > 100_000);
    // Every run of digits (and X) long enough to hold a phone or ID number, each of its
    // 11- and 18-character pieces looked up among the persons' numbers.
    let mut secret: std::collections::HashMap<&[u8], &str> = std::collections::HashMap::new();
    for p in &persons {
        secret.insert(p.certno.as_bytes(), &p.psn_no);
        if let Some(t) = &p.tel {
            secret.insert(t.as_bytes(), &p.psn_no);
        }
    }
    let leak = |bytes: &[u8]| -> Option<String> {
        let runs = bytes.split(|b| !(b.is_ascii_digit() || *b == b'X' || *b == b'x')).filter(|r| r.len() >= 11);
        runs.flat_map(|run| run.windows(11).chain(run.windows(18))).find_map(|w| secret.get(w).map(|p| p.to_string()))
    };
    assert_eq!(leak(&bytes), None, "a number appears in clear");
    let planted = [&bytes[..1000], b"|", persons[7].certno.as_bytes(), b"|"].concat();
    assert_eq!(leak(&planted), Some(persons[7].psn_no.clone()), "the scan finds a number that is there");
}

/// The real server, every log level on: requests that succeed, fail on a bad ID number, are
/// refused by authentication, and the admin API; no ID number appears in what was logged.
#[test]
fn no_clear_id_number_in_the_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);

    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let h = Hospital::new(&store, &hospital(&store, "110100", "01"));
    let psn = person(&store, "110100", "310", "11", 0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = h.app.clone();
    rt.spawn(async move { axum::serve(listener, yibao_gateway::router(app)).await });

    let post = |hd: &AuthHeaders, body: &str| http_post(addr, "/fsi/api/rsfComIfsService/callService", hd, None, body);
    let (status, r) = post(&h.headers(), &query_1101(&h, &psn));
    assert!(status.contains("200") && r["infcode"] == 0, "{status} {r}");
    let mut wrong = psn.1.clone().into_bytes();
    wrong[17] = if wrong[17] == b'1' { b'2' } else { b'1' };
    let (_, r) = post(&h.headers(), &query_1101(&h, &(psn.0.clone(), String::from_utf8(wrong.clone()).unwrap())));
    assert_eq!(r["infcode"], -2);
    let (status, r) = post(&AuthHeaders::sign(&h.paasid, "bad", unix_now(), &nonce()), &query_1101(&h, &psn));
    assert!(status.starts_with("HTTP/1.1 401"), "{status} {r}");
    assert!(r["err_msg"].as_str().unwrap().starts_with("AUTH_BAD_SIGNATURE"));
    let (status, _) = post(&AuthHeaders::default(), &query_1101(&h, &psn));
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");

    // The admin API: login, read a person with the number revealed.
    add(&store, &system(), "nat", "national_admin", "000000").unwrap();
    let (status, r) = http_post(
        addr,
        "/admin/login",
        &AuthHeaders::default(),
        None,
        r#"{"opter_id":"nat","password":"nat-password-1"}"#,
    );
    assert!(status.contains("200"), "{status} {r}");
    let token = r["token"].as_str().unwrap().to_owned();
    let (status, r) = http_get(addr, &format!("/admin/persons/{}?reveal=certno", psn.0), Some(&token));
    assert!(status.contains("200") && r["certno"] == psn.1.as_str(), "{status} {r}");
    // An e-credential issued over HTTP, presented over HTTP.
    let (status, r) =
        http_post(addr, "/admin/ec", &AuthHeaders::default(), Some(&token), &format!(r#"{{"psn_no":"{}"}}"#, psn.0));
    assert!(status.contains("200"), "{status} {r}");
    let ec = r["mdtrt_cert_no"].as_str().unwrap().to_owned();
    let body =
        h.envelope("1101", &h.msgid(), json!({ "data": { "mdtrt_cert_type": "01", "mdtrt_cert_no": ec } })).to_string();
    let (status, r) = post(&h.headers(), &body);
    assert!(status.contains("200") && r["output"]["baseinfo"]["psn_no"] == psn.0.as_str(), "{status} {r}");
    let (status, r) = http_get(addr, &format!("/admin/persons/{}", psn.0), None);
    assert!(status.starts_with("HTTP/1.1 401") && r["code"] == "TOKEN_MISSING", "{status} {r}");
    let (status, r) = http_get(addr, "/ec/public-key", None);
    assert!(status.contains("200") && r["public_key"].as_str().unwrap().len() == 130, "{status} {r}");
    drop(rt);

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains("handled"), "requests were logged: {text}");
    assert!(text.contains("AUTH_BAD_SIGNATURE"), "refusals were logged");
    assert!(!text.contains(&psn.1), "an ID number was logged:\n{text}");
    assert!(!text.contains(std::str::from_utf8(&wrong).unwrap()), "a mistyped ID number was logged");
}

fn http_post(
    addr: std::net::SocketAddr,
    path: &str,
    hd: &AuthHeaders,
    bearer: Option<&str>,
    body: &str,
) -> (String, Value) {
    let mut head = String::new();
    for (k, v) in [
        ("x-tif-paasid", &hd.paasid),
        ("x-tif-timestamp", &hd.timestamp),
        ("x-tif-nonce", &hd.nonce),
        ("x-tif-signature", &hd.signature),
    ] {
        if let Some(v) = v {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if let Some(t) = bearer {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    exchange(addr, &format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()))
}

fn http_get(addr: std::net::SocketAddr, path: &str, bearer: Option<&str>) -> (String, Value) {
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    exchange(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"))
}

fn exchange(addr: std::net::SocketAddr, req: &str) -> (String, Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), serde_json::from_str(body).unwrap_or(Value::Null))
}
