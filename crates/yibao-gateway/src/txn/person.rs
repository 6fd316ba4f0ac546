//! 1101 person information and 2001 benefit check.

use super::Ctx;
use crate::error::{biz, Result};
use crate::input::object;
use serde_json::{json, Value};
use yibao_domain::codes::IdCardNo;
use yibao_domain::registry::{Enrollment, Person};
use yibao_domain::Date;
use yibao_store::{registry, Tx};

/// Finds the person a credential names. 02 is the resident ID number; 03 the social security
/// card (its number is the ID number, and card_sn is required); a psn_no may be given directly.
pub fn resolve(
    tx: &mut dyn Tx,
    cert_type: Option<&str>,
    cert_no: Option<&str>,
    card_sn: Option<&str>,
    psn_no: Option<&str>,
) -> Result<Person> {
    if let Some(p) = psn_no {
        return registry::person_by_psn_no(tx, p)?.ok_or_else(|| biz(format!("psn_no {p}: no such insured person")));
    }
    let t = cert_type.ok_or_else(|| biz("input.data.mdtrt_cert_type: required"))?;
    let no = cert_no.ok_or_else(|| biz("input.data.mdtrt_cert_no: required"))?;
    match t {
        "02" | "03" => {
            if t == "03" && card_sn.is_none() {
                return Err(biz("input.data.card_sn: required when mdtrt_cert_type is 03 (social security card)"));
            }
            let id = IdCardNo::parse(no).map_err(|e| biz(format!("input.data.mdtrt_cert_no: {e}")))?;
            registry::person_by_cert(tx, "01", id.expose())?
                .ok_or_else(|| biz(format!("no insured person holds ID number {}", id.masked())))
        }
        "01" => {
            // The e-credential token (医保电子凭证): signed by the platform, bound to one person.
            let v = yibao_store::db::vault_of(tx, "e-credential")?;
            let t = crate::ecred::verify(&v, no, crate::clock::unix_of(crate::clock::now().0))?;
            registry::person_by_psn_no(tx, &t.psn_no)?
                .ok_or_else(|| biz(format!("the e-credential names psn_no {}, who is not an insured person", t.psn_no)))
        }
        other => Err(biz(format!("input.data.mdtrt_cert_type: {other:?} is not one of 01, 02, 03"))),
    }
}

pub fn info(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let cert_type = d.opt_str("mdtrt_cert_type")?;
    let at = d.opt_time("begntime")?;
    let on = at.unwrap_or(ctx.now).date();
    let p = match (d.opt_str("certno")?, cert_type.as_deref()) {
        (Some(c), None) => {
            // The ID number came in certno: a bad one is named as sent.
            IdCardNo::parse(&c).map_err(|e| biz(format!("{}.certno: {e}", d.path)))?;
            resolve(tx, Some("02"), Some(&c), None, None)?
        }
        _ => resolve(
            tx,
            cert_type.as_deref(),
            d.opt_str_max("mdtrt_cert_no", crate::ecred::TOKEN_MAX)?.as_deref(),
            d.opt_str("card_sn")?.as_deref(),
            d.opt_str("psn_no")?.as_deref(),
        )?,
    };
    if let Some(name) = d.opt_str("psn_name")? {
        if name != p.psn_name {
            return Err(biz("psn_name does not match the holder of the credential"));
        }
    }
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
    Ok(json!({ "baseinfo": baseinfo(&p, on), "insuinfo": insuinfo, "idetinfo": idetinfo }))
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

pub fn benefit_check(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let insutype = d.str_max("insutype", 6)?;
    let on = d.opt_time("begntime")?.unwrap_or(ctx.now).date();
    let p = resolve(tx, None, None, None, Some(&psn_no))?;
    let (flag, reason) = match eligible(tx, &p.psn_no, p.death_date, &insutype, on) {
        Ok(_) => ("1", Value::Null),
        Err(e) => ("0", Value::String(e.to_string())),
    };
    let fund = match insutype.as_str() {
        "390" => "390100",
        "510" => "510100",
        _ => "310100",
    };
    Ok(json!({ "trtinfo": [{
        "psn_no": psn_no, "trt_chk_type": "1", "fund_pay_type": fund, "trt_enjymnt_flag": flag,
        "begndate": on.to_string(), "enddate": Value::Null, "trt_chk_rslt": reason,
    }]}))
}
