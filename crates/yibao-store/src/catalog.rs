//! Catalogs: national list items (effective-dated, with province and pooling-region rows that
//! take precedence over the national one), code lists (diseases, operations, chronic diseases),
//! each institution's local-code mappings, and the paged update feeds 1312 and 1316–1319.

use crate::db::{DbError, Row, Tx};
use crate::params;
use serde::Serialize;
use std::collections::HashMap;
use yibao_domain::catalog::{CatalogItem, ItemRules, NATIONAL_ADMDVS};
use yibao_domain::dict::ChrgitmLv;
use yibao_domain::{Date, DateTime, Ratio, UnitPrice};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid {field}: {value:?}")]
    Invalid { field: &'static str, value: String },
}

type Result<T> = std::result::Result<T, CatalogError>;

/// One page of an update feed, as the 1312/1316–1319 page wrapper carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub page_num: i64,
    pub page_size: i64,
    /// Total rows matching the query (recordCounts).
    pub records: i64,
    pub pages: i64,
    pub data: Vec<T>,
}

/// The largest page a client may ask for; bigger requests get this many rows.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Page number (from 1), size (1..=MAX_PAGE_SIZE) and row offset for a request.
fn page_window(page_num: i64, page_size: i64) -> (i64, i64, i64) {
    let num = page_num.max(1);
    let size = page_size.clamp(1, MAX_PAGE_SIZE);
    (num, size, (num - 1).saturating_mul(size))
}

fn page_of<T>(page_num: i64, page_size: i64, records: i64, data: Vec<T>) -> Page<T> {
    let (num, size, _) = page_window(page_num, page_size);
    Page { page_num: num, page_size: size, records, pages: (records + size - 1) / size, data }
}

fn count(tx: &mut dyn Tx, sql: &str, params: &[crate::Value]) -> Result<i64> {
    let row = tx.query_opt(sql, params)?;
    Ok(row.map(|r| r.i64(0)).transpose()?.unwrap_or(0))
}

// Catalog items ------------------------------------------------------------------------------

/// A catalog row as the 1312 feed reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogRecord {
    #[serde(flatten)]
    pub item: CatalogItem,
    pub lmt_used_flag: bool,
    pub vali_flag: bool,
    pub rid: i64,
    pub updt_time: DateTime,
}

/// Inserts or replaces the row (hilist_code, admdvs, begndate). A new version of an item is a
/// new row with a later begndate; lookups prefer the latest one in force.
pub fn upsert_catalog_item(tx: &mut dyn Tx, item: &CatalogItem, rid: i64, updt_time: DateTime) -> Result<()> {
    let rules = serde_json::to_string(&item.rules)
        .map_err(|e| CatalogError::Invalid { field: "rules", value: e.to_string() })?;
    tx.execute(
        "INSERT INTO catalog_item (hilist_code, admdvs, begndate, enddate, hilist_name, list_type,
           med_chrgitm_type, chrgitm_lv, selfpay_prop, pric_uplmt, lmt_used_flag, rules, ver,
           vali_flag, rid, updt_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15)
         ON CONFLICT (hilist_code, admdvs, begndate) DO UPDATE SET enddate = excluded.enddate,
           hilist_name = excluded.hilist_name, list_type = excluded.list_type,
           med_chrgitm_type = excluded.med_chrgitm_type, chrgitm_lv = excluded.chrgitm_lv,
           selfpay_prop = excluded.selfpay_prop, pric_uplmt = excluded.pric_uplmt,
           lmt_used_flag = excluded.lmt_used_flag, rules = excluded.rules, ver = excluded.ver,
           vali_flag = 1, rid = excluded.rid, updt_time = excluded.updt_time",
        params![
            &item.hilist_code,
            &item.admdvs,
            item.begndate,
            item.enddate,
            &item.hilist_name,
            &item.list_type,
            &item.med_chrgitm_type,
            item.chrgitm_lv.code(),
            item.selfpay_prop.0 as i64,
            item.pric_uplmt.map(|p| p.0),
            item.lmt_used_flag(),
            rules,
            &item.ver,
            rid,
            updt_time
        ],
    )?;
    Ok(())
}

const ITEM_COLS: &str = "hilist_code, admdvs, begndate, enddate, hilist_name, list_type, \
    med_chrgitm_type, chrgitm_lv, selfpay_prop, pric_uplmt, rules, ver, lmt_used_flag, \
    vali_flag, rid, updt_time";

fn item_from(row: &Row) -> Result<CatalogItem> {
    let lv = row.str(7)?;
    let chrgitm_lv = ChrgitmLv::parse(&lv).ok_or_else(|| DbError::Decode(format!("chrgitm_lv {lv:?}")))?;
    let ratio = row.i64(8)?;
    let selfpay_prop = u32::try_from(ratio)
        .ok()
        .and_then(|r| Ratio::new(r).ok())
        .ok_or_else(|| DbError::Decode(format!("selfpay_prop {ratio}")))?;
    let rules_text = row.str(10)?;
    // Most items carry no restriction; skipping the parser for them matters on every fee line.
    let rules: ItemRules = match rules_text.as_str() {
        "{}" => ItemRules::default(),
        text => serde_json::from_str(text)
            .map_err(|e| DbError::Decode(format!("rules of {}: {e}", row.str(0).unwrap_or_default())))?,
    };
    Ok(CatalogItem {
        hilist_code: row.str(0)?,
        admdvs: row.str(1)?,
        begndate: row.date(2)?,
        enddate: row.opt_date(3)?,
        hilist_name: row.str(4)?,
        list_type: row.str(5)?,
        med_chrgitm_type: row.str(6)?,
        chrgitm_lv,
        selfpay_prop,
        pric_uplmt: row.opt_i64(9)?.map(UnitPrice),
        rules,
        ver: row.str(11)?,
    })
}

fn record_from(row: &Row) -> Result<CatalogRecord> {
    Ok(CatalogRecord {
        item: item_from(row)?,
        lmt_used_flag: row.bool(12)?,
        vali_flag: row.bool(13)?,
        rid: row.i64(14)?,
        updt_time: DateTime(row.i64(15)?),
    })
}

/// The province row of a region: `xx0000`.
fn province_of(admdvs: &str) -> String {
    format!("{}0000", admdvs.get(..2).unwrap_or(admdvs))
}

/// The item as in force on `date` where the patient is treated: the pooling region's own row
/// if there is one, else its province's, else the national row; within one level the latest
/// begndate wins, so a new version supersedes an older open-ended one.
pub fn catalog_item_in_force(
    tx: &mut dyn Tx,
    hilist_code: &str,
    treatment_admdvs: &str,
    date: Date,
) -> Result<Option<CatalogItem>> {
    // The few candidate rows are ranked here rather than with `ORDER BY CASE …`: that ORDER BY
    // cannot use the primary key, and the temporary sort b-tree SQLite builds for it on every
    // call (one per fee line) cost more than the lookup itself.
    let sql = format!(
        "SELECT {ITEM_COLS} FROM catalog_item
         WHERE hilist_code = $1 AND admdvs IN ($2, $3, $4) AND vali_flag = 1
           AND begndate <= $5 AND (enddate IS NULL OR enddate > $5)"
    );
    let province = province_of(treatment_admdvs);
    let rows = tx.query(&sql, params![hilist_code, treatment_admdvs, province.as_str(), NATIONAL_ADMDVS, date])?;
    let items = rows.iter().map(item_from).collect::<Result<Vec<_>>>()?;
    Ok(best_item(items.iter(), treatment_admdvs, &province, date).cloned())
}

/// The row in force on `date` among candidates of one code: the treatment place's own level
/// first, then its province's, then the national; the latest begndate within a level.
fn best_item<'a>(
    items: impl Iterator<Item = &'a CatalogItem>,
    treatment_admdvs: &str,
    province: &str,
    date: Date,
) -> Option<&'a CatalogItem> {
    let level = |i: &CatalogItem| match i.admdvs.as_str() {
        a if a == treatment_admdvs => 0,
        a if a == province => 1,
        _ => 2,
    };
    items
        .filter(|i| i.begndate <= date && i.enddate.is_none_or(|e| e > date))
        .min_by_key(|i| (level(i), std::cmp::Reverse(i.begndate)))
}

/// The valid catalog rows of many codes at one treatment place, read with one statement (a fee
/// upload used to look each line up on its own); [`ItemCandidates::in_force`] then picks as
/// [`catalog_item_in_force`] does, for any date.
pub struct ItemCandidates {
    treatment_admdvs: String,
    province: String,
    by_code: HashMap<String, Vec<CatalogItem>>,
}

impl ItemCandidates {
    pub fn in_force(&self, hilist_code: &str, date: Date) -> Option<&CatalogItem> {
        let rows = self.by_code.get(hilist_code)?;
        best_item(rows.iter(), &self.treatment_admdvs, &self.province, date)
    }
}

pub fn catalog_items_of(tx: &mut dyn Tx, codes: &[&str], treatment_admdvs: &str) -> Result<ItemCandidates> {
    let province = province_of(treatment_admdvs);
    let mut by_code: HashMap<String, Vec<CatalogItem>> = HashMap::new();
    if !codes.is_empty() {
        let sql = format!(
            "SELECT {ITEM_COLS} FROM catalog_item
             WHERE hilist_code {} AND admdvs IN ($2, $3, $4) AND vali_flag = 1",
            tx.dialect().in_json_texts(1)
        );
        let list = crate::db::json_texts(codes);
        let rows =
            tx.query(&sql, &[list, treatment_admdvs.into(), province.as_str().into(), NATIONAL_ADMDVS.into()])?;
        for r in &rows {
            let item = item_from(r)?;
            by_code.entry(item.hilist_code.clone()).or_default().push(item);
        }
    }
    Ok(ItemCandidates { treatment_admdvs: treatment_admdvs.to_owned(), province, by_code })
}

/// True if any row, of any region or period, carries this code.
pub fn catalog_has_code(tx: &mut dyn Tx, hilist_code: &str) -> Result<bool> {
    let row =
        tx.query_opt("SELECT hilist_code FROM catalog_item WHERE hilist_code = $1 LIMIT 1", params![hilist_code])?;
    Ok(row.is_some())
}

/// 1312: catalog rows updated at or after `updt_time_from`, by (updt_time, rid).
pub fn catalog_page(
    tx: &mut dyn Tx,
    updt_time_from: DateTime,
    page_num: i64,
    page_size: i64,
) -> Result<Page<CatalogRecord>> {
    let (_, size, offset) = page_window(page_num, page_size);
    let records = count(tx, "SELECT COUNT(*) FROM catalog_item WHERE updt_time >= $1", params![updt_time_from])?;
    let sql = format!(
        "SELECT {ITEM_COLS} FROM catalog_item WHERE updt_time >= $1
         ORDER BY updt_time, rid LIMIT $2 OFFSET $3"
    );
    let rows = tx.query(&sql, params![updt_time_from, size, offset])?;
    let data = rows.iter().map(record_from).collect::<Result<_>>()?;
    Ok(page_of(page_num, page_size, records, data))
}

/// A 1316 row: a medical list code and the insurance list code it stands for. Our catalog is
/// keyed by the national code itself, so every catalog row maps its code to itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MedListMapping {
    pub med_list_codg: String,
    pub hilist_code: String,
    pub list_type: String,
    pub insu_admdvs: String,
    pub begndate: Date,
    pub enddate: Option<Date>,
    pub vali_flag: bool,
    pub rid: i64,
    pub updt_time: DateTime,
}

/// 1316: medical-list ↔ insurance-list mappings updated at or after `updt_time_from`.
pub fn medlist_mapping_page(
    tx: &mut dyn Tx,
    updt_time_from: DateTime,
    page_num: i64,
    page_size: i64,
) -> Result<Page<MedListMapping>> {
    let page = catalog_page(tx, updt_time_from, page_num, page_size)?;
    let data = page.data.into_iter().map(|r| MedListMapping {
        med_list_codg: r.item.hilist_code.clone(),
        hilist_code: r.item.hilist_code,
        list_type: r.item.list_type,
        insu_admdvs: r.item.admdvs,
        begndate: r.item.begndate,
        enddate: r.item.enddate,
        vali_flag: r.vali_flag,
        rid: r.rid,
        updt_time: r.updt_time,
    });
    Ok(Page {
        data: data.collect(),
        page_num: page.page_num,
        page_size: page.page_size,
        records: page.records,
        pages: page.pages,
    })
}

/// A 1318 row: a price cap (限价) per unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceCapRecord {
    pub hilist_code: String,
    pub insu_admdvs: String,
    pub begndate: Date,
    pub enddate: Option<Date>,
    pub hilist_pric_uplmt_amt: UnitPrice,
    pub vali_flag: bool,
    pub rid: i64,
    pub updt_time: DateTime,
}

/// 1318: items with a price cap, updated at or after `updt_time_from`.
pub fn price_cap_page(
    tx: &mut dyn Tx,
    updt_time_from: DateTime,
    page_num: i64,
    page_size: i64,
) -> Result<Page<PriceCapRecord>> {
    let (_, size, offset) = page_window(page_num, page_size);
    let filter = "updt_time >= $1 AND pric_uplmt IS NOT NULL";
    let records = count(tx, &format!("SELECT COUNT(*) FROM catalog_item WHERE {filter}"), params![updt_time_from])?;
    let sql = format!(
        "SELECT hilist_code, admdvs, begndate, enddate, pric_uplmt, vali_flag, rid, updt_time
         FROM catalog_item WHERE {filter} ORDER BY updt_time, rid LIMIT $2 OFFSET $3"
    );
    let rows = tx.query(&sql, params![updt_time_from, size, offset])?;
    let data = rows
        .iter()
        .map(|r| {
            Ok(PriceCapRecord {
                hilist_code: r.str(0)?,
                insu_admdvs: r.str(1)?,
                begndate: r.date(2)?,
                enddate: r.opt_date(3)?,
                hilist_pric_uplmt_amt: UnitPrice(r.i64(4)?),
                vali_flag: r.bool(5)?,
                rid: r.i64(6)?,
                updt_time: DateTime(r.i64(7)?),
            })
        })
        .collect::<Result<_>>()?;
    Ok(page_of(page_num, page_size, records, data))
}

/// A 1319 row: the self-pay ratio of an item for one person type, or (psn_type None) the
/// default for every other type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelfpayRecord {
    pub hilist_code: String,
    pub selfpay_prop_psn_type: Option<String>,
    pub insu_admdvs: String,
    pub begndate: Date,
    pub enddate: Option<Date>,
    pub selfpay_prop: Ratio,
    pub vali_flag: bool,
    pub rid: i64,
    pub updt_time: DateTime,
}

fn selfpay_rows(r: CatalogRecord) -> impl Iterator<Item = SelfpayRecord> {
    let row = move |psn_type: Option<String>, prop: Ratio| SelfpayRecord {
        hilist_code: r.item.hilist_code.clone(),
        selfpay_prop_psn_type: psn_type,
        insu_admdvs: r.item.admdvs.clone(),
        begndate: r.item.begndate,
        enddate: r.item.enddate,
        selfpay_prop: prop,
        vali_flag: r.vali_flag,
        rid: r.rid,
        updt_time: r.updt_time,
    };
    let by_type: Vec<(String, Ratio)> = r.item.rules.selfpay_by_psn_type.clone().into_iter().collect();
    let default = row(None, r.item.selfpay_prop);
    let typed: Vec<SelfpayRecord> = by_type.into_iter().map(|(t, p)| row(Some(t), p)).collect();
    std::iter::once(default).chain(typed)
}

/// 1319: self-pay ratios of items updated at or after `updt_time_from`: for each item its
/// default ratio, then one row per person type with its own ratio (in psn_type order).
///
/// The per-type ratios live in the rules JSON, so the rows are expanded here rather than in
/// SQL: each page reads the items changed since `updt_time_from`. Feeds are incremental, so that
/// set is small in practice; a full download of a national catalog would want a derived table.
pub fn selfpay_page(
    tx: &mut dyn Tx,
    updt_time_from: DateTime,
    page_num: i64,
    page_size: i64,
) -> Result<Page<SelfpayRecord>> {
    let (_, size, offset) = page_window(page_num, page_size);
    let sql = format!("SELECT {ITEM_COLS} FROM catalog_item WHERE updt_time >= $1 ORDER BY updt_time, rid");
    let rows = tx.query(&sql, params![updt_time_from])?;
    let mut records = 0i64;
    let mut data = Vec::new();
    for row in &rows {
        for rec in selfpay_rows(record_from(row)?) {
            if records >= offset && records < offset + size {
                data.push(rec);
            }
            records += 1;
        }
    }
    Ok(page_of(page_num, page_size, records, data))
}

// Code lists ---------------------------------------------------------------------------------

/// Which code list a code belongs to (code_list.list_kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// Diseases and diagnoses, ICD-10 医保版 (1307).
    Diag,
    /// Operations and procedures, ICD-9-CM-3 医保版 (1308).
    Oprn,
    /// Outpatient chronic and special diseases (1309).
    Opsp,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Diag => "diag",
            ListKind::Oprn => "oprn",
            ListKind::Opsp => "opsp",
        }
    }
}

/// One code of a code list, in force over [begndate, enddate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CodeEntry {
    pub code: String,
    pub name: String,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
    #[serde(default)]
    pub ver: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeRecord {
    #[serde(flatten)]
    pub entry: CodeEntry,
    pub vali_flag: bool,
    pub rid: i64,
    pub updt_time: DateTime,
}

pub fn upsert_code(tx: &mut dyn Tx, kind: ListKind, e: &CodeEntry, rid: i64, updt_time: DateTime) -> Result<()> {
    tx.execute(
        "INSERT INTO code_list (list_kind, code, begndate, enddate, name, ver, vali_flag, rid,
           updt_time)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
         ON CONFLICT (list_kind, code, begndate) DO UPDATE SET enddate = excluded.enddate,
           name = excluded.name, ver = excluded.ver, vali_flag = 1, rid = excluded.rid,
           updt_time = excluded.updt_time",
        params![kind.as_str(), &e.code, e.begndate, e.enddate, &e.name, &e.ver, rid, updt_time],
    )?;
    Ok(())
}

const CODE_COLS: &str = "code, name, begndate, enddate, ver, vali_flag, rid, updt_time";

fn code_from(row: &Row) -> Result<CodeRecord> {
    Ok(CodeRecord {
        entry: CodeEntry {
            code: row.str(0)?,
            name: row.str(1)?,
            begndate: row.date(2)?,
            enddate: row.opt_date(3)?,
            ver: row.str(4)?,
        },
        vali_flag: row.bool(5)?,
        rid: row.i64(6)?,
        updt_time: DateTime(row.i64(7)?),
    })
}

/// The code as in force on `date` (the latest version if periods overlap).
pub fn code_in_force(tx: &mut dyn Tx, kind: ListKind, code: &str, date: Date) -> Result<Option<CodeEntry>> {
    let sql = format!(
        "SELECT {CODE_COLS} FROM code_list
         WHERE list_kind = $1 AND code = $2 AND vali_flag = 1
           AND begndate <= $3 AND (enddate IS NULL OR enddate > $3)
         ORDER BY begndate DESC LIMIT 1"
    );
    let row = tx.query_opt(&sql, params![kind.as_str(), code, date])?;
    Ok(row.map(|r| code_from(&r)).transpose()?.map(|r| r.entry))
}

/// 1307–1309 style feed of one code list, by (updt_time, rid).
pub fn codes_page(
    tx: &mut dyn Tx,
    kind: ListKind,
    updt_time_from: DateTime,
    page_num: i64,
    page_size: i64,
) -> Result<Page<CodeRecord>> {
    let (_, size, offset) = page_window(page_num, page_size);
    let records = count(
        tx,
        "SELECT COUNT(*) FROM code_list WHERE list_kind = $1 AND updt_time >= $2",
        params![kind.as_str(), updt_time_from],
    )?;
    let sql = format!(
        "SELECT {CODE_COLS} FROM code_list WHERE list_kind = $1 AND updt_time >= $2
         ORDER BY updt_time, rid LIMIT $3 OFFSET $4"
    );
    let rows = tx.query(&sql, params![kind.as_str(), updt_time_from, size, offset])?;
    let data = rows.iter().map(code_from).collect::<Result<_>>()?;
    Ok(page_of(page_num, page_size, records, data))
}

// Institution mappings (3301/3302, 1317) -----------------------------------------------------

/// An institution's local code mapped to a national list code, over [begndate, enddate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MedMapping {
    pub fixmedins_code: String,
    pub medins_list_codg: String,
    pub medins_list_name: String,
    pub list_type: String,
    pub med_list_codg: String,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
}

/// A 1317 row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappingRecord {
    #[serde(flatten)]
    pub mapping: MedMapping,
    pub insu_admdvs: String,
    pub vali_flag: bool,
    pub rid: i64,
    pub updt_time: DateTime,
}

/// Inserts or replaces a mapping (3301). The institution must be registered (the row carries its
/// region) and the national code must be in the catalog.
pub fn upsert_mapping(tx: &mut dyn Tx, m: &MedMapping, rid: i64, updt_time: DateTime) -> Result<()> {
    if !catalog_has_code(tx, &m.med_list_codg)? {
        return Err(CatalogError::NotFound(format!("catalog item {}", m.med_list_codg)));
    }
    let n = tx.execute(
        "INSERT INTO med_map (fixmedins_code, medins_list_codg, begndate, enddate,
           medins_list_name, list_type, med_list_codg, admdvs, vali_flag, rid, updt_time)
         SELECT $1, $2, $3, $4, $5, $6, $7, admdvs, 1, $8, $9
         FROM institution WHERE fixmedins_code = $1
         ON CONFLICT (fixmedins_code, medins_list_codg, begndate) DO UPDATE SET
           enddate = excluded.enddate, medins_list_name = excluded.medins_list_name,
           list_type = excluded.list_type, med_list_codg = excluded.med_list_codg,
           vali_flag = 1, rid = excluded.rid, updt_time = excluded.updt_time",
        params![
            &m.fixmedins_code,
            &m.medins_list_codg,
            m.begndate,
            m.enddate,
            &m.medins_list_name,
            &m.list_type,
            &m.med_list_codg,
            rid,
            updt_time
        ],
    )?;
    if n == 0 {
        return Err(CatalogError::NotFound(format!("institution {}", m.fixmedins_code)));
    }
    Ok(())
}

const MAP_COLS: &str = "fixmedins_code, medins_list_codg, medins_list_name, list_type, \
    med_list_codg, begndate, enddate, admdvs, vali_flag, rid, updt_time";

fn mapping_from(row: &Row) -> Result<MappingRecord> {
    Ok(MappingRecord {
        mapping: MedMapping {
            fixmedins_code: row.str(0)?,
            medins_list_codg: row.str(1)?,
            medins_list_name: row.str(2)?,
            list_type: row.str(3)?,
            med_list_codg: row.str(4)?,
            begndate: row.date(5)?,
            enddate: row.opt_date(6)?,
        },
        insu_admdvs: row.str(7)?,
        vali_flag: row.bool(8)?,
        rid: row.i64(9)?,
        updt_time: DateTime(row.i64(10)?),
    })
}

/// The valid mapping of a local code on `date` (the latest version if periods overlap).
pub fn mapping_in_force(
    tx: &mut dyn Tx,
    fixmedins_code: &str,
    medins_list_codg: &str,
    date: Date,
) -> Result<Option<MedMapping>> {
    let sql = format!(
        "SELECT {MAP_COLS} FROM med_map
         WHERE fixmedins_code = $1 AND medins_list_codg = $2 AND vali_flag = 1
           AND begndate <= $3 AND (enddate IS NULL OR enddate > $3)
         ORDER BY begndate DESC LIMIT 1"
    );
    let row = tx.query_opt(&sql, params![fixmedins_code, medins_list_codg, date])?;
    Ok(row.map(|r| mapping_from(&r)).transpose()?.map(|r| r.mapping))
}

/// The valid mappings of many local codes of one institution, read with one statement;
/// [`MappingCandidates::in_force`] then picks as [`mapping_in_force`] does, for any date.
pub struct MappingCandidates {
    by_local: HashMap<String, Vec<MedMapping>>,
}

impl MappingCandidates {
    pub fn in_force(&self, medins_list_codg: &str, date: Date) -> Option<&MedMapping> {
        self.by_local
            .get(medins_list_codg)?
            .iter()
            .filter(|m| m.begndate <= date && m.enddate.is_none_or(|e| e > date))
            .max_by_key(|m| m.begndate)
    }
}

pub fn mappings_of(tx: &mut dyn Tx, fixmedins_code: &str, locals: &[&str]) -> Result<MappingCandidates> {
    let mut by_local: HashMap<String, Vec<MedMapping>> = HashMap::new();
    if !locals.is_empty() {
        let sql = format!(
            "SELECT {MAP_COLS} FROM med_map WHERE fixmedins_code = $1 AND medins_list_codg {} AND vali_flag = 1",
            tx.dialect().in_json_texts(2)
        );
        let rows = tx.query(&sql, &[fixmedins_code.into(), crate::db::json_texts(locals)])?;
        for r in &rows {
            let m = mapping_from(r)?.mapping;
            by_local.entry(m.medins_list_codg.clone()).or_default().push(m);
        }
    }
    Ok(MappingCandidates { by_local })
}

/// 3302: cancels the valid mappings of a local code to `med_list_codg`. They end on `on`
/// (unless they already ended earlier) and become invalid, so lookups no longer find them while
/// 1317 still reports them, flagged, to the institutions that downloaded them. Returns how many
/// rows were cancelled; none is `NotFound`.
pub fn cancel_mapping(
    tx: &mut dyn Tx,
    fixmedins_code: &str,
    medins_list_codg: &str,
    med_list_codg: &str,
    on: Date,
    rid: i64,
    updt_time: DateTime,
) -> Result<u64> {
    let n = tx.execute(
        "UPDATE med_map SET vali_flag = 0, rid = $1, updt_time = $2,
           enddate = CASE WHEN enddate IS NULL OR enddate > $3 THEN $3 ELSE enddate END
         WHERE fixmedins_code = $4 AND medins_list_codg = $5 AND med_list_codg = $6
           AND vali_flag = 1",
        params![rid, updt_time, on, fixmedins_code, medins_list_codg, med_list_codg],
    )?;
    if n == 0 {
        return Err(CatalogError::NotFound(format!(
            "valid mapping of {medins_list_codg} to {med_list_codg} at {fixmedins_code}"
        )));
    }
    Ok(n)
}

/// 1317: mappings updated at or after `updt_time_from`, of one institution or of all.
pub fn mapping_page(
    tx: &mut dyn Tx,
    fixmedins_code: Option<&str>,
    updt_time_from: DateTime,
    page_num: i64,
    page_size: i64,
) -> Result<Page<MappingRecord>> {
    let (_, size, offset) = page_window(page_num, page_size);
    let filter = "updt_time >= $1 AND ($2 IS NULL OR fixmedins_code = $2)";
    let records =
        count(tx, &format!("SELECT COUNT(*) FROM med_map WHERE {filter}"), params![updt_time_from, fixmedins_code])?;
    let sql = format!(
        "SELECT {MAP_COLS} FROM med_map WHERE {filter}
         ORDER BY updt_time, rid LIMIT $3 OFFSET $4"
    );
    let rows = tx.query(&sql, params![updt_time_from, fixmedins_code, size, offset])?;
    let data = rows.iter().map(mapping_from).collect::<Result<_>>()?;
    Ok(page_of(page_num, page_size, records, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_windows() {
        assert_eq!(page_window(0, 0), (1, 1, 0));
        assert_eq!(page_window(3, 5000), (3, 1000, 2000));
        let p = page_of(2, 10, 25, Vec::<()>::new());
        assert_eq!((p.pages, p.page_num, p.page_size), (3, 2, 10));
        assert_eq!(page_of(1, 10, 0, Vec::<()>::new()).pages, 0);
        assert_eq!(province_of("320400"), "320000");
    }
}
