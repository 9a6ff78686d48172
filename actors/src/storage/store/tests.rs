use super::*;
use laicai_core::order::{OrderStatus, OrderType, Side, TimeInForce};
use laicai_core::wire::events::Liquidity;
use laicai_core::Decimal;
use std::str::FromStr;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "laicai-store-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub(crate) fn order(id: &str, status: OrderStatus, filled: &str) -> OrderView {
    OrderView {
        order_id: id.into(),
        client_order_id: Some(format!("c-{id}")),
        status,
        filled: dec(filled),
        remaining: dec("0.5") - dec(filled),
        price: Some(dec("52000.10")),
        symbol: "BTC-USDT".into(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        strategy: Some("MM".into()),
        strategy_id: Some("str-001".into()),
        exchange: "paper".into(),
        connection_id: None,
        reason: None,
        size: dec("0.5"),
        avg_price: None,
        fees: Decimal::ZERO,
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        created_at: "2026-11-22T00:00:00Z".into(),
        updated_at: "2026-11-22T00:00:00Z".into(),
    }
}

pub(crate) fn trade(id: &str, order_id: &str) -> TradeView {
    TradeView {
        trade_id: id.into(),
        order_id: order_id.into(),
        symbol: "BTC-USDT".into(),
        price: dec("52000.10"),
        amount: dec("0.25"),
        side: Side::Buy,
        fee: dec("0.000025"),
        fee_asset: "BTC".into(),
        liquidity: Liquidity::Maker,
        strategy: Some("MM".into()),
        strategy_id: Some("str-001".into()),
        exchange: "paper".into(),
        connection_id: None,
        time: "2026-11-22T00:00:01Z".into(),
    }
}

#[test]
fn the_journal_survives_reopening_exactly() {
    let path = dir().join("state/laicai.db");
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let open = order("ORD-1", OrderStatus::Open, "0");
    let mut part = order("ORD-1", OrderStatus::PartiallyFilled, "0.25");
    // More digits than an f64 holds: stored and read back exactly.
    part.avg_price = Some(dec("52000.123456789012345678901"));
    let t = trade("TRD-1", "ORD-1");
    s.write(&[
        Record::Order {
            view: open.clone(),
            at_ms: 1000,
        },
        Record::Order {
            view: part.clone(),
            at_ms: 1001,
        },
        Record::Trade {
            view: t.clone(),
            at_ms: 1001,
        },
        Record::Seq(42),
        Record::Put {
            kind: Kind::Paper,
            key: "paper".into(),
            value: StateJson::of(&serde_json::json!({"v": 1})).unwrap(),
        },
        Record::Put {
            kind: Kind::Paper,
            key: "paper".into(),
            value: StateJson::of(&serde_json::json!({"v": 2})).unwrap(),
        },
        Record::Put {
            kind: Kind::Strategy,
            key: "str-1".into(),
            value: StateJson::of(&serde_json::json!({})).unwrap(),
        },
        Record::Put {
            kind: Kind::Strategy,
            key: "str-2".into(),
            value: StateJson::of(&serde_json::json!({})).unwrap(),
        },
        Record::Delete {
            kind: Kind::Strategy,
            key: "str-1".into(),
        },
    ])
    .unwrap();
    // The same trade again (a replayed fill) is kept once; seq never goes back.
    s.write(&[
        Record::Trade {
            view: t.clone(),
            at_ms: 1001,
        },
        Record::Seq(7),
    ])
    .unwrap();
    drop(s);

    let s = Store::open(&path).unwrap();
    assert_eq!(s.seq().unwrap(), 42);
    assert_eq!(
        s.state(Kind::Paper, "").unwrap(),
        vec![("paper".to_string(), "{\"v\":2}".to_string())]
    );
    assert_eq!(
        s.state(Kind::Strategy, "str").unwrap(),
        vec![("str-2".to_string(), "{}".to_string())]
    );
    assert_eq!(
        s.get::<serde_json::Value>(Kind::Paper, "paper").unwrap(),
        Some(serde_json::json!({"v": 2}))
    );
    assert!(s.state(Kind::Strategy, "other").unwrap().is_empty());
    assert_eq!(s.get::<String>(Kind::Risk, "none").unwrap(), None);
    let all = OrderFilter::default();
    assert_eq!(s.orders(&all).unwrap(), vec![part.clone()]);
    assert_eq!(s.order_history("paper", "ORD-1").unwrap(), vec![open, part]);
    assert_eq!(s.trades(&all).unwrap(), vec![t]);
    let other = OrderFilter {
        strategy: Some("someone-else".into()),
        ..OrderFilter::default()
    };
    assert!(s.orders(&other).unwrap().is_empty());
    let later = OrderFilter {
        since_ms: Some(2000),
        ..OrderFilter::default()
    };
    assert!(s.trades(&later).unwrap().is_empty());
}

#[test]
fn a_file_that_is_not_a_database_or_is_from_the_future_is_refused() {
    let d = dir();
    let junk = d.join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let e = Store::open(&junk).expect_err("refused");
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("junk.db"), "{e}");

    let future = d.join("future.db");
    {
        let c = Connection::open(&future).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let e = Store::open(&future).expect_err("refused");
    assert!(matches!(e, StoreError::Newer { .. }), "{e}");
}

/// Two trades with the same venue and trade id but different orders
/// are both kept; one arriving twice is kept once; a different trade
/// under an identity already stored is a conflict, said, never lost
/// in silence, and the first stays.
#[test]
fn a_trade_is_identified_by_venue_order_and_id() {
    let mut s = Store::open(&dir().join("trade-identity.db")).unwrap();
    let a = trade("T-1", "ORD-1");
    let b = trade("T-1", "ORD-2");
    let at = |view: &TradeView| Record::Trade {
        view: view.clone(),
        at_ms: 1,
    };
    s.write(&[at(&a), at(&b), at(&a)]).unwrap();
    assert!(s.take_conflicts().is_empty());
    let all = OrderFilter::default();
    let mut kept = s.trades(&all).unwrap();
    kept.sort_by(|x, y| x.order_id.cmp(&y.order_id));
    assert_eq!(kept, vec![a.clone(), b]);
    let other = TradeView {
        amount: dec("9"),
        ..a.clone()
    };
    s.write(&[at(&other)]).unwrap();
    let conflicts = s.take_conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert!(conflicts[0]
        .starts_with("trade T-1 of order ORD-1 on paper arrived again with other contents"));
    assert!(s.trades(&all).unwrap().contains(&a), "the first is kept");
}

/// A database written by the previous schema (version 2) is upgraded
/// in place with its trades.
#[test]
fn a_version_2_database_is_migrated_with_its_trades() {
    let path = dir().join("v2.db");
    {
        let conn = Connection::open(&path).unwrap();
        for m in &MIGRATIONS[..2] {
            conn.execute_batch(m).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        let t = trade("T-9", "ORD-9");
        conn.execute(
            "INSERT INTO trades (exchange, trade_id, order_id, symbol, strategy, at_ms, view)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                t.exchange,
                t.trade_id,
                t.order_id,
                t.symbol,
                t.strategy_id,
                5,
                stored(&t).unwrap()
            ],
        )
        .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        s.trades(&OrderFilter::default()).unwrap(),
        vec![trade("T-9", "ORD-9")]
    );
    // The same trade id on another order now fits beside it.
    s.write(&[Record::Trade {
        view: trade("T-9", "ORD-10"),
        at_ms: 6,
    }])
    .unwrap();
    assert_eq!(s.trades(&OrderFilter::default()).unwrap().len(), 2);
}

/// A commit is durable once its journal row is: the tables follow behind,
/// reads see what is only in the journal meanwhile, and a store reopened
/// after a stop that never brought them up to date does so first.
#[test]
fn the_journal_is_read_before_the_tables_are_up_to_date_and_applied_on_opening() {
    let path = dir().join("journal.db");
    let all = OrderFilter::default();
    {
        let mut s = Store::open(&path).unwrap();
        s.write(&[Record::Order {
            view: order("ORD-1", OrderStatus::Open, "0"),
            at_ms: 1,
        }])
        .unwrap();
        s.append(&[
            Record::Order {
                view: order("ORD-1", OrderStatus::Filled, "0.5"),
                at_ms: 2,
            },
            Record::Trade {
                view: trade("T-1", "ORD-1"),
                at_ms: 2,
            },
            Record::Order {
                view: order("ORD-2", OrderStatus::Open, "0"),
                at_ms: 3,
            },
        ])
        .unwrap();
        assert_eq!(s.unapplied(), 3);
        let listed = s.orders(&all).unwrap();
        let ids: Vec<(&str, &str)> = listed
            .iter()
            .map(|o| (o.order_id.as_str(), o.status.as_str()))
            .collect();
        assert_eq!(ids, vec![("ORD-2", "open"), ("ORD-1", "filled")]);
        assert_eq!(s.trades(&all).unwrap(), vec![trade("T-1", "ORD-1")]);
        assert_eq!(s.order_history("paper", "ORD-1").unwrap().len(), 2);
        let open = OrderFilter {
            limit: Some(5),
            ..all.clone()
        };
        assert_eq!(s.orders(&open).unwrap().len(), 2);
        // Dropped without applying: as a crash would leave it.
    }
    let raw = Connection::open(&path).unwrap();
    let rows: i64 = raw
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the unapplied commit is in the journal");
    let in_table: i64 = raw
        .query_row("SELECT count(*) FROM trades", [], |r| r.get(0))
        .unwrap();
    assert_eq!(in_table, 0);
    drop(raw);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.unapplied(), 0);
    assert_eq!(s.trades(&all).unwrap(), vec![trade("T-1", "ORD-1")]);
    assert_eq!(s.orders(&all).unwrap()[1].status, OrderStatus::Filled);
    let raw = Connection::open(&path).unwrap();
    let rows: i64 = raw
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "applied rows are deleted with the update");
}

/// A journal applied by another connection (a second laicai opening the
/// same file) is not applied again by the one that wrote it.
#[test]
fn a_journal_is_applied_once_whoever_applies_it() {
    let path = dir().join("applied-once.db");
    let mut a = Store::open(&path).unwrap();
    a.append(&[Record::Order {
        view: order("ORD-1", OrderStatus::Open, "0"),
        at_ms: 1,
    }])
    .unwrap();
    let b = Store::open(&path).unwrap();
    assert_eq!(b.order_history("paper", "ORD-1").unwrap().len(), 1);
    a.apply().unwrap();
    assert_eq!(a.unapplied(), 0);
    assert_eq!(
        a.order_history("paper", "ORD-1").unwrap().len(),
        1,
        "applied twice"
    );
}

/// Bringing the tables up to date commits without waiting for the disk
/// (its records are durable in the journal already); every append after
/// it waits again, even if putting the fsync back failed once.
#[test]
fn the_tables_follow_the_journal_without_an_fsync_of_their_own() {
    let path = dir().join("unsynced-apply.db");
    let mut s = Store::open(&path).unwrap();
    let synchronous = |s: &Store| -> i64 {
        s.conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(synchronous(&s), 2, "FULL");
    let inside = s.without_fsync(|s| Ok(synchronous(s))).unwrap();
    assert_eq!(inside, 1, "NORMAL while applying");
    assert_eq!(synchronous(&s), 2);
    s.write(&[Record::Order {
        view: order("ORD-1", OrderStatus::Open, "0"),
        at_ms: 1,
    }])
    .unwrap();
    assert_eq!(synchronous(&s), 2);
    // As if putting it back had failed: the next append puts it back.
    s.conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    s.unsynced = true;
    s.append(&[Record::Order {
        view: order("ORD-2", OrderStatus::Open, "0"),
        at_ms: 2,
    }])
    .unwrap();
    assert_eq!(synchronous(&s), 2);
    // Without the fsync configured, nothing changes.
    s.set_fsync(false).unwrap();
    assert_eq!(s.without_fsync(|s| Ok(synchronous(s))).unwrap(), 1);
    assert_eq!(synchronous(&s), 1);
}

/// The tables can follow the journal a few rows at a time: whole rows,
/// at least one, the oldest first; reads see every record throughout.
#[test]
fn the_journal_is_applied_in_slices_of_whole_rows() {
    let path = dir().join("slices.db");
    let mut s = Store::open(&path).unwrap();
    for n in 0..3 {
        s.append(&[
            Record::Order {
                view: order(&format!("ORD-{n}"), OrderStatus::Open, "0"),
                at_ms: n,
            },
            Record::Trade {
                view: trade(&format!("T-{n}"), &format!("ORD-{n}")),
                at_ms: n,
            },
        ])
        .unwrap();
    }
    let journal = |s: &Store| -> i64 {
        s.conn
            .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
            .unwrap()
    };
    let in_table = |s: &Store| -> i64 {
        s.conn
            .query_row("SELECT count(*) FROM trades", [], |r| r.get(0))
            .unwrap()
    };
    let all = OrderFilter::default();
    assert_eq!((journal(&s), in_table(&s), s.unapplied()), (3, 0, 6));
    // Three records allowed: one row (a second would make four).
    s.apply_some(3).unwrap();
    assert_eq!((journal(&s), in_table(&s), s.unapplied()), (2, 1, 4));
    assert_eq!(s.trades(&all).unwrap().len(), 3);
    // Fewer than a row: still one row.
    s.apply_some(1).unwrap();
    assert_eq!((journal(&s), in_table(&s), s.unapplied()), (1, 2, 2));
    assert_eq!(s.orders(&all).unwrap().len(), 3);
    s.apply().unwrap();
    assert_eq!((journal(&s), in_table(&s), s.unapplied()), (0, 3, 0));
    // What a slice left in the journal is applied on opening.
    s.append(&[Record::Trade {
        view: trade("T-9", "ORD-0"),
        at_ms: 9,
    }])
    .unwrap();
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!((journal(&s), in_table(&s), s.unapplied()), (0, 4, 0));
}
