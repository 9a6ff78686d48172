use super::*;
use crate::order::{OrderType, StrategyTag, TimeInForce};
use crate::pair::Symbol;
use crate::wire::events::Liquidity;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn spec() -> PairSpec {
    PairSpec {
        symbol: Symbol::parse("BTC-USDT").unwrap(),
        tick_size: d("0.01"),
        step_size: d("0.001"),
        min_notional: d("5"),
    }
}

fn manager(f: impl FnOnce(&mut RiskLimits)) -> RiskManager {
    let mut l = RiskLimits::default();
    f(&mut l);
    assert!(l.problems().is_empty(), "{:?}", l.problems());
    let mut m = RiskManager::new(l, vec![("paper".into(), spec())]);
    m.on_mark("paper", "BTC-USDT", d("100"), 0);
    m
}

fn req(side: Side, size: &str, price: Option<&str>, strategy: Option<&str>) -> OrderRequest {
    OrderRequest {
        symbol: Symbol::parse("BTC-USDT").unwrap(),
        side,
        order_type: if price.is_some() {
            OrderType::Limit
        } else {
            OrderType::Market
        },
        size: d(size),
        price: price.map(d),
        time_in_force: if price.is_some() {
            TimeInForce::Gtc
        } else {
            TimeInForce::Ioc
        },
        post_only: false,
        client_order_id: None,
        exchange: None,
        strategy: strategy.map(|s| StrategyTag {
            id: StrategyId(s.into()),
            name: format!("{s} name"),
        }),
    }
}

fn view(
    id: &str,
    side: Side,
    status: OrderStatus,
    remaining: &str,
    strategy: Option<&str>,
) -> OrderView {
    OrderView {
        order_id: id.into(),
        client_order_id: None,
        status,
        filled: Decimal::ZERO,
        remaining: d(remaining),
        price: Some(d("100")),
        symbol: "BTC-USDT".into(),
        side,
        order_type: OrderType::Limit,
        strategy: strategy.map(|s| format!("{s} name")),
        strategy_id: strategy.map(str::to_string),
        exchange: "paper".into(),
        connection_id: None,
        reason: None,
        size: d(remaining),
        avg_price: None,
        fees: Decimal::ZERO,
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn trade(side: Side, qty: &str, price: &str, fee: &str, strategy: Option<&str>) -> TradeView {
    TradeView {
        trade_id: "t".into(),
        order_id: "o".into(),
        symbol: "BTC-USDT".into(),
        price: d(price),
        amount: d(qty),
        side,
        fee: d(fee),
        fee_asset: "USDT".into(),
        liquidity: Liquidity::Maker,
        strategy: strategy.map(|s| format!("{s} name")),
        strategy_id: strategy.map(str::to_string),
        exchange: "paper".into(),
        connection_id: None,
        time: String::new(),
    }
}

fn rule(e: RiskViolation) -> String {
    e.to_string().split(':').next().unwrap().to_string()
}

#[test]
fn per_order_limits() {
    let mut m = manager(|l| {
        l.max_order_size = Some(d("2"));
        l.max_order_notional = Some(d("150"));
        l.price_band_pct = Some(d("5"));
    });
    let check = |m: &mut RiskManager, r| m.check("paper", &r, 0).map_err(rule);
    assert_eq!(
        check(&mut m, req(Side::Buy, "3", Some("10"), None)),
        Err("max_order_size".into())
    );
    assert_eq!(
        check(&mut m, req(Side::Buy, "1.6", Some("99"), None)),
        Err("max_order_notional".into())
    );
    // A market order's notional is taken at the mid.
    assert_eq!(
        check(&mut m, req(Side::Buy, "1.6", None, None)),
        Err("max_order_notional".into())
    );
    assert_eq!(
        check(&mut m, req(Side::Buy, "1", Some("94.99"), None)),
        Err("price_band_pct".into())
    );
    assert_eq!(
        check(&mut m, req(Side::Sell, "1", Some("105.01"), None)),
        Err("price_band_pct".into())
    );
    assert_eq!(check(&mut m, req(Side::Buy, "1", Some("95"), None)), Ok(()));
    // The pair's rules: a bad tick or step is a parameter error.
    let e = m
        .check("paper", &req(Side::Buy, "1", Some("99.999"), None), 0)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidParams);
    assert_eq!(
        m.check("paper", &req(Side::Buy, "0.0001", Some("99"), None), 0)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidParams
    );
    // No price for a pair: limits that need one refuse.
    let mut m2 = RiskManager::new(m.limits().clone(), vec![]);
    assert_eq!(
        rule(
            m2.check("paper", &req(Side::Buy, "1", Some("99"), None), 0)
                .unwrap_err()
        ),
        "no_reference_price"
    );
}

#[test]
fn default_limits_refuse_nothing_payable() {
    let mut m = manager(|_| {});
    assert!(m
        .check("paper", &req(Side::Buy, "1000", Some("1"), None), 0)
        .is_ok());
    assert!(m
        .check("paper", &req(Side::Sell, "1", None, Some("s1")), 0)
        .is_ok());
}

#[test]
fn open_orders_and_rate_per_scope() {
    let mut m = manager(|l| {
        l.account.max_open_orders = Some(3);
        l.strategy.max_open_orders = Some(2);
        l.strategy.max_orders_per_sec = Some(3);
    });
    let s1 = req(Side::Buy, "0.1", Some("99"), Some("s1"));
    m.check("paper", &s1, 0).unwrap();
    m.check("paper", &s1, 0).unwrap();
    // Two in flight for s1: its third is refused, another scope is not.
    assert_eq!(
        rule(m.check("paper", &s1, 0).unwrap_err()),
        "max_open_orders"
    );
    m.check("paper", &req(Side::Buy, "0.1", Some("99"), Some("s2")), 0)
        .unwrap();
    // The account now has three in flight.
    assert_eq!(
        rule(
            m.check("paper", &req(Side::Buy, "0.1", Some("99"), None), 0)
                .unwrap_err()
        ),
        "max_open_orders"
    );
    // Answers arrive: one rested, one filled at once.
    m.release(&s1);
    m.release(&s1);
    m.on_order(&view("a", Side::Buy, OrderStatus::Open, "0.1", Some("s1")));
    m.on_order(&view("b", Side::Buy, OrderStatus::Filled, "0", Some("s1")));
    m.check("paper", &s1, 10).unwrap();
    // Rate: s1 sent 3 within the last second.
    m.release(&s1);
    m.on_order(&view(
        "a",
        Side::Buy,
        OrderStatus::Canceled,
        "0.1",
        Some("s1"),
    ));
    assert_eq!(
        rule(m.check("paper", &s1, 999).unwrap_err()),
        "max_orders_per_sec"
    );
    assert!(m.check("paper", &s1, 1000).is_ok(), "the window slides");
}

#[test]
fn position_limit_counts_resting_orders_and_allows_reducing() {
    let mut m = manager(|l| l.strategy.max_position_notional = Some(d("250")));
    m.on_trade(&trade(Side::Buy, "1.5", "100", "0", Some("s1")), 0);
    m.on_order(&view("a", Side::Buy, OrderStatus::Open, "0.5", Some("s1")));
    // 1.5 held + 0.5 resting + 0.6 = 2.6 × 100 > 250.
    let e = m
        .check("paper", &req(Side::Buy, "0.6", Some("100"), Some("s1")), 0)
        .unwrap_err();
    assert_eq!(rule(e), "max_position_notional");
    m.check("paper", &req(Side::Buy, "0.4", Some("100"), Some("s1")), 0)
        .unwrap();
    // Selling reduces exposure: always allowed.
    m.check("paper", &req(Side::Sell, "1", Some("100"), Some("s1")), 0)
        .unwrap();
    // The manual account has no strategy limit.
    m.check("paper", &req(Side::Buy, "5", Some("100"), None), 0)
        .unwrap();
}

#[test]
fn daily_loss_halts_the_scope_until_the_next_day() {
    let mut m = manager(|l| l.strategy.max_daily_loss = Some(d("10")));
    assert!(m
        .on_trade(&trade(Side::Buy, "1", "100", "0.5", Some("s1")), 0)
        .is_empty());
    // Mark 90.6: -9.4 - 0.5 fee = -9.9, inside the limit.
    assert!(m.on_mark("paper", "BTC-USDT", d("90.6"), 1).is_empty());
    let b = m.on_mark("paper", "BTC-USDT", d("90.4"), 2);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].scope, Scope::Strategy(StrategyId("s1".into())));
    assert!(b[0].message.starts_with("max_daily_loss"));
    assert!(
        m.on_mark("paper", "BTC-USDT", d("80"), 3).is_empty(),
        "reported once"
    );
    assert_eq!(
        rule(
            m.check("paper", &req(Side::Sell, "1", None, Some("s1")), 3)
                .unwrap_err()
        ),
        "halted"
    );
    // Other scopes trade on.
    m.check("paper", &req(Side::Sell, "0.1", None, Some("s2")), 3)
        .unwrap();
    // A new UTC day counts from the current PnL.
    assert!(m.on_mark("paper", "BTC-USDT", d("80"), DAY_MS).is_empty());
    m.check("paper", &req(Side::Sell, "1", None, Some("s1")), DAY_MS)
        .unwrap();
}

#[test]
fn drawdown_is_measured_from_the_peak_and_trips_for_the_account() {
    let mut m = manager(|l| l.account.max_drawdown = Some(d("20")));
    m.on_trade(&trade(Side::Buy, "1", "100", "0", None), 0);
    // Up 50 (peak), then back to +31: 19 below the peak.
    assert!(m.on_mark("paper", "BTC-USDT", d("150"), 1).is_empty());
    assert!(m.on_mark("paper", "BTC-USDT", d("131"), 2).is_empty());
    // +29 is still a profit for the day, but 21 below the peak.
    let b = m.on_mark("paper", "BTC-USDT", d("129"), 3);
    assert_eq!(b[0].scope, Scope::Account);
    assert!(b[0].message.starts_with("max_drawdown"), "{}", b[0].message);
    assert_eq!(m.status().account.drawdown, d("21"));
    assert!(m.reset());
    assert_eq!(m.status().account.drawdown, d("0"));
    m.check("paper", &req(Side::Buy, "0.1", Some("129"), None), 4)
        .unwrap();
}

#[test]
fn kill_switch_refuses_everyone_until_reset() {
    let mut m = manager(|_| {});
    assert!(m.engage(KillMode::Pause, "operator", 5));
    assert!(!m.engage(KillMode::Pause, "again", 6));
    for r in [
        req(Side::Buy, "0.1", Some("99"), None),
        req(Side::Sell, "0.1", None, Some("s1")),
    ] {
        let e = m.check("paper", &r, 7).unwrap_err();
        assert_eq!(rule(e.clone()), "kill_switch");
        assert_eq!(e.code(), ErrorCode::RiskRejected);
    }
    assert!(
        m.engage(KillMode::Stop, "worse", 8),
        "pause upgrades to stop"
    );
    assert!(
        !m.engage(KillMode::Pause, "milder", 9),
        "stop never downgrades"
    );
    assert_eq!(m.kill_switch().unwrap().mode, KillMode::Stop);
    assert_eq!(m.kill_switch().unwrap().reason, "operator");
    assert!(m.reset());
    assert!(!m.reset());
    m.check("paper", &req(Side::Buy, "0.1", Some("99"), None), 10)
        .unwrap();
}

#[test]
fn stale_data_guard() {
    assert_eq!(stale_data(Some(1000), true, 5999, 5000), None);
    assert_eq!(stale_data(Some(1000), true, 6000, 5000), None);
    assert!(stale_data(Some(1000), true, 6001, 5000)
        .unwrap()
        .contains("5001 ms old"));
    assert!(stale_data(None, true, 0, 5000).is_some());
    assert!(stale_data(Some(1000), false, 1000, 5000)
        .unwrap()
        .contains("not connected"));
}

#[test]
fn memory_brings_back_the_days_loss_the_peak_and_the_halts() {
    let limits = |l: &mut RiskLimits| {
        l.strategy.max_daily_loss = Some(d("10"));
        l.account.max_drawdown = Some(d("30"));
    };
    let mut before = manager(limits);
    before.on_trade(&trade(Side::Buy, "1", "100", "0.5", Some("s1")), 0);
    before.on_trade(&trade(Side::Buy, "1", "100", "0.25", Some("s2")), 0);
    // s1 and s2 lose 10.5 and 10.25 today: s1 is halted, the account is
    // 21 below its peak of 0.
    let b = before.on_mark("paper", "BTC-USDT", d("90.123456789012345678"), 1);
    assert_eq!(b.len(), 2, "{b:?}");
    before.engage(KillMode::Pause, "operator", 2);
    let memory = before.memory();
    let json = serde_json::to_string(&memory).unwrap();
    let read: RiskMemory = serde_json::from_str(&json).unwrap();
    assert_eq!(read, memory, "exact through JSON");

    // The restarted manager has seen nothing yet.
    let mut after = RiskManager::new(before.limits().clone(), vec![("paper".into(), spec())]);
    after.restore(read);
    assert_eq!(after.status(), before.status());
    assert_eq!(after.memory(), memory);
    assert!(after.reset());
    // The reset counts from here (-10.38 for s1): 10.12 more trips it.
    assert!(after.on_mark("paper", "BTC-USDT", d("86"), 3).is_empty());
    let b = after.on_mark("paper", "BTC-USDT", d("80"), 4);
    assert!(
        b.iter()
            .any(|b| b.scope == Scope::Strategy(StrategyId("s1".into()))),
        "{b:?}"
    );
}

#[test]
fn a_restored_day_still_counts_what_was_lost_before_the_restart() {
    let limits = |l: &mut RiskLimits| l.strategy.max_daily_loss = Some(d("10"));
    let mut before = manager(limits);
    before.on_trade(&trade(Side::Buy, "1", "100", "0", Some("s1")), 0);
    assert!(before.on_mark("paper", "BTC-USDT", d("94"), 1).is_empty());
    let mut after = manager(limits);
    after.restore(before.memory());
    // 6 lost before the restart, 5 more after: over 10 the same day.
    let b = after.on_mark("paper", "BTC-USDT", d("89"), 2);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].message.starts_with("max_daily_loss: lost 11"));
    // Without the memory the day would start over at -6 and not trip.
    let mut forgetful = manager(limits);
    forgetful.on_trade(&trade(Side::Buy, "1", "94", "0", Some("s1")), 2);
    assert!(forgetful
        .on_mark("paper", "BTC-USDT", d("89"), 2)
        .is_empty());
}
