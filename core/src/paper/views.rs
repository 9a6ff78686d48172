//! The paper venue as the protocol shows it: prices, market data, candles
//! and depth, orders, balances, positions and statistics; and the words
//! of a refusal.

use super::*;

impl PaperExchange {
    pub fn price_update(&self, symbol: &Symbol) -> Option<PriceUpdate> {
        let m = self.markets.get(symbol)?;
        let (bid, ask) = (m.engine.best_bid(), m.engine.best_ask());
        Some(PriceUpdate {
            symbol: symbol.to_string(),
            price: m.last_price.or(m.mark())?,
            bid,
            ask,
            exchange: self.cfg.exchange.clone(),
            connection_id: None,
        })
    }

    pub fn market_data(&self, symbol: &Symbol, now: TimestampMs) -> Option<MarketData> {
        let m = self.markets.get(symbol)?;
        let price = m.last_price.or(m.mark())?;
        let (open, high, low, volume) = match m.candles.current() {
            Some(c) => (c.open, c.high, c.low, c.volume),
            None => (price, price, price, Decimal::ZERO),
        };
        Some(MarketData {
            symbol: symbol.to_string(),
            exchange: self.cfg.exchange.clone(),
            connection_id: None,
            data: MarketDataBody {
                timestamp: now as f64 / 1000.0,
                price,
                open,
                high,
                low,
                volume,
            },
        })
    }

    /// The fee a buy reserves for: a post-only order pays the maker fee,
    /// any other limit order may pay the higher of the two.
    pub(super) fn buy_fee_rate(&self, req: &OrderRequest) -> Decimal {
        if req.post_only {
            self.cfg.maker_fee
        } else {
            self.cfg.maker_fee.max(self.cfg.taker_fee)
        }
    }

    /// How an order's cost was computed, for a refusal a person can check;
    /// `swept` is what walking the book gave a market buy (filled, cost).
    pub(super) fn cost_explained(
        &self,
        req: &OrderRequest,
        swept: Option<(Decimal, Decimal)>,
    ) -> String {
        let (base, quote) = (req.symbol.base(), req.symbol.quote());
        let size = req.size.normalize();
        let pct = |rate: Decimal| (rate * Decimal::ONE_HUNDRED).normalize();
        match (req.side, req.price, swept) {
            (Side::Sell, _, _) => format!("selling {size} {base}"),
            (Side::Buy, _, Some((filled, cost))) => {
                let rest = if filled < req.size {
                    format!(
                        "; the book holds only {} {base}, and the rest of a market order expires",
                        filled.normalize()
                    )
                } else {
                    String::new()
                };
                format!(
                    "a market buy of {size} {base}, walking the book's asks ({} {base} for {} {quote}, + the {} % taker fee{rest})",
                    filled.normalize(),
                    cost.round_dp(8).normalize(),
                    pct(self.cfg.taker_fee),
                )
            }
            (Side::Buy, price, None) => format!(
                "a limit buy of {size} {base} at {} (price × size + the {} % fee reserved)",
                price.unwrap_or_default().normalize(),
                pct(self.buy_fee_rate(req))
            ),
        }
    }

    /// The newest `limit` one-minute candles of the market's prints,
    /// oldest first.
    pub fn candles(&self, symbol: &Symbol, limit: usize) -> Option<Vec<Candle>> {
        Some(self.markets.get(symbol)?.candles.last(limit))
    }

    /// The aggregated book (market liquidity and client orders), best first.
    pub fn depth(&self, symbol: &Symbol, levels: usize) -> Option<(Vec<Level>, Vec<Level>)> {
        Some(self.markets.get(symbol)?.engine.depth(levels))
    }

    pub(super) fn order_view(&self, oref: OrderRef) -> Result<OrderView, Broken> {
        let o = &self
            .orders
            .get(&oref)
            .ok_or_else(|| Broken::UnknownOrder(oref.to_string()))?
            .order;
        Ok(OrderView::of(o))
    }

    /// Orders matching the filter, newest first.
    pub fn orders(&self, filter: &OrderFilter) -> Vec<OrderView> {
        let mut refs: Vec<&OrderRef> = self
            .orders
            .iter()
            .filter(|(_, l)| filter.matches_order(&l.order))
            .map(|(r, _)| r)
            .collect();
        refs.sort_unstable_by(|a, b| b.cmp(a));
        refs.into_iter()
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|r| OrderView::of(&self.orders[r].order))
            .collect()
    }

    pub(super) fn balance_event(&self, asset: &str) -> Event {
        Event::Balance(self.balance_view(asset))
    }

    pub(super) fn balance_view(&self, asset: &str) -> BalanceView {
        let b = self.balances.get(asset);
        BalanceView {
            asset: asset.to_string(),
            free: b.free,
            used: b.used,
            total: b.total(),
            exchange: self.cfg.exchange.clone(),
            connection_id: None,
        }
    }

    pub fn balances(&self) -> Vec<BalanceView> {
        self.balances
            .iter()
            .map(|(a, _)| self.balance_view(a))
            .collect()
    }

    pub(super) fn position_view(
        &self,
        symbol: &Symbol,
        strategy: &Option<StrategyTag>,
    ) -> Option<PositionView> {
        let p = self.positions.get(&(symbol.clone(), strategy.clone()))?;
        let mark = self
            .markets
            .get(symbol)
            .and_then(Market::mark)
            .unwrap_or(p.entry_price);
        Some(PositionView::of(
            symbol,
            strategy,
            p,
            mark,
            &self.cfg.exchange,
        ))
    }

    pub fn positions(&self) -> Vec<PositionView> {
        self.positions
            .keys()
            .filter_map(|(s, strat)| self.position_view(s, strat))
            .collect()
    }

    pub fn stats(&self) -> AccountStats {
        self.stats.clone()
    }
}
