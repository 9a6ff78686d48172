//! Orders per second through the whole engine with every order durable
//! before it is acknowledged, with `storage.fsync` on (each group commit
//! waits for the disk) and off (it waits for the OS only), in one run.
//!
//! ```sh
//! cargo bench --bench durability            # 4000 orders, 1 and 64 in flight
//! cargo bench --bench durability -- 20000   # more orders
//! ```
//! Each mode starts the real engine in this process on a loopback port
//! with its database under `target/`, and one WebSocket client places
//! market orders (each fills: an order, a trade and the account are
//! stored) with a fixed number in flight.

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use laicai::config::Config;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

type Conn = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

async fn next_json(conn: &mut Conn) -> Option<Value> {
    loop {
        match conn.next().await? {
            Ok(ws::Frame::Text(b)) => return serde_json::from_slice(&b).ok(),
            Ok(ws::Frame::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

struct Outcome {
    orders_per_sec: f64,
    p50: Duration,
    p99: Duration,
    batches: u64,
    records: u64,
    commit_micros: u64,
}

async fn run(fsync: bool, orders: usize, in_flight: usize) -> Outcome {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-durability")
        .join(format!("{fsync}-{in_flight}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nworkers = 1\nmax_messages_per_sec = 1000000\n\
         [strategies]\nboot = []\n[paper.balances]\nUSDT = \"100000000\"\nBTC = \"10000\"\n\
         [storage]\npath = \"{}\"\nfsync = {fsync}\n",
        dir.join("laicai.db").display()
    );
    let config = Config::from_layers(&[("bench.toml", &config)]).expect("bench config");
    let running = laicai::start(config).await.expect("engine starts");
    let (addr, storage) = (running.addr, running.storage.clone());
    let handle = running.server.clone();
    let (_, mut conn) = awc::Client::new()
        .ws(format!("ws://{addr}/api/v1/websocket"))
        .max_frame_size(64 << 20)
        .connect()
        .await
        .expect("connect");

    let stats = storage.stats();
    let base = (
        stats.batches.load(Ordering::Relaxed),
        stats.records.load(Ordering::Relaxed),
        stats.commit_micros.load(Ordering::Relaxed),
    );
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let mut latencies = Vec::with_capacity(orders);
    let (mut sent, mut done) = (0, 0);
    let start = Instant::now();
    while done < orders {
        while sent < orders && sent - done < in_flight {
            let side = if sent % 2 == 0 { "buy" } else { "sell" };
            let rid = format!("b-{sent}");
            let cmd = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": side,
                             "type": "market", "size": "0.001", "request_id": rid});
            sent_at.insert(rid, Instant::now());
            conn.send(ws::Message::Text(cmd.to_string().into()))
                .await
                .expect("send");
            sent += 1;
        }
        let Some(v) = next_json(&mut conn).await else {
            panic!("the engine closed the connection");
        };
        if v["type"] == "response" {
            assert_eq!(v["success"], true, "{v}");
            if let Some(t) = v["request_id"].as_str().and_then(|r| sent_at.remove(r)) {
                latencies.push(t.elapsed());
            }
            done += 1;
        }
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pick = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let outcome = Outcome {
        orders_per_sec: orders as f64 / elapsed.as_secs_f64(),
        p50: pick(0.5),
        p99: pick(0.99),
        batches: stats.batches.load(Ordering::Relaxed) - base.0,
        records: stats.records.load(Ordering::Relaxed) - base.1,
        commit_micros: stats.commit_micros.load(Ordering::Relaxed) - base.2,
    };
    handle.stop(false).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

fn main() {
    let orders: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(4000);
    let system = actix_rt::System::new();
    system.block_on(async move {
        println!(
            "{orders} market orders per mode, each durable before its answer\n\
             {:<10} {:>9} {:>12} {:>10} {:>10} {:>9} {:>13} {:>12}",
            "fsync",
            "in flight",
            "orders/s",
            "p50 ms",
            "p99 ms",
            "commits",
            "orders/commit",
            "ms/commit"
        );
        for in_flight in [1, 64] {
            let mut rates = Vec::new();
            for fsync in [true, false] {
                let o = run(fsync, orders, in_flight).await;
                println!(
                    "{:<10} {:>9} {:>12.0} {:>10.3} {:>10.3} {:>9} {:>13.1} {:>12.3}",
                    fsync,
                    in_flight,
                    o.orders_per_sec,
                    o.p50.as_secs_f64() * 1e3,
                    o.p99.as_secs_f64() * 1e3,
                    o.batches,
                    orders as f64 / o.batches.max(1) as f64,
                    o.commit_micros as f64 / 1e3 / o.batches.max(1) as f64,
                );
                let _ = o.records;
                rates.push(o.orders_per_sec);
            }
            println!(
                "  fsync on / off at {in_flight} in flight: {:.2}×",
                rates[0] / rates[1]
            );
        }
    });
}
