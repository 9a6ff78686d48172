//! The client subcommands of `laicai`: `status`, `watch`, `cmd`, `order`,
//! `strategies`, `watch-orders`. Each connects with the SDK, prints for a
//! person (or `--json` for a program), and fails with one line on stderr
//! and a non-zero exit.

use clap::{Args, Subcommand};
use laicai_client::{
    ClientError, Command, ConnectionConfig, Incoming, NewOrder, StrategyAction, WebSocketClient,
};
use laicai_core::order::Side;
use laicai_core::wire::events::{Event, OrderView};
use laicai_core::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Where the engine is.
#[derive(Args, Clone, Debug)]
pub(crate) struct Target {
    /// The engine's WebSocket URL.
    #[arg(
        long,
        env = "LAICAI_URL",
        default_value = "ws://127.0.0.1:8000/api/stream",
        global = true
    )]
    url: String,
    /// A token of the engine (sent as a Bearer token).
    #[arg(long, env = "LAICAI_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ClientCmd {
    /// The engine's status: uptime, strategies, profit, connections.
    Status(Target),
    /// Prints events as they arrive, until Ctrl+C (or --duration).
    Watch {
        #[command(flatten)]
        target: Target,
        /// Only these event types (comma-separated: price,trade,order_update…).
        #[arg(long, value_delimiter = ',')]
        types: Vec<String>,
        /// Only this pair.
        #[arg(long)]
        symbol: Option<String>,
        /// One JSON object per line instead of pretty lines.
        #[arg(long)]
        json: bool,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<u64>,
    },
    /// Sends one command, given as JSON, and prints the response.
    Cmd {
        /// `{"cmd": "get_orders", "symbol": "BTC-USDT"}`
        json: String,
        #[command(flatten)]
        target: Target,
    },
    /// Places an order: `laicai order buy BTC-USDT 0.1 --limit 52000`.
    #[command(allow_negative_numbers = true)]
    Order {
        /// buy or sell
        side: String,
        symbol: String,
        size: String,
        /// A limit price (a market order without it).
        #[arg(long)]
        limit: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Lists strategies, or acts on one.
    Strategies {
        #[command(subcommand)]
        action: Option<StrategyCmd>,
        #[command(flatten)]
        target: Target,
    },
    /// Prints each order_update as it arrives; at the end (or Ctrl+C) the
    /// totals by status.
    WatchOrders {
        /// Seconds to watch.
        #[arg(long, default_value_t = 60)]
        duration: u64,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum StrategyCmd {
    /// Lists the strategies with their status, profit and trades.
    List,
    /// Creates a strategy (stopped; `start` it): `laicai strategies create --type pmm --pair BTC-USDT --name mm1 --config '{"bid_spread":0.1}'`
    Create {
        /// pmm, grid or twap.
        #[arg(long = "type")]
        strategy_type: String,
        /// The pair it trades, BASE-QUOTE.
        #[arg(long)]
        pair: String,
        /// A name for it.
        #[arg(long)]
        name: String,
        /// Its config as JSON; fields left out take their defaults
        /// (configs/<type>.toml documents each).
        #[arg(long, default_value = "{}")]
        config: String,
    },
    /// Starts a created or stopped strategy, by its id (`laicai strategies` lists them).
    Start { id: String },
    /// Stops it and cancels its orders.
    Stop { id: String },
    /// Pauses it; its orders stay.
    Pause { id: String },
    /// Resumes a paused strategy.
    Resume { id: String },
    /// Deletes a stopped strategy.
    Delete { id: String },
}

/// Why a command ended without doing all it should.
pub(crate) enum Failure {
    /// Said in one line on stderr; exit code 1.
    Said(String),
    /// Standard output's reader went away (`laicai watch | head -3`): the
    /// command ends quietly, as a pipe's writer should.
    ReaderGone,
}

/// Writes one line to standard output.
pub(crate) fn say(line: impl std::fmt::Display) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Failure::ReaderGone,
        _ => Failure::Said(format!("cannot write to standard output: {e}")),
    })
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Said(e.to_string())
    }
}

/// Runs `cmd`; answers the process's exit code.
pub(crate) fn run(cmd: ClientCmd) -> std::process::ExitCode {
    exit_code(actix_rt::System::new().block_on(dispatch(cmd)))
}

/// Success, or the failure in one line on stderr and exit code 1.
pub(crate) fn exit_code(result: Result<(), Failure>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Failure::ReaderGone) => std::process::ExitCode::SUCCESS,
        Err(Failure::Said(msg)) => {
            eprintln!("laicai: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: ClientCmd) -> Result<(), Failure> {
    match cmd {
        ClientCmd::Status(t) => status(&connect(&t).await?).await,
        ClientCmd::Watch {
            target,
            types,
            symbol,
            json,
            duration,
        } => {
            check_types(&types)?;
            let client = connect(&target).await?;
            let symbol = match symbol {
                Some(s) => Some(known_pair(&client, &s).await?),
                None => None,
            };
            watch(&client, &types, symbol.as_deref(), json, duration).await
        }
        ClientCmd::Cmd { json, target } => {
            let cmd: Value = serde_json::from_str(&json)
                .map_err(|e| Failure::Said(format!("the command is not JSON: {e}")))?;
            if !cmd.get("cmd").is_some_and(Value::is_string) {
                return Err(Failure::Said(
                    "the command needs a \"cmd\" field, e.g. {\"cmd\":\"get_system_status\"}"
                        .into(),
                ));
            }
            let client = connect(&target).await?;
            let answer = client.command(cmd).await.map_err(refusal)?;
            say(format_args!("{}", pretty(&answer)))?;
            Ok(())
        }
        ClientCmd::Order {
            side,
            symbol,
            size,
            limit,
            target,
        } => {
            let side = Side::from_str(&side).map_err(|e| Failure::Said(format!("side: {e}")))?;
            let size = decimal("size", &size)?;
            let order = match limit {
                Some(p) => NewOrder::limit(&symbol, side, size, decimal("--limit", &p)?),
                None => NewOrder::market(&symbol, side, size),
            };
            let client = connect(&target).await?;
            let placed = client.place_order(&order).await.map_err(refusal)?;
            say(format_args!("{}", order_line(&placed, Paint::detect())))?;
            Ok(())
        }
        ClientCmd::Strategies { action, target } => {
            let client = connect(&target).await?;
            strategies(&client, action.unwrap_or(StrategyCmd::List)).await
        }
        ClientCmd::WatchOrders { duration, target } => {
            let client = connect(&target).await?;
            watch_orders(&client, Duration::from_secs(duration)).await
        }
    }
}

/// `--types` must name event types the engine sends.
fn check_types(types: &[String]) -> Result<(), Failure> {
    let valid: Vec<&str> = laicai_core::wire::events::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    let unknown: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| !valid.contains(t) && *t != "resync")
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Failure::Said(format!(
        "--types: no event type {}; the types are {}",
        unknown.join(", "),
        valid.join(", ")
    )))
}

/// `--symbol` must be a pair the engine trades (`BTC-USDT`).
async fn known_pair(client: &WebSocketClient, symbol: &str) -> Result<String, Failure> {
    let markets = client.send(&Command::GetMarkets).await.map_err(refusal)?;
    let pairs: Vec<&str> = markets["markets"]
        .as_array()
        .map(|l| l.iter().filter_map(|m| m["symbol"].as_str()).collect())
        .unwrap_or_default();
    let wanted = laicai_core::pair::Symbol::parse(symbol).map(|s| s.to_string());
    match wanted {
        Ok(s) if pairs.contains(&s.as_str()) => Ok(s),
        _ => {
            let known: std::collections::BTreeSet<&str> = pairs.into_iter().collect();
            let known: Vec<&str> = known.into_iter().collect();
            Err(Failure::Said(format!(
                "--symbol: the engine trades no pair `{symbol}`; its pairs are {}",
                known.join(", ")
            )))
        }
    }
}

pub(crate) fn decimal(what: &str, text: &str) -> Result<Decimal, Failure> {
    laicai_core::num::parse_decimal(text).map_err(|e| Failure::Said(format!("{what}: {e}")))
}

/// A refused command: its code and message in one line.
fn refusal(e: ClientError) -> Failure {
    match e {
        ClientError::Command { code, message, .. } => Failure::Said(format!("{code}: {message}")),
        other => other.into(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Connects, saying so on stderr when it takes more than a moment.
async fn connect(t: &Target) -> Result<WebSocketClient, Failure> {
    let mut config = ConnectionConfig::new(&t.url);
    if let Some(token) = &t.token {
        config = config.with_api_key(token);
    }
    let client = WebSocketClient::new(config);
    {
        let connecting = client.connect();
        let slow = actix_rt::time::sleep(Duration::from_secs(1));
        tokio::pin!(connecting, slow);
        tokio::select! {
            r = &mut connecting => r?,
            _ = &mut slow => {
                eprintln!("connecting to {}…", t.url);
                connecting.await?;
            }
        }
    }
    Ok(client)
}

/// ANSI colors, only for a terminal and without NO_COLOR.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn detect() -> Paint {
        Paint(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
    }

    fn color(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn side(self, side: Side) -> String {
        match side {
            Side::Buy => self.color("32", "buy"),
            Side::Sell => self.color("31", "sell"),
        }
    }
}

fn num(d: Option<Decimal>) -> String {
    d.map_or("-".into(), |d| d.normalize().to_string())
}

fn order_line(o: &OrderView, p: Paint) -> String {
    let mut line = format!(
        "{} {} {} {} {} {} @ {} filled {}",
        p.color("1", &o.order_id),
        p.color("36", o.status.as_str()),
        p.side(o.side),
        o.order_type.as_str(),
        o.symbol,
        num(Some(o.size)),
        num(o.price),
        num(Some(o.filled)),
    );
    if let Some(s) = &o.strategy {
        line.push_str(&format!(" [{s}]"));
    }
    if let Some(r) = &o.reason {
        line.push_str(&format!(" ({r})"));
    }
    line
}

/// One pretty line for an event.
/// `money` rounds an amount of the quote asset for a person.
fn event_line(m: &Incoming, p: Paint, money: u32) -> String {
    let seq = m.seq().map_or(String::new(), |s| format!("#{s} "));
    let kind = p.color("2", m.kind());
    let body = match m {
        Incoming::Event(e) => match &e.event {
            Event::Price(x) => format!(
                "{} {} bid {} ask {}",
                x.symbol,
                p.color("1", &num(Some(x.price))),
                num(x.bid),
                num(x.ask)
            ),
            Event::OrderUpdate(o) => order_line(o, p),
            Event::Trade(t) => format!(
                "{} {} {} {} @ {} fee {} {}",
                t.trade_id,
                p.side(t.side),
                t.symbol,
                num(Some(t.amount)),
                num(Some(t.price)),
                num(Some(t.fee)),
                t.fee_asset
            ),
            Event::Balance(b) => format!(
                "{} free {} used {} total {}",
                b.asset,
                num(Some(b.free)),
                num(Some(b.used)),
                num(Some(b.total))
            ),
            Event::Strategy(s) => format!(
                "{} {} {} profit {} trades {}",
                s.id,
                s.name,
                p.color("36", s.status.as_str()),
                rounded(s.profit, money),
                s.trades
            ),
            Event::Alerts { data } => p.color("33", &data.message),
            Event::Log(l) => format!("{} {}", l.level.as_str(), l.msg),
            other => serde_json::to_string(other).unwrap_or_default(),
        },
        Incoming::Unknown { raw, .. } => raw.to_string(),
        Incoming::Resync { reason } => p.color("33", &format!("resync: {reason}")),
    };
    format!("{seq}{kind} {body}")
}

fn message_json(m: &Incoming) -> String {
    match m {
        Incoming::Event(e) => {
            let mut v = serde_json::to_value(&e.event).unwrap_or(Value::Null);
            v["seq"] = json!(e.seq);
            v["timestamp"] = json!(e.timestamp);
            v.to_string()
        }
        Incoming::Unknown { raw, .. } => raw.to_string(),
        Incoming::Resync { reason } => json!({"type": "resync", "reason": reason}).to_string(),
    }
}

async fn status(client: &WebSocketClient) -> Result<(), Failure> {
    let s = client.get_system_status().await?;
    let strategies = client.get_strategies().await?;
    let connections = client
        .send(&Command::GetConnections)
        .await?
        .get("connections")
        .cloned()
        .unwrap_or(Value::Null);
    let markets = client.send(&Command::GetMarkets).await?;
    let (quote, places) = quote_precision(&markets);
    let money = |d: Decimal| format!("{} {quote}", rounded(d, places));
    say(format_args!("engine       {}", s.bot_status.as_str()))?;
    say(format_args!("uptime       {}", uptime(s.uptime)))?;
    say(format_args!(
        "strategies   {} ({} running)",
        strategies.len(),
        s.active_strategies
    ))?;
    say(format_args!(
        "profit       {}  (realized PnL minus fees, every venue)",
        money(s.total_profit)
    ))?;
    say(format_args!("trades       {}  (fills)", s.total_trades))?;
    if s.total_trades == 0 {
        say("win rate     -  (no trades yet)")?;
    } else {
        say(format_args!(
            "win rate     {} %  (of the fills that reduced a position, those that made money after fees)",
            rounded(s.success_rate, 2)
        ))?;
    }
    say(format_args!(
        "connections  {}  (exchange connections besides paper)",
        connections.as_array().map_or(0, Vec::len)
    ))
}

/// The quote asset the engine's pairs share (and its decimals: the
/// pairs' price precision, at least cents), for showing money.
fn quote_precision(markets: &Value) -> (String, u32) {
    let list = markets["markets"].as_array().cloned().unwrap_or_default();
    let quotes: std::collections::BTreeSet<&str> =
        list.iter().filter_map(|m| m["quote"].as_str()).collect();
    let places = list
        .iter()
        .filter_map(|m| m["price_precision"].as_u64())
        .max()
        .unwrap_or(2)
        .max(2) as u32;
    match quotes.len() {
        1 => (
            quotes.into_iter().next().unwrap_or_default().to_string(),
            places,
        ),
        _ => ("(quote)".to_string(), places),
    }
}

/// `d` at `places` decimals with thousands separators, for a person
/// (`-1234.5678` at 2 is `-1,234.57`; `-0.001` is `0.00`).
pub(crate) fn rounded(d: Decimal, places: u32) -> String {
    let r = d.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let r = if r.is_zero() { Decimal::ZERO } else { r };
    let text = format!("{:.prec$}", r.abs(), prec = places as usize);
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::from(if r < Decimal::ZERO { "-" } else { "" });
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `3d 4h 05m`, `2h 05m 09s`, `7m 09s`.
fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h) {
        (0, 0) => format!("{m}m {s:02}s"),
        (0, _) => format!("{h}h {m:02}m {s:02}s"),
        _ => format!("{d}d {h}h {m:02}m"),
    }
}

async fn watch(
    client: &WebSocketClient,
    types: &[String],
    symbol: Option<&str>,
    as_json: bool,
    duration: Option<u64>,
) -> Result<(), Failure> {
    let mut messages = client.messages();
    let paint = Paint::detect();
    let markets = client.send(&Command::GetMarkets).await?;
    let (_, money) = quote_precision(&markets);
    let ctrl_c = interrupted()?;
    tokio::pin!(ctrl_c);
    eprintln!("watching {} (Ctrl+C ends)", client.config().url);
    let until = duration.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let left = until.map_or(Duration::from_secs(3600), |u| {
            u.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return Ok(());
        }
        tokio::select! {
            m = messages.recv() => {
                let Some(m) = m else { return Err(Failure::Said("the client stopped".into())) };
                if !types.is_empty() && !types.iter().any(|t| t == m.kind()) {
                    continue;
                }
                let sym = m.event().and_then(Event::symbol);
                if symbol.is_some_and(|s| sym != Some(s)) {
                    continue;
                }
                let line = if as_json { message_json(&m) } else { event_line(&m, paint, money) };
                say(format_args!("{line}"))?;
            }
            _ = &mut ctrl_c => return Ok(()),
            _ = actix_rt::time::sleep(left) => {}
        }
    }
}

async fn strategies(client: &WebSocketClient, action: StrategyCmd) -> Result<(), Failure> {
    let (verb, id) = match action {
        StrategyCmd::List => {
            let list = client.get_strategies().await?;
            let markets = client.send(&Command::GetMarkets).await?;
            let (quote, money) = quote_precision(&markets);
            if list.is_empty() {
                say(format_args!("no strategies"))?;
            }
            for s in list {
                say(format_args!(
                    "{:<10} {:<16} {:<5} {:<10} {:<8} profit {:>14} trades {}",
                    s.id,
                    s.name,
                    s.strategy_type.as_str(),
                    s.pair,
                    s.status.as_str(),
                    format!("{} {quote}", rounded(s.profit, money)),
                    s.trades
                ))?;
            }
            return Ok(());
        }
        StrategyCmd::Create {
            strategy_type,
            pair,
            name,
            config,
        } => {
            let config: Value = serde_json::from_str(&config)
                .map_err(|e| Failure::Said(format!("--config is not JSON: {e}")))?;
            let s = client
                .create_strategy(&name, &strategy_type, &pair, config)
                .await
                .map_err(refusal)?;
            say(format_args!("created {} ({})", s.id, s.name))?;
            return Ok(());
        }
        StrategyCmd::Start { id } => (StrategyAction::Start, id),
        StrategyCmd::Stop { id } => (StrategyAction::Stop, id),
        StrategyCmd::Pause { id } => (StrategyAction::Pause, id),
        StrategyCmd::Resume { id } => (StrategyAction::Resume, id),
        StrategyCmd::Delete { id } => (StrategyAction::Delete, id),
    };
    let answer = client.strategy_action(verb, &id).await.map_err(refusal)?;
    say(format_args!(
        "{}",
        answer["message"].as_str().unwrap_or("done")
    ))?;
    Ok(())
}

/// Resolves at the first Ctrl+C. The handler is in place once this
/// returns (`ctrl_c()` installs it only when first polled, so a Ctrl+C
/// right after "watching…" was printed killed the process instead).
#[cfg(unix)]
fn interrupted() -> Result<impl std::future::Future<Output = ()>, Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| Failure::Said(format!("cannot handle Ctrl+C: {e}")))?;
    Ok(async move {
        sigint.recv().await;
    })
}

#[cfg(not(unix))]
fn interrupted() -> Result<impl std::future::Future<Output = ()>, Failure> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Order updates as they arrive, then the totals by status.
async fn watch_orders(client: &WebSocketClient, duration: Duration) -> Result<(), Failure> {
    let mut messages = client.messages();
    let paint = Paint::detect();
    let progress_tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let end = started + duration;
    let ctrl_c = interrupted()?;
    tokio::pin!(ctrl_c);
    say(format_args!(
        "watching order updates on {} for {} s (Ctrl+C ends early)",
        client.config().url,
        duration.as_secs()
    ))?;
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    let mut resyncs = 0u64;
    let mut tick = actix_rt::time::interval(Duration::from_secs(1));
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::select! {
            m = messages.recv() => match m {
                Some(Incoming::Event(e)) => {
                    if let Event::OrderUpdate(o) = &e.event {
                        total += 1;
                        *by_status.entry(o.status.as_str().to_string()).or_default() += 1;
                        if progress_tty {
                            eprint!("\r\x1b[K");
                        }
                        say(format_args!("order update #{total} {}", order_line(o, paint)))?;
                    }
                }
                Some(Incoming::Resync { reason }) => {
                    resyncs += 1;
                    say(format_args!("{}", paint.color("33", &format!("missed events, resynced: {reason}"))))?;
                }
                Some(_) => {}
                None => return Err(Failure::Said("the client stopped".into())),
            },
            _ = tick.tick() => {
                let secs = left.as_secs();
                if progress_tty {
                    eprint!("\r\x1b[Kwaiting for order updates… {secs} s left");
                } else if secs > 0 && secs.is_multiple_of(10) {
                    eprintln!("waiting for order updates… {secs} s left");
                }
                let _ = std::io::stderr().flush();
            }
            _ = &mut ctrl_c => break,
            _ = actix_rt::time::sleep(left) => break,
        }
    }
    if progress_tty {
        eprint!("\r\x1b[K");
    }
    let stats = client.stats();
    say(format_args!("---"))?;
    say(format_args!("order updates: {total}"))?;
    for (status, n) in &by_status {
        say(format_args!("  {status}: {n}"))?;
    }
    say(format_args!(
        "watched {:.1} s, reconnects {}, resyncs {resyncs}",
        started.elapsed().as_secs_f64(),
        stats.reconnect_count
    ))?;
    client.disconnect().await;
    Ok(())
}
