//! Pre-settlement, settlement and settlement reversal: outpatient (2206/2207/2208), inpatient
//! with mid-stay settlement (2303/2304/2305) and pharmacy sales (2101/2102/2103).
//!
//! Pre-settlement runs the same computation as settlement on a read snapshot and writes
//! nothing, so the two answer the same amounts for the same state.

use super::fees::{classify_rows, result_rows, split_of};
use super::person::baseinfo;
use super::visit::{build_visit, NewVisit};
use super::{done, event, own_visit, Ctx, Done, Output};
use crate::error::{biz, GatewayError, Result};
use crate::input::{object, rows, Node};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use yibao_domain::dict::{insutype, PsnCategory, VisitClass};
use yibao_domain::policy::{Policy, Scope, Selects};
use yibao_domain::registry::{EntryKind, Person};
use yibao_domain::reversal::{self, Effects};
use yibao_domain::settle::{self, cum, AccountFacts, Outcome, PersonFacts, SettleInput, VisitFacts};
use yibao_domain::visit_rules;
use yibao_domain::{Date, DateTime, Fen};
use yibao_store::settlement::{self as st, visit_stas, FeeLineRow, SettlementRow, Visit, AMOUNT_COLS};
use yibao_store::{policy, registry, Tx};

mod undo;
pub(super) use undo::{own_settlement, reinstate, reverse_settlement};
pub use undo::{reverse_inpatient, reverse_outpatient, reverse_pharmacy};

/// Everything one settlement was computed from, and the result.
struct Basis {
    visit: Visit,
    lines: Vec<FeeLineRow>,
    person: Person,
    psn_type: String,
    cvlserv: bool,
    year: i64,
    adm_seq: u32,
    policy_ver: String,
    own_balance: Fen,
    /// The deductible standard (起付标准) of this visit, before what earlier segments paid.
    dedc_std: Fen,
    /// A mid-stay segment of an inpatient stay (mid_setl_flag 1).
    mid_setl: bool,
    outcome: Outcome,
}

fn settle_date(ctx: &Ctx) -> Date {
    ctx.now.date()
}

fn load_policy(tx: &mut dyn Tx, admdvs: &str, insutype: &str, on: Date) -> Result<Policy> {
    match (policy::policy_in_force(tx, admdvs, insutype, on), visit_rules::policy_fallback(admdvs)) {
        (Err(policy::PolicyStoreError::NotInForce { .. }), Some(city)) => {
            Ok(policy::policy_in_force(tx, &city, insutype, on)?)
        }
        (other, _) => Ok(other?),
    }
}

fn compute(ctx: &Ctx, tx: &mut dyn Tx, visit: Visit, lines: Vec<FeeLineRow>, use_account: bool) -> Result<Basis> {
    if lines.is_empty() {
        return Err(biz(format!("mdtrt_id {}: no unsettled fee details to settle", visit.mdtrt_id)));
    }
    let person = registry::person_by_psn_no(tx, &visit.psn_no)?
        .ok_or_else(|| biz(format!("psn_no {}: no such person", visit.psn_no)))?;
    let visit_day = DateTime(visit.begntime).date();
    let on = settle_date(ctx);
    let enrollments = registry::enrollments_as_of(tx, &visit.psn_no, visit_day)?;
    let e = enrollments.iter().find(|e| e.insutype == visit.insutype).ok_or_else(|| {
        biz(format!("psn_no {} is not insured under {} on {visit_day}", visit.psn_no, visit.insutype))
    })?;
    let category =
        PsnCategory::from_psn_type(&e.psn_type).ok_or_else(|| biz(format!("psn_type {} is not known", e.psn_type)))?;
    let insutypes: Vec<String> =
        enrollments.iter().filter(|x| x.active_on(visit_day)).map(|x| x.insutype.clone()).collect();
    let cvlserv = e.cvlserv_flag || insutypes.iter().any(|t| t == insutype::CIVIL_SERVANT);
    let idet_types =
        registry::person_idets_as_of(tx, &visit.psn_no, on)?.into_iter().map(|i| i.psn_idet_type).collect();
    let person_facts = PersonFacts { psn_type: e.psn_type.clone(), category, cvlserv, idet_types, insutypes };
    let pol = load_policy(tx, &visit.insuplc_admdvs, &visit.insutype, on)?;
    let year = on.year() as i64;
    let ytd = st::accumulators(tx, &visit.psn_no, &visit.insutype, year)?;
    let visit_facts = visit_facts(ctx, tx, &visit, &ytd)?;
    let account = account_facts(tx, &visit.psn_no, on, use_account)?;
    let splits: Vec<_> = lines.iter().map(split_of).collect();
    let input = SettleInput {
        policy: &pol,
        person: &person_facts,
        visit: &visit_facts,
        ytd: &ytd,
        lines: &splits,
        account: &account,
    };
    let outcome = settle::settle(&input)?;
    let dedc_std = dedc_std(&pol, &visit_facts, category);
    Ok(Basis {
        dedc_std,
        mid_setl: false,
        adm_seq: visit_facts.adm_seq,
        visit,
        lines,
        person,
        psn_type: e.psn_type.clone(),
        cvlserv,
        year,
        policy_ver: pol.ver.clone(),
        own_balance: account.own_balance,
        outcome,
    })
}

/// The basic pool's deductible standard for this visit: the row the engine charges from, at
/// this admission's number (or the year's amount), before what was already paid against it.
fn dedc_std(pol: &Policy, v: &VisitFacts, category: PsnCategory) -> Fen {
    let Some(pool) = pol.pool_for(v.visit_class) else { return Fen::ZERO };
    let Some(row) = pool.deductible.rows.iter().find(|r| r.matches(v.grade, category)) else { return Fen::ZERO };
    let i = match pool.deductible.scope {
        Scope::Admission => (v.adm_seq.max(1) as usize - 1).min(row.amounts.len().saturating_sub(1)),
        Scope::Year => 0,
    };
    row.amounts.get(i).copied().unwrap_or(Fen::ZERO)
}

fn active(s: &SettlementRow) -> bool {
    !s.refd_setl_flag && s.revs_setl_id.is_none()
}

fn visit_facts(ctx: &Ctx, tx: &mut dyn Tx, v: &Visit, ytd: &BTreeMap<String, Fen>) -> Result<VisitFacts> {
    let class =
        VisitClass::from_med_type(&v.med_type).ok_or_else(|| biz(format!("med_type {} is not known", v.med_type)))?;
    let prior: Vec<SettlementRow> = st::settlements_of_visit(tx, &v.mdtrt_id)?.into_iter().filter(active).collect();
    let admissions = ytd.get(cum::ADMISSIONS).map_or(0, |f| f.0);
    let this_stay = v.adm_seq.filter(|_| !prior.is_empty());
    let adm_seq = visit_rules::admission_number(class, this_stay, admissions);
    // Mid-stay segments of an inpatient stay share its deductible and bands; separate outpatient
    // charge batches are separate visits for the policy.
    let (prior_dedc, prior_inscp) = if class.is_inpatient() {
        (prior.iter().map(|s| s.amount("act_pay_dedc")).sum(), prior.iter().map(|s| s.amount("inscp_scp_amt")).sum())
    } else {
        (Fen::ZERO, Fen::ZERO)
    };
    Ok(VisitFacts {
        visit_class: class,
        grade: ctx.institution(tx, &v.fixmedins_code)?.grade().unwrap_or(0),
        adm_seq,
        remote: visit_rules::remote_type(&v.admdvs, &v.insuplc_admdvs, &v.med_type),
        prior_dedc,
        prior_inscp,
        first_segment: prior.is_empty() || !class.is_inpatient(),
    })
}

fn account_facts(tx: &mut dyn Tx, psn_no: &str, on: Date, use_account: bool) -> Result<AccountFacts> {
    let own_balance = registry::account_balance(tx, psn_no)?;
    let mut mulaid = Vec::new();
    if use_account {
        for b in registry::mulaid_owners_of(tx, psn_no, on)? {
            let bal = registry::account_balance(tx, &b.owner_psn_no)?;
            mulaid.push((b.owner_psn_no, bal));
        }
    }
    Ok(AccountFacts { use_account, own_balance, mulaid })
}

/// The request's totals must equal what the platform computed from the uploaded details.
fn check_amounts(d: &Node, o: &Outcome, full: bool) -> Result<()> {
    let mut fields = vec![("medfee_sumamt", o.medfee_sumamt)];
    if full {
        fields.extend([
            ("fulamt_ownpay_amt", o.fulamt_ownpay_amt),
            ("overlmt_selfpay", o.overlmt_selfpay),
            ("preselfpay_amt", o.preselfpay_amt),
            ("inscp_scp_amt", o.inscp_scp_amt),
        ]);
    }
    for (f, want) in fields {
        let got = if f == "medfee_sumamt" || full { d.opt_fen(f)? } else { None };
        match got {
            Some(g) if g != want => {
                return Err(biz(format!("{}.{f}: {g} does not match the uploaded fee details ({want})", d.path)))
            }
            None if f == "medfee_sumamt" => return Err(biz(format!("{}.medfee_sumamt: required", d.path))),
            _ => {}
        }
    }
    Ok(())
}

fn setlinfo(ctx: &Ctx, b: &Basis, setl_id: Option<&str>, balc: Fen) -> Value {
    let o = &b.outcome;
    let on = settle_date(ctx);
    let mut m = match baseinfo(&b.person, on) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.remove("exp_content");
    let class = VisitClass::from_med_type(&b.visit.med_type).unwrap_or(VisitClass::Outpatient);
    let head = json!({
        "mdtrt_id": b.visit.mdtrt_id, "setl_id": setl_id, "insutype": b.visit.insutype, "psn_type": b.psn_type,
        "cvlserv_flag": if b.cvlserv { "1" } else { "0" }, "setl_time": setl_id.map(|_| ctx.now.to_string()),
        "mdtrt_cert_type": b.visit.mdtrt_cert_type, "med_type": b.visit.med_type,
        "medins_setl_id": ctx.env.msgid, "clr_optins": b.visit.insuplc_admdvs, "clr_way": setl_id.map(|_| "1"),
        "clr_type": class.clr_type(), "balc": balc, "hifdm_pay": Fen::ZERO,
        // §3.1's regional keys that HIS read: the insured place, the deductible standard, the
        // kind of settlement (yibao's codes; no national list was found: 1 mid-stay segment,
        // 2 final, as the Chongqing sample's final inpatient settlement has it) and the period
        // settled, from the visit's start to its discharge or, while it is open, this day.
        "insu_admdvs": b.visit.insuplc_admdvs, "dedc_std": b.dedc_std,
        "setl_type": if b.mid_setl { "1" } else { "2" },
        "begndate": DateTime(b.visit.begntime).date().to_string(),
        "enddate": b.visit.endtime.map_or(on, |t| DateTime(t).date()).to_string(),
    });
    if let Value::Object(h) = head {
        m.extend(h);
    }
    m.extend(outcome_fields(o));
    Value::Object(m)
}

/// The setlinfo fields of an outcome: its amounts (and ratio), as the wire writes them.
fn outcome_fields(o: &Outcome) -> Map<String, Value> {
    match serde_json::to_value(o).unwrap_or_default() {
        Value::Object(mut m) => {
            m.retain(|k, _| !matches!(k.as_str(), "setldetail" | "trace" | "deltas" | "mulaid_pays"));
            m
        }
        _ => Map::new(),
    }
}

fn answer(ctx: &Ctx, b: &Basis, setl_id: Option<&str>, balc: Fen) -> Value {
    json!({
        "setlinfo": setlinfo(ctx, b, setl_id, balc),
        "setldetail": b.outcome.setldetail,
        "trace": { "policy": b.policy_ver, "adm_seq": b.adm_seq, "steps": b.outcome.trace },
    })
}

/// Writes a computed settlement: the settlement and its fund rows, the fee lines it consumed,
/// accumulators, account ledgers, the visit, and an outbox event, all in the caller's transaction.
fn commit(ctx: &Ctx, tx: &mut dyn Tx, mut b: Basis, final_setl: bool) -> Result<Done> {
    let setl_id = ctx.new_id();
    let o = &b.outcome;
    let psn = b.visit.psn_no.clone();
    let effects = Effects::of(o);
    let moved = Accounts { psn_no: &psn, admdvs: &b.visit.insuplc_admdvs, moves: &effects };
    let balc = moved.apply(ctx, tx, Direction::Pay, &setl_id)?.unwrap_or(b.own_balance);
    st::apply_deltas(tx, &psn, &b.visit.insutype, b.year, &b.visit.insuplc_admdvs, &o.deltas)?;
    let sns: Vec<String> = b.lines.iter().map(|l| l.feedetl_sn.clone()).collect();
    let out = answer(ctx, &b, Some(&setl_id), balc);
    let body =
        json!({ "answer": out, "deltas": o.deltas, "mulaid_pays": o.mulaid_pays, "year": b.year, "feedetl_sns": sns });
    let row = settlement_row(ctx, &b, &setl_id, &body, balc, final_setl);
    st::insert_settlement(tx, &row, &o.setldetail)?;
    st::mark_lines(tx, &b.visit.mdtrt_id, &sns, &setl_id)?;
    b.visit.adm_seq = Some(b.adm_seq as i64);
    if final_setl {
        b.visit.stas = visit_stas::SETTLED.to_owned();
    }
    b.visit.updt_time = ctx.now.0;
    st::update_visit(tx, &b.visit)?;
    let ev = json!({ "setl_id": setl_id, "psn_no": psn, "medfee_sumamt": o.medfee_sumamt, "fund_pay_sumamt": o.fund_pay_sumamt, "acct_pay": o.acct_pay, "fixmedins_code": b.visit.fixmedins_code, "admdvs": b.visit.admdvs });
    event(ctx, tx, &b.visit.insuplc_admdvs, "settlement.settled", &setl_id, ev)?;
    Ok(done(out, Some(&psn), Some(&setl_id)))
}

fn settlement_row(ctx: &Ctx, b: &Basis, setl_id: &str, body: &Value, balc: Fen, final_setl: bool) -> SettlementRow {
    let amounts = amount_row(&b.outcome, balc);
    let class = VisitClass::from_med_type(&b.visit.med_type).unwrap_or(VisitClass::Outpatient);
    SettlementRow {
        setl_id: setl_id.to_owned(),
        mdtrt_id: b.visit.mdtrt_id.clone(),
        psn_no: b.visit.psn_no.clone(),
        fixmedins_code: b.visit.fixmedins_code.clone(),
        admdvs: b.visit.admdvs.clone(),
        insuplc_admdvs: b.visit.insuplc_admdvs.clone(),
        insutype: b.visit.insutype.clone(),
        med_type: b.visit.med_type.clone(),
        clr_type: class.clr_type().to_owned(),
        setl_time: ctx.now.0,
        setl_year: b.year,
        msgid: ctx.env.msgid.clone(),
        refd_setl_flag: false,
        orig_setl_id: None,
        revs_setl_id: None,
        mid_setl_flag: class.is_inpatient() && !final_setl,
        amounts,
        body: body.to_string(),
    }
}

/// A settlement's amount columns (AMOUNT_COLS): its outcome's amounts and the balance after it.
fn amount_row(o: &Outcome, balc: Fen) -> [Fen; 20] {
    let amounts = [
        o.medfee_sumamt,
        o.fulamt_ownpay_amt,
        o.overlmt_selfpay,
        o.preselfpay_amt,
        o.inscp_scp_amt,
        o.act_pay_dedc,
        o.hifp_pay,
        o.cvlserv_pay,
        o.hifes_pay,
        o.hifmi_pay,
        o.hifob_pay,
        o.maf_pay,
        o.oth_pay,
        o.fund_pay_sumamt,
        o.psn_part_amt,
        o.acct_pay,
        o.acct_mulaid_pay,
        o.psn_cash_pay,
        o.hosp_part_amt,
        balc,
    ];
    debug_assert_eq!(amounts.len(), AMOUNT_COLS.len());
    amounts
}

// ---- outpatient -------------------------------------------------------------------------------

/// `write`: lock the visit for a settlement; a pre-settlement reads a snapshot and locks nothing.
fn outpatient_basis(ctx: &Ctx, tx: &mut dyn Tx, d: &Node, write: bool) -> Result<Basis> {
    let v = own_visit(ctx, tx, &d.str_max("mdtrt_id", 30)?, Some(&d.str_max("psn_no", 30)?), write)?;
    super::person::check_given(ctx, d, &v, None)?;
    if VisitClass::from_med_type(&v.med_type).is_some_and(VisitClass::is_inpatient) {
        return Err(biz(format!("mdtrt_id {} is an inpatient stay: use 2303/2304", v.mdtrt_id)));
    }
    if v.stas != visit_stas::OPEN {
        return Err(biz(format!("mdtrt_id {} is {}", v.mdtrt_id, v.stas)));
    }
    if let Some(mt) = d.opt_str("med_type")? {
        if mt != v.med_type && VisitClass::from_med_type(&mt).is_none() {
            return Err(biz(format!("{}.med_type: {mt:?} is not a known medical type", d.path)));
        }
    }
    check_insutype(d, &v)?;
    let batch = d.opt_str_max("chrg_bchno", 30)?;
    let lines = st::unsettled_lines(tx, &v.mdtrt_id, batch.as_deref())?;
    let use_account = d.flag("acct_used_flag", false)?;
    let b = compute(ctx, tx, v, lines, use_account)?;
    super::person::check_given(ctx, d, &b.visit, Some(&b.person))?;
    Ok(b)
}

fn check_insutype(d: &Node, v: &Visit) -> Result<()> {
    if let Some(t) = d.opt_str("insutype")? {
        if t != v.insutype {
            return Err(biz(format!("{}.insutype: {t} differs from the visit's {}", d.path, v.insutype)));
        }
    }
    Ok(())
}

/// A pre-settlement's answer: the settlement as it would be, the balance as it would become.
fn preview(ctx: &Ctx, d: &Node, b: &Basis) -> Result<Value> {
    check_amounts(d, &b.outcome, false)?;
    Ok(answer(ctx, b, None, b.own_balance - b.outcome.acct_pay))
}

/// 2206: answers the person's identity (baseinfo) and balance, so it is an audited read.
pub fn presettle_outpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let b = outpatient_basis(ctx, tx, &data.node(), false)?;
    Ok((preview(ctx, &data.node(), &b)?, Some(b.visit.psn_no)))
}

/// Holds the person for the rest of the transaction (PostgreSQL; SQLite has one writer), taken
/// first by every settlement and reversal: what a settlement computes from — accumulators,
/// account balances, earlier settlements — must not change under it, and one order of locks
/// (person, then visit or settlement, then accounts) keeps two of them from deadlocking.
pub(super) fn lock_patient(tx: &mut dyn Tx, d: &Node) -> Result<()> {
    st::lock_person(tx, &d.str_max("psn_no", 30)?)?;
    Ok(())
}

pub fn settle_outpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    lock_patient(tx, &d)?;
    let b = outpatient_basis(ctx, tx, &d, true)?;
    check_amounts(&d, &b.outcome, true)?;
    commit(ctx, tx, b, false)
}

// ---- inpatient --------------------------------------------------------------------------------

fn inpatient_basis(ctx: &Ctx, tx: &mut dyn Tx, d: &Node, write: bool) -> Result<(Basis, bool)> {
    let v = own_visit(ctx, tx, &d.str_max("mdtrt_id", 30)?, Some(&d.str_max("psn_no", 30)?), write)?;
    super::person::check_given(ctx, d, &v, None)?;
    if !VisitClass::from_med_type(&v.med_type).is_some_and(VisitClass::is_inpatient) {
        return Err(biz(format!("mdtrt_id {} is not an inpatient stay: use 2206/2207", v.mdtrt_id)));
    }
    let mid = d.flag("mid_setl_flag", false)?;
    match v.stas.as_str() {
        visit_stas::OPEN | visit_stas::DISCHARGED => {}
        other => return Err(biz(format!("mdtrt_id {} is {other}", v.mdtrt_id))),
    }
    // A final settlement closes the stay, so it needs the discharge on record (2402): its end
    // time, way and diagnoses. `dscgTime` only lets a pre-settlement (which writes nothing)
    // preview the final bill of a patient about to leave; it never stands in for 2402.
    let dscg_time = d.opt_time_by("dscgTime", ctx.now)?;
    if !mid && v.stas != visit_stas::DISCHARGED && (write || dscg_time.is_none()) {
        return Err(biz(format!(
            "mdtrt_id {} is still in hospital: discharge it (2402) or set mid_setl_flag 1",
            v.mdtrt_id
        )));
    }
    check_insutype(d, &v)?;
    let lines = st::unsettled_lines(tx, &v.mdtrt_id, None)?;
    let use_account = d.flag("acct_used_flag", false)?;
    let mut b = compute(ctx, tx, v, lines, use_account)?;
    super::person::check_given(ctx, d, &b.visit, Some(&b.person))?;
    b.mid_setl = mid;
    Ok((b, !mid))
}

/// 2303: an audited read, as 2206.
pub fn presettle_inpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let data = object(&ctx.env.input, "data")?;
    let (b, _) = inpatient_basis(ctx, tx, &data.node(), false)?;
    Ok((preview(ctx, &data.node(), &b)?, Some(b.visit.psn_no)))
}

pub fn settle_inpatient(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    lock_patient(tx, &d)?;
    let (b, final_setl) = inpatient_basis(ctx, tx, &d, true)?;
    check_amounts(&d, &b.outcome, true)?;
    commit(ctx, tx, b, final_setl)
}

// ---- pharmacy ---------------------------------------------------------------------------------

/// A pharmacy sale is registration, fee upload and settlement in one call.
fn pharmacy_basis(ctx: &Ctx, tx: &mut dyn Tx, write: bool) -> Result<Basis> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let psn_no = d.str_max("psn_no", 30)?;
    let insutype = d.str_max("insutype", 6)?;
    let n = NewVisit {
        psn_no: &psn_no,
        insutype: &insutype,
        med_type: d.opt_str_max("med_type", 6)?.unwrap_or_else(|| "41".into()),
        begntime: d.opt_time_by("begntime", ctx.now)?.unwrap_or(ctx.now),
        cert: super::person::Presented::required(&d)?,
        ipt_otp_no: d.opt_str_max("ipt_otp_no", 30)?.unwrap_or_else(|| ctx.env.msgid.clone()),
        dise: (None, None),
        info: json!({}),
    };
    if VisitClass::from_med_type(&n.med_type) != Some(VisitClass::Pharmacy) {
        return Err(biz(format!("input.data.med_type: {} is not a pharmacy purchase (41)", n.med_type)));
    }
    let v = build_visit(ctx, tx, n, true)?;
    let mut lines = rows(&ctx.env.input, "feedetail", true)?;
    for l in &mut lines {
        // A sale is one charge batch; pharmacies need not number it.
        if l.map.get("chrg_bchno").and_then(Value::as_str).is_none_or(|b| b.trim().is_empty()) {
            l.map.to_mut().insert("chrg_bchno".into(), Value::String(ctx.env.msgid.clone()));
        }
    }
    let classified = classify_rows(ctx, tx, &v, &lines, true)?;
    if write {
        st::insert_visit(tx, &v)?;
        st::insert_lines(tx, &classified)?;
    }
    let b = compute(ctx, tx, v, classified, d.flag("acct_used_flag", true)?)?;
    check_amounts(&d, &b.outcome, false)?;
    Ok(b)
}

/// 2101: the person's identity and balance for a credential presented at the counter, with no
/// visit of the pharmacy before it: a person lookup (limited and audited, as 1101).
pub fn presettle_pharmacy(ctx: &Ctx, tx: &mut dyn Tx) -> Result<(Value, Option<String>)> {
    let b = pharmacy_basis(ctx, tx, false)?;
    let balc = b.own_balance - b.outcome.acct_pay;
    let mut out = answer(ctx, &b, None, balc);
    out["result"] = result_rows(&b.lines)?;
    Ok((out, Some(b.visit.psn_no)))
}

pub fn settle_pharmacy(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    lock_patient(tx, &object(&ctx.env.input, "data")?.node())?;
    let b = pharmacy_basis(ctx, tx, true)?;
    let result = result_rows(&b.lines)?;
    let mut d = commit(ctx, tx, b, true)?;
    if let Output::Value(out) = &mut d.output {
        out["result"] = result;
    }
    Ok(d)
}

// ---- reversal ---------------------------------------------------------------------------------

/// What a settlement takes from, or a reversal gives back to, the personal accounts.
struct Accounts<'a> {
    psn_no: &'a str,
    admdvs: &'a str,
    /// Signed balance changes: a payment negative, a refund positive.
    moves: &'a Effects,
}

#[derive(Clone, Copy)]
enum Direction {
    Pay,
    Refund,
}

impl Accounts<'_> {
    /// Appends the ledger entries; returns the own account's balance after them, if it moved.
    fn apply(&self, ctx: &Ctx, tx: &mut dyn Tx, dir: Direction, ref_id: &str) -> Result<Option<Fen>> {
        let (own_kind, family_kind) = match dir {
            Direction::Pay => (EntryKind::Settle, EntryKind::MulaidPay),
            Direction::Refund => (EntryKind::Reverse, EntryKind::MulaidReverse),
        };
        let mut balc = None;
        let own = self.moves.own_account;
        if !own.is_zero() {
            let e = registry::append_account_entry(tx, self.psn_no, self.admdvs, own, own_kind, Some(ref_id), ctx.now)?;
            balc = Some(e.balance_after);
        }
        for (owner, change) in &self.moves.family {
            registry::append_account_entry(tx, owner, self.admdvs, *change, family_kind, Some(ref_id), ctx.now)?;
        }
        Ok(balc)
    }
}
