//! Reading the `input` of a request. Every accessor names the field's full path in its error,
//! so a hospital engineer sees exactly which field is missing or malformed.

use crate::error::{biz, Result};
use serde_json::{Map, Value};
use std::borrow::Cow;
use yibao_domain::money::{parse_fixed, DecimalError};
use yibao_domain::{Date, DateTime, Fen, Qty, UnitPrice};

/// Longest text we accept in any field (the interface's largest char field is 4000).
const TEXT_MAX: usize = 4000;
/// How far past the platform's clock a time of something that happened may lie. The interface's
/// times carry no zone and come from the HIS's clock, and a registration may be made earlier the
/// same day for a later slot; a day covers both, while a typo (9999-12-31, 2062 for 2026) that
/// would open a visit nobody can settle or settle it in a year that has not begun is refused.
pub const FUTURE_TOLERANCE_SECS: i64 = 86_400;
/// Most rows in one array (fee details of one upload, reconciliation rows...).
pub const ROWS_MAX: usize = 10_000;

#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub path: &'a str,
    pub map: &'a Map<String, Value>,
}

impl<'a> Node<'a> {
    pub fn new(path: &'a str, map: &'a Map<String, Value>) -> Node<'a> {
        Node { path, map }
    }

    fn at(&self, f: &str) -> String {
        format!("{}.{f}", self.path)
    }

    /// A scalar as text: strings as they are, numbers by their exact text; "" and null = absent.
    fn text(&self, f: &str) -> Result<Option<String>> {
        match self.map.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.len() > TEXT_MAX => {
                Err(biz(format!("{}: longer than {TEXT_MAX} characters", self.at(f))))
            }
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(if *b { "1" } else { "0" }.to_owned())),
            Some(_) => Err(biz(format!("{}: must be a string or number, not an object or array", self.at(f)))),
        }
    }

    pub fn opt_str(&self, f: &str) -> Result<Option<String>> {
        self.text(f)
    }

    pub fn str(&self, f: &str) -> Result<String> {
        self.text(f)?.ok_or_else(|| biz(format!("{}: required", self.at(f))))
    }

    /// Required, at most `max` characters (the interface's field length).
    pub fn str_max(&self, f: &str, max: usize) -> Result<String> {
        let s = self.str(f)?;
        self.check_len(f, &s, max)?;
        Ok(s)
    }

    pub fn opt_str_max(&self, f: &str, max: usize) -> Result<Option<String>> {
        let s = self.opt_str(f)?;
        if let Some(v) = &s {
            self.check_len(f, v, max)?;
        }
        Ok(s)
    }

    fn check_len(&self, f: &str, s: &str, max: usize) -> Result<()> {
        let n = s.chars().count();
        if n > max {
            return Err(biz(format!("{}: {n} characters, at most {max} allowed", self.at(f))));
        }
        Ok(())
    }

    /// A decimal (amount, quantity, price, ratio, count): a JSON number, or a string holding one
    /// in the same plain form, read as sent (no trimming); "" and null = absent. `true`, `"+1"`
    /// or `" 1"` are not numbers: reading them as 1 would settle an amount nobody wrote.
    fn decimal<T>(&self, f: &str, parse: fn(&str) -> std::result::Result<T, DecimalError>) -> Result<Option<T>> {
        let t = match self.map.get(f) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => return Err(biz(format!("{}: {b} is not a number", self.at(f)))),
            Some(_) => return Err(biz(format!("{}: must be a number, not an object or array", self.at(f)))),
        };
        parse(&t).map(Some).map_err(|e| {
            // A long non-number is not echoed whole (the error goes to the cashier's screen).
            let shown: String = t.chars().take(40).collect();
            let more = if shown.len() < t.len() { "…" } else { "" };
            biz(format!("{}: {shown:?}{more} {e}", self.at(f)))
        })
    }

    pub fn opt_fen(&self, f: &str) -> Result<Option<Fen>> {
        self.decimal(f, Fen::parse_yuan)
    }
    pub fn fen(&self, f: &str) -> Result<Fen> {
        self.opt_fen(f)?.ok_or_else(|| biz(format!("{}: required", self.at(f))))
    }
    pub fn qty(&self, f: &str) -> Result<Qty> {
        self.decimal(f, Qty::parse)?.ok_or_else(|| biz(format!("{}: required", self.at(f))))
    }
    pub fn price(&self, f: &str) -> Result<UnitPrice> {
        self.decimal(f, UnitPrice::parse)?.ok_or_else(|| biz(format!("{}: required", self.at(f))))
    }
    pub fn opt_int(&self, f: &str) -> Result<Option<i64>> {
        self.decimal(f, |s| parse_fixed(s, 0).and_then(|v| i64::try_from(v).map_err(|_| DecimalError::OutOfRange)))
    }

    pub fn opt_time(&self, f: &str) -> Result<Option<DateTime>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => DateTime::parse(&t).map(Some).map_err(|e| biz(format!("{}: {t:?}: {e}", self.at(f)))),
        }
    }
    /// A time something happened (a visit's start, a discharge, a fee): not later than
    /// [`FUTURE_TOLERANCE_SECS`] after `now`.
    pub fn opt_time_by(&self, f: &str, now: DateTime) -> Result<Option<DateTime>> {
        let t = self.opt_time(f)?;
        if let Some(t) = t.filter(|t| t.0 > now.0 + FUTURE_TOLERANCE_SECS) {
            let latest = DateTime(now.0 + FUTURE_TOLERANCE_SECS);
            return Err(biz(format!("{}: {t} is in the future (the latest accepted is {latest})", self.at(f))));
        }
        Ok(t)
    }
    pub fn time_by(&self, f: &str, now: DateTime) -> Result<DateTime> {
        self.opt_time_by(f, now)?.ok_or_else(|| biz(format!("{}: required", self.at(f))))
    }
    pub fn opt_date(&self, f: &str) -> Result<Option<Date>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => Date::parse(&t).map(Some).map_err(|e| biz(format!("{}: {t:?}: {e}", self.at(f)))),
        }
    }

    /// A 0/1 flag; absent = `default`.
    pub fn flag(&self, f: &str, default: bool) -> Result<bool> {
        match self.text(f)?.as_deref() {
            None => Ok(default),
            Some("1") => Ok(true),
            Some("0") => Ok(false),
            Some(other) => Err(biz(format!("{}: {other:?} must be 0 or 1", self.at(f)))),
        }
    }

    /// A value from a fixed dictionary.
    pub fn code(&self, f: &str, allowed: &[&str]) -> Result<String> {
        let v = self.str(f)?;
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(biz(format!("{}: {v:?} is not one of {}", self.at(f), allowed.join(", "))))
        }
    }
}

/// Owns the path strings of child nodes; the object itself is borrowed from the request
/// (copied only by a handler that adds to it).
pub struct Obj<'a> {
    pub path: String,
    pub map: Cow<'a, Map<String, Value>>,
}

impl Obj<'_> {
    pub fn node(&self) -> Node<'_> {
        Node::new(&self.path, &self.map)
    }
}

/// `input.<name>` as an object (the spec's `data`, `mdtrtinfo`, ...).
pub fn object<'a>(input: &'a Value, name: &str) -> Result<Obj<'a>> {
    match input.get(name) {
        Some(Value::Object(m)) => Ok(Obj { path: format!("input.{name}"), map: Cow::Borrowed(m) }),
        // Some HIS send a one-element array where an object is specified.
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_object() => {
            let map = a[0].as_object().map_or_else(|| Cow::Owned(Map::new()), Cow::Borrowed);
            Ok(Obj { path: format!("input.{name}[0]"), map })
        }
        Some(_) => Err(biz(format!("input.{name}: must be an object"))),
        None => Err(biz(format!("input.{name}: required"))),
    }
}

/// Where row `i` of `input.<name>` is, for errors.
pub fn row_path(name: &str, i: usize) -> String {
    format!("input.{name}[{i}]")
}

/// `input.<name>` as an array of objects (a single object is accepted as one row).
pub fn rows<'a>(input: &'a Value, name: &str, required: bool) -> Result<Vec<Obj<'a>>> {
    let items: Vec<&Value> = match input.get(name) {
        None | Some(Value::Null) if !required => return Ok(vec![]),
        None | Some(Value::Null) => return Err(biz(format!("input.{name}: required"))),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        Some(_) => return Err(biz(format!("input.{name}: must be an array of objects"))),
    };
    if items.len() > ROWS_MAX {
        return Err(biz(format!("input.{name}: {} rows, at most {ROWS_MAX} in one request", items.len())));
    }
    if required && items.is_empty() {
        return Err(biz(format!("input.{name}: at least one row is required")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok(Obj { path: row_path(name, i), map: Cow::Borrowed(m) }),
            _ => Err(biz(format!("{}: must be an object", row_path(name, i)))),
        })
        .collect()
}
