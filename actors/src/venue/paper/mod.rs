//! `PaperVenue`: the embedded paper exchange as a venue actor. Owns the venue's orders, balances and positions (a
//! `PaperExchange`), applies the market feed's ticks, and publishes every
//! change it makes to the registry — and, typed, to the actors that follow
//! it (`Follow`): the risk manager sees everything, a strategy its pair's
//! quotes, its own orders and fills, and its pair's balances.

pub mod feed;

use crate::health::{watched, Handles, Load};
use crate::order_book::{OrderBookActor, ReplaceBook};
use crate::recorder::Recording;
use crate::registry::{Publish, RegistryActor, Seed};
use crate::storage::{
    journal::Reply, Durable, FlushJournal, Journal, Kind, Ready, Record, Storage,
};
use crate::venue::contract::*;
use actix::prelude::*;
use laicai_core::feed::MarketTick;
use laicai_core::pair::Symbol;
use laicai_core::paper::PaperExchange;
use laicai_core::time::TimestampMs;
use laicai_core::venue::OrderFilter;
use laicai_core::wire::events::*;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// One step of the simulated market for one pair.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ApplyTick {
    pub symbol: Symbol,
    pub tick: MarketTick,
    pub at_ms: TimestampMs,
}

#[derive(Clone, Debug)]
pub struct PaperVenueConfig {
    pub mailbox: usize,
    /// Levels sent to the order book actor.
    pub book_depth: usize,
    /// Least time between two `market_data` events of a pair (≤ 10/s).
    pub market_data_interval_ms: i64,
    /// How often open positions are re-marked and published.
    pub position_refresh_ms: u64,
    /// Where it reads the wall time.
    pub clock: crate::clock::Clock,
}

#[derive(Debug)]
pub struct PaperVenue {
    venue: PaperExchange,
    cfg: PaperVenueConfig,
    registry: Addr<RegistryActor>,
    books: HashMap<Symbol, Addr<OrderBookActor>>,
    last_market_data: HashMap<Symbol, TimestampMs>,
    followers: Followers,
    board: BalanceBoard,
    journal: Journal,
    recording: Option<Recording>,
    load: Load,
}

/// What a command waits for: its answer, once what it did is durable.
type Answer<T> = ResponseFuture<Result<T, VenueError>>;

impl PaperVenue {
    /// With `storage`, every change is durable before it is published or
    /// answered, and the account is stored with it.
    pub fn new(
        venue: PaperExchange,
        cfg: PaperVenueConfig,
        registry: Addr<RegistryActor>,
        books: HashMap<Symbol, Addr<OrderBookActor>>,
        storage: Option<Storage>,
    ) -> Self {
        PaperVenue {
            venue,
            cfg,
            registry,
            books,
            last_market_data: HashMap::new(),
            followers: Followers::default(),
            board: BalanceBoard::default(),
            journal: Journal::new(storage),
            recording: None,
            load: Load::default(),
        }
    }

    /// The board its balances are published on, for its `VenueHandle`.
    pub fn board(&self) -> BalanceBoard {
        self.board.clone()
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
            changed_state(&self.venue, &events)
        } else {
            Vec::new()
        };
        let ready = self.journal.commit(events, state, at_ms, reply);
        self.release(ready);
    }

    fn release(&self, ready: Vec<Ready>) {
        // Before the commands are answered: whoever hears of a change and
        // asks for balances sees it.
        if ready.iter().any(Ready::touches_balances) {
            self.board.replace(self.venue.balances());
        }
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
        let _ = self.registry.try_send(Publish::at(event, at_ms));
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

/// The records that put the stored account where `venue` now is, after
/// `events`: each order they touched as it now stands (or its deletion,
/// once it is no longer open), and the account.
pub fn changed_state(venue: &PaperExchange, events: &[Event]) -> Vec<Record> {
    let name = venue.name();
    let mut touched = HashSet::new();
    let mut records = Vec::new();
    for e in events {
        let Event::OrderUpdate(o) = e else { continue };
        if !touched.insert(o.order_id.as_str()) {
            continue;
        }
        let key = format!("{name}/{}", o.order_id);
        records.push(match venue.open_order(&o.order_id) {
            Some(open) => Record::put(Kind::PaperOrder, &key, &open),
            None => Ok(Record::Delete {
                kind: Kind::PaperOrder,
                key,
            }),
        });
    }
    records.push(Record::put(Kind::Paper, name, &venue.account()));
    records
        .into_iter()
        .filter_map(|r| {
            r.map_err(|e| tracing::error!(error = %e, "cannot encode the paper account"))
                .ok()
        })
        .collect()
}

impl Actor for PaperVenue {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.cfg.mailbox);
        self.journal.attach(ctx.address().recipient());
        self.journal.batch_into(ctx.address().recipient());
        let now = self.cfg.clock.now_ms();
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
            let now = act.cfg.clock.now_ms();
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

impl Handles<PlaceOrder> for PaperVenue {
    type Result = Answer<OrderView>;
    fn handle(&mut self, msg: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        let now = self.cfg.clock.now_ms();
        let symbol = msg.0.symbol.clone();
        let outcome = match self.venue.place(msg.0, now) {
            Ok(o) => o,
            Err(e) => return Box::pin(std::future::ready(Err(e.into()))),
        };
        self.refresh_book(&symbol, now);
        self.answer(outcome.order, outcome.events, now)
    }
}

impl Handles<CancelOrder> for PaperVenue {
    type Result = Answer<OrderView>;
    fn handle(&mut self, msg: CancelOrder, _: &mut Self::Context) -> Self::Result {
        let now = self.cfg.clock.now_ms();
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

impl Handles<CancelAll> for PaperVenue {
    type Result = ResponseFuture<usize>;
    fn handle(&mut self, msg: CancelAll, _: &mut Self::Context) -> Self::Result {
        let now = self.cfg.clock.now_ms();
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

impl Handles<FlushJournal> for PaperVenue {
    type Result = ();
    fn handle(&mut self, _: FlushJournal, _: &mut Self::Context) {
        let ready = self.journal.flush();
        self.release(ready);
    }
}

impl Handles<Durable> for PaperVenue {
    type Result = ();
    fn handle(&mut self, msg: Durable, _: &mut Self::Context) {
        let ready = self.journal.durable(msg);
        self.release(ready);
    }
}

impl Handles<GetBalances> for PaperVenue {
    type Result = MessageResult<GetBalances>;
    fn handle(&mut self, _: GetBalances, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.balances())
    }
}

impl Handles<GetCandles> for PaperVenue {
    type Result = MessageResult<GetCandles>;
    fn handle(&mut self, msg: GetCandles, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.candles(&msg.symbol, msg.limit))
    }
}

impl Handles<GetPositions> for PaperVenue {
    type Result = MessageResult<GetPositions>;
    fn handle(&mut self, _: GetPositions, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.positions())
    }
}

impl Handles<GetStats> for PaperVenue {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.venue.stats())
    }
}

impl Handles<ApplyTick> for PaperVenue {
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

impl Handles<Follow> for PaperVenue {
    type Result = ();
    fn handle(&mut self, msg: Follow, _: &mut Self::Context) {
        let balances = self.venue.balances();
        let orders = self.venue.orders(&OrderFilter::default());
        self.followers
            .add(msg, self.venue.name(), true, balances, orders);
    }
}

impl Handles<Unfollow> for PaperVenue {
    type Result = ();
    fn handle(&mut self, msg: Unfollow, _: &mut Self::Context) {
        self.followers.remove(&msg.0);
    }
}

watched!(PaperVenue, |_| "running".into());
