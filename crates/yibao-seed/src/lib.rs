//! The demo world: five real pooling regions (北京, 上海, 常州, 苏州, 南昌) and their provinces,
//! 65 designated institutions, a catalog of a few hundred items, disease/operation/chronic
//! lists, each institution's code mappings, 200 employers and (by default) 100,000 insured
//! persons with enrollments, personal-account histories, medical-assistance identities and
//! family mutual-aid bindings.
//!
//! Deterministic: the same `seed` and `today` give the same world, byte for byte. Every code is
//! built with the national code types (`yibao_domain::codes`) and so passes their parsers.
//!
//! Conventions the demo relies on: medical-assistance classes 1–4 are person identities
//! `MA1`..`MA4` (see `yibao_domain::registry::medical_assistance_class`); local codes are
//! `HIS-<n>` per institution; psn_no is the pooling region followed by a 9-digit serial.
//!
//! Policies are not seeded here: [`SeedReport::policy_targets`] lists the (pooling region,
//! insurance type) pairs that need one, for the caller to load.

mod catalog;
mod institutions;
mod names;
mod people;
mod places;
pub mod rng;

use rng::Rng;
use std::time::{SystemTime, UNIX_EPOCH};
use yibao_domain::codes::CodeError;
use yibao_domain::date::DateError;
use yibao_domain::dict::insutype;
use yibao_domain::{Date, DateTime};
use yibao_store::catalog::{self as cat, CatalogError};
use yibao_store::registry::{self as reg, RegistryError};
use yibao_store::{DbError, Store};

#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Seed of the generator; the default is 2024.
    pub seed: u64,
    /// Insured persons to create; the default is 100,000.
    pub persons: usize,
    /// The "current" date: contributions are recorded for the months of its year received so
    /// far, ages are taken on it. Defaults to today (China time).
    pub today: Date,
    /// Persons per write transaction.
    pub batch: usize,
}

impl Default for SeedOptions {
    fn default() -> SeedOptions {
        SeedOptions { seed: 2024, persons: 100_000, today: today_in_china(), batch: 5_000 }
    }
}

/// Today's date at UTC+8.
pub fn today_in_china() -> Date {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    DateTime(secs + 8 * 3600).date()
}

/// What was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub regions: u64,
    pub institutions: u64,
    pub employers: u64,
    pub catalog_items: u64,
    pub codes: u64,
    pub mappings: u64,
    pub persons: u64,
    pub enrollments: u64,
    pub identities: u64,
    pub contributions: u64,
    pub account_entries: u64,
    pub mulaid_bindings: u64,
    /// The policy hook: every (pooling region, insurance type) the demo persons are enrolled
    /// in. The seed loads no policy; the caller loads one for each pair.
    pub policy_targets: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the store already holds data ({persons} persons); seed a fresh database")]
    AlreadySeeded { persons: i64 },
    #[error("generated {field} {value:?} is invalid: {reason}")]
    Code { field: &'static str, value: String, reason: CodeError },
    #[error("generated date {value} is invalid: {reason}")]
    Date { value: String, reason: DateError },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SeedError {
    fn code(field: &'static str, value: &str, reason: CodeError) -> SeedError {
        SeedError::Code { field, value: value.to_owned(), reason }
    }
}

/// Creates the demo world in an empty store. A store that already holds persons or the demo
/// regions is refused with [`SeedError::AlreadySeeded`], so nothing is ever duplicated.
pub fn seed_demo(store: &Store, opts: &SeedOptions) -> Result<SeedReport, SeedError> {
    refuse_if_seeded(store)?;
    let mut rng = Rng::new(opts.seed);
    let now = DateTime::from_date(opts.today);
    let mut report = SeedReport::default();
    let employers = seed_reference(store, &mut rng.fork(1), now, &mut report)?;
    let ctx = people::Ctx { today: opts.today, now, employers: &employers };
    people::seed_persons(store, &mut rng, opts, &ctx, &mut report)?;
    report.policy_targets = policy_targets();
    Ok(report)
}

fn refuse_if_seeded(store: &Store) -> Result<(), SeedError> {
    let (persons, region) = store.read(|tx| {
        let persons = reg::count_persons(tx)?;
        let region = reg::region(tx, places::POOLS[0].admdvs)?;
        Ok::<_, RegistryError>((persons, region))
    })?;
    if persons > 0 || region.is_some() {
        return Err(SeedError::AlreadySeeded { persons });
    }
    Ok(())
}

/// Regions, institutions, employers, catalog, code lists and mappings, in one transaction.
/// Returns the employer numbers of each pooling region.
fn seed_reference(
    store: &Store,
    rng: &mut Rng,
    now: DateTime,
    report: &mut SeedReport,
) -> Result<Vec<Vec<String>>, SeedError> {
    let regions = places::regions();
    let insts = institutions::institutions(rng)?;
    let emps = institutions::employers(rng)?;
    let items = catalog::items()?;
    let codes = catalog::code_lists()?;
    let maps = catalog::mappings(&insts, &items);
    store.write(|tx| {
        // Sequential record ids: the demo's rows come first in every update feed.
        let mut rid = 0i64;
        let mut next = || {
            rid += 1;
            rid
        };
        for r in &regions {
            reg::upsert_region(tx, r, now)?;
        }
        for i in &insts {
            reg::upsert_institution(tx, i, now)?;
        }
        for e in &emps {
            reg::upsert_employer(tx, e, now)?;
        }
        for it in &items {
            cat::upsert_catalog_item(tx, it, next(), now)?;
        }
        for (kind, c) in &codes {
            cat::upsert_code(tx, *kind, c, next(), now)?;
        }
        for m in &maps {
            cat::upsert_mapping(tx, m, next(), now)?;
        }
        Ok::<_, SeedError>(())
    })?;
    report.regions = regions.len() as u64;
    report.institutions = insts.len() as u64;
    report.employers = emps.len() as u64;
    report.catalog_items = items.len() as u64;
    report.codes = codes.len() as u64;
    report.mappings = maps.len() as u64;
    Ok(places::POOLS
        .iter()
        .map(|p| emps.iter().filter(|e| e.admdvs == p.admdvs).map(|e| e.emp_no.clone()).collect())
        .collect())
}

fn policy_targets() -> Vec<(String, String)> {
    let types = [
        insutype::EMPLOYEE,
        insutype::CIVIL_SERVANT,
        insutype::LARGE_AMOUNT,
        insutype::RESIDENT,
        insutype::RESIDENT_SERIOUS,
    ];
    places::POOLS.iter().flat_map(|p| types.iter().map(|t| (p.admdvs.to_owned(), (*t).to_owned()))).collect()
}
