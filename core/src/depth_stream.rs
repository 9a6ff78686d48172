//! A deterministic synthetic L2 stream (market by price) for benchmarks
//! and comparisons: a mid that walks a tick at a time, up to `levels`
//! price levels a side next to it, activity skewed to the top of the
//! book, never crossed. Each delta says whether it adds, updates or
//! deletes a level, as libraries that want the action (NautilusTrader)
//! need; a delete has zero lots.

use crate::feed::Rng;
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
}
