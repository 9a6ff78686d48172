//! `EngineActor`: system status, start/stop, uptime — and the order
//! pipeline every order passes through, in this order:
//!
//! 1. validate — parameters were checked when the command was parsed;
//! 2. engine state — no new orders while the engine is stopped;
//! 3. risk — `RiskLimits` pre-trade checks;
//! 4. store — (durable order storage takes its place here);
//! 5. exchange — the venue places it, checking balances;
//! 6. acknowledge — the caller gets the venue's answer.

use crate::exchange::{GetStats, PlaceOrder, VenueError};
use crate::registry::{Publish, RegistryActor};
use crate::venues::Venues;
use actix::prelude::*;
use futures_util::future::join_all;
use laicai_core::error::ErrorCode;
use laicai_core::order::OrderRequest;
use laicai_core::paper::AccountStats;
use laicai_core::protocol::events::*;
use laicai_core::risk::{RiskLimits, RiskViolation};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    #[error("the engine is stopped: send start_engine first")]
    EngineStopped,
    #[error("risk limit: {0}")]
    Risk(#[from] RiskViolation),
    #[error("no exchange `{0}`")]
    UnknownExchange(String),
    #[error(transparent)]
    Venue(#[from] VenueError),
    #[error("the exchange did not answer: {0}")]
    Unavailable(String),
}

impl OrderError {
    pub fn code(&self) -> ErrorCode {
        match self {
            OrderError::EngineStopped => ErrorCode::EngineStopped,
            OrderError::Risk(_) => ErrorCode::RiskRejected,
            OrderError::UnknownExchange(_) => ErrorCode::InvalidParams,
            OrderError::Venue(v) => v.code(),
            OrderError::Unavailable(_) => ErrorCode::Internal,
        }
    }
}

#[derive(Message)]
#[rtype(result = "Result<OrderView, OrderError>")]
pub struct SubmitOrder(pub OrderRequest);

/// Answers whether the state changed.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct StartEngine;

#[derive(Message)]
#[rtype(result = "bool")]
pub struct StopEngine {
    pub reason: String,
}

#[derive(Message)]
#[rtype(result = "SystemStatus")]
pub struct GetSystemStatus;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub start_running: bool,
    pub status_interval: Duration,
    pub risk: RiskLimits,
    pub venue_timeout: Duration,
}

pub struct EngineActor {
    cfg: EngineConfig,
    running: bool,
    started: Instant,
    registry: Addr<RegistryActor>,
    venues: Venues,
}

impl EngineActor {
    pub fn new(cfg: EngineConfig, registry: Addr<RegistryActor>, venues: Venues) -> Self {
        EngineActor {
            running: false,
            cfg,
            started: Instant::now(),
            registry,
            venues,
        }
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
            .map(|v| v.send(GetStats).timeout(self.cfg.venue_timeout))
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
            active_strategies: 0,
            total_profit: total.realized_pnl - total.fees,
            total_trades: total.total_trades,
            success_rate: total.success_rate(),
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

impl Handler<SubmitOrder> for EngineActor {
    type Result = ResponseFuture<Result<OrderView, OrderError>>;

    fn handle(&mut self, msg: SubmitOrder, _: &mut Self::Context) -> Self::Result {
        let req = msg.0;
        let checked = (|| {
            if !self.running {
                return Err(OrderError::EngineStopped);
            }
            self.cfg.risk.check(&req)?;
            let exchange = req.exchange.as_deref();
            let (_, venue) = self.venues.exchange(exchange).ok_or_else(|| {
                OrderError::UnknownExchange(exchange.unwrap_or_default().to_string())
            })?;
            Ok(venue)
        })();
        let timeout = self.cfg.venue_timeout;
        Box::pin(async move {
            let venue = checked?;
            match venue.send(PlaceOrder(req)).timeout(timeout).await {
                Ok(result) => Ok(result?),
                Err(e) => Err(OrderError::Unavailable(e.to_string())),
            }
        })
    }
}

impl Handler<StartEngine> for EngineActor {
    type Result = bool;
    fn handle(&mut self, _: StartEngine, ctx: &mut Self::Context) -> bool {
        self.set_running(true, "", ctx)
    }
}

impl Handler<StopEngine> for EngineActor {
    type Result = bool;
    fn handle(&mut self, msg: StopEngine, ctx: &mut Self::Context) -> bool {
        self.set_running(false, &msg.reason, ctx)
    }
}

impl Handler<GetSystemStatus> for EngineActor {
    type Result = ResponseActFuture<Self, SystemStatus>;
    fn handle(&mut self, _: GetSystemStatus, _: &mut Self::Context) -> Self::Result {
        Box::pin(
            self.gather_stats()
                .into_actor(self)
                .map(|stats, act, _| act.status(&stats)),
        )
    }
}
