//! Assets and trading pairs: `BTC-USDT` is base `BTC`, quote `USDT`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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
    fn parses_and_splits() {
        let s = Symbol::parse("btc-usdt").unwrap();
        assert_eq!(s.as_str(), "BTC-USDT");
        assert_eq!((s.base(), s.quote()), ("BTC", "USDT"));
        for bad in ["BTCUSDT", "-USDT", "BTC-", "BTC-US DT", ""] {
            assert!(Symbol::parse(bad).is_err(), "{bad}");
        }
    }
}
