//! Orders: what a client asks for (`OrderRequest`), and an order's one
//! lifecycle (`Order`, `OrderStatus`) with the transitions it may take.

use crate::ids::{OrderId, StrategyId};
use crate::pair::Symbol;
use crate::time::TimestampMs;
use rust_decimal::Decimal;

use crate::enums::wire_enum;

wire_enum!(Side { Buy => "buy", Sell => "sell" });
wire_enum!(OrderType { Market => "market", Limit => "limit" });
wire_enum!(TimeInForce { Gtc => "gtc", Ioc => "ioc", Fok => "fok" });
wire_enum!(
    /// An order's status as the protocol names it.
    OrderStatus {
        Pending => "pending",
        Open => "open",
        PartiallyFilled => "partially_filled",
        Filled => "filled",
        Canceled => "canceled",
        Rejected => "rejected",
        Expired => "expired",
    }
);

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

impl OrderStatus {
    /// No transition leaves a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Rejected
                | OrderStatus::Expired
        )
    }

    /// Open on the book: can still fill or be canceled.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::PartiallyFilled)
    }

    /// The lifecycle: pending → open → partially_filled → filled, with
    /// canceled / expired from any live state and rejected only from pending.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (
                Pending,
                Open | PartiallyFilled | Filled | Canceled | Rejected | Expired
            ) | (
                Open | PartiallyFilled,
                PartiallyFilled | Filled | Canceled | Expired
            )
        )
    }
}

/// A validated request to place an order.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest {
    pub symbol: Symbol,
    pub side: Side,
    pub order_type: OrderType,
    #[serde(with = "crate::num::text")]
    pub size: Decimal,
    /// Required for limit orders, `None` for market orders.
    #[serde(with = "crate::num::text::opt")]
    pub price: Option<Decimal>,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
    pub client_order_id: Option<String>,
    /// The exchange connection; `None` means the default (paper).
    pub exchange: Option<String>,
    /// The owning strategy, `None` for a client's manual order.
    pub strategy: Option<StrategyTag>,
}

/// Which strategy instance owns an order: its unique id, and its name as
/// an order's `strategy` field shows it to clients.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct StrategyTag {
    pub id: StrategyId,
    pub name: String,
}

impl StrategyTag {
    /// A filter value names a strategy by its id or its name.
    pub fn is_named(&self, key: &str) -> bool {
        self.id.0 == key || self.name == key
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("order {id}: {from} cannot become {to}")]
    BadTransition {
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
    },
    #[error("order {id}: fill of {qty} exceeds remaining {remaining}")]
    Overfill {
        id: OrderId,
        qty: Decimal,
        remaining: Decimal,
    },
}

/// One order and its lifecycle. Only `fill` and `transition` change it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub request: OrderRequest,
    pub exchange: String,
    pub status: OrderStatus,
    #[serde(with = "crate::num::text")]
    pub filled: Decimal,
    /// Sum of price × quantity over fills, for the average fill price.
    #[serde(with = "crate::num::text")]
    pub filled_quote: Decimal,
    #[serde(with = "crate::num::text")]
    pub fees: Decimal,
    pub reason: Option<String>,
    pub created_ms: TimestampMs,
    pub updated_ms: TimestampMs,
}

impl Order {
    pub fn new(id: OrderId, request: OrderRequest, exchange: &str, now_ms: TimestampMs) -> Self {
        Order {
            id,
            request,
            exchange: exchange.to_string(),
            status: OrderStatus::Pending,
            filled: Decimal::ZERO,
            filled_quote: Decimal::ZERO,
            fees: Decimal::ZERO,
            reason: None,
            created_ms: now_ms,
            updated_ms: now_ms,
        }
    }

    pub fn remaining(&self) -> Decimal {
        self.request.size - self.filled
    }

    pub fn average_price(&self) -> Option<Decimal> {
        (!self.filled.is_zero()).then(|| self.filled_quote / self.filled)
    }

    /// Moves to `next`, refusing any transition the lifecycle forbids.
    pub fn transition(
        &mut self,
        next: OrderStatus,
        now_ms: TimestampMs,
    ) -> Result<(), LifecycleError> {
        if !self.status.can_become(next) {
            return Err(LifecycleError::BadTransition {
                id: self.id.clone(),
                from: self.status,
                to: next,
            });
        }
        self.status = next;
        self.updated_ms = now_ms;
        Ok(())
    }

    /// Records a fill and moves to partially_filled or filled.
    pub fn fill(
        &mut self,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        now_ms: TimestampMs,
    ) -> Result<(), LifecycleError> {
        if qty > self.remaining() || qty <= Decimal::ZERO {
            return Err(LifecycleError::Overfill {
                id: self.id.clone(),
                qty,
                remaining: self.remaining(),
            });
        }
        let next = if qty == self.remaining() {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        self.transition(next, now_ms)?;
        self.filled += qty;
        self.filled_quote += qty * price;
        self.fees += fee;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn order() -> Order {
        let req = OrderRequest {
            symbol: Symbol::parse("BTC-USDT").unwrap(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            size: d("1"),
            price: Some(d("100")),
            time_in_force: TimeInForce::Gtc,
            post_only: false,
            client_order_id: None,
            exchange: None,
            strategy: None,
        };
        Order::new(OrderId::from("ORD-1"), req, "paper", 0)
    }

    #[test]
    fn fills_walk_the_lifecycle() {
        let mut o = order();
        o.transition(OrderStatus::Open, 1).unwrap();
        o.fill(d("0.4"), d("100"), d("0.04"), 2).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        o.fill(d("0.6"), d("99"), d("0.0594"), 3).unwrap();
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.remaining(), Decimal::ZERO);
        assert_eq!(o.average_price(), Some(d("99.4")));
        assert!(o.fill(d("0.1"), d("99"), Decimal::ZERO, 4).is_err());
        assert!(o.transition(OrderStatus::Canceled, 5).is_err());
    }

    #[test]
    fn overfill_and_illegal_transitions_are_refused() {
        let mut o = order();
        assert!(o.fill(d("1.5"), d("100"), Decimal::ZERO, 1).is_err());
        o.transition(OrderStatus::Open, 1).unwrap();
        assert!(o.transition(OrderStatus::Rejected, 2).is_err());
        assert!(o.transition(OrderStatus::Pending, 2).is_err());
        o.transition(OrderStatus::Canceled, 2).unwrap();
        assert!(o.status.is_terminal());
    }

    #[test]
    fn wire_names_parse_case_insensitively() {
        assert_eq!(Side::from_str("BUY").unwrap(), Side::Buy);
        assert_eq!(TimeInForce::from_str("ioc").unwrap(), TimeInForce::Ioc);
        assert!(OrderType::from_str("stop")
            .unwrap_err()
            .contains("market, limit"));
    }
}
