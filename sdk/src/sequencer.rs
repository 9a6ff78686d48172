//! `Sequencer`: what the client hands its handlers, in `seq` order and
//! exactly once, across reconnects. Live, an event at or below the last
//! delivered `seq` is a duplicate. After a reconnect everything is held
//! until the `replay` the client asked for has arrived in full (the
//! server sends replayed and live frames interleaved, and the replay's
//! answer may overtake its frames); then the held events go out in order.
//! When the server cannot replay (`replay_gap`), the caller is told to
//! resync and gets the fresh snapshot, then what followed it. Plain Rust.

use std::collections::BTreeMap;

/// What a frame is, for ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Kept by the server for `replay` (everything but market data).
    Retained,
    /// Market data: has a `seq`, is never replayed.
    Market,
    /// Numbered for this connection alone (an `error` answering one of its
    /// frames): delivered in order, never replayed, so not counted as one
    /// of the replay's events (counting it would let the held events go
    /// before the replay's last ones came, and those would then be dropped
    /// as already delivered).
    Own,
    /// The `snapshot` of a new connection: state as of its `seq`.
    Snapshot,
}

/// What comes out: the caller's items, and a resync notice.
#[derive(Clone, Debug, PartialEq)]
pub enum Out<T> {
    Item(T),
    /// Events were missed and cannot be replayed; the items that follow
    /// start with the fresh snapshot.
    Resync(String),
}

#[derive(Debug)]
struct CatchUp<T> {
    since: u64,
    /// `(seq, 0)` for events, `(seq, 1)` for a snapshot: a snapshot at
    /// `seq` comes after the event with that `seq`.
    held: BTreeMap<(u64, u8), (Kind, T)>,
    /// The replay's answer: how far it went and how many it sent.
    replayed: Option<(u64, usize)>,
}

#[derive(Debug)]
pub struct Sequencer<T> {
    last: u64,
    started: bool,
    catch_up: Option<CatchUp<T>>,
    duplicates: u64,
}

impl<T> Default for Sequencer<T> {
    fn default() -> Self {
        Sequencer {
            last: 0,
            started: false,
            catch_up: None,
            duplicates: 0,
        }
    }
}

impl<T> Sequencer<T> {
    /// The last `seq` delivered.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Frames dropped as already delivered.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    pub fn catching_up(&self) -> bool {
        self.catch_up.is_some()
    }

    /// A new connection is up. Answers the `seq` to replay from, or `None`
    /// for the first connection (its snapshot is the start).
    pub fn reconnected(&mut self) -> Option<u64> {
        if !self.started {
            return None;
        }
        self.catch_up = Some(CatchUp {
            since: self.last,
            held: BTreeMap::new(),
            replayed: None,
        });
        Some(self.last)
    }

    /// A frame arrived.
    pub fn on_frame(&mut self, seq: u64, kind: Kind, item: T) -> Vec<Out<T>> {
        let Some(c) = &mut self.catch_up else {
            if kind == Kind::Snapshot && !self.started {
                self.started = true;
                self.last = seq;
                return vec![Out::Item(item)];
            }
            if seq <= self.last && self.started {
                self.duplicates += 1;
                return Vec::new();
            }
            self.started = true;
            self.last = seq;
            return vec![Out::Item(item)];
        };
        if kind != Kind::Snapshot && seq <= c.since {
            self.duplicates += 1;
            return Vec::new();
        }
        let key = (seq, u8::from(kind == Kind::Snapshot));
        if c.held.insert(key, (kind, item)).is_some() {
            self.duplicates += 1;
        }
        self.release()
    }

    /// The server answered the replay: it sent `count` events up to `upto`.
    pub fn replayed(&mut self, upto: u64, count: usize) -> Vec<Out<T>> {
        if let Some(c) = &mut self.catch_up {
            c.replayed = Some((upto, count));
        }
        self.release()
    }

    /// The replay is impossible (`replay_gap`) or never completed: resync
    /// from the held snapshot, then what came after it.
    pub fn resync(&mut self, why: String) -> Vec<Out<T>> {
        let Some(c) = self.catch_up.take() else {
            return Vec::new();
        };
        let snapshot = c
            .held
            .iter()
            .filter(|(_, (k, _))| *k == Kind::Snapshot)
            .map(|((seq, _), _)| *seq)
            .next_back();
        let mut out = vec![Out::Resync(why)];
        let from = snapshot.map_or((0, 0), |s| (s, 1));
        for (key, (kind, item)) in c.held {
            if key < from || (kind == Kind::Snapshot && key != from) {
                continue;
            }
            self.last = self.last.max(key.0);
            out.push(Out::Item(item));
        }
        out
    }

    /// Lets the held events go once the replay is complete: every retained
    /// event it announced is held.
    fn release(&mut self) -> Vec<Out<T>> {
        let complete = match &self.catch_up {
            Some(CatchUp {
                since,
                held,
                replayed: Some((upto, count)),
            }) => {
                let have = held
                    .iter()
                    .filter(|((seq, _), (k, _))| {
                        *k == Kind::Retained && *seq > *since && *seq <= *upto
                    })
                    .count();
                have >= *count
            }
            _ => false,
        };
        if !complete {
            return Vec::new();
        }
        let Some(c) = self.catch_up.take() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ((seq, _), (kind, item)) in c.held {
            // The snapshot is redundant once nothing is missing; market
            // data older than what was delivered is stale.
            if kind == Kind::Snapshot || (kind == Kind::Market && seq <= self.last) {
                continue;
            }
            self.last = self.last.max(seq);
            out.push(Out::Item(item));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(out: Vec<Out<&'static str>>) -> Vec<&'static str> {
        out.into_iter()
            .map(|o| match o {
                Out::Item(i) => i,
                Out::Resync(_) => "RESYNC",
            })
            .collect()
    }

    fn live(s: &mut Sequencer<&'static str>) {
        assert_eq!(items(s.on_frame(10, Kind::Snapshot, "snap10")), ["snap10"]);
        assert_eq!(items(s.on_frame(11, Kind::Retained, "a11")), ["a11"]);
        assert_eq!(items(s.on_frame(12, Kind::Market, "p12")), ["p12"]);
        assert_eq!(
            items(s.on_frame(12, Kind::Market, "p12")),
            Vec::<&str>::new()
        );
        assert_eq!(s.last(), 12);
    }

    #[test]
    fn a_replay_interleaved_with_live_frames_comes_out_once_in_order() {
        let mut s = Sequencer::default();
        live(&mut s);
        assert_eq!(s.reconnected(), Some(12));
        // Missed: 13, 15 (retained), 14 (market, not replayed). The new
        // connection's snapshot is at 15; live 16 arrives, then the
        // replay's frames (13, 15, 16), and its answer overtakes them.
        let mut got = Vec::new();
        got.extend(items(s.on_frame(15, Kind::Snapshot, "snap15")));
        got.extend(items(s.on_frame(16, Kind::Retained, "c16")));
        got.extend(items(s.replayed(16, 3)));
        got.extend(items(s.on_frame(13, Kind::Retained, "a13")));
        assert!(got.is_empty(), "held until complete: {got:?}");
        assert!(s.catching_up());
        // 16 came live already: with 15 all three are held.
        got.extend(items(s.on_frame(15, Kind::Retained, "b15")));
        assert_eq!(got, ["a13", "b15", "c16"]);
        assert!(!s.catching_up());
        assert_eq!(
            items(s.on_frame(16, Kind::Retained, "c16")),
            Vec::<&str>::new()
        );
        assert_eq!(items(s.on_frame(17, Kind::Retained, "d17")), ["d17"]);
        // p12 live, then c16 after the release.
        assert_eq!(s.duplicates(), 2);
    }

    #[test]
    fn a_frame_numbered_for_this_connection_does_not_count_towards_the_replay() {
        let mut s = Sequencer::default();
        live(&mut s);
        assert_eq!(s.reconnected(), Some(12));
        // Missed: 13, 14. The new connection's snapshot is at 14; an
        // `error` answering one of its frames is numbered 15; 16 comes
        // live. The replay sends 13, 14, 16; its answer (3 events, up to
        // 16) overtakes them.
        let mut got = Vec::new();
        got.extend(items(s.on_frame(14, Kind::Snapshot, "snap14")));
        got.extend(items(s.on_frame(15, Kind::Own, "err15")));
        got.extend(items(s.on_frame(16, Kind::Retained, "c16")));
        got.extend(items(s.replayed(16, 3)));
        got.extend(items(s.on_frame(13, Kind::Retained, "a13")));
        // Counting the error, three would be held: 14 would come after
        // the release, below what was delivered, and be dropped.
        assert!(got.is_empty(), "released before the replay's last: {got:?}");
        got.extend(items(s.on_frame(14, Kind::Retained, "b14")));
        assert_eq!(got, ["a13", "b14", "err15", "c16"]);
        assert_eq!(s.last(), 16);
    }

    #[test]
    fn an_empty_replay_releases_at_once() {
        let mut s = Sequencer::default();
        live(&mut s);
        s.reconnected();
        assert!(s.on_frame(12, Kind::Snapshot, "snap12").is_empty());
        assert_eq!(items(s.replayed(12, 0)), Vec::<&str>::new());
        assert!(!s.catching_up());
        assert_eq!(items(s.on_frame(13, Kind::Retained, "a13")), ["a13"]);
    }

    #[test]
    fn a_gap_resyncs_from_the_snapshot_and_what_followed() {
        let mut s = Sequencer::default();
        live(&mut s);
        s.reconnected();
        assert!(s.on_frame(100_001, Kind::Snapshot, "snap").is_empty());
        assert!(s.on_frame(100_002, Kind::Retained, "x").is_empty());
        assert_eq!(
            items(s.resync("replay_gap".into())),
            ["RESYNC", "snap", "x"]
        );
        assert_eq!(s.last(), 100_002);
        assert_eq!(items(s.on_frame(100_003, Kind::Retained, "y")), ["y"]);
    }

    #[test]
    fn the_first_connection_starts_from_its_snapshot() {
        let mut s: Sequencer<&str> = Sequencer::default();
        assert_eq!(s.reconnected(), None);
        assert_eq!(items(s.on_frame(5, Kind::Snapshot, "snap")), ["snap"]);
        assert_eq!(
            items(s.on_frame(5, Kind::Retained, "dup")),
            Vec::<&str>::new()
        );
    }
}
