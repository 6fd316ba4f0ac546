//! Visits: outpatient registration (2201/2202/2203) and admission, discharge and their changes
//! and cancels (2401–2405).

use super::person::{eligible, Presented};
use super::{done, event, own_visit, Ctx, Done};
use crate::error::{biz, Result};
use crate::input::{object, rows, Node, Obj};
use serde_json::{json, Map, Value};
use yibao_domain::codes::{DiagCode, OprnCode};
use yibao_domain::dict::VisitClass;
use yibao_domain::DateTime;
use yibao_store::settlement::{self as st, visit_stas, Visit};
use yibao_store::{registry, Tx};

pub use yibao_domain::visit_rules::same_city;

/// Everything a new visit needs checked: who, under which scheme, where.
pub(super) struct NewVisit<'a> {
    pub(super) psn_no: &'a str,
    pub(super) insutype: &'a str,
    pub(super) med_type: String,
    pub(super) begntime: DateTime,
    /// The patient's credential: it must be the person's own (a visit settles against the
    /// account of the person it names).
    pub(super) cert: Presented,
    pub(super) ipt_otp_no: String,
    pub(super) dise: (Option<String>, Option<String>),
    pub(super) info: Value,
}

/// Checks a new visit and builds it, without writing it.
pub(super) fn build_visit(ctx: &Ctx, tx: &mut dyn Tx, n: NewVisit, pharmacy_ok: bool) -> Result<Visit> {
    let inst = ctx.institution(tx, &ctx.env.fixmedins_code)?;
    if inst.is_pharmacy() && !pharmacy_ok {
        return Err(biz(format!("{} is a pharmacy: use 2101/2102", inst.fixmedins_code)));
    }
    if !same_city(&inst.admdvs, &ctx.env.mdtrtarea_admvs) {
        return Err(biz(format!(
            "mdtrtarea_admvs {} is not where {} is ({})",
            ctx.env.mdtrtarea_admvs, inst.fixmedins_code, inst.admdvs
        )));
    }
    // An unknown psn_no is refused as someone else's credential is: a visit is no oracle.
    let p = registry::person_core(tx, n.psn_no)?;
    let p = n.cert.check_holder(ctx, tx, n.psn_no, p)?;
    let e = eligible(tx, &p.psn_no, p.death_date, n.insutype, n.begntime.date())?;
    if let Some(claimed) = &ctx.env.insuplc_admdvs {
        if !same_city(claimed, &e.insuplc_admdvs) {
            return Err(biz(format!(
                "insuplc_admdvs {claimed} is not the insured place of psn_no {} ({})",
                p.psn_no, e.insuplc_admdvs
            )));
        }
    }
    if !same_city(&e.insuplc_admdvs, &inst.admdvs) && !inst.remote_flag {
        return Err(biz(format!(
            "{} is not networked for cross-region direct settlement (insured in {})",
            inst.fixmedins_code, e.insuplc_admdvs
        )));
    }
    Ok(Visit {
        mdtrt_id: ctx.new_id(),
        psn_no: p.psn_no.clone(),
        insutype: n.insutype.to_owned(),
        fixmedins_code: inst.fixmedins_code.clone(),
        admdvs: inst.admdvs.clone(),
        insuplc_admdvs: e.insuplc_admdvs.clone(),
        med_type: n.med_type,
        ipt_otp_no: n.ipt_otp_no,
        begntime: n.begntime.0,
        endtime: None,
        stas: visit_stas::OPEN.to_owned(),
        mdtrt_cert_type: n.cert.cert_type,
        mdtrt_cert_no: Some(n.cert.cert_no),
        dise_codg: n.dise.0,
        dise_name: n.dise.1,
        adm_seq: None,
        info: n.info.to_string(),
        updt_time: ctx.now.0,
    })
}

pub(super) fn open_visit(ctx: &Ctx, tx: &mut dyn Tx, n: NewVisit, pharmacy_ok: bool) -> Result<Visit> {
    let v = build_visit(ctx, tx, n, pharmacy_ok)?;
    st::insert_visit(tx, &v)?;
    event(
        ctx,
        tx,
        &v.insuplc_admdvs,
        "visit.registered",
        &v.mdtrt_id,
        json!({ "psn_no": v.psn_no, "med_type": v.med_type, "fixmedins_code": v.fixmedins_code }),
    )?;
    Ok(v)
}

fn med_type_of(d: &Node, f: &str, want_inpatient: bool, default: &str) -> Result<String> {
    let mt = d.opt_str_max(f, 6)?.unwrap_or_else(|| default.to_owned());
    match VisitClass::from_med_type(&mt) {
        Some(c) if c.is_inpatient() == want_inpatient => Ok(mt),
        Some(_) => Err(biz(format!(
            "{}.{f}: {mt} is not an {} medical type",
            d.path,
            if want_inpatient { "inpatient" } else { "outpatient" }
        ))),
        None => Err(biz(format!("{}.{f}: {mt:?} is not a known medical type", d.path))),
    }
}

pub fn register(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let insutype = d.str_max("insutype", 6)?;
    let cert = Presented::required(&d)?;
    let info = pick(&d, &["atddr_no", "dr_name", "dept_code", "dept_name", "caty"])?;
    let n = NewVisit {
        psn_no: &psn_no,
        insutype: &insutype,
        med_type: med_type_of(&d, "med_type", false, "11")?,
        begntime: d.time_by("begntime", ctx.now)?,
        cert,
        ipt_otp_no: d.str_max("ipt_otp_no", 30)?,
        dise: (None, None),
        info,
    };
    let v = open_visit(ctx, tx, n, false)?;
    let out = json!({ "data": { "mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no, "ipt_otp_no": v.ipt_otp_no } });
    Ok(done(out, Some(&v.psn_no), Some(&v.mdtrt_id)))
}

/// Copies the named optional text fields into a JSON object (department, doctor, ...).
fn pick(d: &Node, fields: &[&str]) -> Result<Value> {
    let mut m = Map::new();
    for f in fields {
        if let Some(v) = d.opt_str_max(f, 200)? {
            m.insert((*f).to_owned(), Value::String(v));
        }
    }
    Ok(Value::Object(m))
}

fn active_settlements(tx: &mut dyn Tx, mdtrt_id: &str) -> Result<usize> {
    Ok(st::settlements_of_visit(tx, mdtrt_id)?.iter().filter(|s| !s.refd_setl_flag && s.revs_setl_id.is_none()).count())
}

fn cancel_visit(ctx: &Ctx, tx: &mut dyn Tx, mut v: Visit, what: &str) -> Result<Done> {
    if v.stas == visit_stas::CANCELLED {
        return Err(biz(format!("mdtrt_id {} is already cancelled", v.mdtrt_id)));
    }
    let n = active_settlements(tx, &v.mdtrt_id)?;
    if n > 0 {
        return Err(biz(format!(
            "mdtrt_id {} has {n} settlement(s); reverse them before cancelling the {what}",
            v.mdtrt_id
        )));
    }
    st::cancel_lines(tx, &v.mdtrt_id, None, None)?;
    v.stas = visit_stas::CANCELLED.to_owned();
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    event(ctx, tx, &v.insuplc_admdvs, "visit.cancelled", &v.mdtrt_id, json!({ "psn_no": v.psn_no }))?;
    Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)))
}

pub fn cancel_register(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let v = own_visit(ctx, tx, &d.str_max("mdtrt_id", 30)?, Some(&d.str_max("psn_no", 30)?), true)?;
    if let Some(no) = d.opt_str("ipt_otp_no")? {
        if no != v.ipt_otp_no {
            return Err(biz(format!("input.data.ipt_otp_no {no} does not match the registration ({})", v.ipt_otp_no)));
        }
    }
    cancel_visit(ctx, tx, v, "registration")
}

/// Diagnoses (diseinfo) with their codes checked; stored on the visit for supervision and DRG.
fn diagnoses(input: &Value, psn_no: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for row in rows(input, "diseinfo", false)? {
        let d = row.node();
        let code = d.str_max("diag_code", 20)?;
        if DiagCode::parse(&code).is_err() && OprnCode::parse(&code).is_err() {
            // TCM diagnoses use their own national code shapes; only ICD-10 shapes are checked.
            if d.opt_str("diag_type")?.as_deref() == Some("1") {
                return Err(biz(format!("{}.diag_code: {code:?} is not an ICD-10 医保版 diagnosis code", d.path)));
            }
        }
        let mut m = row.map.clone().into_owned();
        m.insert("psn_no".into(), Value::String(psn_no.to_owned()));
        out.push(Value::Object(m));
    }
    Ok(out)
}

fn dise(d: &Node) -> Result<(Option<String>, Option<String>)> {
    Ok((d.opt_str_max("dise_codg", 30)?, d.opt_str_max("dise_name", 300)?))
}

fn merge_info(v: &mut Visit, key: &str, value: Value) {
    let mut info: Map<String, Value> = serde_json::from_str(&v.info).unwrap_or_default();
    info.insert(key.to_owned(), value);
    v.info = Value::Object(info).to_string();
}

pub fn outpatient_info(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let info = object(&ctx.env.input, "mdtrtinfo")?;
    let d = info.node();
    let mut v = own_visit(ctx, tx, &d.str_max("mdtrt_id", 30)?, Some(&d.str_max("psn_no", 30)?), true)?;
    if v.stas != visit_stas::OPEN {
        return Err(biz(format!("mdtrt_id {} is {}", v.mdtrt_id, v.stas)));
    }
    v.med_type = med_type_of(&d, "med_type", false, &v.med_type)?;
    (v.dise_codg, v.dise_name) = dise(&d)?;
    let diag = diagnoses(&ctx.env.input, &v.psn_no)?;
    merge_info(&mut v, "diseinfo", Value::Array(diag));
    merge_info(&mut v, "mdtrtinfo", Value::Object(info.map.clone().into_owned()));
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)))
}

pub fn admit(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let info: Obj = object(&ctx.env.input, "mdtrtinfo")?;
    let d = info.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let insutype = d.str_max("insutype", 6)?;
    let cert = Presented::required(&d)?;
    let mut stored = info.map.clone().into_owned();
    stored.insert("diseinfo".into(), Value::Array(diagnoses(&ctx.env.input, &psn_no)?));
    let n = NewVisit {
        psn_no: &psn_no,
        insutype: &insutype,
        med_type: med_type_of(&d, "med_type", true, "21")?,
        begntime: d.time_by("begntime", ctx.now)?,
        cert,
        ipt_otp_no: d.str_max("ipt_no", 30)?,
        dise: dise(&d)?,
        info: json!({ "mdtrtinfo": Value::Object(stored) }),
    };
    let v = open_visit(ctx, tx, n, false)?;
    let out = json!({ "result": { "mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no, "ipt_no": v.ipt_otp_no } });
    Ok(done(out, Some(&v.psn_no), Some(&v.mdtrt_id)))
}

fn inpatient_visit(ctx: &Ctx, tx: &mut dyn Tx, d: &Node) -> Result<Visit> {
    let v = own_visit(ctx, tx, &d.str_max("mdtrt_id", 30)?, Some(&d.str_max("psn_no", 30)?), true)?;
    if !VisitClass::from_med_type(&v.med_type).is_some_and(VisitClass::is_inpatient) {
        return Err(biz(format!("mdtrt_id {} is not an inpatient stay", v.mdtrt_id)));
    }
    Ok(v)
}

pub fn discharge(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let info = object(&ctx.env.input, "dscginfo")?;
    let d = info.node();
    let mut v = inpatient_visit(ctx, tx, &d)?;
    if v.stas != visit_stas::OPEN {
        return Err(biz(format!("mdtrt_id {} is {}, not in hospital", v.mdtrt_id, v.stas)));
    }
    let end = d.time_by("endtime", ctx.now)?;
    if end.0 < v.begntime {
        return Err(biz("input.dscginfo.endtime: before the admission time"));
    }
    if let Some(way) = d.opt_str("dscg_way")? {
        if !["1", "2", "3", "4", "5", "9"].contains(&way.as_str()) {
            return Err(biz(format!("input.dscginfo.dscg_way: {way:?} is not one of 1, 2, 3, 4, 5, 9")));
        }
    }
    let (codg, name) = dise(&d)?;
    if codg.is_some() {
        (v.dise_codg, v.dise_name) = (codg, name);
    }
    let mut stored = info.map.clone().into_owned();
    stored.insert("diseinfo".into(), Value::Array(diagnoses(&ctx.env.input, &v.psn_no)?));
    merge_info(&mut v, "dscginfo", Value::Object(stored));
    v.endtime = Some(end.0);
    v.stas = visit_stas::DISCHARGED.to_owned();
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    event(
        ctx,
        tx,
        &v.insuplc_admdvs,
        "visit.discharged",
        &v.mdtrt_id,
        json!({ "psn_no": v.psn_no, "endtime": end.to_string() }),
    )?;
    Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)))
}

pub fn change_admission(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let info = object(&ctx.env.input, "adminfo")?;
    let d = info.node();
    let mut v = inpatient_visit(ctx, tx, &d)?;
    if v.stas == visit_stas::CANCELLED || v.stas == visit_stas::SETTLED {
        return Err(biz(format!("mdtrt_id {} is {}; it can no longer change", v.mdtrt_id, v.stas)));
    }
    if d.opt_str("med_type")?.is_some() {
        v.med_type = med_type_of(&d, "med_type", true, &v.med_type)?;
    }
    if let Some(t) = d.opt_time_by("begntime", ctx.now)? {
        v.begntime = t.0;
    }
    let (codg, name) = dise(&d)?;
    if codg.is_some() {
        (v.dise_codg, v.dise_name) = (codg, name);
    }
    let mut stored = info.map.clone().into_owned();
    stored.insert("diseinfo".into(), Value::Array(diagnoses(&ctx.env.input, &v.psn_no)?));
    merge_info(&mut v, "adminfo", Value::Object(stored));
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)))
}

pub fn cancel_admission(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let v = inpatient_visit(ctx, tx, &data.node())?;
    cancel_visit(ctx, tx, v, "admission")
}

pub fn cancel_discharge(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let mut v = inpatient_visit(ctx, tx, &data.node())?;
    if v.stas != visit_stas::DISCHARGED {
        return Err(biz(format!(
            "mdtrt_id {} is {}, not discharged (a settled stay must be reversed first)",
            v.mdtrt_id, v.stas
        )));
    }
    v.stas = visit_stas::OPEN.to_owned();
    v.endtime = None;
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    event(ctx, tx, &v.insuplc_admdvs, "visit.discharge_cancelled", &v.mdtrt_id, json!({ "psn_no": v.psn_no }))?;
    Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)))
}

/// Cancels a registration or admission by its id (2601 of a 2201 or 2401).
pub(super) fn cancel_by_id(ctx: &Ctx, tx: &mut dyn Tx, mdtrt_id: &str) -> Result<Done> {
    let v = own_visit(ctx, tx, mdtrt_id, None, true)?;
    if v.stas == visit_stas::CANCELLED {
        return Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)));
    }
    cancel_visit(ctx, tx, v, "visit")
}
