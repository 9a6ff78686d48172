use super::data::read_prints;
use super::*;
use crate::strategy::testing::{d, rules};
use crate::strategy::{StrategyParams, StrategyType};
use serde_json::json;

fn run(kind: StrategyType, config: serde_json::Value, settings: SimSettings, csv: &str) -> Report {
    let params = StrategyParams::parse(kind, &config).unwrap();
    let mut bt = Backtest::new(rules(), settings, params.build());
    let mut prints = Vec::new();
    read_prints("t.csv", csv.as_bytes(), &mut prints).unwrap();
    for p in &prints {
        bt.step(p);
    }
    bt.report()
}

fn flat() -> SimSettings {
    SimSettings {
        initial_base: d("2"),
        initial_quote: d("1000"),
        maker_fee: d("0.001"),
        taker_fee: d("0.001"),
        slippage_bps: d("0"),
        half_spread_bps: d("0"),
        latency_ms: 0,
    }
}

/// A grid 90..110 in 5 levels of 1: the buy at 95 fills in two prints
/// that trade through it, the sell at 100 it puts up fills once.
const GRID_TAPE: &str = "1,100,10,1000,0,false\n\
                         2,100,1,100,1000,false\n\
                         3,94.5,0.6,56.7,2000,true\n\
                         4,94,2,188,3000,true\n\
                         5,99,1,99,4000,false\n\
                         6,100.5,3,301.5,5000,false\n";

#[test]
fn a_tiny_grid_by_hand() {
    let config =
        json!({"lower_price": "90", "upper_price": "110", "grid_levels": 5, "order_amount": "1"});
    let r = run(StrategyType::Grid, config, flat(), GRID_TAPE);
    // Bought 0.6 + 0.4 at 95, sold 1 at 100; maker fees 0.1 % of each.
    assert_eq!(r.trades, 3);
    assert_eq!(r.maker_fills, 3);
    assert_eq!(r.fees, d("0.195"));
    assert_eq!(r.turnover, d("195"));
    assert_eq!(r.final_balances.base, d("2"));
    assert_eq!(r.final_balances.quote, d("1004.805"));
    // +5 from the round trip, − 0.195 fees.
    assert_eq!(r.pnl, d("4.805"));
    assert_eq!(r.return_pct, d("0.400083"));
    // The deepest point: 3 BTC marked at 94 with 904.905 USDT vs the 1200 peak.
    assert_eq!(r.max_drawdown_pct, d("1.09125"));
    assert_eq!(r.win_rate, d("1"));
    assert_eq!(r.open_orders, 4, "90, 105, 110 rest, and the new buy at 95");
    assert_eq!(r.events, 6);
    assert_eq!(r.sharpe, d("0"), "under an hour: no hourly returns");
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let tape: String = (0..5000)
        .map(|i| {
            let price = 100.0 + ((i * 7919) % 400) as f64 / 100.0 - 2.0;
            format!("{i},{price:.2},0.5,0,{},{}\n", i * 1000, i % 3 == 0)
        })
        .collect();
    let config = json!({"bid_spread": "0.5", "ask_spread": "0.5", "order_amount": "0.1", "order_refresh_time": 5});
    let a = run(
        StrategyType::Pmm,
        config.clone(),
        SimSettings::default(),
        &tape,
    );
    let b = run(StrategyType::Pmm, config, SimSettings::default(), &tape);
    assert!(a.trades > 10, "{a:?}");
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn a_late_order_that_crosses_when_it_arrives_takes() {
    // With 2.5 s of latency the grid's orders (decided at 0 s) arrive at
    // the 94 print: the buy at 95 crosses and takes at 94, paying taker.
    let config =
        json!({"lower_price": "90", "upper_price": "110", "grid_levels": 5, "order_amount": "1"});
    let slow = SimSettings {
        latency_ms: 2500,
        taker_fee: d("0.002"),
        ..flat()
    };
    let r = run(StrategyType::Grid, config, slow, GRID_TAPE);
    assert_eq!((r.trades, r.maker_fills), (1, 0), "{r:?}");
    assert_eq!(r.turnover, d("94"));
    assert_eq!(r.fees, d("0.188"));
    assert_eq!(r.final_balances.quote, d("905.812"));
}

#[test]
fn twap_takes_with_slippage_and_finishes() {
    let config = json!({"side": "buy", "total_size": "0.3", "duration_s": 3, "slices": 3});
    let settings = SimSettings {
        slippage_bps: d("10"),
        ..flat()
    };
    let tape: String = (0..10)
        .map(|i| format!("{i},100,1,100,{},false\n", i * 1000))
        .collect();
    let r = run(StrategyType::Twap, config, settings, &tape);
    assert_eq!(r.final_balances.base, d("2.3"), "{r:?}");
    assert!(r.fees > Decimal::ZERO);
    // Each slice paid 10 bps over the 100 top of book: 100.1.
    assert_eq!(r.turnover, d("30.03"), "{r:?}");
    assert!(
        r.ended
            .as_deref()
            .is_some_and(|e| e.starts_with("finished")),
        "{r:?}"
    );
}
