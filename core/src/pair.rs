//! Assets and trading pairs: `BTC-USDT` is base `BTC`, quote `USDT`.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A pair's trading rules on one venue.
#[derive(Clone, Debug, PartialEq)]
pub struct PairSpec {
    pub symbol: Symbol,
    pub tick_size: Decimal,
    pub step_size: Decimal,
    /// Smallest price × size of a limit order.
    pub min_notional: Decimal,
}

impl PairSpec {
    /// Checks an order's price and size against the rules; the error names
    /// the offending field.
    pub fn check(
        &self,
        price: Option<Decimal>,
        size: Decimal,
    ) -> Result<(), (&'static str, String)> {
        if !(size % self.step_size).is_zero() {
            return Err((
                "size",
                format!("must be a multiple of the step size {}", self.step_size),
            ));
        }
        if let Some(price) = price {
            if !(price % self.tick_size).is_zero() {
                return Err((
                    "price",
                    format!("must be a multiple of the tick size {}", self.tick_size),
                ));
            }
            match price.checked_mul(size) {
                None => return Err(("size", "price × size is too large to compute".into())),
                Some(n) if n < self.min_notional => {
                    return Err((
                        "size",
                        format!("price × size must be at least {}", self.min_notional),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The nearest valid price a passive order may quote: bids round down,
    /// asks round up, so rounding never makes a quote more aggressive.
    pub fn passive_price(&self, price: Decimal, bid: bool) -> Decimal {
        let strategy = if bid {
            RoundingStrategy::ToNegativeInfinity
        } else {
            RoundingStrategy::ToPositiveInfinity
        };
        round_to(price, self.tick_size, strategy)
    }

    /// The nearest valid price.
    pub fn nearest_price(&self, price: Decimal) -> Decimal {
        round_to(
            price,
            self.tick_size,
            RoundingStrategy::MidpointAwayFromZero,
        )
    }

    /// The largest valid size not above `size`.
    pub fn floor_size(&self, size: Decimal) -> Decimal {
        round_to(size, self.step_size, RoundingStrategy::ToZero)
    }

    /// Whether a limit order of this price and size would pass `check`
    /// once rounded (a positive size meeting the minimum notional).
    pub fn is_tradable(&self, price: Decimal, size: Decimal) -> bool {
        size > Decimal::ZERO && price > Decimal::ZERO && price * size >= self.min_notional
    }
}

/// `value` rounded to a multiple of `increment` (a zero increment leaves
/// it as it is).
fn round_to(value: Decimal, increment: Decimal, strategy: RoundingStrategy) -> Decimal {
    if increment.is_zero() {
        return value;
    }
    // An increment of 10^-k (exchanges' tick and step sizes almost always
    // are) is rounding at the k-th decimal: the same value without a
    // Decimal division, which is most of the cost on hot paths.
    if increment.mantissa() == 1 {
        return value
            .round_dp_with_strategy(increment.scale(), strategy)
            .normalize();
    }
    round_by_division(value, increment, strategy)
}

/// Rounding to any non-zero increment: a whole number of increments.
fn round_by_division(value: Decimal, increment: Decimal, strategy: RoundingStrategy) -> Decimal {
    ((value / increment).round_dp_with_strategy(0, strategy) * increment).normalize()
}

/// A trading pair written `BASE-QUOTE` in upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol {
    text: String,
    dash: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)")]
pub struct BadSymbol(pub String);

impl Symbol {
    pub fn parse(text: &str) -> Result<Self, BadSymbol> {
        let upper = text.trim().to_ascii_uppercase();
        let bad = || BadSymbol(text.to_string());
        let dash = upper.find('-').ok_or_else(bad)?;
        let (base, quote) = (&upper[..dash], &upper[dash + 1..]);
        let ok = |s: &str| {
            !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_alphanumeric())
        };
        if !ok(base) || !ok(quote) {
            return Err(bad());
        }
        Ok(Symbol { text: upper, dash })
    }
    pub fn base(&self) -> &str {
        &self.text[..self.dash]
    }
    pub fn quote(&self) -> &str {
        &self.text[self.dash + 1..]
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Symbol {
    type Err = BadSymbol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl TryFrom<String> for Symbol {
    type Error = BadSymbol;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Symbol::parse(&s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_of_ten_increment_rounds_like_any_other() {
        use rust_decimal::RoundingStrategy as R;
        let mut rng = crate::rng::Rng::new(11);
        for inc in ["1", "0.1", "0.01", "0.00001", "0.00000001"] {
            let inc: Decimal = inc.parse().unwrap();
            for _ in 0..2000 {
                let units = (rng.uniform() * 2e12) as i64 - 1_000_000_000_000;
                let v = Decimal::new(units, (rng.uniform() * 12.0) as u32);
                for st in [
                    R::ToZero,
                    R::ToNegativeInfinity,
                    R::ToPositiveInfinity,
                    R::MidpointNearestEven,
                ] {
                    let got = round_to(v, inc, st);
                    let want = round_by_division(v, inc, st);
                    assert_eq!(got, want, "{v} to {inc} {st:?}");
                    assert_eq!(got.to_string(), want.to_string(), "{v} to {inc} {st:?}");
                }
            }
        }
    }

    #[test]
    fn rounding_never_makes_a_quote_more_aggressive() {
        let spec = PairSpec {
            symbol: Symbol::parse("BTC-USDT").unwrap(),
            tick_size: Decimal::new(5, 1),
            step_size: Decimal::new(1, 3),
            min_notional: Decimal::from(5),
        };
        let p = Decimal::new(100_327, 2);
        assert_eq!(spec.passive_price(p, true), Decimal::new(10_030, 1));
        assert_eq!(spec.passive_price(p, false), Decimal::new(10_035, 1));
        assert_eq!(spec.nearest_price(p), Decimal::new(10_035, 1));
        assert_eq!(
            spec.floor_size(Decimal::new(12_999, 4)),
            Decimal::new(1_299, 3)
        );
        assert!(spec
            .check(Some(Decimal::new(10_035, 1)), Decimal::new(1_299, 3))
            .is_ok());
        assert_eq!(spec.check(Some(p), Decimal::ONE).unwrap_err().0, "price");
        assert_eq!(spec.check(None, Decimal::new(1, 4)).unwrap_err().0, "size");
        assert!(!spec.is_tradable(Decimal::from(1000), Decimal::new(1, 3)));
    }

    #[test]
    fn parses_and_splits() {
        let s = Symbol::parse("btc-usdt").unwrap();
        assert_eq!(s.as_str(), "BTC-USDT");
        assert_eq!((s.base(), s.quote()), ("BTC", "USDT"));
        for bad in ["BTCUSDT", "-USDT", "BTC-", "BTC-US DT", ""] {
            assert!(Symbol::parse(bad).is_err(), "{bad}");
        }
    }
}
