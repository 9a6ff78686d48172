//! The supervisor's reconnects on virtual time: a connection whose
//! exchange cannot be reached is retried after jittered, capped,
//! exponential delays, then given up, each step announced on its view.

use super::*;
use crate::clock::Clock;
use crate::registry::RegistryConfig;
use laicai_core::venue::{Credentials, Secret};

const START_MS: i64 = 1_780_000_000_000;

fn config(clock: Clock) -> SupervisorConfig {
    SupervisorConfig {
        backoff: Backoff::new(1_000, 4_000).expect("a backoff"),
        stable: Duration::from_secs(600),
        max_attempts: 3,
        default_pairs: vec![Symbol::parse("BTC-USDT").expect("a pair")],
        recv_window_ms: 5_000,
        silent_timeout: Duration::from_secs(10),
        ping_interval: Duration::from_secs(5),
        keepalive: Duration::from_secs(1_800),
        request_timeout: Duration::from_millis(500),
        max_server_errors: 3,
        book_depth: 20,
        orderbook_interval_ms: 100,
        history_limit: 100,
        clock,
    }
}

/// Nothing listens on port 1 of the loopback: every session fails.
fn unreachable() -> NewConnection {
    NewConnection {
        exchange: "binance".into(),
        credentials: Credentials {
            api_key: Secret::new("key"),
            api_secret: Secret::new("secret"),
        },
        testnet: false,
        name: Some("nowhere".into()),
        rest_url: Some("http://127.0.0.1:1".into()),
        ws_url: Some("ws://127.0.0.1:1".into()),
        pairs: None,
    }
}

#[actix_rt::test]
async fn an_unreachable_exchange_is_retried_with_capped_jittered_backoff_then_given_up() {
    tokio::time::pause();
    let clock = Clock::following_tokio(START_MS);
    let registry = RegistryActor::new(RegistryConfig {
        mailbox: 1_000,
        replay_events: 100,
        backlog_limit: 100,
        slow_client_timeout: Duration::from_secs(1),
        subscription_limit: 10,
        clock,
    })
    .start();
    let cfg = config(clock);
    let backoff = cfg.backoff;
    let supervisor = ConnectionSupervisor::new(cfg, Venues::new("paper"), registry, None).start();
    let created = supervisor
        .send(CreateConnection(unreachable()))
        .await
        .expect("answered")
        .expect("created");
    assert_eq!(created.status, ConnectionStatus::Connecting);

    // Each change of the view, with the virtual time it was seen at.
    let mut seen: Vec<(i64, ConnectionView)> = Vec::new();
    while clock.now_ms() - START_MS < 120_000 {
        let views = supervisor.send(GetConnections).await.expect("answered");
        let view = views.into_iter().next().expect("the connection");
        let changed = seen
            .last()
            .is_none_or(|(_, v)| (v.attempt, v.status) != (view.attempt, view.status));
        if changed {
            seen.push((clock.now_ms() - START_MS, view.clone()));
        }
        if view.status == ConnectionStatus::Failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let steps: Vec<(u32, ConnectionStatus)> =
        seen.iter().map(|(_, v)| (v.attempt, v.status)).collect();
    // (A session to a closed port fails at once: its `connecting` is over
    // before the next look.)
    assert_eq!(
        steps,
        [
            (0, ConnectionStatus::Connecting),
            (1, ConnectionStatus::Disconnected),
            (2, ConnectionStatus::Disconnected),
            (3, ConnectionStatus::Disconnected),
            (4, ConnectionStatus::Failed),
        ],
        "{seen:#?}"
    );

    // Each announced delay is within its ceiling (1 s, 2 s, 4 s), and the
    // next session fails no sooner than that delay after the last.
    for attempt in 1..=3u32 {
        let (at, view) = &seen[attempt as usize];
        let delay = view.next_retry_ms.expect("a retry is announced") as i64;
        assert!(
            delay as u64 <= backoff.ceiling_ms(attempt - 1),
            "{attempt}: {delay}"
        );
        let (again, _) = &seen[attempt as usize + 1];
        let waited = again - at;
        assert!(
            (delay - 5..=delay + 1_000).contains(&waited),
            "attempt {attempt}: announced {delay} ms, waited {waited} ms"
        );
    }
    let (_, last) = seen.last().expect("seen");
    assert!(
        last.message.starts_with("gave up after 3 attempts"),
        "{}",
        last.message
    );
    assert_eq!(last.next_retry_ms, None);
}
