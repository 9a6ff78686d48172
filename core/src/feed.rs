//! `SyntheticMarket`: a deterministic simulated market for one pair.
//!
//! A seeded random walk of the mid price, a book of `depth_levels` levels a
//! side around it (sizes growing with depth, quantized to the pair's tick
//! and step), and random aggressive prints. Uses only IEEE arithmetic
//! (+ − × ÷), no transcendental functions, so a seed gives the same market
//! on every platform.

use crate::num::Level;
use crate::order::Side;
use crate::rng::Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// What shapes one pair's simulated market.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedParams {
    pub start_price: Decimal,
    pub tick_size: Decimal,
    pub step_size: Decimal,
    /// Distance between best bid and best ask, in basis points of the mid.
    pub spread_bps: f64,
    /// Standard deviation of the mid's move per tick, in basis points.
    pub volatility_bps: f64,
    /// Distance between consecutive levels, in basis points of the mid.
    pub level_spacing_bps: f64,
    pub depth_levels: usize,
    /// Typical size at the best level, in base units.
    pub level_size: Decimal,
    /// Chance of an aggressive print each tick.
    pub trade_probability: f64,
    /// Typical print size, in base units.
    pub trade_size: Decimal,
}

/// An aggressive trade in the simulated market: it takes liquidity.
#[derive(Clone, Debug, PartialEq)]
pub struct Print {
    pub side: Side,
    pub qty: Decimal,
}

/// One step of the simulated market.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketTick {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub prints: Vec<Print>,
}

#[derive(Clone, Debug)]
pub struct SyntheticMarket {
    params: FeedParams,
    rng: Rng,
    mid_ticks: f64,
    step: f64,
}

impl SyntheticMarket {
    pub fn new(params: FeedParams, seed: u64) -> Self {
        let tick = params
            .tick_size
            .to_f64()
            .unwrap_or(1.0)
            .max(f64::MIN_POSITIVE);
        let step = params
            .step_size
            .to_f64()
            .unwrap_or(1.0)
            .max(f64::MIN_POSITIVE);
        let start = params.start_price.to_f64().unwrap_or(1.0);
        SyntheticMarket {
            mid_ticks: (start / tick).max(100.0),
            params,
            rng: Rng::new(seed),
            step,
        }
    }

    fn price(&self, ticks: i64) -> Decimal {
        Decimal::from(ticks) * self.params.tick_size
    }

    fn qty(&self, units_of_base: f64) -> Decimal {
        let steps = (units_of_base / self.step).round().max(1.0) as i64;
        Decimal::from(steps) * self.params.step_size
    }

    fn bps_in_ticks(&self, bps: f64) -> i64 {
        ((self.mid_ticks * bps / 10_000.0).round() as i64).max(1)
    }

    pub fn next_tick(&mut self) -> MarketTick {
        let p = &self.params;
        let z = self.rng.normal();
        self.mid_ticks = (self.mid_ticks * (1.0 + p.volatility_bps / 10_000.0 * z)).max(100.0);
        let center = self.mid_ticks.round() as i64;
        let half_spread = (self.bps_in_ticks(p.spread_bps) + 1) / 2;
        let gap = self.bps_in_ticks(p.level_spacing_bps);
        let level_size = p.level_size.to_f64().unwrap_or(1.0);
        let trade_size = p.trade_size.to_f64().unwrap_or(1.0);
        let (depth, trade_probability) = (p.depth_levels, p.trade_probability);

        let mut bids = Vec::with_capacity(depth);
        let mut asks = Vec::with_capacity(depth);
        for i in 0..depth as i64 {
            let growth = 1.0 + 0.15 * i as f64;
            let (ub, ua) = (self.rng.uniform(), self.rng.uniform());
            let bid_size = level_size * growth * (0.5 + ub);
            let ask_size = level_size * growth * (0.5 + ua);
            bids.push(Level(
                self.price(center - half_spread - i * gap),
                self.qty(bid_size),
            ));
            asks.push(Level(
                self.price(center + half_spread + i * gap),
                self.qty(ask_size),
            ));
        }
        let mut prints = Vec::new();
        if self.rng.uniform() < trade_probability {
            let side = if self.rng.uniform() < 0.5 {
                Side::Buy
            } else {
                Side::Sell
            };
            let u = self.rng.uniform();
            let qty = self.qty(trade_size * (0.2 + 1.6 * u));
            prints.push(Print { side, qty });
        }
        MarketTick { bids, asks, prints }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    pub(crate) fn params() -> FeedParams {
        FeedParams {
            start_price: Decimal::from(52_000),
            tick_size: Decimal::from_str("0.01").unwrap(),
            step_size: Decimal::from_str("0.00001").unwrap(),
            spread_bps: 1.0,
            volatility_bps: 2.0,
            level_spacing_bps: 0.5,
            depth_levels: 20,
            level_size: Decimal::from_str("0.5").unwrap(),
            trade_probability: 0.7,
            trade_size: Decimal::from_str("0.05").unwrap(),
        }
    }

    #[test]
    fn same_seed_same_market() {
        let mut a = SyntheticMarket::new(params(), 7);
        let mut b = SyntheticMarket::new(params(), 7);
        let mut c = SyntheticMarket::new(params(), 8);
        let ta: Vec<_> = (0..100).map(|_| a.next_tick()).collect();
        let tb: Vec<_> = (0..100).map(|_| b.next_tick()).collect();
        let tc: Vec<_> = (0..100).map(|_| c.next_tick()).collect();
        assert_eq!(ta, tb);
        assert_ne!(ta, tc);
    }

    #[test]
    fn books_are_quantized_sorted_and_never_crossed() {
        let mut m = SyntheticMarket::new(params(), 1);
        let tick = Decimal::from_str("0.01").unwrap();
        let step = Decimal::from_str("0.00001").unwrap();
        let mut moved = false;
        let first = m.next_tick().bids[0].0;
        for _ in 0..1000 {
            let t = m.next_tick();
            assert_eq!(t.bids.len(), 20);
            assert!(t.bids[0].0 < t.asks[0].0);
            assert!(t.bids.windows(2).all(|w| w[0].0 > w[1].0));
            assert!(t.asks.windows(2).all(|w| w[0].0 < w[1].0));
            for l in t.bids.iter().chain(&t.asks) {
                assert!((l.0 % tick).is_zero() && (l.1 % step).is_zero() && l.1 > Decimal::ZERO);
            }
            moved |= t.bids[0].0 != first;
        }
        assert!(moved, "the mid walks");
    }
}
