//! `StrategyManager`: owns every strategy instance's record — config,
//! status, PnL, restarts — and is the only publisher of `strategy` events.
//! Starts a `StrategyActor` per run on its own arbiter thread, answers the strategy commands, marks a
//! failed instance `error` (its actor has cancelled its orders), alerts,
//! and restarts it by the restart policy with jittered exponential backoff.
//! Follows the risk manager's kill switch and halts.

use super::instance::{Links, SetPaused, Setup, Shutdown, StrategyActor};
use super::{RestartPolicy, Runtime, StrategyReport};

use crate::engine::{ActiveStrategies, EngineActor};
use crate::health::{self, watched, Handles, Load, Watch};
use crate::registry::{Publish, RegistryActor};
use crate::risk::{RiskActor, RiskSignal, SignalTo, SubmitOrder};
use crate::storage::{Kind, Storage};
use crate::venue::contract::CancelAll;
use crate::venue::directory::{Lookup, Venues};
use actix::prelude::*;
use laicai_core::ids::StrategyId;
use laicai_core::order::StrategyTag;
use laicai_core::pair::PairSpec;
use laicai_core::pnl::Pnl;
use laicai_core::protocol::{NewStrategy, StrategyAction};
use laicai_core::risk::KillMode;
use laicai_core::rng::Rng;
use laicai_core::strategy::StrategyParams;
use laicai_core::time::{iso8601_ms, TimestampMs};
use laicai_core::venue::OrderFilter;
use laicai_core::wire::events::{Event, LogLevel, StrategyView};
use laicai_core::wire::events::{StrategyStatus, StrategyType};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

mod messages;
pub use messages::{
    ControlStrategy, CreateStrategy, GetStrategies, Restore, StoredStrategy, StrategyCmdError,
};

#[derive(Clone, Debug)]
pub struct ManagerConfig {
    pub restart: RestartPolicy,
    pub allow_test_strategies: bool,
    pub runtime: Runtime,
    /// Where it reads the wall time.
    pub clock: crate::clock::Clock,
}

#[derive(Debug)]
struct Instance {
    tag: StrategyTag,
    params: StrategyParams,
    exchange: String,
    rules: PairSpec,
    status: StrategyStatus,
    error_msg: Option<String>,
    restarts: u32,
    /// Failures since it was last started by hand.
    failures: u32,
    pnl: Pnl,
    mark: Option<Decimal>,
    progress: Option<Decimal>,
    open_orders: usize,
    generation: u64,
    actor: Option<Addr<StrategyActor>>,
    created_ms: TimestampMs,
}

impl Instance {
    /// A new instance, created and not yet run.
    fn new(
        tag: StrategyTag,
        params: StrategyParams,
        exchange: String,
        rules: PairSpec,
        created_ms: TimestampMs,
    ) -> Self {
        Instance {
            tag,
            params,
            exchange,
            rules,
            status: StrategyStatus::Created,
            error_msg: None,
            restarts: 0,
            failures: 0,
            pnl: Pnl::default(),
            mark: None,
            progress: None,
            open_orders: 0,
            generation: 0,
            actor: None,
            created_ms,
        }
    }

    fn stored(&self) -> StoredStrategy {
        StoredStrategy {
            id: self.tag.id.clone(),
            name: self.tag.name.clone(),
            kind: self.params.kind(),
            config: self.params.to_json(),
            exchange: self.exchange.clone(),
            pair: self.rules.symbol.to_string(),
            status: self.status,
            error_msg: self.error_msg.clone(),
            restarts: self.restarts,
            pnl: self.pnl,
            created_ms: self.created_ms,
        }
    }

    fn view(&self) -> StrategyView {
        StrategyView {
            id: self.tag.id.0.clone(),
            name: self.tag.name.clone(),
            strategy_type: self.params.kind(),
            status: self.status,
            exchange: self.exchange.clone(),
            connection_id: None,
            pair: self.rules.symbol.to_string(),
            profit: self.pnl.total(self.mark),
            trades: self.pnl.trades,
            error_msg: self.error_msg.clone(),
            restarts: self.restarts,
            realized_pnl: self.pnl.position.realized_pnl,
            fees: self.pnl.fees,
            position: self.pnl.position.size,
            volume: self.pnl.volume,
            open_orders: self.open_orders,
            progress: self.progress,
            config: self.params.to_json(),
            created_at: iso8601_ms(self.created_ms),
        }
    }
}

#[derive(Debug)]
pub struct StrategyManager {
    cfg: ManagerConfig,
    instances: BTreeMap<StrategyId, Instance>,
    next_id: u32,
    rules: HashMap<(String, String), PairSpec>,
    venues: Venues,
    links: ManagerLinks,
    rng: Rng,
    active: u32,
    storage: Option<Storage>,
    load: Load,
    watch: Watch,
}

/// The actors the manager and its strategies talk to.
#[derive(Debug, Clone)]
pub struct ManagerLinks {
    /// Events, logs and alerts (the registry).
    pub publish: Recipient<Publish>,
    /// The strategies' orders (the risk gate)…
    pub risk: Recipient<SubmitOrder>,
    /// …which tells the manager when the kill switch trips.
    pub risk_signals: Recipient<SignalTo>,
    /// How many strategies run (the engine's status).
    pub active: Recipient<ActiveStrategies>,
}

impl ManagerLinks {
    pub fn of(
        registry: &Addr<RegistryActor>,
        risk: &Addr<RiskActor>,
        engine: &Addr<EngineActor>,
    ) -> Self {
        ManagerLinks {
            publish: registry.clone().recipient(),
            risk: risk.clone().recipient(),
            risk_signals: risk.clone().recipient(),
            active: engine.clone().recipient(),
        }
    }
}

impl StrategyManager {
    pub fn new(
        cfg: ManagerConfig,
        rules: Vec<(String, PairSpec)>,
        venues: Venues,
        links: ManagerLinks,
        storage: Option<Storage>,
    ) -> Self {
        let seed = cfg.clock.now_ms() as u64;
        StrategyManager {
            storage,
            cfg,
            instances: BTreeMap::new(),
            next_id: 1,
            rules: rules
                .into_iter()
                .map(|(ex, spec)| ((ex, spec.symbol.to_string()), spec))
                .collect(),
            venues,
            links,
            rng: Rng::new(seed),
            active: 0,
            load: Load::default(),
            watch: None,
        }
    }

    /// Registers each strategy run with a monitor.
    pub fn watched_by(mut self, watch: Watch) -> Self {
        self.watch = watch;
        self
    }

    /// Stores the instance as it now is (or its deletion) and tells the
    /// sessions.
    fn publish(&mut self, id: &StrategyId) {
        if let Some(inst) = self.instances.get(id) {
            self.links
                .publish
                .do_send(Publish::now(Event::Strategy(inst.view())));
        }
        if let Some(storage) = &self.storage {
            match self.instances.get(id) {
                Some(inst) => storage.put(Kind::Strategy, &id.0, &inst.stored()),
                None => storage.delete(Kind::Strategy, &id.0),
            }
        }
        let active = self
            .instances
            .values()
            .filter(|i| i.status == StrategyStatus::Running)
            .count() as u32;
        if active != self.active {
            self.active = active;
            self.links.active.do_send(ActiveStrategies(active));
        }
    }

    fn log(&self, level: LogLevel, msg: String) {
        self.links
            .publish
            .do_send(Publish::now(Event::log(level, msg, "strategies")));
    }

    fn alert(&self, level: LogLevel, message: String, source: &str) {
        self.links
            .publish
            .do_send(Publish::alert(level, message, source));
    }

    /// A pair's trading rules on an exchange: configured, or learnt from
    /// the venue.
    fn rules_of(&self, exchange: &str, pair: &str) -> Option<PairSpec> {
        self.rules
            .get(&(exchange.to_string(), pair.to_string()))
            .cloned()
            .or_else(|| self.venues.rules(exchange, pair))
    }

    fn find(&self, id: &str) -> Result<&Instance, StrategyCmdError> {
        self.instances
            .get(&StrategyId(id.to_string()))
            .ok_or_else(|| StrategyCmdError::NotFound(id.to_string()))
    }

    /// Starts a new run of the instance.
    fn launch(&mut self, id: &StrategyId, ctx: &mut Context<Self>) {
        let links = Links {
            risk: self.links.risk.clone(),
            venues: self.venues.clone(),
            publish: self.links.publish.clone(),
            manager: ctx.address().recipient(),
        };
        let runtime = self.cfg.runtime.clone();
        let Some(inst) = self.instances.get_mut(id) else {
            return;
        };
        inst.generation += 1;
        inst.status = StrategyStatus::Running;
        inst.error_msg = None;
        let setup = Setup {
            tag: inst.tag.clone(),
            generation: inst.generation,
            exchange: inst.exchange.clone(),
            rules: inst.rules.clone(),
            logic: inst.params.build(),
            pnl: inst.pnl,
            paused: false,
            own_thread: true,
            load: Load::default(),
        };
        let load = setup.load.clone();
        // Its own thread: a strategy that spins or blocks cannot stall the
        // engine, the sessions or the other strategies.
        let thread = Arbiter::new();
        let actor = StrategyActor::start_in_arbiter(&thread.handle(), move |_| {
            StrategyActor::new(setup, links, runtime)
        });
        let agent = format!("strategy:{id}");
        health::watch(
            &self.watch,
            agent,
            actor.clone().recipient(),
            load,
            inst.restarts,
        );
        inst.actor = Some(actor);
    }

    fn create(&mut self, n: NewStrategy) -> Result<StrategyView, StrategyCmdError> {
        if n.params.kind() == StrategyType::Chaos && !self.cfg.allow_test_strategies {
            return Err(StrategyCmdError::InvalidParams {
                field: "type",
                reason: "`chaos` is a test-only strategy; enable strategies.allow_test_strategies"
                    .into(),
            });
        }
        let exchange = match self.venues.locate(&n.venue) {
            Ok(Some(name)) => name,
            Ok(None) => self.venues.default_name().to_string(),
            Err(e) => {
                return Err(StrategyCmdError::InvalidParams {
                    field: e.field(),
                    reason: e.to_string(),
                })
            }
        };
        let rules = self.rules_of(&exchange, n.pair.as_str()).ok_or_else(|| {
            StrategyCmdError::InvalidParams {
                field: "pair",
                reason: format!("{exchange} does not trade {}", n.pair),
            }
        })?;
        let id = StrategyId(format!("str-{:03}", self.next_id));
        self.next_id += 1;
        let tag = StrategyTag {
            id: id.clone(),
            name: n.name,
        };
        let inst = Instance::new(tag, n.params, exchange, rules, self.cfg.clock.now_ms());
        let view = inst.view();
        tracing::info!(strategy = %id, name = %view.name, kind = %view.strategy_type, pair = %view.pair, "strategy created");
        self.instances.insert(id.clone(), inst);
        self.publish(&id);
        Ok(view)
    }

    /// Moves an instance to `status`, stopping its actor (which cancels its
    /// orders); resolves to the number cancelled.
    fn halt(
        &mut self,
        id: &StrategyId,
        status: StrategyStatus,
        error: Option<String>,
    ) -> ResponseFuture<usize> {
        let Some(inst) = self.instances.get_mut(id) else {
            return Box::pin(async { 0 });
        };
        inst.status = status;
        inst.error_msg = error;
        let actor = inst.actor.take();
        self.publish(id);
        let timeout = self.cfg.runtime.request_timeout * 2;
        Box::pin(async move {
            match actor {
                Some(a) => a.send(Shutdown).timeout(timeout).await.unwrap_or(0),
                None => 0,
            }
        })
    }

    fn control(
        &mut self,
        id: &str,
        action: StrategyAction,
        ctx: &mut Context<Self>,
    ) -> Result<ResponseFuture<usize>, StrategyCmdError> {
        let inst = self.find(id)?;
        let key = inst.tag.id.clone();
        let status = inst.status;
        let wrong = |hint| {
            Err(StrategyCmdError::InvalidState {
                id: id.to_string(),
                status,
                hint,
            })
        };
        use StrategyStatus::*;
        let done: ResponseFuture<usize> = Box::pin(async { 0 });
        match action {
            StrategyAction::Start => match status {
                Created | Stopped | Error => {
                    if let Some(i) = self.instances.get_mut(&key) {
                        i.failures = 0;
                    }
                    self.launch(&key, ctx);
                    self.publish(&key);
                    Ok(done)
                }
                Running => wrong("it is already running"),
                _ => wrong("resume it with resume_strategy"),
            },
            StrategyAction::Stop => match status {
                Running | Paused | Error => Ok(self.halt(&key, Stopped, None)),
                _ => wrong("it is not running"),
            },
            StrategyAction::Pause | StrategyAction::Resume => {
                let (from, to, paused) = match action {
                    StrategyAction::Pause => (Running, Paused, true),
                    _ => (Paused, Running, false),
                };
                if status != from {
                    return wrong(if paused {
                        "only a running strategy can be paused"
                    } else {
                        "only a paused strategy can be resumed"
                    });
                }
                if let Some(i) = self.instances.get_mut(&key) {
                    i.status = to;
                    if let Some(a) = &i.actor {
                        a.do_send(SetPaused(paused));
                    }
                }
                self.publish(&key);
                Ok(done)
            }
            StrategyAction::Delete => match status {
                Created | Stopped | Error => {
                    if let Some(mut inst) = self.instances.remove(&key) {
                        inst.status = Deleted;
                        self.links
                            .publish
                            .do_send(Publish::now(Event::Strategy(inst.view())));
                    }
                    self.publish(&key);
                    Ok(done)
                }
                _ => wrong("stop it before deleting it"),
            },
        }
    }

    fn on_failure(&mut self, id: StrategyId, error: String, ctx: &mut Context<Self>) {
        let Some(inst) = self.instances.get_mut(&id) else {
            return;
        };
        inst.status = StrategyStatus::Error;
        inst.error_msg = Some(error.clone());
        inst.actor = None;
        inst.failures += 1;
        let (name, failures, generation) = (inst.tag.name.clone(), inst.failures, inst.generation);
        self.publish(&id);
        let msg =
            format!("Strategy {id} ({name}) failed and its orders are being cancelled: {error}");
        self.log(LogLevel::Error, msg.clone());
        self.alert(LogLevel::Error, msg, &name);
        let RestartPolicy::OnFailure {
            backoff,
            max_restarts,
        } = self.cfg.restart.clone()
        else {
            return;
        };
        if failures > max_restarts {
            self.alert(
                LogLevel::Error,
                format!("Strategy {id} ({name}) failed {failures} times in a row; not restarting it again"),
                &name,
            );
            return;
        }
        let delay = backoff.delay_ms(failures - 1, &mut self.rng);
        tracing::info!(strategy = %id, delay_ms = delay, attempt = failures, "restarting strategy after backoff");
        ctx.run_later(Duration::from_millis(delay), move |act, ctx| {
            let due = act
                .instances
                .get(&id)
                .is_some_and(|i| i.status == StrategyStatus::Error && i.generation == generation);
            if due {
                if let Some(i) = act.instances.get_mut(&id) {
                    i.restarts += 1;
                }
                act.launch(&id, ctx);
                act.publish(&id);
                act.log(LogLevel::Info, format!("Strategy {id} restarted"));
            }
        });
    }
}

impl Actor for StrategyManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.links
            .risk_signals
            .do_send(SignalTo(ctx.address().recipient()));
    }
}

impl StrategyManager {
    /// One stored instance back in the manager (not yet running).
    fn restore_one(&mut self, json: &str) -> Result<(StrategyId, StrategyStatus), String> {
        let st: StoredStrategy = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let params = StrategyParams::parse(st.kind, &st.config).map_err(|e| e.to_string())?;
        let rules = self
            .rules_of(&st.exchange, &st.pair)
            .ok_or_else(|| format!("{} does not trade {} (yet)", st.exchange, st.pair))?;
        if let Some(n) = st
            .id
            .0
            .strip_prefix("str-")
            .and_then(|n| n.parse::<u32>().ok())
        {
            self.next_id = self.next_id.max(n + 1);
        }
        let tag = StrategyTag {
            id: st.id.clone(),
            name: st.name,
        };
        let inst = Instance {
            // Nothing runs until it is resumed.
            status: match st.status {
                StrategyStatus::Running | StrategyStatus::Paused => StrategyStatus::Stopped,
                other => other,
            },
            error_msg: st.error_msg,
            restarts: st.restarts,
            pnl: st.pnl,
            created_ms: st.created_ms,
            ..Instance::new(tag, params, st.exchange, rules, self.cfg.clock.now_ms())
        };
        self.instances.insert(st.id.clone(), inst);
        Ok((st.id, st.status))
    }
}

impl StrategyManager {
    /// Cancels the open orders a strategy that is not coming back left.
    fn cancel_leftovers(&self, id: &StrategyId) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        match self.venues.lookup(Some(&inst.exchange)) {
            Lookup::Ready(_, venue) => venue.cancel_all.do_send(CancelAll(OrderFilter {
                strategy: Some(id.0.clone()),
                exchange: Some(inst.exchange.clone()),
                ..OrderFilter::default()
            })),
            _ => self.alert(
                LogLevel::Warning,
                format!(
                    "Strategy {id} was not resumed; its orders on {} could not be cancelled now",
                    inst.exchange
                ),
                "strategies",
            ),
        }
    }
}

impl Handles<Restore> for StrategyManager {
    type Result = usize;
    fn handle(&mut self, msg: Restore, ctx: &mut Self::Context) -> usize {
        let mut restored = 0;
        for json in &msg.stored {
            let (id, was) = match self.restore_one(json) {
                Ok(r) => r,
                Err(e) => {
                    let text = format!("a stored strategy could not be restored: {e}");
                    tracing::error!(error = %e, "strategy not restored");
                    self.alert(LogLevel::Error, text, "strategies");
                    continue;
                }
            };
            restored += 1;
            let resume =
                msg.resume && matches!(was, StrategyStatus::Running | StrategyStatus::Paused);
            if resume {
                self.launch(&id, ctx);
                if was == StrategyStatus::Paused {
                    if let Some(i) = self.instances.get_mut(&id) {
                        i.status = StrategyStatus::Paused;
                        if let Some(a) = &i.actor {
                            a.do_send(SetPaused(true));
                        }
                    }
                }
            }
            let was_trading = matches!(was, StrategyStatus::Running | StrategyStatus::Paused);
            if was_trading && !resume {
                // Not resumed: what it left resting is nobody's now.
                self.cancel_leftovers(&id);
            }
            tracing::info!(strategy = %id, was = %was, resumed = resume, "strategy restored");
            self.publish(&id);
        }
        restored
    }
}

impl Handles<CreateStrategy> for StrategyManager {
    type Result = Result<StrategyView, StrategyCmdError>;
    fn handle(&mut self, msg: CreateStrategy, _: &mut Self::Context) -> Self::Result {
        self.create(msg.0)
    }
}

impl Handles<ControlStrategy> for StrategyManager {
    type Result = ResponseActFuture<Self, Result<(StrategyView, usize), StrategyCmdError>>;
    fn handle(&mut self, msg: ControlStrategy, ctx: &mut Self::Context) -> Self::Result {
        let id = msg.id.clone();
        // Taken first: a deleted instance is answered with its last view.
        let before = self.find(&id).map(Instance::view).ok();
        let work = match self.control(&msg.id, msg.action, ctx) {
            Ok(w) => w,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let view = before.map(|mut v| {
            if msg.action == StrategyAction::Delete {
                v.status = StrategyStatus::Deleted;
            }
            v
        });
        Box::pin(work.into_actor(self).map(move |cancelled, act, _| {
            let now = act.find(&id).map(Instance::view).ok().or(view);
            now.map(|v| (v, cancelled))
                .ok_or(StrategyCmdError::NotFound(id))
        }))
    }
}

impl Handles<GetStrategies> for StrategyManager {
    type Result = MessageResult<GetStrategies>;
    fn handle(&mut self, _: GetStrategies, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.instances.values().map(Instance::view).collect())
    }
}

impl Handles<StrategyReport> for StrategyManager {
    type Result = ();
    fn handle(&mut self, msg: StrategyReport, ctx: &mut Self::Context) {
        let (id, generation) = match &msg {
            StrategyReport::Progress { id, generation, .. }
            | StrategyReport::Failed { id, generation, .. }
            | StrategyReport::Finished { id, generation, .. } => (id.clone(), *generation),
        };
        let Some(inst) = self.instances.get_mut(&id) else {
            return;
        };
        if inst.generation != generation {
            return;
        }
        match msg {
            StrategyReport::Progress {
                pnl,
                mark,
                progress,
                open_orders,
                ..
            } => {
                let before = (inst.pnl, inst.open_orders, inst.progress);
                inst.mark = mark.or(inst.mark);
                inst.pnl = pnl;
                inst.progress = progress;
                inst.open_orders = open_orders;
                if before != (pnl, open_orders, progress) || mark.is_some() {
                    self.publish(&id);
                }
            }
            StrategyReport::Failed { error, .. } => self.on_failure(id, error, ctx),
            StrategyReport::Finished { why, .. } => {
                let name = inst.tag.name.clone();
                self.log(
                    LogLevel::Info,
                    format!("Strategy {id} ({name}) finished: {why}"),
                );
                let stopped = self.halt(&id, StrategyStatus::Stopped, None);
                ctx.spawn(fut::wrap_future::<_, Self>(stopped).map(|_, _, _| ()));
            }
        }
    }
}

impl Handles<RiskSignal> for StrategyManager {
    type Result = ();
    fn handle(&mut self, msg: RiskSignal, ctx: &mut Self::Context) {
        match msg {
            RiskSignal::KillSwitch(mode) => {
                let ids: Vec<StrategyId> = self
                    .instances
                    .iter()
                    .filter(|(_, i)| {
                        matches!(i.status, StrategyStatus::Running | StrategyStatus::Paused)
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                for id in ids {
                    match mode {
                        KillMode::Pause => {
                            if let Some(i) = self.instances.get_mut(&id) {
                                if i.status == StrategyStatus::Running {
                                    i.status = StrategyStatus::Paused;
                                    if let Some(a) = &i.actor {
                                        a.do_send(SetPaused(true));
                                    }
                                }
                            }
                            self.publish(&id);
                        }
                        KillMode::Stop => {
                            let stopped = self.halt(
                                &id,
                                StrategyStatus::Stopped,
                                Some("stopped by the kill switch".into()),
                            );
                            ctx.spawn(fut::wrap_future::<_, Self>(stopped).map(|_, _, _| ()));
                        }
                    }
                }
            }
            RiskSignal::Hold(hold) => {
                // Their status stays: a strategy the user paused stays
                // paused when the hold ends.
                for i in self.instances.values() {
                    if let (StrategyStatus::Running, Some(a)) = (i.status, &i.actor) {
                        a.do_send(SetPaused(hold));
                    }
                }
            }
            RiskSignal::Halted { id, reason } => {
                let running = self.instances.get(&id).is_some_and(|i| {
                    matches!(i.status, StrategyStatus::Running | StrategyStatus::Paused)
                });
                if running {
                    let stopped =
                        self.halt(&id, StrategyStatus::Error, Some(format!("risk: {reason}")));
                    ctx.spawn(fut::wrap_future::<_, Self>(stopped).map(|_, _, _| ()));
                }
            }
        }
    }
}

watched!(StrategyManager, |_| "running".into());

#[cfg(test)]
mod tests;
