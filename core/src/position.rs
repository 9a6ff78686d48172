//! `Position`: the net quantity a strategy (or the manual account) has
//! traded in one pair, its average entry price, and its PnL.
//!
//! Adding to a position moves the average entry; reducing it realizes
//! `(exit - entry) × closed quantity` (sign-adjusted for shorts); crossing
//! zero opens the rest at the fill price. Fees are not folded into the entry
//! price; they are reported with each trade.

use crate::order::Side;
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Signed: positive long, negative short.
    #[serde(with = "crate::num::text")]
    pub size: Decimal,
    #[serde(with = "crate::num::text")]
    pub entry_price: Decimal,
    #[serde(with = "crate::num::text")]
    pub realized_pnl: Decimal,
}

impl Position {
    /// Applies one fill; returns the PnL it realized.
    pub fn apply_fill(&mut self, side: Side, qty: Decimal, price: Decimal) -> Decimal {
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        let old = self.size;
        let new = old + signed;
        let mut realized = Decimal::ZERO;
        if old.is_zero() || old.is_sign_positive() == signed.is_sign_positive() {
            // Opening or adding: weighted average entry.
            self.entry_price = (self.entry_price * old.abs() + price * qty) / new.abs();
        } else {
            let closed = qty.min(old.abs());
            let direction = if old.is_sign_positive() {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            realized = (price - self.entry_price) * closed * direction;
            if new.is_zero() {
                self.entry_price = Decimal::ZERO;
            } else if new.is_sign_positive() != old.is_sign_positive() {
                self.entry_price = price;
            }
        }
        self.size = new;
        self.realized_pnl += realized;
        realized
    }

    pub fn unrealized_pnl(&self, mark: Decimal) -> Decimal {
        (mark - self.entry_price) * self.size
    }

    /// Unrealized PnL as a percentage of the entry notional.
    pub fn pnl_percent(&self, mark: Decimal) -> Decimal {
        let notional = self.entry_price * self.size.abs();
        if notional.is_zero() {
            return Decimal::ZERO;
        }
        (self.unrealized_pnl(mark) / notional * Decimal::ONE_HUNDRED).round_dp(6)
    }

    pub fn side(&self) -> &'static str {
        if self.size.is_zero() {
            "flat"
        } else if self.size.is_sign_positive() {
            "long"
        } else {
            "short"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn averages_entries_and_realizes_on_reduce() {
        let mut p = Position::default();
        assert_eq!(p.apply_fill(Side::Buy, d("1"), d("100")), Decimal::ZERO);
        p.apply_fill(Side::Buy, d("1"), d("110"));
        assert_eq!((p.size, p.entry_price), (d("2"), d("105")));
        assert_eq!(p.unrealized_pnl(d("120")), d("30"));
        assert_eq!(p.pnl_percent(d("120")), d("14.285714"));
        assert_eq!(p.apply_fill(Side::Sell, d("0.5"), d("115")), d("5"));
        assert_eq!(
            (p.size, p.entry_price, p.realized_pnl),
            (d("1.5"), d("105"), d("5"))
        );
        assert_eq!(p.side(), "long");
    }

    #[test]
    fn flips_through_zero_and_handles_shorts() {
        let mut p = Position::default();
        p.apply_fill(Side::Sell, d("2"), d("100"));
        assert_eq!((p.size, p.side()), (d("-2"), "short"));
        assert_eq!(p.unrealized_pnl(d("90")), d("20"));
        // Buy 3 at 90: closes 2 short for +20, opens 1 long at 90.
        assert_eq!(p.apply_fill(Side::Buy, d("3"), d("90")), d("20"));
        assert_eq!((p.size, p.entry_price), (d("1"), d("90")));
        assert_eq!(p.apply_fill(Side::Sell, d("1"), d("80")), d("-10"));
        assert_eq!(
            (p.size, p.entry_price, p.side()),
            (Decimal::ZERO, Decimal::ZERO, "flat")
        );
        assert_eq!(p.realized_pnl, d("10"));
        assert_eq!(p.pnl_percent(d("1")), Decimal::ZERO);
    }
}
