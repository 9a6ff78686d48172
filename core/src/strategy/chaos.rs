//! `chaos`: a test-only strategy that misbehaves on purpose, to prove a
//! failing strategy is isolated. It rests one bid `bid_offset_pct` below
//! the mid, then on its `fail_after_ticks`-th tick panics (`mode =
//! "panic"`), returns an error (`mode = "error"`), or blocks its thread
//! for `hang_ms` (`mode = "hang"`, the one place in core that sleeps).
//! Only available when the engine's `strategies.allow_test_strategies` is
//! on.

use super::{require, ConfigError, Ctx, Intent, OrderIntent, Strategy, StrategyError, Validate};
use crate::enums::wire_enum;
use crate::order::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

wire_enum!(ChaosMode { Panic => "panic", Error => "error", Hang => "hang" });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChaosConfig {
    pub mode: ChaosMode,
    pub fail_after_ticks: u32,
    #[serde(with = "crate::num")]
    pub order_amount: Decimal,
    #[serde(with = "crate::num")]
    pub bid_offset_pct: Decimal,
    pub hang_ms: u64,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        ChaosConfig {
            mode: ChaosMode::Panic,
            fail_after_ticks: 10,
            order_amount: Decimal::new(1, 3),
            bid_offset_pct: Decimal::from(10),
            hang_ms: 5000,
        }
    }
}

impl Validate for ChaosConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        require(
            "fail_after_ticks",
            self.fail_after_ticks >= 1,
            "must be at least 1",
        )?;
        require(
            "order_amount",
            self.order_amount > Decimal::ZERO,
            "must be greater than zero",
        )?;
        require(
            "bid_offset_pct",
            self.bid_offset_pct > Decimal::ZERO && self.bid_offset_pct < Decimal::ONE_HUNDRED,
            "must be a percent between 0 and 100",
        )
    }
}

#[derive(Debug)]
pub struct Chaos {
    cfg: ChaosConfig,
    ticks: u32,
}

impl Chaos {
    pub fn new(cfg: ChaosConfig) -> Self {
        Chaos { cfg, ticks: 0 }
    }
}

impl Strategy for Chaos {
    fn on_tick(&mut self, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        self.ticks += 1;
        if self.ticks == self.cfg.fail_after_ticks && self.cfg.mode == ChaosMode::Hang {
            std::thread::sleep(std::time::Duration::from_millis(self.cfg.hang_ms));
        }
        if self.ticks >= self.cfg.fail_after_ticks {
            match self.cfg.mode {
                ChaosMode::Hang => {}
                ChaosMode::Panic => panic!(
                    "chaos strategy: panicking on tick {} as configured",
                    self.ticks
                ),
                ChaosMode::Error => {
                    return Err(StrategyError(format!(
                        "chaos strategy: failing on tick {} as configured",
                        self.ticks
                    )))
                }
            }
        }
        if self.ticks > 1 || !ctx.orders.is_empty() {
            return Ok(Vec::new());
        }
        let offset = Decimal::ONE - self.cfg.bid_offset_pct / Decimal::ONE_HUNDRED;
        let price = ctx.rules.passive_price(ctx.market.mid() * offset, true);
        let size = ctx.rules.floor_size(self.cfg.order_amount);
        Ok(vec![Intent::Place(OrderIntent::maker(
            Side::Buy,
            price,
            size,
        ))])
    }
}
