//! What the load generator knows of the world it drives, read once from the store before the
//! run: institutions, their mapped catalogue items, and the insured persons of each city — as a
//! hospital system would know its own catalogue and its patients' cards.

use std::collections::BTreeMap;
use yibao_domain::DateTime;
use yibao_store::{params, DbError, Store, Tx};

/// A designated institution and the local codes it bills with.
#[derive(Clone, Debug)]
pub struct Institution {
    pub code: String,
    pub admdvs: String,
    pub pharmacy: bool,
    /// (local code, national code), unrestricted and without a price cap.
    pub items: Vec<(String, String)>,
}

/// An insured person as the HIS knows them after 1101: by psn_no, with the ID number on the
/// card the patient shows at the counter (a visit is opened only on the person's own
/// credential).
#[derive(Clone, Debug)]
pub struct Person {
    pub psn_no: String,
    pub certno: String,
    pub insutype: String,
    pub insuplc_admdvs: String,
}

#[derive(Debug, Default)]
pub struct World {
    pub hospitals: Vec<Institution>,
    pub pharmacies: Vec<Institution>,
    /// Persons by city (first four digits of the insured place).
    pub persons: BTreeMap<String, Vec<Person>>,
}

/// Items per institution and persons per (city, insurance type) the generator keeps.
const ITEMS_MAX: i64 = 80;

impl World {
    /// Reads the world from the store; `persons_max` bounds the persons kept per city and type.
    pub fn load(store: &Store, today: DateTime, persons_max: usize) -> Result<World, String> {
        let day = today.date().days() as i64;
        let mut w = World::default();
        store
            .read(|tx| {
                for inst in institutions(tx, day)? {
                    if inst.items.len() < 5 {
                        continue;
                    }
                    if inst.pharmacy {
                        w.pharmacies.push(inst);
                    } else {
                        w.hospitals.push(inst);
                    }
                }
                for p in persons(tx, day, persons_max as i64)? {
                    w.persons.entry(city(&p.insuplc_admdvs).to_owned()).or_default().push(p);
                }
                Ok::<_, DbError>(())
            })
            .map_err(|e| format!("reading the demo world from the store: {e}"))?;
        // Only institutions whose city has insured persons: everyone is treated locally.
        w.hospitals.retain(|i| w.persons.contains_key(city(&i.admdvs)));
        w.pharmacies.retain(|i| w.persons.contains_key(city(&i.admdvs)));
        if w.hospitals.is_empty() || w.pharmacies.is_empty() {
            return Err("the store holds no hospital or pharmacy with insured persons in its city: seed it with `yibao seed --demo`".into());
        }
        Ok(w)
    }

    pub fn persons_of(&self, inst: &Institution) -> &[Person] {
        self.persons.get(city(&inst.admdvs)).map_or(&[], Vec::as_slice)
    }

    pub fn person_count(&self) -> usize {
        self.persons.values().map(Vec::len).sum()
    }
}

/// Same city when the first four digits agree (the gateway's rule).
pub fn city(admdvs: &str) -> &str {
    admdvs.get(..4).unwrap_or(admdvs)
}

fn institutions(tx: &mut dyn Tx, day: i64) -> Result<Vec<Institution>, DbError> {
    let rows = tx.query(
        "SELECT fixmedins_code, admdvs, fixmedins_type FROM institution
         WHERE agre_begn <= $1 AND (agre_end IS NULL OR agre_end > $1) ORDER BY fixmedins_code",
        params![day],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let code = r.str(0)?;
        let items = items(tx, &code, day)?;
        out.push(Institution { code, admdvs: r.str(1)?, pharmacy: r.str(2)? == "2", items });
    }
    Ok(out)
}

/// Mapped items without a price cap or restriction, so any price and patient is accepted.
fn items(tx: &mut dyn Tx, code: &str, day: i64) -> Result<Vec<(String, String)>, DbError> {
    let rows = tx.query(
        "SELECT DISTINCT m.medins_list_codg, m.med_list_codg FROM med_map m JOIN catalog_item c ON c.hilist_code = m.med_list_codg
         WHERE m.fixmedins_code = $1 AND m.vali_flag = 1 AND m.begndate <= $2 AND (m.enddate IS NULL OR m.enddate > $2)
           AND c.pric_uplmt IS NULL AND c.lmt_used_flag = 0 AND c.rules = '{}'
         ORDER BY m.medins_list_codg LIMIT $3",
        params![code, day, ITEMS_MAX],
    )?;
    rows.iter().map(|r| Ok((r.str(0)?, r.str(1)?))).collect()
}

/// Living persons with one plain enrollment in force (no special identity, not a mutual-aid
/// beneficiary), so that every settlement is an ordinary one.
fn persons(tx: &mut dyn Tx, day: i64, per_group: i64) -> Result<Vec<Person>, DbError> {
    let rows = tx.query(
        "SELECT p.psn_no, e.insutype, e.insuplc_admdvs FROM person p JOIN enrollment e ON e.psn_no = p.psn_no
         WHERE p.death_date IS NULL AND e.insutype IN ('310', '390') AND e.psn_insu_stas = '1' AND e.paus_date IS NULL
           AND e.begndate <= $1 AND (e.enddate IS NULL OR e.enddate > $1)
           AND NOT EXISTS (SELECT 1 FROM person_idet i WHERE i.psn_no = p.psn_no)
           AND NOT EXISTS (SELECT 1 FROM mulaid_binding m WHERE m.benef_psn_no = p.psn_no)
         ORDER BY p.psn_no",
        params![day],
    )?;
    let mut per: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for r in rows {
        let (psn_no, insutype, insuplc_admdvs) = (r.str(0)?, r.str(1)?, r.str(2)?);
        let n = per.entry((city(&insuplc_admdvs).to_owned(), insutype.clone())).or_default();
        if *n >= per_group {
            continue;
        }
        *n += 1;
        // Sealed at rest: opened here as the patient's card would show it.
        let certno = yibao_store::registry::person_certno(tx, &psn_no)
            .map_err(|e| DbError::Other(e.to_string()))?
            .ok_or_else(|| DbError::Other(format!("person {psn_no} vanished")))?;
        out.push(Person { psn_no, certno, insutype, insuplc_admdvs });
    }
    Ok(out)
}
