use super::*;
use crate::feed::{FeedParams, Print, SyntheticMarket};
use crate::rng::Rng;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn btc() -> Symbol {
    Symbol::parse("BTC-USDT").unwrap()
}

fn exchange() -> PaperExchange {
    let cfg = PaperConfig {
        exchange: "paper".into(),
        maker_fee: d("0.001"),
        taker_fee: d("0.002"),
        history_limit: 1000,
    };
    let spec = PairSpec {
        symbol: btc(),
        tick_size: d("0.01"),
        step_size: d("0.0001"),
        min_notional: d("1"),
    };
    PaperExchange::new(
        cfg,
        vec![spec],
        &[("USDT".into(), d("100000")), ("BTC".into(), d("1"))],
    )
    .unwrap()
}

/// Asks at 100, 101, 102 (1 BTC each); bids at 99, 98, 97.
fn book(prints: Vec<Print>) -> MarketTick {
    MarketTick {
        asks: vec![
            Level(d("100"), d("1")),
            Level(d("101"), d("1")),
            Level(d("102"), d("1")),
        ],
        bids: vec![
            Level(d("99"), d("1")),
            Level(d("98"), d("1")),
            Level(d("97"), d("1")),
        ],
        prints,
    }
}

fn order(side: Side, order_type: OrderType, size: &str, price: Option<&str>) -> OrderRequest {
    OrderRequest {
        symbol: btc(),
        side,
        order_type,
        size: d(size),
        price: price.map(d),
        time_in_force: if order_type == OrderType::Market {
            TimeInForce::Ioc
        } else {
            TimeInForce::Gtc
        },
        post_only: false,
        client_order_id: None,
        exchange: None,
        strategy: None,
    }
}

fn bal(x: &PaperExchange, asset: &str) -> (Decimal, Decimal) {
    let b = x.balances.get(asset);
    (b.free, b.used)
}

#[test]
fn resting_limit_reserves_and_cancel_restores_exactly() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let out = x
        .place(order(Side::Buy, OrderType::Limit, "0.5", Some("98.5")), 1)
        .unwrap();
    assert_eq!(out.order.status, OrderStatus::Open);
    // 0.5 × 98.5 × (1 + 0.002) = 49.3485 reserved.
    assert_eq!(bal(&x, "USDT"), (d("99950.6515"), d("49.3485")));
    assert_eq!(x.depth(&btc(), 1).unwrap().0, vec![Level(d("99"), d("1"))]);
    assert_eq!(
        x.orders(&OrderFilter {
            status: Some(OrderStatus::Open),
            ..Default::default()
        })
        .len(),
        1
    );
    let out = x.cancel(&OrderId::from("ORD-1"), 2).unwrap();
    assert_eq!(out.order.status, OrderStatus::Canceled);
    assert_eq!(bal(&x, "USDT"), (d("100000"), Decimal::ZERO));
    assert!(matches!(
        x.cancel(&OrderId::from("ORD-1"), 3),
        Err(CancelError::NotOpen(..))
    ));
    assert!(matches!(
        x.cancel(&OrderId::from("ORD-99"), 3),
        Err(CancelError::NotFound(..))
    ));
}

#[test]
fn market_buy_walks_the_book_with_exact_fees() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let out = x
        .place(order(Side::Buy, OrderType::Market, "1.5", None), 1)
        .unwrap();
    assert_eq!(out.order.status, OrderStatus::Filled);
    assert_eq!(out.order.avg_price, Some(d("150.5") / d("1.5")));
    // 1 @ 100 + 0.5 @ 101 = 150.5; taker fee 0.2% = 0.301.
    assert_eq!(
        bal(&x, "USDT"),
        (d("100000") - d("150.5") - d("0.301"), Decimal::ZERO)
    );
    assert_eq!(bal(&x, "BTC"), (d("2.5"), Decimal::ZERO));
    let trades: Vec<_> = out.events.iter().filter_map(Event::trade).collect();
    assert_eq!(trades.len(), 2);
    assert_eq!(
        (trades[0].price, trades[0].amount, trades[0].fee),
        (d("100"), d("1"), d("0.2"))
    );
    assert_eq!(
        (trades[1].price, trades[1].amount, trades[1].fee),
        (d("101"), d("0.5"), d("0.101"))
    );
    let pos = x.positions();
    assert_eq!((pos[0].size, pos[0].side.as_str()), (d("1.5"), "long"));
    assert_eq!(pos[0].entry_price * d("1.5"), d("150.5"));
    assert_eq!(x.stats().total_trades, 2);
}

#[test]
fn resting_order_fills_from_prints_partially_then_fully() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    // Inside the spread: the best bid.
    x.place(order(Side::Buy, OrderType::Limit, "0.5", Some("99.5")), 1)
        .unwrap();
    let sell = |q: &str| {
        vec![Print {
            side: Side::Sell,
            qty: d(q),
        }]
    };
    let ev = x.apply_tick(&btc(), &book(sell("0.2")), 2);
    let updates: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::OrderUpdate(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(updates.last().unwrap().status, OrderStatus::PartiallyFilled);
    assert_eq!(updates.last().unwrap().filled, d("0.2"));
    // A print larger than the rest fills it (0.3) and the book takes the remainder.
    let ev = x.apply_tick(&btc(), &book(sell("0.7")), 3);
    let last = ev
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::OrderUpdate(o) => Some(o),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (last.status, last.filled, last.remaining),
        (OrderStatus::Filled, d("0.5"), Decimal::ZERO)
    );
    // Maker fee 0.1% on 49.75 = 0.04975; the reservation at 0.2% is released in full.
    assert_eq!(
        bal(&x, "USDT"),
        (d("100000") - d("49.75") - d("0.04975"), Decimal::ZERO)
    );
    assert_eq!(bal(&x, "BTC"), (d("1.5"), Decimal::ZERO));
}

#[test]
fn market_moving_through_a_resting_order_fills_it_at_its_price() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    x.place(order(Side::Sell, OrderType::Limit, "0.5", Some("100.5")), 1)
        .unwrap();
    assert_eq!(bal(&x, "BTC"), (d("0.5"), d("0.5")));
    // The market jumps: its bids now start at 101, above our ask.
    let up = MarketTick {
        bids: vec![Level(d("101"), d("0.3")), Level(d("100.8"), d("1"))],
        asks: vec![Level(d("102"), d("1"))],
        prints: vec![],
    };
    let ev = x.apply_tick(&btc(), &up, 2);
    let fills: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) => Some((t.price, t.amount, t.liquidity)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fills,
        vec![
            (d("100.5"), d("0.3"), Liquidity::Maker),
            (d("100.5"), d("0.2"), Liquidity::Maker)
        ]
    );
    assert_eq!(bal(&x, "BTC"), (d("0.5"), Decimal::ZERO));
    assert_eq!(
        bal(&x, "USDT"),
        (d("100000") + d("50.25") - d("0.05025"), Decimal::ZERO)
    );
    let pos = x.positions();
    assert_eq!((pos[0].size, pos[0].side.as_str()), (d("-0.5"), "short"));
}

#[test]
fn refusals_change_nothing() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let before = (x.balances(), x.orders(&OrderFilter::default()));
    let too_big = x.place(order(Side::Buy, OrderType::Limit, "2000", Some("99")), 1);
    assert!(matches!(too_big, Err(PlaceError::Insufficient { .. })));
    let too_much_btc = x.place(order(Side::Sell, OrderType::Market, "1.5", None), 1);
    assert!(matches!(too_much_btc, Err(PlaceError::Insufficient { .. })));
    let off_tick = x.place(order(Side::Buy, OrderType::Limit, "0.1", Some("99.001")), 1);
    assert!(matches!(
        off_tick,
        Err(PlaceError::InvalidParams { field: "price", .. })
    ));
    let off_step = x.place(order(Side::Buy, OrderType::Limit, "0.00001", Some("99")), 1);
    assert!(matches!(
        off_step,
        Err(PlaceError::InvalidParams { field: "size", .. })
    ));
    let mut eth = order(Side::Buy, OrderType::Limit, "1", Some("1"));
    eth.symbol = Symbol::parse("ETH-USDT").unwrap();
    assert!(matches!(
        x.place(eth, 1),
        Err(PlaceError::InvalidParams {
            field: "symbol",
            ..
        })
    ));
    assert_eq!(before, (x.balances(), x.orders(&OrderFilter::default())));
}

#[test]
fn post_only_fok_and_ioc_outcomes_release_funds() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let mut po = order(Side::Buy, OrderType::Limit, "0.1", Some("100"));
    po.post_only = true;
    let out = x.place(po, 1).unwrap();
    assert_eq!(out.order.status, OrderStatus::Rejected);
    let mut fok = order(Side::Buy, OrderType::Limit, "5", Some("102"));
    fok.time_in_force = TimeInForce::Fok;
    assert_eq!(x.place(fok, 1).unwrap().order.status, OrderStatus::Expired);
    assert_eq!(bal(&x, "USDT"), (d("100000"), Decimal::ZERO));
    let mut ioc = order(Side::Buy, OrderType::Limit, "1.5", Some("100"));
    ioc.time_in_force = TimeInForce::Ioc;
    let out = x.place(ioc, 1).unwrap();
    assert_eq!(
        (out.order.status, out.order.filled),
        (OrderStatus::Expired, d("1"))
    );
    assert_eq!(
        bal(&x, "USDT"),
        (d("100000") - d("100") - d("0.2"), Decimal::ZERO)
    );
}

/// Thousands of random orders, cancels and market ticks: balances never go
/// negative, `used` always equals what open orders hold, and every asset's
/// total equals the start plus the sum of its trades.
#[test]
fn random_sessions_conserve_every_unit() {
    let params = FeedParams {
        start_price: d("100"),
        tick_size: d("0.01"),
        step_size: d("0.0001"),
        spread_bps: 10.0,
        volatility_bps: 20.0,
        level_spacing_bps: 5.0,
        depth_levels: 5,
        level_size: d("0.5"),
        trade_probability: 0.8,
        trade_size: d("0.3"),
    };
    let mut market = SyntheticMarket::new(params, 99);
    let mut rng = Rng::new(5);
    let mut x = exchange();
    let (mut usdt, mut btc_units) = (d("100000"), d("1"));
    let mut seen_trades = std::collections::HashSet::new();
    let mut fills_by_kind = [0usize; 2];
    for step in 0..4000i64 {
        let mut events = x.apply_tick(&btc(), &market.next_tick(), step);
        let roll = rng.uniform();
        if roll < 0.5 {
            let side = if rng.uniform() < 0.5 {
                Side::Buy
            } else {
                Side::Sell
            };
            let mid = x.price_update(&btc()).map(|p| p.price).unwrap_or(d("100"));
            let offset = Decimal::from((rng.uniform() * 200.0) as i64 - 100) * d("0.01");
            let size = Decimal::from(1 + (rng.uniform() * 5000.0) as i64) * d("0.0001");
            let kind = if rng.uniform() < 0.2 {
                OrderType::Market
            } else {
                OrderType::Limit
            };
            let price = (kind == OrderType::Limit).then(|| (mid + offset).round_dp(2).to_string());
            if let Ok(out) = x.place(order(side, kind, &size.to_string(), price.as_deref()), step) {
                events.extend(out.events);
            }
        } else if roll < 0.7 {
            let open = x.orders(&OrderFilter {
                status: Some(OrderStatus::Open),
                ..Default::default()
            });
            if let Some(o) = open.first() {
                events.extend(x.cancel(&OrderId(o.order_id.clone()), step).unwrap().events);
            }
        }
        for e in &events {
            if let Event::Trade(t) = e {
                assert!(
                    seen_trades.insert(t.trade_id.clone()),
                    "trade applied twice"
                );
                fills_by_kind[(t.liquidity == Liquidity::Maker) as usize] += 1;
                let notional = t.price * t.amount;
                match t.side {
                    Side::Buy => {
                        usdt -= notional + t.fee;
                        btc_units += t.amount;
                    }
                    Side::Sell => {
                        usdt += notional - t.fee;
                        btc_units -= t.amount;
                    }
                }
            }
        }
        let (u, b) = (x.balances.get("USDT"), x.balances.get("BTC"));
        assert!(
            u.free >= Decimal::ZERO
                && u.used >= Decimal::ZERO
                && b.free >= Decimal::ZERO
                && b.used >= Decimal::ZERO
        );
        assert_eq!((u.total(), b.total()), (usdt, btc_units), "step {step}");
        let held: Decimal = x
            .orders
            .values()
            .filter(|l| l.order.status.is_open() && l.order.request.side == Side::Buy)
            .map(|l| l.reserved)
            .sum();
        assert_eq!(u.used, held);
        let held: Decimal = x
            .orders
            .values()
            .filter(|l| l.order.status.is_open() && l.order.request.side == Side::Sell)
            .map(|l| l.reserved)
            .sum();
        assert_eq!(b.used, held);
    }
    assert!(
        fills_by_kind[0] > 50 && fills_by_kind[1] > 50,
        "both takers and makers filled: {fills_by_kind:?}"
    );
}

#[test]
fn a_stored_account_comes_back_exactly_and_its_resting_orders_still_fill() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    // A taker buy that fills (a position and a trade), then two resting orders.
    x.place(order(Side::Buy, OrderType::Limit, "0.3", Some("100")), 1)
        .unwrap();
    let mut bid = order(Side::Buy, OrderType::Limit, "0.4", Some("98.55"));
    bid.client_order_id = Some("keep-me".into());
    let bid = x.place(bid, 2).unwrap().order;
    x.place(order(Side::Sell, OrderType::Limit, "0.2", Some("103.3")), 3)
        .unwrap();
    let (account, open) = (x.account(), x.open_orders());
    assert_eq!(open.len(), 2);
    assert_eq!(x.open_order(&bid.order_id), Some(open[0].clone()));

    let json = serde_json::to_string(&(&account, &open)).unwrap();
    let (stored_account, stored_open): (PaperAccount, Vec<OpenOrder>) =
        serde_json::from_str(&json).unwrap();
    let mut back = exchange();
    back.restore(stored_account, stored_open).unwrap();
    assert_eq!(back.account(), account);
    assert_eq!(back.open_orders(), open);
    assert_eq!(back.balances(), x.balances());
    // Marks come back with the market's next tick.
    x.apply_tick(&btc(), &book(vec![]), 4);
    back.apply_tick(&btc(), &book(vec![]), 4);
    assert_eq!(back.positions(), x.positions());
    assert_eq!(back.stats(), x.stats());
    let open = OrderFilter {
        status: Some(OrderStatus::Open),
        ..OrderFilter::default()
    };
    assert_eq!(back.orders(&open), x.orders(&open));
    // Still unique: the client id is taken, the next ids continue.
    let mut dup = order(Side::Buy, OrderType::Limit, "0.1", Some("90"));
    dup.client_order_id = Some("keep-me".into());
    assert!(back.place(dup, 4).is_err());

    // The same market print fills the restored bid as it fills the original.
    let sweep = book(vec![Print {
        side: Side::Sell,
        qty: d("5"),
    }]);
    let mut tick = sweep.clone();
    tick.bids.clear();
    let original = x.apply_tick(&btc(), &tick, 5);
    let restored = back.apply_tick(&btc(), &tick, 5);
    assert_eq!(restored, original);
    assert!(restored.iter().any(
        |e| matches!(e, Event::Trade(t) if t.order_id == bid.order_id && t.trade_id == "TRD-2")
    ));
    assert_eq!(back.account(), x.account());
    assert_eq!(back.open_orders(), x.open_orders());
    // Filled, it is no longer stored as open.
    assert_eq!(back.open_order(&bid.order_id), None);
}

#[test]
fn cancel_all_cancels_exactly_the_open_orders_oldest_first_whatever_the_history() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let limit = |x: &mut PaperExchange, side: Side, price: &str, at: i64| {
        x.place(order(side, OrderType::Limit, "0.02", Some(price)), at)
            .unwrap()
            .order
    };
    // More ended orders than the history keeps, so the oldest roll out.
    for i in 0..1200 {
        let o = limit(&mut x, Side::Buy, "90", i);
        x.cancel(&OrderId::from(o.order_id.as_str()), i).unwrap();
    }
    let a = limit(&mut x, Side::Buy, "91", 2000);
    let taken = limit(&mut x, Side::Buy, "100", 2001);
    assert_eq!(taken.status, OrderStatus::Filled);
    let b = limit(&mut x, Side::Sell, "105", 2002);
    let (count, events) = x.cancel_all(&OrderFilter::default(), 2003);
    assert_eq!(count, 2);
    let canceled: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::OrderUpdate(o) => Some(o.order_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(canceled, vec![a.order_id.as_str(), b.order_id.as_str()]);
    assert!(x.open_orders().is_empty());
    assert_eq!(x.cancel_all(&OrderFilter::default(), 2004).0, 0);
    assert_eq!(bal(&x, "USDT").1, Decimal::ZERO);
    assert_eq!(bal(&x, "BTC").1, Decimal::ZERO);
}

#[test]
fn an_unaffordable_order_says_what_it_needs_and_how_that_was_computed() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let limit = x
        .place(order(Side::Buy, OrderType::Limit, "2000", Some("99")), 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        limit,
        "insufficient USDT: a limit buy of 2000 BTC at 99 (price × size + the 0.2 % fee reserved) needs 198396 USDT; 100000 USDT is free"
    );
    // A market buy: the cost of walking the book, which holds less than asked.
    let mut poor = PaperExchange::new(
        PaperConfig {
            exchange: "paper".into(),
            maker_fee: d("0.001"),
            taker_fee: d("0.002"),
            history_limit: 10,
        },
        vec![PairSpec {
            symbol: btc(),
            tick_size: d("0.01"),
            step_size: d("0.0001"),
            min_notional: d("1"),
        }],
        &[("USDT".into(), d("150"))],
    )
    .unwrap();
    poor.apply_tick(&btc(), &book(vec![]), 0);
    let market = poor
        .place(order(Side::Buy, OrderType::Market, "1000", None), 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        market,
        "insufficient USDT: a market buy of 1000 BTC, walking the book's asks (3 BTC for 303 USDT, + the 0.2 % taker fee; the book holds only 3 BTC, and the rest of a market order expires) needs 303.606 USDT; 150 USDT is free"
    );
    let sell = x
        .place(order(Side::Sell, OrderType::Limit, "1.5", Some("101")), 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        sell,
        "insufficient BTC: selling 1.5 BTC needs 1.5 BTC; 1 BTC is free"
    );
}

/// A strategy's order does not pass the command parser's bounds: an
/// order whose cost overflows a decimal is refused, and refusing it
/// changes nothing.
#[test]
fn an_order_whose_cost_overflows_is_refused_not_a_panic() {
    let mut x = exchange();
    x.apply_tick(&btc(), &book(vec![]), 0);
    let max = Decimal::MAX.to_string();
    let before = (bal(&x, "USDT"), bal(&x, "BTC"));
    let refused = x.place(order(Side::Buy, OrderType::Limit, &max, Some(&max)), 1);
    assert!(
        matches!(
            refused,
            Err(PlaceError::InvalidParams { field: "size", .. })
        ),
        "{refused:?}"
    );
    assert_eq!((bal(&x, "USDT"), bal(&x, "BTC")), before);
    assert!(x.open_orders().is_empty());
}
