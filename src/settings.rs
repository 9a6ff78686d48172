//! Each actor's settings, made from the config's sections: one
//! conversion per thing, so the wiring (`start`) only says who is made
//! and who talks to whom.

use crate::config::{
    BacktestSection, Config, ConnectionsSection, PairConfig, PaperSection, RestartMode,
    ServerConfig, StrategiesSection,
};
use laicai_actors::backtests::BacktestsConfig;
use laicai_actors::clock::Clock;
use laicai_actors::engine::EngineConfig;
use laicai_actors::registry::RegistryConfig;
use laicai_actors::session::SessionLimits;
use laicai_actors::strategy::{RestartPolicy, Runtime};
use laicai_actors::venue::paper::PaperVenueConfig;
use laicai_actors::venue::supervisor::SupervisorConfig;
use laicai_core::backoff::{Backoff, BackoffError};
use laicai_core::feed::FeedParams;
use laicai_core::pair::{BadSymbol, PairSpec, Symbol};
use laicai_core::paper::PaperConfig;
use std::time::Duration;

/// The embedded venue's name.
pub const PAPER: &str = "paper";

impl PairConfig {
    /// The pair's trading rules.
    pub fn spec(&self) -> Result<PairSpec, BadSymbol> {
        Ok(PairSpec {
            symbol: Symbol::parse(&self.symbol)?,
            tick_size: self.tick_size,
            step_size: self.step_size,
            min_notional: self.min_notional,
        })
    }

    /// How its synthetic market moves.
    pub fn feed(&self) -> FeedParams {
        FeedParams {
            start_price: self.start_price,
            tick_size: self.tick_size,
            step_size: self.step_size,
            spread_bps: self.spread_bps,
            volatility_bps: self.volatility_bps,
            level_spacing_bps: self.level_spacing_bps,
            depth_levels: self.depth_levels,
            level_size: self.level_size,
            trade_probability: self.trade_probability,
            trade_size: self.trade_size,
        }
    }
}

impl From<&PaperSection> for PaperConfig {
    fn from(p: &PaperSection) -> Self {
        PaperConfig {
            exchange: PAPER.into(),
            maker_fee: p.maker_fee,
            taker_fee: p.taker_fee,
            history_limit: p.history_limit,
        }
    }
}

impl From<&PaperSection> for PaperVenueConfig {
    fn from(p: &PaperSection) -> Self {
        PaperVenueConfig {
            // Short on purpose: market ticks are dropped when it is full,
            // and commands never wait behind more than this many ticks.
            mailbox: 256,
            book_depth: p.book_depth,
            market_data_interval_ms: p.market_data_interval_ms,
            position_refresh_ms: p.position_refresh_ms,
            clock: Clock::System,
        }
    }
}

impl ServerConfig {
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }
}

impl From<&ServerConfig> for RegistryConfig {
    fn from(s: &ServerConfig) -> Self {
        RegistryConfig {
            mailbox: s.registry_mailbox,
            replay_events: s.replay_events,
            backlog_limit: s.session_backlog,
            slow_client_timeout: Duration::from_millis(s.slow_client_timeout_ms),
            subscription_limit: s.subscription_limit,
            clock: Clock::System,
        }
    }
}

impl From<&ServerConfig> for SessionLimits {
    fn from(s: &ServerConfig) -> Self {
        SessionLimits {
            max_messages_per_sec: s.max_messages_per_sec,
            outbox: s.session_mailbox,
            max_frame_bytes: s.max_frame_bytes,
            heartbeat: Duration::from_secs(s.heartbeat_s),
            idle_timeout: Duration::from_secs(s.idle_timeout_s),
            command_timeout: s.command_timeout(),
        }
    }
}

impl From<&Config> for EngineConfig {
    fn from(c: &Config) -> Self {
        EngineConfig {
            start_running: c.engine.start_running,
            status_interval: Duration::from_millis(c.engine.status_interval_ms),
            venue_timeout: c.server.command_timeout(),
        }
    }
}

impl StrategiesSection {
    /// How a failed strategy is restarted; a bad backoff is an error.
    pub fn restart_policy(&self) -> Result<RestartPolicy, BackoffError> {
        Ok(match self.restart {
            RestartMode::Never => RestartPolicy::Never,
            RestartMode::OnFailure => RestartPolicy::OnFailure {
                backoff: Backoff::new(self.restart_base_ms, self.restart_max_ms)?,
                max_restarts: self.max_restarts,
            },
        })
    }
}

impl From<&Config> for Runtime {
    fn from(c: &Config) -> Self {
        Runtime {
            tick: Duration::from_millis(c.strategies.tick_ms),
            max_data_age_ms: c.risk.max_data_age_ms,
            stale_action: c.risk.stale_action,
            request_timeout: c.server.command_timeout(),
            reject_cooldown: Duration::from_secs(1),
            report_interval: Duration::from_secs(1),
            clock: Clock::System,
        }
    }
}

impl ConnectionsSection {
    /// The supervisor's settings: its backoff, and what a new connection
    /// trades and keeps by default (the paper venue's pairs and limits).
    pub fn supervisor(
        &self,
        backoff: Backoff,
        default_pairs: Vec<Symbol>,
        paper: &PaperSection,
    ) -> SupervisorConfig {
        SupervisorConfig {
            backoff,
            stable: Duration::from_secs(self.stable_s),
            max_attempts: self.max_attempts,
            default_pairs,
            recv_window_ms: self.recv_window_ms,
            silent_timeout: Duration::from_millis(self.silent_timeout_ms),
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            keepalive: Duration::from_secs(self.listen_key_keepalive_s),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_server_errors: self.max_server_errors,
            book_depth: paper.book_depth,
            orderbook_interval_ms: paper.orderbook_interval_ms,
            history_limit: paper.history_limit,
            clock: Clock::System,
        }
    }

    pub fn backoff(&self) -> Result<Backoff, BackoffError> {
        Backoff::new(self.backoff_base_ms, self.backoff_max_ms)
    }
}

impl BacktestSection {
    pub fn manager(&self, allow_test_strategies: bool) -> BacktestsConfig {
        BacktestsConfig {
            data_dir: self.data_dir.clone().into(),
            report_dir: (!self.report_dir.trim().is_empty())
                .then(|| self.report_dir.clone().into()),
            runners: self.runners,
            max_queued: self.max_queued,
            keep: self.keep,
            allow_test_strategies,
            clock: Clock::System,
        }
    }
}
