//! Strategies as actors: one `StrategyActor` per running instance, which
//! feeds the pure decision logic from `laicai-core` and carries out its
//! intents through the `RiskActor`; and the `StrategyManager`, which owns
//! every instance's record (status, PnL, restarts), answers the strategy
//! commands, isolates failures and restarts by policy.

pub mod instance;
pub mod manager;
#[cfg(test)]
mod testkit;

use laicai_core::ids::StrategyId;
use laicai_core::pnl::Pnl;
use laicai_core::risk::StaleAction;
use rust_decimal::Decimal;
use std::time::Duration;

pub use instance::StrategyActor;
pub use manager::StrategyManager;

/// What a running instance tells the manager. `generation` tells one run
/// of an instance from the next, so a report from a run that was replaced
/// is ignored.
#[derive(actix::Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum StrategyReport {
    Progress {
        id: StrategyId,
        generation: u64,
        pnl: Pnl,
        mark: Option<Decimal>,
        progress: Option<Decimal>,
        open_orders: usize,
    },
    /// Its logic panicked or returned an error; it is cancelling its orders
    /// and stopping.
    Failed {
        id: StrategyId,
        generation: u64,
        error: String,
    },
    /// Its logic says the job is done (a TWAP executed).
    Finished {
        id: StrategyId,
        generation: u64,
        why: String,
    },
}

/// How every strategy actor runs.
#[derive(Clone, Debug)]
pub struct Runtime {
    /// The strategy's logic runs on every quote and at least this often.
    pub tick: Duration,
    /// Strategies do not quote on data older than this…
    pub max_data_age_ms: u64,
    /// …and then cancel or keep their orders.
    pub stale_action: StaleAction,
    /// How long an order or cancel may wait for an answer.
    pub request_timeout: Duration,
    /// After a refused order, no new order for this long.
    pub reject_cooldown: Duration,
    /// PnL is reported at least this often while it changes.
    pub report_interval: Duration,
    /// Where it reads the wall time.
    pub clock: crate::clock::Clock,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RestartPolicy {
    Never,
    OnFailure {
        backoff: laicai_core::backoff::Backoff,
        max_restarts: u32,
    },
}
