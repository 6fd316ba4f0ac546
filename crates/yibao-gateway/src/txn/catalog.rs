//! Catalog queries, paged by update time: 1312 insurance list, 1316 list mappings, 1317 the
//! institution's own mappings, 1318 price caps, 1319 self-pay ratios.

use super::Ctx;
use crate::error::{biz, Result};
use crate::input::{object, Node};
use serde::Serialize;
use serde_json::{json, Value};
use yibao_domain::DateTime;
use yibao_store::catalog::{self, CatalogRecord, Page};
use yibao_store::Tx;

struct Paging {
    from: DateTime,
    page_num: i64,
    page_size: i64,
}

fn paging(d: &Node) -> Result<Paging> {
    let from = d.opt_time("updt_time")?.unwrap_or(DateTime(0));
    let page_num = d.opt_int("page_num")?.unwrap_or(1);
    let page_size = d.opt_int("page_size")?.unwrap_or(100);
    if page_num < 1 || page_size < 1 {
        return Err(biz(format!("{}.page_num and page_size must be at least 1", d.path)));
    }
    Ok(Paging { from, page_num, page_size })
}

/// The page wrapper HIS clients expect (firstPage, lastPage, ... data).
fn wrap<T: Serialize>(p: Page<T>, rows: Vec<Value>) -> Value {
    json!({
        "firstPage": p.page_num == 1, "lastPage": p.page_num >= p.pages, "size": rows.len(), "startRow": (p.page_num - 1).saturating_mul(p.page_size).saturating_add(1),
        "pageSize": p.page_size, "pageNum": p.page_num, "recordCounts": p.records, "pages": p.pages, "data": rows,
    })
}

/// The rows as the spec types them, the same in every catalog query: `vali_flag` a 0/1 code and
/// `rid` (唯一记录号, char 40) text, as 1312 writes them.
fn rows_of<T: Serialize>(p: &Page<T>) -> Vec<Value> {
    p.data
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(f) = v.get("vali_flag").and_then(Value::as_bool) {
                v["vali_flag"] = json!(if f { "1" } else { "0" });
            }
            if let Some(Value::Number(n)) = v.get("rid") {
                v["rid"] = json!(n.to_string());
            }
            v
        })
        .collect()
}

fn hilist_row(r: &CatalogRecord) -> Value {
    let i = &r.item;
    json!({
        "hilist_code": i.hilist_code, "hilist_name": i.hilist_name, "insu_admdvs": i.admdvs, "begndate": i.begndate.to_string(),
        "enddate": i.enddate.map(|d| d.to_string()), "med_chrgitm_type": i.med_chrgitm_type, "chrgitm_lv": i.chrgitm_lv.code(),
        "lmt_used_flag": if r.lmt_used_flag { "1" } else { "0" }, "list_type": i.list_type, "selfpay_prop": i.selfpay_prop,
        "pric_uplmt_amt": i.pric_uplmt, "memo": i.rules.indication, "vali_flag": if r.vali_flag { "1" } else { "0" },
        "rid": r.rid.to_string(), "updt_time": r.updt_time.to_string(), "ver": i.ver,
    })
}

pub fn hilist(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let p = paging(&d)?;
    let code = d.opt_str("hilist_code")?;
    // query_date: only rows in force on that day (the page counts stay those of the feed).
    let on = d.opt_date("query_date")?;
    let page = catalog::catalog_page(tx, p.from, p.page_num, p.page_size)?;
    let rows: Vec<Value> = page
        .data
        .iter()
        .filter(|r| code.as_deref().is_none_or(|c| c == r.item.hilist_code))
        .filter(|r| on.is_none_or(|day| r.item.in_force(day)))
        .map(hilist_row)
        .collect();
    Ok(wrap(page, rows))
}

pub fn medlist_map(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let p = paging(&data.node())?;
    let page = catalog::medlist_mapping_page(tx, p.from, p.page_num, p.page_size)?;
    let rows = rows_of(&page);
    Ok(wrap(page, rows))
}

pub fn medins_map(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    let p = paging(&d)?;
    // An institution sees its own mappings only.
    let page = catalog::mapping_page(tx, Some(&ctx.env.fixmedins_code), p.from, p.page_num, p.page_size)?;
    let rows = rows_of(&page);
    Ok(wrap(page, rows))
}

pub fn price_caps(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let p = paging(&data.node())?;
    let page = catalog::price_cap_page(tx, p.from, p.page_num, p.page_size)?;
    let rows = rows_of(&page);
    Ok(wrap(page, rows))
}

pub fn selfpay_props(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Value> {
    let data = object(&ctx.env.input, "data")?;
    let p = paging(&data.node())?;
    let page = catalog::selfpay_page(tx, p.from, p.page_num, p.page_size)?;
    let rows = rows_of(&page);
    Ok(wrap(page, rows))
}
