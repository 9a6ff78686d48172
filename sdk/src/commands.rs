//! Typed helpers over `WebSocketClient::command`: the common commands with
//! their answers decoded into the protocol's own types.

use crate::client::WebSocketClient;
use crate::error::ClientError;
use laicai_core::order::{OrderType, Side};
use laicai_core::wire::events::{
    BalanceView, OrderView, PositionView, StrategyView, SystemStatus, TradeView,
};
use laicai_core::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A new order. `price` is required for limit orders.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub size: Decimal,
    pub price: Option<Decimal>,
    pub client_order_id: Option<String>,
    pub exchange: Option<String>,
}

impl NewOrder {
    pub fn limit(symbol: &str, side: Side, size: Decimal, price: Decimal) -> Self {
        NewOrder {
            symbol: symbol.into(),
            side,
            order_type: OrderType::Limit,
            size,
            price: Some(price),
            client_order_id: None,
            exchange: None,
        }
    }

    pub fn market(symbol: &str, side: Side, size: Decimal) -> Self {
        NewOrder {
            price: None,
            order_type: OrderType::Market,
            ..NewOrder::limit(symbol, side, size, Decimal::ZERO)
        }
    }

    /// The `place_order` command. Decimals go as strings: exact.
    pub fn command(&self) -> Value {
        let mut c = json!({
            "cmd": "place_order",
            "symbol": self.symbol,
            "side": self.side.as_str(),
            "type": self.order_type.as_str(),
            "size": self.size.to_string(),
        });
        if let Some(p) = self.price {
            c["price"] = json!(p.to_string());
        }
        if let Some(id) = &self.client_order_id {
            c["client_order_id"] = json!(id);
        }
        if let Some(x) = &self.exchange {
            c["exchange"] = json!(x);
        }
        c
    }
}

fn field<T: DeserializeOwned>(answer: &Value, name: &str) -> Result<T, ClientError> {
    serde_json::from_value(answer[name].clone())
        .map_err(|e| ClientError::Decode(format!("`{name}`: {e}")))
}

impl WebSocketClient {
    pub async fn place_order(&self, order: &NewOrder) -> Result<OrderView, ClientError> {
        let answer = self.command(order.command()).await?;
        field(&answer, "order")
    }

    pub async fn cancel_order(&self, order_id: &str) -> Result<(), ClientError> {
        self.command(json!({"cmd": "cancel_order", "order_id": order_id}))
            .await
            .map(|_| ())
    }

    /// Answers how many were cancelled.
    pub async fn cancel_all_orders(&self, symbol: Option<&str>) -> Result<u64, ClientError> {
        let mut c = json!({"cmd": "cancel_all_orders"});
        if let Some(s) = symbol {
            c["symbol"] = json!(s);
        }
        field(&self.command(c).await?, "cancelled_count")
    }

    /// `filters`: `symbol`, `status`, `strategy`, `limit`, … as the
    /// protocol names them (`json!({})` for none).
    pub async fn get_orders(&self, filters: Value) -> Result<Vec<OrderView>, ClientError> {
        field(
            &self.command(with_cmd("get_orders", filters)).await?,
            "orders",
        )
    }

    pub async fn get_trades(&self, filters: Value) -> Result<Vec<TradeView>, ClientError> {
        field(
            &self.command(with_cmd("get_trades", filters)).await?,
            "trades",
        )
    }

    pub async fn get_balances(&self) -> Result<Vec<BalanceView>, ClientError> {
        field(
            &self.command(json!({"cmd": "get_balances"})).await?,
            "balances",
        )
    }

    pub async fn get_positions(&self) -> Result<Vec<PositionView>, ClientError> {
        field(
            &self.command(json!({"cmd": "get_positions"})).await?,
            "positions",
        )
    }

    pub async fn get_system_status(&self) -> Result<SystemStatus, ClientError> {
        let answer = self.command(json!({"cmd": "get_system_status"})).await?;
        field(&answer, "data")
    }

    pub async fn get_strategies(&self) -> Result<Vec<StrategyView>, ClientError> {
        field(
            &self.command(json!({"cmd": "get_strategies"})).await?,
            "strategies",
        )
    }

    /// Creates a strategy (`pmm`, `grid`, `twap`); answers it.
    pub async fn create_strategy(
        &self,
        name: &str,
        strategy_type: &str,
        pair: &str,
        config: Value,
    ) -> Result<StrategyView, ClientError> {
        let c = json!({"cmd": "create_strategy", "name": name, "type": strategy_type,
                       "pair": pair, "config": config});
        field(&self.command(c).await?, "strategy")
    }

    /// `start`, `stop`, `pause`, `resume` or `delete` a strategy.
    pub async fn strategy_action(&self, action: &str, id: &str) -> Result<Value, ClientError> {
        self.command(json!({"cmd": format!("{action}_strategy"), "id": id}))
            .await
    }
}

fn with_cmd(cmd: &str, filters: Value) -> Value {
    let mut c = match filters {
        Value::Object(map) => Value::Object(map),
        _ => json!({}),
    };
    c["cmd"] = json!(cmd);
    c
}
