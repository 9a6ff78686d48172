//! A backtest's result: PnL, return, max drawdown, Sharpe, trades, win
//! rate, fees, turnover, final balances and a sampled equity curve.
//!
//! - equity = quote + base × mid, recorded after every print;
//! - max drawdown: the largest fall from a running peak of equity, % of
//!   that peak, over every recorded value;
//! - Sharpe: mean / standard deviation (sample) of hourly equity returns
//!   (the last equity of each UTC hour), × √(24 × 365); 0 with fewer than
//!   two returns or none varying — no risk-free rate;
//! - win rate: of the fills that reduced a position, the share whose
//!   realized PnL (before fees) was positive.

use super::{SimFill, SimSettings};
use crate::pnl::Pnl;
use crate::time::TimestampMs;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Points kept in the report's equity curve.
pub const CURVE_POINTS: usize = 500;

/// Equity over time: the peak and deepest drawdown exactly, and the last
/// value of every minute.
#[derive(Clone, Debug, Default)]
pub struct EquityCurve {
    minutes: Vec<(TimestampMs, Decimal)>,
    peak: Option<Decimal>,
    max_drawdown_pct: Decimal,
}

impl EquityCurve {
    pub fn record(&mut self, at_ms: TimestampMs, equity: Decimal) {
        let peak = self.peak.map_or(equity, |p| p.max(equity));
        self.peak = Some(peak);
        if peak > Decimal::ZERO {
            let dd = (peak - equity) / peak * Decimal::ONE_HUNDRED;
            self.max_drawdown_pct = self.max_drawdown_pct.max(dd);
        }
        let minute = at_ms.div_euclid(MINUTE_MS);
        match self.minutes.last_mut() {
            Some((t, e)) if t.div_euclid(MINUTE_MS) == minute => {
                *t = at_ms;
                *e = equity;
            }
            _ => self.minutes.push((at_ms, equity)),
        }
    }

    fn sharpe(&self) -> f64 {
        let mut hourly: Vec<f64> = Vec::new();
        let mut hour = None;
        for (t, e) in &self.minutes {
            let h = t.div_euclid(HOUR_MS);
            let e = e.to_f64().unwrap_or(0.0);
            if hour == Some(h) {
                if let Some(last) = hourly.last_mut() {
                    *last = e;
                }
            } else {
                hour = Some(h);
                hourly.push(e);
            }
        }
        let returns: Vec<f64> = hourly
            .windows(2)
            .filter(|w| w[0] > 0.0)
            .map(|w| w[1] / w[0] - 1.0)
            .collect();
        if returns.len() < 2 {
            return 0.0;
        }
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let sd = var.sqrt();
        if sd <= f64::EPSILON {
            return 0.0;
        }
        mean / sd * (24.0f64 * 365.0).sqrt()
    }

    /// At most `CURVE_POINTS`, evenly spread, the last one included.
    fn sampled(&self) -> Vec<(TimestampMs, Decimal)> {
        let n = self.minutes.len();
        if n <= CURVE_POINTS {
            return self.minutes.clone();
        }
        (0..CURVE_POINTS)
            .map(|i| self.minutes[i * (n - 1) / (CURVE_POINTS - 1)])
            .collect()
    }
}

pub struct Inputs<'a> {
    pub settings: &'a SimSettings,
    pub base: Decimal,
    pub quote: Decimal,
    pub mid: Decimal,
    pub pnl: &'a Pnl,
    pub fills: &'a [SimFill],
    pub rejected: u64,
    pub curve: &'a EquityCurve,
    pub events: u64,
    pub open_orders: usize,
    pub ended: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Balances {
    #[serde(with = "crate::num")]
    pub base: Decimal,
    #[serde(with = "crate::num")]
    pub quote: Decimal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Final equity − initial equity, both at the last mid, quote units.
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    #[serde(with = "crate::num")]
    pub return_pct: Decimal,
    #[serde(with = "crate::num")]
    pub max_drawdown_pct: Decimal,
    #[serde(with = "crate::num")]
    pub sharpe: Decimal,
    pub trades: u64,
    #[serde(with = "crate::num")]
    pub win_rate: Decimal,
    #[serde(with = "crate::num")]
    pub fees: Decimal,
    /// Σ price × size of every fill.
    #[serde(with = "crate::num")]
    pub turnover: Decimal,
    pub initial_balances: Balances,
    pub final_balances: Balances,
    #[serde(with = "crate::num")]
    pub final_mid: Decimal,
    pub maker_fills: u64,
    pub rejected_orders: u64,
    pub open_orders: usize,
    pub events: u64,
    /// Why it ended before the data did, if it did.
    pub ended: Option<String>,
    /// `[time_ms, equity]`, sampled.
    pub equity_curve: Vec<(TimestampMs, String)>,
}

fn dp(d: Decimal, places: u32) -> Decimal {
    d.round_dp(places).normalize()
}

pub fn measure(i: Inputs) -> Report {
    let initial = i.settings.initial_quote + i.settings.initial_base * i.mid;
    let equity = i.quote + i.base * i.mid;
    let pnl = equity - initial;
    let reducing: Vec<&SimFill> = i.fills.iter().filter(|f| !f.realized.is_zero()).collect();
    let wins = reducing
        .iter()
        .filter(|f| f.realized > Decimal::ZERO)
        .count();
    let win_rate = if reducing.is_empty() {
        Decimal::ZERO
    } else {
        Decimal::from(wins) / Decimal::from(reducing.len())
    };
    Report {
        pnl: pnl.normalize(),
        return_pct: if initial > Decimal::ZERO {
            dp(pnl / initial * Decimal::ONE_HUNDRED, 6)
        } else {
            Decimal::ZERO
        },
        max_drawdown_pct: dp(i.curve.max_drawdown_pct, 6),
        sharpe: dp(
            Decimal::from_f64_retain(i.curve.sharpe()).unwrap_or_default(),
            4,
        ),
        trades: i.fills.len() as u64,
        win_rate: dp(win_rate, 6),
        fees: i.pnl.fees.normalize(),
        turnover: i.pnl.volume.normalize(),
        initial_balances: Balances {
            base: i.settings.initial_base,
            quote: i.settings.initial_quote,
        },
        final_balances: Balances {
            base: i.base.normalize(),
            quote: i.quote.normalize(),
        },
        final_mid: i.mid.normalize(),
        maker_fills: i.fills.iter().filter(|f| f.maker).count() as u64,
        rejected_orders: i.rejected,
        open_orders: i.open_orders,
        events: i.events,
        ended: i.ended,
        equity_curve: i
            .curve
            .sampled()
            .into_iter()
            .map(|(t, e)| (t, dp(e, 8).to_string()))
            .collect(),
    }
}
