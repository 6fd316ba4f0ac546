//! Reversal and reinstatement as pure functions, built on the one negation
//! ([`Outcome::negated`]): what a reversal writes (its outcome, fund rows, accumulator deltas and
//! account moves) is computed here, its postconditions asserted, and the gateway and the
//! calculator only apply it.

use crate::money::Fen;
use crate::settle::{check_sums, Outcome};
use std::collections::BTreeMap;

/// What a settlement does to the person's ledgers. Account moves are signed balance changes:
/// a payment is negative, a refund positive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Accumulator changes, by cum_type_code.
    pub deltas: BTreeMap<String, Fen>,
    /// The own personal account's change (zero when it does not move).
    pub own_account: Fen,
    /// Each family member's account change, in the order the settlement drew on them.
    pub family: Vec<(String, Fen)>,
}

impl Effects {
    pub fn of(o: &Outcome) -> Effects {
        Effects {
            deltas: o.deltas.clone(),
            own_account: -o.acct_pay,
            family: o.mulaid_pays.iter().map(|(owner, pay)| (owner.clone(), -*pay)).collect(),
        }
    }

    /// Every account move by name, for the postcondition.
    fn moves(&self) -> BTreeMap<String, Fen> {
        let mut m = BTreeMap::new();
        m.insert("own_account".to_owned(), self.own_account);
        for (owner, v) in &self.family {
            *m.entry(format!("family.{owner}")).or_default() += *v;
        }
        m
    }
}

/// Everything a reversal writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reversal {
    /// The negated settlement: every amount and fund row, accumulator deltas and family pays.
    pub outcome: Outcome,
    /// Its effect on the ledgers: the original's effects negated.
    pub effects: Effects,
}

/// The reversal of a settlement. Postconditions (a failure is a bug in the negation, never an
/// input error, so it stops the request before anything is written): the negation satisfies the
/// identities' sums, and with the original it nets to zero on every amount, fund row,
/// accumulator delta and account move.
pub fn reverse(original: &Outcome) -> Reversal {
    let outcome = original.negated();
    check_sums(&outcome);
    let effects = Effects::of(&outcome);
    if let Err(m) = check_nets_to_zero(original, &outcome, &Effects::of(original).moves(), &effects.moves()) {
        panic!("a reversal does not net its settlement to zero: {m}");
    }
    Reversal { outcome, effects }
}

/// Undoing a reversal: the reversal of the reversal, which is the original again (asserted).
/// Returns what the reinstatement writes: the original's amounts and effects.
pub fn reinstate(original: &Outcome) -> Reversal {
    let undone = reverse(&reverse(original).outcome);
    assert_eq!(undone.outcome, Outcome { trace: vec![], ..original.clone() }, "reinstatement is the original");
    undone
}

/// The postcondition of a reversal: with its settlement it nets to zero on every amount, every
/// fund row, every accumulator change and account payment, and every given change of the
/// person's state (account moves, or accumulators and balances as applied). A failure names
/// what does not net.
pub fn check_nets_to_zero(
    settled: &Outcome,
    reversal: &Outcome,
    settled_change: &BTreeMap<String, Fen>,
    reversal_change: &BTreeMap<String, Fen>,
) -> Result<(), String> {
    let amounts = |o: &Outcome| {
        [
            ("medfee_sumamt", o.medfee_sumamt),
            ("fulamt_ownpay_amt", o.fulamt_ownpay_amt),
            ("overlmt_selfpay", o.overlmt_selfpay),
            ("preselfpay_amt", o.preselfpay_amt),
            ("inscp_scp_amt", o.inscp_scp_amt),
            ("act_pay_dedc", o.act_pay_dedc),
            ("hifp_pay", o.hifp_pay),
            ("cvlserv_pay", o.cvlserv_pay),
            ("hifes_pay", o.hifes_pay),
            ("hifmi_pay", o.hifmi_pay),
            ("hifob_pay", o.hifob_pay),
            ("maf_pay", o.maf_pay),
            ("oth_pay", o.oth_pay),
            ("fund_pay_sumamt", o.fund_pay_sumamt),
            ("psn_part_amt", o.psn_part_amt),
            ("acct_pay", o.acct_pay),
            ("acct_mulaid_pay", o.acct_mulaid_pay),
            ("psn_cash_pay", o.psn_cash_pay),
            ("hosp_part_amt", o.hosp_part_amt),
        ]
    };
    let mut sums: BTreeMap<String, Fen> = BTreeMap::new();
    let mut add = |k: String, v: Fen| *sums.entry(k).or_default() += v;
    for o in [settled, reversal] {
        for (k, v) in amounts(o) {
            add(k.to_owned(), v);
        }
        for r in &o.setldetail {
            add(format!("setldetail[{}].fund_payamt", r.fund_pay_type), r.fund_payamt);
            add(format!("setldetail[{}].inscp_scp_amt", r.fund_pay_type), r.inscp_scp_amt);
        }
        for (k, v) in &o.deltas {
            add(format!("deltas.{k}"), *v);
        }
        for (k, v) in &o.mulaid_pays {
            add(format!("mulaid_pays.{k}"), *v);
        }
    }
    for (k, v) in settled_change.iter().chain(reversal_change) {
        add(format!("state.{k}"), *v);
    }
    if settled.setldetail.len() != reversal.setldetail.len() {
        return Err(format!("{} fund rows reversed by {}", settled.setldetail.len(), reversal.setldetail.len()));
    }
    let left: Vec<String> = sums.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| format!("{k} {v}")).collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(left.join(", "))
    }
}

#[cfg(test)]
#[path = "reversal_tests.rs"]
mod tests;
