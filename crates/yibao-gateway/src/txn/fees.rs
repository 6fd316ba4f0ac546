//! Fee details: upload (2204 outpatient, 2301 inpatient), classified line by line against the
//! treatment place's catalog, and cancel (2205, 2302).

use super::{done, event, own_visit, Ctx, Done, Output};
use crate::error::{biz, out_of_bounds, GatewayError, Result};
use crate::input::{object, row_path, rows, Node, Obj};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use yibao_domain::catalog::{classify, FeeLine, LineContext, LineSplit};
use yibao_domain::dict::{PsnCategory, VisitClass};
use yibao_domain::{bounds, Date, Fen, Qty, UnitPrice};
use yibao_store::catalog::{self, ItemCandidates, MappingCandidates};
use yibao_store::settlement::{self as st, visit_stas, FeeLineRow, Visit};
use yibao_store::{registry, Tx};

/// Who is treated where, fixed for one upload.
pub(super) struct Patient {
    psn_type: String,
    gend: String,
    brdy: Date,
    grade: u8,
    visit_class: VisitClass,
}

pub(super) fn patient(ctx: &Ctx, tx: &mut dyn Tx, v: &Visit) -> Result<Patient> {
    let p = registry::person_core(tx, &v.psn_no)?.ok_or_else(|| biz(format!("psn_no {}: no such person", v.psn_no)))?;
    let on = yibao_domain::DateTime(v.begntime).date();
    let e = registry::enrollment_as_of(tx, &v.psn_no, &v.insutype, on)?
        .ok_or_else(|| biz(format!("psn_no {} is not insured under {} on {on}", v.psn_no, v.insutype)))?;
    let inst = ctx.institution(tx, &v.fixmedins_code)?;
    let visit_class =
        VisitClass::from_med_type(&v.med_type).ok_or_else(|| biz(format!("med_type {} is not known", v.med_type)))?;
    PsnCategory::from_psn_type(&e.psn_type)
        .ok_or_else(|| biz(format!("psn_type {} of psn_no {} is not known", e.psn_type, v.psn_no)))?;
    Ok(Patient { psn_type: e.psn_type, gend: p.gend, brdy: p.brdy, grade: inst.grade().unwrap_or(0), visit_class })
}

/// Parses, checks and classifies the rows of one upload; nothing is written. The mappings, the
/// duplicate check and the catalog rows of the whole upload are read with one statement each.
pub(super) fn classify_rows(
    ctx: &Ctx,
    tx: &mut dyn Tx,
    v: &Visit,
    rows: &[Obj],
    outpatient: bool,
) -> Result<Vec<FeeLineRow>> {
    let pt = patient(ctx, tx, v)?;
    let locals = rows.iter().map(|r| r.node().str_max("medins_list_codg", 150)).collect::<Result<Vec<_>>>()?;
    let local_refs: Vec<&str> = locals.iter().map(String::as_str).collect();
    let mappings = catalog::mappings_of(tx, &v.fixmedins_code, &local_refs)?;
    let mut parsed = Vec::with_capacity(rows.len());
    for row in rows {
        parsed.push(parse_line(ctx, &mappings, v, &row.node(), outpatient)?);
    }
    check_new_sns(tx, v, &parsed)?;
    let codes: Vec<&str> = parsed.iter().map(|l| l.med_list_codg.as_str()).collect();
    let items = catalog::catalog_items_of(tx, &codes, &v.admdvs)?;
    check_bounds(&items, &parsed)?;
    Ok(parsed.into_iter().map(|l| classify_line(&items, v, &pt, l)).collect())
}

/// Each line within the bounds of a fee line (the catalog's price cap bounds its price), and the
/// upload within the bounds of a bill (yibao_domain::bounds). The settlement checks the whole
/// bill of a stay again.
fn check_bounds(items: &ItemCandidates, lines: &[FeeLineRow]) -> Result<()> {
    let mut total: i128 = 0;
    for (i, l) in lines.iter().enumerate() {
        let on = yibao_domain::DateTime(l.fee_ocur_time).date();
        let cap = items.in_force(&l.med_list_codg, on).and_then(|it| it.pric_uplmt);
        bounds::check_line(UnitPrice(l.pric), Qty(l.cnt), l.det_item_fee_sumamt, cap)
            .map_err(|e| out_of_bounds(&row_path("feedetail", i), e))?;
        total += l.det_item_fee_sumamt.0 as i128;
    }
    // Each line is bounded, so the sum of an upload fits easily; it is summed wide regardless.
    let total = Fen(i64::try_from(total).unwrap_or(i64::MAX));
    bounds::check_bill(total).map_err(|e| biz(format!("input.feedetail: {e}")))
}

/// Every serial number of an upload must be new to the visit and appear once in the upload.
fn check_new_sns(tx: &mut dyn Tx, v: &Visit, lines: &[FeeLineRow]) -> Result<()> {
    let sns: Vec<&str> = lines.iter().map(|l| l.feedetl_sn.as_str()).collect();
    let stored: HashSet<String> = st::existing_sns(tx, &v.mdtrt_id, &sns)?.into_iter().collect();
    let mut seen = HashSet::with_capacity(sns.len());
    for (i, sn) in sns.iter().enumerate() {
        if !seen.insert(*sn) || stored.contains(*sn) {
            let path = row_path("feedetail", i);
            return Err(biz(format!("{path}.feedetl_sn: {sn} was already uploaded for mdtrt_id {}", v.mdtrt_id)));
        }
    }
    Ok(())
}

fn parse_line(ctx: &Ctx, maps: &MappingCandidates, v: &Visit, d: &Node, outpatient: bool) -> Result<FeeLineRow> {
    if let Some(m) = d.opt_str("mdtrt_id")? {
        if m != v.mdtrt_id {
            return Err(biz(format!(
                "{}.mdtrt_id: {m} differs from the visit of this upload ({})",
                d.path, v.mdtrt_id
            )));
        }
    }
    if let Some(p) = d.opt_str("psn_no")? {
        if p != v.psn_no {
            return Err(biz(format!("{}.psn_no: {p} is not the patient of mdtrt_id {}", d.path, v.mdtrt_id)));
        }
    }
    let cnt = d.qty("cnt")?;
    let pric = d.price("pric")?;
    let amount = d.fen("det_item_fee_sumamt")?;
    if cnt.0 == 0 || (outpatient && cnt.0 < 0) {
        return Err(biz(format!(
            "{}.cnt: must be {}",
            d.path,
            if outpatient { "positive" } else { "non-zero (negative only for refunds)" }
        )));
    }
    if pric.0 < 0 {
        return Err(biz(format!("{}.pric: must not be negative", d.path)));
    }
    let expect = pric.times(cnt);
    if (expect - amount).0.abs() > 1 {
        return Err(biz(format!("{}.det_item_fee_sumamt: {amount} is not pric × cnt = {expect}", d.path)));
    }
    let hosp_appr_flag = d.opt_str("hosp_appr_flag")?;
    if let Some(f) = &hosp_appr_flag {
        if !["0", "1", "2"].contains(&f.as_str()) {
            return Err(biz(format!("{}.hosp_appr_flag: {f:?} is not one of 0, 1, 2", d.path)));
        }
    }
    let fee_time = d.time_by("fee_ocur_time", ctx.now)?;
    let medins_list_codg = d.str_max("medins_list_codg", 150)?;
    let mapped = maps.in_force(&medins_list_codg, fee_time.date()).map(|m| m.med_list_codg.as_str());
    let med_list_codg = national_code(d, &medins_list_codg, mapped)?;
    Ok(FeeLineRow {
        mdtrt_id: v.mdtrt_id.clone(),
        feedetl_sn: d.str_max("feedetl_sn", 30)?,
        psn_no: v.psn_no.clone(),
        admdvs: v.insuplc_admdvs.clone(),
        chrg_bchno: if outpatient { Some(d.str_max("chrg_bchno", 30)?) } else { d.opt_str_max("chrg_bchno", 30)? },
        init_feedetl_sn: d.opt_str_max("init_feedetl_sn", 30)?,
        med_list_codg,
        medins_list_codg,
        fee_ocur_time: fee_time.0,
        cnt: cnt.0,
        pric: pric.0,
        det_item_fee_sumamt: amount,
        hosp_appr_flag,
        chrgitm_lv: String::new(),
        list_type: String::new(),
        med_chrgitm_type: String::new(),
        selfpay_prop: 0,
        pric_uplmt: None,
        lmt_used_flag: false,
        fulamt_ownpay_amt: Fen::ZERO,
        overlmt_amt: Fen::ZERO,
        preselfpay_amt: Fen::ZERO,
        inscp_scp_amt: Fen::ZERO,
        memo: None,
        setl_id: None,
        stas: "active".into(),
        upld_time: ctx.now.0,
    })
}

/// The national code of a line: as sent, checked against the institution's mapping (3301) when
/// one exists; or taken from the mapping when the HIS left it empty.
fn national_code(d: &Node, local: &str, mapped: Option<&str>) -> Result<String> {
    match (d.opt_str_max("med_list_codg", 50)?, mapped) {
        (Some(sent), Some(m)) if sent != m => {
            Err(biz(format!("{}.med_list_codg: {sent} but medins_list_codg {local} is mapped to {m}", d.path)))
        }
        (Some(sent), _) => Ok(sent),
        (None, Some(m)) => Ok(m.to_owned()),
        (None, None) => {
            Err(biz(format!("{}.med_list_codg: required (medins_list_codg {local} has no mapping)", d.path)))
        }
    }
}

fn classify_line(items: &ItemCandidates, v: &Visit, pt: &Patient, mut l: FeeLineRow) -> FeeLineRow {
    let on = yibao_domain::DateTime(l.fee_ocur_time).date();
    let item = items.in_force(&l.med_list_codg, on);
    let ctx = LineContext {
        psn_type: &pt.psn_type,
        gend: &pt.gend,
        age: pt.brdy.age_on(on),
        grade: pt.grade,
        insutype: &v.insutype,
        visit_class: pt.visit_class,
    };
    let fee = FeeLine {
        amount: l.det_item_fee_sumamt,
        cnt: yibao_domain::Qty(l.cnt),
        pric: yibao_domain::UnitPrice(l.pric),
        hosp_appr_flag: l.hosp_appr_flag.clone(),
    };
    let s: LineSplit = classify(item, &fee, &ctx);
    l.chrgitm_lv = s.chrgitm_lv.code().to_owned();
    l.list_type = item.map_or_else(|| "999".to_owned(), |i| i.list_type.clone());
    l.med_chrgitm_type = item.map_or_else(|| "14".to_owned(), |i| i.med_chrgitm_type.clone());
    l.selfpay_prop = s.selfpay_prop.0 as i64;
    l.pric_uplmt = s.pric_uplmt.map(|p| p.0);
    l.lmt_used_flag = s.lmt_used_flag;
    l.fulamt_ownpay_amt = s.fulamt_ownpay;
    l.overlmt_amt = s.overlmt;
    l.preselfpay_amt = s.preselfpay;
    l.inscp_scp_amt = s.inscp;
    l.memo = s.memo;
    l
}

/// The split of a stored line, as the engine takes it.
pub(super) fn split_of(l: &FeeLineRow) -> LineSplit {
    LineSplit {
        chrgitm_lv: yibao_domain::dict::ChrgitmLv::parse(&l.chrgitm_lv).unwrap_or(yibao_domain::dict::ChrgitmLv::C),
        selfpay_prop: yibao_domain::Ratio(l.selfpay_prop as u32),
        pric_uplmt: l.pric_uplmt.map(yibao_domain::UnitPrice),
        fulamt_ownpay: l.fulamt_ownpay_amt,
        overlmt: l.overlmt_amt,
        preselfpay: l.preselfpay_amt,
        inscp: l.inscp_scp_amt,
        lmt_used_flag: l.lmt_used_flag,
        memo: l.memo.clone(),
    }
}

/// One line of a fee upload's answer (2204/2301 `result`), in the interface's field order.
#[derive(Serialize)]
pub(super) struct ResultRow<'a> {
    feedetl_sn: &'a str,
    det_item_fee_sumamt: Fen,
    cnt: yibao_domain::Qty,
    pric: yibao_domain::UnitPrice,
    pric_uplmt_amt: yibao_domain::UnitPrice,
    selfpay_prop: yibao_domain::Ratio,
    fulamt_ownpay_amt: Fen,
    overlmt_amt: Fen,
    preselfpay_amt: Fen,
    inscp_scp_amt: Fen,
    chrgitm_lv: &'a str,
    med_chrgitm_type: &'a str,
    list_type: &'a str,
    lmt_used_flag: &'static str,
    bas_medn_flag: &'static str,
    hi_nego_drug_flag: &'static str,
    chld_medc_flag: &'static str,
    list_sp_item_flag: &'static str,
    drt_reim_flag: &'static str,
    memo: Option<&'a str>,
}

impl<'a> ResultRow<'a> {
    pub(super) fn of(l: &'a FeeLineRow) -> ResultRow<'a> {
        ResultRow {
            feedetl_sn: &l.feedetl_sn,
            det_item_fee_sumamt: l.det_item_fee_sumamt,
            cnt: yibao_domain::Qty(l.cnt),
            pric: yibao_domain::UnitPrice(l.pric),
            pric_uplmt_amt: l.pric_uplmt.map_or(yibao_domain::UnitPrice::yuan(999_999), yibao_domain::UnitPrice),
            selfpay_prop: yibao_domain::Ratio(l.selfpay_prop as u32),
            fulamt_ownpay_amt: l.fulamt_ownpay_amt,
            overlmt_amt: l.overlmt_amt,
            preselfpay_amt: l.preselfpay_amt,
            inscp_scp_amt: l.inscp_scp_amt,
            chrgitm_lv: &l.chrgitm_lv,
            med_chrgitm_type: &l.med_chrgitm_type,
            list_type: &l.list_type,
            lmt_used_flag: if l.lmt_used_flag { "1" } else { "0" },
            bas_medn_flag: "0",
            hi_nego_drug_flag: "0",
            chld_medc_flag: "0",
            list_sp_item_flag: "0",
            drt_reim_flag: "0",
            memo: l.memo.as_deref(),
        }
    }
}

/// An upload's `result` rows as a value (the pharmacy answers carry them).
pub(super) fn result_rows(lines: &[FeeLineRow]) -> Result<Value> {
    serde_json::to_value(lines.iter().map(ResultRow::of).collect::<Vec<_>>()).map_err(unwritable)
}

fn unwritable(e: serde_json::Error) -> GatewayError {
    GatewayError::System(format!("a fee upload's answer could not be written: {e}"))
}

/// A fee upload's answer as JSON text, written straight from the lines (no value tree).
fn result_text(lines: &[FeeLineRow]) -> Result<String> {
    #[derive(Serialize)]
    struct Results<'a> {
        result: Vec<ResultRow<'a>>,
    }
    let rows = Results { result: lines.iter().map(ResultRow::of).collect() };
    serde_json::to_string(&rows).map_err(unwritable)
}

/// An upload checked, classified and answered on a read snapshot, before it takes the single
/// writer; [`apply_upload`] writes it.
pub struct Upload {
    /// The visit as the lines were classified for.
    visit: Visit,
    lines: Vec<FeeLineRow>,
    /// The answer's JSON text.
    text: String,
}

/// The visit of an upload, open for fees of this kind (`lock`: for the write transaction).
fn upload_visit(ctx: &Ctx, tx: &mut dyn Tx, lines: &[Obj], outpatient: bool, lock: bool) -> Result<Visit> {
    let first = lines[0].node();
    let mdtrt_id = first.str_max("mdtrt_id", 30)?;
    let v = own_visit(ctx, tx, &mdtrt_id, Some(&first.str_max("psn_no", 30)?), lock)?;
    open_for_fees(v, outpatient)
}

fn open_for_fees(v: Visit, outpatient: bool) -> Result<Visit> {
    let mdtrt_id = &v.mdtrt_id;
    let inpatient = VisitClass::from_med_type(&v.med_type).is_some_and(VisitClass::is_inpatient);
    if inpatient == outpatient {
        return Err(biz(format!(
            "mdtrt_id {mdtrt_id} is {} visit: use {}",
            if inpatient { "an inpatient" } else { "an outpatient" },
            if inpatient { "2301" } else { "2204" }
        )));
    }
    if v.stas != visit_stas::OPEN && !(v.stas == visit_stas::DISCHARGED && inpatient) {
        return Err(biz(format!("mdtrt_id {mdtrt_id} is {}; fees can no longer be uploaded", v.stas)));
    }
    Ok(v)
}

pub fn stage_upload(ctx: &Ctx, tx: &mut dyn Tx, outpatient: bool) -> Result<Upload> {
    let rows = rows(&ctx.env.input, "feedetail", true)?;
    let visit = upload_visit(ctx, tx, &rows, outpatient, false)?;
    let lines = classify_rows(ctx, tx, &visit, &rows, outpatient)?;
    let text = result_text(&lines)?;
    Ok(Upload { visit, lines, text })
}

/// Writes a staged upload. What may have changed since the snapshot is checked again: the
/// visit (still open, and unchanged, else the upload is redone here in full) and that the serial
/// numbers are still new. The answer is the staged text.
pub fn apply_upload(ctx: &Ctx, tx: &mut dyn Tx, u: &Upload, outpatient: bool) -> Result<Done> {
    let v = own_visit(ctx, tx, &u.visit.mdtrt_id, Some(&u.visit.psn_no), true)?;
    if v != u.visit {
        return upload(ctx, tx, outpatient);
    }
    let v = open_for_fees(v, outpatient)?;
    check_new_sns(tx, &v, &u.lines)?;
    write_lines(ctx, tx, &v, &u.lines)?;
    Ok(Done { output: Output::Json(u.text.clone()), psn_no: Some(v.psn_no), ref_id: Some(v.mdtrt_id) })
}

fn write_lines(ctx: &Ctx, tx: &mut dyn Tx, v: &Visit, lines: &[FeeLineRow]) -> Result<()> {
    st::insert_lines(tx, lines)?;
    let total = lines.iter().map(|l| l.det_item_fee_sumamt).fold(Fen::ZERO, |a, b| a + b);
    let payload = json!({ "psn_no": v.psn_no, "lines": lines.len(), "amount": total });
    event(ctx, tx, &v.insuplc_admdvs, "fees.uploaded", &v.mdtrt_id, payload)
}

/// The whole upload in the write transaction (when it could not be staged).
fn upload(ctx: &Ctx, tx: &mut dyn Tx, outpatient: bool) -> Result<Done> {
    let rows = rows(&ctx.env.input, "feedetail", true)?;
    let v = upload_visit(ctx, tx, &rows, outpatient, true)?;
    let lines = classify_rows(ctx, tx, &v, &rows, outpatient)?;
    write_lines(ctx, tx, &v, &lines)?;
    Ok(Done { output: Output::Json(result_text(&lines)?), psn_no: Some(v.psn_no), ref_id: Some(v.mdtrt_id) })
}

pub fn upload_outpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    upload(ctx, tx, true)
}

pub fn upload_inpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    upload(ctx, tx, false)
}

pub fn stage_outpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Upload> {
    stage_upload(ctx, tx, true)
}

pub fn stage_inpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Upload> {
    stage_upload(ctx, tx, false)
}

pub fn apply_outpatient(ctx: &Ctx, tx: &mut dyn Tx, u: &Upload) -> Result<Done> {
    apply_upload(ctx, tx, u, true)
}

pub fn apply_inpatient(ctx: &Ctx, tx: &mut dyn Tx, u: &Upload) -> Result<Done> {
    apply_upload(ctx, tx, u, false)
}

fn cancel(ctx: &Ctx, tx: &mut dyn Tx, field: &str) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let v = own_visit(ctx, tx, &d.str_max("mdtrt_id", 30)?, Some(&d.str_max("psn_no", 30)?), true)?;
    let which = d.str_max(field, 30)?;
    let n = match (which.as_str(), field) {
        ("0000", _) => st::cancel_lines(tx, &v.mdtrt_id, None, None)?,
        (b, "chrg_bchno") => st::cancel_lines(tx, &v.mdtrt_id, None, Some(b))?,
        (sn, _) => {
            let line = st::line(tx, &v.mdtrt_id, sn)?
                .ok_or_else(|| biz(format!("input.data.feedetl_sn: {sn} is not a line of mdtrt_id {}", v.mdtrt_id)))?;
            if line.setl_id.is_some() {
                return Err(biz(format!(
                    "fee line {sn} is settled ({}); reverse the settlement first",
                    line.setl_id.unwrap_or_default()
                )));
            }
            st::cancel_lines(tx, &v.mdtrt_id, Some(sn), None)?
        }
    };
    if n == 0 {
        return Err(biz(format!(
            "input.data.{field}: {which} matches no unsettled fee line of mdtrt_id {}",
            v.mdtrt_id
        )));
    }
    event(ctx, tx, &v.insuplc_admdvs, "fees.cancelled", &v.mdtrt_id, json!({ "psn_no": v.psn_no, "lines": n }))?;
    Ok(done(json!({}), Some(&v.psn_no), Some(&v.mdtrt_id)))
}

pub fn cancel_outpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    cancel(ctx, tx, "chrg_bchno")
}

pub fn cancel_inpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    cancel(ctx, tx, "feedetl_sn")
}
