//! One client that stops reading must not slow or disturb the others; once
//! its backlog of undroppable events passes the bound it is closed (1013)
//! and an `alerts` event says so.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[actix_rt::test]
async fn a_stalled_client_is_evicted_and_the_others_keep_flowing() {
    // Big, frequent order book frames fill the stalled socket quickly.
    let limits = "[server]\nsession_mailbox = 16\nsession_backlog = 100\nmax_messages_per_sec = 100000\nreplay_events = 1000000\n[paper]\nbook_depth = 100\norderbook_interval_ms = 1\n";
    let pairs = btc_pair(
        "ticks_per_sec = 200.0
         volatility_bps = 0.5
         depth_levels = 100
         trade_probability = 0.5",
    );
    let server = TestServer::start(&format!("{limits}{pairs}")).await;
    let mut stalled = server.client("/api/stream").await;
    let snapshot = stalled.next(WAIT).await.unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    let last_seen = snapshot["seq"].as_u64().unwrap();
    // From here on `stalled` reads nothing until the end.
    let mut active = server.client("/api/stream").await;
    active.wait_for("price", |e| e["type"] == "price").await;
    let book = active
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT"}))
        .await;
    let price = (best(&book, "bids") * d("0.9")).round_dp(2).to_string();

    // Undroppable events: every order placed and canceled makes four.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut alert = None;
    let mut cycles = 0;
    let mut placed_ids = Vec::new();
    while alert.is_none() && Instant::now() < deadline {
        let placed = active
            .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price, "size": "0.001"}))
            .await;
        active
            .ok(json!({"cmd": "cancel_order", "order_id": placed["order_id"]}))
            .await;
        placed_ids.push(placed["order_id"].as_str().unwrap().to_string());
        cycles += 1;
        alert = active
            .try_wait_for(Duration::from_millis(1), |e| e["type"] == "alerts")
            .await;
        active.forget();
    }
    let alert = alert.unwrap_or_else(|| panic!("no alerts event after {cycles} order cycles"));
    assert_eq!(alert["data"]["source"], "registry");
    assert!(
        alert["data"]["message"]
            .as_str()
            .unwrap()
            .contains("behind"),
        "{alert}"
    );

    // The active client was never held up: it still trades and streams.
    active.ok(json!({"cmd": "get_system_status"})).await;
    for _ in 0..20 {
        active.wait_for("price", |e| e["type"] == "price").await;
    }

    // When the stalled client reads again it finds its stream closed with 1013.
    let until = Instant::now() + Duration::from_secs(20);
    while stalled.closed.is_none() && Instant::now() < until {
        if stalled.next(Duration::from_secs(5)).await.is_none() {
            break;
        }
    }
    let reason = stalled
        .closed
        .clone()
        .expect("the stalled session was closed");
    assert_eq!(reason.map(|r| u16::from(r.code)), Some(1013));

    // It comes back and replays from the last seq it saw: every order
    // event it missed, in order, none twice.
    let mut back = server.client("/api/v1/websocket").await;
    back.send_text(&json!({"type": "subscribe", "channel": "order_update"}).to_string())
        .await;
    back.wait_for("subscribed", |v| v["type"] == "subscribed")
        .await;
    let r = back
        .ok(json!({"cmd": "replay", "since_seq": last_seen}))
        .await;
    let upto = r["seq"].as_u64().unwrap();
    let mut seqs = Vec::new();
    let mut seen: std::collections::HashMap<String, Vec<String>> = Default::default();
    while let Some(v) = back.next(Duration::from_millis(500)).await {
        let seq = v["seq"].as_u64().unwrap_or(0);
        if v["type"] == "order_update" && seq <= upto {
            seqs.push(seq);
            seen.entry(v["orderId"].as_str().unwrap().to_string())
                .or_default()
                .push(v["status"].as_str().unwrap().to_string());
        }
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order, none twice"
    );
    for id in &placed_ids {
        assert_eq!(
            seen.get(id).map(Vec::as_slice),
            Some(&["open".to_string(), "canceled".to_string()][..]),
            "{id}"
        );
    }
    server.stop().await;
}
