//! A database written by an earlier laicai is upgraded in place. The
//! fixture `tests/fixtures/schema3/laicai.db` was written by main at
//! af40312 (schema 3) running its default config: the demo strategy
//! quoting, two market orders filled, two limit orders resting, one
//! cancelled, the strategy stopped; `expected.json` is what that build
//! answered on restarting from it. This build must open it, migrate it to
//! its schema (tables keyed by their text keys, no AUTOINCREMENT, the
//! journal), and answer the same — orders in the same order, ties in time
//! included — then keep trading on it.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;

const CONFIG: &str = "[storage]\nresume_strategies = false\n[server]\nworkers = 1\n";

fn fixture() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema3/expected.json"),
    )
    .expect("expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

fn schema(db: &Path) -> (u32, Vec<String>) {
    let conn = rusqlite::Connection::open(db).expect("open the migrated database");
    let version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master ORDER BY name")
        .expect("sqlite_master");
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("names")
        .collect::<Result<Vec<_>, _>>()
        .expect("names");
    (version, names)
}

#[actix_rt::test]
async fn a_schema_3_database_from_main_is_migrated_in_place_and_answers_the_same() {
    let dir = temp_dir("migration");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let db = state.join("laicai.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema3/laicai.db"),
        &db,
    )
    .expect("copy the fixture");
    assert_eq!(schema(&db).0, 3, "the fixture is a schema 3 database");

    let expected = fixture();
    let engine = EngineProcess::start_in(&dir, &state, CONFIG, &free_addr()).await;
    let mut c = engine.client().await;
    let orders = c.ok(json!({"cmd": "get_orders", "limit": 1000})).await;
    assert_eq!(
        orders["orders"], expected["orders"],
        "orders after the migration"
    );
    let trades = c.ok(json!({"cmd": "get_trades", "limit": 1000})).await;
    assert_eq!(trades["trades"], expected["trades"]);
    let balances = c.ok(json!({"cmd": "get_balances"})).await;
    assert_eq!(balances["balances"], expected["balances"]["balances"]);
    let strategies = c.ok(json!({"cmd": "get_strategies"})).await;
    let listed: Vec<Value> = strategies["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "status": s["status"]}))
        .collect();
    assert_eq!(Value::from(listed), expected["strategies"]);

    let (version, names) = schema(&db);
    assert_eq!(version, 4);
    for gone in [
        "sqlite_autoindex_orders_1",
        "sqlite_autoindex_trades_1",
        "sqlite_autoindex_state_1",
        "sqlite_autoindex_meta_1",
    ] {
        assert!(!names.iter().any(|n| n == gone), "{gone} in {names:?}");
    }
    assert!(names.iter().any(|n| n == "journal"), "{names:?}");
    let conn = rusqlite::Connection::open(&db).expect("open");
    let counted: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_sequence WHERE name = 'order_events'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    assert_eq!(counted, 0, "order_events no longer uses AUTOINCREMENT");
    drop(conn);

    // It trades on: a new order is listed first, and all of it survives
    // a restart.
    let placed = c
        .ok(
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                   "size": "0.005", "price": "1300", "client_order_id": "after-migration"}),
        )
        .await;
    let id = placed["order"]["orderId"].clone();
    let orders = c.ok(json!({"cmd": "get_orders", "limit": 1000})).await;
    assert_eq!(orders["orders"][0]["orderId"], id, "{orders}");
    assert_eq!(
        orders["orders"].as_array().map(Vec::len),
        expected["orders"].as_array().map(|l| l.len() + 1)
    );
    drop(c);
    let addr = engine.addr().to_string();
    assert_eq!(engine.terminate(), Some(0));
    let engine = EngineProcess::start_in(&dir, &state, CONFIG, &addr).await;
    let mut c = engine.client().await;
    let again = c.ok(json!({"cmd": "get_orders", "limit": 1000})).await;
    assert_eq!(again["orders"], orders["orders"]);
    drop(c);
    assert_eq!(engine.terminate(), Some(0));
}
