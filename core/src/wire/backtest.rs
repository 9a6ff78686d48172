//! A backtest as the protocol carries it: the fill model's settings a
//! client asks for, and the report (`backtest_result`'s `data`, and
//! `report.json`). How the figures are computed is `backtest::report`.

use crate::order::Side;
use crate::time::TimestampMs;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// The fill model's and the account's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    #[serde(with = "crate::num")]
    pub initial_base: Decimal,
    #[serde(with = "crate::num")]
    pub initial_quote: Decimal,
    /// Fee rates (0.001 = 0.1 %).
    #[serde(with = "crate::num")]
    pub maker_fee: Decimal,
    #[serde(with = "crate::num")]
    pub taker_fee: Decimal,
    /// A market order pays this much beyond the top of book.
    #[serde(with = "crate::num")]
    pub slippage_bps: Decimal,
    /// The simulated book's half spread around the last print.
    #[serde(with = "crate::num")]
    pub half_spread_bps: Decimal,
    /// From a strategy's decision to the venue.
    pub latency_ms: i64,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            initial_base: Decimal::ONE,
            initial_quote: Decimal::from(100_000),
            maker_fee: Decimal::new(1, 3),
            taker_fee: Decimal::new(1, 3),
            slippage_bps: Decimal::ONE,
            half_spread_bps: Decimal::ONE,
            latency_ms: 0,
        }
    }
}

impl SimSettings {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.initial_base < Decimal::ZERO || self.initial_quote < Decimal::ZERO {
            out.push("initial balances must not be negative".to_string());
        }
        for (name, v) in [("maker_fee", self.maker_fee), ("taker_fee", self.taker_fee)] {
            if v < Decimal::ZERO || v >= Decimal::ONE {
                out.push(format!("{name} must be a rate from 0 to below 1"));
            }
        }
        for (name, v) in [
            ("slippage_bps", self.slippage_bps),
            ("half_spread_bps", self.half_spread_bps),
        ] {
            if v < Decimal::ZERO || v >= BPS {
                out.push(format!("{name} must be from 0 to below 10000"));
            }
        }
        if !(0..=60_000).contains(&self.latency_ms) {
            out.push("latency_ms must be from 0 to 60000".to_string());
        }
        out
    }
}

/// `[time_ms, equity, buy_and_hold_equity]` on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    pub at_ms: TimestampMs,
    pub equity: Decimal,
    pub hold: Decimal,
}

impl Serialize for CurvePoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.at_ms)?;
        t.serialize_element(&crate::num::Exact(self.equity))?;
        t.serialize_element(&crate::num::Exact(self.hold))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for CurvePoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw(
            TimestampMs,
            #[serde(with = "crate::num")] Decimal,
            #[serde(with = "crate::num")] Decimal,
        );
        let Raw(at_ms, equity, hold) = Raw::deserialize(d)?;
        Ok(CurvePoint {
            at_ms,
            equity,
            hold,
        })
    }
}

/// One fill for a chart: `[time_ms, "buy"|"sell", price, qty]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FillMark {
    pub at_ms: TimestampMs,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
}

impl Serialize for FillMark {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(4)?;
        t.serialize_element(&self.at_ms)?;
        t.serialize_element(&self.side)?;
        t.serialize_element(&crate::num::Exact(self.price))?;
        t.serialize_element(&crate::num::Exact(self.qty))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for FillMark {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw(
            TimestampMs,
            Side,
            #[serde(with = "crate::num")] Decimal,
            #[serde(with = "crate::num")] Decimal,
        );
        let Raw(at_ms, side, price, qty) = Raw::deserialize(d)?;
        Ok(FillMark {
            at_ms,
            side,
            price,
            qty,
        })
    }
}

/// Amounts by asset name (`{"BTC": 1, "USDT": 100000}`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Amounts(pub BTreeMap<String, Decimal>);

impl Serialize for Amounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (asset, amount) in &self.0 {
            m.serialize_entry(asset, &crate::num::Exact(*amount))?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Amounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(transparent)]
        struct Amount(#[serde(with = "crate::num")] Decimal);
        let raw = BTreeMap::<String, Amount>::deserialize(d)?;
        Ok(Amounts(raw.into_iter().map(|(k, v)| (k, v.0)).collect()))
    }
}

/// What was run, so a report can be read (and re-run) on its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub engine_version: String,
    /// `{"type": "pmm", "config": {…every field…}}`.
    pub strategy: serde_json::Value,
    pub pair: String,
    /// The data files replayed, in order.
    pub data: Vec<String>,
    /// The first and last event replayed, ISO-8601 UTC.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Starting balances, fees and the fill model.
    pub settings: Option<SimSettings>,
}

/// Buy and hold: the starting balances, untouched, at the same mids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    #[serde(with = "crate::num")]
    pub final_equity: Decimal,
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    #[serde(with = "crate::num")]
    pub return_pct: Decimal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub run: RunInfo,
    /// The asset every money figure is in (the pair's quote).
    pub currency: String,
    /// The starting balances at the first mid.
    #[serde(with = "crate::num")]
    pub initial_equity: Decimal,
    /// The final balances at the last mid.
    #[serde(with = "crate::num")]
    pub final_equity: Decimal,
    /// `final_equity − initial_equity`.
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    /// `pnl / initial_equity`, percent.
    #[serde(with = "crate::num")]
    pub return_pct: Decimal,
    /// Of the same equity, percent of its peak.
    #[serde(with = "crate::num")]
    pub max_drawdown_pct: Decimal,
    /// Of the same equity's hourly returns, annualised.
    #[serde(with = "crate::num")]
    pub sharpe: Decimal,
    pub buy_and_hold: Hold,
    /// `pnl − buy_and_hold.pnl`.
    #[serde(with = "crate::num")]
    pub vs_buy_and_hold: Decimal,
    /// Fills.
    pub trades: u64,
    /// Percent of the position-reducing fills that made money.
    #[serde(with = "crate::num")]
    pub win_rate: Decimal,
    #[serde(with = "crate::num")]
    pub fees: Decimal,
    /// Σ price × size of every fill.
    #[serde(with = "crate::num")]
    pub turnover: Decimal,
    pub maker_fills: u64,
    pub rejected_orders: u64,
    pub open_orders: usize,
    pub initial_balances: Amounts,
    pub final_balances: Amounts,
    #[serde(with = "crate::num")]
    pub first_mid: Decimal,
    #[serde(with = "crate::num")]
    pub final_mid: Decimal,
    /// The lowest and highest mid replayed.
    #[serde(with = "crate::num")]
    pub low_mid: Decimal,
    #[serde(with = "crate::num")]
    pub high_mid: Decimal,
    pub events: u64,
    /// Why it ended before the data did, if it did.
    pub ended: Option<String>,
    /// What probably differs from what was meant (no fill at all, a grid
    /// the price never entered, data of another pair).
    pub warnings: Vec<String>,
    /// `[time_ms, equity, buy_and_hold_equity]`, sampled.
    pub equity_curve: Vec<CurvePoint>,
    /// `[time_ms, side, price, qty]`, at most `FILL_MARKS`, evenly spread.
    pub fills: Vec<FillMark>,
}
