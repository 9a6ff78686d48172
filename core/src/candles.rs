//! One-minute OHLCV candles of a market: the minute being built and a
//! bounded history of closed ones, for charts (`get_candles`) and the
//! `market_data` event. Fed with prices and quantities as they happen;
//! a quote-only venue feeds prices with a zero quantity.

use crate::time::TimestampMs;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Closed minutes a series keeps: one day.
pub const KEEP_MINUTES: usize = 1440;

/// One minute of a market, as `get_candles` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    /// The minute's start, epoch seconds.
    pub time: i64,
    #[serde(with = "crate::num")]
    pub open: Decimal,
    #[serde(with = "crate::num")]
    pub high: Decimal,
    #[serde(with = "crate::num")]
    pub low: Decimal,
    #[serde(with = "crate::num")]
    pub close: Decimal,
    /// Base asset traded in the minute (0 for a quote-only venue).
    #[serde(with = "crate::num")]
    pub volume: Decimal,
}

impl Candle {
    fn opened(minute: i64, price: Decimal) -> Candle {
        Candle {
            time: minute * 60,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: Decimal::ZERO,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CandleSeries {
    closed: VecDeque<Candle>,
    current: Option<Candle>,
    keep: usize,
}

impl Default for CandleSeries {
    fn default() -> Self {
        CandleSeries::new(KEEP_MINUTES)
    }
}

impl CandleSeries {
    /// A series that keeps `keep` closed minutes.
    pub fn new(keep: usize) -> Self {
        CandleSeries {
            closed: VecDeque::new(),
            current: None,
            keep,
        }
    }

    /// A print (or quote) of `qty` at `price` at `now_ms`. A time before
    /// the current minute (a clock step back) counts in the current one.
    pub fn add(&mut self, price: Decimal, qty: Decimal, now_ms: TimestampMs) {
        let minute = now_ms.div_euclid(60_000);
        match &mut self.current {
            Some(c) if minute * 60 <= c.time => {
                c.high = c.high.max(price);
                c.low = c.low.min(price);
                c.close = price;
                c.volume += qty;
            }
            slot => {
                if let Some(done) = slot.take() {
                    self.closed.push_back(done);
                    while self.closed.len() > self.keep {
                        self.closed.pop_front();
                    }
                }
                let mut c = Candle::opened(minute, price);
                c.volume = qty;
                *slot = Some(c);
            }
        }
    }

    /// The minute being built (the last one that saw a print).
    pub fn current(&self) -> Option<&Candle> {
        self.current.as_ref()
    }

    /// The newest `limit` candles, oldest first, the current one last.
    pub fn last(&self, limit: usize) -> Vec<Candle> {
        let all = self.closed.iter().chain(self.current.as_ref());
        let len = self.closed.len() + usize::from(self.current.is_some());
        all.skip(len.saturating_sub(limit)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_minute_collects_open_high_low_close_and_volume() {
        let mut s = CandleSeries::new(10);
        s.add(d("100"), d("1"), 60_000);
        s.add(d("105"), d("0.5"), 70_000);
        s.add(d("98"), d("0.25"), 119_999);
        s.add(d("101"), d("2"), 119_999);
        let c = s.current().unwrap();
        assert_eq!(c.time, 60);
        assert_eq!(
            (c.open, c.high, c.low, c.close, c.volume),
            (d("100"), d("105"), d("98"), d("101"), d("3.75"))
        );
        assert_eq!(s.last(5).len(), 1);
    }

    #[test]
    fn a_new_minute_closes_the_last_and_history_is_bounded() {
        let mut s = CandleSeries::new(2);
        for minute in 0..5 {
            s.add(Decimal::from(minute), Decimal::ONE, minute * 60_000 + 5);
        }
        let all = s.last(100);
        // Two closed and the current one.
        assert_eq!(
            all.iter().map(|c| c.time).collect::<Vec<_>>(),
            [120, 180, 240]
        );
        assert_eq!(
            s.last(2).iter().map(|c| c.time).collect::<Vec<_>>(),
            [180, 240]
        );
        assert!(s.last(0).is_empty());
    }

    #[test]
    fn quotes_with_no_quantity_still_make_candles() {
        let mut s = CandleSeries::default();
        s.add(d("10"), Decimal::ZERO, 0);
        s.add(d("11"), Decimal::ZERO, 1);
        let c = s.current().unwrap();
        assert_eq!(
            (c.open, c.close, c.volume),
            (d("10"), d("11"), Decimal::ZERO)
        );
    }

    #[test]
    fn a_time_before_the_current_minute_counts_in_it() {
        let mut s = CandleSeries::default();
        s.add(d("10"), Decimal::ONE, 120_000);
        s.add(d("9"), Decimal::ONE, 60_000);
        assert_eq!(s.last(10).len(), 1);
        assert_eq!(s.current().unwrap().low, d("9"));
    }

    #[test]
    fn candles_go_on_the_wire_as_exact_numbers() {
        let c = Candle::opened(1, d("52000.10"));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"time":60,"open":52000.1,"high":52000.1,"low":52000.1,"close":52000.1,"volume":0}"#
        );
    }
}
