//! `OrderBook`: an aggregated L2 book (price → size per side) with a
//! sequence number, fed by snapshots and deltas. The view every consumer of
//! market depth reads; the paper matching engine keeps its own orders.

use crate::num::Level;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookSide {
    Bid,
    Ask,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    sequence: u64,
}

impl OrderBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one level: a size of zero deletes it.
    pub fn apply_delta(&mut self, side: BookSide, price: Decimal, size: Decimal) {
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if size.is_zero() {
            levels.remove(&price);
        } else {
            levels.insert(price, size);
        }
    }

    /// Replaces the whole book.
    pub fn replace(&mut self, bids: &[Level], asks: &[Level], sequence: u64) {
        self.bids = bids
            .iter()
            .filter(|l| !l.1.is_zero())
            .map(|l| (l.0, l.1))
            .collect();
        self.asks = asks
            .iter()
            .filter(|l| !l.1.is_zero())
            .map(|l| (l.0, l.1))
            .collect();
        self.sequence = sequence;
    }

    pub fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.last_key_value().map(|(p, s)| Level(*p, *s))
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.first_key_value().map(|(p, s)| Level(*p, *s))
    }

    pub fn mid(&self) -> Option<Decimal> {
        Some((self.best_bid()?.0 + self.best_ask()?.0) / Decimal::TWO)
    }

    /// The best `depth` levels of each side, best first.
    pub fn top(&self, depth: usize) -> (Vec<Level>, Vec<Level>) {
        let bids = self
            .bids
            .iter()
            .rev()
            .take(depth)
            .map(|(p, s)| Level(*p, *s))
            .collect();
        let asks = self
            .asks
            .iter()
            .take(depth)
            .map(|(p, s)| Level(*p, *s))
            .collect();
        (bids, asks)
    }

    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.0 >= a.0)
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: i64) -> Decimal {
        Decimal::from(v)
    }

    #[test]
    fn deltas_add_update_and_delete_levels() {
        let mut b = OrderBook::new();
        b.apply_delta(BookSide::Bid, d(99), d(1));
        b.apply_delta(BookSide::Bid, d(98), d(2));
        b.apply_delta(BookSide::Ask, d(101), d(3));
        b.apply_delta(BookSide::Ask, d(102), d(4));
        assert_eq!(b.best_bid(), Some(Level(d(99), d(1))));
        assert_eq!(b.best_ask(), Some(Level(d(101), d(3))));
        assert_eq!(b.mid(), Some(d(100)));
        b.apply_delta(BookSide::Bid, d(99), d(5));
        assert_eq!(b.best_bid(), Some(Level(d(99), d(5))));
        b.apply_delta(BookSide::Ask, d(101), Decimal::ZERO);
        assert_eq!(b.best_ask(), Some(Level(d(102), d(4))));
        let (bids, asks) = b.top(1);
        assert_eq!((bids.len(), asks.len()), (1, 1));
        assert!(!b.is_crossed());
        b.apply_delta(BookSide::Bid, d(103), d(1));
        assert!(b.is_crossed());
    }

    #[test]
    fn replace_drops_zero_levels_and_keeps_sequence() {
        let mut b = OrderBook::new();
        b.replace(
            &[Level(d(1), d(0)), Level(d(2), d(1))],
            &[Level(d(3), d(1))],
            7,
        );
        assert_eq!(b.top(10).0, vec![Level(d(2), d(1))]);
        assert_eq!(b.sequence(), 7);
    }
}
