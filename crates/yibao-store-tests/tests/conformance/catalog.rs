//! Catalogs: precedence and versions of list items, code lists, mappings, the paged feeds.

use yibao_domain::catalog::{CatalogItem, ItemRules, NATIONAL_ADMDVS};
use yibao_domain::dict::ChrgitmLv;
use yibao_domain::registry::Institution;
use yibao_domain::{Date, DateTime, Ratio, UnitPrice};
use yibao_store::catalog::{self as cat, CatalogError, CodeEntry, ListKind, MedMapping};
use yibao_store::registry as reg;
use yibao_store::Store;
use yibao_store_tests::conformance;

const CODE: &str = "XA02BCA211A001010100903";

fn d(s: &str) -> Date {
    Date::parse(s).expect("test date")
}

fn at(secs: i64) -> DateTime {
    DateTime(1_700_000_000 + secs)
}

fn item(code: &str, admdvs: &str, beg: &str, ratio: u32) -> CatalogItem {
    CatalogItem {
        hilist_code: code.into(),
        admdvs: admdvs.into(),
        begndate: d(beg),
        enddate: None,
        hilist_name: "奥美拉唑肠溶胶囊".into(),
        list_type: "101".into(),
        med_chrgitm_type: "09".into(),
        chrgitm_lv: ChrgitmLv::B,
        selfpay_prop: Ratio(ratio),
        pric_uplmt: None,
        rules: ItemRules::default(),
        ver: "2024".into(),
    }
}

fn put(store: &Store, it: &CatalogItem, rid: i64, time: DateTime) {
    store.write(|tx| cat::upsert_catalog_item(tx, it, rid, time)).expect("upsert item");
}

/// The self-pay ratio of the row in force, identifying which row was chosen. The batched lookup
/// of a fee upload (`catalog_items_of`, one statement for many codes) must choose the same row.
fn ratio_in_force(store: &Store, admdvs: &str, date: &str) -> Option<u32> {
    let one = store.read(|tx| cat::catalog_item_in_force(tx, CODE, admdvs, d(date))).expect("in force");
    let many = store.read(|tx| cat::catalog_items_of(tx, &[CODE, "NOT-A-CODE"], admdvs)).expect("batched");
    assert_eq!(many.in_force(CODE, d(date)), one.as_ref(), "batched lookup differs at {admdvs} on {date}");
    assert_eq!(many.in_force("NOT-A-CODE", d(date)), None);
    one.map(|i| i.selfpay_prop.0)
}

/// The mapping in force, checked against the batched lookup of a fee upload.
fn mapping_on(store: &Store, fixmedins: &str, local: &str, date: &str) -> Result<Option<MedMapping>, CatalogError> {
    let one = store.read(|tx| cat::mapping_in_force(tx, fixmedins, local, d(date)))?;
    let many = store.read(|tx| cat::mappings_of(tx, fixmedins, &[local, "HIS-NONE"]))?;
    assert_eq!(many.in_force(local, d(date)), one.as_ref(), "batched mapping differs for {local} on {date}");
    Ok(one)
}

fn hospital(store: &Store, code: &str) {
    let inst = Institution {
        fixmedins_code: code.into(),
        fixmedins_name: "测试医院".into(),
        fixmedins_type: "1".into(),
        hosp_lv: "04".into(),
        admdvs: "320400".into(),
        uscc: None,
        remote_flag: false,
        agre_begn: d("2020-01-01"),
        agre_end: None,
    };
    store.write(|tx| reg::upsert_institution(tx, &inst, at(0))).expect("institution");
}

fn mapping(fixmedins: &str, local: &str, beg: &str) -> MedMapping {
    MedMapping {
        fixmedins_code: fixmedins.into(),
        medins_list_codg: local.into(),
        medins_list_name: "奥美拉唑".into(),
        list_type: "101".into(),
        med_list_codg: CODE.into(),
        begndate: d(beg),
        enddate: None,
    }
}

conformance! {
    fn region_province_national_precedence(store: &Store) {
        put(store, &item(CODE, NATIONAL_ADMDVS, "2024-01-01", 1000), 1, at(1));
        put(store, &item(CODE, "320000", "2024-01-01", 500), 2, at(2));
        put(store, &item(CODE, "320400", "2024-07-01", 0), 3, at(3));
        assert_eq!(ratio_in_force(store, "320400", "2024-08-01"), Some(0));
        assert_eq!(ratio_in_force(store, "320400", "2024-06-30"), Some(500));
        assert_eq!(ratio_in_force(store, "320500", "2024-08-01"), Some(500));
        assert_eq!(ratio_in_force(store, "110100", "2024-08-01"), Some(1000));
        assert_eq!(ratio_in_force(store, "110100", "2023-12-31"), None);
        let full = store
            .read(|tx| cat::catalog_item_in_force(tx, CODE, "110100", d("2024-08-01")))
            .expect("read");
        assert_eq!(full, Some(item(CODE, NATIONAL_ADMDVS, "2024-01-01", 1000)));
    }

    fn catalog_versions(store: &Store) {
        let mut v1 = item(CODE, NATIONAL_ADMDVS, "2023-01-01", 1000);
        v1.enddate = Some(d("2024-01-01"));
        let v2 = item(CODE, NATIONAL_ADMDVS, "2024-01-01", 800);
        let v3 = item(CODE, NATIONAL_ADMDVS, "2025-01-01", 500);
        for (i, v) in [&v1, &v2, &v3].into_iter().enumerate() {
            put(store, v, i as i64 + 1, at(i as i64));
        }
        assert_eq!(ratio_in_force(store, "110100", "2023-06-01"), Some(1000));
        assert_eq!(ratio_in_force(store, "110100", "2024-12-31"), Some(800));
        // v2 is open-ended; the later version supersedes it.
        assert_eq!(ratio_in_force(store, "110100", "2025-01-01"), Some(500));
        // Rules, caps and the flag survive the round trip.
        let mut capped = item("001201000010000", NATIONAL_ADMDVS, "2024-01-01", 0);
        capped.list_type = "201".into();
        capped.pric_uplmt = Some(UnitPrice::yuan(25));
        capped.rules.age_max = Some(6);
        capped.rules.selfpay_by_psn_type.insert("12".into(), Ratio(300));
        put(store, &capped, 9, at(9));
        let back = store
            .read(|tx| cat::catalog_item_in_force(tx, "001201000010000", "320400", d("2024-02-01")))
            .expect("read");
        assert_eq!(back, Some(capped));
    }

    fn catalog_feed_pages_by_update_time(store: &Store) {
        for i in 0..25i64 {
            let code = format!("XA02BCA211A0010101{i:05}");
            // rids descending within equal times: the order must follow (updt_time, rid).
            put(store, &item(&code, NATIONAL_ADMDVS, "2024-01-01", 0), 100 - i, at(i / 2));
        }
        let page = store.read(|tx| cat::catalog_page(tx, at(5), 2, 6)).expect("page");
        // Times 5..=12 hold items 10..=24: 15 records, pages of 6.
        assert_eq!((page.records, page.pages, page.page_num, page.page_size), (15, 3, 2, 6));
        let keys: Vec<(i64, i64)> = page.data.iter().map(|r| (r.updt_time.0, r.rid)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        // The 7th record: times 5, 6 and 7 hold two items each; at time 8 the smaller rid first.
        assert_eq!(page.data[0].updt_time, at(8));
        assert_eq!(page.data[0].rid, 100 - 17);
        let all = store.read(|tx| cat::catalog_page(tx, at(0), 1, 5000)).expect("page");
        assert_eq!((all.records, all.pages, all.page_size, all.data.len()), (25, 1, 1000, 25));
        let past = store.read(|tx| cat::catalog_page(tx, at(0), 9, 10)).expect("page");
        assert!(past.data.is_empty());
        let medlist = store.read(|tx| cat::medlist_mapping_page(tx, at(12), 1, 10)).expect("1316");
        assert_eq!(medlist.records, 1);
        assert_eq!(medlist.data[0].med_list_codg, medlist.data[0].hilist_code);
    }

    fn price_cap_and_selfpay_feeds(store: &Store) {
        let mut a = item(CODE, NATIONAL_ADMDVS, "2024-01-01", 1000);
        a.rules.selfpay_by_psn_type.insert("1201".into(), Ratio(500));
        a.rules.selfpay_by_psn_type.insert("14".into(), Ratio(0));
        let mut b = item("120100001", NATIONAL_ADMDVS, "2024-01-01", 0);
        b.pric_uplmt = Some(UnitPrice::yuan(50));
        put(store, &a, 1, at(1));
        put(store, &b, 2, at(2));
        let caps = store.read(|tx| cat::price_cap_page(tx, at(0), 1, 10)).expect("1318");
        assert_eq!(caps.records, 1);
        assert_eq!(caps.data[0].hilist_pric_uplmt_amt, UnitPrice::yuan(50));
        let rows = store.read(|tx| cat::selfpay_page(tx, at(0), 1, 10)).expect("1319");
        let got: Vec<(String, Option<String>, u32)> = rows
            .data
            .iter()
            .map(|r| (r.hilist_code.clone(), r.selfpay_prop_psn_type.clone(), r.selfpay_prop.0))
            .collect();
        let want = [
            (CODE.to_string(), None, 1000),
            (CODE.to_string(), Some("1201".to_string()), 500),
            (CODE.to_string(), Some("14".to_string()), 0),
            ("120100001".to_string(), None, 0),
        ];
        assert_eq!(got, want);
        let second = store.read(|tx| cat::selfpay_page(tx, at(0), 2, 3)).expect("1319");
        assert_eq!((second.records, second.pages, second.data.len()), (4, 2, 1));
        assert_eq!(second.data[0].hilist_code, "120100001");
    }

    fn code_lists_in_force(store: &Store) {
        let old = CodeEntry {
            code: "I10.x00".into(),
            name: "高血压".into(),
            begndate: d("2020-01-01"),
            enddate: Some(d("2024-01-01")),
            ver: "1".into(),
        };
        let new = CodeEntry { name: "原发性高血压".into(), begndate: d("2024-01-01"), enddate: None, ..old.clone() };
        store
            .write(|tx| {
                cat::upsert_code(tx, ListKind::Diag, &old, 1, at(1))?;
                cat::upsert_code(tx, ListKind::Diag, &new, 2, at(2))
            })
            .expect("codes");
        let on = |kind, date: &str| {
            store
                .read(|tx| cat::code_in_force(tx, kind, "I10.x00", d(date)))
                .expect("code")
                .map(|c| c.name)
        };
        assert_eq!(on(ListKind::Diag, "2023-06-01").as_deref(), Some("高血压"));
        assert_eq!(on(ListKind::Diag, "2024-06-01").as_deref(), Some("原发性高血压"));
        assert_eq!(on(ListKind::Oprn, "2024-06-01"), None);
        let page = store.read(|tx| cat::codes_page(tx, ListKind::Diag, at(2), 1, 10)).expect("page");
        assert_eq!(page.records, 1);
        assert_eq!(page.data[0].entry, new);
    }

    fn mappings_in_force_cancel_and_feed(store: &Store) -> Result<(), CatalogError> {
        put(store, &item(CODE, NATIONAL_ADMDVS, "2024-01-01", 0), 1, at(0));
        hospital(store, "H32040000001");
        hospital(store, "H32040000002");
        store.write(|tx| {
            cat::upsert_mapping(tx, &mapping("H32040000001", "HIS-1", "2024-01-01"), 10, at(10))?;
            cat::upsert_mapping(tx, &mapping("H32040000001", "HIS-2", "2024-01-01"), 11, at(11))?;
            cat::upsert_mapping(tx, &mapping("H32040000002", "HIS-1", "2024-01-01"), 12, at(12))
        })?;
        let m = mapping_on(store, "H32040000001", "HIS-1", "2024-05-01")?;
        assert_eq!(m, Some(mapping("H32040000001", "HIS-1", "2024-01-01")));
        assert_eq!(mapping_on(store, "H32040000001", "HIS-1", "2023-05-01")?, None);

        // 3302: the mapping is gone for lookups, and reported again, invalid, by the feed.
        let n = store.write(|tx| cat::cancel_mapping(tx, "H32040000001", "HIS-1", CODE, d("2024-06-01"), 20, at(20)))?;
        assert_eq!(n, 1);
        assert_eq!(mapping_on(store, "H32040000001", "HIS-1", "2024-05-01")?, None);
        let e = store
            .write(|tx| cat::cancel_mapping(tx, "H32040000001", "HIS-1", CODE, d("2024-06-01"), 21, at(21)))
            .unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e:?}");

        let feed = store.read(|tx| cat::mapping_page(tx, Some("H32040000001"), at(11), 1, 10))?;
        assert_eq!(feed.records, 2);
        assert_eq!(feed.data[1].mapping.medins_list_codg, "HIS-1");
        assert!(!feed.data[1].vali_flag);
        assert_eq!(feed.data[1].mapping.enddate, Some(d("2024-06-01")));
        assert_eq!(feed.data[1].insu_admdvs, "320400");
        let everyone = store.read(|tx| cat::mapping_page(tx, None, at(0), 1, 2))?;
        assert_eq!((everyone.records, everyone.pages, everyone.data.len()), (3, 2, 2));

        let e = store.write(|tx| cat::upsert_mapping(tx, &mapping("H32040000009", "HIS-1", "2024-01-01"), 30, at(30)));
        assert_eq!(e, Err(CatalogError::NotFound("institution H32040000009".into())));
        let mut unknown = mapping("H32040000001", "HIS-3", "2024-01-01");
        unknown.med_list_codg = "120100001".into();
        let e = store.write(|tx| cat::upsert_mapping(tx, &unknown, 31, at(31)));
        assert_eq!(e, Err(CatalogError::NotFound("catalog item 120100001".into())));
        Ok(())
    }
}
