use super::*;
use crate::binance::wire::ExchangeInfo;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn account() -> BinanceAccount {
    let info: ExchangeInfo = serde_json::from_str(
        r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[
            {"filterType":"PRICE_FILTER","tickSize":"0.01"},{"filterType":"LOT_SIZE","minQty":"0.00001","stepSize":"0.00001"},
            {"filterType":"NOTIONAL","minNotional":"5"}]}]}"#,
    )
    .unwrap();
    BinanceAccount::new("binance", SymbolMap::from_info(&info), 100, "lc1-")
}

fn request(side: Side, size: &str, price: Option<&str>) -> OrderRequest {
    OrderRequest {
        symbol: Symbol::parse("BTC-USDT").unwrap(),
        side,
        order_type: if price.is_some() {
            OrderType::Limit
        } else {
            OrderType::Market
        },
        size: d(size),
        price: price.map(d),
        time_in_force: if price.is_some() {
            TimeInForce::Gtc
        } else {
            TimeInForce::Ioc
        },
        post_only: false,
        client_order_id: None,
        exchange: Some("binance".into()),
        strategy: None,
    }
}

fn report(
    client: &str,
    x: &str,
    status: &str,
    last: &str,
    cum: &str,
    trade_id: i64,
) -> ExecutionReport {
    serde_json::from_value(serde_json::json!({
        "e": "executionReport", "E": 1, "s": "BTCUSDT", "c": client, "S": "BUY", "o": "LIMIT", "f": "GTC",
        "q": "0.01000000", "p": "50000.00000000", "x": x, "X": status, "r": "NONE", "i": 77,
        "l": last, "z": cum, "L": "50000.00000000", "n": "0.05", "N": "USDT", "T": 2, "t": trade_id,
        "m": true, "Z": "0"
    }))
    .unwrap()
}

fn rest(status: &str, executed: &str) -> RestOrder {
    RestOrder {
        symbol: "BTCUSDT".into(),
        order_id: 77,
        client_order_id: "lc1-1".into(),
        price: d("50000"),
        orig_qty: d("0.01"),
        executed_qty: d(executed),
        status: status.into(),
        time_in_force: "GTC".into(),
        order_type: "LIMIT".into(),
        side: "BUY".into(),
    }
}

fn my_trade(id: i64, qty: &str) -> MyTrade {
    MyTrade {
        symbol: "BTCUSDT".into(),
        id,
        order_id: 77,
        price: d("50000"),
        qty: d(qty),
        commission: d("0.05"),
        commission_asset: "USDT".into(),
        time: 3,
        is_buyer: true,
        is_maker: true,
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

#[test]
fn orders_are_checked_against_filters_and_sent_as_binance_expects() {
    let mut a = account();
    let n = a
        .prepare(request(Side::Buy, "0.01", Some("50000")), 0)
        .unwrap();
    assert_eq!(n.client_id, "lc1-1");
    let params: Vec<(&str, &str)> = n.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        params,
        vec![
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", "50000"),
            ("newClientOrderId", "lc1-1"),
            ("newOrderRespType", "RESULT"),
        ]
    );
    let mut maker = request(Side::Sell, "0.01", Some("50000"));
    maker.post_only = true;
    assert!(a
        .prepare(maker, 0)
        .unwrap()
        .params
        .contains(&("type", "LIMIT_MAKER".into())));
    let market = a.prepare(request(Side::Sell, "0.01", None), 0).unwrap();
    assert!(!market
        .params
        .iter()
        .any(|(k, _)| *k == "timeInForce" || *k == "price"));
    // Filters apply before anything is sent.
    let e = a
        .prepare(request(Side::Buy, "0.000001", Some("50000")), 0)
        .unwrap_err();
    assert!(matches!(e, PlaceError::InvalidParams { field: "size", .. }));
    let e = a
        .prepare(request(Side::Buy, "0.0001", Some("100")), 0)
        .unwrap_err();
    assert!(
        matches!(e, PlaceError::InvalidParams { field: "size", .. }),
        "min notional"
    );
    let mut eth = request(Side::Buy, "1", Some("10"));
    eth.symbol = Symbol::parse("ETH-USDT").unwrap();
    assert!(matches!(
        a.prepare(eth, 0).unwrap_err(),
        PlaceError::InvalidParams {
            field: "symbol",
            ..
        }
    ));
}

#[test]
fn execution_reports_become_order_updates_and_trades() {
    let mut a = account();
    let n = a
        .prepare(request(Side::Buy, "0.01", Some("50000")), 0)
        .unwrap();
    let ev = a.accepted(&n.client_id, &rest("NEW", "0"), 1);
    assert_eq!(kinds(&ev), vec!["order_update"]);
    // The stream's NEW adds nothing new.
    assert!(a
        .on_execution(&report("lc1-1", "NEW", "NEW", "0", "0", -1), 2)
        .is_empty());
    let ev = a.on_execution(
        &report("lc1-1", "TRADE", "PARTIALLY_FILLED", "0.004", "0.004", 900),
        3,
    );
    assert_eq!(kinds(&ev), vec!["order_update", "trade", "position"]);
    let Event::Trade(t) = &ev[1] else { panic!() };
    assert_eq!(
        (t.amount, t.fee, t.fee_asset.as_str()),
        (d("0.004"), d("0.05"), "USDT")
    );
    let Event::OrderUpdate(o) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        (o.status, o.filled, o.remaining),
        (OrderStatus::PartiallyFilled, d("0.004"), d("0.006"))
    );
    // The same report again (a reconnect replays it): nothing.
    assert!(a
        .on_execution(
            &report("lc1-1", "TRADE", "PARTIALLY_FILLED", "0.004", "0.004", 900),
            4
        )
        .is_empty());
    let ev = a.on_execution(&report("lc1-1", "TRADE", "FILLED", "0.006", "0.01", 901), 5);
    let Event::OrderUpdate(o) = &ev[0] else {
        panic!()
    };
    assert_eq!(o.status, OrderStatus::Filled);
    assert!(a.live_orders().is_empty());
    assert_eq!(a.stats().total_trades, 2);
}

#[test]
fn a_fill_missed_while_disconnected_is_reported_once_by_reconciliation() {
    let mut a = account();
    let n = a
        .prepare(request(Side::Buy, "0.01", Some("50000")), 0)
        .unwrap();
    a.accepted(&n.client_id, &rest("NEW", "0"), 1);
    a.on_execution(
        &report("lc1-1", "TRADE", "PARTIALLY_FILLED", "0.004", "0.004", 900),
        2,
    );
    // Disconnected: trade 901 happened meanwhile. Reconcile with REST.
    assert_eq!(
        a.live_orders(),
        vec![LiveOrder {
            client_id: "lc1-1".into(),
            venue_symbol: "BTCUSDT".into()
        }]
    );
    let ev = a.reconcile(
        "lc1-1",
        &rest("FILLED", "0.01"),
        &[my_trade(900, "0.004"), my_trade(901, "0.006")],
        3,
    );
    assert_eq!(
        kinds(&ev).iter().filter(|k| **k == "trade").count(),
        1,
        "only the missed fill: {ev:?}"
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::OrderUpdate(o) if o.status == OrderStatus::Filled)));
    // The stream catches up later with the same trade: nothing twice.
    assert!(a
        .on_execution(&report("lc1-1", "TRADE", "FILLED", "0.006", "0.01", 901), 4)
        .is_empty());
    assert_eq!(a.stats().total_trades, 2);
    assert_eq!(a.positions()[0].size, d("0.01"));
}

#[test]
fn rest_never_runs_ahead_of_the_fills() {
    let mut a = account();
    let n = a.prepare(request(Side::Buy, "0.01", None), 0).unwrap();
    // The market order's answer says FILLED before any fill was seen.
    let ev = a.accepted(
        &n.client_id,
        &RestOrder {
            order_type: "MARKET".into(),
            ..rest("FILLED", "0.01")
        },
        1,
    );
    assert!(ev.is_empty(), "{ev:?}");
    let ev = a.on_execution(&report("lc1-1", "TRADE", "FILLED", "0.01", "0.01", 5), 2);
    assert!(matches!(&ev[0], Event::OrderUpdate(o) if o.status == OrderStatus::Filled));
    // A refusal rejects a pending order with the reason.
    let m = a
        .prepare(request(Side::Buy, "0.01", Some("50000")), 3)
        .unwrap();
    let ev = a.refused(&m.client_id, "-2010 Account has insufficient balance", 4);
    assert!(
        matches!(&ev[0], Event::OrderUpdate(o) if o.status == OrderStatus::Rejected && o.reason.as_deref().unwrap().contains("-2010"))
    );
}

#[test]
fn orders_placed_elsewhere_are_adopted_and_balances_follow_the_stream() {
    let mut a = account();
    let ev = a.on_execution(&report("web_abc", "NEW", "NEW", "0", "0", -1), 1);
    assert!(
        matches!(&ev[0], Event::OrderUpdate(o) if o.order_id == "web_abc" && o.status == OrderStatus::Open)
    );
    let ev = a.on_execution(
        &report("cancel_req_1", "CANCELED", "CANCELED", "0", "0", -1),
        2,
    );
    assert!(
        matches!(&ev[0], Event::OrderUpdate(o) if o.order_id == "web_abc" && o.status == OrderStatus::Canceled)
    );
    let p: AccountPosition = serde_json::from_str(
        r#"{"e":"outboundAccountPosition","E":1,"u":1,"B":[{"a":"USDT","f":"100.5","l":"20"}]}"#,
    )
    .unwrap();
    let ev = a.on_account(&p);
    assert!(matches!(&ev[0], Event::Balance(b) if b.total == d("120.5") && b.used == d("20")));
}

#[test]
fn open_orders_placed_elsewhere_are_adopted_then_reconciled() {
    let mut a = account();
    let foreign = RestOrder {
        client_order_id: "web_1".into(),
        order_id: 77,
        ..rest("NEW", "0")
    };
    a.adopt_open(&foreign, 1);
    a.adopt_open(&foreign, 2);
    assert_eq!(a.live_orders().len(), 1, "adopted once");
    let ev = a.reconcile("web_1", &foreign, &[], 3);
    assert!(
        matches!(&ev[0], Event::OrderUpdate(o) if o.order_id == "web_1" && o.status == OrderStatus::Open)
    );
}
