//! `EngineActor`: system status, start/stop, uptime. Starting and stopping
//! opens and closes the order gate in the `RiskActor`.

use crate::health::{watched, Handles, Load};
use crate::registry::{Publish, RegistryActor};
use crate::risk::{RiskActor, SetEngineRunning, StorageState};
use crate::venue::contract::GetStats;
use crate::venue::directory::Venues;
use actix::prelude::*;
use futures_util::future::join_all;
use laicai_core::venue::AccountStats;
use laicai_core::wire::events::*;
use std::time::{Duration, Instant};

/// Answers whether the state changed.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct StartEngine;

#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct StopEngine {
    pub reason: String,
}

#[derive(Debug, Message)]
#[rtype(result = "SystemStatus")]
pub struct GetSystemStatus;

/// How many strategies are running (from the strategy manager).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ActiveStrategies(pub u32);

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub start_running: bool,
    pub status_interval: Duration,
    pub venue_timeout: Duration,
}

#[derive(Debug)]
pub struct EngineActor {
    cfg: EngineConfig,
    running: bool,
    started: Instant,
    registry: Addr<RegistryActor>,
    risk: Addr<RiskActor>,
    venues: Venues,
    active_strategies: u32,
    /// Whether the database can be written (`system_status.degraded`).
    storage: Option<crate::storage::Storage>,
    load: Load,
}

impl EngineActor {
    pub fn new(
        cfg: EngineConfig,
        registry: Addr<RegistryActor>,
        risk: Addr<RiskActor>,
        venues: Venues,
    ) -> Self {
        EngineActor {
            running: false,
            cfg,
            started: Instant::now(),
            registry,
            risk,
            venues,
            active_strategies: 0,
            storage: None,
            load: Load::default(),
        }
    }

    pub fn with_storage(mut self, storage: crate::storage::Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    fn bot_status(&self) -> BotStatus {
        if self.running {
            BotStatus::Running
        } else {
            BotStatus::Stopped
        }
    }

    /// The account statistics of every venue, gathered concurrently.
    fn gather_stats(&self) -> impl std::future::Future<Output = Vec<AccountStats>> {
        let asks: Vec<_> = self
            .venues
            .select(None)
            .into_iter()
            .map(|v| v.stats.send(GetStats).timeout(self.cfg.venue_timeout))
            .collect();
        async move {
            join_all(asks)
                .await
                .into_iter()
                .filter_map(Result::ok)
                .collect()
        }
    }

    fn status(&self, stats: &[AccountStats]) -> SystemStatus {
        let mut total = AccountStats::default();
        for s in stats {
            total.total_trades += s.total_trades;
            total.realized_pnl += s.realized_pnl;
            total.fees += s.fees;
            total.closing_trades += s.closing_trades;
            total.winning_trades += s.winning_trades;
        }
        SystemStatus {
            uptime: self.started.elapsed().as_secs(),
            bot_status: self.bot_status(),
            active_strategies: self.active_strategies,
            total_profit: total.realized_pnl - total.fees,
            total_trades: total.total_trades,
            success_rate: total.success_rate(),
            degraded: self
                .storage
                .as_ref()
                .and_then(|s| s.health().unavailable())
                .map(|why| format!("the database cannot be written: {why}")),
        }
    }

    fn publish_status(&self, ctx: &mut Context<Self>) {
        let stats = self.gather_stats();
        ctx.spawn(stats.into_actor(self).map(|stats, act, _| {
            act.registry
                .do_send(Publish::now(Event::SystemStatus(act.status(&stats))));
        }));
    }

    fn set_running(&mut self, running: bool, reason: &str, ctx: &mut Context<Self>) -> bool {
        if self.running == running {
            return false;
        }
        self.running = running;
        self.risk.do_send(SetEngineRunning(running));
        let (event, msg) = if running {
            (Event::Connected {}, "Engine started".to_string())
        } else {
            (
                Event::Disconnected {
                    reason: reason.to_string(),
                },
                format!("Engine stopped: {reason}"),
            )
        };
        tracing::info!(running, reason, "engine state changed");
        self.registry.do_send(Publish::now(event));
        self.registry
            .do_send(Publish::now(Event::log(LogLevel::Info, msg, "engine")));
        self.publish_status(ctx);
        true
    }
}

impl Actor for EngineActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.started = Instant::now();
        if self.cfg.start_running {
            self.set_running(true, "", ctx);
        } else {
            self.publish_status(ctx);
        }
        ctx.run_interval(self.cfg.status_interval, |act, ctx| act.publish_status(ctx));
    }
}

impl Handles<ActiveStrategies> for EngineActor {
    type Result = ();
    fn handle(&mut self, msg: ActiveStrategies, ctx: &mut Self::Context) {
        if msg.0 != self.active_strategies {
            self.active_strategies = msg.0;
            self.publish_status(ctx);
        }
    }
}

impl Handles<StartEngine> for EngineActor {
    type Result = bool;
    fn handle(&mut self, _: StartEngine, ctx: &mut Self::Context) -> bool {
        self.set_running(true, "", ctx)
    }
}

impl Handles<StopEngine> for EngineActor {
    type Result = bool;
    fn handle(&mut self, msg: StopEngine, ctx: &mut Self::Context) -> bool {
        self.set_running(false, &msg.reason, ctx)
    }
}

impl Handles<GetSystemStatus> for EngineActor {
    type Result = ResponseActFuture<Self, SystemStatus>;
    fn handle(&mut self, _: GetSystemStatus, _: &mut Self::Context) -> Self::Result {
        Box::pin(
            self.gather_stats()
                .into_actor(self)
                .map(|stats, act, _| act.status(&stats)),
        )
    }
}

watched!(EngineActor, |e| e.bot_status().as_str().into());

impl Handles<StorageState> for EngineActor {
    type Result = ();
    /// The database became unavailable or available: `system_status` says
    /// so at once.
    fn handle(&mut self, _: StorageState, ctx: &mut Context<Self>) {
        self.publish_status(ctx);
    }
}
