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
//! trade, the account, the open order deleted, the risk memory).
//!
//! Two passes. The first has no checkpointer, so the log only grows and
//! its growth per commit is exact (each fsync then also records the
//! file's new size). The second checkpoints as the engine does: the
//! checkpointer beside the commits, and the writer finishing what it left
//! between two commits, so the log is written from its start again, over
//! pages the file already has.

use laicai::typical_order;
use laicai_actors::storage::{checkpoint, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-store-commit");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    let mut store = Store::open(&dir.join("growing.db"))?;
    store.stop_auto_checkpoint()?;
    let wal = dir.join("growing.db-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    warm(&mut store)?;
    let before = wal_len();
    let took = commits(&mut store, orders, None)?;
    let grown = wal_len() - before;
    let page = 4096 + 24;
    println!(
        "schema {}, no checkpointer (the log grows): {orders} commits, {}, WAL {:.2} pages/commit in all",
        store.schema_version()?,
        percentiles(took),
        grown as f64 / page as f64 / orders as f64,
    );

    let mut store = Store::open(&dir.join("checkpointed.db"))?;
    let alive = Arc::new(());
    let behind = checkpoint::start(&mut store, Arc::downgrade(&alive))?;
    warm(&mut store)?;
    let took = commits(&mut store, orders, Some(&behind))?;
    println!(
        "schema {}, the engine's checkpointer beside: {orders} commits, {}",
        store.schema_version()?,
        percentiles(took),
    );
    Ok(())
}

/// Warms the tables and the statement cache.
fn warm(store: &mut Store) -> Result<(), Box<dyn std::error::Error>> {
    for n in 0..200 {
        store.write(&typical_order::records(n, n.is_multiple_of(3))?)?;
    }
    Ok(())
}

/// `orders` commits, one order each, timed; the tables follow every
/// 50 ms, as the storage thread has them, and with `behind` the writer
/// finishes the checkpointer's passes between two commits (not timed).
fn commits(
    store: &mut Store,
    orders: usize,
    behind: Option<&checkpoint::Behind>,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut took = Vec::with_capacity(orders);
    let mut applied = Instant::now();
    for n in 200..200 + orders {
        let b = typical_order::records(n, n.is_multiple_of(3))?;
        let started = Instant::now();
        store.append(&b)?;
        took.push(started.elapsed());
        if applied.elapsed().as_millis() >= 50 {
            store.apply()?;
            applied = Instant::now();
        }
        if let Some(behind) = behind {
            checkpoint::finish(store, behind);
        }
    }
    store.apply()?;
    Ok(took)
}

fn percentiles(mut took: Vec<Duration>) -> String {
    took.sort();
    let us = |p: usize| took[(took.len() * p / 100).min(took.len() - 1)].as_secs_f64() * 1e6;
    format!("p50 {:.1} µs, p99 {:.1} µs", us(50), us(99))
}
