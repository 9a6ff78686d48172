//! Strategies and the risk manager over a real socket against the real
//! engine: lifecycle, isolation of a panicking strategy, risk rejections,
//! the kill switch and the stale data guard.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn pmm(name: &str, config: Value) -> Value {
    json!({"cmd": "create_strategy", "name": name, "type": "pmm", "exchange": "paper",
           "pair": "BTC-USDT", "config": config})
}

async fn create(c: &mut Client, cmd: Value) -> String {
    let r = c.ok(cmd).await;
    let id = r["instance_id"].as_str().expect("instance_id").to_string();
    assert_eq!(r["data"]["instance_id"], json!(id));
    id
}

fn is_strategy(v: &Value, id: &str, status: &str) -> bool {
    v["type"] == "strategy" && v["id"] == id && v["status"] == status
}

fn is_order_of(v: &Value, id: &str, status: &str) -> bool {
    v["type"] == "order_update" && v["strategy_id"] == id && v["status"] == status
}

async fn open_orders_of(c: &mut Client, id: &str) -> Vec<Value> {
    let r = c
        .ok(json!({"cmd": "get_orders", "strategy": id, "status": "open"}))
        .await;
    r["orders"].as_array().cloned().unwrap_or_default()
}

#[actix_rt::test]
async fn create_start_pause_resume_stop_delete() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let id = create(
        &mut c,
        pmm("MM", json!({"bid_spread": 1, "ask_spread": 1, "order_amount": "0.01", "order_refresh_time": 1})),
    )
    .await;
    c.wait_for("created", |v| is_strategy(v, &id, "created"))
        .await;
    let r = c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    assert_eq!(r["message"], format!("Strategy {id} started"));
    c.wait_for("running", |v| is_strategy(v, &id, "running"))
        .await;

    // Quotes appear on both sides, tagged with the strategy's id and name.
    for side in ["buy", "sell"] {
        let o = c
            .wait_for("a quote", |v| {
                is_order_of(v, &id, "open") && v["side"] == side
            })
            .await;
        assert_eq!(o["strategy"], "MM");
        assert_eq!(o["symbol"], "BTC-USDT");
    }
    let s = c.ok(json!({"cmd": "get_system_status"})).await;
    assert_eq!(s["active_strategies"], 1);

    // Paused: its orders stay and it stops acting (no refresh for 2.5 s,
    // while running it replaces them every second).
    c.ok(json!({"cmd": "pause_strategy", "id": id})).await;
    c.wait_for("paused", |v| is_strategy(v, &id, "paused"))
        .await;
    c.forget();
    let kept = open_orders_of(&mut c, &id).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    let acted = c
        .try_wait_for(Duration::from_millis(2500), |v| {
            v["type"] == "order_update" && v["strategy_id"] == id
        })
        .await;
    assert!(acted.is_none(), "a paused strategy acted: {acted:?}");
    assert_eq!(open_orders_of(&mut c, &id).await, kept);
    let s = c.ok(json!({"cmd": "get_system_status"})).await;
    assert_eq!(s["active_strategies"], 0);

    // Resumed: it refreshes its quotes again.
    c.ok(json!({"cmd": "resume_strategy", "id": id})).await;
    c.wait_for("running", |v| is_strategy(v, &id, "running"))
        .await;
    c.wait_for("a refresh", |v| is_order_of(v, &id, "canceled"))
        .await;

    // Wrong states get clear errors and change nothing.
    let r = c.command(json!({"cmd": "delete_strategy", "id": id})).await;
    assert_eq!(
        (r["success"].clone(), r["error"].clone()),
        (json!(false), json!("invalid_state"))
    );
    assert!(r["message"].as_str().unwrap().contains("stop it"), "{r}");
    let r = c.command(json!({"cmd": "resume_strategy", "id": id})).await;
    assert_eq!(r["error"], "invalid_state");
    let r = c
        .command(json!({"cmd": "start_strategy", "id": "str-999"}))
        .await;
    assert_eq!(r["error"], "not_found");

    // Stopped: every order it owned is cancelled.
    let r = c.ok(json!({"cmd": "stop_strategy", "id": id})).await;
    assert!(r["cancelled_count"].is_u64(), "{r}");
    c.wait_for("stopped", |v| is_strategy(v, &id, "stopped"))
        .await;
    let mut open = open_orders_of(&mut c, &id).await;
    for _ in 0..20 {
        if open.is_empty() {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
        open = open_orders_of(&mut c, &id).await;
    }
    assert!(open.is_empty(), "left open: {open:?}");

    c.ok(json!({"cmd": "delete_strategy", "id": id})).await;
    c.wait_for("deleted", |v| is_strategy(v, &id, "deleted"))
        .await;
    let r = c.ok(json!({"cmd": "get_strategies"})).await;
    assert_eq!(r["count"], 0);
    server.stop().await;
}

#[actix_rt::test]
async fn two_strategies_on_one_pair_keep_orders_and_pnl_apart() {
    let server = TestServer::start(&format!(
        "{}{}",
        btc_pair("ticks_per_sec = 50.0\nvolatility_bps = 3.0"),
        eth_pair("")
    ))
    .await;
    let mut c = server.client("/api/stream").await;
    let quick = json!({"bid_spread": "0.01", "ask_spread": "0.01", "order_amount": "0.01",
                       "order_refresh_time": 1, "filled_order_delay": 0});
    let a = create(&mut c, pmm("A", quick.clone())).await;
    let mut wider = quick.clone();
    wider["order_amount"] = json!("0.02");
    wider["bid_spread"] = json!("0.02");
    let b = create(&mut c, pmm("B", wider)).await;
    for id in [&a, &b] {
        c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    }
    // Both trade.
    for id in [&a, &b] {
        let t = c
            .wait_for("a fill", |v| {
                v["type"] == "trade" && v["strategy_id"] == *id
            })
            .await;
        assert_eq!(t["strategy"], if *id == a { "A" } else { "B" });
    }
    for id in [&a, &b] {
        c.ok(json!({"cmd": "stop_strategy", "id": id})).await;
    }
    actix_rt::time::sleep(Duration::from_millis(300)).await;

    for (id, size) in [(&a, d("0.01")), (&b, d("0.02"))] {
        let orders = c
            .ok(json!({"cmd": "get_orders", "strategy": id, "limit": 100000}))
            .await;
        for o in orders["orders"].as_array().unwrap() {
            assert_eq!(o["strategy_id"], json!(id), "{o}");
            assert_eq!(dec(&o["size"]), size, "{o}");
        }
        let trades = c
            .ok(json!({"cmd": "get_trades", "strategy": id, "limit": 100000}))
            .await;
        let trades = trades["trades"].as_array().unwrap();
        let fees: rust_decimal::Decimal = trades.iter().map(|t| dec(&t["fee"])).sum();
        let position: rust_decimal::Decimal = trades
            .iter()
            .map(|t| {
                let q = dec(&t["amount"]);
                if t["side"] == "buy" {
                    q
                } else {
                    -q
                }
            })
            .sum();
        let s = strategy(&mut c, id).await;
        assert!(!trades.is_empty());
        assert_eq!(s["trades"], json!(trades.len()), "{s}");
        assert_eq!(dec(&s["fees"]), fees, "{s}");
        assert_eq!(dec(&s["position"]), position, "{s}");
    }
    server.stop().await;
}

#[actix_rt::test]
async fn a_panicking_strategy_fails_alone_and_restarts_by_policy() {
    let server = TestServer::start(
        "[strategies]\nrestart = \"on_failure\"\nrestart_base_ms = 200\nrestart_max_ms = 400\nmax_restarts = 1\n",
    )
    .await;
    let mut c = server.client("/api/stream").await;
    let mm = create(
        &mut c,
        pmm(
            "Steady",
            json!({"bid_spread": 1, "ask_spread": 1, "order_refresh_time": 1}),
        ),
    )
    .await;
    let chaos = create(
        &mut c,
        json!({"cmd": "create_strategy", "name": "Chaos", "type": "chaos", "pair": "BTC-USDT",
               "config": {"mode": "panic", "fail_after_ticks": 20}}),
    )
    .await;
    for id in [&mm, &chaos] {
        c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    }
    let resting = c
        .wait_for("chaos's order", |v| is_order_of(v, &chaos, "open"))
        .await;
    let failed = c
        .wait_for("chaos fails", |v| is_strategy(v, &chaos, "error"))
        .await;
    assert!(
        failed["error_msg"].as_str().unwrap().contains("panic"),
        "{failed}"
    );
    c.wait_for("its order cancelled", |v| {
        v["type"] == "order_update"
            && v["orderId"] == resting["orderId"]
            && v["status"] == "canceled"
    })
    .await;
    c.wait_for("an alert", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(&chaos))
    })
    .await;

    // Everything else keeps going: the PMM re-quotes, prices flow, the
    // session answers.
    c.wait_for("the PMM re-quoting", |v| is_order_of(v, &mm, "open"))
        .await;
    c.wait_for("a price", |v| v["type"] == "price").await;
    assert_eq!(strategy(&mut c, &mm).await["status"], "running");

    // Restarted once by the policy, then left in error.
    let again = c
        .wait_for("a restart", |v| {
            is_strategy(v, &chaos, "running") && v["restarts"] == 1
        })
        .await;
    assert_eq!(again["restarts"], 1);
    c.wait_for("the second failure", |v| {
        is_strategy(v, &chaos, "error") && v["restarts"] == 1
    })
    .await;
    c.wait_for("giving up", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("not restarting"))
    })
    .await;
    actix_rt::time::sleep(Duration::from_millis(800)).await;
    let s = strategy(&mut c, &chaos).await;
    assert_eq!(
        (s["status"].clone(), s["restarts"].clone()),
        (json!("error"), json!(1))
    );
    assert!(open_orders_of(&mut c, &chaos).await.is_empty());
    assert_eq!(strategy(&mut c, &mm).await["status"], "running");
    server.stop().await;
}

#[actix_rt::test]
async fn risk_rejects_before_anything_is_reserved() {
    let server =
        TestServer::start("[risk]\nmax_order_size = \"0.5\"\nprice_band_pct = \"5\"\n").await;
    let mut c = server.client("/api/stream").await;
    c.wait_for("a price", |v| {
        v["type"] == "price" && v["symbol"] == "BTC-USDT"
    })
    .await;
    let before = c.ok(json!({"cmd": "get_balances"})).await["balances"].clone();

    let r = c
        .command(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                        "price": 52000, "size": 1}),
        )
        .await;
    assert_eq!(
        (r["success"].clone(), r["error"].clone()),
        (json!(false), json!("risk_rejected"))
    );
    assert!(
        r["message"].as_str().unwrap().starts_with("max_order_size"),
        "{r}"
    );
    let u = c
        .wait_for("the rejection", |v| {
            v["type"] == "order_update" && v["status"] == "rejected"
        })
        .await;
    assert!(
        u["reason"].as_str().unwrap().contains("max_order_size"),
        "{u}"
    );
    c.wait_for("an alert", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("max_order_size"))
    })
    .await;

    let r = c
        .command(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                        "price": 40000, "size": 0.1}),
        )
        .await;
    assert_eq!(r["error"], "risk_rejected");
    assert!(
        r["message"].as_str().unwrap().starts_with("price_band_pct"),
        "{r}"
    );
    assert_eq!(
        c.ok(json!({"cmd": "get_balances"})).await["balances"],
        before
    );
    let open = c.ok(json!({"cmd": "get_orders", "status": "open"})).await;
    assert_eq!(open["count"], 0);

    let limits = c.ok(json!({"cmd": "get_risk_limits"})).await;
    assert_eq!(dec(&limits["limits"]["max_order_size"]), d("0.5"));
    assert!(limits["kill_switch"].is_null());

    // Strategies pass the same gate: a PMM quoting 1 BTC is refused, and
    // stays running.
    let id = create(
        &mut c,
        pmm(
            "Big",
            json!({"order_amount": 1, "bid_spread": 1, "ask_spread": 1}),
        ),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    let u = c
        .wait_for("the strategy's rejection", |v| {
            is_order_of(v, &id, "rejected")
        })
        .await;
    assert!(
        u["reason"].as_str().unwrap().contains("max_order_size"),
        "{u}"
    );
    assert_eq!(strategy(&mut c, &id).await["status"], "running");
    server.stop().await;
}

#[actix_rt::test]
async fn kill_switch_refuses_clients_and_strategies_until_reset() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let id = create(
        &mut c,
        pmm(
            "MM",
            json!({"bid_spread": 1, "ask_spread": 1, "order_refresh_time": 1}),
        ),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    c.wait_for("quotes", |v| {
        is_order_of(v, &id, "open") && v["side"] == "sell"
    })
    .await;
    let resting = c
        .ok(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                   "price": 45000, "size": 0.01}),
        )
        .await;
    let place = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                       "price": 45000, "size": 0.01});

    // Pause: strategies paused, orders kept, nothing new accepted.
    let r = c
        .ok(json!({"cmd": "kill_switch", "mode": "pause", "reason": "drill"}))
        .await;
    assert_eq!(r["kill_switch"]["mode"], "pause");
    c.wait_for("paused", |v| is_strategy(v, &id, "paused"))
        .await;
    let r = c.command(place.clone()).await;
    assert_eq!(r["error"], "risk_rejected");
    assert!(
        r["message"].as_str().unwrap().starts_with("kill_switch"),
        "{r}"
    );
    c.forget();
    let acted = c
        .try_wait_for(Duration::from_millis(2000), |v| is_order_of(v, &id, "open"))
        .await;
    assert!(
        acted.is_none(),
        "a strategy quoted under the kill switch: {acted:?}"
    );
    assert_eq!(open_orders_of(&mut c, &id).await.len(), 2);

    // A strategy started under the kill switch is refused too.
    let other = create(
        &mut c,
        pmm("Late", json!({"bid_spread": 1, "ask_spread": 1})),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": other})).await;
    let u = c
        .wait_for("its refusal", |v| is_order_of(v, &other, "rejected"))
        .await;
    assert!(
        u["reason"].as_str().unwrap().starts_with("kill_switch"),
        "{u}"
    );

    // Stop: strategies stopped, every open order cancelled.
    let r = c.ok(json!({"cmd": "kill_switch", "mode": "stop"})).await;
    assert_eq!(r["kill_switch"]["mode"], "stop");
    c.wait_for("stopped", |v| is_strategy(v, &id, "stopped"))
        .await;
    c.wait_for("the client's order cancelled", |v| {
        v["type"] == "order_update"
            && v["orderId"] == resting["order_id"]
            && v["status"] == "canceled"
    })
    .await;
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let open = c.ok(json!({"cmd": "get_orders", "status": "open"})).await;
    assert_eq!(open["count"], 0, "{open}");
    assert_eq!(c.command(place.clone()).await["error"], "risk_rejected");

    c.ok(json!({"cmd": "reset_kill_switch"})).await;
    c.ok(place).await;
    server.stop().await;
}

#[actix_rt::test]
async fn stale_data_pulls_quotes_until_fresh_data_returns() {
    let server = TestServer::start(&format!(
        "[risk]\nmax_data_age_ms = 800\n{}{}",
        btc_pair("ticks_per_sec = 0.4"),
        eth_pair("")
    ))
    .await;
    let mut c = server.client("/api/stream").await;
    let id = create(&mut c, pmm("MM", json!({"bid_spread": 1, "ask_spread": 1}))).await;
    c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    let quote = c.wait_for("a quote", |v| is_order_of(v, &id, "open")).await;
    let alert = c
        .wait_for("the stale alert", |v| {
            v["type"] == "alerts"
                && v["data"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("stopped quoting"))
        })
        .await;
    assert!(
        alert["data"]["message"]
            .as_str()
            .unwrap()
            .contains("ms old"),
        "{alert}"
    );
    c.wait_for("its quote pulled", |v| {
        v["type"] == "order_update" && v["orderId"] == quote["orderId"] && v["status"] == "canceled"
    })
    .await;
    c.wait_for("fresh again", |v| {
        v["type"] == "alerts"
            && v["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("resumed quoting"))
    })
    .await;
    c.wait_for("quoting again", |v| {
        is_order_of(v, &id, "open") && v["orderId"] != quote["orderId"]
    })
    .await;
    server.stop().await;
}

#[actix_rt::test]
async fn grid_lays_its_ladder_and_twap_executes_with_progress() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let grid = create(
        &mut c,
        json!({"cmd": "create_strategy", "name": "Grid", "type": "grid", "pair": "BTC-USDT",
               "config": {"lower_price": 50500, "upper_price": 53500, "grid_levels": 4, "order_amount": "0.001"}}),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": grid})).await;
    for side in ["buy", "sell"] {
        c.wait_for("ladder", |v| {
            is_order_of(v, &grid, "open") && v["side"] == side
        })
        .await;
    }
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let ladder = open_orders_of(&mut c, &grid).await;
    let mut prices: Vec<_> = ladder.iter().map(|o| dec(&o["price"])).collect();
    prices.sort();
    assert_eq!(
        prices,
        vec![d("50500"), d("51500"), d("52500"), d("53500")],
        "{ladder:?}"
    );

    let twap = create(
        &mut c,
        json!({"cmd": "create_strategy", "name": "TWAP", "type": "twap", "pair": "ETH-USDT",
               "config": {"side": "buy", "total_size": "0.5", "duration_s": 2, "slices": 4}}),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": twap})).await;
    let done = c
        .wait_for("TWAP done", |v| is_strategy(v, &twap, "stopped"))
        .await;
    assert_eq!(dec(&done["progress"]), d("1"), "{done}");
    assert_eq!(dec(&done["position"]), d("0.5"), "{done}");
    let fills = c.ok(json!({"cmd": "get_trades", "strategy": twap})).await;
    let bought: rust_decimal::Decimal = fills["trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| dec(&t["amount"]))
        .sum();
    assert_eq!(bought, d("0.5"));
    server.stop().await;
}

#[actix_rt::test]
async fn bad_strategy_commands_name_the_field() {
    let server = TestServer::start("[strategies]\nallow_test_strategies = false\n").await;
    let mut c = server.client("/api/stream").await;
    let cases = [
        (pmm("x", json!({"bid_spread": "wide"})), "config.bid_spread"),
        (pmm("x", json!({"order_levels": 0})), "config.order_levels"),
        (pmm("x", json!({"spread": 1})), "config.spread"),
        (
            json!({"cmd": "create_strategy", "name": "x", "type": "pmm", "pair": "DOGE-USDT"}),
            "pair",
        ),
        (
            json!({"cmd": "create_strategy", "name": "x", "type": "pmm", "pair": "BTC-USDT", "exchange": "nowhere"}),
            "exchange",
        ),
        (
            json!({"cmd": "create_strategy", "name": "x", "type": "chaos", "pair": "BTC-USDT"}),
            "type",
        ),
        (
            json!({"cmd": "create_strategy", "name": "x", "type": "grid", "pair": "BTC-USDT", "config": {"lower_price": 2, "upper_price": 1, "order_amount": 1}}),
            "config.upper_price",
        ),
    ];
    for (cmd, field) in cases {
        let r = c.command(cmd.clone()).await;
        assert_eq!(r["error"], "invalid_params", "{cmd}: {r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{cmd}: {r}"
        );
    }
    assert_eq!(c.ok(json!({"cmd": "get_strategies"})).await["count"], 0);
    server.stop().await;
}

#[actix_rt::test]
async fn loss_limits_halt_a_strategy_and_trip_the_kill_switch_for_the_account() {
    // A strategy past its own daily loss is halted alone.
    let server = TestServer::start(&format!(
        "[risk.strategy]\nmax_daily_loss = \"0.001\"\n{}{}",
        btc_pair("ticks_per_sec = 50.0\nvolatility_bps = 3.0"),
        eth_pair("")
    ))
    .await;
    let mut c = server.client("/api/stream").await;
    let id = create(
        &mut c,
        pmm(
            "Loser",
            json!({"bid_spread": "0.01", "ask_spread": "0.01", "order_refresh_time": 1}),
        ),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": id})).await;
    let halted = c
        .wait_for("the halt", |v| is_strategy(v, &id, "error"))
        .await;
    let why = halted["error_msg"].as_str().unwrap();
    assert!(why.starts_with("risk: max_daily_loss"), "{halted}");
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert!(open_orders_of(&mut c, &id).await.is_empty());
    let limits = c.ok(json!({"cmd": "get_risk_limits"})).await;
    assert!(
        limits["kill_switch"].is_null(),
        "the account is not halted: {limits}"
    );
    assert!(limits["strategies"][&id]["halted"].is_string(), "{limits}");
    c.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.001}))
        .await;
    server.stop().await;

    // The account past its daily loss trips the kill switch.
    let server = TestServer::start("[risk.account]\nmax_daily_loss = \"1\"\n").await;
    let mut c = server.client("/api/stream").await;
    c.wait_for("a price", |v| {
        v["type"] == "price" && v["symbol"] == "BTC-USDT"
    })
    .await;
    // 0.05 BTC bought at the ask pays about 2.6 USDT in fees alone.
    c.ok(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.05}))
        .await;
    let alert = c
        .wait_for("the kill switch", |v| {
            v["type"] == "alerts"
                && v["data"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Kill switch engaged (stop)"))
        })
        .await;
    assert!(
        alert["data"]["message"]
            .as_str()
            .unwrap()
            .contains("max_daily_loss"),
        "{alert}"
    );
    let limits = c.ok(json!({"cmd": "get_risk_limits"})).await;
    assert_eq!(limits["kill_switch"]["mode"], "stop", "{limits}");
    let r = c
        .command(json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "sell", "type": "market", "size": 0.05}))
        .await;
    assert_eq!(r["error"], "risk_rejected");
    assert!(
        r["message"].as_str().unwrap().starts_with("kill_switch"),
        "{r}"
    );
    server.stop().await;
}

#[actix_rt::test]
async fn a_strategy_that_blocks_its_thread_stalls_nothing_else() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/stream").await;
    let mm = create(
        &mut c,
        pmm(
            "Steady",
            json!({"bid_spread": 1, "ask_spread": 1, "order_refresh_time": 0.5}),
        ),
    )
    .await;
    let stuck = create(
        &mut c,
        json!({"cmd": "create_strategy", "name": "Stuck", "type": "chaos", "pair": "BTC-USDT",
               "config": {"mode": "hang", "fail_after_ticks": 3, "hang_ms": 6000}}),
    )
    .await;
    c.ok(json!({"cmd": "start_strategy", "id": stuck})).await;
    c.wait_for("its order", |v| is_order_of(v, &stuck, "open"))
        .await;
    // Two ticks later (~0.1 s) it sleeps in its decision for 6 s. If that
    // blocked the engine's (or this test's) thread, what follows would
    // take longer than that.
    let blocked_at = std::time::Instant::now();
    c.ok(json!({"cmd": "start_strategy", "id": mm})).await;
    c.wait_for("a quote", |v| is_order_of(v, &mm, "open")).await;
    c.wait_for("a refresh", |v| is_order_of(v, &mm, "canceled"))
        .await;
    c.ok(json!({"cmd": "get_system_status"})).await;
    let took = blocked_at.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the engine waited for the blocked strategy: {took:?}"
    );
    server.stop().await;
}
