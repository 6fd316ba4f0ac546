//! A case as a sequence of steps — settle, reverse N, settle again — over one person's evolving
//! year-to-date accumulators and account balances, so that an analyst checks a reversal as they
//! check a settlement (docs/calc-format.md, "Sequences"). A reversal is the counter's:
//! [`reverse`] of the settlement it undoes (the gateway's reversal), applied to the state as it
//! is then.

use super::{settle_bill, Case, CaseError, CaseLine, CaseVisit};
use crate::catalog::LineSplit;
use crate::money::Fen;
use crate::policy::Policy;
use crate::reversal::{check_nets_to_zero, reverse, Effects};
use crate::settle::{cum, AccountFacts, Outcome, TraceStep};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One step of a sequence: `{"settle": {"lines": [...]}}` or `{"reverse": 1}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Settle a bill as a new visit: its lines, and a visit other than the case's if given.
    Settle(SettleStep),
    /// Reverse the settlement made by step N (counted from 1).
    Reverse(usize),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettleStep {
    #[serde(default)]
    pub visit: Option<CaseVisit>,
    pub lines: Vec<CaseLine>,
}

/// The person between steps: accumulators, own account and family accounts' balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct State {
    #[serde(serialize_with = "super::ytd_counts_out")]
    pub ytd: BTreeMap<String, Fen>,
    pub own_balance: Fen,
    pub mulaid: Vec<(String, Fen)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// Counted from 1, as `reverse` names them.
    pub step: usize,
    /// `settle` or `reverse`.
    pub op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverses: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineSplit>,
    #[serde(serialize_with = "super::outcome_with_counts")]
    pub outcome: Outcome,
    /// The person after this step.
    pub after: State,
    /// What the analyst must know about this step: a reversal names the later settlements that
    /// were priced on the one it reverses (they stay as they were, as at the counter).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepsResult {
    pub policy: String,
    pub start: State,
    pub steps: Vec<StepResult>,
}

impl State {
    /// An accumulator at zero is left out, as if never touched: a reversal restores the start
    /// state exactly.
    fn of(case: &Case) -> State {
        let ytd = case.ytd.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (k.clone(), *v)).collect();
        State { ytd, own_balance: case.account.own_balance, mulaid: case.account.mulaid.clone() }
    }

    fn account(&self, template: &AccountFacts) -> AccountFacts {
        AccountFacts { use_account: template.use_account, own_balance: self.own_balance, mulaid: self.mulaid.clone() }
    }

    /// What a settlement (or a reversal: negative amounts) does to the person.
    fn apply(&mut self, e: &Effects) -> Result<(), String> {
        for (k, d) in &e.deltas {
            let v = self.ytd.entry(k.clone()).or_default();
            *v += *d;
            if v.is_zero() {
                self.ytd.remove(k);
            }
        }
        self.own_balance += e.own_account;
        for (owner, change) in &e.family {
            let bal =
                self.mulaid.iter_mut().find(|(o, _)| o == owner).ok_or_else(|| format!("no account of {owner}"))?;
            bal.1 += *change;
        }
        Ok(())
    }

    /// Every accumulator and balance of `self` minus `before` (absent = zero).
    fn change_from(&self, before: &State) -> BTreeMap<String, Fen> {
        let mut d = BTreeMap::new();
        let keys = self.ytd.keys().chain(before.ytd.keys());
        for k in keys {
            let v = self.ytd.get(k).copied().unwrap_or_default() - before.ytd.get(k).copied().unwrap_or_default();
            d.insert(format!("ytd.{k}"), v);
        }
        d.insert("own_balance".into(), self.own_balance - before.own_balance);
        for (owner, bal) in self.mulaid.iter().chain(&before.mulaid) {
            let now = self.mulaid.iter().find(|(o, _)| o == owner).map_or(*bal, |x| x.1);
            let was = before.mulaid.iter().find(|(o, _)| o == owner).map_or(*bal, |x| x.1);
            d.insert(format!("mulaid.{owner}"), now - was);
        }
        d
    }
}

/// Runs a case's steps under `policy`. Each settlement is a new visit on the state left by
/// the steps before it (an inpatient one's admission number counts the admissions the sequence
/// has added, net of reversals); each reversal is checked to net its settlement to zero on
/// every amount, fund row, accumulator and balance.
pub fn run_steps(case: &Case, policy: &Policy) -> Result<StepsResult, CaseError> {
    if !case.lines.is_empty() {
        return Err(CaseError::LinesAndSteps);
    }
    super::check_ytd(&case.ytd)?;
    let start = State::of(case);
    let mut state = start.clone();
    let mut done: Vec<StepResult> = Vec::new();
    // Per step: the state change it made, and whether it is a settlement not yet reversed.
    let mut changes: Vec<BTreeMap<String, Fen>> = Vec::new();
    let mut open: Vec<bool> = Vec::new();
    for (i, step) in case.steps.iter().enumerate() {
        let bad = |m: String| CaseError::Step(i, m);
        let before = state.clone();
        let result = match step {
            Step::Settle(s) => {
                let visit = s.visit.as_ref().unwrap_or(&case.visit);
                let added = state.ytd.get(cum::ADMISSIONS).copied().unwrap_or_default()
                    - start.ytd.get(cum::ADMISSIONS).copied().unwrap_or_default();
                let r = settle_bill(case, policy, visit, added.0, &state.ytd, &state.account(&case.account), &s.lines)
                    .map_err(|e| bad(e.to_string()))?;
                state.apply(&Effects::of(&r.outcome)).map_err(bad)?;
                open.push(true);
                StepResult {
                    step: i + 1,
                    op: "settle",
                    reverses: None,
                    lines: r.lines,
                    outcome: r.outcome,
                    after: state.clone(),
                    warnings: vec![],
                }
            }
            Step::Reverse(n) => {
                let k = n
                    .checked_sub(1)
                    .filter(|k| *k < i)
                    .ok_or_else(|| bad(format!("reverse {n}: only an earlier step (1 to {i}) can be reversed")))?;
                if !open[k] {
                    return Err(bad(format!("reverse {n}: step {n} is not a settlement, or is already reversed")));
                }
                let settled = &done[k].outcome;
                let reversal = reverse(settled);
                let mut outcome = reversal.outcome;
                outcome.trace.push(TraceStep {
                    step: "reversal".into(),
                    param: String::new(),
                    detail: format!(
                        "reverses step {n}: every amount, fund row, accumulator change and account payment negated"
                    ),
                    amount: outcome.medfee_sumamt,
                });
                state.apply(&reversal.effects).map_err(bad)?;
                open[k] = false;
                open.push(false);
                // Settlements after step n, still standing, were priced on its accumulators and
                // balances; the reversal does not re-price them.
                let warnings = (k + 1..i)
                    .filter(|j| open[*j])
                    .map(|j| {
                        format!(
                            "step {} was settled on the year-to-date and balances step {n} left; it is not re-priced \
                             by this reversal (reverse it and settle it again to price it without step {n})",
                            j + 1
                        )
                    })
                    .collect();
                let r = StepResult {
                    step: i + 1,
                    op: "reverse",
                    reverses: Some(*n),
                    lines: vec![],
                    outcome,
                    after: state.clone(),
                    warnings,
                };
                check_nets_to_zero(settled, &r.outcome, &changes[k], &state.change_from(&before))
                    .map_err(|m| bad(format!("reverse {n} does not net step {n} to zero: {m}")))?;
                r
            }
        };
        changes.push(state.change_from(&before));
        done.push(result);
    }
    Ok(StepsResult { policy: policy.ver.clone(), start, steps: done })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(steps: &str) -> (Case, Policy) {
        let policy = Policy::from_json(include_str!("../../../../policies/beijing-310.json")).unwrap();
        let text = format!(
            r#"{{ "policy": "beijing-310.json",
                  "person": {{ "psn_type": "1201", "age": 68, "insutypes": ["310", "330"] }},
                  "visit": {{ "med_type": "21", "grade": 3, "adm_seq": 2 }},
                  "ytd": {{ "I.inpatient": "290000", "D.inpatient": "1300", "F.inpatient": "278017", "ADM": 1 }},
                  "account": {{ "use_account": true, "own_balance": "3000" }},
                  "steps": {steps} }}"#
        );
        (serde_json::from_str(&text).unwrap(), policy)
    }

    const BILL: &str = r#"{ "settle": { "lines": [
        { "name": "手术费", "amount": "30000", "item": { "chrgitm_lv": "01" } },
        { "name": "进口人工关节", "amount": "28000", "item": { "chrgitm_lv": "02", "selfpay_prop": "0.30" } },
        { "name": "自费营养品", "amount": "450" } ] } }"#;

    /// Settle, reverse, settle the same bill again: the reversal restores every accumulator
    /// and balance, so the second settlement is the first one again (the same admission, the
    /// same deductible, the same account), and each step's state follows from its outcome.
    #[test]
    fn settle_reverse_settle_again() {
        let (c, p) = case(&format!("[{BILL}, {{ \"reverse\": 1 }}, {BILL}]"));
        let r = run_steps(&c, &p).unwrap();
        let [s1, rev, s2] = &r.steps[..] else { panic!("three steps") };
        assert!(s1.outcome.hifp_pay.0 > 0 && s1.outcome.acct_pay.0 > 0 && s1.outcome.act_pay_dedc.0 > 0);
        assert_eq!((rev.op, rev.reverses), ("reverse", Some(1)));
        assert_eq!(rev.outcome.hifp_pay, -s1.outcome.hifp_pay);
        assert_eq!(rev.after, r.start, "the reversal restores the person exactly");
        assert!(rev.warnings.is_empty(), "nothing was priced on step 1: {:?}", rev.warnings);
        assert_eq!(s1.after.ytd["F.inpatient"], r.start.ytd["F.inpatient"] + s1.outcome.hifp_pay);
        assert_eq!(s1.after.ytd[cum::ADMISSIONS], Fen(2));
        assert_eq!(s1.after.own_balance, r.start.own_balance - s1.outcome.acct_pay);
        assert_eq!(s2.outcome.hifp_pay, s1.outcome.hifp_pay);
        assert_eq!(s2.outcome.act_pay_dedc, s1.outcome.act_pay_dedc, "admission #1 again, its deductible again");
        assert_eq!(s2.after, s1.after);
        // The analyst reads the admission counter as a count, in the outcome and the state.
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["steps"][0]["outcome"]["deltas"][cum::ADMISSIONS], serde_json::json!(1));
        assert_eq!(json["steps"][1]["outcome"]["deltas"][cum::ADMISSIONS], serde_json::json!(-1));
        assert_eq!(json["steps"][0]["after"]["ytd"][cum::ADMISSIONS], serde_json::json!(2));
    }

    /// Two settlements without a reversal: the second is the second admission, on the first's
    /// accumulators and what is left in the account; reversing the first then nets only it.
    #[test]
    fn a_later_settlement_sees_the_earlier_and_a_reversal_only_undoes_its_own() {
        let (c, p) = case(&format!("[{BILL}, {BILL}, {{ \"reverse\": 1 }}]"));
        let r = run_steps(&c, &p).unwrap();
        let [s1, s2, rev] = &r.steps[..] else { panic!("three steps") };
        assert!(s2.outcome.acct_pay < s1.outcome.acct_pay, "the account was partly spent by step 1");
        assert_eq!(s1.outcome.act_pay_dedc, Fen::yuan(650));
        assert!(s1.outcome.trace[1].detail.contains("admission #2 of the year"), "{:?}", s1.outcome.trace[1]);
        assert!(s2.outcome.trace[1].detail.contains("admission #3 of the year"), "{:?}", s2.outcome.trace[1]);
        assert_eq!(rev.after.ytd[cum::ADMISSIONS], Fen(2));
        // Step 2 was priced on step 1's accumulators: the reversal says so, by step.
        assert_eq!(rev.warnings.len(), 1, "{:?}", rev.warnings);
        assert!(rev.warnings[0].starts_with("step 2 was settled on the year-to-date and balances step 1 left"));
        assert!(s1.warnings.is_empty() && s2.warnings.is_empty());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["steps"][2]["warnings"][0].as_str(), Some(rev.warnings[0].as_str()));
        assert!(json["steps"][0].get("warnings").is_none());
        assert_eq!(rev.after.own_balance, r.start.own_balance - s2.outcome.acct_pay);
        for (k, v) in &rev.after.ytd {
            let expected =
                r.start.ytd.get(k).copied().unwrap_or_default() + s2.outcome.deltas.get(k).copied().unwrap_or_default();
            assert_eq!(*v, expected, "{k}");
        }
    }

    #[test]
    fn bad_sequences_are_refused() {
        for (steps, msg) in [
            ("[{ \"reverse\": 1 }]", "only an earlier step"),
            (&format!("[{BILL}, {{ \"reverse\": 2 }}]"), "only an earlier step"),
            (&format!("[{BILL}, {{ \"reverse\": 0 }}]"), "only an earlier step"),
            (&format!("[{BILL}, {{ \"reverse\": 1 }}, {{ \"reverse\": 1 }}]"), "already reversed"),
            (&format!("[{BILL}, {{ \"reverse\": 1 }}, {{ \"reverse\": 2 }}]"), "not a settlement"),
        ] {
            let (c, p) = case(steps);
            let e = run_steps(&c, &p).unwrap_err().to_string();
            assert!(e.contains(msg), "{steps}: {e}");
        }
        let (mut c, p) = case(&format!("[{BILL}]"));
        assert!(matches!(super::super::run(&c, &p), Err(CaseError::IsSequence)));
        c.lines = vec![serde_json::from_str(r#"{ "amount": "1" }"#).unwrap()];
        assert!(matches!(run_steps(&c, &p), Err(CaseError::LinesAndSteps)));
        assert!(serde_json::from_str::<Step>(r#"{ "refund": 1 }"#).is_err());
    }

    /// The postcondition catches a reversal that does not mirror its settlement.
    #[test]
    fn the_postcondition_names_what_does_not_net() {
        let (c, p) = case(&format!("[{BILL}]"));
        let s = &run_steps(&c, &p).unwrap().steps[0].outcome;
        let none = BTreeMap::new();
        assert_eq!(check_nets_to_zero(s, &reverse(s).outcome, &none, &none), Ok(()));
        let mut wrong = reverse(s).outcome;
        wrong.hifp_pay += Fen(1);
        *wrong.deltas.get_mut("F.inpatient").unwrap() += Fen(1);
        let e = check_nets_to_zero(s, &wrong, &none, &none).unwrap_err();
        assert!(e.contains("hifp_pay 0.01") && e.contains("deltas.F.inpatient 0.01"), "{e}");
        let mut change = BTreeMap::new();
        change.insert("own_balance".to_owned(), Fen(-5));
        let e = check_nets_to_zero(s, &reverse(s).outcome, &change, &none).unwrap_err();
        assert!(e.contains("state.own_balance"), "{e}");
    }
}
