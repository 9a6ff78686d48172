//! `OrderBook`: an aggregated L2 book (price → size per side) with a
//! sequence number, fed by snapshots and deltas. The view every consumer of
//! market depth reads; the paper matching engine keeps its own orders.
//!
//! Each side is one sorted vector with its best level last, keyed by the
//! price as an integer at 8 decimals (Binance's finest). Market data
//! changes the top of the book most: a delta there finds its level in a
//! few integer compares from the end and shifts a few rows; reading the
//! best is the last row. Deeper levels are found by binary search.

use crate::num::Level;
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookSide {
    Bid,
    Ask,
}

/// A price the book cannot key exactly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("price {0} has more than 8 decimals or is out of range")]
pub struct BadPrice(pub Decimal);

/// Decimals of the integer key.
const KEY_SCALE: u32 = 8;

/// Levels checked one by one from the best before a binary search.
const NEAR_TOP: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Row {
    /// Ascending toward the best: the price in 1e-8 units, negated for asks.
    key: i64,
    price: Decimal,
    size: Decimal,
}

/// One side, best level last.
#[derive(Clone, Debug, Default, PartialEq)]
struct Levels {
    rows: Vec<Row>,
}

impl Levels {
    /// Where `key` is, or would go.
    #[inline]
    fn find(&self, key: i64) -> Result<usize, usize> {
        let rows = &self.rows;
        let n = rows.len();
        let stop = n.saturating_sub(NEAR_TOP);
        let mut i = n;
        while i > stop {
            let k = rows[i - 1].key;
            if k == key {
                return Ok(i - 1);
            }
            if k < key {
                return Err(i);
            }
            i -= 1;
        }
        match rows[..stop].binary_search_by(|r| r.key.cmp(&key)) {
            Ok(j) => Ok(j),
            Err(j) => Err(j),
        }
    }

    #[inline]
    fn set(&mut self, key: i64, price: Decimal, size: Decimal) {
        match (self.find(key), size.is_zero()) {
            (Ok(i), true) => {
                self.rows.remove(i);
            }
            (Ok(i), false) => self.rows[i].size = size,
            (Err(_), true) => {}
            (Err(i), false) => self.rows.insert(i, Row { key, price, size }),
        }
    }

    fn best(&self) -> Option<Level> {
        self.rows.last().map(|r| Level(r.price, r.size))
    }

    fn top(&self, depth: usize) -> Vec<Level> {
        self.rows
            .iter()
            .rev()
            .take(depth)
            .map(|r| Level(r.price, r.size))
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderBook {
    bids: Levels,
    asks: Levels,
    sequence: u64,
}

/// `price` in 1e-8 units, negated for asks so both sides ascend to the best.
#[inline]
fn key(side: BookSide, price: Decimal) -> Result<i64, BadPrice> {
    // The common case reads the mantissa where the price already is; a
    // price with more than 8 decimals (trailing zeros, or a bad one) goes
    // out of line, so this path never rebuilds the Decimal on the stack.
    let units = if price.scale() <= KEY_SCALE {
        units_of(price.mantissa(), price.scale())
    } else {
        normalized_units(price)
    };
    match (units, side) {
        (Some(u), BookSide::Bid) => Ok(u),
        (Some(u), BookSide::Ask) => Ok(-u),
        (None, _) => Err(BadPrice(price)),
    }
}

/// `mantissa` × 10^-`scale` in 1e-8 units (`scale` ≤ 8), if it fits.
#[inline]
fn units_of(mantissa: i128, scale: u32) -> Option<i64> {
    const POW10: [i64; 9] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
    ];
    i64::try_from(mantissa)
        .ok()?
        .checked_mul(POW10[(KEY_SCALE - scale) as usize])
}

/// A price written with more than 8 decimals: fine if they are zeros.
#[cold]
#[inline(never)]
fn normalized_units(price: Decimal) -> Option<i64> {
    let p = price.normalize();
    (p.scale() <= KEY_SCALE)
        .then(|| units_of(p.mantissa(), p.scale()))
        .flatten()
}

/// Whether the book can key `price` (at most 8 decimals, in range).
pub fn check_price(price: Decimal) -> Result<(), BadPrice> {
    key(BookSide::Bid, price).map(|_| ())
}

/// `levels` as one side's rows, best last; a level given twice keeps the
/// later size.
fn sorted_rows(side: BookSide, levels: &[Level]) -> Result<Vec<Row>, BadPrice> {
    let mut rows = levels
        .iter()
        .filter(|l| !l.1.is_zero())
        .map(|l| {
            Ok(Row {
                key: key(side, l.0)?,
                price: l.0,
                size: l.1,
            })
        })
        .collect::<Result<Vec<Row>, BadPrice>>()?;
    rows.sort_by_key(|r| r.key);
    rows.dedup_by(|later, earlier| {
        let same = later.key == earlier.key;
        if same {
            earlier.size = later.size;
        }
        same
    });
    Ok(rows)
}

impl OrderBook {
    pub fn new() -> Self {
        Self::default()
    }

    fn side(&mut self, side: BookSide) -> &mut Levels {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// Sets one level: a size of zero deletes it.
    #[inline]
    pub fn apply_delta(
        &mut self,
        side: BookSide,
        price: Decimal,
        size: Decimal,
    ) -> Result<(), BadPrice> {
        let key = key(side, price)?;
        self.side(side).set(key, price, size);
        Ok(())
    }

    /// Replaces the whole book; on a bad price it is left empty.
    pub fn replace(
        &mut self,
        bids: &[Level],
        asks: &[Level],
        sequence: u64,
    ) -> Result<(), BadPrice> {
        self.bids.rows.clear();
        self.asks.rows.clear();
        self.sequence = sequence;
        let bids = sorted_rows(BookSide::Bid, bids)?;
        let asks = sorted_rows(BookSide::Ask, asks)?;
        self.bids.rows = bids;
        self.asks.rows = asks;
        Ok(())
    }

    pub fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    pub fn mid(&self) -> Option<Decimal> {
        Some((self.best_bid()?.0 + self.best_ask()?.0) / Decimal::TWO)
    }

    /// The best `depth` levels of each side, best first.
    pub fn top(&self, depth: usize) -> (Vec<Level>, Vec<Level>) {
        (self.bids.top(depth), self.asks.top(depth))
    }

    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.0 >= a.0)
    }

    pub fn is_empty(&self) -> bool {
        self.bids.rows.is_empty() && self.asks.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn d(v: i64) -> Decimal {
        Decimal::from(v)
    }

    #[test]
    fn deltas_add_update_and_delete_levels() {
        let mut b = OrderBook::new();
        b.apply_delta(BookSide::Bid, d(99), d(1)).unwrap();
        b.apply_delta(BookSide::Bid, d(98), d(2)).unwrap();
        b.apply_delta(BookSide::Ask, d(101), d(3)).unwrap();
        b.apply_delta(BookSide::Ask, d(102), d(4)).unwrap();
        assert_eq!(b.best_bid(), Some(Level(d(99), d(1))));
        assert_eq!(b.best_ask(), Some(Level(d(101), d(3))));
        assert_eq!(b.mid(), Some(d(100)));
        b.apply_delta(BookSide::Bid, d(99), d(5)).unwrap();
        assert_eq!(b.best_bid(), Some(Level(d(99), d(5))));
        b.apply_delta(BookSide::Ask, d(101), Decimal::ZERO).unwrap();
        assert_eq!(b.best_ask(), Some(Level(d(102), d(4))));
        let (bids, asks) = b.top(1);
        assert_eq!((bids.len(), asks.len()), (1, 1));
        assert!(!b.is_crossed());
        b.apply_delta(BookSide::Bid, d(103), d(1)).unwrap();
        assert!(b.is_crossed());
    }

    #[test]
    fn replace_drops_zero_levels_and_keeps_sequence() {
        let mut b = OrderBook::new();
        b.replace(
            &[Level(d(1), d(0)), Level(d(2), d(1)), Level(d(3), d(2))],
            &[Level(d(5), d(1)), Level(d(4), d(1))],
            7,
        )
        .unwrap();
        assert_eq!(b.top(10).0, vec![Level(d(3), d(2)), Level(d(2), d(1))]);
        assert_eq!(b.top(10).1, vec![Level(d(4), d(1)), Level(d(5), d(1))]);
        assert_eq!(b.sequence(), 7);
    }

    #[test]
    fn prices_keep_their_text_and_equal_prices_of_other_scales_are_one_level() {
        let mut b = OrderBook::new();
        let p = |s: &str| s.parse::<Decimal>().unwrap();
        b.apply_delta(BookSide::Bid, p("52000.10000000"), p("1"))
            .unwrap();
        b.apply_delta(BookSide::Bid, p("52000.1"), p("2")).unwrap();
        assert_eq!(b.top(5).0, vec![Level(p("52000.10000000"), p("2"))]);
        assert_eq!(b.best_bid().unwrap().0.to_string(), "52000.10000000");
        // Trailing zeros beyond 8 decimals are fine; a ninth digit is not.
        b.apply_delta(BookSide::Ask, p("52000.2000000000"), p("1"))
            .unwrap();
        assert_eq!(
            b.apply_delta(BookSide::Ask, p("52000.000000001"), p("1")),
            Err(BadPrice(p("52000.000000001")))
        );
        assert_eq!(b.top(5).1.len(), 1, "a refused delta changes nothing");
    }

    /// Tens of thousands of random deltas, near the top and deep, against
    /// a BTreeMap: the same levels in the same order after every one.
    #[test]
    fn agrees_with_a_sorted_map_on_random_deltas() {
        let mut rng = crate::rng::Rng::new(7);
        let mut book = OrderBook::new();
        let mut model: [BTreeMap<i64, i64>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for step in 0..40_000 {
            let ask = rng.uniform() < 0.5;
            let depth = if rng.uniform() < 0.8 {
                (rng.uniform() * 20.0) as i64
            } else {
                (rng.uniform() * 300.0) as i64
            };
            let tick = if ask { 10_001 + depth } else { 9_999 - depth };
            let size = if rng.uniform() < 0.3 {
                0
            } else {
                1 + (rng.uniform() * 50.0) as i64
            };
            let side = if ask { BookSide::Ask } else { BookSide::Bid };
            book.apply_delta(side, Decimal::new(tick, 2), Decimal::from(size))
                .unwrap();
            let m = &mut model[ask as usize];
            if size == 0 {
                m.remove(&tick);
            } else {
                m.insert(tick, size);
            }
            if step % 97 == 0 || step > 39_900 {
                let (bids, asks) = book.top(usize::MAX);
                let want_bids: Vec<Level> = model[0]
                    .iter()
                    .rev()
                    .map(|(t, s)| Level(Decimal::new(*t, 2), Decimal::from(*s)))
                    .collect();
                let want_asks: Vec<Level> = model[1]
                    .iter()
                    .map(|(t, s)| Level(Decimal::new(*t, 2), Decimal::from(*s)))
                    .collect();
                assert_eq!(bids, want_bids, "bids after {step}");
                assert_eq!(asks, want_asks, "asks after {step}");
            }
        }
    }
}
