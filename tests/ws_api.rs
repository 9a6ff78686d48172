//! The WebSocket API end to end: a real engine on a loopback port, real
//! WebSocket clients, the paper exchange trading.

mod common;

use common::*;
use laicai_core::Decimal;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const FEE: &str = "0.001";

#[actix_rt::test]
async fn connect_gets_snapshot_first_then_live_prices_for_both_pairs() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let first = c.next(WAIT).await.expect("a first frame");
    assert_eq!(first["type"], "snapshot", "first frame: {first}");
    for field in [
        "system",
        "strategies",
        "orders",
        "positions",
        "balances",
        "connections",
        "seq",
        "timestamp",
    ] {
        assert!(
            first.get(field).is_some(),
            "snapshot lacks {field}: {first}"
        );
    }
    let assets: HashSet<&str> = first["balances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["asset"].as_str())
        .collect();
    assert_eq!(assets, HashSet::from(["USDT", "BTC", "ETH"]));
    assert_eq!(first["system"]["bot_status"], "running");

    let mut last_seq = first["seq"].as_u64().unwrap();
    let mut priced = HashSet::new();
    while priced.len() < 2 {
        let e = c.next(WAIT).await.expect("live events");
        for field in ["type", "timestamp", "seq"] {
            assert!(e.get(field).is_some(), "event lacks {field}: {e}");
        }
        let seq = e["seq"].as_u64().unwrap();
        assert!(seq > last_seq, "seq must increase: {last_seq} then {e}");
        last_seq = seq;
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        if e["type"] == "price" {
            assert!(dec(&e["bid"]) < dec(&e["ask"]), "{e}");
            assert_eq!(e["exchange"], "paper");
            priced.insert(e["symbol"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        priced,
        HashSet::from(["BTC-USDT".to_string(), "ETH-USDT".to_string()])
    );
    // The other kinds of market event arrive too.
    c.wait_for("market_data", |e| {
        e["type"] == "market_data" && e["data"]["price"].is_number()
    })
    .await;
    let book = c.wait_for("orderbook", |e| e["type"] == "orderbook").await;
    assert!(best(&book, "bids") < best(&book, "asks"));
    server.stop().await;
}

#[actix_rt::test]
async fn limit_buy_rests_is_listed_and_cancel_restores_the_balance_exactly() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let before = c.ok(json!({"cmd": "get_balances"})).await;
    let (free0, used0, total0) = balance(&before, "USDT");
    let book = c
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT", "depth": 5}))
        .await;
    let price = (best(&book, "bids") * d("0.99")).round_dp(2);
    let size = d("0.05");

    let placed = c
        .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                   "price": price.to_string(), "size": size.to_string(), "client_order_id": "mine-1"}))
        .await;
    let id = placed["order_id"]
        .as_str()
        .expect("order_id at top level")
        .to_string();
    assert_eq!(placed["data"]["order_id"], json!(id));
    let open = c
        .wait_for("order_update open", |e| {
            e["type"] == "order_update" && e["orderId"] == json!(id)
        })
        .await;
    assert_eq!(open["status"], "open");
    assert_eq!(open["order_type"], "limit");
    assert_eq!(open["client_order_id"], "mine-1");
    assert_eq!(
        (dec(&open["filled"]), dec(&open["remaining"])),
        (Decimal::ZERO, size)
    );

    let reserved = price * size * (Decimal::ONE + d(FEE));
    let during = c.ok(json!({"cmd": "get_balances"})).await;
    assert_eq!(
        balance(&during, "USDT"),
        (free0 - reserved, used0 + reserved, total0)
    );

    let orders = c
        .ok(json!({"cmd": "get_orders", "status": "open", "symbol": "BTC-USDT"}))
        .await;
    assert_eq!(orders["count"], 1);
    assert_eq!(orders["orders"][0]["orderId"], json!(id));
    assert_eq!(dec(&orders["orders"][0]["price"]), price);

    let cancel = c.ok(json!({"cmd": "cancel_order", "order_id": id})).await;
    assert_eq!(cancel["message"], format!("Order {id} cancelled"));
    let canceled = c
        .wait_for("order_update canceled", |e| {
            e["type"] == "order_update" && e["status"] == "canceled"
        })
        .await;
    assert_eq!(canceled["orderId"], json!(id));
    let after = c.ok(json!({"cmd": "get_balances"})).await;
    assert_eq!(balance(&after, "USDT"), (free0, used0, total0));
    let open_after = c.ok(json!({"cmd": "get_orders", "status": "open"})).await;
    assert_eq!(open_after["count"], 0);
    server.stop().await;
}

#[actix_rt::test]
async fn market_buy_fills_with_exact_trade_balance_and_position_events() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let before = c.ok(json!({"cmd": "get_balances"})).await;
    let (usdt0, btc0) = (balance(&before, "USDT").2, balance(&before, "BTC").2);
    let size = d("0.01");
    let placed = c.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.01})).await;
    let id = placed["order_id"].as_str().unwrap().to_string();

    let filled = c
        .wait_for("order_update filled", |e| {
            e["type"] == "order_update" && e["orderId"] == json!(id) && e["status"] == "filled"
        })
        .await;
    assert_eq!(
        (dec(&filled["filled"]), dec(&filled["remaining"])),
        (size, Decimal::ZERO)
    );
    assert_eq!(filled["order_type"], "market");

    // Every trade of the order, by hand: cost = Σ price × amount, fee = cost × 0.1 %.
    let mut traded = Decimal::ZERO;
    let mut cost = Decimal::ZERO;
    let mut fees = Decimal::ZERO;
    while traded < size {
        let t = c
            .wait_for("trade", |e| {
                e["type"] == "trade" && e["order_id"] == json!(id)
            })
            .await;
        let (price, amount, fee) = (dec(&t["price"]), dec(&t["amount"]), dec(&t["fee"]));
        assert_eq!(fee, price * amount * d(FEE), "fee of {t}");
        assert_eq!(
            (t["side"].as_str(), t["fee_asset"].as_str()),
            (Some("buy"), Some("USDT"))
        );
        traded += amount;
        cost += price * amount;
        fees += fee;
    }
    assert_eq!(traded, size);
    let usdt = c
        .wait_for("USDT balance", |e| {
            e["type"] == "balance" && e["asset"] == "USDT" && dec(&e["used"]).is_zero()
        })
        .await;
    assert_eq!(dec(&usdt["total"]), usdt0 - cost - fees);
    assert_eq!(dec(&usdt["free"]), usdt0 - cost - fees);
    let btc = c
        .wait_for("BTC balance", |e| {
            e["type"] == "balance" && e["asset"] == "BTC"
        })
        .await;
    assert_eq!(dec(&btc["total"]), btc0 + size);
    let pos = c
        .wait_for("position", |e| {
            e["type"] == "position" && e["symbol"] == "BTC-USDT"
        })
        .await;
    assert_eq!(dec(&pos["size"]), size);
    assert_eq!(dec(&pos["entry_price"]), cost / size);
    assert_eq!(pos["side"], "long");
    let mark = dec(&pos["current_price"]);
    assert_eq!(dec(&pos["pnl"]), (mark - cost / size) * size);

    let after = c.ok(json!({"cmd": "get_balances"})).await;
    assert_eq!(balance(&after, "USDT").2, usdt0 - cost - fees);
    let trades = c
        .ok(json!({"cmd": "get_trades", "symbol": "BTC-USDT"}))
        .await;
    assert!(trades["count"].as_u64().unwrap() >= 1);
    let positions = c.ok(json!({"cmd": "get_positions"})).await;
    assert_eq!(dec(&positions["positions"][0]["size"]), size);
    server.stop().await;
}

#[actix_rt::test]
async fn resting_order_fills_partially_then_fully_as_the_market_trades_through_it() {
    // A still market (no drift) with a print every step: sell prints hit
    // the best bid, which is ours.
    let pairs = btc_pair(
        "ticks_per_sec = 50.0
         volatility_bps = 0.0
         depth_levels = 10
         trade_probability = 1.0",
    );
    assert!(
        pairs.contains("volatility_bps = 0.0") && !pairs.contains("volatility_bps = 1.0"),
        "{pairs}"
    );
    let server = TestServer::start(&pairs).await;
    let mut c = server.client("/api/stream").await;
    let before = c.ok(json!({"cmd": "get_balances"})).await;
    let (usdt0, btc0) = (balance(&before, "USDT").2, balance(&before, "BTC").2);
    let book = c
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT"}))
        .await;
    let price = best(&book, "bids") + d("0.01");
    assert!(price < best(&book, "asks"));
    let size = d("0.3");
    let placed = c.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price.to_string(), "size": size.to_string()})).await;
    let id = placed["order_id"].as_str().unwrap().to_string();
    let mine = |status: &'static str| {
        let id = id.clone();
        move |e: &Value| {
            e["type"] == "order_update" && e["orderId"] == json!(id) && e["status"] == status
        }
    };
    let partial = c
        .wait_for("partially_filled", mine("partially_filled"))
        .await;
    let part = dec(&partial["filled"]);
    assert!(part > Decimal::ZERO && part < size, "{partial}");
    assert_eq!(dec(&partial["remaining"]), size - part);
    let full = c.wait_for("filled", mine("filled")).await;
    assert_eq!(dec(&full["filled"]), size);

    let trades = c.ok(json!({"cmd": "get_trades", "limit": 1000})).await;
    let ours: Vec<&Value> = trades["trades"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["order_id"] == json!(id))
        .collect();
    assert!(ours.len() >= 2, "filled in several trades: {ours:?}");
    let amount: Decimal = ours.iter().map(|t| dec(&t["amount"])).sum();
    assert_eq!(amount, size);
    for t in &ours {
        assert_eq!(dec(&t["price"]), price, "a maker fills at its own price");
        assert_eq!(t["liquidity"], "maker");
    }
    let after = c.ok(json!({"cmd": "get_balances"})).await;
    let cost = price * size;
    assert_eq!(
        balance(&after, "USDT"),
        (
            usdt0 - cost - cost * d(FEE),
            Decimal::ZERO,
            usdt0 - cost - cost * d(FEE)
        )
    );
    assert_eq!(balance(&after, "BTC").2, btc0 + size);
    server.stop().await;
}

#[actix_rt::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let resting = c
        .ok(json!({"cmd": "place_order", "symbol": "ETH-USDT", "side": "sell", "type": "limit", "price": 9999, "size": 1}))
        .await;
    let state = |b: &Value, o: &Value| (b["balances"].clone(), o["orders"].clone());
    let before = state(
        &c.ok(json!({"cmd": "get_balances"})).await,
        &c.ok(json!({"cmd": "get_orders"})).await,
    );

    // Frames that are not messages: `error` events.
    for (frame, code) in [
        ("{not json", "invalid_message_format"),
        ("[1, 2]", "invalid_message_format"),
        (r#"{"type": "teleport"}"#, "unsupported_message_type"),
        (
            r#"{"type": "subscribe", "channel": "nonsense"}"#,
            "invalid_params",
        ),
    ] {
        c.send_text(frame).await;
        let e = c.wait_for(code, |e| e["type"] == "error").await;
        assert_eq!(e["error"], code, "for {frame}: {e}");
        assert!(e["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(e["seq"].is_u64(), "errors are numbered events: {e}");
    }
    c.send_binary(vec![1, 2, 3]).await;
    let e = c.wait_for("binary error", |e| e["type"] == "error").await;
    assert_eq!(e["error"], "invalid_message_format");

    // Commands that are refused: one response each, naming the problem.
    let order = |extra: Value| {
        let mut o = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": 50000, "size": 0.01});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                o.as_object_mut().unwrap().remove(k);
            } else {
                o[k] = v.clone();
            }
        }
        o
    };
    let cases = [
        (
            json!({"cmd": "fly_to_the_moon"}),
            "unknown_command",
            "fly_to_the_moon",
        ),
        (order(json!({"size": null})), "invalid_params", "size"),
        (order(json!({"size": -1})), "invalid_params", "size"),
        (order(json!({"size": 0})), "invalid_params", "size"),
        (order(json!({"size": "lots"})), "invalid_params", "size"),
        (order(json!({"price": 0})), "invalid_params", "price"),
        (order(json!({"price": "abc"})), "invalid_params", "price"),
        (order(json!({"price": null})), "invalid_params", "price"),
        (order(json!({"side": "sideways"})), "invalid_params", "side"),
        (order(json!({"symbol": 42})), "invalid_params", "symbol"),
        (
            order(json!({"symbol": "DOGE-USDT"})),
            "invalid_params",
            "symbol",
        ),
        (
            order(json!({"price": 50000.001})),
            "invalid_params",
            "price",
        ),
        (order(json!({"size": 1000})), "insufficient_balance", "USDT"),
        (
            json!({"cmd": "cancel_order", "order_id": "ORD-999999"}),
            "not_found",
            "ORD-999999",
        ),
        (json!({"cmd": "cancel_order"}), "invalid_params", "order_id"),
        (
            json!({"cmd": "get_order_book", "symbol": "BTC-USDT", "depth": -3}),
            "invalid_params",
            "depth",
        ),
    ];
    for (cmd, code, mention) in cases {
        let r = c.command(cmd.clone()).await;
        assert_eq!(r["success"], false, "{cmd} -> {r}");
        assert_eq!(r["error"], code, "{cmd} -> {r}");
        assert!(
            r["message"].as_str().unwrap().contains(mention),
            "message of {cmd} should name `{mention}`: {r}"
        );
        assert_eq!(r["type"], "response");
        assert!(r.get("data").is_some());
    }

    // Orders while the engine is stopped.
    c.ok(json!({"cmd": "stop_engine"})).await;
    c.wait_for("disconnected", |e| e["type"] == "disconnected")
        .await;
    let r = c.command(order(json!({}))).await;
    assert_eq!(r["error"], "engine_stopped", "{r}");
    let status = c.ok(json!({"cmd": "get_system_status"})).await;
    assert_eq!(status["bot_status"], "stopped");
    c.ok(json!({"cmd": "start_engine"})).await;
    c.wait_for("connected", |e| e["type"] == "connected").await;

    let after = state(
        &c.ok(json!({"cmd": "get_balances"})).await,
        &c.ok(json!({"cmd": "get_orders"})).await,
    );
    assert_eq!(
        before, after,
        "refused input must not change balances or orders"
    );
    assert_eq!(after.1[0]["orderId"], resting["order_id"]);
    server.stop().await;
}

#[actix_rt::test]
async fn two_clients_get_the_same_events_in_the_same_order_and_one_leaving_does_not_disturb_the_other(
) {
    let server = TestServer::start("").await;
    let mut a = server.client("/api/stream").await;
    let mut b = server.client("/ws").await;
    let sa = a.next(WAIT).await.unwrap()["seq"].as_u64().unwrap();
    let sb = b.next(WAIT).await.unwrap()["seq"].as_u64().unwrap();
    let from = sa.max(sb);

    let placed = a.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.001})).await;
    let id = placed["order_id"].clone();
    let marker =
        |e: &Value| e["type"] == "order_update" && e["orderId"] == id && e["status"] == "filled";
    a.wait_for("fill on a", marker).await;
    b.wait_for("fill on b", marker).await;
    // Let both see some more, then compare the streams after `from`.
    a.wait_for("later price", |e| e["type"] == "price").await;
    b.wait_for("later price", |e| e["type"] == "price").await;
    let until = 50 + from;
    let stream = |c: &mut Client| {
        let mut seen = Vec::new();
        while let Some(e) = c.pending_pop() {
            if let Some(s) = e["seq"].as_u64() {
                if s > from && s <= until {
                    seen.push((s, e["type"].as_str().unwrap_or_default().to_string()));
                }
            }
        }
        seen
    };
    let (ea, eb) = (stream(&mut a), stream(&mut b));
    let common = ea.len().min(eb.len());
    assert!(common >= 5, "both saw events: {ea:?} / {eb:?}");
    assert_eq!(ea[..common], eb[..common], "same events, same seq order");
    assert!(ea.windows(2).all(|w| w[0].0 < w[1].0));

    a.close().await;
    let mut prices = 0;
    while prices < 10 {
        b.wait_for("price after a left", |e| e["type"] == "price")
            .await;
        prices += 1;
    }
    b.ok(json!({"cmd": "get_system_status"})).await;
    server.stop().await;
}

#[actix_rt::test]
async fn endpoints_start_with_their_subscriptions_and_health_answers() {
    let server = TestServer::start("").await;
    // /api/v1/websocket: a snapshot, then nothing until it subscribes.
    let mut sub = server.client("/api/v1/websocket").await;
    assert_eq!(sub.next(WAIT).await.unwrap()["type"], "snapshot");
    assert!(
        sub.next(Duration::from_millis(500)).await.is_none(),
        "nothing before subscribe"
    );
    sub.send_text(
        r#"{"type":"subscribe","channel":"market_data","symbol":"ETH-USDT","params":{}}"#,
    )
    .await;
    let ack = sub
        .wait_for("subscribed", |e| e["type"] == "subscribed")
        .await;
    assert_eq!(
        (ack["channel"].as_str(), ack["symbol"].as_str()),
        (Some("market_data"), Some("ETH-USDT"))
    );
    for _ in 0..10 {
        let e = sub.next(WAIT).await.expect("ETH market data");
        assert!(e["type"] == "price" || e["type"] == "market_data", "{e}");
        assert_eq!(e["symbol"], "ETH-USDT");
    }
    sub.send_text(r#"{"type":"ping","timestamp":1701234567.89}"#)
        .await;
    let pong = sub.wait_for("pong", |e| e["type"] == "pong").await;
    assert_eq!(pong["timestamp"], json!(1701234567.89));
    sub.send_text(r#"{"type":"unsubscribe","channel":"market_data","symbol":"ETH-USDT"}"#)
        .await;
    sub.wait_for("unsubscribed", |e| e["type"] == "unsubscribed")
        .await;

    // /ws/logs: only log events.
    let mut logs = server.client("/ws/logs").await;
    assert_eq!(logs.next(WAIT).await.unwrap()["type"], "snapshot");
    logs.ok(json!({"cmd": "stop_engine"})).await;
    let line = logs.wait_for("log", |e| e["type"] == "log").await;
    assert_eq!(line["level"], "info");
    assert!(line["msg"].as_str().unwrap().contains("Engine stopped"));
    logs.ok(json!({"cmd": "start_engine"})).await;
    while let Some(e) = logs.next(Duration::from_millis(300)).await {
        assert!(
            e["type"] == "log" || e["type"] == "response",
            "only logs on /ws/logs: {e}"
        );
    }

    let health: Value = awc::Client::new()
        .get(format!("http://{}/api/health", server.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["version"].is_string() && health["uptime"].is_u64());
    server.stop().await;
}

#[actix_rt::test]
async fn market_data_is_at_most_ten_per_second_per_symbol_even_on_a_fast_feed() {
    let fast = format!(
        "{}{}",
        btc_pair("ticks_per_sec = 300.0"),
        eth_pair("ticks_per_sec = 300.0")
    );
    let server = TestServer::start(&fast).await;
    let mut c = server.client("/api/v1/websocket").await;
    c.next(WAIT).await.expect("snapshot");
    c.send_text(r#"{"type":"subscribe","channel":"market_data"}"#)
        .await;
    c.wait_for("subscribed", |e| e["type"] == "subscribed")
        .await;
    c.forget();
    let window = Duration::from_secs(3);
    let start = std::time::Instant::now();
    let (mut prices, mut md_btc, mut md_eth) = (0, 0, 0);
    while let Some(e) = c.next(window.saturating_sub(start.elapsed())).await {
        match (e["type"].as_str(), e["symbol"].as_str()) {
            (Some("price"), _) => prices += 1,
            (Some("market_data"), Some("BTC-USDT")) => md_btc += 1,
            (Some("market_data"), Some("ETH-USDT")) => md_eth += 1,
            _ => {}
        }
    }
    assert!(prices > 600, "the feed is fast: {prices} prices in 3 s");
    for (symbol, n) in [("BTC-USDT", md_btc), ("ETH-USDT", md_eth)] {
        assert!(
            (20..=31).contains(&n),
            "{symbol}: {n} market_data in 3 s, want about 30 and never more than 10/s"
        );
    }
    server.stop().await;
}

/// A frame that is JSON but not a valid command is answered with an
/// error that carries its request_id, so a client waiting on it does not
/// wait for nothing.
#[actix_rt::test]
async fn a_bad_frame_is_answered_with_its_request_id() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    c.next(WAIT).await.expect("snapshot");
    let deep = format!(
        r#"{{"cmd":"get_orders","request_id":"deep-1","p":{}{}}}"#,
        "[".repeat(500),
        "]".repeat(500)
    );
    for (frame, rid, code) in [
        (
            r#"{"cmd":5,"request_id":"r-1"}"#.to_string(),
            json!("r-1"),
            "invalid_message_format",
        ),
        (
            r#"{"cmd":["x"],"request_id":77}"#.to_string(),
            json!(77),
            "invalid_message_format",
        ),
        (deep, json!("deep-1"), "invalid_message_format"),
    ] {
        c.send_text(&frame).await;
        let e = c.wait_for("the error", |e| e["type"] == "error").await;
        assert_eq!(
            (&e["request_id"], e["error"].as_str()),
            (&rid, Some(code)),
            "{e}"
        );
    }
    // Without a readable id the error has none.
    c.send_text("{nope").await;
    let e = c.wait_for("the error", |e| e["type"] == "error").await;
    assert!(e.get("request_id").is_none(), "{e}");
    server.stop().await;
}

/// `get_balances` is read from the venue's board on the session's own
/// thread: whoever is answered a change and then asks sees it, on this
/// connection and on another, and a cancel gives it back.
#[actix_rt::test]
async fn balances_read_after_an_answer_include_what_it_changed() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let mut other = server.client("/api/stream").await;
    let (free0, used0, total0) = balance(&c.ok(json!({"cmd": "get_balances"})).await, "USDT");
    for i in 1..=5u32 {
        let price = Decimal::from(30_000 + i);
        let placed = c
            .ok(
                json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                       "size": "0.01", "price": price.to_string()}),
            )
            .await;
        let reserved = price * d("0.01") * (Decimal::ONE + d(FEE));
        for who in [&mut c, &mut other] {
            let (free, used, total) =
                balance(&who.ok(json!({"cmd": "get_balances"})).await, "USDT");
            assert_eq!(
                (free, used, total),
                (free0 - reserved, used0 + reserved, total0),
                "order {i}"
            );
        }
        let id = placed["order_id"].clone();
        c.ok(json!({"cmd": "cancel_order", "order_id": id})).await;
        let after = balance(&other.ok(json!({"cmd": "get_balances"})).await, "USDT");
        assert_eq!(after, (free0, used0, total0), "after cancelling order {i}");
    }
    server.stop().await;
}

#[actix_rt::test]
async fn with_several_workers_every_session_reaches_the_one_engine() {
    // The engine's actors start on the first worker; the others wait for
    // them and serve their sessions from that same engine.
    let server = TestServer::start("[server]\nworkers = 3\n").await;
    let mut clients = Vec::new();
    let mut placed = HashSet::new();
    // Connections go to the workers in turn: six reach all three.
    for _ in 0..6 {
        let mut c = server.client("/api/stream").await;
        let r = c.ok(order("buy", "limit", "0.001", Some("30000"))).await;
        placed.insert(r["order_id"].as_str().expect("an order id").to_string());
        clients.push(c);
    }
    assert_eq!(placed.len(), 6);
    for c in &mut clients {
        let listed = c.ok(json!({"cmd": "get_orders", "status": "open"})).await;
        let ids: HashSet<String> = listed["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .filter_map(|o| o["orderId"].as_str().map(String::from))
            .collect();
        assert!(placed.is_subset(&ids), "{ids:?} lacks some of {placed:?}");
    }
    server.stop().await;
}
