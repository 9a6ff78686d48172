//! `RiskActor`: the one gate every order passes — from a client or a
//! strategy — before it reaches an exchange:
//!
//! 1. parameters were checked when the command was parsed (or by the strategy);
//! 2. engine state: no new orders while the engine is stopped;
//! 3. risk: the `RiskManager`'s rules, kill switch first;
//! 4. (durable order storage takes its place here);
//! 5. exchange: the venue places it, checking balances.
//!
//! It follows every venue's events to keep the manager's view of open
//! orders, positions and PnL current, trips the kill switch on an account
//! loss breach, and tells the strategy manager (`RiskSignal`) what to pause
//! or stop.

use crate::clock::Clock;
use crate::health::{watched, Handles, Load};
use crate::registry::{Publish, RegistryActor};
use crate::storage::Storage;
use crate::venue::contract::{CancelAll, PlaceOrder, VenueError, VenueEvent, VenueUpdate};
use crate::venue::directory::{Lookup, Venues};
use actix::prelude::*;
use futures_util::future::join_all;
use laicai_core::error::Coded;
use laicai_core::error::ErrorCode;
use laicai_core::ids::{OrderId, StrategyId};
use laicai_core::order::{Order, OrderRequest, OrderStatus};
use laicai_core::risk::{Breach, KillMode, RiskManager, RiskStatus, RiskViolation, Scope};
use laicai_core::time::TimestampMs;
use laicai_core::venue::OrderFilter;
use laicai_core::wire::events::*;
use std::sync::Arc;
use std::time::Duration;

mod ledger;
pub use ledger::{RiskLedger, RISK_MEMORY_KEY};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    #[error("the engine is stopped: send start_engine first")]
    EngineStopped,
    #[error("{0}")]
    Risk(#[from] RiskViolation),
    #[error("no exchange `{0}`")]
    UnknownExchange(String),
    #[error("exchange `{0}` is disconnected and reconnecting; try again shortly")]
    ExchangeDown(String),
    #[error(transparent)]
    Venue(#[from] VenueError),
    #[error("the exchange did not answer: {0}")]
    Unavailable(String),
    #[error("no answer in time: the order may or may not have been placed (it is decided once what it did is on disk); check get_orders")]
    NoAnswer,
    #[error("the database cannot be written ({0}): no new orders until it can be")]
    StorageUnavailable(String),
}

impl Coded for OrderError {
    fn code(&self) -> ErrorCode {
        match self {
            OrderError::EngineStopped => ErrorCode::EngineStopped,
            OrderError::Risk(v) => v.code(),
            OrderError::UnknownExchange(_) => ErrorCode::InvalidParams,
            OrderError::ExchangeDown(_) => ErrorCode::ExchangeUnavailable,
            OrderError::Venue(v) => v.code(),
            OrderError::Unavailable(_) => ErrorCode::Internal,
            OrderError::NoAnswer => ErrorCode::Timeout,
            OrderError::StorageUnavailable(_) => ErrorCode::StorageUnavailable,
        }
    }
}

#[derive(Debug, Message)]
#[rtype(result = "Result<OrderView, OrderError>")]
pub struct SubmitOrder(pub OrderRequest);

/// The engine started or stopped.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetEngineRunning(pub bool);

#[derive(Debug, Message)]
#[rtype(result = "KillOutcome")]
pub struct EngageKillSwitch {
    pub mode: KillMode,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillOutcome {
    /// False when it was already engaged in this (or a stronger) mode.
    pub changed: bool,
    /// Orders cancelled (mode `stop`).
    pub cancelled: usize,
}

/// Answers whether anything was engaged.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct ResetKillSwitch;

#[derive(Debug, Message)]
#[rtype(result = "RiskStatus")]
pub struct GetRiskStatus;

/// What the risk manager needs the strategies to do.
#[derive(Message, Clone, Debug, PartialEq)]
#[rtype(result = "()")]
pub enum RiskSignal {
    /// The kill switch engaged: pause or stop every strategy.
    KillSwitch(KillMode),
    /// One strategy breached its own loss limit.
    Halted { id: StrategyId, reason: String },
    /// Hold every running strategy's quoting (true) while the database
    /// cannot be written, and let it go on (false) once it can; their
    /// status does not change.
    Hold(bool),
}

/// The database became unavailable (`Some(why)`) or available (`None`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StorageState(pub Option<String>);

/// Where `RiskSignal`s go (the strategy manager, once it exists).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SignalTo(pub Recipient<RiskSignal>);

#[derive(Debug)]
pub struct RiskActor {
    /// Shared with every venue's commit path, which folds fills into it.
    ledger: Arc<RiskLedger>,
    running: bool,
    venues: Venues,
    registry: Addr<RegistryActor>,
    signals: Option<Recipient<RiskSignal>>,
    venue_timeout: Duration,
    rejected: u64,
    /// The manager's `RiskMemory` is stored with every fill (by the
    /// ledger), on every halt and kill switch change, and at most once a
    /// second when prices moved it.
    storage: Option<Storage>,
    /// Prices moved the memory (marks, peaks) since it was last stored.
    unsaved: bool,
    load: Load,
    clock: Clock,
}

/// How often memory moved only by prices is stored.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

impl RiskActor {
    /// Stores the memory in `storage`, and has every fill committed
    /// there folded into the manager in the fill's own transaction.
    pub fn with_storage(mut self, storage: Storage) -> Self {
        if !storage.fold_fills_into(self.ledger.clone()) {
            tracing::error!("storage already folds fills into another ledger");
        }
        self.storage = Some(storage);
        self
    }

    fn save(&mut self) {
        self.unsaved = false;
        if let Some(storage) = &self.storage {
            self.ledger.save(storage, None);
        }
    }

    /// Stores the memory and resolves once it is durable (at once without
    /// storage): what a command that changed it waits for before it
    /// answers.
    fn save_durably(&mut self) -> impl std::future::Future<Output = ()> + 'static {
        self.unsaved = false;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        if let Some(storage) = &self.storage {
            self.ledger.save(
                storage,
                Some(Box::new(move |_| {
                    let _ = tx.send(());
                })),
            );
        }
        async move {
            let _ = rx.await;
        }
    }

    pub fn new(
        manager: RiskManager,
        running: bool,
        venues: Venues,
        registry: Addr<RegistryActor>,
        venue_timeout: Duration,
        clock: Clock,
    ) -> Self {
        RiskActor {
            clock,
            ledger: Arc::new(RiskLedger::new(manager)),
            running,
            venues,
            registry,
            signals: None,
            venue_timeout,
            rejected: 0,
            storage: None,
            unsaved: false,
            load: Load::default(),
        }
    }

    fn alert(&self, level: LogLevel, message: String) {
        self.registry
            .do_send(Publish::alert(level, message, "risk"));
    }

    /// A refused order still has its one lifecycle: an `order_update`
    /// `rejected` with the rule as `reason`, and an alert.
    fn reject(
        &mut self,
        exchange: &str,
        req: &OrderRequest,
        why: &RiskViolation,
        now: TimestampMs,
    ) {
        self.rejected += 1;
        let mut order = Order::new(
            OrderId(format!("RISK-{}", self.rejected)),
            req.clone(),
            exchange,
            now,
        );
        order.reason = Some(why.to_string());
        if order.transition(OrderStatus::Rejected, now).is_ok() {
            self.registry
                .do_send(Publish::at(Event::OrderUpdate(OrderView::of(&order)), now));
        }
        let who = req.strategy.as_ref().map_or("a client".to_string(), |t| {
            format!("strategy {} ({})", t.id, t.name)
        });
        tracing::warn!(rule = %why, %who, symbol = %req.symbol, "order rejected by risk");
        self.alert(
            LogLevel::Warning,
            format!("Order from {who} rejected: {why}"),
        );
    }

    fn on_breaches(&mut self, breaches: Vec<Breach>, ctx: &mut Context<Self>) {
        for b in breaches {
            tracing::warn!(scope = %b.scope, message = %b.message, "loss limit breached");
            match b.scope {
                Scope::Account => {
                    let mode = self.ledger.lock().limits().breach_action;
                    let done = self.engage(mode, format!("account {}", b.message));
                    ctx.spawn(fut::wrap_future::<_, Self>(done).map(|_, _, _| ()));
                }
                Scope::Strategy(id) => {
                    self.alert(
                        LogLevel::Error,
                        format!("Strategy {id} halted: {}", b.message),
                    );
                    if let Some(s) = &self.signals {
                        s.do_send(RiskSignal::Halted {
                            id,
                            reason: b.message,
                        });
                    }
                }
            }
        }
    }

    /// Engages the kill switch; with `stop`, cancels every open order on
    /// every venue. Resolves to what it did.
    fn engage(&mut self, mode: KillMode, reason: String) -> ResponseFuture<KillOutcome> {
        let changed = self
            .ledger
            .lock()
            .engage(mode, &reason, self.clock.now_ms());
        if !changed {
            return Box::pin(async {
                KillOutcome {
                    changed: false,
                    cancelled: 0,
                }
            });
        }
        tracing::warn!(%mode, %reason, "kill switch engaged");
        let durable = self.save_durably();
        self.alert(
            LogLevel::Error,
            format!("Kill switch engaged ({mode}): {reason}. New orders are refused until reset_kill_switch."),
        );
        if let Some(s) = &self.signals {
            s.do_send(RiskSignal::KillSwitch(mode));
        }
        if mode != KillMode::Stop {
            return Box::pin(async {
                durable.await;
                KillOutcome {
                    changed: true,
                    cancelled: 0,
                }
            });
        }
        let timeout = self.venue_timeout;
        let cancels: Vec<_> = self
            .venues
            .select(None)
            .into_iter()
            .map(|v| {
                v.cancel_all
                    .send(CancelAll(OrderFilter::default()))
                    .timeout(timeout)
            })
            .collect();
        Box::pin(async move {
            let cancelled = join_all(cancels)
                .await
                .into_iter()
                .filter_map(Result::ok)
                .sum();
            durable.await;
            KillOutcome {
                changed: true,
                cancelled,
            }
        })
    }
}

impl Actor for RiskActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Order events must never wait behind a full mailbox for long, but
        // quotes are dropped by the venue when it is full.
        ctx.set_mailbox_capacity(4096);
        self.venues
            .follow_everything("risk", ctx.address().recipient());
        ctx.run_interval(SAVE_INTERVAL, |act, _| {
            if act.unsaved {
                act.save();
            }
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if self.unsaved {
            self.save();
        }
        Running::Stop
    }
}

impl Handles<SubmitOrder> for RiskActor {
    type Result = ResponseActFuture<Self, Result<OrderView, OrderError>>;

    fn handle(&mut self, msg: SubmitOrder, _: &mut Self::Context) -> Self::Result {
        let req = msg.0;
        let now = self.clock.now_ms();
        let checked = (|| {
            if !self.running {
                return Err(OrderError::EngineStopped);
            }
            // While the database cannot be written: no new orders.
            if let Some(why) = self.storage.as_ref().and_then(|s| s.health().unavailable()) {
                return Err(OrderError::StorageUnavailable(why));
            }
            let exchange = req.exchange.as_deref();
            let (name, venue) = match self.venues.lookup(exchange) {
                Lookup::Ready(name, venue) => (name, venue),
                Lookup::Down(name) => return Err(OrderError::ExchangeDown(name)),
                Lookup::Unknown(name) => return Err(OrderError::UnknownExchange(name)),
            };
            let checked = self.ledger.lock().check(&name, &req, now);
            if let Err(why) = checked {
                if why.code() == ErrorCode::RiskRejected {
                    self.reject(&name, &req, &why, now);
                }
                return Err(OrderError::Risk(why));
            }
            Ok(venue)
        })();
        let venue = match checked {
            Ok(v) => v,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let sent = venue
            .place
            .send(PlaceOrder(req.clone()))
            .timeout(self.venue_timeout);
        Box::pin(sent.into_actor(self).map(move |answer, act, _| {
            act.ledger.lock().release(&req);
            match answer {
                Ok(result) => Ok(result?),
                Err(MailboxError::Timeout) => Err(OrderError::NoAnswer),
                Err(e) => Err(OrderError::Unavailable(e.to_string())),
            }
        }))
    }
}

impl Handles<VenueUpdate> for RiskActor {
    type Result = ();
    fn handle(&mut self, msg: VenueUpdate, ctx: &mut Self::Context) {
        let now = self.clock.now_ms();
        let breaches = match &msg.event {
            VenueEvent::Order(o) => {
                self.ledger.lock().on_order(o);
                Vec::new()
            }
            // With storage, the fill was folded in when it was committed.
            VenueEvent::Trade(_) if self.storage.is_some() => self.ledger.take_breaches(),
            VenueEvent::Trade(t) => self.ledger.lock().on_trade(t, now),
            VenueEvent::Quote {
                symbol,
                bid,
                ask,
                at_ms,
            } => {
                let mid = (*bid + *ask) / rust_decimal::Decimal::TWO;
                self.unsaved = true;
                self.ledger
                    .lock()
                    .on_mark(&msg.exchange, symbol.as_str(), mid, *at_ms)
            }
            VenueEvent::Balance(_) | VenueEvent::Connection { .. } => Vec::new(),
        };
        // Fills and halts are stored before anyone acts on them.
        let stored_with_fill = self.storage.is_some();
        if (matches!(msg.event, VenueEvent::Trade(_)) && !stored_with_fill) || !breaches.is_empty()
        {
            self.save();
        }
        if !breaches.is_empty() {
            self.on_breaches(breaches, ctx);
        }
    }
}

impl Handles<SetEngineRunning> for RiskActor {
    type Result = ();
    fn handle(&mut self, msg: SetEngineRunning, _: &mut Self::Context) {
        self.running = msg.0;
    }
}

impl Handles<EngageKillSwitch> for RiskActor {
    type Result = ResponseFuture<KillOutcome>;
    fn handle(&mut self, msg: EngageKillSwitch, _: &mut Self::Context) -> Self::Result {
        self.engage(msg.mode, msg.reason)
    }
}

impl Handles<ResetKillSwitch> for RiskActor {
    type Result = ResponseFuture<bool>;
    /// Answers once the reset is durable.
    fn handle(&mut self, _: ResetKillSwitch, _: &mut Self::Context) -> Self::Result {
        if !self.ledger.lock().reset() {
            return Box::pin(async { false });
        }
        tracing::info!("kill switch reset");
        let durable = self.save_durably();
        self.alert(
            LogLevel::Info,
            "Kill switch reset: orders are accepted again; paused or stopped strategies stay so until started".into(),
        );
        Box::pin(async move {
            durable.await;
            true
        })
    }
}

impl Handles<StorageState> for RiskActor {
    type Result = ();
    /// Storage is told only of changes: the strategies hold, or go on.
    fn handle(&mut self, msg: StorageState, _: &mut Self::Context) {
        if let Some(s) = &self.signals {
            s.do_send(RiskSignal::Hold(msg.0.is_some()));
        }
    }
}

impl Handles<GetRiskStatus> for RiskActor {
    type Result = MessageResult<GetRiskStatus>;
    fn handle(&mut self, _: GetRiskStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.ledger.lock().status())
    }
}

impl Handles<SignalTo> for RiskActor {
    type Result = ();
    fn handle(&mut self, msg: SignalTo, _: &mut Self::Context) {
        self.signals = Some(msg.0);
    }
}

watched!(RiskActor, |r| match r.ledger.lock().kill_switch() {
    Some(k) => format!("kill_switch_{}", k.mode),
    None if r.running => "running".into(),
    None => "stopped".into(),
});
