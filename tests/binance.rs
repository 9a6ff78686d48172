//! The Binance connector against a fake Binance server speaking the real
//! protocol on loopback: signing, order flow, user data stream, depth
//! sequencing, reconnects with backoff, reconciliation, rate limits.

mod common;

use common::binance::{FakeBinance, API_KEY, API_SECRET};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Fast reconnects for tests.
const CONNECTIONS: &str = "[connections]\nbackoff_base_ms = 100\nbackoff_max_ms = 1600\nstable_s = 30\nmax_attempts = 10\nsilent_timeout_ms = 1500\nping_interval_ms = 300\nrequest_timeout_ms = 3000\n";

async fn connected(c: &mut Client, fake: &FakeBinance) -> String {
    let r = c.ok(fake.connection_cmd()).await;
    let id = r["connection_id"].as_str().unwrap().to_string();
    c.wait_for("connected", |v| {
        v["type"] == "connection" && v["id"] == id && v["status"] == "connected"
    })
    .await;
    id
}

/// The Binance book, once its depth snapshot is in (it has bids).
fn binance_book(v: &Value) -> bool {
    v["type"] == "orderbook"
        && v["exchange"] == "binance"
        && v["bids"].as_array().is_some_and(|b| !b.is_empty())
}

fn is_conn(v: &Value, status: &str) -> bool {
    v["type"] == "connection" && v["status"] == status
}

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

#[actix_rt::test]
async fn a_strategy_trades_on_a_binance_connection() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    let conn = connected(&mut c, &fake).await;
    let r = c
        .ok(json!({"cmd": "create_strategy", "name": "MM", "type": "pmm", "connection_id": conn, "pair": "BTC-USDT",
                   "config": {"bid_spread": 0.5, "ask_spread": 0.5, "order_amount": "0.001"}}))
        .await;
    let id = r["instance_id"].as_str().unwrap().to_string();
    assert_eq!(r["strategy"]["exchange"], "binance");
    c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    for side in ["buy", "sell"] {
        let o = c
            .wait_for("a quote on Binance", |v| {
                v["type"] == "order_update"
                    && v["strategy_id"] == id
                    && v["status"] == "open"
                    && v["side"] == side
            })
            .await;
        assert_eq!(o["exchange"], "binance");
    }
    let sent = fake.orders();
    assert!(
        sent.iter()
            .any(|o| o.kind == "LIMIT_MAKER" && o.side == "SELL" && o.price == "50250"),
        "{sent:?}"
    );
    // The connection drops and comes back: the strategy's requests go to
    // the new session.
    fake.drop_sockets();
    c.wait_for("back", |v| is_conn(v, "connected") && v["attempt"] == 1)
        .await;
    c.ok(json!({"cmd": "stop_strategy", "id": id})).await;
    c.wait_for("cancelled on Binance", |v| {
        v["type"] == "order_update" && v["strategy_id"] == id && v["status"] == "canceled"
    })
    .await;
    server.stop().await;
    fake.stop().await;
}

/// The real binary at the most verbose log level, connected to the fake,
/// placing an order and losing its sockets: neither the API key nor the
/// secret appears anywhere in what it prints.
#[actix_rt::test]
async fn secrets_never_reach_the_logs() {
    let fake = FakeBinance::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(["--bind", &bind])
        .env("RUST_LOG", "trace")
        .env("LAICAI_STATE_DIR", temp_dir("bin"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run laicai");
    // Drained as it runs: a full pipe would stall the engine.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let mut bytes = Vec::new();
                let _ = p.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).to_string();
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let url = format!("ws://{bind}/api/stream");
    let mut c = None;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&bind).is_ok() {
            c = Some(Client::connect(&url).await);
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let mut c = c.expect("the engine listens");
    connected(&mut c, &fake).await;
    c.ok(
        json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                "type": "limit", "price": "49000", "size": "0.01"}),
    )
    .await;
    c.ok(json!({"cmd": "test_connection", "id": "binance"}))
        .await;
    fake.drop_sockets();
    c.wait_for("back", |v| is_conn(v, "connected") && v["attempt"] == 1)
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let printed = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    assert!(
        printed.contains("binance connected"),
        "the log was captured: {}",
        &printed[..printed.len().min(500)]
    );
    assert!(!printed.contains(API_SECRET), "the API secret was logged");
    assert!(!printed.contains(API_KEY), "the API key was logged");
    fake.stop().await;
}

#[actix_rt::test]
async fn clock_drift_is_resynced_and_outside_orders_are_adopted() {
    let fake = FakeBinance::start().await;
    // An order placed on the website before laicai connects.
    fake.place_elsewhere("web_order_1", "SELL", "0.002", "52000.00");
    let server = TestServer::start(
        &CONNECTIONS
            .replace("listen_key_keepalive_s = 1800", "")
            .replace(
                "[connections]\n",
                "[connections]\nlisten_key_keepalive_s = 1\n",
            ),
    )
    .await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;
    c.wait_for("the outside order adopted", |v| {
        v["type"] == "order_update" && v["orderId"] == "web_order_1" && v["status"] == "open"
    })
    .await;
    let adopted = c
        .ok(json!({"cmd": "get_orders", "exchange": "binance", "status": "open"}))
        .await;
    assert_eq!(adopted["orders"][0]["side"], "sell", "{adopted}");

    // The keepalive runs on its schedule.
    actix_rt::time::sleep(Duration::from_millis(1300)).await;
    assert!(fake.state.lock().keepalives >= 1);

    // Binance's clock jumps 10 s ahead: the next signed request is refused
    // with -1021, the connector resyncs and retries once, and it succeeds.
    fake.skew_clock(10_000);
    let r = c
        .ok(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                   "type": "limit", "price": "49000", "size": "0.01"}),
        )
        .await;
    fake.skew_clock(0);
    assert_eq!(r["order"]["status"], "open");
    assert_eq!(
        fake.state.lock().clock_errors,
        1,
        "one -1021, then the resynced retry"
    );
    server.stop().await;
    fake.stop().await;
}

/// A connection outlives a restart of the real binary: it comes back under
/// its id, reconnects, and its orders are still there and still its own.
/// The database never holds the API key or secret in clear.
#[actix_rt::test]
async fn a_connection_survives_a_restart_with_its_secrets_sealed() {
    let fake = FakeBinance::start().await;
    let state = temp_dir("binance-restart");
    let config = format!("[server]\nworkers = 1\n[strategies]\nboot = []\n{CONNECTIONS}");
    let engine = EngineProcess::start(&state, &config).await;
    let mut c = engine.client().await;
    let id = connected(&mut c, &fake).await;
    let r = c
        .ok(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                   "type": "limit", "price": "48000", "size": "0.01"}),
        )
        .await;
    let order_id = r["order_id"].as_str().unwrap().to_string();
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    // Not in the database, its journal or anything else in the state dir
    // except sealed.
    let mut files = 0;
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log" || e == "toml") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!has(API_SECRET), "{} holds the API secret", path.display());
        assert!(!has(API_KEY), "{} holds the API key", path.display());
        files += 1;
    }
    assert!(files >= 2, "the database and its key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let engine = EngineProcess::start(&state, &config).await;
    let mut c = engine.client().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list = c.ok(json!({"cmd": "get_connections"})).await;
        let back = &list["connections"][0];
        if back["id"] == json!(id) && back["status"] == "connected" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not back: {list}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let orders = c
        .ok(json!({"cmd": "get_orders", "exchange": "binance"}))
        .await;
    assert!(
        orders["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["orderId"] == json!(order_id) && o["status"] == "open"),
        "{orders}"
    );
    let r = c
        .ok(json!({"cmd": "cancel_order", "exchange": "binance", "order_id": order_id}))
        .await;
    assert_eq!(r["order"]["status"], "canceled");
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    // With another key the stored secrets do not open: the engine still
    // starts, says so, and the connection is not made up.
    std::fs::write(state.join("secret.key"), "ab".repeat(32)).unwrap();
    let engine = EngineProcess::start(&state, &config).await;
    let mut c = engine.client().await;
    let list = c.ok(json!({"cmd": "get_connections"})).await;
    assert_eq!(list["count"], 0, "{list}");
    assert!(
        engine.stderr().contains("does not open with this key"),
        "{}",
        engine.stderr()
    );
}

/// With a price band, an order on a Binance connection whose depth book
/// is loaded is checked against the book's mid: no book ticker needed.
#[actix_rt::test]
async fn the_depth_books_mid_is_a_reference_price() {
    let fake = FakeBinance::start().await;
    fake.mute_book_ticker();
    let server = TestServer::start(&format!("{CONNECTIONS}[risk]\nprice_band_pct = \"5\"\n")).await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;
    c.wait_for("the Binance book", binance_book).await;
    let r = c
        .command(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                        "type": "limit", "price": "49900", "size": "0.01"}),
        )
        .await;
    assert_eq!(r["success"], true, "{r}");
    // Far from the book's mid, the band still refuses it.
    let far = c
        .command(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                        "type": "limit", "price": "40000", "size": "0.01"}),
        )
        .await;
    assert_eq!(far["error"], "risk_rejected", "{far}");
    assert!(
        !far["message"]
            .as_str()
            .unwrap()
            .contains("no_reference_price"),
        "{far}"
    );
    server.stop().await;
    fake.stop().await;
}

/// An order id is enough to cancel an order, on whichever venue holds it.
#[actix_rt::test]
async fn cancel_order_finds_the_venue_by_the_order_id() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    connected(&mut c, &fake).await;
    let r = c
        .ok(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT", "side": "buy",
                   "type": "limit", "price": "49000", "size": "0.01"}),
        )
        .await;
    let id = r["order_id"].as_str().unwrap().to_string();
    let cancelled = c
        .command(json!({"cmd": "cancel_order", "order_id": id}))
        .await;
    assert_eq!(cancelled["success"], true, "{cancelled}");
    c.wait_for("canceled", |v| {
        v["type"] == "order_update" && v["orderId"] == id && v["status"] == "canceled"
    })
    .await;
    // A paper order the same way, and an id nobody gave out.
    let p = c
        .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "30000", "size": "0.01"}))
        .await;
    c.ok(json!({"cmd": "cancel_order", "order_id": p["order_id"]}))
        .await;
    let none = c
        .command(json!({"cmd": "cancel_order", "order_id": "ORD-999999"}))
        .await;
    assert_eq!(none["error"], "not_found", "{none}");
    server.stop().await;
    fake.stop().await;
}

#[actix_rt::test]
async fn exchange_binance_means_the_one_binance_connection_and_events_name_it() {
    let fake = FakeBinance::start().await;
    let server = TestServer::start(CONNECTIONS).await;
    let mut c = server.client("/api/stream").await;
    let mut cmd = fake.connection_cmd();
    cmd["name"] = json!("main-account");
    let r = c.ok(cmd).await;
    let id = r["connection_id"].as_str().unwrap().to_string();
    c.wait_for("connected", |v| {
        v["type"] == "connection" && v["id"] == id && v["status"] == "connected"
    })
    .await;

    // `binance` is a kind: with one Binance connection it is that one,
    // alone or with the connection's id.
    let b = c
        .ok(json!({"cmd": "get_balances", "exchange": "binance"}))
        .await;
    assert_eq!(b["balances"][0]["exchange"], "main-account", "{b}");
    assert_eq!(b["balances"][0]["connection_id"], id.as_str(), "{b}");
    let placed = c
        .ok(json!({"cmd": "place_order", "exchange": "binance", "connection_id": id,
                   "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "49000", "size": "0.01"}))
        .await;
    assert_eq!(placed["order"]["exchange"], "main-account", "{placed}");
    assert_eq!(placed["order"]["connection_id"], id.as_str(), "{placed}");
    let order_id = placed["order_id"].as_str().unwrap().to_string();
    // Its events carry the connection's id as well as the venue's name.
    let update = c
        .wait_for("the order's update", |v| {
            v["type"] == "order_update" && v["orderId"] == order_id.as_str()
        })
        .await;
    assert_eq!(update["exchange"], "main-account", "{update}");
    assert_eq!(update["connection_id"], id.as_str(), "{update}");
    // A paper order's do not: the paper venue is no connection.
    let p = c
        .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "30000", "size": "0.01"}))
        .await;
    assert!(p["order"].get("connection_id").is_none(), "{p}");

    // A connection id that names another kind of venue is refused.
    let wrong = c
        .command(json!({"cmd": "get_balances", "exchange": "paper", "connection_id": id}))
        .await;
    assert_eq!(wrong["error"], "invalid_params", "{wrong}");

    // With two Binance connections, `binance` alone names both: say which.
    let mut second = fake.connection_cmd();
    second["name"] = json!("second-account");
    let r2 = c.ok(second).await;
    let id2 = r2["connection_id"].as_str().unwrap().to_string();
    let both = c
        .command(
            json!({"cmd": "place_order", "exchange": "binance", "symbol": "BTC-USDT",
                        "side": "buy", "type": "limit", "price": "49000", "size": "0.01"}),
        )
        .await;
    assert_eq!(both["error"], "invalid_params", "{both}");
    let message = both["message"].as_str().unwrap();
    for named in ["main-account", "second-account", id.as_str(), id2.as_str()] {
        assert!(message.contains(named), "{message}");
    }
    let strategy = c
        .command(
            json!({"cmd": "create_strategy", "name": "MM", "type": "pmm", "exchange": "binance",
                        "pair": "BTC-USDT"}),
        )
        .await;
    assert_eq!(strategy["error"], "invalid_params", "{strategy}");
    assert!(
        strategy["message"]
            .as_str()
            .unwrap()
            .contains("second-account"),
        "{strategy}"
    );
    let named = c
        .ok(json!({"cmd": "get_orders", "exchange": "binance", "connection_id": id}))
        .await;
    assert!(
        named["orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["connection_id"] == id.as_str()),
        "{named}"
    );
    server.stop().await;
    fake.stop().await;
}
