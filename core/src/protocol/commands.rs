//! Client → server messages (PROTOCOL §3): parsing a text frame into a
//! command or a subscription message, with errors that name the field.

use crate::error::Coded;
use crate::error::ErrorCode;
use crate::ids::OrderId;
use crate::order::{OrderRequest, OrderType, Side, TimeInForce};
use crate::pair::Symbol;
use crate::risk::KillMode;
use crate::strategy::StrategyParams;
use crate::venue::{Credentials, Secret};
use crate::venue::{OrderFilter, VenueRef};
use crate::wire::backtest::SimSettings;
use crate::wire::events::StrategyType;
use crate::wire::frame::FrameError;
use crate::wire::subscription::SubscriptionRequest;
use params::Params;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

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

impl Coded for CommandError {
    fn code(&self) -> ErrorCode {
        match self {
            CommandError::Unknown(_) => ErrorCode::UnknownCommand,
            CommandError::InvalidParams { .. } => ErrorCode::InvalidParams,
        }
    }
}

impl CommandError {
    /// `field` is refused for `reason`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        CommandError::InvalidParams {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> CommandError {
    CommandError::invalid(field, reason)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    GetAgents,
    /// `order.exchange` is left for the venue `venue` resolves to.
    PlaceOrder {
        order: OrderRequest,
        venue: VenueRef,
    },
    CancelOrder {
        order_id: OrderId,
        venue: VenueRef,
    },
    CancelAllOrders {
        filter: OrderFilter,
        venue: VenueRef,
    },
    GetOrders {
        filter: OrderFilter,
        venue: VenueRef,
    },
    GetTrades {
        filter: OrderFilter,
        venue: VenueRef,
    },
    /// The trades `get_trades` would give, oldest first, as CSV.
    ExportTrades {
        filter: OrderFilter,
        venue: VenueRef,
    },
    GetPositions {
        venue: VenueRef,
    },
    GetBalances {
        venue: VenueRef,
    },
    GetOrderBook {
        symbol: Symbol,
        venue: VenueRef,
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
        venue: VenueRef,
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
    /// Not given: the default venue.
    pub venue: VenueRef,
    pub pair: Symbol,
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
            "place_order" => Command::PlaceOrder {
                order: parse_order(&p)?,
                venue: p.venue()?,
            },
            "cancel_order" => Command::CancelOrder {
                order_id: OrderId(p.str("order_id")?.to_string()),
                venue: p.venue()?,
            },
            "cancel_all_orders" => Command::CancelAllOrders {
                filter: p.filter()?,
                venue: p.venue()?,
            },
            "get_orders" => Command::GetOrders {
                filter: p.filter()?,
                venue: p.venue()?,
            },
            "get_trades" => Command::GetTrades {
                filter: p.filter()?,
                venue: p.venue()?,
            },
            "export_trades" => Command::ExportTrades {
                filter: p.filter()?,
                venue: p.venue()?,
            },
            "get_positions" => Command::GetPositions { venue: p.venue()? },
            "get_balances" => Command::GetBalances { venue: p.venue()? },
            "get_order_book" => Command::GetOrderBook {
                symbol: p
                    .opt_symbol("symbol")?
                    .ok_or_else(|| invalid("symbol", "is required"))?,
                venue: p.venue()?,
                depth: p.opt_count("depth", 1000)?.unwrap_or(20),
            },
            "get_system_status" => Command::GetSystemStatus,
            "create_strategy" => Command::CreateStrategy(parse_new_strategy(&p)?),
            "start_strategy" | "stop_strategy" | "pause_strategy" | "resume_strategy"
            | "delete_strategy" => control_strategy(&env.cmd, &p)?,
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
                venue: p.venue()?,
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

/// `start_strategy`, `stop_strategy`, … with the strategy's `id` (or
/// `instance_id`).
fn control_strategy(cmd: &str, p: &Params) -> Result<Command, CommandError> {
    let action = match cmd {
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
    Ok(Command::ControlStrategy {
        id: id.to_string(),
        action,
    })
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
    let strategy = backtest_strategy(p)?;
    let pair = p
        .opt_symbol("pair")?
        .or(p.opt_symbol("symbol")?)
        .ok_or_else(|| invalid("pair", "is required"))?;
    let data = backtest_data(p)?;
    let from_ms = opt_time_or_date(p, "from")?;
    let to_ms = opt_time_or_date(p, "to")?;
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if f > t {
            return Err(invalid("to", "must not be before `from`"));
        }
    }
    let settings = backtest_settings(p, &pair)?;
    Ok(NewBacktest {
        strategy,
        pair,
        data,
        from_ms,
        to_ms,
        settings,
    })
}

/// `strategy`: `{"type": …, "config": {…}}`, or the type's name with
/// `config` beside it.
fn backtest_strategy(p: &Params) -> Result<StrategyParams, CommandError> {
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
    StrategyParams::parse(kind, &config).map_err(|e| CommandError::InvalidParams {
        field: format!("strategy.{}", e.field),
        reason: e.reason,
    })
}

/// `data`: a file or directory name, or a list of them.
fn backtest_data(p: &Params) -> Result<Vec<String>, CommandError> {
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
    Ok(data)
}

/// The fill model: `settings`, then `initial_balances` and `fee` over it.
fn backtest_settings(p: &Params, pair: &Symbol) -> Result<SimSettings, CommandError> {
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
    Ok(settings)
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
        venue: p.venue()?,
        pair,
    })
}

/// The largest size or price an order may name: 10^15.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// The largest price × size of a limit order: 10^18.
pub const MAX_NOTIONAL: Decimal = Decimal::from_parts(2_808_348_672, 232_830_643, 0, false, 0);

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
    // Bounds that keep every sum and product of money far inside what a
    // decimal holds (≈ 7.9 × 10^28), so no arithmetic downstream can
    // overflow.
    if size > MAX_AMOUNT {
        return Err(invalid("size", format!("must be at most {MAX_AMOUNT}")));
    }
    if let Some(p) = price {
        if p > MAX_AMOUNT {
            return Err(invalid("price", format!("must be at most {MAX_AMOUNT}")));
        }
        if p.checked_mul(size).is_none_or(|n| n > MAX_NOTIONAL) {
            return Err(invalid(
                "size",
                format!("price × size must be at most {MAX_NOTIONAL}"),
            ));
        }
    }
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
        exchange: None,
        strategy: None,
    })
}

mod frame;
mod params;

#[cfg(test)]
mod tests;
