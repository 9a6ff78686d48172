//! What every venue shares, below the venues themselves (the embedded
//! paper exchange, a Binance account): the filter orders and trades are
//! asked for by, an account's trading statistics, why an order is
//! refused or cannot be cancelled, and the credentials of an account.

use crate::balance::BalanceError;
use crate::ids::OrderId;
use crate::order::{LifecycleError, OrderStatus};
use crate::pair::Symbol;
use crate::wire::events::{OrderView, TradeView};
use rust_decimal::Decimal;
use std::fmt;

/// Which venue a request names. `exchange` is a venue's name or a kind
/// of venue (`binance`: the one Binance connection); `connection_id` a
/// connection's id; both may be given if they agree; neither means the
/// command's default (the default venue, or every venue).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VenueRef {
    pub exchange: Option<String>,
    pub connection_id: Option<String>,
}

impl VenueRef {
    pub fn named(exchange: &str) -> Self {
        VenueRef {
            exchange: Some(exchange.to_string()),
            connection_id: None,
        }
    }

    pub fn is_given(&self) -> bool {
        self.exchange.is_some() || self.connection_id.is_some()
    }
}

/// Filters shared by `get_orders`, `get_trades` and `cancel_all_orders`.
/// `exchange` is a venue's name, resolved from the request's `VenueRef`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderFilter {
    pub symbol: Option<Symbol>,
    pub status: Option<OrderStatus>,
    pub strategy: Option<String>,
    pub exchange: Option<String>,
    pub limit: Option<usize>,
    /// History from this time on (ms since the epoch, inclusive): orders
    /// by creation, trades by execution. `start_time` on the wire.
    pub since_ms: Option<i64>,
    /// … up to this time (inclusive). `end_time` on the wire.
    pub until_ms: Option<i64>,
}

impl OrderFilter {
    /// Whether an order of a venue passes the filter (limit aside).
    pub fn matches_order(&self, o: &crate::order::Order) -> bool {
        self.symbol.as_ref().is_none_or(|s| *s == o.request.symbol)
            && self.status.is_none_or(|s| s == o.status)
            && self
                .strategy
                .as_ref()
                .is_none_or(|s| o.request.strategy.as_ref().is_some_and(|t| t.is_named(s)))
            && self.exchange.as_ref().is_none_or(|e| *e == o.exchange)
            && self.since_ms.is_none_or(|t| o.created_ms >= t)
            && self.until_ms.is_none_or(|t| o.created_ms <= t)
    }

    /// Whether a stored order passes the filter (limit aside).
    pub fn matches_view(&self, o: &OrderView) -> bool {
        self.symbol.as_ref().is_none_or(|s| s.as_str() == o.symbol)
            && self.status.is_none_or(|s| s == o.status)
            && self
                .strategy
                .as_ref()
                .is_none_or(|s| o.strategy.as_ref() == Some(s) || o.strategy_id.as_ref() == Some(s))
            && self.exchange.as_ref().is_none_or(|e| *e == o.exchange)
    }

    /// Whether a trade passes the filter (status and limit aside).
    pub fn matches_trade(&self, t: &TradeView) -> bool {
        self.symbol.as_ref().is_none_or(|s| s.as_str() == t.symbol)
            && self
                .strategy
                .as_ref()
                .is_none_or(|s| t.strategy.as_ref() == Some(s) || t.strategy_id.as_ref() == Some(s))
            && self.exchange.as_ref().is_none_or(|e| *e == t.exchange)
    }
}

/// Account-wide trading statistics.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountStats {
    pub total_trades: u64,
    #[serde(with = "crate::num::text")]
    pub realized_pnl: Decimal,
    #[serde(with = "crate::num::text")]
    pub fees: Decimal,
    /// Fills that reduced a position.
    pub closing_trades: u64,
    /// Closing fills whose realized PnL beat their fee.
    pub winning_trades: u64,
}

impl AccountStats {
    /// One fill: its realized PnL and its fee in the quote asset.
    pub fn record_fill(&mut self, realized: Decimal, fee: Decimal) {
        self.total_trades += 1;
        self.realized_pnl += realized;
        self.fees += fee;
        if !realized.is_zero() {
            self.closing_trades += 1;
            if realized > fee {
                self.winning_trades += 1;
            }
        }
    }

    pub fn success_rate(&self) -> Decimal {
        if self.closing_trades == 0 {
            return Decimal::ZERO;
        }
        (Decimal::from(self.winning_trades) * Decimal::ONE_HUNDRED
            / Decimal::from(self.closing_trades))
        .round_dp(2)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlaceError {
    #[error("invalid `{field}`: {reason}")]
    InvalidParams { field: &'static str, reason: String },
    /// The order would cost more than is free: what it needs, and how
    /// that was computed, in words a person can check.
    #[error("insufficient {asset}: {how} needs {needed} {asset}; {free} {asset} is free")]
    Insufficient {
        asset: String,
        needed: Decimal,
        free: Decimal,
        how: String,
    },
    #[error("internal error: {0}")]
    Internal(#[from] Broken),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CancelError {
    #[error("no order {0}")]
    NotFound(OrderId),
    #[error("order {0} is {1}, not open")]
    NotOpen(OrderId, OrderStatus),
    #[error("internal error: {0}")]
    Internal(#[from] Broken),
}

/// A venue's own books contradicted themselves: a bug, never the
/// client's doing. The command is answered `internal`, the venue logs it
/// and carries on with its other orders.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Broken {
    #[error("order {0} is not in the venue's books")]
    UnknownOrder(String),
    #[error("market {0} is not in the venue")]
    UnknownMarket(Symbol),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("{symbol}: {error}")]
    Balance { symbol: Symbol, error: BalanceError },
}

/// A secret string: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: Secret,
    pub api_secret: Secret,
}
