//! `MatchingEngine`: one pair's resting orders with price-time priority.
//!
//! Incoming orders match the best opposite price first and, within a price,
//! the oldest order first. Supports market and limit orders, GTC / IOC /
//! FOK, post-only, and self-trade prevention (an account's order never
//! trades with the same account's resting order: the taker's remainder
//! expires, as Binance's default `EXPIRE_TAKER` does). The synthetic market
//! is an owner like any other, so liquidity and clients meet in one book.

use crate::num::Level;
use crate::order::{Side, TimeInForce};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Engine-internal order reference.
pub type OrderRef = u64;

/// Who owns a resting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The simulated market's liquidity: trades with anyone, itself included.
    Market,
    /// A trading account: never trades with itself.
    Account(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    pub id: OrderRef,
    pub owner: Owner,
    pub side: Side,
    /// `None` for a market order.
    pub limit: Option<Decimal>,
    pub qty: Decimal,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
}

/// One match between the incoming order and a resting maker.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    pub maker: OrderRef,
    pub maker_owner: Owner,
    pub price: Decimal,
    pub qty: Decimal,
    /// The maker has nothing left and left the book.
    pub maker_done: bool,
}

/// How an incoming order ended its pass through the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchEnd {
    Filled,
    /// The remainder rests on the book (GTC limit).
    Rested,
    /// IOC or market: nothing more to match at an acceptable price.
    RemainderExpired,
    /// Stopped at the same account's resting order.
    SelfTradePrevented,
    /// Post-only order would have taken liquidity: nothing happened.
    PostOnlyWouldCross,
    /// FOK order could not fill completely: nothing happened.
    FillOrKillUnfillable,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MatchResult {
    pub fills: Vec<Fill>,
    pub remaining: Decimal,
    pub end: MatchEnd,
}

#[derive(Clone, Debug)]
struct Resting {
    id: OrderRef,
    owner: Owner,
    remaining: Decimal,
}

#[derive(Clone, Debug, Default)]
pub struct MatchingEngine {
    bids: BTreeMap<Decimal, VecDeque<Resting>>,
    asks: BTreeMap<Decimal, VecDeque<Resting>>,
    index: HashMap<OrderRef, (Side, Decimal)>,
}

impl MatchingEngine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn best_bid(&self) -> Option<Decimal> {
        self.bids.last_key_value().map(|(p, _)| *p)
    }

    pub fn best_ask(&self) -> Option<Decimal> {
        self.asks.first_key_value().map(|(p, _)| *p)
    }

    pub fn contains(&self, id: OrderRef) -> bool {
        self.index.contains_key(&id)
    }

    pub fn resting_count(&self) -> usize {
        self.index.len()
    }

    /// The best price on the side an incoming `side` order would hit.
    fn best_opposite(&self, side: Side) -> Option<Decimal> {
        match side {
            Side::Buy => self.best_ask(),
            Side::Sell => self.best_bid(),
        }
    }

    fn acceptable(side: Side, limit: Option<Decimal>, price: Decimal) -> bool {
        match (side, limit) {
            (_, None) => true,
            (Side::Buy, Some(l)) => price <= l,
            (Side::Sell, Some(l)) => price >= l,
        }
    }

    /// Opposite levels in priority order for an incoming `side` order.
    fn opposite_levels(
        &self,
        side: Side,
    ) -> Box<dyn Iterator<Item = (&Decimal, &VecDeque<Resting>)> + '_> {
        match side {
            Side::Buy => Box::new(self.asks.iter()),
            Side::Sell => Box::new(self.bids.iter().rev()),
        }
    }

    /// What an order would get without changing the book: (quantity it
    /// could fill, quote it would exchange). Stops where matching would
    /// stop: at the limit, or at the owner's own order.
    pub fn sweep(
        &self,
        side: Side,
        limit: Option<Decimal>,
        qty: Decimal,
        owner: Owner,
    ) -> (Decimal, Decimal) {
        let mut left = qty;
        let mut quote = Decimal::ZERO;
        'levels: for (price, queue) in self.opposite_levels(side) {
            if left.is_zero() || !Self::acceptable(side, limit, *price) {
                break;
            }
            for r in queue {
                if matches!(owner, Owner::Account(_)) && r.owner == owner {
                    break 'levels;
                }
                let q = left.min(r.remaining);
                quote += q * *price;
                left -= q;
                if left.is_zero() {
                    break 'levels;
                }
            }
        }
        (qty - left, quote)
    }

    /// Matches `order` against the book and rests what a GTC limit order
    /// has left. Post-only and FOK orders that cannot be honoured change
    /// nothing.
    pub fn submit(&mut self, order: Incoming) -> MatchResult {
        let nothing = |end| MatchResult {
            fills: Vec::new(),
            remaining: order.qty,
            end,
        };
        if order.post_only {
            if let Some(best) = self.best_opposite(order.side) {
                if Self::acceptable(order.side, order.limit, best) {
                    return nothing(MatchEnd::PostOnlyWouldCross);
                }
            }
        }
        if order.time_in_force == TimeInForce::Fok {
            let (fillable, _) = self.sweep(order.side, order.limit, order.qty, order.owner);
            if fillable < order.qty {
                return nothing(MatchEnd::FillOrKillUnfillable);
            }
        }

        let mut fills = Vec::new();
        let mut left = order.qty;
        let mut stopped_by_self = false;
        while !left.is_zero() {
            let book = match order.side {
                Side::Buy => &mut self.asks,
                Side::Sell => &mut self.bids,
            };
            let mut entry = match order.side {
                Side::Buy => book.first_entry(),
                Side::Sell => book.last_entry(),
            };
            let Some(level) = entry.as_mut() else { break };
            let price = *level.key();
            if !Self::acceptable(order.side, order.limit, price) {
                break;
            }
            let queue = level.get_mut();
            while let Some(maker) = queue.front_mut() {
                if matches!(order.owner, Owner::Account(_)) && maker.owner == order.owner {
                    stopped_by_self = true;
                    break;
                }
                let q = left.min(maker.remaining);
                maker.remaining -= q;
                left -= q;
                let done = maker.remaining.is_zero();
                fills.push(Fill {
                    maker: maker.id,
                    maker_owner: maker.owner,
                    price,
                    qty: q,
                    maker_done: done,
                });
                if done {
                    let id = maker.id;
                    queue.pop_front();
                    self.index.remove(&id);
                }
                if left.is_zero() {
                    break;
                }
            }
            if queue.is_empty() {
                if let Some(e) = entry {
                    e.remove();
                }
            }
            if stopped_by_self {
                break;
            }
        }

        let end = if left.is_zero() {
            MatchEnd::Filled
        } else if stopped_by_self {
            MatchEnd::SelfTradePrevented
        } else if let (Some(limit), TimeInForce::Gtc) = (order.limit, order.time_in_force) {
            self.rest(order.id, order.owner, order.side, limit, left);
            MatchEnd::Rested
        } else {
            MatchEnd::RemainderExpired
        };
        MatchResult {
            fills,
            remaining: left,
            end,
        }
    }

    fn rest(&mut self, id: OrderRef, owner: Owner, side: Side, price: Decimal, qty: Decimal) {
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        book.entry(price).or_default().push_back(Resting {
            id,
            owner,
            remaining: qty,
        });
        self.index.insert(id, (side, price));
    }

    /// Removes a resting order; returns what it had left.
    pub fn cancel(&mut self, id: OrderRef) -> Option<Decimal> {
        let (side, price) = self.index.remove(&id)?;
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let queue = book.get_mut(&price)?;
        let pos = queue.iter().position(|r| r.id == id)?;
        let removed = queue.remove(pos).map(|r| r.remaining);
        if queue.is_empty() {
            book.remove(&price);
        }
        removed
    }

    /// Aggregated levels, best first: the L2 view of this book.
    pub fn depth(&self, levels: usize) -> (Vec<Level>, Vec<Level>) {
        let agg =
            |(p, q): (&Decimal, &VecDeque<Resting>)| Level(*p, q.iter().map(|r| r.remaining).sum());
        let bids = self.bids.iter().rev().take(levels).map(agg).collect();
        let asks = self.asks.iter().take(levels).map(agg).collect();
        (bids, asks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    const ME: Owner = Owner::Account(1);
    const YOU: Owner = Owner::Account(2);

    fn limit(id: u64, owner: Owner, side: Side, price: &str, qty: &str) -> Incoming {
        Incoming {
            id,
            owner,
            side,
            limit: Some(d(price)),
            qty: d(qty),
            time_in_force: TimeInForce::Gtc,
            post_only: false,
        }
    }

    fn market(id: u64, owner: Owner, side: Side, qty: &str) -> Incoming {
        Incoming {
            id,
            owner,
            side,
            limit: None,
            qty: d(qty),
            time_in_force: TimeInForce::Ioc,
            post_only: false,
        }
    }

    #[test]
    fn price_then_time_priority() {
        let mut m = MatchingEngine::new();
        m.submit(limit(1, YOU, Side::Sell, "101", "1"));
        m.submit(limit(2, Owner::Market, Side::Sell, "100", "1"));
        m.submit(limit(3, YOU, Side::Sell, "100", "1"));
        let r = m.submit(market(4, ME, Side::Buy, "2.5"));
        let seen: Vec<(u64, Decimal, Decimal)> =
            r.fills.iter().map(|f| (f.maker, f.price, f.qty)).collect();
        assert_eq!(
            seen,
            vec![
                (2, d("100"), d("1")),
                (3, d("100"), d("1")),
                (1, d("101"), d("0.5"))
            ]
        );
        assert_eq!(r.end, MatchEnd::Filled);
        assert!(!r.fills[2].maker_done);
        assert_eq!(m.depth(5).1, vec![Level(d("101"), d("0.5"))]);
    }

    #[test]
    fn limit_partially_fills_then_rests() {
        let mut m = MatchingEngine::new();
        m.submit(limit(1, YOU, Side::Sell, "100", "0.4"));
        let r = m.submit(limit(2, ME, Side::Buy, "100.5", "1"));
        assert_eq!(r.fills.len(), 1);
        assert_eq!(r.remaining, d("0.6"));
        assert_eq!(r.end, MatchEnd::Rested);
        assert_eq!(m.best_bid(), Some(d("100.5")));
        assert_eq!(m.best_ask(), None);
        // A later seller hits the resting remainder at the maker's price.
        let r = m.submit(limit(3, YOU, Side::Sell, "99", "1"));
        assert_eq!(r.fills[0].price, d("100.5"));
        assert_eq!(r.fills[0].qty, d("0.6"));
        assert!(r.fills[0].maker_done);
        assert_eq!(r.end, MatchEnd::Rested);
        assert!(!m.contains(2));
    }

    #[test]
    fn ioc_expires_remainder_and_fok_is_all_or_nothing() {
        let mut m = MatchingEngine::new();
        m.submit(limit(1, YOU, Side::Sell, "100", "1"));
        let mut ioc = limit(2, ME, Side::Buy, "100", "3");
        ioc.time_in_force = TimeInForce::Ioc;
        let r = m.submit(ioc);
        assert_eq!(
            (r.fills.len(), r.remaining, r.end),
            (1, d("2"), MatchEnd::RemainderExpired)
        );
        assert_eq!(m.resting_count(), 0);

        m.submit(limit(3, YOU, Side::Sell, "100", "1"));
        let mut fok = limit(4, ME, Side::Buy, "100", "2");
        fok.time_in_force = TimeInForce::Fok;
        let r = m.submit(fok.clone());
        assert_eq!(r.end, MatchEnd::FillOrKillUnfillable);
        assert!(r.fills.is_empty());
        assert!(m.contains(3), "a killed FOK leaves the book untouched");
        fok.qty = d("1");
        let r = m.submit(fok);
        assert_eq!(r.end, MatchEnd::Filled);
    }

    #[test]
    fn post_only_rejects_when_it_would_take() {
        let mut m = MatchingEngine::new();
        m.submit(limit(1, YOU, Side::Sell, "100", "1"));
        let mut po = limit(2, ME, Side::Buy, "100", "1");
        po.post_only = true;
        assert_eq!(m.submit(po.clone()).end, MatchEnd::PostOnlyWouldCross);
        assert!(m.contains(1) && !m.contains(2));
        po.limit = Some(d("99.99"));
        assert_eq!(m.submit(po).end, MatchEnd::Rested);
    }

    #[test]
    fn self_trade_prevention_expires_the_taker() {
        let mut m = MatchingEngine::new();
        m.submit(limit(1, Owner::Market, Side::Sell, "100", "1"));
        m.submit(limit(2, ME, Side::Sell, "100", "1"));
        let r = m.submit(market(3, ME, Side::Buy, "2"));
        assert_eq!(r.fills.len(), 1);
        assert_eq!(r.end, MatchEnd::SelfTradePrevented);
        assert!(m.contains(2));
        assert_eq!(
            m.sweep(Side::Buy, None, d("5"), ME),
            (Decimal::ZERO, Decimal::ZERO)
        );
        // The market trades with itself freely.
        m.submit(limit(4, Owner::Market, Side::Sell, "99", "1"));
        let r = m.submit(market(5, Owner::Market, Side::Buy, "1"));
        assert_eq!(r.end, MatchEnd::Filled);
    }

    #[test]
    fn sweep_matches_submit_and_cancel_restores() {
        let mut m = MatchingEngine::new();
        m.submit(limit(1, YOU, Side::Sell, "100", "1"));
        m.submit(limit(2, YOU, Side::Sell, "102", "1"));
        assert_eq!(m.sweep(Side::Buy, None, d("1.5"), ME), (d("1.5"), d("151")));
        assert_eq!(
            m.sweep(Side::Buy, Some(d("101")), d("1.5"), ME),
            (d("1"), d("100"))
        );
        assert_eq!(m.cancel(2), Some(d("1")));
        assert_eq!(m.cancel(2), None);
        let r = m.submit(market(3, ME, Side::Buy, "1.5"));
        assert_eq!((r.remaining, r.end), (d("0.5"), MatchEnd::RemainderExpired));
        assert_eq!(m.resting_count(), 0);
    }
}
