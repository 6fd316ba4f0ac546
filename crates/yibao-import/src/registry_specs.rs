//! Institutions and persons.

use crate::fields::{mask, Fields, Reason};
use crate::spec::{flag, opt_string, Emit, Spec, WriteError, EXPORT_PAGE};
use crate::ImportError;
use yibao_domain::codes::{Admdvs, FixmedinsCode, FixmedinsKind, IdCardNo, PsnNo, Uscc};
use yibao_domain::dict::grade_from_hosp_lv;
use yibao_domain::registry::{
    Institution, Person, CERT_TYPE_ID_CARD, FIXMEDINS_TYPE_HOSPITAL, FIXMEDINS_TYPE_PHARMACY,
};
use yibao_domain::DateTime;
use yibao_store::registry as reg;
use yibao_store::Tx;

fn admdvs(f: &Fields) -> Result<String, Reason> {
    f.parse("admdvs", Admdvs::parse).map(|a| a.to_string())
}

// Institutions -------------------------------------------------------------------------------

pub struct InstitutionSpec;

const INSTITUTION_COLUMNS: &[&str] = &[
    "fixmedins_code",
    "fixmedins_name",
    "fixmedins_type",
    "hosp_lv",
    "admdvs",
    "uscc",
    "remote_flag",
    "agre_begn",
    "agre_end",
];

/// The code's prefix says what the institution is; the type column must agree.
fn fixmedins_type(f: &Fields, code: &FixmedinsCode) -> Result<String, Reason> {
    let t = f.one_of("fixmedins_type", &[FIXMEDINS_TYPE_HOSPITAL, FIXMEDINS_TYPE_PHARMACY])?;
    let implied = match code.kind() {
        FixmedinsKind::Hospital => FIXMEDINS_TYPE_HOSPITAL,
        FixmedinsKind::Pharmacy => FIXMEDINS_TYPE_PHARMACY,
    };
    if t != implied {
        return Err(format!("fixmedins_type {t:?} does not match code {code}, which is type {implied}"));
    }
    Ok(t)
}

impl Spec for InstitutionSpec {
    type Rec = Institution;

    fn columns(&self) -> &'static [&'static str] {
        INSTITUTION_COLUMNS
    }

    fn parse(&self, f: &Fields) -> Result<Institution, Reason> {
        let code = f.parse("fixmedins_code", FixmedinsCode::parse)?;
        let hosp_lv = f.parse("hosp_lv", |v| {
            grade_from_hosp_lv(v).map(|_| v.to_owned()).ok_or("must be a national hosp_lv code, 01 to 14")
        })?;
        let (agre_begn, agre_end) = f.period("agre_begn", "agre_end")?;
        Ok(Institution {
            fixmedins_type: fixmedins_type(f, &code)?,
            fixmedins_code: code.to_string(),
            fixmedins_name: f.text("fixmedins_name")?,
            hosp_lv,
            admdvs: admdvs(f)?,
            uscc: f.opt_parse("uscc", Uscc::parse)?.map(|u| u.to_string()),
            remote_flag: f.flag("remote_flag")?,
            agre_begn,
            agre_end,
        })
    }

    fn keys(&self, r: &Institution) -> Vec<(&'static str, String)> {
        vec![("fixmedins_code", r.fixmedins_code.clone())]
    }

    fn write(&self, tx: &mut dyn Tx, r: &Institution, _rid: i64, now: DateTime) -> Result<(), WriteError> {
        Ok(reg::upsert_institution(tx, r, now)?)
    }

    fn values(&self, r: &Institution) -> Vec<String> {
        vec![
            r.fixmedins_code.clone(),
            r.fixmedins_name.clone(),
            r.fixmedins_type.clone(),
            r.hosp_lv.clone(),
            r.admdvs.clone(),
            opt_string(&r.uscc),
            flag(r.remote_flag),
            r.agre_begn.to_string(),
            opt_string(&r.agre_end),
        ]
    }

    fn export(&self, tx: &mut dyn Tx, emit: &mut Emit<Institution>) -> Result<(), ImportError> {
        let mut after = String::new();
        loop {
            let batch = reg::institutions_after(tx, &after, EXPORT_PAGE)?;
            for i in &batch {
                emit(i)?;
            }
            match batch.last() {
                Some(last) => after = last.fixmedins_code.clone(),
                None => return Ok(()),
            }
        }
    }
}

// Persons ------------------------------------------------------------------------------------

pub struct PersonSpec;

const PERSON_COLUMNS: &[&str] =
    &["psn_no", "psn_cert_type", "certno", "psn_name", "gend", "brdy", "naty", "admdvs", "tel", "addr", "death_date"];

/// The national psn_cert_type dictionary.
const CERT_TYPES: &[&str] = &[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "90", "91",
    "99", "990201", "990102",
];
const CERTNO_MAX: usize = 50;

/// Identity details checked against each other: a resident identity number must be valid and
/// agree with the gender and birth date given beside it (which it supplies when they are left
/// out).
struct Identity {
    certno: String,
    gend: String,
    brdy: yibao_domain::Date,
}

fn identity(f: &Fields, cert_type: &str) -> Result<Identity, Reason> {
    if cert_type != CERT_TYPE_ID_CARD {
        let certno = f.text("certno")?;
        if certno.chars().count() > CERTNO_MAX {
            return Err(format!("certno: at most {CERTNO_MAX} characters"));
        }
        return Ok(Identity { certno, gend: f.one_of("gend", &["1", "2", "0", "9"])?, brdy: f.date("brdy")? });
    }
    let raw = f.req("certno")?;
    let id = IdCardNo::parse(raw).map_err(|e| format!("certno {}: {e}", mask(raw)))?;
    let gend = id.gender().code().to_owned();
    if let Some(given) = f.opt("gend") {
        if given != gend {
            return Err(format!("gend {given:?} does not match certno {}, which gives {gend}", id.masked()));
        }
    }
    let brdy = id.birth_date();
    if let Some(given) = f.opt_date("brdy")? {
        if given != brdy {
            return Err(format!("brdy {given} does not match certno {}, which gives {brdy}", id.masked()));
        }
    }
    Ok(Identity { certno: id.expose().to_owned(), gend, brdy })
}

impl Spec for PersonSpec {
    type Rec = Person;

    fn columns(&self) -> &'static [&'static str] {
        PERSON_COLUMNS
    }

    fn parse(&self, f: &Fields) -> Result<Person, Reason> {
        let psn_cert_type = f.one_of("psn_cert_type", CERT_TYPES)?;
        let id = identity(f, &psn_cert_type)?;
        let naty = f.parse("naty", |v| {
            if v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()) {
                Ok(v.to_owned())
            } else {
                Err("must be a 2-digit ethnicity code")
            }
        })?;
        let death_date = f.opt_date("death_date")?;
        if death_date.is_some_and(|d| d < id.brdy) {
            return Err(format!("death_date {} is before brdy {}", opt_string(&death_date), id.brdy));
        }
        Ok(Person {
            psn_no: f.parse("psn_no", PsnNo::parse)?.to_string(),
            psn_cert_type,
            certno: id.certno,
            psn_name: f.text("psn_name")?,
            gend: id.gend,
            brdy: id.brdy,
            naty,
            admdvs: admdvs(f)?,
            tel: f.opt_text("tel"),
            addr: f.opt_text("addr"),
            death_date,
        })
    }

    /// One row per person and one person per certificate.
    fn keys(&self, r: &Person) -> Vec<(&'static str, String)> {
        vec![("psn_no", r.psn_no.clone()), ("psn_cert_type and certno", format!("{} {}", r.psn_cert_type, r.certno))]
    }

    fn write(&self, tx: &mut dyn Tx, r: &Person, _rid: i64, now: DateTime) -> Result<(), WriteError> {
        Ok(reg::upsert_person(tx, r, now)?)
    }

    fn values(&self, r: &Person) -> Vec<String> {
        vec![
            r.psn_no.clone(),
            r.psn_cert_type.clone(),
            r.certno.clone(),
            r.psn_name.clone(),
            r.gend.clone(),
            r.brdy.to_string(),
            r.naty.clone(),
            r.admdvs.clone(),
            opt_string(&r.tel),
            opt_string(&r.addr),
            opt_string(&r.death_date),
        ]
    }

    fn export(&self, tx: &mut dyn Tx, emit: &mut Emit<Person>) -> Result<(), ImportError> {
        let mut after = String::new();
        loop {
            let batch = reg::persons_after(tx, &after, EXPORT_PAGE)?;
            for p in &batch {
                emit(p)?;
            }
            match batch.last() {
                Some(last) => after = last.psn_no.clone(),
                None => return Ok(()),
            }
        }
    }
}
