//! The disk under the database fills up while orders flow, then is freed:
//! for real, on a small tmpfs the test mounts (it needs root, as CI has;
//! elsewhere it says it was skipped unless `LAICAI_REQUIRE_MOUNT` is set).
//! While the database cannot be written nothing is acknowledged that is
//! not durable, new orders and state-changing commands are refused with
//! `storage_unavailable`, an alert says why, `system_status` shows the
//! engine degraded, reads keep working; once space is freed the engine
//! resumes by itself and what was held is written, published once and
//! kept across a restart. A running strategy holds its quotes meanwhile,
//! without changing status, and quotes again afterwards. Run with the
//! fsync (the default) and without it (where the paper venue commits on
//! its own thread while it can).

mod common;

use common::degraded::*;
use common::*;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A tmpfs of a few MiB, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).expect("mount point");
        let done = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(at)
            .output();
        match done {
            Ok(out) if out.status.success() => Some(SmallDisk(at.to_path_buf())),
            other => {
                let why = format!("cannot mount a tmpfs (needs root): {other:?}");
                assert!(std::env::var_os("LAICAI_REQUIRE_MOUNT").is_none(), "{why}");
                eprintln!("skipped: {why}");
                None
            }
        }
    }

    /// Writes a ballast file until the filesystem is full.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("ballast");
        let mut f = std::fs::File::create(&path).expect("ballast");
        let chunk = vec![7u8; 64 * 1024];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-l"])
            .arg(&self.0)
            .status();
    }
}

fn config(fsync: bool) -> String {
    format!(
        "[server]\nworkers = 1\nmax_messages_per_sec = 100000\ncommand_timeout_ms = 1500\n\
         [engine]\nstatus_interval_ms = 60000\n\
         [storage]\nfsync = {fsync}\n\
         [strategies]\nboot = []\n{}",
        btc_pair("")
    )
}

#[actix_rt::test]
async fn a_full_disk_degrades_the_engine_safely_and_it_resumes_when_space_is_freed() {
    full_disk(true).await;
}

#[actix_rt::test]
async fn without_fsync_a_full_disk_degrades_and_resumes_the_same_way() {
    full_disk(false).await;
}

#[allow(
    clippy::too_many_lines,
    reason = "one scenario told in order: fill the disk, refuse, free it, resume, restart"
)]
async fn full_disk(fsync: bool) {
    let dir = temp_dir(if fsync {
        "storage-full"
    } else {
        "storage-full-no-fsync"
    });
    let Some(disk) = SmallDisk::mount(&dir.join("state")) else {
        return;
    };
    let engine = EngineProcess::start_in(&dir, &disk.0, &config(fsync), &free_addr()).await;
    let mut c = engine.client().await;
    let mm = start_quoting_pmm(&mut c).await;
    let quote_of = |v: &serde_json::Value| is_quote_of(&mm, v);
    c.ok(bid(0)).await;
    let ballast = disk.fill();

    // Orders until the engine says the database cannot be written.
    let mut acked = vec!["c-0".to_string()];
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = 1;
    let refusal = loop {
        assert!(
            Instant::now() < deadline,
            "the disk is full and orders are still acknowledged"
        );
        let r = c.command(bid(i)).await;
        match (r["success"].as_bool(), r["error"].as_str()) {
            (Some(true), _) => acked.push(format!("c-{i}")),
            // In flight when the write failed: neither acknowledged nor
            // refused; it is decided once the disk can be written.
            (_, Some("timeout")) => held.push(format!("c-{i}")),
            (_, Some("storage_unavailable")) => break r,
            _ => panic!("unexpected answer {r}"),
        }
        i += 1;
    };
    eprintln!(
        "disk full: {} orders acknowledged, {} held in flight, then refused",
        acked.len(),
        held.len()
    );
    assert!(
        refusal["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot be written")),
        "{refusal}"
    );
    wait_for_alert(&mut c, "cannot be written").await;
    wait_until_degraded(&mut c).await;
    // The strategy holds: no quote is placed (or published) while the
    // database cannot be written, though it requotes every second, and
    // it is still running. (What arrived before the engine said so is
    // set aside.)
    c.forget();
    assert!(
        c.try_wait_for(Duration::from_millis(2500), quote_of)
            .await
            .is_none(),
        "the strategy quoted while the database could not be written"
    );
    let strategies = c.ok(json!({"cmd": "get_strategies"})).await;
    assert!(
        strategies["strategies"].as_array().is_some_and(|l| l
            .iter()
            .any(|s| s["id"] == json!(mm) && s["status"] == "running")),
        "{strategies}"
    );
    // Reads work; what changes state is refused, at once.
    let status = c.ok(json!({"cmd": "get_system_status"})).await;
    assert!(status["degraded"].is_string(), "{status}");
    c.ok(json!({"cmd": "get_balances"})).await;
    let listed = c.ok(json!({"cmd": "get_orders", "limit": 1000})).await;
    for refused in [
        bid(i),
        json!({"cmd": "cancel_all_orders"}),
        json!({"cmd": "create_strategy", "name": "x", "type": "pmm", "pair": "BTC-USDT"}),
    ] {
        let r = c.command(refused.clone()).await;
        assert_eq!(r["error"], "storage_unavailable", "{refused} → {r}");
    }
    // Nothing acknowledged is missing from what is listed.
    for a in &acked {
        assert!(
            client_order_ids(&listed).contains(a),
            "{a} acknowledged but not listed"
        );
    }

    // Space comes back: the engine resumes by itself.
    std::fs::remove_file(&ballast).expect("free the disk");
    wait_for_alert(&mut c, "can be written again").await;
    let status = c.ok(json!({"cmd": "get_system_status"})).await;
    assert!(status["degraded"].is_null(), "{status}");
    c.ok(bid(10_000)).await;
    c.wait_for("the strategy quoting again", quote_of).await;
    // What was held is written and published, each once.
    for h in &held {
        assert_published_once_as_open(&mut c, h).await;
    }
    let listed = c.ok(json!({"cmd": "get_orders", "limit": 1000})).await;
    drop(c);
    let addr = engine.addr().to_string();
    assert_eq!(engine.terminate(), Some(0));

    // And it is all on disk.
    let engine = EngineProcess::start_in(&dir, &disk.0, &config(fsync), &addr).await;
    let mut c = engine.client().await;
    let after = c.ok(json!({"cmd": "get_orders", "limit": 1000})).await;
    let (before, after) = (client_order_ids(&listed), client_order_ids(&after));
    for id in acked.iter().chain(&held) {
        assert!(after.contains(id), "{id} lost across the restart");
    }
    assert_eq!(before.len(), after.len(), "{before:?} vs {after:?}");
    drop(c);
    assert_eq!(engine.terminate(), Some(0));
}
