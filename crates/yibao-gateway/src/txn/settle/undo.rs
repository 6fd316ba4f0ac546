//! Reversal of a settlement (2208/2305/2103, and 2601 of a settlement) and its reinstatement
//! (2601 of a reversal): the domain's one negation ([`yibao_domain::reversal`]) written back,
//! every balance the settlement moved restored.

use super::*;

fn reverse_request(ctx: &Ctx, tx: &mut dyn Tx, want: &[VisitClass]) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    lock_patient(tx, &d)?;
    let setl_id = d.str_max("setl_id", 30)?;
    let s = own_settlement(ctx, tx, &setl_id)?;
    if s.mdtrt_id != d.str_max("mdtrt_id", 30)? || s.psn_no != d.str_max("psn_no", 30)? {
        return Err(biz(format!("setl_id {setl_id} is not a settlement of that mdtrt_id and psn_no")));
    }
    let class = VisitClass::from_med_type(&s.med_type).unwrap_or(VisitClass::Outpatient);
    if !want.contains(&class) {
        return Err(biz(format!("setl_id {setl_id} is a {class:?} settlement: use its own reversal transaction")));
    }
    reverse_settlement(ctx, tx, s)
}

pub(in crate::txn) fn own_settlement(ctx: &Ctx, tx: &mut dyn Tx, setl_id: &str) -> Result<SettlementRow> {
    let s = st::settlement(tx, setl_id, true)?.ok_or_else(|| biz(format!("setl_id {setl_id}: no such settlement")))?;
    if s.fixmedins_code != ctx.env.fixmedins_code {
        return Err(biz(format!("setl_id {setl_id} belongs to another institution")));
    }
    Ok(s)
}

/// Writes the negated mirror of a settlement and restores every balance it moved.
pub(in crate::txn) fn reverse_settlement(ctx: &Ctx, tx: &mut dyn Tx, s: SettlementRow) -> Result<Done> {
    if s.refd_setl_flag {
        return Err(biz(format!("setl_id {} is itself a reversal", s.setl_id)));
    }
    if let Some(r) = &s.revs_setl_id {
        return Err(biz(format!("setl_id {} was already reversed by {r}", s.setl_id)));
    }
    let later = st::settlements_of_visit(tx, &s.mdtrt_id)?
        .into_iter()
        .filter(active)
        .any(|x| (x.setl_time, &x.setl_id) > (s.setl_time, &s.setl_id));
    if later {
        return Err(biz(format!("a later settlement of mdtrt_id {} must be reversed first", s.mdtrt_id)));
    }
    let body = body_of(&s)?;
    let r = reversal::reverse(&stored_outcome(&s, &body)?);
    let rev_id = ctx.new_id();
    let moved = Accounts { psn_no: &s.psn_no, admdvs: &s.insuplc_admdvs, moves: &r.effects };
    let balc = moved.apply(ctx, tx, Direction::Refund, &rev_id)?;
    let balc = balc.map_or_else(|| registry::account_balance(tx, &s.psn_no), Ok)?;
    st::apply_deltas(tx, &s.psn_no, &s.insutype, s.setl_year, &s.insuplc_admdvs, &r.effects.deltas)?;
    let answer = mirror_answer(ctx, &body["answer"], &r.outcome, &rev_id, balc);
    let mut m = s.clone();
    m.setl_id = rev_id.clone();
    m.setl_time = ctx.now.0;
    m.msgid = ctx.env.msgid.clone();
    m.refd_setl_flag = true;
    m.orig_setl_id = Some(s.setl_id.clone());
    m.revs_setl_id = None;
    m.amounts = amount_row(&r.outcome, balc);
    let o = &r.outcome;
    m.body =
        json!({ "answer": answer, "deltas": o.deltas, "mulaid_pays": o.mulaid_pays, "year": s.setl_year }).to_string();
    st::insert_settlement(tx, &m, &o.setldetail)?;
    if !st::mark_reversed(tx, &s.setl_id, &rev_id)? {
        return Err(GatewayError::System(format!("settlement {} changed during its reversal", s.setl_id)));
    }
    st::msg_mark_reversed(tx, &s.fixmedins_code, &s.msgid)?;
    reopen_visit(ctx, tx, &s)?;
    let ev = json!({ "setl_id": rev_id, "orig_setl_id": s.setl_id, "psn_no": s.psn_no, "medfee_sumamt": o.medfee_sumamt, "fund_pay_sumamt": o.fund_pay_sumamt, "acct_pay": o.acct_pay });
    event(ctx, tx, &s.insuplc_admdvs, "settlement.reversed", &rev_id, ev)?;
    Ok(done(answer, Some(&s.psn_no), Some(&rev_id)))
}

/// After a reversal the visit's lines are free again; a pharmacy sale is void as a whole.
fn reopen_visit(ctx: &Ctx, tx: &mut dyn Tx, s: &SettlementRow) -> Result<()> {
    st::unmark_lines(tx, &s.mdtrt_id, &s.setl_id)?;
    let mut v = st::visit(tx, &s.mdtrt_id, true)?
        .ok_or_else(|| GatewayError::System(format!("visit {} of a settlement is missing", s.mdtrt_id)))?;
    let class = VisitClass::from_med_type(&v.med_type);
    if class == Some(VisitClass::Pharmacy) {
        // The lines stay as they were so that a 2601 of this reversal can reinstate the sale.
        v.stas = visit_stas::CANCELLED.to_owned();
    } else if v.stas == visit_stas::SETTLED {
        v.stas = if v.endtime.is_some() { visit_stas::DISCHARGED } else { visit_stas::OPEN }.to_owned();
    }
    if !st::settlements_of_visit(tx, &v.mdtrt_id)?.iter().any(active) {
        v.adm_seq = None;
    }
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    Ok(())
}

/// The original answer with the reversal's amounts, its own setl_id and time.
fn mirror_answer(ctx: &Ctx, orig: &Value, rev: &Outcome, rev_id: &str, balc: Fen) -> Value {
    let mut info = orig["setlinfo"].clone();
    if let Value::Object(m) = &mut info {
        // hifdm_pay stays as it was: no yibao fund pays it, so it is zero on both.
        m.extend(outcome_fields(rev));
        m.insert("setl_id".into(), json!(rev_id));
        m.insert("setl_time".into(), json!(ctx.now.to_string()));
        m.insert("medins_setl_id".into(), json!(ctx.env.msgid));
        m.insert("balc".into(), serde_json::to_value(balc).unwrap_or_default());
    }
    json!({ "setlinfo": info, "setldetail": rev.setldetail })
}

/// The outcome a settlement stored (its answer's setlinfo and setldetail, its deltas and family
/// pays), checked against the settlement's amount columns.
fn stored_outcome(s: &SettlementRow, body: &Value) -> Result<Outcome> {
    let mut m = body["answer"]["setlinfo"].as_object().cloned().unwrap_or_default();
    m.insert("setldetail".into(), body["answer"]["setldetail"].clone());
    m.insert("deltas".into(), body["deltas"].clone());
    m.insert("mulaid_pays".into(), body["mulaid_pays"].clone());
    m.insert("trace".into(), json!([]));
    let o: Outcome = serde_json::from_value(Value::Object(m))
        .map_err(|e| GatewayError::System(format!("settlement {} body: {e}", s.setl_id)))?;
    let n = AMOUNT_COLS.len() - 1;
    if amount_row(&o, Fen::ZERO)[..n] != s.amounts[..n] {
        return Err(GatewayError::System(format!("settlement {} body does not match its amounts", s.setl_id)));
    }
    Ok(o)
}

pub fn reverse_outpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    reverse_request(ctx, tx, &[VisitClass::Outpatient, VisitClass::Chronic, VisitClass::Maternity])
}

pub fn reverse_inpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    reverse_request(ctx, tx, &[VisitClass::Inpatient, VisitClass::Maternity])
}

pub fn reverse_pharmacy(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    reverse_request(ctx, tx, &[VisitClass::Pharmacy])
}

fn body_of(s: &SettlementRow) -> Result<Value> {
    serde_json::from_str(&s.body).map_err(|e| GatewayError::System(format!("settlement {} body: {e}", s.setl_id)))
}

fn from_body<T: serde::de::DeserializeOwned>(body: &Value, key: &str) -> Result<T> {
    serde_json::from_value(body[key].clone()).map_err(|e| GatewayError::System(format!("settlement body {key}: {e}")))
}

/// Undoes a reversal (2601 of a 2208/2305/2103): the original settlement takes effect again as
/// a new settlement with the original's amounts, provided its fee lines are still free.
pub(in crate::txn) fn reinstate(ctx: &Ctx, tx: &mut dyn Tx, mirror: SettlementRow) -> Result<Done> {
    if !mirror.refd_setl_flag {
        return Err(biz(format!("setl_id {} is not a reversal", mirror.setl_id)));
    }
    if let Some(r) = &mirror.revs_setl_id {
        return Ok(done(json!({}), Some(&mirror.psn_no), Some(r)));
    }
    let orig_id = mirror
        .orig_setl_id
        .clone()
        .ok_or_else(|| GatewayError::System(format!("reversal {} names no original", mirror.setl_id)))?;
    let orig = own_settlement(ctx, tx, &orig_id)?;
    if st::settlements_of_visit(tx, &orig.mdtrt_id)?.iter().any(active) {
        return Err(biz(format!("mdtrt_id {} was settled again since; reverse that settlement first", orig.mdtrt_id)));
    }
    let body = body_of(&orig)?;
    let sns: Vec<String> = from_body(&body, "feedetl_sns")?;
    for sn in &sns {
        let free = st::line(tx, &orig.mdtrt_id, sn)?.is_some_and(|l| l.stas == "active" && l.setl_id.is_none());
        if !free {
            return Err(biz(format!("fee line {sn} was cancelled or settled again; the reversal cannot be undone")));
        }
    }
    let new_id = ctx.new_id();
    let back = reversal::reinstate(&stored_outcome(&orig, &body)?);
    let moved = Accounts { psn_no: &orig.psn_no, admdvs: &orig.insuplc_admdvs, moves: &back.effects };
    let balc = moved.apply(ctx, tx, Direction::Pay, &new_id)?;
    let balc = balc.map_or_else(|| registry::account_balance(tx, &orig.psn_no), Ok)?;
    let o = &back.outcome;
    st::apply_deltas(tx, &orig.psn_no, &orig.insutype, orig.setl_year, &orig.insuplc_admdvs, &o.deltas)?;
    let mut answer = body["answer"].clone();
    answer["setlinfo"]["setl_id"] = json!(new_id);
    answer["setlinfo"]["setl_time"] = json!(ctx.now.to_string());
    answer["setlinfo"]["medins_setl_id"] = json!(ctx.env.msgid);
    answer["setlinfo"]["balc"] = serde_json::to_value(balc).unwrap_or_default();
    let mut row = orig.clone();
    row.setl_id = new_id.clone();
    row.setl_time = ctx.now.0;
    row.msgid = ctx.env.msgid.clone();
    row.orig_setl_id = Some(mirror.setl_id.clone());
    row.revs_setl_id = None;
    row.amounts[AMOUNT_COLS.len() - 1] = balc;
    let mut new_body = body.clone();
    new_body["answer"] = answer.clone();
    row.body = new_body.to_string();
    st::insert_settlement(tx, &row, &o.setldetail)?;
    st::mark_lines(tx, &orig.mdtrt_id, &sns, &new_id)?;
    if !st::mark_reversed(tx, &mirror.setl_id, &new_id)? {
        return Err(GatewayError::System(format!("reversal {} changed while being undone", mirror.setl_id)));
    }
    settle_visit_again(ctx, tx, &orig)?;
    let ev = json!({ "setl_id": new_id, "reinstates": orig.setl_id, "psn_no": orig.psn_no, "medfee_sumamt": o.medfee_sumamt, "fund_pay_sumamt": o.fund_pay_sumamt, "acct_pay": o.acct_pay });
    event(ctx, tx, &orig.insuplc_admdvs, "settlement.settled", &new_id, ev)?;
    Ok(done(answer, Some(&orig.psn_no), Some(&new_id)))
}

fn settle_visit_again(ctx: &Ctx, tx: &mut dyn Tx, orig: &SettlementRow) -> Result<()> {
    let mut v = st::visit(tx, &orig.mdtrt_id, true)?
        .ok_or_else(|| GatewayError::System(format!("visit {} is missing", orig.mdtrt_id)))?;
    let class = VisitClass::from_med_type(&v.med_type);
    let was_final =
        class == Some(VisitClass::Pharmacy) || (class.is_some_and(VisitClass::is_inpatient) && !orig.mid_setl_flag);
    if was_final {
        v.stas = visit_stas::SETTLED.to_owned();
    }
    if let Some(seq) = body_of(orig)?["answer"]["trace"]["adm_seq"].as_i64() {
        v.adm_seq = Some(seq);
    }
    v.updt_time = ctx.now.0;
    st::update_visit(tx, &v)?;
    Ok(())
}
