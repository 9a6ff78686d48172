//! Actor health: `get_agents` and `agent_status` events — one entry per
//! actor with status, mailbox depth, restarts and process CPU and memory,
//! pushed every `agent_status_interval_ms` and at once on a change — and
//! the same story in `/metrics`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const FAST: &str = "[engine]\nagent_status_interval_ms = 1000\n\
    [strategies]\nrestart = \"on_failure\"\nrestart_base_ms = 200\nrestart_max_ms = 400\nmax_restarts = 1\n";

fn agent<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["agents"]
        .as_array()?
        .iter()
        .find(|a| a["agent_id"] == id)
}

async fn agents_client(server: &TestServer) -> Client {
    let mut c = server.client("/api/v1/websocket").await;
    c.send_text(&json!({"type": "subscribe", "channel": "agent_status"}).to_string())
        .await;
    c.wait_for("subscribed", |v| v["type"] == "subscribed")
        .await;
    c
}

#[actix_rt::test]
async fn every_actor_reports_its_health_and_changes_are_pushed() {
    let server = TestServer::start(FAST).await;
    let mut c = agents_client(&server).await;
    let expected = [
        "registry",
        "engine",
        "risk",
        "strategies",
        "connections",
        "exchange:paper",
        "orderbook:paper:BTC-USDT",
        "orderbook:paper:ETH-USDT",
        "sessions",
    ];
    let until = Instant::now() + WAIT;
    let list = loop {
        let list = c.ok(json!({"cmd": "get_agents"})).await;
        if expected.iter().all(|id| agent(&list, id).is_some()) || Instant::now() > until {
            break list;
        }
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    };
    for id in expected {
        let a = agent(&list, id).unwrap_or_else(|| panic!("no agent {id} in {list}"));
        let d = &a["data"];
        assert!(d["status"].is_string(), "{a}");
        assert!(
            d["task_queue_size"].is_u64() && d["restarts"].is_u64(),
            "{a}"
        );
        assert!(d["cpu_usage"].as_f64().unwrap() >= 0.0, "{a}");
        assert!(
            d["memory_usage"].as_f64().unwrap() > 1.0,
            "resident MiB: {a}"
        );
        assert!(d["last_update"].as_f64().unwrap() > 1.7e9, "{a}");
    }
    assert_eq!(agent(&list, "engine").unwrap()["data"]["status"], "running");
    assert_eq!(agent(&list, "risk").unwrap()["data"]["status"], "running");
    assert!(agent(&list, "sessions").unwrap()["data"]["count"].as_u64() >= Some(1));

    // Every interval (1 s here) each actor is reported again.
    c.forget();
    let until = Instant::now() + Duration::from_millis(2600);
    let mut engine_reports = 0;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match c.next(left).await {
            Some(v) if v["type"] == "agent_status" && v["agent_id"] == "engine" => {
                engine_reports += 1
            }
            Some(_) => {}
            None => break,
        }
    }
    assert!(engine_reports >= 2, "{engine_reports} reports in 2.6 s");

    // A strategy is an agent; its failure and restart are pushed as they happen.
    let r = c
        .ok(
            json!({"cmd": "create_strategy", "name": "Chaos", "type": "chaos", "pair": "BTC-USDT",
                   "config": {"mode": "panic", "fail_after_ticks": 20}}),
        )
        .await;
    let id = format!("strategy:{}", r["strategy"]["id"].as_str().unwrap());
    c.ok(json!({"cmd": "start_strategy", "id": r["strategy"]["id"]}))
        .await;
    let first = c
        .wait_for("the strategy's first report", |v| {
            v["type"] == "agent_status" && v["agent_id"] == id.as_str()
        })
        .await;
    assert_eq!(first["data"]["restarts"], 0, "{first}");
    let again = c
        .wait_for("the restart reported", |v| {
            v["type"] == "agent_status"
                && v["agent_id"] == id.as_str()
                && v["data"]["restarts"] == 1
        })
        .await;
    assert_eq!(again["data"]["status"], "running", "{again}");
    server.stop().await;
}

#[actix_rt::test]
async fn a_strategy_blocking_its_thread_shows_as_unresponsive() {
    let server = TestServer::start(FAST).await;
    let mut c = agents_client(&server).await;
    let r = c
        .ok(
            json!({"cmd": "create_strategy", "name": "Stuck", "type": "chaos", "pair": "BTC-USDT",
                   "config": {"mode": "hang", "fail_after_ticks": 3, "hang_ms": 4000}}),
        )
        .await;
    let id = format!("strategy:{}", r["strategy"]["id"].as_str().unwrap());
    c.ok(json!({"cmd": "start_strategy", "id": r["strategy"]["id"]}))
        .await;
    let stuck = c
        .wait_for("unresponsive", |v| {
            v["type"] == "agent_status"
                && v["agent_id"] == id.as_str()
                && v["data"]["status"] == "unresponsive"
        })
        .await;
    assert_eq!(stuck["data"]["restarts"], 0);
    // Everything else still answers.
    let list = c.ok(json!({"cmd": "get_agents"})).await;
    assert_eq!(agent(&list, "engine").unwrap()["data"]["status"], "running");
    // And once its decision returns it is running again.
    c.wait_for("running again", |v| {
        v["type"] == "agent_status"
            && v["agent_id"] == id.as_str()
            && v["data"]["status"] == "running"
    })
    .await;
    server.stop().await;
}

#[actix_rt::test]
async fn metrics_count_events_by_type_orders_by_status_command_latency_and_commits() {
    let server = TestServer::start(FAST).await;
    let mut c = server.client("/api/stream").await;
    let book = c
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT"}))
        .await;
    let price = (best(&book, "bids") * d("0.9")).round_dp(2).to_string();
    let before = server.metrics().await;
    let placed = c
        .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price, "size": "0.001"}))
        .await;
    c.ok(json!({"cmd": "cancel_order", "order_id": placed["order_id"]}))
        .await;
    c.wait_for("the cancel", |v| {
        v["type"] == "order_update" && v["status"] == "canceled"
    })
    .await;
    // Agents are probed once a second.
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
    let after = server.metrics().await;
    let grew = |series: &str| {
        after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
    };
    assert_eq!(after["laicai_connections"], 1.0);
    assert_eq!(grew("laicai_order_updates_total{status=\"open\"}"), 1.0);
    assert_eq!(grew("laicai_order_updates_total{status=\"canceled\"}"), 1.0);
    assert!(grew("laicai_events_published_by_type_total{type=\"order_update\"}") >= 2.0);
    assert!(grew("laicai_frames_delivered_by_type_total{type=\"order_update\"}") >= 2.0);
    assert!(grew("laicai_frames_delivered_by_type_total{type=\"price\"}") > 0.0);
    // get_order_book, place_order, cancel_order.
    assert!(grew("laicai_command_seconds_count") >= 2.0, "{after:?}");
    assert_eq!(
        after["laicai_command_seconds_bucket{le=\"+Inf\"}"],
        after["laicai_command_seconds_count"]
    );
    assert_eq!(
        after["laicai_agent_restarts_total{agent=\"exchange:paper\"}"],
        0.0
    );
    assert!(after.contains_key("laicai_agent_queue{agent=\"registry\"}"));
    assert!(after.contains_key("laicai_market_ticks_dropped_total"));
    // Every frame the session took was waited for, and counted.
    assert!(grew("laicai_frame_wait_seconds_count") >= 2.0, "{after:?}");
    assert_eq!(
        after["laicai_frame_wait_seconds_bucket{le=\"+Inf\"}"],
        after["laicai_frame_wait_seconds_count"]
    );
    // Every stamped event (the feed's prices, the order updates) had its
    // age taken when it was fanned out.
    assert!(
        grew("laicai_event_age_seconds_count")
            >= grew("laicai_events_published_by_type_total{type=\"price\"}"),
        "{after:?}"
    );
    assert!(grew("laicai_event_age_seconds_count") > 0.0);
    // The order and its cancel were each answered after a commit of the
    // storage thread (fsync on, the default): both timed, and both
    // writers' waits.
    assert!(
        grew("laicai_storage_commit_seconds_count") >= 2.0,
        "{after:?}"
    );
    assert!(
        grew("laicai_storage_durable_wait_seconds_count") >= 2.0,
        "{after:?}"
    );
    assert_eq!(
        after["laicai_storage_durable_wait_seconds_bucket{le=\"+Inf\"}"],
        after["laicai_storage_durable_wait_seconds_count"]
    );
    server.stop().await;
}
