//! The bus: an engine's events on NATS JetStream, for gateways on other
//! machines (`[bus]`, `laicai serve --bus nats://…`). Without it nothing
//! here runs.
//!
//! `BusBridge` is one more subscriber of the registry, to every channel.
//! It takes each numbered frame as the registry encoded it (after it is
//! durable, as a client would) into a `Backlog` at once — so the registry
//! never finds it slow — and the publisher moves the backlog onto two
//! streams: `LAICAI_<ENGINE>_EVENTS`, every event but market data in
//! `seq` order, and `LAICAI_<ENGINE>_MARKET`, the latest market data per
//! subject. While NATS is away the engine trades on and the backlog keeps
//! what it missed (up to `backlog` events, then the oldest are dropped and
//! an alert says so); once it is back the backlog is published, in order,
//! nothing twice.

mod backlog;
pub mod detached;
pub mod feed;
pub mod link;
mod publisher;
pub mod route;

pub use link::{EngineLink, LinkError};

use crate::outbox::{outbox, Inbox};
use crate::registry::{Publish, Register, RegistryActor};
use actix::prelude::*;
use backlog::Backlog;
use laicai_core::ids::SessionId;
use laicai_core::wire::events::LogLevel;
use laicai_core::wire::subscription::{Channel, SubscriptionSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The registry's session id for the bus (clients are numbered from 1).
pub const BUS_SESSION: SessionId = SessionId(0);

/// Frames the registry may queue for the bridge before it drains them.
const OUTBOX: usize = 65_536;

#[derive(Clone, Debug)]
pub struct BusConfig {
    /// `nats://host:port`.
    pub url: String,
    /// This engine's name in subjects and stream names.
    pub engine: String,
    /// Events kept waiting while NATS is away.
    pub backlog: usize,
    /// Events the events stream keeps (at least the replay ring's).
    pub keep_events: usize,
}

/// What the bus has done, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct BusStats {
    pub published: AtomicU64,
    pub duplicates: AtomicU64,
    /// The newest event `seq` the events stream holds.
    pub last_seq: AtomicU64,
    pub connected: AtomicBool,
    /// Events waiting for the bus.
    pub waiting: AtomicU64,
    /// Events dropped from the backlog while the bus was away too long.
    pub dropped: AtomicU64,
}

/// Shared by the bridge (which fills the backlog) and the publisher.
#[derive(Debug)]
struct Shared {
    backlog: parking_lot::Mutex<Backlog>,
    wake: tokio::sync::Notify,
    stats: Arc<BusStats>,
    /// Why the bus is down, when it is; told to the bridge.
    down: parking_lot::Mutex<Option<String>>,
    changed: tokio::sync::Notify,
}

impl Shared {
    fn set_down(&self, why: Option<String>) {
        self.stats.connected.store(why.is_none(), Ordering::Relaxed);
        let mut down = self.down.lock();
        if down.is_some() != why.is_some() {
            *down = why;
            self.changed.notify_one();
        }
    }
}

#[derive(Debug)]
pub struct BusBridge {
    cfg: BusConfig,
    registry: Addr<RegistryActor>,
    shared: Arc<Shared>,
    inbox: Option<Inbox>,
    /// Events dropped past the backlog's cap, as last reported.
    reported_dropped: u64,
}

impl BusBridge {
    pub fn new(cfg: BusConfig, registry: Addr<RegistryActor>) -> Self {
        let shared = Arc::new(Shared {
            backlog: parking_lot::Mutex::new(Backlog::new(cfg.backlog)),
            wake: tokio::sync::Notify::new(),
            stats: Arc::new(BusStats::default()),
            down: parking_lot::Mutex::new(Some("not connected yet".into())),
            changed: tokio::sync::Notify::new(),
        });
        BusBridge {
            cfg,
            registry,
            shared,
            inbox: None,
            reported_dropped: 0,
        }
    }

    pub fn stats(&self) -> Arc<BusStats> {
        self.shared.stats.clone()
    }

    fn alert(&self, level: LogLevel, message: String) {
        self.registry.do_send(Publish::alert(level, message, "bus"));
    }
}

impl Actor for BusBridge {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (out, inbox) = outbox(OUTBOX);
        self.registry.do_send(Register {
            session: BUS_SESSION,
            outbox: out,
            subscriptions: SubscriptionSet::only(Channel::All),
            evicted: Arc::new(AtomicBool::new(false)),
            socket: None,
        });
        self.inbox = Some(inbox);
        if let Some(inbox) = self.inbox.take() {
            ctx.add_stream(inbox);
        }
        actix::spawn(publisher::run(self.cfg.clone(), self.shared.clone()));
        // Connection changes become alerts, from this actor's thread.
        let shared = self.shared.clone();
        let me = ctx.address();
        actix::spawn(async move {
            loop {
                shared.changed.notified().await;
                let now = shared.down.lock().clone();
                me.do_send(BusState(now));
            }
        });
        tracing::info!(url = %self.cfg.url, engine = %self.cfg.engine, "bus: publishing events to NATS JetStream");
    }
}

/// The bus went down (`Some(why)`) or came back (`None`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct BusState(Option<String>);

impl Handler<BusState> for BusBridge {
    type Result = ();
    fn handle(&mut self, msg: BusState, _: &mut Self::Context) {
        let waiting = self.shared.backlog.lock().events_waiting();
        match msg.0 {
            Some(why) => self.alert(
                LogLevel::Warning,
                format!("The bus ({}) is unreachable ({why}): trading goes on; events wait and will be published in order once it is back ({waiting} waiting)", self.cfg.url),
            ),
            None => self.alert(
                LogLevel::Info,
                format!("The bus ({}) is connected: {waiting} waiting events are being published", self.cfg.url),
            ),
        }
    }
}

impl StreamHandler<bytestring::ByteString> for BusBridge {
    fn handle(&mut self, frame: bytestring::ByteString, _: &mut Self::Context) {
        let routed = match route::route(&self.cfg.engine, &frame) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "bus: frame not published");
                return;
            }
        };
        let dropped = {
            let mut b = self.shared.backlog.lock();
            b.push(routed, frame.into_bytes());
            let stats = &self.shared.stats;
            stats
                .waiting
                .store(b.events_waiting() as u64, Ordering::Relaxed);
            stats.dropped.store(b.dropped, Ordering::Relaxed);
            (b.dropped, b.dropped_upto)
        };
        self.shared.wake.notify_one();
        if dropped.0 > self.reported_dropped {
            self.reported_dropped = dropped.0;
            tracing::error!(
                dropped = dropped.0,
                upto = dropped.1,
                "bus: backlog full, oldest events dropped"
            );
            if dropped.0 == 1 || dropped.0.is_multiple_of(10_000) {
                self.alert(
                    LogLevel::Error,
                    format!("The bus has been away too long: {} events (up to seq {}) were dropped from its backlog; gateways must resync from a snapshot", dropped.0, dropped.1),
                );
            }
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        tracing::warn!("bus: the registry closed its outbox");
    }
}
