//! The paper matching engine and the pmm strategy's decision, in release.
//! `cargo bench --bench matching`.
//!
//! - `matching/mixed`: a deterministic mix through `MatchingEngine` — 60 %
//!   resting limit orders near the top, 25 % cancels of resting ones, 15 %
//!   orders that cross (market and limit IOC) — per order.
//! - `pmm/decide`: one `on_tick` that proposes quotes (the work behind
//!   every re-quote), and one with quotes resting and nothing to do (the
//!   work on every other market update).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use laicai_core::ids::OrderId;
use laicai_core::matching::{Incoming, MatchingEngine, OrderRef, Owner};
use laicai_core::order::{Side, TimeInForce};
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::rng::Rng;
use laicai_core::strategy::{Ctx, Inventory, Market, OwnOrder, StrategyParams};
use laicai_core::wire::events::StrategyType;
use laicai_core::Decimal;
use serde_json::json;
use std::hint::black_box;

enum Op {
    Submit(Incoming),
    Cancel(OrderRef),
}

const ORDERS: usize = 200_000;

fn ops() -> Vec<Op> {
    let mut rng = Rng::new(9);
    let mut resting: Vec<OrderRef> = Vec::new();
    let mut out = Vec::with_capacity(ORDERS);
    let mid = 10_000_000i64; // ticks of 0.01
    for id in 1..=ORDERS as u64 {
        let r = rng.uniform();
        let side = if rng.uniform() < 0.5 {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = Decimal::new(1 + (rng.uniform() * 100.0) as i64, 3);
        let owner = Owner::Account((rng.uniform() * 4.0) as u32);
        if r < 0.25 && !resting.is_empty() {
            let i = (rng.uniform() * resting.len() as f64) as usize;
            out.push(Op::Cancel(resting.swap_remove(i)));
            continue;
        }
        let (limit, tif) = if r < 0.85 {
            let away = 1 + (-(1.0 - rng.uniform()).ln() * 5.0) as i64;
            let tick = if side == Side::Buy {
                mid - away
            } else {
                mid + away
            };
            resting.push(id);
            (Some(Decimal::new(tick, 2)), TimeInForce::Gtc)
        } else if r < 0.92 {
            (None, TimeInForce::Ioc)
        } else {
            let tick = if side == Side::Buy { mid + 3 } else { mid - 3 };
            (Some(Decimal::new(tick, 2)), TimeInForce::Ioc)
        };
        out.push(Op::Submit(Incoming {
            id,
            owner,
            side,
            limit,
            qty,
            time_in_force: tif,
            post_only: false,
        }));
    }
    out
}

fn matching(c: &mut Criterion) {
    let ops = ops();
    let mut g = c.benchmark_group("matching");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ops.len() as u64));
    g.bench_function("mixed", |b| {
        b.iter(|| {
            let mut engine = MatchingEngine::new();
            for op in &ops {
                match op {
                    Op::Submit(o) => {
                        black_box(engine.submit(o.clone()));
                    }
                    Op::Cancel(id) => {
                        black_box(engine.cancel(*id));
                    }
                }
            }
            engine
        })
    });
    g.finish();
}

fn pmm(c: &mut Criterion) {
    let rules = PairSpec {
        symbol: Symbol::parse("BTC-USDT").expect("symbol"),
        tick_size: Decimal::new(1, 2),
        step_size: Decimal::new(1, 5),
        min_notional: Decimal::from(5),
    };
    let params = StrategyParams::parse(
        StrategyType::Pmm,
        &json!({"order_levels": 3, "inventory_skew_enabled": true}),
    )
    .expect("pmm config");
    let market = Market {
        bid: Decimal::new(9_999_995, 2),
        ask: Decimal::new(10_000_005, 2),
        at_ms: 1_000,
    };
    let inventory = Inventory {
        base: Decimal::ONE,
        quote: Decimal::from(100_000),
    };
    let resting: Vec<OwnOrder> = [(Side::Buy, 9_990_000), (Side::Sell, 10_010_000)]
        .iter()
        .enumerate()
        .map(|(i, (side, tick))| OwnOrder {
            id: Some(OrderId(format!("o{i}"))),
            side: *side,
            price: Some(Decimal::new(*tick, 2)),
            remaining: Decimal::new(1, 2),
            created_ms: 1_000,
            cancelling: false,
        })
        .collect();
    let mut g = c.benchmark_group("pmm");
    g.bench_function("decide: propose quotes", |b| {
        let mut s = params.build();
        let ctx = Ctx {
            now: 1_000,
            market: &market,
            inventory,
            orders: &[],
            rules: &rules,
        };
        // Nothing resting: every call proposes a full set of quotes.
        assert_eq!(s.on_tick(&ctx).map(|i| i.len()).ok(), Some(6));
        b.iter(|| black_box(s.on_tick(black_box(&ctx))))
    });
    g.bench_function("decide: quotes resting, nothing to do", |b| {
        let mut s = params.build();
        let ctx = Ctx {
            now: 1_000,
            market: &market,
            inventory,
            orders: &resting,
            rules: &rules,
        };
        // Fresh quotes, no refresh due: the strategy must decide nothing,
        // or this would time something else.
        assert_eq!(s.on_tick(&ctx).map(|i| i.len()).ok(), Some(0));
        b.iter(|| black_box(s.on_tick(black_box(&ctx))))
    });
    g.finish();
}

criterion_group!(benches, matching, pmm);
criterion_main!(benches);
