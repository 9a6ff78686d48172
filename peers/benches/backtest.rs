//! Backtest replay side by side: laicai's `Backtest` running `pmm` and
//! hftbacktest's `Backtest` running a market-making loop like it, over
//! the same synthetic market (`laicai_core::depth_stream::market_stream`:
//! the order-book bench's L2 stream with trades at the touch before 10 %
//! of its deltas, one step per millisecond). Each gets the stream in its
//! own types, built before timing; a run builds the backtest and replays
//! every event to the end. Events per second = steps / wall time.
//!
//! Both quote one bid and one ask 0.0002 % (20 ticks) from the mid, 0.01
//! BTC each, re-placed when the top of book has moved and a second has
//! passed since they were placed; no latency; 0.1 % fees; fills when the
//! market trades (hftbacktest: or its book moves) through a quote.
//!
//! `cargo bench -p laicai-peers --bench backtest`

use hftbacktest::backtest::assettype::LinearAsset;
use hftbacktest::backtest::data::{Data, DataSource};
use hftbacktest::backtest::models::{
    CommonFees, ConstantLatency, RiskAdverseQueueModel, TradingValueFeeModel,
};
use hftbacktest::backtest::{Backtest as HftBacktest, ExchangeKind, L2AssetBuilder};
use hftbacktest::depth::{HashMapMarketDepth, MarketDepth, INVALID_MAX, INVALID_MIN};
use hftbacktest::types::{
    Bot, ElapseResult, Event, OrdType, TimeInForce, BUY_EVENT, DEPTH_EVENT, EXCH_EVENT,
    LOCAL_EVENT, SELL_EVENT, TRADE_EVENT,
};
use laicai_core::backtest::Backtest;
use laicai_core::depth_stream::{market_events, market_stream, MarketStep, StreamShape};
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::strategy::StrategyParams;
use laicai_core::tape::MarketEvent;
use laicai_core::wire::backtest::SimSettings;
use laicai_core::wire::events::StrategyType;
use laicai_core::Decimal;
use std::time::Instant;

const STEPS: usize = 2_000_000;
const TICK: f64 = 0.01;
const LOT: f64 = 0.001;
const START_MS: i64 = 1_700_000_000_000;
/// Quotes this far from the mid (0.0002 %).
const SPREAD: f64 = 0.000002;
const QTY: f64 = 0.01;
const REFRESH_NS: i64 = 1_000_000_000;

fn hft_events(steps: &[MarketStep]) -> Vec<Event> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ts = (START_MS + i as i64) * 1_000_000;
            let (kind, buy, tick, lots) = match *s {
                MarketStep::Depth(d) => (DEPTH_EVENT, d.bid, d.tick, d.lots),
                MarketStep::Trade {
                    taker_buys,
                    tick,
                    lots,
                } => (TRADE_EVENT, taker_buys, tick, lots),
            };
            Event {
                ev: EXCH_EVENT | LOCAL_EVENT | kind | if buy { BUY_EVENT } else { SELL_EVENT },
                exch_ts: ts,
                local_ts: ts,
                px: tick as f64 * TICK,
                qty: lots as f64 * LOT,
                order_id: 0,
                ival: 0,
                fval: 0.0,
            }
        })
        .collect()
}

/// laicai: the live `pmm` over the replayed book. Returns the fills.
fn run_laicai(events: &[MarketEvent]) -> u64 {
    let rules = PairSpec {
        symbol: Symbol::parse("BTC-USDT").expect("symbol"),
        tick_size: Decimal::new(1, 2),
        step_size: Decimal::new(1, 5),
        min_notional: Decimal::from(5),
    };
    let config = serde_json::json!({"bid_spread": "0.0002", "ask_spread": "0.0002",
        "order_amount": "0.01", "order_refresh_time": 1, "inventory_skew_enabled": false,
        "filled_order_delay": 0});
    let params = StrategyParams::parse(StrategyType::Pmm, &config).expect("pmm config");
    let mut bt = Backtest::new(rules, SimSettings::default(), params.build());
    for e in events {
        bt.replay(e);
    }
    bt.report(Default::default()).trades
}

/// hftbacktest: the same quoting rule written against its `Bot` API.
/// Returns the fills.
fn run_hft(events: &[Event]) -> u64 {
    let asset = L2AssetBuilder::new()
        .data(vec![DataSource::Data(Data::from_data(events))])
        .latency_model(ConstantLatency::new(0, 0))
        .asset_type(LinearAsset::new(1.0))
        .fee_model(TradingValueFeeModel::new(CommonFees::new(0.001, 0.001)))
        .exchange(ExchangeKind::NoPartialFillExchange)
        .queue_model(RiskAdverseQueueModel::new())
        .depth(|| HashMapMarketDepth::new(TICK, LOT))
        .build()
        .expect("asset");
    let mut hbt = HftBacktest::builder()
        .add_asset(asset)
        .build()
        .expect("backtest");
    let (mut next_id, mut last_top, mut placed_at) = (1u64, (0i64, 0i64), i64::MIN / 2);
    let mut ids = Vec::new();
    loop {
        if hbt.wait_next_feed(false, i64::MAX / 4).expect("feed") == ElapseResult::EndOfData {
            break;
        }
        let depth = hbt.depth(0);
        let (b, a) = (depth.best_bid_tick(), depth.best_ask_tick());
        if b == INVALID_MIN || a == INVALID_MAX || b >= a || (b, a) == last_top {
            continue;
        }
        last_top = (b, a);
        let now = hbt.current_timestamp();
        if now - placed_at < REFRESH_NS {
            continue;
        }
        ids.clear();
        ids.extend(
            hbt.orders(0)
                .values()
                .filter(|o| o.cancellable())
                .map(|o| o.order_id),
        );
        for &id in &ids {
            hbt.cancel(0, id, false).expect("cancel");
        }
        hbt.clear_inactive_orders(Some(0));
        let mid = (b + a) as f64 / 2.0 * TICK;
        let bid = ((mid * (1.0 - SPREAD)) / TICK).floor() * TICK;
        let ask = ((mid * (1.0 + SPREAD)) / TICK).ceil() * TICK;
        hbt.submit_buy_order(
            0,
            next_id,
            bid,
            QTY,
            TimeInForce::GTX,
            OrdType::Limit,
            false,
        )
        .expect("buy");
        hbt.submit_sell_order(
            0,
            next_id + 1,
            ask,
            QTY,
            TimeInForce::GTX,
            OrdType::Limit,
            false,
        )
        .expect("sell");
        next_id += 2;
        placed_at = now;
    }
    hbt.state_values(0).num_trades as u64
}

fn main() {
    let steps = market_stream(StreamShape::default(), STEPS, 0.1);
    let trades = steps
        .iter()
        .filter(|s| matches!(s, MarketStep::Trade { .. }))
        .count();
    let ours = market_events(&steps, START_MS);
    let theirs = hft_events(&steps);
    let n = steps.len() as f64;
    eprintln!(
        "{} steps ({} trades), one per ms; best of 5 interleaved runs each:",
        steps.len(),
        trades
    );
    let (mut best, mut fills) = ([f64::MAX; 2], [0u64; 2]);
    for _ in 0..5 {
        let t = Instant::now();
        fills[0] = run_laicai(&ours);
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        fills[1] = run_hft(&theirs);
        best[1] = best[1].min(t.elapsed().as_secs_f64());
    }
    println!("| backtester | s | M events/s | fills | laicai is |");
    println!("|---|---|---|---|---|");
    for (k, name) in ["laicai pmm", "hftbacktest 0.9.4"].iter().enumerate() {
        println!(
            "| {name} | {:.3} | {:.2} | {} | {:.2}x |",
            best[k],
            n / best[k] / 1e6,
            fills[k],
            best[k] / best[0]
        );
    }
}
