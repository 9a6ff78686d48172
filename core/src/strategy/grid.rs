//! `grid`: a ladder of `grid_levels` prices evenly spaced from
//! `lower_price` to `upper_price`. On start it buys at every level below the
//! mid and sells at every level above it (what the inventory can pay for);
//! each time an order fills completely it places the opposite order one
//! level away — a buy filled at level i sells at level i+1, a sell filled at
//! level i buys at level i-1 — so every round trip earns one grid step.

use super::{
    require, ConfigError, Ctx, Fill, Intent, OrderIntent, Strategy, StrategyError, Validate,
};
use crate::order::{OrderType, Side, TimeInForce};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridConfig {
    #[serde(with = "crate::num::opt")]
    pub lower_price: Option<Decimal>,
    #[serde(with = "crate::num::opt")]
    pub upper_price: Option<Decimal>,
    pub grid_levels: u32,
    /// Size of every order, in the base asset.
    #[serde(with = "crate::num::opt")]
    pub order_amount: Option<Decimal>,
}

impl Default for GridConfig {
    fn default() -> Self {
        GridConfig {
            lower_price: None,
            upper_price: None,
            grid_levels: 10,
            order_amount: None,
        }
    }
}

impl Validate for GridConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let lower = self
            .lower_price
            .ok_or_else(|| ConfigError::new("lower_price", "is required"))?;
        let upper = self
            .upper_price
            .ok_or_else(|| ConfigError::new("upper_price", "is required"))?;
        require(
            "lower_price",
            lower > Decimal::ZERO,
            "must be greater than zero",
        )?;
        require("upper_price", upper > lower, "must be above lower_price")?;
        require(
            "grid_levels",
            (2..=200).contains(&self.grid_levels),
            "must be from 2 to 200",
        )?;
        let amount = self
            .order_amount
            .ok_or_else(|| ConfigError::new("order_amount", "is required"))?;
        require(
            "order_amount",
            amount > Decimal::ZERO,
            "must be greater than zero",
        )
    }
}

#[derive(Debug)]
pub struct Grid {
    cfg: GridConfig,
    /// The ladder, rounded to the pair's tick; computed on the first tick.
    levels: Vec<Decimal>,
    started: bool,
}

impl Grid {
    pub fn new(cfg: GridConfig) -> Self {
        Grid {
            cfg,
            levels: Vec::new(),
            started: false,
        }
    }

    fn amount(&self) -> Decimal {
        self.cfg.order_amount.unwrap_or_default()
    }

    fn ladder(&self, ctx: &Ctx) -> Vec<Decimal> {
        let (Some(lower), Some(upper)) = (self.cfg.lower_price, self.cfg.upper_price) else {
            return Vec::new();
        };
        let steps = Decimal::from(self.cfg.grid_levels.max(2) - 1);
        let mut out: Vec<Decimal> = (0..self.cfg.grid_levels)
            .map(|i| {
                ctx.rules
                    .nearest_price(lower + (upper - lower) * Decimal::from(i) / steps)
            })
            .collect();
        out.dedup();
        out
    }

    fn order(&self, side: Side, price: Decimal, ctx: &Ctx) -> Option<Intent> {
        let size = ctx.rules.floor_size(self.amount());
        ctx.rules
            .is_tradable(price, size)
            .then_some(Intent::Place(OrderIntent {
                side,
                order_type: OrderType::Limit,
                price: Some(price),
                size,
                time_in_force: TimeInForce::Gtc,
                post_only: false,
            }))
    }
}

impl Strategy for Grid {
    fn on_tick(&mut self, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        if self.started {
            return Ok(Vec::new());
        }
        self.started = true;
        self.levels = self.ladder(ctx);
        let mid = ctx.market.mid();
        let size = ctx.rules.floor_size(self.amount());
        let (mut quote_left, mut base_left) = (ctx.inventory.quote, ctx.inventory.base);
        let mut out = Vec::new();
        for &price in &self.levels {
            let taken = ctx.orders.iter().any(|o| o.price == Some(price));
            let side = if price < mid {
                Side::Buy
            } else if price > mid {
                Side::Sell
            } else {
                continue;
            };
            let affordable = match side {
                Side::Buy => quote_left >= price * size,
                Side::Sell => base_left >= size,
            };
            if taken || !affordable {
                continue;
            }
            if let Some(intent) = self.order(side, price, ctx) {
                match side {
                    Side::Buy => quote_left -= price * size,
                    Side::Sell => base_left -= size,
                }
                out.push(intent);
            }
        }
        Ok(out)
    }

    fn on_fill(&mut self, fill: &Fill, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        let Some(price) = fill.order_price.filter(|_| fill.order_done) else {
            return Ok(Vec::new());
        };
        let Some(i) = self.levels.iter().position(|l| *l == price) else {
            return Ok(Vec::new());
        };
        let next = match fill.side {
            Side::Buy => self.levels.get(i + 1).map(|p| (Side::Sell, *p)),
            Side::Sell => i.checked_sub(1).map(|j| (Side::Buy, self.levels[j])),
        };
        Ok(next
            .and_then(|(side, p)| self.order(side, p, ctx))
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Ctx, Inventory};
    use super::*;
    use crate::ids::OrderId;

    fn grid() -> Grid {
        let cfg = GridConfig {
            lower_price: Some(d("90")),
            upper_price: Some(d("110")),
            grid_levels: 5,
            order_amount: Some(d("0.1")),
        };
        cfg.validate().unwrap();
        Grid::new(cfg)
    }

    #[test]
    fn lays_the_ladder_around_the_mid_then_flips_fills() {
        let mut g = grid();
        let (m, r) = (market("100", "100"), rules());
        let inv = Inventory {
            base: d("1"),
            quote: d("1000"),
        };
        let ctx = Ctx {
            now: 0,
            market: &m,
            inventory: inv,
            orders: &[],
            rules: &r,
        };
        let out = g.on_tick(&ctx).unwrap();
        assert_eq!(
            places(&out),
            vec![
                (Side::Buy, d("90"), d("0.1")),
                (Side::Buy, d("95"), d("0.1")),
                (Side::Sell, d("105"), d("0.1")),
                (Side::Sell, d("110"), d("0.1")),
            ]
        );
        assert!(
            g.on_tick(&ctx).unwrap().is_empty(),
            "the ladder is laid once"
        );
        let fill = |side, price: &str, done| Fill {
            order_id: OrderId("x".into()),
            side,
            order_price: Some(d(price)),
            price: d(price),
            qty: d("0.1"),
            order_done: done,
        };
        assert!(g
            .on_fill(&fill(Side::Buy, "95", false), &ctx)
            .unwrap()
            .is_empty());
        assert_eq!(
            places(&g.on_fill(&fill(Side::Buy, "95", true), &ctx).unwrap()),
            vec![(Side::Sell, d("100"), d("0.1"))]
        );
        assert_eq!(
            places(&g.on_fill(&fill(Side::Sell, "105", true), &ctx).unwrap()),
            vec![(Side::Buy, d("100"), d("0.1"))]
        );
        // The ends of the ladder have no level beyond them.
        assert!(g
            .on_fill(&fill(Side::Buy, "110", true), &ctx)
            .unwrap()
            .is_empty());
        assert!(g
            .on_fill(&fill(Side::Sell, "90", true), &ctx)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn only_places_what_the_inventory_pays_for() {
        let mut g = grid();
        let (m, r) = (market("100", "100"), rules());
        let inv = Inventory {
            base: d("0.1"),
            quote: d("10"),
        };
        let ctx = Ctx {
            now: 0,
            market: &m,
            inventory: inv,
            orders: &[],
            rules: &r,
        };
        assert_eq!(
            places(&g.on_tick(&ctx).unwrap()),
            vec![
                (Side::Buy, d("90"), d("0.1")),
                (Side::Sell, d("105"), d("0.1"))
            ]
        );
    }
}
