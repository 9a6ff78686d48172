//! `twap`: executes `total_size` on one `side` over `duration_s`, in
//! `slices` equal child orders sent at even intervals (the first at once).
//! Children are immediate-or-cancel: market orders, or limit orders at
//! `limit_price` when one is set, so the strategy never pays beyond it;
//! whatever a slice leaves unfilled is added to the next. It finishes when
//! everything is filled, or after the last slice once its child is done.

use super::{
    require, seconds_ms, ConfigError, Ctx, Fill, Intent, OrderIntent, Strategy, StrategyError,
    Validate,
};
use crate::order::{OrderType, Side, TimeInForce};
use crate::time::TimestampMs;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwapConfig {
    pub side: Side,
    #[serde(with = "crate::num::opt")]
    pub total_size: Option<Decimal>,
    pub duration_s: f64,
    pub slices: u32,
    #[serde(with = "crate::num::opt")]
    pub limit_price: Option<Decimal>,
}

impl Default for TwapConfig {
    fn default() -> Self {
        TwapConfig {
            side: Side::Buy,
            total_size: None,
            duration_s: 600.0,
            slices: 10,
            limit_price: None,
        }
    }
}

impl Validate for TwapConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let total = self
            .total_size
            .ok_or_else(|| ConfigError::new("total_size", "is required"))?;
        require(
            "total_size",
            total > Decimal::ZERO,
            "must be greater than zero",
        )?;
        seconds_ms("duration_s", self.duration_s, 1.0)?;
        require(
            "slices",
            (1..=10_000).contains(&self.slices),
            "must be from 1 to 10000",
        )?;
        require(
            "limit_price",
            self.limit_price.is_none_or(|p| p > Decimal::ZERO),
            "must be greater than zero",
        )
    }
}

#[derive(Debug)]
pub struct Twap {
    cfg: TwapConfig,
    interval_ms: i64,
    start: Option<TimestampMs>,
    sent: u32,
    filled: Decimal,
    finished: bool,
}

impl Twap {
    pub fn new(cfg: TwapConfig) -> Self {
        let duration_ms = (cfg.duration_s * 1000.0).round() as i64;
        let interval_ms = duration_ms / i64::from(cfg.slices.max(1));
        Twap {
            cfg,
            interval_ms,
            start: None,
            sent: 0,
            filled: Decimal::ZERO,
            finished: false,
        }
    }

    fn total(&self) -> Decimal {
        self.cfg.total_size.unwrap_or_default()
    }

    fn finish(&mut self, why: String) -> Vec<Intent> {
        self.finished = true;
        vec![Intent::Finish(why)]
    }
}

impl Strategy for Twap {
    fn on_tick(&mut self, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        if self.finished || !ctx.orders.is_empty() {
            return Ok(Vec::new());
        }
        let start = *self.start.get_or_insert(ctx.now);
        let remaining = self.total() - self.filled;
        if remaining <= Decimal::ZERO {
            return Ok(self.finish(format!("executed {} in full", self.filled)));
        }
        if self.sent >= self.cfg.slices {
            return Ok(self.finish(format!(
                "time is up: executed {} of {}",
                self.filled,
                self.total()
            )));
        }
        let due = (ctx.now - start) / self.interval_ms.max(1) + 1;
        if i64::from(self.sent) >= due {
            return Ok(Vec::new());
        }
        let slices_left = Decimal::from(self.cfg.slices - self.sent);
        let size = if slices_left == Decimal::ONE {
            ctx.rules.floor_size(remaining)
        } else {
            ctx.rules.floor_size(remaining / slices_left)
        };
        self.sent += 1;
        if size <= Decimal::ZERO {
            // Too small to trade yet: it rolls into the next slice.
            return Ok(Vec::new());
        }
        let (order_type, price) = match self.cfg.limit_price {
            Some(p) => (
                OrderType::Limit,
                Some(ctx.rules.passive_price(p, self.cfg.side == Side::Buy)),
            ),
            None => (OrderType::Market, None),
        };
        Ok(vec![Intent::Place(OrderIntent {
            side: self.cfg.side,
            order_type,
            price,
            size,
            time_in_force: TimeInForce::Ioc,
            post_only: false,
        })])
    }

    fn on_fill(&mut self, fill: &Fill, _: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        self.filled += fill.qty;
        Ok(Vec::new())
    }

    fn progress(&self) -> Option<Decimal> {
        let total = self.total();
        if total.is_zero() {
            return Some(Decimal::ZERO);
        }
        Some((self.filled / total).min(Decimal::ONE).round_dp(6))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Inventory, OwnOrder};
    use super::*;
    use crate::ids::OrderId;

    fn twap(limit: Option<&str>) -> Twap {
        let cfg = TwapConfig {
            side: Side::Buy,
            total_size: Some(d("1")),
            duration_s: 30.0,
            slices: 3,
            limit_price: limit.map(d),
        };
        cfg.validate().unwrap();
        Twap::new(cfg)
    }

    fn tick(t: &mut Twap, now: i64, orders: &[OwnOrder]) -> Vec<Intent> {
        let (m, r) = (market("100", "100"), rules());
        let ctx = Ctx {
            now,
            market: &m,
            inventory: Inventory::default(),
            orders,
            rules: &r,
        };
        t.on_tick(&ctx).unwrap()
    }

    fn fill(t: &mut Twap, qty: &str) {
        let (m, r) = (market("100", "100"), rules());
        let ctx = Ctx {
            now: 0,
            market: &m,
            inventory: Inventory::default(),
            orders: &[],
            rules: &r,
        };
        let f = Fill {
            order_id: OrderId("x".into()),
            side: Side::Buy,
            order_price: None,
            price: d("100"),
            qty: d(qty),
            order_done: true,
        };
        t.on_fill(&f, &ctx).unwrap();
    }

    fn sizes(intents: &[Intent]) -> Vec<Decimal> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::Place(o) => Some(o.size),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn slices_evenly_and_carries_what_a_slice_missed() {
        let mut t = twap(None);
        assert_eq!(sizes(&tick(&mut t, 1_000, &[])), vec![d("0.333")]);
        // A child in flight holds the next one back.
        assert!(tick(&mut t, 11_000, &[order("c", Side::Buy, "1", 0)]).is_empty());
        fill(&mut t, "0.2"); // the first slice filled only 0.2
        assert!(tick(&mut t, 10_999, &[]).is_empty(), "not due yet");
        assert_eq!(sizes(&tick(&mut t, 11_000, &[])), vec![d("0.4")]);
        fill(&mut t, "0.4");
        assert_eq!(t.progress(), Some(d("0.6")));
        assert_eq!(sizes(&tick(&mut t, 21_000, &[])), vec![d("0.4")]);
        fill(&mut t, "0.4");
        assert!(matches!(tick(&mut t, 21_500, &[])[..], [Intent::Finish(_)]));
        assert_eq!(t.progress(), Some(d("1")));
        assert!(tick(&mut t, 40_000, &[]).is_empty(), "finishes once");
    }

    #[test]
    fn limit_children_and_time_running_out() {
        let mut t = twap(Some("101.005"));
        let out = tick(&mut t, 0, &[]);
        let Intent::Place(o) = &out[0] else { panic!() };
        assert_eq!(
            (o.order_type, o.price, o.time_in_force),
            (OrderType::Limit, Some(d("101")), TimeInForce::Ioc)
        );
        tick(&mut t, 10_000, &[]);
        tick(&mut t, 20_000, &[]);
        let Intent::Finish(why) = &tick(&mut t, 20_001, &[])[0] else {
            panic!()
        };
        assert!(why.contains("time is up"), "{why}");
    }
}
