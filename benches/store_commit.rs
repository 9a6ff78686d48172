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

use laicai::typical_order;
use laicai_actors::storage::Store;
use std::time::Instant;

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
        store.write(&typical_order::records(n, n.is_multiple_of(3))?)?;
    }
    let before = wal_len();
    let mut took = Vec::with_capacity(orders);
    let mut applied = Instant::now();
    for n in 200..200 + orders {
        let b = typical_order::records(n, n.is_multiple_of(3))?;
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
