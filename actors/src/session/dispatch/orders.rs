//! Placing, cancelling and reading orders and trades.

use super::*;

pub(super) async fn place_order(
    deps: &SessionDeps,
    r: &Reply<'_>,
    req: OrderRequest,
) -> Result<Response, Failure> {
    Ok({
        let placed = ask(deps, &deps.risk, SubmitOrder(req)).await?;
        let mut order = placed.map_err(refused)?;
        stamp(deps, std::slice::from_mut(&mut order));
        if order.status == OrderStatus::Rejected {
            let reason = order.reason.clone().unwrap_or_else(|| "rejected".into());
            r.fail(
                ErrorCode::OrderRejected,
                format!("Order {} rejected: {reason}", order.order_id),
            )
            .with("order_id", &order.order_id)
            .with("order", &order)
        } else {
            r.ok("Order placed".into())
                .with("order_id", &order.order_id)
                .with("order", &order)
        }
    })
}

pub(super) async fn cancel_order(
    deps: &SessionDeps,
    r: &Reply<'_>,
    order_id: OrderId,
    exchange: Option<String>,
) -> Result<Response, Failure> {
    Ok({
        // The id alone finds the venue that holds the order open.
        let exchange = match exchange {
            Some(e) => Some(e),
            None => {
                let holders = ask(deps, &deps.registry, WhereIs(order_id.0.clone())).await?;
                match holders.as_slice() {
                    [] => None,
                    [one] => Some(one.clone()),
                    many => {
                        return Err((
                            ErrorCode::InvalidParams,
                            format!(
                                "invalid `exchange`: order {} is open on {}; say which",
                                order_id.0,
                                many.join(" and ")
                            ),
                        ))
                    }
                }
            }
        };
        let venue = match deps.venues.lookup(exchange.as_deref()) {
            Lookup::Ready(_, v) => v,
            Lookup::Down(name) => {
                return Err((
                    ErrorCode::ExchangeUnavailable,
                    format!("exchange `{name}` is reconnecting; try again shortly"),
                ))
            }
            Lookup::Unknown(_) => return Err(no_exchange(exchange.as_deref())),
        };
        let mut order = tell(deps, &venue.cancel, CancelOrder(order_id))
            .await?
            .map_err(refused)?;
        stamp(deps, std::slice::from_mut(&mut order));
        r.ok(format!("Order {} cancelled", order.order_id))
            .with("order_id", &order.order_id)
            .with("order", &order)
    })
}

pub(super) async fn cancel_all_orders(
    deps: &SessionDeps,
    r: &Reply<'_>,
    filter: OrderFilter,
) -> Result<Response, Failure> {
    Ok({
        let venues = deps.venues.select(filter.exchange.as_deref());
        let counts = join_all(
            venues
                .iter()
                .map(|v| tell(deps, &v.cancel_all, CancelAll(filter.clone()))),
        )
        .await;
        let mut count = 0;
        for c in counts {
            count += c?;
        }
        r.ok(format!("Cancelled {count} orders"))
            .with("cancelled_count", &count)
    })
}

pub(super) async fn get_orders(
    deps: &SessionDeps,
    r: &Reply<'_>,
    mut filter: OrderFilter,
) -> Result<Response, Failure> {
    Ok({
        known_exchange(deps, filter.exchange.as_deref())?;
        filter.limit.get_or_insert(HISTORY_PAGE);
        let mut orders = history(deps, move |s| s.orders(&filter)).await?;
        stamp(deps, &mut orders);
        r.ok(format!("{} orders", orders.len()))
            .with("count", &orders.len())
            .with("orders", &orders)
    })
}

pub(super) async fn get_trades(
    deps: &SessionDeps,
    r: &Reply<'_>,
    mut filter: OrderFilter,
) -> Result<Response, Failure> {
    Ok({
        known_exchange(deps, filter.exchange.as_deref())?;
        filter.limit.get_or_insert(HISTORY_PAGE);
        let mut trades = history(deps, move |s| s.trades(&filter)).await?;
        stamp(deps, &mut trades);
        r.ok(format!("{} trades", trades.len()))
            .with("count", &trades.len())
            .with("trades", &trades)
    })
}

pub(super) async fn export_trades(
    deps: &SessionDeps,
    r: &Reply<'_>,
    filter: OrderFilter,
) -> Result<Response, Failure> {
    Ok({
        known_exchange(deps, filter.exchange.as_deref())?;
        let trades = history(deps, move |s| s.trades(&filter)).await?;
        let csv = trades_csv(trades.iter().rev());
        r.ok(format!("{} trades exported", trades.len()))
            .with("count", &trades.len())
            .with("format", &"csv")
            .with("csv", &csv)
    })
}
