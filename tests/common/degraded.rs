//! Helpers for the tests that take the disk away from a running engine
//! (`storage_full.rs`, `storage_stall.rs`): a strategy that quotes every
//! second, resting bids, the alerts the engine raises.

use super::Client;
use serde_json::{json, Value};
use std::time::Duration;

/// Creates and starts a pmm on BTC-USDT that requotes every second, and
/// waits for its first quote; answers its id.
pub async fn start_quoting_pmm(c: &mut Client) -> String {
    let mm = c
        .ok(json!({"cmd": "create_strategy", "name": "MM", "type": "pmm", "pair": "BTC-USDT",
                   "config": {"bid_spread": 1, "ask_spread": 1, "order_amount": "0.001", "order_refresh_time": 1}}))
        .await["instance_id"]
        .as_str()
        .expect("instance_id")
        .to_string();
    c.ok(json!({"cmd": "start_strategy", "id": mm})).await;
    c.wait_for("the strategy's first quote", |v| is_quote_of(&mm, v))
        .await;
    mm
}

/// Whether `v` publishes a quote (an open or pending order) of `strategy`.
pub fn is_quote_of(strategy: &str, v: &Value) -> bool {
    v["type"] == "order_update"
        && v["strategy_id"] == strategy
        && matches!(v["status"].as_str(), Some("open" | "pending"))
}

/// A bid far below the market, `c-{i}`: it rests.
pub fn bid(i: usize) -> Value {
    json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
           "size": "0.001", "price": format!("{}", 30000 + i), "client_order_id": format!("c-{i}")})
}

/// The `client_order_id`s a `get_orders` answer lists.
pub fn client_order_ids(v: &Value) -> Vec<String> {
    v["orders"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|o| o["client_order_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits for an `alerts` event whose message contains `text`.
pub async fn wait_for_alert(c: &mut Client, text: &str) -> Value {
    c.wait_for(&format!("the alert \"{text}\""), |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(text))
    })
    .await
}

/// Waits for `system_status` to show the engine degraded.
pub async fn wait_until_degraded(c: &mut Client) {
    c.wait_for("system_status degraded", |v| {
        v["type"] == "system_status" && v["degraded"].is_string()
    })
    .await;
}

/// Waits for the `order_update` of `client_order_id`, which must be
/// `open`, and checks no second one follows.
pub async fn assert_published_once_as_open(c: &mut Client, client_order_id: &str) {
    let of_it = |v: &Value| v["type"] == "order_update" && v["client_order_id"] == client_order_id;
    let opened = c
        .wait_for(&format!("{client_order_id} published"), of_it)
        .await;
    assert_eq!(opened["status"], "open");
    assert!(
        c.try_wait_for(Duration::from_millis(300), of_it)
            .await
            .is_none(),
        "{client_order_id} published twice"
    );
}
