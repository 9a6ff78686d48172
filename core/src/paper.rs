//! `PaperExchange`: the embedded simulated venue. One account trading
//! against a simulated market through a real `MatchingEngine` per pair.
//!
//! Placing reserves funds; each fill settles the reservation, moves both
//! assets and updates the position exactly once; the end of an order
//! releases what it still holds. Every change comes back as protocol events
//! for the caller to publish. The market's liquidity is re-laid every tick
//! as orders of `Owner::Market`, so a client's resting order fills when the
//! market's quotes move through it or its prints hit it.

use crate::balance::{BalanceError, Balances};
use crate::candles::{Candle, CandleSeries};
use crate::feed::MarketTick;
use crate::ids::OrderId;
use crate::matching::{Incoming, MatchEnd, MatchingEngine, OrderRef, Owner};
use crate::num::Level;
use crate::order::{Order, OrderRequest, OrderStatus, OrderType, Side, StrategyTag, TimeInForce};
pub use crate::pair::PairSpec;
use crate::pair::Symbol;
use crate::position::Position;
use crate::tape::Print as TapePrint;
use crate::time::{iso8601_ms, TimestampMs};
use crate::venue::{AccountStats, Broken, CancelError, OrderFilter, PlaceError};
use crate::wire::events::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The paper account's owner id in the matching engines.
const ACCOUNT: Owner = Owner::Account(0);
/// Synthetic liquidity uses references from here up, clients' orders below.
const SYNTHETIC_BASE: OrderRef = 1 << 62;

#[derive(Clone, Debug, PartialEq)]
pub struct PaperConfig {
    /// This venue's name in events (`paper`).
    pub exchange: String,
    pub maker_fee: Decimal,
    pub taker_fee: Decimal,
    /// Finished orders kept in memory (for `cancel_order`'s "not open"
    /// answer); history itself is the journal's.
    pub history_limit: usize,
}

/// An order after a command, and the events the command caused.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub order: OrderView,
    pub events: Vec<Event>,
}

#[derive(Debug)]
struct Market {
    spec: PairSpec,
    engine: MatchingEngine,
    synthetic: Vec<OrderRef>,
    last_price: Option<Decimal>,
    candles: CandleSeries,
}

impl Market {
    fn mark(&self) -> Option<Decimal> {
        match (self.engine.best_bid(), self.engine.best_ask()) {
            (Some(b), Some(a)) => Some((b + a) / Decimal::TWO),
            _ => self.last_price,
        }
    }
}

/// A client order with the funds it holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Live {
    order: Order,
    /// Still reserved, in the quote asset for buys, the base asset for sells.
    #[serde(with = "crate::num::text")]
    reserved: Decimal,
    /// Reserved per unit of size; `None` for a market buy, which reserves
    /// exactly what its fills cost.
    #[serde(with = "crate::num::text::opt")]
    reserve_per_unit: Option<Decimal>,
}

/// The account without its open orders — balances, positions, statistics
/// and the counters that keep order and trade ids unique — as it must
/// survive a restart. Small, so it can be stored with every change.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PaperAccount {
    balances: BTreeMap<String, crate::balance::Balance>,
    positions: Vec<(Symbol, Option<StrategyTag>, Position)>,
    next_order: OrderRef,
    next_trade: u64,
    stats: AccountStats,
}

/// One open order with what it holds, as stored: each is written when it
/// changes, so storing a change costs the orders it touched, not every
/// order resting. Finished orders and trades are the caller's history.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenOrder {
    oref: OrderRef,
    live: Live,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestoreError {
    #[error("restored order {0} trades {1}, which this venue does not list")]
    UnknownPair(OrderId, Symbol),
    #[error("restored order {0} would not rest in the book ({1:?})")]
    WouldNotRest(OrderId, MatchEnd),
}

#[derive(Debug)]
pub struct PaperExchange {
    cfg: PaperConfig,
    markets: BTreeMap<Symbol, Market>,
    balances: Balances,
    positions: BTreeMap<(Symbol, Option<StrategyTag>), Position>,
    orders: HashMap<OrderRef, Live>,
    /// The orders that have not ended, oldest first: what `cancel_all` and
    /// `open_orders` walk, so their cost does not grow with the history.
    open: BTreeSet<OrderRef>,
    finished: VecDeque<OrderRef>,
    open_client_ids: HashMap<String, OrderRef>,
    next_order: OrderRef,
    next_trade: u64,
    next_synthetic: OrderRef,
    stats: AccountStats,
}

/// The state matching leaves a new order in, unless it simply filled
/// or rested after fills (its fills said so), with the reason.
fn ending(end: MatchEnd, no_fills: bool) -> Option<(OrderStatus, Option<&'static str>)> {
    match end {
        MatchEnd::Filled => None,
        MatchEnd::Rested if no_fills => Some((OrderStatus::Open, None)),
        MatchEnd::Rested => None,
        MatchEnd::RemainderExpired if no_fills => Some((
            OrderStatus::Expired,
            Some("no liquidity at an acceptable price"),
        )),
        MatchEnd::RemainderExpired => Some((
            OrderStatus::Expired,
            Some("remainder expired (immediate or cancel)"),
        )),
        MatchEnd::SelfTradePrevented => Some((
            OrderStatus::Expired,
            Some("self-trade prevention: would trade with own resting order"),
        )),
        MatchEnd::FillOrKillUnfillable => Some((
            OrderStatus::Expired,
            Some("fill or kill: not enough liquidity"),
        )),
        MatchEnd::PostOnlyWouldCross => Some((
            OrderStatus::Rejected,
            Some("post-only order would take liquidity"),
        )),
    }
}

impl PaperExchange {
    pub fn new(
        cfg: PaperConfig,
        pairs: Vec<PairSpec>,
        balances: &[(String, Decimal)],
    ) -> Result<Self, BalanceError> {
        let mut b = Balances::new();
        for (asset, amount) in balances {
            b.credit(asset, *amount)?;
        }
        let markets = pairs
            .into_iter()
            .map(|spec| {
                let m = Market {
                    spec: spec.clone(),
                    engine: MatchingEngine::new(),
                    synthetic: Vec::new(),
                    last_price: None,
                    candles: CandleSeries::default(),
                };
                (spec.symbol, m)
            })
            .collect();
        Ok(PaperExchange {
            cfg,
            markets,
            balances: b,
            positions: BTreeMap::new(),
            orders: HashMap::new(),
            open: BTreeSet::new(),
            finished: VecDeque::new(),
            open_client_ids: HashMap::new(),
            next_order: 1,
            next_trade: 1,
            next_synthetic: SYNTHETIC_BASE,
            stats: AccountStats::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.exchange
    }

    /// The account as it stands (open orders aside), to store.
    pub fn account(&self) -> PaperAccount {
        PaperAccount {
            balances: self.balances.iter().map(|(a, b)| (a.clone(), *b)).collect(),
            positions: self
                .positions
                .iter()
                .map(|((s, t), p)| (s.clone(), t.clone(), *p))
                .collect(),
            next_order: self.next_order,
            next_trade: self.next_trade,
            stats: self.stats.clone(),
        }
    }

    /// The order `order_id` as stored while it is open; `None` once it has
    /// ended (or if there is no such order).
    pub fn open_order(&self, order_id: &str) -> Option<OpenOrder> {
        let oref = Self::parse_ref(order_id)?;
        let live = self.orders.get(&oref)?;
        live.order.status.is_open().then(|| OpenOrder {
            oref,
            live: live.clone(),
        })
    }

    /// Every open order as stored, oldest first.
    pub fn open_orders(&self) -> Vec<OpenOrder> {
        self.open_refs(|_| true)
            .map(|(oref, live)| OpenOrder {
                oref,
                live: live.clone(),
            })
            .collect()
    }

    /// The open orders `keep` accepts, oldest first.
    fn open_refs<'a>(
        &'a self,
        keep: impl Fn(&Order) -> bool + 'a,
    ) -> impl Iterator<Item = (OrderRef, &'a Live)> + 'a {
        self.open.iter().filter_map(move |r| {
            let live = self.orders.get(r)?;
            keep(&live.order).then_some((*r, live))
        })
    }

    /// Puts a stored account back: balances, positions and statistics as
    /// they were, and each open order resting in its book again in its
    /// original time order (the market's own liquidity comes with the
    /// next tick).
    pub fn restore(
        &mut self,
        account: PaperAccount,
        mut open: Vec<OpenOrder>,
    ) -> Result<(), RestoreError> {
        open.sort_by_key(|o| o.oref);
        for OpenOrder { oref, live } in &open {
            let o = &live.order;
            let market = self
                .markets
                .get_mut(&o.request.symbol)
                .ok_or_else(|| RestoreError::UnknownPair(o.id.clone(), o.request.symbol.clone()))?;
            let r = market.engine.submit(Incoming {
                id: *oref,
                owner: ACCOUNT,
                side: o.request.side,
                limit: o.request.price,
                qty: o.remaining(),
                time_in_force: TimeInForce::Gtc,
                post_only: false,
            });
            if r.end != MatchEnd::Rested || !r.fills.is_empty() {
                return Err(RestoreError::WouldNotRest(o.id.clone(), r.end));
            }
        }
        self.balances = Balances::restore(account.balances);
        self.positions = account
            .positions
            .into_iter()
            .map(|(s, t, p)| ((s, t), p))
            .collect();
        self.open_client_ids = open
            .iter()
            .filter_map(|o| Some((o.live.order.request.client_order_id.clone()?, o.oref)))
            .collect();
        self.open = open.iter().map(|o| o.oref).collect();
        self.orders = open.into_iter().map(|o| (o.oref, o.live)).collect();
        self.next_order = account.next_order;
        self.next_trade = account.next_trade;
        self.stats = account.stats;
        Ok(())
    }

    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.markets.keys()
    }

    // ----- orders -------------------------------------------------------

    pub fn place(&mut self, req: OrderRequest, now: TimestampMs) -> Result<Outcome, PlaceError> {
        self.check(&req)?;
        let (asset, reserve, per_unit) = self.reserve(&req)?;
        let oref = self.next_order;
        self.next_order += 1;
        let id = OrderId(format!("ORD-{oref}"));
        let incoming = Incoming {
            id: oref,
            owner: ACCOUNT,
            side: req.side,
            limit: req.price,
            qty: req.size,
            time_in_force: req.time_in_force,
            post_only: req.post_only,
        };
        if let Some(cid) = &req.client_order_id {
            self.open_client_ids.insert(cid.clone(), oref);
        }
        let symbol = req.symbol.clone();
        let order = Order::new(id, req, &self.cfg.exchange, now);
        self.open.insert(oref);
        self.orders.insert(
            oref,
            Live {
                order,
                reserved: reserve,
                reserve_per_unit: per_unit,
            },
        );
        let mut events = vec![self.balance_event(&asset)];
        let result = match self.markets.get_mut(&symbol) {
            Some(m) => m.engine.submit(incoming),
            None => return Err(Broken::UnknownMarket(symbol).into()),
        };
        for fill in &result.fills {
            self.apply_fill(
                oref,
                fill.qty,
                fill.price,
                Liquidity::Taker,
                now,
                &mut events,
            )?;
            if fill.maker_owner == ACCOUNT {
                self.apply_fill(
                    fill.maker,
                    fill.qty,
                    fill.price,
                    Liquidity::Maker,
                    now,
                    &mut events,
                )?;
            }
        }
        if let Some((status, reason)) = ending(result.end, result.fills.is_empty()) {
            self.end(oref, status, reason, now, &mut events)?;
        }
        Ok(Outcome {
            order: self.order_view(oref)?,
            events,
        })
    }

    /// The order's pair, price, size and client id are acceptable here.
    fn check(&self, req: &OrderRequest) -> Result<(), PlaceError> {
        let invalid = |field, reason: String| PlaceError::InvalidParams { field, reason };
        let market = self.markets.get(&req.symbol).ok_or_else(|| {
            invalid(
                "symbol",
                format!("{} does not trade {}", self.cfg.exchange, req.symbol),
            )
        })?;
        market
            .spec
            .check(req.price, req.size)
            .map_err(|(field, reason)| invalid(field, reason))?;
        match &req.client_order_id {
            Some(cid) if self.open_client_ids.contains_key(cid) => Err(invalid(
                "client_order_id",
                format!("`{cid}` is already used by an open order"),
            )),
            _ => Ok(()),
        }
    }

    /// Reserves what the order may cost (a sell: its size; a limit buy:
    /// price × size and the fee; a market buy: the cost of walking the
    /// book and the taker fee): the asset, the amount and, for a limit,
    /// the amount per unit.
    fn reserve(
        &mut self,
        req: &OrderRequest,
    ) -> Result<(String, Decimal, Option<Decimal>), PlaceError> {
        let market = self
            .markets
            .get(&req.symbol)
            .ok_or_else(|| Broken::UnknownMarket(req.symbol.clone()))?;
        let (base, quote) = (
            req.symbol.base().to_string(),
            req.symbol.quote().to_string(),
        );
        let (asset, reserve, per_unit, swept) = match (req.side, req.order_type, req.price) {
            (Side::Sell, _, _) => (base, req.size, Some(Decimal::ONE), None),
            (Side::Buy, OrderType::Limit, Some(price)) => {
                // Checked: a strategy's order does not pass the command
                // parser's bounds, and an overflow must refuse the order,
                // never panic the venue.
                let per = price
                    .checked_mul(Decimal::ONE + self.buy_fee_rate(req))
                    .ok_or_else(too_large)?;
                let total = per.checked_mul(req.size).ok_or_else(too_large)?;
                (quote, total, Some(per), None)
            }
            (Side::Buy, _, _) => {
                let (filled, cost) = market.engine.sweep(Side::Buy, None, req.size, ACCOUNT);
                let total = cost
                    .checked_mul(Decimal::ONE + self.cfg.taker_fee)
                    .ok_or_else(too_large)?;
                (quote, total, None, Some((filled, cost)))
            }
        };
        let free = self.balances.get(&asset).free;
        if reserve > free {
            return Err(PlaceError::Insufficient {
                how: self.cost_explained(req, swept),
                needed: reserve.round_dp(8).normalize(),
                free: free.normalize(),
                asset,
            });
        }
        self.balances
            .reserve(&asset, reserve)
            .map_err(|error| Broken::Balance {
                symbol: req.symbol.clone(),
                error,
            })?;
        Ok((asset, reserve, per_unit))
    }

    /// An order that matching left in a new state: moved there, finished
    /// if final, and told.
    fn end(
        &mut self,
        oref: OrderRef,
        status: OrderStatus,
        reason: Option<&str>,
        now: TimestampMs,
        events: &mut Vec<Event>,
    ) -> Result<(), Broken> {
        let live = self
            .orders
            .get_mut(&oref)
            .ok_or_else(|| Broken::UnknownOrder(oref.to_string()))?;
        live.order.reason = reason.map(str::to_string);
        live.order.transition(status, now)?;
        if status.is_terminal() {
            self.finish(oref, events)?;
        }
        events.push(Event::OrderUpdate(self.order_view(oref)?));
        Ok(())
    }

    pub fn cancel(&mut self, id: &OrderId, now: TimestampMs) -> Result<Outcome, CancelError> {
        let oref = Self::parse_ref(&id.0)
            .filter(|r| self.orders.contains_key(r))
            .ok_or_else(|| CancelError::NotFound(id.clone()))?;
        let live = &self.orders[&oref];
        if !live.order.status.is_open() {
            return Err(CancelError::NotOpen(id.clone(), live.order.status));
        }
        let symbol = live.order.request.symbol.clone();
        if let Some(m) = self.markets.get_mut(&symbol) {
            m.engine.cancel(oref);
        }
        let mut events = Vec::new();
        let live = self
            .orders
            .get_mut(&oref)
            .ok_or_else(|| CancelError::NotFound(id.clone()))?;
        live.order
            .transition(OrderStatus::Canceled, now)
            .map_err(Broken::from)?;
        self.finish(oref, &mut events)?;
        let view = self.order_view(oref)?;
        events.push(Event::OrderUpdate(view.clone()));
        Ok(Outcome {
            order: view,
            events,
        })
    }

    /// Cancels every open order that matches; returns how many and the events.
    pub fn cancel_all(&mut self, filter: &OrderFilter, now: TimestampMs) -> (usize, Vec<Event>) {
        let ids: Vec<OrderId> = self
            .open_refs(|o| filter.matches_order(o))
            .map(|(_, live)| live.order.id.clone())
            .collect();
        let mut events = Vec::new();
        let mut count = 0;
        for id in ids {
            if let Ok(out) = self.cancel(&id, now) {
                count += 1;
                events.extend(out.events);
            }
        }
        (count, events)
    }

    fn parse_ref(id: &str) -> Option<OrderRef> {
        id.strip_prefix("ORD-")?.parse().ok()
    }

    /// Settles one fill of a client order.
    fn apply_fill(
        &mut self,
        oref: OrderRef,
        qty: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        now: TimestampMs,
        events: &mut Vec<Event>,
    ) -> Result<(), Broken> {
        let fee_rate = match liquidity {
            Liquidity::Maker => self.cfg.maker_fee,
            Liquidity::Taker => self.cfg.taker_fee,
        };
        let notional = price * qty;
        let fee = notional * fee_rate;
        let live = self
            .orders
            .get_mut(&oref)
            .ok_or_else(|| Broken::UnknownOrder(oref.to_string()))?;
        live.order.fill(qty, price, fee, now)?;
        let last = live.order.remaining().is_zero();
        let (req, order_id) = (live.order.request.clone(), live.order.id.0.clone());
        let (base, quote) = (req.symbol.base(), req.symbol.quote());
        let release = if last {
            live.reserved
        } else {
            match live.reserve_per_unit {
                Some(per) => per * qty,
                None => notional + fee,
            }
        };
        live.reserved -= release;
        let settled = match req.side {
            Side::Buy => self
                .balances
                .settle(quote, release, notional + fee)
                .and_then(|_| self.balances.credit(base, qty)),
            Side::Sell => self
                .balances
                .settle(base, release, qty)
                .and_then(|_| self.balances.credit(quote, notional - fee)),
        };
        settled.map_err(|error| Broken::Balance {
            symbol: req.symbol.clone(),
            error,
        })?;

        let position = self
            .positions
            .entry((req.symbol.clone(), req.strategy.clone()))
            .or_default();
        let realized = position.apply_fill(req.side, qty, price);
        self.stats.record_fill(realized, fee);
        let trade = TradeView {
            trade_id: format!("TRD-{}", self.next_trade),
            order_id,
            symbol: req.symbol.to_string(),
            price,
            amount: qty,
            side: req.side,
            fee,
            fee_asset: quote.to_string(),
            liquidity,
            strategy: req.strategy.as_ref().map(|t| t.name.clone()),
            strategy_id: req.strategy.as_ref().map(|t| t.id.0.clone()),
            exchange: self.cfg.exchange.clone(),
            connection_id: None,
            time: iso8601_ms(now),
        };
        self.next_trade += 1;

        events.push(Event::OrderUpdate(self.order_view(oref)?));
        events.push(Event::Trade(trade));
        events.push(self.balance_event(quote));
        events.push(self.balance_event(base));
        if let Some(p) = self.position_view(&req.symbol, &req.strategy) {
            events.push(Event::Position(p));
        }
        if last {
            self.finish(oref, events)?;
        }
        Ok(())
    }

    /// An order reached a terminal status: release what it still holds and
    /// move it to the bounded history.
    fn finish(&mut self, oref: OrderRef, events: &mut Vec<Event>) -> Result<(), Broken> {
        self.open.remove(&oref);
        let live = self
            .orders
            .get_mut(&oref)
            .ok_or_else(|| Broken::UnknownOrder(oref.to_string()))?;
        let req = &live.order.request;
        let asset = match req.side {
            Side::Buy => req.symbol.quote().to_string(),
            Side::Sell => req.symbol.base().to_string(),
        };
        if let Some(cid) = &req.client_order_id {
            self.open_client_ids.remove(cid);
        }
        let held = std::mem::take(&mut live.reserved);
        if !held.is_zero() {
            let symbol = req.symbol.clone();
            self.balances
                .settle(&asset, held, Decimal::ZERO)
                .map_err(|error| Broken::Balance { symbol, error })?;
            events.push(self.balance_event(&asset));
        }
        self.finished.push_back(oref);
        while self.finished.len() > self.cfg.history_limit {
            if let Some(old) = self.finished.pop_front() {
                self.orders.remove(&old);
            }
        }
        Ok(())
    }

    // ----- the simulated market ------------------------------------------

    /// Lays the market's new liquidity and runs its prints; returns the
    /// events of any client fills this caused.
    pub fn apply_tick(
        &mut self,
        symbol: &Symbol,
        tick: &MarketTick,
        now: TimestampMs,
    ) -> Vec<Event> {
        self.apply_tick_taped(symbol, tick, now, None)
    }

    /// `apply_tick`, and, given a `tape`, every trade the market made (its
    /// own orders crossing, its prints, fills of the account's orders)
    /// appended to it, as a venue's public trade stream shows them.
    pub fn apply_tick_taped(
        &mut self,
        symbol: &Symbol,
        tick: &MarketTick,
        now: TimestampMs,
        mut tape: Option<&mut Vec<TapePrint>>,
    ) -> Vec<Event> {
        let Some(market) = self.markets.get_mut(symbol) else {
            return Vec::new();
        };
        for id in market.synthetic.drain(..) {
            market.engine.cancel(id);
        }
        let mut client_fills: Vec<(OrderRef, Decimal, Decimal)> = Vec::new();
        let mut next = self.next_synthetic;
        let sides = [(Side::Sell, &tick.asks), (Side::Buy, &tick.bids)];
        for (side, levels) in sides {
            for Level(price, qty) in levels.iter().copied() {
                next += 1;
                let r = market.engine.submit(Incoming {
                    id: next,
                    owner: Owner::Market,
                    side,
                    limit: Some(price),
                    qty,
                    time_in_force: TimeInForce::Gtc,
                    post_only: false,
                });
                for f in &r.fills {
                    if f.maker_owner == ACCOUNT {
                        client_fills.push((f.maker, f.qty, f.price));
                    }
                    market.last_price = Some(f.price);
                    market.candles.add(f.price, f.qty, now);
                    if let Some(t) = tape.as_mut() {
                        t.push(TapePrint {
                            at_ms: now,
                            price: f.price,
                            qty: f.qty,
                            taker: side,
                        });
                    }
                }
                if r.end == MatchEnd::Rested {
                    market.synthetic.push(next);
                }
            }
        }
        for print in &tick.prints {
            next += 1;
            let r = market.engine.submit(Incoming {
                id: next,
                owner: Owner::Market,
                side: print.side,
                limit: None,
                qty: print.qty,
                time_in_force: TimeInForce::Ioc,
                post_only: false,
            });
            for f in &r.fills {
                if f.maker_owner == ACCOUNT {
                    client_fills.push((f.maker, f.qty, f.price));
                }
                market.last_price = Some(f.price);
                market.candles.add(f.price, f.qty, now);
                if let Some(t) = tape.as_mut() {
                    t.push(TapePrint {
                        at_ms: now,
                        price: f.price,
                        qty: f.qty,
                        taker: print.side,
                    });
                }
            }
        }
        self.next_synthetic = next;
        let mut events = Vec::new();
        for (oref, qty, price) in client_fills {
            if let Err(e) = self.apply_fill(oref, qty, price, Liquidity::Maker, now, &mut events) {
                events.push(Event::log(
                    LogLevel::Error,
                    format!("paper fill failed: {e}"),
                    "paper",
                ));
            }
        }
        events
    }
}

mod views;

/// An order whose cost does not fit in a decimal.
fn too_large() -> PlaceError {
    PlaceError::InvalidParams {
        field: "size",
        reason: "price × size is too large to compute".into(),
    }
}

#[cfg(test)]
mod tests;
