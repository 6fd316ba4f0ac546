//! What one fee line and one bill may carry. A fee detail is typed by a cashier or sent by a
//! HIS; a slip of the keyboard (an extra zero, a price typed into the quantity) must be refused
//! before the fund pays for it, not settled. The decision is here; the gateway maps a refusal to
//! infcode -2 naming the field, and the engine refuses a bill beyond [`MAX_BILL_AMOUNT`].
//!
//! The limits are deliberately generous: they stop what cannot be a real charge, they do not
//! judge prices (that is the catalog's price cap and supervision's job).

use crate::money::{Fen, Qty, UnitPrice};

/// The most one unit of anything may cost: ¥3,000,000. The dearest single units on the Chinese
/// market are CAR-T infusions at about ¥1.2M (阿基仑赛, 瑞基奥仑赛 ¥1.20–1.29M a dose); this
/// leaves room for 2.5× that. A dearer therapy (an imported gene therapy) needs this raised.
pub const MAX_UNIT_PRICE: UnitPrice = UnitPrice(3_000_000 * UnitPrice::SCALE);

/// A price may exceed the catalog's price cap (the excess is self-paid, 超限价), but not by more
/// than this factor: a 特需 ward charges tens of times the capped bed fee (¥2,000 a day against a
/// ¥30–50 cap); a hundred times the cap is a typing error.
pub const PRICE_CAP_MULTIPLE: i64 = 100;

/// The most units one line may count: 1,000,000. The largest real counts are small units billed
/// over a long stay (oxygen by the litre: 2 L/min for 30 days is 86,400; ml of a solution).
pub const MAX_QTY: Qty = Qty(1_000_000 * Qty::SCALE);

/// The most one line may amount to: ¥3,000,000, one unit at [`MAX_UNIT_PRICE`]. Several CAR-T
/// doses are never billed on one line.
pub const MAX_LINE_AMOUNT: Fen = Fen(3_000_000 * 100);

/// The most one settlement's bill may total: ¥20,000,000. The dearest real stays (months of ICU
/// with ECMO, a transplant, CAR-T) reach a few million yuan; this is several times that.
pub const MAX_BILL_AMOUNT: Fen = Fen(20_000_000 * 100);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundError {
    #[error("{} is above {}, {why}", .pric.to_decimal_string(), .limit.to_decimal_string())]
    Price { pric: UnitPrice, limit: UnitPrice, why: String },
    #[error("{} is above {}, the most units one line may count", .cnt.to_decimal_string(), .limit.to_decimal_string())]
    Qty { cnt: Qty, limit: Qty },
    #[error("{amount} is above {limit}, the most one line may amount to")]
    LineAmount { amount: Fen, limit: Fen },
    #[error("the bill's total {total} is above {limit}, the most one settlement may carry")]
    Bill { total: Fen, limit: Fen },
}

impl BoundError {
    /// The fee-detail field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            BoundError::Price { .. } => "pric",
            BoundError::Qty { .. } => "cnt",
            BoundError::LineAmount { .. } | BoundError::Bill { .. } => "det_item_fee_sumamt",
        }
    }
}

/// The highest unit price a line of an item with price cap `cap` may carry.
pub fn price_limit(cap: Option<UnitPrice>) -> (UnitPrice, String) {
    match cap {
        Some(c) if c.0 > 0 => {
            let l = UnitPrice(c.0.saturating_mul(PRICE_CAP_MULTIPLE).min(MAX_UNIT_PRICE.0));
            let why = format!(
                "{PRICE_CAP_MULTIPLE} times the catalog's price cap {} (and never above {})",
                c.to_decimal_string(),
                MAX_UNIT_PRICE.to_decimal_string()
            );
            (l, why)
        }
        _ => (MAX_UNIT_PRICE, "the most one unit may cost".to_owned()),
    }
}

/// Whether one line (refunds carry negative quantities and amounts) is within bounds; `cap` is
/// the catalog item's price cap, if any.
pub fn check_line(pric: UnitPrice, cnt: Qty, amount: Fen, cap: Option<UnitPrice>) -> Result<(), BoundError> {
    let (limit, why) = price_limit(cap);
    if pric.0.unsigned_abs() > limit.0.unsigned_abs() {
        return Err(BoundError::Price { pric, limit, why });
    }
    if cnt.0.unsigned_abs() > MAX_QTY.0.unsigned_abs() {
        return Err(BoundError::Qty { cnt, limit: MAX_QTY });
    }
    if amount.0.unsigned_abs() > MAX_LINE_AMOUNT.0.unsigned_abs() {
        return Err(BoundError::LineAmount { amount, limit: MAX_LINE_AMOUNT });
    }
    Ok(())
}

/// Whether a bill's total is within bounds.
pub fn check_bill(total: Fen) -> Result<(), BoundError> {
    if total.0 > MAX_BILL_AMOUNT.0 {
        return Err(BoundError::Bill { total, limit: MAX_BILL_AMOUNT });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_car_t_dose_is_within_bounds() {
        let dose = UnitPrice::yuan(1_290_000);
        assert_eq!(check_line(dose, Qty::units(1), Fen::yuan(1_290_000), None), Ok(()));
        assert_eq!(check_line(dose, Qty::units(-1), Fen::yuan(-1_290_000), None), Ok(()));
        assert_eq!(check_bill(Fen::yuan(3_500_000)), Ok(()));
    }

    #[test]
    fn absurd_lines_and_bills_are_refused_naming_the_field() {
        // The review's 2204 lines: 1,000,000.00 × 10 and 9999999.999999 × 9999.9999.
        let e = check_line(UnitPrice::yuan(1_000_000), Qty::units(10), Fen::yuan(10_000_000), None).unwrap_err();
        assert_eq!(e.field(), "det_item_fee_sumamt");
        let big = UnitPrice(9_999_999_999_999);
        let e = check_line(big, Qty(99_999_999), Fen(crate::money::FEN_MAX), None).unwrap_err();
        assert_eq!(e.field(), "pric");
        assert!(e.to_string().contains("3000000.000000"), "{e}");
        let e = check_line(UnitPrice::yuan(1), Qty::units(1_000_001), Fen::yuan(1_000_001), None).unwrap_err();
        assert_eq!(e.field(), "cnt");
        assert!(check_bill(Fen::yuan(20_000_000) + Fen(1)).is_err());
        assert_eq!(check_bill(Fen::yuan(20_000_000)), Ok(()));
    }

    #[test]
    fn a_price_cap_bounds_the_price_at_a_multiple() {
        let cap = Some(UnitPrice::yuan(30));
        assert_eq!(check_line(UnitPrice::yuan(3_000), Qty::units(1), Fen::yuan(3_000), cap), Ok(()));
        let e = check_line(UnitPrice(UnitPrice::yuan(3_000).0 + 1), Qty::units(1), Fen::yuan(3_000), cap).unwrap_err();
        assert!(e.to_string().contains("100 times the catalog's price cap 30.000000"), "{e}");
    }
}
