//! Strategy decision logic, pure: each strategy is a function of the
//! market, its inventory and its own orders → intents (place, cancel,
//! finish). The `StrategyActor` feeds it and carries out what it decides;
//! a backtest can feed the very same code.

pub mod catalog;
pub mod chaos;
pub mod grid;
pub mod pmm;
pub mod twap;

use crate::ids::OrderId;
use crate::order::{OrderType, Side, TimeInForce};
use crate::pair::PairSpec;
use crate::time::TimestampMs;
use crate::wire::events::StrategyType;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The top of the book a strategy quotes around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Market {
    pub bid: Decimal,
    pub ask: Decimal,
    /// When the venue produced it.
    pub at_ms: TimestampMs,
}

impl Market {
    pub fn mid(&self) -> Decimal {
        (self.bid + self.ask) / Decimal::TWO
    }
}

/// What the strategy holds of its pair's two assets (free + in orders).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub base: Decimal,
    pub quote: Decimal,
}

/// One of the strategy's own live orders.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnOrder {
    /// `None` while the venue has not acknowledged it yet.
    pub id: Option<OrderId>,
    pub side: Side,
    pub price: Option<Decimal>,
    pub remaining: Decimal,
    pub created_ms: TimestampMs,
    /// A cancel has been sent and not yet confirmed.
    pub cancelling: bool,
}

impl OwnOrder {
    /// Acknowledged and not being cancelled: the strategy may act on it.
    pub fn is_active(&self) -> bool {
        self.id.is_some() && !self.cancelling
    }
}

/// Everything a strategy sees when it decides.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub now: TimestampMs,
    pub market: &'a Market,
    pub inventory: Inventory,
    pub orders: &'a [OwnOrder],
    pub rules: &'a PairSpec,
}

impl Ctx<'_> {
    pub fn active(&self) -> impl Iterator<Item = &OwnOrder> {
        self.orders.iter().filter(|o| o.is_active())
    }

    /// Cancels for every active order.
    pub fn cancel_all(&self) -> Vec<Intent> {
        self.active()
            .filter_map(|o| o.id.clone().map(Intent::Cancel))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderIntent {
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Decimal>,
    pub size: Decimal,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
}

impl OrderIntent {
    /// A resting limit order that never takes liquidity.
    pub fn maker(side: Side, price: Decimal, size: Decimal) -> Self {
        OrderIntent {
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            size,
            time_in_force: TimeInForce::Gtc,
            post_only: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    Place(OrderIntent),
    Cancel(OrderId),
    /// The strategy has done its job (a TWAP that executed everything) and
    /// stops, saying why.
    Finish(String),
}

/// One fill of one of the strategy's orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    pub order_id: OrderId,
    pub side: Side,
    /// The order's limit price.
    pub order_price: Option<Decimal>,
    pub price: Decimal,
    pub qty: Decimal,
    /// This fill completed the order.
    pub order_done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StrategyError(pub String);

/// A strategy's decision logic. Implementations keep their own state and
/// must be deterministic given the calls they receive.
pub trait Strategy: Send + std::fmt::Debug {
    /// Called on every market update and on a timer while running.
    fn on_tick(&mut self, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError>;

    /// Called once for each fill of one of its orders.
    fn on_fill(&mut self, _fill: &Fill, _ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        Ok(Vec::new())
    }

    /// How far along a strategy with an end is, 0 to 1.
    fn progress(&self) -> Option<Decimal> {
        None
    }
}

/// A config field that failed, with its path (`config.bid_spread`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            field: if field.is_empty() {
                "config".to_string()
            } else {
                format!("config.{field}")
            },
            reason: reason.into(),
        }
    }
}

/// A strategy's validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum StrategyParams {
    Pmm(pmm::PmmConfig),
    Grid(grid::GridConfig),
    Twap(twap::TwapConfig),
    Chaos(chaos::ChaosConfig),
}

/// Config structs validate what serde cannot express.
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

fn parse_config<T: DeserializeOwned + Validate>(config: &Value) -> Result<T, ConfigError> {
    let parsed: T = serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let mut reason = e.into_inner().to_string();
        if field.is_empty() {
            // Unknown fields are reported at the root; name them.
            if let Some(name) = reason.strip_prefix("unknown field `") {
                let name = name.split('`').next().unwrap_or_default().to_string();
                return ConfigError::new(&name, "is not a field of this strategy");
            }
            reason = format!("must be an object of fields: {reason}");
        }
        ConfigError::new(&field, reason)
    })?;
    parsed.validate()?;
    Ok(parsed)
}

impl StrategyParams {
    /// Parses and validates `config` (an object, or null for the defaults).
    pub fn parse(kind: StrategyType, config: &Value) -> Result<Self, ConfigError> {
        let empty = Value::Object(Default::default());
        let config = if config.is_null() { &empty } else { config };
        if !config.is_object() {
            return Err(ConfigError::new("", "must be an object of fields"));
        }
        Ok(match kind {
            StrategyType::Pmm => StrategyParams::Pmm(parse_config(config)?),
            StrategyType::Grid => StrategyParams::Grid(parse_config(config)?),
            StrategyType::Twap => StrategyParams::Twap(parse_config(config)?),
            StrategyType::Chaos => StrategyParams::Chaos(parse_config(config)?),
        })
    }

    pub fn kind(&self) -> StrategyType {
        match self {
            StrategyParams::Pmm(_) => StrategyType::Pmm,
            StrategyParams::Grid(_) => StrategyType::Grid,
            StrategyParams::Twap(_) => StrategyType::Twap,
            StrategyParams::Chaos(_) => StrategyType::Chaos,
        }
    }

    /// The full config, defaults filled in, as `get_strategies` shows it.
    pub fn to_json(&self) -> Value {
        fn json<T: Serialize>(t: &T) -> Value {
            serde_json::to_value(t).unwrap_or(Value::Null)
        }
        match self {
            StrategyParams::Pmm(c) => json(c),
            StrategyParams::Grid(c) => json(c),
            StrategyParams::Twap(c) => json(c),
            StrategyParams::Chaos(c) => json(c),
        }
    }

    /// A fresh instance of the decision logic.
    pub fn build(&self) -> Box<dyn Strategy> {
        match self {
            StrategyParams::Pmm(c) => Box::new(pmm::Pmm::new(c.clone())),
            StrategyParams::Grid(c) => Box::new(grid::Grid::new(c.clone())),
            StrategyParams::Twap(c) => Box::new(twap::Twap::new(c.clone())),
            StrategyParams::Chaos(c) => Box::new(chaos::Chaos::new(c.clone())),
        }
    }
}

/// Seconds as written in a config, checked to be a sane duration.
pub(crate) fn seconds_ms(field: &str, s: f64, min: f64) -> Result<i64, ConfigError> {
    if !s.is_finite() || s < min || s > 365.0 * 86_400.0 {
        return Err(ConfigError::new(
            field,
            format!("must be a number of seconds from {min} to one year"),
        ));
    }
    Ok((s * 1000.0).round() as i64)
}

pub(crate) fn require(field: &str, ok: bool, reason: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, reason))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::pair::Symbol;
    use std::str::FromStr;

    pub(crate) fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    pub(crate) fn rules() -> PairSpec {
        PairSpec {
            symbol: Symbol::parse("BTC-USDT").unwrap(),
            tick_size: d("0.01"),
            step_size: d("0.001"),
            min_notional: d("5"),
        }
    }

    pub(crate) fn market(bid: &str, ask: &str) -> Market {
        Market {
            bid: d(bid),
            ask: d(ask),
            at_ms: 0,
        }
    }

    pub(crate) fn order(id: &str, side: Side, price: &str, created_ms: TimestampMs) -> OwnOrder {
        OwnOrder {
            id: Some(OrderId(id.into())),
            side,
            price: Some(d(price)),
            remaining: d("1"),
            created_ms,
            cancelling: false,
        }
    }

    pub(crate) fn places(intents: &[Intent]) -> Vec<(Side, Decimal, Decimal)> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::Place(o) => Some((o.side, o.price.unwrap_or_default(), o.size)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn cancels(intents: &[Intent]) -> Vec<String> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::Cancel(id) => Some(id.0.clone()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_errors_name_the_field() {
        let err = |kind, v: Value| StrategyParams::parse(kind, &v).unwrap_err().field;
        assert_eq!(
            err(StrategyType::Pmm, json!({"bid_spread": "x"})),
            "config.bid_spread"
        );
        assert_eq!(
            err(StrategyType::Pmm, json!({"bid_spread": -1})),
            "config.bid_spread"
        );
        assert_eq!(
            err(StrategyType::Pmm, json!({"order_levels": 0})),
            "config.order_levels"
        );
        assert_eq!(err(StrategyType::Pmm, json!({"bogus": 1})), "config.bogus");
        assert_eq!(err(StrategyType::Grid, json!({})), "config.lower_price");
        assert_eq!(
            err(
                StrategyType::Grid,
                json!({"lower_price": 10, "upper_price": 5, "order_amount": 1})
            ),
            "config.upper_price"
        );
        assert_eq!(
            err(StrategyType::Twap, json!({"side": "buy"})),
            "config.total_size"
        );
        assert_eq!(err(StrategyType::Twap, json!([1])), "config");
        assert!(StrategyParams::parse(StrategyType::Pmm, &Value::Null).is_ok());
    }

    #[test]
    fn decimals_in_configs_are_exact() {
        let p = StrategyParams::parse(
            StrategyType::Pmm,
            &json!({"bid_spread": 0.15, "order_amount": "0.002"}),
        )
        .unwrap();
        let StrategyParams::Pmm(c) = &p else { panic!() };
        assert_eq!(c.bid_spread, testing::d("0.15"));
        assert_eq!(p.to_json()["order_amount"].to_string(), "0.002");
    }
}
