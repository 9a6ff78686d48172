//! The contract every venue speaks, whichever market it reaches: the
//! requests it answers (`PlaceOrder`, `CancelOrder`, `CancelAll`, the
//! account queries), the typed updates it sends the actors that `Follow`
//! it, and `Followers`, which a venue uses to publish each change to the
//! registry and to those followers alike. A venue is any actor handling
//! these; `directory::VenueHandle` holds its recipients.

use crate::registry::{Publish, RegistryActor};
use crate::storage::Ready;
use actix::prelude::*;
use laicai_core::candles::Candle;
use laicai_core::error::Coded;
use laicai_core::error::ErrorCode;
use laicai_core::ids::{OrderId, StrategyId};
use laicai_core::order::OrderRequest;
use laicai_core::pair::Symbol;
use laicai_core::time::TimestampMs;
use laicai_core::venue::OrderFilter;
use laicai_core::venue::{AccountStats, Broken, CancelError, PlaceError};
use laicai_core::wire::events::*;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

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

impl Coded for VenueError {
    fn code(&self) -> ErrorCode {
        match self {
            VenueError::InvalidParams { .. } => ErrorCode::InvalidParams,
            VenueError::InsufficientBalance(_) => ErrorCode::InsufficientBalance,
            VenueError::NotFound(_) => ErrorCode::NotFound,
            VenueError::NotOpen(_) => ErrorCode::OrderNotOpen,
            VenueError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl VenueError {
    /// The venue's books contradicted themselves: logged as the bug it is,
    /// answered `internal`.
    fn broken(broken: Broken) -> Self {
        tracing::error!(error = %broken, "the venue's books contradict themselves");
        VenueError::Internal(broken.to_string())
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
            PlaceError::Internal(broken) => VenueError::broken(broken),
        }
    }
}

impl From<CancelError> for VenueError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(_) => VenueError::NotFound(e.to_string()),
            CancelError::NotOpen(..) => VenueError::NotOpen(e.to_string()),
            CancelError::Internal(broken) => VenueError::broken(broken),
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

/// A venue's balances as of its last published change, readable from
/// any thread: `get_balances` is answered from it on the session's own
/// thread, with no message to the venue and back.
#[derive(Debug, Clone, Default)]
pub struct BalanceBoard(Arc<parking_lot::RwLock<Arc<Vec<BalanceView>>>>);

impl BalanceBoard {
    pub fn replace(&self, balances: Vec<BalanceView>) {
        *self.0.write() = Arc::new(balances);
    }

    pub fn read(&self) -> Arc<Vec<BalanceView>> {
        self.0.read().clone()
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
                registry.do_send(Publish::at(event, at_ms));
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
