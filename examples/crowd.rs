//! Opens many WebSocket connections to a running engine and holds them,
//! to measure what idle or stalled clients cost it.
//!
//! ```sh
//! cargo run --release -- --config configs/fast-feed.toml &
//! cargo run --release --example crowd -- ws://127.0.0.1:8000/api/v1/websocket 1000 20
//! cargo run --release --example crowd -- ws://127.0.0.1:8000/api/stream 1 30   # one stalled reader
//! ```
//! Arguments: URL, number of connections, seconds to hold them. The
//! connections never read: on `/api/v1/websocket` (no subscriptions) they
//! are idle; on `/api/stream` they are stalled readers.

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:8000/api/v1/websocket".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let hold: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    actix_rt::System::new().block_on(async move {
        let mut held = Vec::new();
        let mut failed = 0;
        for _ in 0..n {
            match awc::Client::new().ws(&url).connect().await {
                Ok((_, conn)) => held.push(conn),
                Err(e) => {
                    failed += 1;
                    if failed == 1 {
                        eprintln!("connect failed: {e}");
                    }
                }
            }
        }
        println!(
            "open: {} connections ({failed} refused); holding {hold} s",
            held.len()
        );
        actix_rt::time::sleep(Duration::from_secs(hold)).await;
        drop(held);
    });
}
