//! A deterministic synthetic L2 stream (market by price) for benchmarks
//! and comparisons: a mid that walks a tick at a time, up to `levels`
//! price levels a side next to it, activity skewed to the top of the
//! book, never crossed. Each delta says whether it adds, updates or
//! deletes a level, as libraries that want the action (NautilusTrader)
//! need; a delete has zero lots.

use crate::order::Side;
use crate::order_book::BookSide;
use crate::rng::Rng;
use crate::tape::{DepthChange, MarketEvent, Print};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaAction {
    Add,
    Update,
    Delete,
}

/// One change to one level, in integer ticks and lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Delta {
    pub bid: bool,
    pub action: DeltaAction,
    pub tick: i64,
    /// The level's new size; 0 for a delete.
    pub lots: u64,
}

/// How the stream is shaped.
#[derive(Clone, Copy, Debug)]
pub struct StreamShape {
    pub seed: u64,
    pub start_tick: i64,
    /// Levels kept each side of the mid.
    pub levels: i64,
    /// Chance a step moves the mid one tick instead of changing a level.
    pub move_probability: f64,
    /// Mean distance (levels) from the top of a changed level.
    pub mean_depth: f64,
}

impl Default for StreamShape {
    fn default() -> Self {
        StreamShape {
            seed: 42,
            start_tick: 10_000_000,
            levels: 100,
            move_probability: 0.05,
            mean_depth: 8.0,
        }
    }
}

/// `count` deltas: first the initial book (both sides full), then steps.
pub fn l2_stream(shape: StreamShape, count: usize) -> Vec<L2Delta> {
    let mut rng = Rng::new(shape.seed);
    let mut out = Vec::with_capacity(count);
    let mut mid = shape.start_tick;
    let mut book: [BTreeMap<i64, u64>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let lots = |rng: &mut Rng| 1 + (rng.uniform() * 1000.0) as u64;
    let push = |out: &mut Vec<L2Delta>,
                book: &mut [BTreeMap<i64, u64>; 2],
                bid: bool,
                tick: i64,
                size: u64| {
        let side = &mut book[usize::from(!bid)];
        let action = match (side.contains_key(&tick), size) {
            (true, 0) => DeltaAction::Delete,
            (true, _) => DeltaAction::Update,
            (false, 0) => return,
            (false, _) => DeltaAction::Add,
        };
        if size == 0 {
            side.remove(&tick);
        } else {
            side.insert(tick, size);
        }
        out.push(L2Delta {
            bid,
            action,
            tick,
            lots: size,
        });
    };
    for d in 1..=shape.levels {
        let (a, b) = (lots(&mut rng), lots(&mut rng));
        push(&mut out, &mut book, true, mid - d, a);
        push(&mut out, &mut book, false, mid + d, b);
    }
    while out.len() < count {
        if rng.uniform() < shape.move_probability {
            mid += if rng.uniform() < 0.5 { -1 } else { 1 };
            // Levels now on the wrong side of the mid, or too far from it, go.
            let stale: Vec<(bool, i64)> = book[0]
                .keys()
                .filter(|&&t| t >= mid || t < mid - shape.levels)
                .map(|&t| (true, t))
                .chain(
                    book[1]
                        .keys()
                        .filter(|&&t| t <= mid || t > mid + shape.levels)
                        .map(|&t| (false, t)),
                )
                .collect();
            for (bid, t) in stale {
                push(&mut out, &mut book, bid, t, 0);
            }
            continue;
        }
        let bid = rng.uniform() < 0.5;
        let depth = ((-(1.0 - rng.uniform()).ln() * shape.mean_depth) as i64).min(shape.levels - 1);
        let tick = if bid {
            mid - 1 - depth
        } else {
            mid + 1 + depth
        };
        let exists = book[usize::from(!bid)].contains_key(&tick);
        let size = if exists && rng.uniform() < 0.3 {
            0
        } else {
            lots(&mut rng)
        };
        push(&mut out, &mut book, bid, tick, size);
    }
    out.truncate(count);
    out
}

/// Sizes by tick, bids then asks: the book `market_stream` tracks.
#[derive(Default)]
struct TickBook([BTreeMap<i64, u64>; 2]);

impl TickBook {
    fn apply(&mut self, d: &L2Delta) {
        let side = &mut self.0[usize::from(!d.bid)];
        if d.lots == 0 {
            side.remove(&d.tick);
        } else {
            side.insert(d.tick, d.lots);
        }
    }

    /// The level a taker takes from: the best ask for a buyer, the best
    /// bid for a seller.
    fn touch(&mut self, taker_buys: bool) -> Option<(&i64, &mut u64)> {
        if taker_buys {
            self.0[1].iter_mut().next()
        } else {
            self.0[0].iter_mut().next_back()
        }
    }
}

/// One step of a market: a book change or a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketStep {
    Depth(L2Delta),
    /// A taker (a buyer when `taker_buys`) takes `lots` from the best
    /// level on the other side, at `tick`; the level's smaller size
    /// follows as a `Depth` step.
    Trade {
        taker_buys: bool,
        tick: i64,
        lots: u64,
    },
}

/// `l2_stream`'s deltas with trades among them: before a delta, with
/// `trade_probability`, a taker takes part of the best bid or ask (never
/// all of it), and the level shrinks. About `count` steps.
pub fn market_stream(shape: StreamShape, count: usize, trade_probability: f64) -> Vec<MarketStep> {
    let deltas = l2_stream(shape, count);
    let mut rng = Rng::new(shape.seed ^ 0x7472_6164_6573);
    let mut book = TickBook::default();
    let mut out = Vec::with_capacity(count + count / 4);
    for d in deltas {
        if rng.uniform() < trade_probability {
            let taker_buys = rng.uniform() < 0.5;
            if let Some((&tick, size)) = book.touch(taker_buys).filter(|(_, s)| **s > 1) {
                let lots = 1 + (rng.uniform() * (*size - 1) as f64) as u64;
                *size -= lots;
                out.push(MarketStep::Trade {
                    taker_buys,
                    tick,
                    lots,
                });
                out.push(MarketStep::Depth(L2Delta {
                    bid: !taker_buys,
                    action: DeltaAction::Update,
                    tick,
                    lots: *size,
                }));
            }
        }
        book.apply(&d);
        out.push(MarketStep::Depth(d));
    }
    out
}

/// `steps` as the backtester's events, one per millisecond from
/// `start_ms`, at 0.01 a tick and 0.001 a lot.
pub fn market_events(steps: &[MarketStep], start_ms: i64) -> Vec<MarketEvent> {
    steps
        .iter()
        .zip(start_ms..)
        .map(|(s, at_ms)| match *s {
            MarketStep::Depth(d) => MarketEvent::Depth(DepthChange {
                at_ms,
                side: if d.bid { BookSide::Bid } else { BookSide::Ask },
                price: Decimal::new(d.tick, 2),
                qty: Decimal::new(d.lots as i64, 3),
                snapshot: false,
            }),
            MarketStep::Trade {
                taker_buys,
                tick,
                lots,
            } => MarketEvent::Trade(Print {
                at_ms,
                price: Decimal::new(tick, 2),
                qty: Decimal::new(lots as i64, 3),
                taker: if taker_buys { Side::Buy } else { Side::Sell },
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_deterministic_never_crossed_and_skewed_to_the_top() {
        let shape = StreamShape::default();
        let s = l2_stream(shape, 200_000);
        assert_eq!(s, l2_stream(shape, 200_000));
        let mut book: [BTreeMap<i64, u64>; 2] = [BTreeMap::new(), BTreeMap::new()];
        let (mut near, mut moves) = (0usize, 0usize);
        for d in &s {
            let side = &mut book[usize::from(!d.bid)];
            match d.action {
                DeltaAction::Add => assert!(side.insert(d.tick, d.lots).is_none()),
                DeltaAction::Update => assert!(side.insert(d.tick, d.lots).is_some()),
                DeltaAction::Delete => assert!(side.remove(&d.tick).is_some()),
            }
            assert_eq!(d.lots == 0, d.action == DeltaAction::Delete);
            if let (Some(b), Some(a)) = (book[0].keys().next_back(), book[1].keys().next()) {
                assert!(b < a, "crossed at {d:?}");
                let top = if d.bid { *b } else { *a };
                near += usize::from((d.tick - top).abs() < 10);
            }
            moves += usize::from(d.action == DeltaAction::Delete);
            assert!(book[0].len() <= 100 && book[1].len() <= 100);
        }
        assert!(near > s.len() / 2, "most changes near the top: {near}");
        assert!(moves > 10_000, "levels are deleted too: {moves}");
    }

    #[test]
    fn trades_take_from_the_best_level_and_the_level_shrinks() {
        let s = market_stream(StreamShape::default(), 100_000, 0.1);
        assert_eq!(s, market_stream(StreamShape::default(), 100_000, 0.1));
        let mut book = TickBook::default();
        let mut trades = 0;
        for (k, step) in s.iter().enumerate() {
            match *step {
                MarketStep::Depth(d) => book.apply(&d),
                MarketStep::Trade {
                    taker_buys,
                    tick,
                    lots,
                } => {
                    trades += 1;
                    let (best, size) = book.touch(taker_buys).map(|(t, s)| (*t, *s)).unwrap();
                    assert_eq!(tick, best, "at the touch");
                    assert!(lots >= 1 && lots < size);
                    assert_eq!(
                        s[k + 1],
                        MarketStep::Depth(L2Delta {
                            bid: !taker_buys,
                            action: DeltaAction::Update,
                            tick,
                            lots: size - lots
                        })
                    );
                }
            }
        }
        assert!(trades > 8_000, "{trades}");
    }
}
