//! Queries: 1201 institutions, 5201 visits, 5203 settlements, 5206 cumulative totals. An
//! institution sees visits and settlements made at itself only.

use super::person::related;
use super::Ctx;
use crate::error::{biz, GatewayError, Result};
use crate::input::object;
use serde_json::{json, Value};
use yibao_domain::{DateTime, Fen};
use yibao_store::settlement as st;
use yibao_store::{registry, Tx};

/// Institutions scanned for a name search; the registry is paged by code.
const INSTITUTION_SCAN_MAX: i64 = 20_000;

pub fn institutions(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let info = object(&ctx.env.input, "medinsinfo")?;
    let d = info.node();
    let code = d.opt_str("fixmedins_code")?;
    let name = d.opt_str("fixmedins_name")?;
    let kind = d.opt_str("fixmedins_type")?;
    let found = match &code {
        Some(c) => registry::institution(tx, c)?.into_iter().collect(),
        None => registry::institutions_after(tx, "", INSTITUTION_SCAN_MAX)?,
    };
    let rows: Vec<Value> = found
        .iter()
        .filter(|i| name.as_deref().is_none_or(|n| i.fixmedins_name.contains(n)))
        .filter(|i| kind.as_deref().is_none_or(|k| i.fixmedins_type == k))
        .take(100)
        .map(|i| json!({ "fixmedins_code": i.fixmedins_code, "fixmedins_name": i.fixmedins_name, "uscc": i.uscc, "fixmedins_type": i.fixmedins_type, "hosp_lv": i.hosp_lv }))
        .collect();
    Ok(json!({ "medinsinfo": rows }))
}

fn visit_row(v: &st::Visit) -> Value {
    json!({
        "mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no, "insutype": v.insutype, "med_type": v.med_type, "ipt_otp_no": v.ipt_otp_no,
        "begntime": DateTime(v.begntime).to_string(), "endtime": v.endtime.map(|t| DateTime(t).to_string()), "mdtrt_stas": v.stas,
        "dise_codg": v.dise_codg, "dise_name": v.dise_name, "fixmedins_code": v.fixmedins_code, "insuplc_admdvs": v.insuplc_admdvs,
    })
}

/// 5201: the person's visits at the calling institution (audited when any is answered).
pub fn visits(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let from = d.opt_time("begntime")?.unwrap_or(DateTime(0));
    let to = d.opt_time("endtime")?.unwrap_or(DateTime(i64::MAX / 2));
    let med_type = d.opt_str("med_type")?;
    let mdtrt_id = d.opt_str("mdtrt_id")?;
    let rows: Vec<Value> = st::visits_of_person(tx, &psn_no, from.0, to.0, 1000)?
        .iter()
        .filter(|v| v.fixmedins_code == ctx.env.fixmedins_code)
        .filter(|v| med_type.as_deref().is_none_or(|m| v.med_type == m))
        .filter(|v| mdtrt_id.as_deref().is_none_or(|m| v.mdtrt_id == m))
        .map(visit_row)
        .collect();
    let about = (!rows.is_empty()).then_some(psn_no);
    Ok((json!({ "mdtrtinfo": rows }), about))
}

/// 5203: the person's settlements at the calling institution, each with the person's identity
/// (baseinfo) as the settlement answered it: audited when any is answered.
pub fn settlements(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let list = match (d.opt_str("setl_id")?, d.opt_str("mdtrt_id")?) {
        (Some(s), _) => st::settlement(tx, &s, false)?.into_iter().collect(),
        (None, Some(m)) => st::settlements_of_visit_with_bodies(tx, &m)?,
        (None, None) => return Err(biz("input.data: give setl_id or mdtrt_id")),
    };
    let mut out = Vec::new();
    for s in list.iter().filter(|s| s.psn_no == psn_no && s.fixmedins_code == ctx.env.fixmedins_code) {
        let body: Value = serde_json::from_str(&s.body).map_err(|e| GatewayError::System(e.to_string()))?;
        let mut a = body["answer"].clone();
        a["setlinfo"]["refd_setl_flag"] = json!(if s.refd_setl_flag { "1" } else { "0" });
        a["setlinfo"]["revs_setl_id"] = json!(s.revs_setl_id);
        out.push(a);
    }
    let about = (!out.is_empty()).then_some(psn_no);
    Ok((json!({ "setlinfos": out }), about))
}

/// 5206: a person's totals, for an institution treating them ([`related`]).
pub fn cumulative(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let p = related(ctx, tx, &d, &d.str_max("psn_no", 30)?)?;
    let cum_ym = d.opt_str_max("cum_ym", 6)?.unwrap_or_else(|| ctx.now.date().compact()[..6].to_owned());
    let year: i64 = cum_ym
        .get(..4)
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| biz(format!("input.data.cum_ym: {cum_ym:?} is not yyyyMM")))?;
    let rows: Vec<Value> = st::accumulators_of_year(tx, &p.psn_no, year)?
        .into_iter()
        .filter(|(_, _, v)| *v != Fen::ZERO)
        .map(|(insutype, code, cum)| json!({ "insutype": insutype, "year": year.to_string(), "cum_ym": cum_ym, "cum_type_code": code, "cum": cum }))
        .collect();
    Ok((json!({ "cuminfo": rows }), Some(p.psn_no)))
}
