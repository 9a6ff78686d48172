//! What one group commit costs the database: the time a typical order's
//! commit (its journal row) takes with `synchronous = FULL`, and the pages
//! appended to the write-ahead log per commit, counting the tables brought
//! up to date behind it every 50 ms, on the schema this build writes.
//!
//! ```sh
//! cargo bench --bench store_commit            # 3000 orders, a third filled
//! cargo bench --bench store_commit -- 20000
//! ```
//! Each order is one commit: the order as placed, the paper account and
//! the open order's state; every third also fills (the order filled, its
//! trade, the account, the open order deleted, the risk memory). The
//! checkpointer is off, so the log only grows and its growth per commit
//! is exact.

use laicai_actors::storage::{Kind, Record, Store};
use laicai_core::wire::events::{OrderView, TradeView};
use serde_json::json;
use std::time::Instant;

fn order(n: usize, status: &str) -> OrderView {
    serde_json::from_value(json!({
        "orderId": format!("ORD-{n:06}"), "client_order_id": format!("c-{n}"),
        "status": status, "filled": if status == "filled" { "0.01" } else { "0" },
        "remaining": if status == "filled" { "0" } else { "0.01" },
        "price": "52000.10", "symbol": "BTC-USDT", "side": "buy", "order_type": "limit",
        "strategy": "MM", "strategy_id": "str-001", "exchange": "paper",
        "reason": null, "size": "0.01", "avg_price": null, "fees": "0",
        "time_in_force": "gtc", "post_only": false,
        "created_at": "2026-12-05T00:00:00Z", "updated_at": "2026-12-05T00:00:00Z"
    }))
    .expect("an order view")
}

fn trade(n: usize) -> TradeView {
    serde_json::from_value(json!({
        "trade_id": format!("T-{n}"), "order_id": format!("ORD-{n:06}"), "symbol": "BTC-USDT",
        "price": "52000.10", "amount": "0.01", "side": "buy", "fee": "0.00001",
        "fee_asset": "BTC", "liquidity": "maker", "strategy": "MM", "strategy_id": "str-001",
        "exchange": "paper", "time": "2026-12-05T00:00:00Z"
    }))
    .expect("a trade view")
}

fn blob(kind: Kind, key: String, bytes: usize) -> Record {
    Record::Put {
        kind,
        key,
        value: format!("{{\"pad\":\"{}\"}}", "x".repeat(bytes)),
    }
}

fn batch(n: usize) -> Vec<Record> {
    let at_ms = 1_796_000_000_000 + n as i64;
    let mut b = vec![
        Record::Order {
            view: order(n, "open"),
            at_ms,
        },
        blob(Kind::Paper, "paper".into(), 400),
        blob(Kind::PaperOrder, format!("paper/ORD-{n:06}"), 300),
        Record::Seq(n as u64 * 3),
    ];
    if n.is_multiple_of(3) {
        b.extend([
            Record::Order {
                view: order(n, "filled"),
                at_ms,
            },
            Record::Trade {
                view: trade(n),
                at_ms,
            },
            Record::Delete {
                kind: Kind::PaperOrder,
                key: format!("paper/ORD-{n:06}"),
            },
            blob(Kind::Risk, "memory".into(), 600),
        ]);
    }
    b
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-store-commit");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("laicai.db");
    let mut store = Store::open(&db)?;
    store.stop_auto_checkpoint()?;
    let wal = dir.join("laicai.db-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    // Warm the tables and the statement cache.
    for n in 0..200 {
        store.write(&batch(n))?;
    }
    let before = wal_len();
    let mut took = Vec::with_capacity(orders);
    let mut applied = Instant::now();
    for n in 200..200 + orders {
        let b = batch(n);
        let started = Instant::now();
        store.append(&b)?;
        took.push(started.elapsed());
        // As the storage thread does: the tables follow every 50 ms.
        if applied.elapsed().as_millis() >= 50 {
            store.apply()?;
            applied = Instant::now();
        }
    }
    store.apply()?;
    let grown = wal_len() - before;
    took.sort();
    let page = 4096 + 24;
    println!(
        "schema {}: {orders} commits, p50 {:.1} µs, p99 {:.1} µs, WAL {:.2} pages/commit in all",
        store.schema_version()?,
        took[took.len() / 2].as_secs_f64() * 1e6,
        took[took.len() * 99 / 100].as_secs_f64() * 1e6,
        grown as f64 / page as f64 / orders as f64,
    );
    Ok(())
}
