use super::*;
use std::str::FromStr;

#[test]
fn frames_carry_type_fields_timestamp_and_seq() {
    let e = Event::Price(PriceUpdate {
        symbol: "BTC-USDT".into(),
        price: Decimal::from_str("52345.01").unwrap(),
        bid: Some(Decimal::from(52340)),
        ask: None,
        exchange: "paper".into(),
        connection_id: None,
    });
    let text = encode(&e, 1_708_177_600_000, 42).unwrap();
    assert_eq!(
        text,
        r#"{"type":"price","symbol":"BTC-USDT","price":52345.01,"bid":52340,"ask":null,"exchange":"paper","timestamp":"2024-02-17T13:46:40.000Z","seq":42}"#
    );
    let back: Envelope = serde_json::from_str(&text).unwrap();
    assert_eq!((back.seq, back.event), (42, e));
    let c = encode(&Event::Connected {}, 0, 1).unwrap();
    assert_eq!(
        c,
        r#"{"type":"connected","timestamp":"1970-01-01T00:00:00.000Z","seq":1}"#
    );
}

/// The serde tag of each event is its kind's name: one list of kinds.
#[test]
fn an_events_type_is_its_kinds_name() {
    let samples = [
        Event::Connected {},
        Event::Disconnected { reason: "x".into() },
        Event::log(LogLevel::Info, "m", "s"),
        Event::error(crate::error::ErrorCode::Timeout, "d"),
        Event::Alerts {
            data: Alert {
                level: LogLevel::Warning,
                message: "m".into(),
                timestamp: 0.0,
                source: "s".into(),
            },
        },
        Event::BacktestResult {
            backtest_id: "b".into(),
            status: BacktestStatus::Cancelled,
            data: None,
            error: None,
        },
    ];
    for e in samples {
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], e.kind().as_str(), "{v}");
        assert_eq!(e.name(), e.kind().as_str());
    }
    // Each kind's name is its variant's name in snake case, as serde's
    // `rename_all` writes the tag.
    for k in EventKind::ALL {
        let snake: String = format!("{k:?}")
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (c.is_ascii_uppercase() && i > 0).then_some('_');
                sep.into_iter()
                    .chain(std::iter::once(c.to_ascii_lowercase()))
            })
            .collect();
        assert_eq!(snake, k.as_str());
    }
}

#[test]
fn a_market_says_its_precision_from_its_rules() {
    let spec = crate::pair::PairSpec {
        symbol: crate::pair::Symbol::parse("BTC-USDT").unwrap(),
        tick_size: Decimal::from_str("0.010").unwrap(),
        step_size: Decimal::from_str("0.00001").unwrap(),
        min_notional: Decimal::from(5),
    };
    let m = MarketView::of("paper", &spec);
    assert_eq!((m.price_precision, m.size_precision), (2, 5));
    assert_eq!((m.base.as_str(), m.quote.as_str()), ("BTC", "USDT"));
    let whole = crate::pair::PairSpec {
        tick_size: Decimal::from(10),
        ..spec
    };
    assert_eq!(MarketView::of("paper", &whole).price_precision, 0);
}

#[test]
fn order_update_uses_the_seed_field_names() {
    let v = OrderView {
        order_id: "ORD-1".into(),
        client_order_id: None,
        status: OrderStatus::Filled,
        filled: Decimal::from_str("0.15").unwrap(),
        remaining: Decimal::ZERO,
        price: Some(Decimal::from(52345)),
        symbol: "BTC-USDT".into(),
        side: Side::Buy,
        order_type: OrderType::Market,
        strategy: None,
        strategy_id: None,
        exchange: "paper".into(),
        connection_id: None,
        reason: None,
        size: Decimal::from_str("0.15").unwrap(),
        avg_price: Some(Decimal::from(52345)),
        fees: Decimal::ZERO,
        time_in_force: TimeInForce::Ioc,
        post_only: false,
        created_at: "x".into(),
        updated_at: "x".into(),
    };
    let text = encode(&Event::OrderUpdate(v), 0, 3).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["type"], "order_update");
    assert_eq!(json["orderId"], "ORD-1");
    assert_eq!(json["order_type"], "market");
    assert_eq!(json["status"], "filled");
    assert_eq!(json["filled"].to_string(), "0.15");
}
