//! The other direction of `Command::parse`: a command as the frame a
//! client sends. Clients (the SDK, the CLI) build a `Command` and send
//! this, so what they send is what the engine reads; the round trip
//! `parse(frame(c)) == c` is tested for every command.

use super::{Command, CommandEnvelope, NewBacktest, NewConnection, NewStrategy, StrategyAction};
use crate::order::{OrderRequest, OrderType};
use crate::venue::{OrderFilter, VenueRef};
use serde_json::{json, Map, Value};

impl StrategyAction {
    /// The command that asks it: `start_strategy`, ….
    pub fn command_name(self) -> &'static str {
        match self {
            StrategyAction::Start => "start_strategy",
            StrategyAction::Stop => "stop_strategy",
            StrategyAction::Pause => "pause_strategy",
            StrategyAction::Resume => "resume_strategy",
            StrategyAction::Delete => "delete_strategy",
        }
    }
}

/// A frame's fields, skipping the ones not given.
#[derive(Debug, Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(name.to_string(), value.into());
        self
    }

    fn opt(&mut self, name: &str, value: Option<impl Into<Value>>) -> &mut Self {
        if let Some(v) = value {
            self.put(name, v);
        }
        self
    }

    fn venue(&mut self, venue: &VenueRef) -> &mut Self {
        self.opt("exchange", venue.exchange.clone())
            .opt("connection_id", venue.connection_id.clone())
    }

    /// `filter.exchange` is not on the wire: the venue names it.
    fn filter(&mut self, f: &OrderFilter) -> &mut Self {
        self.opt("symbol", f.symbol.as_ref().map(|s| s.as_str().to_string()))
            .opt("status", f.status.map(|s| s.as_str()))
            .opt("strategy", f.strategy.clone())
            .opt("limit", f.limit)
            .opt("start_time", f.since_ms)
            .opt("end_time", f.until_ms)
    }

    /// `order.exchange` and `order.strategy` are not on the wire: the
    /// venue names the one, and a client's order has no strategy.
    fn order(&mut self, o: &OrderRequest) -> &mut Self {
        self.put("symbol", o.symbol.as_str())
            .put("side", o.side.as_str())
            .put("type", o.order_type.as_str())
            .put("size", o.size.to_string())
            .opt(
                "price",
                o.price
                    .filter(|_| o.order_type == OrderType::Limit)
                    .map(|p| p.to_string()),
            )
            .put("time_in_force", o.time_in_force.as_str())
            .opt("client_order_id", o.client_order_id.clone());
        if o.post_only {
            self.put("post_only", true);
        }
        self
    }

    fn strategy(&mut self, s: &NewStrategy) -> &mut Self {
        self.put("name", s.name.as_str())
            .put("type", s.params.kind().as_str())
            .put("pair", s.pair.as_str())
            .put("config", s.params.to_json())
            .venue(&s.venue)
    }

    /// The secrets go in the frame: it is the one place they must.
    fn connection(&mut self, c: &NewConnection) -> &mut Self {
        self.put("exchange", c.exchange.as_str())
            .put("api_key", c.credentials.api_key.expose())
            .put("api_secret", c.credentials.api_secret.expose())
            .put("testnet", c.testnet)
            .opt("name", c.name.clone())
            .opt("rest_url", c.rest_url.clone())
            .opt("ws_url", c.ws_url.clone())
            .opt(
                "pairs",
                c.pairs
                    .as_ref()
                    .map(|l| l.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
            )
    }

    fn backtest(&mut self, b: &NewBacktest) -> &mut Self {
        self.put(
            "strategy",
            json!({"type": b.strategy.kind().as_str(), "config": b.strategy.to_json()}),
        )
        .put("pair", b.pair.as_str())
        .put("data", b.data.clone())
        .opt("from", b.from_ms)
        .opt("to", b.to_ms)
        .put(
            "settings",
            serde_json::to_value(&b.settings).unwrap_or(Value::Null),
        )
    }
}

impl Command {
    /// The `cmd` this command is sent as.
    pub fn name(&self) -> &'static str {
        match self {
            Command::GetAgents => "get_agents",
            Command::PlaceOrder { .. } => "place_order",
            Command::CancelOrder { .. } => "cancel_order",
            Command::CancelAllOrders { .. } => "cancel_all_orders",
            Command::GetOrders { .. } => "get_orders",
            Command::GetTrades { .. } => "get_trades",
            Command::ExportTrades { .. } => "export_trades",
            Command::GetPositions { .. } => "get_positions",
            Command::GetBalances { .. } => "get_balances",
            Command::GetOrderBook { .. } => "get_order_book",
            Command::GetSystemStatus => "get_system_status",
            Command::StartEngine => "start_engine",
            Command::StopEngine => "stop_engine",
            Command::CreateStrategy(_) => "create_strategy",
            Command::ControlStrategy { action, .. } => action.command_name(),
            Command::GetStrategies => "get_strategies",
            Command::KillSwitch { .. } => "kill_switch",
            Command::ResetKillSwitch => "reset_kill_switch",
            Command::GetRiskLimits => "get_risk_limits",
            Command::CreateConnection(_) => "create_connection",
            Command::DeleteConnection { .. } => "delete_connection",
            Command::TestConnection { .. } => "test_connection",
            Command::GetConnections => "get_connections",
            Command::Replay { .. } => "replay",
            Command::StartBacktest(_) => "start_backtest",
            Command::GetBacktest { .. } => "get_backtest",
            Command::CancelBacktest { .. } => "cancel_backtest",
            Command::GetBacktests => "get_backtests",
            Command::GetDataFiles => "get_data_files",
            Command::GetMarkets => "get_markets",
            Command::GetCandles { .. } => "get_candles",
            Command::GetStrategyTypes => "get_strategy_types",
            Command::GetSession => "get_session",
        }
    }

    /// The command's parameters as the engine reads them.
    pub fn params(&self) -> Map<String, Value> {
        let mut f = Fields::default();
        match self {
            Command::PlaceOrder { order, venue } => f.order(order).venue(venue),
            Command::CancelOrder { order_id, venue } => {
                f.put("order_id", order_id.0.as_str()).venue(venue)
            }
            Command::CancelAllOrders { filter, venue }
            | Command::GetOrders { filter, venue }
            | Command::GetTrades { filter, venue }
            | Command::ExportTrades { filter, venue } => f.filter(filter).venue(venue),
            Command::GetPositions { venue } | Command::GetBalances { venue } => f.venue(venue),
            Command::GetOrderBook {
                symbol,
                venue,
                depth,
            } => f
                .put("symbol", symbol.as_str())
                .put("depth", *depth)
                .venue(venue),
            Command::GetCandles {
                symbol,
                venue,
                limit,
            } => f
                .put("symbol", symbol.as_str())
                .put("limit", *limit)
                .venue(venue),
            Command::CreateStrategy(s) => f.strategy(s),
            Command::ControlStrategy { id, .. }
            | Command::DeleteConnection { id }
            | Command::TestConnection { id } => f.put("id", id.as_str()),
            Command::KillSwitch { mode, reason } => {
                f.put("mode", mode.as_str()).opt("reason", reason.clone())
            }
            Command::CreateConnection(c) => f.connection(c),
            Command::Replay { since_seq } => f.put("since_seq", *since_seq),
            Command::StartBacktest(b) => f.backtest(b),
            Command::GetBacktest { id } | Command::CancelBacktest { id } => {
                f.put("backtest_id", id.as_str())
            }
            Command::GetAgents
            | Command::GetSystemStatus
            | Command::StartEngine
            | Command::StopEngine
            | Command::GetStrategies
            | Command::ResetKillSwitch
            | Command::GetRiskLimits
            | Command::GetConnections
            | Command::GetBacktests
            | Command::GetDataFiles
            | Command::GetMarkets
            | Command::GetStrategyTypes
            | Command::GetSession => &mut f,
        };
        f.0
    }

    /// The command as an envelope, as `parse_client_message` would read
    /// its frame.
    pub fn envelope(&self, request_id: Option<Value>) -> CommandEnvelope {
        CommandEnvelope {
            cmd: self.name().to_string(),
            request_id,
            params: self.params(),
        }
    }

    /// The frame a client sends: `{"cmd": …, "request_id": …, …}`.
    pub fn to_frame(&self, request_id: Option<Value>) -> Value {
        self.envelope(request_id).into_frame()
    }
}

impl CommandEnvelope {
    /// The envelope as the frame it was read from.
    pub fn into_frame(self) -> Value {
        let mut frame = self.params;
        frame.insert("cmd".into(), self.cmd.into());
        if let Some(id) = self.request_id {
            frame.insert("request_id".into(), id);
        }
        Value::Object(frame)
    }
}
