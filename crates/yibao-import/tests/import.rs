//! Import on SQLite: bad rows reported with their line, strict mode writes nothing, and an
//! export of the demo world imports into a fresh store as the same rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use yibao_domain::Date;
use yibao_import::{export_path, import_path, Format, ImportError, ImportOptions, Kind, Rejected};
use yibao_seed::{seed_demo, SeedOptions};
use yibao_store::registry as reg;
use yibao_store::{params, Store};
use yibao_store_sqlite::SqliteBackend;

struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("yibao-import-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }
    fn store(&self, name: &str) -> Store {
        let backend = SqliteBackend::open(self.dir.join(format!("{name}.db"))).expect("open SQLite");
        Store::new(Arc::new(backend))
    }
    fn file(&self, name: &str, body: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, body).expect("write file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn quiet() -> ImportOptions {
    ImportOptions { quiet: true, ..ImportOptions::default() }
}

fn count(store: &Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    store.read(|tx| tx.query(&sql, params![])?[0].i64(0)).expect("count")
}

const PERSONS_HEADER: &str = "psn_no,psn_cert_type,certno,psn_name,gend,brdy,naty,admdvs,tel,addr,death_date\n";

/// Line 2 good, line 3 a wrong check digit, line 4 good (with a quoted multi-line address),
/// line 6 a gender that contradicts the identity number.
fn persons_csv() -> String {
    format!(
        "{PERSONS_HEADER}\
         P1,01,11010519491231002X,张三,2,1949-12-31,01,110100,,,\n\
         P2,01,110105194912310021,李四,,,01,110100,,,\n\
         P3,01,110105194912310038,王五,1,,01,110100,,\"北京市\n朝阳区\",\n\
         P4,01,110105201001010010,赵六,2,,01,110100,,,\n"
    )
}

#[test]
fn bad_rows_are_reported_with_line_and_reason() {
    let s = Scratch::new("bad");
    let store = s.store("db");
    let path = s.file("persons.csv", &persons_csv());
    let report = import_path(&store, Kind::Persons, &path, &quiet()).expect("import");
    assert_eq!((report.read, report.imported), (4, 2));
    assert_eq!(report.rejected.len(), 2);
    assert_eq!(report.rejected[0].line, 3);
    assert_eq!(report.rejected[0].reason, "certno 110105********0021: check digit should be X, found 1");
    assert_eq!(report.rejected[1].line, 6);
    assert!(report.rejected[1].reason.starts_with("gend \"2\" does not match certno"), "{:?}", report.rejected[1]);
    let p2 = store.read(|tx| reg::person_by_psn_no(tx, "P2")).expect("read");
    assert_eq!(p2, None);
    let p3 = store.read(|tx| reg::person_by_psn_no(tx, "P3")).expect("read").expect("P3");
    assert_eq!((p3.gend.as_str(), p3.addr.as_deref()), ("1", Some("北京市\n朝阳区")));
    assert_eq!(p3.brdy, Date::parse("1949-12-31").expect("date"));
}

#[test]
fn strict_mode_writes_nothing() {
    let s = Scratch::new("strict");
    let store = s.store("db");
    let path = s.file("persons.csv", &persons_csv());
    let opts = ImportOptions { strict: true, ..quiet() };
    let err = import_path(&store, Kind::Persons, &path, &opts).unwrap_err();
    let ImportError::Strict(report) = &err else { panic!("{err}") };
    assert_eq!((report.imported, report.rejected.len()), (0, 2));
    assert!(err.to_string().contains("line 3: certno"), "{err}");
    assert_eq!(count(&store, "person"), 0);

    // A row the store refuses (a mapping to an unknown institution) also rolls back the file.
    let header = "fixmedins_code,medins_list_codg,medins_list_name,list_type,med_list_codg,begndate,enddate\n";
    let maps = s.file("maps.csv", &format!("{header}H11010000001,HIS-1,x,,120100001,2024-01-01,\n"));
    let err = import_path(&store, Kind::Mappings, &maps, &opts).unwrap_err();
    let ImportError::Strict(report) = &err else { panic!("{err}") };
    assert_eq!(report.rejected, [Rejected { line: 2, reason: "not found: catalog item 120100001".into() }]);
}

#[test]
fn json_rows_checked_with_their_lines() {
    let s = Scratch::new("json");
    let store = s.store("db");
    let body = r#"[
  {"hilist_code": "XJ01CAAMX001A0101010097", "hilist_name": "阿莫西林胶囊", "begndate": "2024-01-01",
   "med_chrgitm_type": "09", "chrgitm_lv": "01", "selfpay_prop": 0},
  {"hilist_code": "xj01", "hilist_name": "坏编码", "begndate": "2024-01-01",
   "med_chrgitm_type": "09", "chrgitm_lv": "01", "selfpay_prop": 0},
  {"hilist_code": "001102000010000", "hilist_name": "普通门诊诊查费", "begndate": "2024-01-01",
   "med_chrgitm_type": "02", "chrgitm_lv": "02", "selfpay_prop": 0.1, "pric_uplmt": "15.00",
   "selfpay_by_psn_type": "1201=0.05;14=0", "lmt_visit_classes": "outpatient"},
  {"hilist_code": "001102000010000", "hilist_name": "重复", "begndate": "2024-01-01",
   "med_chrgitm_type": "02", "chrgitm_lv": "02", "selfpay_prop": 0.1},
  {"hilist_code": "C02040205800005113250000023", "hilist_name": "输液器", "begndate": "2024-01-01",
   "med_chrgitm_type": "08", "chrgitm_lv": "01", "selfpay_prop": 0.1}
]
"#;
    let path = s.file("catalog.json", body);
    let report = import_path(&store, Kind::Catalog, &path, &quiet()).expect("import");
    assert_eq!((report.read, report.imported), (5, 2));
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 9, 11]);
    assert!(report.rejected[0].reason.starts_with("hilist_code \"xj01\": malformed code"), "{:?}", report.rejected);
    assert_eq!(report.rejected[1].reason, "same hilist_code, admdvs and begndate as line 6");
    assert!(report.rejected[2].reason.contains("甲类"), "{:?}", report.rejected);
    assert_eq!(count(&store, "catalog_item"), 2);
}

#[test]
fn unknown_columns_and_kinds_are_refused() {
    let s = Scratch::new("cols");
    let store = s.store("db");
    let path = s.file("p.csv", "psn_no,certNo\nP1,x\n");
    let err = import_path(&store, Kind::Persons, &path, &quiet()).unwrap_err();
    assert!(err.to_string().contains("unknown column \"certNo\""), "{err}");
    assert!("patients".parse::<Kind>().is_err());
    assert_eq!("chronic".parse::<Kind>().ok(), Some(Kind::Chronic));
}

fn export_all(store: &Store, dir: &Path, format: Format, ext: &str) -> Vec<(Kind, PathBuf, String)> {
    Kind::ALL
        .iter()
        .map(|&kind| {
            let path = dir.join(format!("{kind}.{ext}"));
            let n = export_path(store, kind, &path, format).expect("export");
            assert!(n > 0, "{kind}: nothing exported");
            let text = std::fs::read_to_string(&path).expect("read export");
            (kind, path, text)
        })
        .collect()
}

fn round_trip(format: Format, ext: &str) {
    let s = Scratch::new(&format!("trip-{ext}"));
    let source = s.store("source");
    let opts = SeedOptions { persons: 150, today: Date::parse("2026-11-22").expect("date"), ..SeedOptions::default() };
    seed_demo(&source, &opts).expect("seed");
    let first_dir = s.dir.join("first");
    std::fs::create_dir_all(&first_dir).expect("dir");
    let first = export_all(&source, &first_dir, format, ext);

    let target = s.store("target");
    for (kind, path, _) in &first {
        let report = import_path(&target, *kind, path, &ImportOptions { strict: true, ..quiet() }).expect("import");
        assert!(report.rejected.is_empty(), "{kind}: {:?}", report.rejected);
    }
    let second_dir = s.dir.join("second");
    std::fs::create_dir_all(&second_dir).expect("dir");
    for ((kind, _, a), (_, _, b)) in first.iter().zip(export_all(&target, &second_dir, format, ext)) {
        assert_eq!(a, &b, "{kind} differs after a round trip");
    }
    assert_eq!(count(&target, "person"), 150);
}

#[test]
fn csv_round_trip() {
    round_trip(Format::Csv, "csv");
}

#[test]
fn json_round_trip() {
    round_trip(Format::Json, "json");
}

#[test]
fn json_lines_round_trip() {
    round_trip(Format::JsonLines, "jsonl");
}

/// The examples in docs/import-format.md import cleanly, in the order the document gives.
#[test]
fn documented_examples_import() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/import-format.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/import-format.md");
    let s = Scratch::new("docs");
    let store = s.store("db");
    let mut kind = None;
    let mut imported = 0;
    let mut blocks = doc.split("```");
    while let (Some(prose), Some(block)) = (blocks.next(), blocks.next()) {
        if let Some(heading) = prose.lines().rev().find(|l| l.starts_with("## ")) {
            kind = heading[3..].split([',', ' ']).next().and_then(|k| k.parse::<Kind>().ok());
        }
        let (Some(k), Some((lang, body))) = (kind, block.split_once('\n')) else { continue };
        let path = s.file(&format!("{k}.{lang}"), body);
        let report = import_path(&store, k, &path, &ImportOptions { strict: true, ..quiet() })
            .unwrap_or_else(|e| panic!("{k} example: {e}"));
        imported += report.imported;
    }
    assert_eq!(imported, 4 + 2 + 2 + 2 + 1);
}
