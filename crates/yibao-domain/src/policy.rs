//! Policy parameters: one document per pooling region × insurance type × effective period.
//! The format (docs/policy-format.md) is JSON; it is validated on load with errors that name
//! the path of the offending value. Policy is data, not code: every regional difference the
//! engine knows about is a parameter here.

use crate::date::Date;
use crate::dict::{PsnCategory, VisitClass};
use crate::money::{Fen, Ratio};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Pooling region (insured place) the policy belongs to.
    pub admdvs: String,
    /// The primary insurance type settled under it: 310 employee, 390 resident, 510 maternity.
    pub insutype: String,
    pub ver: String,
    pub begndate: Date,
    #[serde(default)]
    pub enddate: Option<Date>,
    #[serde(default)]
    pub name: String,
    /// Where the parameters come from (document numbers, pages), for auditors.
    #[serde(default)]
    pub source: String,
    /// The fund code of the basic pooled fund (310100 or 390100).
    pub pool_fund: String,
    /// Basic pooled-fund rules, one per group of visit classes.
    pub pools: Vec<PoolRule>,
    #[serde(default)]
    pub serious: Option<SeriousLayer>,
    #[serde(default)]
    pub civil_servant: Option<CivilServant>,
    #[serde(default)]
    pub assistance: Option<Assistance>,
    #[serde(default)]
    pub account: Option<AccountRule>,
    #[serde(default)]
    pub remote: RemoteReductions,
}

/// Rows that apply to some hospital grades and person categories carry `grades` and `psn`
/// lists; an empty list matches all. The first matching row wins.
pub trait Selects {
    fn grades(&self) -> &[u8];
    fn psn(&self) -> &[PsnCategory];
    fn matches(&self, grade: u8, psn: PsnCategory) -> bool {
        (self.grades().is_empty() || self.grades().contains(&grade))
            && (self.psn().is_empty() || self.psn().contains(&psn))
    }
}

macro_rules! selects {
    ($($t:ty),*) => {$(
        impl Selects for $t {
            fn grades(&self) -> &[u8] { &self.grades }
            fn psn(&self) -> &[PsnCategory] { &self.psn }
        }
    )*};
}
selects!(DeductibleRow, BandTable, CapRow, CivilServantRow);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolRule {
    /// The visit classes this rule settles.
    pub visit_classes: Vec<VisitClass>,
    /// Accumulator group shared by the annual cap and year-scoped deductibles and bands.
    pub group: String,
    pub deductible: Deductible,
    pub bands: Bands,
    /// Annual cap on this group's pooled-fund payments (first matching row; the last row must
    /// match everyone). A rule without caps must say so in `no_annual_cap`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annual_caps: Vec<CapRow>,
    /// Why this rule has no annual cap (e.g. the regional rule says so): a missing cap must be a
    /// stated decision, never an omission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_annual_cap: Option<String>,
    /// Where each parameter group's values come from; not used in the computation.
    #[serde(default, skip_serializing_if = "PoolProvenance::is_empty")]
    pub provenance: PoolProvenance,
}

/// How far a parameter value can be trusted: a text that starts with one of the evidence levels
/// of domain.md §0.1 — `verified:` ([V], read in an official source), `third-party:` ([V3]),
/// `derived:` ([D]) or `assumed:` (no source; a demo or placeholder value) — then says where
/// the value comes from. The loader checks the level and otherwise ignores it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Provenance(pub String);

impl Provenance {
    pub const LEVELS: [&'static str; 4] = ["verified:", "third-party:", "derived:", "assumed:"];

    pub fn level(&self) -> Option<&'static str> {
        Self::LEVELS.iter().copied().find(|l| self.0.starts_with(l)).map(|l| l.trim_end_matches(':'))
    }
}

/// The provenance of a pool rule's parameter groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolProvenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deductible: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_caps: Option<Provenance>,
}

impl PoolProvenance {
    fn is_empty(&self) -> bool {
        self.deductible.is_none() && self.bands.is_none() && self.annual_caps.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Counted per admission (per visit); mid-stay segments of one stay share it.
    Admission,
    /// Consumed over the calendar year.
    Year,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deductible {
    pub scope: Scope,
    /// First matching row wins. No matching row = no deductible.
    pub rows: Vec<DeductibleRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeductibleRow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psn: Vec<PsnCategory>,
    /// amounts[i] applies to the (i+1)-th admission of the year; the last repeats. With year
    /// scope only amounts[0] is used.
    pub amounts: Vec<Fen>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandBasis {
    /// Band limits count the deductible (Beijing: "起付标准以上至3万元").
    WithDeductible,
    /// Band limits count only the amount above the deductible (苏州).
    AboveDeductible,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    pub basis: BandBasis,
    pub scope: Scope,
    /// First matching table wins.
    pub tables: Vec<BandTable>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandTable {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psn: Vec<PsnCategory>,
    pub bands: Vec<Band>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Upper limit of the band (exclusive); the last band has none.
    #[serde(default)]
    pub upto: Option<Fen>,
    /// Share the fund pays inside the band.
    pub ratio: Ratio,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapRow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psn: Vec<PsnCategory>,
    pub amount: Fen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriousBasis {
    /// The policy-range amount the person still bears after the basic fund (resident 大病,
    /// 南昌 职工大病).
    PersonalBurden,
    /// The policy-range amount beyond the basic fund's annual cap (employee 大额补助).
    OverBasicCap,
}

/// Second layer: resident serious illness (392 → 390200) or employee large amount (330 → 330100).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriousLayer {
    /// The insurance type the person must hold for the layer to pay (330 or 392).
    pub insutype: String,
    pub fund: String,
    pub basis: SeriousBasis,
    pub visit_classes: Vec<VisitClass>,
    /// Annual deductible on the cumulative basis amount.
    pub deductible: Fen,
    /// Bands on the cumulative basis amount (the deductible counts towards the limits).
    pub bands: Vec<Band>,
    #[serde(default)]
    pub annual_cap: Option<Fen>,
    /// Why the layer has no annual cap, when it has none (a missing cap is a stated decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_annual_cap: Option<String>,
    /// Better terms for hardship groups (特困, 低保, 返贫致贫), by person identity type.
    #[serde(default)]
    pub hardship: Option<Hardship>,
    /// Where the values come from (an evidence level first); not used in the computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardship {
    pub idet_types: Vec<String>,
    pub deductible: Fen,
    /// Percentage points added to every band's ratio.
    pub ratio_plus: Ratio,
    /// No annual cap for hardship groups.
    #[serde(default)]
    pub no_cap: bool,
}

/// 公务员医疗补助: pays part of the deductible and of the remaining policy-range burden.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CivilServant {
    pub insutype: String,
    pub fund: String,
    pub visit_classes: Vec<VisitClass>,
    pub rows: Vec<CivilServantRow>,
    #[serde(default)]
    pub annual_cap: Option<Fen>,
    /// Why the subsidy has no annual cap, when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_annual_cap: Option<String>,
    /// Where the values come from (an evidence level first); not used in the computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CivilServantRow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psn: Vec<PsnCategory>,
    pub dedc_ratio: Ratio,
    pub coins_ratio: Ratio,
}

/// 医疗救助 by assistance class (person identity type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assistance {
    pub fund: String,
    pub visit_classes: Vec<VisitClass>,
    pub classes: Vec<AssistanceClass>,
    /// Where the values come from (an evidence level first); not used in the computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceClass {
    pub idet_type: String,
    #[serde(default)]
    pub deductible: Fen,
    pub ratio: Ratio,
    #[serde(default)]
    pub annual_cap: Option<Fen>,
    /// Why the class has no annual cap, when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_annual_cap: Option<String>,
}

/// Personal account (个人账户) and family mutual aid (家庭共济).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRule {
    pub fund: String,
    pub visit_classes: Vec<VisitClass>,
    /// Whether the account may pay fully self-paid and over-cap amounts too (most regions
    /// allow it at designated institutions).
    #[serde(default = "yes")]
    pub covers_self_paid: bool,
    #[serde(default)]
    pub mutual_aid: bool,
    /// Where the values come from (an evidence level first); not used in the computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

fn yes() -> bool {
    true
}

/// Cross-region care: the insured place's ratios reduced by percentage points
/// (医保发〔2022〕22号: referral/emergency ≤ 10, other temporary ≤ 20, long-term residents 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteReductions {
    #[serde(default)]
    pub long_term: Ratio,
    #[serde(default)]
    pub referral: Ratio,
    #[serde(default)]
    pub temporary: Ratio,
    /// Where the values come from (an evidence level first); not used in the computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not valid JSON, an unknown field, a wrong type, a ratio over 1… `path` locates it.
    #[error("policy {path}: {msg}")]
    Parse { path: String, msg: String },
    #[error("policy {path}: {msg}")]
    Invalid { path: String, msg: String },
    #[error("policy versions of {admdvs}/{insutype}: {msg}")]
    Timeline { admdvs: String, insutype: String, msg: String },
}

fn invalid(path: impl Into<String>, msg: impl Into<String>) -> PolicyError {
    PolicyError::Invalid { path: path.into(), msg: msg.into() }
}

impl Policy {
    /// Parses and validates one policy document.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let p: Policy = serde_path_to_error::deserialize(de)
            .map_err(|e| PolicyError::Parse { path: e.path().to_string(), msg: e.inner().to_string() })?;
        p.validate()?;
        Ok(p)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("policy serializes")
    }

    pub fn in_force(&self, on: Date) -> bool {
        self.begndate <= on && self.enddate.is_none_or(|e| on < e)
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.admdvs.len() != 6 || !self.admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("admdvs", format!("{:?} is not a 6-digit division code", self.admdvs)));
        }
        if !crate::dict::insutype::is_primary(&self.insutype) {
            return Err(invalid(
                "insutype",
                format!("{:?} is not a primary insurance type (310, 390, 510)", self.insutype),
            ));
        }
        if self.enddate.is_some_and(|e| e <= self.begndate) {
            return Err(invalid("enddate", "must be after begndate"));
        }
        check_fund("pool_fund", &self.pool_fund)?;
        if self.pools.is_empty() {
            return Err(invalid("pools", "at least one pool rule is required"));
        }
        let mut seen: Vec<VisitClass> = Vec::new();
        for (i, pool) in self.pools.iter().enumerate() {
            let at = format!("pools[{i}]");
            pool.validate(&at)?;
            for vc in &pool.visit_classes {
                if seen.contains(vc) {
                    return Err(invalid(
                        format!("{at}.visit_classes"),
                        format!("{vc:?} is already settled by an earlier pool rule"),
                    ));
                }
                seen.push(*vc);
            }
        }
        if let Some(s) = &self.serious {
            check_fund("serious.fund", &s.fund)?;
            check_bands("serious.bands", &s.bands)?;
            check_provenance("serious.provenance", s.provenance.as_ref())?;
            check_cap_stated("serious", s.annual_cap, s.no_annual_cap.as_deref())?;
        }
        if let Some(c) = &self.civil_servant {
            check_fund("civil_servant.fund", &c.fund)?;
            check_provenance("civil_servant.provenance", c.provenance.as_ref())?;
            check_cap_stated("civil_servant", c.annual_cap, c.no_annual_cap.as_deref())?;
        }
        if let Some(a) = &self.assistance {
            check_fund("assistance.fund", &a.fund)?;
            check_provenance("assistance.provenance", a.provenance.as_ref())?;
            for (i, c) in a.classes.iter().enumerate() {
                check_cap_stated(&format!("assistance.classes[{i}]"), c.annual_cap, c.no_annual_cap.as_deref())?;
            }
        }
        if let Some(a) = &self.account {
            check_fund("account.fund", &a.fund)?;
            check_provenance("account.provenance", a.provenance.as_ref())?;
        }
        check_provenance("remote.provenance", self.remote.provenance.as_ref())?;
        Ok(())
    }

    pub fn pool_for(&self, vc: VisitClass) -> Option<&PoolRule> {
        self.pools.iter().find(|p| p.visit_classes.contains(&vc))
    }
}

impl PoolRule {
    fn validate(&self, at: &str) -> Result<(), PolicyError> {
        if self.visit_classes.is_empty() {
            return Err(invalid(format!("{at}.visit_classes"), "must name at least one visit class"));
        }
        if self.group.is_empty() || self.group.len() > 20 {
            return Err(invalid(format!("{at}.group"), "must be 1–20 characters"));
        }
        for (j, row) in self.deductible.rows.iter().enumerate() {
            if row.amounts.is_empty() || row.amounts.iter().any(|a| a.0 < 0) {
                return Err(invalid(
                    format!("{at}.deductible.rows[{j}].amounts"),
                    "needs at least one non-negative amount",
                ));
            }
        }
        if self.bands.tables.is_empty() {
            return Err(invalid(format!("{at}.bands.tables"), "at least one band table is required"));
        }
        for (j, t) in self.bands.tables.iter().enumerate() {
            check_bands(&format!("{at}.bands.tables[{j}].bands"), &t.bands)?;
        }
        // First matching table wins: a last table that matches only some would make the fund
        // pay nothing to the rest, silently.
        let last = self.bands.tables.len() - 1;
        if !self.bands.tables[last].grades.is_empty() || !self.bands.tables[last].psn.is_empty() {
            return Err(invalid(
                format!("{at}.bands.tables[{last}]"),
                "the last band table must match everyone (no grades or psn)",
            ));
        }
        for (j, c) in self.annual_caps.iter().enumerate() {
            if c.amount.0 < 0 {
                return Err(invalid(format!("{at}.annual_caps[{j}].amount"), "must not be negative"));
            }
        }
        match (self.annual_caps.last(), self.no_annual_cap.as_deref().map(str::trim)) {
            (None, None | Some("")) => {
                return Err(invalid(
                    format!("{at}.annual_caps"),
                    "a pool rule needs annual caps, or \"no_annual_cap\" saying why it has none",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(invalid(format!("{at}.no_annual_cap"), "the rule has annual caps; remove one of the two"))
            }
            // First matching row wins: a last row that matches only some would leave the rest
            // uncapped by omission.
            (Some(last), None) if !last.grades.is_empty() || !last.psn.is_empty() => {
                return Err(invalid(
                    format!("{at}.annual_caps[{}]", self.annual_caps.len() - 1),
                    "the last cap row must match everyone (no grades or psn)",
                ))
            }
            _ => {}
        }
        let pv = &self.provenance;
        check_provenance(&format!("{at}.provenance.deductible"), pv.deductible.as_ref())?;
        check_provenance(&format!("{at}.provenance.bands"), pv.bands.as_ref())?;
        check_provenance(&format!("{at}.provenance.annual_caps"), pv.annual_caps.as_ref())?;
        Ok(())
    }
}

/// A fund layer has an annual cap or says why not, never neither nor both.
fn check_cap_stated(at: &str, cap: Option<Fen>, none: Option<&str>) -> Result<(), PolicyError> {
    match (cap, none.map(str::trim)) {
        (None, None | Some("")) => {
            Err(invalid(format!("{at}.annual_cap"), "needs an annual cap, or \"no_annual_cap\" saying why it has none"))
        }
        (Some(_), Some(_)) => {
            Err(invalid(format!("{at}.no_annual_cap"), "it has an annual cap; remove one of the two"))
        }
        (Some(c), None) if c.0 < 0 => Err(invalid(format!("{at}.annual_cap"), "must not be negative")),
        _ => Ok(()),
    }
}

/// A group is labelled by its weakest value: a text that says part of it is assumed (or
/// derived) cannot carry a stronger level than that.
fn check_provenance(path: &str, p: Option<&Provenance>) -> Result<(), PolicyError> {
    let Some(p) = p else { return Ok(()) };
    let Some(level) = p.level() else {
        return Err(invalid(
            path,
            format!("{:?} must start with an evidence level: {}", p.0, Provenance::LEVELS.join(" ")),
        ));
    };
    let text = p.0.to_lowercase();
    let weaker = if text.contains("assumed") && level != "assumed" {
        Some("assumed")
    } else if text.contains("derived") && !matches!(level, "derived" | "assumed") {
        Some("derived")
    } else {
        None
    };
    match weaker {
        Some(w) => Err(invalid(
            path,
            format!("labelled {level:?} but says part of it is {w}: label the group by its weakest value ({w}:)"),
        )),
        None => Ok(()),
    }
}

fn check_fund(path: &str, code: &str) -> Result<(), PolicyError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(invalid(path, format!("{code:?} is not a 6-digit fund_pay_type")))
    }
}

/// Bands must rise strictly and end with an open band, so every amount falls in exactly one.
fn check_bands(path: &str, bands: &[Band]) -> Result<(), PolicyError> {
    let Some(last) = bands.last() else {
        return Err(invalid(path, "at least one band is required"));
    };
    if last.upto.is_some() {
        return Err(invalid(format!("{path}[{}].upto", bands.len() - 1), "the last band must be open (no upto)"));
    }
    let mut prev = Fen::ZERO;
    for (k, b) in bands[..bands.len() - 1].iter().enumerate() {
        let Some(upto) = b.upto else {
            return Err(invalid(format!("{path}[{k}].upto"), "only the last band may be open"));
        };
        if upto <= prev {
            return Err(invalid(
                format!("{path}[{k}].upto"),
                format!("bands overlap: {upto} is not above the previous limit {prev}"),
            ));
        }
        prev = upto;
    }
    Ok(())
}

/// The versions of one region × insurance type must tile time: no overlap, no gap, at most one
/// open-ended version and it must be the last.
pub fn validate_timeline(versions: &[&Policy]) -> Result<(), PolicyError> {
    let mut v: Vec<&Policy> = versions.to_vec();
    v.sort_by_key(|p| p.begndate);
    for w in v.windows(2) {
        let (a, b) = (w[0], w[1]);
        let err = |msg: String| PolicyError::Timeline { admdvs: a.admdvs.clone(), insutype: a.insutype.clone(), msg };
        match a.enddate {
            None => {
                return Err(err(format!("version {} is open-ended but version {} begins {}", a.ver, b.ver, b.begndate)))
            }
            Some(e) if e > b.begndate => {
                return Err(err(format!(
                    "version {} (until {e}) overlaps version {} (from {})",
                    a.ver, b.ver, b.begndate
                )))
            }
            Some(e) if e < b.begndate => {
                return Err(err(format!("gap from {e} to {} between versions {} and {}", b.begndate, a.ver, b.ver)))
            }
            _ => {}
        }
    }
    Ok(())
}
