//! `ExchangeActor`: one per exchange connection; here the embedded paper
//! venue. Owns the venue's orders, balances and positions (a
//! `PaperExchange`), applies the market feed's ticks, and publishes every
//! change it makes to the registry — and, typed, to the actors that follow
//! it (`Follow`): the risk manager sees everything, a strategy its pair's
//! quotes, its own orders and fills, and its pair's balances.

use crate::clock::now_ms;
use crate::health::{watched, Load};
use crate::order_book::{OrderBookActor, ReplaceBook};
use crate::registry::{Publish, RegistryActor};
use actix::prelude::*;
use laicai_core::error::ErrorCode;
use laicai_core::feed::MarketTick;
use laicai_core::ids::{OrderId, StrategyId};
use laicai_core::order::OrderRequest;
use laicai_core::pair::Symbol;
use laicai_core::paper::{AccountStats, CancelError, PaperExchange, PlaceError};
use laicai_core::protocol::events::*;
use laicai_core::protocol::OrderFilter;
use laicai_core::time::TimestampMs;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::time::Duration;

/// Why a venue refused or failed a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VenueError {
    #[error("invalid `{field}`: {reason}")]
    InvalidParams { field: String, reason: String },
    #[error("{0}")]
    InsufficientBalance(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotOpen(String),
    #[error("venue error: {0}")]
    Internal(String),
}

impl VenueError {
    pub fn code(&self) -> ErrorCode {
        match self {
            VenueError::InvalidParams { .. } => ErrorCode::InvalidParams,
            VenueError::InsufficientBalance(_) => ErrorCode::InsufficientBalance,
            VenueError::NotFound(_) => ErrorCode::NotFound,
            VenueError::NotOpen(_) => ErrorCode::OrderNotOpen,
            VenueError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<PlaceError> for VenueError {
    fn from(e: PlaceError) -> Self {
        match e {
            PlaceError::InvalidParams { field, reason } => VenueError::InvalidParams {
                field: field.to_string(),
                reason,
            },
            PlaceError::Insufficient(b) => VenueError::InsufficientBalance(b.to_string()),
            PlaceError::Internal(m) => VenueError::Internal(m),
        }
    }
}

impl From<CancelError> for VenueError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(_) => VenueError::NotFound(e.to_string()),
            CancelError::NotOpen(..) => VenueError::NotOpen(e.to_string()),
            CancelError::Internal(m) => VenueError::Internal(m),
        }
    }
}

/// What a venue tells its followers.
#[derive(Clone, Debug)]
pub enum VenueEvent {
    Order(OrderView),
    Trade(TradeView),
    Balance(BalanceView),
    /// The top of a pair's book changed.
    Quote {
        symbol: Symbol,
        bid: Decimal,
        ask: Decimal,
        at_ms: TimestampMs,
    },
    /// The venue's connection state (the paper venue is always connected).
    Connection {
        connected: bool,
    },
}

#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct VenueUpdate {
    pub exchange: String,
    pub event: VenueEvent,
}

/// Which of a venue's events a follower wants.
#[derive(Clone, Debug)]
pub enum Interest {
    Everything,
    Strategy { id: StrategyId, symbol: Symbol },
}

impl Interest {
    pub fn wants(&self, event: &VenueEvent) -> bool {
        let Interest::Strategy { id, symbol } = self else {
            return true;
        };
        match event {
            VenueEvent::Order(o) => o.strategy_id.as_deref() == Some(id.0.as_str()),
            VenueEvent::Trade(t) => t.strategy_id.as_deref() == Some(id.0.as_str()),
            VenueEvent::Balance(b) => b.asset == symbol.base() || b.asset == symbol.quote(),
            VenueEvent::Quote { symbol: s, .. } => s == symbol,
            VenueEvent::Connection { .. } => true,
        }
    }
}

/// Starts sending `interest`'s events to `to`, under `key` (a second
/// `Follow` with the same key replaces the first). Quotes may be dropped
/// when the follower is busy; orders, trades and balances never are.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Follow {
    pub key: String,
    pub interest: Interest,
    pub to: Recipient<VenueUpdate>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unfollow(pub String);

impl VenueEvent {
    /// The followers' side of an order, trade or balance event.
    pub fn of(event: &Event) -> Option<VenueEvent> {
        match event {
            Event::OrderUpdate(o) => Some(VenueEvent::Order(o.clone())),
            Event::Trade(t) => Some(VenueEvent::Trade(t.clone())),
            Event::Balance(b) => Some(VenueEvent::Balance(b.clone())),
            _ => None,
        }
    }
}

/// A venue's followers, by key. Both venue actors (paper, Binance) keep
/// one; a Binance session hands it to the next on reconnect.
#[derive(Default)]
pub struct Followers(HashMap<String, (Interest, Recipient<VenueUpdate>)>);

impl Followers {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tells every interested follower; quotes may be dropped when one is
    /// busy, everything else is always delivered.
    pub fn tell(&self, exchange: &str, event: VenueEvent) {
        let droppable = matches!(event, VenueEvent::Quote { .. });
        for (interest, to) in self.0.values() {
            if !interest.wants(&event) {
                continue;
            }
            let update = VenueUpdate {
                exchange: exchange.to_string(),
                event: event.clone(),
            };
            if droppable {
                let _ = to.try_send(update);
            } else {
                to.do_send(update);
            }
        }
    }

    /// Adds a follower and tells it the venue's state first: connection
    /// and the balances it is interested in.
    pub fn add(&mut self, f: Follow, exchange: &str, connected: bool, balances: Vec<BalanceView>) {
        let first = std::iter::once(VenueEvent::Connection { connected })
            .chain(balances.into_iter().map(VenueEvent::Balance));
        for event in first.filter(|e| f.interest.wants(e)) {
            f.to.do_send(VenueUpdate {
                exchange: exchange.to_string(),
                event,
            });
        }
        self.0.insert(f.key, (f.interest, f.to));
    }

    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }
}

#[derive(Message)]
#[rtype(result = "Result<OrderView, VenueError>")]
pub struct PlaceOrder(pub OrderRequest);

#[derive(Message)]
#[rtype(result = "Result<OrderView, VenueError>")]
pub struct CancelOrder(pub OrderId);

#[derive(Message)]
#[rtype(result = "usize")]
pub struct CancelAll(pub OrderFilter);

#[derive(Message)]
#[rtype(result = "Vec<OrderView>")]
pub struct GetOrders(pub OrderFilter);

#[derive(Message)]
#[rtype(result = "Vec<TradeView>")]
pub struct GetTrades(pub OrderFilter);

#[derive(Message)]
#[rtype(result = "Vec<BalanceView>")]
pub struct GetBalances;

#[derive(Message)]
#[rtype(result = "Vec<PositionView>")]
pub struct GetPositions;

#[derive(Message)]
#[rtype(result = "AccountStats")]
pub struct GetStats;

/// One step of the simulated market for one pair.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyTick {
    pub symbol: Symbol,
    pub tick: MarketTick,
    pub at_ms: TimestampMs,
}

#[derive(Clone, Debug)]
pub struct ExchangeConfig {
    pub mailbox: usize,
    /// Levels sent to the order book actor.
    pub book_depth: usize,
    /// Least time between two `market_data` events of a pair (≤ 10/s).
    pub market_data_interval_ms: i64,
    /// How often open positions are re-marked and published.
    pub position_refresh_ms: u64,
}

pub struct ExchangeActor {
    venue: PaperExchange,
    cfg: ExchangeConfig,
    registry: Addr<RegistryActor>,
    books: HashMap<Symbol, Addr<OrderBookActor>>,
    last_market_data: HashMap<Symbol, TimestampMs>,
    followers: Followers,
    load: Load,
}

impl ExchangeActor {
    pub fn new(
        venue: PaperExchange,
        cfg: ExchangeConfig,
        registry: Addr<RegistryActor>,
        books: HashMap<Symbol, Addr<OrderBookActor>>,
    ) -> Self {
        ExchangeActor {
            venue,
            cfg,
            registry,
            books,
            last_market_data: HashMap::new(),
            followers: Followers::default(),
            load: Load::default(),
        }
    }

    fn tell_followers(&self, event: VenueEvent) {
        self.followers.tell(self.venue.name(), event);
    }

    /// Order, trade, balance and position events: never dropped.
    fn publish(&self, events: Vec<Event>, at_ms: TimestampMs) {
        for event in events {
            if let Event::Trade(t) = &event {
                tracing::info!(trade = %t.trade_id, order = %t.order_id, side = %t.side, amount = %t.amount, price = %t.price, "fill");
            }
            if !self.followers.is_empty() {
                if let Some(e) = VenueEvent::of(&event) {
                    self.tell_followers(e);
                }
            }
            self.registry.do_send(Publish { event, at_ms });
        }
    }

    /// Market data: shed when the registry is saturated.
    fn publish_market(&self, event: Event, at_ms: TimestampMs) {
        let _ = self.registry.try_send(Publish { event, at_ms });
    }

    fn refresh_book(&self, symbol: &Symbol, at_ms: TimestampMs) {
        if let (Some(book), Some((bids, asks))) = (
            self.books.get(symbol),
            self.venue.depth(symbol, self.cfg.book_depth),
        ) {
            let _ = book.try_send(ReplaceBook { bids, asks, at_ms });
        }
    }
}

impl Actor for ExchangeActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.cfg.mailbox);
        let now = now_ms();
        let balances = self
            .venue
            .balances()
            .into_iter()
            .map(Event::Balance)
            .collect();
        self.publish(balances, now);
        let every = Duration::from_millis(self.cfg.position_refresh_ms.max(100));
        ctx.run_interval(every, |act, _| {
            let now = now_ms();
            for p in act.venue.positions() {
                if !p.size.is_zero() {
                    act.publish(vec![Event::Position(p)], now);
                }
            }
        });
        tracing::info!(
            exchange = self.venue.name(),
            pairs = self.books.len(),
            "exchange started"
        );
    }
}

impl Handler<PlaceOrder> for ExchangeActor {
    type Result = Result<OrderView, VenueError>;
    fn handle(&mut self, msg: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        let now = now_ms();
        let symbol = msg.0.symbol.clone();
        let outcome = self.venue.place(msg.0, now)?;
        self.publish(outcome.events, now);
        self.refresh_book(&symbol, now);
        Ok(outcome.order)
    }
}

impl Handler<CancelOrder> for ExchangeActor {
    type Result = Result<OrderView, VenueError>;
    fn handle(&mut self, msg: CancelOrder, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        let now = now_ms();
        let outcome = self.venue.cancel(&msg.0, now)?;
        self.publish(outcome.events, now);
        if let Ok(symbol) = Symbol::parse(&outcome.order.symbol) {
            self.refresh_book(&symbol, now);
        }
        Ok(outcome.order)
    }
}

impl Handler<CancelAll> for ExchangeActor {
    type Result = usize;
    fn handle(&mut self, msg: CancelAll, _: &mut Self::Context) -> usize {
        self.load.handled();
        let now = now_ms();
        let (count, events) = self.venue.cancel_all(&msg.0, now);
        self.publish(events, now);
        let symbols: Vec<Symbol> = self.venue.symbols().cloned().collect();
        for s in &symbols {
            self.refresh_book(s, now);
        }
        count
    }
}

impl Handler<GetOrders> for ExchangeActor {
    type Result = MessageResult<GetOrders>;
    fn handle(&mut self, msg: GetOrders, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        MessageResult(self.venue.orders(&msg.0))
    }
}

impl Handler<GetTrades> for ExchangeActor {
    type Result = MessageResult<GetTrades>;
    fn handle(&mut self, msg: GetTrades, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        MessageResult(self.venue.trades(&msg.0))
    }
}

impl Handler<GetBalances> for ExchangeActor {
    type Result = MessageResult<GetBalances>;
    fn handle(&mut self, _: GetBalances, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        MessageResult(self.venue.balances())
    }
}

impl Handler<GetPositions> for ExchangeActor {
    type Result = MessageResult<GetPositions>;
    fn handle(&mut self, _: GetPositions, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        MessageResult(self.venue.positions())
    }
}

impl Handler<GetStats> for ExchangeActor {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        self.load.handled();
        MessageResult(self.venue.stats())
    }
}

impl Handler<ApplyTick> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: ApplyTick, _: &mut Self::Context) {
        self.load.handled();
        let fills = self.venue.apply_tick(&msg.symbol, &msg.tick, msg.at_ms);
        self.publish(fills, msg.at_ms);
        if let Some(p) = self.venue.price_update(&msg.symbol) {
            if let (Some(bid), Some(ask)) = (p.bid, p.ask) {
                self.tell_followers(VenueEvent::Quote {
                    symbol: msg.symbol.clone(),
                    bid,
                    ask,
                    at_ms: msg.at_ms,
                });
            }
            self.publish_market(Event::Price(p), msg.at_ms);
        }
        let last = self
            .last_market_data
            .get(&msg.symbol)
            .copied()
            .unwrap_or(i64::MIN);
        if msg.at_ms.saturating_sub(last) >= self.cfg.market_data_interval_ms {
            if let Some(md) = self.venue.market_data(&msg.symbol, msg.at_ms) {
                self.last_market_data.insert(msg.symbol.clone(), msg.at_ms);
                self.publish_market(Event::MarketData(md), msg.at_ms);
            }
        }
        self.refresh_book(&msg.symbol, msg.at_ms);
    }
}

impl Handler<Follow> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: Follow, _: &mut Self::Context) {
        self.load.handled();
        let balances = self.venue.balances();
        self.followers.add(msg, self.venue.name(), true, balances);
    }
}

impl Handler<Unfollow> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: Unfollow, _: &mut Self::Context) {
        self.load.handled();
        self.followers.remove(&msg.0);
    }
}

watched!(ExchangeActor, |_| "running".into());
