//! What the strategy manager is asked (create, control, list, restore),
//! how it refuses, and a strategy instance as stored.

use actix::prelude::*;
use laicai_core::error::{Coded, ErrorCode};
use laicai_core::ids::StrategyId;
use laicai_core::pnl::Pnl;
use laicai_core::protocol::{NewStrategy, StrategyAction};
use laicai_core::time::TimestampMs;
use laicai_core::wire::events::{StrategyStatus, StrategyType, StrategyView};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyCmdError {
    #[error("invalid `{field}`: {reason}")]
    InvalidParams { field: &'static str, reason: String },
    #[error("no strategy `{0}`")]
    NotFound(String),
    #[error("strategy {id} is {status}: {hint}")]
    InvalidState {
        id: String,
        status: StrategyStatus,
        hint: &'static str,
    },
    #[error("the strategy did not answer in time")]
    Timeout,
}

impl Coded for StrategyCmdError {
    fn code(&self) -> ErrorCode {
        match self {
            StrategyCmdError::InvalidParams { .. } => ErrorCode::InvalidParams,
            StrategyCmdError::NotFound(_) => ErrorCode::NotFound,
            StrategyCmdError::InvalidState { .. } => ErrorCode::InvalidState,
            StrategyCmdError::Timeout => ErrorCode::Timeout,
        }
    }
}

#[derive(Debug, Message)]
#[rtype(result = "Result<StrategyView, StrategyCmdError>")]
pub struct CreateStrategy(pub NewStrategy);

/// start / stop / pause / resume / delete. Answers the instance as it is
/// now, and for `stop` how many orders were cancelled.
#[derive(Debug, Message)]
#[rtype(result = "Result<(StrategyView, usize), StrategyCmdError>")]
pub struct ControlStrategy {
    pub id: String,
    pub action: StrategyAction,
}

#[derive(Debug, Message)]
#[rtype(result = "Vec<StrategyView>")]
pub struct GetStrategies;

/// A strategy instance as stored: enough to bring it back as it was.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredStrategy {
    pub id: StrategyId,
    pub name: String,
    pub kind: StrategyType,
    pub config: serde_json::Value,
    pub exchange: String,
    pub pair: String,
    pub status: StrategyStatus,
    pub error_msg: Option<String>,
    pub restarts: u32,
    pub pnl: Pnl,
    pub created_ms: TimestampMs,
}

/// Brings back stored instances at start; with `resume`, those that were
/// running (or paused) run again. Answers how many came back.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct Restore {
    pub stored: Vec<String>,
    pub resume: bool,
}
