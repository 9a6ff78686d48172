//! Gateways on the bus: a real `nats-server -js` (free loopback port,
//! temporary store), the real engine publishing to it, and two real
//! `laicai gateway` processes. A client on each gateway sees the same
//! events in the same `seq` order as a client on the engine; an order
//! placed through a gateway fills and reaches everyone; a gateway killed
//! mid-stream loses its SDK client nothing (it fails over to the other
//! and replays); the engine stopped makes commands through a gateway fail
//! fast with `engine_unavailable`, and they work again once it is back.

mod common;

use common::nats::Nats;
use common::*;
use laicai_actors::registry::BUS_SEQ_STEP;
use laicai_client::{ConnectionConfig, ConnectionState, Event, NewOrder, WebSocketClient};
use laicai_core::order::{OrderStatus, Side};
use serde_json::json;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn config(url: &str) -> String {
    format!(
        "[server]\nworkers = 1\nmax_messages_per_sec = 100000\n\
         [strategies]\nboot = []\n\
         [bus]\nurl = \"{url}\"\nengine = \"gw\"\n{}",
        btc_pair("")
    )
}

/// An engine and two gateways on the bus `nats`.
struct Cluster {
    engine: EngineProcess,
    gateways: [EngineProcess; 2],
}

async fn cluster(dir: &Path, nats: &Nats) -> Cluster {
    let cfg = config(&nats.url());
    let engine = EngineProcess::start_in(dir, &dir.join("state"), &cfg, &free_addr()).await;
    let g1 = EngineProcess::start_gateway(dir, &cfg, &free_addr(), &nats.url(), "gw-1").await;
    let g2 = EngineProcess::start_gateway(dir, &cfg, &free_addr(), &nats.url(), "gw-2").await;
    Cluster {
        engine,
        gateways: [g1, g2],
    }
}

/// A client on `node`, once its first frame (the snapshot) is in: the
/// snapshot's `seq`.
async fn connect(node: &EngineProcess) -> (Client, u64) {
    let mut c = node.client().await;
    let snapshot = c
        .wait_for("the snapshot", |v| v["type"] == "snapshot")
        .await;
    (c, snapshot["seq"].as_u64().expect("the snapshot's seq"))
}

/// Waits until the gateway answers commands (it has reached the engine).
async fn engine_reached(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = c.command(json!({"cmd": "get_system_status"})).await;
        if r["success"] == true {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never reached the engine: {r}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The engine's events a client saw, by `seq` (not market data, not the
/// gateway's own alerts), during `for_`.
async fn events(c: &mut Client, for_: Duration) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for v in c.during(for_).await {
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        if matches!(
            kind.as_str(),
            "price" | "orderbook" | "market_data" | "response" | "snapshot" | "pong"
        ) {
            continue;
        }
        if kind == "alerts"
            && v["data"]["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("gw-"))
        {
            continue;
        }
        if let Some(seq) = v["seq"].as_u64() {
            out.push((
                seq,
                format!("{kind} {}", v["orderId"].as_str().unwrap_or("")),
            ));
        }
    }
    out
}

/// Every `seq` a client saw of every frame rises: market data, and the
/// gateway's own frames (numbered in the engine's gaps) too. Answers the
/// frames' types and `seq`s.
async fn seqs_rise(c: &mut Client, for_: Duration) -> Vec<(String, u64)> {
    let mut last = 0;
    let mut frames = Vec::new();
    for v in c.during(for_).await {
        if v["type"] == "response" || v["type"] == "pong" {
            continue;
        }
        let seq = v["seq"].as_u64().expect("every event has a seq");
        assert!(seq > last, "seq went from {last} to {seq}: {v}");
        last = seq;
        frames.push((v["type"].as_str().unwrap_or_default().to_string(), seq));
    }
    frames
}

#[actix_rt::test]
async fn clients_on_two_gateways_see_what_a_client_on_the_engine_sees() {
    let dir = temp_dir("gateway");
    let Some(nats) = Nats::start_on_a_free_port(&dir.join("js")) else {
        return;
    };
    let cl = cluster(&dir, &nats).await;
    let (mut on_engine, _) = connect(&cl.engine).await;
    let (mut g1, _) = connect(&cl.gateways[0]).await;
    engine_reached(&mut g1).await;
    let (mut g2, _) = connect(&cl.gateways[1]).await;
    engine_reached(&mut g2).await;
    // Market data flows through both gateways in seq order, and a
    // gateway's own error for a malformed frame takes a `seq` of its own
    // between the engine's.
    g2.send_text("{not json").await;
    let frames = seqs_rise(&mut g2, Duration::from_secs(1)).await;
    let gaps = |t: &str| -> BTreeSet<u64> {
        frames
            .iter()
            .filter(|(ty, _)| ty == t)
            .map(|(_, seq)| seq % BUS_SEQ_STEP)
            .collect()
    };
    // The engine numbers BUS_SEQ_STEP apart (from a multiple of it, on a
    // new state directory); the gateway's error falls between.
    assert_eq!(gaps("price"), BTreeSet::from([0]), "{frames:?}");
    assert_eq!(gaps("error").len(), 1, "{frames:?}");
    assert!(!gaps("error").contains(&0), "{frames:?}");

    // Orders through a gateway: one rests, is cancelled; one fills.
    let rest = g1
        .ok(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                   "size": "0.001", "price": "20000"}),
        )
        .await;
    let rest_id = rest["order_id"].as_str().expect("an order id").to_string();
    g1.ok(json!({"cmd": "cancel_order", "order_id": rest_id}))
        .await;
    let fill = g1
        .ok(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market",
                   "size": "0.002"}),
        )
        .await;
    let fill_id = fill["order_id"].as_str().expect("an order id").to_string();

    let (e, a, b) = futures_util::future::join3(
        events(&mut on_engine, Duration::from_secs(2)),
        events(&mut g1, Duration::from_secs(2)),
        events(&mut g2, Duration::from_secs(2)),
    )
    .await;
    let first = e
        .iter()
        .find(|(_, what)| what.contains(&rest_id))
        .map(|(s, _)| *s)
        .expect("the engine's client saw the order");
    // From the first order event to the last event all three saw.
    let last = [&e, &a, &b]
        .iter()
        .map(|v| v.last().map_or(0, |(s, _)| *s))
        .min()
        .unwrap_or(0);
    let window = |v: &[(u64, String)]| -> Vec<(u64, String)> {
        v.iter()
            .filter(|(s, _)| *s >= first && *s <= last)
            .cloned()
            .collect()
    };
    let (e, a, b) = (window(&e), window(&a), window(&b));
    assert!(
        e.iter()
            .any(|(_, w)| w == &format!("order_update {fill_id}"))
            && e.iter().any(|(_, w)| w.starts_with("trade")),
        "the order filled: {e:?}"
    );
    assert_eq!(a, e, "gateway 1 saw what the engine's client saw");
    assert_eq!(b, e, "gateway 2 saw what the engine's client saw");
    eprintln!("{} events alike on the engine and both gateways", e.len());

    // Replay on a gateway is served from the stream, the same events.
    let replayed = g2
        .ok(json!({"cmd": "replay", "since_seq": first - 1}))
        .await;
    assert!(
        replayed["count"].as_u64().unwrap_or(0) >= e.len() as u64,
        "{replayed}"
    );
    // A new client on a gateway starts from the engine's state.
    let (fresh_engine, fresh_gateway) = futures_util::future::join(
        async {
            cl.engine
                .client()
                .await
                .wait_for("snapshot", |v| v["type"] == "snapshot")
                .await
        },
        async {
            cl.gateways[0]
                .client()
                .await
                .wait_for("snapshot", |v| v["type"] == "snapshot")
                .await
        },
    )
    .await;
    // Orders and balances are still since the fill (positions are marked
    // on with the price).
    for part in ["orders", "balances", "strategies", "connections"] {
        assert_eq!(
            fresh_gateway[part], fresh_engine[part],
            "the snapshot's {part}"
        );
    }
    assert!(
        !fresh_gateway["balances"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{fresh_gateway}"
    );
    // get_system_status names the node.
    let status = g2.ok(json!({"cmd": "get_system_status"})).await;
    assert_eq!(status["node"], "gw-2", "{status}");
    assert_eq!(status["engine"], "gw");
    // A bad command is refused by the engine, with its request_id (the
    // helper waits for the response carrying it).
    let bad = g1
        .command(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "up"}))
        .await;
    assert_eq!(bad["error"], "invalid_params", "{bad}");
    // A gateway stops cleanly on SIGTERM: exit 0, no panic on the way out
    // (its NATS subscriptions are dropped with the runtime).
    drop((g1, g2, on_engine));
    let Cluster {
        gateways: [first, _],
        ..
    } = cl;
    assert_eq!(first.terminate(), Some(0));
}

/// What the SDK client saw of orders: `(seq, order id, status)`.
type Seen = Rc<RefCell<Vec<(u64, String, OrderStatus)>>>;

async fn until(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn a_client_fails_over_to_the_other_gateway_and_the_engine_can_restart() {
    let dir = temp_dir("gateway-failover");
    let Some(nats) = Nats::start_on_a_free_port(&dir.join("js")) else {
        return;
    };
    let Cluster {
        engine,
        gateways: [g1, g2],
    } = cluster(&dir, &nats).await;
    let (mut other, _) = connect(&g2).await;
    engine_reached(&mut other).await;
    let (mut probe, _) = connect(&g1).await;
    engine_reached(&mut probe).await;
    drop(probe);

    let mut cfg = ConnectionConfig::new(g1.url("/api/stream"));
    cfg.fallback_urls = vec![g2.url("/api/stream")];
    cfg.reconnect_delay = Duration::from_millis(100);
    let client = WebSocketClient::new(cfg);
    let seen: Seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    client.add_message_handler("order_update", move |m| {
        if let (Some(Event::OrderUpdate(o)), Some(seq)) = (m.event(), m.seq()) {
            s.borrow_mut().push((seq, o.order_id.clone(), o.status));
        }
    });
    let alerts = Rc::new(RefCell::new(Vec::<String>::new()));
    let a = alerts.clone();
    client.add_message_handler("alerts", move |m| {
        if let Some(Event::Alerts { data }) = m.event() {
            a.borrow_mut().push(data.message.clone());
        }
    });
    client.connect().await.expect("connects to gateway 1");
    let mut placed = Vec::new();
    for _ in 0..3 {
        let o = client
            .place_order(&NewOrder::market("BTC-USDT", Side::Buy, d("0.001")))
            .await
            .expect("placed through gateway 1");
        placed.push(o.order_id);
    }
    let all_filled = |placed: &[String]| {
        let seen = seen.borrow();
        placed.iter().all(|id| {
            seen.iter()
                .any(|(_, o, s)| o == id && *s == OrderStatus::Filled)
        })
    };
    until("the first fills", Duration::from_secs(10), || {
        all_filled(&placed)
    })
    .await;

    // Gateway 1 dies; orders go on through gateway 2 meanwhile.
    g1.kill9();
    for _ in 0..4 {
        let o = other
            .ok(
                json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "sell", "type": "market",
                       "size": "0.001"}),
            )
            .await;
        placed.push(o["order_id"].as_str().expect("an order id").to_string());
    }
    until("the fail-over", Duration::from_secs(20), || {
        client.state() == ConnectionState::Connected && client.stats().url == g2.url("/api/stream")
    })
    .await;
    let after = client
        .place_order(&NewOrder::market("BTC-USDT", Side::Buy, d("0.001")))
        .await
        .expect("placed through gateway 2");
    placed.push(after.order_id.clone());
    until("every order's fill", Duration::from_secs(20), || {
        all_filled(&placed)
    })
    .await;
    {
        let seen = seen.borrow();
        let seqs: Vec<u64> = seen.iter().map(|(s, ..)| *s).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in seq order, none twice: {seqs:?}"
        );
        let distinct: BTreeSet<(&String, &str)> =
            seen.iter().map(|(_, o, s)| (o, s.as_str())).collect();
        assert_eq!(distinct.len(), seen.len(), "no order event twice: {seen:?}");
    }
    let stats = client.stats();
    assert_eq!(stats.resyncs, 0, "replayed, not resynced: {stats:?}");
    assert!(stats.reconnect_count >= 1, "{stats:?}");

    // The engine stops: commands through the gateway fail at once.
    let state = dir.join("state");
    assert_eq!(engine.terminate(), Some(0));
    let asked = Instant::now();
    let refused = other.command(json!({"cmd": "get_balances"})).await;
    assert_eq!(refused["error"], "engine_unavailable", "{refused}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "failed fast: {:?}",
        asked.elapsed()
    );
    other
        .wait_for("the engine-down alert", |v| {
            v["type"] == "alerts"
                && v["data"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("not answering"))
        })
        .await;
    // The SDK client on the gateway is told too: the gateway's alert has
    // a `seq` above the last event relayed, so it is not dropped as a
    // duplicate.
    until(
        "the engine-down alert in the SDK",
        Duration::from_secs(10),
        || alerts.borrow().iter().any(|m| m.contains("not answering")),
    )
    .await;
    // It comes back: the same session carries on.
    let engine = EngineProcess::start_in(&dir, &state, &config(&nats.url()), &free_addr()).await;
    engine_reached(&mut other).await;
    let o = other
        .ok(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market",
                   "size": "0.001"}),
        )
        .await;
    let id = o["order_id"].as_str().expect("an order id").to_string();
    other
        .wait_for("the new run's fill", |v| {
            v["type"] == "order_update" && v["orderId"] == id.as_str() && v["status"] == "filled"
        })
        .await;
    client.disconnect().await;
    drop(engine);
}

/// The order events a client saw: `(seq, "order_update <id> <status>")`.
async fn order_events(c: &mut Client, for_: Duration) -> Vec<(u64, String)> {
    c.during(for_)
        .await
        .into_iter()
        .filter(|v| v["type"] == "order_update")
        .map(|v| {
            let seq = v["seq"].as_u64().expect("a seq");
            (seq, format!("{} {}", v["orderId"], v["status"]))
        })
        .collect()
}

/// NATS is killed and restarted while the engine trades: the gateway's
/// client gets every order event the engine's client got, once, in order
/// (the gateway reads on from the last stream message it relayed).
#[actix_rt::test]
async fn a_gateways_client_misses_nothing_across_a_nats_restart() {
    let dir = temp_dir("gateway-nats");
    let Some(nats) = Nats::start_on_a_free_port(&dir.join("js")) else {
        return;
    };
    let cfg = config(&nats.url());
    let engine = EngineProcess::start_in(&dir, &dir.join("state"), &cfg, &free_addr()).await;
    let gateway = EngineProcess::start_gateway(&dir, &cfg, &free_addr(), &nats.url(), "gw-1").await;
    let (mut on_gateway, _) = connect(&gateway).await;
    engine_reached(&mut on_gateway).await;
    let (mut trader, _) = connect(&engine).await;
    let mut seen_engine = Vec::new();
    let mut seen_gateway = Vec::new();
    let trade = |n: usize| {
        (0..n)
            .map(|i| {
                json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": if i % 2 == 0 { "buy" } else { "sell" },
                       "type": "market", "size": "0.001"})
            })
            .collect::<Vec<_>>()
    };
    for o in trade(5) {
        trader.ok(o).await;
    }
    seen_engine.extend(order_events(&mut trader, Duration::from_millis(300)).await);
    let (store, port) = nats.kill();
    for o in trade(5) {
        trader.ok(o).await;
    }
    seen_engine.extend(order_events(&mut trader, Duration::from_millis(300)).await);
    let nats = Nats::start(&store, port).expect("nats-server restarts");
    for o in trade(5) {
        trader.ok(o).await;
    }
    seen_engine.extend(order_events(&mut trader, Duration::from_secs(1)).await);
    let last = seen_engine.last().map(|(s, _)| *s).expect("order events");
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen_gateway.last().is_none_or(|(s, _)| *s < last) {
        assert!(
            Instant::now() < deadline,
            "the gateway's client got up to {:?} of {last}",
            seen_gateway.last()
        );
        seen_gateway.extend(order_events(&mut on_gateway, Duration::from_millis(200)).await);
    }
    let from = seen_engine[0].0;
    seen_gateway.retain(|(s, _)| *s >= from);
    assert_eq!(
        seen_gateway, seen_engine,
        "the same order events, once, in order"
    );
    eprintln!(
        "{} order events alike across the NATS restart",
        seen_engine.len()
    );
    drop(nats);
}
