//! The SDK subscription form (PROTOCOL §3.2): `subscription_id`, `symbols`,
//! `data_types`, `update_frequency` and price `filters`, over a real socket.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Everything a client receives for `secs`, in order.
async fn collect(client: &mut Client, secs: f64) -> Vec<Value> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut got = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match client.next(left).await {
            Some(v) => got.push(v),
            None => break,
        }
    }
    got
}

fn of_type<'a>(frames: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| f["type"] == kind).collect()
}

async fn subscribe(client: &mut Client, msg: Value) -> Value {
    client.send_text(&msg.to_string()).await;
    client
        .wait_for("an answer to subscribe", |e| {
            e["type"] == "subscribed" || e["type"] == "error"
        })
        .await
}

#[actix_rt::test]
async fn update_frequency_throttles_market_data_but_never_order_events() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/v1/websocket").await;
    c.wait_for("snapshot", |e| e["type"] == "snapshot").await;
    let ack = subscribe(
        &mut c,
        json!({"type": "subscribe", "subscription_id": "slow", "symbols": ["BTC-USDT"],
               "data_types": ["price", "order_update"], "update_frequency": "1s"}),
    )
    .await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    assert_eq!(ack["subscription_id"], "slow");

    // Three orders at once: throttling must not hold back any of them.
    let book = c
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT"}))
        .await;
    let price = (best(&book, "bids") * d("0.9")).round_dp(2).to_string();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = c
            .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price, "size": "0.001"}))
            .await;
        ids.push(r["order_id"].clone());
    }
    // `next` hands out the frames kept while waiting for responses first.
    let frames = collect(&mut c, 3.5).await;
    let updates = of_type(&frames, "order_update");
    for id in &ids {
        assert!(
            updates
                .iter()
                .any(|o| &o["orderId"] == id && o["status"] == "open"),
            "order_update for {id} delivered"
        );
    }
    // The test feed ticks BTC-USDT 20 times a second: at 1s that is one at
    // once and then one per second (3.5 s → 4), not ~70.
    let prices = of_type(&frames, "price");
    assert!(
        (2..=5).contains(&prices.len()),
        "{} prices in 3.5 s at update_frequency 1s",
        prices.len()
    );
    assert!(prices.iter().all(|p| p["symbol"] == "BTC-USDT"));
    let seqs: Vec<u64> = frames.iter().filter_map(|f| f["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq rises: {seqs:?}");

    // The same topic realtime (same id): every tick again.
    let ack = subscribe(
        &mut c,
        json!({"type": "subscribe", "subscription_id": "slow", "symbols": ["BTC-USDT"],
               "data_types": ["price"], "update_frequency": "realtime"}),
    )
    .await;
    assert_eq!(ack["count"], 2, "updated in place: {ack}");
    let frames = collect(&mut c, 1.5).await;
    assert!(
        of_type(&frames, "price").len() >= 10,
        "realtime after the update: {}",
        of_type(&frames, "price").len()
    );
    server.stop().await;
}

#[actix_rt::test]
async fn price_filters_pass_only_market_data_in_range() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/v1/websocket").await;
    c.wait_for("snapshot", |e| e["type"] == "snapshot").await;
    // BTC trades near 52 000, ETH near 2 800.
    let ack = subscribe(
        &mut c,
        json!({"type": "subscribe", "subscription_id": "btc-only", "symbols": [],
               "data_types": ["price"], "filters": {"min_price": 10000, "max_price": "1000000"}}),
    )
    .await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    let frames = collect(&mut c, 1.5).await;
    let prices = of_type(&frames, "price");
    assert!(prices.len() >= 10, "{} prices", prices.len());
    assert!(
        prices.iter().all(|p| p["symbol"] == "BTC-USDT"),
        "ETH-USDT filtered out"
    );

    let ack = subscribe(
        &mut c,
        json!({"type": "subscribe", "subscription_id": "btc-only", "symbols": [],
               "data_types": ["price"], "filters": {"min_price": 1e9}}),
    )
    .await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    c.forget();
    let frames = collect(&mut c, 1.0).await;
    assert!(
        of_type(&frames, "price").is_empty(),
        "nothing priced that high"
    );

    for (bad, says) in [
        (
            json!({"type": "subscribe", "data_types": ["price"], "update_frequency": "2s"}),
            "update_frequency",
        ),
        (
            json!({"type": "subscribe", "data_types": ["price"], "filters": {"min_volume": 1}}),
            "min_volume",
        ),
        (
            json!({"type": "subscribe", "data_types": ["price"], "filters": {"min_price": 5, "max_price": 4}}),
            "min_price",
        ),
    ] {
        let e = subscribe(&mut c, bad.clone()).await;
        assert_eq!(e["type"], "error", "{bad}: {e}");
        assert_eq!(e["error"], "invalid_params");
        assert!(e["detail"].as_str().unwrap().contains(says), "{e}");
    }
    server.stop().await;
}
