//! A backtest's result. Every money figure is in the pair's quote asset
//! (`currency`), and each has one definition, all from one equity curve:
//!
//! - equity = quote + base × mid, recorded after every decision; the
//!   curve opens with the starting balances at the first mid;
//! - PnL = final equity − initial equity; return = PnL / initial equity;
//! - max drawdown: the largest fall from a running peak of that equity,
//!   % of the peak, over every recorded value;
//! - Sharpe: mean / standard deviation (sample) of hourly returns of that
//!   equity (the last value of each UTC hour), × √(24 × 365); 0 with
//!   fewer than two returns or none varying — no risk-free rate;
//! - buy and hold: the starting balances kept untouched, marked at the
//!   same mids; `vs_buy_and_hold` = PnL − its PnL (what the strategy
//!   added to simply holding);
//! - win rate: of the fills that reduced a position, the percentage whose
//!   realized PnL (before fees) was positive.
//!
//! Percentages are percentages (12.5 means 12.5 %); amounts are exact,
//! at most 8 decimals; every number is a JSON number.

use super::SimFill;
use crate::pnl::Pnl;
use crate::time::TimestampMs;
use crate::wire::backtest::{Amounts, CurvePoint, FillMark, Hold, Report, RunInfo, SimSettings};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Points kept in the report's equity curve.
pub const CURVE_POINTS: usize = 500;
/// Fills kept in the report (evenly spread), for charts.
pub const FILL_MARKS: usize = 1000;
/// Decimals of amounts and of percentages in the report.
const AMOUNT_DP: u32 = 8;
const PCT_DP: u32 = 4;

/// One recorded moment: equity and the mid it was marked at.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Mark {
    at_ms: TimestampMs,
    equity: Decimal,
    mid: Decimal,
}

/// Equity over time: the peak and deepest drawdown exactly, the last
/// value of every minute, and the range of the mids.
#[derive(Clone, Debug)]
pub struct EquityCurve {
    start: (Decimal, Decimal),
    minutes: Vec<Mark>,
    peak: Option<Decimal>,
    max_drawdown_pct: Decimal,
    mids: Option<(Decimal, Decimal)>,
}

impl EquityCurve {
    /// A curve for starting balances (`base`, `quote`).
    pub fn new(base: Decimal, quote: Decimal) -> Self {
        EquityCurve {
            start: (base, quote),
            minutes: Vec::new(),
            peak: None,
            max_drawdown_pct: Decimal::ZERO,
            mids: None,
        }
    }

    /// The starting balances' worth at `mid`: the buy-and-hold equity.
    fn held(&self, mid: Decimal) -> Decimal {
        self.start.1 + self.start.0 * mid
    }

    pub fn record(&mut self, at_ms: TimestampMs, equity: Decimal, mid: Decimal) {
        if self.minutes.is_empty() {
            // The curve opens with the starting balances at the first mid.
            self.push(Mark {
                at_ms,
                equity: self.held(mid),
                mid,
            });
        }
        self.push(Mark { at_ms, equity, mid });
    }

    fn push(&mut self, m: Mark) {
        let peak = self.peak.map_or(m.equity, |p| p.max(m.equity));
        self.peak = Some(peak);
        if peak > Decimal::ZERO {
            let dd = (peak - m.equity) / peak * Decimal::ONE_HUNDRED;
            self.max_drawdown_pct = self.max_drawdown_pct.max(dd);
        }
        self.mids = Some(match self.mids {
            Some((lo, hi)) => (lo.min(m.mid), hi.max(m.mid)),
            None => (m.mid, m.mid),
        });
        let minute = m.at_ms.div_euclid(MINUTE_MS);
        // The opening point stays; later ones keep the last of each minute.
        let opening_only = self.minutes.len() <= 1;
        match self.minutes.last_mut() {
            Some(last) if !opening_only && last.at_ms.div_euclid(MINUTE_MS) == minute => *last = m,
            _ => self.minutes.push(m),
        }
    }

    /// The first and the last recorded equity (initial, final).
    pub fn ends(&self) -> Option<(Decimal, Decimal)> {
        Some((self.minutes.first()?.equity, self.minutes.last()?.equity))
    }

    pub fn max_drawdown_pct(&self) -> Decimal {
        self.max_drawdown_pct
    }

    /// Every recorded value, for checking the figures against.
    pub fn values(&self) -> Vec<(TimestampMs, Decimal)> {
        self.minutes.iter().map(|m| (m.at_ms, m.equity)).collect()
    }

    fn sharpe(&self) -> f64 {
        let mut hourly: Vec<f64> = Vec::new();
        let mut hour = None;
        for m in &self.minutes {
            let h = m.at_ms.div_euclid(HOUR_MS);
            let e = m.equity.to_f64().unwrap_or(0.0);
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

    /// At most `CURVE_POINTS`, evenly spread, the first and last included.
    fn sampled(&self) -> Vec<CurvePoint> {
        let n = self.minutes.len();
        let pick = |m: &Mark| CurvePoint {
            at_ms: m.at_ms,
            equity: dp(m.equity, AMOUNT_DP),
            hold: dp(self.held(m.mid), AMOUNT_DP),
        };
        if n <= CURVE_POINTS {
            return self.minutes.iter().map(pick).collect();
        }
        (0..CURVE_POINTS)
            .map(|i| pick(&self.minutes[i * (n - 1) / (CURVE_POINTS - 1)]))
            .collect()
    }
}

/// Rounded half away from zero, as a person rounds.
fn dp(d: Decimal, places: u32) -> Decimal {
    d.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

#[derive(Debug)]
pub struct Inputs<'a> {
    pub settings: &'a SimSettings,
    pub base_asset: &'a str,
    pub quote_asset: &'a str,
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

fn pct(part: Decimal, whole: Decimal) -> Decimal {
    if whole > Decimal::ZERO {
        dp(part / whole * Decimal::ONE_HUNDRED, PCT_DP)
    } else {
        Decimal::ZERO
    }
}

pub fn measure(i: Inputs) -> Report {
    let s = i.settings;
    let held = |mid: Decimal| s.initial_quote + s.initial_base * mid;
    let final_equity = i.quote + i.base * i.mid;
    let (initial_equity, first_mid) = match i.curve.minutes.first() {
        Some(m) => (m.equity, m.mid),
        None => (held(i.mid), i.mid),
    };
    let pnl = final_equity - initial_equity;
    let hold_pnl = held(i.mid) - initial_equity;
    let reducing: Vec<&SimFill> = i.fills.iter().filter(|f| !f.realized.is_zero()).collect();
    let wins = reducing
        .iter()
        .filter(|f| f.realized > Decimal::ZERO)
        .count();
    let (low_mid, high_mid) = i.curve.mids.unwrap_or((i.mid, i.mid));
    let balances = |base: Decimal, quote: Decimal| {
        Amounts(BTreeMap::from([
            (i.base_asset.to_string(), dp(base, AMOUNT_DP)),
            (i.quote_asset.to_string(), dp(quote, AMOUNT_DP)),
        ]))
    };
    let n = i.fills.len();
    let fills = (0..n.min(FILL_MARKS))
        .map(|k| {
            let f = &i.fills[if n <= FILL_MARKS {
                k
            } else {
                k * (n - 1) / (FILL_MARKS - 1)
            }];
            FillMark {
                at_ms: f.at_ms,
                side: f.side,
                price: f.price.normalize(),
                qty: f.qty.normalize(),
            }
        })
        .collect();
    Report {
        run: RunInfo {
            settings: Some(s.clone()),
            ..RunInfo::default()
        },
        currency: i.quote_asset.to_string(),
        initial_equity: dp(initial_equity, AMOUNT_DP),
        final_equity: dp(final_equity, AMOUNT_DP),
        pnl: dp(pnl, AMOUNT_DP),
        return_pct: pct(pnl, initial_equity),
        max_drawdown_pct: dp(i.curve.max_drawdown_pct, PCT_DP),
        sharpe: dp(
            Decimal::from_f64_retain(i.curve.sharpe()).unwrap_or_default(),
            PCT_DP,
        ),
        buy_and_hold: Hold {
            final_equity: dp(held(i.mid), AMOUNT_DP),
            pnl: dp(hold_pnl, AMOUNT_DP),
            return_pct: pct(hold_pnl, initial_equity),
        },
        vs_buy_and_hold: dp(pnl - hold_pnl, AMOUNT_DP),
        trades: n as u64,
        win_rate: pct(Decimal::from(wins), Decimal::from(reducing.len())),
        fees: dp(i.pnl.fees, AMOUNT_DP),
        turnover: dp(i.pnl.volume, AMOUNT_DP),
        maker_fills: i.fills.iter().filter(|f| f.maker).count() as u64,
        rejected_orders: i.rejected,
        open_orders: i.open_orders,
        initial_balances: balances(s.initial_base, s.initial_quote),
        final_balances: balances(i.base, i.quote),
        first_mid: first_mid.normalize(),
        final_mid: i.mid.normalize(),
        low_mid: low_mid.normalize(),
        high_mid: high_mid.normalize(),
        events: i.events,
        ended: i.ended,
        warnings: Vec::new(),
        equity_curve: i.curve.sampled(),
        fills,
    }
}

/// What in a finished run is probably not what its user meant.
pub fn warnings(r: &Report, strategy: &crate::strategy::StrategyParams) -> Vec<String> {
    let mut out = Vec::new();
    let range = format!("{}–{}", r.low_mid, r.high_mid);
    if let crate::strategy::StrategyParams::Grid(g) = strategy {
        if let (Some(lo), Some(hi)) = (g.lower_price, g.upper_price) {
            if r.high_mid < lo || r.low_mid > hi {
                out.push(format!(
                    "the price ({range} {}) never entered the grid's range {}–{}: set lower_price and upper_price around the data's prices",
                    r.currency,
                    lo.normalize(),
                    hi.normalize()
                ));
            }
        }
    }
    if r.trades == 0 {
        out.push(format!(
            "no order filled: the strategy never traded on this data (its mid moved within {range} {})",
            r.currency
        ));
    }
    let pair: String = r.run.pair.chars().filter(|c| *c != '-').collect();
    for file in &r.run.data {
        let name = file.rsplit('/').next().unwrap_or(file);
        // Binance and Tardis name files by the pair in capitals: BTCUSDT.
        let named = name.split(['-', '_', '.']).find(|s| {
            s.len() >= 5
                && s.starts_with(|c: char| c.is_ascii_uppercase())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
        if let Some(named) = named {
            if !pair.is_empty() && named != pair {
                out.push(format!(
                    "the data file {name} names {named}, but the pair tested is {} (its tick and step sizes, and the report's assets)",
                    r.run.pair
                ));
            }
        }
    }
    out
}
