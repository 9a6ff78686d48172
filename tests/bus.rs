//! The engine on the bus: a real `nats-server -js` (Debian's 2.9) on a
//! free loopback port with its store in a temporary directory, and the
//! engine started with `[bus]` pointing at it. Every numbered event a
//! client sees, but market data, is in the events stream once and in
//! `seq` order; the NATS server killed and restarted during order flow
//! loses and doubles nothing, and the engine trades on meanwhile.
//! Without `nats-server` on the PATH the test says it was skipped, unless
//! `LAICAI_REQUIRE_NATS` is set (as CI does).

mod common;

use async_nats::jetstream;
use common::nats::Nats;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn config(url: &str) -> String {
    format!(
        "[server]\nworkers = 1\nmax_messages_per_sec = 100000\n\
         [strategies]\nboot = []\n\
         [bus]\nurl = \"{url}\"\nengine = \"t1\"\n{}",
        btc_pair("")
    )
}

/// The `seq` of every event in the engine's events stream, in stream
/// order.
async fn stream_seqs(url: &str) -> Vec<u64> {
    let client = async_nats::connect(url).await.expect("connect to NATS");
    let js = jetstream::new(client);
    let stream = js
        .get_stream("LAICAI_T1_EVENTS")
        .await
        .expect("the events stream exists");
    let info = stream.get_info().await.expect("stream info");
    let mut seqs = Vec::new();
    for n in info.state.first_sequence..=info.state.last_sequence {
        if info.state.messages == 0 {
            break;
        }
        let m = stream.get_raw_message(n).await.expect("a stored message");
        let v: Value = serde_json::from_slice(&m.payload).expect("JSON");
        assert!(
            !matches!(
                v["type"].as_str(),
                Some("price" | "orderbook" | "market_data")
            ),
            "market data in the events stream: {v}"
        );
        assert!(
            m.subject.starts_with("laicai.t1.evt."),
            "subject {}",
            m.subject
        );
        seqs.push(v["seq"].as_u64().expect("seq"));
    }
    seqs
}

/// Waits until the stream holds `seq`.
async fn wait_stream_has(url: &str, seq: u64) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Ok(seqs)) = actix_rt::time::timeout(Duration::from_secs(5), async {
            Ok::<_, ()>(stream_seqs(url).await)
        })
        .await
        {
            if seqs.last().is_some_and(|l| *l >= seq) {
                return seqs;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the stream never reached seq {seq}"
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The non-market events a client saw, by `seq`: what it has received,
/// and what comes in the next second (positions are marked on).
async fn seen(c: &mut Client) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for v in c.during(Duration::from_secs(1)).await {
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        if matches!(
            kind.as_str(),
            "price" | "orderbook" | "market_data" | "response"
        ) {
            continue;
        }
        if let Some(seq) = v["seq"].as_u64() {
            out.push((seq, kind));
        }
    }
    out
}

fn check_once_in_order(stream: &[u64], client: &[(u64, String)]) {
    assert!(
        stream.windows(2).all(|w| w[0] < w[1]),
        "the stream is not in seq order or has a duplicate: {stream:?}"
    );
    for (seq, kind) in client {
        assert!(
            stream.binary_search(seq).is_ok(),
            "{kind} seq {seq} seen by the client is missing from the stream"
        );
    }
}

async fn orders(c: &mut Client, from: usize, n: usize) {
    for i in from..from + n {
        let placed = c
            .ok(
                json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                       "size": "0.001", "price": format!("{}", 30000 + i)}),
            )
            .await;
        if i % 2 == 0 {
            c.ok(json!({"cmd": "cancel_order", "order_id": placed["order_id"]}))
                .await;
        }
    }
    c.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "0.001"}))
        .await;
}

#[actix_rt::test]
async fn every_event_reaches_the_stream_once_in_order_across_a_nats_restart() {
    let dir = temp_dir("bus");
    let Some(nats) = Nats::start_on_a_free_port(&dir.join("js")) else {
        return;
    };
    let url = nats.url();
    let engine =
        EngineProcess::start_in(&dir, &dir.join("state"), &config(&url), &free_addr()).await;
    let mut c = engine.client().await;
    orders(&mut c, 0, 20).await;
    let before = seen(&mut c).await;
    let last = before.last().map(|(s, _)| *s).expect("events were seen");
    let stream = wait_stream_has(&url, last).await;
    check_once_in_order(&stream, &before);
    eprintln!("{} events in the stream, the last seq {last}", stream.len());

    // NATS dies mid-flow; the engine trades on and says so.
    let (store, port) = nats.kill();
    orders(&mut c, 100, 20).await;
    c.wait_for("the bus-down alert", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("The bus") && m.contains("unreachable"))
    })
    .await;
    orders(&mut c, 200, 10).await;
    let during = seen(&mut c).await;
    let nats = Nats::start(&store, port).expect("nats-server restarts");
    c.wait_for("the bus-back alert", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("The bus") && m.contains("is connected"))
    })
    .await;
    orders(&mut c, 300, 5).await;
    let after = seen(&mut c).await;
    let all: Vec<(u64, String)> = before.into_iter().chain(during).chain(after).collect();
    let last = all.last().map(|(s, _)| *s).expect("events");
    let stream = wait_stream_has(&nats.url(), last).await;
    check_once_in_order(&stream, &all);
    eprintln!(
        "after the restart: {} events in the stream, {} seen by the client",
        stream.len(),
        all.len()
    );
    // /metrics says the same.
    let metrics = metrics(engine.addr()).await;
    assert_eq!(
        metrics.get("laicai_bus_connected"),
        Some(&1.0),
        "{metrics:?}"
    );
    let published = metrics
        .get("laicai_bus_published_total")
        .copied()
        .unwrap_or(0.0);
    assert!(
        published >= stream.len() as f64,
        "{published} published, {} stored",
        stream.len()
    );
    assert!(
        metrics
            .get("laicai_bus_last_seq")
            .is_some_and(|s| *s >= last as f64),
        "{metrics:?}"
    );
    assert_eq!(metrics.get("laicai_bus_dropped_total"), Some(&0.0));
    drop(c);
    assert_eq!(engine.terminate(), Some(0));
}

/// The engine's `/metrics`, series by value.
async fn metrics(addr: &str) -> std::collections::BTreeMap<String, f64> {
    let body = awc::Client::new()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .body()
        .await
        .expect("metrics body");
    std::str::from_utf8(&body)
        .expect("utf-8")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// A command sent over the bus, as a gateway sends it.
async fn request(
    client: &async_nats::Client,
    scope: Option<&str>,
    frame: &str,
) -> Result<Value, async_nats::RequestError> {
    let mut headers = async_nats::HeaderMap::new();
    if let Some(scope) = scope {
        headers.insert("Laicai-Scope", scope);
    }
    let reply = client
        .request_with_headers("laicai.t1.cmd", headers, frame.to_string().into())
        .await?;
    Ok(serde_json::from_slice(&reply.payload).expect("a JSON answer"))
}

/// The engine answers commands on `laicai.<engine>.cmd` under the scope
/// the gateway admitted its client with; a bad frame gets its error with
/// its request_id; with the engine stopped a request fails at once (no
/// responders), never hangs.
#[actix_rt::test]
async fn commands_over_the_bus_run_with_the_clients_scope_and_fail_fast_without_an_engine() {
    let dir = temp_dir("bus-cmd");
    let Some(nats) = Nats::start_on_a_free_port(&dir.join("js")) else {
        return;
    };
    let engine =
        EngineProcess::start_in(&dir, &dir.join("state"), &config(&nats.url()), &free_addr()).await;
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let place = r#"{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"limit","size":"0.001","price":"30000","request_id":"g-1"}"#;
    // The engine subscribes once it has started: wait for its answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    let placed = loop {
        match request(&client, Some("trade"), place).await {
            Ok(v) => break v,
            Err(e) => assert!(Instant::now() < deadline, "no answer over the bus: {e}"),
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(placed["success"], true, "{placed}");
    assert_eq!(placed["request_id"], "g-1");
    let id = placed["order_id"].clone();
    // The order is the engine's: a client on the engine lists it.
    let mut c = engine.client().await;
    let listed = c.ok(json!({"cmd": "get_orders", "status": "open"})).await;
    assert!(
        listed["orders"]
            .as_array()
            .is_some_and(|l| l.iter().any(|o| o["orderId"] == id)),
        "{listed}"
    );
    // A read-only client may not trade; no scope at all is read-only.
    for scope in [Some("read"), None] {
        let refused = request(&client, scope, place).await.expect("an answer");
        assert_eq!(refused["success"], false, "{refused}");
        assert_eq!(refused["error"], "forbidden", "{refused}");
    }
    let balances = request(&client, None, r#"{"cmd":"get_balances","request_id":7}"#)
        .await
        .expect("an answer");
    assert_eq!(balances["success"], true, "{balances}");
    assert_eq!(balances["request_id"], 7);
    let bad = request(
        &client,
        Some("admin"),
        r#"{"cmd":"place_order","size":"x","request_id":"g-2"}"#,
    )
    .await
    .expect("an answer");
    assert_eq!(bad["success"], false, "{bad}");
    assert_eq!(bad["request_id"], "g-2", "{bad}");

    drop(c);
    assert_eq!(engine.terminate(), Some(0));
    let asked = Instant::now();
    let gone = request(&client, Some("trade"), place).await;
    assert!(
        matches!(&gone, Err(e) if e.kind() == async_nats::client::RequestErrorKind::NoResponders),
        "{gone:?}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
}
