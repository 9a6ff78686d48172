//! `RegistryActor`: owns the global `seq`, every session's subscriptions
//! and the client-visible `StateView`; fans each event out to the sessions
//! that subscribed.
//!
//! Each event is serialized once; sessions share the bytes. Delivery is a
//! push into each session's bounded `Outbox` (no actix message per frame;
//! the session is woken only if it sleeps). When a session's outbox is
//! full its frames wait in a bounded per-session backlog, in
//! order, where market data is conflated (the newest `price`/`market_data`/
//! `orderbook` per symbol replaces the older one); order, trade, balance
//! and position events are never dropped. A session is evicted when its
//! backlog has made no progress for `slow_client_timeout` or outgrows its
//! bound: it is flagged to close with 1013, an `alerts` event says so, and
//! if it has not closed itself one timeout later (its peer reads nothing,
//! so actix never polls it) its socket is reset.
//!
//! A subscription with an `update_frequency` gets market data at most once
//! per interval per symbol: the first update at once, then the newest one
//! when the interval is up, numbered with a fresh `seq` so every session
//! still sees `seq` rise.

use crate::clock::Clock;
use crate::health::{AgentHealth, Handles, Health, Load, SessionsHealth, Watched};
use crate::outbox::{Outbox, Refused};
use crate::socket::ClientSocket;
use crate::storage::{Kind, Record, Storage, Store, StoreError};
use actix::prelude::*;
use bytestring::ByteString;
use laicai_core::ids::SessionId;
use laicai_core::time::TimestampMs;
use laicai_core::wire::events::{encode, Alert, Event, EventKind, LogLevel};
use laicai_core::wire::subscription::{event_type, SubscriptionLimit};
use laicai_core::wire::{Channel, Route, StateView, SubscriptionRequest, SubscriptionSet};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod slot;
pub use slot::ByType;
use slot::*;

/// An event from its owner, to number and fan out, stamped `at_ms` —
/// or, `None`, when the registry takes it (by the registry's clock).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub event: Event,
    pub at_ms: Option<TimestampMs>,
}

impl Publish {
    /// `event`, stamped when the registry takes it.
    pub fn now(event: Event) -> Self {
        Publish { event, at_ms: None }
    }

    /// `event`, stamped `at_ms`.
    pub fn at(event: Event, at_ms: TimestampMs) -> Self {
        Publish {
            event,
            at_ms: Some(at_ms),
        }
    }

    /// An `alerts` event from `source`; its `timestamp` is when it is
    /// published.
    pub fn alert(level: LogLevel, message: impl Into<String>, source: &str) -> Self {
        Publish::now(Event::Alerts {
            data: Alert {
                level,
                message: message.into(),
                timestamp: 0.0,
                source: source.to_string(),
            },
        })
    }
}

/// An event for one session only (its protocol errors), numbered in the
/// same sequence as everything else it receives.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Direct {
    pub session: SessionId,
    pub event: Event,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Register {
    pub session: SessionId,
    /// Where the session takes its frames from.
    pub outbox: Outbox,
    pub subscriptions: SubscriptionSet,
    /// Set by the registry when it evicts the session as too slow.
    pub evicted: Arc<AtomicBool>,
    /// Reset if the session has not closed itself a while after eviction.
    pub socket: Option<ClientSocket>,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Deregister(pub SessionId);

/// Adds topics; answers the session's subscription count.
#[derive(Debug, Message)]
#[rtype(result = "Result<usize, SubscriptionLimit>")]
pub struct Subscribe {
    pub session: SessionId,
    pub request: SubscriptionRequest,
}

/// Removes topics (or a subscription id's topics); answers how many.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct Unsubscribe {
    pub session: SessionId,
    pub request: SubscriptionRequest,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryStats {
    pub sessions: usize,
    pub seq: u64,
    pub conflated: u64,
    pub evicted: u64,
    pub published_by_type: ByType,
    pub delivered_by_type: ByType,
    /// `order_update` events by status.
    pub order_updates: std::collections::BTreeMap<&'static str, u64>,
    pub open_orders: usize,
}

#[derive(Debug, Message)]
#[rtype(result = "RegistryStats")]
pub struct GetRegistryStats;

#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// The registry's own mailbox.
    pub mailbox: usize,
    /// Events kept for `replay` (market data is not kept: a client that
    /// resyncs gets the latest values anyway).
    pub replay_events: usize,
    /// Frames a slow session may have waiting before it is evicted.
    pub backlog_limit: usize,
    /// How long a session's outbox may stay full with nothing moving
    /// before it is evicted; as long again before its socket is reset.
    pub slow_client_timeout: Duration,
    pub subscription_limit: usize,
    pub clock: Clock,
}

/// The retained events, oldest first, for `replay`.
#[derive(Debug, Default)]
struct ReplayRing {
    /// `(seq, channel, symbol, frame)`: what `replay` matches on, kept
    /// as the subscriptions compare it.
    frames: VecDeque<(u64, Option<Channel>, Option<String>, Frame)>,
    /// The newest `seq` that fell out of the ring.
    dropped_upto: u64,
}

/// `replay` asked for events older than the ring holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("events after seq {since} are no longer all retained (the oldest kept follows seq {dropped_upto}): resync from a fresh snapshot")]
pub struct ReplayGap {
    pub since: u64,
    pub dropped_upto: u64,
}

/// Sends `session` every retained event after `since_seq` that its
/// subscriptions match, in order; answers how many and the last `seq`.
#[derive(Debug, Message)]
#[rtype(result = "Result<(usize, u64), ReplayGap>")]
pub struct Replay {
    pub session: SessionId,
    pub since_seq: u64,
}

/// The stored key under `Kind::Stream` of the replay ring a clean stop
/// carries over to the next start.
pub const CARRIED_RING_KEY: &str = "ring";

/// At most this many retained events are carried over a clean restart.
pub const CARRIED_EVENTS: usize = 20_000;

/// Where an event retained after the seal is stored, one key each
/// (`ring/<seq>`), beside the ring the seal stored.
const CARRIED_LATER_PREFIX: &str = "ring/";

/// A carried event: `(seq, type, symbol, frame)`.
pub type CarriedFrame = (u64, String, Option<String>, String);

/// The newest retained events at a clean stop, for `replay` after the
/// next start: a client that missed some of them while the engine
/// stopped gets them then.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CarriedRing {
    /// Replay from before this `seq` is a gap.
    pub dropped_upto: u64,
    /// Oldest first.
    pub frames: Vec<CarriedFrame>,
}

impl CarriedRing {
    /// Appends events retained after the seal (in `seq` order; any not
    /// above the ring's newest is already in it) and keeps the newest
    /// `CARRIED_EVENTS`.
    pub fn extend_later(&mut self, later: impl IntoIterator<Item = CarriedFrame>) {
        for frame in later {
            if self.frames.last().is_none_or(|last| frame.0 > last.0) {
                self.frames.push(frame);
            }
        }
        let excess = self.frames.len().saturating_sub(CARRIED_EVENTS);
        if excess > 0 {
            self.dropped_upto = self.frames[excess - 1].0;
            self.frames.drain(..excess);
        }
    }

    /// What a clean stop left in `store`: the ring the seal stored with
    /// the events retained after it (`None` if there is none, or any of
    /// it is unreadable), and the keys holding them all, for the caller
    /// to delete once taken.
    pub fn take_from(store: &Store) -> Result<(Option<CarriedRing>, Vec<String>), StoreError> {
        let later = store.state(Kind::Stream, CARRIED_LATER_PREFIX)?;
        let mut keys: Vec<String> = later.iter().map(|(k, _)| k.clone()).collect();
        keys.push(CARRIED_RING_KEY.to_string());
        let read = || -> Result<Option<CarriedRing>, StoreError> {
            let Some(mut ring) = store.get::<CarriedRing>(Kind::Stream, CARRIED_RING_KEY)? else {
                return Ok(None);
            };
            let frames = later
                .iter()
                .map(|(_, v)| serde_json::from_str::<CarriedFrame>(v))
                .collect::<Result<Vec<_>, _>>()?;
            ring.extend_later(frames);
            Ok(Some(ring))
        };
        // Unreadable is not fatal: clients then resync from a snapshot.
        let ring = read().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the events kept for replay are unreadable");
            None
        });
        Ok((ring, keys))
    }
}

/// The engine is stopping cleanly and every session is gone: stores the
/// newest retained events (`CarriedRing`) for the next start, and answers
/// how many. A retained event published after this is stored with them
/// (actors keep running until the process ends).
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct Seal;

/// Handed out ahead of use and stored, so a restart (even after a crash)
/// continues above every `seq` any client has seen: this many events'
/// numbers.
pub const SEQ_LEASE: u64 = 100_000;

/// With a bus, the engine numbers its events this far apart, and a
/// gateway numbers its own frames (its alerts, a client's protocol
/// errors) in the gap after the newest event it relayed: every frame a
/// client gets still has a `seq` above the one before, and none of the
/// gateway's takes a number the engine gives out. Clients only compare
/// `seq`s, so they see no other change.
pub const BUS_SEQ_STEP: u64 = 16;

/// The global `seq`: it only rises, across restarts too. With storage it
/// keeps a stored ceiling `SEQ_LEASE` events ahead and moves it on when
/// half is used.
#[derive(Debug)]
struct SeqCounter {
    seq: u64,
    /// How far apart consecutive events are numbered: 1, or
    /// `BUS_SEQ_STEP` with a bus.
    step: u64,
    lease: Option<(Storage, u64)>,
}

impl SeqCounter {
    fn next(&mut self) -> u64 {
        self.seq += self.step;
        if let Some((storage, ceiling)) = &mut self.lease {
            // Never blocks the fan-out: with the storage queue full it
            // tries again at the next event (half a lease of headroom).
            let lease = SEQ_LEASE * self.step;
            let next = self.seq + lease;
            if self.seq + lease / 2 >= *ceiling && storage.try_write(vec![Record::Seq(next)]) {
                *ceiling = next;
            }
        }
        self.seq
    }

    fn current(&self) -> u64 {
        self.seq
    }
}

#[derive(Debug)]
pub struct RegistryActor {
    cfg: RegistryConfig,
    seq: SeqCounter,
    ring: ReplayRing,
    view: StateView,
    sessions: HashMap<SessionId, Slot>,
    /// The newest market event per (type, symbol), for throttled sessions.
    latest_market: HashMap<ConflationKey, (Event, TimestampMs)>,
    drain_scheduled: bool,
    stats: RegistryStats,
    /// `Seal`ed: each retained event from now on is stored beside the
    /// ring, one record each (`CarriedRing::take_from` joins them).
    sealed: bool,
    /// The connection id of each venue reached through one, by venue name:
    /// venue-scoped events are stamped with it.
    connections: HashMap<String, String>,
    load: Load,
    /// How old each stamped event is when it is fanned out: the time from
    /// its source (a market tick, a fill) to the registry.
    ages: Arc<crate::latency::LatencyHistogram>,
    /// Set in a gateway: events come numbered from the engine.
    relay: Option<RelayMarks>,
    /// A gateway's newest market frame per (type, symbol), with the
    /// engine's `seq`, for throttled sessions.
    relayed_market: HashMap<ConflationKey, (u64, Frame)>,
}

/// How far a gateway's registry has taken the engine's events.
#[derive(Debug, Default)]
struct RelayMarks {
    /// The view reflects the events up to this `seq` (its snapshot's).
    view_seq: u64,
    /// The engine has been reached once.
    rebased: bool,
}

impl RegistryActor {
    pub fn new(cfg: RegistryConfig) -> Self {
        RegistryActor {
            cfg,
            seq: SeqCounter {
                seq: 0,
                step: 1,
                lease: None,
            },
            ring: ReplayRing::default(),
            view: StateView::default(),
            sessions: HashMap::new(),
            latest_market: HashMap::new(),
            drain_scheduled: false,
            stats: RegistryStats::default(),
            sealed: false,
            connections: HashMap::new(),
            load: Load::default(),
            ages: Arc::default(),
            relay: None,
            relayed_market: HashMap::new(),
        }
    }

    /// A gateway's registry: it numbers nothing; events come numbered
    /// from the engine (`Rebase`, then `Relay`).
    pub fn relaying(mut self) -> Self {
        self.relay = Some(RelayMarks::default());
        self
    }

    /// Numbers events `step` apart: an engine on a bus leaves gateways the
    /// numbers between (`BUS_SEQ_STEP`).
    pub fn numbered_every(mut self, step: u64) -> Self {
        self.seq.step = step.max(1);
        self
    }

    /// Continues numbering above `issued_upto` — the ceiling the last run
    /// had stored, which nothing it handed out exceeds — keeping the lease
    /// ahead in `storage` from `ceiling` (already durable). Events from
    /// before the restart are not replayable (`replay_gap`) — except,
    /// after a clean stop, those it `carried` over.
    pub fn continuing(
        mut self,
        storage: Storage,
        issued_upto: u64,
        ceiling: u64,
        carried: Option<CarriedRing>,
    ) -> Self {
        self.seq.seq = issued_upto;
        self.seq.lease = Some((storage, ceiling));
        self.ring.dropped_upto = issued_upto;
        if let Some(carried) = carried.filter(|c| c.dropped_upto <= issued_upto) {
            self.ring.dropped_upto = carried.dropped_upto;
            for (seq, name, symbol, text) in carried.frames {
                let Ok(kind) = name.parse::<EventKind>() else {
                    // A type this build does not know: replay cannot be
                    // complete without it.
                    self.ring.frames.clear();
                    self.ring.dropped_upto = issued_upto;
                    break;
                };
                let frame = Frame {
                    text: ByteString::from(text),
                    kind,
                };
                self.ring
                    .frames
                    .push_back((seq, Channel::named(&name), symbol, frame));
            }
        }
        self
    }

    /// The `seq` the state reflects: a gateway's rebased state may be
    /// ahead of the last event relayed.
    fn view_seq(&self) -> u64 {
        self.relay.as_ref().map_or(0, |m| m.view_seq)
    }

    /// The `seq` of a frame of this process's own for sessions sent up to
    /// `sent_upto` (asked on a gateway only). The engine's is its next.
    /// A gateway's is the next in the gap the engine leaves after the
    /// newest of its events the gateway knows (`BUS_SEQ_STEP`); past the
    /// gap's end the last number is used again, and a client that already
    /// has it drops the frame as a duplicate: a session would have to be
    /// sent `BUS_SEQ_STEP - 1` frames of the gateway's own with no event
    /// from the engine between.
    fn own_seq(&mut self, sent_upto: impl FnOnce(&Self) -> Option<u64>) -> u64 {
        if self.relay.is_none() {
            return self.seq.next();
        }
        let engine = self.seq.current().max(self.view_seq());
        let last = engine + BUS_SEQ_STEP - 1;
        let seq = sent_upto(self).unwrap_or(0).max(engine) + 1;
        if seq > last {
            tracing::debug!(
                engine,
                "gateway: no number left in the gap for a frame of its own"
            );
        }
        seq.min(last)
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            backlog: self.cfg.backlog_limit,
            timeout: self.cfg.slow_client_timeout,
        }
    }

    /// How old stamped events are when fanned out (for `/metrics`).
    pub fn event_ages(&self) -> Arc<crate::latency::LatencyHistogram> {
        self.ages.clone()
    }

    fn publish(&mut self, mut event: Event, at_ms: Option<TimestampMs>, ctx: &mut Context<Self>) {
        let now_ms = self.cfg.clock.now_ms();
        let at_ms = match at_ms {
            Some(at_ms) => {
                let age = u64::try_from(now_ms.saturating_sub(at_ms)).unwrap_or(0);
                self.ages.record(Duration::from_millis(age));
                at_ms
            }
            None => now_ms,
        };
        if let Event::Alerts { data } = &mut event {
            data.timestamp = at_ms as f64 / 1000.0;
        }
        if !self.connections.is_empty() {
            if let Some(v) = event.venue_scoped_mut() {
                v.stamp_connection(&|exchange| self.connections.get(exchange).cloned());
            }
        }
        self.view.apply(&event);
        // A gateway's alerts go above what any session was sent.
        let seq = self.own_seq(|r| r.sessions.values().map(|s| s.sent_upto).max());
        let Some(frame) = encode_frame(&event, at_ms, seq) else {
            return;
        };
        // A gateway's own alerts are kept for `replay` with the engine's
        // events it relays (in their gaps, so in order): a client counts
        // every retained event numbered inside a replay's range as one of
        // the replay's.
        self.fan_out(event, at_ms, seq, frame, true, ctx);
    }

    /// Delivers a numbered event to every session whose subscriptions
    /// match, keeping it for `replay` if `retain` (and it is not market
    /// data) and as the newest of its kind for throttled sessions.
    fn fan_out(
        &mut self,
        event: Event,
        at_ms: TimestampMs,
        seq: u64,
        frame: Frame,
        retain: bool,
        ctx: &mut Context<Self>,
    ) {
        self.stats.published_by_type.add(frame.kind);
        if let Event::OrderUpdate(o) = &event {
            *self
                .stats
                .order_updates
                .entry(o.status.as_str())
                .or_default() += 1;
        }
        let route_key = event.key();
        let (name, symbol) = (route_key.name(), route_key.symbol);
        let key = route_key
            .market
            .is_some()
            .then(|| (name, symbol.unwrap_or_default().to_string()));
        if key.is_none() && retain {
            self.retain(seq, route_key.channel, symbol, &frame);
        }
        let bounds = self.bounds();
        let now = Instant::now();
        let mut outcomes = Vec::new();
        for (id, slot) in self.sessions.iter_mut() {
            if seq <= slot.from_seq {
                continue;
            }
            let send = match slot.subscriptions.route(&route_key) {
                Route::Skip => false,
                Route::Now => true,
                Route::Every(every) => match &key {
                    Some(k) => slot.take_now(k, every, now),
                    None => true,
                },
            };
            if send {
                slot.sent_upto = seq;
                let d = slot.deliver(frame.clone(), key.as_ref(), bounds, &mut self.stats);
                if !matches!(d, Delivery::Sent) {
                    outcomes.push((*id, d));
                }
            }
        }
        self.settle(outcomes, ctx);
        if let Some(k) = key {
            if self.relay.is_some() {
                self.relayed_market.insert(k.clone(), (seq, frame));
            }
            self.latest_market.insert(k, (event, at_ms));
        }
    }

    /// Keeps a frame for `replay`, dropping the oldest past the bound.
    fn retain(&mut self, seq: u64, channel: Option<Channel>, symbol: Option<&str>, frame: &Frame) {
        // A gateway's own frame past its gap repeats the last `seq`: its
        // clients drop it as a duplicate, and a replay that sent both
        // would announce one event more than they can hold.
        let repeated = self
            .ring
            .frames
            .back()
            .is_some_and(|(last, ..)| *last == seq);
        if self.cfg.replay_events == 0 || repeated {
            return;
        }
        self.ring
            .frames
            .push_back((seq, channel, symbol.map(str::to_string), frame.clone()));
        while self.ring.frames.len() > self.cfg.replay_events {
            if let Some((seq, ..)) = self.ring.frames.pop_front() {
                self.ring.dropped_upto = seq;
            }
        }
        if self.sealed {
            // Still running after the seal (a position mark, a fill
            // while the engine stops): carried too, or a client
            // replaying after the restart would miss it unawares. Stored
            // on its own, beside the ring: storing the whole ring again
            // for each would grow with the ring.
            if let Some((storage, _)) = &self.seq.lease {
                storage.put(
                    Kind::Stream,
                    &format!("{CARRIED_LATER_PREFIX}{seq:020}"),
                    &carried_frame(seq, channel, symbol, frame),
                );
            }
        }
    }

    /// Sends each throttled session the newest market data it held back
    /// once its interval is up, each frame numbered and encoded once.
    fn flush_throttled(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let bounds = self.bounds();
        let mut frames: HashMap<ConflationKey, Option<(u64, Frame)>> = HashMap::new();
        let mut outcomes = Vec::new();
        for (id, slot) in self.sessions.iter_mut() {
            let due: Vec<ConflationKey> = slot
                .throttles
                .iter_mut()
                .filter(|(_, t)| t.held && t.due(now))
                .map(|(k, t)| {
                    t.held = false;
                    k.clone()
                })
                .collect();
            for key in due {
                let Some((event, at_ms)) = self.latest_market.get(&key) else {
                    continue;
                };
                // Its subscription may have changed since (or filters it out now).
                if !matches!(slot.subscriptions.route(&event.key()), Route::Every(_)) {
                    continue;
                }
                let numbered = match &self.relay {
                    // The engine numbers it afresh, once for every session.
                    None => frames
                        .entry(key.clone())
                        .or_insert_with(|| {
                            let seq = self.seq.next();
                            encode_frame(event, *at_ms, seq).map(|f| (seq, f))
                        })
                        .clone(),
                    // A gateway has only the engine's numbers: the held
                    // frame goes if the session has not had a newer one.
                    Some(_) => self
                        .relayed_market
                        .get(&key)
                        .filter(|(seq, _)| *seq > slot.sent_upto)
                        .cloned(),
                };
                let Some((seq, frame)) = numbered else {
                    continue;
                };
                if let Some(t) = slot.throttles.get_mut(&key) {
                    t.last_sent = now;
                }
                slot.sent_upto = slot.sent_upto.max(seq);
                let d = slot.deliver(frame, Some(&key), bounds, &mut self.stats);
                if !matches!(d, Delivery::Sent) {
                    outcomes.push((*id, d));
                }
            }
        }
        self.settle(outcomes, ctx);
    }

    fn settle(&mut self, outcomes: Vec<(SessionId, Delivery)>, ctx: &mut Context<Self>) {
        for (id, d) in outcomes {
            match d {
                Delivery::Sent => {}
                Delivery::Queued => self.schedule_drain(ctx),
                Delivery::Gone => {
                    self.sessions.remove(&id);
                }
                Delivery::TooSlow(why) => self.evict(id, why, ctx),
            }
        }
    }

    fn evict(&mut self, id: SessionId, why: Slowness, ctx: &mut Context<Self>) {
        let Some(slot) = self.sessions.remove(&id) else {
            return;
        };
        slot.evicted.store(true, Ordering::Release);
        self.stats.evicted += 1;
        let message = match why {
            Slowness::Behind { frames, limit } => {
                format!("{id} closed: it fell {frames} frames behind (limit {limit})")
            }
            Slowness::Stuck { frames, for_ms } => format!(
                "{id} closed: it read nothing for {for_ms} ms and fell {frames} frames behind"
            ),
        };
        tracing::warn!(session = %id, ?why, "evicting slow session");
        if let Some(socket) = slot.socket {
            ctx.run_later(self.cfg.slow_client_timeout, move |_, _| {
                tracing::debug!(session = %id, "resetting the socket of an evicted session");
                socket.reset();
            });
        }
        let alert = Publish::alert(LogLevel::Warning, message, "registry");
        self.publish(alert.event, alert.at_ms, ctx);
    }

    fn schedule_drain(&mut self, ctx: &mut Context<Self>) {
        if self.drain_scheduled {
            return;
        }
        self.drain_scheduled = true;
        ctx.run_later(Duration::from_millis(2), |act, ctx| {
            act.drain_scheduled = false;
            let bounds = act.bounds();
            let mut outcomes = Vec::new();
            for (id, slot) in act.sessions.iter_mut() {
                if !slot.backlog.is_empty() {
                    outcomes.push((*id, slot.drain(bounds, &mut act.stats)));
                }
            }
            act.settle(outcomes, ctx);
        });
    }
}

impl Actor for RegistryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.cfg.mailbox);
        // The shortest update_frequency is 1 s: flushing at 50 ms keeps
        // each throttled update within 5% of its interval.
        ctx.run_interval(Duration::from_millis(50), |act, ctx| {
            act.flush_throttled(ctx)
        });
    }
}

impl Handles<Publish> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: Publish, ctx: &mut Self::Context) {
        self.publish(msg.event, msg.at_ms, ctx);
    }
}

/// The venue `exchange` is reached through the connection
/// `connection_id`. Kept after the connection is deleted (its last events
/// still name it) until a new connection takes the name.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct NameConnection {
    pub exchange: String,
    pub connection_id: String,
}

impl Handles<NameConnection> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: NameConnection, _: &mut Self::Context) {
        self.connections.insert(msg.exchange, msg.connection_id);
    }
}

/// State restored after a restart: it joins the `snapshot` sessions
/// start from, without going out as events.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Seed(pub Vec<Event>);

impl Handles<Seed> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: Seed, _: &mut Self::Context) {
        for event in &msg.0 {
            self.view.apply(event);
        }
    }
}

/// A gateway's: state as of `seq`, from the engine's `snapshot`. The
/// snapshot sessions get from now on is built on it; events after `seq`
/// are applied to it as they are relayed. With nothing retained yet,
/// `replay` from before `dropped_upto` is a gap.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Rebase {
    pub snapshot: laicai_core::wire::events::Snapshot,
    pub seq: u64,
    pub dropped_upto: u64,
}

impl Handles<Rebase> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: Rebase, ctx: &mut Self::Context) {
        let Some(marks) = &mut self.relay else {
            tracing::error!("a rebase sent to the engine's own registry: ignored");
            return;
        };
        let first = !marks.rebased;
        marks.rebased = true;
        marks.view_seq = msg.seq;
        self.view = StateView::from_snapshot(&msg.snapshot);
        tracing::info!(
            seq = msg.seq,
            first,
            "gateway: state rebased on the engine's snapshot"
        );
        if !first {
            // The sessions still get every event after what they were
            // sent, as the stream catches up.
            return;
        }
        // The events read before the snapshot's `seq` are history; the
        // sessions that came before the engine was reached start over
        // from this snapshot.
        self.ring.dropped_upto = msg.dropped_upto;
        self.seq.seq = self.seq.seq.max(msg.seq);
        let snapshot = Event::Snapshot(msg.snapshot);
        let Some(frame) = encode_frame(&snapshot, self.cfg.clock.now_ms(), msg.seq) else {
            return;
        };
        let (bounds, stats) = (self.bounds(), &mut self.stats);
        let mut outcomes = Vec::new();
        for (id, slot) in self.sessions.iter_mut() {
            slot.from_seq = msg.seq;
            slot.sent_upto = msg.seq;
            outcomes.push((*id, slot.deliver(frame.clone(), None, bounds, stats)));
        }
        self.settle(outcomes, ctx);
    }
}

/// A gateway's: an event the engine numbered, as the engine encoded it.
/// Sent once each to sessions, in `seq` order (an older or repeated one is
/// dropped); kept for `replay`; applied to the state if it is newer than
/// the snapshot the state was rebased on.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Relay {
    pub seq: u64,
    pub event: Event,
    pub frame: ByteString,
}

impl Handles<Relay> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: Relay, ctx: &mut Self::Context) {
        let Some(marks) = &self.relay else {
            tracing::error!("a relayed event sent to the engine's own registry: ignored");
            return;
        };
        let frame = Frame {
            text: msg.frame,
            kind: msg.event.kind(),
        };
        let retained_upto = self.ring.frames.back().map_or(0, |(seq, ..)| *seq);
        let live = msg.seq > self.seq.current();
        if msg.seq > marks.view_seq {
            self.view.apply(&msg.event);
        }
        if !live {
            // Caught up from the stream after a start or a rebase: kept
            // for replay, not sent again.
            let key = msg.event.key();
            if key.market.is_none() && msg.seq > retained_upto {
                self.retain(msg.seq, key.channel, key.symbol, &frame);
            }
            return;
        }
        self.seq.seq = msg.seq;
        let at_ms = self.cfg.clock.now_ms();
        self.fan_out(
            msg.event,
            at_ms,
            msg.seq,
            frame,
            msg.seq > retained_upto,
            ctx,
        );
    }
}

impl Handles<Direct> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: Direct, ctx: &mut Self::Context) {
        let Some(sent_upto) = self.sessions.get(&msg.session).map(|s| s.sent_upto) else {
            return;
        };
        let seq = self.own_seq(|_| Some(sent_upto));
        let Some(frame) = encode_frame(&msg.event, self.cfg.clock.now_ms(), seq) else {
            return;
        };
        let (bounds, stats) = (self.bounds(), &mut self.stats);
        if let Some(slot) = self.sessions.get_mut(&msg.session) {
            slot.sent_upto = slot.sent_upto.max(seq);
            let d = slot.deliver(frame, None, bounds, stats);
            self.settle(vec![(msg.session, d)], ctx);
        }
    }
}

impl Handles<Register> for RegistryActor {
    type Result = ();
    /// The session's first frame is a `snapshot` of the state as of the
    /// current `seq`; every later event it receives has a higher `seq`.
    fn handle(&mut self, msg: Register, ctx: &mut Self::Context) {
        let snapshot = Event::Snapshot(self.view.snapshot());
        // A gateway's state may be ahead of what it has relayed yet.
        let at = self.seq.current().max(self.view_seq());
        let Some(frame) = encode_frame(&snapshot, self.cfg.clock.now_ms(), at) else {
            return;
        };
        let mut slot = Slot::new(msg.outbox, msg.subscriptions, msg.evicted, msg.socket);
        slot.from_seq = at;
        slot.sent_upto = at;
        let d = slot.deliver(frame, None, self.bounds(), &mut self.stats);
        self.sessions.insert(msg.session, slot);
        self.settle(vec![(msg.session, d)], ctx);
        tracing::debug!(session = %msg.session, sessions = self.sessions.len(), "session registered");
    }
}

impl Handles<Deregister> for RegistryActor {
    type Result = ();
    fn handle(&mut self, msg: Deregister, _: &mut Self::Context) {
        self.sessions.remove(&msg.0);
        tracing::debug!(session = %msg.0, sessions = self.sessions.len(), "session deregistered");
    }
}

impl Handles<Subscribe> for RegistryActor {
    type Result = Result<usize, SubscriptionLimit>;
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) -> Self::Result {
        let limit = self.cfg.subscription_limit;
        let slot = self
            .sessions
            .get_mut(&msg.session)
            .ok_or(SubscriptionLimit { limit: 0 })?;
        slot.subscriptions.add(&msg.request, limit)?;
        Ok(slot.subscriptions.len())
    }
}

impl Handles<Unsubscribe> for RegistryActor {
    type Result = usize;
    fn handle(&mut self, msg: Unsubscribe, _: &mut Self::Context) -> usize {
        self.sessions
            .get_mut(&msg.session)
            .map(|s| {
                s.subscriptions
                    .remove(&msg.request.topics, msg.request.subscription_id.as_deref())
            })
            .unwrap_or(0)
    }
}

impl RegistryActor {
    /// Stores the newest retained events for the next start (replacing
    /// what an earlier call stored); answers how many.
    fn carry(&self) -> usize {
        let Some((storage, _)) = &self.seq.lease else {
            return 0;
        };
        let skip = self.ring.frames.len().saturating_sub(CARRIED_EVENTS);
        let dropped_upto = match skip {
            0 => self.ring.dropped_upto,
            n => self.ring.frames.get(n - 1).map_or(0, |(seq, ..)| *seq),
        };
        let carried = CarriedRing {
            dropped_upto,
            frames: self
                .ring
                .frames
                .iter()
                .skip(skip)
                .map(|(seq, channel, symbol, frame)| {
                    carried_frame(*seq, *channel, symbol.as_deref(), frame)
                })
                .collect(),
        };
        let count = carried.frames.len();
        storage.put(Kind::Stream, CARRIED_RING_KEY, &carried);
        count
    }
}

/// A retained frame as it is carried over a restart.
fn carried_frame(
    seq: u64,
    channel: Option<Channel>,
    symbol: Option<&str>,
    frame: &Frame,
) -> CarriedFrame {
    (
        seq,
        event_type(channel).to_string(),
        symbol.map(str::to_string),
        frame.text.to_string(),
    )
}

impl Handles<Seal> for RegistryActor {
    type Result = usize;
    fn handle(&mut self, _: Seal, _: &mut Self::Context) -> usize {
        self.sealed = true;
        self.carry()
    }
}

impl Handles<Replay> for RegistryActor {
    type Result = Result<(usize, u64), ReplayGap>;
    fn handle(&mut self, msg: Replay, ctx: &mut Self::Context) -> Self::Result {
        if msg.since_seq < self.ring.dropped_upto {
            return Err(ReplayGap {
                since: msg.since_seq,
                dropped_upto: self.ring.dropped_upto,
            });
        }
        let bounds = self.bounds();
        let Some(slot) = self.sessions.get_mut(&msg.session) else {
            return Ok((0, self.seq.current()));
        };
        let start = self
            .ring
            .frames
            .partition_point(|(seq, ..)| *seq <= msg.since_seq);
        let wanted = self
            .ring
            .frames
            .range(start..)
            .filter(|(_, channel, symbol, _)| {
                slot.subscriptions.matches(*channel, symbol.as_deref())
            })
            .count();
        slot.grace = slot.grace.saturating_add(wanted);
        let stats = &mut self.stats;
        let mut sent = 0;
        let mut last = None;
        // The answer's `seq` is the last event sent: clients count the
        // retained events numbered up to it as the replay's, so nothing
        // numbered after it (market data, a connection's own error) is
        // mistaken for one of them.
        let mut upto = self.seq.current();
        for (seq, channel, symbol, frame) in self.ring.frames.range(start..) {
            if !slot.subscriptions.matches(*channel, symbol.as_deref()) {
                continue;
            }
            sent += 1;
            upto = *seq;
            last = Some(slot.deliver(frame.clone(), None, bounds, stats));
            if matches!(last, Some(Delivery::TooSlow(_) | Delivery::Gone)) {
                break;
            }
        }
        if let Some(d) = last {
            self.settle(vec![(msg.session, d)], ctx);
        }
        Ok((sent, upto))
    }
}

/// The `snapshot` frame a session registering now would start from (a
/// gateway's, asked over the bus).
#[derive(Debug, Message)]
#[rtype(result = "Option<String>")]
pub struct SnapshotFrame;

impl Handles<SnapshotFrame> for RegistryActor {
    type Result = Option<String>;
    fn handle(&mut self, _: SnapshotFrame, _: &mut Self::Context) -> Option<String> {
        let snapshot = Event::Snapshot(self.view.snapshot());
        encode_frame(&snapshot, self.cfg.clock.now_ms(), self.seq.current())
            .map(|f| f.text.to_string())
    }
}

/// Which venues hold an open order with this id.
#[derive(Debug, Message)]
#[rtype(result = "Vec<String>")]
pub struct WhereIs(pub String);

impl Handles<WhereIs> for RegistryActor {
    type Result = MessageResult<WhereIs>;
    fn handle(&mut self, msg: WhereIs, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.view.venues_of(&msg.0))
    }
}

impl Handles<GetRegistryStats> for RegistryActor {
    type Result = MessageResult<GetRegistryStats>;
    fn handle(&mut self, _: GetRegistryStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(RegistryStats {
            sessions: self.sessions.len(),
            seq: self.seq.current(),
            open_orders: self.view.open_orders(),
            ..self.stats.clone()
        })
    }
}

impl Handles<Health> for RegistryActor {
    type Result = MessageResult<Health>;
    fn handle(&mut self, _: Health, _: &mut Self::Context) -> Self::Result {
        let waiting = self.sessions.values().map(|s| s.backlog.live as u64).sum();
        MessageResult(AgentHealth {
            sessions: Some(SessionsHealth {
                open: self.sessions.len(),
                waiting,
            }),
            ..AgentHealth::of("running", &self.load)
        })
    }
}

crate::health::counted!(RegistryActor);

impl Watched for RegistryActor {
    fn load(&self) -> &Load {
        &self.load
    }
}

#[cfg(test)]
mod tests;
