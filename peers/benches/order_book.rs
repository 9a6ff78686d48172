//! Order books side by side: laicai's `OrderBook`, NautilusTrader's
//! (`nautilus-model` L2_MBP `apply_delta`), Barter's (`barter-data`
//! `OrderBook::update`) and hftbacktest's `HashMapMarketDepth`, over the
//! same synthetic L2 stream (`laicai_core::depth_stream`, 2 M deltas,
//! ±100 levels a side, activity skewed to the top, never crossed). Each
//! step applies one delta and reads the best bid and ask. Every book's
//! input is built in its own types before timing. First, every book's
//! top-of-book (price and size, after each delta) must equal laicai's.
//!
//! `cargo bench -p laicai-peers --bench order_book`

use barter_data::books::{Level as BarterLevel, OrderBook as BarterBook};
use barter_data::subscription::book::OrderBookEvent;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hftbacktest::depth::{HashMapMarketDepth, L2MarketDepth, MarketDepth};
use laicai_core::depth_stream::{l2_stream, DeltaAction, L2Delta, StreamShape};
use laicai_core::order_book::{BookSide, OrderBook};
use laicai_core::Decimal;
use nautilus_model::data::{BookOrder, OrderBookDelta};
use nautilus_model::enums::{BookAction, BookType, OrderSide};
use nautilus_model::identifiers::InstrumentId;
use nautilus_model::orderbook::OrderBook as NautilusBook;
use nautilus_model::types::{Price, Quantity};
use std::hint::black_box;
use std::time::Instant;

const DELTAS: usize = 2_000_000;
const TICK: f64 = 0.01;
const LOT: f64 = 0.001;

/// Best bid and ask as (tick, lots); (0, 0) for an empty side.
type Top = [(i64, i64); 2];

struct Inputs {
    laicai: Vec<(BookSide, Decimal, Decimal)>,
    nautilus: Vec<OrderBookDelta>,
    barter: Vec<OrderBookEvent>,
    hft: Vec<(bool, f64, f64)>,
}

fn inputs(stream: &[L2Delta]) -> Inputs {
    let id = InstrumentId::from("BTCUSDT.BINANCE");
    let price = |d: &L2Delta| Decimal::new(d.tick, 2);
    let size = |d: &L2Delta| Decimal::new(d.lots as i64, 3);
    Inputs {
        laicai: stream
            .iter()
            .map(|d| {
                let side = if d.bid { BookSide::Bid } else { BookSide::Ask };
                (side, price(d), size(d))
            })
            .collect(),
        nautilus: stream
            .iter()
            .map(|d| {
                let side = if d.bid {
                    OrderSide::Buy
                } else {
                    OrderSide::Sell
                };
                let action = match d.action {
                    DeltaAction::Add => BookAction::Add,
                    DeltaAction::Update => BookAction::Update,
                    DeltaAction::Delete => BookAction::Delete,
                };
                let order = BookOrder::new(
                    side,
                    Price::new(d.tick as f64 * TICK, 2),
                    Quantity::new(d.lots as f64 * LOT, 3),
                    0,
                );
                OrderBookDelta::new(id, action, order, 0, 0, 0.into(), 0.into())
            })
            .collect(),
        barter: stream
            .iter()
            .map(|d| {
                let level = BarterLevel::new(price(d), size(d));
                let (bids, asks) = if d.bid {
                    (vec![level], vec![])
                } else {
                    (vec![], vec![level])
                };
                OrderBookEvent::Update(BarterBook::new(0, None, bids, asks))
            })
            .collect(),
        hft: stream
            .iter()
            .map(|d| (d.bid, d.tick as f64 * TICK, d.lots as f64 * LOT))
            .collect(),
    }
}

fn lots(d: Decimal) -> i64 {
    i64::try_from((d * Decimal::from(1000)).trunc().mantissa()).unwrap_or(-1)
}

fn ticks(d: Decimal) -> i64 {
    i64::try_from((d * Decimal::from(100)).trunc().mantissa()).unwrap_or(-1)
}

// Each `run_*` applies every delta and reads the best bid and ask in the
// library's own types; with `tops`, it also records them as ticks and
// lots for the comparison (outside the timed runs).

fn run_laicai(input: &[(BookSide, Decimal, Decimal)], mut tops: Option<&mut Vec<Top>>) {
    let mut book = OrderBook::new();
    for &(side, price, size) in input {
        let _ = book.apply_delta(side, price, size);
        let (b, a) = black_box((book.best_bid(), book.best_ask()));
        if let Some(t) = tops.as_deref_mut() {
            t.push([
                b.map_or((0, 0), |l| (ticks(l.0), lots(l.1))),
                a.map_or((0, 0), |l| (ticks(l.0), lots(l.1))),
            ]);
        }
    }
}

fn run_nautilus(input: &[OrderBookDelta], mut tops: Option<&mut Vec<Top>>) {
    let mut book = NautilusBook::new(InstrumentId::from("BTCUSDT.BINANCE"), BookType::L2_MBP);
    let f = |p: Option<f64>, scale: f64| p.map_or(0, |p| (p * scale).round() as i64);
    for delta in input {
        let _ = book.apply_delta(delta);
        let (bp, bs, ap, asz) = black_box((
            book.best_bid_price(),
            book.best_bid_size(),
            book.best_ask_price(),
            book.best_ask_size(),
        ));
        if let Some(t) = tops.as_deref_mut() {
            t.push([
                (
                    f(bp.map(|p| p.as_f64()), 100.0),
                    f(bs.map(|q| q.as_f64()), 1000.0),
                ),
                (
                    f(ap.map(|p| p.as_f64()), 100.0),
                    f(asz.map(|q| q.as_f64()), 1000.0),
                ),
            ]);
        }
    }
}

fn run_barter(input: &[OrderBookEvent], mut tops: Option<&mut Vec<Top>>) {
    let mut book = BarterBook::new(
        0,
        None,
        Vec::<BarterLevel>::new(),
        Vec::<BarterLevel>::new(),
    );
    for event in input {
        book.update(event);
        let (b, a) = black_box((book.bids().best().copied(), book.asks().best().copied()));
        if let Some(t) = tops.as_deref_mut() {
            let top =
                |l: Option<BarterLevel>| l.map_or((0, 0), |l| (ticks(l.price), lots(l.amount)));
            t.push([top(b), top(a)]);
        }
    }
}

fn run_hft(input: &[(bool, f64, f64)], mut tops: Option<&mut Vec<Top>>) {
    let mut depth = HashMapMarketDepth::new(TICK, LOT);
    for &(bid, price, qty) in input {
        if bid {
            depth.update_bid_depth(price, qty, 0);
        } else {
            depth.update_ask_depth(price, qty, 0);
        }
        let (bt, bq, at, aq) = black_box((
            depth.best_bid_tick(),
            depth.best_bid_qty(),
            depth.best_ask_tick(),
            depth.best_ask_qty(),
        ));
        if let Some(t) = tops.as_deref_mut() {
            let side = |tick: i64, qty: f64, empty: bool| {
                if empty {
                    (0, 0)
                } else {
                    (tick, (qty / LOT).round() as i64)
                }
            };
            t.push([
                side(bt, bq, bt == hftbacktest::depth::INVALID_MIN),
                side(at, aq, at == hftbacktest::depth::INVALID_MAX),
            ]);
        }
    }
}

/// Every peer's top of book after every delta equals laicai's.
fn check_tops(i: &Inputs) {
    let mut want = Vec::with_capacity(DELTAS);
    run_laicai(&i.laicai, Some(&mut want));
    let compare = |name: &str, got: Vec<Top>| {
        assert_eq!(got.len(), want.len(), "{name}: deltas seen");
        if let Some(k) = (0..want.len()).find(|&k| got[k] != want[k]) {
            panic!(
                "{name} differs from laicai after delta {k}: {:?} vs {:?}",
                got[k], want[k]
            );
        }
        eprintln!(
            "top of book identical to laicai's after all {} deltas: {name}",
            want.len()
        );
    };
    let mut got = Vec::with_capacity(DELTAS);
    run_nautilus(&i.nautilus, Some(&mut got));
    compare("nautilus-model 0.57.0", got);
    let mut got = Vec::with_capacity(DELTAS);
    run_barter(&i.barter, Some(&mut got));
    compare("barter-data 0.13.0", got);
    let mut got = Vec::with_capacity(DELTAS);
    run_hft(&i.hft, Some(&mut got));
    compare("hftbacktest 0.9.4", got);
}

/// Best of 5 whole-stream runs each, interleaved, in one process: the
/// ratio BENCHMARKS.md reports (criterion's own estimates follow).
fn side_by_side(i: &Inputs) {
    let mut best = [f64::MAX; 4];
    for _ in 0..5 {
        let runs: [&dyn Fn(); 4] = [
            &|| run_laicai(&i.laicai, None),
            &|| run_nautilus(&i.nautilus, None),
            &|| run_barter(&i.barter, None),
            &|| run_hft(&i.hft, None),
        ];
        for (k, run) in runs.iter().enumerate() {
            let t = Instant::now();
            run();
            best[k] = best[k].min(t.elapsed().as_secs_f64());
        }
    }
    let names = [
        "laicai",
        "nautilus-model 0.57.0",
        "barter-data 0.13.0",
        "hftbacktest 0.9.4",
    ];
    eprintln!("\nside by side, best of 5, {DELTAS} deltas (apply + best bid/ask):");
    for (k, name) in names.iter().enumerate() {
        eprintln!(
            "  {name:<24} {:>7.1} ns/delta  {:>6.2} M deltas/s  laicai is {:.2}x",
            best[k] * 1e9 / DELTAS as f64,
            DELTAS as f64 / best[k] / 1e6,
            best[k] / best[0]
        );
    }
}

fn books(c: &mut Criterion) {
    let stream = l2_stream(StreamShape::default(), DELTAS);
    let i = inputs(&stream);
    check_tops(&i);
    side_by_side(&i);
    let mut g = c.benchmark_group("order_book");
    g.sample_size(10);
    g.throughput(Throughput::Elements(DELTAS as u64));
    g.bench_function("laicai", |b| b.iter(|| run_laicai(&i.laicai, None)));
    g.bench_function("nautilus-model", |b| {
        b.iter(|| run_nautilus(&i.nautilus, None))
    });
    g.bench_function("barter-data", |b| b.iter(|| run_barter(&i.barter, None)));
    g.bench_function("hftbacktest", |b| b.iter(|| run_hft(&i.hft, None)));
    g.finish();
}

criterion_group!(benches, books);
criterion_main!(benches);
