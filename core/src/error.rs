//! The protocol's error codes: every refusal the engine sends maps to one.

use std::fmt;

/// Error codes as they appear in `error` events and in responses' `error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidMessageFormat,
    UnsupportedMessageType,
    UnknownCommand,
    InvalidParams,
    NotFound,
    OrderNotOpen,
    InvalidState,
    InsufficientBalance,
    EngineStopped,
    ExchangeUnavailable,
    RiskRejected,
    OrderRejected,
    SubscriptionLimit,
    ReplayGap,
    Timeout,
    Forbidden,
    RateLimited,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidMessageFormat => "invalid_message_format",
            ErrorCode::UnsupportedMessageType => "unsupported_message_type",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::InvalidParams => "invalid_params",
            ErrorCode::NotFound => "not_found",
            ErrorCode::OrderNotOpen => "order_not_open",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::InsufficientBalance => "insufficient_balance",
            ErrorCode::EngineStopped => "engine_stopped",
            ErrorCode::ExchangeUnavailable => "exchange_unavailable",
            ErrorCode::RiskRejected => "risk_rejected",
            ErrorCode::OrderRejected => "order_rejected",
            ErrorCode::SubscriptionLimit => "subscription_limit",
            ErrorCode::ReplayGap => "replay_gap",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal_error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
