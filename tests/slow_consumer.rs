//! One client that stops reading must not slow or disturb the others. Once
//! its queue has stayed full for `slow_client_timeout_ms` it is evicted
//! with an `alerts` event: a client still reading gets close 1013; one that
//! reads nothing has its socket reset by the server, which frees its place
//! without the client's help. Either way `replay` gives back every order
//! event it missed.

mod common;

use common::*;
use laicai_core::Decimal;
use serde_json::json;
use std::time::{Duration, Instant};

/// Big, frequent order book frames fill a stalled socket quickly.
fn busy_server(slow_client_timeout_ms: u64) -> String {
    let limits = format!(
        "[server]\nsession_mailbox = 16\nsession_backlog = 1000000\n\
         slow_client_timeout_ms = {slow_client_timeout_ms}\n\
         max_messages_per_sec = 100000\nreplay_events = 1000000\n\
         [paper]\nbook_depth = 100\norderbook_interval_ms = 1\n"
    );
    let pair = btc_pair(
        "ticks_per_sec = 200.0
         volatility_bps = 0.5
         depth_levels = 100
         trade_probability = 0.5",
    );
    format!("{limits}{pair}")
}

/// A client that reads its snapshot and then nothing, another that places
/// and cancels orders until the registry reports the first one evicted.
struct Stall {
    stalled: Client,
    active: Client,
    /// The last `seq` the stalled client saw.
    last_seen: u64,
    placed: Vec<String>,
    /// Market orders that filled while the client was st.stalled.
    filled: Vec<String>,
    alert: serde_json::Value,
}

async fn stall(server: &TestServer) -> Stall {
    let mut stalled = server.client("/api/stream").await;
    let snapshot = stalled.next(WAIT).await.unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    let last_seen = snapshot["seq"].as_u64().unwrap();
    let mut active = server.client("/api/stream").await;
    active.wait_for("price", |e| e["type"] == "price").await;
    let book = active
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT"}))
        .await;
    let price = (best(&book, "bids") * d("0.9")).round_dp(2).to_string();

    // Undroppable events: every order placed and canceled makes four.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut alert = None;
    let mut placed = Vec::new();
    let mut filled = Vec::new();
    while alert.is_none() && Instant::now() < deadline {
        // Now and then a fill: order updates, a trade, balances, a position.
        if placed.len() % 10 == 0 {
            let market = active
                .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "0.0002"}))
                .await;
            filled.push(market["order_id"].as_str().unwrap().to_string());
        }
        let order = active
            .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price, "size": "0.001"}))
            .await;
        active
            .ok(json!({"cmd": "cancel_order", "order_id": order["order_id"]}))
            .await;
        placed.push(order["order_id"].as_str().unwrap().to_string());
        alert = active
            .try_wait_for(Duration::from_millis(1), |e| e["type"] == "alerts")
            .await;
        active.forget();
    }
    let alert = alert.unwrap_or_else(|| panic!("no alerts event after {} orders", placed.len()));
    assert_eq!(alert["data"]["source"], "registry");
    let message = alert["data"]["message"].as_str().unwrap();
    assert!(message.contains("read nothing"), "{alert}");
    // The active client was never held up: it still trades and streams.
    active.ok(json!({"cmd": "get_system_status"})).await;
    for _ in 0..20 {
        active.wait_for("price", |e| e["type"] == "price").await;
    }
    Stall {
        stalled,
        active,
        last_seen,
        placed,
        filled,
        alert,
    }
}

/// Reconnects and replays from `since`: every order the stall placed is
/// there as `open` then `canceled`, every market order `filled` with its
/// trades, in `seq` order, none twice.
async fn replay_has_every_order(server: &TestServer, since: u64, stall: &Stall) {
    let mut back = server.client("/api/v1/websocket").await;
    for channel in ["order_update", "trade"] {
        back.send_text(&json!({"type": "subscribe", "channel": channel}).to_string())
            .await;
        back.wait_for("subscribed", |v| v["type"] == "subscribed")
            .await;
    }
    let r = back.ok(json!({"cmd": "replay", "since_seq": since})).await;
    let upto = r["seq"].as_u64().unwrap();
    let mut seqs = Vec::new();
    let mut seen: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut traded: std::collections::HashMap<String, Decimal> = Default::default();
    let mut trade_ids = std::collections::HashSet::new();
    while let Some(v) = back.next(Duration::from_millis(500)).await {
        let seq = v["seq"].as_u64().unwrap_or(0);
        if v["type"] == "trade" && seq <= upto {
            seqs.push(seq);
            assert!(
                trade_ids.insert(v["trade_id"].to_string()),
                "trade twice: {v}"
            );
            *traded
                .entry(v["order_id"].as_str().unwrap().to_string())
                .or_default() += dec(&v["amount"]);
        }
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
    for id in &stall.placed {
        assert_eq!(
            seen.get(id).map(Vec::as_slice),
            Some(&["open".to_string(), "canceled".to_string()][..]),
            "{id}"
        );
    }
    assert!(!stall.filled.is_empty());
    for id in &stall.filled {
        assert_eq!(
            seen.get(id).and_then(|s| s.last()).map(String::as_str),
            Some("filled"),
            "{id}: {:?}",
            seen.get(id)
        );
        assert_eq!(traded.get(id), Some(&d("0.0002")), "{id}'s trades add up");
    }
}

#[actix_rt::test]
async fn a_client_that_reads_nothing_is_evicted_and_its_socket_reset() {
    let server = TestServer::start(&busy_server(300)).await;
    let mut st = stall(&server).await;

    // Its place is freed while it still reads nothing: the server ended the
    // connection on its own.
    let until = Instant::now() + Duration::from_secs(10);
    let mut open = server.metric("laicai_connections").await;
    while open > 1.0 && Instant::now() < until {
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        open = server.metric("laicai_connections").await;
    }
    assert_eq!(open, 1.0, "only the active client is still connected");
    st.active.forget();
    st.active.wait_for("price", |e| e["type"] == "price").await;
    assert_eq!(server.metric("laicai_sessions_evicted_total").await, 1.0);

    // Reading again, it finds the end of its stream after what was buffered.
    let until = Instant::now() + Duration::from_secs(20);
    while st.stalled.closed.is_none() && Instant::now() < until {
        if st.stalled.next(Duration::from_secs(5)).await.is_none() {
            break;
        }
    }
    assert!(st.stalled.closed.is_some(), "the stalled stream ended");

    replay_has_every_order(&server, st.last_seen, &st).await;
    server.stop().await;
}

#[actix_rt::test]
async fn an_evicted_client_that_reads_again_gets_close_1013() {
    // A long timeout: the client resumes reading well before a reset.
    let server = TestServer::start(&busy_server(3000)).await;
    let mut st = stall(&server).await;
    let until = Instant::now() + Duration::from_secs(20);
    while st.stalled.closed.is_none() && Instant::now() < until {
        if st.stalled.next(Duration::from_secs(5)).await.is_none() {
            break;
        }
    }
    let reason = st
        .stalled
        .closed
        .clone()
        .expect("the stalled session was closed");
    assert_eq!(
        reason.map(|r| u16::from(r.code)),
        Some(1013),
        "after {}; transport error: {:?}",
        st.alert,
        st.stalled.failed
    );
    replay_has_every_order(&server, st.last_seen, &st).await;
    server.stop().await;
}

/// The engine's own log has a reader that can stall too: stdout piped to
/// a log collector that stopped reading. The engine goes on answering
/// (the sessions' thread logs every order, and would otherwise block on
/// the full pipe), and the lines it could not hand over are dropped and
/// counted in `/metrics`.
#[actix_rt::test]
async fn a_stdout_nobody_reads_does_not_stop_the_engine() {
    let dir = temp_dir("stuck-stdout");
    let addr = free_addr();
    let config = dir.join("test.toml");
    std::fs::write(
        &config,
        "[server]\nmax_messages_per_sec = 100000\n[storage]\nfsync = false\n",
    )
    .expect("write config");
    let mut engine = Stopped(
        std::process::Command::new(env!("CARGO_BIN_EXE_laicai"))
            .arg("--config")
            .arg(&config)
            .arg("--bind")
            .arg(&addr)
            // Many lines an order: the pipe (64 KiB) and the writer's queue
            // (8192 lines) fill within a few hundred orders.
            .env("RUST_LOG", "trace")
            .env("LAICAI_STATE_DIR", dir.join("state"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn laicai"),
    );
    // Held, never read.
    let _stdout = engine.0.stdout.take();
    let url = format!("ws://{addr}/api/v1/websocket");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c = loop {
        match Client::try_connect(&url, &[], &[]).await {
            Ok((c, _)) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "laicai did not come up: {e}");
                actix_rt::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let dropped = || async {
        let mut resp = awc::Client::new()
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        let body = resp.body().limit(1 << 20).await.expect("metrics body");
        String::from_utf8_lossy(&body)
            .lines()
            .find_map(|l| l.strip_prefix("laicai_log_lines_dropped_total "))
            .map(|v| v.trim().parse::<f64>().expect("a number"))
            .expect("laicai_log_lines_dropped_total in /metrics")
    };
    let book = c
        .ok(json!({"cmd": "get_order_book", "symbol": "BTC-USDT"}))
        .await;
    let price = (best(&book, "bids") * d("0.9")).round_dp(2).to_string();
    let mut orders = 0;
    let mut lost = 0.0;
    // Every command is answered (`ok` waits 10 s at most for each) well
    // past the point where a blocking write to stdout would have stopped
    // the engine.
    while orders < 5000 && lost == 0.0 {
        for _ in 0..250 {
            let placed = c
                .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price, "size": "0.001"}))
                .await;
            c.ok(json!({"cmd": "cancel_order", "order_id": placed["data"]["order_id"]}))
                .await;
        }
        orders += 250;
        lost = dropped().await;
    }
    assert!(lost > 0.0, "no line dropped after {orders} orders");
}

/// An engine spawned by hand, killed when the test ends, passed or not.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
