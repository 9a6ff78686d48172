//! The risk limits as configured (`[risk]`): per order, per account and
//! per strategy, what a stale market does, and what a breach trips; each
//! checked, naming the bad field.

use crate::enums::wire_enum;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

wire_enum!(KillMode { Pause => "pause", Stop => "stop" });
wire_enum!(StaleAction { Cancel => "cancel", Keep => "keep" });

/// Limits that apply to one scope: the whole account, or each strategy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeLimits {
    /// Largest |position| × mark per pair, quote units.
    #[serde(with = "crate::num::opt")]
    pub max_position_notional: Option<Decimal>,
    pub max_open_orders: Option<usize>,
    pub max_orders_per_sec: Option<u32>,
    /// Largest fall of the trading PnL since the UTC day began, quote units.
    #[serde(with = "crate::num::opt")]
    pub max_daily_loss: Option<Decimal>,
    /// Largest fall of the trading PnL from its peak, quote units.
    #[serde(with = "crate::num::opt")]
    pub max_drawdown: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskLimits {
    /// Largest size of one order, in base units.
    #[serde(with = "crate::num::opt")]
    pub max_order_size: Option<Decimal>,
    /// Largest price × size of one order (market orders at the mid).
    #[serde(with = "crate::num::opt")]
    pub max_order_notional: Option<Decimal>,
    /// A limit price further than this percent from the mid is refused.
    #[serde(with = "crate::num::opt")]
    pub price_band_pct: Option<Decimal>,
    /// Strategies do not quote on market data older than this.
    pub max_data_age_ms: u64,
    /// What a strategy does with its orders while its data is stale.
    pub stale_action: StaleAction,
    /// The kill switch's mode when the account's loss limits trip it.
    pub breach_action: KillMode,
    pub account: ScopeLimits,
    pub strategy: ScopeLimits,
}

impl Default for RiskLimits {
    fn default() -> Self {
        RiskLimits {
            max_order_size: None,
            max_order_notional: None,
            price_band_pct: None,
            max_data_age_ms: 5000,
            stale_action: StaleAction::Cancel,
            breach_action: KillMode::Stop,
            account: ScopeLimits::default(),
            strategy: ScopeLimits::default(),
        }
    }
}

impl RiskLimits {
    /// Every bad field, by its path under `risk.`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let positive = |out: &mut Vec<String>, name: &str, v: Option<Decimal>| {
            if v.is_some_and(|v| v <= Decimal::ZERO) {
                out.push(format!("risk.{name}: must be greater than zero"));
            }
        };
        positive(&mut out, "max_order_size", self.max_order_size);
        positive(&mut out, "max_order_notional", self.max_order_notional);
        if self
            .price_band_pct
            .is_some_and(|v| v <= Decimal::ZERO || v >= Decimal::ONE_HUNDRED)
        {
            out.push("risk.price_band_pct: must be a percent between 0 and 100".into());
        }
        if self.max_data_age_ms == 0 {
            out.push("risk.max_data_age_ms: must be at least 1".into());
        }
        for (scope, l) in [("account", &self.account), ("strategy", &self.strategy)] {
            positive(
                &mut out,
                &format!("{scope}.max_position_notional"),
                l.max_position_notional,
            );
            positive(
                &mut out,
                &format!("{scope}.max_daily_loss"),
                l.max_daily_loss,
            );
            positive(&mut out, &format!("{scope}.max_drawdown"), l.max_drawdown);
            if l.max_open_orders == Some(0) {
                out.push(format!("risk.{scope}.max_open_orders: must be at least 1"));
            }
            if l.max_orders_per_sec == Some(0) {
                out.push(format!(
                    "risk.{scope}.max_orders_per_sec: must be at least 1"
                ));
            }
        }
        out
    }
}
