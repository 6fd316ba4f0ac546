//! The band walk of the settlement engine: a fund pays each band's ratio over the part of a
//! range that falls in it. The pieces are summed exactly and rounded once (the rounding point of
//! a fund's payment); an annual cap cuts the exact sum.

use crate::money::{Fen, Ratio};
use crate::policy::Band;

/// One band's part of a walk: `len` of the range falls in the band at `ratio`; `share` is
/// len × ratio exactly and `pays` what of it the fund pays (less when the cap cuts in), both in
/// 1/10,000 fen so nothing is rounded before the walk's single rounding point.
pub(super) struct Piece {
    len: Fen,
    ratio: Ratio,
    share: i128,
    pays: i128,
}

pub(super) struct BandWalk {
    /// The exact sum of the pieces, rounded half up once (the rounding point of a fund).
    pub(super) paid: Fen,
    pub(super) exact: i128,
    /// The earlier segments' rounding remainder added before rounding (0 for a whole bill).
    pub(super) carry: i128,
    pub(super) over_cap: Fen,
    pub(super) pieces: Vec<Piece>,
}

impl BandWalk {
    /// The walk in plain words: every piece a true statement, the one rounding, the cap.
    pub(super) fn describe(&self) -> String {
        let parts: Vec<String> = self
            .pieces
            .iter()
            .map(|p| {
                let product = format!("{} × {} = {}", p.len, p.ratio, exact_yuan(p.share));
                if p.pays == p.share {
                    product
                } else if p.pays == 0 {
                    format!("{product}, capped: pays 0.00 of {}, the annual cap is used up", exact_yuan(p.share))
                } else {
                    format!(
                        "{product}, capped: pays {} of {}, all the annual cap had left",
                        exact_yuan(p.pays),
                        exact_yuan(p.share)
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
                exact_yuan(self.exact),
                exact_yuan(self.carry),
                self.paid
            )
        } else if self.exact == self.paid.0 as i128 * 10_000 {
            format!("pays {}", self.paid)
        } else {
            format!("pays {} rounded half up to {}", exact_yuan(self.exact), self.paid)
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
/// sum, so a capped walk pays exactly the room. What the cap cut off is returned as in-scope
/// amount `over_cap`, for the large-amount layer: the exact (share − room) ÷ ratio of the piece
/// the cap cuts into, rounded half up to the fen (a rounding point of its own, before the layer
/// rounds its payment; at most half a fen of range, ≤ 0.005 × the layer's ratio in payment).
pub(super) fn walk_bands(bands: &[Band], from: Fen, to: Fen, minus: Ratio, plus: Ratio, room: Option<Fen>) -> BandWalk {
    walk_bands_carrying(bands, from, to, minus, plus, room, 0)
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
    let mut w = BandWalk { paid: Fen::ZERO, exact: 0, carry, over_cap: Fen::ZERO, pieces: vec![] };
    // The cap holds the carried total: exact + carry never passes room.
    let mut left = room.map(|r| (r.0.max(0) as i128 * 10_000 - carry).max(0));
    let mut lo = Fen(i64::MIN);
    for b in bands {
        let hi = b.upto.unwrap_or(Fen(i64::MAX));
        let (a, z) = (from.max(lo), to.min(hi));
        lo = hi;
        if z <= a {
            continue;
        }
        let len = z - a;
        let ratio = Ratio((b.ratio.0 + plus.0).min(Ratio::ONE.0)).minus(minus);
        let share = len.0 as i128 * ratio.0 as i128;
        let mut pays = share;
        if let Some(l) = left.as_mut() {
            if share > *l {
                // The fund covers pays ÷ ratio of this piece; the rest, (share − pays) ÷ ratio,
                // is over the cap. Only the piece the cap cuts into has a fraction of a fen
                // (the later ones are over in full), so over_cap is rounded half up once, here.
                pays = *l;
                w.over_cap += Fen(crate::money::div_round_half_up(share - pays, ratio.0 as i128));
            }
            *l -= pays;
        }
        w.pieces.push(Piece { len, ratio, share, pays });
        w.exact += pays;
    }
    w.paid = Fen(crate::money::div_round_half_up(w.exact + w.carry, 10_000));
    if let Some(r) = room {
        w.paid = w.paid.min(r.max(Fen::ZERO));
    }
    w
}
