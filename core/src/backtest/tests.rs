use super::data::read_events;
use super::*;
use crate::strategy::testing::{d, rules};
use crate::strategy::StrategyParams;
use crate::wire::events::StrategyType;
use serde_json::json;

fn run(kind: StrategyType, config: serde_json::Value, settings: SimSettings, csv: &str) -> Report {
    run_files(kind, config, settings, &[csv])
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
    assert_eq!(r.final_balances.0["BTC"], d("2"));
    assert_eq!(r.final_balances.0["USDT"], d("1004.805"));
    // 2 BTC + 1000 USDT at the first mid (100) is 1200; at the end, 2 BTC
    // at 100.5 and 1004.805 USDT: 1205.805. Of that +5.805, the 2 BTC held
    // made +1 (buy and hold) and the round trip +5 − 0.195 fees.
    assert_eq!(
        (r.initial_equity, r.final_equity),
        (d("1200"), d("1205.805"))
    );
    assert_eq!(r.pnl, d("5.805"));
    assert_eq!(r.return_pct, d("0.4838"));
    assert_eq!(r.buy_and_hold.pnl, d("1"));
    assert_eq!(r.vs_buy_and_hold, d("4.805"));
    // The deepest point: 3 BTC marked at 94 with 904.905 USDT vs the 1200 peak.
    assert_eq!(r.max_drawdown_pct, d("1.0913"));
    assert_eq!(r.win_rate, d("100"), "a percentage");
    assert_eq!(
        (r.currency.as_str(), r.low_mid, r.high_mid),
        ("USDT", d("94"), d("100.5"))
    );
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
    assert_eq!(r.final_balances.0["USDT"], d("905.812"));
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
    assert_eq!(r.final_balances.0["BTC"], d("2.3"), "{r:?}");
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

/// Several CSV texts (each one file), merged in time order, replayed.
fn run_files(
    kind: StrategyType,
    config: serde_json::Value,
    settings: SimSettings,
    files: &[&str],
) -> Report {
    let params = StrategyParams::parse(kind, &config).unwrap();
    let mut bt = Backtest::new(rules(), settings, params.build());
    let files = files
        .iter()
        .map(|text| {
            let mut events = Vec::new();
            read_events("t.csv", text.as_bytes(), &mut events).unwrap();
            events
        })
        .collect();
    for e in &super::data::merge(files) {
        bt.replay(e);
    }
    bt.report(crate::wire::backtest::RunInfo::default())
}

const BOOK_HEADER: &str =
    "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n";

/// A Tardis book file: one row per `(ms, is_snapshot, side, price, amount)`.
fn book(rows: &[(i64, bool, &str, &str, &str)]) -> String {
    let rows = rows.iter().map(|(ms, snapshot, side, price, amount)| {
        let us = ms * 1000;
        format!("binance,BTCUSDT,{us},{us},{snapshot},{side},{price},{amount}\n")
    });
    std::iter::once(BOOK_HEADER.to_string())
        .chain(rows)
        .collect()
}

#[test]
fn market_orders_take_the_replayed_books_ask_not_the_print() {
    // Prints at 100 every second, but the book asks 100.5 until 1.5 s and
    // 101 after: each slice pays the book's ask + 10 bps.
    let book = book(&[
        (0, true, "bid", "99.5", "1"),
        (0, true, "ask", "100.5", "1"),
        (1500, false, "ask", "100.5", "0"),
        (1500, false, "ask", "101", "2"),
    ]);
    let prints: String = (0..10)
        .map(|i| format!("{i},100,1,100,{},false\n", i * 1000))
        .collect();
    let config = json!({"side": "buy", "total_size": "0.3", "duration_s": 3, "slices": 3});
    let settings = SimSettings {
        slippage_bps: d("10"),
        ..flat()
    };
    let r = run_files(StrategyType::Twap, config, settings, &[&book, &prints]);
    // 0.1 × 100.5 × 1.001 twice, 0.1 × 101 × 1.001 once.
    assert_eq!(r.turnover, d("30.2302"), "{r:?}");
    assert_eq!(r.final_balances.0["BTC"], d("2.3"));
    assert_eq!(r.final_mid, d("100.25"), "marked at the book's mid");
}

#[test]
fn pmm_quotes_around_the_books_mid_and_a_print_through_its_bid_fills_it() {
    // The book 99.9 / 100.1 (mid 100) while prints say 120: pmm at 1 %
    // quotes 99 and 101; a sell print at 98.9 for 0.4 fills 0.4 of the bid.
    let book = book(&[
        (0, true, "bid", "99.9", "3"),
        (0, true, "ask", "100.1", "3"),
    ]);
    let prints = "1,120,1,120,500,false\n2,98.9,0.4,39.56,1000,true\n";
    let config = json!({"bid_spread": "1", "ask_spread": "1", "order_amount": "1",
        "inventory_skew_enabled": false, "order_refresh_time": 60});
    let r = run_files(StrategyType::Pmm, config, flat(), &[&book, prints]);
    assert_eq!((r.trades, r.maker_fills), (1, 1), "{r:?}");
    assert_eq!(r.turnover, d("39.6"));
    assert_eq!(r.fees, d("0.0396"));
    assert_eq!(r.final_balances.0["BTC"], d("2.4"));
    assert_eq!(r.final_balances.0["USDT"], d("960.3604"));
    assert_eq!(r.events, 4);
}

#[test]
fn a_new_snapshot_replaces_the_book_and_a_crossed_book_is_not_quoted_from() {
    // A first book (99.9 / 100.1) is quoted from at 0.5 s; at 1.6 s it
    // crosses (a bid of 101), then a snapshot at 2 s replaces it (199.9 /
    // 200.1), complete at the 2.5 s row.
    let book = book(&[
        (0, true, "bid", "99.9", "3"),
        (0, true, "ask", "100.1", "3"),
        (500, false, "bid", "99.8", "1"),
        (1600, false, "bid", "101", "1"),
        (2000, true, "bid", "199.9", "3"),
        (2000, true, "ask", "200.1", "3"),
        (2500, false, "bid", "199.8", "1"),
    ]);
    let config = json!({"side": "buy", "total_size": "0.2", "duration_s": 2, "slices": 2});
    let r = run_files(StrategyType::Twap, config, flat(), &[&book]);
    // Slice one at 100.1; slice two, due at 1.5 s, waits out the crossed
    // book and takes 200.1 from the new one (quoted from the crossed book
    // it would have paid 100.1; with the old levels kept, the book would
    // still be crossed and it would not have traded).
    assert_eq!(r.turnover, d("30.02"), "{r:?}");
    assert_eq!(r.final_mid, d("200"));
}

#[test]
fn a_book_change_the_book_cannot_key_ends_the_run_with_a_data_error() {
    use crate::order_book::BookSide;
    use crate::tape::DepthChange;
    let params = StrategyParams::parse(
        StrategyType::Pmm,
        &json!({"bid_spread": "1", "ask_spread": "1", "order_amount": "1"}),
    )
    .unwrap();
    let mut bt = Backtest::new(rules(), flat(), params.build());
    let change = |at_ms, price: &str| {
        MarketEvent::Depth(DepthChange {
            at_ms,
            side: BookSide::Bid,
            price: d(price),
            qty: d("1"),
            snapshot: false,
        })
    };
    bt.replay(&change(1, "99"));
    assert!(!bt.done());
    // Nine decimals: the book keys prices to eight.
    bt.replay(&change(2, "99.000000001"));
    assert!(bt.done());
    bt.replay(&change(3, "98"));
    let r = bt.report(crate::wire::backtest::RunInfo::default());
    assert_eq!(
        r.ended.as_deref(),
        Some("data error at 2 ms: price 99.000000001 has more than 8 decimals or is out of range"),
        "{r:?}"
    );
}

/// PnL, return, drawdown and Sharpe are all of one equity curve, which
/// opens at the starting balances marked at the first mid.
#[test]
fn every_figure_comes_from_one_equity_curve() {
    let tape: String = (0..4000)
        .map(|i| {
            let price = 100.0 + ((i * 7919) % 600) as f64 / 100.0 - 3.0 + i as f64 / 400.0;
            format!("{i},{price:.2},0.5,0,{},{}\n", i * 30_000, i % 3 == 0)
        })
        .collect();
    let params = StrategyParams::parse(
        StrategyType::Pmm,
        &json!({"bid_spread": "0.5", "ask_spread": "0.5", "order_amount": "0.1", "order_refresh_time": 60}),
    )
    .unwrap();
    let mut bt = Backtest::new(rules(), flat(), params.build());
    let mut events = Vec::new();
    read_events("t.csv", tape.as_bytes(), &mut events).unwrap();
    for e in &events {
        bt.replay(e);
    }
    let r = bt.report(crate::wire::backtest::RunInfo::default());
    let values = bt.curve().values();
    let (first, last) = (values[0].1, values[values.len() - 1].1);
    assert!(r.trades > 10, "it trades: {}", r.trades);
    assert_eq!(
        first,
        d("2") * d("100") + d("1000") - (d("2") * d("100") - d("2") * r.first_mid),
        "opens at the starting balances"
    );
    assert_eq!(r.initial_equity, round(first, 8));
    assert_eq!(r.final_equity, round(last, 8));
    assert_eq!(
        r.pnl,
        round(last - first, 8),
        "PnL = final − initial equity"
    );
    assert_eq!(r.return_pct, round((last - first) / first * d("100"), 4));
    let mut peak = values[0].1;
    let mut deepest = Decimal::ZERO;
    for (_, e) in &values {
        peak = peak.max(*e);
        deepest = deepest.max((peak - e) / peak * d("100"));
    }
    assert_eq!(
        r.max_drawdown_pct,
        round(deepest, 4),
        "drawdown of the same curve"
    );
    // Buy and hold at the same mids; the difference is what trading added.
    assert_eq!(
        r.buy_and_hold.pnl,
        round(d("1000") + d("2") * r.final_mid - first, 8)
    );
    assert_eq!(r.vs_buy_and_hold, r.pnl - r.buy_and_hold.pnl);
    // The sampled curve the report carries starts and ends on the same values.
    assert_eq!(r.equity_curve[0].equity, r.initial_equity);
    assert_eq!(
        r.equity_curve[r.equity_curve.len() - 1].equity,
        r.final_equity
    );
    assert!(r.sharpe != Decimal::ZERO, "hours of data: a Sharpe");
}

#[test]
fn a_report_says_what_was_probably_not_meant() {
    let grid = StrategyParams::parse(
        StrategyType::Grid,
        &json!({"lower_price": "50", "upper_price": "60", "grid_levels": 4, "order_amount": "0.1"}),
    )
    .unwrap();
    let mut r = run(
        StrategyType::Grid,
        json!({"lower_price": "50", "upper_price": "60", "grid_levels": 4, "order_amount": "0.1"}),
        flat(),
        GRID_TAPE,
    );
    r.run.pair = "BTC-USDT".into();
    r.run.data = vec!["sample/ETHUSDT-trades-2025-01-01.csv".into()];
    let w = report::warnings(&r, &grid);
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].starts_with("the price (94–100.5 USDT) never entered the grid's range 50–60"),
        "{w:?}"
    );
    assert!(w[1].starts_with("no order filled"), "{w:?}");
    assert!(w[2].starts_with("the data file ETHUSDT-trades-2025-01-01.csv names ETHUSDT, but the pair tested is BTC-USDT"), "{w:?}");
    let fine = run(
        StrategyType::Grid,
        json!({"lower_price": "90", "upper_price": "110", "grid_levels": 5, "order_amount": "1"}),
        flat(),
        GRID_TAPE,
    );
    assert!(
        report::warnings(&fine, &grid).len() == 1,
        "only the grid's own range differs"
    );
}

#[test]
fn the_report_is_json_numbers_with_asset_names() {
    let r = run(
        StrategyType::Grid,
        json!({"lower_price": "90", "upper_price": "110", "grid_levels": 5, "order_amount": "1"}),
        flat(),
        GRID_TAPE,
    );
    let v = serde_json::to_value(&r).unwrap();
    fn numbers_only(v: &serde_json::Value, path: &str) {
        match v {
            serde_json::Value::String(s) => assert!(
                s.parse::<f64>().is_err(),
                "{path} is a number written as a string: {s}"
            ),
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| numbers_only(x, &format!("{path}[{i}]"))),
            serde_json::Value::Object(o) => o
                .iter()
                .for_each(|(k, x)| numbers_only(x, &format!("{path}.{k}"))),
            _ => {}
        }
    }
    numbers_only(&v, "report");
    assert_eq!(v["final_balances"]["BTC"], json!(2));
    assert!(v["equity_curve"][0][1].is_number() && v["equity_curve"][0][2].is_number());
    assert_eq!(v["fills"][0][1], "buy");
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}

fn round(x: Decimal, places: u32) -> Decimal {
    x.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}
