//! A crash loop: the real binary under order flow from several clients,
//! `kill -9`ed at a seeded random moment each round and restarted on the
//! same port and state, twenty rounds (`LAICAI_CRASH_ROUNDS`,
//! `LAICAI_CRASH_SEED` to vary them). After every restart: every order any
//! client was told was placed, and every fill it was told of, is there;
//! no fill is stored or applied twice; every balance is its starting total
//! plus the stored fills minus fees, to the last decimal. Then the same
//! with `[storage] fsync = false` (ten rounds): a commit there need only
//! reach the OS, which survives the process, so `kill -9` may not lose
//! anything either.
//!
//! `cargo test --test crash_loop -- --nocapture` prints what each round did.

mod common;

use common::*;
use laicai_core::rng::Rng;
use laicai_core::Decimal;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const IN_FLIGHT: usize = 16;

fn config(fsync: bool) -> String {
    format!(
        "[server]\nworkers = 1\nmax_messages_per_sec = 100000\n\
         [storage]\nfsync = {fsync}\n[strategies]\nboot = []\n{}",
        btc_pair("")
    )
}

/// What the clients were told, over every round.
#[derive(Default)]
struct Told {
    acknowledged: BTreeSet<String>,
    trades: BTreeMap<String, Value>,
    refused: BTreeMap<String, usize>,
}

/// The i-th order of a client: buys and sells that balance out, and a bid
/// far below the market that rests.
fn nth_order(i: usize) -> Value {
    match i % 5 {
        0 => order("buy", "market", "0.001", None),
        1 => order("sell", "market", "0.001", None),
        2 => order("buy", "limit", "0.001", Some("30000")),
        3 => order("buy", "market", "0.00117", None),
        _ => order("sell", "market", "0.00117", None),
    }
}

/// One client: keeps `IN_FLIGHT` orders going until its connection dies,
/// writing down what it is told.
async fn trade(mut c: Client, who: usize, told: Rc<RefCell<Told>>) {
    let (mut sent, mut answered) = (0, 0);
    loop {
        while sent - answered < IN_FLIGHT {
            let mut o = nth_order(sent);
            o["request_id"] = json!(format!("{who}-{sent}"));
            if c.try_send_text(&o.to_string()).await.is_err() {
                return;
            }
            sent += 1;
        }
        let Some(frame) = c.next(Duration::from_secs(5)).await else {
            return;
        };
        let mut told = told.borrow_mut();
        match frame["type"].as_str() {
            Some("response") => {
                answered += 1;
                match frame["order_id"].as_str() {
                    Some(id) if frame["success"] == true => {
                        told.acknowledged.insert(id.to_string());
                    }
                    _ => {
                        let code = frame["error"].as_str().unwrap_or("?").to_string();
                        assert!(
                            code == "insufficient_balance",
                            "an order refused for {code}: {frame}"
                        );
                        *told.refused.entry(code).or_default() += 1;
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
                let id = t["trade_id"].as_str().unwrap_or("").to_string();
                told.trades.insert(id, t);
            }
            _ => {}
        }
    }
}

#[actix_rt::test]
async fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    crash_loop(true, 20).await;
}

#[actix_rt::test]
async fn without_fsync_kill_9_loses_and_doubles_nothing_either() {
    crash_loop(false, 10).await;
}

async fn crash_loop(fsync: bool, rounds: u32) {
    let rounds: u32 = std::env::var("LAICAI_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(rounds);
    let seed: u64 = std::env::var("LAICAI_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_205);
    let mut rng = Rng::new(seed);
    let state = temp_dir(if fsync {
        "crash-loop"
    } else {
        "crash-loop-no-fsync"
    });
    let mut engine = EngineProcess::start(&state, &config(fsync)).await;
    let addr = engine.addr().to_string();
    let mut c = engine.client().await;
    let totals_at_start: BTreeMap<String, Decimal> = c.ok(json!({"cmd": "get_balances"})).await
        ["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .map(|b| {
            (
                b["asset"].as_str().unwrap_or("").to_string(),
                dec(&b["total"]),
            )
        })
        .collect();
    drop(c);
    let told = Rc::new(RefCell::new(Told::default()));
    let started = Instant::now();
    for round in 1..=rounds {
        let before = told.borrow().acknowledged.len();
        let kill_after = before + 20 + (rng.next_u64() % 200) as usize;
        let mut traders = Vec::new();
        for who in 0..CLIENTS {
            let c = engine.client().await;
            let tag = round as usize * 100 + who;
            traders.push(actix_rt::spawn(trade(c, tag, told.clone())));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while told.borrow().acknowledged.len() < kill_after {
            assert!(
                Instant::now() < deadline,
                "round {round}: orders stopped being answered"
            );
            actix_rt::time::sleep(Duration::from_millis(1)).await;
        }
        engine.kill9();
        for t in traders {
            let _ = t.await;
        }
        engine = EngineProcess::start_on(&state, &config(fsync), &addr).await;
        let mut c = engine.client().await;
        let (acknowledged, trades) = {
            let t = told.borrow();
            (t.acknowledged.clone(), t.trades.clone())
        };
        let resting = audit(&mut c, &totals_at_start, &acknowledged, &trades).await;
        // Free what the resting bids hold, for the next round.
        c.ok(json!({"cmd": "cancel_all_orders"})).await;
        let t = told.borrow();
        eprintln!(
            "round {round}: killed after {} orders acknowledged this round; \
             {} acknowledged and {} fills reported in all, all there; {resting} resting",
            t.acknowledged.len() - before,
            t.acknowledged.len(),
            t.trades.len()
        );
    }
    let t = told.borrow();
    eprintln!(
        "fsync {fsync}: {rounds} rounds (seed {seed}) in {:.0?}: {} orders acknowledged, {} fills reported, \
         refused {:?}; nothing lost, nothing applied twice",
        started.elapsed(),
        t.acknowledged.len(),
        t.trades.len(),
        t.refused
    );
    assert!(!t.trades.is_empty());
}
