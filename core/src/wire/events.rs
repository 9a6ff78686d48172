//! Server → client events (PROTOCOL §4), with the field names existing
//! clients read (never renamed), and `encode`, which writes one as a frame with `timestamp` and
//! `seq`.

use super::subscription::Channel;
use crate::enums::wire_enum;
use crate::num::Level;
use crate::order::{Order, OrderStatus, OrderType, Side, TimeInForce};
use crate::time::{iso8601_ms, TimestampMs};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

wire_enum!(BotStatus { Running => "running", Stopped => "stopped" });

wire_enum!(
    /// The kinds of strategy there are.
    StrategyType {
    Pmm => "pmm",
    Grid => "grid",
    Twap => "twap",
    Chaos => "chaos",
    }
);

wire_enum!(
    /// A strategy instance's status (`deleted` is sent once, when it goes).
    StrategyStatus {
        Created => "created",
        Running => "running",
        Paused => "paused",
        Stopped => "stopped",
        Error => "error",
        Deleted => "deleted",
    }
);

wire_enum!(LogLevel { Debug => "debug", Info => "info", Warning => "warning", Error => "error" });
wire_enum!(Liquidity { Maker => "maker", Taker => "taker" });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub uptime: u64,
    pub bot_status: BotStatus,
    pub active_strategies: u32,
    #[serde(with = "crate::num")]
    pub total_profit: Decimal,
    pub total_trades: u64,
    /// Percent of position-reducing trades that made money after fees.
    #[serde(with = "crate::num")]
    pub success_rate: Decimal,
    /// Why the engine runs degraded (the database cannot be written: no
    /// new orders, strategies hold), while it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceUpdate {
    pub symbol: String,
    #[serde(with = "crate::num")]
    pub price: Decimal,
    #[serde(with = "crate::num::opt")]
    pub bid: Option<Decimal>,
    #[serde(with = "crate::num::opt")]
    pub ask: Option<Decimal>,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketDataBody {
    /// Epoch seconds.
    pub timestamp: f64,
    #[serde(with = "crate::num")]
    pub price: Decimal,
    #[serde(with = "crate::num")]
    pub open: Decimal,
    #[serde(with = "crate::num")]
    pub high: Decimal,
    #[serde(with = "crate::num")]
    pub low: Decimal,
    #[serde(with = "crate::num")]
    pub volume: Decimal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketData {
    pub symbol: String,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub data: MarketDataBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderbookUpdate {
    pub symbol: String,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub sequence: u64,
}

/// An order as events and `get_orders` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    #[serde(rename = "orderId")]
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub status: OrderStatus,
    #[serde(with = "crate::num")]
    pub filled: Decimal,
    #[serde(with = "crate::num")]
    pub remaining: Decimal,
    /// The limit price; for a market order, its average fill price.
    #[serde(with = "crate::num::opt")]
    pub price: Option<Decimal>,
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    /// The owning strategy's name (`None` for manual orders)…
    pub strategy: Option<String>,
    /// …and its instance id.
    #[serde(default)]
    pub strategy_id: Option<String>,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub reason: Option<String>,
    #[serde(with = "crate::num")]
    pub size: Decimal,
    #[serde(with = "crate::num::opt")]
    pub avg_price: Option<Decimal>,
    #[serde(with = "crate::num")]
    pub fees: Decimal,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl OrderView {
    /// How the protocol shows `o`.
    pub fn of(o: &Order) -> OrderView {
        let r = &o.request;
        OrderView {
            order_id: o.id.0.clone(),
            client_order_id: r.client_order_id.clone(),
            status: o.status,
            filled: o.filled,
            remaining: o.remaining(),
            price: r.price.or_else(|| o.average_price()),
            symbol: r.symbol.to_string(),
            side: r.side,
            order_type: r.order_type,
            strategy: r.strategy.as_ref().map(|t| t.name.clone()),
            strategy_id: r.strategy.as_ref().map(|t| t.id.0.clone()),
            exchange: o.exchange.clone(),
            connection_id: None,
            reason: o.reason.clone(),
            size: r.size,
            avg_price: o.average_price(),
            fees: o.fees,
            time_in_force: r.time_in_force,
            post_only: r.post_only,
            created_at: iso8601_ms(o.created_ms),
            updated_at: iso8601_ms(o.updated_ms),
        }
    }
}

/// A fill as `trade` events and `get_trades` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TradeView {
    pub trade_id: String,
    pub order_id: String,
    pub symbol: String,
    #[serde(with = "crate::num")]
    pub price: Decimal,
    #[serde(with = "crate::num")]
    pub amount: Decimal,
    pub side: Side,
    #[serde(with = "crate::num")]
    pub fee: Decimal,
    pub fee_asset: String,
    pub liquidity: Liquidity,
    /// The owning strategy's name (`None` for manual orders)…
    pub strategy: Option<String>,
    /// …and its instance id.
    #[serde(default)]
    pub strategy_id: Option<String>,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionView {
    pub symbol: String,
    #[serde(with = "crate::num")]
    pub size: Decimal,
    #[serde(with = "crate::num")]
    pub entry_price: Decimal,
    #[serde(with = "crate::num")]
    pub current_price: Decimal,
    /// Unrealized PnL at `current_price`, in quote units.
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    #[serde(with = "crate::num")]
    pub pnl_percent: Decimal,
    pub side: String,
    /// The owning strategy's name (`None` for manual orders)…
    pub strategy: Option<String>,
    /// …and its instance id.
    #[serde(default)]
    pub strategy_id: Option<String>,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(with = "crate::num")]
    pub realized_pnl: Decimal,
}

impl PositionView {
    /// How the protocol shows a position, marked at `mark`.
    pub fn of(
        symbol: &crate::pair::Symbol,
        strategy: &Option<crate::order::StrategyTag>,
        p: &crate::position::Position,
        mark: Decimal,
        exchange: &str,
    ) -> PositionView {
        PositionView {
            symbol: symbol.to_string(),
            size: p.size,
            entry_price: p.entry_price,
            current_price: mark,
            pnl: p.unrealized_pnl(mark),
            pnl_percent: p.pnl_percent(mark),
            side: p.side().to_string(),
            strategy: strategy.as_ref().map(|t| t.name.clone()),
            strategy_id: strategy.as_ref().map(|t| t.id.0.clone()),
            exchange: exchange.to_string(),
            connection_id: None,
            realized_pnl: p.realized_pnl,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalanceView {
    pub asset: String,
    #[serde(with = "crate::num")]
    pub free: Decimal,
    #[serde(with = "crate::num")]
    pub used: Decimal,
    #[serde(with = "crate::num")]
    pub total: Decimal,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
}

/// A pair a venue trades, with its rules, as `get_markets` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketView {
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub symbol: String,
    pub base: String,
    pub quote: String,
    #[serde(with = "crate::num")]
    pub tick_size: Decimal,
    #[serde(with = "crate::num")]
    pub step_size: Decimal,
    #[serde(with = "crate::num")]
    pub min_notional: Decimal,
    /// Decimal places of a price (the tick size's).
    pub price_precision: u32,
    /// Decimal places of a size (the step size's).
    pub size_precision: u32,
}

impl MarketView {
    pub fn of(exchange: &str, spec: &crate::pair::PairSpec) -> MarketView {
        MarketView {
            exchange: exchange.to_string(),
            connection_id: None,
            symbol: spec.symbol.to_string(),
            base: spec.symbol.base().to_string(),
            quote: spec.symbol.quote().to_string(),
            tick_size: spec.tick_size,
            step_size: spec.step_size,
            min_notional: spec.min_notional,
            price_precision: spec.tick_size.normalize().scale(),
            size_precision: spec.step_size.normalize().scale(),
        }
    }
}

wire_enum!(ConnectionStatus {
    Connecting => "connecting",
    Connected => "connected",
    Disconnected => "disconnected",
    Failed => "failed",
    Deleted => "deleted",
});

/// An exchange connection as `connection` events and `get_connections`
/// show it. Never carries its API key or secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: String,
    pub name: String,
    pub exchange: String,
    pub status: ConnectionStatus,
    pub message: String,
    /// Failed sessions in a row (reset once it has been stable).
    pub attempt: u32,
    /// When the next session starts, after a failure.
    pub next_retry_ms: Option<u64>,
    pub testnet: bool,
    pub pairs: Vec<String>,
    pub rest_url: String,
    pub ws_url: String,
}

/// A strategy instance as `strategy` events and `get_strategies` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyView {
    pub id: String,
    pub name: String,
    pub strategy_type: StrategyType,
    pub status: StrategyStatus,
    pub exchange: String,
    /// The connection the venue is reached through; absent for the
    /// built-in paper venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub pair: String,
    /// Realized PnL − fees + the open position marked at the mid, quote units.
    #[serde(with = "crate::num")]
    pub profit: Decimal,
    pub trades: u64,
    pub error_msg: Option<String>,
    pub restarts: u32,
    #[serde(with = "crate::num")]
    pub realized_pnl: Decimal,
    #[serde(with = "crate::num")]
    pub fees: Decimal,
    /// Signed base-asset position from its fills.
    #[serde(with = "crate::num")]
    pub position: Decimal,
    #[serde(with = "crate::num")]
    pub volume: Decimal,
    pub open_orders: usize,
    /// 0 to 1 for strategies with an end (`twap`).
    #[serde(with = "crate::num::opt")]
    pub progress: Option<Decimal>,
    pub config: serde_json::Value,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub msg: String,
    pub source: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub level: LogLevel,
    pub message: String,
    /// Epoch seconds.
    pub timestamp: f64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub error: String,
    pub detail: String,
    /// The frame's own `request_id`, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub system: SystemStatus,
    pub strategies: Vec<StrategyView>,
    pub orders: Vec<OrderView>,
    pub positions: Vec<PositionView>,
    pub balances: Vec<BalanceView>,
    pub connections: Vec<ConnectionView>,
}

/// One actor's health, as `agent_status` and `get_agents` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentStatus {
    pub agent_id: String,
    pub data: AgentData,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentData {
    /// `running`, `paused`, `stopped`, `error`, `connecting`, … in the
    /// actor's own terms.
    pub status: String,
    /// The engine process's CPU use over the last probe, percent of one core.
    pub cpu_usage: f64,
    /// The engine process's resident memory, MiB.
    pub memory_usage: f64,
    /// Messages waiting in the actor's mailbox when it was probed.
    pub task_queue_size: u64,
    pub restarts: u32,
    /// Epoch seconds of the probe.
    pub last_update: f64,
    /// For `sessions`: how many are open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

wire_enum!(
    /// Where a backtest is: queued behind others, replaying, or ended.
    BacktestStatus {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Cancelled => "cancelled",
        Failed => "failed",
    }
);

impl BacktestStatus {
    pub fn ended(self) -> bool {
        matches!(
            self,
            BacktestStatus::Completed | BacktestStatus::Cancelled | BacktestStatus::Failed
        )
    }
}

/// `backtest_progress`'s `data`. Days are fractional (a day of trades is
/// not two whole days); `estimated_remaining` is in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestProgress {
    /// 0 to 1.
    pub progress: f64,
    /// The replayed data's current day, `YYYY-MM-DD` (UTC).
    pub current_date: String,
    pub total_days: f64,
    pub completed_days: f64,
    pub estimated_remaining: f64,
}

/// Every event the engine sends. `type` is the variant's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Snapshot(Snapshot),
    Connected {},
    Disconnected {
        reason: String,
    },
    SystemStatus(SystemStatus),
    Price(PriceUpdate),
    MarketData(MarketData),
    Orderbook(OrderbookUpdate),
    OrderUpdate(OrderView),
    Trade(TradeView),
    Position(PositionView),
    Balance(BalanceView),
    Strategy(StrategyView),
    Connection(ConnectionView),
    Log(LogLine),
    AgentStatus(AgentStatus),
    Alerts {
        data: Alert,
    },
    Error(ErrorEvent),
    BacktestProgress {
        backtest_id: String,
        data: BacktestProgress,
    },
    /// A backtest ended: `data` is its report when it completed, `error`
    /// says why when it failed.
    BacktestResult {
        backtest_id: String,
        status: BacktestStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<Box<super::backtest::Report>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

wire_enum!(
    /// Every event's `type`: the one list of event kinds. Every kind but
    /// the snapshot is also a channel (`Channel::Kind`); counters are
    /// indexed by it (`kind as usize`).
    EventKind {
        Snapshot => "snapshot",
        Connected => "connected",
        Disconnected => "disconnected",
        SystemStatus => "system_status",
        Price => "price",
        MarketData => "market_data",
        Orderbook => "orderbook",
        OrderUpdate => "order_update",
        Trade => "trade",
        Position => "position",
        Balance => "balance",
        Strategy => "strategy",
        Connection => "connection",
        Log => "log",
        AgentStatus => "agent_status",
        Alerts => "alerts",
        Error => "error",
        BacktestProgress => "backtest_progress",
        BacktestResult => "backtest_result",
    }
);

/// A view of something on one venue: its `exchange` (the venue's name)
/// and `connection_id`, the connection it is reached through.
pub trait VenueScoped {
    fn exchange(&self) -> &str;
    fn connection_id_mut(&mut self) -> &mut Option<String>;

    /// Fills `connection_id`, if it is empty, with `of(exchange)`.
    fn stamp_connection(&mut self, of: &dyn Fn(&str) -> Option<String>) {
        let id = of(self.exchange());
        let slot = self.connection_id_mut();
        if slot.is_none() {
            *slot = id;
        }
    }
}

macro_rules! venue_scoped {
    ($($view:ty),*) => {$(
        impl VenueScoped for $view {
            fn exchange(&self) -> &str {
                &self.exchange
            }
            fn connection_id_mut(&mut self) -> &mut Option<String> {
                &mut self.connection_id
            }
        }
    )*};
}

venue_scoped!(
    PriceUpdate,
    MarketData,
    OrderbookUpdate,
    OrderView,
    TradeView,
    PositionView,
    BalanceView,
    MarketView,
    StrategyView
);

impl Event {
    /// The event's one venue-scoped view, if it has one.
    pub fn venue_scoped_mut(&mut self) -> Option<&mut dyn VenueScoped> {
        match self {
            Event::Price(v) => Some(v),
            Event::MarketData(v) => Some(v),
            Event::Orderbook(v) => Some(v),
            Event::OrderUpdate(v) => Some(v),
            Event::Trade(v) => Some(v),
            Event::Position(v) => Some(v),
            Event::Balance(v) => Some(v),
            Event::Strategy(v) => Some(v),
            _ => None,
        }
    }

    /// What kind of event it is: its `type`.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Snapshot(_) => EventKind::Snapshot,
            Event::Connected {} => EventKind::Connected,
            Event::Disconnected { .. } => EventKind::Disconnected,
            Event::SystemStatus(_) => EventKind::SystemStatus,
            Event::Price(_) => EventKind::Price,
            Event::MarketData(_) => EventKind::MarketData,
            Event::Orderbook(_) => EventKind::Orderbook,
            Event::OrderUpdate(_) => EventKind::OrderUpdate,
            Event::Trade(_) => EventKind::Trade,
            Event::Position(_) => EventKind::Position,
            Event::Balance(_) => EventKind::Balance,
            Event::Strategy(_) => EventKind::Strategy,
            Event::Connection(_) => EventKind::Connection,
            Event::Log(_) => EventKind::Log,
            Event::AgentStatus(_) => EventKind::AgentStatus,
            Event::Alerts { .. } => EventKind::Alerts,
            Event::Error(_) => EventKind::Error,
            Event::BacktestProgress { .. } => EventKind::BacktestProgress,
            Event::BacktestResult { .. } => EventKind::BacktestResult,
        }
    }

    /// The channel its subscribers take it on; `None` for the snapshot,
    /// which is sent, never subscribed to.
    pub fn channel(&self) -> Option<Channel> {
        Channel::of(self.kind())
    }

    /// The trade, if this is one.
    pub fn trade(&self) -> Option<&TradeView> {
        match self {
            Event::Trade(t) => Some(t),
            _ => None,
        }
    }

    /// The event's `type`.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The trading pair the event is about, if it is about one.
    pub fn symbol(&self) -> Option<&str> {
        match self {
            Event::Price(e) => Some(&e.symbol),
            Event::MarketData(e) => Some(&e.symbol),
            Event::Orderbook(e) => Some(&e.symbol),
            Event::OrderUpdate(e) => Some(&e.symbol),
            Event::Trade(e) => Some(&e.symbol),
            Event::Position(e) => Some(&e.symbol),
            Event::Strategy(e) => Some(&e.pair),
            _ => None,
        }
    }

    /// Market data may be conflated (latest per symbol wins) for a slow
    /// client; everything else must be delivered.
    pub fn is_market_data(&self) -> bool {
        matches!(
            self,
            Event::Price(_) | Event::MarketData(_) | Event::Orderbook(_)
        )
    }

    /// The event as subscriptions route it.
    pub fn key(&self) -> super::EventKey<'_> {
        let market = match self {
            Event::Price(p) => Some(Some(p.price)),
            Event::MarketData(m) => Some(Some(m.data.price)),
            Event::Orderbook(_) => Some(None),
            _ => None,
        };
        super::EventKey {
            channel: self.channel(),
            symbol: self.symbol(),
            market: market.map(super::MarketPrice),
        }
    }

    pub fn error(code: crate::error::ErrorCode, detail: impl Into<String>) -> Event {
        Event::error_for(code, detail, None)
    }

    /// An `error` answering a frame, carrying its `request_id` if it had one.
    pub fn error_for(
        code: crate::error::ErrorCode,
        detail: impl Into<String>,
        request_id: Option<serde_json::Value>,
    ) -> Event {
        Event::Error(ErrorEvent {
            error: code.as_str().to_string(),
            detail: detail.into(),
            request_id,
        })
    }

    pub fn log(level: LogLevel, msg: impl Into<String>, source: &str) -> Event {
        Event::Log(LogLine {
            level,
            msg: msg.into(),
            source: Some(source.to_string()),
        })
    }
}

#[derive(Serialize)]
struct FrameOut<'a> {
    #[serde(flatten)]
    event: &'a Event,
    timestamp: String,
    seq: u64,
}

/// Writes `event` as one JSON frame with its `timestamp` and `seq`.
pub fn encode(event: &Event, at_ms: TimestampMs, seq: u64) -> Result<String, serde_json::Error> {
    serde_json::to_string(&FrameOut {
        event,
        timestamp: iso8601_ms(at_ms),
        seq,
    })
}

/// A received frame: the event with its envelope.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Envelope {
    pub seq: u64,
    pub timestamp: String,
    #[serde(flatten)]
    pub event: Event,
}

#[cfg(test)]
mod tests;
