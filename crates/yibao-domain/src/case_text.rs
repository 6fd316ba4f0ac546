//! The calculator's plain-text report (`yibao calc case.json --format text`): what an analyst
//! reads — the lines, the settlement with the national field names in brackets, how each
//! amount was computed with the policy parameter behind it, and what the settlement adds to the
//! year's totals. Counters are counts, amounts are yuan.

use crate::case::{Case, CaseResult};
use crate::dict::ChrgitmLv;
use crate::money::Fen;
use crate::settle::cum;
use std::fmt::Write;

/// What an accumulator code counts, in words; `None` for a counter that is not money.
fn accumulator(code: &str) -> (String, bool) {
    let group = |p: &str| code.strip_prefix(p).map(str::to_owned);
    if code == cum::ADMISSIONS {
        return ("admissions this year".into(), false);
    }
    let money = |s: String| (s, true);
    if let Some(g) = group("I.") {
        return money(format!("policy-range amount of {g} care this year"));
    }
    if let Some(g) = group("D.") {
        return money(format!("deductible paid for {g} care this year"));
    }
    if let Some(g) = group("F.") {
        return money(format!("pooled fund paid for {g} care this year (counts against its annual cap)"));
    }
    money(
        match code {
            cum::SERIOUS_BASE => "amount the serious-illness layer counts this year",
            cum::SERIOUS_FUND => "serious-illness layer paid this year",
            cum::CIVIL_FUND => "civil-servant subsidy paid this year",
            cum::ASSIST_BASE => "burden medical assistance counts this year",
            cum::ASSIST_FUND => "medical assistance paid this year",
            other => other,
        }
        .to_owned(),
    )
}

/// A delta as text: a count for counters, signed yuan for amounts.
fn delta(code: &str, v: Fen) -> String {
    let (what, money) = accumulator(code);
    let sign = if v.0 >= 0 { "+" } else { "" };
    if money {
        format!("{what} [{code}]: {sign}{v}")
    } else {
        format!("{what} [{code}]: {sign}{}", v.0)
    }
}

/// The report. `case` supplies the line names; `r` is what `case::run` answered for it.
pub fn render(case: &Case, r: &CaseResult) -> String {
    let o = &r.outcome;
    let mut t = String::new();
    let _ = writeln!(t, "Settlement under policy {}", r.policy);
    let _ = writeln!(t, "\nLines");
    for (i, (l, s)) in case.lines.iter().zip(&r.lines).enumerate() {
        let name = l.name.as_deref().unwrap_or("(unnamed)");
        let class = match (l.item.is_some(), s.chrgitm_lv) {
            (false, _) => "not in the catalog",
            (true, ChrgitmLv::A) => "class A (甲)",
            (true, ChrgitmLv::B) => "class B (乙)",
            (true, ChrgitmLv::C) => "class C (丙)",
        };
        let mut parts = vec![];
        for (label, v) in [
            ("fully self-paid", s.fulamt_ownpay),
            ("over the price cap", s.overlmt),
            ("class-B share paid first by the patient", s.preselfpay),
            ("in policy range", s.inscp),
        ] {
            if !v.is_zero() {
                parts.push(format!("{label} {v}"));
            }
        }
        let why = s.memo.as_deref().map(|m| format!(" — {m}")).unwrap_or_default();
        let _ = writeln!(t, "  {}. {name}, {class}: {}: {}{why}", i + 1, s.total(), parts.join(", "));
    }
    let _ = writeln!(t, "\nSettlement");
    let rows: [(&str, &str, Fen); 20] = [
        ("total bill", "medfee_sumamt", o.medfee_sumamt),
        ("  fully self-paid", "fulamt_ownpay_amt", o.fulamt_ownpay_amt),
        ("  over price caps", "overlmt_selfpay", o.overlmt_selfpay),
        ("  class-B share paid first", "preselfpay_amt", o.preselfpay_amt),
        ("  in policy range", "inscp_scp_amt", o.inscp_scp_amt),
        ("deductible charged", "act_pay_dedc", o.act_pay_dedc),
        ("pooled fund", "hifp_pay", o.hifp_pay),
        ("civil-servant subsidy", "cvlserv_pay", o.cvlserv_pay),
        ("enterprise supplementary", "hifes_pay", o.hifes_pay),
        ("resident serious illness", "hifmi_pay", o.hifmi_pay),
        ("employee large amount", "hifob_pay", o.hifob_pay),
        ("medical assistance", "maf_pay", o.maf_pay),
        ("other", "oth_pay", o.oth_pay),
        ("all funds", "fund_pay_sumamt", o.fund_pay_sumamt),
        ("hospital", "hosp_part_amt", o.hosp_part_amt),
        ("patient", "psn_part_amt", o.psn_part_amt),
        ("  own account", "acct_pay", o.acct_pay),
        ("  family accounts", "acct_mulaid_pay", o.acct_mulaid_pay),
        ("  cash", "psn_cash_pay", o.psn_cash_pay),
        ("", "", Fen::ZERO),
    ];
    for (label, field, v) in rows.iter().filter(|(l, ..)| !l.is_empty()) {
        // Zero fund rows are noise; the bill's parts and the payers always show.
        if v.is_zero() && ["cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay"].contains(field) {
            continue;
        }
        let _ = writeln!(t, "  {:<40} {:>14}  [{field}]", format!("{label}:"), v.to_string());
    }
    let ratio = o.pool_prop_selfpay.to_string();
    let _ = writeln!(t, "  {:<40} {ratio:>14}  [pool_prop_selfpay]", "pooled fund / range above the deductible:");
    let _ = writeln!(t, "\nHow it was computed");
    for (i, s) in o.trace.iter().enumerate() {
        // What the step's amount is, so the heading is a true statement.
        let what = match s.step.as_str() {
            "line split" => "line split: in policy range",
            "deductible" => "deductible charged",
            "personal part" => "personal part: the patient's share",
            other => other,
        };
        let paid = if what == s.step && s.step != "line split" { " pays" } else { "" };
        let _ = writeln!(t, "  {}. {what}{paid} {}  (parameter {})", i + 1, s.amount, s.param);
        let _ = writeln!(t, "     {}", s.detail);
    }
    let _ = writeln!(t, "\nAdded to the year's totals");
    if o.deltas.is_empty() {
        let _ = writeln!(t, "  nothing");
    }
    for (code, v) in &o.deltas {
        let _ = writeln!(t, "  {}", delta(code, *v));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    /// The shipped example, rendered: counters are counts, capped bands are true statements,
    /// no internal names.
    #[test]
    fn the_example_reads_as_plain_text() {
        let case: Case = serde_json::from_str(include_str!("../../../examples/beijing-inpatient.json")).unwrap();
        let policy = Policy::from_json(include_str!("../../../policies/beijing-310.json")).unwrap();
        let r = crate::case::run(&case, &policy).unwrap();
        let text = render(&case, &r);
        for want in [
            "Settlement under policy BJ-310-2024.1",
            "  1. 床位费, class A (甲): 600.00: over the price cap 100.00, in policy range 500.00 — price above the cap (超限价)",
            "  4. 自费营养品, not in the catalog: 450.00: fully self-paid 450.00 — not in the catalog (目录外)",
            "  2. deductible charged 650.00  (parameter BJ-310-2024.1:pools[inpatient].deductible)",
            "  3. pooled fund pays 21983.00  (parameter BJ-310-2024.1:pools[inpatient].bands)",
            "this bill covers 290650.00 to 340100.00 of that amount",
            "49450.00 × 0.9700 = 47966.50, capped: pays 21983.00 of 47966.50, all the annual cap had left",
            "admissions this year [ADM]: +1\n",
            "pooled fund paid for inpatient care this year (counts against its annual cap) [F.inpatient]: +21983.00",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        for unwanted in
            ["WithDeductible", "AboveDeductible", "OverBasicCap", "PersonalBurden", "Admission scope", "0.01\n"]
        {
            assert!(!text.contains(unwanted), "{unwanted:?} in\n{text}");
        }
    }
}
