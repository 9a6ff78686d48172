//! The Rust SDK (`laicai-client`) against the real server: typed commands
//! and refusals, handlers, stats, a server restart mid-stream (every order
//! event exactly once, in order), and a server that stops answering.

mod common;

use common::*;
use laicai_client::{
    ClientError, ClientManager, ConnectionConfig, ConnectionState, Event, Incoming, NewOrder,
    OrderFilter, SubscriptionConfig, WebSocketClient,
};
use laicai_core::order::{OrderStatus, Side};
use serde_json::json;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn config(url: &str) -> ConnectionConfig {
    ConnectionConfig {
        reconnect_delay: Duration::from_millis(200),
        max_reconnect_attempts: 30,
        timeout: Duration::from_secs(5),
        ..ConnectionConfig::new(url)
    }
}

/// Waits until `cond` holds, checking every 20 ms.
async fn until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn state(client: &WebSocketClient, want: ConnectionState, within: Duration) {
    let mut watch = client.watch_state();
    let reached = watch.wait_for(|s| *s == want);
    actix_rt::time::timeout(within, reached)
        .await
        .unwrap_or_else(|_| panic!("state {want} not reached; it is {}", client.state()))
        .expect("state watch");
}

/// Order events (seq, order id, status) a handler saw.
type Seen = Rc<RefCell<Vec<(u64, String, OrderStatus)>>>;

fn record_orders(client: &WebSocketClient) -> Seen {
    let seen: Seen = Rc::default();
    let s = seen.clone();
    client.add_message_handler("order_update", move |m| {
        if let (Some(Event::OrderUpdate(o)), Some(seq)) = (m.event(), m.seq()) {
            s.borrow_mut().push((seq, o.order_id.clone(), o.status));
        }
    });
    seen
}

#[actix_rt::test]
async fn commands_handlers_and_stats() {
    let server = TestServer::start("").await;
    let client = WebSocketClient::new(config(&server.url("/api/v1/websocket")));
    let orders = record_orders(&client);
    let trades: Rc<RefCell<Vec<String>>> = Rc::default();
    let t = trades.clone();
    client.add_async_handler("trade", move |m: Incoming| {
        let t = t.clone();
        async move {
            actix_rt::time::sleep(Duration::from_millis(5)).await;
            if let Some(Event::Trade(x)) = m.event() {
                t.borrow_mut().push(x.order_id.clone());
            }
        }
    });
    client.connect().await.expect("connects");
    assert_eq!(client.state(), ConnectionState::Connected);
    client
        .subscribe(
            "mine",
            SubscriptionConfig::new(["BTC-USDT"], ["order_update", "trade"]),
        )
        .await
        .expect("subscribed");

    let bought = client
        .place_order(&NewOrder::market("BTC-USDT", Side::Buy, d("0.01")))
        .await
        .expect("placed");
    assert_eq!(bought.status, OrderStatus::Filled);
    assert_eq!(bought.filled, d("0.01"));
    let resting = client
        .place_order(&NewOrder::limit(
            "BTC-USDT",
            Side::Buy,
            d("0.01"),
            d("30000"),
        ))
        .await
        .expect("placed");
    client
        .cancel_order(&resting.order_id)
        .await
        .expect("cancelled");
    let listed = client
        .get_orders(&OrderFilter {
            limit: Some(10),
            ..OrderFilter::default()
        })
        .await
        .expect("orders");
    assert!(listed.iter().any(|o| o.order_id == bought.order_id));
    let status = client.get_system_status().await.expect("status");
    assert!(status.total_trades >= 1);

    // Refusals are typed, with the engine's code.
    match client
        .place_order(&NewOrder::limit(
            "BTC-USDT",
            Side::Buy,
            d("0.00001"),
            d("1"),
        ))
        .await
    {
        Err(ClientError::Command { code, .. }) => assert_eq!(code, "invalid_params"),
        other => panic!("expected a refusal: {other:?}"),
    }
    // What the engine's parser would refuse is refused before it is sent,
    // in the engine's words.
    let sent = client.stats().messages_sent;
    let mut gtc_market = NewOrder::market("BTC-USDT", Side::Buy, d("0.01"));
    gtc_market.time_in_force = Some(laicai_core::order::TimeInForce::Gtc);
    for bad in [
        NewOrder::market("BTC-USDT", Side::Buy, d("-0.01")),
        gtc_market,
        NewOrder::market("BTCUSDT?", Side::Buy, d("0.01")),
    ] {
        match client.place_order(&bad).await {
            Err(e @ ClientError::Invalid(_)) => {
                assert!(
                    e.to_string().starts_with("invalid_params: invalid `"),
                    "{e}"
                )
            }
            other => panic!("expected a local refusal of {bad:?}: {other:?}"),
        }
    }
    assert_eq!(
        client.stats().messages_sent,
        sent,
        "a refused command was sent"
    );
    match client.command(json!({"cmd": "no_such_thing"})).await {
        Err(ClientError::Command { code, .. }) => assert_eq!(code, "unknown_command"),
        other => panic!("expected unknown_command: {other:?}"),
    }

    // Handlers: both orders' lifecycles, the fill, in seq order.
    until("the cancel's order_update", Duration::from_secs(5), || {
        orders
            .borrow()
            .iter()
            .any(|(_, id, s)| *id == resting.order_id && *s == OrderStatus::Canceled)
    })
    .await;
    until("the trade", Duration::from_secs(5), || {
        trades.borrow().contains(&bought.order_id)
    })
    .await;
    let seqs: Vec<u64> = orders.borrow().iter().map(|(s, ..)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let stats = client.stats();
    assert_eq!(stats.state, ConnectionState::Connected);
    assert_eq!(stats.subscriptions_count, 1);
    assert_eq!(stats.reconnect_count, 0);
    // subscribe + 7 commands, at least.
    assert!(stats.messages_sent >= 8, "{stats:?}");
    assert!(
        stats.messages_received >= 8 + seqs.len() as u64,
        "{stats:?}"
    );
    assert!(stats.connection_id.is_some(), "{stats:?}");
    assert!(stats.last_seq >= *seqs.last().unwrap());

    client.unsubscribe("mine").await.expect("unsubscribed");
    assert_eq!(client.stats().subscriptions_count, 0);
    client.disconnect().await;
    assert_eq!(client.state(), ConnectionState::Disconnected);
    assert!(matches!(
        client.command(json!({"cmd": "get_orders"})).await,
        Err(ClientError::NotConnected(_))
    ));
    server.stop().await;
}

#[actix_rt::test]
async fn a_client_manager_holds_several_clients() {
    let server = TestServer::start("").await;
    let mut manager = ClientManager::new();
    for name in ["a", "b"] {
        let c = manager.create_client(name, config(&server.url("/api/stream")));
        c.connect().await.expect("connects");
    }
    manager
        .get("a")
        .expect("a")
        .get_balances()
        .await
        .expect("balances");
    let stats = manager.all_stats();
    assert_eq!(stats.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert!(stats
        .values()
        .all(|s| s.state == ConnectionState::Connected));
    assert!(stats["a"].messages_sent >= 1);
    manager.close_all().await;
    assert!(manager.all_stats().is_empty());
    server.stop().await;
}

fn restart_config() -> String {
    // No status events: nothing is published while the server stops.
    format!(
        "[server]\nworkers = 1\n[engine]\nstatus_interval_ms = 600000\n\
         [strategies]\nboot = []\n{}",
        btc_pair("")
    )
}

#[actix_rt::test]
async fn across_a_server_restart_every_order_event_arrives_exactly_once_in_order() {
    restart_mid_stream(false).await;
}

/// The engine comes back on another address, the client's fallback (as a
/// second gateway would be): it fails over to it and replays from its
/// last seq with no gap.
#[actix_rt::test]
async fn it_fails_over_to_a_fallback_url_and_replays_with_no_gap() {
    restart_mid_stream(true).await;
}

/// Every order event once, in `seq` order, and each order placed while
/// the client was away among them.
fn check_once_in_order(seen: &[(u64, String, OrderStatus)], while_away: &[String]) {
    let seqs: Vec<u64> = seen.iter().map(|(s, ..)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order, none twice: {seqs:?}"
    );
    let events: BTreeSet<(String, &str)> = seen
        .iter()
        .map(|(_, id, s)| (id.clone(), s.as_str()))
        .collect();
    assert_eq!(events.len(), seen.len(), "no order event twice: {seen:?}");
    for id in while_away {
        let statuses: Vec<OrderStatus> = seen
            .iter()
            .filter(|(_, o, _)| o == id)
            .map(|(_, _, s)| *s)
            .collect();
        assert!(
            statuses.contains(&OrderStatus::Filled) || statuses.contains(&OrderStatus::Open),
            "{id}, placed while away, missing: {seen:?}"
        );
    }
}

/// The engine stops cleanly mid-stream and comes back, on the same address
/// or (`failover`) on the client's fallback URL, while another client
/// trades: every order event reaches this client once, in order, replayed.
async fn restart_mid_stream(failover: bool) {
    let state_dir = temp_dir("sdk-restart");
    let engine = EngineProcess::start(&state_dir, &restart_config()).await;
    let first = engine.addr().to_string();
    let addr = if failover { free_addr() } else { first.clone() };
    let back_at = format!("ws://{addr}/api/stream");
    let mut cfg = config(&engine.url("/api/stream"));
    if failover {
        cfg.fallback_urls = vec![back_at.clone()];
    }
    let client = WebSocketClient::new(cfg);
    let seen = record_orders(&client);
    let resyncs = Rc::new(RefCell::new(0));
    let r = resyncs.clone();
    client.add_message_handler("resync", move |_| *r.borrow_mut() += 1);
    client.connect().await.expect("connects");

    let mut placed: Vec<String> = Vec::new();
    for _ in 0..3 {
        let o = client
            .place_order(&NewOrder::market("BTC-USDT", Side::Buy, d("0.001")))
            .await
            .expect("placed");
        placed.push(o.order_id);
    }
    until("the first fills", Duration::from_secs(5), || {
        seen.borrow().len() >= 3
    })
    .await;

    assert_eq!(engine.terminate(), Some(0));
    state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(5),
    )
    .await;
    // Restart and place orders from another thread while this one (the
    // SDK's) is blocked: the orders are certainly placed while it is away.
    let dir = state_dir.clone();
    let (engine, while_away) = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let engine = EngineProcess::start_on(&dir, &restart_config(), &addr).await;
            let mut other = engine.client().await;
            let mut ids = Vec::new();
            for i in 0..4 {
                let (side, kind, price) = if i % 2 == 0 {
                    ("sell", "market", None)
                } else {
                    ("buy", "limit", Some("30000"))
                };
                let mut o = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": side,
                                   "type": kind, "size": "0.001"});
                if let Some(p) = price {
                    o["price"] = json!(p);
                }
                ids.push(other.ok(o).await["order_id"].as_str().unwrap().to_string());
            }
            (engine, ids)
        })
    })
    .join()
    .expect("the restart thread");
    assert_ne!(client.state(), ConnectionState::Connected, "still away");
    state(&client, ConnectionState::Connected, Duration::from_secs(20)).await;
    // And more once it is back.
    let after = client
        .place_order(&NewOrder::market("BTC-USDT", Side::Buy, d("0.001")))
        .await
        .expect("placed after the reconnect");
    until(
        "the order after the reconnect",
        Duration::from_secs(10),
        || seen.borrow().iter().any(|(_, id, _)| *id == after.order_id),
    )
    .await;

    check_once_in_order(&seen.borrow(), &while_away);
    let stats = client.stats();
    assert_eq!(stats.reconnect_count, 1, "{stats:?}");
    assert_eq!(*resyncs.borrow(), 0, "replayed, not resynced: {stats:?}");
    assert_eq!(stats.resyncs, 0);
    assert_eq!(stats.url, back_at, "{stats:?}");
    client.disconnect().await;
    drop(engine);
}

#[actix_rt::test]
async fn the_heartbeat_notices_a_server_that_stops_answering() {
    let state_dir = temp_dir("sdk-heartbeat");
    let engine = EngineProcess::start(&state_dir, &restart_config()).await;
    let client = WebSocketClient::new(ConnectionConfig {
        heartbeat_interval: Duration::from_millis(300),
        timeout: Duration::from_millis(800),
        reconnect_delay: Duration::from_millis(100),
        max_reconnect_attempts: 100,
        ..ConnectionConfig::new(engine.url("/api/stream"))
    });
    client.connect().await.expect("connects");
    let states: Rc<RefCell<Vec<ConnectionState>>> = Rc::default();
    let mut watch = client.watch_state();
    let s = states.clone();
    actix_rt::spawn(async move {
        while watch.changed().await.is_ok() {
            let now = *watch.borrow();
            s.borrow_mut().push(now);
        }
    });

    engine.freeze(true);
    let frozen_at = Instant::now();
    state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(10),
    )
    .await;
    let noticed = frozen_at.elapsed();
    engine.freeze(false);
    state(&client, ConnectionState::Connected, Duration::from_secs(20)).await;
    client.get_balances().await.expect("it works again");
    // heartbeat + timeout is the bound; a second of slack for a busy box.
    assert!(noticed < Duration::from_millis(2100), "{noticed:?}");
    assert_eq!(
        states.borrow()[..2],
        [ConnectionState::Reconnecting, ConnectionState::Connected]
    );
    assert_eq!(client.stats().reconnect_count, 1);
    client.disconnect().await;
}

#[actix_rt::test]
async fn it_gives_up_after_max_reconnect_attempts_and_says_so() {
    let state_dir = temp_dir("sdk-give-up");
    let engine = EngineProcess::start(&state_dir, &restart_config()).await;
    let client = WebSocketClient::new(ConnectionConfig {
        reconnect_delay: Duration::from_millis(20),
        max_reconnect_attempts: 3,
        ..ConnectionConfig::new(engine.url("/api/stream"))
    });
    client.connect().await.expect("connects");
    engine.kill9();
    state(&client, ConnectionState::Error, Duration::from_secs(10)).await;
    let stats = client.stats();
    assert!(
        stats.errors >= 4,
        "the loss and 3 failed attempts: {stats:?}"
    );
    assert!(matches!(
        client.get_balances().await,
        Err(ClientError::NotConnected(ConnectionState::Error))
    ));
    let refused = WebSocketClient::new(ConnectionConfig::new("ws://127.0.0.1:1/api/stream"));
    assert!(matches!(
        refused.connect().await,
        Err(ClientError::Connect { .. })
    ));
}
