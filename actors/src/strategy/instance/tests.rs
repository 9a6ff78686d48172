//! The strategy actor on virtual time, between a stub venue and risk gate.

use super::*;
use crate::clock::Clock;
use crate::strategy::testkit::{btc_usdt, collector, d, world, World, VENUE};
use crate::venue::directory::VenueHandle;
use laicai_core::order::Side;
use laicai_core::strategy::OrderIntent;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const START_MS: TimestampMs = 1_780_000_000_000;

/// Counts its decisions; rests one bid when it has none; fails on the
/// `fail_on`-th decision.
#[derive(Debug)]
struct Scripted {
    decisions: Arc<AtomicU32>,
    fail_on: Option<u32>,
}

impl Strategy for Scripted {
    fn on_tick(&mut self, ctx: &Ctx) -> Result<Vec<Intent>, StrategyError> {
        let n = self.decisions.fetch_add(1, Ordering::SeqCst) + 1;
        if Some(n) == self.fail_on {
            return Err(StrategyError("told to fail".into()));
        }
        if ctx.orders.is_empty() {
            let price = ctx.market.bid - d("100");
            return Ok(vec![Intent::Place(OrderIntent::maker(
                Side::Buy,
                price,
                d("0.01"),
            ))]);
        }
        Ok(Vec::new())
    }
}

fn runtime(clock: Clock) -> Runtime {
    Runtime {
        tick: Duration::from_millis(100),
        max_data_age_ms: 1_000,
        stale_action: StaleAction::Cancel,
        request_timeout: Duration::from_secs(5),
        reject_cooldown: Duration::from_secs(1),
        report_interval: Duration::from_secs(1),
        clock,
    }
}

struct Run {
    actor: Addr<StrategyActor>,
    decisions: Arc<AtomicU32>,
    reports: Arc<parking_lot::Mutex<Vec<StrategyReport>>>,
    world: World,
    clock: Clock,
}

fn start(fail_on: Option<u32>) -> Run {
    tokio::time::pause();
    let clock = Clock::following_tokio(START_MS);
    let world = world();
    let decisions = Arc::new(AtomicU32::new(0));
    let (manager, reports) = collector::<StrategyReport>();
    let setup = Setup {
        tag: StrategyTag {
            id: StrategyId("str-001".into()),
            name: "scripted".into(),
        },
        generation: 1,
        exchange: VENUE.into(),
        rules: btc_usdt(),
        logic: Box::new(Scripted {
            decisions: decisions.clone(),
            fail_on,
        }),
        pnl: Pnl::default(),
        paused: false,
        own_thread: false,
        load: Load::default(),
    };
    let links = Links {
        risk: world.risk.clone(),
        venues: world.venues.clone(),
        publish: world.publish.clone(),
        manager,
    };
    let actor = StrategyActor::new(setup, links, runtime(clock)).start();
    Run {
        actor,
        decisions,
        reports,
        world,
        clock,
    }
}

impl Run {
    /// The venue is up and quotes now.
    fn quote(&self) {
        self.actor.do_send(VenueUpdate {
            exchange: VENUE.into(),
            event: VenueEvent::Connection { connected: true },
        });
        self.actor.do_send(VenueUpdate {
            exchange: VENUE.into(),
            event: VenueEvent::Quote {
                symbol: btc_usdt().symbol,
                bid: d("50000"),
                ask: d("50001"),
                at_ms: self.clock.now_ms(),
            },
        });
    }

    async fn status(&self) -> String {
        self.actor.send(Health).await.expect("alive").status
    }

    fn decisions(&self) -> u32 {
        self.decisions.load(Ordering::SeqCst)
    }

    fn published(&self, words: &str) -> usize {
        self.world
            .published
            .lock()
            .iter()
            .filter(|p| serde_json::to_string(&p.event).is_ok_and(|t| t.contains(words)))
            .count()
    }
}

/// Virtual time passes; every timer due meanwhile fires, in order.
async fn pass(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[actix_rt::test]
async fn a_paused_strategy_decides_nothing_until_resumed() {
    let run = start(None);
    run.quote();
    pass(500).await;
    let running = run.decisions();
    assert!((5..=7).contains(&running), "{running} decisions in 0.5 s");
    assert_eq!(run.world.asked.lock().orders.len(), 1, "one bid rests");

    run.actor.do_send(SetPaused(true));
    assert_eq!(run.status().await, "paused");
    run.quote();
    pass(500).await;
    assert_eq!(run.decisions(), running, "paused: no decision");

    run.actor.do_send(SetPaused(false));
    assert_eq!(run.status().await, "running");
    run.quote();
    pass(500).await;
    assert!(run.decisions() >= running + 5, "{}", run.decisions());
}

#[actix_rt::test]
async fn stale_data_pulls_its_orders_and_fresh_data_puts_it_back_to_work() {
    let run = start(None);
    run.quote();
    pass(200).await;
    assert_eq!(run.world.asked.lock().orders.len(), 1);
    // No quote for longer than max_data_age_ms: it stops and cancels.
    pass(1_000).await;
    let at_stale = run.decisions();
    assert_eq!(
        run.world.asked.lock().cancels,
        [OrderId("ORD-1".into())],
        "its resting bid is cancelled"
    );
    assert_eq!(
        run.published("stopped quoting"),
        2,
        "a log line and an alert"
    );
    pass(1_000).await;
    assert_eq!(run.decisions(), at_stale, "no decision on stale data");
    // A fresh quote: it says so and quotes again.
    run.quote();
    pass(200).await;
    assert_eq!(run.published("resumed quoting"), 2);
    assert!(run.decisions() > at_stale);
    assert_eq!(run.world.asked.lock().orders.len(), 2, "a new bid");
}

#[actix_rt::test]
async fn a_failed_strategy_reports_once_and_stops_only_after_its_orders_are_cancelled() {
    let run = start(Some(3));
    run.quote();
    pass(100).await;
    // Its venue goes down just before the failing decision.
    run.world.venues.set(VENUE, None);
    pass(200).await;
    let failed: Vec<String> = run
        .reports
        .lock()
        .iter()
        .filter_map(|r| match r {
            StrategyReport::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed, ["error: told to fail"]);
    assert_eq!(run.status().await, "error");
    // It cannot cancel yet: it retries each second and stays.
    pass(3_500).await;
    assert_eq!(run.world.asked.lock().cancel_alls, 0);
    assert!(
        run.actor.connected(),
        "it waits until its orders are cancelled"
    );
    // The venue is back: the next retry cancels, and then it stops.
    run.world
        .venues
        .set(VENUE, Some(VenueHandle::of(&run.world.venue)));
    pass(1_000).await;
    assert_eq!(run.world.asked.lock().cancel_alls, 1);
    pass(100).await;
    assert!(!run.actor.connected(), "stopped");
    assert_eq!(
        run.reports
            .lock()
            .iter()
            .filter(|r| matches!(r, StrategyReport::Failed { .. }))
            .count(),
        1,
        "reported once"
    );
}

#[actix_rt::test]
async fn shutdown_cancels_everything_answers_the_count_and_unfollows() {
    let run = start(None);
    run.quote();
    pass(300).await;
    let cancelled = run.actor.send(Shutdown).await.expect("answered");
    assert_eq!(cancelled, 1, "the venue's count of cancelled orders");
    pass(100).await;
    assert!(!run.actor.connected());
    let asked = run.world.asked.lock();
    assert_eq!(asked.follows, ["str-001#1"]);
    assert_eq!(asked.unfollows, ["str-001#1"]);
}
