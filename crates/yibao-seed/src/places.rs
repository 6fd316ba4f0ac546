//! The five pooling regions of the demo world (those of the reference parameter sets: 北京,
//! 上海, 常州, 苏州, 南昌), their provinces and districts.

use yibao_domain::registry::Region;

pub struct Pool {
    pub admdvs: &'static str,
    pub name: &'static str,
    pub province: &'static str,
    pub province_name: &'static str,
    /// Share of the insured population, in percent.
    pub weight: u64,
    /// Employer contribution rate in 1/10000 of the wage base (the employee pays 2 %).
    pub emp_rate: i64,
    pub districts: &'static [(&'static str, &'static str)],
    pub roads: &'static [&'static str],
}

pub const POOLS: &[Pool] = &[
    Pool {
        admdvs: "110100",
        name: "北京市",
        province: "110000",
        province_name: "北京市",
        weight: 30,
        emp_rate: 1000,
        districts: &[("110101", "东城区"), ("110102", "西城区"), ("110105", "朝阳区"), ("110108", "海淀区")],
        roads: &["长安街", "建国路", "学院路", "中关村大街", "东四十条"],
    },
    Pool {
        admdvs: "310100",
        name: "上海市",
        province: "310000",
        province_name: "上海市",
        weight: 30,
        emp_rate: 1000,
        districts: &[("310101", "黄浦区"), ("310104", "徐汇区"), ("310106", "静安区"), ("310115", "浦东新区")],
        roads: &["南京东路", "淮海中路", "世纪大道", "漕溪北路", "延安西路"],
    },
    Pool {
        admdvs: "320400",
        name: "常州市",
        province: "320000",
        province_name: "江苏省",
        weight: 10,
        emp_rate: 800,
        districts: &[("320402", "天宁区"), ("320404", "钟楼区"), ("320411", "新北区"), ("320412", "武进区")],
        roads: &["延陵西路", "晋陵北路", "龙城大道", "通江中路", "湖塘路"],
    },
    Pool {
        admdvs: "320500",
        name: "苏州市",
        province: "320000",
        province_name: "江苏省",
        weight: 15,
        emp_rate: 800,
        districts: &[("320505", "虎丘区"), ("320506", "吴中区"), ("320507", "相城区"), ("320508", "姑苏区")],
        roads: &["人民路", "干将路", "东环路", "金鸡湖大道", "石湖西路"],
    },
    Pool {
        admdvs: "360100",
        name: "南昌市",
        province: "360000",
        province_name: "江西省",
        weight: 15,
        emp_rate: 800,
        districts: &[("360102", "东湖区"), ("360103", "西湖区"), ("360111", "青山湖区"), ("360112", "新建区")],
        roads: &["八一大道", "阳明路", "北京西路", "红谷中大道", "青山南路"],
    },
];

/// Registration areas of people born elsewhere (安徽六安, 河南郑州, 四川成都, 湖南长沙,
/// 河北石家庄): migrants keep the identity number of their birthplace.
pub const ELSEWHERE: &[&str] = &["342401", "410102", "510104", "430102", "130102"];

/// The province rows, then the pooling regions.
pub fn regions() -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    for p in POOLS {
        if !out.iter().any(|r| r.admdvs == p.province) {
            out.push(Region {
                admdvs: p.province.into(),
                name: p.province_name.into(),
                prov_admdvs: p.province.into(),
                lv: "province".into(),
                pool_flag: false,
            });
        }
    }
    out.extend(POOLS.iter().map(|p| Region {
        admdvs: p.admdvs.into(),
        name: p.name.into(),
        prov_admdvs: p.province.into(),
        lv: "city".into(),
        pool_flag: true,
    }));
    out
}
