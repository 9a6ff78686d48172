//! `StrategyActor`: one running strategy instance. Follows its venue for
//! its pair's quotes, its own orders and fills, and its pair's balances;
//! runs the decision logic behind `catch_unwind` so a panic fails only this
//! instance; sends its orders through the `RiskActor`; tracks its own PnL.
//! On failure, finish or shutdown it cancels every order it owns and stops
//! once nothing of its is in flight.

use super::{Runtime, StrategyReport};

use crate::health::{AgentHealth, Handles, Health, Load};
use crate::registry::Publish;
use crate::risk::SubmitOrder;
use crate::venue::contract::{
    CancelAll, CancelOrder, Follow, Interest, Unfollow, VenueError, VenueEvent, VenueUpdate,
};
use actix::prelude::*;
use laicai_core::ids::{OrderId, StrategyId};
use laicai_core::order::{OrderRequest, OrderType, StrategyTag};
use laicai_core::pair::PairSpec;
use laicai_core::pnl::Pnl;
use laicai_core::risk::{stale_data, StaleAction};
use laicai_core::strategy::{
    Ctx, Fill, Intent, Inventory, Market, OrderIntent, OwnOrder, Strategy, StrategyError,
};
use laicai_core::time::TimestampMs;
use laicai_core::venue::OrderFilter;
use laicai_core::wire::events::{Event, LogLevel, OrderView};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Pause (true) or resume (false): a paused strategy keeps its orders and
/// tracks its fills but does not act.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetPaused(pub bool);

/// Stop: cancel every order it owns, then stop. Answers how many were
/// cancelled.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct Shutdown;

/// Everything one run of an instance starts from.
#[derive(Debug)]
pub struct Setup {
    pub tag: StrategyTag,
    pub generation: u64,
    pub exchange: String,
    pub rules: PairSpec,
    pub logic: Box<dyn Strategy>,
    /// Carried over from earlier runs of the instance.
    pub pnl: Pnl,
    pub paused: bool,
    /// Runs alone on its own arbiter thread, which it stops when it stops.
    pub own_thread: bool,
    /// Counted for the agent monitor (the manager registers the run).
    pub load: Load,
}

/// The actors a strategy talks to.
#[derive(Debug, Clone)]
pub struct Links {
    /// Where its orders go (the risk gate).
    pub risk: Recipient<SubmitOrder>,
    /// Its venue is looked up for each request: a connection's session
    /// (and so its handle) changes when it reconnects.
    pub venues: crate::venue::directory::Venues,
    /// Where its logs and alerts go (the registry).
    pub publish: Recipient<Publish>,
    pub manager: Recipient<StrategyReport>,
}

/// Where a run is in its life. Only a `Running` strategy acts; a
/// `Paused` one keeps its orders and tracks its fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Paused,
    /// Its logic said the job is done; it waits to be stopped.
    Finished,
    /// Cancelling every order it owns, then stopping once the venue has
    /// confirmed (`cancelled_all`) and nothing of its is in flight.
    Stopping {
        cause: Stop,
        cancelled_all: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `Shutdown`: the manager stops it.
    Asked,
    /// Its logic failed (an error or a panic).
    Failed,
}

/// Finished orders remembered to recognise their late events.
const DONE_MEMORY: usize = 4096;

#[derive(Debug)]
pub struct StrategyActor {
    s: Setup,
    links: Links,
    rt: Runtime,
    market: Option<Market>,
    connected: bool,
    stale: bool,
    inventory: Inventory,
    pending: HashMap<u64, OwnOrder>,
    next_pending: u64,
    open: BTreeMap<OrderId, OwnOrder>,
    /// Limit price (None for market) of recently finished orders.
    done: HashMap<OrderId, Option<rust_decimal::Decimal>>,
    done_order: VecDeque<OrderId>,
    cooldown_until: TimestampMs,
    phase: Phase,
    followed: bool,
    reported: Option<(Pnl, usize, rust_decimal::Decimal)>,
    logged_rejection: TimestampMs,
    load: Load,
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".into()
    }
}

impl StrategyActor {
    pub fn new(setup: Setup, links: Links, rt: Runtime) -> Self {
        let phase = if setup.paused {
            Phase::Paused
        } else {
            Phase::Running
        };
        StrategyActor {
            load: setup.load.clone(),
            s: setup,
            links,
            rt,
            market: None,
            connected: false,
            stale: false,
            inventory: Inventory::default(),
            pending: HashMap::new(),
            next_pending: 0,
            open: BTreeMap::new(),
            done: HashMap::new(),
            done_order: VecDeque::new(),
            cooldown_until: TimestampMs::MIN,
            phase,
            followed: false,
            reported: None,
            logged_rejection: TimestampMs::MIN,
        }
    }

    fn id(&self) -> &StrategyId {
        &self.s.tag.id
    }

    fn follow_key(&self) -> String {
        format!("{}#{}", self.s.tag.id, self.s.generation)
    }

    fn acting(&self) -> bool {
        self.phase == Phase::Running
    }

    fn log(&self, level: LogLevel, msg: String) {
        self.links
            .publish
            .do_send(Publish::now(Event::log(level, msg, &self.s.tag.name)));
    }

    fn alert(&self, level: LogLevel, message: String) {
        self.links
            .publish
            .do_send(Publish::alert(level, message, &self.s.tag.name));
    }

    fn note_done(&mut self, id: OrderId, price: Option<rust_decimal::Decimal>) {
        self.open.remove(&id);
        if self.done.insert(id.clone(), price).is_none() {
            self.done_order.push_back(id);
            while self.done_order.len() > DONE_MEMORY {
                if let Some(old) = self.done_order.pop_front() {
                    self.done.remove(&old);
                }
            }
        }
    }

    fn own_orders(&self) -> Vec<OwnOrder> {
        self.pending
            .values()
            .chain(self.open.values())
            .cloned()
            .collect()
    }

    /// Runs one decision of the logic, isolated: a panic or an error fails
    /// this strategy and nothing else.
    fn decide(
        &mut self,
        ctx: &mut Context<Self>,
        call: impl FnOnce(&mut dyn Strategy, &Ctx) -> Result<Vec<Intent>, StrategyError>,
    ) {
        let Some(market) = self.market else {
            return;
        };
        let orders = self.own_orders();
        let view = Ctx {
            now: self.rt.clock.now_ms(),
            market: &market,
            inventory: self.inventory,
            orders: &orders,
            rules: &self.s.rules,
        };
        let logic = &mut self.s.logic;
        match catch_unwind(AssertUnwindSafe(|| call(logic.as_mut(), &view))) {
            Ok(Ok(intents)) => self.execute(intents, ctx),
            Ok(Err(e)) => self.fail(format!("error: {e}"), ctx),
            Err(p) => self.fail(format!("panic: {}", panic_message(p)), ctx),
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.follow(ctx);
        if self.acting() && self.fresh(ctx) {
            self.decide(ctx, |logic, view| logic.on_tick(view));
        }
    }

    /// The stale data guard; announces each change once.
    fn fresh(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.market.is_none() {
            return false;
        }
        let problem = stale_data(
            self.market.map(|m| m.at_ms),
            self.connected,
            self.rt.clock.now_ms(),
            self.rt.max_data_age_ms,
        );
        match (problem, self.stale) {
            (Some(why), false) => {
                self.stale = true;
                let pulled = self.rt.stale_action == StaleAction::Cancel;
                let msg = format!(
                    "Strategy {} stopped quoting: {why}; {}",
                    self.id(),
                    if pulled {
                        "cancelling its orders"
                    } else {
                        "keeping its orders"
                    }
                );
                tracing::warn!(strategy = %self.id(), %why, "stale market data");
                self.log(LogLevel::Warning, msg.clone());
                self.alert(LogLevel::Warning, msg);
                if pulled {
                    let ids: Vec<OrderId> = self.open.keys().cloned().collect();
                    for id in ids {
                        self.cancel(id, ctx);
                    }
                }
            }
            (None, true) => {
                self.stale = false;
                let msg = format!(
                    "Strategy {} resumed quoting: market data is fresh again",
                    self.id()
                );
                tracing::info!(strategy = %self.id(), "market data fresh again");
                self.log(LogLevel::Info, msg.clone());
                self.alert(LogLevel::Info, msg);
            }
            _ => {}
        }
        !self.stale
    }

    fn execute(&mut self, intents: Vec<Intent>, ctx: &mut Context<Self>) {
        for intent in intents {
            match intent {
                Intent::Place(o) => self.place(o, ctx),
                Intent::Cancel(id) => self.cancel(id, ctx),
                Intent::Finish(why) => {
                    if self.phase == Phase::Running {
                        self.phase = Phase::Finished;
                        self.links.manager.do_send(StrategyReport::Finished {
                            id: self.id().clone(),
                            generation: self.s.generation,
                            why,
                        });
                    }
                }
            }
        }
    }

    fn place(&mut self, o: OrderIntent, ctx: &mut Context<Self>) {
        let now = self.rt.clock.now_ms();
        if !self.acting() || now < self.cooldown_until {
            return;
        }
        let key = self.next_pending;
        self.next_pending += 1;
        self.pending.insert(
            key,
            OwnOrder {
                id: None,
                side: o.side,
                price: o.price,
                remaining: o.size,
                created_ms: now,
                cancelling: false,
            },
        );
        let req = OrderRequest {
            symbol: self.s.rules.symbol.clone(),
            side: o.side,
            order_type: o.order_type,
            size: o.size,
            price: o.price,
            time_in_force: o.time_in_force,
            post_only: o.post_only,
            client_order_id: None,
            exchange: Some(self.s.exchange.clone()),
            strategy: Some(self.s.tag.clone()),
        };
        let sent = self
            .links
            .risk
            .send(SubmitOrder(req))
            .timeout(self.rt.request_timeout);
        ctx.spawn(sent.into_actor(self).map(move |answer, act, ctx| {
            act.pending.remove(&key);
            match answer {
                Ok(Ok(view)) => act.placed(view, ctx),
                Ok(Err(e)) => act.refused(e.to_string()),
                Err(e) => act.refused(format!("no answer: {e}")),
            }
            act.maybe_stop(ctx);
        }));
    }

    fn placed(&mut self, view: OrderView, ctx: &mut Context<Self>) {
        let id = OrderId(view.order_id.clone());
        if view.status.is_open() && !self.done.contains_key(&id) {
            self.open
                .entry(id.clone())
                .or_insert_with(|| own_order(&view, self.rt.clock.now_ms()));
            if matches!(self.phase, Phase::Stopping { .. }) {
                self.cancel(id, ctx);
            }
        } else if view.status.is_terminal() {
            if view.filled.is_zero() {
                // Refused by the venue (post-only would cross, no liquidity).
                self.cooldown_until =
                    self.rt.clock.now_ms() + self.rt.reject_cooldown.as_millis() as i64;
            }
            self.note_done(id, limit_price(&view));
        }
    }

    fn refused(&mut self, why: String) {
        let now = self.rt.clock.now_ms();
        self.cooldown_until = now + self.rt.reject_cooldown.as_millis() as i64;
        // One log line per 5 s at most: a refused strategy retries.
        if now - self.logged_rejection >= 5000 {
            self.logged_rejection = now;
            tracing::warn!(strategy = %self.id(), %why, "strategy order refused");
            self.log(
                LogLevel::Warning,
                format!("Order of strategy {} refused: {why}", self.id()),
            );
        }
    }

    fn cancel(&mut self, id: OrderId, ctx: &mut Context<Self>) {
        match self.open.get_mut(&id) {
            Some(o) if !o.cancelling => o.cancelling = true,
            _ => return,
        }
        let Some(venue) = self.venue() else {
            // The venue is reconnecting: the next decision asks again.
            if let Some(o) = self.open.get_mut(&id) {
                o.cancelling = false;
            }
            return;
        };
        let sent = venue
            .cancel
            .send(CancelOrder(id.clone()))
            .timeout(self.rt.request_timeout);
        ctx.spawn(sent.into_actor(self).map(move |answer, act, ctx| {
            match answer {
                Ok(Ok(view)) => act.note_done(id, limit_price(&view)),
                Ok(Err(VenueError::NotOpen(_) | VenueError::NotFound(_))) => {
                    // Already finished; its events say how.
                    act.open.remove(&id);
                }
                Ok(Err(_)) | Err(_) => {
                    if let Some(o) = act.open.get_mut(&id) {
                        o.cancelling = false;
                    }
                }
            }
            act.maybe_stop(ctx);
        }));
    }

    fn fail(&mut self, error: String, ctx: &mut Context<Self>) {
        if let Phase::Stopping {
            cause: Stop::Failed,
            ..
        } = self.phase
        {
            return;
        }
        self.phase = Phase::Stopping {
            cause: Stop::Failed,
            cancelled_all: false,
        };
        tracing::error!(strategy = %self.id(), %error, "strategy failed");
        self.links.manager.do_send(StrategyReport::Failed {
            id: self.id().clone(),
            generation: self.s.generation,
            error,
        });
        self.begin_shutdown(ctx);
    }

    /// Cancels everything it owns on the venue; resolves to the count. If
    /// the venue cannot be asked now (reconnecting), it keeps trying every
    /// second and stops only once that has worked: no order is left behind.
    fn begin_shutdown(&mut self, ctx: &mut Context<Self>) -> ResponseActFuture<Self, usize> {
        let cause = match self.phase {
            Phase::Stopping { cause, .. } => cause,
            _ => Stop::Asked,
        };
        self.phase = Phase::Stopping {
            cause,
            cancelled_all: false,
        };
        let filter = OrderFilter {
            strategy: Some(self.id().0.clone()),
            exchange: Some(self.s.exchange.clone()),
            ..OrderFilter::default()
        };
        let Some(venue) = self.venue() else {
            self.retry_cancel_all(ctx);
            return Box::pin(fut::ready(0));
        };
        let sent = venue
            .cancel_all
            .send(CancelAll(filter))
            .timeout(self.rt.request_timeout);
        let work = sent
            .into_actor(self)
            .map(move |answer, act, ctx| match answer {
                Ok(cancelled) => {
                    act.phase = Phase::Stopping {
                        cause,
                        cancelled_all: true,
                    };
                    act.maybe_stop(ctx);
                    cancelled
                }
                Err(_) => {
                    act.retry_cancel_all(ctx);
                    0
                }
            });
        if cause == Stop::Failed {
            ctx.spawn(work.map(|_, _, _| ()));
            return Box::pin(fut::ready(0));
        }
        Box::pin(work)
    }

    fn retry_cancel_all(&mut self, ctx: &mut Context<Self>) {
        tracing::warn!(strategy = %self.id(), exchange = %self.s.exchange, "cannot cancel its orders yet; retrying");
        ctx.run_later(std::time::Duration::from_secs(1), |act, ctx| {
            let retry = act.begin_shutdown(ctx);
            ctx.spawn(retry.map(|_, _, _| ()));
        });
    }

    fn venue(&self) -> Option<std::sync::Arc<crate::venue::directory::VenueHandle>> {
        self.links
            .venues
            .exchange(Some(&self.s.exchange))
            .map(|(_, h)| h)
    }

    /// Follows its venue (again after the venue was away at start).
    fn follow(&mut self, ctx: &mut Context<Self>) {
        if self.followed {
            return;
        }
        if let Some(venue) = self.venue() {
            venue.follow.do_send(Follow {
                key: self.follow_key(),
                interest: Interest::Strategy {
                    id: self.id().clone(),
                    symbol: self.s.rules.symbol.clone(),
                },
                to: ctx.address().recipient(),
            });
            self.followed = true;
        }
    }

    /// Stops once shutting down and nothing of its is in flight.
    fn maybe_stop(&mut self, ctx: &mut Context<Self>) {
        let busy = !self.pending.is_empty() || self.open.values().any(|o| o.cancelling);
        let confirmed = matches!(
            self.phase,
            Phase::Stopping {
                cancelled_all: true,
                ..
            }
        );
        if confirmed && !busy {
            self.report(true);
            if let Some(venue) = self.venue() {
                venue.unfollow.do_send(Unfollow(self.follow_key()));
            }
            ctx.stop();
        }
    }

    /// Tells the manager its PnL: at once after a fill, otherwise on the
    /// report interval when anything (the marked profit included) changed.
    fn report(&mut self, force: bool) {
        let mark = self.market.map(|m| m.mid());
        let now = (self.s.pnl, self.open.len(), self.s.pnl.total(mark));
        if !force && self.reported == Some(now) {
            return;
        }
        self.reported = Some(now);
        self.links.manager.do_send(StrategyReport::Progress {
            id: self.id().clone(),
            generation: self.s.generation,
            pnl: self.s.pnl,
            mark,
            progress: self.s.logic.progress(),
            open_orders: self.open.len(),
        });
    }

    fn on_fill(&mut self, t: &laicai_core::wire::events::TradeView, ctx: &mut Context<Self>) {
        self.s.pnl.apply_fill(t.side, t.amount, t.price, t.fee);
        let id = OrderId(t.order_id.clone());
        let (order_price, order_done) = match (self.open.get(&id), self.done.get(&id)) {
            (Some(o), _) => (o.price, false),
            (None, Some(price)) => (*price, true),
            (None, None) => (None, false),
        };
        let fill = Fill {
            order_id: id,
            side: t.side,
            order_price,
            price: t.price,
            qty: t.amount,
            order_done,
        };
        if self.acting() {
            self.decide(ctx, |logic, view| logic.on_fill(&fill, view));
        }
        self.report(true);
    }
}

fn limit_price(v: &OrderView) -> Option<rust_decimal::Decimal> {
    (v.order_type == OrderType::Limit)
        .then_some(v.price)
        .flatten()
}

fn own_order(v: &OrderView, now: TimestampMs) -> OwnOrder {
    OwnOrder {
        id: Some(OrderId(v.order_id.clone())),
        side: v.side,
        price: limit_price(v),
        remaining: v.remaining,
        created_ms: now,
        cancelling: false,
    }
}

impl Actor for StrategyActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
        self.follow(ctx);
        ctx.run_interval(self.rt.tick, |act, ctx| act.tick(ctx));
        ctx.run_interval(self.rt.report_interval, |act, _| act.report(false));
        tracing::info!(strategy = %self.id(), generation = self.s.generation, "strategy running");
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        tracing::info!(strategy = %self.id(), generation = self.s.generation, "strategy actor stopped");
        if self.s.own_thread {
            Arbiter::current().stop();
        }
    }
}

impl Handles<VenueUpdate> for StrategyActor {
    type Result = ();
    fn handle(&mut self, msg: VenueUpdate, ctx: &mut Self::Context) {
        match msg.event {
            VenueEvent::Quote {
                bid, ask, at_ms, ..
            } => {
                self.market = Some(Market { bid, ask, at_ms });
                self.tick(ctx);
            }
            VenueEvent::Order(o) => {
                let id = OrderId(o.order_id.clone());
                if o.status.is_open() {
                    if !self.done.contains_key(&id) {
                        let now = self.rt.clock.now_ms();
                        let entry = self.open.entry(id).or_insert_with(|| own_order(&o, now));
                        entry.remaining = o.remaining;
                    }
                } else if o.status.is_terminal() {
                    self.note_done(id, limit_price(&o));
                }
            }
            VenueEvent::Trade(t) => self.on_fill(&t, ctx),
            VenueEvent::Balance(b) => {
                let symbol = &self.s.rules.symbol;
                if b.asset == symbol.base() {
                    self.inventory.base = b.total;
                }
                if b.asset == symbol.quote() {
                    self.inventory.quote = b.total;
                }
            }
            VenueEvent::Connection { connected } => self.connected = connected,
        }
    }
}

impl Handles<SetPaused> for StrategyActor {
    type Result = ();
    fn handle(&mut self, msg: SetPaused, _: &mut Self::Context) {
        self.phase = match (self.phase, msg.0) {
            (Phase::Running, true) => Phase::Paused,
            (Phase::Paused, false) => Phase::Running,
            (phase, _) => phase,
        };
    }
}

impl Handles<Shutdown> for StrategyActor {
    type Result = ResponseActFuture<Self, usize>;
    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) -> Self::Result {
        self.begin_shutdown(ctx)
    }
}

crate::health::counted!(StrategyActor);

impl Handles<Health> for StrategyActor {
    type Result = MessageResult<Health>;
    fn handle(&mut self, _: Health, _: &mut Self::Context) -> Self::Result {
        let status = match self.phase {
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Finished => "finished",
            Phase::Stopping {
                cause: Stop::Asked, ..
            } => "stopping",
            Phase::Stopping {
                cause: Stop::Failed,
                ..
            } => "error",
        };
        MessageResult(AgentHealth::of(status, &self.load))
    }
}

#[cfg(test)]
mod tests;
