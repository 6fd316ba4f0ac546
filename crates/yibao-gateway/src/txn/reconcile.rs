//! Reconciliation: 3201 totals and 3202 details (with the detail file uploaded by 9101 and the
//! result fetched by 9102).
//!
//! Detail file format (interface-spec.md §6.2; delimiter unverified upstream): one settlement per
//! line, tab- or comma-separated: setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt,
//! acct_pay, refd_setl_flag. A header line starting with "setl_id" is skipped.

use super::{done, Ctx, Done};
use crate::error::{biz, Result};
use crate::input::{object, Node};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use yibao_domain::{DateTime, Fen};
use yibao_store::settlement::{self as st, SettlementRow};
use yibao_store::Tx;

/// Largest file accepted through 9101 (bytes).
const FILE_MAX: usize = 20 * 1024 * 1024;

fn period(d: &Node) -> Result<(i64, i64)> {
    let from = d.opt_date("stmt_begndate")?.ok_or_else(|| biz(format!("{}.stmt_begndate: required", d.path)))?;
    let to = d.opt_date("stmt_enddate")?.ok_or_else(|| biz(format!("{}.stmt_enddate: required", d.path)))?;
    if to < from {
        return Err(biz(format!("{}.stmt_enddate: before stmt_begndate", d.path)));
    }
    Ok((DateTime::from_date(from).0, DateTime::from_date(to.add_days(1)).0))
}

pub fn total(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let insutype = d.str_max("insutype", 6)?;
    let clr_type = d.str_max("clr_type", 6)?;
    let (from, to) = period(&d)?;
    let refd = match d.opt_str("refd_setl_flag")?.as_deref() {
        None => None,
        Some("0") => Some(false),
        Some("1") => Some(true),
        Some(o) => return Err(biz(format!("input.data.refd_setl_flag: {o:?} must be 0 or 1"))),
    };
    let ours = st::totals(tx, &ctx.env.fixmedins_code, &insutype, &clr_type, from, to, refd)?;
    let theirs = [
        ("medfee_sumamt", d.fen("medfee_sumamt")?, ours.medfee_sumamt),
        ("fund_pay_sumamt", d.fen("fund_pay_sumamt")?, ours.fund_pay_sumamt),
        ("acct_pay", d.fen("acct_pay")?, ours.acct_pay),
    ];
    let cnt = d.opt_int("fixmedins_setl_cnt")?.ok_or_else(|| biz("input.data.fixmedins_setl_cnt: required"))?;
    let mut diffs: Vec<String> =
        theirs.iter().filter(|(_, t, o)| t != o).map(|(f, t, o)| format!("{f}: centre {o}, institution {t}")).collect();
    if cnt != ours.count {
        diffs.push(format!("fixmedins_setl_cnt: centre {}, institution {cnt}", ours.count));
    }
    let (rslt, dscr) =
        if diffs.is_empty() { ("0", "平帐".to_owned()) } else { ("1", format!("不平: {}", diffs.join("; "))) };
    Ok(json!({ "stmtinfo": { "setl_optins": d.opt_str("setl_optins")?, "stmt_rslt": rslt, "stmt_rslt_dscr": dscr } }))
}

/// One uploaded detail row.
struct Detail {
    setl_id: String,
    mdtrt_id: String,
    psn_no: String,
    medfee: Fen,
    fund: Fen,
    acct: Fen,
    refd: String,
}

fn parse_details(text: &str) -> Result<Vec<Detail>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("setl_id") {
            continue;
        }
        let f: Vec<&str> = line.split(['\t', ',']).map(str::trim).collect();
        if f.len() < 7 {
            return Err(biz(format!("detail file line {}: 7 fields expected, found {}", i + 1, f.len())));
        }
        let money = |k: usize, name: &str| {
            Fen::parse_yuan(f[k]).map_err(|e| biz(format!("detail file line {}: {name} {:?}: {e}", i + 1, f[k])))
        };
        out.push(Detail {
            setl_id: f[0].to_owned(),
            mdtrt_id: f[1].to_owned(),
            psn_no: f[2].to_owned(),
            medfee: money(3, "medfee_sumamt")?,
            fund: money(4, "fund_pay_sumamt")?,
            acct: money(5, "acct_pay")?,
            refd: f[6].to_owned(),
        });
    }
    Ok(out)
}

fn result_row(s: Option<&SettlementRow>, d: Option<&Detail>) -> Value {
    let (rslt, memo) = match (s, d) {
        (Some(s), Some(d))
            if s.amount("medfee_sumamt") == d.medfee
                && s.amount("fund_pay_sumamt") == d.fund
                && s.amount("acct_pay") == d.acct =>
        {
            ("0", "平".to_owned())
        }
        (Some(s), Some(d)) => (
            "3",
            format!(
                "数据不一致: centre {}/{}/{}, institution {}/{}/{}",
                s.amount("medfee_sumamt"),
                s.amount("fund_pay_sumamt"),
                s.amount("acct_pay"),
                d.medfee,
                d.fund,
                d.acct
            ),
        ),
        (Some(_), None) => ("2", "医保中心多".to_owned()),
        (None, _) => ("1", "医疗机构多".to_owned()),
    };
    let src = |f: &str| s.map(|s| s.amount(f));
    json!({
        "psn_no": s.map(|s| s.psn_no.clone()).or_else(|| d.map(|d| d.psn_no.clone())),
        "mdtrt_id": s.map(|s| s.mdtrt_id.clone()).or_else(|| d.map(|d| d.mdtrt_id.clone())),
        "setl_id": s.map(|s| s.setl_id.clone()).or_else(|| d.map(|d| d.setl_id.clone())),
        "msgid": s.map(|s| s.msgid.clone()), "stmt_rslt": rslt,
        "refd_setl_flag": s.map(|s| if s.refd_setl_flag { "1" } else { "0" }.to_owned()).or_else(|| d.map(|d| d.refd.clone())),
        "memo": memo, "medfee_sumamt": src("medfee_sumamt").or(d.map(|d| d.medfee)),
        "fund_pay_sumamt": src("fund_pay_sumamt").or(d.map(|d| d.fund)), "acct_pay": src("acct_pay").or(d.map(|d| d.acct)),
    })
}

/// 3202: compares every settlement of the period with the uploaded detail rows. Result codes
/// (upstream codes unknown): 0 balanced, 1 institution has extra, 2 centre has extra, 3 mismatch.
pub fn detail(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let (from, to) = period(&d)?;
    let file_no = d.str_max("file_qury_no", 30)?;
    let (_, content) = st::get_file(tx, &file_no, &ctx.env.fixmedins_code)?.ok_or_else(|| {
        biz(format!("file_qury_no {file_no}: no such file of this institution (upload it with 9101)"))
    })?;
    let details = parse_details(&content)?;
    let clr_type = d.opt_str("clr_type")?;
    let ours: Vec<SettlementRow> = st::settlements_of_institution(tx, &ctx.env.fixmedins_code, from, to)?
        .into_iter()
        .filter(|s| clr_type.as_deref().is_none_or(|c| s.clr_type == c))
        .collect();
    let by_id: BTreeMap<&str, &Detail> = details.iter().map(|x| (x.setl_id.as_str(), x)).collect();
    let mut rows: Vec<Value> =
        ours.iter().map(|s| result_row(Some(s), by_id.get(s.setl_id.as_str()).copied())).collect();
    let known: std::collections::HashSet<&str> = ours.iter().map(|s| s.setl_id.as_str()).collect();
    rows.extend(details.iter().filter(|x| !known.contains(x.setl_id.as_str())).map(|x| result_row(None, Some(x))));
    let balanced = rows.iter().all(|r| r["stmt_rslt"] == "0");
    let result_no = ctx.new_id();
    let filename = format!("stmt_{file_no}.json");
    st::put_file(
        tx,
        &result_no,
        &ctx.env.fixmedins_code,
        &filename,
        &Value::Array(rows.clone()).to_string(),
        ctx.now.0,
    )?;
    let out = json!({
        "fileinfo": { "file_qury_no": result_no, "filename": filename, "dld_endtime": DateTime(ctx.now.0 + 86_400).to_string() },
        "stmt_rslt": if balanced { "0" } else { "1" },
        "stmtdetail": rows,
    });
    Ok(done(out, None, Some(&result_no)))
}

pub fn upload_file(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let up = object(&ctx.env.input, "fsUploadIn")?;
    let d = up.node();
    let filename = d.str_max("filename", 200)?;
    let content = match up.map.get("in") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(bytes)) => {
            let b: Option<Vec<u8>> =
                bytes.iter().map(|v| v.as_i64().and_then(|n| u8::try_from(n.rem_euclid(256)).ok())).collect();
            let b = b.ok_or_else(|| biz("input.fsUploadIn.in: must be an array of bytes"))?;
            String::from_utf8(b).map_err(|_| biz("input.fsUploadIn.in: the file must be UTF-8 text"))?
        }
        _ => return Err(biz("input.fsUploadIn.in: required (file bytes or text)")),
    };
    if content.len() > FILE_MAX {
        return Err(biz(format!("input.fsUploadIn.in: larger than {FILE_MAX} bytes")));
    }
    let no = ctx.new_id();
    st::put_file(tx, &no, &ctx.env.fixmedins_code, &filename, &content, ctx.now.0)?;
    let out =
        json!({ "file_qury_no": no, "filename": filename, "dld_endtime": DateTime(ctx.now.0 + 86_400).to_string() });
    Ok(done(out, None, Some(&no)))
}

pub fn download_file(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let dl = object(&ctx.env.input, "fsDownloadIn")?;
    let no = dl.node().str_max("file_qury_no", 30)?;
    let (filename, content) = st::get_file(tx, &no, &ctx.env.fixmedins_code)?
        .ok_or_else(|| biz(format!("file_qury_no {no}: no such file of this institution")))?;
    Ok(json!({ "filename": filename, "content": content }))
}
