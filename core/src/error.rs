//! The protocol's error codes: every refusal the engine sends maps to one.

use crate::enums::wire_enum;

wire_enum!(
    /// Error codes as they appear in `error` events and in responses' `error`.
    ErrorCode {
        InvalidMessageFormat => "invalid_message_format",
        UnsupportedMessageType => "unsupported_message_type",
        UnknownCommand => "unknown_command",
        InvalidParams => "invalid_params",
        NotFound => "not_found",
        OrderNotOpen => "order_not_open",
        InvalidState => "invalid_state",
        InsufficientBalance => "insufficient_balance",
        EngineStopped => "engine_stopped",
        ExchangeUnavailable => "exchange_unavailable",
        RiskRejected => "risk_rejected",
        OrderRejected => "order_rejected",
        SubscriptionLimit => "subscription_limit",
        ReplayGap => "replay_gap",
        Timeout => "timeout",
        Forbidden => "forbidden",
        RateLimited => "rate_limited",
        StorageUnavailable => "storage_unavailable",
        EngineUnavailable => "engine_unavailable",
        Internal => "internal_error",
    }
);

/// An error a client is answered with: `code` is what the response's
/// `error` says, `Display` its message. Each such error says its code
/// here, once; the session turns any of them into a refusal.
pub trait Coded: std::error::Error {
    fn code(&self) -> ErrorCode;
}
