//! Typed commands over `WebSocketClient::command`: each call builds the
//! engine's own `Command` (the type its parser produces), checks it as the
//! engine would, sends it as the engine reads it, and decodes the answer
//! into the protocol's own types. A command the engine would refuse for
//! its parameters is refused here, before it is sent.

use crate::client::WebSocketClient;
use crate::error::ClientError;
use laicai_core::ids::OrderId;
use laicai_core::order::{OrderRequest, OrderType, Side, TimeInForce};
use laicai_core::pair::Symbol;
use laicai_core::protocol::{Command, CommandError, NewStrategy, StrategyAction};
use laicai_core::strategy::StrategyParams;
use laicai_core::venue::{OrderFilter, VenueRef};
use laicai_core::wire::events::{
    BalanceView, OrderView, PositionView, StrategyType, StrategyView, SystemStatus, TradeView,
};
use laicai_core::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A new order. `price` is required for limit orders; `time_in_force`
/// defaults as the engine's does (gtc for limit, ioc for market).
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub size: Decimal,
    pub price: Option<Decimal>,
    pub time_in_force: Option<TimeInForce>,
    pub post_only: bool,
    pub client_order_id: Option<String>,
    /// Which venue: a name or kind in `exchange`, or a `connection_id`.
    pub venue: VenueRef,
}

impl NewOrder {
    pub fn limit(symbol: &str, side: Side, size: Decimal, price: Decimal) -> Self {
        NewOrder {
            symbol: symbol.into(),
            side,
            order_type: OrderType::Limit,
            size,
            price: Some(price),
            time_in_force: None,
            post_only: false,
            client_order_id: None,
            venue: VenueRef::default(),
        }
    }

    pub fn market(symbol: &str, side: Side, size: Decimal) -> Self {
        NewOrder {
            price: None,
            order_type: OrderType::Market,
            ..NewOrder::limit(symbol, side, size, Decimal::ZERO)
        }
    }

    /// The `place_order` command.
    pub fn command(&self) -> Result<Command, ClientError> {
        let time_in_force = self.time_in_force.unwrap_or(match self.order_type {
            OrderType::Limit => TimeInForce::Gtc,
            OrderType::Market => TimeInForce::Ioc,
        });
        Ok(Command::PlaceOrder {
            order: OrderRequest {
                symbol: symbol("symbol", &self.symbol)?,
                side: self.side,
                order_type: self.order_type,
                size: self.size,
                price: self.price,
                time_in_force,
                post_only: self.post_only,
                client_order_id: self.client_order_id.clone(),
                exchange: None,
                strategy: None,
            },
            venue: self.venue.clone(),
        })
    }
}

fn symbol(field: &str, text: &str) -> Result<Symbol, ClientError> {
    Symbol::parse(text).map_err(|e| CommandError::invalid(field, e.to_string()).into())
}

fn field<T: DeserializeOwned>(answer: &Value, name: &str) -> Result<T, ClientError> {
    serde_json::from_value(answer[name].clone())
        .map_err(|e| ClientError::Decode(format!("`{name}`: {e}")))
}

impl WebSocketClient {
    /// Sends a typed command and waits for its answer. It is first checked
    /// exactly as the engine will check it, so a command with a bad
    /// parameter fails here with `ClientError::Invalid` and is not sent.
    pub async fn send(&self, command: &Command) -> Result<Value, ClientError> {
        // Written once, checked as the engine will read it, sent as written.
        let envelope = command.envelope(None);
        Command::parse(&envelope)?;
        self.command(envelope.into_frame()).await
    }

    pub async fn place_order(&self, order: &NewOrder) -> Result<OrderView, ClientError> {
        let answer = self.send(&order.command()?).await?;
        field(&answer, "order")
    }

    pub async fn cancel_order(&self, order_id: &str) -> Result<(), ClientError> {
        self.send(&Command::CancelOrder {
            order_id: OrderId(order_id.to_string()),
            venue: VenueRef::default(),
        })
        .await
        .map(|_| ())
    }

    /// Answers how many were cancelled.
    pub async fn cancel_all_orders(&self, pair: Option<&str>) -> Result<u64, ClientError> {
        let filter = OrderFilter {
            symbol: pair.map(|p| symbol("symbol", p)).transpose()?,
            ..OrderFilter::default()
        };
        let c = Command::CancelAllOrders {
            filter,
            venue: VenueRef::default(),
        };
        field(&self.send(&c).await?, "cancelled_count")
    }

    /// Orders passing `filter` (`OrderFilter::default()` for all).
    pub async fn get_orders(&self, filter: &OrderFilter) -> Result<Vec<OrderView>, ClientError> {
        let c = Command::GetOrders {
            filter: filter.clone(),
            venue: VenueRef::default(),
        };
        field(&self.send(&c).await?, "orders")
    }

    pub async fn get_trades(&self, filter: &OrderFilter) -> Result<Vec<TradeView>, ClientError> {
        let c = Command::GetTrades {
            filter: filter.clone(),
            venue: VenueRef::default(),
        };
        field(&self.send(&c).await?, "trades")
    }

    pub async fn get_balances(&self) -> Result<Vec<BalanceView>, ClientError> {
        let c = Command::GetBalances {
            venue: VenueRef::default(),
        };
        field(&self.send(&c).await?, "balances")
    }

    pub async fn get_positions(&self) -> Result<Vec<PositionView>, ClientError> {
        let c = Command::GetPositions {
            venue: VenueRef::default(),
        };
        field(&self.send(&c).await?, "positions")
    }

    pub async fn get_system_status(&self) -> Result<SystemStatus, ClientError> {
        field(&self.send(&Command::GetSystemStatus).await?, "data")
    }

    pub async fn get_strategies(&self) -> Result<Vec<StrategyView>, ClientError> {
        field(&self.send(&Command::GetStrategies).await?, "strategies")
    }

    /// Creates a strategy (`pmm`, `grid`, `twap`) on the default venue;
    /// `config` is checked here as the engine checks it. Answers it.
    pub async fn create_strategy(
        &self,
        name: &str,
        strategy_type: &str,
        pair: &str,
        config: Value,
    ) -> Result<StrategyView, ClientError> {
        let kind: StrategyType = strategy_type
            .parse()
            .map_err(|e: String| CommandError::invalid("type", e))?;
        let params = StrategyParams::parse(kind, &config)
            .map_err(|e| CommandError::invalid(&e.field, e.reason))?;
        let c = Command::CreateStrategy(NewStrategy {
            name: name.to_string(),
            params,
            venue: VenueRef::default(),
            pair: symbol("pair", pair)?,
        });
        field(&self.send(&c).await?, "strategy")
    }

    /// Starts, stops, pauses, resumes or deletes a strategy; answers the
    /// engine's response.
    pub async fn strategy_action(
        &self,
        action: StrategyAction,
        id: &str,
    ) -> Result<Value, ClientError> {
        self.send(&Command::ControlStrategy {
            id: id.to_string(),
            action,
        })
        .await
    }
}
