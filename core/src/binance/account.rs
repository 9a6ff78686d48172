//! `BinanceAccount`: one Binance connection's orders, fills, positions and
//! balances, built from REST answers, the user data stream and the REST
//! reconciliation after a reconnect. Every fill is keyed by its trade id
//! and applied once, whichever of the stream or the reconciliation reports
//! it first.

use super::symbols::SymbolMap;
use super::wire::{Account, AccountPosition, ExecutionReport, MyTrade, RestOrder};
use crate::ids::OrderId;
use crate::order::{Order, OrderRequest, OrderStatus, OrderType, Side, StrategyTag, TimeInForce};
use crate::pair::Symbol;
use crate::position::Position;
use crate::time::{iso8601_ms, TimestampMs};
use crate::venue::OrderFilter;
use crate::venue::{AccountStats, PlaceError};
use crate::wire::events::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Binance's order status → laicai's (PROTOCOL §4; PENDING_CANCEL stays open).
pub fn status_of(x: &str) -> Option<OrderStatus> {
    Some(match x {
        "NEW" | "PENDING_CANCEL" => OrderStatus::Open,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
        "PENDING_NEW" => OrderStatus::Pending,
        _ => return None,
    })
}

fn side_of(s: &str) -> Side {
    if s.eq_ignore_ascii_case("SELL") {
        Side::Sell
    } else {
        Side::Buy
    }
}

/// An order as a report or a REST answer shows it, to adopt one placed
/// outside laicai.
struct Sighting<'a> {
    order_id: u64,
    client: &'a str,
    side: &'a str,
    kind: &'a str,
    qty: Decimal,
    price: Decimal,
}

/// An order ready to send: its client order id and the request's
/// parameters, in order (signing appends `timestamp`, `recvWindow`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub client_id: String,
    pub params: Vec<(&'static str, String)>,
}

/// One order the account is following that is not finished: what to ask
/// Binance about after a reconnect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOrder {
    pub client_id: String,
    pub venue_symbol: String,
}

#[derive(Debug)]
pub struct BinanceAccount {
    exchange: String,
    symbols: SymbolMap,
    orders: HashMap<String, Order>,
    venue_ids: HashMap<u64, String>,
    live: BTreeSet<String>,
    finished: VecDeque<String>,
    seen_trades: HashSet<(String, i64)>,
    balances: BTreeMap<String, (Decimal, Decimal)>,
    positions: BTreeMap<(Symbol, Option<StrategyTag>), Position>,
    marks: HashMap<Symbol, Decimal>,
    history_limit: usize,
    prefix: String,
    next_client: u64,
    stats: AccountStats,
}

fn valid_client_id(id: &str) -> bool {
    (1..=36).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '_' | '-'))
}

impl BinanceAccount {
    /// `prefix` starts the client order ids laicai generates (unique per
    /// process start, so ids never repeat across restarts).
    pub fn new(exchange: &str, symbols: SymbolMap, history_limit: usize, prefix: &str) -> Self {
        BinanceAccount {
            exchange: exchange.to_string(),
            symbols,
            orders: HashMap::new(),
            venue_ids: HashMap::new(),
            live: BTreeSet::new(),
            finished: VecDeque::new(),
            seen_trades: HashSet::new(),
            balances: BTreeMap::new(),
            positions: BTreeMap::new(),
            marks: HashMap::new(),
            history_limit: history_limit.max(1),
            prefix: prefix.to_string(),
            next_client: 1,
            stats: AccountStats::default(),
        }
    }

    pub fn symbols(&self) -> &SymbolMap {
        &self.symbols
    }

    pub fn set_symbols(&mut self, symbols: SymbolMap) {
        self.symbols = symbols;
    }

    pub fn set_mark(&mut self, symbol: &Symbol, mid: Decimal) {
        self.marks.insert(symbol.clone(), mid);
    }

    /// Checks `req` against the pair's filters and registers it `pending`.
    pub fn prepare(&mut self, req: OrderRequest, now: TimestampMs) -> Result<NewOrder, PlaceError> {
        let invalid = |field, reason: String| PlaceError::InvalidParams { field, reason };
        let venue = self
            .symbols
            .venue(&req.symbol)
            .ok_or_else(|| {
                invalid(
                    "symbol",
                    format!("{} does not trade {}", self.exchange, req.symbol),
                )
            })?
            .to_string();
        if let Some(spec) = self.symbols.spec(&req.symbol) {
            spec.check(req.price, req.size)
                .map_err(|(f, r)| invalid(f, r))?;
        }
        let client_id = match &req.client_order_id {
            Some(c) if !valid_client_id(c) => {
                return Err(invalid(
                    "client_order_id",
                    "Binance takes 1 to 36 characters of A-Z a-z 0-9 . : / _ -".into(),
                ))
            }
            Some(c) if self.live.contains(c) => {
                return Err(invalid(
                    "client_order_id",
                    format!("`{c}` is already used by an open order"),
                ))
            }
            Some(c) => c.clone(),
            None => {
                let id = format!("{}{}", self.prefix, self.next_client);
                self.next_client += 1;
                id
            }
        };
        let mut params: Vec<(&'static str, String)> = vec![
            ("symbol", venue),
            ("side", req.side.as_str().to_ascii_uppercase()),
        ];
        match (req.order_type, req.post_only, req.price) {
            (OrderType::Limit, true, Some(p)) => {
                params.push(("type", "LIMIT_MAKER".into()));
                params.push(("quantity", req.size.normalize().to_string()));
                params.push(("price", p.normalize().to_string()));
            }
            (OrderType::Limit, false, Some(p)) => {
                params.push(("type", "LIMIT".into()));
                params.push((
                    "timeInForce",
                    req.time_in_force.as_str().to_ascii_uppercase(),
                ));
                params.push(("quantity", req.size.normalize().to_string()));
                params.push(("price", p.normalize().to_string()));
            }
            (OrderType::Market, _, _) => {
                if req.time_in_force == TimeInForce::Fok {
                    return Err(invalid(
                        "time_in_force",
                        "Binance market orders are immediate-or-cancel; fok needs a limit price"
                            .into(),
                    ));
                }
                params.push(("type", "MARKET".into()));
                params.push(("quantity", req.size.normalize().to_string()));
            }
            (OrderType::Limit, _, None) => {
                return Err(invalid("price", "is required for limit orders".into()))
            }
        }
        params.push(("newClientOrderId", client_id.clone()));
        params.push(("newOrderRespType", "RESULT".into()));
        let mut order = Order::new(OrderId(client_id.clone()), req, &self.exchange, now);
        order.reason = None;
        self.orders.insert(client_id.clone(), order);
        self.live.insert(client_id.clone());
        Ok(NewOrder { client_id, params })
    }

    /// The order as events and commands show it.
    pub fn view(&self, client_id: &str) -> Option<OrderView> {
        self.orders.get(client_id).map(OrderView::of)
    }

    fn finish(&mut self, client_id: &str) {
        if self.live.remove(client_id) {
            self.finished.push_back(client_id.to_string());
            while self.finished.len() > self.history_limit {
                if let Some(old) = self.finished.pop_front() {
                    self.orders.remove(&old);
                    self.venue_ids.retain(|_, c| *c != old);
                }
            }
        }
    }

    /// Moves the order to `status` if its lifecycle allows; answers whether it changed.
    fn move_to(
        &mut self,
        client_id: &str,
        status: OrderStatus,
        reason: Option<String>,
        now: TimestampMs,
    ) -> bool {
        let Some(o) = self.orders.get_mut(client_id) else {
            return false;
        };
        if o.status == status || !o.status.can_become(status) {
            return false;
        }
        if status == OrderStatus::Filled && o.remaining() > Decimal::ZERO {
            // Filled only through its fills, which may still be on their way.
            return false;
        }
        if reason.is_some() {
            o.reason = reason;
        }
        let changed = o.transition(status, now).is_ok();
        if status.is_terminal() {
            self.finish(client_id);
        }
        changed
    }

    /// Binance accepted the order (`POST /api/v3/order`, RESULT). Its fills
    /// come through the stream (or the reconciliation), never from here.
    pub fn accepted(&mut self, client_id: &str, ack: &RestOrder, now: TimestampMs) -> Vec<Event> {
        self.venue_ids.insert(ack.order_id, client_id.to_string());
        self.apply_status(client_id, ack, now)
    }

    /// A REST answer's status, applied only when it does not run ahead of
    /// the fills this account has seen.
    fn apply_status(&mut self, client_id: &str, state: &RestOrder, now: TimestampMs) -> Vec<Event> {
        let Some(status) = status_of(&state.status) else {
            return Vec::new();
        };
        let Some(filled) = self.orders.get(client_id).map(|o| o.filled) else {
            return Vec::new();
        };
        let target = match status {
            // Open with nothing seen filled yet: still open for us.
            OrderStatus::PartiallyFilled | OrderStatus::Filled if filled < state.executed_qty => {
                return Vec::new()
            }
            OrderStatus::PartiallyFilled if filled.is_zero() => OrderStatus::Open,
            s => s,
        };
        let mut events = Vec::new();
        if self.move_to(client_id, target, None, now) {
            events.extend(self.view(client_id).map(Event::OrderUpdate));
        }
        events
    }

    /// Binance refused the order (or it never arrived): rejected, with why.
    pub fn refused(&mut self, client_id: &str, reason: &str, now: TimestampMs) -> Vec<Event> {
        let mut events = Vec::new();
        if self.move_to(
            client_id,
            OrderStatus::Rejected,
            Some(reason.to_string()),
            now,
        ) {
            events.extend(self.view(client_id).map(Event::OrderUpdate));
        }
        events
    }

    /// Finds the order a report is about, adopting one placed outside
    /// laicai (on the website, by another program).
    fn client_of(&mut self, symbol: &Symbol, s: Sighting, now: TimestampMs) -> String {
        let Sighting {
            order_id,
            client,
            side,
            kind,
            qty,
            price,
        } = s;
        if let Some(c) = self.venue_ids.get(&order_id) {
            return c.clone();
        }
        if self.orders.contains_key(client) {
            self.venue_ids.insert(order_id, client.to_string());
            return client.to_string();
        }
        let key = if client.is_empty() {
            format!("binance-{order_id}")
        } else {
            client.to_string()
        };
        let order_type = if kind == "MARKET" {
            OrderType::Market
        } else {
            OrderType::Limit
        };
        let req = OrderRequest {
            symbol: symbol.clone(),
            side: side_of(side),
            order_type,
            size: qty,
            price: (order_type == OrderType::Limit).then_some(price),
            time_in_force: TimeInForce::Gtc,
            post_only: kind == "LIMIT_MAKER",
            client_order_id: Some(key.clone()),
            exchange: Some(self.exchange.clone()),
            strategy: None,
        };
        self.orders.insert(
            key.clone(),
            Order::new(OrderId(key.clone()), req, &self.exchange, now),
        );
        self.live.insert(key.clone());
        self.venue_ids.insert(order_id, key.clone());
        key
    }

    /// Applies one fill unless its trade id was seen; answers the events.
    #[expect(
        clippy::too_many_arguments,
        reason = "a fill is many independent facts from the venue; a struct would only rename them"
    )]
    fn fill(
        &mut self,
        client_id: &str,
        venue_symbol: &str,
        trade_id: i64,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_asset: &str,
        maker: bool,
        now: TimestampMs,
    ) -> Vec<Event> {
        if trade_id < 0
            || !self
                .seen_trades
                .insert((venue_symbol.to_string(), trade_id))
        {
            return Vec::new();
        }
        let Some(o) = self.orders.get_mut(client_id) else {
            return Vec::new();
        };
        if let Err(e) = o.fill(qty, price, Decimal::ZERO, now) {
            return vec![Event::log(
                LogLevel::Error,
                format!("binance fill not applied: {e}"),
                &self.exchange,
            )];
        }
        let req = o.request.clone();
        let done = o.status == OrderStatus::Filled;
        let quote = req.symbol.quote().to_string();
        // Fees count toward fees and PnL only when paid in the quote asset;
        // others (BNB) are reported with their asset.
        let quote_fee = if fee_asset == quote {
            fee
        } else {
            Decimal::ZERO
        };
        o.fees += quote_fee;
        let position = self
            .positions
            .entry((req.symbol.clone(), req.strategy.clone()))
            .or_default();
        let realized = position.apply_fill(req.side, qty, price);
        self.stats.record_fill(realized, quote_fee);
        let trade = TradeView {
            trade_id: format!("{venue_symbol}-{trade_id}"),
            order_id: client_id.to_string(),
            symbol: req.symbol.to_string(),
            price,
            amount: qty,
            side: req.side,
            fee,
            fee_asset: fee_asset.to_string(),
            liquidity: if maker {
                Liquidity::Maker
            } else {
                Liquidity::Taker
            },
            strategy: req.strategy.as_ref().map(|t| t.name.clone()),
            strategy_id: req.strategy.as_ref().map(|t| t.id.0.clone()),
            exchange: self.exchange.clone(),
            connection_id: None,
            time: iso8601_ms(now),
        };
        if done {
            self.finish(client_id);
        }
        let mut events = vec![Event::Trade(trade)];
        events.extend(
            self.position_view(&req.symbol, &req.strategy)
                .map(Event::Position),
        );
        events
    }

    /// An `executionReport` from the user data stream.
    pub fn on_execution(&mut self, er: &ExecutionReport, now: TimestampMs) -> Vec<Event> {
        let Some(symbol) = self.symbols.symbol(&er.symbol).cloned() else {
            return Vec::new();
        };
        let client = self.client_of(
            &symbol,
            Sighting {
                order_id: er.order_id,
                client: &er.client_order_id,
                side: &er.side,
                kind: &er.order_type,
                qty: er.quantity,
                price: er.price,
            },
            now,
        );
        let mut events = Vec::new();
        let mut changed = false;
        if er.execution_type == "TRADE" {
            let fee = er.commission.unwrap_or_default();
            let asset = er
                .commission_asset
                .clone()
                .unwrap_or_else(|| symbol.quote().to_string());
            let fill = self.fill(
                &client,
                &er.symbol,
                er.trade_id,
                er.last_qty,
                er.last_price,
                fee,
                &asset,
                er.is_maker,
                now,
            );
            changed = !fill.is_empty();
            events.extend(fill);
        }
        if let Some(status) = status_of(&er.status) {
            let status = if status == OrderStatus::PartiallyFilled
                && self.orders.get(&client).is_some_and(|o| o.filled.is_zero())
            {
                OrderStatus::Open
            } else {
                status
            };
            let reason = (er.reject_reason != "NONE" && !er.reject_reason.is_empty())
                .then(|| er.reject_reason.clone());
            changed |= self.move_to(&client, status, reason, now);
        }
        if changed {
            if let Some(v) = self.view(&client) {
                events.insert(0, Event::OrderUpdate(v));
            }
        }
        events
    }

    /// An open order from `GET /api/v3/openOrders`: one this account does
    /// not know yet (placed elsewhere, or before laicai restarted) is
    /// adopted; its fills come with the reconciliation that follows.
    pub fn adopt_open(&mut self, o: &RestOrder, now: TimestampMs) {
        let Some(symbol) = self.symbols.symbol(&o.symbol).cloned() else {
            return;
        };
        if self.venue_ids.contains_key(&o.order_id) || self.orders.contains_key(&o.client_order_id)
        {
            return;
        }
        self.client_of(
            &symbol,
            Sighting {
                order_id: o.order_id,
                client: &o.client_order_id,
                side: &o.side,
                kind: &o.order_type,
                qty: o.orig_qty,
                price: o.price,
            },
            now,
        );
    }

    /// The orders to ask about after a reconnect.
    pub fn live_orders(&self) -> Vec<LiveOrder> {
        self.live
            .iter()
            .filter_map(|c| {
                let o = self.orders.get(c)?;
                Some(LiveOrder {
                    client_id: c.clone(),
                    venue_symbol: self.symbols.venue(&o.request.symbol)?.to_string(),
                })
            })
            .collect()
    }

    /// After a reconnect: the order's state and its trades over REST. Fills
    /// the stream already reported are skipped by trade id.
    pub fn reconcile(
        &mut self,
        client_id: &str,
        state: &RestOrder,
        trades: &[MyTrade],
        now: TimestampMs,
    ) -> Vec<Event> {
        self.venue_ids.insert(state.order_id, client_id.to_string());
        let mut events = Vec::new();
        let mut sorted: Vec<&MyTrade> = trades
            .iter()
            .filter(|t| t.order_id == state.order_id)
            .collect();
        sorted.sort_by_key(|t| t.id);
        let mut changed = false;
        for t in sorted {
            let fill = self.fill(
                client_id,
                &t.symbol,
                t.id,
                t.qty,
                t.price,
                t.commission,
                &t.commission_asset,
                t.is_maker,
                now,
            );
            changed |= !fill.is_empty();
            events.extend(fill);
        }
        let status_events = self.apply_status(client_id, state, now);
        if changed && status_events.is_empty() {
            events.extend(self.view(client_id).map(Event::OrderUpdate));
        }
        events.extend(status_events);
        events
    }

    fn balance_view(&self, asset: &str) -> Option<BalanceView> {
        let (free, used) = *self.balances.get(asset)?;
        Some(BalanceView {
            asset: asset.to_string(),
            free,
            used,
            total: free + used,
            exchange: self.exchange.clone(),
            connection_id: None,
        })
    }

    pub fn set_balances(&mut self, a: &Account) -> Vec<Event> {
        self.balances = a
            .balances
            .iter()
            .filter(|b| !(b.free + b.locked).is_zero())
            .map(|b| (b.asset.clone(), (b.free, b.locked)))
            .collect();
        self.balances().into_iter().map(Event::Balance).collect()
    }

    pub fn on_account(&mut self, p: &AccountPosition) -> Vec<Event> {
        let mut events = Vec::new();
        for b in &p.balances {
            self.balances.insert(b.asset.clone(), (b.free, b.locked));
            events.extend(self.balance_view(&b.asset).map(Event::Balance));
        }
        events
    }

    pub fn balances(&self) -> Vec<BalanceView> {
        self.balances
            .keys()
            .filter_map(|a| self.balance_view(a))
            .collect()
    }

    fn position_view(
        &self,
        symbol: &Symbol,
        strategy: &Option<StrategyTag>,
    ) -> Option<PositionView> {
        let p = self.positions.get(&(symbol.clone(), strategy.clone()))?;
        let mark = self.marks.get(symbol).copied().unwrap_or(p.entry_price);
        Some(PositionView::of(symbol, strategy, p, mark, &self.exchange))
    }

    pub fn positions(&self) -> Vec<PositionView> {
        self.positions
            .keys()
            .filter_map(|(s, t)| self.position_view(s, t))
            .collect()
    }

    /// Orders matching the filter, newest first.
    pub fn orders(&self, f: &OrderFilter) -> Vec<OrderView> {
        let mut list: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| f.matches_order(o))
            .collect();
        list.sort_by(|a, b| {
            b.created_ms
                .cmp(&a.created_ms)
                .then_with(|| b.id.0.cmp(&a.id.0))
        });
        list.into_iter()
            .take(f.limit.unwrap_or(usize::MAX))
            .map(OrderView::of)
            .collect()
    }

    /// The client ids of open orders matching the filter.
    pub fn open_matching(&self, f: &OrderFilter) -> Vec<(String, String)> {
        self.live
            .iter()
            .filter_map(|c| {
                let o = self.orders.get(c)?;
                (o.status.is_open() && f.matches_order(o))
                    .then(|| {
                        Some((
                            c.clone(),
                            self.symbols.venue(&o.request.symbol)?.to_string(),
                        ))
                    })
                    .flatten()
            })
            .collect()
    }

    pub fn venue_symbol_of(&self, client_id: &str) -> Option<String> {
        let o = self.orders.get(client_id)?;
        self.symbols.venue(&o.request.symbol).map(str::to_string)
    }

    pub fn stats(&self) -> AccountStats {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests;
