//! `replay`: a client that was away gets every order event it missed, in
//! `seq` order, or `replay_gap` when they are no longer retained.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Every frame `c` receives for `window`.
async fn drain(c: &mut Client, window: Duration) -> Vec<Value> {
    let end = std::time::Instant::now() + window;
    let mut out = Vec::new();
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match c.next(left).await {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out
}

fn durable(v: &Value) -> bool {
    matches!(v["type"].as_str(), Some("order_update" | "trade"))
}

#[actix_rt::test]
async fn a_reconnecting_client_replays_exactly_what_it_missed() {
    let server = TestServer::start("").await;
    let mut a = server.client("/api/stream").await;
    let mut b = server.client("/api/stream").await;
    let snap = b.wait_for("snapshot", |v| v["type"] == "snapshot").await;
    let mut last = snap["seq"].as_u64().unwrap();
    for v in drain(&mut b, Duration::from_millis(200)).await {
        last = last.max(v["seq"].as_u64().unwrap_or(0));
    }
    b.close().await;

    // While B is away, orders fill.
    for _ in 0..5 {
        a.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.001}))
            .await;
    }
    let r = a
        .ok(json!({"cmd": "place_order", "symbol": "ETH-USDT", "side": "buy", "type": "limit", "price": 100, "size": 0.1}))
        .await;
    let resting = r["order_id"].clone();
    let rest = a
        .wait_for("the resting order", |v| {
            v["type"] == "order_update" && v["orderId"] == resting
        })
        .await;
    let mut missed: Vec<(u64, String)> =
        vec![(rest["seq"].as_u64().unwrap(), "order_update".into())];
    for v in drain(&mut a, Duration::from_millis(300)).await {
        if durable(&v) && v["seq"].as_u64().unwrap_or(0) > last {
            missed.push((
                v["seq"].as_u64().unwrap(),
                v["type"].as_str().unwrap().to_string(),
            ));
        }
    }
    let mut missed_all = missed;
    missed_all.sort();
    assert!(
        missed_all.len() >= 11,
        "5 fills and a resting order: {missed_all:?}"
    );

    let mut b2 = server.client("/api/stream").await;
    let r = b2.ok(json!({"cmd": "replay", "since_seq": last})).await;
    let count = r["count"].as_u64().unwrap() as usize;
    let upto = r["seq"].as_u64().unwrap();
    let mut replayed: Vec<(u64, String)> = Vec::new();
    let mut seqs = Vec::new();
    let mut last_sent = None;
    for v in drain(&mut b2, Duration::from_millis(500)).await {
        let seq = v["seq"].as_u64().unwrap_or(0);
        if v["type"] != "snapshot" && seq > last && seq <= upto {
            seqs.push(seq);
            if durable(&v) {
                replayed.push((seq, v["type"].as_str().unwrap().to_string()));
            }
            if seq == upto
                && !matches!(
                    v["type"].as_str(),
                    Some("price" | "market_data" | "orderbook")
                )
            {
                last_sent = Some(v.clone());
            }
        }
    }
    // The answer's `seq` is the last event the replay sent (market data,
    // never replayed, is published all the while): a client knows the
    // replay is complete once it holds that one.
    assert!(
        last_sent.is_some(),
        "the answer's seq {upto} is not an event the replay sent"
    );
    replayed.sort();
    replayed.dedup();
    for m in &missed_all {
        assert!(replayed.contains(m), "{m:?} missing from the replay");
    }
    assert!(count >= missed_all.len(), "{count} < {}", missed_all.len());
    server.stop().await;
}

#[actix_rt::test]
async fn replay_gap_when_the_ring_no_longer_holds_them() {
    let server = TestServer::start("[server]\nreplay_events = 5\n").await;
    let mut a = server.client("/api/stream").await;
    for _ in 0..4 {
        a.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.001}))
            .await;
    }
    let r = a.command(json!({"cmd": "replay", "since_seq": 0})).await;
    assert_eq!(
        (r["success"].clone(), r["error"].clone()),
        (json!(false), json!("replay_gap")),
        "{r}"
    );
    assert!(
        r["message"].as_str().unwrap().contains("fresh snapshot"),
        "{r}"
    );
    // From now on nothing is missing.
    let s = a.ok(json!({"cmd": "get_system_status"})).await;
    let _ = s;
    let r = a
        .command(json!({"cmd": "replay", "since_seq": 1_000_000_000u64}))
        .await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["count"], 0);
    server.stop().await;
}

#[actix_rt::test]
async fn replay_sends_only_what_the_session_subscribes_to() {
    let server = TestServer::start("").await;
    let mut a = server.client("/api/stream").await;
    let snap = a.wait_for("snapshot", |v| v["type"] == "snapshot").await;
    let since = snap["seq"].as_u64().unwrap();
    // Fills: order updates, and trades, balances and positions beside them.
    for _ in 0..3 {
        a.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.001}))
            .await;
    }
    let mut b = server.client("/api/v1/websocket").await;
    b.wait_for("snapshot", |v| v["type"] == "snapshot").await;
    b.send_text(&json!({"type": "subscribe", "channel": "order_update"}).to_string())
        .await;
    b.wait_for("subscribed", |v| v["type"] == "subscribed")
        .await;

    // What each replay sends after `since`, by type.
    async fn replayed(c: &mut Client, since: u64) -> (u64, Vec<String>) {
        // What it has heard live so far is not the replay.
        drain(c, Duration::from_millis(300)).await;
        let r = c.ok(json!({"cmd": "replay", "since_seq": since})).await;
        let upto = r["seq"].as_u64().unwrap();
        let types = drain(c, Duration::from_millis(500))
            .await
            .into_iter()
            .filter(|v| (since + 1..=upto).contains(&v["seq"].as_u64().unwrap_or(0)))
            .map(|v| v["type"].as_str().unwrap_or_default().to_string())
            .collect();
        (r["count"].as_u64().unwrap(), types)
    }
    let (all_count, all) = replayed(&mut a, since).await;
    let (count, mine) = replayed(&mut b, since).await;
    assert!(
        all.iter().any(|t| t != "order_update"),
        "the ring holds more than order updates: {all:?}"
    );
    assert!(mine.len() >= 3, "three orders' updates: {mine:?}");
    assert!(mine.iter().all(|t| t == "order_update"), "{mine:?}");
    assert_eq!(count as usize, mine.len());
    assert_eq!(
        mine.len(),
        all.iter().filter(|t| *t == "order_update").count(),
        "{all:?}"
    );
    assert!(count < all_count);
    server.stop().await;
}
