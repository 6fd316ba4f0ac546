//! Basic information: regions, employers, institutions, persons and their identities,
//! enrollments, contributions, the personal-account ledger and family mutual-aid bindings.
//!
//! Inserts that may collide use `ON CONFLICT DO NOTHING` and report a duplicate when no row was
//! written, rather than letting the statement fail: on PostgreSQL a failed statement aborts the
//! whole transaction, and callers such as the importer want to reject one row and go on.

use crate::db::{vault_of, DbError, Row, Tx};
use crate::params;
use yibao_crypto::Vault;
use yibao_domain::registry::{
    AccountEntry, Contribution, Employer, Enrollment, EntryKind, Institution, MulaidBinding, Person, PersonIdet, Region,
};
use yibao_domain::{Date, DateTime, Fen};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("invalid {field}: {value:?}")]
    Invalid { field: &'static str, value: String },
    #[error("personal account of {psn_no} holds {balance}, cannot pay {amount}")]
    InsufficientBalance { psn_no: String, balance: Fen, amount: Fen },
}

type Result<T> = std::result::Result<T, RegistryError>;

/// Certificate numbers are personal data: messages show only the first 6 and last 4 characters.
fn mask(certno: &str) -> String {
    let chars: Vec<char> = certno.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

// Regions, employers, institutions -----------------------------------------------------------

pub fn upsert_region(tx: &mut dyn Tx, r: &Region, updt_time: DateTime) -> Result<()> {
    tx.execute(
        "INSERT INTO region (admdvs, name, prov_admdvs, lv, pool_flag, updt_time)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (admdvs) DO UPDATE SET name = excluded.name,
           prov_admdvs = excluded.prov_admdvs, lv = excluded.lv,
           pool_flag = excluded.pool_flag, updt_time = excluded.updt_time",
        params![&r.admdvs, &r.name, &r.prov_admdvs, &r.lv, r.pool_flag, updt_time],
    )?;
    Ok(())
}

const REGION_COLS: &str = "admdvs, name, prov_admdvs, lv, pool_flag";

fn region_from(row: &Row) -> Result<Region> {
    Ok(Region {
        admdvs: row.str(0)?,
        name: row.str(1)?,
        prov_admdvs: row.str(2)?,
        lv: row.str(3)?,
        pool_flag: row.bool(4)?,
    })
}

pub fn region(tx: &mut dyn Tx, admdvs: &str) -> Result<Option<Region>> {
    let sql = format!("SELECT {REGION_COLS} FROM region WHERE admdvs = $1");
    tx.query_opt(&sql, params![admdvs])?.map(|r| region_from(&r)).transpose()
}

/// All regions, provinces before their pooling regions (ordered by code).
pub fn regions(tx: &mut dyn Tx) -> Result<Vec<Region>> {
    let sql = format!("SELECT {REGION_COLS} FROM region ORDER BY admdvs");
    tx.query(&sql, params![])?.iter().map(region_from).collect()
}

/// Inserts or updates an employer by emp_no. A USCC already held by another employer is refused.
pub fn upsert_employer(tx: &mut dyn Tx, e: &Employer, updt_time: DateTime) -> Result<()> {
    let holder = tx.query_opt("SELECT emp_no FROM employer WHERE uscc = $1", params![&e.uscc])?;
    if let Some(row) = holder {
        let other = row.str(0)?;
        if other != e.emp_no {
            return Err(RegistryError::Duplicate(format!("uscc {} belongs to employer {other}", e.uscc)));
        }
    }
    tx.execute(
        "INSERT INTO employer (emp_no, uscc, emp_name, admdvs, updt_time)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (emp_no) DO UPDATE SET uscc = excluded.uscc, emp_name = excluded.emp_name,
           admdvs = excluded.admdvs, updt_time = excluded.updt_time",
        params![&e.emp_no, &e.uscc, &e.emp_name, &e.admdvs, updt_time],
    )?;
    Ok(())
}

pub fn employer(tx: &mut dyn Tx, emp_no: &str) -> Result<Option<Employer>> {
    let row = tx.query_opt("SELECT emp_no, uscc, emp_name, admdvs FROM employer WHERE emp_no = $1", params![emp_no])?;
    row.map(|r| Ok(Employer { emp_no: r.str(0)?, uscc: r.str(1)?, emp_name: r.str(2)?, admdvs: r.str(3)? })).transpose()
}

/// Inserts or updates an institution. The policy grade is stored beside hosp_lv so that queries
/// can filter on it; an hosp_lv outside the national dictionary is refused.
pub fn upsert_institution(tx: &mut dyn Tx, i: &Institution, updt_time: DateTime) -> Result<()> {
    let grade = i.grade().ok_or_else(|| RegistryError::Invalid { field: "hosp_lv", value: i.hosp_lv.clone() })?;
    tx.execute(
        "INSERT INTO institution (fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, lv,
           admdvs, uscc, remote_flag, agre_begn, agre_end, updt_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = excluded.fixmedins_name,
           fixmedins_type = excluded.fixmedins_type, hosp_lv = excluded.hosp_lv, lv = excluded.lv,
           admdvs = excluded.admdvs, uscc = excluded.uscc, remote_flag = excluded.remote_flag,
           agre_begn = excluded.agre_begn, agre_end = excluded.agre_end,
           updt_time = excluded.updt_time",
        params![
            &i.fixmedins_code,
            &i.fixmedins_name,
            &i.fixmedins_type,
            &i.hosp_lv,
            grade as i64,
            &i.admdvs,
            i.uscc.as_deref(),
            i.remote_flag,
            i.agre_begn,
            i.agre_end,
            updt_time
        ],
    )?;
    Ok(())
}

const INSTITUTION_COLS: &str = "fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs, \
    uscc, remote_flag, agre_begn, agre_end";

fn institution_from(row: &Row) -> Result<Institution> {
    Ok(Institution {
        fixmedins_code: row.str(0)?,
        fixmedins_name: row.str(1)?,
        fixmedins_type: row.str(2)?,
        hosp_lv: row.str(3)?,
        admdvs: row.str(4)?,
        uscc: row.opt_str(5)?,
        remote_flag: row.bool(6)?,
        agre_begn: row.date(7)?,
        agre_end: row.opt_date(8)?,
    })
}

pub fn institution(tx: &mut dyn Tx, fixmedins_code: &str) -> Result<Option<Institution>> {
    let sql = format!("SELECT {INSTITUTION_COLS} FROM institution WHERE fixmedins_code = $1");
    tx.query_opt(&sql, params![fixmedins_code])?.map(|r| institution_from(&r)).transpose()
}

/// Institutions in code order, `limit` at most, after `after` (keyset paging for exports).
pub fn institutions_after(tx: &mut dyn Tx, after: &str, limit: i64) -> Result<Vec<Institution>> {
    let sql = format!(
        "SELECT {INSTITUTION_COLS} FROM institution WHERE fixmedins_code > $1
         ORDER BY fixmedins_code LIMIT $2"
    );
    tx.query(&sql, params![after, limit])?.iter().map(institution_from).collect()
}

// Persons ------------------------------------------------------------------------------------
//
// Personal data at rest: certno, psn_name, tel and addr are sealed with SM4-GCM under the
// store's vault, each bound to its column and psn_no; the certificate is found through a keyed
// blind index (HMAC-SM3 of the normalised number), so no clear ID number is ever stored.

const PERSON_INSERT: &str = "INSERT INTO person (psn_no, psn_cert_type, certno, cert_bidx, psn_name, gend, \
    brdy, naty, admdvs, tel, addr, death_date, updt_time) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// Blind-index label of certificate numbers.
const CERT_INDEX: &str = "person.certno";

/// The form of a certificate number that is indexed: trimmed, upper case (a check digit `x` is
/// the same as `X`).
pub fn normalise_certno(certno: &str) -> String {
    certno.trim().to_uppercase()
}

fn aad(column: &str, psn_no: &str) -> String {
    format!("person.{column}|{psn_no}")
}

fn person_params(tx: &dyn Tx, p: &Person, updt_time: DateTime) -> Result<Vec<crate::Value>> {
    let v = vault_of(tx, "person")?;
    let seal = |col: &str, text: &str| v.seal(&aad(col, &p.psn_no), text);
    Ok(params![
        &p.psn_no,
        &p.psn_cert_type,
        seal("certno", &p.certno),
        v.blind_index(CERT_INDEX, &normalise_certno(&p.certno)),
        seal("psn_name", &p.psn_name),
        &p.gend,
        p.brdy,
        &p.naty,
        &p.admdvs,
        p.tel.as_deref().map(|t| seal("tel", t)),
        p.addr.as_deref().map(|a| seal("addr", a)),
        p.death_date,
        updt_time
    ]
    .to_vec())
}

/// Inserts a new person; a psn_no or certificate already registered is a `Duplicate`.
pub fn insert_person(tx: &mut dyn Tx, p: &Person, updt_time: DateTime) -> Result<()> {
    // During a key rotation the same certificate may sit under an old key's index.
    if vault_of(tx, "person")?.key_ids().len() > 1 && person_by_cert(tx, &p.psn_cert_type, &p.certno)?.is_some() {
        return Err(person_duplicate(tx, p));
    }
    let sql = format!("{PERSON_INSERT} ON CONFLICT DO NOTHING");
    if tx.execute(&sql, &person_params(tx, p, updt_time)?)? == 0 {
        return Err(person_duplicate(tx, p));
    }
    Ok(())
}

/// Inserts a person or updates the one with the same psn_no. A certificate registered to
/// another psn_no is a `Duplicate`: one certificate, one person.
pub fn upsert_person(tx: &mut dyn Tx, p: &Person, updt_time: DateTime) -> Result<()> {
    if let Some(other) = person_by_cert(tx, &p.psn_cert_type, &p.certno)? {
        if other.psn_no != p.psn_no {
            return Err(person_duplicate(tx, p));
        }
    }
    let sql = format!(
        "{PERSON_INSERT} ON CONFLICT (psn_no) DO UPDATE SET psn_cert_type = excluded.psn_cert_type,
           certno = excluded.certno, cert_bidx = excluded.cert_bidx, psn_name = excluded.psn_name,
           gend = excluded.gend, brdy = excluded.brdy, naty = excluded.naty, admdvs = excluded.admdvs,
           tel = excluded.tel, addr = excluded.addr, death_date = excluded.death_date,
           updt_time = excluded.updt_time"
    );
    tx.execute(&sql, &person_params(tx, p, updt_time)?)?;
    Ok(())
}

/// Says which key of `p` is already taken.
fn person_duplicate(tx: &mut dyn Tx, p: &Person) -> RegistryError {
    match person_by_cert(tx, &p.psn_cert_type, &p.certno) {
        Ok(Some(other)) => RegistryError::Duplicate(format!(
            "certificate {} {} is already registered to person {}",
            p.psn_cert_type,
            mask(&p.certno),
            other.psn_no
        )),
        Ok(None) => RegistryError::Duplicate(format!("person {}", p.psn_no)),
        Err(e) => e,
    }
}

const PERSON_COLS: &str = "psn_no, psn_cert_type, certno, psn_name, gend, brdy, naty, admdvs, tel, addr, death_date";

fn person_from(v: &Vault, row: &Row) -> Result<Person> {
    let psn_no = row.str(0)?;
    let open = |col: &str, sealed: String| {
        v.open(&aad(col, &psn_no), &sealed).map_err(|e| DbError::Decode(format!("person {psn_no}: {e}")))
    };
    Ok(Person {
        psn_cert_type: row.str(1)?,
        certno: open("certno", row.str(2)?)?,
        psn_name: open("psn_name", row.str(3)?)?,
        gend: row.str(4)?,
        brdy: row.date(5)?,
        naty: row.str(6)?,
        admdvs: row.str(7)?,
        tel: row.opt_str(8)?.map(|t| open("tel", t)).transpose()?,
        addr: row.opt_str(9)?.map(|a| open("addr", a)).transpose()?,
        death_date: row.opt_date(10)?,
        psn_no,
    })
}

pub fn person_by_psn_no(tx: &mut dyn Tx, psn_no: &str) -> Result<Option<Person>> {
    let v = vault_of(tx, "person")?;
    let sql = format!("SELECT {PERSON_COLS} FROM person WHERE psn_no = $1");
    tx.query_opt(&sql, params![psn_no])?.map(|r| person_from(&v, &r)).transpose()
}

/// What the settlement path needs of a person without opening any sealed field: registering a
/// visit and classifying fee lines use sex, birth date and death date only, and each open is an
/// SM4-GCM decryption (four per person).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonCore {
    pub psn_no: String,
    pub gend: String,
    pub brdy: Date,
    pub admdvs: String,
    pub death_date: Option<Date>,
    /// psn_cert_type and the blind index of the certificate number, to check a presented
    /// number against ([`holds_cert`]) without opening the sealed one.
    pub psn_cert_type: String,
    pub cert_bidx: String,
}

pub fn person_core(tx: &mut dyn Tx, psn_no: &str) -> Result<Option<PersonCore>> {
    let row = tx.query_opt(
        "SELECT gend, brdy, admdvs, death_date, psn_cert_type, cert_bidx FROM person WHERE psn_no = $1",
        params![psn_no],
    )?;
    row.map(|r| {
        Ok(PersonCore {
            psn_no: psn_no.to_owned(),
            gend: r.str(0)?,
            brdy: r.date(1)?,
            admdvs: r.str(2)?,
            death_date: r.opt_date(3)?,
            psn_cert_type: r.str(4)?,
            cert_bidx: r.str(5)?,
        })
    })
    .transpose()
}

/// Whether `certno`, a certificate of type `cert_type`, is the person's own: compared by blind
/// index under every key of the ring (a row not yet re-keyed still matches).
pub fn holds_cert(tx: &dyn Tx, p: &PersonCore, cert_type: &str, certno: &str) -> Result<bool> {
    if p.psn_cert_type != cert_type {
        return Ok(false);
    }
    let v = vault_of(tx, "person")?;
    Ok(v.blind_indexes(CERT_INDEX, &normalise_certno(certno))
        .iter()
        .any(|i| yibao_crypto::ct_eq(i.as_bytes(), p.cert_bidx.as_bytes())))
}

/// The person holding a certificate, found through its blind index under every key of the ring.
pub fn person_by_cert(tx: &mut dyn Tx, cert_type: &str, certno: &str) -> Result<Option<Person>> {
    let v = vault_of(tx, "person")?;
    let sql = format!("SELECT {PERSON_COLS} FROM person WHERE psn_cert_type = $1 AND cert_bidx = $2");
    for idx in v.blind_indexes(CERT_INDEX, &normalise_certno(certno)) {
        if let Some(r) = tx.query_opt(&sql, params![cert_type, idx])? {
            return person_from(&v, &r).map(Some);
        }
    }
    Ok(None)
}

/// A person's certificate number, opening that field only (a load generator presenting
/// patients' ID cards reads thousands).
pub fn person_certno(tx: &mut dyn Tx, psn_no: &str) -> Result<Option<String>> {
    let v = vault_of(tx, "person")?;
    let row = tx.query_opt("SELECT certno FROM person WHERE psn_no = $1", params![psn_no])?;
    row.map(|r| {
        v.open(&aad("certno", psn_no), &r.str(0)?).map_err(|e| DbError::Decode(format!("person {psn_no}: {e}")).into())
    })
    .transpose()
}

/// The region (admdvs) of a person, without opening any personal data.
pub fn person_admdvs(tx: &mut dyn Tx, psn_no: &str) -> Result<Option<String>> {
    Ok(tx.query_opt("SELECT admdvs FROM person WHERE psn_no = $1", params![psn_no])?.map(|r| r.str(0)).transpose()?)
}

/// Re-seals up to `limit` persons whose data or index is under an old key, after `after` in
/// psn_no order. Returns the next `after` (None when done) and how many were re-sealed.
pub fn rekey_persons(tx: &mut dyn Tx, after: &str, limit: i64) -> Result<(Option<String>, u64)> {
    let v = vault_of(tx, "person")?;
    let sql = format!("SELECT {PERSON_COLS}, cert_bidx FROM person WHERE psn_no > $1 ORDER BY psn_no LIMIT $2");
    let rows = tx.query(&sql, params![after, limit])?;
    let mut n = 0;
    for r in &rows {
        let p = person_from(&v, r)?;
        let sealed = [r.opt_str(2)?, r.opt_str(3)?, r.opt_str(8)?, r.opt_str(9)?];
        let idx = v.blind_index(CERT_INDEX, &normalise_certno(&p.certno));
        if sealed.iter().flatten().all(|s| v.is_current(s)) && r.str(11)? == idx {
            continue;
        }
        let seal = |col: &str, text: &str| v.seal(&aad(col, &p.psn_no), text);
        tx.execute(
            "UPDATE person SET certno = $2, cert_bidx = $3, psn_name = $4, tel = $5, addr = $6 WHERE psn_no = $1",
            params![
                &p.psn_no,
                seal("certno", &p.certno),
                idx,
                seal("psn_name", &p.psn_name),
                p.tel.as_deref().map(|t| seal("tel", t)),
                p.addr.as_deref().map(|a| seal("addr", a))
            ],
        )?;
        n += 1;
    }
    let next = if (rows.len() as i64) < limit { None } else { rows.last().map(|r| r.str(0)).transpose()? };
    Ok((next, n))
}

/// The key ids persons' sealed fields carry (the name is always sealed, so it stands for the
/// row). A key ring that holds none of them cannot open this store: checked at startup.
/// The least key id of a sealed name after `$1`: one probe of the index `person_key_id`.
pub const KEY_ID_PROBE: &str = "SELECT MIN(substr(psn_name, 1, 8)) FROM person WHERE substr(psn_name, 1, 8) > $1";

/// Walks the index `person_key_id` one distinct value at a time (a probe per key id, not a
/// scan of the table: it runs at every start).
pub fn sealed_key_ids(tx: &mut dyn Tx) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let row = tx.query_opt(KEY_ID_PROBE, params![&after])?;
        match row.map(|r| r.opt_str(0)).transpose()?.flatten() {
            Some(id) => {
                after = id.clone();
                ids.push(id);
            }
            None => return Ok(ids),
        }
    }
}

/// Persons in psn_no order, `limit` at most, after `after` (keyset paging for exports).
pub fn persons_after(tx: &mut dyn Tx, after: &str, limit: i64) -> Result<Vec<Person>> {
    let v = vault_of(tx, "person")?;
    let sql = format!("SELECT {PERSON_COLS} FROM person WHERE psn_no > $1 ORDER BY psn_no LIMIT $2");
    tx.query(&sql, params![after, limit])?.iter().map(|r| person_from(&v, r)).collect()
}

pub fn count_persons(tx: &mut dyn Tx) -> Result<i64> {
    let row = tx.query_opt("SELECT COUNT(*) FROM person", params![])?;
    Ok(row.map(|r| r.i64(0)).transpose()?.unwrap_or(0))
}

/// Records a special identity. The row carries the person's region, so the person must exist.
pub fn insert_person_idet(tx: &mut dyn Tx, psn_no: &str, i: &PersonIdet) -> Result<()> {
    let n = tx.execute(
        "INSERT INTO person_idet (psn_no, psn_idet_type, psn_type_lv, begndate, enddate, memo, admdvs)
         SELECT $1, $2, $3, $4, $5, $6, admdvs FROM person WHERE psn_no = $1
         ON CONFLICT DO NOTHING",
        params![psn_no, &i.psn_idet_type, i.psn_type_lv.as_deref(), i.begndate, i.enddate, i.memo.as_deref()],
    )?;
    if n == 0 {
        return Err(match person_by_psn_no(tx, psn_no)? {
            None => RegistryError::NotFound(format!("person {psn_no}")),
            Some(_) => {
                RegistryError::Duplicate(format!("identity {} of person {psn_no} from {}", i.psn_idet_type, i.begndate))
            }
        });
    }
    Ok(())
}

/// The identities of a person in force on `date`, by type.
pub fn person_idets_as_of(tx: &mut dyn Tx, psn_no: &str, date: Date) -> Result<Vec<PersonIdet>> {
    let rows = tx.query(
        "SELECT psn_idet_type, psn_type_lv, begndate, enddate, memo FROM person_idet
         WHERE psn_no = $1 AND begndate <= $2 AND (enddate IS NULL OR enddate > $2)
         ORDER BY psn_idet_type, begndate",
        params![psn_no, date],
    )?;
    rows.iter()
        .map(|r| {
            Ok(PersonIdet {
                psn_idet_type: r.str(0)?,
                psn_type_lv: r.opt_str(1)?,
                begndate: r.date(2)?,
                enddate: r.opt_date(3)?,
                memo: r.opt_str(4)?,
            })
        })
        .collect()
}

// Enrollments --------------------------------------------------------------------------------

pub fn insert_enrollment(tx: &mut dyn Tx, e: &Enrollment, updt_time: DateTime) -> Result<()> {
    let n = tx.execute(
        "INSERT INTO enrollment (psn_no, insutype, begndate, enddate, paus_date, psn_type,
           psn_insu_stas, insuplc_admdvs, emp_no, cvlserv_flag, updt_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING",
        params![
            &e.psn_no,
            &e.insutype,
            e.begndate,
            e.enddate,
            e.paus_date,
            &e.psn_type,
            &e.psn_insu_stas,
            &e.insuplc_admdvs,
            e.emp_no.as_deref(),
            e.cvlserv_flag,
            updt_time
        ],
    )?;
    if n == 0 {
        return Err(RegistryError::Duplicate(format!(
            "enrollment of {} in {} from {}",
            e.psn_no, e.insutype, e.begndate
        )));
    }
    Ok(())
}

/// Ends an enrollment period on `enddate` (exclusive), e.g. on retirement or a move.
pub fn end_enrollment(
    tx: &mut dyn Tx,
    psn_no: &str,
    insutype: &str,
    begndate: Date,
    enddate: Date,
    updt_time: DateTime,
) -> Result<()> {
    let n = tx.execute(
        "UPDATE enrollment SET enddate = $1, updt_time = $2
         WHERE psn_no = $3 AND insutype = $4 AND begndate = $5",
        params![enddate, updt_time, psn_no, insutype, begndate],
    )?;
    if n == 0 {
        return Err(RegistryError::NotFound(format!("enrollment of {psn_no} in {insutype} from {begndate}")));
    }
    Ok(())
}

const ENROLLMENT_COLS: &str = "psn_no, insutype, begndate, enddate, paus_date, psn_type, \
    psn_insu_stas, insuplc_admdvs, emp_no, cvlserv_flag";

fn enrollment_from(row: &Row) -> Result<Enrollment> {
    Ok(Enrollment {
        psn_no: row.str(0)?,
        insutype: row.str(1)?,
        begndate: row.date(2)?,
        enddate: row.opt_date(3)?,
        paus_date: row.opt_date(4)?,
        psn_type: row.str(5)?,
        psn_insu_stas: row.str(6)?,
        insuplc_admdvs: row.str(7)?,
        emp_no: row.opt_str(8)?,
        cvlserv_flag: row.bool(9)?,
    })
}

/// Every enrollment of the person active on `date` (see [`Enrollment::active_on`]), by
/// insurance type. SQL narrows by the date range; the domain rule decides pause and status, so
/// there is one definition of "active".
pub fn enrollments_as_of(tx: &mut dyn Tx, psn_no: &str, date: Date) -> Result<Vec<Enrollment>> {
    let sql = format!(
        "SELECT {ENROLLMENT_COLS} FROM enrollment
         WHERE psn_no = $1 AND begndate <= $2 AND (enddate IS NULL OR enddate > $2)
         ORDER BY insutype, begndate DESC"
    );
    let rows = tx.query(&sql, params![psn_no, date])?;
    let mut out: Vec<Enrollment> = Vec::with_capacity(rows.len());
    for row in &rows {
        let e = enrollment_from(row)?;
        // Overlapping periods of one type should not exist; if they do, the latest start wins.
        if e.active_on(date) && out.last().is_none_or(|l| l.insutype != e.insutype) {
            out.push(e);
        }
    }
    Ok(out)
}

pub fn enrollment_as_of(tx: &mut dyn Tx, psn_no: &str, insutype: &str, date: Date) -> Result<Option<Enrollment>> {
    let all = enrollments_as_of(tx, psn_no, date)?;
    Ok(all.into_iter().find(|e| e.insutype == insutype))
}

/// Every enrollment period of the person, active or not, by type and start.
pub fn enrollments_of(tx: &mut dyn Tx, psn_no: &str) -> Result<Vec<Enrollment>> {
    let sql = format!("SELECT {ENROLLMENT_COLS} FROM enrollment WHERE psn_no = $1 ORDER BY insutype, begndate");
    tx.query(&sql, params![psn_no])?.iter().map(enrollment_from).collect()
}

// Contributions and the personal-account ledger ----------------------------------------------

/// Records one month's contribution and, when part of it goes to the personal account, credits
/// the account in the same transaction, so the two can never disagree. Returns the entry.
pub fn record_contribution(tx: &mut dyn Tx, c: &Contribution, time: DateTime) -> Result<Option<AccountEntry>> {
    let n = tx.execute(
        "INSERT INTO contribution (id, psn_no, insutype, admdvs, period_ym, emp_amt, psn_amt,
           acct_amt, rcv_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING",
        params![c.id, &c.psn_no, &c.insutype, &c.admdvs, &c.period_ym, c.emp_amt, c.psn_amt, c.acct_amt, c.rcv_date],
    )?;
    if n == 0 {
        return Err(RegistryError::Duplicate(format!(
            "contribution {} or of {} in {} for {}",
            c.id, c.psn_no, c.insutype, c.period_ym
        )));
    }
    if c.acct_amt.0 <= 0 {
        return Ok(None);
    }
    let id = c.id.to_string();
    let entry = append_account_entry(tx, &c.psn_no, &c.admdvs, c.acct_amt, EntryKind::Credit, Some(&id), time)?;
    Ok(Some(entry))
}

/// The balance: `balance_after` of the latest entry, zero for an account without entries.
pub fn account_balance(tx: &mut dyn Tx, psn_no: &str) -> Result<Fen> {
    Ok(last_entry(tx, psn_no, "")?.map_or(Fen::ZERO, |(_, b)| b))
}

/// The balance at the end of `at` (entries are append-only, so history is exact).
pub fn account_balance_at(tx: &mut dyn Tx, psn_no: &str, at: DateTime) -> Result<Fen> {
    let row = tx.query_opt(
        "SELECT balance_after FROM acct_entry WHERE psn_no = $1 AND entry_time <= $2 ORDER BY seq DESC LIMIT 1",
        params![psn_no, at],
    )?;
    Ok(row.map(|r| r.fen(0)).transpose()?.unwrap_or(Fen::ZERO))
}

/// (seq, balance_after) of the latest entry.
fn last_entry(tx: &mut dyn Tx, psn_no: &str, lock: &str) -> Result<Option<(i64, Fen)>> {
    let sql = format!("SELECT seq, balance_after FROM acct_entry WHERE psn_no = $1 ORDER BY seq DESC LIMIT 1{lock}");
    let row = tx.query_opt(&sql, params![psn_no])?;
    Ok(row.map(|r| Ok::<_, DbError>((r.i64(0)?, r.fen(1)?))).transpose()?)
}

/// Appends one entry to a personal account and returns it. A debit larger than the balance is
/// refused with `InsufficientBalance` and writes nothing.
///
/// Concurrency: where the engine has row locks, the person row is locked first. Locking the
/// latest entry alone would not do: the first entry has no row to lock, and under READ
/// COMMITTED a waiter re-reads the same old row after the lock is released instead of the new
/// latest one. After the person lock, the next statement sees every committed entry.
/// UNIQUE (psn_no, seq) remains the last line of defence: two appends that both computed the
/// same seq can never both commit.
pub fn append_account_entry(
    tx: &mut dyn Tx,
    psn_no: &str,
    admdvs: &str,
    amount: Fen,
    kind: EntryKind,
    ref_id: Option<&str>,
    time: DateTime,
) -> Result<AccountEntry> {
    let lock = tx.dialect().for_update();
    let (seq, balance) = if lock.is_empty() {
        // One writer at a time: nothing to serialize, and only a new account needs the
        // person check (this path carries the bulk of the demo seed).
        match last_entry(tx, psn_no, lock)? {
            Some(last) => last,
            None => {
                require_person(tx, psn_no, lock)?;
                (0, Fen::ZERO)
            }
        }
    } else {
        require_person(tx, psn_no, lock)?;
        last_entry(tx, psn_no, lock)?.unwrap_or((0, Fen::ZERO))
    };
    let balance_after = balance + amount;
    if balance_after.0 < 0 {
        return Err(RegistryError::InsufficientBalance { psn_no: psn_no.to_owned(), balance, amount: -amount });
    }
    let entry = AccountEntry {
        psn_no: psn_no.to_owned(),
        seq: seq + 1,
        entry_time: time,
        amount,
        balance_after,
        kind,
        ref_id: ref_id.map(str::to_owned),
        memo: None,
    };
    insert_entry(tx, &entry, admdvs)?;
    Ok(entry)
}

/// The person must exist; with `lock`, their row is locked until the transaction ends.
fn require_person(tx: &mut dyn Tx, psn_no: &str, lock: &str) -> Result<()> {
    let sql = format!("SELECT psn_no FROM person WHERE psn_no = $1{lock}");
    match tx.query_opt(&sql, params![psn_no])? {
        Some(_) => Ok(()),
        None => Err(RegistryError::NotFound(format!("person {psn_no}"))),
    }
}

fn insert_entry(tx: &mut dyn Tx, e: &AccountEntry, admdvs: &str) -> Result<()> {
    let r = tx.execute(
        "INSERT INTO acct_entry (psn_no, seq, admdvs, entry_time, amount, balance_after, kind,
           ref_id, memo)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            &e.psn_no,
            e.seq,
            admdvs,
            e.entry_time,
            e.amount,
            e.balance_after,
            e.kind.as_str(),
            e.ref_id.as_deref(),
            e.memo.as_deref()
        ],
    );
    match r {
        Ok(_) => Ok(()),
        Err(DbError::Unique(_)) => {
            Err(RegistryError::Duplicate(format!("account entry {} of {} (a concurrent append won)", e.seq, e.psn_no)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The latest `limit` entries of an account, newest first.
pub fn account_entries(tx: &mut dyn Tx, psn_no: &str, limit: i64) -> Result<Vec<AccountEntry>> {
    let rows = tx.query(
        "SELECT psn_no, seq, entry_time, amount, balance_after, kind, ref_id, memo
         FROM acct_entry WHERE psn_no = $1 ORDER BY seq DESC LIMIT $2",
        params![psn_no, limit],
    )?;
    rows.iter().map(entry_from).collect()
}

fn entry_from(row: &Row) -> Result<AccountEntry> {
    let kind_text = row.str(5)?;
    let kind = EntryKind::parse(&kind_text).ok_or_else(|| DbError::Decode(format!("acct_entry.kind {kind_text:?}")))?;
    Ok(AccountEntry {
        psn_no: row.str(0)?,
        seq: row.i64(1)?,
        entry_time: DateTime(row.i64(2)?),
        amount: row.fen(3)?,
        balance_after: row.fen(4)?,
        kind,
        ref_id: row.opt_str(6)?,
        memo: row.opt_str(7)?,
    })
}

// Family mutual aid --------------------------------------------------------------------------

/// Binds a beneficiary to an owner's account. Both must be registered persons; the row carries
/// the owner's region because the owner's account pays.
pub fn bind_mulaid(tx: &mut dyn Tx, b: &MulaidBinding) -> Result<()> {
    if b.owner_psn_no == b.benef_psn_no {
        return Err(RegistryError::Invalid { field: "benef_psn_no", value: b.benef_psn_no.clone() });
    }
    for psn_no in [&b.owner_psn_no, &b.benef_psn_no] {
        if person_by_psn_no(tx, psn_no)?.is_none() {
            return Err(RegistryError::NotFound(format!("person {psn_no}")));
        }
    }
    let n = tx.execute(
        "INSERT INTO mulaid_binding (owner_psn_no, benef_psn_no, relation, begndate, enddate, admdvs)
         SELECT $1, $2, $3, $4, $5, admdvs FROM person WHERE psn_no = $1
         ON CONFLICT DO NOTHING",
        params![&b.owner_psn_no, &b.benef_psn_no, &b.relation, b.begndate, b.enddate],
    )?;
    if n == 0 {
        return Err(RegistryError::Duplicate(format!(
            "mutual-aid binding {} → {} from {}",
            b.owner_psn_no, b.benef_psn_no, b.begndate
        )));
    }
    Ok(())
}

/// The bindings in force on `date` whose owners may pay for `benef_psn_no`: the oldest binding
/// first, then by owner, so the payer chosen for a settlement is always the same.
pub fn mulaid_owners_of(tx: &mut dyn Tx, benef_psn_no: &str, date: Date) -> Result<Vec<MulaidBinding>> {
    let rows = tx.query(
        "SELECT owner_psn_no, benef_psn_no, relation, begndate, enddate FROM mulaid_binding
         WHERE benef_psn_no = $1 AND begndate <= $2 AND (enddate IS NULL OR enddate > $2)
         ORDER BY begndate, owner_psn_no",
        params![benef_psn_no, date],
    )?;
    rows.iter()
        .map(|r| {
            Ok(MulaidBinding {
                owner_psn_no: r.str(0)?,
                benef_psn_no: r.str(1)?,
                relation: r.str(2)?,
                begndate: r.date(3)?,
                enddate: r.opt_date(4)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_certificates() {
        assert_eq!(super::mask("11010519491231002X"), "110105********002X");
        assert_eq!(super::mask("12345"), "*****");
    }
}
