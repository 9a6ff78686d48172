//! Backtest replay speed: events per second through `pmm` (and `grid`)
//! over the shipped sample data, and through `pmm` over the synthetic L2
//! market with trades (`depth_stream::market_stream`, the stream the
//! comparison with hftbacktest in `peers/` uses), in release. `cargo
//! bench --bench backtest_replay`. Loading (gunzip + parse) is timed apart.

use laicai_actors::backtest::{load, run};
use laicai_core::depth_stream::{market_events, market_stream, StreamShape};
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::strategy::StrategyParams;
use laicai_core::tape::MarketEvent;
use laicai_core::wire::backtest::SimSettings;
use laicai_core::wire::events::StrategyType;
use laicai_core::Decimal;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Where a case's events come from.
#[derive(Clone, Copy)]
enum Source {
    /// A file of the shipped sample data.
    Sample(&'static str),
    /// `market_stream`: 2 M L2 deltas with trades at the touch.
    SyntheticL2,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Sample(file) => file,
            Source::SyntheticL2 => "synthetic L2 + trades (market_stream, 2 M deltas)",
        }
    }

    fn events(self, root: &Path) -> Vec<MarketEvent> {
        match self {
            Source::Sample(file) => load(&[root.join(file)], None, None).expect("sample data"),
            Source::SyntheticL2 => {
                let steps = market_stream(StreamShape::default(), 2_000_000, 0.1);
                market_events(&steps, 1_700_000_000_000)
            }
        }
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let rules = PairSpec {
        symbol: Symbol::parse("BTC-USDT").expect("symbol"),
        tick_size: Decimal::new(1, 2),
        step_size: Decimal::new(1, 5),
        min_notional: Decimal::from(5),
    };
    let cases = [
        (
            "pmm",
            Source::Sample("BTCUSDT-trades-2025-01-01.csv.gz"),
            StrategyType::Pmm,
            json!({"bid_spread": "0.05", "ask_spread": "0.05", "order_amount": "0.01", "order_refresh_time": 10}),
        ),
        (
            "pmm",
            Source::Sample("BTCUSDT-1m-2025-01.csv.gz"),
            StrategyType::Pmm,
            json!({"bid_spread": "0.05", "ask_spread": "0.05", "order_amount": "0.01", "order_refresh_time": 10}),
        ),
        (
            "grid",
            Source::Sample("BTCUSDT-1m-2025-01.csv.gz"),
            StrategyType::Grid,
            json!({"lower_price": "80000", "upper_price": "100000", "grid_levels": 40, "order_amount": "0.001"}),
        ),
        (
            "pmm",
            Source::SyntheticL2,
            StrategyType::Pmm,
            json!({"bid_spread": "0.0002", "ask_spread": "0.0002", "order_amount": "0.01",
                "order_refresh_time": 1, "inventory_skew_enabled": false, "filled_order_delay": 0}),
        ),
    ];
    println!("| strategy | data | events | load s | replay s | events/s | trades |");
    println!("|---|---|---|---|---|---|---|");
    for (name, source, kind, config) in cases {
        let params = StrategyParams::parse(kind, &config).expect("config");
        let t = Instant::now();
        let events = source.events(&root);
        let load_s = t.elapsed().as_secs_f64();
        // Best of three.
        let mut best = f64::MAX;
        let mut trades = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let r = run(
                rules.clone(),
                &params,
                SimSettings::default(),
                &[],
                &events,
                &AtomicBool::new(false),
                |_| {},
            )
            .expect("runs");
            best = best.min(t.elapsed().as_secs_f64());
            trades = r.trades;
        }
        println!(
            "| {name} | {} | {} | {load_s:.3} | {best:.3} | {:.0} | {trades} |",
            source.name(),
            events.len(),
            events.len() as f64 / best
        );
    }
}
