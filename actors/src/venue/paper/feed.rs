//! `MarketFeedActor`: drives the paper exchange's simulated markets. Each
//! pair's `SyntheticMarket` steps at its configured rate; every step goes
//! to the exchange as an `ApplyTick`. Steps the exchange has no room for
//! are dropped (the simulated market moves on), never queued without bound.

use crate::clock::Clock;
use crate::venue::paper::{ApplyTick, PaperVenue};
use actix::prelude::*;
use laicai_core::feed::SyntheticMarket;
use laicai_core::pair::Symbol;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct PairFeed {
    pub symbol: Symbol,
    pub market: SyntheticMarket,
    pub ticks_per_sec: f64,
    emitted: u64,
}

impl PairFeed {
    pub fn new(symbol: Symbol, market: SyntheticMarket, ticks_per_sec: f64) -> Self {
        PairFeed {
            symbol,
            market,
            ticks_per_sec,
            emitted: 0,
        }
    }
}

/// Most steps one pair may catch up in one timer firing.
const MAX_BURST: u64 = 1000;

#[derive(Debug)]
pub struct MarketFeedActor {
    exchange: Addr<PaperVenue>,
    pairs: Vec<PairFeed>,
    started: Instant,
    /// Ticks dropped because the exchange was busy (shown in `/metrics`).
    dropped: Arc<AtomicU64>,
    clock: Clock,
}

impl MarketFeedActor {
    pub fn new(
        exchange: Addr<PaperVenue>,
        pairs: Vec<PairFeed>,
        dropped: Arc<AtomicU64>,
        clock: Clock,
    ) -> Self {
        MarketFeedActor {
            exchange,
            pairs,
            started: Instant::now(),
            dropped,
            clock,
        }
    }

    fn step(&mut self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let at_ms = self.clock.now_ms();
        for pair in &mut self.pairs {
            // The first step is due at once, so the market has liquidity
            // from the moment the engine starts.
            let due = (elapsed * pair.ticks_per_sec) as u64 + 1;
            if due.saturating_sub(pair.emitted) > MAX_BURST {
                pair.emitted = due - MAX_BURST;
            }
            while pair.emitted < due {
                pair.emitted += 1;
                let tick = pair.market.next_tick();
                let msg = ApplyTick {
                    symbol: pair.symbol.clone(),
                    tick,
                    at_ms,
                };
                if self.exchange.try_send(msg).is_err() {
                    let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    if dropped.is_power_of_two() {
                        tracing::warn!(dropped, "exchange busy: market ticks dropped");
                    }
                }
            }
        }
    }
}

impl Actor for MarketFeedActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let fastest = self
            .pairs
            .iter()
            .map(|p| p.ticks_per_sec)
            .fold(0.0_f64, f64::max);
        if fastest <= 0.0 {
            return;
        }
        let period = Duration::from_secs_f64((1.0 / fastest).clamp(0.001, 1.0));
        self.started = Instant::now();
        self.step();
        ctx.run_interval(period, |act, _| act.step());
        tracing::info!(
            pairs = self.pairs.len(),
            period_ms = period.as_secs_f64() * 1000.0,
            "market feed started"
        );
    }
}
