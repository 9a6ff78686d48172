//! A typical order's records as the paper venue writes them, with views
//! of realistic size: what the benchmarks time a commit with
//! (`cargo bench --bench store_commit`, `laicai bench roundtrip`).

use laicai_actors::storage::{Kind, Record, StateJson};
use laicai_core::wire::events::{OrderView, TradeView};
use serde_json::json;

fn order(n: usize, status: &str) -> serde_json::Result<OrderView> {
    serde_json::from_value(json!({
        "orderId": format!("ORD-{n:06}"), "client_order_id": format!("c-{n}"),
        "status": status, "filled": if status == "filled" { "0.01" } else { "0" },
        "remaining": if status == "filled" { "0" } else { "0.01" },
        "price": "52000.10", "symbol": "BTC-USDT", "side": "buy", "order_type": "limit",
        "strategy": "MM", "strategy_id": "str-001", "exchange": "paper",
        "reason": null, "size": "0.01", "avg_price": null, "fees": "0",
        "time_in_force": "gtc", "post_only": false,
        "created_at": "2026-12-05T00:00:00Z", "updated_at": "2026-12-05T00:00:00Z"
    }))
}

fn trade(n: usize) -> serde_json::Result<TradeView> {
    serde_json::from_value(json!({
        "trade_id": format!("T-{n}"), "order_id": format!("ORD-{n:06}"), "symbol": "BTC-USDT",
        "price": "52000.10", "amount": "0.01", "side": "buy", "fee": "0.00001",
        "fee_asset": "BTC", "liquidity": "maker", "strategy": "MM", "strategy_id": "str-001",
        "exchange": "paper", "time": "2026-12-05T00:00:00Z"
    }))
}

fn blob(kind: Kind, key: String, bytes: usize) -> serde_json::Result<Record> {
    Ok(Record::Put {
        kind,
        key,
        value: StateJson::of(&json!({ "pad": "x".repeat(bytes) }))?,
    })
}

/// Order `n`'s records: as placed (the order, the paper account, the
/// open order, the `seq` lease), and if `filled` also its fill (the order
/// filled, its trade, the open order deleted, the risk memory).
pub fn records(n: usize, filled: bool) -> serde_json::Result<Vec<Record>> {
    let at_ms = 1_796_000_000_000 + n as i64;
    let mut b = vec![
        Record::Order {
            view: order(n, "open")?,
            at_ms,
        },
        blob(Kind::Paper, "paper".into(), 400)?,
        blob(Kind::PaperOrder, format!("paper/ORD-{n:06}"), 300)?,
        Record::Seq(n as u64 * 3),
    ];
    if filled {
        b.extend([
            Record::Order {
                view: order(n, "filled")?,
                at_ms,
            },
            Record::Trade {
                view: trade(n)?,
                at_ms,
            },
            Record::Delete {
                kind: Kind::PaperOrder,
                key: format!("paper/ORD-{n:06}"),
            },
            blob(Kind::Risk, "memory".into(), 600)?,
        ]);
    }
    Ok(b)
}
