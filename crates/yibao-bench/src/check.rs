//! The money check: what the store holds must be exactly what the platform acknowledged.
//!
//! * Every acknowledged settlement or reversal (2207, 2304, 2102, 2208, 2305, 2103, 2601) is in
//!   the store once, with the amounts and fund rows its answer stated; every settlement row the
//!   run created was acknowledged; no msgid produced two settlements.
//! * No settlement is half-written: each has its fee lines (while it stands), its account
//!   entry, its msgid record and its outbox event.
//! * Each account's balance is its ledger's sum, and its settlement entries are exactly minus
//!   the acct_pay of its settlements; accumulators are exactly the sum of the settlements'
//!   deltas (the seed creates none).

use crate::his::Ledger;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use yibao_domain::Fen;
use yibao_store::{DbError, Row, Store, Tx};

/// The settlements in the store before the run: the run is judged on what it added.
pub struct Before {
    setl_ids: HashSet<String>,
}

pub fn before(store: &Store) -> Result<Before, String> {
    let rows = store.read(|tx| tx.query("SELECT setl_id FROM settlement", &[])).map_err(|e| e.to_string())?;
    let setl_ids = rows.iter().map(|r| r.str(0)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    Ok(Before { setl_ids })
}

/// The verdict: `findings` empty means the money is right.
pub struct Verdict {
    pub findings: Vec<String>,
    pub figures: Value,
}

struct SetlRow {
    setl_id: String,
    /// The msgid, which is unique within its institution.
    fixmedins_code: String,
    msgid: String,
    psn_no: String,
    medfee: Fen,
    fund: Fen,
    acct: Fen,
    /// Neither a reversal mirror nor reversed.
    standing: bool,
}

/// Everything the check reads, in one consistent snapshot.
struct Snapshot {
    settlements: Vec<SetlRow>,
    dup_msgids: Vec<String>,
    funds: HashMap<String, (i64, Fen)>,
    lines: HashMap<String, Fen>,
    entries: HashMap<String, (i64, Fen)>,
    msg_refs: HashMap<(String, String), String>,
    events: HashSet<String>,
    ledger_sums: HashMap<String, Fen>,
    last_balances: HashMap<String, Fen>,
    settle_entries_by_psn: HashMap<String, Fen>,
    acct_pay_by_psn: HashMap<String, Fen>,
    mulaid: (Fen, Fen),
    deltas: BTreeMap<(String, String, i64, String), Fen>,
    accumulators: BTreeMap<(String, String, i64, String), Fen>,
}

pub fn run(store: &Store, before: &Before, ledger: &Ledger) -> Result<Verdict, String> {
    let snap = store.read(snapshot).map_err(|e| format!("money check: reading the store: {e}"))?;
    let mut f = Vec::new();
    for u in &ledger.unknown {
        f.push(format!("outcome unknown (no answer even after retrying): {u}"));
    }
    f.extend(ledger.conflicts.iter().cloned());
    let figures = acknowledged_vs_stored(&snap, before, ledger, &mut f);
    half_written(&snap, &mut f);
    balances(&snap, &mut f);
    accumulators(&snap, &mut f);
    Ok(Verdict { findings: f, figures })
}

fn acknowledged_vs_stored(snap: &Snapshot, before: &Before, ledger: &Ledger, f: &mut Vec<String>) -> Value {
    let run: HashMap<&str, &SetlRow> = snap
        .settlements
        .iter()
        .filter(|s| !before.setl_ids.contains(&s.setl_id))
        .map(|s| (s.setl_id.as_str(), s))
        .collect();
    let (mut acked, mut stored) = ([Fen::ZERO; 3], [Fen::ZERO; 3]);
    for (id, a) in &ledger.acks {
        for (sum, v) in acked.iter_mut().zip([a.medfee_sumamt, a.fund_pay_sumamt, a.acct_pay]) {
            *sum += v;
        }
        match run.get(id.as_str()) {
            None => f.push(format!("acknowledged {} {id} ({} {}) is not in the store", a.infno, a.msgid, a.psn_no)),
            Some(s)
                if (s.medfee, s.fund, s.acct, s.msgid.as_str())
                    != (a.medfee_sumamt, a.fund_pay_sumamt, a.acct_pay, a.msgid.as_str()) =>
            {
                f.push(format!(
                    "{id}: acknowledged {}/{}/{} by {}, stored {}/{}/{} by {}",
                    a.medfee_sumamt, a.fund_pay_sumamt, a.acct_pay, a.msgid, s.medfee, s.fund, s.acct, s.msgid
                ))
            }
            Some(_) => {}
        }
        let funds = snap.funds.get(id).copied().unwrap_or((0, Fen::ZERO));
        if funds != (a.fund_rows as i64, a.fund_rows_sum) {
            f.push(format!(
                "{id}: answer had {} fund rows summing {}, store has {funds:?}",
                a.fund_rows, a.fund_rows_sum
            ));
        }
    }
    for s in run.values() {
        for (sum, v) in stored.iter_mut().zip([s.medfee, s.fund, s.acct]) {
            *sum += v;
        }
        if !ledger.acks.contains_key(&s.setl_id) {
            f.push(format!("settlement {} (msgid {}) is in the store but was never acknowledged", s.setl_id, s.msgid));
        }
    }
    if acked != stored {
        f.push(format!("acknowledged totals {acked:?} ≠ stored totals {stored:?} (medfee, fund, acct)"));
    }
    for m in &snap.dup_msgids {
        f.push(format!("msgid {m} produced more than one settlement"));
    }
    json!({
        "acknowledged": ledger.acks.len(), "stored_by_this_run": run.len(),
        "medfee_sumamt": acked[0], "fund_pay_sumamt": acked[1], "acct_pay": acked[2],
        "stored_medfee_sumamt": stored[0], "stored_fund_pay_sumamt": stored[1], "stored_acct_pay": stored[2],
    })
}

/// Each settlement with everything written in its transaction.
fn half_written(snap: &Snapshot, f: &mut Vec<String>) {
    for s in &snap.settlements {
        let id = &s.setl_id;
        let lines = snap.lines.get(id).copied();
        match (s.standing, lines) {
            (true, Some(t)) if t == s.medfee => {}
            (true, other) => f.push(format!("{id}: fee lines sum {other:?}, medfee_sumamt {}", s.medfee)),
            (false, Some(t)) => f.push(format!("{id} is reversed or a reversal but still holds fee lines ({t})")),
            (false, None) => {}
        }
        let entry = snap.entries.get(id).copied();
        let want = (!s.acct.is_zero()).then_some((1, -s.acct));
        if entry != want {
            f.push(format!("{id}: account entries {entry:?}, expected {want:?}"));
        }
        let recorded = snap.msg_refs.get(&(s.fixmedins_code.clone(), s.msgid.clone()));
        if recorded != Some(id) {
            f.push(format!("{id}: msgid {} does not record it (records {recorded:?})", s.msgid));
        }
        if !snap.events.contains(id) {
            f.push(format!("{id}: no outbox event"));
        }
    }
}

fn balances(snap: &Snapshot, f: &mut Vec<String>) {
    for (psn, sum) in &snap.ledger_sums {
        let last = snap.last_balances.get(psn).copied();
        if last != Some(*sum) {
            f.push(format!("account of {psn}: last balance {last:?} ≠ sum of its entries {sum}"));
        }
    }
    let psns: HashSet<&String> = snap.settle_entries_by_psn.keys().chain(snap.acct_pay_by_psn.keys()).collect();
    for psn in psns {
        let entries = snap.settle_entries_by_psn.get(psn).copied().unwrap_or(Fen::ZERO);
        let paid = snap.acct_pay_by_psn.get(psn).copied().unwrap_or(Fen::ZERO);
        if entries != -paid {
            f.push(format!("account of {psn}: settlement entries {entries} ≠ −Σ acct_pay {paid}"));
        }
    }
    if snap.mulaid.0 != -snap.mulaid.1 {
        f.push(format!("mutual-aid entries {} ≠ −Σ acct_mulaid_pay {}", snap.mulaid.0, snap.mulaid.1));
    }
}

fn accumulators(snap: &Snapshot, f: &mut Vec<String>) {
    let keys: HashSet<_> = snap.deltas.keys().chain(snap.accumulators.keys()).collect();
    let mut wrong = 0;
    for k in keys {
        let (a, b) =
            (snap.deltas.get(k).copied().unwrap_or(Fen::ZERO), snap.accumulators.get(k).copied().unwrap_or(Fen::ZERO));
        if a != b {
            wrong += 1;
            if wrong <= 20 {
                f.push(format!("accumulator {k:?}: settlements imply {a}, store holds {b}"));
            }
        }
    }
    if wrong > 20 {
        f.push(format!("… {} more accumulators wrong", wrong - 20));
    }
}

fn snapshot(tx: &mut dyn Tx) -> Result<Snapshot, DbError> {
    let settlements = tx
        .query("SELECT setl_id, msgid, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag, revs_setl_id, fixmedins_code FROM settlement", &[])?
        .iter()
        .map(|r| {
            Ok(SetlRow {
                setl_id: r.str(0)?,
                msgid: r.str(1)?,
                psn_no: r.str(2)?,
                medfee: r.fen(3)?,
                fund: r.fen(4)?,
                acct: r.fen(5)?,
                standing: !r.bool(6)? && r.opt_str(7)?.is_none(),
                fixmedins_code: r.str(8)?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let mut acct_pay_by_psn: HashMap<String, Fen> = HashMap::new();
    for s in &settlements {
        *acct_pay_by_psn.entry(s.psn_no.clone()).or_insert(Fen::ZERO) += s.acct;
    }
    let (deltas, mulaid_paid) = deltas(tx)?;
    Ok(Snapshot {
        dup_msgids: strings(tx, "SELECT msgid FROM settlement GROUP BY fixmedins_code, msgid HAVING COUNT(*) > 1")?,
        funds: counted(tx, "SELECT setl_id, COUNT(*), CAST(SUM(fund_payamt) AS BIGINT) FROM settlement_fund GROUP BY setl_id")?,
        lines: by_key(tx, "SELECT setl_id, CAST(SUM(det_item_fee_sumamt) AS BIGINT) FROM fee_line WHERE setl_id IS NOT NULL GROUP BY setl_id")?,
        entries: counted(tx, "SELECT ref_id, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM acct_entry WHERE kind IN ('settle', 'reverse') AND ref_id IS NOT NULL GROUP BY ref_id")?,
        msg_refs: tx
            .query("SELECT fixmedins_code, msgid, ref_id FROM msg_log WHERE ref_id IS NOT NULL", &[])?
            .iter()
            .map(|r| Ok(((r.str(0)?, r.str(1)?), r.str(2)?)))
            .collect::<Result<_, DbError>>()?,
        events: strings(tx, "SELECT aggregate_id FROM outbox WHERE event_type IN ('settlement.settled', 'settlement.reversed')")?
            .into_iter()
            .collect(),
        ledger_sums: by_key(tx, "SELECT psn_no, CAST(SUM(amount) AS BIGINT) FROM acct_entry GROUP BY psn_no")?,
        last_balances: by_key(tx, "SELECT a.psn_no, a.balance_after FROM acct_entry a JOIN (SELECT psn_no, MAX(seq) AS s FROM acct_entry GROUP BY psn_no) m ON m.psn_no = a.psn_no AND m.s = a.seq")?,
        settle_entries_by_psn: by_key(tx, "SELECT psn_no, CAST(SUM(amount) AS BIGINT) FROM acct_entry WHERE kind IN ('settle', 'reverse') GROUP BY psn_no")?,
        mulaid: (
            scalar(tx, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM acct_entry WHERE kind IN ('mulaid_pay', 'mulaid_reverse')")?,
            mulaid_paid,
        ),
        accumulators: tx
            .query("SELECT psn_no, insutype, cum_year, cum_type_code, cum FROM accumulator", &[])?
            .iter()
            .map(|r| Ok(((r.str(0)?, r.str(1)?, r.i64(2)?, r.str(3)?), r.fen(4)?)))
            .collect::<Result<_, DbError>>()?,
        acct_pay_by_psn,
        settlements,
        deltas,
    })
}

type Deltas = BTreeMap<(String, String, i64, String), Fen>;

/// Σ of every settlement's accumulator deltas (from its stored body, read through the
/// repository, which opens a sealed body), and Σ acct_mulaid_pay.
fn deltas(tx: &mut dyn Tx) -> Result<(Deltas, Fen), DbError> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        deltas: BTreeMap<String, Fen>,
    }
    let mut out = Deltas::new();
    let mut mulaid = Fen::ZERO;
    for id in strings(tx, "SELECT setl_id FROM settlement")? {
        let s = yibao_store::settlement::settlement(tx, &id, false)?
            .ok_or_else(|| DbError::Other(format!("settlement {id} vanished during the check")))?;
        let body: Body =
            serde_json::from_str(&s.body).map_err(|e| DbError::Decode(format!("settlement {id} body: {e}")))?;
        mulaid += s.amount("acct_mulaid_pay");
        for (code, v) in body.deltas {
            *out.entry((s.psn_no.clone(), s.insutype.clone(), s.setl_year, code)).or_insert(Fen::ZERO) += v;
        }
    }
    out.retain(|_, v| !v.is_zero());
    Ok((out, mulaid))
}

fn strings(tx: &mut dyn Tx, sql: &str) -> Result<Vec<String>, DbError> {
    tx.query(sql, &[])?.iter().map(|r| r.str(0)).collect()
}

fn scalar(tx: &mut dyn Tx, sql: &str) -> Result<Fen, DbError> {
    tx.query(sql, &[])?.first().map_or(Ok(Fen::ZERO), |r| r.fen(0))
}

fn by_key(tx: &mut dyn Tx, sql: &str) -> Result<HashMap<String, Fen>, DbError> {
    tx.query(sql, &[])?.iter().map(|r| Ok((r.str(0)?, r.fen(1)?))).collect()
}

fn counted(tx: &mut dyn Tx, sql: &str) -> Result<HashMap<String, (i64, Fen)>, DbError> {
    tx.query(sql, &[])?.iter().map(|r: &Row| Ok((r.str(0)?, (r.i64(1)?, r.fen(2)?)))).collect()
}
