//! The backtester, pure: the same `Strategy` code as live trading, fed
//! recorded market data (`data`: trade prints, and L2 book changes where
//! the data has them) instead of a venue, with a fill model:
//!
//! - the book a strategy sees is the replayed L2 book's best bid and ask
//!   once it has both sides (never while it is crossed or mid-snapshot);
//!   without L2 data, the last print ± `half_spread_bps`;
//! - its orders reach the simulated venue `latency_ms` after it decides;
//! - a resting limit order fills only when a print trades *through* its
//!   price (a buy below it, a sell above it) — at the same price the queue
//!   ahead is assumed to take everything — for at most the print's size,
//!   shared by the orders it crosses, at the order's price, paying
//!   `maker_fee`;
//! - a market order (or a limit order that crosses when it arrives) takes
//!   the simulated top of book moved by `slippage_bps`, paying `taker_fee`;
//!   post-only orders that would cross are rejected.
//!
//! `Backtest::replay` replays one event; `report` measures the result.
//! The strategy is asked to decide after every print, and after a book
//! change that moved the best bid or ask.

pub mod chart;
pub mod data;
pub mod report;

use crate::ids::OrderId;
use crate::order::Side;
use crate::order_book::OrderBook;
use crate::pair::PairSpec;
use crate::pnl::Pnl;
use crate::strategy::{
    Ctx, Fill, Intent, Inventory, Market, OrderIntent, OwnOrder, Strategy, StrategyError,
};
use crate::tape::{DepthChange, MarketEvent, Print};
use crate::time::TimestampMs;
use crate::wire::backtest::{Report, SimSettings};
use report::EquityCurve;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::VecDeque;

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// A strategy's decision on its way to the venue.
#[derive(Debug)]
struct Pending {
    due_ms: TimestampMs,
    intent: Intent,
}

/// One fill the backtest made, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimFill {
    pub at_ms: TimestampMs,
    pub side: Side,
    #[serde(with = "crate::num")]
    pub price: Decimal,
    #[serde(with = "crate::num")]
    pub qty: Decimal,
    #[serde(with = "crate::num")]
    pub fee: Decimal,
    pub maker: bool,
    #[serde(with = "crate::num")]
    pub realized: Decimal,
}

#[derive(Debug)]
pub struct Backtest {
    rules: PairSpec,
    settings: SimSettings,
    strategy: Box<dyn Strategy>,
    base: Decimal,
    quote: Decimal,
    orders: Vec<OwnOrder>,
    pending: VecDeque<Pending>,
    next_id: u64,
    /// The replayed L2 book (empty without L2 data).
    book: OrderBook,
    /// The last event was a snapshot row: the book may be half built.
    in_snapshot: bool,
    /// The market the strategy saw last; the report marks at it.
    last: Option<Market>,
    pnl: Pnl,
    fills: Vec<SimFill>,
    rejected: u64,
    curve: EquityCurve,
    finished: Option<String>,
    /// Why the run stopped early on an error: the strategy's, or an event
    /// it could not replay.
    failed: Option<String>,
    events: u64,
    /// The first and last event time replayed.
    span: Option<(TimestampMs, TimestampMs)>,
}

impl Backtest {
    pub fn new(rules: PairSpec, settings: SimSettings, strategy: Box<dyn Strategy>) -> Self {
        let curve = EquityCurve::new(settings.initial_base, settings.initial_quote);
        Backtest {
            base: settings.initial_base,
            quote: settings.initial_quote,
            rules,
            settings,
            strategy,
            orders: Vec::new(),
            pending: VecDeque::new(),
            next_id: 0,
            book: OrderBook::new(),
            in_snapshot: false,
            last: None,
            pnl: Pnl::default(),
            fills: Vec::new(),
            rejected: 0,
            curve,
            finished: None,
            failed: None,
            events: 0,
            span: None,
        }
    }

    /// The strategy stopped (finished its job, or failed): the rest of the
    /// data changes nothing.
    pub fn done(&self) -> bool {
        self.finished.is_some() || self.failed.is_some()
    }

    /// The market at print `p`: the replayed book's top when it has one,
    /// else the print ± the half spread.
    fn market(&self, p: &Print) -> Market {
        if let Some(m) = self.book_market(p.at_ms) {
            return m;
        }
        let half = p.price * self.settings.half_spread_bps / BPS;
        let bid = self.rules.passive_price(p.price - half, true);
        let ask = self.rules.passive_price(p.price + half, false);
        Market {
            bid: bid.min(p.price),
            ask: ask.max(p.price),
            at_ms: p.at_ms,
        }
    }

    /// The replayed book's best bid and ask, if it has both, is not
    /// crossed and is not halfway through a snapshot.
    fn book_market(&self, at_ms: TimestampMs) -> Option<Market> {
        let (bid, ask) = (self.book.best_bid()?.0, self.book.best_ask()?.0);
        (bid < ask && !self.in_snapshot).then_some(Market { bid, ask, at_ms })
    }

    fn inventory(&self) -> Inventory {
        Inventory {
            base: self.base,
            quote: self.quote,
        }
    }

    /// What open orders hold: (base for sells, quote for buys).
    fn reserved(&self) -> (Decimal, Decimal) {
        self.orders
            .iter()
            .fold((Decimal::ZERO, Decimal::ZERO), |(b, q), o| {
                match (o.side, o.price) {
                    (Side::Sell, _) => (b + o.remaining, q),
                    (Side::Buy, Some(p)) => (b, q + o.remaining * p),
                    (Side::Buy, None) => (b, q),
                }
            })
    }

    /// Replays one event.
    pub fn replay(&mut self, e: &MarketEvent) {
        let at = e.at_ms();
        self.span = Some(self.span.map_or((at, at), |(f, _)| (f, at)));
        match e {
            MarketEvent::Trade(p) => self.step(p),
            MarketEvent::Depth(d) => self.depth(d),
        }
    }

    /// Replays one print.
    pub fn step(&mut self, p: &Print) {
        self.events += 1;
        if self.done() {
            return;
        }
        // Anything but a snapshot row completes a snapshot.
        self.in_snapshot = false;
        let market = self.market(p);
        self.arrive(&market);
        self.cross(p, &market);
        self.tick(market);
    }

    /// Replays one change to the book; the strategy decides only when the
    /// best bid or ask moved.
    fn depth(&mut self, d: &DepthChange) {
        self.events += 1;
        if self.done() {
            return;
        }
        if d.snapshot && !self.in_snapshot {
            self.book = OrderBook::new();
        }
        self.in_snapshot = d.snapshot;
        // The data reader checks every price (`order_book::check_price`);
        // an event built by hand may not have been.
        if let Err(e) = self.book.apply_delta(d.side, d.price, d.qty) {
            self.failed = Some(format!("data error at {} ms: {e}", d.at_ms));
            return;
        }
        let Some(market) = self.book_market(d.at_ms) else {
            return;
        };
        self.arrive(&market);
        let moved = self
            .last
            .is_none_or(|m| m.bid != market.bid || m.ask != market.ask);
        if moved {
            self.tick(market);
        }
    }

    /// The strategy decides at `market`; the equity is marked there.
    fn tick(&mut self, market: Market) {
        self.last = Some(market);
        let ctx = Ctx {
            now: market.at_ms,
            market: &market,
            inventory: self.inventory(),
            orders: &self.orders,
            rules: &self.rules,
        };
        let answer = self.strategy.on_tick(&ctx);
        self.answer(answer, market.at_ms);
        // Without latency, what it just decided reaches this very book.
        self.arrive(&market);
        let mid = market.mid();
        self.curve
            .record(market.at_ms, self.quote + self.base * mid, mid);
    }

    /// The decisions due by now reach the venue, in the order made.
    fn arrive(&mut self, market: &Market) {
        while self
            .pending
            .front()
            .is_some_and(|x| x.due_ms <= market.at_ms)
        {
            if let Some(x) = self.pending.pop_front() {
                self.execute(x.intent, market);
            }
        }
    }

    /// What the strategy answered at `now`: its decisions, or an error
    /// that ends the run.
    fn answer(&mut self, answer: Result<Vec<Intent>, StrategyError>, now: TimestampMs) {
        match answer {
            Ok(intents) => self.decide(intents, now),
            Err(e) => self.failed = Some(format!("strategy error: {}", e.0)),
        }
    }

    fn decide(&mut self, intents: Vec<Intent>, now: TimestampMs) {
        for intent in intents {
            if let Intent::Finish(why) = &intent {
                self.finished = Some(why.clone());
                return;
            }
            if let Intent::Cancel(id) = &intent {
                if let Some(o) = self.orders.iter_mut().find(|o| o.id.as_ref() == Some(id)) {
                    o.cancelling = true;
                }
            }
            self.pending.push_back(Pending {
                due_ms: now + self.settings.latency_ms,
                intent,
            });
        }
    }

    fn execute(&mut self, intent: Intent, market: &Market) {
        match intent {
            Intent::Cancel(id) => self.orders.retain(|o| o.id.as_ref() != Some(&id)),
            Intent::Place(i) => self.place(i, market),
            Intent::Finish(_) => {}
        }
    }

    fn place(&mut self, i: OrderIntent, market: &Market) {
        let crosses = match (i.side, i.price) {
            (_, None) => true,
            (Side::Buy, Some(p)) => p >= market.ask,
            (Side::Sell, Some(p)) => p <= market.bid,
        };
        let (held_base, held_quote) = self.reserved();
        let price_for_funds = i.price.unwrap_or(match i.side {
            Side::Buy => market.ask,
            Side::Sell => market.bid,
        });
        let affordable = match i.side {
            Side::Buy => {
                let cost = i.size * price_for_funds * (Decimal::ONE + self.settings.taker_fee);
                self.quote - held_quote >= cost
            }
            Side::Sell => self.base - held_base >= i.size,
        };
        if (crosses && i.post_only) || !affordable || i.size <= Decimal::ZERO {
            self.rejected += 1;
            return;
        }
        self.next_id += 1;
        let id = OrderId(format!("BT-{}", self.next_id));
        let now = market.at_ms;
        if crosses {
            let slip = Decimal::ONE + self.settings.slippage_bps / BPS;
            let price = match i.side {
                Side::Buy => market.ask * slip,
                Side::Sell => market.bid / slip,
            };
            let price = match i.price {
                Some(limit) if i.side == Side::Buy => price.min(limit.max(market.ask)),
                Some(limit) => price.max(limit.min(market.bid)),
                None => price,
            };
            let fill = Fill {
                order_id: id,
                side: i.side,
                order_price: i.price,
                price,
                qty: i.size,
                order_done: true,
            };
            self.fill(fill, true, market);
            return;
        }
        self.orders.push(OwnOrder {
            id: Some(id),
            side: i.side,
            price: i.price,
            remaining: i.size,
            created_ms: now,
            cancelling: false,
        });
    }

    /// Resting orders the print traded through fill, best price first.
    fn cross(&mut self, p: &Print, market: &Market) {
        let mut left = p.qty;
        let mut hits: Vec<usize> = (0..self.orders.len())
            .filter(|&k| match (self.orders[k].side, self.orders[k].price) {
                (Side::Buy, Some(price)) => p.price < price,
                (Side::Sell, Some(price)) => p.price > price,
                _ => false,
            })
            .collect();
        hits.sort_by(|&a, &b| {
            let (x, y) = (&self.orders[a], &self.orders[b]);
            match x.side {
                Side::Buy => y.price.cmp(&x.price),
                Side::Sell => x.price.cmp(&y.price),
            }
            .then(x.created_ms.cmp(&y.created_ms))
        });
        let mut filled = Vec::new();
        for k in hits {
            if left <= Decimal::ZERO {
                break;
            }
            let o = &mut self.orders[k];
            let qty = o.remaining.min(left);
            left -= qty;
            o.remaining -= qty;
            filled.push((k, qty));
        }
        for (k, qty) in filled {
            let o = &self.orders[k];
            let fill = Fill {
                order_id: o.id.clone().unwrap_or_else(|| OrderId(String::new())),
                side: o.side,
                order_price: o.price,
                price: o.price.unwrap_or(p.price),
                qty,
                order_done: o.remaining.is_zero(),
            };
            self.fill(fill, false, market);
        }
        self.orders.retain(|o| o.remaining > Decimal::ZERO);
    }

    /// Settles `fill` (taker or maker fee) and tells the strategy.
    fn fill(&mut self, fill: Fill, taker: bool, market: &Market) {
        let (side, price, qty, at_ms) = (fill.side, fill.price, fill.qty, market.at_ms);
        let rate = if taker {
            self.settings.taker_fee
        } else {
            self.settings.maker_fee
        };
        let notional = price * qty;
        let fee = notional * rate;
        match side {
            Side::Buy => {
                self.base += qty;
                self.quote -= notional + fee;
            }
            Side::Sell => {
                self.base -= qty;
                self.quote += notional - fee;
            }
        }
        let realized = self.pnl.apply_fill(side, qty, price, fee);
        self.fills.push(SimFill {
            at_ms,
            side,
            price,
            qty,
            fee,
            maker: !taker,
            realized,
        });
        let ctx = Ctx {
            now: at_ms,
            market,
            inventory: self.inventory(),
            orders: &self.orders,
            rules: &self.rules,
        };
        let answer = self.strategy.on_fill(&fill, &ctx);
        self.answer(answer, at_ms);
    }

    /// The equity curve so far (every recorded value, for checks).
    pub fn curve(&self) -> &EquityCurve {
        &self.curve
    }

    /// The result, marked at the last market the strategy saw; `run`
    /// says what was run (the replayed time range is filled in here).
    pub fn report(&self, mut run: crate::wire::backtest::RunInfo) -> Report {
        let mid = self.last.map_or(Decimal::ZERO, |m| m.mid());
        run.from = self.span.map(|(f, _)| crate::time::iso8601_ms(f));
        run.to = self.span.map(|(_, t)| crate::time::iso8601_ms(t));
        run.settings = Some(self.settings.clone());
        let mut r = report::measure(report::Inputs {
            base_asset: self.rules.symbol.base(),
            quote_asset: self.rules.symbol.quote(),
            settings: &self.settings,
            base: self.base,
            quote: self.quote,
            mid,
            pnl: &self.pnl,
            fills: &self.fills,
            rejected: self.rejected,
            curve: &self.curve,
            events: self.events,
            open_orders: self.orders.len(),
            ended: self
                .failed
                .clone()
                .or_else(|| self.finished.clone().map(|f| format!("finished: {f}"))),
        });
        r.run = run;
        r
    }
}

#[cfg(test)]
mod tests;
