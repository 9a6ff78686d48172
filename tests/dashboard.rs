//! The web dashboard as the engine serves it (every file, its type and
//! caching, nothing from outside), and the protocol commands it needs:
//! markets, candles, data files, backtests, strategy types, the session.
//! The page itself is tested in a real browser: tests/browser/.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn get(
    server: &TestServer,
    path: &str,
    if_none_match: Option<&str>,
) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
    let mut req = awc::Client::new().get(format!("http://{}{path}", server.addr));
    if let Some(tag) = if_none_match {
        req = req.insert_header(("If-None-Match", tag));
    }
    let mut res = req.send().await.expect("GET");
    let body = res.body().limit(8 << 20).await.expect("body");
    (res.status().as_u16(), res.headers().clone(), body.to_vec())
}

fn header<'a>(h: &'a awc::http::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[actix_rt::test]
async fn the_page_and_every_file_are_served_with_type_and_caching() {
    let server = TestServer::start("").await;
    let (status, h, body) = get(&server, "/", None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&h, "cache-control"), "no-cache");
    let csp = header(&h, "content-security-policy");
    assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("<script type=\"module\""), "{html}");

    // Revalidation: the same ETag answers 304 with no body.
    let etag = header(&h, "etag").to_string();
    let (status, _, body) = get(&server, "/", Some(&etag)).await;
    assert_eq!((status, body.len()), (304, 0));

    for (path, bytes, _) in laicai::dashboard::ASSETS {
        let (status, h, body) = get(&server, &format!("/{path}"), None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(&body, bytes, "{path} served as embedded");
        let ty = header(&h, "content-type");
        let want = match path.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("js" | "mjs") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            _ => "text/plain; charset=utf-8",
        };
        assert_eq!(ty, want, "{path}");
        let cache = header(&h, "cache-control");
        if path.starts_with("vendor/") {
            assert!(cache.contains("immutable"), "{path}: {cache}");
        } else {
            assert_eq!(cache, "no-cache", "{path}");
        }
        assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    }
    let (status, _, _) = get(&server, "/no/such/file.js", None).await;
    assert_eq!(status, 404);
    let post = awc::Client::new()
        .post(format!("http://{}/", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    // The API endpoints are not shadowed by the page.
    let (status, _, body) = get(&server, "/api/health", None).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("\"status\":\"ok\""));
    server.stop().await;
}

/// Every file the page is made of comes from the engine: no file of ours
/// names an outside address, and the vendored chart library names only
/// its licence and its attribution link.
#[test]
fn no_file_of_the_page_loads_anything_from_outside() {
    let allowed_in_vendor = [
        "https://www.apache.org/licenses/LICENSE-2.0",
        "https://www.tradingview.com",
    ];
    // An XML namespace names, it loads nothing.
    let namespaces = ["http://www.w3.org/2000/svg"];
    assert!(laicai::dashboard::ASSETS.len() > 5, "the page has files");
    for (path, bytes, _) in laicai::dashboard::ASSETS {
        let text = String::from_utf8_lossy(bytes);
        for (at, _) in text.match_indices("://") {
            let start = text[..at]
                .rfind(|c: char| !c.is_ascii_alphanumeric())
                .map_or(0, |i| i + 1);
            let url: String = text[start..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"\"'`)<>".contains(*c))
                .collect();
            if url.starts_with("ws://")
                || url.starts_with("wss://")
                || url == "://"
                || namespaces.contains(&url.as_str())
            {
                // The page's own socket, built from location.host.
                continue;
            }
            let vendored =
                path.starts_with("vendor/") && allowed_in_vendor.iter().any(|a| url.starts_with(a));
            let licence = path.ends_with("LICENSE") || path.ends_with("NOTICE");
            assert!(
                vendored || licence,
                "{path} names an outside address: {url}"
            );
        }
        if path.ends_with(".html") {
            let html = text.to_lowercase();
            for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
                assert!(!html.contains(attr), "{path}: {attr}");
            }
        }
    }
}

#[actix_rt::test]
async fn markets_candles_and_strategy_types_come_over_the_protocol() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    c.next(WAIT).await.expect("snapshot");

    let r = c.ok(json!({"cmd": "get_markets"})).await;
    let markets = r["markets"].as_array().unwrap();
    let btc = markets
        .iter()
        .find(|m| m["symbol"] == "BTC-USDT")
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(btc["exchange"], "paper");
    assert_eq!(
        (btc["base"].as_str(), btc["quote"].as_str()),
        (Some("BTC"), Some("USDT"))
    );
    assert_eq!(dec(&btc["tick_size"]), d("0.01"));
    assert_eq!(
        (
            btc["price_precision"].as_u64(),
            btc["size_precision"].as_u64()
        ),
        (Some(2), Some(5))
    );
    assert!(markets.iter().any(|m| m["symbol"] == "ETH-USDT"));

    // The paper market prints trades: within a second there is a candle.
    let mut candles = Vec::new();
    for _ in 0..50 {
        let r = c
            .ok(json!({"cmd": "get_candles", "symbol": "BTC-USDT"}))
            .await;
        assert_eq!(
            (r["interval"].as_str(), r["exchange"].as_str()),
            (Some("1m"), Some("paper"))
        );
        candles = r["candles"].as_array().cloned().unwrap_or_default();
        if !candles.is_empty() {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    let last = candles.last().expect("a candle");
    let (low, high) = (dec(&last["low"]), dec(&last["high"]));
    assert!(low <= dec(&last["open"]) && dec(&last["close"]) <= high && low > d("0"));
    assert_eq!(last["time"].as_i64().unwrap() % 60, 0, "minutes: {last}");
    let unknown = c
        .command(json!({"cmd": "get_candles", "symbol": "DOGE-USDT"}))
        .await;
    assert_eq!(unknown["error"], "not_found", "{unknown}");
    let bad = c
        .command(json!({"cmd": "get_candles", "symbol": "BTC-USDT", "exchange": "nope"}))
        .await;
    assert_eq!(bad["error"], "invalid_params", "{bad}");
    let missing = c.command(json!({"cmd": "get_candles"})).await;
    assert_eq!(missing["error"], "invalid_params");
    assert!(missing["message"].as_str().unwrap().contains("`symbol`"));

    let r = c.ok(json!({"cmd": "get_strategy_types"})).await;
    let types: Vec<&str> = r["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["strategy_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["pmm", "grid", "twap"]);
    let pmm_spread = &r["types"][0]["fields"][0];
    assert_eq!(pmm_spread["name"], "bid_spread");
    assert_eq!(dec(&pmm_spread["default"]), d("0.1"));
    assert!(pmm_spread["doc"].as_str().unwrap().contains("mid price"));

    let r = c.ok(json!({"cmd": "get_session"})).await;
    assert_eq!(r["scope"], "admin", "a loopback engine without tokens: {r}");
    assert!(r["session_id"].as_str().unwrap().starts_with("session-"));
    server.stop().await;
}

#[actix_rt::test]
async fn data_files_and_past_backtests_are_listed() {
    let data = temp_dir("data");
    std::fs::create_dir_all(data.join("sample")).unwrap();
    std::fs::copy(
        "data/sample/BTCUSDT-trades-2025-01-01.csv.gz",
        data.join("sample/BTCUSDT-trades-2025-01-01.csv.gz"),
    )
    .unwrap();
    std::fs::write(data.join("readme.txt"), "not data").unwrap();
    let server =
        TestServer::start(&format!("[backtest]\ndata_dir = \"{}\"\n", data.display())).await;
    let mut c = server.client("/api/stream").await;
    c.next(WAIT).await.expect("snapshot");
    let r = c.ok(json!({"cmd": "get_data_files"})).await;
    let names: Vec<(&str, &str)> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("sample", "directory"),
            ("sample/BTCUSDT-trades-2025-01-01.csv.gz", "trades")
        ]
    );
    assert_eq!(r["files"][1]["symbol"], "BTCUSDT");

    let none = c.ok(json!({"cmd": "get_backtests"})).await;
    assert_eq!(none["count"], 0);
    let started = c
        .ok(json!({"cmd": "start_backtest", "pair": "BTC-USDT",
                   "strategy": {"type": "pmm", "config": {}},
                   "data": "sample/BTCUSDT-trades-2025-01-01.csv.gz"}))
        .await;
    let id = started["backtest_id"].as_str().unwrap().to_string();
    c.wait_for("backtest_result", |e| {
        e["type"] == "backtest_result" && e["backtest_id"] == json!(id)
    })
    .await;
    let list = c.ok(json!({"cmd": "get_backtests"})).await;
    assert_eq!(list["count"], 1);
    let run: &Value = &list["backtests"][0];
    assert_eq!(
        (run["backtest_id"].as_str(), run["status"].as_str()),
        (Some(id.as_str()), Some("completed"))
    );
    assert!(run["result"]["pnl"].is_number(), "{run}");
    server.stop().await;
}

/// `/ws/logs` carries the engine's own log: what a user does (an order
/// placed and cancelled, a bad frame) shows up there as it happens.
#[actix_rt::test]
async fn the_log_stream_carries_the_engines_own_log() {
    let state = temp_dir("logs");
    let engine = EngineProcess::start(
        &state,
        "[strategies]\nboot = []\n[engine]\nlog_events_level = \"info\"\nlog_events_per_sec = 1000\n",
    )
    .await;
    let mut logs = Client::connect(&engine.url("/ws/logs")).await;
    logs.next(WAIT).await.expect("snapshot");
    let mut c = engine.client().await;
    c.next(WAIT).await.expect("snapshot");
    let placed = c
        .ok(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy",
                   "type": "limit", "price": "1000", "size": "0.01"}),
        )
        .await;
    let id = placed["order_id"].as_str().unwrap().to_string();
    c.ok(json!({"cmd": "cancel_order", "order_id": id})).await;
    c.send_text("{not json").await;
    let refused = c
        .command(json!({"cmd": "cancel_order", "order_id": "ORD-nope"}))
        .await;
    assert_eq!(refused["success"], false);

    let mut seen = Vec::new();
    for want in [
        format!("Order {id} cancelled"),
        "bad frame refused".to_string(),
        "command refused".to_string(),
    ] {
        let line = logs
            .wait_for(&want, |e| {
                e["type"] == "log" && e["msg"].as_str().is_some_and(|m| m.contains(&want))
            })
            .await;
        seen.push(line);
    }
    for line in &seen {
        assert!(line["seq"].is_u64() && line["timestamp"].is_string());
        assert!(
            line["source"].as_str().unwrap().starts_with("laicai"),
            "{line}"
        );
        assert_eq!(line["level"], "info");
    }
    assert!(
        seen[0]["msg"].as_str().unwrap().contains("cancel_order"),
        "{}",
        seen[0]
    );
    engine.terminate();
}

/// A log storm is shed past the configured rate, and one line says so.
#[actix_rt::test]
async fn a_log_storm_is_rate_limited() {
    let state = temp_dir("log-storm");
    let engine = EngineProcess::start(
        &state,
        "[strategies]\nboot = []\n[engine]\nlog_events_per_sec = 5\n[server]\nmax_messages_per_sec = 1000\n",
    )
    .await;
    let mut logs = Client::connect(&engine.url("/ws/logs")).await;
    logs.next(WAIT).await.expect("snapshot");
    let mut c = engine.client().await;
    c.next(WAIT).await.expect("snapshot");
    // 200 refused commands, each logged, in well under a second.
    for i in 0..200 {
        c.send_text(&format!(
            r#"{{"cmd":"cancel_order","order_id":"X-{i}","request_id":{i}}}"#
        ))
        .await;
    }
    let dropped = logs
        .wait_for("the dropped-lines notice", |e| {
            e["type"] == "log"
                && e["msg"]
                    .as_str()
                    .is_some_and(|m| m.contains("log lines dropped"))
        })
        .await;
    assert_eq!(dropped["level"], "warning");
    let mut lines = 1;
    while let Some(e) = logs.next(Duration::from_millis(500)).await {
        lines += usize::from(e["type"] == "log");
    }
    assert!(
        lines < 60,
        "{lines} log lines for 200 records at 5 a second"
    );
    engine.terminate();
}
