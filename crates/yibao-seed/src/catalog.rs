//! The demo catalog: western and patent drugs, herbal pieces, institution preparations, service
//! items and consumables with realistic names, classes (甲/乙/丙), price caps, per-person-type
//! ratios and restrictions; the disease, operation and chronic-disease lists; and each
//! institution's local codes for the items it uses.

use crate::places::POOLS;
use crate::SeedError;
use std::collections::BTreeMap;
use yibao_domain::catalog::{CatalogItem, ItemRules, NATIONAL_ADMDVS};
use yibao_domain::codes::{DiagCode, MedListCode, OprnCode, OpspDiseCode};
use yibao_domain::dict::ChrgitmLv;
use yibao_domain::registry::Institution;
use yibao_domain::{Date, Ratio, UnitPrice};
use yibao_store::catalog::{CodeEntry, ListKind, MedMapping};

/// A restriction or a special ratio attached to an item.
#[derive(Clone, Copy)]
enum Rule {
    None,
    Female,
    Male,
    /// Children up to this age only.
    Child(u32),
    /// Adults from this age only.
    Adult(u32),
    /// Hospitals of at least this grade only.
    Grade(u8),
    Indication(&'static str),
    /// Indication and minimum grade together.
    IndicationGrade(&'static str, u8),
    /// Retirees pay half the 乙类 share first; children nothing.
    Tilted,
}

/// (name, ATC-like class, 3-letter abbreviation, class, self-pay ratio in 1/10000, rule)
type Drug = (&'static str, &'static str, &'static str, ChrgitmLv, u32, Rule);

use ChrgitmLv::{A, B, C};

const WESTERN: &[Drug] = &[
    ("阿莫西林胶囊", "J01CA", "AMX", A, 0, Rule::None),
    ("头孢呋辛酯片", "J01DC", "TFX", B, 1000, Rule::Tilted),
    ("注射用头孢曲松钠", "J01DD", "TQS", A, 0, Rule::None),
    ("左氧氟沙星片", "J01MA", "ZYF", B, 1000, Rule::Adult(18)),
    ("阿奇霉素片", "J01FA", "AQM", A, 0, Rule::None),
    ("甲硝唑片", "J01XD", "JXZ", A, 0, Rule::None),
    ("二甲双胍片", "A10BA", "EJS", A, 0, Rule::None),
    ("格列美脲片", "A10BB", "GLM", B, 500, Rule::Tilted),
    ("阿卡波糖片", "A10BF", "AKB", B, 500, Rule::None),
    (
        "甘精胰岛素注射液",
        "A10AE",
        "GJY",
        B,
        1000,
        Rule::Indication("限1型糖尿病患者；限其他胰岛素或口服药难以控制的2型糖尿病患者"),
    ),
    ("门冬胰岛素注射液", "A10AB", "MDY", B, 1000, Rule::None),
    ("硝苯地平控释片", "C08CA", "XBD", B, 500, Rule::Tilted),
    ("苯磺酸氨氯地平片", "C08CA", "ALD", A, 0, Rule::None),
    ("缬沙坦胶囊", "C09CA", "XST", B, 500, Rule::None),
    ("厄贝沙坦片", "C09CA", "EBS", B, 500, Rule::Tilted),
    ("琥珀酸美托洛尔缓释片", "C07AB", "MTL", B, 500, Rule::None),
    ("阿托伐他汀钙片", "C10AA", "ATF", B, 500, Rule::Tilted),
    ("瑞舒伐他汀钙片", "C10AA", "RSF", B, 500, Rule::None),
    ("阿司匹林肠溶片", "B01AC", "ASP", A, 0, Rule::None),
    ("硫酸氢氯吡格雷片", "B01AC", "LBG", B, 1000, Rule::None),
    ("华法林钠片", "B01AA", "HFL", A, 0, Rule::None),
    ("奥美拉唑肠溶胶囊", "A02BC", "AML", A, 0, Rule::None),
    ("雷贝拉唑钠肠溶片", "A02BC", "LBL", B, 1000, Rule::None),
    ("铝碳酸镁咀嚼片", "A02AD", "LTM", B, 1000, Rule::None),
    ("蒙脱石散", "A07BC", "MTS", B, 500, Rule::Tilted),
    ("布洛芬缓释胶囊", "M01AE", "BLF", A, 0, Rule::None),
    ("布洛芬混悬液", "M01AE", "BLH", B, 500, Rule::Child(14)),
    ("对乙酰氨基酚片", "N02BE", "DYX", A, 0, Rule::None),
    ("盐酸氨溴索口服溶液", "R05CB", "AXS", B, 1000, Rule::None),
    ("孟鲁司特钠咀嚼片", "R03DC", "MLS", B, 1000, Rule::Child(14)),
    ("硫酸沙丁胺醇吸入气雾剂", "R03AC", "SDA", A, 0, Rule::None),
    ("吸入用布地奈德混悬液", "R03BA", "BDN", B, 1000, Rule::Indication("限儿童或无法使用吸入气雾剂的患者")),
    ("氯雷他定片", "R06AX", "LLT", B, 1000, Rule::None),
    ("地塞米松磷酸钠注射液", "H02AB", "DSM", A, 0, Rule::None),
    ("醋酸泼尼松片", "H02AB", "PNS", A, 0, Rule::None),
    ("左甲状腺素钠片", "H03AA", "ZJZ", A, 0, Rule::None),
    ("黄体酮注射液", "G03DA", "HTT", A, 0, Rule::Female),
    ("盐酸坦索罗辛缓释胶囊", "G04CA", "TSL", B, 1000, Rule::Male),
    ("非那雄胺片", "G04CB", "FNX", B, 1000, Rule::Male),
    (
        "人血白蛋白注射液",
        "B05AA",
        "RXB",
        B,
        2000,
        Rule::IndicationGrade("限抢救、重症或因肝硬化、癌症引起胸腹水的患者，且白蛋白低于30g/L", 2),
    ),
    ("利妥昔单抗注射液", "L01XC", "LTX", B, 2000, Rule::IndicationGrade("限CD20阳性的弥漫大B细胞性非霍奇金淋巴瘤", 3)),
    ("紫杉醇注射液", "L01CD", "ZSC", B, 1000, Rule::Grade(2)),
    ("磷酸奥司他韦胶囊", "J05AH", "ASW", B, 1000, Rule::Indication("限流感确诊或高度疑似患者")),
    ("阿昔洛韦片", "J05AB", "AXL", A, 0, Rule::None),
    ("氯化钠注射液", "B05XA", "LHN", A, 0, Rule::None),
    ("葡萄糖注射液", "B05BA", "PTT", A, 0, Rule::None),
    ("阿仑膦酸钠片", "M05BA", "ALL", B, 1000, Rule::Indication("限骨质疏松症患者")),
    ("艾司唑仑片", "N05CD", "ASZ", A, 0, Rule::None),
    ("盐酸帕罗西汀片", "N06AB", "PLX", B, 500, Rule::None),
    ("奥氮平片", "N05AH", "ADP", B, 500, Rule::None),
    ("盐酸多奈哌齐片", "N06DA", "DNP", B, 1000, Rule::Adult(50)),
    ("维生素C片", "A11GA", "WSC", C, 10000, Rule::None),
    ("复合维生素B片", "A11EA", "FHW", C, 10000, Rule::None),
    ("枸橼酸西地那非片", "G04BE", "XDN", C, 10000, Rule::None),
    ("辅酶Q10胶囊", "C01EB", "FMQ", C, 10000, Rule::None),
];

const PATENT: &[Drug] = &[
    ("连花清瘟胶囊", "A01AA", "LHQ", B, 1000, Rule::None),
    ("复方丹参滴丸", "A06AA", "FDS", A, 0, Rule::None),
    ("速效救心丸", "A06AA", "SXJ", A, 0, Rule::None),
    ("六味地黄丸", "A12AA", "LWD", A, 0, Rule::None),
    ("藿香正气水", "A04AA", "HXZ", A, 0, Rule::None),
    ("板蓝根颗粒", "A01AA", "BLG", A, 0, Rule::None),
    ("感冒清热颗粒", "A01AA", "GMQ", A, 0, Rule::None),
    ("血塞通软胶囊", "A06BA", "XSC", B, 1000, Rule::Tilted),
    ("通心络胶囊", "A06BA", "TXL", B, 1000, Rule::None),
    ("银杏叶片", "A06BA", "YXY", B, 1000, Rule::None),
    ("小儿肺热咳喘口服液", "A09AA", "XEF", B, 500, Rule::Child(14)),
    ("妇科千金片", "A11AA", "FKQ", B, 500, Rule::Female),
    ("前列舒通胶囊", "A13AA", "QLS", B, 500, Rule::Male),
    ("云南白药胶囊", "A08AA", "YNB", A, 0, Rule::None),
    ("丹参注射液", "A06AA", "DSZ", B, 2000, Rule::Grade(2)),
    (
        "清开灵注射液",
        "A01BA",
        "QKL",
        B,
        2000,
        Rule::IndicationGrade("限二级及以上医疗机构并有急性中风偏瘫、神志不清的患者", 2),
    ),
    ("安宫牛黄丸", "A02AA", "AGN", B, 1000, Rule::None),
    ("阿胶", "A12BA", "AJJ", C, 10000, Rule::None),
];

/// (name, class): herbal pieces; 丙 ones are the tonics the list excludes.
const HERBAL: &[(&str, ChrgitmLv)] = &[
    ("黄芪", A),
    ("当归", A),
    ("党参", A),
    ("白术", A),
    ("茯苓", A),
    ("甘草", A),
    ("川芎", A),
    ("白芍", A),
    ("熟地黄", A),
    ("枸杞子", A),
    ("金银花", A),
    ("连翘", A),
    ("板蓝根", A),
    ("丹参", A),
    ("三七粉", B),
    ("陈皮", A),
    ("法半夏", A),
    ("山药", A),
    ("麦冬", A),
    ("黄连", A),
    ("黄芩", A),
    ("柴胡", A),
    ("桂枝", A),
    ("杜仲", A),
    ("菊花", A),
    ("冬虫夏草", C),
    ("西洋参", C),
    ("鹿茸", C),
    ("红参", C),
    ("燕窝", C),
];

/// Institution preparations, two per pooling region, listed for that region only.
const PREPARATIONS: &[&str] = &["清肺止咳合剂", "复方薄荷脑滴鼻液"];

/// (code, name, med_chrgitm_type, price cap in yuan, class, self-pay ratio, rule)
type Service = (&'static str, &'static str, &'static str, Option<i64>, ChrgitmLv, u32, Rule);

const SERVICES: &[Service] = &[
    ("001101000010000", "床位费（普通病房三人间）", "01", Some(30), A, 0, Rule::None),
    ("001101000020000", "重症监护病房床位费", "01", Some(200), A, 0, Rule::None),
    ("001101000030000", "特需病房床位费", "01", None, C, 10000, Rule::None),
    ("001102000010000", "普通门诊诊查费", "02", Some(15), A, 0, Rule::None),
    ("001102000020000", "副主任医师门诊诊查费", "02", Some(25), A, 0, Rule::None),
    ("001102000030000", "主任医师门诊诊查费", "02", Some(35), B, 1000, Rule::None),
    ("001102000040000", "急诊诊查费", "02", Some(20), A, 0, Rule::None),
    ("001102000050000", "住院诊查费", "02", Some(20), A, 0, Rule::None),
    ("001103000010000", "挂号费", "13", Some(1), C, 10000, Rule::None),
    ("001106000010000", "一般诊疗费", "12", Some(10), A, 0, Rule::None),
    ("001201000010000", "Ⅰ级护理", "07", Some(30), A, 0, Rule::None),
    ("001201000020000", "Ⅱ级护理", "07", Some(20), A, 0, Rule::None),
    ("002501000010000", "血常规检查", "04", Some(20), A, 0, Rule::None),
    ("002503000010000", "肝功能检测", "04", Some(60), A, 0, Rule::None),
    ("002503000020000", "肾功能检测", "04", Some(40), A, 0, Rule::None),
    ("002503000030000", "血糖测定", "04", Some(8), A, 0, Rule::None),
    ("002503000040000", "糖化血红蛋白测定", "04", Some(60), B, 500, Rule::None),
    ("002201000010000", "常规心电图检查", "03", Some(25), A, 0, Rule::None),
    ("002203000010000", "胸部X线摄影", "03", Some(60), A, 0, Rule::None),
    ("002203000020000", "X线计算机体层（CT）平扫", "03", Some(300), B, 1000, Rule::Tilted),
    ("002203000030000", "磁共振（MRI）平扫", "03", Some(600), B, 1000, Rule::Grade(2)),
    ("002202000010000", "彩色多普勒超声检查", "03", Some(120), B, 500, Rule::None),
    ("003102000010000", "静脉输液", "05", Some(10), A, 0, Rule::None),
    ("003102000020000", "肌肉注射", "05", Some(3), A, 0, Rule::None),
    ("003102000030000", "雾化吸入", "05", Some(10), A, 0, Rule::None),
    ("003101000010000", "清创缝合术", "06", Some(150), A, 0, Rule::None),
    ("003107020070000", "阑尾切除术", "06", Some(1200), A, 0, Rule::Grade(2)),
    ("003107030010000", "腹腔镜下胆囊切除术", "06", Some(3500), B, 500, Rule::Grade(2)),
    ("003112000010000", "白内障超声乳化摘除术", "06", Some(3000), B, 500, Rule::Grade(2)),
    ("003113000010000", "人工全髋关节置换术", "06", Some(6000), B, 1000, Rule::Grade(3)),
    ("003108000010000", "经皮冠状动脉支架置入术", "06", Some(8000), B, 1000, Rule::Grade(3)),
    ("003111000010000", "剖宫产术", "06", Some(2500), A, 0, Rule::Female),
    ("003111000020000", "单胎顺产接生", "06", Some(800), A, 0, Rule::Female),
    ("003104000010000", "血液透析", "05", Some(400), A, 0, Rule::None),
    ("004000000010000", "普通针刺", "05", Some(30), A, 0, Rule::None),
    ("004000000020000", "推拿治疗", "05", Some(40), B, 1000, Rule::None),
];

/// (name, price cap in yuan, class, self-pay ratio, rule)
type Consumable = (&'static str, Option<i64>, ChrgitmLv, u32, Rule);

const CONSUMABLES: &[Consumable] = &[
    ("一次性使用输液器", Some(5), B, 1000, Rule::None),
    ("一次性使用无菌注射器", Some(1), B, 1000, Rule::None),
    ("一次性使用静脉留置针", Some(30), B, 1000, Rule::None),
    ("一次性使用无菌导尿管", Some(15), B, 1000, Rule::None),
    ("一次性使用吸氧管", Some(8), B, 1000, Rule::None),
    ("医用纱布敷料", Some(5), B, 1000, Rule::None),
    ("胰岛素笔用针头", Some(2), B, 1000, Rule::None),
    ("可吸收性外科缝线", Some(150), B, 2000, Rule::None),
    ("一次性使用吻合器", Some(2500), B, 3000, Rule::Grade(2)),
    ("冠状动脉药物洗脱支架", Some(800), B, 3000, Rule::Grade(3)),
    ("人工髋关节假体", Some(7000), B, 2000, Rule::Grade(3)),
    ("人工晶状体", Some(2000), B, 2000, Rule::Grade(2)),
    ("植入式心脏起搏器", Some(30000), B, 3000, Rule::Grade(3)),
    ("接骨板", Some(5000), B, 2000, Rule::Grade(2)),
    ("血液透析器", Some(150), B, 1000, Rule::None),
    ("医用弹力绷带", None, C, 10000, Rule::None),
    ("血糖试纸", Some(3), C, 10000, Rule::None),
    ("医用外科口罩", None, C, 10000, Rule::None),
];

/// ICD-10 医保版 diseases.
const DISEASES: &[(&str, &str)] = &[
    ("I10.x00", "高血压"),
    ("I10.x00x002", "高血压病1级"),
    ("E11.900", "2型糖尿病"),
    ("E10.900", "1型糖尿病"),
    ("J18.900", "肺炎"),
    ("K35.800", "急性阑尾炎"),
    ("J06.900", "急性上呼吸道感染"),
    ("I63.900", "脑梗死"),
    ("I25.103", "冠状动脉粥样硬化性心脏病"),
    ("I48.x00", "心房颤动"),
    ("I50.900", "心力衰竭"),
    ("J44.900", "慢性阻塞性肺疾病"),
    ("J45.900", "哮喘"),
    ("N18.900", "慢性肾脏病"),
    ("C34.900", "支气管或肺恶性肿瘤"),
    ("C50.900", "乳房恶性肿瘤"),
    ("C83.300", "弥漫大B细胞淋巴瘤"),
    ("K29.700", "胃炎"),
    ("K80.200", "胆囊结石不伴有胆囊炎"),
    ("M17.900", "膝关节病"),
    ("S72.000", "股骨颈骨折"),
    ("H25.900", "老年性白内障"),
    ("F20.900", "精神分裂症"),
    ("G40.900", "癫痫"),
    ("E78.500", "高脂血症"),
    ("N39.000", "泌尿道感染"),
    ("A15.000", "肺结核"),
    ("O80.000", "单胎顺产"),
    ("O82.000", "经选择性剖宫产术的分娩"),
    ("J10.100", "流行性感冒"),
    ("M81.900", "骨质疏松"),
    ("G30.900", "阿尔茨海默病"),
    ("N40.x00", "前列腺增生"),
];

/// ICD-9-CM-3 医保版 operations.
const OPERATIONS: &[(&str, &str)] = &[
    ("47.0901", "腹腔镜下阑尾切除术"),
    ("47.0900", "阑尾切除术"),
    ("51.2300", "腹腔镜下胆囊切除术"),
    ("13.4100", "白内障超声乳化抽吸术"),
    ("13.7100", "人工晶状体置入术"),
    ("81.5100", "全髋关节置换术"),
    ("81.5400", "全膝关节置换术"),
    ("36.0600", "非药物洗脱冠状动脉支架置入"),
    ("36.0700", "药物洗脱冠状动脉支架置入"),
    ("74.1x00", "子宫下段剖宫产术"),
    ("73.5900", "人工辅助分娩"),
    ("39.9500", "血液透析"),
    ("86.5900", "皮肤和皮下组织缝合"),
    ("79.3500", "股骨骨折切开复位内固定术"),
    ("37.8100", "单腔永久起搏器置入"),
];

/// 门诊慢特病.
const CHRONIC: &[(&str, &str)] = &[
    ("M03900", "高血压"),
    ("M01600", "糖尿病"),
    ("M00500", "恶性肿瘤门诊治疗"),
    ("M04900", "冠心病"),
    ("M05600", "慢性阻塞性肺疾病"),
    ("M07800", "慢性肾功能衰竭（透析）"),
    ("M02300", "精神分裂症"),
    ("M06900", "类风湿关节炎"),
    ("M08300", "肝硬化"),
    ("M01200", "甲状腺功能亢进"),
];

/// Specifications (dosage and pack) per drug: each becomes its own national code.
const DRUG_SPECS: u32 = 3;
const PATENT_SPECS: u32 = 2;

fn begin() -> Date {
    Date::from_ymd(2024, 1, 1).unwrap_or(Date::MIN)
}

fn checked(code: String) -> Result<String, SeedError> {
    MedListCode::parse(&code).map_err(|e| SeedError::code("hilist_code", &code, e))?;
    Ok(code)
}

fn rules(rule: Rule, lv: ChrgitmLv, ratio: u32) -> ItemRules {
    let mut r = ItemRules::default();
    match rule {
        Rule::None => {}
        Rule::Female => r.gend = Some("2".into()),
        Rule::Male => r.gend = Some("1".into()),
        Rule::Child(max) => r.age_max = Some(max),
        Rule::Adult(min) => r.age_min = Some(min),
        Rule::Grade(g) => r.min_grade = Some(g),
        Rule::Indication(text) => r.indication = Some(text.into()),
        Rule::IndicationGrade(text, g) => {
            r.indication = Some(text.into());
            r.min_grade = Some(g);
        }
        Rule::Tilted if lv == B => {
            r.selfpay_by_psn_type =
                BTreeMap::from([("12".to_owned(), Ratio(ratio / 2)), ("14".to_owned(), Ratio::ZERO)]);
        }
        Rule::Tilted => {}
    }
    r
}

#[allow(clippy::too_many_arguments)]
fn item(
    code: String,
    admdvs: &str,
    name: &str,
    med_chrgitm_type: &str,
    lv: ChrgitmLv,
    ratio: u32,
    cap: Option<i64>,
    rule: Rule,
) -> Result<CatalogItem, SeedError> {
    let code = checked(code)?;
    Ok(CatalogItem {
        list_type: MedListCode::parse(&code).map_err(|e| SeedError::code("hilist_code", &code, e))?.list_type().into(),
        hilist_code: code,
        admdvs: admdvs.into(),
        begndate: begin(),
        enddate: None,
        hilist_name: name.into(),
        med_chrgitm_type: med_chrgitm_type.into(),
        chrgitm_lv: lv,
        selfpay_prop: Ratio(ratio),
        pric_uplmt: cap.map(UnitPrice::yuan),
        rules: rules(rule, lv, ratio),
        ver: "2024".into(),
    })
}

/// 胶囊 A, 片 B, 注射 E, 颗粒 G, liquids L, anything else Z: the dosage-form letter of a code.
fn form_letter(name: &str) -> char {
    [("胶囊", 'A'), ("片", 'B'), ("注射", 'E'), ("颗粒", 'G'), ("液", 'L'), ("剂", 'L')]
        .iter()
        .find(|(k, _)| name.contains(k))
        .map_or('Z', |&(_, c)| c)
}

fn drugs(prefix: char, list: &[Drug], specs: u32, chrgitm: &str) -> Result<Vec<CatalogItem>, SeedError> {
    let mut out = Vec::new();
    for (n, &(name, class, abbr, lv, ratio, rule)) in list.iter().enumerate() {
        for spec in 1..=specs {
            // X/Z + class + name abbreviation + serial + form + spec + maker: 23 characters.
            let code = format!(
                "{prefix}{class}{abbr}{:03}{}{:03}{:07}",
                n + 1,
                form_letter(name),
                spec * 10,
                1_010_000 + spec * 97 + n as u32
            );
            out.push(item(code, NATIONAL_ADMDVS, name, chrgitm, lv, ratio, None, rule)?);
        }
    }
    Ok(out)
}

fn herbal() -> Result<Vec<CatalogItem>, SeedError> {
    HERBAL
        .iter()
        .enumerate()
        .map(|(n, &(name, lv))| {
            let ratio = if lv == C {
                10_000
            } else if lv == B {
                500
            } else {
                0
            };
            let code = format!("T00{:07}", 1_700_000 + n * 37);
            item(code, NATIONAL_ADMDVS, name, "10", lv, ratio, None, Rule::None)
        })
        .collect()
}

fn preparations() -> Result<Vec<CatalogItem>, SeedError> {
    let mut out = Vec::new();
    for pool in POOLS {
        for (n, name) in PREPARATIONS.iter().enumerate() {
            let code = format!("Y{}{:04}", pool.admdvs, n + 1);
            out.push(item(code, pool.admdvs, name, "11", B, 1000, None, Rule::None)?);
        }
    }
    Ok(out)
}

fn services() -> Result<Vec<CatalogItem>, SeedError> {
    SERVICES
        .iter()
        .map(|&(code, name, kind, cap, lv, ratio, rule)| {
            item(code.into(), NATIONAL_ADMDVS, name, kind, lv, ratio, cap, rule)
        })
        .collect()
}

fn consumables() -> Result<Vec<CatalogItem>, SeedError> {
    CONSUMABLES
        .iter()
        .enumerate()
        .map(|(n, &(name, cap, lv, ratio, rule))| {
            // C + category (6 digits) + generic name (8) + serial (12): 27 characters.
            let code = format!("C{:02}{:04}{:08}{:012}", n % 14 + 1, 100 + n * 3, 5_113_250 + n, 23 + n);
            item(code, NATIONAL_ADMDVS, name, "08", lv, ratio, cap, rule)
        })
        .collect()
}

/// Province rows and older versions, so the demo exercises precedence and versioning: every
/// 7th 乙类 drug has a 江苏 row 5 points lower, and every 10th 乙类 drug had a 2023 version with a
/// ratio 5 points higher.
fn variants(national: &[CatalogItem]) -> Vec<CatalogItem> {
    let mut out = Vec::new();
    let jiangsu = POOLS.iter().find(|p| p.province == "320000").map(|p| p.province);
    for (n, it) in national.iter().enumerate() {
        if let (Some(prov), true) = (jiangsu, it.chrgitm_lv == B && n % 7 == 0) {
            out.push(CatalogItem {
                admdvs: prov.into(),
                selfpay_prop: it.selfpay_prop.minus(Ratio(500)),
                ..it.clone()
            });
        }
        if n % 10 == 0 && it.chrgitm_lv == B && it.list_type == "101" {
            out.push(CatalogItem {
                begndate: Date::from_ymd(2023, 1, 1).unwrap_or(Date::MIN),
                enddate: Some(it.begndate),
                selfpay_prop: Ratio((it.selfpay_prop.0 + 500).min(10_000)),
                ver: "2023".into(),
                ..it.clone()
            });
        }
    }
    out
}

/// Every catalog row: the national list, regional preparations, province rows, old versions.
pub fn items() -> Result<Vec<CatalogItem>, SeedError> {
    let mut out = drugs('X', WESTERN, DRUG_SPECS, "09")?;
    out.extend(drugs('Z', PATENT, PATENT_SPECS, "11")?);
    out.extend(herbal()?);
    out.extend(services()?);
    out.extend(consumables()?);
    let extra = variants(&out);
    out.extend(preparations()?);
    out.extend(extra);
    Ok(out)
}

/// The code lists, every code checked with its parser.
pub fn code_lists() -> Result<Vec<(ListKind, CodeEntry)>, SeedError> {
    let entry = |code: &str, name: &str| CodeEntry {
        code: code.into(),
        name: name.into(),
        begndate: Date::from_ymd(2020, 1, 1).unwrap_or(Date::MIN),
        enddate: None,
        ver: "2.0".into(),
    };
    let mut out = Vec::new();
    for &(code, name) in DISEASES {
        DiagCode::parse(code).map_err(|e| SeedError::code("diag code", code, e))?;
        out.push((ListKind::Diag, entry(code, name)));
    }
    for &(code, name) in OPERATIONS {
        OprnCode::parse(code).map_err(|e| SeedError::code("operation code", code, e))?;
        out.push((ListKind::Oprn, entry(code, name)));
    }
    for &(code, name) in CHRONIC {
        OpspDiseCode::parse(code).map_err(|e| SeedError::code("chronic disease code", code, e))?;
        out.push((ListKind::Opsp, entry(code, name)));
    }
    Ok(out)
}

/// Whether an institution stocks or performs an item: pharmacies sell drugs and simple
/// consumables; hospitals use what their grade allows; preparations stay in their region.
fn uses(inst: &Institution, it: &CatalogItem) -> bool {
    let grade = inst.grade().unwrap_or(0);
    let regional = it.admdvs != NATIONAL_ADMDVS;
    if regional {
        return it.admdvs == inst.admdvs && !inst.is_pharmacy();
    }
    let allowed = it.rules.min_grade.is_none_or(|g| grade >= g);
    let cheap = it.pric_uplmt.is_none_or(|c| c <= UnitPrice::yuan(100));
    match (inst.is_pharmacy(), it.list_type.as_str()) {
        (true, "101" | "102") => allowed && it.rules.indication.is_none(),
        (true, "301") => cheap,
        (true, _) => false,
        (false, "201") if grade == 1 => it.med_chrgitm_type != "06" || cheap,
        (false, _) => allowed,
    }
}

/// Each institution's local codes (`HIS-<n>`) for the current national rows it uses.
pub fn mappings(insts: &[Institution], items: &[CatalogItem]) -> Vec<MedMapping> {
    // One row per code: province rows repeat a national code, ended rows are old versions.
    let province_row = |it: &CatalogItem| it.admdvs != NATIONAL_ADMDVS && it.admdvs.ends_with("0000");
    let current: Vec<&CatalogItem> = items.iter().filter(|it| it.enddate.is_none() && !province_row(it)).collect();
    let mut out = Vec::new();
    for inst in insts {
        let used = current.iter().filter(|it| uses(inst, it));
        for (n, it) in used.enumerate() {
            out.push(MedMapping {
                fixmedins_code: inst.fixmedins_code.clone(),
                medins_list_codg: format!("HIS-{}", 10_001 + n),
                medins_list_name: it.hilist_name.clone(),
                list_type: it.list_type.clone(),
                med_list_codg: it.hilist_code.clone(),
                begndate: inst.agre_begn.max(it.begndate),
                enddate: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_valid() {
        let all = items().unwrap();
        assert!(all.len() >= 300, "{}", all.len());
        let mut keys: Vec<_> = all.iter().map(|i| (&i.hilist_code, &i.admdvs, i.begndate)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        for kind in ["101", "102", "103", "201", "301"] {
            assert!(all.iter().any(|i| i.list_type == kind), "{kind}");
        }
        assert_eq!(code_lists().unwrap().len(), DISEASES.len() + OPERATIONS.len() + CHRONIC.len());
    }
}
