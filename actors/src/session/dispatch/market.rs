//! Balances, positions, books, markets and candles: what the venues hold.

use super::*;

pub(super) async fn get_positions(
    deps: &SessionDeps,
    r: &Reply<'_>,
    exchange: Option<String>,
) -> Result<Response, Failure> {
    Ok({
        let mut positions =
            ask_venues(deps, exchange.as_deref(), |v| &v.positions, || GetPositions).await?;
        stamp(deps, &mut positions);
        r.ok(format!("{} positions", positions.len()))
            .with("count", &positions.len())
            .with("positions", &positions)
    })
}

pub(super) async fn get_balances(
    deps: &SessionDeps,
    r: &Reply<'_>,
    exchange: Option<String>,
) -> Result<Response, Failure> {
    Ok({
        let venues = select_venues(deps, exchange.as_deref())?;
        // Read on this thread from the venues' boards; a venue without
        // one is asked.
        let mut balances = Vec::new();
        for v in &venues {
            match &v.board {
                Some(board) => balances.extend(board.read().iter().cloned()),
                None => balances.extend(tell(deps, &v.balances, GetBalances).await?),
            }
        }
        stamp(deps, &mut balances);
        r.ok(format!("{} balances", balances.len()))
            .with("count", &balances.len())
            .with("balances", &balances)
    })
}

pub(super) async fn get_order_book(
    deps: &SessionDeps,
    r: &Reply<'_>,
    symbol: Symbol,
    exchange: Option<String>,
    depth: usize,
) -> Result<Response, Failure> {
    Ok({
        let book = deps
            .venues
            .book(exchange.as_deref(), symbol.as_str())
            .ok_or_else(|| {
                (
                    ErrorCode::NotFound,
                    format!(
                        "no order book for {symbol} on {}",
                        exchange.as_deref().unwrap_or("the default exchange")
                    ),
                )
            })?;
        let view = ask(deps, &book, GetBook { depth }).await?;
        r.ok(format!("Order book for {symbol}"))
            .with("symbol", &symbol)
            .with("bids", &view.bids)
            .with("asks", &view.asks)
            .with("sequence", &view.sequence)
    })
}

pub(super) async fn get_markets(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let mut markets: Vec<MarketView> = deps
            .venues
            .markets()
            .iter()
            .map(|(exchange, spec)| MarketView::of(exchange, spec))
            .collect();
        stamp(deps, &mut markets);
        r.ok(format!("{} markets", markets.len()))
            .with("count", &markets.len())
            .with("markets", &markets)
    })
}

pub(super) async fn get_candles(
    deps: &SessionDeps,
    r: &Reply<'_>,
    symbol: Symbol,
    exchange: Option<String>,
    limit: usize,
) -> Result<Response, Failure> {
    Ok({
        let (name, venue) = match deps.venues.lookup(exchange.as_deref()) {
            Lookup::Ready(name, v) => (name, v),
            Lookup::Down(name) => {
                return Err((
                    ErrorCode::ExchangeUnavailable,
                    format!("exchange `{name}` is reconnecting; try again shortly"),
                ))
            }
            Lookup::Unknown(_) => return Err(no_exchange(exchange.as_deref())),
        };
        let candles = tell(
            deps,
            &venue.candles,
            GetCandles {
                symbol: symbol.clone(),
                limit,
            },
        )
        .await?
        .ok_or_else(|| {
            (
                ErrorCode::NotFound,
                format!("{name} does not trade {symbol}"),
            )
        })?;
        r.ok(format!("{} candles of {symbol}", candles.len()))
            .with("symbol", &symbol)
            .with("exchange", &name)
            .with("interval", &"1m")
            .with("count", &candles.len())
            .with("candles", &candles)
    })
}
