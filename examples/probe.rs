//! Measures a running engine from one WebSocket client: events per second
//! received, and the `place_order` → `order_update` round trip.
//!
//! ```sh
//! cargo run --release -- --config configs/fast-feed.toml &   # or any engine
//! cargo run --release --example probe -- ws://127.0.0.1:8000/api/stream 10 200
//! ```
//! Arguments: URL, seconds to count events, number of round trips.

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

type Conn = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

async fn next_json(conn: &mut Conn) -> Option<Value> {
    loop {
        match conn.next().await? {
            Ok(ws::Frame::Text(b)) => return serde_json::from_slice(&b).ok(),
            Ok(ws::Frame::Ping(p)) => {
                let _ = conn.send(ws::Message::Pong(p)).await;
            }
            Ok(ws::Frame::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[actix_rt::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:8000/api/stream".into());
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let trips: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
    let (_, mut conn) = awc::Client::new()
        .ws(&url)
        .max_frame_size(64 << 20)
        .connect()
        .await
        .expect("connect");

    // 1. Events per second.
    let start = Instant::now();
    let mut count = 0u64;
    let mut by_type: HashMap<String, u64> = HashMap::new();
    let mut best_bid = None;
    while start.elapsed() < Duration::from_secs(seconds) {
        let Some(e) = next_json(&mut conn).await else {
            break;
        };
        count += 1;
        let t = e["type"].as_str().unwrap_or("?").to_string();
        if t == "price" && e["symbol"] == "BTC-USDT" {
            best_bid = e["bid"].as_f64();
        }
        *by_type.entry(t).or_default() += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "events received: {count} in {secs:.1} s = {:.0} events/s",
        count as f64 / secs
    );
    let mut kinds: Vec<_> = by_type.into_iter().collect();
    kinds.sort();
    println!("by type: {kinds:?}");

    // 2. place_order -> order_update round trip (limit far below the market, then cancel).
    let price = (best_bid.unwrap_or(52_000.0) * 0.9).floor();
    let mut rtts = Vec::with_capacity(trips);
    // Client order ids are unique per run: an id still open from an earlier
    // run would be refused as a duplicate.
    let run = std::process::id();
    for i in 0..trips {
        let rid = format!("p{run}-{i}");
        let cmd = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                         "price": price, "size": 0.001, "client_order_id": rid, "request_id": rid});
        let sent = Instant::now();
        conn.send(ws::Message::Text(cmd.to_string().into()))
            .await
            .expect("send");
        let order_id = loop {
            let Some(e) = next_json(&mut conn).await else {
                panic!("connection closed")
            };
            if e["type"] == "response" && e["request_id"] == json!(rid) && e["success"] != true {
                panic!("place_order refused: {e}");
            }
            if e["type"] == "order_update" && e["client_order_id"] == json!(rid) {
                rtts.push(sent.elapsed());
                break e["orderId"].as_str().map(str::to_string);
            }
        };
        let cancel =
            json!({"cmd": "cancel_order", "order_id": order_id, "request_id": format!("c-{i}")});
        conn.send(ws::Message::Text(cancel.to_string().into()))
            .await
            .expect("send");
    }
    rtts.sort();
    println!(
        "place_order -> order_update over {} orders: p50 {:?}, p99 {:?}, max {:?}",
        rtts.len(),
        percentile(&rtts, 0.5),
        percentile(&rtts, 0.99),
        rtts[rtts.len() - 1]
    );
}
