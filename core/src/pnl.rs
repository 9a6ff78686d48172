//! `Pnl`: the profit and loss of one trader (a strategy, or the account) in
//! one pair, from its fills: position, realized PnL, fees, trade count.
//! Strategies report it; the risk manager measures daily loss and drawdown
//! with it.

use crate::order::Side;
use crate::position::Position;
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pnl {
    pub position: Position,
    /// Fees paid, in the quote asset.
    #[serde(with = "crate::num::text")]
    pub fees: Decimal,
    pub trades: u64,
    /// Σ price × size of every fill.
    #[serde(with = "crate::num::text")]
    pub volume: Decimal,
}

impl Pnl {
    /// Applies one fill exactly once; returns the PnL it realized.
    pub fn apply_fill(
        &mut self,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
    ) -> Decimal {
        self.fees += fee;
        self.trades += 1;
        self.volume += price * qty;
        self.position.apply_fill(side, qty, price)
    }

    /// Realized PnL after fees.
    pub fn realized_net(&self) -> Decimal {
        self.position.realized_pnl - self.fees
    }

    /// Realized PnL after fees plus the open position marked at `mark`
    /// (at its entry price when there is no mark yet).
    pub fn total(&self, mark: Option<Decimal>) -> Decimal {
        let unrealized = mark.map_or(Decimal::ZERO, |m| self.position.unrealized_pnl(m));
        self.realized_net() + unrealized
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_counts_fees_and_marks_the_rest() {
        let mut p = Pnl::default();
        let fee = Decimal::new(1, 1);
        p.apply_fill(Side::Buy, Decimal::from(2), Decimal::from(100), fee);
        assert_eq!(p.total(Some(Decimal::from(101))), Decimal::new(19, 1));
        let realized = p.apply_fill(Side::Sell, Decimal::ONE, Decimal::from(103), fee);
        assert_eq!(realized, Decimal::from(3));
        assert_eq!(p.realized_net(), Decimal::new(28, 1));
        // 1 left at entry 100, marked at 99: -1.
        assert_eq!(p.total(Some(Decimal::from(99))), Decimal::new(18, 1));
        assert_eq!(p.trades, 2);
        assert_eq!(p.volume, Decimal::from(303));
    }
}
