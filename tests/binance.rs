//! The Binance connector against a fake Binance server speaking the real
//! protocol on loopback: signing, order flow, user data stream, depth
//! sequencing, reconnects with backoff, reconciliation, rate limits.
//! (Accounts — strategies, secrets, restarts, naming a connection — are
//! in `binance_accounts.rs`.)

mod common;

use common::binance::{
    binance_book, connected, is_conn, FakeBinance, API_KEY, API_SECRET, CONNECTIONS,
};
use common::*;
use serde_json::json;
use std::time::Duration;

#[actix_rt::test]
async fn orders_go_out_signed_and_execution_reports_come_back_as_events() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    let id = connected(&mut c, &fake).await;

    // Secrets never come back.
    let list = c.ok(json!({"cmd": "get_connections"})).await;
    let text = list.to_string();
    assert!(
        !text.contains(API_SECRET) && !text.contains(API_KEY),
        "{text}"
    );
    assert_eq!(list["connections"][0]["status"], "connected");
    let t = c.ok(json!({"cmd": "test_connection", "id": id})).await;
    assert!(t["message"].as_str().unwrap().starts_with("healthy"), "{t}");

    // Balances from the signed account request.
    let b = c
        .ok(json!({"cmd": "get_balances", "exchange": "binance"}))
        .await;
    assert_eq!(balance(&b, "USDT").2, d("100000"));

    let r = c
        .ok(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                   "type": "limit", "price": "49000.5", "size": "0.01"}),
        )
        .await;
    let order_id = r["order_id"].as_str().unwrap().to_string();
    assert_eq!(r["order"]["status"], "open");
    let sent = fake.orders();
    assert_eq!(sent.len(), 1);
    let o = &sent[0];
    assert_eq!(
        (
            o.symbol.as_str(),
            o.side.as_str(),
            o.kind.as_str(),
            o.tif.as_str()
        ),
        ("BTCUSDT", "BUY", "LIMIT", "GTC")
    );
    assert_eq!(
        (o.qty.as_str(), o.price.as_str(), o.client_id.as_str()),
        ("0.01", "49000.5", order_id.as_str())
    );
    assert!(o.params.iter().any(|(k, _)| k == "signature"));
    assert!(fake.state.lock().signed_ok >= 2 && fake.state.lock().signed_bad == 0);

    // Binance fills it in two parts over the user data stream.
    let venue_id = o.order_id;
    fake.fill(venue_id, 0.004);
    let u = c
        .wait_for("partial", |v| {
            v["type"] == "order_update"
                && v["orderId"] == order_id
                && v["status"] == "partially_filled"
        })
        .await;
    assert_eq!(dec(&u["filled"]), d("0.004"));
    let t = c
        .wait_for("trade", |v| {
            v["type"] == "trade" && v["order_id"] == order_id
        })
        .await;
    assert_eq!(
        (dec(&t["amount"]), dec(&t["price"])),
        (d("0.004"), d("49000.5"))
    );
    assert_eq!(
        (dec(&t["fee"]), t["fee_asset"].clone()),
        (d("0.000004"), json!("BNB"))
    );
    assert_eq!(t["exchange"], "binance");
    let bal = c
        .wait_for("a balance from the stream", |v| {
            v["type"] == "balance"
                && v["exchange"] == "binance"
                && v["asset"] == "BTC"
                && v["total"] != 1
        })
        .await;
    assert_eq!(dec(&bal["total"]), d("1.004"));
    fake.fill(venue_id, 0.006);
    c.wait_for("filled", |v| {
        v["type"] == "order_update" && v["orderId"] == order_id && v["status"] == "filled"
    })
    .await;

    // A cancel goes out signed and comes back canceled.
    let r = c
        .ok(
            json!({"cmd": "place_order", "exchange": id, "symbol": "BTC-USDT", "side": "sell",
                   "type": "limit", "price": "51000", "size": "0.001"}),
        )
        .await;
    let second = r["order_id"].as_str().unwrap().to_string();
    c.ok(json!({"cmd": "cancel_order", "exchange": "binance", "order_id": second}))
        .await;
    c.wait_for("canceled", |v| {
        v["type"] == "order_update" && v["orderId"] == second && v["status"] == "canceled"
    })
    .await;

    // Filters apply before anything is sent.
    let before = fake.orders().len();
    let r = c
        .command(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                        "type": "limit", "price": "49000.005", "size": "0.01"}),
        )
        .await;
    assert_eq!(r["error"], "invalid_params", "{r}");
    assert_eq!(fake.orders().len(), before);
    let trades = c
        .ok(json!({"cmd": "get_trades", "exchange": "binance"}))
        .await;
    assert_eq!(trades["count"], 2);
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn a_dropped_socket_is_restarted_with_backoff_and_a_missed_fill_is_reported_once() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    let conn_id = connected(&mut c, &fake).await;
    let r = c
        .ok(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                   "type": "limit", "price": "49000", "size": "0.01"}),
        )
        .await;
    let order_id = r["order_id"].as_str().unwrap().to_string();
    let venue_id = fake.orders()[0].order_id;

    // The network goes: sockets drop, the next handshakes fail, and the
    // order fills while nobody listens.
    fake.refuse_handshakes(4);
    fake.drop_sockets();
    fake.deafen_user_stream();
    let missed = fake.fill(venue_id, 0.004).unwrap();

    let mut delays = Vec::new();
    for attempt in 1..=3u64 {
        let e = c
            .wait_for("a retry", |v| {
                is_conn(v, "disconnected") && v["attempt"] == attempt
            })
            .await;
        let delay = e["next_retry_ms"].as_u64().unwrap();
        assert!(
            delay <= 100 << (attempt - 1),
            "attempt {attempt}: {delay} ms beyond its ceiling"
        );
        delays.push(delay);
    }
    c.wait_for("back", |v| is_conn(v, "connected")).await;

    // Reconciled: the missed fill arrives exactly once.
    let t = c
        .wait_for("the missed fill", |v| {
            v["type"] == "trade" && v["order_id"] == order_id
        })
        .await;
    assert_eq!(t["trade_id"], format!("BTCUSDT-{missed}"));
    assert_eq!(dec(&t["amount"]), d("0.004"));
    c.wait_for("partially filled", |v| {
        v["type"] == "order_update" && v["orderId"] == order_id && v["status"] == "partially_filled"
    })
    .await;
    // The stream now delivers the same fill too: still once.
    fake.resend_fill(missed);
    let again = c
        .try_wait_for(Duration::from_millis(800), |v| {
            v["type"] == "trade" && v["order_id"] == order_id
        })
        .await;
    assert!(again.is_none(), "the fill was reported twice: {again:?}");
    let trades = c
        .ok(json!({"cmd": "get_trades", "exchange": "binance"}))
        .await;
    assert_eq!(trades["count"], 1, "{trades}");
    let pos = c
        .ok(json!({"cmd": "get_positions", "exchange": "binance"}))
        .await;
    assert_eq!(dec(&pos["positions"][0]["size"]), d("0.004"));

    // The connector is an agent: its restarts are counted, its books listed.
    let agent = format!("connection:{conn_id}");
    let until = std::time::Instant::now() + WAIT;
    let list = loop {
        let list = c.ok(json!({"cmd": "get_agents"})).await;
        let restarted = list["agents"].as_array().unwrap().iter().any(|a| {
            a["agent_id"] == agent.as_str()
                && a["data"]["status"] == "connected"
                && a["data"]["restarts"].as_u64() >= Some(3)
        });
        if restarted || std::time::Instant::now() > until {
            break list;
        }
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    };
    let has = |id: &str| {
        list["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["agent_id"] == id)
    };
    assert!(has(&agent), "{list}");
    assert!(has("orderbook:binance:BTC-USDT"), "{list}");
    let restarts = list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == agent.as_str())
        .map(|a| a["data"]["restarts"].clone());
    assert!(
        restarts.and_then(|r| r.as_u64()) >= Some(3),
        "three failed sessions before this one: {list}"
    );
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn a_silent_socket_and_an_expired_listen_key_are_restarted() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;

    fake.go_silent(true);
    let e = c
        .wait_for("silence noticed", |v| is_conn(v, "disconnected"))
        .await;
    assert!(e["message"].as_str().unwrap().contains("silent"), "{e}");
    fake.go_silent(false);
    c.wait_for("back", |v| is_conn(v, "connected")).await;

    fake.expire_listen_key();
    let e = c
        .wait_for("expiry noticed", |v| is_conn(v, "disconnected"))
        .await;
    assert!(e["message"].as_str().unwrap().contains("listenKey"), "{e}");
    c.wait_for("back again", |v| is_conn(v, "connected")).await;
    assert!(
        fake.state.lock().listen_keys.len() >= 3,
        "a new listenKey each session"
    );
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn a_depth_gap_is_detected_and_resynced() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;
    c.wait_for("a book", |v| {
        v["type"] == "orderbook" && v["exchange"] == "binance"
    })
    .await;
    let snapshots = fake.state.lock().snapshots;
    fake.skip_depth_id();
    let log = c
        .wait_for("the gap", |v| {
            v["type"] == "log" && v["msg"].as_str().is_some_and(|m| m.contains("depth gap"))
        })
        .await;
    assert!(log["msg"].as_str().unwrap().contains("resyncing"), "{log}");
    c.wait_for("the book back", binance_book).await;
    assert_eq!(
        fake.state.lock().snapshots,
        snapshots + 1,
        "one new snapshot"
    );
    let book = c
        .ok(json!({"cmd": "get_order_book", "exchange": "binance", "symbol": "BTC-USDT"}))
        .await;
    assert_eq!(best(&book, "bids"), d("49999.5"));
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn rate_limits_slow_the_connector_down() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;
    // The book's depth snapshot is fetched after the connection is up: had
    // it not been yet, it would take the 429 meant for the order while the
    // order was already on its way (and, rightly, placed).
    c.wait_for("the book", binance_book).await;
    let order = json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                       "type": "limit", "price": "49000", "size": "0.01"});
    fake.rate_limit(1, 2);
    let r = c.command(order.clone()).await;
    assert_eq!(r["success"], false);
    assert!(
        r["message"].as_str().unwrap().contains("rate limited"),
        "{r}"
    );
    // Within Retry-After nothing reaches Binance.
    let before = fake.state.lock().requests;
    let r = c.command(order.clone()).await;
    assert!(
        r["message"].as_str().unwrap().contains("rate limited"),
        "{r}"
    );
    assert_eq!(
        fake.state.lock().requests,
        before,
        "a request went out during the ban"
    );
    actix_rt::time::sleep(Duration::from_millis(2100)).await;
    c.ok(order).await;
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn a_wrong_secret_fails_the_connection_with_binances_error() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    let mut cmd = fake.connection_cmd();
    cmd["api_secret"] = json!("not-the-secret");
    let r = c.ok(cmd).await;
    let id = r["connection_id"].as_str().unwrap().to_string();
    let e = c
        .wait_for("a failure", |v| {
            is_conn(v, "disconnected") || is_conn(v, "failed")
        })
        .await;
    assert!(e["message"].as_str().unwrap().contains("-1022"), "{e}");
    let t = c.command(json!({"cmd": "test_connection", "id": id})).await;
    assert_eq!(t["success"], false);
    assert!(t["message"].as_str().unwrap().contains("Signature"), "{t}");
    assert!(!t.to_string().contains("not-the-secret"));
    c.ok(json!({"cmd": "delete_connection", "id": id})).await;
    c.wait_for("deleted", |v| is_conn(v, "deleted")).await;
    let r = c.command(json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.01})).await;
    assert_eq!(r["error"], "invalid_params", "{r}");
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn attempts_reset_once_stable_and_give_up_after_the_limit() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(
        &CONNECTIONS
            .replace("stable_s = 30", "stable_s = 1")
            .replace("max_attempts = 10", "max_attempts = 2"),
    )
    .await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;
    fake.drop_sockets();
    c.wait_for("a retry", |v| {
        is_conn(v, "disconnected") && v["attempt"] == 1
    })
    .await;
    c.wait_for("back", |v| is_conn(v, "connected") && v["attempt"] == 1)
        .await;
    // Stable for a second: the count starts over.
    c.wait_for("reset", |v| is_conn(v, "connected") && v["attempt"] == 0)
        .await;

    // Now it keeps failing: after two attempts it is given up, with an alert.
    fake.refuse_handshakes(100);
    fake.drop_sockets();
    let e = c.wait_for("given up", |v| is_conn(v, "failed")).await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("gave up after 2 attempts"),
        "{e}"
    );
    c.wait_for("an alert", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("gave up"))
    })
    .await;
    // Orders for it are refused clearly meanwhile, and paper trades on.
    let r = c
        .command(json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.01}))
        .await;
    assert_eq!(r["error"], "exchange_unavailable", "{r}");
    c.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.01}))
        .await;
    server.stop().await;
    fake.stop().await;
}
