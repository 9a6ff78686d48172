//! The engine's `OrderBook` over the synthetic L2 stream
//! (`laicai_core::depth_stream`, 2 M deltas, ±100 levels a side): apply
//! one delta and read the best bid and ask, per delta. The comparison
//! with other engines' books is `peers/` (see BENCHMARKS.md).
//! `cargo bench --bench order_book`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use laicai_core::depth_stream::{l2_stream, StreamShape};
use laicai_core::order_book::{BookSide, OrderBook};
use laicai_core::Decimal;
use std::hint::black_box;

const DELTAS: usize = 2_000_000;

fn book(c: &mut Criterion) {
    let stream: Vec<(BookSide, Decimal, Decimal)> = l2_stream(StreamShape::default(), DELTAS)
        .iter()
        .map(|d| {
            let side = if d.bid { BookSide::Bid } else { BookSide::Ask };
            (
                side,
                Decimal::new(d.tick, 2),
                Decimal::new(d.lots as i64, 3),
            )
        })
        .collect();
    let mut g = c.benchmark_group("order_book");
    g.sample_size(10);
    g.throughput(Throughput::Elements(DELTAS as u64));
    g.bench_function("laicai apply_delta + best bid/ask", |b| {
        b.iter(|| {
            let mut book = OrderBook::new();
            for &(side, price, size) in &stream {
                let _ = book.apply_delta(side, price, size);
                black_box((book.best_bid(), book.best_ask()));
            }
            book
        })
    });
    g.finish();
}

criterion_group!(benches, book);
criterion_main!(benches);
