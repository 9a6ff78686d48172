//! `laicai bench abuse`: a protocol fuzzer against the real server, with
//! the engine's default limits. Seeded clients of five kinds run at once
//! for `--seconds`: polite ones (valid commands under the rate limit),
//! mutants (commands with wrong types, huge numbers, 30-digit decimals,
//! `-0`, `NaN` strings, unknown fields, nesting past the parser's limit,
//! and floods past the rate limit), wreckers (frames over 64 KiB, binary
//! frames, invalid UTF-8, fragmented frames, ping floods), and storms
//! (connections dropped mid-handshake and mid-frame, reconnecting at
//! once); an observer records every event. Afterwards it checks, and
//! prints: every polite command answered exactly once with a code, no
//! polite client closed, no command answered twice, no panic in the
//! engine's log; every balance equal to its start plus the fills minus
//! fees to the last decimal; no order listed twice, each order's fills
//! summing to its `filled`, and `get_orders` equal to the event stream's
//! view.

use super::clients::{connect, Socket};
use super::server::{EngineSetup, ServerProcess};
use super::BenchError;
use futures_util::{SinkExt, StreamExt};
use laicai_core::rng::Rng;
use laicai_core::Decimal;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub(crate) struct AbuseArgs {
    /// How long the clients run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Clients at once, a fifth of each kind (polite, mutant, flood,
    /// wrecker, storm).
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Seeds every client's choices: the same seed, the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// What the clients saw, summed.
#[derive(Default, Debug)]
struct Tally {
    sent: BTreeMap<&'static str, u64>,
    /// Answers per request id (every id is unique to its client).
    answers: HashMap<String, u32>,
    /// Polite requests sent, by id.
    polite: Vec<String>,
    polite_closed: Vec<String>,
    codes: BTreeMap<String, u64>,
    connections: u64,
    closed_by_server: BTreeMap<String, u64>,
}

impl Tally {
    fn sent(&mut self, what: &'static str) {
        *self.sent.entry(what).or_default() += 1;
    }
}

type Shared = Arc<Mutex<Tally>>;

/// The event stream's view: every order's statuses in order, every fill.
#[derive(Default, Debug)]
struct Observed {
    statuses: BTreeMap<String, Vec<String>>,
    trades: BTreeMap<String, Value>,
    gaps: u64,
}

pub(super) async fn abuse(a: AbuseArgs) -> Result<(), BenchError> {
    if a.clients < 5 || a.seconds == 0 {
        return Err(BenchError::Bad(
            "--clients must be 5 or more and --seconds above 0".into(),
        ));
    }
    let mut setup = EngineSetup::new(50.0, a.clients * 4 + 64);
    setup.max_messages_per_sec = 100;
    let server = ServerProcess::engine(&setup)?;
    let url = server.url("/api/stream");
    println!(
        "abuse: {} clients for {} s (seed {}) against {url}, default limits",
        a.clients, a.seconds, a.seed
    );
    let start = balances(&mut connect(&url).await?).await?;
    let observed = Arc::new(Mutex::new(Observed::default()));
    let observer = tokio::spawn(observe(connect(&url).await?, observed.clone()));
    let tally: Shared = Arc::default();
    let until = Instant::now() + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for i in 0..a.clients {
        let rng = Rng::new(a.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let (url, tally) = (url.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            match i % 5 {
                0 => polite(i, url, tally, rng, until).await,
                1 => mutant(i, url, tally, rng, until, false).await,
                2 => mutant(i, url, tally, rng, until, true).await,
                3 => wrecker(url, tally, rng, until).await,
                _ => storm(url, tally, rng, until).await,
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    // What is in flight lands. (A fresh connection: one left unread this
    // long would have been closed as idle, rightly.)
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut checker = connect(&url).await?;
    let orders = ask(&mut checker, json!({"cmd": "get_orders", "limit": 100_000})).await?;
    let trades = ask(&mut checker, json!({"cmd": "get_trades", "limit": 100_000})).await?;
    let end = balances(&mut checker).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    observer.abort();
    let log = server.log();
    let alive = ask(&mut checker, json!({"cmd": "get_system_status"}))
        .await
        .is_ok();
    drop(server);

    let tally = std::mem::take(&mut *tally.lock());
    let observed = std::mem::take(&mut *observed.lock());
    let problems = check(
        &tally, &observed, &orders, &trades, &start, &end, &log, alive,
    );
    report(&tally, &observed, &orders, &trades, &problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BenchError::Bad(format!(
            "{} problem(s) found",
            problems.len()
        )))
    }
}

async fn ask(ws: &mut Socket, mut cmd: Value) -> Result<Value, BenchError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = format!("check-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    cmd["request_id"] = json!(id);
    ws.send(Message::text(cmd.to_string()))
        .await
        .map_err(|e| BenchError::Bad(format!("the checker could not send: {e}")))?;
    let read = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if v["request_id"] == json!(id) {
                    return Some(v);
                }
            }
        }
        None
    };
    match tokio::time::timeout(Duration::from_secs(20), read).await {
        Ok(Some(v)) if v["success"] == true => Ok(v),
        Ok(Some(v)) => Err(BenchError::Bad(format!("the checker was refused: {v}"))),
        _ => Err(BenchError::Bad("the checker got no answer".into())),
    }
}

async fn balances(ws: &mut Socket) -> Result<BTreeMap<String, Decimal>, BenchError> {
    let r = ask(ws, json!({"cmd": "get_balances"})).await?;
    Ok(r["balances"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|b| (text(&b["asset"]), dec(&b["total"])))
                .collect()
        })
        .unwrap_or_default())
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn dec(v: &Value) -> Decimal {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Decimal::from_str(&s).unwrap_or_default()
}

async fn observe(mut ws: Socket, seen: Arc<Mutex<Observed>>) {
    let mut last_seq = 0;
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
        let mut seen = seen.lock();
        if let Some(seq) = v["seq"].as_u64() {
            if seq <= last_seq && v["type"] != "snapshot" {
                seen.gaps += 1;
            }
            last_seq = last_seq.max(seq);
        }
        match v["type"].as_str() {
            Some("order_update") => seen
                .statuses
                .entry(text(&v["orderId"]))
                .or_default()
                .push(text(&v["status"])),
            Some("trade") => {
                seen.trades.insert(text(&v["trade_id"]), v);
            }
            _ => {}
        }
    }
}

/// Reads what the server sends until it closes, counting answers and the
/// server's close (not the echo of ours, once `leaving` is set).
async fn read_answers<S>(rx: &mut S, tally: &Shared, who: &str, leaving: Option<&AtomicBool>)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(m) = rx.next().await {
        match m {
            Ok(Message::Text(t)) => note_answer(t.as_str(), tally),
            Ok(Message::Close(_)) if leaving.is_some_and(|l| l.load(Ordering::Relaxed)) => return,
            Ok(Message::Close(c)) => {
                let code = c.map_or("none".to_string(), |c| u16::from(c.code).to_string());
                *tally
                    .lock()
                    .closed_by_server
                    .entry(format!("{who} {code}"))
                    .or_default() += 1;
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

fn note_answer(text: &str, tally: &Shared) {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let answer = v["type"] == "response" || v["type"] == "error";
    if !answer {
        return;
    }
    let mut t = tally.lock();
    let code = v["error"].as_str().unwrap_or("ok").to_string();
    *t.codes.entry(code).or_default() += 1;
    if let Some(id) = v["request_id"].as_str() {
        *t.answers.entry(id.to_string()).or_default() += 1;
    }
}

/// A valid command, as a polite client sends them.
fn valid(rng: &mut Rng, open: &[String]) -> Value {
    match rng.next_u64() % 8 {
        0 | 1 => json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                        "size": "0.001", "price": format!("{}", 30000 + rng.next_u64() % 1000)}),
        2 => {
            json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": if rng.next_u64().is_multiple_of(2) { "buy" } else { "sell" },
                    "type": "market", "size": "0.0005"})
        }
        3 if !open.is_empty() => {
            json!({"cmd": "cancel_order", "order_id": open[(rng.next_u64() as usize) % open.len()]})
        }
        4 => json!({"cmd": "get_orders", "status": "open"}),
        5 => json!({"cmd": "get_balances"}),
        6 => json!({"cmd": "get_order_book", "symbol": "BTC-USDT", "depth": 5}),
        _ => json!({"cmd": "get_positions"}),
    }
}

async fn polite(i: usize, url: String, tally: Shared, mut rng: Rng, until: Instant) {
    let who = format!("polite-{i}");
    let Ok(ws) = connect(&url).await else {
        tally
            .lock()
            .polite_closed
            .push(format!("{who}: could not connect"));
        return;
    };
    tally.lock().connections += 1;
    let (mut tx, mut rx) = ws.split();
    let reader_tally = tally.clone();
    let opened = Arc::new(Mutex::new(Vec::<String>::new()));
    let open = opened.clone();
    let reader = tokio::spawn(async move {
        while let Some(m) = rx.next().await {
            match m {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                    if v["cmd"] == "place_order" && v["success"] == true {
                        open.lock().push(text(&v["order_id"]));
                    }
                    note_answer(t.as_str(), &reader_tally);
                }
                Ok(Message::Close(_)) | Err(_) => return true,
                Ok(_) => {}
            }
        }
        true
    });
    let mut n = 0;
    while Instant::now() < until {
        let open = opened.lock().clone();
        let mut cmd = valid(&mut rng, &open);
        let id = format!("{who}-{n}");
        n += 1;
        cmd["request_id"] = json!(id);
        if tx.send(Message::text(cmd.to_string())).await.is_err() {
            tally
                .lock()
                .polite_closed
                .push(format!("{who}: send failed"));
            break;
        }
        {
            let mut t = tally.lock();
            t.sent("polite");
            t.polite.push(id);
        }
        // 25 a second: well under the limit of 100.
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    reader.abort();
    if reader.await.unwrap_or(false) {
        tally
            .lock()
            .polite_closed
            .push(format!("{who}: closed by the server"));
    }
    let _ = tx.close().await;
}

/// A value parsers find hard.
fn nasty(rng: &mut Rng) -> Value {
    match rng.next_u64() % 12 {
        0 => json!(1e300),
        1 => json!("-0"),
        2 => json!("NaN"),
        3 => json!("123456789012345678901234567890.123456789012345678901234567890"),
        4 => json!(-1),
        5 => json!(u64::MAX),
        6 => json!(null),
        7 => json!(true),
        8 => json!([1, 2, 3]),
        9 => json!({"a": {"b": "c"}}),
        10 => {
            let mut v = json!(0);
            for _ in 0..200 {
                v = json!([v]);
            }
            v
        }
        _ => json!("0.000000000000000000000000000001"),
    }
}

/// A command with one to three fields made wrong, or an unknown one.
fn mutated(rng: &mut Rng) -> Value {
    let mut cmd = valid(rng, &["ORD-1".to_string()]);
    for _ in 0..1 + rng.next_u64() % 3 {
        let Some(obj) = cmd.as_object_mut() else {
            break;
        };
        let keys: Vec<String> = obj.keys().cloned().collect();
        if keys.is_empty() {
            break;
        }
        let key = keys[(rng.next_u64() as usize) % keys.len()].clone();
        match rng.next_u64() % 4 {
            0 => {
                obj.remove(&key);
            }
            1 => {
                obj.insert(format!("unknown_{}", rng.next_u64() % 9), nasty(rng));
            }
            _ => {
                obj.insert(key, nasty(rng));
            }
        }
    }
    cmd
}

async fn mutant(i: usize, url: String, tally: Shared, mut rng: Rng, until: Instant, flood: bool) {
    let who = if flood { "flood" } else { "mutant" };
    let mut n = 0;
    while Instant::now() < until {
        let Ok(ws) = connect(&url).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tally.lock().connections += 1;
        let (mut tx, mut rx) = ws.split();
        let reader_tally = tally.clone();
        let leaving = Arc::new(AtomicBool::new(false));
        let left = leaving.clone();
        let reader = tokio::spawn(async move {
            read_answers(&mut rx, &reader_tally, who, Some(&left)).await;
        });
        // One connection lives for up to 200 frames.
        for _ in 0..200 {
            if Instant::now() >= until || reader.is_finished() {
                break;
            }
            let mut cmd = mutated(&mut rng);
            if !rng.next_u64().is_multiple_of(4) {
                cmd["request_id"] = json!(format!("{who}-{i}-{n}"));
                n += 1;
            }
            let text = if rng.next_u64().is_multiple_of(10) {
                // The command's name itself wrong.
                cmd["cmd"] = nasty(&mut rng);
                cmd.to_string()
            } else {
                cmd.to_string()
            };
            if tx.send(Message::text(text)).await.is_err() {
                break;
            }
            tally.lock().sent(who);
            if !flood {
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
        leaving.store(true, Ordering::Relaxed);
        let _ = tx.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    }
}

async fn wrecker(url: String, tally: Shared, mut rng: Rng, until: Instant) {
    while Instant::now() < until {
        let Ok(mut ws) = connect(&url).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tally.lock().connections += 1;
        let (what, msgs): (&'static str, Vec<Message>) = match rng.next_u64() % 5 {
            0 => ("huge frame", vec![Message::text("x".repeat(70 * 1024))]),
            1 => (
                "binary frame",
                vec![Message::binary(vec![0u8, 159, 146, 150])],
            ),
            2 => (
                "invalid utf-8",
                vec![Message::Frame(Frame::message(
                    vec![b'{', 0xff, 0xfe, b'}'],
                    OpCode::Data(Data::Text),
                    true,
                ))],
            ),
            3 => (
                "fragments",
                vec![
                    Message::Frame(Frame::message(
                        br#"{"cmd":"get_bal"#.to_vec(),
                        OpCode::Data(Data::Text),
                        false,
                    )),
                    Message::Frame(Frame::message(
                        br#"ances","request_id":"frag"}"#.to_vec(),
                        OpCode::Data(Data::Continue),
                        true,
                    )),
                ],
            ),
            _ => (
                "ping flood",
                (0..500)
                    .map(|_| Message::Ping(vec![1u8; 8].into()))
                    .collect(),
            ),
        };
        for m in msgs {
            if ws.send(m).await.is_err() {
                break;
            }
        }
        tally.lock().sent(what);
        let _ = tokio::time::timeout(
            Duration::from_millis(300),
            read_answers(&mut ws, &tally, what, None),
        )
        .await;
    }
}

async fn storm(url: String, tally: Shared, mut rng: Rng, until: Instant) {
    let host = url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
        .to_string();
    while Instant::now() < until {
        match rng.next_u64() % 3 {
            // Half a handshake, then gone.
            0 => {
                if let Ok(mut tcp) = tokio::net::TcpStream::connect(&host).await {
                    let _ = tcp
                        .write_all(b"GET /api/stream HTTP/1.1\r\nHost: x\r\nUpg")
                        .await;
                    tally.lock().sent("half handshake");
                }
            }
            // Half a frame, then gone.
            1 => {
                if let Ok(mut ws) = connect(&url).await {
                    tally.lock().connections += 1;
                    let _ = ws
                        .send(Message::Frame(Frame::message(
                            br#"{"cmd":"get_orders""#.to_vec(),
                            OpCode::Data(Data::Text),
                            false,
                        )))
                        .await;
                    tally.lock().sent("half frame");
                }
            }
            // Connect and leave at once.
            _ => {
                if connect(&url).await.is_ok() {
                    tally.lock().connections += 1;
                    tally.lock().sent("reconnect");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "every figure the run checks, side by side"
)]
fn check(
    t: &Tally,
    o: &Observed,
    orders: &Value,
    trades: &Value,
    start: &BTreeMap<String, Decimal>,
    end: &BTreeMap<String, Decimal>,
    log: &str,
    alive: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !alive {
        problems.push("the engine stopped answering".into());
    }
    for line in log.lines().filter(|l| l.contains("panicked")).take(5) {
        problems.push(format!("the engine panicked: {line}"));
    }
    for line in log.lines().filter(|l| l.contains("ERROR")).take(5) {
        problems.push(format!("the engine logged an error: {line}"));
    }
    let unanswered = t
        .polite
        .iter()
        .filter(|id| !t.answers.contains_key(*id))
        .count();
    if unanswered > 0 {
        problems.push(format!("{unanswered} polite command(s) never answered"));
    }
    let twice: Vec<&String> = t
        .answers
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    if !twice.is_empty() {
        problems.push(format!("answered more than once: {twice:?}"));
    }
    problems.extend(t.polite_closed.iter().cloned());
    if let Some(n) = t.codes.get("internal_error") {
        problems.push(format!("{n} command(s) answered internal_error"));
    }
    if o.gaps > 0 {
        problems.push(format!("{} event(s) out of seq order", o.gaps));
    }
    let listed = orders["orders"].as_array().cloned().unwrap_or_default();
    let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
    for order in &listed {
        if by_id.insert(text(&order["orderId"]), order).is_some() {
            problems.push(format!("order {} listed twice", order["orderId"]));
        }
    }
    let stored_trades = trades["trades"].as_array().cloned().unwrap_or_default();
    let mut filled: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut expected = start.clone();
    for tr in &stored_trades {
        *filled.entry(text(&tr["order_id"])).or_default() += dec(&tr["amount"]);
        let notional = dec(&tr["price"]) * dec(&tr["amount"]);
        let fee = dec(&tr["fee"]);
        let (base, quote) = text(&tr["symbol"])
            .split_once('-')
            .map_or((String::new(), String::new()), |(b, q)| {
                (b.into(), q.into())
            });
        let (db, dq) = if tr["side"] == "buy" {
            (dec(&tr["amount"]), -(notional + fee))
        } else {
            (-dec(&tr["amount"]), notional - fee)
        };
        *expected.entry(base).or_default() += db;
        *expected.entry(quote).or_default() += dq;
    }
    for (asset, want) in &expected {
        let got = end.get(asset).copied().unwrap_or_default();
        if got != *want {
            problems.push(format!(
                "{asset}: {got} held, {want} expected from the start and the fills"
            ));
        }
    }
    for (id, order) in &by_id {
        let sum = filled.get(id).copied().unwrap_or_default();
        if dec(&order["filled"]) != sum {
            problems.push(format!(
                "order {id}: filled {} but its fills sum to {sum}",
                order["filled"]
            ));
        }
        match o.statuses.get(id).and_then(|s| s.last()) {
            Some(last) if *last == text(&order["status"]) => {}
            seen => problems.push(format!(
                "order {id}: get_orders says {} but the events said {seen:?}",
                order["status"]
            )),
        }
    }
    for (id, statuses) in &o.statuses {
        // Refused by the risk gate: published, never stored.
        if !id.starts_with("RISK-") && !by_id.contains_key(id) {
            problems.push(format!(
                "order {id} was in the events ({statuses:?}) but not in get_orders"
            ));
        }
    }
    for id in o.trades.keys() {
        if !stored_trades.iter().any(|s| text(&s["trade_id"]) == *id) {
            problems.push(format!("trade {id} was reported but is not stored"));
        }
    }
    problems
}

fn report(t: &Tally, o: &Observed, orders: &Value, trades: &Value, problems: &[String]) {
    println!("\nsent:");
    for (what, n) in &t.sent {
        println!("  {what:<16} {n}");
    }
    println!("connections opened {}", t.connections);
    println!("closed by the server: {:?}", t.closed_by_server);
    println!("answers by code: {:?}", t.codes);
    println!(
        "polite commands {} (each answered once: {}); orders listed {}, fills stored {}; events seen for {} orders",
        t.polite.len(),
        t.polite.iter().all(|id| t.answers.get(id) == Some(&1)),
        orders["orders"].as_array().map_or(0, Vec::len),
        trades["trades"].as_array().map_or(0, Vec::len),
        o.statuses.len()
    );
    if problems.is_empty() {
        println!(
            "\nOK: nothing panicked, nothing lost, nothing answered twice, every balance exact"
        );
    } else {
        println!("\nPROBLEMS:");
        for p in problems.iter().take(50) {
            println!("  {p}");
        }
    }
}
