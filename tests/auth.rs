//! Who may connect and what each token may do; limits on connections and
//! inbound messages (PROTOCOL §2, §5).

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const READ: &str = "read-token-0123456789";
const TRADE: &str = "trade-token-0123456789";
const ADMIN: &str = "admin-token-0123456789";

fn tokens() -> String {
    format!(
        "[[server.tokens]]\ntoken = \"{READ}\"\nscope = \"read\"\n\
         [[server.tokens]]\ntoken = \"{TRADE}\"\nscope = \"trade\"\n\
         [[server.tokens]]\ntoken = \"{ADMIN}\"\nscope = \"admin\"\n"
    )
}

#[actix_rt::test]
async fn every_token_form_works_and_a_wrong_one_gets_401() {
    let server = TestServer::start(&tokens()).await;
    let url = server.url("/api/stream");

    // No token: 401 with the protocol's body, before any upgrade.
    let mut resp = awc::Client::new().get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "authentication_failed");
    let e = Client::try_connect(
        &url,
        &[("Authorization", "Bearer nope-nope-nope-nope")],
        &[],
    )
    .await;
    assert!(e.is_err_and(|e| e.contains("401")));

    let (mut c, _) =
        Client::try_connect(&url, &[("Authorization", &format!("Bearer {READ}"))], &[])
            .await
            .unwrap();
    c.ok(json!({"cmd": "get_orders"})).await;
    let (mut c, _) = Client::try_connect(&format!("{url}?token={TRADE}"), &[], &[])
        .await
        .unwrap();
    c.ok(json!({"cmd": "get_balances"})).await;
    let offered = format!("bearer.{ADMIN}");
    let (mut c, chosen) = Client::try_connect(&url, &[], &[&offered]).await.unwrap();
    assert_eq!(
        chosen.as_deref(),
        Some(offered.as_str()),
        "the browser needs its protocol back"
    );
    c.ok(json!({"cmd": "get_connections"})).await;
    // The older clients' form: two subprotocols, "Authorization" and "Bearer <token>".
    let seed = format!("Bearer {READ}");
    let (mut c, chosen) = Client::try_connect(&url, &[], &["Authorization", &seed])
        .await
        .expect("the two-subprotocol form is accepted");
    assert_eq!(chosen.as_deref(), Some("Authorization"));
    c.ok(json!({"cmd": "get_orders"})).await;
    server.stop().await;
}

#[actix_rt::test]
async fn commands_above_the_scope_are_forbidden_and_not_run() {
    let server = TestServer::start(&tokens()).await;
    let url = server.url("/api/stream");
    let connect = |t: &str| format!("{url}?token={t}");
    let order = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "market", "size": 0.001});

    let (mut read, _) = Client::try_connect(&connect(READ), &[], &[]).await.unwrap();
    let r = read.command(order.clone()).await;
    assert_eq!(
        (r["success"].clone(), r["error"].clone()),
        (json!(false), json!("forbidden"))
    );
    assert!(
        r["message"].as_str().unwrap().contains("trade scope"),
        "{r}"
    );
    assert_eq!(
        read.ok(json!({"cmd": "get_trades"})).await["count"],
        0,
        "nothing was executed"
    );

    let (mut trade, _) = Client::try_connect(&connect(TRADE), &[], &[])
        .await
        .unwrap();
    trade.ok(order).await;
    let r = trade
        .command(json!({"cmd": "kill_switch", "mode": "stop"}))
        .await;
    assert_eq!(r["error"], "forbidden");
    let r = trade.command(json!({"cmd": "stop_engine"})).await;
    assert_eq!(r["error"], "forbidden");

    let (mut admin, _) = Client::try_connect(&connect(ADMIN), &[], &[])
        .await
        .unwrap();
    admin
        .ok(json!({"cmd": "kill_switch", "mode": "pause"}))
        .await;
    admin.ok(json!({"cmd": "reset_kill_switch"})).await;
    server.stop().await;
}

#[actix_rt::test]
async fn failed_attempts_are_rate_limited_per_address() {
    let server = TestServer::start(&format!(
        "{}[server]\nauth_failures_per_minute = 3\nauth_block_s = 60\n",
        tokens()
    ))
    .await;
    let url = server.url("/api/stream");
    for _ in 0..4 {
        let resp = awc::Client::new()
            .get(format!("{url}?token=guess-guess-guess-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    // Blocked now, even with a good token.
    let resp = awc::Client::new()
        .get(format!("{url}?token={ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    server.stop().await;
}

#[actix_rt::test]
async fn the_connection_past_the_cap_gets_503() {
    let server = TestServer::start("[server]\nmax_connections = 3\n").await;
    let url = server.url("/api/stream");
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(server.client("/api/stream").await);
    }
    let e = Client::try_connect(&url, &[], &[])
        .await
        .err()
        .expect("refused");
    assert!(e.contains("503"), "{e}");
    // A place frees up when one leaves.
    open.pop().unwrap().close().await;
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    Client::try_connect(&url, &[], &[])
        .await
        .expect("admitted again");
    server.stop().await;
}

#[actix_rt::test]
async fn a_flood_gets_rate_limited_then_closed_with_1008() {
    let server = TestServer::start("[server]\nmax_messages_per_sec = 20\n").await;
    let mut c = server.client("/api/stream").await;
    for i in 0..25 {
        c.send_text(&json!({"type": "ping", "timestamp": i}).to_string())
            .await;
    }
    c.wait_for("rate_limited", |v| {
        v["type"] == "error" && v["error"] == "rate_limited"
    })
    .await;
    // A command over the limit still gets its one response.
    let r = c.command(json!({"cmd": "get_orders"})).await;
    assert_eq!(r["error"], "rate_limited", "{r}");
    // Keep going: the connection is closed with 1008.
    for i in 0..60 {
        c.send_text(&json!({"type": "ping", "timestamp": i}).to_string())
            .await;
    }
    while c.closed.is_none() {
        if c.next(WAIT).await.is_none() {
            break;
        }
    }
    let reason = c.closed.clone().expect("closed");
    assert_eq!(reason.map(|r| u16::from(r.code)), Some(1008));
    server.stop().await;
}

/// The real binary refuses a non-loopback bind without tokens, and says how to fix it.
#[test]
fn no_tokens_means_loopback_only() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(["--bind", "0.0.0.0:0"])
        .env("RUST_LOG", "off")
        .env("LAICAI_STATE_DIR", temp_dir("bin"))
        .env_remove("LAICAI_TOKEN")
        .output()
        .expect("run laicai");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("without client tokens") && stderr.contains("LAICAI_TOKEN"),
        "{stderr}"
    );
}

#[actix_rt::test]
async fn an_idle_client_is_closed_while_a_ponging_one_stays() {
    let server = TestServer::start("[server]\nheartbeat_s = 1\nidle_timeout_s = 2\n").await;
    // Both on the endpoint that sends nothing until subscribed: only the
    // server's pings travel.
    let mut silent = server.client("/api/v1/websocket").await;
    let mut alive = server.client("/api/v1/websocket").await;
    // `alive` reads (and so answers pings) for 3.5 s; `silent` never reads.
    let end = std::time::Instant::now() + Duration::from_millis(3500);
    while std::time::Instant::now() < end {
        let _ = alive.next(Duration::from_millis(200)).await;
    }
    assert!(alive.closed.is_none(), "the ponging client was closed");
    alive.ok(json!({"cmd": "get_system_status"})).await;
    while silent.closed.is_none() {
        if silent.next(WAIT).await.is_none() {
            break;
        }
    }
    let reason = silent.closed.clone().expect("the idle client was closed");
    assert_eq!(reason.map(|r| u16::from(r.code)), Some(1001));
    server.stop().await;
}

#[actix_rt::test]
async fn the_51st_subscription_is_refused_and_a_huge_frame_closes_with_1009() {
    let server = TestServer::start("").await;
    let mut c = server.client("/api/v1/websocket").await;
    for i in 0..50 {
        c.send_text(
            &json!({"type": "subscribe", "channel": "price", "symbol": format!("C{i}-USDT")})
                .to_string(),
        )
        .await;
        c.wait_for("subscribed", |v| v["type"] == "subscribed")
            .await;
    }
    c.send_text(
        &json!({"type": "subscribe", "channel": "price", "symbol": "C50-USDT"}).to_string(),
    )
    .await;
    let e = c.wait_for("the refusal", |v| v["type"] == "error").await;
    assert_eq!(e["error"], "subscription_limit", "{e}");

    let huge = format!("{{\"cmd\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    c.send_text(&huge).await;
    while c.closed.is_none() {
        if c.next(WAIT).await.is_none() {
            break;
        }
    }
    let reason = c.closed.clone().expect("closed");
    assert_eq!(reason.map(|r| u16::from(r.code)), Some(1009));
    server.stop().await;
}
