use super::*;
use std::str::FromStr;

fn command(text: &str) -> Result<Command, CommandError> {
    match parse_client_message(text).unwrap() {
        ClientMessage::Command(env) => Command::parse(&env),
        other => panic!("not a command: {other:?}"),
    }
}

fn field_of(e: CommandError) -> String {
    match e {
        CommandError::InvalidParams { field, .. } => field,
        other => panic!("not invalid_params: {other:?}"),
    }
}

/// COMMANDS lists exactly the names `Command::parse` knows.
#[test]
fn the_command_list_is_every_command_parse_knows() {
    let source = include_str!("../commands.rs");
    let parse = &source[source.find("    pub fn parse(env").unwrap()..];
    let parse = &parse[..parse
        .find("other => return Err(CommandError::Unknown")
        .unwrap()];
    // Every `"name" =>` and `"name" |` arm, in order.
    let mut known: Vec<&str> = Vec::new();
    let pieces: Vec<&str> = parse.split('"').collect();
    for i in (1..pieces.len() - 1).step_by(2) {
        let (name, after) = (pieces[i], pieces[i + 1].trim_start());
        let arm = after.starts_with("=>") || after.starts_with('|');
        if arm && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !known.contains(&name)
        {
            known.push(name);
        }
    }
    assert_eq!(
        known, COMMANDS,
        "a command parse knows is missing from COMMANDS, or the reverse"
    );
    for name in COMMANDS {
        let env = CommandEnvelope {
            cmd: name.to_string(),
            request_id: None,
            params: Map::new(),
        };
        assert!(
            !matches!(Command::parse(&env), Err(CommandError::Unknown(_))),
            "{name} is listed but not parsed"
        );
    }
}

#[test]
fn a_bad_frames_request_id_is_read_when_it_can_be() {
    let deep = format!(
        r#"{{"cmd":"get_orders","request_id":"r-7","p":{}{}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    assert!(
        parse_client_message(&deep).is_err(),
        "nested past the limit"
    );
    assert_eq!(request_id_of(&deep), Some(Value::from("r-7")));
    assert_eq!(
        request_id_of(r#"{"cmd":5,"request_id":42}"#),
        Some(Value::from(42))
    );
    assert_eq!(request_id_of(r#"{"cmd":5,"request_id":{"x":1}}"#), None);
    assert_eq!(request_id_of("{nope"), None);
    assert_eq!(request_id_of("[1]"), None);
}

#[test]
fn parses_a_limit_order_exactly() {
    let c = command(r#"{"cmd":"place_order","symbol":"btc-usdt","side":"buy","type":"limit","price":52000.1,"size":"0.15","request_id":"r-1"}"#).unwrap();
    let Command::PlaceOrder { order: o, venue } = c else {
        panic!()
    };
    assert!(!venue.is_given());
    assert_eq!(o.symbol.as_str(), "BTC-USDT");
    assert_eq!(o.price, Some(Decimal::from_str("52000.1").unwrap()));
    assert_eq!(o.size, Decimal::from_str("0.15").unwrap());
    assert_eq!(o.time_in_force, TimeInForce::Gtc);
}

#[test]
fn bad_params_name_their_field() {
    let base = |extra: &str| {
        format!(
            r#"{{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"limit","price":1,"size":1{extra}}}"#
        )
    };
    let cases = [
        (
            r#"{"cmd":"place_order","side":"buy","type":"market","size":1}"#.to_string(),
            "symbol",
        ),
        (base(r#","size":-1"#), "size"),
        (base(r#","size":0"#), "size"),
        (base(r#","size":"x""#), "size"),
        (base(r#","size":true"#), "size"),
        (base(r#","price":null"#), "price"),
        (base(r#","side":"up""#), "side"),
        (base(r#","type":"stop""#), "type"),
        (base(r#","time_in_force":"day""#), "time_in_force"),
        (base(r#","post_only":"yes""#), "post_only"),
        (base(r#","symbol":"BTCUSDT""#), "symbol"),
    ];
    for (text, field) in cases {
        assert_eq!(field_of(command(&text).unwrap_err()), field, "{text}");
    }
}

#[test]
fn every_command_naming_a_venue_takes_exchange_and_connection_id() {
    let both = r#""exchange":"binance","connection_id":"conn-2""#;
    let expected = VenueRef {
        exchange: Some("binance".into()),
        connection_id: Some("conn-2".into()),
    };
    for text in [
        format!(
            r#"{{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"market","size":1,{both}}}"#
        ),
        format!(r#"{{"cmd":"cancel_order","order_id":"o-1",{both}}}"#),
        format!(r#"{{"cmd":"cancel_all_orders",{both}}}"#),
        format!(r#"{{"cmd":"get_orders",{both}}}"#),
        format!(r#"{{"cmd":"get_trades",{both}}}"#),
        format!(r#"{{"cmd":"export_trades",{both}}}"#),
        format!(r#"{{"cmd":"get_positions",{both}}}"#),
        format!(r#"{{"cmd":"get_balances",{both}}}"#),
        format!(r#"{{"cmd":"get_order_book","symbol":"BTC-USDT",{both}}}"#),
        format!(r#"{{"cmd":"get_candles","symbol":"BTC-USDT",{both}}}"#),
        format!(r#"{{"cmd":"create_strategy","name":"s","type":"pmm","pair":"BTC-USDT",{both}}}"#),
    ] {
        let venue = match command(&text).unwrap() {
            Command::PlaceOrder { venue, .. }
            | Command::CancelOrder { venue, .. }
            | Command::CancelAllOrders { venue, .. }
            | Command::GetOrders { venue, .. }
            | Command::GetTrades { venue, .. }
            | Command::ExportTrades { venue, .. }
            | Command::GetPositions { venue }
            | Command::GetBalances { venue }
            | Command::GetOrderBook { venue, .. }
            | Command::GetCandles { venue, .. } => venue,
            Command::CreateStrategy(n) => n.venue,
            other => panic!("{other:?}"),
        };
        assert_eq!(venue, expected, "{text}");
    }
}

#[test]
fn strategy_commands() {
    let c = command(r#"{"cmd":"create_strategy","name":"My Strategy","type":"pmm","exchange":"paper","pair":"BTC-USDT","config":{"bid_spread":0.2}}"#).unwrap();
    let Command::CreateStrategy(n) = c else {
        panic!()
    };
    assert_eq!(
        (n.name.as_str(), n.pair.as_str()),
        ("My Strategy", "BTC-USDT")
    );
    assert_eq!(n.params.kind(), StrategyType::Pmm);
    let err = |t: &str| field_of(command(t).unwrap_err());
    assert_eq!(
        err(r#"{"cmd":"create_strategy","name":"x","type":"magic","pair":"BTC-USDT"}"#),
        "type"
    );
    assert_eq!(
        err(
            r#"{"cmd":"create_strategy","name":"x","type":"grid","pair":"BTC-USDT","config":{"lower_price":1}}"#
        ),
        "config.upper_price"
    );
    assert_eq!(
        err(r#"{"cmd":"create_strategy","type":"pmm","pair":"BTC-USDT"}"#),
        "name"
    );
    assert_eq!(err(r#"{"cmd":"start_strategy"}"#), "id");
    assert_eq!(
        command(r#"{"cmd":"pause_strategy","id":"str-001"}"#).unwrap(),
        Command::ControlStrategy {
            id: "str-001".into(),
            action: StrategyAction::Pause
        }
    );
    assert_eq!(
        command(r#"{"cmd":"kill_switch","mode":"pause"}"#).unwrap(),
        Command::KillSwitch {
            mode: KillMode::Pause,
            reason: None
        }
    );
    assert_eq!(err(r#"{"cmd":"kill_switch","mode":"panic"}"#), "mode");
}

#[test]
fn frames_that_are_not_messages() {
    assert!(matches!(
        parse_client_message("{nope"),
        Err(FrameError::InvalidJson(_))
    ));
    assert!(matches!(
        parse_client_message("[1]"),
        Err(FrameError::NotObject)
    ));
    assert_eq!(
        parse_client_message(r#"{"type":"foo"}"#)
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedMessageType
    );
    assert!(matches!(
        command(r#"{"cmd":"fly"}"#),
        Err(CommandError::Unknown(_))
    ));
    let c = command(r#"{"cmd":"create_connection","exchange":"binance","api_key":"k1","api_secret":"s3cr3t","testnet":true}"#).unwrap();
    assert!(!format!("{c:?}").contains("s3cr3t"));
    assert_eq!(
        field_of(
            command(
                r#"{"cmd":"create_connection","exchange":"kraken","api_key":"k","api_secret":"s"}"#
            )
            .unwrap_err()
        ),
        "exchange"
    );
    assert_eq!(
        field_of(
            command(r#"{"cmd":"create_connection","exchange":"binance","api_key":"k"}"#)
                .unwrap_err()
        ),
        "api_secret"
    );
    assert_eq!(field_of(command(r#"{"cmd":"create_connection","exchange":"binance","api_key":"k","api_secret":"s","rest_url":"ftp://x"}"#).unwrap_err()), "rest_url");
    assert_eq!(
        command(r#"{"cmd":"replay","since_seq":7}"#).unwrap(),
        Command::Replay { since_seq: 7 }
    );
    assert_eq!(
        field_of(command(r#"{"cmd":"replay","since_seq":-1}"#).unwrap_err()),
        "since_seq"
    );
    assert_eq!(
        field_of(command(r#"{"cmd":"start_backtest"}"#).unwrap_err()),
        "strategy"
    );
    assert!(matches!(
        parse_client_message(r#"{"type":"ping","timestamp":1.5}"#),
        Ok(ClientMessage::Ping { .. })
    ));
}

#[test]
fn parses_a_backtest_with_the_protocols_balances_and_fee() {
    let c = command(r#"{"cmd":"start_backtest","strategy":{"type":"grid","config":{"lower_price":90,"upper_price":110,"grid_levels":3,"order_amount":"0.1"}},"pair":"BTC-USDT","data":["a.csv","b.csv.gz"],"from":"2025-01-01","to":1735776000000,"initial_balances":{"BTC":"2","USDT":5000},"fee":{"maker":0,"taker":"0.002"}}"#).unwrap();
    let Command::StartBacktest(b) = c else {
        panic!()
    };
    assert_eq!(b.strategy.kind(), StrategyType::Grid);
    assert_eq!(b.data, ["a.csv", "b.csv.gz"]);
    assert_eq!(b.from_ms, Some(1_735_689_600_000));
    assert_eq!(b.to_ms, Some(1_735_776_000_000));
    assert_eq!(b.settings.initial_base, Decimal::from(2));
    assert_eq!(b.settings.initial_quote, Decimal::from(5000));
    assert_eq!(b.settings.maker_fee, Decimal::ZERO);
    assert_eq!(b.settings.taker_fee, Decimal::from_str("0.002").unwrap());
    // The type's name with `config` beside it, one fee for both.
    let c = command(r#"{"cmd":"start_backtest","strategy":"pmm","config":{"order_amount":0.01},"pair":"BTC-USDT","data":"sample","fee":0.0005}"#).unwrap();
    let Command::StartBacktest(b) = c else {
        panic!()
    };
    assert_eq!(b.strategy.kind(), StrategyType::Pmm);
    assert_eq!(b.settings.maker_fee, b.settings.taker_fee);
    for (text, field) in [
        (
            r#"{"cmd":"start_backtest","strategy":{"type":"magic"},"pair":"BTC-USDT","data":"x"}"#,
            "strategy.type",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":{"type":"pmm","config":{"bid_spread":-1}},"pair":"BTC-USDT","data":"x"}"#,
            "strategy.config.bid_spread",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","data":"x"}"#,
            "pair",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT"}"#,
            "data",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":[1]}"#,
            "data",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","from":"yesterday"}"#,
            "from",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","from":2,"to":1}"#,
            "to",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","initial_balances":{"ETH":1}}"#,
            "initial_balances.ETH",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","fee":{"rebate":1}}"#,
            "fee.rebate",
        ),
        (
            r#"{"cmd":"start_backtest","strategy":"pmm","pair":"BTC-USDT","data":"x","fee":-0.1}"#,
            "settings",
        ),
        (r#"{"cmd":"get_backtest"}"#, "backtest_id"),
    ] {
        assert_eq!(field_of(command(text).unwrap_err()), field, "{text}");
    }
    assert_eq!(
        command(r#"{"cmd":"cancel_backtest","backtest_id":"bt_1"}"#).unwrap(),
        Command::CancelBacktest { id: "bt_1".into() }
    );
}

/// One command of every kind, with every optional field given somewhere,
/// odd values included (many decimal places, a date range, both venue
/// fields).
#[allow(
    clippy::too_many_lines,
    reason = "a list: one sample of every command, read top to bottom"
)]
fn one_of_each() -> Vec<Command> {
    use crate::order::OrderStatus;
    use crate::strategy::StrategyParams;
    use serde_json::json;
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let sym = |s: &str| Symbol::parse(s).unwrap();
    let both = VenueRef {
        exchange: Some("binance".into()),
        connection_id: Some("conn-2".into()),
    };
    let order = |order_type, price, tif, post_only, cid: Option<&str>| OrderRequest {
        symbol: sym("ETH-USDT"),
        side: Side::Sell,
        order_type,
        size: d("0.000000000000000001"),
        price,
        time_in_force: tif,
        post_only,
        client_order_id: cid.map(str::to_string),
        exchange: None,
        strategy: None,
    };
    let filter = OrderFilter {
        symbol: Some(sym("BTC-USDT")),
        status: Some(OrderStatus::PartiallyFilled),
        strategy: Some("str-001".into()),
        exchange: None,
        limit: Some(7),
        since_ms: Some(1_700_000_000_000),
        until_ms: Some(1_700_000_086_400),
    };
    let pmm = StrategyParams::parse(
        StrategyType::Pmm,
        &json!({"bid_spread": "0.0123456789", "order_amount": "0.002", "order_refresh_time": 2.5}),
    )
    .unwrap();
    let grid = StrategyParams::parse(
        StrategyType::Grid,
        &json!({"lower_price": "90000", "upper_price": "98000.5", "order_amount": "0.001"}),
    )
    .unwrap();
    let settings = SimSettings {
        initial_quote: d("12345.678901"),
        latency_ms: 25,
        ..SimSettings::default()
    };
    let mut all = vec![
        Command::GetAgents,
        Command::PlaceOrder {
            order: order(
                OrderType::Limit,
                Some(d("94000.123456789")),
                TimeInForce::Gtc,
                true,
                Some("my-1"),
            ),
            venue: both.clone(),
        },
        Command::PlaceOrder {
            order: order(OrderType::Market, None, TimeInForce::Fok, false, None),
            venue: VenueRef::default(),
        },
        Command::CancelOrder {
            order_id: OrderId("ord-000042".into()),
            venue: VenueRef::named("paper"),
        },
        Command::CancelAllOrders {
            filter: filter.clone(),
            venue: both.clone(),
        },
        Command::GetOrders {
            filter: filter.clone(),
            venue: VenueRef::default(),
        },
        Command::GetTrades {
            filter: OrderFilter::default(),
            venue: VenueRef::named("paper"),
        },
        Command::ExportTrades {
            filter,
            venue: VenueRef::default(),
        },
        Command::GetPositions {
            venue: both.clone(),
        },
        Command::GetBalances {
            venue: VenueRef::default(),
        },
        Command::GetOrderBook {
            symbol: sym("BTC-USDT"),
            venue: both.clone(),
            depth: 5,
        },
        Command::GetSystemStatus,
        Command::StartEngine,
        Command::StopEngine,
        Command::CreateStrategy(NewStrategy {
            name: "pmm one".into(),
            params: pmm.clone(),
            venue: both,
            pair: sym("BTC-USDT"),
        }),
        Command::CreateStrategy(NewStrategy {
            name: "g".into(),
            params: grid,
            venue: VenueRef::default(),
            pair: sym("ETH-USDT"),
        }),
        Command::GetStrategies,
        Command::KillSwitch {
            mode: KillMode::Pause,
            reason: Some("lunch".into()),
        },
        Command::KillSwitch {
            mode: KillMode::Stop,
            reason: None,
        },
        Command::ResetKillSwitch,
        Command::GetRiskLimits,
        Command::CreateConnection(NewConnection {
            exchange: "binance".into(),
            credentials: Credentials {
                api_key: Secret::new("k3y"),
                api_secret: Secret::new("s3cret"),
            },
            testnet: true,
            name: Some("main_acct".into()),
            rest_url: Some("http://127.0.0.1:9000".into()),
            ws_url: Some("ws://127.0.0.1:9001".into()),
            pairs: Some(vec![sym("BTC-USDT"), sym("ETH-BTC")]),
        }),
        Command::DeleteConnection {
            id: "conn-2".into(),
        },
        Command::TestConnection {
            id: "conn-3".into(),
        },
        Command::GetConnections,
        Command::Replay { since_seq: 0 },
        Command::Replay {
            since_seq: u64::MAX,
        },
        Command::StartBacktest(NewBacktest {
            strategy: pmm,
            pair: sym("BTC-USDT"),
            data: vec!["btc.csv".into(), "more/".into()],
            from_ms: Some(1_700_000_000_000),
            to_ms: Some(1_700_000_000_001),
            settings,
        }),
        Command::GetBacktest { id: "bt-1".into() },
        Command::CancelBacktest { id: "bt-2".into() },
        Command::GetBacktests,
        Command::GetDataFiles,
        Command::GetMarkets,
        Command::GetCandles {
            symbol: sym("BTC-USDT"),
            venue: VenueRef::named("paper"),
            limit: 60,
        },
        Command::GetStrategyTypes,
        Command::GetSession,
    ];
    for action in [
        StrategyAction::Start,
        StrategyAction::Stop,
        StrategyAction::Pause,
        StrategyAction::Resume,
        StrategyAction::Delete,
    ] {
        all.push(Command::ControlStrategy {
            id: "str-001".into(),
            action,
        });
    }
    all
}

/// What a client builds is what the engine reads: every command survives
/// being written as a frame, sent as text and parsed, and the samples
/// cover every command the engine knows.
#[test]
fn every_command_written_as_a_frame_parses_back_to_itself() {
    let samples = one_of_each();
    for c in &samples {
        let text = c.to_frame(Some(Value::from("r-1"))).to_string();
        let env = match parse_client_message(&text).unwrap() {
            ClientMessage::Command(env) => env,
            other => panic!("not a command: {other:?}"),
        };
        assert_eq!(env, c.envelope(Some(Value::from("r-1"))), "{text}");
        assert_eq!(Command::parse(&env).as_ref(), Ok(c), "{text}");
    }
    let mut named: Vec<&str> = samples.iter().map(Command::name).collect();
    named.sort_unstable();
    named.dedup();
    let mut known = COMMANDS.to_vec();
    known.sort_unstable();
    assert_eq!(named, known, "a command has no sample above");
}

/// Found by `laicai bench abuse`: a limit order of the largest decimal
/// size at the largest decimal price overflowed the cost computation and
/// panicked the engine. Such orders are refused as parameters.
#[test]
fn sizes_and_prices_that_could_overflow_are_refused() {
    let max = "79228162514264337593543950335";
    for (size, price, field) in [
        (max, max, "size"),
        ("1000000000000001", "1", "size"),
        ("0.001", "1000000000000001", "price"),
        ("1000000000", "1000000000000", "size"),
    ] {
        let r = command(&format!(
            r#"{{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"limit","size":"{size}","price":"{price}"}}"#
        ));
        assert_eq!(field_of(r.unwrap_err()), field, "{size} @ {price}");
    }
    let market = command(&format!(
        r#"{{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"market","size":"{max}"}}"#
    ));
    assert_eq!(field_of(market.unwrap_err()), "size");
    assert!(command(
        r#"{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"limit","size":"1000000","price":"1000000000000"}"#
    )
    .is_ok());
}
