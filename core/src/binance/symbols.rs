//! `SymbolMap`: Binance's `BTCUSDT` ↔ laicai's `BTC-USDT`, and each pair's
//! trading rules, from `exchangeInfo`.

use super::wire::{ExchangeInfo, Filter};
use crate::pair::{PairSpec, Symbol};
use rust_decimal::Decimal;
use std::collections::HashMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SymbolMap {
    to_venue: HashMap<Symbol, String>,
    from_venue: HashMap<String, Symbol>,
    specs: HashMap<Symbol, PairSpec>,
}

impl SymbolMap {
    /// Every symbol that is trading, with its tick size, step size and
    /// minimum notional (`MIN_NOTIONAL` or its successor `NOTIONAL`).
    pub fn from_info(info: &ExchangeInfo) -> SymbolMap {
        let mut map = SymbolMap::default();
        for s in info.symbols.iter().filter(|s| s.status == "TRADING") {
            let Ok(symbol) = Symbol::parse(&format!("{}-{}", s.base_asset, s.quote_asset)) else {
                continue;
            };
            let mut spec = PairSpec {
                symbol: symbol.clone(),
                tick_size: Decimal::ZERO,
                step_size: Decimal::ZERO,
                min_notional: Decimal::ZERO,
            };
            for f in &s.filters {
                match f {
                    Filter::Price { tick_size } => spec.tick_size = tick_size.normalize(),
                    Filter::LotSize { step_size, .. } => spec.step_size = step_size.normalize(),
                    Filter::MinNotional { min_notional } | Filter::Notional { min_notional } => {
                        spec.min_notional = min_notional.normalize()
                    }
                    Filter::Other => {}
                }
            }
            map.to_venue.insert(symbol.clone(), s.symbol.clone());
            map.from_venue.insert(s.symbol.clone(), symbol.clone());
            map.specs.insert(symbol, spec);
        }
        map
    }

    pub fn venue(&self, symbol: &Symbol) -> Option<&str> {
        self.to_venue.get(symbol).map(String::as_str)
    }

    pub fn symbol(&self, venue: &str) -> Option<&Symbol> {
        self.from_venue.get(venue)
    }

    pub fn spec(&self, symbol: &Symbol) -> Option<&PairSpec> {
        self.specs.get(symbol)
    }

    pub fn specs(&self) -> impl Iterator<Item = &PairSpec> {
        self.specs.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_symbols_and_filters() {
        let info: ExchangeInfo = serde_json::from_str(
            r#"{"timezone":"UTC","symbols":[
              {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[
                {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
                {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
                {"filterType":"ICEBERG_PARTS","limit":10},
                {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true}]},
              {"symbol":"OLDUSDT","status":"BREAK","baseAsset":"OLD","quoteAsset":"USDT","filters":[]}]}"#,
        )
        .unwrap();
        let m = SymbolMap::from_info(&info);
        let btc = Symbol::parse("BTC-USDT").unwrap();
        assert_eq!(m.venue(&btc), Some("BTCUSDT"));
        assert_eq!(m.symbol("BTCUSDT"), Some(&btc));
        let spec = m.spec(&btc).unwrap();
        assert_eq!(spec.tick_size.to_string(), "0.01");
        assert_eq!(spec.step_size.to_string(), "0.00001");
        assert_eq!(spec.min_notional.to_string(), "5");
        assert_eq!(m.symbol("OLDUSDT"), None, "not trading");
    }
}
