//! `laicai bench throughput`: durable order throughput. N clients each
//! keep one command in flight — place a resting bid, wait for its answer,
//! cancel it, wait — against the engine with `fsync` on and off, for each
//! N. Prints orders placed a second, the fsync-on/off ratio (group commit
//! must amortise the flush as N grows), and the storage thread's batch
//! size (records per commit, from /metrics).

use super::clients::{connect, Socket};
use super::server::{EngineSetup, ServerProcess};
use super::BenchError;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub(crate) struct ThroughputArgs {
    /// Client counts, each measured with fsync off and on.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    clients: Vec<usize>,
    /// Seconds measured for each.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

/// One measurement.
struct Run {
    orders_per_s: f64,
    records_per_commit: f64,
    commits_per_s: f64,
}

pub(super) async fn throughput(a: ThroughputArgs) -> Result<(), BenchError> {
    if a.clients.is_empty() || a.clients.contains(&0) || a.seconds == 0 {
        return Err(BenchError::Bad(
            "--clients must list counts above 0 and --seconds be above 0".into(),
        ));
    }
    println!(
        "durable throughput: N clients each keeping one command in flight (place a resting bid, cancel it), \
         {} s each, fsync off then on",
        a.seconds
    );
    println!("\n| N | fsync off: orders/s | fsync on: orders/s | on / off | commits/s (on) | records per commit (on) | records per commit (off) |");
    println!("|---|---|---|---|---|---|---|");
    for &n in &a.clients {
        let off = measure(n, false, a.seconds).await?;
        let on = measure(n, true, a.seconds).await?;
        println!(
            "| {n} | {:.0} | {:.0} | {:.2}× | {:.0} | {:.1} | {:.1} |",
            off.orders_per_s,
            on.orders_per_s,
            on.orders_per_s / off.orders_per_s.max(1e-9),
            on.commits_per_s,
            on.records_per_commit,
            off.records_per_commit
        );
    }
    Ok(())
}

async fn measure(n: usize, fsync: bool, seconds: u64) -> Result<Run, BenchError> {
    let mut setup = EngineSetup::new(1.0, n + 16);
    setup.fsync = fsync;
    let server = ServerProcess::engine(&setup)?;
    // Subscribed to nothing: each client hears its own answers only, so
    // what is measured is the order path, not the fan-out of everyone's
    // events to everyone.
    let url = server.url("/api/v1/websocket");
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(connect(&url).await?);
    }
    let placed = Arc::new(AtomicU64::new(0));
    let warm_until = Instant::now() + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs(seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(cycle(ws, i, placed.clone(), warm_until, until)))
        .collect();
    tokio::time::sleep_until(warm_until.into()).await;
    let before = storage_counters(server.addr).await;
    tokio::time::sleep_until(until.into()).await;
    let after = storage_counters(server.addr).await;
    let orders = placed.load(Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    let commits = (after.0 - before.0).max(1.0);
    Ok(Run {
        orders_per_s: orders as f64 / seconds as f64,
        records_per_commit: (after.1 - before.1) / commits,
        commits_per_s: commits / seconds as f64,
    })
}

/// Place, wait, cancel, wait, again; counts placements in the window.
async fn cycle(mut ws: Socket, i: usize, placed: Arc<AtomicU64>, from: Instant, until: Instant) {
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let place = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                           "size": "0.001", "price": "30000", "request_id": format!("p{i}-{n}")});
        let Some(answer) = ask(&mut ws, place).await else {
            return;
        };
        let Some(id) = answer["order_id"].as_str().map(str::to_string) else {
            return;
        };
        if Instant::now() > from && Instant::now() < until {
            placed.fetch_add(1, Ordering::Relaxed);
        }
        let cancel =
            json!({"cmd": "cancel_order", "order_id": id, "request_id": format!("c{i}-{n}")});
        if ask(&mut ws, cancel).await.is_none() {
            return;
        }
    }
}

/// Sends a command and reads until its answer.
async fn ask(ws: &mut Socket, cmd: Value) -> Option<Value> {
    let id = cmd["request_id"].clone();
    ws.send(Message::text(cmd.to_string())).await.ok()?;
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(t.as_str()).ok()?;
        if v["type"] == "response" && v["request_id"] == id {
            return Some(v);
        }
    }
    None
}

/// (commits, records) from /metrics.
async fn storage_counters(addr: std::net::SocketAddr) -> (f64, f64) {
    let read = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).await.ok()?;
        Some(text)
    };
    let text = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("laicai_storage_commits_total"),
        value("laicai_storage_records_total"),
    )
}
