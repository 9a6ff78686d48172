//! `OrderBookActor`: one per (exchange, pair). Owns that market's L2
//! `OrderBook`, answers `get_order_book`, and publishes `orderbook` events
//! at most once per configured interval.

use crate::health::{watched, Handles, Load};
use crate::registry::{Publish, RegistryActor};
use actix::prelude::*;
use laicai_core::num::Level;
use laicai_core::order_book::OrderBook;
use laicai_core::time::TimestampMs;
use laicai_core::wire::events::{Event, OrderbookUpdate};

/// The venue's current book, replacing the previous one.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReplaceBook {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub at_ms: TimestampMs,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BookView {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub sequence: u64,
}

#[derive(Debug, Message)]
#[rtype(result = "BookView")]
pub struct GetBook {
    pub depth: usize,
}

#[derive(Debug)]
pub struct OrderBookActor {
    exchange: String,
    symbol: String,
    book: OrderBook,
    registry: Addr<RegistryActor>,
    depth: usize,
    publish_interval_ms: i64,
    last_publish_ms: TimestampMs,
    load: Load,
}

impl OrderBookActor {
    pub fn new(
        exchange: &str,
        symbol: &str,
        registry: Addr<RegistryActor>,
        depth: usize,
        publish_interval_ms: i64,
    ) -> Self {
        OrderBookActor {
            exchange: exchange.to_string(),
            symbol: symbol.to_string(),
            book: OrderBook::new(),
            registry,
            depth,
            publish_interval_ms,
            last_publish_ms: i64::MIN,
            load: Load::default(),
        }
    }
}

impl Actor for OrderBookActor {
    type Context = Context<Self>;
}

impl Handles<ReplaceBook> for OrderBookActor {
    type Result = ();
    fn handle(&mut self, msg: ReplaceBook, _: &mut Self::Context) {
        let sequence = self.book.sequence() + 1;
        if let Err(e) = self.book.replace(&msg.bids, &msg.asks, sequence) {
            tracing::error!(symbol = %self.symbol, error = %e, "order book refused a level; it is empty until the next one");
        }
        if msg.at_ms.saturating_sub(self.last_publish_ms) < self.publish_interval_ms {
            return;
        }
        self.last_publish_ms = msg.at_ms;
        let (bids, asks) = self.book.top(self.depth);
        let event = Event::Orderbook(OrderbookUpdate {
            symbol: self.symbol.clone(),
            exchange: self.exchange.clone(),
            connection_id: None,
            bids,
            asks,
            sequence,
        });
        // Market data: shed, not queued, when the registry is saturated.
        let _ = self.registry.try_send(Publish::at(event, msg.at_ms));
    }
}

impl Handles<GetBook> for OrderBookActor {
    type Result = MessageResult<GetBook>;
    fn handle(&mut self, msg: GetBook, _: &mut Self::Context) -> Self::Result {
        let (bids, asks) = self.book.top(msg.depth);
        MessageResult(BookView {
            bids,
            asks,
            sequence: self.book.sequence(),
        })
    }
}

watched!(OrderBookActor, |_| "running".into());
