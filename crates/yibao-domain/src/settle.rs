//! The settlement engine: a pure function from (insured place's policy, person, visit,
//! year-to-date accumulators, classified fee lines, account balances) to the national
//! `setlinfo` amounts, the `setldetail` fund rows, the accumulator changes, and a trace that says
//! which rule and parameter produced every amount.
//!
//! Order (domain.md §A.2): line split → deductible → banded pooled-fund ratio under the annual
//! cap → serious-illness / large-amount layer → civil-servant subsidy → medical assistance →
//! personal account → family mutual-aid accounts → cash.

use crate::catalog::LineSplit;
use crate::dict::{fund, PsnCategory, VisitClass};
use crate::money::{Fen, Ratio};
use crate::policy::{Band, BandBasis, Policy, PoolRule, Scope, Selects, SeriousBasis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[path = "settle_bands.rs"]
mod bands;
use bands::{exact_yuan, walk_bands, walk_bands_carrying, walk_bands_exact, BandWalk, ExactFen};

/// Accumulator codes (cum_type_code). `{g}` is a pool rule's group.
pub mod cum {
    pub fn inscp(g: &str) -> String {
        format!("I.{g}")
    }
    pub fn dedc(g: &str) -> String {
        format!("D.{g}")
    }
    pub fn fund(g: &str) -> String {
        format!("F.{g}")
    }
    pub const ADMISSIONS: &str = "ADM";
    pub const SERIOUS_BASE: &str = "S.I";
    pub const SERIOUS_FUND: &str = "S.F";
    pub const CIVIL_FUND: &str = "C.F";
    pub const ASSIST_BASE: &str = "M.I";
    pub const ASSIST_FUND: &str = "M.F";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonFacts {
    pub psn_type: String,
    pub category: PsnCategory,
    #[serde(default)]
    pub cvlserv: bool,
    /// Identity types held on the settlement date (medical-assistance classes, hardship…).
    #[serde(default)]
    pub idet_types: Vec<String>,
    /// Insurance types held on the settlement date (layers pay only if held).
    #[serde(default)]
    pub insutypes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteType {
    Local,
    LongTerm,
    Referral,
    Temporary,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitFacts {
    pub visit_class: VisitClass,
    /// Hospital grade 3/2/1, 0 for pharmacies and ungraded institutions.
    pub grade: u8,
    /// Which admission of the year this is (1 = first). Outpatient visits use 1.
    pub adm_seq: u32,
    pub remote: RemoteType,
    /// Earlier mid-stay segments of this same visit: deductible charged and in-scope amount.
    #[serde(default)]
    pub prior_dedc: Fen,
    #[serde(default)]
    pub prior_inscp: Fen,
    /// True when no earlier segment of this visit is settled (counts the admission).
    #[serde(default = "yes")]
    pub first_segment: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    /// acct_used_flag of the request.
    pub use_account: bool,
    pub own_balance: Fen,
    /// Family members whose account may pay for this person, in order, with their balances.
    #[serde(default)]
    pub mulaid: Vec<(String, Fen)>,
}

pub struct SettleInput<'a> {
    pub policy: &'a Policy,
    pub person: &'a PersonFacts,
    pub visit: &'a VisitFacts,
    /// Year-to-date accumulators of the person for the policy's insurance type.
    pub ytd: &'a BTreeMap<String, Fen>,
    pub lines: &'a [LineSplit],
    pub account: &'a AccountFacts,
}

/// One setldetail row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundRow {
    pub fund_pay_type: String,
    pub fund_pay_type_name: String,
    pub inscp_scp_amt: Fen,
    pub crt_payb_lmt_amt: Fen,
    pub fund_payamt: Fen,
    pub setl_proc_info: String,
}

/// One explained step of the computation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    pub step: String,
    /// The policy parameter used, as `ver:path`.
    pub param: String,
    pub detail: String,
    pub amount: Fen,
}

/// The engine's answer. Field names are the national setlinfo names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub hifp_pay: Fen,
    pub pool_prop_selfpay: Ratio,
    pub cvlserv_pay: Fen,
    pub hifes_pay: Fen,
    pub hifmi_pay: Fen,
    pub hifob_pay: Fen,
    pub maf_pay: Fen,
    pub oth_pay: Fen,
    pub fund_pay_sumamt: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
    pub hosp_part_amt: Fen,
    pub setldetail: Vec<FundRow>,
    pub trace: Vec<TraceStep>,
    /// Accumulator changes this settlement makes (a reversal applies their negation).
    pub deltas: BTreeMap<String, Fen>,
    /// What each family member's account pays.
    pub mulaid_pays: Vec<(String, Fen)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    #[error("policy {ver} has no pool rule for {class:?} visits")]
    NoPoolRule { ver: String, class: VisitClass },
    #[error("the bill's total is negative ({0}); refunds must be settled against the original settlement")]
    NegativeTotal(Fen),
    #[error("the in-scope amount is negative ({0})")]
    NegativeInscp(Fen),
    /// A part of the bill nets out negative (a refund line larger than what it refunds in this
    /// bill): the fund could then pay more than the bill, and the person a negative amount.
    #[error("the bill's {0} is negative ({1}); refunds must be settled against the original settlement")]
    NegativePart(&'static str, Fen),
    #[error("the bill's total is beyond what one settlement may carry")]
    TooLarge,
    /// The bill is beyond the bounds of one settlement (crate::bounds).
    #[error(transparent)]
    Bounds(#[from] crate::bounds::BoundError),
    #[error("an account balance is negative ({0})")]
    NegativeBalance(Fen),
}

pub fn settle(input: &SettleInput) -> Result<Outcome, SettleError> {
    let mut out = Outcome::default();
    sum_lines(input.lines, &mut out)?;
    let pool = input
        .policy
        .pool_for(input.visit.visit_class)
        .ok_or_else(|| SettleError::NoPoolRule { ver: input.policy.ver.clone(), class: input.visit.visit_class })?;
    let over_cap = pay_pool(input, pool, &mut out);
    pay_serious(input, over_cap, &mut out);
    pay_civil_servant(input, &mut out);
    pay_assistance(input, &mut out);
    out.fund_pay_sumamt =
        out.hifp_pay + out.cvlserv_pay + out.hifes_pay + out.hifmi_pay + out.hifob_pay + out.maf_pay + out.oth_pay;
    out.psn_part_amt = out.medfee_sumamt - out.fund_pay_sumamt - out.hosp_part_amt;
    pay_accounts(input, &mut out)?;
    check_identities(&out);
    Ok(out)
}

fn sum_lines(lines: &[LineSplit], out: &mut Outcome) -> Result<(), SettleError> {
    // Summed wide, then bounded: a bill of many lines at the largest amount must not wrap.
    let sum = |part: fn(&LineSplit) -> Fen| {
        let s: i128 = lines.iter().map(|l| part(l).0 as i128).sum();
        i64::try_from(s).ok().filter(|s| s.abs() <= crate::money::FEN_MAX).map(Fen).ok_or(SettleError::TooLarge)
    };
    out.fulamt_ownpay_amt = sum(|l| l.fulamt_ownpay)?;
    out.overlmt_selfpay = sum(|l| l.overlmt)?;
    out.preselfpay_amt = sum(|l| l.preselfpay)?;
    out.inscp_scp_amt = sum(|l| l.inscp)?;
    out.medfee_sumamt = out.fulamt_ownpay_amt + out.overlmt_selfpay + out.preselfpay_amt + out.inscp_scp_amt;
    if out.medfee_sumamt.0 < 0 {
        return Err(SettleError::NegativeTotal(out.medfee_sumamt));
    }
    crate::bounds::check_bill(out.medfee_sumamt)?;
    if out.inscp_scp_amt.0 < 0 {
        return Err(SettleError::NegativeInscp(out.inscp_scp_amt));
    }
    for (name, part) in [
        ("fulamt_ownpay_amt", out.fulamt_ownpay_amt),
        ("overlmt_selfpay", out.overlmt_selfpay),
        ("preselfpay_amt", out.preselfpay_amt),
    ] {
        if part.0 < 0 {
            return Err(SettleError::NegativePart(name, part));
        }
    }
    out.trace.push(step(
        "line split",
        "catalog",
        format!(
            "total {} = fully self-paid {} + over price cap {} + class-B self-pay first {} + in policy range {}",
            out.medfee_sumamt, out.fulamt_ownpay_amt, out.overlmt_selfpay, out.preselfpay_amt, out.inscp_scp_amt
        ),
        out.inscp_scp_amt,
    ));
    Ok(())
}

fn step(step: &str, param: impl Into<String>, detail: String, amount: Fen) -> TraceStep {
    TraceStep { step: step.to_owned(), param: param.into(), detail, amount }
}

fn ytd(input: &SettleInput, code: &str) -> Fen {
    input.ytd.get(code).copied().unwrap_or_default()
}

fn add_delta(out: &mut Outcome, code: String, v: Fen) {
    if !v.is_zero() {
        *out.deltas.entry(code).or_default() += v;
    }
}

/// Basic pooled fund. Returns the in-scope amount left unpaid because the annual cap ran out,
/// exactly (a fraction of a fen where the cap cuts into a band piece).
fn pay_pool(input: &SettleInput, pool: &PoolRule, out: &mut Outcome) -> ExactFen {
    let (p, v, ver) = (input.person, input.visit, &input.policy.ver);
    let g = pool.group.as_str();
    let inscp = out.inscp_scp_amt;
    let dedc = deductible_due(input, pool);
    out.act_pay_dedc = inscp.min(dedc);
    out.trace.push(step(
        "deductible",
        format!("{ver}:pools[{g}].deductible"),
        match pool.deductible.scope {
            Scope::Admission => format!(
                "charged per admission; admission #{} of the year owes {dedc}{}, charged {}",
                v.adm_seq,
                if v.prior_dedc.is_zero() {
                    String::new()
                } else {
                    format!(" after {} charged by earlier segments of this stay", v.prior_dedc)
                },
                out.act_pay_dedc
            ),
            Scope::Year => {
                format!("charged once a year; {dedc} of it is still owed this year, charged {}", out.act_pay_dedc)
            }
        },
        out.act_pay_dedc,
    ));
    let (prior_inscp, prior_dedc) = match pool.bands.scope {
        Scope::Admission => (v.prior_inscp, v.prior_dedc),
        Scope::Year => (ytd(input, &cum::inscp(g)), ytd(input, &cum::dedc(g))),
    };
    let (from, to) = match pool.bands.basis {
        BandBasis::WithDeductible => (prior_inscp + out.act_pay_dedc, prior_inscp + inscp),
        BandBasis::AboveDeductible => {
            let p0 = prior_inscp - prior_dedc;
            (p0, p0 + inscp - out.act_pay_dedc)
        }
    };
    let room = pool
        .annual_caps
        .iter()
        .find(|c| c.matches(v.grade, p.category))
        .map(|c| c.amount.sub_floor(ytd(input, &cum::fund(g))));
    let reduction = remote_reduction(input);
    let table = pool.bands.tables.iter().find(|t| t.matches(v.grade, p.category));
    let walk = match table {
        Some(t) => {
            // A later segment of a stay: the earlier segments' fund range ends where this one's
            // deductible (if any) starts; what rounding their exact sum left is carried in.
            let before = v.prior_inscp - v.prior_dedc;
            let carry = if before.0 > 0 {
                let end = match pool.bands.basis {
                    BandBasis::WithDeductible => from - out.act_pay_dedc,
                    BandBasis::AboveDeductible => from,
                };
                let e = walk_bands(&t.bands, end - before, end, reduction, Ratio::ZERO, None).exact;
                e - crate::money::div_round_half_up(e, 10_000) as i128 * 10_000
            } else {
                0
            };
            walk_bands_carrying(&t.bands, from, to, reduction, Ratio::ZERO, room, carry)
        }
        None => BandWalk::nothing(),
    };
    out.hifp_pay = walk.paid;
    let ratio_base = inscp - out.act_pay_dedc;
    out.pool_prop_selfpay = if ratio_base.0 > 0 {
        Ratio(crate::money::div_round_half_up(walk.paid.0 as i128 * 10_000, ratio_base.0 as i128) as u32)
    } else {
        Ratio::ZERO
    };
    out.trace.push(step(
        "pooled fund",
        format!("{ver}:pools[{g}].bands"),
        format!(
            "bands {}, {}; this bill covers {from} to {to} of that amount; {}; {}: {}",
            match pool.bands.basis {
                BandBasis::WithDeductible => "measured on the policy-range amount including the deductible",
                BandBasis::AboveDeductible => "measured on the policy-range amount above the deductible",
            },
            match pool.bands.scope {
                Scope::Admission => "per admission",
                Scope::Year => "cumulative over the year",
            },
            if reduction.0 == 0 {
                "no remote-care reduction".to_owned()
            } else {
                format!("remote care: {reduction} off every ratio")
            },
            room.map_or("no annual cap".to_owned(), |r| format!("the annual cap leaves {r}")),
            walk.describe()
        ),
        walk.paid,
    ));
    let fund_code = input.policy.pool_fund.clone();
    push_row(out, &fund_code, inscp, room.unwrap_or(ratio_base), walk.paid, walk.describe());
    add_delta(out, cum::inscp(g), inscp);
    add_delta(out, cum::dedc(g), out.act_pay_dedc);
    add_delta(out, cum::fund(g), walk.paid);
    if v.visit_class.is_inpatient() && v.first_segment {
        add_delta(out, cum::ADMISSIONS.to_owned(), Fen(1));
    }
    walk.over_exact
}

fn deductible_due(input: &SettleInput, pool: &PoolRule) -> Fen {
    let (p, v) = (input.person, input.visit);
    let Some(row) = pool.deductible.rows.iter().find(|r| r.matches(v.grade, p.category)) else {
        return Fen::ZERO;
    };
    match pool.deductible.scope {
        Scope::Admission => {
            let i = (v.adm_seq.max(1) as usize - 1).min(row.amounts.len() - 1);
            row.amounts[i].sub_floor(v.prior_dedc)
        }
        Scope::Year => row.amounts[0].sub_floor(ytd(input, &cum::dedc(&pool.group))),
    }
}

fn remote_reduction(input: &SettleInput) -> Ratio {
    let r = &input.policy.remote;
    match input.visit.remote {
        RemoteType::Local => Ratio::ZERO,
        RemoteType::LongTerm => r.long_term,
        RemoteType::Referral => r.referral,
        RemoteType::Temporary => r.temporary,
    }
}

fn push_row(out: &mut Outcome, code: &str, inscp: Fen, limit: Fen, paid: Fen, info: String) {
    if paid.is_zero() {
        return;
    }
    out.setldetail.push(FundRow {
        fund_pay_type: code.to_owned(),
        fund_pay_type_name: fund::name(code).to_owned(),
        inscp_scp_amt: inscp,
        crt_payb_lmt_amt: limit,
        fund_payamt: paid,
        setl_proc_info: info,
    });
}

fn holds(input: &SettleInput, insutype: &str) -> bool {
    input.person.insutypes.iter().any(|t| t == insutype)
}

fn pay_serious(input: &SettleInput, over_cap: ExactFen, out: &mut Outcome) {
    let Some(s) = &input.policy.serious else {
        return;
    };
    if !s.visit_classes.contains(&input.visit.visit_class) || !holds(input, &s.insutype) {
        return;
    }
    let base = match s.basis {
        SeriousBasis::PersonalBurden => out.inscp_scp_amt - out.hifp_pay,
        SeriousBasis::OverBasicCap => over_cap.rounded(),
    };
    let hard = s.hardship.as_ref().filter(|h| h.idet_types.iter().any(|t| input.person.idet_types.contains(t)));
    let dedc = hard.map_or(s.deductible, |h| h.deductible);
    let plus = hard.map_or(Ratio::ZERO, |h| h.ratio_plus);
    let room = match (s.annual_cap, hard.is_some_and(|h| h.no_cap)) {
        (Some(cap), false) => Some(cap.sub_floor(ytd(input, cum::SERIOUS_FUND))),
        _ => None,
    };
    let p0 = ytd(input, cum::SERIOUS_BASE);
    let walk = match s.basis {
        SeriousBasis::PersonalBurden => walk_bands(&s.bands, p0.max(dedc), p0 + base, Ratio::ZERO, plus, room),
        // The exact amount beyond the basic cap, not its rounding: the layer rounds once.
        SeriousBasis::OverBasicCap => walk_bands_exact(&s.bands, p0.max(dedc), p0, over_cap, plus, room),
    };
    let info = format!(
        "{} {base}, {p0} counted earlier this year, annual deductible {dedc}{}, {}: {}",
        match s.basis {
            SeriousBasis::PersonalBurden => "policy-range burden left after the basic fund",
            SeriousBasis::OverBasicCap => "policy-range amount beyond the basic fund's annual cap",
        },
        if hard.is_some() { " (hardship terms)" } else { "" },
        room.map_or("no annual cap".to_owned(), |r| format!("the annual cap leaves {r}")),
        walk.describe()
    );
    out.trace.push(step("serious illness layer", format!("{}:serious", input.policy.ver), info.clone(), walk.paid));
    if s.fund.starts_with("390") {
        out.hifmi_pay += walk.paid;
    } else {
        out.hifob_pay += walk.paid;
    }
    push_row(out, &s.fund, base, room.unwrap_or(base), walk.paid, info);
    add_delta(out, cum::SERIOUS_BASE.to_owned(), base);
    add_delta(out, cum::SERIOUS_FUND.to_owned(), walk.paid);
}

fn pay_civil_servant(input: &SettleInput, out: &mut Outcome) {
    let Some(c) = &input.policy.civil_servant else {
        return;
    };
    let (p, v) = (input.person, input.visit);
    if !p.cvlserv || !c.visit_classes.contains(&v.visit_class) || !holds(input, &c.insutype) {
        return;
    }
    let Some(row) = c.rows.iter().find(|r| r.matches(v.grade, p.category)) else {
        return;
    };
    let remaining = (out.inscp_scp_amt - out.hifp_pay - out.hifmi_pay - out.hifob_pay).max(Fen::ZERO);
    let dedc_part = out.act_pay_dedc.min(remaining);
    let rest = remaining - dedc_part;
    // Both parts summed exactly and rounded once (rounding each part could be a fen off).
    let exact = dedc_part.0 as i128 * row.dedc_ratio.0 as i128 + rest.0 as i128 * row.coins_ratio.0 as i128;
    let due = Fen(crate::money::div_round_half_up(exact, 10_000));
    let room = c.annual_cap.map(|cap| cap.sub_floor(ytd(input, cum::CIVIL_FUND)));
    let pay = room.map_or(due, |r| due.min(r));
    let sum = format!(
        "deductible part {dedc_part} × {} + remaining burden {rest} × {} = {}",
        row.dedc_ratio,
        row.coins_ratio,
        exact_yuan(exact)
    );
    let info = match room {
        Some(r) if due > r && r.is_zero() => format!("{sum}, capped: pays 0.00 of {due}, the annual cap is used up"),
        Some(r) if due > r => format!("{sum}, capped: pays {pay} of {due}, all the annual cap had left"),
        _ if exact == due.0 as i128 * 10_000 => format!("{sum}; pays {pay}"),
        _ => format!("{sum}; pays {} rounded half up to {pay}", exact_yuan(exact)),
    };
    out.trace.push(step("civil-servant subsidy", format!("{}:civil_servant", input.policy.ver), info.clone(), pay));
    out.cvlserv_pay = pay;
    push_row(out, &c.fund, remaining, room.unwrap_or(remaining), pay, info);
    add_delta(out, cum::CIVIL_FUND.to_owned(), pay);
}

fn pay_assistance(input: &SettleInput, out: &mut Outcome) {
    let Some(a) = &input.policy.assistance else {
        return;
    };
    if !a.visit_classes.contains(&input.visit.visit_class) {
        return;
    }
    let Some(class) = a.classes.iter().find(|c| input.person.idet_types.contains(&c.idet_type)) else {
        return;
    };
    let base = (out.inscp_scp_amt - out.hifp_pay - out.hifmi_pay - out.hifob_pay - out.cvlserv_pay).max(Fen::ZERO);
    let p0 = ytd(input, cum::ASSIST_BASE);
    let room = class.annual_cap.map(|cap| cap.sub_floor(ytd(input, cum::ASSIST_FUND)));
    let bands = [Band { upto: None, ratio: class.ratio }];
    let walk = walk_bands(&bands, p0.max(class.deductible), p0 + base, Ratio::ZERO, Ratio::ZERO, room);
    let info = format!(
        "class {}: policy-range burden left after the other funds {base}, {p0} counted earlier this year, annual deductible {}, {}: {}",
        class.idet_type,
        class.deductible,
        room.map_or("no annual cap".to_owned(), |r| format!("the annual cap leaves {r}")),
        walk.describe()
    );
    out.trace.push(step("medical assistance", format!("{}:assistance", input.policy.ver), info.clone(), walk.paid));
    out.maf_pay = walk.paid;
    push_row(out, &a.fund, base, room.unwrap_or(base), walk.paid, info);
    add_delta(out, cum::ASSIST_BASE.to_owned(), base);
    add_delta(out, cum::ASSIST_FUND.to_owned(), walk.paid);
}

fn pay_accounts(input: &SettleInput, out: &mut Outcome) -> Result<(), SettleError> {
    out.psn_cash_pay = out.psn_part_amt;
    let Some(rule) = &input.policy.account else {
        return Ok(());
    };
    let acct = input.account;
    if !acct.use_account || !rule.visit_classes.contains(&input.visit.visit_class) {
        return Ok(());
    }
    if acct.own_balance.0 < 0 {
        return Err(SettleError::NegativeBalance(acct.own_balance));
    }
    let payable = if rule.covers_self_paid {
        out.psn_part_amt
    } else {
        (out.psn_part_amt - out.fulamt_ownpay_amt - out.overlmt_selfpay).max(Fen::ZERO)
    };
    out.acct_pay = payable.min(acct.own_balance).max(Fen::ZERO);
    let mut left = payable - out.acct_pay;
    push_row(
        out,
        &rule.fund,
        payable,
        acct.own_balance,
        out.acct_pay,
        format!("own account balance {}", acct.own_balance),
    );
    if rule.mutual_aid {
        for (owner, bal) in &acct.mulaid {
            if left.0 <= 0 {
                break;
            }
            if bal.0 < 0 {
                return Err(SettleError::NegativeBalance(*bal));
            }
            let pay = left.min(*bal);
            if pay.0 > 0 {
                out.mulaid_pays.push((owner.clone(), pay));
                out.acct_mulaid_pay += pay;
                left -= pay;
            }
        }
        let total = out.acct_mulaid_pay;
        push_row(
            out,
            fund::MUTUAL_AID,
            payable,
            total,
            total,
            format!("family accounts of {} member(s)", out.mulaid_pays.len()),
        );
    }
    out.psn_cash_pay = out.psn_part_amt - out.acct_pay - out.acct_mulaid_pay;
    out.trace.push(step(
        "personal part",
        format!("{}:account", input.policy.ver),
        format!(
            "patient share {}: own account {}, family accounts {}, cash {}",
            out.psn_part_amt, out.acct_pay, out.acct_mulaid_pay, out.psn_cash_pay
        ),
        out.psn_part_amt,
    ));
    Ok(())
}

/// The identities every settlement satisfies (DEVELOPERS.md). A violation is a bug in this
/// engine, never an input error, so it stops the request before anything is written.
pub fn check_identities(o: &Outcome) {
    check_sums(o);
    assert!(o.hifp_pay.0 >= 0 && o.psn_cash_pay.0 >= 0 && o.acct_pay.0 >= 0, "no negative payer");
    assert!(o.fund_pay_sumamt <= o.inscp_scp_amt, "funds pay only within the policy range");
}

/// The sums of the identities alone, without their signs: they hold on a settlement and on its
/// negation (a reversal) alike.
pub fn check_sums(o: &Outcome) {
    assert_eq!(
        o.medfee_sumamt,
        o.fulamt_ownpay_amt + o.overlmt_selfpay + o.preselfpay_amt + o.inscp_scp_amt,
        "split identity"
    );
    assert_eq!(o.medfee_sumamt, o.fund_pay_sumamt + o.psn_part_amt + o.hosp_part_amt, "payer identity");
    assert_eq!(o.psn_part_amt, o.acct_pay + o.acct_mulaid_pay + o.psn_cash_pay, "personal identity");
    assert_eq!(
        o.fund_pay_sumamt,
        o.hifp_pay + o.cvlserv_pay + o.hifes_pay + o.hifmi_pay + o.hifob_pay + o.maf_pay + o.oth_pay,
        "fund identity"
    );
    let listed: Fen = o.setldetail.iter().map(|r| r.fund_payamt).sum();
    assert_eq!(listed, o.fund_pay_sumamt + o.acct_pay + o.acct_mulaid_pay, "setldetail lists every payer");
}

impl Outcome {
    /// The mirror a reversal writes: every amount negated, accumulator deltas negated. The one
    /// negation of the platform: [`crate::reversal::reverse`] builds on it.
    pub fn negated(&self) -> Outcome {
        let n = |f: Fen| -f;
        Outcome {
            medfee_sumamt: n(self.medfee_sumamt),
            fulamt_ownpay_amt: n(self.fulamt_ownpay_amt),
            overlmt_selfpay: n(self.overlmt_selfpay),
            preselfpay_amt: n(self.preselfpay_amt),
            inscp_scp_amt: n(self.inscp_scp_amt),
            act_pay_dedc: n(self.act_pay_dedc),
            hifp_pay: n(self.hifp_pay),
            pool_prop_selfpay: self.pool_prop_selfpay,
            cvlserv_pay: n(self.cvlserv_pay),
            hifes_pay: n(self.hifes_pay),
            hifmi_pay: n(self.hifmi_pay),
            hifob_pay: n(self.hifob_pay),
            maf_pay: n(self.maf_pay),
            oth_pay: n(self.oth_pay),
            fund_pay_sumamt: n(self.fund_pay_sumamt),
            psn_part_amt: n(self.psn_part_amt),
            acct_pay: n(self.acct_pay),
            acct_mulaid_pay: n(self.acct_mulaid_pay),
            psn_cash_pay: n(self.psn_cash_pay),
            hosp_part_amt: n(self.hosp_part_amt),
            setldetail: self
                .setldetail
                .iter()
                .map(|r| FundRow { inscp_scp_amt: n(r.inscp_scp_amt), fund_payamt: n(r.fund_payamt), ..r.clone() })
                .collect(),
            trace: vec![],
            deltas: self.deltas.iter().map(|(k, v)| (k.clone(), n(*v))).collect(),
            mulaid_pays: self.mulaid_pays.iter().map(|(k, v)| (k.clone(), n(*v))).collect(),
        }
    }
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;

/// The person and visit most engine tests start from, so each test states only what differs.
#[cfg(test)]
#[path = "settle_fixtures.rs"]
pub(crate) mod fixtures;
