//! `Venues`: the exchange connections by name — the embedded paper venue
//! and every connection created at run time — and their order books, for
//! the actors that route requests to them. A `VenueHandle` speaks the
//! venue messages to whichever actor serves that venue; a connection that
//! is reconnecting is known but has no handle until it is back.
//!
//! Shared between actors behind a lock that is only held to copy a handle
//! out, never across an await.

use crate::order_book::OrderBookActor;
use crate::venue::contract::*;
use actix::dev::ToEnvelope;
use actix::prelude::*;
use laicai_core::pair::PairSpec;
use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The venue messages, addressed to one actor.
#[derive(Debug, Clone)]
pub struct VenueHandle {
    pub place: Recipient<PlaceOrder>,
    pub cancel: Recipient<CancelOrder>,
    pub cancel_all: Recipient<CancelAll>,
    pub balances: Recipient<GetBalances>,
    pub positions: Recipient<GetPositions>,
    pub stats: Recipient<GetStats>,
    pub candles: Recipient<GetCandles>,
    pub follow: Recipient<Follow>,
    pub unfollow: Recipient<Unfollow>,
}

impl VenueHandle {
    pub fn of<A>(addr: &Addr<A>) -> Self
    where
        A: Actor
            + Handler<PlaceOrder>
            + Handler<CancelOrder>
            + Handler<CancelAll>
            + Handler<GetBalances>
            + Handler<GetPositions>
            + Handler<GetStats>
            + Handler<GetCandles>
            + Handler<Follow>
            + Handler<Unfollow>,
        A::Context: ToEnvelope<A, PlaceOrder>
            + ToEnvelope<A, CancelOrder>
            + ToEnvelope<A, CancelAll>
            + ToEnvelope<A, GetBalances>
            + ToEnvelope<A, GetPositions>
            + ToEnvelope<A, GetStats>
            + ToEnvelope<A, GetCandles>
            + ToEnvelope<A, Follow>
            + ToEnvelope<A, Unfollow>,
    {
        VenueHandle {
            place: addr.clone().recipient(),
            cancel: addr.clone().recipient(),
            cancel_all: addr.clone().recipient(),
            balances: addr.clone().recipient(),
            positions: addr.clone().recipient(),
            stats: addr.clone().recipient(),
            candles: addr.clone().recipient(),
            follow: addr.clone().recipient(),
            unfollow: addr.clone().recipient(),
        }
    }
}

/// How a venue name resolved.
#[derive(Debug, Clone)]
pub enum Lookup {
    Ready(String, VenueHandle),
    /// Known, but its connection is down and reconnecting.
    Down(String),
    Unknown(String),
}

#[derive(Debug, Default)]
struct Inner {
    exchanges: BTreeMap<String, Option<VenueHandle>>,
    books: HashMap<(String, String), Addr<OrderBookActor>>,
    /// Actors that follow every venue (the risk manager).
    everywhere: Vec<(String, Recipient<VenueUpdate>)>,
    /// Other names a venue answers to (a connection's id).
    aliases: HashMap<String, String>,
    /// Trading rules of pairs learnt at run time (from exchangeInfo).
    rules: HashMap<(String, String), PairSpec>,
}

#[derive(Debug, Clone)]
pub struct Venues {
    default: String,
    inner: Arc<RwLock<Inner>>,
}

impl Venues {
    pub fn new(default: &str) -> Self {
        Venues {
            default: default.to_string(),
            inner: Arc::new(RwLock::new(Inner::default())),
        }
    }

    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// Adds or replaces a venue (a connection that came back); the actors
    /// that follow every venue start following it.
    pub fn set(&self, name: &str, handle: Option<VenueHandle>) {
        let mut inner = self.inner.write();
        if let Some(h) = &handle {
            for (key, to) in &inner.everywhere {
                h.follow.do_send(Follow {
                    key: key.clone(),
                    interest: Interest::Everything,
                    to: to.clone(),
                });
            }
        }
        inner.exchanges.insert(name.to_string(), handle);
    }

    pub fn remove(&self, name: &str) {
        let mut inner = self.inner.write();
        inner.exchanges.remove(name);
        inner.books.retain(|(ex, _), _| ex != name);
        inner.aliases.retain(|_, n| n != name);
        inner.rules.retain(|(ex, _), _| ex != name);
    }

    /// `alias` (a connection id) names the venue `name` too.
    pub fn alias(&self, alias: &str, name: &str) {
        self.inner
            .write()
            .aliases
            .insert(alias.to_string(), name.to_string());
    }

    /// A name or alias → the venue's name.
    pub fn resolve(&self, name: &str) -> String {
        let inner = self.inner.read();
        inner
            .aliases
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    pub fn set_rules(&self, exchange: &str, specs: Vec<PairSpec>) {
        let mut inner = self.inner.write();
        for spec in specs {
            inner
                .rules
                .insert((exchange.to_string(), spec.symbol.to_string()), spec);
        }
    }

    pub fn rules(&self, exchange: &str, symbol: &str) -> Option<PairSpec> {
        self.inner
            .read()
            .rules
            .get(&(exchange.to_string(), symbol.to_string()))
            .cloned()
    }

    /// Every pair with known rules, by venue then pair.
    pub fn markets(&self) -> Vec<(String, PairSpec)> {
        let mut all: Vec<(String, PairSpec)> = self
            .inner
            .read()
            .rules
            .iter()
            .map(|((exchange, _), spec)| (exchange.clone(), spec.clone()))
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1.symbol).cmp(&(&b.0, &b.1.symbol)));
        all
    }

    pub fn add_book(&self, exchange: &str, symbol: &str, book: Addr<OrderBookActor>) {
        self.inner
            .write()
            .books
            .insert((exchange.to_string(), symbol.to_string()), book);
    }

    /// `to` follows every venue, now and later.
    pub fn follow_everything(&self, key: &str, to: Recipient<VenueUpdate>) {
        let mut inner = self.inner.write();
        for h in inner.exchanges.values().flatten() {
            h.follow.do_send(Follow {
                key: key.to_string(),
                interest: Interest::Everything,
                to: to.clone(),
            });
        }
        inner.everywhere.push((key.to_string(), to));
    }

    /// The named exchange, or the default one.
    pub fn lookup(&self, name: Option<&str>) -> Lookup {
        let name = self.resolve(name.unwrap_or(&self.default));
        match self.inner.read().exchanges.get(&name) {
            Some(Some(h)) => Lookup::Ready(name, h.clone()),
            Some(None) => Lookup::Down(name),
            None => Lookup::Unknown(name),
        }
    }

    /// The named exchange (or the default) if it is up.
    pub fn exchange(&self, name: Option<&str>) -> Option<(String, VenueHandle)> {
        match self.lookup(name) {
            Lookup::Ready(n, h) => Some((n, h)),
            _ => None,
        }
    }

    /// Whether a venue of that name exists (up or reconnecting).
    pub fn knows(&self, name: &str) -> bool {
        let name = self.resolve(name);
        self.inner.read().exchanges.contains_key(&name)
    }

    /// The named exchange only, or every exchange that is up.
    pub fn select(&self, name: Option<&str>) -> Vec<VenueHandle> {
        let inner = self.inner.read();
        match name {
            Some(n) => inner
                .exchanges
                .get(n)
                .cloned()
                .flatten()
                .into_iter()
                .collect(),
            None => inner.exchanges.values().flatten().cloned().collect(),
        }
    }

    pub fn book(&self, exchange: Option<&str>, symbol: &str) -> Option<Addr<OrderBookActor>> {
        let exchange = exchange.unwrap_or(&self.default).to_string();
        self.inner
            .read()
            .books
            .get(&(exchange, symbol.to_string()))
            .cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.inner.read().exchanges.keys().cloned().collect()
    }
}
