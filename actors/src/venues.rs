//! `Venues`: the addresses of the exchange connections and their order
//! books, by name, for the actors that route requests to them.

use crate::exchange::ExchangeActor;
use crate::order_book::OrderBookActor;
use actix::Addr;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Clone)]
pub struct Venues {
    default: String,
    exchanges: Arc<BTreeMap<String, Addr<ExchangeActor>>>,
    books: Arc<HashMap<(String, String), Addr<OrderBookActor>>>,
}

impl Venues {
    pub fn new(
        default: &str,
        exchanges: BTreeMap<String, Addr<ExchangeActor>>,
        books: HashMap<(String, String), Addr<OrderBookActor>>,
    ) -> Self {
        Venues {
            default: default.to_string(),
            exchanges: Arc::new(exchanges),
            books: Arc::new(books),
        }
    }

    /// The named exchange, or the default one.
    pub fn exchange(&self, name: Option<&str>) -> Option<(String, Addr<ExchangeActor>)> {
        let name = name.unwrap_or(&self.default);
        self.exchanges
            .get(name)
            .map(|a| (name.to_string(), a.clone()))
    }

    /// The named exchange only, or every exchange.
    pub fn select(&self, name: Option<&str>) -> Vec<Addr<ExchangeActor>> {
        match name {
            Some(n) => self.exchanges.get(n).cloned().into_iter().collect(),
            None => self.exchanges.values().cloned().collect(),
        }
    }

    pub fn book(&self, exchange: Option<&str>, symbol: &str) -> Option<Addr<OrderBookActor>> {
        let exchange = exchange.unwrap_or(&self.default).to_string();
        self.books.get(&(exchange, symbol.to_string())).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.exchanges.keys().cloned().collect()
    }
}
