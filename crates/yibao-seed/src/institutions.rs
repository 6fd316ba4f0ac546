//! Designated institutions: in each pooling region three 三级, three 二级 and three 一级
//! hospitals and four retail pharmacies, with national-looking codes and USCCs. Employers too,
//! since they are built the same way.

use crate::places::{Pool, POOLS};
use crate::rng::Rng;
use crate::SeedError;
use yibao_domain::codes::{Admdvs, FixmedinsCode, FixmedinsKind, Uscc};
use yibao_domain::registry::{Employer, Institution, FIXMEDINS_TYPE_HOSPITAL, FIXMEDINS_TYPE_PHARMACY};
use yibao_domain::Date;

/// USCC characters (GB 32100: digits and uppercase letters without I, O, Z, S, V).
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// (name pattern, hosp_lv). `{city}` and `{district}` are filled in; the district is the n-th.
const HOSPITALS: &[(&str, &str)] = &[
    ("{city}第一人民医院", "01"),
    ("{city}第二人民医院", "02"),
    ("{city}中医医院", "02"),
    ("{city}{district}人民医院", "04"),
    ("{city}{district}中医医院", "05"),
    ("{city}{district}妇幼保健院", "04"),
    ("{city}{district}城东社区卫生服务中心", "07"),
    ("{city}{district}城西社区卫生服务中心", "08"),
    ("{city}{district}中心卫生院", "07"),
];
const PHARMACY_BRANDS: &[&str] = &["康民", "仁和堂", "百姓", "益寿"];
/// How many 三级 hospitals per region are networked for cross-region direct settlement.
const REMOTE_PER_REGION: usize = 2;

const EMPLOYER_WORDS: &[&str] = &["恒信", "华泰", "远航", "锦程", "瑞丰", "新元", "宏达", "嘉禾", "东方", "天成"];
const INDUSTRIES: &[&str] = &["机械制造", "信息技术", "商贸", "建筑工程", "物流", "食品", "电子科技", "纺织"];
pub const EMPLOYERS_PER_REGION: usize = 40;

pub fn uscc(rng: &mut Rng, reg_type: &str, admdvs: &str) -> Result<Uscc, SeedError> {
    let body: String = (0..9).map(|_| char::from(*rng.pick(USCC_CHARS))).collect();
    Uscc::from_parts(reg_type, admdvs, &body).map_err(|e| SeedError::code("uscc", &body, e))
}

fn fill(pattern: &str, pool: &Pool, n: usize) -> String {
    let district = pool.districts[n % pool.districts.len()].1;
    pattern.replace("{city}", pool.name).replace("{district}", district)
}

fn admdvs(pool: &Pool) -> Result<Admdvs, SeedError> {
    Admdvs::parse(pool.admdvs).map_err(|e| SeedError::code("admdvs", pool.admdvs, e))
}

fn institution(
    rng: &mut Rng,
    pool: &Pool,
    kind: FixmedinsKind,
    serial: u32,
    name: String,
    hosp_lv: &str,
) -> Result<Institution, SeedError> {
    let area = admdvs(pool)?;
    let code = FixmedinsCode::from_parts(kind, &area, serial)
        .map_err(|e| SeedError::code("fixmedins_code", &serial.to_string(), e))?;
    let (fixmedins_type, reg_type) = match kind {
        FixmedinsKind::Hospital => (FIXMEDINS_TYPE_HOSPITAL, "12"),
        FixmedinsKind::Pharmacy => (FIXMEDINS_TYPE_PHARMACY, "91"),
    };
    Ok(Institution {
        fixmedins_code: code.to_string(),
        fixmedins_name: name,
        fixmedins_type: fixmedins_type.into(),
        hosp_lv: hosp_lv.into(),
        admdvs: pool.admdvs.into(),
        uscc: Some(uscc(rng, reg_type, pool.admdvs)?.to_string()),
        remote_flag: false,
        agre_begn: Date::from_ymd(2019 + rng.range(0, 3) as i32, 1, 1).unwrap_or(Date::MIN),
        agre_end: None,
    })
}

/// Every institution of the world, region by region: hospitals first, then pharmacies.
pub fn institutions(rng: &mut Rng) -> Result<Vec<Institution>, SeedError> {
    let mut out = Vec::new();
    for pool in POOLS {
        for (n, (pattern, lv)) in HOSPITALS.iter().enumerate() {
            let name = fill(pattern, pool, n);
            let mut h = institution(rng, pool, FixmedinsKind::Hospital, n as u32 + 1, name, lv)?;
            h.remote_flag = n < REMOTE_PER_REGION;
            out.push(h);
        }
        for (n, brand) in PHARMACY_BRANDS.iter().enumerate() {
            let name = fill(&format!("{brand}大药房（{{district}}店）"), pool, n);
            out.push(institution(rng, pool, FixmedinsKind::Pharmacy, n as u32 + 1, name, "11")?);
        }
    }
    Ok(out)
}

/// Employers: `EMPLOYERS_PER_REGION` per region, numbered `<admdvs>E<4 digits>`.
pub fn employers(rng: &mut Rng) -> Result<Vec<Employer>, SeedError> {
    let mut out = Vec::new();
    for pool in POOLS {
        for n in 0..EMPLOYERS_PER_REGION {
            let word = EMPLOYER_WORDS[n % EMPLOYER_WORDS.len()];
            let industry = INDUSTRIES[(n / EMPLOYER_WORDS.len() + n) % INDUSTRIES.len()];
            out.push(Employer {
                emp_no: format!("{}E{:04}", pool.admdvs, n + 1),
                uscc: uscc(rng, "91", pool.admdvs)?.to_string(),
                emp_name: format!("{}{word}{industry}有限公司", short(pool.name)),
                admdvs: pool.admdvs.into(),
            });
        }
    }
    Ok(out)
}

/// 北京市 → 北京: company names use the short form.
fn short(city: &str) -> &str {
    city.strip_suffix('市').unwrap_or(city)
}
