//! `Venues`: the exchange connections by name — the embedded paper venue
//! and every connection created at run time — with their kind (`paper`,
//! `binance`) and connection id, and their order books, for the actors
//! that route requests to them. `locate` turns what a request names
//! (`exchange`, `connection_id`) into one venue, or says why it cannot. A
//! `VenueHandle` speaks the venue messages to whichever actor serves that
//! venue; a connection that is reconnecting is known but has no handle
//! until it is back.
//!
//! Shared between actors behind a lock that is only held to copy a handle
//! out, never across an await.

use crate::order_book::OrderBookActor;
use crate::venue::contract::*;
use actix::dev::ToEnvelope;
use actix::prelude::*;
use laicai_core::error::Coded;
use laicai_core::pair::PairSpec;
use laicai_core::venue::VenueRef;
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
    /// Its balances, read without asking it (when it keeps a board).
    pub board: Option<BalanceBoard>,
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
            board: None,
        }
    }

    /// Balances are read from `board`, which the venue keeps current.
    pub fn with_board(mut self, board: BalanceBoard) -> Self {
        self.board = Some(board);
        self
    }
}

/// How a venue name resolved.
#[derive(Debug, Clone)]
pub enum Lookup {
    Ready(String, Arc<VenueHandle>),
    /// Known, but its connection is down and reconnecting.
    Down(String),
    Unknown(String),
}

/// Why what a request names is not one venue. Each is the client's to
/// fix (`invalid_params`); `field` says which parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unlocated {
    #[error("invalid `connection_id`: no connection `{0}`")]
    UnknownConnection(String),
    #[error("invalid `exchange`: no exchange `{exchange}` (there are: {})", known.join(", "))]
    UnknownExchange {
        exchange: String,
        known: Vec<String>,
    },
    #[error(
        "invalid `exchange`: `{kind}` names {} connections ({}); say which with `connection_id` or the connection's name",
        candidates.len(),
        candidates.iter().map(|(name, id)| format!("{name} = {id}")).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        kind: String,
        /// (name, connection id) of each.
        candidates: Vec<(String, String)>,
    },
    #[error("invalid `exchange`: connection `{connection_id}` is `{name}`, a {kind} connection, not `{exchange}`")]
    Mismatch {
        exchange: String,
        connection_id: String,
        name: String,
        kind: String,
    },
}

impl Coded for Unlocated {
    fn code(&self) -> laicai_core::error::ErrorCode {
        laicai_core::error::ErrorCode::InvalidParams
    }
}

impl Unlocated {
    /// The request parameter at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Unlocated::UnknownConnection(_) => "connection_id",
            _ => "exchange",
        }
    }
}

/// One venue the engine knows.
#[derive(Debug)]
struct Known {
    /// `paper`, `binance`: what `exchange` may say to mean "the one of
    /// this kind".
    kind: String,
    connection_id: Option<String>,
    /// `None` while its connection is down. Shared: a command takes one
    /// reference, not a copy of each recipient.
    handle: Option<Arc<VenueHandle>>,
}

#[derive(Debug, Default)]
struct Inner {
    exchanges: BTreeMap<String, Known>,
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

    /// Knows a venue by `name` from now on, down until `set` gives it a
    /// handle; `connection_id` names it too.
    pub fn add(&self, name: &str, kind: &str, connection_id: Option<&str>) {
        let mut inner = self.inner.write();
        inner.exchanges.insert(
            name.to_string(),
            Known {
                kind: kind.to_string(),
                connection_id: connection_id.map(str::to_string),
                handle: None,
            },
        );
        if let Some(id) = connection_id {
            inner.aliases.insert(id.to_string(), name.to_string());
        }
    }

    /// Gives a known venue its handle (a connection that came back; the
    /// actors that follow every venue start following it), or takes it
    /// away (`None`: down).
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
        match inner.exchanges.get_mut(name) {
            Some(known) => known.handle = handle.map(Arc::new),
            None => tracing::error!(venue = name, "a handle for a venue never added"),
        }
    }

    /// The one venue `named` means, `None` when it names none (the
    /// command's default applies), or why it is not one venue.
    pub fn locate(&self, named: &VenueRef) -> Result<Option<String>, Unlocated> {
        let inner = self.inner.read();
        if let Some(id) = &named.connection_id {
            let name = inner
                .aliases
                .get(id)
                .ok_or_else(|| Unlocated::UnknownConnection(id.clone()))?;
            let kind = inner
                .exchanges
                .get(name)
                .map(|k| k.kind.clone())
                .unwrap_or_default();
            return match &named.exchange {
                Some(ex) if ex != name && *ex != kind && ex != id => Err(Unlocated::Mismatch {
                    exchange: ex.clone(),
                    connection_id: id.clone(),
                    name: name.clone(),
                    kind,
                }),
                _ => Ok(Some(name.clone())),
            };
        }
        let Some(ex) = &named.exchange else {
            return Ok(None);
        };
        if inner.exchanges.contains_key(ex) {
            return Ok(Some(ex.clone()));
        }
        if let Some(name) = inner.aliases.get(ex) {
            return Ok(Some(name.clone()));
        }
        let of_kind: Vec<(String, String)> = inner
            .exchanges
            .iter()
            .filter(|(_, k)| k.kind == *ex)
            .map(|(name, k)| (name.clone(), k.connection_id.clone().unwrap_or_default()))
            .collect();
        match of_kind.as_slice() {
            [(name, _)] => Ok(Some(name.clone())),
            [] => Err(Unlocated::UnknownExchange {
                exchange: ex.clone(),
                known: inner.exchanges.keys().cloned().collect(),
            }),
            _ => Err(Unlocated::Ambiguous {
                kind: ex.clone(),
                candidates: of_kind,
            }),
        }
    }

    /// The connection id of the venue `name`, if it is reached through one.
    pub fn connection_of(&self, name: &str) -> Option<String> {
        self.inner
            .read()
            .exchanges
            .get(name)
            .and_then(|k| k.connection_id.clone())
    }

    pub fn remove(&self, name: &str) {
        let mut inner = self.inner.write();
        inner.exchanges.remove(name);
        inner.books.retain(|(ex, _), _| ex != name);
        inner.aliases.retain(|_, n| n != name);
        inner.rules.retain(|(ex, _), _| ex != name);
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
        for h in inner.exchanges.values().filter_map(|k| k.handle.as_ref()) {
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
        match self.inner.read().exchanges.get(&name).map(|k| &k.handle) {
            Some(Some(h)) => Lookup::Ready(name, h.clone()),
            Some(None) => Lookup::Down(name),
            None => Lookup::Unknown(name),
        }
    }

    /// The named exchange (or the default) if it is up.
    pub fn exchange(&self, name: Option<&str>) -> Option<(String, Arc<VenueHandle>)> {
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
    pub fn select(&self, name: Option<&str>) -> Vec<Arc<VenueHandle>> {
        let inner = self.inner.read();
        match name {
            Some(n) => inner
                .exchanges
                .get(n)
                .and_then(|k| k.handle.clone())
                .into_iter()
                .collect(),
            None => inner
                .exchanges
                .values()
                .filter_map(|k| k.handle.clone())
                .collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn venues() -> Venues {
        let v = Venues::new("paper");
        v.add("paper", "paper", None);
        v.add("binance-a", "binance", Some("conn-1"));
        v
    }

    fn named(exchange: Option<&str>, connection_id: Option<&str>) -> VenueRef {
        VenueRef {
            exchange: exchange.map(str::to_string),
            connection_id: connection_id.map(str::to_string),
        }
    }

    #[test]
    fn a_name_an_id_or_a_kind_with_one_venue_is_that_venue() {
        let v = venues();
        let at = |e, c| v.locate(&named(e, c));
        assert_eq!(at(None, None), Ok(None));
        assert_eq!(at(Some("paper"), None), Ok(Some("paper".into())));
        assert_eq!(at(Some("binance-a"), None), Ok(Some("binance-a".into())));
        assert_eq!(at(Some("binance"), None), Ok(Some("binance-a".into())));
        assert_eq!(at(None, Some("conn-1")), Ok(Some("binance-a".into())));
        assert_eq!(at(Some("conn-1"), None), Ok(Some("binance-a".into())));
        for agreeing in ["binance", "binance-a", "conn-1"] {
            assert_eq!(
                at(Some(agreeing), Some("conn-1")),
                Ok(Some("binance-a".into()))
            );
        }
        assert_eq!(v.connection_of("binance-a").as_deref(), Some("conn-1"));
        assert_eq!(v.connection_of("paper"), None);
    }

    #[test]
    fn what_is_not_one_venue_says_why() {
        let v = venues();
        v.add("binance-b", "binance", Some("conn-2"));
        let e = v.locate(&named(Some("binance"), None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid `exchange`: `binance` names 2 connections (binance-a = conn-1, binance-b = conn-2); say which with `connection_id` or the connection's name"
        );
        assert_eq!(e.field(), "exchange");
        // Either connection, named, is fine.
        assert_eq!(
            v.locate(&named(Some("binance"), Some("conn-2"))),
            Ok(Some("binance-b".into()))
        );
        let e = v.locate(&named(None, Some("conn-9"))).unwrap_err();
        assert_eq!(e.field(), "connection_id");
        assert_eq!(
            e.to_string(),
            "invalid `connection_id`: no connection `conn-9`"
        );
        let e = v.locate(&named(Some("paper"), Some("conn-1"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid `exchange`: connection `conn-1` is `binance-a`, a binance connection, not `paper`"
        );
        let e = v.locate(&named(Some("kraken"), None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid `exchange`: no exchange `kraken` (there are: binance-a, binance-b, paper)"
        );
        v.remove("binance-b");
        assert_eq!(
            v.locate(&named(Some("binance"), None)),
            Ok(Some("binance-a".into()))
        );
    }
}
