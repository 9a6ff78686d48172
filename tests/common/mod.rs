//! Shared helpers for integration tests: a real engine on a free loopback
//! port and a real WebSocket client that talks the protocol.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "helpers shared by many test binaries; each binary uses a part of them"
)]

pub mod binance;
pub mod degraded;
pub mod nats;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use laicai::config::Config;
use laicai_core::Decimal;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const BTC_PAIR: &str = r#"symbol = "BTC-USDT"
start_price = "52000"
tick_size = "0.01"
step_size = "0.00001"
min_notional = "5"
ticks_per_sec = 20.0
volatility_bps = 1.0
spread_bps = 1.0
level_spacing_bps = 0.5
depth_levels = 20
level_size = "0.4"
trade_probability = 0.6
trade_size = "0.05""#;

const ETH_PAIR: &str = r#"symbol = "ETH-USDT"
start_price = "2800"
tick_size = "0.01"
step_size = "0.0001"
min_notional = "5"
ticks_per_sec = 20.0
volatility_bps = 2.0
spread_bps = 1.5
level_spacing_bps = 0.8
depth_levels = 20
level_size = "5"
trade_probability = 0.6
trade_size = "0.8""#;

/// A `[[paper.pairs]]` table: `base` with each `key = value` line of
/// `changes` replacing the base's line for that key.
fn pair(base: &str, changes: &str) -> String {
    let key = |line: &str| {
        line.split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let changed: Vec<&str> = changes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for c in &changed {
        assert!(
            base.lines().any(|b| key(b) == key(c)),
            "no pair field `{}`",
            key(c)
        );
    }
    let lines: Vec<&str> = base
        .lines()
        .map(|b| {
            changed
                .iter()
                .copied()
                .find(|c| key(c) == key(b))
                .unwrap_or(b)
        })
        .collect();
    format!("[[paper.pairs]]\n{}\n", lines.join("\n"))
}

/// The test BTC-USDT pair with some fields changed (`"ticks_per_sec = 50.0"`).
pub fn btc_pair(changes: &str) -> String {
    pair(BTC_PAIR, changes)
}

pub fn eth_pair(changes: &str) -> String {
    pair(ETH_PAIR, changes)
}

/// A fresh directory for one test's state, under cargo's directory for
/// integration tests' files (`target/tmp/laicai-tests`), not the system's
/// temp dir. The first call in a test process removes what test processes
/// that have ended left there, so runs do not pile up. `cargo test` stops
/// after a test binary that failed, so its state stays, to look at, until
/// the next run.
pub fn temp_dir(what: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("laicai-tests");
    SWEPT.call_once(|| remove_ended_runs(&base));
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = base.join(format!("{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Removes the directories under `base` (`<what>-<pid>-<n>`) whose test
/// process is no longer running. Linux only (it asks `/proc`); elsewhere
/// nothing is removed.
fn remove_ended_runs(base: &std::path::Path) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_string_lossy()
            .rsplit('-')
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        let ended = pid.is_some_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if ended {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The base of every test server: fast markets, one worker, loopback.
fn test_config() -> String {
    let db = temp_dir("db").join("laicai.db");
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\nworkers = 1\n\
         [storage]\npath = \"{}\"\n\
         [backtest]\nreport_dir = \"{}\"\n\
         [strategies]\nboot = []\nallow_test_strategies = true\n{}{}",
        db.display(),
        temp_dir("reports").display(),
        btc_pair(""),
        eth_pair("")
    )
}

pub struct TestServer {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl TestServer {
    /// Starts the engine with the test config, then `overrides` laid over
    /// it (tables merge; a `[[paper.pairs]]` list replaces the test pairs,
    /// see `btc_pair`).
    pub async fn start(overrides: &str) -> TestServer {
        let base = test_config();
        let config = Config::from_layers(&[("test.toml", &base), ("overrides.toml", overrides)])
            .expect("test config is valid");
        let running = laicai::start(config).await.expect("engine starts");
        let handle = running.server.clone();
        TestServer {
            addr: running.addr,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub async fn client(&self, path: &str) -> Client {
        Client::connect(&self.url(path)).await
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    /// `/metrics`, as series (name with its labels) to value.
    pub async fn metrics(&self) -> std::collections::BTreeMap<String, f64> {
        let body = awc::Client::new()
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .expect("GET /metrics")
            .body()
            .await
            .expect("metrics body");
        let text = std::str::from_utf8(&body).expect("utf-8 metrics");
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("`series value`");
                let value = value.parse().unwrap_or_else(|e| panic!("{l}: {e}"));
                (series.to_string(), value)
            })
            .collect()
    }

    /// One series of `/metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        self.metrics().await.get(series).copied().unwrap_or(0.0)
    }
}

type Conn = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

pub struct Client {
    conn: Conn,
    /// Frames received but not yet taken by a `wait_for`.
    pending: VecDeque<Value>,
    next_request: u64,
    pub closed: Option<Option<ws::CloseReason>>,
    /// The transport error that ended the stream, if it did not close cleanly.
    pub failed: Option<String>,
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Client {
    /// Connects with extra headers and offered subprotocols; answers the
    /// client and the subprotocol the server chose, or the handshake error.
    pub async fn try_connect(
        url: &str,
        headers: &[(&str, &str)],
        protocols: &[&str],
    ) -> Result<(Client, Option<String>), String> {
        let mut req = awc::Client::new().ws(url).max_frame_size(64 << 20);
        for (k, v) in headers {
            req = req.set_header(*k, *v);
        }
        if !protocols.is_empty() {
            req = req.protocols(protocols.iter().copied());
        }
        let (resp, conn) = req.connect().await.map_err(|e| match e {
            awc::error::WsClientError::InvalidResponseStatus(s) => format!("HTTP {}", s.as_u16()),
            other => other.to_string(),
        })?;
        let chosen = resp
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let client = Client {
            conn,
            pending: VecDeque::new(),
            next_request: 0,
            closed: None,
            failed: None,
        };
        Ok((client, chosen))
    }

    pub async fn connect(url: &str) -> Client {
        let (_, conn) = awc::Client::new()
            .ws(url)
            .max_frame_size(64 << 20)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        Client {
            conn,
            pending: VecDeque::new(),
            next_request: 0,
            closed: None,
            failed: None,
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.try_send_text(text).await.expect("send");
    }

    /// Sends, or says why it could not (the server is gone).
    pub async fn try_send_text(&mut self, text: &str) -> Result<(), awc::error::WsProtocolError> {
        self.conn
            .send(ws::Message::Text(text.to_string().into()))
            .await
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.conn
            .send(ws::Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    pub async fn close(mut self) {
        let _ = self.conn.send(ws::Message::Close(None)).await;
    }

    /// The next JSON frame from the socket, answering pings on the way.
    async fn read(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let frame = match actix_rt::time::timeout(left, self.conn.next()).await {
                Err(_) => return None,
                Ok(None) => {
                    self.closed.get_or_insert(None);
                    return None;
                }
                Ok(Some(Err(e))) => {
                    self.failed = Some(e.to_string());
                    self.closed.get_or_insert(None);
                    return None;
                }
                Ok(Some(Ok(f))) => f,
            };
            match frame {
                ws::Frame::Text(bytes) => {
                    let text = std::str::from_utf8(&bytes).expect("utf-8 text frame");
                    return Some(
                        serde_json::from_str(text)
                            .unwrap_or_else(|e| panic!("bad JSON from server ({e}): {text}")),
                    );
                }
                ws::Frame::Ping(p) => {
                    let _ = self.conn.send(ws::Message::Pong(p)).await;
                }
                ws::Frame::Close(reason) => {
                    self.closed = Some(reason);
                    return None;
                }
                _ => {}
            }
        }
    }

    /// The next frame in arrival order (pending ones first).
    pub async fn next(&mut self, within: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read(Instant::now() + within).await
    }

    /// Every frame (pending ones first) that arrives within `for_`.
    pub async fn during(&mut self, for_: Duration) -> Vec<Value> {
        let until = Instant::now() + for_;
        let mut out = Vec::new();
        while let Some(v) = self
            .next(until.saturating_duration_since(Instant::now()))
            .await
        {
            out.push(v);
        }
        out
    }

    /// The first frame (pending or new) that satisfies `pred`; frames
    /// skipped on the way stay pending for later calls.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.try_wait_for(WAIT, pred).await.unwrap_or_else(|| {
            panic!(
                "no {what} within {WAIT:?}; pending: {:?}",
                self.pending.iter().rev().take(5).collect::<Vec<_>>()
            )
        })
    }

    pub async fn try_wait_for(
        &mut self,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + within;
        while let Some(v) = self.read(deadline).await {
            if pred(&v) {
                return Some(v);
            }
            self.pending.push_back(v);
            if self.pending.len() > 100_000 {
                self.pending.pop_front();
            }
        }
        None
    }

    /// Takes the oldest pending frame without reading the socket.
    pub fn pending_pop(&mut self) -> Option<Value> {
        self.pending.pop_front()
    }

    /// Drops frames received so far.
    pub fn forget(&mut self) {
        self.pending.clear();
    }

    /// Sends a command with a fresh `request_id` and returns its response.
    pub async fn command(&mut self, mut cmd: Value) -> Value {
        self.next_request += 1;
        let rid = format!("t-{}", self.next_request);
        cmd["request_id"] = json!(rid);
        self.send_text(&cmd.to_string()).await;
        let name = format!("response to {cmd}");
        self.wait_for(&name, |v| {
            v["type"] == "response" && v["request_id"] == json!(rid)
        })
        .await
    }

    /// A command that must succeed; returns its response.
    pub async fn ok(&mut self, cmd: Value) -> Value {
        let r = self.command(cmd.clone()).await;
        assert_eq!(r["success"], true, "command {cmd} failed: {r}");
        r
    }
}

/// A free loopback address for an engine to listen on.
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// A `place_order` of BTC-USDT.
pub fn order(side: &str, kind: &str, size: &str, price: Option<&str>) -> Value {
    let mut o = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": side, "type": kind, "size": size});
    if let Some(p) = price {
        o["price"] = json!(p);
    }
    o
}

/// What a trade does to the account: (asset, signed change) pairs.
pub fn effects(t: &Value) -> [(String, Decimal); 2] {
    let symbol = t["symbol"].as_str().expect("symbol");
    let (base, quote) = symbol.split_once('-').expect("BASE-QUOTE");
    let (price, amount, fee) = (dec(&t["price"]), dec(&t["amount"]), dec(&t["fee"]));
    assert_eq!(t["fee_asset"], quote);
    let notional = price * amount;
    match t["side"].as_str() {
        Some("buy") => [
            (base.to_string(), amount),
            (quote.to_string(), -(notional + fee)),
        ],
        _ => [
            (base.to_string(), -amount),
            (quote.to_string(), notional - fee),
        ],
    }
}

/// After a crash and a restart: every acknowledged order and every
/// reported trade is stored, no trade twice and each as reported, every
/// order's filled amount is the sum of its fills, every balance is its
/// starting total plus the stored fills to the last decimal, and resting
/// orders reserve exactly what they hold. Answers how many orders rest.
pub async fn audit(
    c: &mut Client,
    totals_at_start: &std::collections::BTreeMap<String, Decimal>,
    acknowledged: &std::collections::BTreeSet<String>,
    reported_trades: &std::collections::BTreeMap<String, Value>,
) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let orders = c.ok(json!({"cmd": "get_orders", "limit": 100000})).await;
    let trades = c.ok(json!({"cmd": "get_trades", "limit": 100000})).await;
    let balances = c.ok(json!({"cmd": "get_balances"})).await;

    let stored_orders: BTreeMap<String, &Value> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["orderId"].as_str().unwrap().to_string(), o))
        .collect();
    for id in acknowledged {
        assert!(
            stored_orders.contains_key(id),
            "acknowledged order {id} is missing"
        );
    }
    let stored_trades = trades["trades"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    for t in stored_trades {
        assert!(
            ids.insert(t["trade_id"].as_str().unwrap()),
            "trade stored twice: {t}"
        );
    }
    for (id, t) in reported_trades {
        let stored = stored_trades
            .iter()
            .find(|s| s["trade_id"] == json!(id))
            .unwrap_or_else(|| panic!("reported trade {id} is missing"));
        assert_eq!(stored, t);
    }
    // Every order's filled amount is the sum of its stored fills: none
    // applied twice, none lost.
    let mut filled: BTreeMap<&str, Decimal> = BTreeMap::new();
    for t in stored_trades {
        *filled.entry(t["order_id"].as_str().unwrap()).or_default() += dec(&t["amount"]);
    }
    for (id, o) in &stored_orders {
        let sum = filled.get(id.as_str()).copied().unwrap_or_default();
        assert_eq!(dec(&o["filled"]), sum, "order {id}: {o}");
    }
    // Balances are the starting balances plus the stored fills.
    let mut expected = totals_at_start.clone();
    for t in stored_trades {
        for (asset, change) in effects(t) {
            *expected.entry(asset).or_default() += change;
        }
    }
    for (asset, total) in &expected {
        let (_, _, got) = balance(&balances, asset);
        assert_eq!(&got, total, "{asset} total after the crash");
    }
    // Resting orders hold exactly what they reserve.
    let open_bids: Decimal = stored_orders
        .values()
        .filter(|o| o["status"] == "open")
        .map(|o| dec(&o["remaining"]) * dec(&o["price"]) * d("1.001"))
        .sum();
    let (_, used, _) = balance(&balances, "USDT");
    assert_eq!(used, open_bids);

    stored_orders
        .values()
        .filter(|o| o["status"] == "open")
        .count()
}

/// One strategy instance as `get_strategies` lists it.
pub async fn strategy(c: &mut Client, id: &str) -> Value {
    let r = c.ok(json!({"cmd": "get_strategies"})).await;
    r["strategies"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["id"] == id).cloned())
        .unwrap_or_else(|| panic!("no strategy {id} in {r}"))
}

/// A JSON number (or numeric string) as an exact decimal.
pub fn dec(v: &Value) -> Decimal {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a number: {other}"),
    };
    laicai_core::num::parse_decimal(&text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn d(s: &str) -> Decimal {
    laicai_core::num::parse_decimal(s).unwrap()
}

/// (free, used, total) of `asset` from a `get_balances` response.
pub fn balance(resp: &Value, asset: &str) -> (Decimal, Decimal, Decimal) {
    let b = resp["balances"]
        .as_array()
        .and_then(|l| l.iter().find(|b| b["asset"] == asset))
        .unwrap_or_else(|| panic!("no {asset} in {resp}"));
    (dec(&b["free"]), dec(&b["used"]), dec(&b["total"]))
}

pub fn best(book: &Value, side: &str) -> Decimal {
    dec(&book[side][0][0])
}

/// The real `laicai` binary as a child process on a free loopback port,
/// with its own config and state directory.
pub struct EngineProcess {
    child: std::process::Child,
    pub addr: String,
    pub stderr_path: std::path::PathBuf,
}

impl EngineProcess {
    /// Starts it and waits until it accepts WebSocket connections.
    pub async fn start(state: &std::path::Path, config: &str) -> EngineProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(state, config, &format!("127.0.0.1:{port}")).await
    }

    /// Starts it on `addr` (a restart on the port clients know).
    pub async fn start_on(state: &std::path::Path, config: &str, addr: &str) -> EngineProcess {
        Self::start_in(state, state, config, addr).await
    }

    /// Starts it with its config and log in `dir` and its database in
    /// `state`.
    pub async fn start_in(
        dir: &std::path::Path,
        state: &std::path::Path,
        config: &str,
        addr: &str,
    ) -> EngineProcess {
        Self::start_under(&[], dir, state, config, addr).await
    }

    /// Starts it through `wrapper` (`["prlimit", "--nofile=300", "--"]`).
    pub async fn start_under(
        wrapper: &[&str],
        dir: &std::path::Path,
        state: &std::path::Path,
        config: &str,
        addr: &str,
    ) -> EngineProcess {
        Self::launch(wrapper, &[], dir, Some(state), config, addr).await
    }

    /// `laicai gateway --bus BUS --node NODE` on `addr`, its config and
    /// log in `dir`.
    pub async fn start_gateway(
        dir: &std::path::Path,
        config: &str,
        addr: &str,
        bus: &str,
        node: &str,
    ) -> EngineProcess {
        let args = ["gateway", "--bus", bus, "--node", node];
        Self::launch(&[], &args, dir, None, config, addr).await
    }

    /// Starts `laicai <subcommand>` (the engine: none) through `wrapper`
    /// on `addr`, its config and log in `dir`, its state in `state`, and
    /// waits until it accepts WebSocket connections on `/ws`.
    pub async fn launch(
        wrapper: &[&str],
        subcommand: &[&str],
        dir: &std::path::Path,
        state: Option<&std::path::Path>,
        config: &str,
        addr: &str,
    ) -> EngineProcess {
        let addr = addr.to_string();
        let port = addr.rsplit(':').next().unwrap_or("0").to_string();
        let config_path = match subcommand.is_empty() {
            true => dir.join("test.toml"),
            false => dir.join(format!("test-{port}.toml")),
        };
        std::fs::write(&config_path, config).expect("write config");
        let stderr_path = dir.join(format!("stderr-{port}.log"));
        // A restart on the same port appends to the same log.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .expect("log file");
        // Both streams append to one file.
        let log = || {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&stderr_path)
                .expect("log file")
        };
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = std::process::Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_laicai"));
                c
            }
            None => std::process::Command::new(env!("CARGO_BIN_EXE_laicai")),
        };
        command.args(subcommand);
        if let Some(state) = state {
            command.env("LAICAI_STATE_DIR", state);
        }
        let child = command
            .arg("--config")
            .arg(&config_path)
            .arg("--bind")
            .arg(&addr)
            .env("RUST_LOG", "info")
            .stdout(log())
            .stderr(log())
            .spawn()
            .expect("spawn laicai");
        let engine = EngineProcess {
            child,
            addr,
            stderr_path,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if Client::try_connect(&engine.url("/ws"), &[], &[])
                .await
                .is_ok()
            {
                return engine;
            }
            assert!(
                Instant::now() < deadline,
                "laicai did not come up: {}",
                engine.stderr()
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.url("/ws")).await
    }

    /// What it printed (its log and its errors).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGSTOP (`freeze(true)`) or SIGCONT: a server that stops answering
    /// with its sockets still open.
    pub fn freeze(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let sent = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for it to exit; answers its exit code.
    pub fn terminate(self) -> Option<i32> {
        self.sigterm();
        self.exit_code(Duration::from_secs(20))
    }

    /// SIGTERM, without waiting.
    pub fn sigterm(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
    }

    /// Whether it has ended (its exit code taken if so).
    pub fn ended(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_some()
    }

    /// Waits up to `within` for it to exit; answers its exit code.
    pub fn exit_code(mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let stderr = self.stderr();
                assert!(!stderr.contains("panicked"), "laicai panicked: {stderr}");
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "laicai did not stop within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
