//! Insured persons: identity, enrollments by category, personal-account history through the
//! ledger, medical-assistance identities and family mutual-aid bindings.
//!
//! Persons are planned outside the write transaction (a backend may run a transaction body
//! again, and the generator must not advance twice), then written in large batches.

use crate::names::full_name;
use crate::places::{Pool, ELSEWHERE, POOLS};
use crate::rng::Rng;
use crate::{SeedError, SeedOptions, SeedReport};
use std::collections::{BTreeSet, HashSet};
use yibao_domain::codes::IdCardNo;
use yibao_domain::dict::insutype;
use yibao_domain::registry::{
    Contribution, Enrollment, EntryKind, MulaidBinding, Person, PersonIdet, CERT_TYPE_ID_CARD,
};
use yibao_domain::{Date, DateTime, Fen, Ratio};
use yibao_store::registry as reg;
use yibao_store::{Store, Tx};

/// The individual contribution rate, all of it credited to the personal account since the 2021
/// reform (国办发〔2021〕14号).
const PSN_RATE: Ratio = Ratio(200);
/// Monthly credit to a retiree's account from the pool, about 2 % of an average pension.
const RETIREE_CREDIT: Fen = Fen(9_000);
/// Extra monthly credit from age 70.
const RETIREE_CREDIT_70: Fen = Fen(1_000);
/// Per 10,000 residents: medical-assistance classes 1–4 (`MA1`..`MA4`).
const ASSISTANCE_PER_10000: [(&str, u64, &str); 4] = [
    ("MA1", 30, "特困人员"),
    ("MA2", 100, "低保对象"),
    ("MA3", 50, "低保边缘家庭成员"),
    ("MA4", 30, "因病致贫重病患者"),
];
/// Per 10,000 employees in service: how many share their account with a relative.
const MULAID_PER_10000: u64 = 300;
/// Per 10,000 employees in service: civil servants (公务员医疗补助).
const CIVIL_SERVANT_PER_10000: u64 = 800;

enum Role {
    InService { base: Fen },
    Retired { age: i32 },
    Resident,
}

struct Plan {
    serial: usize,
    pool: &'static Pool,
    person: Person,
    role: Role,
    enrollments: Vec<Enrollment>,
    idet: Option<PersonIdet>,
    opening: Fen,
}

/// What the mutual-aid pass needs to remember of each person.
struct Brief {
    psn_no: String,
    pool: usize,
    age: i32,
    in_service: bool,
}

/// Shared inputs of the generator.
pub struct Ctx<'a> {
    pub today: Date,
    pub now: DateTime,
    /// Employer numbers per pool, in `POOLS` order.
    pub employers: &'a [Vec<String>],
}

fn date(y: i32, m: u32, d: u32) -> Result<Date, SeedError> {
    Date::from_ymd(y, m, d).map_err(|reason| SeedError::Date { value: format!("{y:04}-{m:02}-{d:02}"), reason })
}

/// The same day `years` later (28 February for a 29 February birthday in a common year).
fn years_after(d: Date, years: i32) -> Result<Date, SeedError> {
    let (y, m, day) = d.ymd();
    Date::from_ymd(y + years, m, day).or_else(|_| date(y + years, m, 28))
}

/// An age and a role: 0 in service (35 %), 1 retired (10 %), 2 resident (55 %).
fn age_for_role(rng: &mut Rng) -> (i32, u8) {
    let r = rng.below(10_000);
    if r < 3_500 {
        (rng.range(22, 59) as i32, 0)
    } else if r < 4_500 {
        (60 + rng.range(0, 14) as i32 + rng.range(0, 18) as i32, 1)
    } else {
        let band = rng.weighted(&[35, 40, 25]);
        let age = [rng.range(0, 17), rng.range(18, 59), rng.range(60, 95)][band];
        (age as i32, 2)
    }
}

fn certno(
    rng: &mut Rng,
    pool: &Pool,
    birth: Date,
    male: bool,
    taken: &mut HashSet<String>,
) -> Result<String, SeedError> {
    let area = if rng.chance(2_000) { *rng.pick(ELSEWHERE) } else { rng.pick(pool.districts).0 };
    // Odd sequence numbers are men; step by two on a collision to keep the gender.
    let mut seq = (rng.below(500) * 2 + u64::from(male)) as u16;
    loop {
        let id = IdCardNo::from_parts(area, birth, seq).map_err(|e| SeedError::code("certno", area, e))?;
        if taken.insert(id.expose().to_owned()) {
            return Ok(id.expose().to_owned());
        }
        seq = (seq + 2) % 1000;
    }
}

fn person(
    rng: &mut Rng,
    serial: usize,
    pool: &'static Pool,
    age: i32,
    today: Date,
    taken: &mut HashSet<String>,
) -> Result<Person, SeedError> {
    let birth = Date::from_days(today.days() - age * 365 - age / 4 - rng.range(1, 364) as i32);
    let male = rng.chance(5_000);
    let district = rng.pick(pool.districts).1;
    Ok(Person {
        psn_no: format!("{}{serial:09}", pool.admdvs),
        psn_cert_type: CERT_TYPE_ID_CARD.into(),
        certno: certno(rng, pool, birth, male, taken)?,
        psn_name: full_name(rng, male),
        gend: if male { "1" } else { "2" }.into(),
        brdy: birth,
        naty: if rng.chance(9_100) { "01".into() } else { format!("{:02}", rng.range(2, 11)) },
        admdvs: pool.admdvs.into(),
        tel: Some(format!(
            "1{}{:08}",
            rng.pick(&["39", "38", "37", "86", "58", "59", "88", "89"]),
            rng.below(100_000_000)
        )),
        addr: Some(format!("{}{district}{}{}号", pool.name, rng.pick(pool.roads), rng.range(1, 999))),
        death_date: None,
    })
}

fn enrollment(p: &Person, pool: &Pool, insutype: &str, psn_type: &str, beg: Date) -> Enrollment {
    Enrollment {
        psn_no: p.psn_no.clone(),
        insutype: insutype.into(),
        begndate: beg,
        enddate: None,
        paus_date: None,
        psn_type: psn_type.into(),
        psn_insu_stas: "1".into(),
        insuplc_admdvs: pool.admdvs.into(),
        emp_no: None,
        cvlserv_flag: false,
    }
}

/// When a working life's insurance began: some years after 22, not before the 1998 reform.
fn work_start(rng: &mut Rng, p: &Person, today: Date) -> Result<Date, SeedError> {
    let year = (p.brdy.year() + 22 + rng.range(0, 6) as i32).clamp(1998, today.year());
    let start = date(year, rng.range(1, 12) as u32, 1)?;
    Ok(start.min(date(today.year(), today.ymd().1, 1)?))
}

fn employee_enrollments(
    rng: &mut Rng,
    p: &Person,
    pool: &Pool,
    emp_no: &str,
    today: Date,
) -> Result<Vec<Enrollment>, SeedError> {
    let beg = work_start(rng, p, today)?;
    let civil = rng.chance(CIVIL_SERVANT_PER_10000);
    let psn_type = if civil { "1102" } else { "1101" };
    let mut types = vec![insutype::EMPLOYEE, insutype::LARGE_AMOUNT];
    if civil {
        types.push(insutype::CIVIL_SERVANT);
    }
    Ok(types
        .into_iter()
        .map(|t| Enrollment {
            emp_no: Some(emp_no.to_owned()),
            cvlserv_flag: civil,
            ..enrollment(p, pool, t, psn_type, beg)
        })
        .collect())
}

/// A retiree has two periods per type: in service until retirement (60 for men, 55 for
/// women), retired from then on.
fn retiree_enrollments(rng: &mut Rng, p: &Person, pool: &Pool, today: Date) -> Result<Vec<Enrollment>, SeedError> {
    let beg = work_start(rng, p, today)?;
    let retired = years_after(p.brdy, if p.gend == "1" { 60 } else { 55 })?.max(beg.add_days(1));
    let mut out = Vec::new();
    for t in [insutype::EMPLOYEE, insutype::LARGE_AMOUNT] {
        out.push(Enrollment { enddate: Some(retired), ..enrollment(p, pool, t, "1101", beg) });
        out.push(enrollment(p, pool, t, "1201", retired));
    }
    Ok(out)
}

/// Residents are covered from 2019 on, newborns from birth.
fn resident_enrollments(p: &Person, pool: &Pool, age: i32) -> Result<Vec<Enrollment>, SeedError> {
    let psn_type = match age {
        ..=17 => "1403",
        18..=59 => "1501",
        _ => "16",
    };
    let beg = date(2019, 1, 1)?.max(p.brdy);
    Ok([insutype::RESIDENT, insutype::RESIDENT_SERIOUS]
        .into_iter()
        .map(|t| enrollment(p, pool, t, psn_type, beg))
        .collect())
}

fn assistance(rng: &mut Rng, today: Date) -> Result<Option<PersonIdet>, SeedError> {
    let r = rng.below(10_000);
    let mut upto = 0;
    for (kind, per_10000, memo) in ASSISTANCE_PER_10000 {
        upto += per_10000;
        if r < upto {
            let beg = date(today.year(), 1, 1)?;
            // Class 4 (因病致贫) is granted for 12 months at a time.
            let end = (kind == "MA4").then(|| beg.add_days(365));
            return Ok(Some(PersonIdet {
                psn_idet_type: kind.into(),
                psn_type_lv: None,
                begndate: beg,
                enddate: end,
                memo: Some(memo.into()),
            }));
        }
    }
    Ok(None)
}

fn plan(rng: &mut Rng, serial: usize, ctx: &Ctx, taken: &mut HashSet<String>) -> Result<Plan, SeedError> {
    let pool_idx = rng.weighted(&POOLS.iter().map(|p| p.weight).collect::<Vec<_>>());
    let pool = &POOLS[pool_idx];
    let (age, role_kind) = age_for_role(rng);
    let person = person(rng, serial, pool, age, ctx.today, taken)?;
    let age = person.age_on(ctx.today);
    let (role, enrollments, idet, opening) = match role_kind {
        0 => {
            let emp_no = rng.pick(&ctx.employers[pool_idx]).clone();
            let en = employee_enrollments(rng, &person, pool, &emp_no, ctx.today)?;
            let base =
                Fen::yuan(4_000 + rng.range(0, 8_000) + if rng.chance(2_000) { rng.range(0, 20_000) } else { 0 });
            let years = (ctx.today.year() - en[0].begndate.year()).max(0) as i64;
            let opening = Fen(base.mul_ratio(PSN_RATE).0 * 12 * years * rng.range(10, 60) / 100);
            (Role::InService { base }, en, None, opening)
        }
        1 => {
            let en = retiree_enrollments(rng, &person, pool, ctx.today)?;
            (Role::Retired { age }, en, None, Fen::yuan(rng.range(0, 20_000)))
        }
        _ => {
            let en = resident_enrollments(&person, pool, age)?;
            (Role::Resident, en, assistance(rng, ctx.today)?, Fen::ZERO)
        }
    };
    Ok(Plan { serial, pool, person, role, enrollments, idet, opening })
}

/// The months of the current year whose contributions have been received (on the 15th).
fn months_received(today: Date) -> u32 {
    let (_, m, d) = today.ymd();
    if d >= 15 {
        m
    } else {
        m - 1
    }
}

/// Writes the account history of one person: an opening balance carried over from earlier
/// years, then each month received this year. Returns (entries, contributions).
fn write_ledger(tx: &mut dyn Tx, p: &Plan, ctx: &Ctx) -> Result<(u64, u64), SeedError> {
    if matches!(p.role, Role::Resident) {
        return Ok((0, 0));
    }
    let psn_no = &p.person.psn_no;
    let year = ctx.today.year();
    let mut entries = 0;
    if p.opening.0 > 0 {
        let at = DateTime::from_date(date(year, 1, 1)?);
        let r = format!("opening-{year}");
        reg::append_account_entry(tx, psn_no, p.pool.admdvs, p.opening, EntryKind::Credit, Some(&r), at)?;
        entries += 1;
    }
    let months = months_received(ctx.today);
    for month in 1..=months {
        let rcv = date(year, month, 15)?;
        // Received at 09:00 on the 15th.
        let at = DateTime(DateTime::from_date(rcv).0 + 9 * 3600);
        match &p.role {
            Role::InService { base, .. } => {
                reg::record_contribution(tx, &contribution(p, *base, year, month, rcv), at)?;
            }
            _ => {
                let amount = retiree_credit(&p.role);
                let r = format!("pool-{year:04}{month:02}");
                reg::append_account_entry(tx, psn_no, p.pool.admdvs, amount, EntryKind::Credit, Some(&r), at)?;
            }
        }
        entries += 1;
    }
    let contributions = if matches!(p.role, Role::InService { .. }) { u64::from(months) } else { 0 };
    Ok((entries, contributions))
}

fn retiree_credit(role: &Role) -> Fen {
    match role {
        Role::Retired { age } if *age >= 70 => RETIREE_CREDIT + RETIREE_CREDIT_70,
        _ => RETIREE_CREDIT,
    }
}

fn contribution(p: &Plan, base: Fen, year: i32, month: u32, rcv: Date) -> Contribution {
    Contribution {
        // Ids far below any the id generator issues (those start in the 10^17 range).
        id: p.serial as i64 * 100 + i64::from(month),
        psn_no: p.person.psn_no.clone(),
        insutype: insutype::EMPLOYEE.into(),
        admdvs: p.pool.admdvs.into(),
        period_ym: format!("{year:04}{month:02}"),
        emp_amt: base.mul_ratio(Ratio(p.pool.emp_rate as u32)),
        psn_amt: base.mul_ratio(PSN_RATE),
        acct_amt: base.mul_ratio(PSN_RATE),
        rcv_date: rcv,
    }
}

fn write_plan(tx: &mut dyn Tx, p: &Plan, ctx: &Ctx) -> Result<(u64, u64), SeedError> {
    reg::insert_person(tx, &p.person, ctx.now)?;
    for e in &p.enrollments {
        reg::insert_enrollment(tx, e, ctx.now)?;
    }
    if let Some(idet) = &p.idet {
        reg::insert_person_idet(tx, &p.person.psn_no, idet)?;
    }
    write_ledger(tx, p, ctx)
}

fn count_batch(plans: &[Plan], report: &mut SeedReport, (entries, contributions): (u64, u64)) {
    report.persons += plans.len() as u64;
    report.enrollments += plans.iter().map(|p| p.enrollments.len() as u64).sum::<u64>();
    report.identities += plans.iter().filter(|p| p.idet.is_some()).count() as u64;
    report.contributions += contributions;
    report.account_entries += entries;
}

fn brief(p: &Plan, today: Date) -> Brief {
    Brief {
        psn_no: p.person.psn_no.clone(),
        pool: POOLS.iter().position(|q| q.admdvs == p.pool.admdvs).unwrap_or(0),
        age: p.person.age_on(today),
        in_service: matches!(p.role, Role::InService { .. }),
    }
}

/// Some employees in service share their account with a relative in the same region who is
/// not working (a child, a parent or a spouse, by age difference).
fn bind_relatives(store: &Store, rng: &mut Rng, briefs: &[Brief], ctx: &Ctx) -> Result<u64, SeedError> {
    let mut by_pool: Vec<Vec<&Brief>> = POOLS.iter().map(|_| Vec::new()).collect();
    for b in briefs.iter().filter(|b| !b.in_service) {
        by_pool[b.pool].push(b);
    }
    let begin = date(ctx.today.year(), 1, 1)?;
    let mut seen = BTreeSet::new();
    let mut bindings = Vec::new();
    for owner in briefs.iter().filter(|b| b.in_service) {
        if !rng.chance(MULAID_PER_10000) || by_pool[owner.pool].is_empty() {
            continue;
        }
        let benef = *rng.pick(&by_pool[owner.pool]);
        if !seen.insert((owner.psn_no.clone(), benef.psn_no.clone())) {
            continue;
        }
        let relation = match benef.age - owner.age {
            d if d >= 18 => "parent",
            d if d <= -18 => "child",
            _ => "spouse",
        };
        bindings.push(MulaidBinding {
            owner_psn_no: owner.psn_no.clone(),
            benef_psn_no: benef.psn_no.clone(),
            relation: relation.into(),
            begndate: begin,
            enddate: None,
        });
    }
    store.write(|tx| {
        for b in &bindings {
            reg::bind_mulaid(tx, b)?;
        }
        Ok::<_, SeedError>(())
    })?;
    Ok(bindings.len() as u64)
}

/// Plans and writes `opts.persons` persons, `opts.batch` per transaction, then the mutual-aid
/// bindings.
pub fn seed_persons(
    store: &Store,
    rng: &mut Rng,
    opts: &SeedOptions,
    ctx: &Ctx,
    report: &mut SeedReport,
) -> Result<(), SeedError> {
    let mut taken = HashSet::with_capacity(opts.persons);
    let mut briefs = Vec::with_capacity(opts.persons);
    let batch = opts.batch.max(1);
    let mut serial = 0;
    while serial < opts.persons {
        let end = (serial + batch).min(opts.persons);
        let plans = (serial..end).map(|s| plan(rng, s + 1, ctx, &mut taken)).collect::<Result<Vec<_>, _>>()?;
        let written = store.write(|tx| {
            let (mut entries, mut contributions) = (0, 0);
            for p in &plans {
                let (e, c) = write_plan(tx, p, ctx)?;
                entries += e;
                contributions += c;
            }
            Ok::<_, SeedError>((entries, contributions))
        })?;
        count_batch(&plans, report, written);
        briefs.extend(plans.iter().map(|p| brief(p, ctx.today)));
        serial = end;
    }
    report.mulaid_bindings = bind_relatives(store, rng, &briefs, ctx)?;
    Ok(())
}
