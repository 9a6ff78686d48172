//! Resources run out, on loopback and bounded in time: the open-file
//! limit reached by connections, half-open handshakes held (slowloris),
//! and a 1 GiB request body. Each time the engine keeps trading, refuses
//! clearly what it cannot take, and recovers when the pressure goes.

mod common;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn config() -> String {
    format!(
        "[server]\nworkers = 1\nmax_messages_per_sec = 100000\n\
         [strategies]\nboot = []\n{}",
        btc_pair("")
    )
}

/// A far bid that rests: proof the engine still trades.
async fn trades(c: &mut Client) {
    let r = c
        .command(order("buy", "limit", "0.001", Some("30000")))
        .await;
    assert_eq!(r["success"], true, "{r}");
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[actix_rt::test]
async fn past_the_open_file_limit_connections_get_503_trading_goes_on_and_it_recovers() {
    let dir = temp_dir("fd-limit");
    let engine = EngineProcess::start_under(
        &["prlimit", "--nofile=200:200", "--"],
        &dir,
        &dir,
        &config(),
        &free_addr(),
    )
    .await;
    let mut trader = engine.client().await;
    trades(&mut trader).await;
    let mut held = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..120 {
        match Client::try_connect(&engine.url("/ws"), &[], &[]).await {
            Ok((c, _)) => held.push(c),
            Err(e) => refused.push(e),
        }
    }
    assert!(
        !refused.is_empty() && held.len() >= 50,
        "{} held, {} refused",
        held.len(),
        refused.len()
    );
    assert!(
        refused.iter().all(|e| e.contains("503")),
        "refused otherwise than with 503: {:?}",
        &refused[..refused.len().min(3)]
    );
    // It trades on with every descriptor it may have in use.
    for _ in 0..10 {
        trades(&mut trader).await;
    }
    let balances = trader.ok(json!({"cmd": "get_balances"})).await;
    assert!(balances["balances"].is_array());
    // When they leave, others are let in.
    let n = held.len();
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut back = Vec::new();
    while back.len() < n / 2 {
        assert!(Instant::now() < deadline, "{} of {n} back", back.len());
        match Client::try_connect(&engine.url("/ws"), &[], &[]).await {
            Ok((c, _)) => back.push(c),
            Err(_) => actix_rt::time::sleep(Duration::from_millis(50)).await,
        }
    }
    trades(&mut trader).await;
    assert!(
        engine.stderr().contains("the open-file limit is lower"),
        "the cap is not explained in the log"
    );
}

#[actix_rt::test]
async fn half_open_handshakes_are_dropped_and_do_not_stop_the_engine() {
    let dir = temp_dir("slowloris");
    let engine = EngineProcess::start_in(&dir, &dir, &config(), &free_addr()).await;
    let mut half_open = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(engine.addr()).expect("connect");
        s.write_all(b"GET /api/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
            .expect("half a request");
        s.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        half_open.push(s);
    }
    let mut c = engine.client().await;
    trades(&mut c).await;
    // The server drops them (actix's request timeout), never waiting on
    // them for good.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut buf = [0u8; 512];
        half_open.retain_mut(|s| match s.read(&mut buf) {
            Ok(0) => false,
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => true,
            Err(_) => false,
        });
        if half_open.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} half-open handshakes still held after 20 s",
            half_open.len()
        );
        trades(&mut c).await;
    }
    trades(&mut c).await;
}

#[actix_rt::test]
async fn a_gigabyte_body_is_answered_without_being_read_into_memory() {
    let dir = temp_dir("big-body");
    let engine = EngineProcess::start_in(&dir, &dir, &config(), &free_addr()).await;
    let before = rss_kb(engine.pid());
    let mut s = TcpStream::connect(engine.addr()).expect("connect");
    s.write_all(b"POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n")
        .expect("headers");
    s.set_read_timeout(Some(Duration::from_millis(5)))
        .expect("timeout");
    let chunk = vec![0u8; 1 << 20];
    let mut sent = 0usize;
    let mut answer = Vec::new();
    let started = Instant::now();
    // At most 256 MiB, or until the server has answered or closed.
    while sent < 256 << 20 && started.elapsed() < Duration::from_secs(30) {
        if s.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    let after = rss_kb(engine.pid());
    let status = String::from_utf8_lossy(&answer);
    assert!(
        status.starts_with("HTTP/1.1 4") || answer.is_empty(),
        "answered {status}"
    );
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} kB to {after} kB after {} MiB sent",
        sent >> 20
    );
    let mut c = engine.client().await;
    trades(&mut c).await;
    eprintln!(
        "a 1 GiB body: {} after {} MiB sent; RSS {before} → {after} kB",
        status.lines().next().unwrap_or("closed"),
        sent >> 20
    );
}
