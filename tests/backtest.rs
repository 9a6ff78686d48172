//! Backtests as users run them: `laicai backtest` and `laicai
//! sample-data` (the README's example on the shipped sample data,
//! byte-identical reports from the same inputs, bad rows named by file
//! and line), and `start_backtest` / `get_backtest` / `cancel_backtest`
//! over a real WebSocket with their `backtest_progress` and
//! `backtest_result` events.

mod common;

use common::{dec, temp_dir, Client, TestServer};
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::time::Duration;

fn laicai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run laicai")
}

const TRADES: &str = "data/sample/BTCUSDT-trades-2025-01-01.csv.gz";

#[test]
fn the_readme_example_runs_and_the_same_inputs_give_the_same_bytes() {
    let a = temp_dir("bt-a");
    let b = temp_dir("bt-b");
    for out in [&a, &b] {
        let o = laicai(&[
            "backtest",
            "--strategy",
            "configs/pmm.toml",
            "--data",
            TRADES,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(stdout.contains("max drawdown"), "{stdout}");
        // A run of a moment draws no progress bar, only what it loaded.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("events loaded"), "{stderr}");
        assert!(!stderr.contains(" %  "), "{stderr}");
        // The summary's figures agree: PnL = final − initial equity.
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(
            dec(&report["pnl"]),
            dec(&report["final_equity"]) - dec(&report["initial_equity"])
        );
        assert!(
            stdout.contains(&format!(
                "PnL              {}",
                signed_money(&report["pnl"])
            )),
            "{stdout}"
        );
    }
    let ra = std::fs::read(a.join("report.json")).unwrap();
    let rb = std::fs::read(b.join("report.json")).unwrap();
    assert_eq!(ra, rb, "byte-identical");
    let report: Value = serde_json::from_slice(&ra).unwrap();
    assert!(report["trades"].as_u64().unwrap() > 100, "{report}");
    assert!(report["equity_curve"].as_array().unwrap().len() > 100);
    let svg = std::fs::read_to_string(a.join("equity.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
}

#[test]
fn sample_data_is_regenerated_byte_for_byte() {
    let dir = temp_dir("bt-sample");
    let o = laicai(&["sample-data", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success());
    for name in [
        "BTCUSDT-trades-2025-01-01.csv.gz",
        "BTCUSDT-1m-2025-01.csv.gz",
    ] {
        let shipped = std::fs::read(format!("{}/data/sample/{name}", env!("CARGO_MANIFEST_DIR")));
        let fresh = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            shipped.unwrap(),
            fresh,
            "{name} differs from the shipped file"
        );
    }
}

#[test]
fn a_malformed_row_is_named_by_file_and_line() {
    let dir = temp_dir("bt-bad");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "id,price,qty,quote_qty,time,is_buyer_maker\n1,100,1,100,5,true\n2,100,1,100,6,sometimes\n",
    )
    .unwrap();
    let o = laicai(&[
        "backtest",
        "--strategy",
        "configs/pmm.toml",
        "--data",
        bad.to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let expected = format!("laicai: {}:3: is_buyer_maker", bad.display());
    assert!(err.lines().any(|l| l.starts_with(&expected)), "{err}");
    assert!(!dir.join("r").exists(), "no report from bad data");
}

/// A client of the subscription endpoint that hears only backtests.
async fn backtest_client(server: &TestServer) -> Client {
    let mut c = server.client("/api/v1/websocket").await;
    for channel in ["backtest_progress", "backtest_result"] {
        c.send_text(&json!({"type": "subscribe", "channel": channel}).to_string())
            .await;
        c.wait_for("subscribed", |e| e["type"] == "subscribed")
            .await;
    }
    c
}

/// Starts a backtest that must be accepted; its id.
async fn started(c: &mut Client, cmd: Value) -> String {
    let r = c.ok(cmd).await;
    r["backtest_id"].as_str().unwrap().to_string()
}

/// The `backtest_result` of backtest `id`.
async fn result_of(c: &mut Client, id: &str) -> Value {
    c.wait_for(&format!("the result of {id}"), |e| {
        e["type"] == "backtest_result" && e["backtest_id"] == id
    })
    .await
}

/// The PMM quotes a sample-trades run uses over the WebSocket and in the
/// library alike.
fn pmm_config() -> Value {
    json!({"bid_spread": "0.02", "ask_spread": "0.02", "order_amount": "0.01",
           "order_refresh_time": 5, "filled_order_delay": 5})
}

#[actix_rt::test]
async fn a_websocket_backtest_reports_progress_to_one_and_the_librarys_result() {
    let server = TestServer::start("").await;
    let mut c = backtest_client(&server).await;
    let started = c
        .ok(json!({"cmd": "start_backtest",
            "strategy": {"type": "pmm", "config": pmm_config()},
            "pair": "BTC-USDT", "data": "sample/BTCUSDT-trades-2025-01-01.csv.gz",
            "initial_balances": {"BTC": "0.5", "USDT": "50000"},
            "fee": {"maker": "0.0002", "taker": "0.0005"}}))
        .await;
    let id = started["backtest_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("bt_"), "{started}");
    assert_eq!(started["status"], "queued");
    assert_eq!(started["data"]["backtest_id"], id.as_str());

    // Progress in steps of at most 5 %, rising, to exactly 1.0; then the result.
    let mut seen = Vec::new();
    let result = loop {
        let e = c
            .wait_for("a backtest event", |e| {
                e["backtest_id"] == id.as_str()
                    && (e["type"] == "backtest_progress" || e["type"] == "backtest_result")
            })
            .await;
        if e["type"] == "backtest_result" {
            break e;
        }
        let d = &e["data"];
        for field in ["total_days", "completed_days", "estimated_remaining"] {
            assert!(d[field].is_number(), "{field} in {e}");
        }
        assert_eq!(d["current_date"], "2025-01-01", "{e}");
        seen.push(d["progress"].as_f64().unwrap());
    };
    assert!(seen.len() >= 20, "progress every 5 %: {seen:?}");
    assert_eq!(seen.last(), Some(&1.0), "{seen:?}");
    let mut before = 0.0;
    for p in &seen {
        assert!(*p > before && *p - before <= 0.0501, "{seen:?}");
        before = *p;
    }
    assert_eq!(result["status"], "completed", "{result}");

    // The same inputs through the library give the same report.
    let files = [std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TRADES)];
    let events = laicai_actors::backtest::load(&files, None, None).unwrap();
    let params = laicai_core::strategy::StrategyParams::parse(
        laicai_core::wire::events::StrategyType::Pmm,
        &pmm_config(),
    )
    .unwrap();
    let settings = laicai_core::wire::backtest::SimSettings {
        initial_base: "0.5".parse().unwrap(),
        initial_quote: "50000".parse().unwrap(),
        maker_fee: "0.0002".parse().unwrap(),
        taker_fee: "0.0005".parse().unwrap(),
        ..Default::default()
    };
    let rules = laicai_core::pair::PairSpec {
        symbol: laicai_core::pair::Symbol::parse("BTC-USDT").unwrap(),
        tick_size: "0.01".parse().unwrap(),
        step_size: "0.00001".parse().unwrap(),
        min_notional: "5".parse().unwrap(),
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    // The engine names the file as its data directory does.
    let names = ["sample/BTCUSDT-trades-2025-01-01.csv.gz".to_string()];
    let expected =
        laicai_actors::backtest::run(rules, &params, settings, &names, &events, &cancel, |_| {})
            .unwrap();
    assert!(expected.trades > 0, "the scenario trades");
    assert_eq!(result["data"], serde_json::to_value(&expected).unwrap());

    // get_backtest answers the same, and the report is on disk.
    let got = c
        .ok(json!({"cmd": "get_backtest", "backtest_id": id}))
        .await;
    assert_eq!(got["status"], "completed");
    assert_eq!(got["result"], result["data"]);
    assert_eq!(got["backtest"]["progress"]["progress"], 1.0);
    let dir = got["backtest"]["report_path"].as_str().unwrap();
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/report.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk, result["data"]);
    assert!(std::path::Path::new(dir).join("equity.svg").is_file());
    server.stop().await;
}

#[actix_rt::test]
async fn cancel_stops_a_running_backtest_and_drops_a_queued_one() {
    let server = TestServer::start("").await;
    let mut c = backtest_client(&server).await;
    // `chaos` in hang mode blocks its runner for two seconds on its
    // 3000th print: time enough to cancel it mid-run, for certain.
    let slow = json!({"cmd": "start_backtest",
        "strategy": {"type": "chaos", "config": {"mode": "hang", "fail_after_ticks": 3000, "hang_ms": 2000}},
        "pair": "BTC-USDT", "data": "sample/BTCUSDT-trades-2025-01-01.csv.gz"});
    let a = started(&mut c, slow.clone()).await;
    c.wait_for("a's first progress", |e| {
        e["type"] == "backtest_progress" && e["backtest_id"] == a.as_str()
    })
    .await;
    // One runner (the default): b waits behind a.
    let b = started(&mut c, slow).await;
    let got = c.ok(json!({"cmd": "get_backtest", "backtest_id": b})).await;
    assert_eq!(got["status"], "queued");
    assert_eq!(
        c.ok(json!({"cmd": "get_backtest", "backtest_id": a})).await["status"],
        "running"
    );

    for id in [&a, &b] {
        let r = c
            .ok(json!({"cmd": "cancel_backtest", "backtest_id": id}))
            .await;
        assert_eq!(r["status"], "cancelled", "{r}");
        let e = result_of(&mut c, id).await;
        assert_eq!(e["status"], "cancelled", "{e}");
        assert!(e.get("data").is_none(), "{e}");
    }
    // Cancelling again is refused, and an unknown id is not found.
    let again = c
        .command(json!({"cmd": "cancel_backtest", "backtest_id": a}))
        .await;
    assert_eq!(again["error"], "invalid_state", "{again}");
    let none = c
        .command(json!({"cmd": "get_backtest", "backtest_id": "bt_0_0"}))
        .await;
    assert_eq!(none["error"], "not_found", "{none}");

    // A next backtest completes: the runner left the cancelled one.
    let next = started(
        &mut c,
        json!({"cmd": "start_backtest", "strategy": {"type": "pmm"},
            "pair": "BTC-USDT", "data": "sample/BTCUSDT-trades-2025-01-01.csv.gz"}),
    )
    .await;
    let done = result_of(&mut c, &next).await;
    assert_eq!(done["status"], "completed", "{done}");
    // a stopped where it was cancelled (at its first check after the
    // hang, 4096 of 43 074 prints), not at the end; no progress after.
    let a_now = c.ok(json!({"cmd": "get_backtest", "backtest_id": a})).await;
    assert_eq!(a_now["status"], "cancelled");
    let stopped = a_now["backtest"]["progress"]["progress"].as_f64().unwrap();
    assert!(
        stopped > 0.0 && stopped < 0.2,
        "a stopped at {stopped}: {a_now}"
    );
    assert!(c
        .try_wait_for(Duration::from_millis(300), |e| e["type"]
            == "backtest_progress"
            && e["backtest_id"] == a.as_str())
        .await
        .is_none());
    server.stop().await;
}

#[actix_rt::test]
async fn bad_backtests_are_refused_or_fail_with_the_reason_and_the_engine_runs_on() {
    let data = temp_dir("bt-data");
    std::fs::write(
        data.join("bad.csv"),
        "1,100.0,0.5,50.0,1735689600000,true\n2,oops,0.5,50.0,1735689601000,false\n",
    )
    .unwrap();
    std::fs::write(
        data.join("good.csv"),
        "1,100.0,0.5,50.0,1735689600000,true\n2,100.5,0.5,50.25,1735689601000,false\n",
    )
    .unwrap();
    std::fs::create_dir_all(data.join("empty")).unwrap();
    let server =
        TestServer::start(&format!("[backtest]\ndata_dir = \"{}\"\n", data.display())).await;
    let mut c = backtest_client(&server).await;
    let start = |data: &str, pair: &str| {
        json!({"cmd": "start_backtest", "strategy": {"type": "grid",
            "config": {"lower_price": 90, "upper_price": 110, "grid_levels": 3, "order_amount": "0.1"}},
            "pair": pair, "data": data})
    };
    for (cmd, error, says) in [
        (
            start("missing.csv", "BTC-USDT"),
            "invalid_params",
            "no data file or directory `missing.csv`",
        ),
        (
            start("../../etc/passwd", "BTC-USDT"),
            "invalid_params",
            "inside the data directory",
        ),
        (
            start("empty", "BTC-USDT"),
            "invalid_params",
            "holds no .csv",
        ),
        (
            start("bad.csv", "DOGE-USDT"),
            "invalid_params",
            "DOGE-USDT has no trading rules",
        ),
        (
            json!({"cmd": "start_backtest", "strategy": {"type": "pmm", "config": {"bid_spread": "x"}},
            "pair": "BTC-USDT", "data": "bad.csv"}),
            "invalid_params",
            "strategy.config.bid_spread",
        ),
    ] {
        let r = c.command(cmd.clone()).await;
        assert_eq!(r["success"], false, "{cmd}: {r}");
        assert_eq!(r["error"], error, "{cmd}: {r}");
        assert!(r["message"].as_str().unwrap().contains(says), "{cmd}: {r}");
    }
    // A malformed row fails the run with its file and line.
    let id = started(&mut c, start("bad.csv", "BTC-USDT")).await;
    let e = result_of(&mut c, &id).await;
    assert_eq!(e["status"], "failed", "{e}");
    let why = e["error"].as_str().unwrap();
    assert!(why.contains("bad.csv:2:") && why.contains("price"), "{why}");
    // A strategy that panics fails its backtest only.
    let boom = started(&mut c, json!({"cmd": "start_backtest", "strategy": {"type": "chaos", "config": {"mode": "panic", "fail_after_ticks": 1}},
            "pair": "BTC-USDT", "data": "good.csv"})).await;
    let e = result_of(&mut c, &boom).await;
    assert_eq!(e["status"], "failed", "{e}");
    assert!(e["error"].as_str().unwrap().contains("panicked"), "{e}");
    let status = c.ok(json!({"cmd": "get_system_status"})).await;
    assert_eq!(status["bot_status"], "running");
    server.stop().await;
}

#[actix_rt::test]
async fn the_recorded_market_replays_as_a_backtest() {
    let data = temp_dir("bt-record");
    let server = TestServer::start(&format!(
        "[backtest]\ndata_dir = \"{0}\"\nrecord = true\nrecord_dir = \"{0}/recorded\"\n",
        data.display()
    ))
    .await;
    let mut c = backtest_client(&server).await;
    c.send_text(
        &json!({"type": "subscribe", "channel": "price", "symbol": "BTC-USDT"}).to_string(),
    )
    .await;
    let mut prices = Vec::new();
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    while let Some(e) = c
        .try_wait_for(until - std::time::Instant::now(), |e| e["type"] == "price")
        .await
    {
        prices.push(
            e["price"]
                .as_str()
                .map(str::to_string)
                .unwrap_or(e["price"].to_string()),
        );
        if std::time::Instant::now() >= until {
            break;
        }
    }
    assert!(prices.len() > 5, "{prices:?}");
    // Flushed every second.
    actix_rt::time::sleep(Duration::from_millis(1300)).await;

    let dir = data.join("recorded/BTC-USDT");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("BTCUSDT-trades-"));
    let mut rows = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        rows.extend(
            text.lines()
                .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>()),
        );
    }
    let prints: Vec<laicai_core::tape::Print> = laicai_actors::backtest::load(&files, None, None)
        .unwrap()
        .into_iter()
        .map(|e| match e {
            laicai_core::tape::MarketEvent::Trade(p) => p,
            other => panic!("a recorded trade file holds {other:?}"),
        })
        .collect();
    assert_eq!(prints.len(), rows.len());
    let ids: Vec<u64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids run on: {ids:?}"
    );
    // Every last price the engine published is a recorded trade's.
    let recorded: std::collections::HashSet<laicai_core::Decimal> =
        prints.iter().map(|p| p.price).collect();
    for p in &prices {
        let p: laicai_core::Decimal = p.trim_matches('"').parse().unwrap();
        assert!(recorded.contains(&p), "price {p} was not recorded");
    }

    let id = started(
        &mut c,
        json!({"cmd": "start_backtest", "strategy": {"type": "pmm"},
            "pair": "BTC-USDT", "data": "recorded/BTC-USDT", "to": prints.last().unwrap().at_ms}),
    )
    .await;
    let e = result_of(&mut c, &id).await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["data"]["events"], prints.len() as u64, "{e}");
    server.stop().await;
}

/// A report amount as the summary shows it: `+835.53`, `-1,231.04`.
fn signed_money(v: &Value) -> String {
    let d = dec(v).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.2}", d.abs());
    let (int, frac) = text.split_once('.').unwrap();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if d.is_sign_negative() && !d.is_zero() {
        "-"
    } else if d.is_zero() {
        ""
    } else {
        "+"
    };
    format!("{sign}{grouped}.{frac}")
}
