//! `pmm`: pure market making as Hummingbot users know it. Quotes
//! `order_levels` bids and asks around the mid, refreshes them every
//! `order_refresh_time` unless they are still within
//! `order_refresh_tolerance_pct` of a fresh proposal, cancels any that get
//! closer to the mid than `minimum_spread` or older than `max_order_age`,
//! waits `filled_order_delay` after a fill, and with inventory skew sizes
//! its bids and asks to pull the base asset's share of the portfolio
//! toward `inventory_target_base_pct`.
//!
//! Spreads and percentages are in percent, as in Hummingbot: `bid_spread =
//! 0.1` quotes 0.1 % below the mid. Times are in seconds.

use super::{
    require, seconds_ms, ConfigError, Ctx, Intent, OrderIntent, Strategy, StrategyError, Validate,
};
use crate::order::Side;
use crate::time::TimestampMs;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PmmConfig {
    #[serde(with = "crate::num")]
    pub bid_spread: Decimal,
    #[serde(with = "crate::num")]
    pub ask_spread: Decimal,
    /// Size of the first level's orders, in the base asset.
    #[serde(with = "crate::num")]
    pub order_amount: Decimal,
    pub order_levels: u32,
    /// Extra spread of each further level, percent.
    #[serde(with = "crate::num")]
    pub order_level_spread: Decimal,
    /// Extra size of each further level, base asset.
    #[serde(with = "crate::num")]
    pub order_level_amount: Decimal,
    pub order_refresh_time: f64,
    #[serde(with = "crate::num")]
    pub order_refresh_tolerance_pct: Decimal,
    pub inventory_skew_enabled: bool,
    #[serde(with = "crate::num")]
    pub inventory_target_base_pct: Decimal,
    /// The skew's full range, in multiples of the total order amount.
    #[serde(with = "crate::num")]
    pub inventory_range_multiplier: Decimal,
    /// Cancel orders closer to the mid than this, percent; -100 disables.
    #[serde(with = "crate::num")]
    pub minimum_spread: Decimal,
    pub max_order_age: f64,
    pub filled_order_delay: f64,
}

impl Default for PmmConfig {
    fn default() -> Self {
        PmmConfig {
            bid_spread: Decimal::new(1, 1),
            ask_spread: Decimal::new(1, 1),
            order_amount: Decimal::new(1, 2),
            order_levels: 1,
            order_level_spread: Decimal::new(5, 2),
            order_level_amount: Decimal::ZERO,
            order_refresh_time: 30.0,
            order_refresh_tolerance_pct: Decimal::ZERO,
            inventory_skew_enabled: false,
            inventory_target_base_pct: Decimal::from(50),
            inventory_range_multiplier: Decimal::ONE,
            minimum_spread: Decimal::from(-100),
            max_order_age: 1800.0,
            filled_order_delay: 60.0,
        }
    }
}

impl Validate for PmmConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let pct = |v: Decimal| v >= Decimal::ZERO && v < Decimal::ONE_HUNDRED;
        require(
            "bid_spread",
            pct(self.bid_spread),
            "must be a percent from 0 to below 100",
        )?;
        require(
            "ask_spread",
            pct(self.ask_spread),
            "must be a percent from 0 to below 100",
        )?;
        require(
            "order_amount",
            self.order_amount > Decimal::ZERO,
            "must be greater than zero",
        )?;
        require(
            "order_levels",
            (1..=50).contains(&self.order_levels),
            "must be from 1 to 50",
        )?;
        require(
            "order_level_spread",
            pct(self.order_level_spread),
            "must be a percent from 0 to below 100",
        )?;
        require(
            "order_level_amount",
            self.order_level_amount >= Decimal::ZERO,
            "must not be negative",
        )?;
        seconds_ms("order_refresh_time", self.order_refresh_time, 0.1)?;
        require(
            "order_refresh_tolerance_pct",
            pct(self.order_refresh_tolerance_pct),
            "must be a percent from 0 to below 100",
        )?;
        require(
            "inventory_target_base_pct",
            self.inventory_target_base_pct >= Decimal::ZERO
                && self.inventory_target_base_pct <= Decimal::ONE_HUNDRED,
            "must be a percent from 0 to 100",
        )?;
        require(
            "inventory_range_multiplier",
            self.inventory_range_multiplier > Decimal::ZERO,
            "must be greater than zero",
        )?;
        require(
            "minimum_spread",
            self.minimum_spread >= Decimal::from(-100)
                && self.minimum_spread < Decimal::ONE_HUNDRED,
            "must be a percent from -100 (off) to below 100",
        )?;
        seconds_ms("max_order_age", self.max_order_age, 1.0)?;
        seconds_ms("filled_order_delay", self.filled_order_delay, 0.0)?;
        let outer = self.bid_spread.max(self.ask_spread)
            + self.order_level_spread * Decimal::from(self.order_levels - 1);
        require(
            "order_level_spread",
            outer < Decimal::ONE_HUNDRED,
            "the outer level's spread must stay below 100 %",
        )
    }
}

#[derive(Debug)]
pub struct Pmm {
    cfg: PmmConfig,
    refresh_ms: i64,
    max_age_ms: i64,
    fill_delay_ms: i64,
    /// No new orders before this time (after a fill).
    create_at: TimestampMs,
    /// When the orders on the book are due for a refresh.
    refresh_at: TimestampMs,
}

fn pct(v: Decimal) -> Decimal {
    v / Decimal::ONE_HUNDRED
}

impl Pmm {
    pub fn new(cfg: PmmConfig) -> Self {
        // Validated on creation; these cannot fail for a valid config.
        let ms = |s: f64| (s * 1000.0).round() as i64;
        Pmm {
            refresh_ms: ms(cfg.order_refresh_time),
            max_age_ms: ms(cfg.max_order_age),
            fill_delay_ms: ms(cfg.filled_order_delay),
            cfg,
            create_at: TimestampMs::MIN,
            refresh_at: TimestampMs::MAX,
        }
    }

    /// Size multipliers for (bids, asks) from the inventory skew.
    fn skew(&self, ctx: &Ctx) -> (Decimal, Decimal) {
        if !self.cfg.inventory_skew_enabled {
            return (Decimal::ONE, Decimal::ONE);
        }
        let mid = ctx.market.mid();
        let base_value = ctx.inventory.base * mid;
        let total = base_value + ctx.inventory.quote;
        if total <= Decimal::ZERO {
            return (Decimal::ONE, Decimal::ONE);
        }
        let levels = Decimal::from(self.cfg.order_levels);
        let amount = self.cfg.order_amount * levels
            + self.cfg.order_level_amount * levels * (levels - Decimal::ONE) / Decimal::TWO;
        let range = (self.cfg.inventory_range_multiplier * amount * mid).min(total / Decimal::TWO);
        if range <= Decimal::ZERO {
            return (Decimal::ONE, Decimal::ONE);
        }
        let target = total * pct(self.cfg.inventory_target_base_pct);
        let deviation = ((base_value - target) / range).clamp(Decimal::NEGATIVE_ONE, Decimal::ONE);
        (Decimal::ONE - deviation, Decimal::ONE + deviation)
    }

    /// The orders the strategy would quote now, bids then asks, within what
    /// its inventory can pay for.
    pub fn proposal(&self, ctx: &Ctx) -> Vec<OrderIntent> {
        let mid = ctx.market.mid();
        let rules = ctx.rules;
        let (bid_mult, ask_mult) = self.skew(ctx);
        let mut quote_left = ctx.inventory.quote;
        let mut base_left = ctx.inventory.base;
        let mut out = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            for level in 0..self.cfg.order_levels {
                let lvl = Decimal::from(level);
                let amount = self.cfg.order_amount + self.cfg.order_level_amount * lvl;
                let (spread, mult) = match side {
                    Side::Buy => (self.cfg.bid_spread, bid_mult),
                    Side::Sell => (self.cfg.ask_spread, ask_mult),
                };
                let offset = pct(spread + self.cfg.order_level_spread * lvl);
                let price = match side {
                    Side::Buy => rules.passive_price(mid * (Decimal::ONE - offset), true),
                    Side::Sell => rules.passive_price(mid * (Decimal::ONE + offset), false),
                };
                let wanted = rules.floor_size(amount * mult);
                let size = match side {
                    Side::Buy if price > Decimal::ZERO => {
                        wanted.min(rules.floor_size(quote_left / price))
                    }
                    Side::Buy => Decimal::ZERO,
                    Side::Sell => wanted.min(rules.floor_size(base_left)),
                };
                if !rules.is_tradable(price, size) {
                    continue;
                }
                match side {
                    Side::Buy => quote_left -= price * size,
                    Side::Sell => base_left -= size,
                }
                out.push(OrderIntent::maker(side, price, size));
            }
        }
        out
    }

    /// Whether every active order is within the refresh tolerance of the
    /// proposal, level by level.
    fn within_tolerance(&self, ctx: &Ctx, proposal: &[OrderIntent]) -> bool {
        let tolerance = pct(self.cfg.order_refresh_tolerance_pct);
        if tolerance.is_zero() {
            return false;
        }
        for side in [Side::Buy, Side::Sell] {
            let mut current: Vec<Decimal> = ctx
                .active()
                .filter(|o| o.side == side)
                .filter_map(|o| o.price)
                .collect();
            let mut wanted: Vec<Decimal> = proposal
                .iter()
                .filter(|o| o.side == side)
                .filter_map(|o| o.price)
                .collect();
            if current.len() != wanted.len() {
                return false;
            }
            current.sort();
            wanted.sort();
            let close = current
                .iter()
                .zip(&wanted)
                .all(|(c, w)| !c.is_zero() && ((w - c) / c).abs() <= tolerance);
            if !close {
                return false;
            }
        }
        true
    }
}

impl Strategy for Pmm {
    fn on_tick(&mut self, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        let now = ctx.now;
        let mid = ctx.market.mid();
        if mid <= Decimal::ZERO {
            return Ok(Vec::new());
        }
        let mut cancel: Vec<_> = Vec::new();
        // Orders the mid has come too close to.
        if self.cfg.minimum_spread > Decimal::from(-100) {
            let min = pct(self.cfg.minimum_spread);
            for o in ctx.active() {
                if let Some(p) = o.price {
                    if ((p - mid).abs() / mid) < min {
                        cancel.extend(o.id.clone());
                    }
                }
            }
        }
        let has_active = ctx.active().next().is_some();
        let too_old = ctx
            .active()
            .any(|o| now.saturating_sub(o.created_ms) >= self.max_age_ms);
        if has_active && (too_old || now >= self.refresh_at) {
            let proposal = self.proposal(ctx);
            if !too_old && self.within_tolerance(ctx, &proposal) {
                self.refresh_at = now.saturating_add(self.refresh_ms);
            } else {
                cancel.extend(ctx.active().filter_map(|o| o.id.clone()));
            }
        }
        if !cancel.is_empty() {
            cancel.sort();
            cancel.dedup();
            return Ok(cancel.into_iter().map(Intent::Cancel).collect());
        }
        // New quotes only once nothing of ours is left on the book.
        if ctx.orders.is_empty() && now >= self.create_at {
            self.refresh_at = now.saturating_add(self.refresh_ms);
            return Ok(self.proposal(ctx).into_iter().map(Intent::Place).collect());
        }
        Ok(Vec::new())
    }

    fn on_fill(&mut self, fill: &super::Fill, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        if fill.order_done {
            self.create_at = ctx.now.saturating_add(self.fill_delay_ms);
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Fill, Inventory};
    use super::*;
    use crate::ids::OrderId;

    fn pmm(f: impl FnOnce(&mut PmmConfig)) -> Pmm {
        let mut cfg = PmmConfig {
            order_amount: d("0.1"),
            order_refresh_time: 10.0,
            filled_order_delay: 5.0,
            ..PmmConfig::default()
        };
        f(&mut cfg);
        cfg.validate().unwrap();
        Pmm::new(cfg)
    }

    fn ctx<'a>(
        now: TimestampMs,
        m: &'a super::super::Market,
        orders: &'a [super::super::OwnOrder],
        rules: &'a crate::pair::PairSpec,
        inv: Inventory,
    ) -> Ctx<'a> {
        Ctx {
            now,
            market: m,
            inventory: inv,
            orders,
            rules,
        }
    }

    fn rich() -> Inventory {
        Inventory {
            base: d("10"),
            quote: d("1000000"),
        }
    }

    #[test]
    fn quotes_levels_around_the_mid_rounded_passively() {
        let mut s = pmm(|c| {
            c.order_levels = 2;
            c.order_level_spread = d("0.1");
            c.order_level_amount = d("0.05");
        });
        let (m, r) = (market("49999.99", "50000.01"), rules());
        let out = s.on_tick(&ctx(0, &m, &[], &r, rich())).unwrap();
        assert_eq!(
            places(&out),
            vec![
                (Side::Buy, d("49950"), d("0.1")),
                (Side::Buy, d("49900"), d("0.15")),
                (Side::Sell, d("50050"), d("0.1")),
                (Side::Sell, d("50100"), d("0.15")),
            ]
        );
        // Odd mid: bids round down, asks up.
        let m = market("100.004", "100.006");
        let out = s.on_tick(&ctx(0, &m, &[], &r, rich())).unwrap();
        let p = places(&out);
        assert_eq!(p[0].1, d("99.90")); // 100.005 × 0.999 = 99.904995
        assert_eq!(p[2].1, d("100.11")); // 100.005 × 1.001 = 100.105005
    }

    #[test]
    fn keeps_quotes_until_refresh_then_replaces_them() {
        let mut s = pmm(|_| {});
        let (m, r) = (market("100", "100"), rules());
        assert_eq!(
            places(&s.on_tick(&ctx(0, &m, &[], &r, rich())).unwrap()).len(),
            2
        );
        let live = [
            order("a", Side::Buy, "99.9", 0),
            order("b", Side::Sell, "100.1", 0),
        ];
        assert!(s
            .on_tick(&ctx(9_999, &m, &live, &r, rich()))
            .unwrap()
            .is_empty());
        let out = s.on_tick(&ctx(10_000, &m, &live, &r, rich())).unwrap();
        assert_eq!(cancels(&out), vec!["a", "b"]);
        // While the cancels are in flight nothing new is placed.
        let mut pending = live.clone();
        pending.iter_mut().for_each(|o| o.cancelling = true);
        assert!(s
            .on_tick(&ctx(10_001, &m, &pending, &r, rich()))
            .unwrap()
            .is_empty());
        assert_eq!(
            places(&s.on_tick(&ctx(10_002, &m, &[], &r, rich())).unwrap()).len(),
            2
        );
    }

    #[test]
    fn tolerance_keeps_orders_that_are_close_enough() {
        let mut s = pmm(|c| c.order_refresh_tolerance_pct = d("0.05"));
        let r = rules();
        let m = market("100", "100");
        s.on_tick(&ctx(0, &m, &[], &r, rich())).unwrap();
        let live = [
            order("a", Side::Buy, "99.9", 0),
            order("b", Side::Sell, "100.1", 0),
        ];
        // The mid moved 0.02 %: proposal 99.92/100.12, within 0.05 %.
        let moved = market("100.02", "100.02");
        assert!(s
            .on_tick(&ctx(10_000, &moved, &live, &r, rich()))
            .unwrap()
            .is_empty());
        // Moved 1 %: replaced.
        let far = market("101", "101");
        assert_eq!(
            cancels(&s.on_tick(&ctx(20_000, &far, &live, &r, rich())).unwrap()).len(),
            2
        );
    }

    #[test]
    fn waits_after_a_fill_and_cancels_old_or_too_close_orders() {
        let mut s = pmm(|c| {
            c.minimum_spread = d("0.05");
            c.max_order_age = 60.0;
            c.order_refresh_time = 1000.0;
        });
        let (m, r) = (market("100", "100"), rules());
        s.on_tick(&ctx(0, &m, &[], &r, rich())).unwrap();
        let fill = Fill {
            order_id: OrderId("a".into()),
            side: Side::Buy,
            order_price: Some(d("99.9")),
            price: d("99.9"),
            qty: d("0.1"),
            order_done: true,
        };
        s.on_fill(&fill, &ctx(1_000, &m, &[], &r, rich())).unwrap();
        assert!(s
            .on_tick(&ctx(5_999, &m, &[], &r, rich()))
            .unwrap()
            .is_empty());
        assert_eq!(
            places(&s.on_tick(&ctx(6_000, &m, &[], &r, rich())).unwrap()).len(),
            2
        );
        // The mid came within 0.05 % of the ask.
        let live = [
            order("a", Side::Buy, "99.9", 6_000),
            order("b", Side::Sell, "100.1", 6_000),
        ];
        let near = market("100.07", "100.07");
        assert_eq!(
            cancels(&s.on_tick(&ctx(7_000, &near, &live, &r, rich())).unwrap()),
            vec!["b"]
        );
        // Older than max_order_age: both go.
        assert_eq!(
            cancels(&s.on_tick(&ctx(66_000, &m, &live, &r, rich())).unwrap()).len(),
            2
        );
    }

    #[test]
    fn inventory_skew_and_budget_shape_the_sizes() {
        let mut s = pmm(|c| {
            c.inventory_skew_enabled = true;
            c.order_amount = d("1");
        });
        let (m, r) = (market("100", "100"), rules());
        // All quote: 0 % base vs target 50 %, deviation -1 → bids ×2, asks ×0.
        let inv = Inventory {
            base: d("0"),
            quote: d("1000"),
        };
        let p = places(&s.on_tick(&ctx(0, &m, &[], &r, inv)).unwrap());
        assert_eq!(p, vec![(Side::Buy, d("99.9"), d("2"))]);
        // Balanced: both at 1 (asks capped by the 1 base held).
        let inv = Inventory {
            base: d("5"),
            quote: d("500"),
        };
        let p = places(&s.on_tick(&ctx(0, &m, &[], &r, inv)).unwrap());
        assert_eq!(
            p,
            vec![
                (Side::Buy, d("99.9"), d("1")),
                (Side::Sell, d("100.1"), d("1"))
            ]
        );
        // Little money (no skew): the bid shrinks to what it can pay.
        let mut s = pmm(|c| c.order_amount = d("1"));
        let inv = Inventory {
            base: d("5"),
            quote: d("50"),
        };
        let p = places(&s.on_tick(&ctx(0, &m, &[], &r, inv)).unwrap());
        assert_eq!(p[0], (Side::Buy, d("99.9"), d("0.5")));
    }
}
