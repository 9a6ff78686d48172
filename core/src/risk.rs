//! The risk manager's rules and state, pure: `RiskLimits` (from config) and
//! `RiskManager`, which checks every order before it reaches an exchange
//! and follows the venues' order, trade and price events to know open
//! orders, positions and PnL — for the account and for each strategy.
//!
//! Per order: kill switch, halted scope, size, notional, price band around
//! the mid, the pair's tick/step/minimum notional. Per scope (account, each
//! strategy): open orders, order rate, position per pair; and on every
//! trade and price, daily loss (from the UTC day's start) and drawdown
//! (from the peak) of its trading PnL (realized − fees + unrealized, in
//! the quote asset), which halt the scope when breached.

use crate::enums::wire_enum;
use crate::error::Coded;
use crate::error::ErrorCode;
use crate::ids::StrategyId;
use crate::order::{OrderRequest, OrderStatus, Side};
use crate::pair::PairSpec;
use crate::pnl::Pnl;
use crate::time::TimestampMs;
use crate::wire::events::{OrderView, TradeView};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

const DAY_MS: i64 = 86_400_000;

mod limits;

pub use limits::{KillMode, RiskLimits, ScopeLimits, StaleAction};

/// The stale data guard: why a strategy must not quote on its market data
/// now (`None` when it may): no data yet, data older than `max_age_ms`, or
/// the venue's connection is down.
pub fn stale_data(
    last_data_ms: Option<TimestampMs>,
    connected: bool,
    now: TimestampMs,
    max_age_ms: u64,
) -> Option<String> {
    if !connected {
        return Some("the exchange connection is not connected".into());
    }
    let Some(at) = last_data_ms else {
        return Some("no market data yet".into());
    };
    let age = now.saturating_sub(at);
    (age > max_age_ms as i64)
        .then(|| format!("market data is {age} ms old (limit {max_age_ms} ms)"))
}

/// Whose limits: the whole account, or one strategy instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Account,
    Strategy(StrategyId),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Account => f.write_str("account"),
            Scope::Strategy(id) => write!(f, "strategy {id}"),
        }
    }
}

/// Why an order was refused; the message starts with the rule's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskViolation {
    #[error(
        "kill_switch: engaged ({mode}): {reason}; new orders are refused until reset_kill_switch"
    )]
    KillSwitch { mode: KillMode, reason: String },
    #[error("halted: {scope} is halted: {reason}")]
    Halted { scope: Scope, reason: String },
    #[error("max_order_size: order size {size} exceeds the limit {limit}")]
    OrderSize { size: Decimal, limit: Decimal },
    #[error("max_order_notional: order notional {notional} exceeds the limit {limit}")]
    OrderNotional { notional: Decimal, limit: Decimal },
    #[error(
        "price_band_pct: price {price} is {off}% from the mid {mid}, beyond the band of {band}%"
    )]
    PriceBand {
        price: Decimal,
        mid: Decimal,
        off: Decimal,
        band: Decimal,
    },
    #[error("no_reference_price: no market price for {0} yet, needed by the risk limits")]
    NoReferencePrice(String),
    #[error("invalid `{field}`: {reason}")]
    PairRule { field: &'static str, reason: String },
    #[error("max_open_orders: {scope} has {count} open orders, the limit is {limit}")]
    OpenOrders {
        scope: Scope,
        count: usize,
        limit: usize,
    },
    #[error("max_orders_per_sec: {scope} sent {limit} orders in the last second, the limit")]
    OrderRate { scope: Scope, limit: u32 },
    #[error("max_position_notional: {scope} would hold {size} {symbol} worth {notional}, beyond the limit {limit}")]
    Position {
        scope: Scope,
        symbol: String,
        size: Decimal,
        notional: Decimal,
        limit: Decimal,
    },
}

impl Coded for RiskViolation {
    fn code(&self) -> ErrorCode {
        match self {
            RiskViolation::PairRule { .. } => ErrorCode::InvalidParams,
            _ => ErrorCode::RiskRejected,
        }
    }
}

/// A scope crossed a loss limit: it is halted (the account's breach trips
/// the kill switch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub scope: Scope,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KillSwitch {
    pub mode: KillMode,
    pub reason: String,
    pub since_ms: TimestampMs,
}

wire_enum!(
    /// Which loss limit halted a scope.
    Rule { DailyLoss => "daily_loss", Drawdown => "drawdown" }
);

type Market = (String, String);

#[derive(Clone, Debug, Default)]
struct ScopeState {
    pnl: HashMap<Market, Pnl>,
    recent: VecDeque<TimestampMs>,
    inflight: usize,
    day: Option<i64>,
    day_start: Decimal,
    peak: Decimal,
    breach: Option<(Rule, String)>,
}

#[derive(Clone, Debug)]
struct OpenOrder {
    strategy: Option<StrategyId>,
    market: Market,
    side: Side,
    remaining: Decimal,
}

/// What the risk manager remembers across a restart: the kill switch, and
/// for each scope its PnL per market, its UTC day's starting point, its
/// peak and its halt. Stored with exact decimals (as text).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskMemory {
    pub kill_switch: Option<KillSwitch>,
    pub scopes: Vec<ScopeMemory>,
    pub marks: Vec<MarketMark>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopeMemory {
    /// `None` for the account.
    pub strategy: Option<StrategyId>,
    pub pnl: Vec<MarketPnl>,
    pub day: Option<i64>,
    #[serde(with = "crate::num::text")]
    pub day_start: Decimal,
    #[serde(with = "crate::num::text")]
    pub peak: Decimal,
    pub halted: Option<(Rule, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketPnl {
    pub exchange: String,
    pub symbol: String,
    pub pnl: Pnl,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketMark {
    pub exchange: String,
    pub symbol: String,
    #[serde(with = "crate::num::text")]
    pub mid: Decimal,
}

/// One scope's standing, as `get_risk_limits` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScopeStatus {
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    #[serde(with = "crate::num")]
    pub daily_pnl: Decimal,
    #[serde(with = "crate::num")]
    pub drawdown: Decimal,
    pub open_orders: usize,
    pub halted: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskStatus {
    pub limits: RiskLimits,
    pub kill_switch: Option<KillSwitch>,
    pub account: ScopeStatus,
    pub strategies: BTreeMap<String, ScopeStatus>,
}

#[derive(Debug)]
pub struct RiskManager {
    limits: RiskLimits,
    rules: HashMap<Market, PairSpec>,
    marks: HashMap<Market, Decimal>,
    open: HashMap<(String, String), OpenOrder>,
    scopes: HashMap<Scope, ScopeState>,
    kill: Option<KillSwitch>,
}

fn market_of(exchange: &str, symbol: &str) -> Market {
    (exchange.to_string(), symbol.to_string())
}

/// A per-market map's entries, sorted by market (stored records must not
/// depend on hash order).
fn by_market<T: Copy>(map: &HashMap<Market, T>) -> impl Iterator<Item = (Market, T)> {
    let sorted: BTreeMap<Market, T> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
    sorted.into_iter()
}

fn signed(side: Side, qty: Decimal) -> Decimal {
    match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    }
}

impl RiskManager {
    /// `rules` are the pairs' trading rules per exchange.
    pub fn new(limits: RiskLimits, rules: Vec<(String, PairSpec)>) -> Self {
        RiskManager {
            limits,
            rules: rules
                .into_iter()
                .map(|(ex, spec)| (market_of(&ex, spec.symbol.as_str()), spec))
                .collect(),
            marks: HashMap::new(),
            open: HashMap::new(),
            scopes: HashMap::new(),
            kill: None,
        }
    }

    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    /// What must survive a restart (see `RiskMemory`), sorted so equal
    /// states give equal records.
    pub fn memory(&self) -> RiskMemory {
        let mut scopes: Vec<ScopeMemory> = self
            .scopes
            .iter()
            .map(|(scope, s)| {
                let pnl = by_market(&s.pnl)
                    .map(|((exchange, symbol), pnl)| MarketPnl {
                        exchange,
                        symbol,
                        pnl,
                    })
                    .collect();
                ScopeMemory {
                    strategy: match scope {
                        Scope::Account => None,
                        Scope::Strategy(id) => Some(id.clone()),
                    },
                    pnl,
                    day: s.day,
                    day_start: s.day_start,
                    peak: s.peak,
                    halted: s.breach.clone(),
                }
            })
            .collect();
        scopes.sort_by(|a, b| a.strategy.cmp(&b.strategy));
        let marks = by_market(&self.marks)
            .map(|((exchange, symbol), mid)| MarketMark {
                exchange,
                symbol,
                mid,
            })
            .collect();
        RiskMemory {
            kill_switch: self.kill.clone(),
            scopes,
            marks,
        }
    }

    /// Takes back what `memory` gave before a restart. Marks newer than
    /// the remembered ones (already followed) are kept.
    pub fn restore(&mut self, memory: RiskMemory) {
        self.kill = memory.kill_switch;
        for m in memory.marks {
            self.marks
                .entry(market_of(&m.exchange, &m.symbol))
                .or_insert(m.mid);
        }
        for m in memory.scopes {
            let scope = m.strategy.map_or(Scope::Account, Scope::Strategy);
            let s = self.scopes.entry(scope).or_default();
            s.pnl = m
                .pnl
                .into_iter()
                .map(|p| (market_of(&p.exchange, &p.symbol), p.pnl))
                .collect();
            s.day = m.day;
            s.day_start = m.day_start;
            s.peak = m.peak;
            s.breach = m.halted;
        }
    }

    pub fn kill_switch(&self) -> Option<&KillSwitch> {
        self.kill.as_ref()
    }

    fn scopes_of(strategy: Option<&StrategyId>) -> Vec<Scope> {
        let mut s = vec![Scope::Account];
        s.extend(strategy.cloned().map(Scope::Strategy));
        s
    }

    fn scope_limits(&self, scope: &Scope) -> &ScopeLimits {
        match scope {
            Scope::Account => &self.limits.account,
            Scope::Strategy(_) => &self.limits.strategy,
        }
    }

    fn open_count(&self, scope: &Scope) -> usize {
        match scope {
            Scope::Account => self.open.len(),
            Scope::Strategy(id) => self
                .open
                .values()
                .filter(|o| o.strategy.as_ref() == Some(id))
                .count(),
        }
    }

    /// Checks an order bound for `exchange`. On success the order counts
    /// toward the rate and open-order limits until `release` is called with
    /// the venue's answer.
    pub fn check(
        &mut self,
        exchange: &str,
        req: &OrderRequest,
        now: TimestampMs,
    ) -> Result<(), RiskViolation> {
        if let Some(k) = &self.kill {
            return Err(RiskViolation::KillSwitch {
                mode: k.mode,
                reason: k.reason.clone(),
            });
        }
        let strategy = req.strategy.as_ref().map(|t| &t.id);
        let scopes = Self::scopes_of(strategy);
        for scope in &scopes {
            if let Some((_, reason)) = self.scopes.get(scope).and_then(|s| s.breach.as_ref()) {
                return Err(RiskViolation::Halted {
                    scope: scope.clone(),
                    reason: reason.clone(),
                });
            }
        }
        let market = market_of(exchange, req.symbol.as_str());
        if let Some(spec) = self.rules.get(&market) {
            spec.check(req.price, req.size)
                .map_err(|(field, reason)| RiskViolation::PairRule { field, reason })?;
        }
        self.check_order(&market, req)?;
        for scope in &scopes {
            self.check_scope(scope, &market, req, now)?;
        }
        for scope in scopes {
            let s = self.scopes.entry(scope).or_default();
            s.inflight += 1;
            s.recent.push_back(now);
            while s.recent.front().is_some_and(|t| now - *t >= 1000) {
                s.recent.pop_front();
            }
        }
        Ok(())
    }

    /// The order on its own: its size, notional and price band.
    fn check_order(&self, market: &Market, req: &OrderRequest) -> Result<(), RiskViolation> {
        let mark = self.marks.get(market).copied();
        let no_mark = || RiskViolation::NoReferencePrice(req.symbol.to_string());
        let l = &self.limits;
        if let Some(limit) = l.max_order_size {
            if req.size > limit {
                return Err(RiskViolation::OrderSize {
                    size: req.size,
                    limit,
                });
            }
        }
        if let Some(limit) = l.max_order_notional {
            let notional = req
                .price
                .or(mark)
                .ok_or_else(no_mark)?
                .checked_mul(req.size)
                .unwrap_or(Decimal::MAX);
            if notional > limit {
                return Err(RiskViolation::OrderNotional { notional, limit });
            }
        }
        if let (Some(band), Some(price)) = (l.price_band_pct, req.price) {
            let mid = mark.ok_or_else(no_mark)?;
            let off = ((price - mid).abs() / mid * Decimal::ONE_HUNDRED).round_dp(4);
            if off > band {
                return Err(RiskViolation::PriceBand {
                    price,
                    mid,
                    off,
                    band,
                });
            }
        }
        Ok(())
    }

    /// The order within a scope (the account, or its strategy): open
    /// orders, order rate, and the position it could build.
    fn check_scope(
        &self,
        scope: &Scope,
        market: &Market,
        req: &OrderRequest,
        now: TimestampMs,
    ) -> Result<(), RiskViolation> {
        let limits = self.scope_limits(scope);
        let state = self.scopes.get(scope);
        if let Some(limit) = limits.max_open_orders {
            let count = self.open_count(scope) + state.map_or(0, |s| s.inflight);
            if count >= limit {
                return Err(RiskViolation::OpenOrders {
                    scope: scope.clone(),
                    count,
                    limit,
                });
            }
        }
        if let Some(limit) = limits.max_orders_per_sec {
            let recent = state.map_or(0, |s| s.recent.iter().filter(|t| now - **t < 1000).count());
            if recent >= limit as usize {
                return Err(RiskViolation::OrderRate {
                    scope: scope.clone(),
                    limit,
                });
            }
        }
        let Some(limit) = limits.max_position_notional else {
            return Ok(());
        };
        let held = state
            .and_then(|s| s.pnl.get(market))
            .map_or(Decimal::ZERO, |p| p.position.size);
        let resting: Decimal = self
            .open
            .values()
            .filter(|o| o.market == *market && o.side == req.side)
            .filter(|o| match scope {
                Scope::Account => true,
                Scope::Strategy(id) => o.strategy.as_ref() == Some(id),
            })
            .map(|o| signed(o.side, o.remaining))
            .sum();
        let projected = held + resting + signed(req.side, req.size);
        if projected.abs() <= held.abs() {
            return Ok(());
        }
        let mark = self.marks.get(market).copied();
        let price = mark
            .or(req.price)
            .ok_or_else(|| RiskViolation::NoReferencePrice(req.symbol.to_string()))?;
        let notional = projected.abs() * price;
        if notional > limit {
            return Err(RiskViolation::Position {
                scope: scope.clone(),
                symbol: req.symbol.to_string(),
                size: projected,
                notional,
                limit,
            });
        }
        Ok(())
    }

    /// The venue answered an order that passed `check`.
    pub fn release(&mut self, req: &OrderRequest) {
        for scope in Self::scopes_of(req.strategy.as_ref().map(|t| &t.id)) {
            if let Some(s) = self.scopes.get_mut(&scope) {
                s.inflight = s.inflight.saturating_sub(1);
            }
        }
    }

    /// Follows an order's lifecycle to count open orders and resting size.
    pub fn on_order(&mut self, o: &OrderView) {
        let key = (o.exchange.clone(), o.order_id.clone());
        if o.status.is_open() {
            self.open.insert(
                key,
                OpenOrder {
                    strategy: o.strategy_id.clone().map(StrategyId),
                    market: market_of(&o.exchange, &o.symbol),
                    side: o.side,
                    remaining: o.remaining,
                },
            );
        } else if o.status != OrderStatus::Pending {
            self.open.remove(&key);
        }
    }

    /// Applies a fill to the account's and its strategy's PnL.
    pub fn on_trade(&mut self, t: &TradeView, now: TimestampMs) -> Vec<Breach> {
        let market = market_of(&t.exchange, &t.symbol);
        let scopes = Self::scopes_of(t.strategy_id.clone().map(StrategyId).as_ref());
        for scope in &scopes {
            // The day's starting point is the PnL before this fill.
            self.scopes.entry(scope.clone()).or_default();
            self.roll_day(scope, now);
            let s = self.scopes.entry(scope.clone()).or_default();
            s.pnl
                .entry(market.clone())
                .or_default()
                .apply_fill(t.side, t.amount, t.price, t.fee);
        }
        scopes
            .into_iter()
            .filter_map(|s| self.evaluate(s, now))
            .collect()
    }

    /// A new mid price for a pair: re-marks every scope holding it.
    pub fn on_mark(
        &mut self,
        exchange: &str,
        symbol: &str,
        mid: Decimal,
        now: TimestampMs,
    ) -> Vec<Breach> {
        let market = market_of(exchange, symbol);
        self.marks.insert(market.clone(), mid);
        let holding: Vec<Scope> = self
            .scopes
            .iter()
            .filter(|(_, s)| {
                s.pnl
                    .get(&market)
                    .is_some_and(|p| !p.position.size.is_zero())
            })
            .map(|(k, _)| k.clone())
            .collect();
        holding
            .into_iter()
            .filter_map(|s| self.evaluate(s, now))
            .collect()
    }

    pub fn mark(&self, exchange: &str, symbol: &str) -> Option<Decimal> {
        self.marks.get(&market_of(exchange, symbol)).copied()
    }

    fn total_pnl(&self, state: &ScopeState) -> Decimal {
        state
            .pnl
            .iter()
            .map(|(m, p)| p.total(self.marks.get(m).copied()))
            .sum()
    }

    /// Rolls the day, moves the peak, and halts the scope on a breach
    /// (reported once).
    fn roll_day(&mut self, scope: &Scope, now: TimestampMs) {
        let Some(total) = self.scopes.get(scope).map(|s| self.total_pnl(s)) else {
            return;
        };
        let Some(s) = self.scopes.get_mut(scope) else {
            return;
        };
        let day = now.div_euclid(DAY_MS);
        if s.day != Some(day) {
            s.day = Some(day);
            s.day_start = total;
            if matches!(s.breach, Some((Rule::DailyLoss, _))) {
                s.breach = None;
            }
        }
    }

    fn evaluate(&mut self, scope: Scope, now: TimestampMs) -> Option<Breach> {
        self.roll_day(&scope, now);
        let total = self.total_pnl(self.scopes.get(&scope)?);
        let limits = self.scope_limits(&scope).clone();
        let s = self.scopes.get_mut(&scope)?;
        s.peak = s.peak.max(total);
        if s.breach.is_some() {
            return None;
        }
        let lost_today = s.day_start - total;
        let drawdown = s.peak - total;
        let breach = if let Some(limit) = limits.max_daily_loss.filter(|l| lost_today > *l) {
            Some((
                Rule::DailyLoss,
                format!("max_daily_loss: lost {lost_today} today, beyond the limit {limit}"),
            ))
        } else {
            limits.max_drawdown.filter(|l| drawdown > *l).map(|limit| {
                (
                    Rule::Drawdown,
                    format!("max_drawdown: {drawdown} below the peak, beyond the limit {limit}"),
                )
            })
        };
        let (rule, message) = breach?;
        s.breach = Some((rule, message.clone()));
        Some(Breach { scope, message })
    }

    /// Engages the kill switch (or upgrades `pause` to `stop`); answers
    /// whether anything changed.
    pub fn engage(&mut self, mode: KillMode, reason: &str, now: TimestampMs) -> bool {
        match &mut self.kill {
            Some(k) if k.mode == KillMode::Stop || k.mode == mode => false,
            Some(k) => {
                k.mode = mode;
                true
            }
            None => {
                self.kill = Some(KillSwitch {
                    mode,
                    reason: reason.to_string(),
                    since_ms: now,
                });
                true
            }
        }
    }

    /// Clears the kill switch and every halt; loss limits count again
    /// from the current PnL. Answers whether anything was engaged.
    pub fn reset(&mut self) -> bool {
        let mut changed = self.kill.take().is_some();
        let totals: Vec<(Scope, Decimal)> = self
            .scopes
            .iter()
            .map(|(k, s)| (k.clone(), self.total_pnl(s)))
            .collect();
        for (scope, total) in totals {
            if let Some(s) = self.scopes.get_mut(&scope) {
                changed |= s.breach.take().is_some();
                s.peak = total;
                s.day_start = total;
            }
        }
        changed
    }

    fn scope_status(&self, scope: &Scope) -> ScopeStatus {
        let state = self.scopes.get(scope);
        let pnl = state.map_or(Decimal::ZERO, |s| self.total_pnl(s));
        ScopeStatus {
            pnl,
            daily_pnl: state.map_or(Decimal::ZERO, |s| pnl - s.day_start),
            drawdown: state.map_or(Decimal::ZERO, |s| (s.peak - pnl).max(Decimal::ZERO)),
            open_orders: self.open_count(scope),
            halted: state.and_then(|s| s.breach.as_ref().map(|(_, m)| m.clone())),
        }
    }

    pub fn status(&self) -> RiskStatus {
        RiskStatus {
            limits: self.limits.clone(),
            kill_switch: self.kill.clone(),
            account: self.scope_status(&Scope::Account),
            strategies: self
                .scopes
                .keys()
                .filter_map(|s| match s {
                    Scope::Strategy(id) => Some((id.0.clone(), self.scope_status(s))),
                    Scope::Account => None,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
