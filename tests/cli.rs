//! The `laicai` command line's client subcommands against a real engine:
//! what they print, and that failures are one line and a non-zero exit.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn config() -> String {
    format!(
        "[server]\nworkers = 1\n[strategies]\nboot = []\n{}",
        btc_pair("")
    )
}

fn laicai(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(args)
        .env("LAICAI_URL", url)
        .env_remove("LAICAI_TOKEN")
        .output()
        .expect("run laicai")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[actix_rt::test]
async fn cmd_order_and_status_print_what_the_engine_answers() {
    let state = temp_dir("cli");
    let engine = EngineProcess::start(&state, &config()).await;
    let url = engine.url("/api/stream");

    let out = laicai(&url, &["cmd", r#"{"cmd":"get_balances"}"#]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(answer["success"], true);
    assert!(answer["balances"].as_array().is_some_and(|b| !b.is_empty()));

    let out = laicai(&url, &["order", "buy", "BTC-USDT", "0.001"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(
        line.starts_with("ORD-") && line.contains("filled buy market BTC-USDT 0.001"),
        "{line}"
    );
    let out = laicai(
        &url,
        &["order", "sell", "BTC-USDT", "0.001", "--limit", "90000"],
    );
    let line = text(&out.stdout);
    assert!(
        line.contains("open sell limit BTC-USDT 0.001 @ 90000"),
        "{line}"
    );

    // The engine saw both.
    let mut c = engine.client().await;
    let orders = c.ok(json!({"cmd": "get_orders"})).await;
    assert_eq!(orders["count"], 2, "{orders}");

    let out = laicai(&url, &["status"]);
    let status = text(&out.stdout);
    assert!(
        status.contains("engine       running") && status.contains("trades       1  (fills)"),
        "{status}"
    );
    // Money at the quote asset's precision, with its unit and meaning;
    // every figure says what it is.
    let profit = status
        .lines()
        .find(|l| l.starts_with("profit"))
        .unwrap_or_else(|| panic!("{status}"));
    let amount = profit.split_whitespace().nth(1).unwrap_or_default();
    assert!(
        amount.split('.').nth(1).is_some_and(|d| d.len() <= 2),
        "{profit}"
    );
    assert!(
        profit.contains(" USDT  (realized PnL minus fees"),
        "{profit}"
    );
    assert!(status.contains("win rate     "), "{status}");
    assert!(status.contains("% ") || status.contains("no trades yet"));
    let out = laicai(&url, &["strategies"]);
    assert_eq!(text(&out.stdout).trim(), "no strategies");

    // Failures: one line on stderr, a non-zero exit.
    for (args, expect) in [
        (vec!["cmd", r#"{"cmd":"nope"}"#], "laicai: unknown_command"),
        (vec!["cmd", "not json"], "laicai: the command is not JSON"),
        (
            vec!["order", "buy", "BTC-USDT", "0.0000001", "--limit", "1"],
            "laicai: invalid_params",
        ),
        (vec!["order", "hold", "BTC-USDT", "1"], "laicai: side:"),
    ] {
        let out = laicai(&url, &args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(expect), "{args:?}: {err}");
    }
    let out = laicai("ws://127.0.0.1:1/api/stream", &["status"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with("laicai: cannot connect to ws://127.0.0.1:1"),
        "{}",
        text(&out.stderr)
    );
}

/// Starts `laicai watch-orders` and waits for its first line.
fn watch_orders(
    url: &str,
    seconds: &str,
) -> (std::process::Child, std::thread::JoinHandle<Vec<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(["watch-orders", "--duration", seconds, "--url", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch-orders");
    let stdout = child.stdout.take().expect("stdout");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("watching order updates") {
                let _ = ready_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    ready_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("watch-orders started");
    (child, reader)
}

#[actix_rt::test]
async fn watch_orders_prints_each_update_and_the_totals_by_status() {
    let state = temp_dir("cli-watch");
    let engine = EngineProcess::start(&state, &config()).await;
    let url = engine.url("/api/stream");
    let (mut child, reader) = watch_orders(&url, "4");

    let mut c = engine.client().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let o = c
            .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "0.001"}))
            .await;
        ids.push(o["order_id"].as_str().unwrap().to_string());
    }
    let resting = c
        .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "size": "0.001", "price": "30000"}))
        .await;
    let resting_id = resting["order_id"].as_str().unwrap().to_string();
    c.ok(json!({"cmd": "cancel_order", "order_id": resting_id}))
        .await;
    ids.push(resting_id);

    let status = child.wait().expect("watch-orders ends");
    assert!(status.success());
    let lines = reader.join().expect("reader");
    let updates: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("order update #"))
        .collect();
    for id in &ids {
        assert!(
            updates.iter().any(|l| l.contains(id.as_str())),
            "{id} not printed: {lines:?}"
        );
    }
    let total = format!("order updates: {}", updates.len());
    assert!(lines.contains(&total), "{total} in {lines:?}");
    assert!(lines.contains(&"  filled: 2".to_string()), "{lines:?}");
    assert!(lines.contains(&"  canceled: 1".to_string()), "{lines:?}");
    let by_status: u64 = lines
        .iter()
        .filter_map(|l| l.strip_prefix("  ")?.split_once(": "))
        .map(|(_, n)| n.parse::<u64>().unwrap())
        .sum();
    assert_eq!(by_status as usize, updates.len(), "{lines:?}");
}

#[actix_rt::test]
async fn watch_json_prints_only_the_types_and_pair_asked_for() {
    let state = temp_dir("cli-watch-json");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args([
            "watch",
            "--types",
            "order_update,trade",
            "--symbol",
            "btc-usdt",
        ])
        .args([
            "--json",
            "--duration",
            "3",
            "--url",
            &engine.url("/api/stream"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("watch says it started");
    assert!(first.starts_with("watching ws://"), "{first}");
    let mut c = engine.client().await;
    let o = c
        .ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "0.001"}))
        .await;
    let out = child.wait_with_output().expect("watch ends");
    assert!(out.status.success());
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|v| (v["type"] == "order_update" || v["type"] == "trade")
                && v["symbol"] == "BTC-USDT"
                && v["seq"].is_u64()),
        "{lines:?}"
    );
    for kind in ["order_update", "trade"] {
        assert!(
            lines.iter().any(|v| v["type"] == kind
                && (v["orderId"] == o["order_id"] || v["order_id"] == o["order_id"])),
            "no {kind} of the order in {lines:?}"
        );
    }
}

#[actix_rt::test]
async fn ctrl_c_ends_watch_orders_early_with_the_summary() {
    let state = temp_dir("cli-ctrl-c");
    let engine = EngineProcess::start(&state, &config()).await;
    let (child, reader) = watch_orders(&engine.url("/api/stream"), "600");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = child.wait_with_output().expect("it ends");
    assert!(out.status.success());
    let lines = reader.join().expect("reader");
    assert!(lines.contains(&"order updates: 0".to_string()), "{lines:?}");
}

/// The newcomer's stumbles, each fixed: `strategies create` with its own
/// `--config`, a negative size read as a number, unknown event types and
/// pairs refused naming what is valid, an unaffordable order explained.
#[actix_rt::test]
async fn a_newcomers_commands_work_or_say_exactly_why_not() {
    let state = temp_dir("cli-newcomer");
    let engine = EngineProcess::start(&state, &config()).await;
    let url = engine.url("/api/stream");

    // `--config` here is the strategy's JSON; the engine's TOML `--config`
    // is not an option of client commands any more.
    let out = laicai(
        &url,
        &[
            "strategies",
            "create",
            "--type",
            "grid",
            "--pair",
            "BTC-USDT",
            "--name",
            "g1",
            "--config",
            r#"{"lower_price":50000,"upper_price":54000,"order_amount":"0.001"}"#,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("created str-"),
        "{}",
        text(&out.stdout)
    );
    let out = laicai(
        &url,
        &[
            "strategies",
            "create",
            "--type",
            "pmm",
            "--pair",
            "BTC-USDT",
            "--name",
            "p1",
        ],
    );
    assert!(
        out.status.success(),
        "without --config: {}",
        text(&out.stderr)
    );
    let out = laicai(
        &url,
        &[
            "strategies",
            "create",
            "--type",
            "grid",
            "--pair",
            "BTC-USDT",
            "--name",
            "g2",
            "--config",
            "{}",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with("laicai: invalid_params: invalid `config.lower_price`"),
        "{}",
        text(&out.stderr)
    );

    let out = laicai(&url, &["order", "buy", "BTC-USDT", "-0.1"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr).trim(),
        "laicai: invalid_params: invalid `size`: must be greater than zero"
    );

    let out = laicai(&url, &["watch", "--types", "prce"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("laicai: --types: no event type prce; the types are "),
        "{err}"
    );
    assert!(
        err.contains("price") && err.contains("order_update"),
        "{err}"
    );
    let out = laicai(&url, &["watch", "--symbol", "BTCUSDT"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr).trim(),
        "laicai: --symbol: the engine trades no pair `BTCUSDT`; its pairs are BTC-USDT"
    );

    let out = laicai(&url, &["order", "buy", "BTC-USDT", "1000"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("laicai: insufficient_balance: insufficient USDT: a market buy of 1000 BTC, walking the book's asks ("),
        "{err}"
    );
    assert!(err.contains("USDT is free"), "{err}");
}

/// A client in a pipe stops quietly when its reader goes away.
#[actix_rt::test]
async fn watch_into_a_closed_pipe_ends_quietly() {
    let state = temp_dir("cli-pipe");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(["watch", "--url", &engine.url("/api/stream")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    // Like `| head -3`: read three lines, then close the pipe.
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).expect("a line");
        assert!(!line.is_empty());
    }
    drop(out);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "watch kept running into a closed pipe"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).ok();
    assert!(status.success(), "exit {status:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// Each subcommand's --help shows the options it uses, not the engine's.
#[test]
fn client_help_shows_only_client_options() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_laicai"))
            .args(args)
            .arg("--help")
            .output()
            .expect("help");
        assert!(out.status.success(), "{args:?}");
        text(&out.stdout)
    };
    for cmd in [
        vec!["status"],
        vec!["watch"],
        vec!["cmd"],
        vec!["order"],
        vec!["strategies"],
        vec!["strategies", "create"],
        vec!["watch-orders"],
    ] {
        let h = help(&cmd);
        for engine_only in ["--bind", "--state-dir", "--record"] {
            assert!(
                !h.contains(engine_only),
                "{cmd:?} --help lists {engine_only}:\n{h}"
            );
        }
        assert!(h.contains("--url"), "{cmd:?}:\n{h}");
    }
    assert!(help(&["strategies", "create"]).contains("--config <CONFIG>"));
    assert!(!help(&["status"]).contains("--config"));
    for engine in [vec![], vec!["serve"]] {
        let h = help(&engine);
        for flag in ["--bind", "--state-dir", "--record", "--config"] {
            assert!(h.contains(flag), "{engine:?} --help lacks {flag}:\n{h}");
        }
    }
}

/// The engine's log, written to a file, has no terminal colour codes.
#[actix_rt::test]
async fn the_engine_log_in_a_file_has_no_colour_codes() {
    let state = temp_dir("cli-log");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    c.ok(json!({"cmd": "get_system_status"})).await;
    let log = engine.stderr();
    assert!(log.contains("laicai listening"), "{log}");
    assert!(!log.contains('\x1b'), "ANSI codes in a log file: {log:?}");
}
