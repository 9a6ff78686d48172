//! Running for weeks under a supervisor: the log as JSON lines, its level
//! changed by SIGHUP without a restart, `/api/health/live` and
//! `/api/health/ready` telling a supervisor what it needs, and the systemd
//! unit in deploy/ accepted by `systemd-analyze verify` where it exists.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn config(level: &str) -> String {
    format!(
        "[server]\nworkers = 1\n[engine]\nlog_level = \"{level}\"\n\
         [strategies]\nboot = []\n{}",
        btc_pair("")
    )
}

/// GET `path`: the status code and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (code, body)
}

/// Sends the engine SIGHUP.
fn hang_up(engine: &EngineProcess) {
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &engine.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hup.success());
}

/// Waits until the engine's log holds a line `wanted` accepts.
fn logged(engine: &EngineProcess, wanted: impl Fn(&str) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if engine.stderr().lines().any(&wanted) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[actix_rt::test]
async fn the_log_is_json_lines_and_sighup_changes_its_level_without_a_restart() {
    let dir = temp_dir("supervised");
    let engine = EngineProcess::start_under(
        &["env", "-u", "RUST_LOG", "LAICAI_LOG_FORMAT=json"],
        &dir,
        &dir,
        &config("warn"),
        &free_addr(),
    )
    .await;
    let mut c = engine.client().await;
    c.ok(json!({"cmd": "get_balances"})).await;
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let before = engine.stderr();
    assert!(
        !before.contains("session started"),
        "an info line at level warn: {before}"
    );
    // Every line is one JSON object with a level and a message.
    for line in before.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }

    std::fs::write(dir.join("test.toml"), config("info")).expect("rewrite the config");
    hang_up(&engine);
    assert!(
        logged(&engine, |l| l.contains("SIGHUP: log level applied")),
        "{}",
        engine.stderr()
    );
    let _second = engine.client().await;
    assert!(
        logged(&engine, |l| l.contains("session started")
            && serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["level"] == "INFO")),
        "no info line after SIGHUP: {}",
        engine.stderr()
    );
    // Still the same process, still trading.
    c.ok(order("buy", "limit", "0.001", Some("30000"))).await;
}

#[actix_rt::test]
async fn live_says_it_serves_and_ready_says_whether_it_can_work() {
    let dir = temp_dir("health");
    let engine = EngineProcess::start_in(&dir, &dir, &config("info"), &free_addr()).await;
    let (code, body) = get(engine.addr(), "/api/health/live");
    assert_eq!(code, 200, "{body}");
    let (code, body) = get(engine.addr(), "/api/health/ready");
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "ready"
    );

    let mut c = engine.client().await;
    c.ok(json!({"cmd": "stop_engine"})).await;
    let (code, body) = get(engine.addr(), "/api/health/ready");
    assert_eq!(code, 503, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert!(
        v["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("stopped")),
        "{v}"
    );
    assert_eq!(get(engine.addr(), "/api/health/live").0, 200);
    c.ok(json!({"cmd": "start_engine"})).await;
    assert_eq!(get(engine.addr(), "/api/health/ready").0, 200);
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: no systemd-analyze here");
        return;
    };
    assert!(out.status.success());
    let unit = std::fs::read_to_string("deploy/laicai.service").expect("deploy/laicai.service");
    assert!(unit.contains("/api/health/ready") && unit.contains("--log-format json"));
    // Verified with the binary where the unit expects the installed one.
    let dir = temp_dir("unit");
    let path = dir.join("laicai.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/laicai", env!("CARGO_BIN_EXE_laicai")),
    )
    .expect("write the unit");
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze verify");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

#[actix_rt::test]
async fn with_rust_log_set_sighup_changes_nothing_and_ends_nothing() {
    let dir = temp_dir("hup-fixed");
    let engine = EngineProcess::start_in(&dir, &dir, &config("info"), &free_addr()).await;
    hang_up(&engine);
    assert!(
        logged(&engine, |l| l.contains("RUST_LOG fixes the log level")),
        "{}",
        engine.stderr()
    );
    let mut c = engine.client().await;
    c.ok(json!({"cmd": "get_balances"})).await;
}
