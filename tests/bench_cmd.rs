//! `laicai bench`: each measurement runs end to end on a small scale (the
//! real engine and the bare server as child processes, real clients) and
//! reports figures that add up. The figures themselves are BENCHMARKS.md's.

mod common;

use common::EngineProcess;
use serde_json::json;
use std::process::Command;

fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .arg("bench")
        .args(args)
        .output()
        .expect("laicai bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "laicai bench {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `laicai bench what` on a small feed: 20 clients, 50 prices a second,
/// 2 s measured after 1 s; then `more` arguments.
fn small_feed(what: &str, more: &[&str]) -> String {
    let mut args = vec![
        what,
        "--clients",
        "20",
        "--rate",
        "50",
        "--duration",
        "2",
        "--warmup",
        "1",
    ];
    args.extend_from_slice(more);
    bench(&args)
}

/// The cells of the table row that starts with `| name |`.
fn row(table: &str, name: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("| {name} |")))
        .unwrap_or_else(|| panic!("no row `{name}` in:\n{table}"));
    line.trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

fn number(cell: &str) -> f64 {
    let digits: String = cell
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("`{cell}` is not a number"))
}

#[test]
fn fanout_delivers_the_offered_rate_from_both_servers() {
    let out = small_feed("fanout", &["--slow", "1"]);
    for name in ["bare tokio-tungstenite", "laicai"] {
        let cells = row(&out, name);
        // 20 clients × 50/s = 1000 deliveries/s offered.
        let rate = number(&cells[1]);
        assert!((700.0..1300.0).contains(&rate), "{name}: {rate}/s\n{out}");
        let (p50, p99) = (number(&cells[2]), number(&cells[3]));
        assert!(
            p50 > 0.0 && p50 <= p99,
            "{name}: p50 {p50} p99 {p99}\n{out}"
        );
        assert!(number(&cells[4]) > 0.0, "{name}: no CPU measured\n{out}");
        assert!(cells[5].contains("/s ("), "{name}: {}\n{out}", cells[5]);
    }
    assert!(row(&out, "laicai / bare")[1].ends_with('×'), "{out}");
}

#[test]
fn roundtrip_times_orders_and_the_echo() {
    let out = bench(&["roundtrip", "--count", "30"]);
    let durable = row(&out, "laicai place_order → order_update, fsync (default)");
    let query = row(&out, "laicai get_balances → its answer (nothing stored)");
    let echo = row(&out, "bare echo of the order's frame");
    let (d50, q50, e50) = (number(&durable[1]), number(&query[1]), number(&echo[1]));
    assert!(
        e50 > 0.0 && d50 > e50,
        "an order is not faster than an echo\n{out}"
    );
    assert!(q50 > 0.0, "the query was not timed\n{out}");
    assert_eq!(echo[3], "1.00×", "{out}");
    // The floor is measured on the disk under the database, and the
    // targets are put against it.
    let floor = row(
        &out,
        "floor: an order-sized append + fdatasync in the state directory",
    );
    assert!(number(&floor[1]) > 0.0, "{out}");
    let target = row(&out, "durable p50 ≤ 1.3 × (echo + fdatasync)");
    let ratio = number(&target[1]);
    assert_ratio(ratio, d50, e50 + number(&floor[1]), &out);
    // And against SQLite's own commit of an order there, timed beside it.
    let commit = row(
        &out,
        "floor: SQLite commits an order's records there (synchronous = FULL)",
    );
    let unsynced = row(
        &out,
        "floor: the same without the fsync (synchronous = NORMAL)",
    );
    assert!(
        number(&commit[1]) > 0.0 && number(&unsynced[1]) > 0.0,
        "{out}"
    );
    let ratio = number(&row(&out, "durable")[1]);
    assert_ratio(ratio, d50, e50 + number(&commit[1]), &out);
    // The same orders through the direct path, and its stack's echo.
    for (name, engine) in [
        ("direct place_order → order_update, fsync", d50),
        (
            "direct place_order → order_update, fsync = false",
            number(&row(&out, "laicai place_order → order_update, fsync = false")[1]),
        ),
    ] {
        let direct = row(&out, name);
        let p50 = number(&direct[1]);
        assert!(p50 > e50, "{name}: not slower than an echo\n{out}");
        assert_ratio(number(&direct[4]), engine, p50, &out);
    }
    let stack = row(&out, "actix-web echo of the order's frame (its stack)");
    assert!(number(&stack[1]) > 0.0, "{out}");
}

/// The round trip's floor does an order's real work, with no actors: it
/// matches the order, answers and publishes it as the engine does, and
/// stores it in the engine's journal, where the engine's store reads it.
#[actix_rt::test]
async fn the_direct_order_path_matches_answers_and_stores_orders() {
    let dir = common::temp_dir("direct-order-path");
    let config = format!("[storage]\nfsync = false\n\n{}", common::btc_pair(""));
    let direct = ["bench", "direct-server"];
    let state = dir.join("state");
    let addr = common::free_addr();
    let server = EngineProcess::launch(&[], &direct, &dir, Some(&state), &config, &addr).await;
    let mut c = server.client().await;
    let placed = c
        .ok(common::order("buy", "limit", "0.001", Some("30000")))
        .await;
    let id = placed["order_id"]
        .as_str()
        .expect("an order id")
        .to_string();
    assert_eq!(placed["order"]["status"], "open", "{placed}");
    let update = c
        .wait_for("its order_update", |v| {
            v["type"] == "order_update" && v["orderId"] == json!(id)
        })
        .await;
    assert_eq!(update["status"], "open", "{update}");
    let cancelled = c.ok(json!({"cmd": "cancel_all_orders"})).await;
    assert_eq!(cancelled["cancelled_count"], 1, "{cancelled}");
    // A frame that is no command comes back as it went.
    c.send_text(r#"{"cmx":"place_order"}"#).await;
    c.wait_for("the echo", |v| v["cmx"] == "place_order").await;
    drop(server);
    let mut store = laicai_actors::storage::Store::open(&dir.join("state").join("direct.db"))
        .expect("the journal opens");
    store.apply().expect("the journal applies");
    let orders = store
        .orders(&laicai_core::venue::OrderFilter::default())
        .expect("orders read");
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].order_id, id);
    assert_eq!(
        orders[0].status,
        laicai_core::order::OrderStatus::Canceled,
        "{orders:?}"
    );
}

/// `ratio` (printed to 0.01) is `num / den`, whose parts were printed
/// rounded to the µs: it may differ by what that rounding allows.
fn assert_ratio(ratio: f64, num: f64, den: f64, out: &str) {
    let expected = num / den;
    let slack = expected * (0.5 / num + 1.0 / den) + 0.005;
    assert!(
        (ratio - expected).abs() <= slack,
        "{ratio} vs {expected} (± {slack})\n{out}"
    );
}

#[test]
fn sessions_reports_memory_per_idle_session() {
    let out = bench(&["sessions", "--clients", "50"]);
    let cells = row(&out, "laicai");
    let (before, with) = (number(&cells[1]), number(&cells[2]));
    assert!(before > 1000.0 && with >= before, "{out}");
    assert!(number(&cells[3]) >= 0.0, "{out}");
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    for args in [
        ["fanout", "--clients", "0"],
        ["roundtrip", "--count", "0"],
        ["sessions", "--clients", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_laicai"))
            .arg("bench")
            .args(args)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("must be above 0"), "{args:?}: {err}");
    }
}

#[test]
fn abuse_sends_every_kind_of_bad_input_and_finds_nothing_lost() {
    let out = bench(&["abuse", "--seconds", "4", "--clients", "10", "--seed", "7"]);
    for kind in ["polite", "mutant", "flood"] {
        let sent = out
            .lines()
            .find(|l| l.trim_start().starts_with(kind))
            .map(|l| number(l.trim_start()[kind.len()..].trim()));
        assert!(sent.is_some_and(|n| n > 0.0), "no {kind} sent:\n{out}");
    }
    assert!(out.contains("(each answered once: true)"), "{out}");
    assert!(
        out.contains("rate_limited"),
        "the flood never hit the limit:\n{out}"
    );
    assert!(out.contains("OK: nothing panicked, nothing lost"), "{out}");
}

#[test]
fn soak_prints_a_line_a_period_and_the_slopes() {
    let out = bench(&[
        "soak",
        "--minutes",
        "1",
        "--period",
        "15",
        "--clients",
        "20",
        "--traders",
        "2",
    ]);
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    for r in &rows {
        let cells: Vec<&str> = r.trim_matches('|').split('|').map(str::trim).collect();
        assert!(number(cells[1]) > 1.0, "RSS: {r}");
        assert!(number(cells[2]) > 10.0, "fds: {r}");
        assert!(number(cells[6]) > 0.0, "events: {r}");
        assert!(number(cells[7]) > 0.0, "orders: {r}");
        assert!(number(cells[9]) >= 0.0, "WAL: {r}");
    }
    assert!(
        out.contains("RSS slope") && out.contains("/period, WAL "),
        "{out}"
    );
}

#[test]
fn throughput_measures_each_client_count_with_fsync_off_and_on() {
    let out = bench(&["throughput", "--clients", "1,4", "--seconds", "1"]);
    for n in ["1", "4"] {
        let cells = row(&out, n);
        assert!(number(&cells[1]) > 0.0, "fsync off: {out}");
        assert!(number(&cells[2]) > 0.0, "fsync on: {out}");
        // Each placement and each cancel is a record at least.
        assert!(number(&cells[5]) >= 1.0, "records per commit: {out}");
    }
}

#[test]
fn gateways_compares_clients_on_the_engine_with_clients_over_two_gateways() {
    if which_nats().is_none() {
        let why = "no nats-server: apt-get install nats-server";
        assert!(std::env::var_os("LAICAI_REQUIRE_NATS").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let out = small_feed("gateways", &["--count", "100"]);
    let cells = |layout: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.starts_with("| 20 |") && l.contains(layout))
            .unwrap_or_else(|| panic!("no row for {layout} in:\n{out}"));
        line.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    for layout in ["on the engine", "over 2 gateways"] {
        let c = cells(layout);
        // 20 clients × 50/s = 1000 deliveries/s offered.
        let rate = number(&c[2]);
        assert!((700.0..1300.0).contains(&rate), "{layout}: {rate}/s\n{out}");
        assert!(
            number(&c[3]) > 0.0 && number(&c[3]) <= number(&c[4]),
            "{out}"
        );
    }
    // Both processes' CPU is read, and the ratios are printed.
    for c in [cells("on the engine"), cells("over 2 gateways")] {
        assert!(c[5].ends_with('%') && c[6].ends_with('%'), "{out}");
    }
    assert!(cells("gateways / engine")[2].ends_with('×'), "{out}");
    let extra = row(&out, "extra through the gateway");
    assert!(extra[1].starts_with('+'), "{out}");
}

fn which_nats() -> Option<()> {
    Command::new("nats-server")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| ())
}
