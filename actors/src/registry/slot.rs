//! What the registry keeps per session: the outbox it pushes frames into,
//! the ordered backlog of frames that wait when the outbox is full (market
//! data conflated), the throttle of market data for subscriptions with an
//! `update_frequency`, and how a delivery went.

use super::*;

pub(super) type ConflationKey = (&'static str, String);

/// An encoded event and its kind (for counters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Frame {
    pub(super) text: ByteString,
    pub(super) kind: EventKind,
}

pub(super) fn encode_frame(event: &Event, at_ms: TimestampMs, seq: u64) -> Option<Frame> {
    match encode(event, at_ms, seq) {
        Ok(text) => Some(Frame {
            text: ByteString::from(text),
            kind: event.kind(),
        }),
        Err(e) => {
            tracing::error!(event = event.name(), error = %e, "cannot encode event");
            None
        }
    }
}

/// Counters by event kind, indexed by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByType(pub Vec<u64>);

impl Default for ByType {
    fn default() -> Self {
        ByType(vec![0; EventKind::ALL.len()])
    }
}

impl ByType {
    pub(super) fn add(&mut self, kind: EventKind) {
        if let Some(n) = self.0.get_mut(kind as usize) {
            *n += 1;
        }
    }

    /// (type, count) for every type counted at least once.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        EventKind::ALL
            .iter()
            .zip(&self.0)
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.as_str(), *n))
    }
}

/// Frames waiting for a full session outbox, oldest first.
#[derive(Debug, Default)]
pub(super) struct Backlog {
    pub(super) queue: VecDeque<Option<(Frame, Option<ConflationKey>)>>,
    /// Absolute position of the newest market-data frame per key.
    pub(super) latest: HashMap<ConflationKey, u64>,
    /// Absolute position of `queue[0]`.
    pub(super) head: u64,
    pub(super) live: usize,
}

impl Backlog {
    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Queues a frame; returns true if it replaced an older market-data frame.
    pub(super) fn push(&mut self, frame: Frame, key: Option<ConflationKey>) -> bool {
        let mut conflated = false;
        let pos = self.head + self.queue.len() as u64;
        if let Some(k) = &key {
            if let Some(old) = self.latest.insert(k.clone(), pos) {
                let index = old.checked_sub(self.head).map(|i| i as usize);
                if let Some(slot) = index.and_then(|i| self.queue.get_mut(i)) {
                    if slot.take().is_some() {
                        self.live -= 1;
                        conflated = true;
                    }
                }
            }
        }
        self.queue.push_back(Some((frame, key)));
        self.live += 1;
        conflated
    }

    pub(super) fn pop(&mut self) -> Option<(Frame, Option<ConflationKey>)> {
        while let Some(slot) = self.queue.pop_front() {
            let pos = self.head;
            self.head += 1;
            if let Some((frame, key)) = slot {
                self.live -= 1;
                if let Some(k) = &key {
                    if self.latest.get(k) == Some(&pos) {
                        self.latest.remove(k);
                    }
                }
                return Some((frame, key));
            }
        }
        None
    }

    /// Puts back a frame `pop` returned (its outbox was still full).
    pub(super) fn unpop(&mut self, frame: Frame, key: Option<ConflationKey>) {
        self.head -= 1;
        if let Some(k) = &key {
            self.latest.entry(k.clone()).or_insert(self.head);
        }
        self.queue.push_front(Some((frame, key)));
        self.live += 1;
    }
}

#[derive(Debug)]
pub(super) struct Slot {
    pub(super) outbox: Outbox,
    pub(super) subscriptions: SubscriptionSet,
    pub(super) backlog: Backlog,
    pub(super) evicted: Arc<AtomicBool>,
    pub(super) socket: Option<ClientSocket>,
    /// Extra backlog allowed while a replay it asked for drains: a client
    /// catching up is not evicted for the size of its own replay.
    pub(super) grace: usize,
    /// Since when the backlog has waited with nothing taken from it.
    pub(super) stuck_since: Option<Instant>,
    /// Market data this session takes at an `update_frequency`.
    pub(super) throttles: HashMap<ConflationKey, Throttle>,
    /// Its snapshot's `seq`: a gateway catching up on the stream relays
    /// older events, which the snapshot already holds.
    pub(super) from_seq: u64,
    /// The newest `seq` it was sent live: a gateway's held market data,
    /// numbered by the engine, may go only above it.
    pub(super) sent_upto: u64,
}

/// One throttled market-data stream of a session.
#[derive(Debug)]
pub(super) struct Throttle {
    pub(super) last_sent: Instant,
    pub(super) every: Duration,
    /// An update was held back since `last_sent`.
    pub(super) held: bool,
}

impl Throttle {
    pub(super) fn due(&self, now: Instant) -> bool {
        now.duration_since(self.last_sent) >= self.every
    }
}

pub(super) enum Delivery {
    Sent,
    Queued,
    Gone,
    TooSlow(Slowness),
}

/// What a slot needs to know of the registry's limits.
#[derive(Clone, Copy)]
pub(super) struct Bounds {
    pub(super) backlog: usize,
    pub(super) timeout: Duration,
}

/// Why a session is evicted.
#[derive(Clone, Copy, Debug)]
pub(super) enum Slowness {
    Behind { frames: usize, limit: usize },
    Stuck { frames: usize, for_ms: u128 },
}

impl Slot {
    pub(super) fn new(
        outbox: Outbox,
        subscriptions: SubscriptionSet,
        evicted: Arc<AtomicBool>,
        socket: Option<ClientSocket>,
    ) -> Self {
        Slot {
            outbox,
            subscriptions,
            backlog: Backlog::default(),
            evicted,
            socket,
            grace: 0,
            stuck_since: None,
            throttles: HashMap::new(),
            from_seq: 0,
            sent_upto: 0,
        }
    }

    /// Whether a market update throttled to `every` goes out now; if not,
    /// it is held for the interval's end.
    pub(super) fn take_now(&mut self, key: &ConflationKey, every: Duration, now: Instant) -> bool {
        if let Some(t) = self.throttles.get_mut(key) {
            t.every = every;
            if t.due(now) {
                t.last_sent = now;
                t.held = false;
                return true;
            }
            t.held = true;
            return false;
        }
        let t = Throttle {
            last_sent: now,
            every,
            held: false,
        };
        self.throttles.insert(key.clone(), t);
        true
    }

    /// `Queued`, or `TooSlow` if the backlog is over its bound or has not
    /// moved for `timeout`.
    pub(super) fn waiting(&mut self, bounds: Bounds) -> Delivery {
        let frames = self.backlog.live;
        let since = *self.stuck_since.get_or_insert_with(Instant::now);
        let limit = bounds.backlog.saturating_add(self.grace);
        if frames > limit {
            Delivery::TooSlow(Slowness::Behind { frames, limit })
        } else if since.elapsed() > bounds.timeout {
            Delivery::TooSlow(Slowness::Stuck {
                frames,
                for_ms: since.elapsed().as_millis(),
            })
        } else {
            Delivery::Queued
        }
    }

    pub(super) fn deliver(
        &mut self,
        frame: Frame,
        key: Option<&ConflationKey>,
        bounds: Bounds,
        stats: &mut RegistryStats,
    ) -> Delivery {
        // The key is copied only for a frame that has to wait.
        if self.backlog.is_empty() {
            match self.outbox.offer(frame.text) {
                Ok(()) => {
                    stats.delivered_by_type.add(frame.kind);
                    return Delivery::Sent;
                }
                Err(Refused::Closed) => return Delivery::Gone,
                Err(Refused::Full(text)) => {
                    let frame = Frame { text, ..frame };
                    self.backlog.push(frame, key.cloned());
                }
            }
        } else if self.backlog.push(frame, key.cloned()) {
            stats.conflated += 1;
        }
        self.waiting(bounds)
    }

    /// Moves backlog into the outbox while it has room.
    pub(super) fn drain(&mut self, bounds: Bounds, stats: &mut RegistryStats) -> Delivery {
        while let Some((frame, key)) = self.backlog.pop() {
            let kind = frame.kind;
            match self.outbox.offer(frame.text) {
                Ok(()) => {
                    stats.delivered_by_type.add(kind);
                    self.grace = self.grace.saturating_sub(1);
                    self.stuck_since = None;
                }
                Err(Refused::Closed) => return Delivery::Gone,
                Err(Refused::Full(text)) => {
                    self.backlog.unpop(Frame { text, kind }, key);
                    return self.waiting(bounds);
                }
            }
        }
        self.grace = 0;
        self.stuck_since = None;
        Delivery::Sent
    }
}
