//! `ExchangeActor`: one per exchange connection; here the embedded paper
//! venue. Owns the venue's orders, balances and positions (a
//! `PaperExchange`), applies the market feed's ticks, and publishes every
//! change it makes to the registry — and, typed, to the actors that follow
//! it (`Follow`): the risk manager sees everything, a strategy its pair's
//! quotes, its own orders and fills, and its pair's balances.

use crate::clock::now_ms;
use crate::health::{watched, Handles, Load};
use crate::order_book::{OrderBookActor, ReplaceBook};
use crate::recorder::Recording;
use crate::registry::{Publish, RegistryActor, Seed};
use crate::storage::{journal::Reply, Durable, Journal, Kind, Ready, Record, Storage};
use actix::prelude::*;
use laicai_core::candles::Candle;
use laicai_core::error::ErrorCode;
use laicai_core::feed::MarketTick;
use laicai_core::ids::{OrderId, StrategyId};
use laicai_core::order::OrderRequest;
use laicai_core::pair::Symbol;
use laicai_core::paper::PaperExchange;
use laicai_core::time::TimestampMs;
use laicai_core::venue::OrderFilter;
use laicai_core::venue::{AccountStats, CancelError, PlaceError};
use laicai_core::wire::events::*;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
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
            e @ PlaceError::Insufficient { .. } => VenueError::InsufficientBalance(e.to_string()),
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
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Follow {
    pub key: String,
    pub interest: Interest,
    pub to: Recipient<VenueUpdate>,
}

#[derive(Debug, Message)]
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
#[derive(Debug, Default)]
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

    /// Adds a follower and tells it the venue's state first: connection,
    /// and the balances and open orders it is interested in.
    pub fn add(
        &mut self,
        f: Follow,
        exchange: &str,
        connected: bool,
        balances: Vec<BalanceView>,
        orders: Vec<OrderView>,
    ) {
        let first = std::iter::once(VenueEvent::Connection { connected })
            .chain(balances.into_iter().map(VenueEvent::Balance))
            .chain(
                orders
                    .into_iter()
                    .filter(|o| o.status.is_open())
                    .map(VenueEvent::Order),
            );
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

    /// Publishes what the journal released — order, trade, balance and
    /// position events, never dropped — to the registry and to these
    /// followers, answering the commands that wait for them.
    pub fn publish(&self, exchange: &str, registry: &Addr<RegistryActor>, ready: Vec<Ready>) {
        for r in ready {
            let (events, at_ms) = r.answer();
            for event in events {
                if let Event::Trade(t) = &event {
                    tracing::info!(%exchange, trade = %t.trade_id, order = %t.order_id, side = %t.side, amount = %t.amount, price = %t.price, "fill");
                }
                if !self.is_empty() {
                    if let Some(e) = VenueEvent::of(&event) {
                        self.tell(exchange, e);
                    }
                }
                registry.do_send(Publish { event, at_ms });
            }
        }
    }
}

#[derive(Debug, Message)]
#[rtype(result = "Result<OrderView, VenueError>")]
pub struct PlaceOrder(pub OrderRequest);

#[derive(Debug, Message)]
#[rtype(result = "Result<OrderView, VenueError>")]
pub struct CancelOrder(pub OrderId);

#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct CancelAll(pub OrderFilter);

#[derive(Debug, Message)]
#[rtype(result = "Vec<BalanceView>")]
pub struct GetBalances;

#[derive(Debug, Message)]
#[rtype(result = "Vec<PositionView>")]
pub struct GetPositions;

#[derive(Debug, Message)]
#[rtype(result = "AccountStats")]
pub struct GetStats;

/// The newest one-minute candles of a pair (`get_candles`), oldest first;
/// `None` when the venue does not trade it.
#[derive(Debug, Message)]
#[rtype(result = "Option<Vec<Candle>>")]
pub struct GetCandles {
    pub symbol: Symbol,
    pub limit: usize,
}

/// One step of the simulated market for one pair.
#[derive(Debug, Message)]
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

#[derive(Debug)]
pub struct ExchangeActor {
    venue: PaperExchange,
    cfg: ExchangeConfig,
    registry: Addr<RegistryActor>,
    books: HashMap<Symbol, Addr<OrderBookActor>>,
    last_market_data: HashMap<Symbol, TimestampMs>,
    followers: Followers,
    journal: Journal,
    recording: Option<Recording>,
    load: Load,
}

/// What a command waits for: its answer, once what it did is durable.
type Answer<T> = ResponseFuture<Result<T, VenueError>>;

impl ExchangeActor {
    /// With `storage`, every change is durable before it is published or
    /// answered, and the account is stored with it.
    pub fn new(
        venue: PaperExchange,
        cfg: ExchangeConfig,
        registry: Addr<RegistryActor>,
        books: HashMap<Symbol, Addr<OrderBookActor>>,
        storage: Option<Storage>,
    ) -> Self {
        ExchangeActor {
            venue,
            cfg,
            registry,
            books,
            last_market_data: HashMap::new(),
            followers: Followers::default(),
            journal: Journal::new(storage),
            recording: None,
            load: Load::default(),
        }
    }

    /// Hands every market trade to a recorder.
    pub fn with_recording(mut self, recording: Option<Recording>) -> Self {
        self.recording = recording;
        self
    }

    /// Journals what a command or tick changed — its events, the orders
    /// it touched as they now stand, the account — and publishes once that
    /// is durable. Only the touched orders are written, so the cost does
    /// not grow with the orders resting.
    fn commit(&mut self, events: Vec<Event>, at_ms: TimestampMs, reply: Option<Reply>) {
        let state = if self.journal.is_durable() && !events.is_empty() {
            self.changed_state(&events)
        } else {
            Vec::new()
        };
        let ready = self.journal.commit(events, state, at_ms, reply);
        self.release(ready);
    }

    /// The records that put the stored account where the venue now is.
    fn changed_state(&self, events: &[Event]) -> Vec<Record> {
        let name = self.venue.name();
        let mut touched = HashSet::new();
        let mut records = Vec::new();
        for e in events {
            let Event::OrderUpdate(o) = e else { continue };
            if !touched.insert(o.order_id.as_str()) {
                continue;
            }
            let key = format!("{name}/{}", o.order_id);
            records.push(match self.venue.open_order(&o.order_id) {
                Some(open) => Record::put(Kind::PaperOrder, &key, &open),
                None => Ok(Record::Delete {
                    kind: Kind::PaperOrder,
                    key,
                }),
            });
        }
        records.push(Record::put(Kind::Paper, name, &self.venue.account()));
        records
            .into_iter()
            .filter_map(|r| {
                r.map_err(|e| tracing::error!(error = %e, "cannot encode the paper account"))
                    .ok()
            })
            .collect()
    }

    fn release(&self, ready: Vec<Ready>) {
        self.followers
            .publish(self.venue.name(), &self.registry, ready);
    }

    /// Waits for the journal, then answers `value`.
    fn answer<T: Send + 'static>(
        &mut self,
        value: T,
        events: Vec<Event>,
        at_ms: TimestampMs,
    ) -> Answer<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.commit(events, at_ms, Some(tx));
        Box::pin(async move {
            match rx.await {
                Ok(Ok(())) => Ok(value),
                Ok(Err(e)) => Err(VenueError::Internal(format!(
                    "done, but not stored durably: {e}"
                ))),
                Err(_) => Err(VenueError::Internal("the venue stopped".into())),
            }
        })
    }

    fn tell_followers(&self, event: VenueEvent) {
        self.followers.tell(self.venue.name(), event);
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
        self.journal.attach(ctx.address().recipient());
        let now = now_ms();
        let balances = self
            .venue
            .balances()
            .into_iter()
            .map(Event::Balance)
            .collect();
        let ready = self.journal.commit(balances, Vec::new(), now, None);
        self.release(ready);
        // What was restored is the state sessions start from, not news.
        let restored = self
            .venue
            .orders(&OrderFilter::default())
            .into_iter()
            .filter(|o| o.status.is_open())
            .map(Event::OrderUpdate)
            .chain(self.venue.positions().into_iter().map(Event::Position))
            .collect();
        self.registry.do_send(Seed(restored));
        let every = Duration::from_millis(self.cfg.position_refresh_ms.max(100));
        ctx.run_interval(every, |act, _| {
            let now = now_ms();
            let marks = act
                .venue
                .positions()
                .into_iter()
                .filter(|p| !p.size.is_zero())
                .map(Event::Position)
                .collect();
            let ready = act.journal.commit(marks, Vec::new(), now, None);
            act.release(ready);
        });
        tracing::info!(
            exchange = self.venue.name(),
            pairs = self.books.len(),
            "exchange started"
        );
    }
}

impl Handles<PlaceOrder> for ExchangeActor {
    type Result = Answer<OrderView>;
    fn handle(&mut self, msg: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        let now = now_ms();
        let symbol = msg.0.symbol.clone();
        let outcome = match self.venue.place(msg.0, now) {
            Ok(o) => o,
            Err(e) => return Box::pin(std::future::ready(Err(e.into()))),
        };
        self.refresh_book(&symbol, now);
        self.answer(outcome.order, outcome.events, now)
    }
}

impl Handles<CancelOrder> for ExchangeActor {
    type Result = Answer<OrderView>;
    fn handle(&mut self, msg: CancelOrder, _: &mut Self::Context) -> Self::Result {
        let now = now_ms();
        let outcome = match self.venue.cancel(&msg.0, now) {
            Ok(o) => o,
            Err(e) => return Box::pin(std::future::ready(Err(e.into()))),
        };
        if let Ok(symbol) = Symbol::parse(&outcome.order.symbol) {
            self.refresh_book(&symbol, now);
        }
        self.answer(outcome.order, outcome.events, now)
    }
}

impl Handles<CancelAll> for ExchangeActor {
    type Result = ResponseFuture<usize>;
    fn handle(&mut self, msg: CancelAll, _: &mut Self::Context) -> Self::Result {
        let now = now_ms();
        let (count, events) = self.venue.cancel_all(&msg.0, now);
        let symbols: Vec<Symbol> = self.venue.symbols().cloned().collect();
        for s in &symbols {
            self.refresh_book(s, now);
        }
        let answer = self.answer(count, events, now);
        // The cancels happened either way; a storage failure is logged.
        Box::pin(async move { answer.await.unwrap_or(count) })
    }
}

impl Handles<Durable> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: Durable, _: &mut Self::Context) {
        let ready = self.journal.durable(msg);
        self.release(ready);
    }
}

impl Handles<GetBalances> for ExchangeActor {
    type Result = MessageResult<GetBalances>;
    fn handle(&mut self, _: GetBalances, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.balances())
    }
}

impl Handles<GetCandles> for ExchangeActor {
    type Result = MessageResult<GetCandles>;
    fn handle(&mut self, msg: GetCandles, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.candles(&msg.symbol, msg.limit))
    }
}

impl Handles<GetPositions> for ExchangeActor {
    type Result = MessageResult<GetPositions>;
    fn handle(&mut self, _: GetPositions, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.positions())
    }
}

impl Handles<GetStats> for ExchangeActor {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.stats())
    }
}

impl Handles<ApplyTick> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: ApplyTick, _: &mut Self::Context) {
        // The market's trades are collected only for a recorder.
        let mut tape = Vec::new();
        let taping = self.recording.is_some().then_some(&mut tape);
        let fills = self
            .venue
            .apply_tick_taped(&msg.symbol, &msg.tick, msg.at_ms, taping);
        if let Some(r) = &self.recording {
            r.tape(&msg.symbol, tape);
        }
        if !fills.is_empty() {
            self.commit(fills, msg.at_ms, None);
        }
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

impl Handles<Follow> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: Follow, _: &mut Self::Context) {
        let balances = self.venue.balances();
        let orders = self.venue.orders(&OrderFilter::default());
        self.followers
            .add(msg, self.venue.name(), true, balances, orders);
    }
}

impl Handles<Unfollow> for ExchangeActor {
    type Result = ();
    fn handle(&mut self, msg: Unfollow, _: &mut Self::Context) {
        self.followers.remove(&msg.0);
    }
}

watched!(ExchangeActor, |_| "running".into());
