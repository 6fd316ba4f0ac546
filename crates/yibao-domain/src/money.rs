//! Exact money and ratios. Money is integer fen (分); ratios are integer units of 1/10000
//! (the national interface carries ratios as decimal(5,4)); quantities carry 4 decimals and unit
//! prices 6, as in the fee-detail fields `cnt` (16,4) and `pric` (16,6). Nothing here uses floats.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount in fen. Negative values appear only in reversals and refunds. On the wire and in
/// documents it is a yuan decimal with two places (`12.30`), read from a number or a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub i64);

/// Largest amount the interface can carry: decimal(16,2) → 14 integer digits.
pub const FEN_MAX: i64 = 9_999_999_999_999_999;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn yuan(y: i64) -> Fen {
        Fen(y * 100)
    }
    pub fn max(self, other: Fen) -> Fen {
        Fen(self.0.max(other.0))
    }
    pub fn min(self, other: Fen) -> Fen {
        Fen(self.0.min(other.0))
    }
    /// `self - other`, never below zero.
    pub fn sub_floor(self, other: Fen) -> Fen {
        Fen((self.0 - other.0).max(0))
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// `self × ratio`, rounded half away from zero to the fen (四舍五入).
    pub fn mul_ratio(self, r: Ratio) -> Fen {
        Fen(div_round_half_up(self.0 as i128 * r.0 as i128, Ratio::ONE.0 as i128))
    }
    /// Parses a yuan amount with at most 2 decimals ("12.3", "-4", "0.05").
    pub fn parse_yuan(s: &str) -> Result<Fen, DecimalError> {
        let v = parse_fixed(s, 2)?;
        if v.abs() > FEN_MAX as i128 {
            return Err(DecimalError::OutOfRange);
        }
        Ok(Fen(v as i64))
    }
    /// The wire form: yuan with exactly two decimals.
    pub fn to_yuan_string(self) -> String {
        format_fixed(self.0 as i128, 2)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_yuan_string())
    }
}
impl Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}
impl Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}
impl AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        self.0 += o.0
    }
}
impl SubAssign for Fen {
    fn sub_assign(&mut self, o: Fen) {
        self.0 -= o.0
    }
}
impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}
impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

/// A ratio in units of 1/10000 (0.8500 → 8500). Always within 0..=1. Written as a decimal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(pub u32);

impl Ratio {
    pub const ZERO: Ratio = Ratio(0);
    pub const ONE: Ratio = Ratio(10_000);

    pub fn new(units: u32) -> Result<Ratio, DecimalError> {
        if units > 10_000 {
            return Err(DecimalError::RatioOverOne);
        }
        Ok(Ratio(units))
    }
    /// Parses "0.85", "1", "0.0500" (at most 4 decimals, at most 1).
    pub fn parse(s: &str) -> Result<Ratio, DecimalError> {
        let v = parse_fixed(s, 4)?;
        if !(0..=10_000).contains(&v) {
            return Err(DecimalError::RatioOverOne);
        }
        Ok(Ratio(v as u32))
    }
    /// Parses a percentage: "85" or "85%" → 0.85; "12.5" → 0.125.
    pub fn parse_percent(s: &str) -> Result<Ratio, DecimalError> {
        let v = parse_fixed(s.trim().trim_end_matches('%'), 2)?;
        if !(0..=10_000).contains(&v) {
            return Err(DecimalError::RatioOverOne);
        }
        Ok(Ratio(v as u32))
    }
    pub fn complement(self) -> Ratio {
        Ratio(10_000 - self.0.min(10_000))
    }
    /// `self - points`, never below zero (remote-care reductions are in percentage points).
    pub fn minus(self, points: Ratio) -> Ratio {
        Ratio(self.0.saturating_sub(points.0))
    }
    pub fn to_decimal_string(self) -> String {
        format_fixed(self.0 as i128, 4)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// A quantity with 4 decimals (`cnt` is decimal(16,4)): 1.5 → 15000.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Qty(pub i64);

impl Qty {
    pub const SCALE: i64 = 10_000;
    pub fn units(n: i64) -> Qty {
        Qty(n * Self::SCALE)
    }
    pub fn parse(s: &str) -> Result<Qty, DecimalError> {
        let v = parse_fixed(s, 4)?;
        i64::try_from(v).ok().filter(|v| v.abs() < 10i64.pow(16)).map(Qty).ok_or(DecimalError::OutOfRange)
    }
    pub fn to_decimal_string(self) -> String {
        format_fixed(self.0 as i128, 4)
    }
}

/// A unit price with 6 decimals of a yuan (`pric` is decimal(16,6)): ¥1.5 → 1_500_000.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPrice(pub i64);

impl UnitPrice {
    pub const SCALE: i64 = 1_000_000;
    pub fn yuan(y: i64) -> UnitPrice {
        UnitPrice(y * Self::SCALE)
    }
    /// Held to ±(10^16 − 1) units, the range a parsed `pric` has: a price beyond it is out of
    /// range anyway, and its magnitude stays safe to take (`i64::MIN` has none).
    pub fn from_fen(f: Fen) -> UnitPrice {
        const MAX: i128 = 10i128.pow(16) - 1;
        UnitPrice((f.0 as i128 * 10_000).clamp(-MAX, MAX) as i64)
    }
    pub fn parse(s: &str) -> Result<UnitPrice, DecimalError> {
        let v = parse_fixed(s, 6)?;
        i64::try_from(v).ok().filter(|v| v.abs() < 10i64.pow(16)).map(UnitPrice).ok_or(DecimalError::OutOfRange)
    }
    /// price × quantity, rounded half up to the fen; held to ±[`FEN_MAX`] (a price and a
    /// quantity may each reach 10^16 units, and their product would not fit a fen amount).
    pub fn times(self, q: Qty) -> Fen {
        // price: 1e-6 yuan = 1e-4 fen; qty: 1e-4 → product in 1e-8 fen.
        let fen = div_round_half_up_wide(self.0 as i128 * q.0 as i128, 100_000_000);
        Fen(fen.clamp(-(FEN_MAX as i128), FEN_MAX as i128) as i64)
    }
    pub fn to_decimal_string(self) -> String {
        format_fixed(self.0 as i128, 6)
    }
}

/// Reads a decimal given as a JSON number (exact text, thanks to arbitrary_precision) or string.
pub fn decimal_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::String(s) => Ok(s),
        other => Err(serde::de::Error::custom(format!("expected a decimal number, found {other}"))),
    }
}

fn write_number<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    let n: serde_json::Number = text.parse().map_err(serde::ser::Error::custom)?;
    n.serialize(s)
}

macro_rules! decimal_serde {
    ($t:ty, $parse:path, $fmt:ident) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                write_number(&self.$fmt(), s)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = decimal_text(d)?;
                $parse(&text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
            }
        }
    };
}
decimal_serde!(Fen, Fen::parse_yuan, to_yuan_string);
decimal_serde!(Ratio, Ratio::parse, to_decimal_string);
decimal_serde!(Qty, Qty::parse, to_decimal_string);
decimal_serde!(UnitPrice, UnitPrice::parse, to_decimal_string);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("more than {0} decimal places")]
    TooManyDecimals(u32),
    #[error("out of range")]
    OutOfRange,
    #[error("ratio must be between 0 and 1")]
    RatioOverOne,
}

/// Division rounding half away from zero, for a positive divisor; saturates at the ends of i64.
pub fn div_round_half_up(n: i128, d: i128) -> i64 {
    div_round_half_up_wide(n, d).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn div_round_half_up_wide(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

/// Parses a plain decimal ("-12.345") into an integer scaled by 10^scale, exactly.
/// Trailing zeros beyond the scale are accepted ("4.5200" at scale 2); other digits are not.
/// The form is a JSON number's without exponent: an optional `-`, digits, and optionally `.` and
/// digits. Nothing else: no `+`, no blanks, no "1." or ".5", so that a number sent as a string
/// reads exactly as the same number sent bare.
pub fn parse_fixed(s: &str, scale: u32) -> Result<i128, DecimalError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let neg = body.len() < s.len();
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let bare_point = frac.is_empty() && body.ends_with('.');
    if int.is_empty()
        || bare_point
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(DecimalError::NotANumber);
    }
    if int.len() > 20 {
        return Err(DecimalError::OutOfRange);
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > scale as usize {
        return Err(DecimalError::TooManyDecimals(scale));
    }
    let mut v: i128 = 0;
    for b in int.bytes() {
        v = v * 10 + (b - b'0') as i128;
    }
    for i in 0..scale as usize {
        let d = frac_trimmed.as_bytes().get(i).map_or(0, |b| b - b'0');
        v = v * 10 + d as i128;
    }
    Ok(if neg { -v } else { v })
}

/// Formats an integer scaled by 10^scale with exactly `scale` decimals.
pub fn format_fixed(v: i128, scale: u32) -> String {
    let p = 10i128.pow(scale);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.abs();
    if scale == 0 {
        return format!("{sign}{a}");
    }
    format!("{sign}{}.{:0width$}", a / p, a % p, width = scale as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(Fen::parse_yuan("4.52"), Ok(Fen(452)));
        assert_eq!(Fen::parse_yuan("9"), Ok(Fen(900)));
        assert_eq!(Fen::parse_yuan("-32.86"), Ok(Fen(-3286)));
        assert_eq!(Fen::parse_yuan("0.10000"), Ok(Fen(10)));
        assert_eq!(Fen::parse_yuan("0.105"), Err(DecimalError::TooManyDecimals(2)));
        assert_eq!(Fen::parse_yuan("1e3"), Err(DecimalError::NotANumber));
        assert_eq!(Fen::parse_yuan(""), Err(DecimalError::NotANumber));
        assert_eq!(Fen::parse_yuan("."), Err(DecimalError::NotANumber));
    }

    /// Only the plain form is a decimal: a sign other than `-`, blanks, or a bare point are not.
    #[test]
    fn decimals_have_one_form() {
        for bad in ["+10.00", " 10.00", "10.00 ", "1 0", "1.", ".5", "-", "--1", "-+1", "1e3", "0x10", "١٠"] {
            assert_eq!(parse_fixed(bad, 2), Err(DecimalError::NotANumber), "{bad:?}");
        }
        assert_eq!(parse_fixed("-0.50", 2), Ok(-50));
        assert_eq!(parse_fixed("007", 0), Ok(7));
        for bad in ["true", "false", "\"+10.00\"", "\" 10.00\"", "\"\"", "null", "[1]", "1e2"] {
            assert!(serde_json::from_str::<Fen>(bad).is_err(), "{bad} read as an amount");
            assert!(serde_json::from_str::<Qty>(bad).is_err(), "{bad} read as a quantity");
            assert!(serde_json::from_str::<UnitPrice>(bad).is_err(), "{bad} read as a price");
            assert!(serde_json::from_str::<Ratio>(bad).is_err(), "{bad} read as a ratio");
        }
    }

    #[test]
    fn ratio_rounds_half_up() {
        // The real 2204 sample: 4.52 × 0.05 = 0.226 → 0.23.
        assert_eq!(Fen(452).mul_ratio(Ratio(500)), Fen(23));
        assert_eq!(Fen(50).mul_ratio(Ratio(5000)), Fen(25));
        assert_eq!(Fen(1).mul_ratio(Ratio(5000)), Fen(1)); // 0.5 fen → 1
        assert_eq!(Fen(-1).mul_ratio(Ratio(5000)), Fen(-1));
        assert_eq!(Ratio::parse("1.0001"), Err(DecimalError::RatioOverOne));
        assert_eq!(Ratio::parse_percent("85%"), Ok(Ratio(8500)));
    }

    #[test]
    fn price_times_quantity() {
        let p = UnitPrice::parse("3.333333").unwrap();
        assert_eq!(p.times(Qty::parse("3").unwrap()), Fen(1000));
        assert_eq!(UnitPrice::parse("0.125").unwrap().times(Qty::units(1)), Fen(13));
    }

    #[test]
    fn serde_is_exact_decimal() {
        let f: Fen = serde_json::from_str("4.52").unwrap();
        assert_eq!(f, Fen(452));
        let f: Fen = serde_json::from_str("\"1300\"").unwrap();
        assert_eq!(f, Fen(130000));
        assert_eq!(serde_json::to_string(&Fen(452)).unwrap(), "4.52");
        assert_eq!(serde_json::to_string(&Fen(-5)).unwrap(), "-0.05");
        let r: Ratio = serde_json::from_str("0.85").unwrap();
        assert_eq!(r, Ratio(8500));
        assert!(serde_json::from_str::<Ratio>("1.5").is_err());
        assert!(serde_json::from_str::<Fen>("0.001").is_err());
        assert!(serde_json::from_str::<Fen>("true").is_err());
    }

    proptest! {
        #[test]
        fn yuan_round_trips(v in -FEN_MAX..FEN_MAX) {
            let f = Fen(v);
            prop_assert_eq!(Fen::parse_yuan(&f.to_yuan_string()), Ok(f));
        }

        #[test]
        fn ratio_share_rounds_half_up(v in -10_000_000_000i64..10_000_000_000, r in 0u32..=10_000) {
            let a = Fen(v).mul_ratio(Ratio(r));
            // The exact share in 1/10,000 fen, rounded half away from zero by hand.
            let exact = v as i128 * r as i128;
            let want = if exact >= 0 { (exact + 5_000) / 10_000 } else { -((-exact + 5_000) / 10_000) };
            prop_assert_eq!(a.0 as i128, want);
            prop_assert_eq!(Fen(-v).mul_ratio(Ratio(r)), -a);
            prop_assert!(a.0.abs() <= v.abs());
        }
    }
}
