//! Typed access to a record's fields. Every error names the column and quotes the value, so a
//! rejected row says exactly what to fix.

use crate::read::Record;
use std::fmt::Display;
use yibao_domain::{Date, Ratio, UnitPrice};

pub type Reason = String;

pub struct Fields<'a>(pub &'a Record);

impl Fields<'_> {
    /// The trimmed value, None when absent or blank.
    pub fn opt(&self, col: &str) -> Option<&str> {
        self.0.fields.get(col).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn req(&self, col: &str) -> Result<&str, Reason> {
        self.opt(col).ok_or_else(|| format!("{col} is required"))
    }

    pub fn text(&self, col: &str) -> Result<String, Reason> {
        self.req(col).map(str::to_owned)
    }

    pub fn opt_text(&self, col: &str) -> Option<String> {
        self.opt(col).map(str::to_owned)
    }

    /// Parses a required value, reporting `col "value": reason` on failure.
    pub fn parse<T, E: Display>(&self, col: &str, f: impl Fn(&str) -> Result<T, E>) -> Result<T, Reason> {
        let v = self.req(col)?;
        f(v).map_err(|e| format!("{col} {v:?}: {e}"))
    }

    pub fn opt_parse<T, E: Display>(&self, col: &str, f: impl Fn(&str) -> Result<T, E>) -> Result<Option<T>, Reason> {
        match self.opt(col) {
            None => Ok(None),
            Some(v) => f(v).map(Some).map_err(|e| format!("{col} {v:?}: {e}")),
        }
    }

    pub fn date(&self, col: &str) -> Result<Date, Reason> {
        self.parse(col, Date::parse)
    }

    pub fn opt_date(&self, col: &str) -> Result<Option<Date>, Reason> {
        self.opt_parse(col, Date::parse)
    }

    pub fn ratio(&self, col: &str) -> Result<Ratio, Reason> {
        self.parse(col, Ratio::parse)
    }

    pub fn opt_unit_price(&self, col: &str) -> Result<Option<UnitPrice>, Reason> {
        let p = self.opt_parse(col, UnitPrice::parse)?;
        match p {
            Some(v) if v.0 < 0 => Err(format!("{col} {:?}: must not be negative", v.to_decimal_string())),
            other => Ok(other),
        }
    }

    /// A 0/1 flag; absent means 0.
    pub fn flag(&self, col: &str) -> Result<bool, Reason> {
        match self.opt(col) {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(v) => Err(format!("{col} {v:?}: must be 0 or 1")),
        }
    }

    pub fn opt_u32(&self, col: &str) -> Result<Option<u32>, Reason> {
        self.opt_parse(col, |v| v.parse::<u32>().map_err(|_| "must be a whole number"))
    }

    /// `[begndate, enddate)`: the end, when given, must come after the start.
    pub fn period(&self, beg: &str, end: &str) -> Result<(Date, Option<Date>), Reason> {
        let b = self.date(beg)?;
        let e = self.opt_date(end)?;
        if let Some(e) = e {
            if e <= b {
                return Err(format!("{end} {e} must be after {beg} {b}"));
            }
        }
        Ok((b, e))
    }

    /// A value from a closed set of codes.
    pub fn one_of(&self, col: &str, allowed: &[&str]) -> Result<String, Reason> {
        let v = self.req(col)?;
        if allowed.contains(&v) {
            Ok(v.to_owned())
        } else {
            Err(format!("{col} {v:?}: must be one of {}", allowed.join(", ")))
        }
    }
}

/// A list of `a;b;c`.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Masks a certificate number in messages: the file's owner has the line number, logs need not
/// carry the number.
pub fn mask(certno: &str) -> String {
    let chars: Vec<char> = certno.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}
