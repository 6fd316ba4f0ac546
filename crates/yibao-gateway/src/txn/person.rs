//! 1101 person information and 2001 benefit check, and who may ask: a person's identity is
//! given only for the credential the patient presents ([`Presented`]), a psn_no answers only an
//! institution treating the person ([`related`]), and a visit opens only on the person's own
//! credential ([`Presented::check_holder`]).

use super::Ctx;
use crate::error::{biz, Result};
use crate::input::{object, Node};
use serde_json::{json, Value};
use yibao_domain::codes::IdCardNo;
use yibao_domain::registry::{Enrollment, Person, CERT_TYPE_ID_CARD};
use yibao_domain::Date;
use yibao_store::{registry, settlement as st, Tx};

/// A patient's credential (就诊凭证) as presented at the counter: `mdtrt_cert_type` 01 the
/// e-credential token, 02 the resident ID number, 03 the social security card (its number is
/// the holder's certificate number; `card_sn`, the card's serial, is required with it).
pub struct Presented {
    pub cert_type: String,
    pub cert_no: String,
    /// The psn_cert_type the number is of, when known: 02 is the resident ID card (01); 03 is
    /// the card of whatever certificate its holder is registered with (None: the person's own),
    /// or the `psn_cert_type` a 1101 names.
    pub doc_type: Option<String>,
    /// Where it was read (`input.data`), for error messages.
    pub path: String,
}

/// Certificate numbers are at most this long (import's limit).
const CERTNO_MAX: usize = 50;

impl Presented {
    /// The credential a node carries; None when it names no `mdtrt_cert_type`.
    pub fn of(d: &Node) -> Result<Option<Presented>> {
        if d.opt_str("mdtrt_cert_type")?.is_none() {
            return Ok(None);
        }
        let cert_type = d.code("mdtrt_cert_type", &["01", "02", "03"])?;
        let cert_no = d.opt_str_max("mdtrt_cert_no", crate::ecred::TOKEN_MAX)?.ok_or_else(|| {
            biz(format!("{}.mdtrt_cert_no: required: the number of the credential the patient presents", d.path))
        })?;
        // card_sn is checked for presence only: no register of issued cards is kept.
        if cert_type == "03" && d.opt_str_max("card_sn", 32)?.is_none() {
            return Err(biz(format!("{}.card_sn: required when mdtrt_cert_type is 03 (social security card)", d.path)));
        }
        let doc_type = (cert_type == "02").then(|| CERT_TYPE_ID_CARD.to_owned());
        Ok(Some(Presented { cert_type, cert_no, doc_type, path: d.path.to_owned() }))
    }

    /// The credential a node must carry (a visit is opened only on one).
    pub fn required(d: &Node) -> Result<Presented> {
        Presented::of(d)?.ok_or_else(|| {
            biz(format!(
                "{}.mdtrt_cert_type: required: the credential the patient presents (01, 02 or 03) with mdtrt_cert_no",
                d.path
            ))
        })
    }

    /// The number as a certificate of `doc_type`: an ID card's is checked (check digit),
    /// another's only for length.
    fn number(&self, doc_type: &str) -> Result<String> {
        if doc_type == CERT_TYPE_ID_CARD {
            let id = IdCardNo::parse(&self.cert_no).map_err(|e| biz(format!("{}.mdtrt_cert_no: {e}", self.path)))?;
            return Ok(id.expose().to_owned());
        }
        if self.cert_no.chars().count() > CERTNO_MAX {
            return Err(biz(format!("{}.mdtrt_cert_no: at most {CERTNO_MAX} characters", self.path)));
        }
        Ok(self.cert_no.clone())
    }

    /// Checks that the credential is the person's own: 02 the person's resident ID number, 03
    /// the number of the person's own certificate (whatever its type), 01 a token naming the
    /// person (verified again here: whoever calls this trusts nothing else). `p` is None when
    /// no person has the psn_no: refused with the same answer as someone else's credential, so
    /// the refusal does not tell whether the psn_no exists; and counted as a person lookup
    /// ([`Ctx::credential_refused`]).
    pub fn check_holder(
        &self,
        ctx: &Ctx,
        tx: &mut dyn Tx,
        psn_no: &str,
        p: Option<registry::PersonCore>,
    ) -> Result<registry::PersonCore> {
        let holds = match self.cert_type.as_str() {
            "01" => token_person(tx, &self.cert_no, &self.path)? == psn_no && p.is_some(),
            _ => {
                let doc_type = match (&self.doc_type, &p) {
                    (Some(t), _) => t.clone(),
                    (None, Some(p)) => p.psn_cert_type.clone(),
                    (None, None) => String::new(),
                };
                let number = self.number(&doc_type)?;
                match &p {
                    Some(p) => registry::holds_cert(tx, p, &doc_type, &number)?,
                    None => false,
                }
            }
        };
        match p.filter(|_| holds) {
            Some(p) => Ok(p),
            None => {
                ctx.credential_refused.store(true, std::sync::atomic::Ordering::Relaxed);
                Err(biz(format!(
                    "{}.mdtrt_cert_no: the credential presented (mdtrt_cert_type {}) is not that of psn_no {psn_no}",
                    self.path, self.cert_type
                )))
            }
        }
    }
}

/// A credential given with a request about a visit already opened (2206/2207, 2303/2304) must
/// be the visit's person's too: another person's number at the counter is a mix-up, and the
/// answer would settle against the visit's person. Only checked when a number is given (the
/// spec lets the HIS send the type alone); 01 tokens are checked against psn_no for every
/// transaction ([`crate::ecred::presented`]). Compared with what is loaded already, no
/// statement and no blind index: the number the visit was opened with (checked then as the
/// person's own), or, for a visit opened by e-credential, the person's own certificate number
/// once `person` is loaded (None: checked later).
pub fn check_given(ctx: &Ctx, d: &Node, v: &st::Visit, person: Option<&Person>) -> Result<()> {
    let t = d.opt_str("mdtrt_cert_type")?;
    let Some(cert_type) = t.filter(|t| t == "02" || t == "03") else { return Ok(()) };
    let Some(cert_no) = d.opt_str_max("mdtrt_cert_no", crate::ecred::TOKEN_MAX)? else { return Ok(()) };
    let known = match (v.mdtrt_cert_type.as_str(), &v.mdtrt_cert_no, person) {
        ("02" | "03", Some(no), _) => no.as_str(),
        (_, _, Some(p)) => p.certno.as_str(),
        _ => return Ok(()),
    };
    let same = registry::normalise_certno(known) == registry::normalise_certno(&cert_no);
    if !same {
        ctx.credential_refused.store(true, std::sync::atomic::Ordering::Relaxed);
        return Err(biz(format!(
            "{}.mdtrt_cert_no: the credential presented (mdtrt_cert_type {cert_type}) is not that of psn_no {}",
            d.path, v.psn_no
        )));
    }
    Ok(())
}

/// The psn_no an e-credential token names, once its signature and expiry are checked; `node`
/// is where it was sent (`input.data`).
fn token_person(tx: &mut dyn Tx, token: &str, node: &str) -> Result<String> {
    let v = yibao_store::db::vault_of(tx, "e-credential")?;
    let field = format!("{node}.mdtrt_cert_no");
    Ok(crate::ecred::verify(&v, token, crate::clock::unix_of(crate::clock::now().0), &field)?.psn_no)
}

/// Finds the person a presented credential names. A number (02, 03, or the spec's
/// `psn_cert_type` + `certno`) needs the holder's name as well: a number alone is no proof of
/// presence (ID numbers are printed on many documents, and no register of issued social
/// security cards is kept to check a card_sn against). An unknown number and a wrong name get
/// the same answer, so the lookup does not confirm who is insured.
pub fn resolve(tx: &mut dyn Tx, c: &Presented, psn_name: Option<&str>) -> Result<Person> {
    let path = &c.path;
    if c.cert_type == "01" {
        let psn_no = token_person(tx, &c.cert_no, path)?;
        let p = registry::person_by_psn_no(tx, &psn_no)?
            .ok_or_else(|| biz(format!("the e-credential names psn_no {psn_no}, who is not an insured person")))?;
        if psn_name.is_some_and(|n| n != p.psn_name) {
            return Err(biz(format!("{path}.psn_name does not match the holder of the credential")));
        }
        return Ok(p);
    }
    // The number first: a mistyped ID number is named as such even without a name.
    let doc_type = c.doc_type.clone().unwrap_or_else(|| CERT_TYPE_ID_CARD.to_owned());
    let number = c.number(&doc_type)?;
    let Some(name) = psn_name else {
        return Err(biz(format!(
            "{path}.psn_name: required with mdtrt_cert_type {} (the holder's name as on the certificate)",
            c.cert_type
        )));
    };
    let shown = match IdCardNo::parse(&number) {
        Ok(id) => id.masked(),
        Err(_) => "?".repeat(number.chars().count().min(CERTNO_MAX)),
    };
    registry::person_by_cert(tx, &doc_type, &number)?.filter(|p| p.psn_name == name).ok_or_else(|| {
        biz(format!("no insured person holds certificate number {shown} (psn_cert_type {doc_type}) with that name"))
    })
}

/// The credential of a 1101: `mdtrt_cert_type` with its number, or the spec's `psn_cert_type`
/// and `certno` (any certificate type: 01 resident ID card, passports, permits, residence
/// cards). With 03, a `psn_cert_type` names the certificate the card was issued on (default
/// 01). A psn_no alone names nobody: a person's identity is given only to an institution
/// where the person presented a credential.
fn credential_1101(d: &Node) -> Result<Presented> {
    let psn_cert_type = match d.opt_str("psn_cert_type")? {
        Some(_) => Some(d.code("psn_cert_type", CERT_TYPES)?),
        None => None,
    };
    if let Some(mut c) = Presented::of(d)? {
        if c.cert_type == "03" {
            c.doc_type = psn_cert_type;
        }
        return Ok(c);
    }
    match d.opt_str_max("certno", CERTNO_MAX)? {
        Some(certno) => {
            let doc_type = psn_cert_type.unwrap_or_else(|| CERT_TYPE_ID_CARD.to_owned());
            if doc_type == CERT_TYPE_ID_CARD {
                // The ID number came in certno: a bad one is named as sent.
                IdCardNo::parse(&certno).map_err(|e| biz(format!("{}.certno: {e}", d.path)))?;
            }
            let cert_type = if doc_type == CERT_TYPE_ID_CARD { "02" } else { "03" };
            Ok(Presented { cert_type: cert_type.into(), cert_no: certno, doc_type: Some(doc_type), path: d.path.to_owned() })
        }
        None => Err(biz(format!(
            "{}.mdtrt_cert_type: required: a person is looked up by the credential presented (01 e-credential; 02 ID number with psn_name; 03 social security card with card_sn and psn_name; or psn_cert_type and certno with psn_name), not by psn_no",
            d.path
        ))),
    }
}

/// The national psn_cert_type dictionary (as import accepts it).
const CERT_TYPES: &[&str] = &[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "90", "91",
    "99", "990201", "990102",
];

/// 1101: the person and their account, for the institution where they presented a credential.
pub fn info(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let at = d.opt_time("begntime")?;
    let on = at.unwrap_or(ctx.now).date();
    let cred = credential_1101(&d)?;
    let p = resolve(tx, &cred, d.opt_str("psn_name")?.as_deref())?;
    let enrollments = registry::enrollments_as_of(tx, &p.psn_no, on)?;
    // Asked about a past day, the balance is the one at the end of that day.
    let balc = match at {
        Some(t) if t.date() < ctx.now.date() => {
            registry::account_balance_at(tx, &p.psn_no, yibao_domain::DateTime::from_date(t.date().add_days(1)))?
        }
        _ => registry::account_balance(tx, &p.psn_no)?,
    };
    let insuinfo: Vec<Value> = enrollments.iter().map(|e| insuinfo(tx, e, balc)).collect::<Result<_>>()?;
    let idetinfo: Vec<Value> = registry::person_idets_as_of(tx, &p.psn_no, on)?
        .iter()
        .map(|i| json!({ "psn_idet_type": i.psn_idet_type, "psn_type_lv": i.psn_type_lv, "memo": i.memo, "begntime": i.begndate.to_string(), "endtime": i.enddate.map(|d| d.to_string()) }))
        .collect();
    Ok((json!({ "baseinfo": baseinfo(&p, on), "insuinfo": insuinfo, "idetinfo": idetinfo }), Some(p.psn_no)))
}

pub fn baseinfo(p: &Person, on: Date) -> Value {
    json!({
        "psn_no": p.psn_no, "psn_cert_type": p.psn_cert_type, "certno": p.certno, "psn_name": p.psn_name,
        "gend": p.gend, "naty": p.naty, "brdy": p.brdy.to_string(), "age": age(p, on),
        "exp_content": Value::Null,
    })
}

/// `age` (4,1): years with one decimal, written as a number (`34.5`, `73.0`).
fn age(p: &Person, on: Date) -> Value {
    let text = yibao_domain::money::format_fixed(p.brdy.age_tenths_on(on) as i128, 1);
    text.parse().map(Value::Number).unwrap_or(Value::Null)
}

fn insuinfo(tx: &mut dyn Tx, e: &Enrollment, balc: yibao_domain::Fen) -> Result<Value> {
    let emp_name = match &e.emp_no {
        Some(no) => registry::employer(tx, no)?.map(|x| x.emp_name),
        None => None,
    };
    // Only the employee scheme has a personal account.
    let balc = if e.insutype == "310" { balc } else { yibao_domain::Fen::ZERO };
    Ok(json!({
        "balc": balc, "insutype": e.insutype, "psn_type": e.psn_type, "psn_insu_stas": e.psn_insu_stas,
        "psn_insu_date": e.begndate.to_string(), "paus_insu_date": e.paus_date.map(|d| d.to_string()),
        "cvlserv_flag": if e.cvlserv_flag { "1" } else { "0" }, "insuplc_admdvs": e.insuplc_admdvs, "emp_name": emp_name,
    }))
}

/// The enrollment a visit is settled under, with the checks a counter needs before registering.
/// The person's enrollment under `insutype` on `on`, if alive and insured then.
pub fn eligible(
    tx: &mut dyn Tx,
    psn_no: &str,
    death_date: Option<Date>,
    insutype: &str,
    on: Date,
) -> Result<Enrollment> {
    if let Some(d) = death_date.filter(|d| *d <= on) {
        return Err(biz(format!("psn_no {psn_no}: the insured person died on {d}")));
    }
    registry::enrollment_as_of(tx, psn_no, insutype, on)?
        .filter(|e| e.active_on(on))
        .ok_or_else(|| biz(format!("psn_no {psn_no} is not insured under insutype {insutype} on {on}")))
}

/// How long after a visit began its institution may still ask about the person by psn_no.
const RELATION_SECS: i64 = 30 * 86_400;
/// How long after a 1101 answered for the person's credential its institution may ask by
/// psn_no (2001 before registration, as the spec's flow has it).
const LOOKUP_RELATION_SECS: i64 = 86_400;

/// The person a request names by psn_no, when the calling institution may ask about them: the
/// request carries the patient's credential (`mdtrt_cert_type` and its number, as 1101), or the
/// institution has a current visit of the person (open or discharged, or begun within 30 days),
/// or a 1101 of the institution answered for the person's credential within 24 hours (found in
/// its audit chain, which that read wrote).
/// 2001 and 5206 carry only a psn_no in the spec: a HIS calls them for a patient it is treating,
/// after 1101 and registration, so an unmodified HIS keeps working while a psn_no alone, from
/// anywhere, no longer reveals anyone's entitlements or totals. Refused alike whether the
/// person exists or not.
pub fn related(ctx: &Ctx, tx: &mut dyn Tx, d: &Node, psn_no: &str) -> Result<registry::PersonCore> {
    let p = registry::person_core(tx, psn_no)?;
    if let Some(c) = Presented::of(d)? {
        return c.check_holder(ctx, tx, psn_no, p);
    }
    let code = &ctx.env.fixmedins_code;
    let since = ctx.now.0 - RELATION_SECS;
    match p {
        Some(p) if st::has_current_visit(tx, psn_no, code, since)? => Ok(p),
        Some(p) if yibao_store::audit::read_1101_since(tx, code, psn_no, ctx.now.0 - LOOKUP_RELATION_SECS)? => Ok(p),
        _ => Err(biz(format!(
            "psn_no {psn_no}: not a patient of {} (no current visit there, no 1101 there within 24 hours); present the patient's credential (mdtrt_cert_type, mdtrt_cert_no)",
            ctx.env.fixmedins_code
        ))),
    }
}

/// 2001: whether the person is entitled, for an institution treating them ([`related`]).
pub fn benefit_check(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let insutype = d.str_max("insutype", 6)?;
    let on = d.opt_time("begntime")?.unwrap_or(ctx.now).date();
    let p = related(ctx, tx, &d, &psn_no)?;
    let (flag, reason) = match eligible(tx, &p.psn_no, p.death_date, &insutype, on) {
        Ok(_) => ("1", Value::Null),
        Err(e) => ("0", Value::String(e.to_string())),
    };
    let fund = match insutype.as_str() {
        "390" => "390100",
        "510" => "510100",
        _ => "310100",
    };
    let out = json!({ "trtinfo": [{
        "psn_no": psn_no, "trt_chk_type": "1", "fund_pay_type": fund, "trt_enjymnt_flag": flag,
        "begndate": on.to_string(), "enddate": Value::Null, "trt_chk_rslt": reason,
    }]});
    Ok((out, Some(psn_no)))
}
