//! `Backlog`: what the bus has not yet got. Events wait in `seq` order and
//! are taken, and given back if the bus refused them, from the front;
//! past `cap` the oldest are dropped and counted (the stream then has a
//! gap, which is said). Market data waits as the latest per subject.

use super::route::{Lane, Routed};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};

/// A frame waiting for the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) routed: Routed,
    pub(super) payload: Bytes,
    /// Market data's: the newest event numbered before it, which a
    /// gateway relays first (`AFTER_HEADER`); 0 for events.
    pub(super) after: u64,
}

#[derive(Debug)]
pub(super) struct Backlog {
    events: VecDeque<Pending>,
    market: HashMap<String, Pending>,
    cap: usize,
    /// Events dropped past `cap`, and the newest of them.
    pub(super) dropped: u64,
    pub(super) dropped_upto: u64,
    /// The newest event pushed.
    last_event: u64,
}

impl Backlog {
    pub(super) fn new(cap: usize) -> Self {
        Backlog {
            events: VecDeque::new(),
            market: HashMap::new(),
            cap: cap.max(1),
            dropped: 0,
            dropped_upto: 0,
            last_event: 0,
        }
    }

    pub(super) fn push(&mut self, routed: Routed, payload: Bytes) {
        let after = match routed.lane {
            Lane::Events => 0,
            Lane::Market => self.last_event,
        };
        let p = Pending {
            routed,
            payload,
            after,
        };
        match p.routed.lane {
            Lane::Events => {
                self.last_event = p.routed.seq;
                if self.events.len() >= self.cap {
                    if let Some(old) = self.events.pop_front() {
                        self.dropped += 1;
                        self.dropped_upto = old.routed.seq;
                    }
                }
                self.events.push_back(p);
            }
            Lane::Market => {
                self.market.insert(p.routed.subject.clone(), p);
            }
        }
    }

    pub(super) fn events_waiting(&self) -> usize {
        self.events.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.market.is_empty()
    }

    /// Up to `n` events from the front, oldest first.
    pub(super) fn take_events(&mut self, n: usize) -> Vec<Pending> {
        let n = n.min(self.events.len());
        self.events.drain(..n).collect()
    }

    /// Gives back events taken and not stored, ahead of the rest.
    pub(super) fn give_back(&mut self, taken: Vec<Pending>) {
        for p in taken.into_iter().rev() {
            self.events.push_front(p);
        }
    }

    /// Forgets the events up to `seq`: the stream already has them.
    pub(super) fn stored_upto(&mut self, seq: u64) {
        while self.events.front().is_some_and(|p| p.routed.seq <= seq) {
            self.events.pop_front();
        }
    }

    /// The latest market data per subject, all of it.
    pub(super) fn take_market(&mut self) -> Vec<Pending> {
        let mut all: Vec<Pending> = self.market.drain().map(|(_, p)| p).collect();
        all.sort_by_key(|p| p.routed.seq);
        all
    }

    /// Gives back market data not stored, unless newer came meanwhile.
    pub(super) fn give_back_market(&mut self, taken: Vec<Pending>) {
        for p in taken {
            self.market.entry(p.routed.subject.clone()).or_insert(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> (Routed, Bytes) {
        let routed = Routed {
            seq,
            lane: Lane::Events,
            subject: "laicai.main.evt.order_update.BTC-USDT".into(),
        };
        (routed, Bytes::from(format!("{{\"seq\":{seq}}}")))
    }

    fn price(seq: u64, symbol: &str) -> (Routed, Bytes) {
        let routed = Routed {
            seq,
            lane: Lane::Market,
            subject: format!("laicai.main.mkt.price.{symbol}"),
        };
        (routed, Bytes::new())
    }

    fn put(b: &mut Backlog, (routed, payload): (Routed, Bytes)) {
        b.push(routed, payload);
    }

    fn seqs(v: &[Pending]) -> Vec<u64> {
        v.iter().map(|p| p.routed.seq).collect()
    }

    #[test]
    fn events_keep_their_order_through_refusals() {
        let mut b = Backlog::new(10);
        for s in 1..=5 {
            put(&mut b, event(s));
        }
        let taken = b.take_events(3);
        assert_eq!(seqs(&taken), vec![1, 2, 3]);
        put(&mut b, event(6));
        b.give_back(taken);
        assert_eq!(seqs(&b.take_events(10)), vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn what_the_stream_has_is_forgotten() {
        let mut b = Backlog::new(10);
        for s in [3, 5, 8, 9] {
            put(&mut b, event(s));
        }
        b.stored_upto(5);
        assert_eq!(seqs(&b.take_events(10)), vec![8, 9]);
    }

    #[test]
    fn past_the_cap_the_oldest_are_dropped_and_counted() {
        let mut b = Backlog::new(3);
        for s in 1..=5 {
            put(&mut b, event(s));
        }
        assert_eq!((b.dropped, b.dropped_upto), (2, 2));
        assert_eq!(seqs(&b.take_events(10)), vec![3, 4, 5]);
    }

    #[test]
    fn market_data_waits_as_the_latest_per_subject() {
        let mut b = Backlog::new(3);
        put(&mut b, price(1, "BTC-USDT"));
        put(&mut b, price(2, "ETH-USDT"));
        put(&mut b, price(3, "BTC-USDT"));
        let taken = b.take_market();
        assert_eq!(seqs(&taken), vec![2, 3]);
        put(&mut b, price(4, "ETH-USDT"));
        b.give_back_market(taken);
        assert_eq!(seqs(&b.take_market()), vec![3, 4]);
        assert!(b.is_empty());
    }

    #[test]
    fn market_data_names_the_event_numbered_before_it() {
        let mut b = Backlog::new(10);
        put(&mut b, price(1, "BTC-USDT"));
        put(&mut b, event(2));
        put(&mut b, event(3));
        put(&mut b, price(4, "ETH-USDT"));
        let after: Vec<(u64, u64)> = b
            .take_market()
            .iter()
            .map(|p| (p.routed.seq, p.after))
            .collect();
        assert_eq!(after, vec![(1, 0), (4, 3)]);
    }
}
