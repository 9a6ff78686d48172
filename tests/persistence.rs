//! Restarts of the real binary: a clean stop (SIGTERM) and a crash
//! (`kill -9` mid-stream). Whatever a client was told happened — orders
//! acknowledged, fills reported — is there afterwards, exactly once, and
//! the balances are the starting balances plus the stored fills.

mod common;

use common::*;
use laicai_core::Decimal;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn config() -> String {
    format!(
        "[server]\nworkers = 1\nmax_messages_per_sec = 100000\n\
         [strategies]\nboot = []\nallow_test_strategies = true\n{}",
        btc_pair("")
    )
}

/// Far below the market: rests and never fills.
const FAR_BID: &str = "30000";

/// Everything a client can ask about the account's history and state,
/// with positions' marks left out (the market moves on).
async fn everything(c: &mut Client) -> Value {
    let orders = c.ok(json!({"cmd": "get_orders", "limit": 100000})).await;
    let trades = c.ok(json!({"cmd": "get_trades", "limit": 100000})).await;
    let balances = c.ok(json!({"cmd": "get_balances"})).await;
    let positions = c.ok(json!({"cmd": "get_positions"})).await;
    let export = c.ok(json!({"cmd": "export_trades"})).await;
    let positions: Vec<Value> = positions["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .map(|p| {
            json!({
                "symbol": p["symbol"], "size": p["size"], "side": p["side"],
                "entry_price": p["entry_price"], "realized_pnl": p["realized_pnl"],
                "strategy_id": p["strategy_id"], "exchange": p["exchange"],
            })
        })
        .collect();
    json!({
        "orders": orders["orders"],
        "trades": trades["trades"],
        "balances": balances["balances"],
        "positions": positions,
        "csv": export["csv"],
    })
}

#[actix_rt::test]
async fn a_clean_restart_gives_back_everything_exactly() {
    let state = temp_dir("clean-restart");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    c.ok(order("buy", "market", "0.0123", None)).await;
    c.ok(order("sell", "market", "0.005", None)).await;
    let resting = c.ok(order("buy", "limit", "0.01", Some(FAR_BID))).await;
    let canceled = c.ok(order("buy", "limit", "0.02", Some("31000.5"))).await;
    c.ok(json!({"cmd": "cancel_order", "order_id": canceled["order_id"]}))
        .await;
    let before = everything(&mut c).await;
    assert_eq!(before["orders"].as_array().map(Vec::len), Some(4));
    assert!(before["trades"].as_array().is_some_and(|t| t.len() >= 2));
    let last_seq_before = last_seen(&mut c).await;
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    let snapshot = c.wait_for("snapshot", |v| v["type"] == "snapshot").await;
    let after = everything(&mut c).await;
    assert_eq!(after, before, "state after a clean restart");
    // The resting order is in the book again and in the snapshot.
    let open: Vec<&Value> = snapshot["orders"]
        .as_array()
        .expect("snapshot orders")
        .iter()
        .collect();
    assert_eq!(open.len(), 1, "{snapshot}");
    assert_eq!(open[0]["orderId"], resting["order_id"]);
    let (_, used, _) = balance(&after, "USDT");
    assert!(used > Decimal::ZERO, "the resting bid still holds its USDT");
    // seq continues above anything seen before.
    // Above every seq seen before, within one lease of it (the last
    // run's stored ceiling is where numbering resumes).
    let seq_after = snapshot["seq"].as_u64().expect("snapshot seq");
    assert!(
        seq_after > last_seq_before,
        "{seq_after} ≤ {last_seq_before}"
    );
    assert!(
        seq_after < last_seq_before + laicai_actors::registry::SEQ_LEASE,
        "{seq_after} jumped more than a lease past {last_seq_before}"
    );
    // It can still be canceled, and new ids do not collide with old ones.
    c.ok(json!({"cmd": "cancel_order", "order_id": resting["order_id"]}))
        .await;
    let placed = c.ok(order("buy", "limit", "0.01", Some(FAR_BID))).await;
    let ids: BTreeSet<&str> = before["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["orderId"].as_str())
        .collect();
    assert!(!ids.contains(placed["order_id"].as_str().unwrap_or("")));
    let (_, used, _) = balance(&c.ok(json!({"cmd": "get_balances"})).await, "USDT");
    assert_eq!(used, d("0.01") * d(FAR_BID) * d("1.001"));
}

#[actix_rt::test]
async fn after_kill_9_mid_stream_every_acknowledged_order_and_fill_is_there_once() {
    let state = temp_dir("crash");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    let start = c.ok(json!({"cmd": "get_balances"})).await;
    let totals_at_start: BTreeMap<String, Decimal> = start["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["asset"].as_str().unwrap().to_string(), dec(&b["total"])))
        .collect();

    // A stream of orders, 100 in flight at a time; the engine dies
    // while it is answering them.
    let n = 3000;
    let in_flight = 100;
    let (mut sent, mut answered) = (0, 0);
    let mut acknowledged = BTreeSet::new();
    let mut reported_trades = BTreeMap::new();
    let mut max_seq = 0;
    let mut engine = Some(engine);
    loop {
        while engine.is_some() && sent < n && sent - answered < in_flight {
            let mut o = match sent % 4 {
                0 => order("buy", "market", "0.002", None),
                1 => order("sell", "market", "0.001", None),
                2 => order("buy", "limit", "0.001", Some(FAR_BID)),
                _ => order("buy", "market", "0.00117", None),
            };
            o["request_id"] = json!(format!("crash-{sent}"));
            c.send_text(&o.to_string()).await;
            sent += 1;
        }
        let Some(frame) = c.next(Duration::from_secs(5)).await else {
            break;
        };
        max_seq = max_seq.max(frame["seq"].as_u64().unwrap_or(0));
        match frame["type"].as_str() {
            Some("response") => {
                answered += 1;
                assert_eq!(frame["success"], true, "{frame}");
                let id = frame["order_id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{frame}"));
                acknowledged.insert(id.to_string());
                if acknowledged.len() == n / 10 {
                    if let Some(e) = engine.take() {
                        e.kill9();
                    }
                }
            }
            Some("trade") => {
                let mut t = frame.clone();
                if let Some(o) = t.as_object_mut() {
                    for envelope in ["type", "seq", "timestamp"] {
                        o.remove(envelope);
                    }
                }
                let id = t["trade_id"].as_str().unwrap_or_else(|| panic!("{frame}"));
                reported_trades.insert(id.to_string(), t);
            }
            _ => {}
        }
    }
    assert!(
        engine.is_none(),
        "not killed: {} acknowledged",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= n / 10 && acknowledged.len() < n,
        "{} acknowledged",
        acknowledged.len()
    );
    assert!(!reported_trades.is_empty());

    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    let snapshot = c.wait_for("snapshot", |v| v["type"] == "snapshot").await;
    assert!(
        snapshot["seq"].as_u64().unwrap_or(0) > max_seq,
        "seq went back: {} after {max_seq}",
        snapshot["seq"]
    );
    let open_count = audit(&mut c, &totals_at_start, &acknowledged, &reported_trades).await;

    // Each of them is really back in the book: they all cancel, and
    // release exactly what they held.
    assert!(open_count > 0);
    let cancelled = c.ok(json!({"cmd": "cancel_all_orders"})).await;
    assert_eq!(cancelled["cancelled_count"], json!(open_count));
    let (_, used, _) = balance(&c.ok(json!({"cmd": "get_balances"})).await, "USDT");
    assert_eq!(used, Decimal::ZERO);

    // And it trades on.
    c.ok(order("buy", "market", "0.001", None)).await;
}

/// Its open orders on the paper venue.
async fn open_orders_of(c: &mut Client, id: &str) -> usize {
    let r = c
        .ok(json!({"cmd": "get_orders", "strategy": id, "status": "open"}))
        .await;
    r["count"].as_u64().unwrap_or(0) as usize
}

#[actix_rt::test]
async fn strategies_come_back_as_they_were_and_resume_only_when_asked() {
    let state = temp_dir("strategy-restart");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    // Wide spreads: it quotes but never fills.
    let created = c
        .ok(json!({"cmd": "create_strategy", "name": "Wide MM", "type": "pmm", "pair": "BTC-USDT",
                   "config": {"bid_spread": 5, "ask_spread": 5, "order_amount": "0.001", "order_refresh_time": 60}}))
        .await;
    let id = created["instance_id"]
        .as_str()
        .expect("instance_id")
        .to_string();
    let idle = c
        .ok(json!({"cmd": "create_strategy", "name": "Idle grid", "type": "grid", "pair": "BTC-USDT",
                   "config": {"lower_price": 40000, "upper_price": 45000, "grid_levels": 4, "order_amount": "0.001"}}))
        .await;
    let idle = idle["instance_id"]
        .as_str()
        .expect("instance_id")
        .to_string();
    c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    c.wait_for("its two quotes", |v| {
        v["type"] == "order_update" && v["strategy_id"] == json!(id) && v["status"] == "open"
    })
    .await;
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let quotes = open_orders_of(&mut c, &id).await;
    assert_eq!(quotes, 2);
    let before = strategy(&mut c, &id).await;
    let idle_before = strategy(&mut c, &idle).await;
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    // Back, running again, same id, name, config and record; its resting
    // quotes are its own again.
    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    let after = strategy(&mut c, &id).await;
    for field in [
        "id",
        "name",
        "type",
        "exchange",
        "pair",
        "config",
        "created_at",
        "restarts",
        "trades",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert_eq!(after["status"], "running");
    assert_eq!(strategy(&mut c, &idle).await, idle_before);
    // New strategies do not reuse its id.
    let third = c
        .ok(
            json!({"cmd": "create_strategy", "name": "Third", "type": "twap", "pair": "BTC-USDT",
                   "config": {"side": "buy", "total_size": "0.01", "duration_s": 60, "slices": 2}}),
        )
        .await;
    assert!(third["instance_id"] != json!(id) && third["instance_id"] != json!(idle));
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    // With resume_strategies = false it comes back stopped, and what it
    // left resting is cancelled.
    let no_resume = format!("{}\n[storage]\nresume_strategies = false\n", config());
    let engine = EngineProcess::start(&state, &no_resume).await;
    let mut c = engine.client().await;
    assert_eq!(strategy(&mut c, &id).await["status"], "stopped");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while open_orders_of(&mut c, &id).await > 0 {
        assert!(std::time::Instant::now() < deadline, "its quotes stay open");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn an_engaged_kill_switch_stays_engaged_across_a_restart() {
    let state = temp_dir("kill-restart");
    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    c.ok(json!({"cmd": "kill_switch", "mode": "pause", "reason": "test"}))
        .await;
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    let limits = c.ok(json!({"cmd": "get_risk_limits"})).await;
    assert_eq!(limits["kill_switch"]["mode"], "pause", "{limits}");
    let refused = c.command(order("buy", "market", "0.001", None)).await;
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(refused["error"], "risk_rejected", "{refused}");
    c.ok(json!({"cmd": "reset_kill_switch"})).await;
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    let engine = EngineProcess::start(&state, &config()).await;
    let mut c = engine.client().await;
    let limits = c.ok(json!({"cmd": "get_risk_limits"})).await;
    assert!(limits["kill_switch"].is_null(), "{limits}");
    c.ok(order("buy", "market", "0.001", None)).await;
}

#[actix_rt::test]
async fn the_days_loss_counts_on_across_a_restart() {
    let state = temp_dir("daily-loss-restart");
    let config = format!("{}[risk.account]\nmax_daily_loss = \"5\"\n", config());
    let engine = EngineProcess::start(&state, &config).await;
    let mut c = engine.client().await;
    round_trip(&mut c).await;
    // Flat again: what is left is realized, fees and spread — the market
    // restarting elsewhere cannot move it.
    let before = c.ok(json!({"cmd": "get_risk_limits"})).await["account"].clone();
    let lost = dec(&before["daily_pnl"]);
    assert!(
        lost < d("-2.5") && lost > d("-5"),
        "one round trip loses 2.5–5: {before}"
    );
    drop(c);
    assert_eq!(engine.terminate(), Some(0));

    let engine = EngineProcess::start(&state, &config).await;
    let mut c = engine.client().await;
    let after = c.ok(json!({"cmd": "get_risk_limits"})).await["account"].clone();
    assert_eq!(after, before, "the day's loss and peak are back exactly");
    // The second round trip of the same day crosses 5 in all: without the
    // restored day it would count from zero and pass.
    round_trip(&mut c).await;
    let limits = c.ok(json!({"cmd": "get_risk_limits"})).await;
    assert_eq!(limits["kill_switch"]["mode"], "stop", "{limits}");
    assert!(
        limits["account"]["halted"]
            .as_str()
            .is_some_and(|h| h.starts_with("max_daily_loss")),
        "{limits}"
    );
}

async fn round_trip(c: &mut Client) {
    c.ok(order("buy", "market", "0.03", None)).await;
    c.ok(order("sell", "market", "0.03", None)).await;
}

/// The last `seq` a client has seen after half a second of listening.
async fn last_seen(c: &mut Client) -> u64 {
    let mut last = c.wait_for("snapshot", |v| v["type"] == "snapshot").await["seq"]
        .as_u64()
        .expect("snapshot seq");
    let end = std::time::Instant::now() + Duration::from_millis(500);
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match c.next(left).await {
            Some(v) => last = last.max(v["seq"].as_u64().unwrap_or(0)),
            None => break,
        }
    }
    last
}

#[actix_rt::test]
async fn after_a_clean_restart_a_client_replays_what_it_missed() {
    let state = temp_dir("replay-restart");
    // Positions re-marked often: events keep coming while the engine
    // stops, after the ring is stored.
    let config = format!("[paper]\nposition_refresh_ms = 100\n{}", config());
    let engine = EngineProcess::start(&state, &config).await;
    let mut away = engine.client().await;
    away.ok(order("buy", "market", "0.001", None)).await;
    let seen = last_seen(&mut away).await;
    drop(away);
    let addr = engine.addr().to_string();
    assert_eq!(engine.terminate(), Some(0));

    let engine = EngineProcess::start_on(&state, &config, &addr).await;
    let mut c = engine.client().await;
    let placed = c.ok(order("buy", "market", "0.001", None)).await;
    let mut back = engine.client().await;
    let r = back.ok(json!({"cmd": "replay", "since_seq": seen})).await;
    assert!(r["count"].as_u64().unwrap() >= 2, "{r}");
    back.wait_for("the order placed while away, replayed", |v| {
        v["type"] == "order_update" && v["orderId"] == placed["order_id"] && v["status"] == "filled"
    })
    .await;
    drop((c, back));

    // After a crash nobody can know what was sent last: replay_gap.
    let mut c = engine.client().await;
    let seen = last_seen(&mut c).await;
    drop(c);
    engine.kill9();
    let engine = EngineProcess::start(&state, &config).await;
    let mut c = engine.client().await;
    let r = c.command(json!({"cmd": "replay", "since_seq": seen})).await;
    assert_eq!(r["error"], "replay_gap", "{r}");
}
