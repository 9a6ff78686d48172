//! Client → server messages (PROTOCOL §3): parsing a text frame into a
//! command or a subscription message, with errors that name the field.

use crate::binance::sign::{Credentials, Secret};
use crate::error::ErrorCode;
use crate::ids::OrderId;
use crate::order::{OrderRequest, OrderType, Side, TimeInForce};
use crate::pair::Symbol;
use crate::risk::KillMode;
use crate::strategy::StrategyParams;
use crate::venue::OrderFilter;
use crate::wire::backtest::SimSettings;
use crate::wire::events::StrategyType;
use crate::wire::frame::FrameError;
use crate::wire::subscription::SubscriptionRequest;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// A command frame before its parameters are checked.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandEnvelope {
    pub cmd: String,
    /// Echoed as given (string or number).
    pub request_id: Option<Value>,
    pub params: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ClientMessage {
    Command(CommandEnvelope),
    Subscribe(SubscriptionRequest),
    Unsubscribe(SubscriptionRequest),
    Ping { timestamp: Option<Value> },
}

/// The `request_id` of a frame that is not a valid message, if one can
/// be read: the frame is read one level deep only, so an id beside a
/// value nested past the parser's limit (or a `cmd` of the wrong type) is
/// still found and its answer still carries it.
pub fn request_id_of(text: &str) -> Option<Value> {
    let shallow: std::collections::HashMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(text).ok()?;
    let raw = shallow.get("request_id")?;
    serde_json::from_str::<Value>(raw.get())
        .ok()
        .filter(|v| v.is_string() || v.is_number())
}

pub fn parse_client_message(text: &str) -> Result<ClientMessage, FrameError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| FrameError::InvalidJson(e.to_string()))?;
    let Value::Object(mut map) = value else {
        return Err(FrameError::NotObject);
    };
    if let Some(cmd) = map.remove("cmd") {
        let Value::String(cmd) = cmd else {
            return Err(FrameError::CmdNotString);
        };
        let request_id = map.remove("request_id").filter(|v| !v.is_null());
        return Ok(ClientMessage::Command(CommandEnvelope {
            cmd,
            request_id,
            params: map,
        }));
    }
    let kind = match map.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => return Err(FrameError::UnsupportedType(other.to_string())),
        None => return Err(FrameError::NoKind),
    };
    match kind.as_str() {
        "subscribe" => SubscriptionRequest::parse(&map).map(ClientMessage::Subscribe),
        "unsubscribe" => SubscriptionRequest::parse(&map).map(ClientMessage::Unsubscribe),
        "ping" => Ok(ClientMessage::Ping {
            timestamp: map.get("timestamp").cloned(),
        }),
        _ => Err(FrameError::UnsupportedType(kind)),
    }
}

/// Why a command was refused before it ran.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command: {0}")]
    Unknown(String),
    #[error("invalid `{field}`: {reason}")]
    InvalidParams { field: String, reason: String },
}

impl CommandError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CommandError::Unknown(_) => ErrorCode::UnknownCommand,
            CommandError::InvalidParams { .. } => ErrorCode::InvalidParams,
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> CommandError {
    CommandError::InvalidParams {
        field: field.to_string(),
        reason: reason.into(),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    GetAgents,
    PlaceOrder(OrderRequest),
    CancelOrder {
        order_id: OrderId,
        exchange: Option<String>,
    },
    CancelAllOrders(OrderFilter),
    GetOrders(OrderFilter),
    GetTrades(OrderFilter),
    /// The trades `get_trades` would give, oldest first, as CSV.
    ExportTrades(OrderFilter),
    GetPositions {
        exchange: Option<String>,
    },
    GetBalances {
        exchange: Option<String>,
    },
    GetOrderBook {
        symbol: Symbol,
        exchange: Option<String>,
        depth: usize,
    },
    GetSystemStatus,
    StartEngine,
    StopEngine,
    CreateStrategy(NewStrategy),
    ControlStrategy {
        id: String,
        action: StrategyAction,
    },
    GetStrategies,
    KillSwitch {
        mode: KillMode,
        reason: Option<String>,
    },
    ResetKillSwitch,
    GetRiskLimits,
    CreateConnection(NewConnection),
    DeleteConnection {
        id: String,
    },
    TestConnection {
        id: String,
    },
    GetConnections,
    Replay {
        since_seq: u64,
    },
    StartBacktest(NewBacktest),
    GetBacktest {
        id: String,
    },
    CancelBacktest {
        id: String,
    },
    /// Every backtest the engine still knows, newest first.
    GetBacktests,
    /// The data files `start_backtest` can replay.
    GetDataFiles,
    /// Every pair of every venue with its trading rules.
    GetMarkets,
    /// A pair's newest one-minute candles.
    GetCandles {
        symbol: Symbol,
        exchange: Option<String>,
        limit: usize,
    },
    /// Each strategy type's config fields: default and meaning.
    GetStrategyTypes,
    /// The asking connection itself: its id, scope and endpoint.
    GetSession,
}

/// `start_backtest`'s parameters. `data` names files or directories under
/// the engine's backtest data directory; the engine resolves them.
#[derive(Clone, Debug, PartialEq)]
pub struct NewBacktest {
    pub strategy: StrategyParams,
    pub pair: Symbol,
    pub data: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub settings: SimSettings,
}

/// `create_connection`'s parameters. `Debug` never shows the secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct NewConnection {
    pub exchange: String,
    pub credentials: Credentials,
    pub testnet: bool,
    pub name: Option<String>,
    pub rest_url: Option<String>,
    pub ws_url: Option<String>,
    pub pairs: Option<Vec<Symbol>>,
}

/// `create_strategy`'s parameters, the config parsed and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStrategy {
    pub name: String,
    pub params: StrategyParams,
    /// `None`: the default exchange.
    pub exchange: Option<String>,
    pub pair: Symbol,
    pub connection_id: Option<String>,
}

/// What `start_strategy` … `delete_strategy` ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyAction {
    Start,
    Stop,
    Pause,
    Resume,
    Delete,
}

impl StrategyAction {
    /// As in "Strategy str-001 started".
    pub fn past_tense(self) -> &'static str {
        match self {
            StrategyAction::Start => "started",
            StrategyAction::Stop => "stopped",
            StrategyAction::Pause => "paused",
            StrategyAction::Resume => "resumed",
            StrategyAction::Delete => "deleted",
        }
    }
}

/// Typed access to a command's parameters; every error names its field.
struct Params<'a>(&'a Map<String, Value>);

impl<'a> Params<'a> {
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn opt_str(&self, field: &str) -> Result<Option<&'a str>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(invalid(field, "must be a string")),
        }
    }

    fn str(&self, field: &str) -> Result<&'a str, CommandError> {
        self.opt_str(field)?
            .ok_or_else(|| invalid(field, "is required"))
    }

    fn opt_string(&self, field: &str) -> Result<Option<String>, CommandError> {
        Ok(self.opt_str(field)?.map(str::to_string))
    }

    fn opt_parse<T: FromStr<Err = String>>(&self, field: &str) -> Result<Option<T>, CommandError> {
        self.opt_str(field)?
            .map(|s| T::from_str(s).map_err(|e| invalid(field, e)))
            .transpose()
    }

    fn opt_symbol(&self, field: &str) -> Result<Option<Symbol>, CommandError> {
        self.opt_str(field)?
            .map(|s| Symbol::parse(s).map_err(|e| invalid(field, e.to_string())))
            .transpose()
    }

    fn opt_bool(&self, field: &str) -> Result<Option<bool>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(field, "must be true or false")),
        }
    }

    fn opt_count(&self, field: &str, max: u64) -> Result<Option<usize>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 && n <= max => Ok(Some(n as usize)),
                _ => Err(invalid(
                    field,
                    format!("must be a whole number from 1 to {max}"),
                )),
            },
        }
    }

    /// A strictly positive exact decimal, from a JSON number or a numeric string.
    fn opt_positive(&self, field: &str) -> Result<Option<Decimal>, CommandError> {
        let d = self.opt_decimal(field)?;
        if d.is_some_and(|d| d <= Decimal::ZERO) {
            return Err(invalid(field, "must be greater than zero"));
        }
        Ok(d)
    }

    /// An exact decimal, from a JSON number or a numeric string.
    fn opt_decimal(&self, field: &str) -> Result<Option<Decimal>, CommandError> {
        self.get(field)
            .map(|v| decimal_of(v).map_err(|e| invalid(field, e)))
            .transpose()
    }

    fn filter(&self) -> Result<OrderFilter, CommandError> {
        Ok(OrderFilter {
            symbol: self.opt_symbol("symbol")?,
            status: self.opt_parse("status")?,
            strategy: self.opt_string("strategy")?,
            exchange: self.opt_string("exchange")?,
            limit: self.opt_count("limit", 100_000)?,
            since_ms: self.opt_time_ms("start_time")?,
            until_ms: self.opt_time_ms("end_time")?,
        })
    }

    /// Milliseconds since the epoch, a whole non-negative number.
    fn opt_time_ms(&self, field: &str) -> Result<Option<i64>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(t) if t >= 0 => Ok(Some(t)),
                _ => Err(invalid(
                    field,
                    "must be milliseconds since 1970-01-01 UTC (a whole number)",
                )),
            },
        }
    }
}

/// Every command's `cmd`, in the order `Command::parse` reads them.
pub const COMMANDS: &[&str] = &[
    "place_order",
    "cancel_order",
    "cancel_all_orders",
    "get_orders",
    "get_trades",
    "export_trades",
    "get_positions",
    "get_balances",
    "get_order_book",
    "get_system_status",
    "create_strategy",
    "start_strategy",
    "stop_strategy",
    "pause_strategy",
    "resume_strategy",
    "delete_strategy",
    "get_strategies",
    "kill_switch",
    "reset_kill_switch",
    "get_risk_limits",
    "create_connection",
    "delete_connection",
    "test_connection",
    "get_connections",
    "get_agents",
    "replay",
    "start_engine",
    "stop_engine",
    "start_backtest",
    "get_backtest",
    "cancel_backtest",
    "get_backtests",
    "get_data_files",
    "get_markets",
    "get_candles",
    "get_strategy_types",
    "get_session",
];

impl Command {
    pub fn parse(env: &CommandEnvelope) -> Result<Command, CommandError> {
        let p = Params(&env.params);
        Ok(match env.cmd.as_str() {
            "place_order" => Command::PlaceOrder(parse_order(&p)?),
            "cancel_order" => Command::CancelOrder {
                order_id: OrderId(p.str("order_id")?.to_string()),
                exchange: p.opt_string("exchange")?,
            },
            "cancel_all_orders" => Command::CancelAllOrders(p.filter()?),
            "get_orders" => Command::GetOrders(p.filter()?),
            "get_trades" => Command::GetTrades(p.filter()?),
            "export_trades" => Command::ExportTrades(p.filter()?),
            "get_positions" => Command::GetPositions {
                exchange: p.opt_string("exchange")?,
            },
            "get_balances" => Command::GetBalances {
                exchange: p.opt_string("exchange")?,
            },
            "get_order_book" => Command::GetOrderBook {
                symbol: p
                    .opt_symbol("symbol")?
                    .ok_or_else(|| invalid("symbol", "is required"))?,
                exchange: p.opt_string("exchange")?,
                depth: p.opt_count("depth", 1000)?.unwrap_or(20),
            },
            "get_system_status" => Command::GetSystemStatus,
            "create_strategy" => Command::CreateStrategy(parse_new_strategy(&p)?),
            "start_strategy" | "stop_strategy" | "pause_strategy" | "resume_strategy"
            | "delete_strategy" => {
                let action = match env.cmd.as_str() {
                    "start_strategy" => StrategyAction::Start,
                    "stop_strategy" => StrategyAction::Stop,
                    "pause_strategy" => StrategyAction::Pause,
                    "resume_strategy" => StrategyAction::Resume,
                    _ => StrategyAction::Delete,
                };
                let id = p
                    .opt_str("id")?
                    .or(p.opt_str("instance_id")?)
                    .ok_or_else(|| invalid("id", "is required"))?;
                Command::ControlStrategy {
                    id: id.to_string(),
                    action,
                }
            }
            "get_strategies" => Command::GetStrategies,
            "kill_switch" => Command::KillSwitch {
                mode: p.opt_parse("mode")?.unwrap_or(KillMode::Stop),
                reason: p.opt_string("reason")?,
            },
            "reset_kill_switch" => Command::ResetKillSwitch,
            "get_risk_limits" => Command::GetRiskLimits,
            "create_connection" => Command::CreateConnection(parse_new_connection(&p)?),
            "delete_connection" | "test_connection" => {
                let id = p
                    .opt_str("id")?
                    .or(p.opt_str("connection_id")?)
                    .ok_or_else(|| invalid("id", "is required"))?
                    .to_string();
                if env.cmd == "delete_connection" {
                    Command::DeleteConnection { id }
                } else {
                    Command::TestConnection { id }
                }
            }
            "get_connections" => Command::GetConnections,
            "get_agents" => Command::GetAgents,
            "replay" => Command::Replay {
                since_seq: match p.get("since_seq") {
                    Some(v) => v
                        .as_u64()
                        .ok_or_else(|| invalid("since_seq", "must be a whole number ≥ 0"))?,
                    None => return Err(invalid("since_seq", "is required")),
                },
            },
            "start_engine" => Command::StartEngine,
            "stop_engine" => Command::StopEngine,
            "start_backtest" => Command::StartBacktest(parse_new_backtest(&p)?),
            "get_backtest" | "cancel_backtest" => {
                let id = p.str("backtest_id")?.to_string();
                if env.cmd == "get_backtest" {
                    Command::GetBacktest { id }
                } else {
                    Command::CancelBacktest { id }
                }
            }
            "get_backtests" => Command::GetBacktests,
            "get_data_files" => Command::GetDataFiles,
            "get_markets" => Command::GetMarkets,
            "get_candles" => Command::GetCandles {
                symbol: p
                    .opt_symbol("symbol")?
                    .ok_or_else(|| invalid("symbol", "is required"))?,
                exchange: p.opt_string("exchange")?,
                limit: p
                    .opt_count("limit", crate::candles::KEEP_MINUTES as u64 + 1)?
                    .unwrap_or(500),
            },
            "get_strategy_types" => Command::GetStrategyTypes,
            "get_session" => Command::GetSession,
            other => return Err(CommandError::Unknown(other.to_string())),
        })
    }
}

fn decimal_of(v: &Value) -> Result<Decimal, String> {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(Decimal::from(i)),
            (_, Some(u), _) => Ok(Decimal::from(u)),
            (_, _, Some(f)) => crate::num::decimal_from_f64(f),
            _ => Err("is not a number".to_string()),
        },
        Value::String(s) => crate::num::parse_decimal(s),
        _ => Err("must be a number".to_string()),
    }
}

/// A time as ms since the epoch or a `YYYY-MM-DD` date (UTC midnight).
fn opt_time_or_date(p: &Params, field: &str) -> Result<Option<i64>, CommandError> {
    match p.get(field) {
        Some(Value::String(s)) => crate::time::parse_date_ms(s)
            .map(Some)
            .map_err(|e| invalid(field, format!("{e} (or ms since the epoch)"))),
        _ => p.opt_time_ms(field),
    }
}

/// The most data names one backtest may list.
const MAX_DATA_FILES: usize = 400;

fn parse_new_backtest(p: &Params) -> Result<NewBacktest, CommandError> {
    // `strategy` is {"type": …, "config": {…}}, or the type's name with
    // `config` beside it.
    let (kind, config) = match p.get("strategy") {
        Some(Value::Object(s)) => (
            s.get("type").or(s.get("strategy_type")),
            s.get("config").cloned().unwrap_or(Value::Null),
        ),
        Some(kind @ Value::String(_)) => {
            (Some(kind), p.get("config").cloned().unwrap_or(Value::Null))
        }
        Some(_) => {
            return Err(invalid(
                "strategy",
                "must be {\"type\": …, \"config\": {…}}",
            ))
        }
        None => return Err(invalid("strategy", "is required")),
    };
    let kind: StrategyType = kind
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("strategy.type", "is required (pmm, grid or twap)"))?
        .parse()
        .map_err(|e: String| invalid("strategy.type", e))?;
    let strategy =
        StrategyParams::parse(kind, &config).map_err(|e| CommandError::InvalidParams {
            field: format!("strategy.{}", e.field),
            reason: e.reason,
        })?;
    let pair = p
        .opt_symbol("pair")?
        .or(p.opt_symbol("symbol")?)
        .ok_or_else(|| invalid("pair", "is required"))?;
    let names = || {
        invalid(
            "data",
            format!("must be a data file or directory name, or a list of 1 to {MAX_DATA_FILES}"),
        )
    };
    let data: Vec<String> = match p.get("data") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_DATA_FILES => list
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(names))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(names()),
        None => return Err(invalid("data", "is required")),
    };
    if data.iter().any(|d| d.trim().is_empty() || d.len() > 512) {
        return Err(names());
    }
    let from_ms = opt_time_or_date(p, "from")?;
    let to_ms = opt_time_or_date(p, "to")?;
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if f > t {
            return Err(invalid("to", "must not be before `from`"));
        }
    }
    let mut settings = match p.get("settings") {
        None => SimSettings::default(),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| invalid("settings", e.to_string()))?
        }
    };
    // `initial_balances`: {"BTC": 1, "USDT": 100000} (the pair's assets)
    // or {"base": …, "quote": …}.
    match p.get("initial_balances") {
        None => {}
        Some(Value::Object(b)) => {
            for (asset, v) in b {
                let field = format!("initial_balances.{asset}");
                let amount = decimal_of(v).map_err(|e| invalid(&field, e))?;
                if asset.eq_ignore_ascii_case(pair.base()) || asset == "base" {
                    settings.initial_base = amount;
                } else if asset.eq_ignore_ascii_case(pair.quote()) || asset == "quote" {
                    settings.initial_quote = amount;
                } else {
                    return Err(invalid(&field, format!("is not an asset of {pair}")));
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                "initial_balances",
                "must be an object of asset: amount",
            ))
        }
    }
    // `fee`: one rate for maker and taker, or {"maker": …, "taker": …}.
    match p.get("fee") {
        None => {}
        Some(Value::Object(f)) => {
            for (side, v) in f {
                let field = format!("fee.{side}");
                let rate = decimal_of(v).map_err(|e| invalid(&field, e))?;
                match side.as_str() {
                    "maker" => settings.maker_fee = rate,
                    "taker" => settings.taker_fee = rate,
                    _ => return Err(invalid(&field, "must be maker or taker")),
                }
            }
        }
        Some(v) => {
            let rate = decimal_of(v).map_err(|e| invalid("fee", e))?;
            settings.maker_fee = rate;
            settings.taker_fee = rate;
        }
    }
    let problems = settings.problems();
    if !problems.is_empty() {
        return Err(invalid("settings", problems.join("; ")));
    }
    Ok(NewBacktest {
        strategy,
        pair,
        data,
        from_ms,
        to_ms,
        settings,
    })
}

fn parse_url(p: &Params, field: &str) -> Result<Option<String>, CommandError> {
    let Some(url) = p.opt_string(field)? else {
        return Ok(None);
    };
    let ok = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .any(|s| url.starts_with(s));
    if !ok || url.len() > 512 {
        return Err(invalid(field, "must be an http(s):// or ws(s):// URL"));
    }
    Ok(Some(url))
}

fn parse_new_connection(p: &Params) -> Result<NewConnection, CommandError> {
    let exchange = p.str("exchange")?.to_ascii_lowercase();
    if exchange != "binance" {
        return Err(invalid("exchange", "must be `binance` (paper is built in)"));
    }
    let secret = |field: &str| -> Result<Secret, CommandError> {
        let v = p.str(field)?;
        if v.is_empty() || v.len() > 512 || v.chars().any(char::is_whitespace) {
            return Err(invalid(field, "must be a non-empty key without spaces"));
        }
        Ok(Secret::new(v))
    };
    let pairs = match p.get("pairs") {
        None => None,
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= 50 => Some(
            list.iter()
                .map(|v| {
                    v.as_str()
                        .and_then(|s| Symbol::parse(s).ok())
                        .ok_or_else(|| invalid("pairs", "must be pairs like BTC-USDT"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(invalid("pairs", "must be a list of 1 to 50 pairs")),
    };
    let name = p.opt_string("name")?;
    if let Some(n) = &name {
        let ok = (1..=32).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(invalid("name", "must be 1 to 32 letters, digits, - or _"));
        }
    }
    Ok(NewConnection {
        exchange,
        credentials: Credentials {
            api_key: secret("api_key")?,
            api_secret: secret("api_secret")?,
        },
        testnet: p.opt_bool("testnet")?.unwrap_or(false),
        name,
        rest_url: parse_url(p, "rest_url")?,
        ws_url: parse_url(p, "ws_url")?,
        pairs,
    })
}

fn parse_new_strategy(p: &Params) -> Result<NewStrategy, CommandError> {
    let name = p.str("name")?.trim().to_string();
    if name.is_empty() || name.len() > 64 {
        return Err(invalid("name", "must be 1 to 64 characters"));
    }
    let kind: StrategyType = p
        .opt_parse("type")?
        .or(p.opt_parse("strategy_type")?)
        .ok_or_else(|| invalid("type", "is required"))?;
    let pair = p
        .opt_symbol("pair")?
        .or(p.opt_symbol("symbol")?)
        .ok_or_else(|| invalid("pair", "is required"))?;
    let config = p.get("config").cloned().unwrap_or(Value::Null);
    let params = StrategyParams::parse(kind, &config).map_err(|e| CommandError::InvalidParams {
        field: e.field,
        reason: e.reason,
    })?;
    Ok(NewStrategy {
        name,
        params,
        exchange: p.opt_string("exchange")?,
        pair,
        connection_id: p.opt_string("connection_id")?,
    })
}

fn parse_order(p: &Params) -> Result<OrderRequest, CommandError> {
    let symbol = p
        .opt_symbol("symbol")?
        .ok_or_else(|| invalid("symbol", "is required"))?;
    let side: Side = p
        .opt_parse("side")?
        .ok_or_else(|| invalid("side", "is required"))?;
    let order_type: OrderType = p
        .opt_parse("type")?
        .ok_or_else(|| invalid("type", "is required"))?;
    let size = p
        .opt_positive("size")?
        .ok_or_else(|| invalid("size", "is required"))?;
    let price = p.opt_positive("price")?;
    let post_only = p.opt_bool("post_only")?.unwrap_or(false);
    let tif: Option<TimeInForce> = p.opt_parse("time_in_force")?;
    let price = match order_type {
        OrderType::Limit => {
            Some(price.ok_or_else(|| invalid("price", "is required for limit orders"))?)
        }
        // A market order takes the book; a price sent along is ignored.
        OrderType::Market => None,
    };
    let time_in_force = match (order_type, tif) {
        (OrderType::Market, Some(TimeInForce::Gtc)) => {
            return Err(invalid(
                "time_in_force",
                "a market order cannot rest: use ioc or fok",
            ))
        }
        (OrderType::Market, t) => t.unwrap_or(TimeInForce::Ioc),
        (OrderType::Limit, t) => t.unwrap_or(TimeInForce::Gtc),
    };
    if post_only && (order_type == OrderType::Market || time_in_force != TimeInForce::Gtc) {
        return Err(invalid(
            "post_only",
            "only a gtc limit order can be post-only",
        ));
    }
    let client_order_id = p.opt_string("client_order_id")?;
    if let Some(id) = &client_order_id {
        if id.is_empty() || id.len() > 64 {
            return Err(invalid("client_order_id", "must be 1 to 64 characters"));
        }
    }
    Ok(OrderRequest {
        symbol,
        side,
        order_type,
        size,
        price,
        time_in_force,
        post_only,
        client_order_id,
        exchange: p.opt_string("exchange")?.or(p.opt_string("connection_id")?),
        strategy: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> Result<Command, CommandError> {
        match parse_client_message(text).unwrap() {
            ClientMessage::Command(env) => Command::parse(&env),
            other => panic!("not a command: {other:?}"),
        }
    }

    fn field_of(e: CommandError) -> String {
        match e {
            CommandError::InvalidParams { field, .. } => field,
            other => panic!("not invalid_params: {other:?}"),
        }
    }

    /// COMMANDS lists exactly the names `Command::parse` knows.
    #[test]
    fn the_command_list_is_every_command_parse_knows() {
        let source = include_str!("commands.rs");
        let parse = &source[source.find("    pub fn parse(env").unwrap()..];
        let parse = &parse[..parse
            .find("other => return Err(CommandError::Unknown")
            .unwrap()];
        // Every `"name" =>` and `"name" |` arm, in order.
        let mut known: Vec<&str> = Vec::new();
        let pieces: Vec<&str> = parse.split('"').collect();
        for i in (1..pieces.len() - 1).step_by(2) {
            let (name, after) = (pieces[i], pieces[i + 1].trim_start());
            let arm = after.starts_with("=>") || after.starts_with('|');
            if arm
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !known.contains(&name)
            {
                known.push(name);
            }
        }
        assert_eq!(
            known, COMMANDS,
            "a command parse knows is missing from COMMANDS, or the reverse"
        );
        for name in COMMANDS {
            let env = CommandEnvelope {
                cmd: name.to_string(),
                request_id: None,
                params: Map::new(),
            };
            assert!(
                !matches!(Command::parse(&env), Err(CommandError::Unknown(_))),
                "{name} is listed but not parsed"
            );
        }
    }

    #[test]
    fn a_bad_frames_request_id_is_read_when_it_can_be() {
        let deep = format!(
            r#"{{"cmd":"get_orders","request_id":"r-7","p":{}{}}}"#,
            "[".repeat(1000),
            "]".repeat(1000)
        );
        assert!(
            parse_client_message(&deep).is_err(),
            "nested past the limit"
        );
        assert_eq!(request_id_of(&deep), Some(Value::from("r-7")));
        assert_eq!(
            request_id_of(r#"{"cmd":5,"request_id":42}"#),
            Some(Value::from(42))
        );
        assert_eq!(request_id_of(r#"{"cmd":5,"request_id":{"x":1}}"#), None);
        assert_eq!(request_id_of("{nope"), None);
        assert_eq!(request_id_of("[1]"), None);
    }

    #[test]
    fn parses_a_limit_order_exactly() {
        let c = command(r#"{"cmd":"place_order","symbol":"btc-usdt","side":"buy","type":"limit","price":52000.1,"size":"0.15","request_id":"r-1"}"#).unwrap();
        let Command::PlaceOrder(o) = c else { panic!() };
        assert_eq!(o.symbol.as_str(), "BTC-USDT");
        assert_eq!(o.price, Some(Decimal::from_str("52000.1").unwrap()));
        assert_eq!(o.size, Decimal::from_str("0.15").unwrap());
        assert_eq!(o.time_in_force, TimeInForce::Gtc);
    }

    #[test]
    fn bad_params_name_their_field() {
        let base = |extra: &str| {
            format!(
                r#"{{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"limit","price":1,"size":1{extra}}}"#
            )
        };
        let cases = [
            (
                r#"{"cmd":"place_order","side":"buy","type":"market","size":1}"#.to_string(),
                "symbol",
            ),
            (base(r#","size":-1"#), "size"),
            (base(r#","size":0"#), "size"),
            (base(r#","size":"x""#), "size"),
            (base(r#","size":true"#), "size"),
            (base(r#","price":null"#), "price"),
            (base(r#","side":"up""#), "side"),
            (base(r#","type":"stop""#), "type"),
            (base(r#","time_in_force":"day""#), "time_in_force"),
            (base(r#","post_only":"yes""#), "post_only"),
            (base(r#","symbol":"BTCUSDT""#), "symbol"),
        ];
        for (text, field) in cases {
            assert_eq!(field_of(command(&text).unwrap_err()), field, "{text}");
        }
    }

    #[test]
    fn strategy_commands() {
        let c = command(r#"{"cmd":"create_strategy","name":"My Strategy","type":"pmm","exchange":"paper","pair":"BTC-USDT","config":{"bid_spread":0.2}}"#).unwrap();
        let Command::CreateStrategy(n) = c else {
            panic!()
        };
        assert_eq!(
            (n.name.as_str(), n.pair.as_str()),
            ("My Strategy", "BTC-USDT")
        );
        assert_eq!(n.params.kind(), StrategyType::Pmm);
        let err = |t: &str| field_of(command(t).unwrap_err());
        assert_eq!(
            err(r#"{"cmd":"create_strategy","name":"x","type":"magic","pair":"BTC-USDT"}"#),
            "type"
        );
        assert_eq!(
            err(
                r#"{"cmd":"create_strategy","name":"x","type":"grid","pair":"BTC-USDT","config":{"lower_price":1}}"#
            ),
            "config.upper_price"
        );
        assert_eq!(
            err(r#"{"cmd":"create_strategy","type":"pmm","pair":"BTC-USDT"}"#),
            "name"
        );
        assert_eq!(err(r#"{"cmd":"start_strategy"}"#), "id");
        assert_eq!(
            command(r#"{"cmd":"pause_strategy","id":"str-001"}"#).unwrap(),
            Command::ControlStrategy {
                id: "str-001".into(),
                action: StrategyAction::Pause
            }
        );
        assert_eq!(
            command(r#"{"cmd":"kill_switch","mode":"pause"}"#).unwrap(),
            Command::KillSwitch {
                mode: KillMode::Pause,
                reason: None
            }
        );
        assert_eq!(err(r#"{"cmd":"kill_switch","mode":"panic"}"#), "mode");
    }

    #[test]
    fn frames_that_are_not_messages() {
        assert!(matches!(
            parse_client_message("{nope"),
            Err(FrameError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_client_message("[1]"),
            Err(FrameError::NotObject)
        ));
        assert_eq!(
            parse_client_message(r#"{"type":"foo"}"#)
                .unwrap_err()
                .code(),
            ErrorCode::UnsupportedMessageType
        );
        assert!(matches!(
            command(r#"{"cmd":"fly"}"#),
            Err(CommandError::Unknown(_))
        ));
        let c = command(r#"{"cmd":"create_connection","exchange":"binance","api_key":"k1","api_secret":"s3cr3t","testnet":true}"#).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(field_of(command(r#"{"cmd":"create_connection","exchange":"kraken","api_key":"k","api_secret":"s"}"#).unwrap_err()), "exchange");
        assert_eq!(
            field_of(
                command(r#"{"cmd":"create_connection","exchange":"binance","api_key":"k"}"#)
                    .unwrap_err()
            ),
            "api_secret"
        );
        assert_eq!(field_of(command(r#"{"cmd":"create_connection","exchange":"binance","api_key":"k","api_secret":"s","rest_url":"ftp://x"}"#).unwrap_err()), "rest_url");
        assert_eq!(
            command(r#"{"cmd":"replay","since_seq":7}"#).unwrap(),
            Command::Replay { since_seq: 7 }
        );
        assert_eq!(
            field_of(command(r#"{"cmd":"replay","since_seq":-1}"#).unwrap_err()),
            "since_seq"
        );
        assert_eq!(
            field_of(command(r#"{"cmd":"start_backtest"}"#).unwrap_err()),
            "strategy"
        );
        assert!(matches!(
            parse_client_message(r#"{"type":"ping","timestamp":1.5}"#),
            Ok(ClientMessage::Ping { .. })
        ));
    }

    #[test]
    fn parses_a_backtest_with_the_protocols_balances_and_fee() {
        let c = command(r#"{"cmd":"start_backtest","strategy":{"type":"grid","config":{"lower_price":90,"upper_price":110,"grid_levels":3,"order_amount":"0.1"}},"pair":"BTC-USDT","data":["a.csv","b.csv.gz"],"from":"2025-01-01","to":1735776000000,"initial_balances":{"BTC":"2","USDT":5000},"fee":{"maker":0,"taker":"0.002"}}"#).unwrap();
        let Command::StartBacktest(b) = c else {
            panic!()
        };
        assert_eq!(b.strategy.kind(), StrategyType::Grid);
        assert_eq!(b.data, ["a.csv", "b.csv.gz"]);
        assert_eq!(b.from_ms, Some(1_735_689_600_000));
        assert_eq!(b.to_ms, Some(1_735_776_000_000));
        assert_eq!(b.settings.initial_base, Decimal::from(2));
        assert_eq!(b.settings.initial_quote, Decimal::from(5000));
        assert_eq!(b.settings.maker_fee, Decimal::ZERO);
        assert_eq!(b.settings.taker_fee, Decimal::from_str("0.002").unwrap());
        // The type's name with `config` beside it, one fee for both.
        let c = command(r#"{"cmd":"start_backtest","strategy":"pmm","config":{"order_amount":0.01},"pair":"BTC-USDT","data":"sample","fee":0.0005}"#).unwrap();
        let Command::StartBacktest(b) = c else {
            panic!()
        };
        assert_eq!(b.strategy.kind(), StrategyType::Pmm);
        assert_eq!(b.settings.maker_fee, b.settings.taker_fee);
        for (text, field) in [
            (
                r#"{"cmd":"start_backtest","strategy":{"type":"magic"},"pair":"BTC-USDT","data":"x"}"#,
                "strategy.type",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":{"type":"pmm","config":{"bid_spread":-1}},"pair":"BTC-USDT","data":"x"}"#,
                "strategy.config.bid_spread",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","data":"x"}"#,
                "pair",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT"}"#,
                "data",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":[1]}"#,
                "data",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","from":"yesterday"}"#,
                "from",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","from":2,"to":1}"#,
                "to",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","initial_balances":{"ETH":1}}"#,
                "initial_balances.ETH",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","fee":{"rebate":1}}"#,
                "fee.rebate",
            ),
            (
                r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","fee":-0.1}"#,
                "settings",
            ),
            (r#"{"cmd":"get_backtest"}"#, "backtest_id"),
        ] {
            assert_eq!(field_of(command(text).unwrap_err()), field, "{text}");
        }
        assert_eq!(
            command(r#"{"cmd":"cancel_backtest","backtest_id":"bt_1"}"#).unwrap(),
            Command::CancelBacktest { id: "bt_1".into() }
        );
    }
}
