//! Chinese names from the most common surnames (most frequent first, so a low index is more
//! likely) and given-name characters.

use crate::rng::Rng;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "邓", "冯", "曹", "彭", "曾", "肖", "田", "董", "潘", "袁", "蔡",
    "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆",
    "范", "汪", "廖", "石", "金", "韦", "贾", "夏", "付", "方", "邹", "熊", "白", "孟", "秦", "邱", "侯", "江", "尹",
    "薛", "闫", "段", "雷", "欧阳", "司马", "诸葛",
];

const MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波", "宇",
    "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳", "建国", "志强", "子轩", "浩然", "宇航", "俊杰",
    "文博", "晨阳",
];

const FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "慧", "莹", "洁", "琳", "颖", "倩", "欣",
    "悦", "晶", "佳", "秀英", "桂英", "玉兰", "雨桐", "欣怡", "梓涵", "诗涵", "可馨",
];

/// A full name; `male` chooses the given-name pool.
pub fn full_name(rng: &mut Rng, male: bool) -> String {
    // Two draws, keep the smaller index: frequent surnames come up more often.
    let a = rng.below(SURNAMES.len() as u64);
    let b = rng.below(SURNAMES.len() as u64);
    let surname = SURNAMES[a.min(b) as usize];
    let pool = if male { MALE } else { FEMALE };
    let first = rng.pick(pool);
    // About a third of given names have two characters drawn separately.
    if first.chars().count() == 1 && rng.chance(3_300) {
        format!("{surname}{first}{}", rng.pick(pool).chars().next().unwrap_or('华'))
    } else {
        format!("{surname}{first}")
    }
}
