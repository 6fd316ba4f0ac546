//! The hospital-system side of one request: the national envelope with a fresh msgid, the
//! retry of a request whose answer was lost (same msgid, as the interface intends), and the
//! record of every acknowledged settlement for the money check.

use crate::http::Client;
use crate::stats::Stats;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use yibao_domain::{DateTime, Fen};

/// Now, China time (UTC+8), as the interface writes it.
pub fn now() -> DateTime {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    DateTime(secs + 8 * 3600)
}

/// A settlement (or reversal) as its acknowledged answer states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub infno: String,
    pub msgid: String,
    pub psn_no: String,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    /// setldetail rows and the sum of their fund_payamt.
    pub fund_rows: usize,
    pub fund_rows_sum: Fen,
}

/// Everything the server acknowledged, for the money check.
#[derive(Default)]
pub struct Ledger {
    /// By setl_id.
    pub acks: HashMap<String, Ack>,
    /// The same setl_id acknowledged twice with different amounts.
    pub conflicts: Vec<String>,
    /// Requests whose outcome stayed unknown (no answer even after retrying).
    pub unknown: Vec<String>,
}

/// Why a step of a flow did not go through.
#[derive(Debug)]
pub enum Failure {
    /// The platform answered with infcode ≠ 0.
    Refused(i64, String),
    /// No answer (see [`Ledger::unknown`]).
    NoAnswer,
    /// An answer the generator cannot use.
    Garbled(String),
}

/// What every flow shares.
pub struct Ctx {
    pub client: Client,
    pub stats: std::sync::Arc<Stats>,
    pub ledger: Mutex<Ledger>,
    /// How long a request whose answer was lost is sent again (server restarting).
    pub retry_for: Duration,
    /// Per-institution msgid serials.
    serials: Mutex<HashMap<String, u32>>,
}

/// Transactions whose answers move money.
const MONEY: &[&str] = &["2207", "2304", "2102", "2208", "2305", "2103", "2601"];

impl Ctx {
    pub fn new(client: Client, stats: std::sync::Arc<Stats>, retry_for: Duration) -> Ctx {
        Ctx { client, stats, ledger: Mutex::default(), retry_for, serials: Mutex::default() }
    }

    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// fixmedins_code(12) + time(14) + serial(4), the spec's msgid shape.
    pub fn msgid(&self, fixmedins_code: &str) -> String {
        let n = {
            let mut m = self.serials.lock().unwrap_or_else(|p| p.into_inner());
            let serial = m.entry(fixmedins_code.to_owned()).or_default();
            *serial = (*serial + 1) % 10_000;
            *serial
        };
        format!("{fixmedins_code}{}{n:04}", now().compact())
    }

    /// Builds a request body.
    pub fn envelope(&self, infno: &str, msgid: &str, inst: (&str, &str), insuplc: &str, input: Value) -> Vec<u8> {
        let (code, admdvs) = inst;
        json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": admdvs, "insuplc_admdvs": insuplc,
            "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "B001", "opter_name": "bench",
            "inf_time": now().to_string(), "fixmedins_code": code, "fixmedins_name": "bench", "sign_no": "",
            "input": input,
        })
        .to_string()
        .into_bytes()
    }

    /// Sends a request until it is answered (the same bytes, so the same msgid: the platform
    /// answers a repeat with its first answer) and returns its output. `began` is when the
    /// request was due, for latency (an open-loop arrival may be due before it is sent).
    pub async fn call(&self, infno: &str, msgid: &str, body: &[u8], began: Instant) -> Result<Value, Failure> {
        let answer = self.answer(infno, msgid, body, began).await?;
        let code = infcode(&answer);
        self.stats.request(infno, &code.to_string(), began, Some(began.elapsed()));
        if code != 0 {
            let msg = answer["err_msg"].as_str().unwrap_or_default().to_owned();
            return Err(Failure::Refused(code, msg));
        }
        let output = answer.get("output").cloned().unwrap_or(Value::Null);
        if MONEY.contains(&infno) {
            self.record(infno, msgid, &output)?;
        }
        Ok(output)
    }

    async fn answer(&self, infno: &str, msgid: &str, body: &[u8], began: Instant) -> Result<Value, Failure> {
        let first = Instant::now();
        loop {
            match self.client.post(body).await {
                Ok((200, bytes)) => {
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| Failure::Garbled(format!("{infno}: answer is not JSON: {e}")));
                }
                Ok((status, bytes)) => {
                    // Refused before the platform looked at it (e.g. a body over the limit).
                    self.stats.request(infno, &format!("http {status}"), began, None);
                    return Err(Failure::Garbled(format!(
                        "{infno}: HTTP {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    )));
                }
                // No answer: the outcome is unknown, so the same request goes again (the
                // server may be restarting); its msgid makes a repeat harmless.
                Err(_) if first.elapsed() < self.retry_for => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => {
                    self.stats.request(infno, "io", began, None);
                    self.ledger().unknown.push(format!("{infno} {msgid}: {e}"));
                    return Err(Failure::NoAnswer);
                }
            }
        }
    }

    /// Records the settlement an acknowledged answer states (a 2601 carries it under `reversal`).
    fn record(&self, infno: &str, msgid: &str, output: &Value) -> Result<(), Failure> {
        let body = if output.get("setlinfo").is_some() { output } else { &output["reversal"] };
        let info = &body["setlinfo"];
        let Some(setl_id) = info["setl_id"].as_str() else {
            return Ok(()); // e.g. a 2601 that found nothing to undo
        };
        let amount = |v: &Value, k: &str| -> Result<Fen, Failure> {
            serde_json::from_value(v[k].clone()).map_err(|e| Failure::Garbled(format!("{infno} {k}: {e}")))
        };
        let rows = body["setldetail"].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut sum = Fen::ZERO;
        for r in rows {
            sum += amount(r, "fund_payamt")?;
        }
        let ack = Ack {
            infno: infno.to_owned(),
            msgid: msgid.to_owned(),
            psn_no: info["psn_no"].as_str().unwrap_or_default().to_owned(),
            medfee_sumamt: amount(info, "medfee_sumamt")?,
            fund_pay_sumamt: amount(info, "fund_pay_sumamt")?,
            acct_pay: amount(info, "acct_pay")?,
            fund_rows: rows.len(),
            fund_rows_sum: sum,
        };
        let mut l = self.ledger();
        let conflict = match l.acks.get(setl_id) {
            Some(prev) if !same_settlement(prev, &ack) => {
                Some(format!("{setl_id}: acknowledged as {prev:?} and as {ack:?}"))
            }
            Some(_) => None,
            None => {
                l.acks.insert(setl_id.to_owned(), ack);
                None
            }
        };
        l.conflicts.extend(conflict);
        Ok(())
    }
}

/// The same settlement: a replayed answer repeats the amounts (the msgid is the request's).
fn same_settlement(a: &Ack, b: &Ack) -> bool {
    (a.medfee_sumamt, a.fund_pay_sumamt, a.acct_pay, a.fund_rows, a.fund_rows_sum)
        == (b.medfee_sumamt, b.fund_pay_sumamt, b.acct_pay, b.fund_rows, b.fund_rows_sum)
}

/// infcode as a number (it arrives as 0 or "0").
pub fn infcode(answer: &Value) -> i64 {
    match &answer["infcode"] {
        Value::Number(n) => n.as_i64().unwrap_or(-1),
        Value::String(s) => s.trim().parse().unwrap_or(-1),
        _ => -1,
    }
}

/// The four-way split of a setlinfo or of summed fee-detail results, as request fields.
pub fn split_fields(s: &BTreeMap<&str, Fen>) -> Value {
    json!({
        "medfee_sumamt": s.values().copied().sum::<Fen>(),
        "fulamt_ownpay_amt": s.get("fulamt_ownpay_amt").copied().unwrap_or(Fen::ZERO),
        "overlmt_selfpay": s.get("overlmt_selfpay").copied().unwrap_or(Fen::ZERO),
        "preselfpay_amt": s.get("preselfpay_amt").copied().unwrap_or(Fen::ZERO),
        "inscp_scp_amt": s.get("inscp_scp_amt").copied().unwrap_or(Fen::ZERO),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgids_have_the_spec_shape_and_differ() {
        let ctx = Ctx::new(
            Client::new("127.0.0.1:9".parse().expect("addr"), "/"),
            std::sync::Arc::new(Stats::new(Duration::ZERO)),
            Duration::ZERO,
        );
        let (a, b) = (ctx.msgid("H11010000001"), ctx.msgid("H11010000001"));
        assert_eq!(a.len(), 30);
        assert!(a.starts_with("H11010000001") && a[12..].bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
    }

    #[test]
    fn infcode_reads_numbers_and_strings() {
        assert_eq!(infcode(&serde_json::json!({ "infcode": 0 })), 0);
        assert_eq!(infcode(&serde_json::json!({ "infcode": "-2" })), -2);
        assert_eq!(infcode(&serde_json::json!({})), -1);
    }
}
