//! The flows a hospital or pharmacy runs, each a sequence of requests that waits for every
//! answer before the next step, with the occasional reversal, 2601 and duplicate delivery:
//!
//! * outpatient visit: 2201 → 2204 (5–30 lines) → 2206 → 2207, sometimes then the 2207 sent
//!   again (same msgid), a 2208, or a 2601 of the 2207;
//! * pharmacy sale: 2102 (1–6 lines), sometimes 2103;
//! * inpatient stay: 2401 → 2301 a day → 2304 mid-stay → more 2301 → 2402 → 2304 final.

use crate::his::{split_fields, Ctx, Failure};
use crate::stats::FlowKind;
use crate::world::{Institution, Person, World};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;
use yibao_domain::Fen;
use yibao_seed::rng::Rng;

/// Per mille of flows of each kind, and of visits that end with each extra step.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub pharmacy: u32,
    pub inpatient: u32,
    pub resend: u32,
    pub reverse: u32,
    pub reverse_by_msgid: u32,
}

impl Mix {
    /// Outpatient visits only: what the throughput target counts.
    pub const OUTPATIENT: Mix = Mix { pharmacy: 0, inpatient: 0, resend: 0, reverse: 0, reverse_by_msgid: 0 };
    /// A day at a city's platform, roughly: mostly outpatient, some pharmacy, few stays.
    pub const MIXED: Mix = Mix { pharmacy: 150, inpatient: 20, resend: 20, reverse: 20, reverse_by_msgid: 10 };

    pub fn pick(&self, rng: &mut Rng) -> FlowKind {
        let r = rng.below(1000) as u32;
        if r < self.inpatient {
            FlowKind::Inpatient
        } else if r < self.inpatient + self.pharmacy {
            FlowKind::Pharmacy
        } else {
            FlowKind::Outpatient
        }
    }
}

/// Runs one flow of `kind`; `began` is when it was due.
pub async fn run(ctx: &Ctx, world: &World, mix: Mix, kind: FlowKind, seed: u64, began: Instant) -> Result<(), Failure> {
    let mut rng = Rng::new(seed);
    match kind {
        FlowKind::Outpatient => {
            let h = rng.pick(&world.hospitals);
            outpatient(ctx, h, rng.pick(world.persons_of(h)), mix, &mut rng, began).await
        }
        FlowKind::Pharmacy => {
            let p = rng.pick(&world.pharmacies);
            pharmacy(ctx, p, rng.pick(world.persons_of(p)), mix, &mut rng, began).await
        }
        FlowKind::Inpatient => {
            let h = rng.pick(&world.hospitals);
            inpatient(ctx, h, rng.pick(world.persons_of(h)), &mut rng, began).await
        }
    }
}

/// One request of a flow at `inst` for `p`; returns its output.
async fn step(
    ctx: &Ctx,
    inst: &Institution,
    p: &Person,
    infno: &str,
    input: Value,
    began: Instant,
) -> Result<(String, Value), Failure> {
    let msgid = ctx.msgid(&inst.code);
    let body = ctx.envelope(infno, &msgid, (&inst.code, &inst.admdvs), &p.insuplc_admdvs, input);
    let out = ctx.call(infno, &msgid, &body, began).await?;
    Ok((msgid, out))
}

fn text(v: &Value, path: &[&str]) -> Result<String, Failure> {
    let mut cur = v;
    for k in path {
        cur = &cur[*k];
    }
    cur.as_str().map(str::to_owned).ok_or_else(|| Failure::Garbled(format!("answer lacks {}: {v}", path.join("."))))
}

fn fen(v: &Value) -> Result<Fen, Failure> {
    serde_json::from_value(v.clone()).map_err(|e| Failure::Garbled(format!("{v} is not an amount: {e}")))
}

/// Fee-detail rows of random lines from the institution's catalogue: `(rows, total)`.
fn fee_rows(
    rng: &mut Rng,
    inst: &Institution,
    head: &Value,
    prefix: &str,
    n: usize,
    max_fen: u64,
) -> (Vec<Value>, Fen) {
    let now = crate::his::now().to_string();
    let mut total = Fen::ZERO;
    let rows = (0..n)
        .map(|i| {
            let (local, national) = rng.pick(&inst.items);
            let pric = 50 + rng.below(max_fen) as i64;
            let cnt = 1 + rng.below(3) as i64;
            let amount = Fen(pric * cnt);
            total += amount;
            let mut r = json!({
                "feedetl_sn": format!("{prefix}{i}"), "fee_ocur_time": now, "med_list_codg": national,
                "medins_list_codg": local, "det_item_fee_sumamt": amount, "cnt": cnt, "pric": Fen(pric),
                "bilg_dept_codg": "01", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "王医生",
                "hosp_appr_flag": "0", "rx_circ_flag": "0",
            });
            if let (Some(r), Some(h)) = (r.as_object_mut(), head.as_object()) {
                r.extend(h.clone());
            }
            r
        })
        .collect();
    (rows, total)
}

/// Who is treated: by psn_no, with the ID card the patient presents (02 and its number).
fn cert(p: &Person) -> Value {
    json!({ "psn_no": p.psn_no, "insutype": p.insutype, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

async fn outpatient(
    ctx: &Ctx,
    h: &Institution,
    p: &Person,
    mix: Mix,
    rng: &mut Rng,
    began: Instant,
) -> Result<(), Failure> {
    let now = crate::his::now().to_string();
    let reg = with(
        cert(p),
        json!({ "begntime": now, "ipt_otp_no": ctx.msgid(&h.code), "med_type": "11", "atddr_no": "D001", "dr_name": "王医生", "dept_code": "01", "dept_name": "内科", "caty": "A03" }),
    );
    let (_, out) = step(ctx, h, p, "2201", json!({ "data": reg }), began).await?;
    let mdtrt_id = text(&out, &["data", "mdtrt_id"])?;
    let head = json!({ "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "chrg_bchno": "B1", "med_type": "11" });
    let n = 5 + rng.below(26) as usize;
    let (rows, total) = fee_rows(rng, h, &head, "F", n, 20_000);
    step(ctx, h, p, "2204", json!({ "feedetail": rows }), Instant::now()).await?;
    let settle = with(
        cert(p),
        json!({ "mdtrt_id": mdtrt_id, "med_type": "11", "psn_setlway": "01", "chrg_bchno": "B1", "acct_used_flag": "1", "medfee_sumamt": total }),
    );
    let (_, pre) = step(ctx, h, p, "2206", json!({ "data": settle }), Instant::now()).await?;
    let mut split = BTreeMap::new();
    for k in ["fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"] {
        split.insert(k, fen(&pre["setlinfo"][k])?);
    }
    let input = json!({ "data": with(settle, split_fields(&split)) });
    let msgid = ctx.msgid(&h.code);
    let body = ctx.envelope("2207", &msgid, (&h.code, &h.admdvs), &p.insuplc_admdvs, input);
    let out = ctx.call("2207", &msgid, &body, Instant::now()).await?;
    let setl_id = text(&out, &["setlinfo", "setl_id"])?;
    let r = rng.below(1000) as u32;
    if r < mix.resend {
        // Duplicate delivery: the platform must answer with the first answer, changing nothing.
        let again = ctx.call("2207", &msgid, &body, Instant::now()).await?;
        if again["setlinfo"]["setl_id"] != out["setlinfo"]["setl_id"] {
            return Err(Failure::Garbled(format!(
                "2207 {msgid} sent twice settled twice: {setl_id} and {}",
                again["setlinfo"]["setl_id"]
            )));
        }
    } else if r < mix.resend + mix.reverse {
        let rev = json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": p.psn_no } });
        step(ctx, h, p, "2208", rev, Instant::now()).await?;
    } else if r < mix.resend + mix.reverse + mix.reverse_by_msgid {
        let undo = json!({ "data": { "psn_no": p.psn_no, "omsgid": msgid, "oinfno": "2207" } });
        step(ctx, h, p, "2601", undo, Instant::now()).await?;
    }
    Ok(())
}

async fn pharmacy(
    ctx: &Ctx,
    ph: &Institution,
    p: &Person,
    mix: Mix,
    rng: &mut Rng,
    began: Instant,
) -> Result<(), Failure> {
    let head = json!({ "psn_no": p.psn_no, "med_type": "41" });
    let n = 1 + rng.below(6) as usize;
    let (rows, total) = fee_rows(rng, ph, &head, "P", n, 8_000);
    let data =
        with(cert(p), json!({ "med_type": "41", "medfee_sumamt": total, "acct_used_flag": "1", "psn_setlway": "01" }));
    let (_, out) = step(ctx, ph, p, "2102", json!({ "data": data, "feedetail": rows }), began).await?;
    if (rng.below(1000) as u32) < mix.reverse {
        let s = &out["setlinfo"];
        let rev = json!({ "data": { "setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": p.psn_no } });
        step(ctx, ph, p, "2103", rev, Instant::now()).await?;
    }
    Ok(())
}

/// Adds the four parts of each uploaded line's classification.
fn add_results(out: &Value, split: &mut BTreeMap<&'static str, Fen>) -> Result<(), Failure> {
    let rows = out["result"].as_array().ok_or_else(|| Failure::Garbled(format!("2301 answer lacks result: {out}")))?;
    for r in rows {
        let parts = [
            ("fulamt_ownpay_amt", "fulamt_ownpay_amt"),
            ("overlmt_selfpay", "overlmt_amt"),
            ("preselfpay_amt", "preselfpay_amt"),
            ("inscp_scp_amt", "inscp_scp_amt"),
        ];
        for (k, from) in parts {
            *split.entry(k).or_insert(Fen::ZERO) += fen(&r[from])?;
        }
    }
    Ok(())
}

async fn inpatient(ctx: &Ctx, h: &Institution, p: &Person, rng: &mut Rng, began: Instant) -> Result<(), Failure> {
    let now = crate::his::now().to_string();
    let adm = with(
        cert(p),
        json!({ "begntime": now, "med_type": "21", "ipt_no": ctx.msgid(&h.code), "dise_codg": "J18.900", "dise_name": "肺炎", "adm_dept_codg": "03", "adm_dept_name": "呼吸科", "adm_bed": "12", "atddr_no": "D001", "chfpdr_name": "王医生" }),
    );
    let (_, out) = step(ctx, h, p, "2401", json!({ "mdtrtinfo": adm }), began).await?;
    let mdtrt_id = text(&out, &["result", "mdtrt_id"])?;
    let days = 2 + rng.below(5) as usize;
    let mid = days / 2;
    let mut split = BTreeMap::new();
    let head = json!({ "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "med_type": "21" });
    for day in 0..days {
        let n = 3 + rng.below(6) as usize;
        let (rows, _) = fee_rows(rng, h, &head, &format!("D{day}L"), n, 60_000);
        let (_, out) = step(ctx, h, p, "2301", json!({ "feedetail": rows }), Instant::now()).await?;
        add_results(&out, &mut split)?;
        if day + 1 == mid {
            settle_stay(ctx, h, p, &mdtrt_id, true, &std::mem::take(&mut split)).await?;
        }
    }
    let dscg = json!({ "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "insutype": p.insutype, "endtime": crate::his::now().to_string(), "dise_codg": "J18.900", "dise_name": "肺炎", "dscg_way": "1" });
    step(ctx, h, p, "2402", json!({ "dscginfo": dscg, "diseinfo": [] }), Instant::now()).await?;
    settle_stay(ctx, h, p, &mdtrt_id, false, &split).await
}

async fn settle_stay(
    ctx: &Ctx,
    h: &Institution,
    p: &Person,
    mdtrt_id: &str,
    mid: bool,
    split: &BTreeMap<&str, Fen>,
) -> Result<(), Failure> {
    let data = with(
        cert(p),
        json!({ "mdtrt_id": mdtrt_id, "psn_setlway": "01", "acct_used_flag": "1", "mid_setl_flag": if mid { "1" } else { "0" } }),
    );
    step(ctx, h, p, "2304", json!({ "data": with(data, split_fields(split)) }), Instant::now()).await.map(drop)
}
