//! The manager's restart policy on virtual time. Its strategies' failures
//! are reported to it as a strategy actor would; the risk gate, the venue
//! and the registry are stand-ins.

use super::*;
use crate::clock::Clock;
use crate::strategy::testkit::{btc_usdt, collector, world, World, VENUE};
use laicai_core::backoff::Backoff;
use laicai_core::venue::VenueRef;
use std::sync::Arc;
use std::time::Duration;

const START_MS: TimestampMs = 1_780_000_000_000;

fn backoff() -> Backoff {
    Backoff::new(1_000, 4_000).expect("a backoff")
}

struct Manager {
    addr: Addr<StrategyManager>,
    active: Arc<parking_lot::Mutex<Vec<ActiveStrategies>>>,
    _world: World,
}

fn start() -> Manager {
    tokio::time::pause();
    let clock = Clock::following_tokio(START_MS);
    let world = world();
    let (risk_signals, _) = collector::<SignalTo>();
    let (active, got_active) = collector::<ActiveStrategies>();
    let cfg = ManagerConfig {
        restart: RestartPolicy::OnFailure {
            backoff: backoff(),
            max_restarts: 2,
        },
        allow_test_strategies: false,
        runtime: crate::strategy::Runtime {
            tick: Duration::from_millis(100),
            max_data_age_ms: 10_000,
            stale_action: laicai_core::risk::StaleAction::Cancel,
            request_timeout: Duration::from_secs(5),
            reject_cooldown: Duration::from_secs(1),
            report_interval: Duration::from_secs(1),
            clock,
        },
        clock,
    };
    let links = ManagerLinks {
        publish: world.publish.clone(),
        risk: world.risk.clone(),
        risk_signals,
        active,
    };
    let addr = StrategyManager::new(
        cfg,
        vec![(VENUE.to_string(), btc_usdt())],
        world.venues.clone(),
        links,
        None,
    )
    .start();
    Manager {
        addr,
        active: got_active,
        _world: world,
    }
}

impl Manager {
    async fn create_and_start(&self) -> StrategyId {
        let view = self
            .addr
            .send(CreateStrategy(NewStrategy {
                name: "MM".into(),
                params: StrategyParams::parse(StrategyType::Pmm, &serde_json::json!({}))
                    .expect("pmm's defaults"),
                venue: VenueRef::named(VENUE),
                pair: btc_usdt().symbol,
            }))
            .await
            .expect("answered")
            .expect("created");
        let id = StrategyId(view.id);
        self.control(&id, StrategyAction::Start).await;
        id
    }

    async fn control(&self, id: &StrategyId, action: StrategyAction) {
        self.addr
            .send(ControlStrategy {
                id: id.0.clone(),
                action,
            })
            .await
            .expect("answered")
            .expect("done");
    }

    fn fail(&self, id: &StrategyId, generation: u64) {
        self.addr.do_send(StrategyReport::Failed {
            id: id.clone(),
            generation,
            error: format!("run {generation} failed"),
        });
    }

    /// (status, restarts) of the one strategy.
    async fn state(&self) -> (StrategyStatus, u32) {
        let all = self.addr.send(GetStrategies).await.expect("answered");
        (all[0].status, all[0].restarts)
    }
}

async fn pass(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The delays the manager draws, in order: its generator is seeded from
/// its clock, so the test knows them.
fn delays() -> [u64; 2] {
    let mut rng = Rng::new(START_MS as u64);
    [
        backoff().delay_ms(0, &mut rng),
        backoff().delay_ms(1, &mut rng),
    ]
}

#[actix_rt::test]
async fn a_failed_strategy_restarts_after_its_backoff_and_is_given_up_after_the_limit() {
    let m = start();
    let id = m.create_and_start().await;
    assert_eq!(m.state().await, (StrategyStatus::Running, 0));
    let [first, second] = delays();
    assert!(first <= 1_000 && second <= 2_000, "{first} {second}");

    m.fail(&id, 1);
    pass(1).await;
    assert_eq!(m.state().await, (StrategyStatus::Error, 0));
    if first > 1 {
        pass(first - 2).await;
        assert_eq!(
            m.state().await.0,
            StrategyStatus::Error,
            "not before its delay"
        );
    }
    pass(2).await;
    assert_eq!(m.state().await, (StrategyStatus::Running, 1));

    // A report from the run that failed is not about the new one.
    m.fail(&id, 1);
    pass(5_000).await;
    assert_eq!(m.state().await, (StrategyStatus::Running, 1));

    m.fail(&id, 2);
    pass(second + 1).await;
    assert_eq!(m.state().await, (StrategyStatus::Running, 2));

    // The third failure in a row is one too many.
    m.fail(&id, 3);
    pass(60_000).await;
    assert_eq!(m.state().await, (StrategyStatus::Error, 2));
    let counts: Vec<u32> = m.active.lock().iter().map(|a| a.0).collect();
    assert_eq!(counts, [1, 0, 1, 0, 1, 0], "the engine hears each change");
}

#[actix_rt::test]
async fn a_strategy_stopped_during_its_backoff_is_not_restarted() {
    let m = start();
    let id = m.create_and_start().await;
    m.fail(&id, 1);
    pass(1).await;
    m.control(&id, StrategyAction::Stop).await;
    pass(10_000).await;
    assert_eq!(m.state().await, (StrategyStatus::Stopped, 0));
}
