//! A Binance connection as an account, against the fake Binance server:
//! a strategy trading on it, secrets kept out of logs and sealed across a
//! restart, clock drift, outside orders adopted, the depth book as a
//! reference price, and naming a connection by kind or id.

mod common;

use common::binance::{
    binance_book, connected, is_conn, FakeBinance, API_KEY, API_SECRET, CONNECTIONS,
};
use common::*;
use serde_json::json;
use std::time::Duration;

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
