//! Civil dates and times as the interface writes them (`yyyy-MM-dd`, `yyyy-MM-dd HH:mm:ss`),
//! without a calendar dependency: a date is a count of days since 1970-01-01.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("date must be yyyy-MM-dd")]
    Format,
    #[error("no such calendar date")]
    Invalid,
    #[error("time must be yyyy-MM-dd HH:mm:ss")]
    TimeFormat,
}

impl Date {
    pub const MIN: Date = Date(-719_162); // 0001-01-01
    pub const MAX: Date = Date(2_932_896); // 9999-12-31

    pub fn from_ymd(y: i32, m: u32, d: u32) -> Result<Date, DateError> {
        if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return Err(DateError::Invalid);
        }
        Ok(Date(days_from_civil(y, m, d)))
    }
    pub fn from_days(days: i32) -> Date {
        Date(days)
    }
    pub fn days(self) -> i32 {
        self.0
    }
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }
    pub fn year(self) -> i32 {
        self.ymd().0
    }
    /// Parses `yyyy-MM-dd`, also accepting `yyyyMMdd` and a trailing time part.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let s = s.trim();
        let s = s.split([' ', 'T']).next().unwrap_or("");
        if !s.is_ascii() {
            // Checked first: the slices below are by byte.
            return Err(DateError::Format);
        }
        let b = s.as_bytes();
        let (y, m, d) = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
            (&s[0..4], &s[5..7], &s[8..10])
        } else if b.len() == 8 {
            (&s[0..4], &s[4..6], &s[6..8])
        } else {
            return Err(DateError::Format);
        };
        let num = |t: &str| -> Result<u32, DateError> {
            if t.bytes().all(|c| c.is_ascii_digit()) {
                t.parse().map_err(|_| DateError::Format)
            } else {
                Err(DateError::Format)
            }
        };
        Date::from_ymd(num(y)? as i32, num(m)?, num(d)?)
    }
    /// Whole years of age on `on` for someone born on `self`.
    pub fn age_on(self, on: Date) -> i32 {
        let (by, bm, bd) = self.ymd();
        let (y, m, d) = on.ymd();
        let mut age = y - by;
        if (m, d) < (bm, bd) {
            age -= 1;
        }
        age
    }
    /// Age on `on` in tenths of a year, rounded down, as the interface's `age` (4,1) carries
    /// it: whole years as [`Date::age_on`], then the part of the year since the last birthday,
    /// by days. A 29 February birthday falls on 1 March in other years (as `age_on` counts it).
    pub fn age_tenths_on(self, on: Date) -> i32 {
        let years = self.age_on(on);
        if years < 0 {
            return years * 10;
        }
        let (by, bm, bd) = self.ymd();
        let birthday = |y: i32| Date::from_ymd(y, bm, bd).unwrap_or_else(|_| Date(days_from_civil(y, 3, 1)));
        let last = birthday(by + years);
        let next = birthday(by + years + 1);
        let part = (on.0 - last.0) as i64 * 10 / ((next.0 - last.0).max(1) as i64);
        years * 10 + part.clamp(0, 9) as i32
    }
    pub fn add_days(self, n: i32) -> Date {
        Date(self.0 + n)
    }
    pub fn first_of_year(year: i32) -> Date {
        Date(days_from_civil(year, 1, 1))
    }
    /// `yyyyMMdd`
    pub fn compact(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}{m:02}{d:02}")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A time of day in seconds since the epoch, local (the interface carries no zone; China is UTC+8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub i64);

impl DateTime {
    pub fn from_date(d: Date) -> DateTime {
        DateTime(d.0 as i64 * 86_400)
    }
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(86_400) as i32)
    }
    /// Parses `yyyy-MM-dd HH:mm:ss` (also `yyyy-MM-dd` alone, `yyyyMMddHHmmss`, and a `T`).
    pub fn parse(s: &str) -> Result<DateTime, DateError> {
        let s = s.trim();
        if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
            let d = Date::parse(&s[..8])?;
            return hms(&s[8..10], &s[10..12], &s[12..14]).map(|t| DateTime::from_date(d).plus(t));
        }
        let (dpart, tpart) = match s.split_once([' ', 'T']) {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let d = Date::parse(dpart).map_err(|_| DateError::TimeFormat)?;
        let secs = match tpart {
            None => 0,
            Some(t) => {
                let t = t.split('.').next().unwrap_or("");
                let parts: Vec<&str> = t.split(':').collect();
                match parts.as_slice() {
                    [h, m, s] => hms(h, m, s)?,
                    [h, m] => hms(h, m, "00")?,
                    _ => return Err(DateError::TimeFormat),
                }
            }
        };
        Ok(DateTime::from_date(d).plus(secs))
    }
    fn plus(self, secs: i64) -> DateTime {
        DateTime(self.0 + secs)
    }
    pub fn hms(self) -> (u32, u32, u32) {
        let s = self.0.rem_euclid(86_400);
        ((s / 3600) as u32, (s / 60 % 60) as u32, (s % 60) as u32)
    }
    /// `yyyyMMddHHmmss`
    pub fn compact(self) -> String {
        let (h, m, s) = self.hms();
        format!("{}{h:02}{m:02}{s:02}", self.date().compact())
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = self.hms();
        write!(f, "{} {h:02}:{m:02}:{s:02}", self.date())
    }
}
impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DateTime, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn hms(h: &str, m: &str, s: &str) -> Result<i64, DateError> {
    let p = |t: &str, max: i64| -> Result<i64, DateError> {
        if t.len() != 2 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DateError::TimeFormat);
        }
        let v: i64 = t.parse().map_err(|_| DateError::TimeFormat)?;
        if v > max {
            return Err(DateError::TimeFormat);
        }
        Ok(v)
    };
    Ok(p(h, 23)? * 3600 + p(m, 59)? * 60 + p(s, 59)?)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}
fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}
// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_validates() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(Date::parse("20240229").unwrap(), d);
        assert_eq!(Date::parse("2023-02-29"), Err(DateError::Invalid));
        assert_eq!(Date::parse("2023-2-1"), Err(DateError::Format));
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::from_days(-1).to_string(), "1969-12-31");
        // Eight bytes that are not eight characters: refused, not sliced mid-character.
        assert_eq!(Date::parse("20中中"), Err(DateError::Format));
        assert_eq!(DateTime::parse("2024中中 10:00:00").map(|_| ()), Err(DateError::TimeFormat));
    }

    #[test]
    fn ages() {
        let b = Date::parse("1990-06-15").unwrap();
        assert_eq!(b.age_on(Date::parse("2024-06-14").unwrap()), 33);
        assert_eq!(b.age_on(Date::parse("2024-06-15").unwrap()), 34);
        let d = |s: &str| Date::parse(s).unwrap();
        assert_eq!(b.age_tenths_on(d("2024-06-14")), 339);
        assert_eq!(b.age_tenths_on(d("2024-06-15")), 340);
        // 2024-06-15 + half of 365 days.
        assert_eq!(b.age_tenths_on(d("2024-12-14")), 344);
        assert_eq!(b.age_tenths_on(d("2024-12-15")), 345);
        assert_eq!(d("2000-01-01").age_tenths_on(d("2000-07-02")), 5, "183 of 366 days");
        let leap = d("2000-02-29");
        assert_eq!(leap.age_tenths_on(d("2001-02-28")), 9);
        assert_eq!(leap.age_tenths_on(d("2001-03-01")), 10);
        assert_eq!(leap.age_tenths_on(d("2000-02-29")), 0);
    }

    #[test]
    fn times() {
        let t = DateTime::parse("2021-09-24 08:28:27").unwrap();
        assert_eq!(t.to_string(), "2021-09-24 08:28:27");
        assert_eq!(t.compact(), "20210924082827");
        assert_eq!(DateTime::parse("20210924082827").unwrap(), t);
        assert!(DateTime::parse("2021-09-24 25:00:00").is_err());
    }
}
