//! The band walk of the settlement engine: a fund pays each band's ratio over the part of a
//! range that falls in it. The pieces are summed exactly and rounded once (the rounding point of
//! a fund's payment); an annual cap cuts the exact sum.
//!
//! Positions are counted in 1/`scale` fen: 1 for a bill, more for the large-amount layer, whose
//! range ends at the exact (fractional) amount a capped pool left over.

use crate::money::{div_round_half_up, Fen, Ratio};
use crate::policy::Band;

/// One band's part of a walk: `len` (1/scale fen) of the range falls in the band at `ratio`;
/// `share` is len × ratio exactly and `pays` what of it the fund pays (less when the cap cuts
/// in), both in 1/(10,000 × scale) fen so nothing is rounded before the single rounding point.
pub(super) struct Piece {
    len: i128,
    ratio: Ratio,
    share: i128,
    pays: i128,
}

/// An exact amount of fen, `num / den` (den > 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ExactFen {
    pub(super) num: i128,
    pub(super) den: i128,
}

impl ExactFen {
    pub(super) const ZERO: ExactFen = ExactFen { num: 0, den: 1 };

    /// Rounded half up to the fen.
    pub(super) fn rounded(self) -> Fen {
        Fen(div_round_half_up(self.num, self.den))
    }
}

pub(super) struct BandWalk {
    /// The exact sum of the pieces, rounded half up once (the rounding point of a fund).
    pub(super) paid: Fen,
    /// The exact sum, in 1/(10,000 × scale) fen.
    pub(super) exact: i128,
    pub(super) scale: i128,
    /// The earlier segments' rounding remainder added before rounding, in 1/10,000 fen (0 for a
    /// whole bill).
    pub(super) carry: i128,
    /// The part of the range beyond the annual cap, exactly (the large-amount layer walks it)
    /// and rounded half up to the fen (what is reported and accumulated).
    pub(super) over_exact: ExactFen,
    pub(super) over_cap: Fen,
    pub(super) pieces: Vec<Piece>,
}

impl BandWalk {
    pub(super) fn nothing() -> BandWalk {
        BandWalk {
            paid: Fen::ZERO,
            exact: 0,
            scale: 1,
            carry: 0,
            over_exact: ExactFen::ZERO,
            over_cap: Fen::ZERO,
            pieces: vec![],
        }
    }

    /// An amount in 1/(10,000 × scale) fen as yuan: exact where it has at most 6 decimals,
    /// else its first 6 decimals and "…".
    fn yuan(&self, units: i128) -> String {
        if units % self.scale == 0 {
            exact_yuan(units / self.scale)
        } else {
            format!("{}…", crate::money::format_fixed(units / self.scale, 6))
        }
    }

    /// The walk in plain words: every piece a true statement, the one rounding, the cap.
    pub(super) fn describe(&self) -> String {
        let parts: Vec<String> = self
            .pieces
            .iter()
            .map(|p| {
                let product = format!("{} × {} = {}", self.yuan(p.len * 10_000), p.ratio, self.yuan(p.share));
                if p.pays == p.share {
                    product
                } else if p.pays == 0 {
                    format!("{product}, capped: pays 0.00 of {}, the annual cap is used up", self.yuan(p.share))
                } else {
                    format!(
                        "{product}, capped: pays {} of {}, all the annual cap had left",
                        self.yuan(p.pays),
                        self.yuan(p.share)
                    )
                }
            })
            .collect();
        if parts.is_empty() {
            return "nothing in range, pays 0.00".to_owned();
        }
        let rounded = if self.carry != 0 {
            format!(
                "pays {}, plus {} the earlier segments of this stay left in rounding, rounded half up to {}",
                self.yuan(self.exact),
                exact_yuan(self.carry),
                self.paid
            )
        } else if self.exact == self.paid.0 as i128 * 10_000 * self.scale {
            format!("pays {}", self.paid)
        } else {
            format!("pays {} rounded half up to {}", self.yuan(self.exact), self.paid)
        };
        let over = if self.over_cap.0 > 0 {
            format!("; {} of the range is beyond the annual cap", self.over_cap)
        } else {
            String::new()
        };
        format!("{}; {rounded}{over}", parts.join(" + "))
    }
}

/// An exact amount in 1/10,000 fen as yuan, with as many decimals as it needs (at least 2).
pub(super) fn exact_yuan(units: i128) -> String {
    let s = crate::money::format_fixed(units, 6);
    let keep = s.trim_end_matches('0');
    let dot = keep.find('.').unwrap_or(keep.len());
    if keep.len() - dot < 3 {
        s[..dot + 3].to_owned()
    } else {
        keep.to_owned()
    }
}

/// Pays each band's ratio (less `minus`, plus `plus` points) over the part of [from, to) that
/// falls in it. The pieces are summed exactly and the sum rounded half up once: rounding each
/// piece would be up to a fen off per band. `room` (what the annual cap leaves) cuts the exact
/// sum, so a capped walk pays exactly the room. What the cap cut off is returned exactly
/// (`over_exact`: (share − room) ÷ ratio of the piece the cap cuts into, the later pieces in
/// full) for the large-amount layer to walk, and rounded half up (`over_cap`) for its accounts.
pub(super) fn walk_bands(bands: &[Band], from: Fen, to: Fen, minus: Ratio, plus: Ratio, room: Option<Fen>) -> BandWalk {
    walk_scaled(bands, from.0 as i128, to.0 as i128, 1, minus, plus, room, 0)
}

/// [`walk_bands`] for a later segment of a stay: `carry` (1/10,000 fen, in [−5,000, 5,000)) is
/// what rounding the earlier segments' exact sum left over, exact − rounded. Adding it before
/// the one rounding makes this segment pay rhu(stay so far) − rhu(stay before it), so the
/// segments of a stay sum to exactly what one whole-stay bill pays.
pub(super) fn walk_bands_carrying(
    bands: &[Band],
    from: Fen,
    to: Fen,
    minus: Ratio,
    plus: Ratio,
    room: Option<Fen>,
    carry: i128,
) -> BandWalk {
    walk_scaled(bands, from.0 as i128, to.0 as i128, 1, minus, plus, room, carry)
}

/// [`walk_bands`] over [from, start + len) where `len` is exact, not a whole number of fen: the
/// large-amount layer walks exactly what the capped pool left over, rounding only its payment.
pub(super) fn walk_bands_exact(
    bands: &[Band],
    from: Fen,
    start: Fen,
    len: ExactFen,
    plus: Ratio,
    room: Option<Fen>,
) -> BandWalk {
    let to = start.0 as i128 * len.den + len.num;
    walk_scaled(bands, from.0 as i128 * len.den, to, len.den, Ratio::ZERO, plus, room, 0)
}

#[allow(clippy::too_many_arguments)]
fn walk_scaled(
    bands: &[Band],
    from: i128,
    to: i128,
    scale: i128,
    minus: Ratio,
    plus: Ratio,
    room: Option<Fen>,
    carry: i128,
) -> BandWalk {
    let mut w = BandWalk { scale, carry, ..BandWalk::nothing() };
    let unit = 10_000 * scale;
    // The cap holds the carried total: exact + carry never passes room.
    let mut left = room.map(|r| ((r.0.max(0) as i128 * 10_000 - carry) * scale).max(0));
    let mut over: Option<(i128, i128)> = None;
    let mut lo = i128::MIN;
    for b in bands {
        let hi = b.upto.map_or(i128::MAX, |u| u.0 as i128 * scale);
        let (a, z) = (from.max(lo), to.min(hi));
        lo = hi;
        if z <= a {
            continue;
        }
        let len = z - a;
        let ratio = Ratio((b.ratio.0 + plus.0).min(Ratio::ONE.0)).minus(minus);
        let share = len * ratio.0 as i128;
        let mut pays = share;
        if let Some(l) = left.as_mut() {
            if share > *l {
                pays = *l;
                // The fund covers pays ÷ ratio of this piece, the rest is over the cap: exactly
                // (share − pays) ÷ ratio for the piece the cap cuts into, all of a later one.
                over = Some(match over {
                    None => (share - pays, ratio.0 as i128),
                    Some((num, r_cut)) => (num + len * r_cut, r_cut),
                });
            }
            *l -= pays;
        }
        w.pieces.push(Piece { len, ratio, share, pays });
        w.exact += pays;
    }
    if let Some((num, r_cut)) = over {
        w.over_exact = ExactFen { num, den: r_cut * scale };
        w.over_cap = w.over_exact.rounded();
    }
    w.paid = Fen(div_round_half_up(w.exact + carry * scale, unit));
    if let Some(r) = room {
        w.paid = w.paid.min(r.max(Fen::ZERO));
    }
    w
}
