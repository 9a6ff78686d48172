//! `DepthSync`: keeps a local order book in step with Binance's diff depth
//! stream. Diffs are buffered until a REST snapshot arrives; diffs the
//! snapshot already contains are dropped; the first one applied must
//! straddle the snapshot's `lastUpdateId`, and every later one must start
//! right after the previous one ends (`U == previous u + 1`). Anything else
//! is a gap: the book is discarded and a resync (new snapshot) is asked
//! for — never a silently wrong book.

use super::wire::{DepthSnapshot, DepthUpdate};
use crate::order_book::{BookSide, OrderBook};
use std::collections::VecDeque;

/// Diffs kept while waiting for a snapshot.
const MAX_BUFFER: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepthOutcome {
    /// Buffered; the book is not usable yet (ask for a snapshot if none is on its way).
    Waiting,
    /// Applied: the book changed.
    Applied,
    /// Older than the book: ignored.
    Stale,
    /// A gap: the book was discarded; fetch a new snapshot.
    Resync { expected: u64, got: u64 },
    /// A level the book cannot hold exactly: the book was discarded;
    /// fetch a new snapshot.
    Invalid(String),
}

#[derive(Debug, Default)]
pub struct DepthSync {
    book: Option<OrderBook>,
    last_id: u64,
    buffer: VecDeque<DepthUpdate>,
}

impl DepthSync {
    pub fn new() -> Self {
        DepthSync::default()
    }

    /// The book, when it is in sync.
    pub fn book(&self) -> Option<&OrderBook> {
        self.book.as_ref()
    }

    pub fn last_update_id(&self) -> u64 {
        self.last_id
    }

    fn apply(&mut self, d: &DepthUpdate) -> DepthOutcome {
        let Some(book) = self.book.as_mut() else {
            return DepthOutcome::Waiting;
        };
        if d.last_id <= self.last_id {
            return DepthOutcome::Stale;
        }
        if d.first_id > self.last_id + 1 {
            let expected = self.last_id + 1;
            self.reset();
            return DepthOutcome::Resync {
                expected,
                got: d.first_id,
            };
        }
        let sides = [(BookSide::Bid, &d.bids), (BookSide::Ask, &d.asks)];
        for (side, levels) in sides {
            for l in levels {
                if let Err(e) = book.apply_delta(side, l.0, l.1) {
                    self.reset();
                    return DepthOutcome::Invalid(e.to_string());
                }
            }
        }
        self.last_id = d.last_id;
        book.set_sequence(d.last_id);
        DepthOutcome::Applied
    }

    fn reset(&mut self) {
        self.book = None;
        self.last_id = 0;
        self.buffer.clear();
    }

    /// A diff from the stream.
    pub fn on_update(&mut self, d: DepthUpdate) -> DepthOutcome {
        if self.book.is_none() {
            if self.buffer.len() >= MAX_BUFFER {
                self.buffer.pop_front();
            }
            self.buffer.push_back(d);
            return DepthOutcome::Waiting;
        }
        self.apply(&d)
    }

    /// The REST snapshot. Answers `Resync` when it is older than the
    /// buffered diffs reach back (fetch another) or they do not connect.
    pub fn on_snapshot(&mut self, s: DepthSnapshot) -> DepthOutcome {
        if let Some(first) = self.buffer.front() {
            if s.last_update_id + 1 < first.first_id {
                let expected = s.last_update_id + 1;
                let got = first.first_id;
                self.book = None;
                return DepthOutcome::Resync { expected, got };
            }
        }
        let mut book = OrderBook::new();
        if let Err(e) = book.replace(&s.bids, &s.asks, s.last_update_id) {
            self.reset();
            return DepthOutcome::Invalid(e.to_string());
        }
        self.book = Some(book);
        self.last_id = s.last_update_id;
        let buffered: Vec<DepthUpdate> = self.buffer.drain(..).collect();
        let mut out = DepthOutcome::Applied;
        for d in &buffered {
            match self.apply(d) {
                r @ DepthOutcome::Resync { .. } => return r,
                _ => out = DepthOutcome::Applied,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::Level;
    use rust_decimal::Decimal;

    fn lvl(p: i64, q: i64) -> Level {
        Level(Decimal::from(p), Decimal::from(q))
    }

    fn diff(first: u64, last: u64, bids: Vec<Level>) -> DepthUpdate {
        DepthUpdate {
            event_time: 0,
            symbol: "BTCUSDT".into(),
            first_id: first,
            last_id: last,
            bids,
            asks: vec![],
        }
    }

    fn snapshot(id: u64) -> DepthSnapshot {
        DepthSnapshot {
            last_update_id: id,
            bids: vec![lvl(100, 1), lvl(99, 2)],
            asks: vec![lvl(101, 1)],
        }
    }

    #[test]
    fn buffers_until_the_snapshot_then_applies_in_sequence() {
        let mut s = DepthSync::new();
        assert_eq!(
            s.on_update(diff(95, 100, vec![lvl(98, 9)])),
            DepthOutcome::Waiting
        );
        assert_eq!(
            s.on_update(diff(101, 105, vec![lvl(100, 5)])),
            DepthOutcome::Waiting
        );
        assert_eq!(s.on_snapshot(snapshot(102)), DepthOutcome::Applied);
        let book = s.book().unwrap();
        assert_eq!(
            book.best_bid(),
            Some(lvl(100, 5)),
            "the straddling diff applied"
        );
        let (bids, _) = book.top(10);
        assert!(
            bids.iter().all(|l| l.0 != Decimal::from(98)),
            "the diff before the snapshot dropped"
        );
        assert_eq!(s.last_update_id(), 105);
        assert_eq!(
            s.on_update(diff(106, 106, vec![lvl(100, 0)])),
            DepthOutcome::Applied
        );
        assert_eq!(
            s.book().unwrap().best_bid(),
            Some(lvl(99, 2)),
            "size 0 removes"
        );
        assert_eq!(s.on_update(diff(100, 104, vec![])), DepthOutcome::Stale);
    }

    #[test]
    fn a_gap_discards_the_book_and_asks_for_a_resync() {
        let mut s = DepthSync::new();
        s.on_snapshot(snapshot(10));
        assert_eq!(s.on_update(diff(11, 12, vec![])), DepthOutcome::Applied);
        assert_eq!(
            s.on_update(diff(14, 15, vec![])),
            DepthOutcome::Resync {
                expected: 13,
                got: 14
            }
        );
        assert!(s.book().is_none(), "never quote from a book with a hole");
        assert_eq!(s.on_update(diff(16, 17, vec![])), DepthOutcome::Waiting);
        // A snapshot older than the buffered diffs is not enough.
        assert!(matches!(
            s.on_snapshot(snapshot(12)),
            DepthOutcome::Resync { .. }
        ));
        assert_eq!(s.on_snapshot(snapshot(16)), DepthOutcome::Applied);
        assert_eq!(s.last_update_id(), 17);
    }
}
