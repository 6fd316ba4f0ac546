//! Catalog items, code lists and institution mappings.

use crate::fields::{split_list, Fields, Reason};
use crate::spec::{opt_string, Emit, Spec, WriteError, EXPORT_PAGE};
use crate::ImportError;
use std::collections::BTreeMap;
use yibao_domain::catalog::{CatalogItem, ItemRules, NATIONAL_ADMDVS};
use yibao_domain::codes::{Admdvs, DiagCode, FixmedinsCode, MedListCode, OprnCode, OpspDiseCode};
use yibao_domain::dict::{ChrgitmLv, VisitClass};
use yibao_domain::{DateTime, Ratio};
use yibao_store::catalog::{self as cat, CodeEntry, ListKind, MedMapping};
use yibao_store::Tx;

/// The start of time for update feeds: an export wants every row.
const ALL: DateTime = DateTime(i64::MIN);

fn list_code(f: &Fields, col: &str) -> Result<MedListCode, Reason> {
    f.parse(col, MedListCode::parse)
}

/// list_type is implied by the code; a file may state it, but then it must agree.
fn list_type_of(f: &Fields, code: &MedListCode) -> Result<String, Reason> {
    let implied = code.list_type();
    match f.opt("list_type") {
        Some(given) if given != implied => {
            Err(format!("list_type {given:?} does not match code {code}, which is list type {implied}"))
        }
        _ => Ok(implied.to_owned()),
    }
}

// Catalog items ------------------------------------------------------------------------------

pub struct CatalogSpec;

const CATALOG_COLUMNS: &[&str] = &[
    "hilist_code",
    "hilist_name",
    "admdvs",
    "begndate",
    "enddate",
    "list_type",
    "med_chrgitm_type",
    "chrgitm_lv",
    "selfpay_prop",
    "pric_uplmt",
    "ver",
    "lmt_gend",
    "lmt_age_min",
    "lmt_age_max",
    "lmt_min_grade",
    "lmt_insutypes",
    "lmt_visit_classes",
    "indication",
    "selfpay_by_psn_type",
];

/// 01 床位费 … 14 其他费, optionally with a 2-digit local subcode (0801).
fn med_chrgitm_type(f: &Fields) -> Result<String, Reason> {
    let v = f.req("med_chrgitm_type")?;
    let head = v.get(..2).and_then(|h| h.parse::<u32>().ok());
    let ok = matches!(v.len(), 2 | 4) && v.bytes().all(|b| b.is_ascii_digit()) && matches!(head, Some(1..=14));
    if !ok {
        return Err(format!("med_chrgitm_type {v:?}: must be 01 to 14, or one of them with a 2-digit subcode"));
    }
    Ok(v.to_owned())
}

fn catalog_admdvs(f: &Fields) -> Result<String, Reason> {
    match f.opt("admdvs") {
        None | Some(NATIONAL_ADMDVS) => Ok(NATIONAL_ADMDVS.to_owned()),
        Some(_) => f.parse("admdvs", Admdvs::parse).map(|a| a.to_string()),
    }
}

/// `1201=0.05;14=0`: a self-pay ratio per psn_type (a 2-digit category or a longer code).
fn selfpay_by_psn_type(f: &Fields) -> Result<BTreeMap<String, Ratio>, Reason> {
    let Some(v) = f.opt("selfpay_by_psn_type") else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for part in split_list(v) {
        let bad = |why: &str| format!("selfpay_by_psn_type {part:?}: {why}");
        let (t, r) = part.split_once('=').ok_or_else(|| bad("expected psn_type=ratio"))?;
        let t = t.trim();
        if !(2..=6).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("psn_type must be 2 to 6 digits"));
        }
        let ratio = Ratio::parse(r.trim()).map_err(|e| bad(&e.to_string()))?;
        out.insert(t.to_owned(), ratio);
    }
    Ok(out)
}

fn visit_classes(f: &Fields) -> Result<Vec<VisitClass>, Reason> {
    let list = f.opt("lmt_visit_classes").map(split_list).unwrap_or_default();
    list.iter()
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v.clone())).map_err(|_| {
                format!("lmt_visit_classes {v:?}: must be outpatient, chronic, inpatient, pharmacy or maternity")
            })
        })
        .collect()
}

fn item_rules(f: &Fields) -> Result<ItemRules, Reason> {
    let gend = match f.opt("lmt_gend") {
        None => None,
        Some(_) => Some(f.one_of("lmt_gend", &["1", "2"])?),
    };
    let min_grade = f.opt_u32("lmt_min_grade")?;
    if min_grade.is_some_and(|g| !(1..=3).contains(&g)) {
        return Err(format!("lmt_min_grade {:?}: must be 1, 2 or 3", opt_string(&min_grade)));
    }
    Ok(ItemRules {
        selfpay_by_psn_type: selfpay_by_psn_type(f)?,
        gend,
        age_min: f.opt_u32("lmt_age_min")?,
        age_max: f.opt_u32("lmt_age_max")?,
        min_grade: min_grade.map(|g| g as u8),
        insutypes: f.opt("lmt_insutypes").map(split_list).unwrap_or_default(),
        visit_classes: visit_classes(f)?,
        indication: f.opt_text("indication"),
    })
}

impl Spec for CatalogSpec {
    type Rec = CatalogItem;

    fn columns(&self) -> &'static [&'static str] {
        CATALOG_COLUMNS
    }

    fn parse(&self, f: &Fields) -> Result<CatalogItem, Reason> {
        let code = list_code(f, "hilist_code")?;
        let (begndate, enddate) = f.period("begndate", "enddate")?;
        let chrgitm_lv = f.parse("chrgitm_lv", |v| ChrgitmLv::parse(v).ok_or("must be 01 (甲), 02 (乙) or 03 (丙)"))?;
        let selfpay_prop = f.ratio("selfpay_prop")?;
        if chrgitm_lv == ChrgitmLv::A && selfpay_prop != Ratio::ZERO {
            return Err(format!(
                "selfpay_prop {selfpay_prop}: a class 01 (甲类) item has no self-pay share, it must be 0"
            ));
        }
        Ok(CatalogItem {
            list_type: list_type_of(f, &code)?,
            hilist_code: code.to_string(),
            admdvs: catalog_admdvs(f)?,
            begndate,
            enddate,
            hilist_name: f.text("hilist_name")?,
            med_chrgitm_type: med_chrgitm_type(f)?,
            chrgitm_lv,
            selfpay_prop,
            pric_uplmt: f.opt_unit_price("pric_uplmt")?,
            rules: item_rules(f)?,
            ver: f.opt_text("ver").unwrap_or_default(),
        })
    }

    fn keys(&self, r: &CatalogItem) -> Vec<(&'static str, String)> {
        vec![("hilist_code, admdvs and begndate", format!("{} {} {}", r.hilist_code, r.admdvs, r.begndate))]
    }

    fn write(&self, tx: &mut dyn Tx, r: &CatalogItem, rid: i64, now: DateTime) -> Result<(), WriteError> {
        Ok(cat::upsert_catalog_item(tx, r, rid, now)?)
    }

    fn values(&self, r: &CatalogItem) -> Vec<String> {
        let rules = &r.rules;
        let classes: Vec<String> = rules
            .visit_classes
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok()?.as_str().map(str::to_owned))
            .collect();
        let ratios: Vec<String> = rules.selfpay_by_psn_type.iter().map(|(t, p)| format!("{t}={p}")).collect();
        vec![
            r.hilist_code.clone(),
            r.hilist_name.clone(),
            r.admdvs.clone(),
            r.begndate.to_string(),
            opt_string(&r.enddate),
            r.list_type.clone(),
            r.med_chrgitm_type.clone(),
            r.chrgitm_lv.code().to_owned(),
            r.selfpay_prop.to_string(),
            r.pric_uplmt.map_or_else(String::new, |p| p.to_decimal_string()),
            r.ver.clone(),
            opt_string(&rules.gend),
            opt_string(&rules.age_min),
            opt_string(&rules.age_max),
            opt_string(&rules.min_grade),
            rules.insutypes.join(";"),
            classes.join(";"),
            opt_string(&rules.indication),
            ratios.join(";"),
        ]
    }

    fn export(&self, tx: &mut dyn Tx, emit: &mut Emit<CatalogItem>) -> Result<(), ImportError> {
        for page_num in 1.. {
            let page = cat::catalog_page(tx, ALL, page_num, EXPORT_PAGE)?;
            for rec in &page.data {
                emit(&rec.item)?;
            }
            if page_num >= page.pages {
                break;
            }
        }
        Ok(())
    }
}

// Code lists ---------------------------------------------------------------------------------

pub struct CodeSpec(pub ListKind);

const CODE_COLUMNS: &[&str] = &["code", "name", "begndate", "enddate", "ver"];

impl CodeSpec {
    /// The code, checked with the parser of its list.
    fn code(&self, f: &Fields) -> Result<String, Reason> {
        match self.0 {
            ListKind::Diag => f.parse("code", DiagCode::parse).map(|c| c.to_string()),
            ListKind::Oprn => f.parse("code", OprnCode::parse).map(|c| c.to_string()),
            ListKind::Opsp => f.parse("code", OpspDiseCode::parse).map(|c| c.to_string()),
        }
    }
}

impl Spec for CodeSpec {
    type Rec = CodeEntry;

    fn columns(&self) -> &'static [&'static str] {
        CODE_COLUMNS
    }

    fn parse(&self, f: &Fields) -> Result<CodeEntry, Reason> {
        let (begndate, enddate) = f.period("begndate", "enddate")?;
        Ok(CodeEntry {
            code: self.code(f)?,
            name: f.text("name")?,
            begndate,
            enddate,
            ver: f.opt_text("ver").unwrap_or_default(),
        })
    }

    fn keys(&self, r: &CodeEntry) -> Vec<(&'static str, String)> {
        vec![("code and begndate", format!("{} {}", r.code, r.begndate))]
    }

    fn write(&self, tx: &mut dyn Tx, r: &CodeEntry, rid: i64, now: DateTime) -> Result<(), WriteError> {
        Ok(cat::upsert_code(tx, self.0, r, rid, now)?)
    }

    fn values(&self, r: &CodeEntry) -> Vec<String> {
        vec![r.code.clone(), r.name.clone(), r.begndate.to_string(), opt_string(&r.enddate), r.ver.clone()]
    }

    fn export(&self, tx: &mut dyn Tx, emit: &mut Emit<CodeEntry>) -> Result<(), ImportError> {
        for page_num in 1.. {
            let page = cat::codes_page(tx, self.0, ALL, page_num, EXPORT_PAGE)?;
            for rec in &page.data {
                emit(&rec.entry)?;
            }
            if page_num >= page.pages {
                break;
            }
        }
        Ok(())
    }
}

// Institution mappings -----------------------------------------------------------------------

pub struct MappingSpec;

const MAPPING_COLUMNS: &[&str] =
    &["fixmedins_code", "medins_list_codg", "medins_list_name", "list_type", "med_list_codg", "begndate", "enddate"];

/// The interface carries local codes in 30 to 50 characters; we accept up to 50.
const LOCAL_CODE_MAX: usize = 50;

impl Spec for MappingSpec {
    type Rec = MedMapping;

    fn columns(&self) -> &'static [&'static str] {
        MAPPING_COLUMNS
    }

    fn parse(&self, f: &Fields) -> Result<MedMapping, Reason> {
        let local = f.text("medins_list_codg")?;
        if local.chars().count() > LOCAL_CODE_MAX || local.chars().any(char::is_control) {
            return Err(format!("medins_list_codg {local:?}: at most {LOCAL_CODE_MAX} printable characters"));
        }
        let national = list_code(f, "med_list_codg")?;
        let (begndate, enddate) = f.period("begndate", "enddate")?;
        Ok(MedMapping {
            fixmedins_code: f.parse("fixmedins_code", FixmedinsCode::parse)?.to_string(),
            medins_list_codg: local,
            medins_list_name: f.text("medins_list_name")?,
            list_type: list_type_of(f, &national)?,
            med_list_codg: national.to_string(),
            begndate,
            enddate,
        })
    }

    fn keys(&self, r: &MedMapping) -> Vec<(&'static str, String)> {
        let key = format!("{} {} {}", r.fixmedins_code, r.medins_list_codg, r.begndate);
        vec![("fixmedins_code, medins_list_codg and begndate", key)]
    }

    fn write(&self, tx: &mut dyn Tx, r: &MedMapping, rid: i64, now: DateTime) -> Result<(), WriteError> {
        Ok(cat::upsert_mapping(tx, r, rid, now)?)
    }

    fn values(&self, r: &MedMapping) -> Vec<String> {
        vec![
            r.fixmedins_code.clone(),
            r.medins_list_codg.clone(),
            r.medins_list_name.clone(),
            r.list_type.clone(),
            r.med_list_codg.clone(),
            r.begndate.to_string(),
            opt_string(&r.enddate),
        ]
    }

    /// Valid mappings only: a cancelled one (3302) would come back valid on import.
    fn export(&self, tx: &mut dyn Tx, emit: &mut Emit<MedMapping>) -> Result<(), ImportError> {
        for page_num in 1.. {
            let page = cat::mapping_page(tx, None, ALL, page_num, EXPORT_PAGE)?;
            for rec in page.data.iter().filter(|r| r.vali_flag) {
                emit(&rec.mapping)?;
            }
            if page_num >= page.pages {
                break;
            }
        }
        Ok(())
    }
}
