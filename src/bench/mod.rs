//! `laicai bench`: measurements of the running engine against a bare
//! tokio-tungstenite server on loopback, side by side in one run —
//! fan-out to many clients, the order round trip, memory per idle
//! session. Servers run as child processes (their CPU and memory read
//! from /proc); the clients run here. Results go to stdout as tables
//! (BENCHMARKS.md quotes them).

mod abuse;
mod bare;
mod clients;
mod direct;
mod gateways;
mod server;
mod soak;
mod throughput;

use clients::{ClientError, Tally, FIRST, SECOND, WARMUP};
use parking_lot::Mutex;
use server::{EngineSetup, Kind, ServerError, ServerProcess};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub(crate) enum BenchCmd {
    /// Fans a synthetic price feed out to N WebSocket clients: deliveries
    /// per second, latency from the event's timestamp, server CPU per
    /// delivery; then again with stalled readers connected.
    Fanout(FanoutArgs),
    /// `place_order` → `order_update` over one WebSocket, against a bare
    /// echo of the same frame from the same client.
    Roundtrip(RoundtripArgs),
    /// Engine memory (RSS) with N idle WebSocket sessions.
    Sessions(SessionsArgs),
    /// A protocol fuzzer: seeded clients send valid, mutated and broken
    /// frames, floods and reconnect storms; then every answer, balance
    /// and order is checked.
    Abuse(abuse::AbuseArgs),
    /// A long mixed load, with memory, descriptors, threads, mailboxes,
    /// event rate and order round trip printed every minute.
    Soak(soak::SoakArgs),
    /// Durable order throughput with N clients each keeping one command
    /// in flight, fsync off and on: group commit's batch sizes.
    Throughput(throughput::ThroughputArgs),
    /// Clients on the engine against the same clients over two gateways
    /// on NATS JetStream (`nats-server` on the PATH): fan-out, the
    /// engine's CPU, and a command's extra round trip.
    Gateways(gateways::GatewaysArgs),
    /// The engine's stack and domain code with no actors: an order
    /// handled in the socket's handler (`roundtrip`'s floor).
    #[command(hide = true)]
    /// Its arguments are the engine's (`laicai serve`).
    DirectServer {
        #[arg(long)]
        bind: SocketAddr,
        #[arg(long)]
        config: std::path::PathBuf,
        #[arg(long, env = "LAICAI_STATE_DIR")]
        state_dir: std::path::PathBuf,
    },
    /// The bare broadcast/echo server the others compare with.
    #[command(hide = true)]
    BareServer {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

#[derive(clap::Args)]
pub(crate) struct FanoutArgs {
    /// Subscribed clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Price events a second (the paper feed's ticks_per_sec).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds measured in each window.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds after the clients subscribed before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Stalled readers (tiny receive buffers, never read) added for the
    /// second window; with 0 that window is a control (nothing added).
    #[arg(long, default_value_t = 1)]
    slow: usize,
    /// Times each server is measured, alternating.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Threads running the clients. Two by default: a server that writes
    /// each frame as it comes (one segment per frame) has one client
    /// thread reading 100 k segments a second near a full core, and the
    /// latency measured is then the clients' own queue (their CPU is
    /// printed, to check).
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Threads serving the connections, on both servers alike: the bare
    /// server's tokio workers and the engine's `[server] workers` (the
    /// engine's registry and venue run on the first of them; its storage
    /// has a thread of its own). 1 is the engine's default; 0: one per
    /// core.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(clap::Args)]
pub(crate) struct RoundtripArgs {
    /// Round trips measured on each server (after 100 unmeasured).
    #[arg(long, default_value_t = 2000)]
    count: usize,
}

#[derive(clap::Args)]
pub(crate) struct SessionsArgs {
    /// Idle connections opened.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot start the bench runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Bad(String),
}

pub(crate) fn run(cmd: BenchCmd) -> ExitCode {
    raise_open_files();
    // On actix's own runtime, as the engine is.
    if let BenchCmd::DirectServer {
        bind,
        config,
        state_dir,
    } = cmd
    {
        return match direct::serve(bind, config, state_dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("laicai bench direct-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let threads = match &cmd {
        BenchCmd::Fanout(a) => a.client_threads.max(1),
        BenchCmd::BareServer { threads, .. } => (*threads).max(1),
        BenchCmd::Abuse(_) | BenchCmd::Soak(_) | BenchCmd::Throughput(_) => 2,
        BenchCmd::Gateways(a) => a.client_threads.max(1),
        _ => 1,
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)
        .and_then(|rt| {
            rt.block_on(async move {
                match cmd {
                    BenchCmd::Fanout(a) => fanout(a).await,
                    BenchCmd::Roundtrip(a) => roundtrip(a).await,
                    BenchCmd::Sessions(a) => sessions(a).await,
                    BenchCmd::Abuse(a) => abuse::abuse(a).await,
                    BenchCmd::Soak(a) => soak::soak(a).await,
                    BenchCmd::Throughput(a) => throughput::throughput(a).await,
                    BenchCmd::Gateways(a) => gateways::gateways(a).await,
                    BenchCmd::DirectServer { .. } => Ok(()),
                    BenchCmd::BareServer { listen, rate, .. } => bare::serve(listen, rate)
                        .await
                        .map_err(|e| BenchError::Bad(format!("bare server on {listen}: {e}"))),
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("laicai bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A thousand clients and their server need more than the common soft
/// limit of 1024 descriptors; children inherit the raised limit.
#[allow(
    unsafe_code,
    reason = "the descriptor limit is raised only through libc's get/setrlimit"
)]
fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One server's figures in one fan-out run.
#[derive(Default)]
struct Fanout {
    delivered: [u64; 2],
    secs: [f64; 2],
    cpu: [Duration; 2],
    latency_us: [Vec<u32>; 2],
    /// The engine's: how long frames waited for their session in the
    /// first window (`laicai_frame_wait_seconds`), as cumulative buckets.
    waits: Vec<(f64, u64)>,
    /// How old events were when the registry fanned them out, in the
    /// first window (`laicai_event_age_seconds`).
    ages: Vec<(f64, u64)>,
    /// The CPU the clients (this process) used in the first window: when
    /// it nears its threads' count of cores, the clients are the ones
    /// behind, not the server.
    client_cpu: Duration,
}

impl Fanout {
    fn rate(&self, w: usize) -> f64 {
        self.delivered[w] as f64 / self.secs[w].max(1e-9)
    }
    fn cpu_us_per_delivery(&self, w: usize) -> f64 {
        self.cpu[w].as_secs_f64() * 1e6 / (self.delivered[w].max(1) as f64)
    }
    fn add(&mut self, other: Fanout) {
        for w in 0..2 {
            self.delivered[w] += other.delivered[w];
            self.secs[w] += other.secs[w];
            self.cpu[w] += other.cpu[w];
            self.latency_us[w].extend_from_slice(&other.latency_us[w]);
        }
    }
}

async fn fanout(a: FanoutArgs) -> Result<(), BenchError> {
    if a.clients == 0 || a.rate <= 0.0 || a.duration == 0 {
        return Err(BenchError::Bad(
            "--clients, --rate and --duration must be above 0".into(),
        ));
    }
    println!(
        "fan-out: {} clients subscribed to BTC-USDT price at {}/s ({:.0} deliveries/s offered); \
         {} s measured after {} s; then {} stalled reader(s) added; {} round(s); servers on {} thread(s), clients on {}",
        a.clients,
        a.rate,
        a.rate * a.clients as f64,
        a.duration,
        a.warmup,
        a.slow,
        a.rounds,
        a.threads,
        a.client_threads
    );
    let mut totals = [Fanout::default(), Fanout::default()];
    for round in 0..a.rounds.max(1) {
        for (i, kind) in [Kind::Bare, Kind::Engine].into_iter().enumerate() {
            let f = fanout_once(kind, &a).await?;
            if !f.waits.is_empty() {
                println!(
                    "  round {} laicai: events reached the registry p50 ≤ {} ms, p99 ≤ {} ms after their source ({} events); \
                     a session's first waiting frame then waited for it p50 ≤ {} ms, p99 ≤ {} ms ({} batches)",
                    round + 1,
                    bucket_at(&f.ages, 0.5),
                    bucket_at(&f.ages, 0.99),
                    f.ages.last().map_or(0, |(_, n)| *n),
                    bucket_at(&f.waits, 0.5),
                    bucket_at(&f.waits, 0.99),
                    f.waits.last().map_or(0, |(_, n)| *n),
                );
            }
            println!(
                "  round {} {:<24} {:>9.0} deliveries/s  p50 {:>6.2} ms  p90 {:>6.2}  p99 {:>6.2} ms  p99.9 {:>6.2}  max {:>6.2}  {:>5.2} µs CPU/delivery  {:>4.0} % CPU (clients {:.0} %)  | with stalled: {}",
                round + 1,
                kind.name(),
                f.rate(0),
                lat_ms(&f, 0, 0.5),
                lat_ms(&f, 0, 0.9),
                lat_ms(&f, 0, 0.99),
                lat_ms(&f, 0, 0.999),
                lat_ms(&f, 0, 1.0),
                f.cpu_us_per_delivery(0),
                f.cpu[0].as_secs_f64() * 100.0 / f.secs[0].max(1e-9),
                f.client_cpu.as_secs_f64() * 100.0 / f.secs[0].max(1e-9),
                stalled_effect(&f),
            );
            totals[i].add(f);
        }
    }
    let [bare, engine] = &mut totals;
    for f in [&mut *bare, &mut *engine] {
        for w in 0..2 {
            f.latency_us[w].sort_unstable();
        }
    }
    println!();
    println!(
        "| | deliveries/s | p50 ms | p99 ms | server CPU µs/delivery | rate with {} stalled |",
        a.slow
    );
    println!("|---|---|---|---|---|---|");
    for (kind, f) in [(Kind::Bare, &*bare), (Kind::Engine, &*engine)] {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            kind.name(),
            f.rate(0),
            pct_ms(&f.latency_us[0], 0.5),
            pct_ms(&f.latency_us[0], 0.99),
            f.cpu_us_per_delivery(0),
            stalled_effect(f),
        );
    }
    println!(
        "| laicai / bare | {:.2}× | {:.2}× | {:.2}× | {:.2}× | |",
        engine.rate(0) / bare.rate(0).max(1e-9),
        pct_ms(&engine.latency_us[0], 0.5) / pct_ms(&bare.latency_us[0], 0.5).max(1e-9),
        pct_ms(&engine.latency_us[0], 0.99) / pct_ms(&bare.latency_us[0], 0.99).max(1e-9),
        engine.cpu_us_per_delivery(0) / bare.cpu_us_per_delivery(0).max(1e-9),
    );
    println!("(latency is now minus the frame's millisecond `timestamp`: up to 1 ms above the true age, for both servers alike)");
    Ok(())
}

fn lat_ms(f: &Fanout, w: usize, p: f64) -> f64 {
    let mut v = f.latency_us[w].clone();
    v.sort_unstable();
    pct_ms(&v, p)
}

fn pct_ms(sorted: &[u32], p: f64) -> f64 {
    f64::from(percentile(sorted, p)) / 1000.0
}

/// The others' rate with stalled readers connected (none: a control
/// window), against the first window.
fn stalled_effect(f: &Fanout) -> String {
    let change = (f.rate(1) / f.rate(0).max(1e-9) - 1.0) * 100.0;
    format!("{:.0}/s ({change:+.1} %)", f.rate(1))
}

/// The bare server's workers for `--threads` (0: one per core).
fn bare_threads(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

async fn fanout_once(kind: Kind, a: &FanoutArgs) -> Result<Fanout, BenchError> {
    let server = match kind {
        Kind::Engine => ServerProcess::engine(&EngineSetup {
            workers: a.threads,
            ..EngineSetup::new(a.rate, a.clients + a.slow + 16)
        })?,
        Kind::Bare => ServerProcess::bare(a.rate, bare_threads(a.threads))?,
    };
    let url = server.url("/api/v1/websocket");
    let subscribers = Subscribers::open(std::slice::from_ref(&url), a.clients).await?;
    tokio::time::sleep(Duration::from_secs(a.warmup)).await;
    let mut f = Fanout::default();
    let waited_before = histogram(&server, FRAME_WAITS).await;
    let aged_before = histogram(&server, EVENT_AGES).await;
    let own = || server::cpu_time(std::process::id()).unwrap_or_default();
    let client_before = own();
    let (secs, cpu) = subscribers.measure(FIRST, a.duration, &[&server]).await;
    (f.secs[0], f.cpu[0]) = (secs, cpu[0]);
    f.client_cpu = own().saturating_sub(client_before);
    f.waits = buckets_between(&waited_before, &histogram(&server, FRAME_WAITS).await);
    f.ages = buckets_between(&aged_before, &histogram(&server, EVENT_AGES).await);
    // With no stalled reader the second window is a control: how much
    // two windows differ with nothing changed.
    let mut stalled = Vec::with_capacity(a.slow);
    for _ in 0..a.slow {
        stalled.push(clients::stalled_subscriber(server.addr, &url).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (secs, cpu) = subscribers.measure(SECOND, a.duration, &[&server]).await;
    (f.secs[1], f.cpu[1]) = (secs, cpu[0]);
    drop(stalled);
    (f.delivered, f.latency_us) = subscribers.collect();
    drop(server);
    Ok(f)
}

/// How long a session's first waiting frame waited for it.
const FRAME_WAITS: &str = "laicai_frame_wait_seconds";
/// How old an event was when the registry fanned it out.
const EVENT_AGES: &str = "laicai_event_age_seconds";

/// The engine's buckets `(le, cumulative count)` of the histogram `name`
/// from its `/metrics`; empty for a server without them.
async fn histogram(server: &ServerProcess, name: &str) -> Vec<(f64, u64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(server.addr).await else {
        return Vec::new();
    };
    let mut body = String::new();
    let asked = s
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
        .await;
    if asked.is_err() || s.read_to_string(&mut body).await.is_err() {
        return Vec::new();
    }
    body.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix("_bucket{le=\""))
        .filter_map(|l| {
            let (le, n) = l.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, n.trim().parse().ok()?))
        })
        .collect()
}

/// The buckets of what was recorded between two readings.
fn buckets_between(before: &[(f64, u64)], after: &[(f64, u64)]) -> Vec<(f64, u64)> {
    after
        .iter()
        .map(|(le, n)| {
            let was = before.iter().find(|(b, _)| b == le).map_or(0, |(_, n)| *n);
            (*le, n.saturating_sub(was))
        })
        .collect()
}

/// The bucket bound (ms) at or below which a share `p` of the counts lie.
fn bucket_at(buckets: &[(f64, u64)], p: f64) -> String {
    let total = buckets.last().map_or(0, |(_, n)| *n);
    let wanted = (total as f64 * p).ceil() as u64;
    match buckets.iter().find(|(_, n)| *n >= wanted.max(1)) {
        Some((le, _)) if le.is_finite() => format!("{}", le * 1000.0),
        _ => "∞".into(),
    }
}

/// Clients subscribed to prices, each counting into its tally by the
/// current window.
struct Subscribers {
    window: Arc<AtomicU8>,
    tallies: Vec<Arc<Mutex<Tally>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Subscribers {
    /// `n` subscribers, spread over `urls` in turn, opened 50 at a time.
    async fn open(urls: &[String], n: usize) -> Result<Self, BenchError> {
        let window = Arc::new(AtomicU8::new(WARMUP));
        let mut tallies = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        let mut opened_so_far = 0;
        while opened_so_far < n {
            let batch = (n - opened_so_far).min(50);
            let opened = futures_util::future::join_all((0..batch).map(|i| {
                let url = &urls[(opened_so_far + i) % urls.len().max(1)];
                clients::subscriber(url)
            }))
            .await;
            opened_so_far += batch;
            for ws in opened {
                let tally = Arc::new(Mutex::new(Tally::default()));
                tallies.push(tally.clone());
                tasks.push(tokio::spawn(clients::count_prices(
                    ws?,
                    window.clone(),
                    tally,
                )));
            }
        }
        Ok(Subscribers {
            window,
            tallies,
            tasks,
        })
    }

    /// Counts into window `w` for `secs`: the seconds it lasted and the
    /// CPU each of `servers` used meanwhile.
    async fn measure(&self, w: u8, secs: u64, servers: &[&ServerProcess]) -> (f64, Vec<Duration>) {
        let (cpu, started): (Vec<Duration>, Instant) =
            (servers.iter().map(|s| s.cpu()).collect(), Instant::now());
        self.window.store(w, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.window.store(WARMUP, Ordering::Relaxed);
        let used = servers
            .iter()
            .zip(cpu)
            .map(|(s, before)| s.cpu().saturating_sub(before))
            .collect();
        (started.elapsed().as_secs_f64(), used)
    }

    /// Closes them: what they received in each window.
    fn collect(self) -> ([u64; 2], [Vec<u32>; 2]) {
        for t in &self.tasks {
            t.abort();
        }
        let mut delivered = [0; 2];
        let mut latency: [Vec<u32>; 2] = Default::default();
        for tally in self.tallies {
            let mut t = tally.lock();
            for w in 0..2 {
                delivered[w] += t.delivered[w];
                latency[w].append(&mut t.latency_us[w]);
            }
        }
        (delivered, latency)
    }
}

/// A client on the engine's `/api/v1/websocket`, subscribed to its
/// `order_update`s.
async fn order_client(engine: &ServerProcess) -> Result<(clients::Socket, String), BenchError> {
    use futures_util::SinkExt;
    let url = engine.url("/api/v1/websocket");
    let mut ws = clients::connect(&url).await?;
    let subscribe = r#"{"type":"subscribe","channel":"order_update"}"#;
    ws.send(tokio_tungstenite::tungstenite::Message::text(subscribe))
        .await
        .map_err(|_| ClientError::Ended {
            url: url.clone(),
            what: "subscribing",
        })?;
    clients::wait_text(&mut ws, &url, "to subscribe", |t| {
        t.contains("\"subscribed\"")
    })
    .await?;
    Ok((ws, url))
}

/// `frame`, ended when it comes back as it went.
fn echo_of(frame: String) -> clients::Trip {
    let same = frame.clone();
    (frame, Box::new(move |t: &str| t == same), None)
}

/// `start` with the fsync (the default), and without.
fn fsync_on_and_off(
    start: fn(&EngineSetup) -> Result<ServerProcess, ServerError>,
) -> Result<(ServerProcess, ServerProcess), ServerError> {
    let setup = |fsync| EngineSetup {
        fsync,
        ..EngineSetup::new(10.0, 16)
    };
    Ok((start(&setup(true))?, start(&setup(false))?))
}

async fn roundtrip(a: RoundtripArgs) -> Result<(), BenchError> {
    const WARM: usize = 100;
    const BLOCK: usize = 100;
    if a.count == 0 {
        return Err(BenchError::Bad("--count must be above 0".into()));
    }
    let (durable, os_only) = fsync_on_and_off(ServerProcess::engine)?;
    let bare = ServerProcess::bare(0.0, 1)?;
    // The same configs, the order handled in the socket's handler.
    let (direct_durable, direct_os_only) = fsync_on_and_off(ServerProcess::direct)?;
    let (mut d, d_url) = order_client(&durable).await?;
    let (mut o, o_url) = order_client(&os_only).await?;
    let (mut dd, dd_url) = order_client(&direct_durable).await?;
    let (mut doo, doo_url) = order_client(&direct_os_only).await?;
    let b_url = bare.url("/api/v1/websocket");
    let mut b = clients::connect(&b_url).await?;
    let run = std::process::id();
    let place = move |i: usize| {
        format!(
            r#"{{"cmd":"place_order","symbol":"BTC-USDT","side":"buy","type":"limit","price":"30000","size":"0.001","client_order_id":"rt-{run}-{i}","request_id":"rt-{run}-{i}"}}"#
        )
    };
    // A limit far below the market: it rests (`order_update` open), and
    // is cancelled (unmeasured) before the next.
    let engine_trip = move |i: usize| {
        let id = format!("\"rt-{run}-{i}\"");
        let answer: Box<dyn Fn(&str) -> bool> =
            Box::new(move |t: &str| t.contains("\"type\":\"order_update\"") && t.contains(&id));
        let cancel = format!(r#"{{"cmd":"cancel_all_orders","request_id":"c-{run}-{i}"}}"#);
        (place(i), answer, Some(cancel))
    };
    // A query the venue answers on the engine thread: the same two thread
    // crossings as an order, without the storage thread and its commit.
    let query_trip = move |i: usize| {
        let id = format!("q-{run}-{i}");
        let frame = format!(r#"{{"cmd":"get_balances","exchange":"paper","request_id":"{id}"}}"#);
        let needle = format!("\"request_id\":\"{id}\"");
        let answer: Box<dyn Fn(&str) -> bool> = Box::new(move |t: &str| t.contains(&needle));
        (frame, answer, None)
    };
    let echo_trip = move |i: usize| echo_of(place(i));
    // The direct server echoes what is not a command: the order's frame
    // with its `cmd` renamed, the same size.
    let stack_echo_trip = move |i: usize| echo_of(place(i).replacen("\"cmd\"", "\"cmx\"", 1));
    // The floor: what the disk under the durable engine's database takes
    // to make an order-sized record durable.
    let probe = durable.state_dir().join("fdatasync-probe");
    let mut floor_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&probe)
        .map_err(|e| BenchError::Bad(format!("cannot open {}: {e}", probe.display())))?;
    // And what SQLite takes to commit an order's records (its journal
    // row) there, with and without the fsync: no engine, whatever its
    // threads, answers an order faster than the echo plus this.
    let mut sqlite = [
        SqliteFloor::open(&durable.state_dir().join("floor-fsync.db"), true)?,
        SqliteFloor::open(&durable.state_dir().join("floor-no-fsync.db"), false)?,
    ];
    let mut times: [Vec<Duration>; TRIPS] = Default::default();
    let mut done = 0;
    // The first block of each is a warm-up, not kept.
    let mut first = true;
    while done < a.count {
        let n = if first {
            WARM
        } else {
            BLOCK.min(a.count - done)
        };
        let at = if first { a.count } else { done };
        let trips = [
            clients::round_trips(&mut d, &d_url, n, |i| engine_trip(at + i)).await?,
            clients::round_trips(&mut o, &o_url, n, |i| engine_trip(at + i)).await?,
            clients::round_trips(&mut o, &o_url, n, |i| query_trip(at + i)).await?,
            clients::round_trips(&mut b, &b_url, n, |i| echo_trip(at + i)).await?,
            fdatasyncs(&mut floor_file, n)
                .map_err(|e| BenchError::Bad(format!("fdatasync in {}: {e}", probe.display())))?,
            sqlite[0].commits(at, n)?,
            sqlite[1].commits(at, n)?,
            clients::round_trips(&mut dd, &dd_url, n, |i| engine_trip(at + i)).await?,
            clients::round_trips(&mut doo, &doo_url, n, |i| engine_trip(at + i)).await?,
            clients::round_trips(&mut doo, &doo_url, n, |i| stack_echo_trip(at + i)).await?,
        ];
        if !first {
            for (kept, t) in times.iter_mut().zip(trips) {
                kept.extend(t);
            }
            done += n;
        }
        first = false;
    }
    for t in &mut times {
        t.sort_unstable();
    }
    print_roundtrips(&times, a.count, WARM, BLOCK);
    Ok(())
}

/// What `bench roundtrip` times, in this order: the engine durable, fsync
/// off, a query; the bare echo; the fdatasync'd append; SQLite's commit
/// with and without the fsync; the direct order path durable, fsync off,
/// and its stack's echo.
const TRIPS: usize = 10;

/// What one order's journal row holds, about: the order's view, the
/// account and the open order's state.
const ORDER_RECORD_BYTES: usize = 1024;

/// A database of the engine's schema, timing the commit of one order's
/// records at a time as the storage thread makes it (the journal row;
/// the tables brought up to date behind it every 50 ms, not timed) with
/// the engine's checkpointing: the checkpointer beside it, and the writer
/// finishing its checkpoint between two orders (not timed), so commits
/// write the log over pages the file already has, as in the engine.
/// (Without it the log only grows, and each fsync also has to record the
/// file's new size: 60–100 µs more on this disk.)
struct SqliteFloor {
    store: laicai_actors::storage::Store,
    applied: Instant,
    /// The checkpointer runs while this lives.
    _checkpointing: Arc<()>,
    behind: laicai_actors::storage::checkpoint::Behind,
}

impl SqliteFloor {
    fn open(path: &std::path::Path, fsync: bool) -> Result<Self, BenchError> {
        let bad = |e: laicai_actors::storage::StoreError| {
            BenchError::Bad(format!("SQLite floor in {}: {e}", path.display()))
        };
        let mut store = laicai_actors::storage::Store::open(path).map_err(bad)?;
        store.set_fsync(fsync).map_err(bad)?;
        let checkpointing = Arc::new(());
        let behind =
            laicai_actors::storage::checkpoint::start(&mut store, Arc::downgrade(&checkpointing))
                .map_err(|e| BenchError::Bad(format!("SQLite floor's checkpointer: {e}")))?;
        Ok(SqliteFloor {
            store,
            applied: Instant::now(),
            _checkpointing: checkpointing,
            behind,
        })
    }

    /// Orders `from..from + n` committed one by one: each commit's time.
    fn commits(&mut self, from: usize, n: usize) -> Result<Vec<Duration>, BenchError> {
        let bad = |e: String| BenchError::Bad(format!("SQLite floor: {e}"));
        let mut took = Vec::with_capacity(n);
        for i in from..from + n {
            let records =
                laicai::typical_order::records(i, false).map_err(|e| bad(e.to_string()))?;
            let started = Instant::now();
            self.append(&records).map_err(|e| bad(e.to_string()))?;
            took.push(started.elapsed());
            self.between().map_err(|e| bad(e.to_string()))?;
        }
        Ok(took)
    }

    /// Appends `records` in one commit.
    fn append(
        &mut self,
        records: &[laicai_actors::storage::Record],
    ) -> Result<(), laicai_actors::storage::StoreError> {
        self.store.append(records)
    }

    /// What the storage thread does between two commits: the tables
    /// brought up to date every 50 ms, the checkpoint finished.
    fn between(&mut self) -> Result<(), laicai_actors::storage::StoreError> {
        if self.applied.elapsed() >= Duration::from_millis(50) {
            self.store.apply()?;
            self.applied = Instant::now();
        }
        laicai_actors::storage::checkpoint::finish(&self.store, &self.behind);
        Ok(())
    }
}

/// `n` appends of an order-sized record, each followed by `fdatasync`.
fn fdatasyncs(file: &mut std::fs::File, n: usize) -> std::io::Result<Vec<Duration>> {
    use std::io::Write;
    let record = vec![b'r'; ORDER_RECORD_BYTES];
    (0..n)
        .map(|_| {
            let started = Instant::now();
            file.write_all(&record)?;
            file.sync_data()?;
            Ok(started.elapsed())
        })
        .collect()
}

/// The round trips' table: p50 and p99 of each, p50 against the echo,
/// and the targets' ratios.
fn print_roundtrips(times: &[Vec<Duration>; TRIPS], count: usize, warm: usize, block: usize) {
    let us = |v: &[Duration], p: f64| percentile(v, p).as_secs_f64() * 1e6;
    println!(
        "round trip over one WebSocket on loopback, {} each, interleaved in blocks of {block} (after {warm} unmeasured):",
        count
    );
    println!("| | p50 µs | p99 µs | p50 / echo |");
    println!("|---|---|---|---|");
    let echo = &times[3];
    for (what, t) in [
        (
            "laicai place_order → order_update, fsync (default)",
            &times[0],
        ),
        (
            "laicai place_order → order_update, fsync = false",
            &times[1],
        ),
        (
            "laicai get_balances → its answer (nothing stored)",
            &times[2],
        ),
        ("bare echo of the order's frame", echo),
        (
            "floor: an order-sized append + fdatasync in the state directory",
            &times[4],
        ),
        (
            "floor: SQLite commits an order's records there (synchronous = FULL)",
            &times[5],
        ),
        (
            "floor: the same without the fsync (synchronous = NORMAL)",
            &times[6],
        ),
    ] {
        println!(
            "| {what} | {:.0} | {:.0} | {:.2}× |",
            us(t, 0.5),
            us(t, 0.99),
            us(t, 0.5) / us(echo, 0.5).max(1e-9)
        );
    }
    let floor = us(echo, 0.5) + us(&times[4], 0.5);
    println!();
    println!("| target | measured |");
    println!("|---|---|");
    println!(
        "| durable p50 ≤ 1.3 × (echo + fdatasync) | {:.2}× |",
        us(&times[0], 0.5) / floor.max(1e-9)
    );
    println!(
        "| durable p99 ≤ 3 × its p50 | {:.2}× |",
        us(&times[0], 0.99) / us(&times[0], 0.5).max(1e-9)
    );
    for (what, t) in [
        ("fsync = false p50 ≤ 1.5 × echo", &times[1]),
        ("get_balances p50 ≤ 1.3 × echo", &times[2]),
    ] {
        println!("| {what} | {:.2}× |", us(t, 0.5) / us(echo, 0.5).max(1e-9));
    }
    println!();
    println!("against what SQLite allows (the echo plus its commit of the order):");
    println!("| | p50 / (echo + SQLite commit) |");
    println!("|---|---|");
    for (what, t, commit) in [
        ("durable", &times[0], &times[5]),
        ("fsync = false", &times[1], &times[6]),
    ] {
        let floor = us(echo, 0.5) + us(commit, 0.5);
        println!("| {what} | {:.2}× |", us(t, 0.5) / floor.max(1e-9));
    }
    print_direct(times, floor);
}

/// The direct order path's table, against the engine and the targets
/// (`floor`: echo + fdatasync, p50 µs).
fn print_direct(times: &[Vec<Duration>; TRIPS], floor: f64) {
    let us = |v: &[Duration], p: f64| percentile(v, p).as_secs_f64() * 1e6;
    let echo = &times[3];
    println!();
    println!("the direct order path: the engine's WebSocket stack and domain code (parse, risk check, matching, the journal's records appended, answer and event encoded), no actors:");
    println!("| | p50 µs | p99 µs | p50 / echo | the engine's p50 / this |");
    println!("|---|---|---|---|---|");
    for (what, t, engine) in [
        (
            "direct place_order → order_update, fsync",
            &times[7],
            &times[0],
        ),
        (
            "direct place_order → order_update, fsync = false",
            &times[8],
            &times[1],
        ),
        (
            "actix-web echo of the order's frame (its stack)",
            &times[9],
            echo,
        ),
    ] {
        println!(
            "| {what} | {:.0} | {:.0} | {:.2}× | {:.2}× |",
            us(t, 0.5),
            us(t, 0.99),
            us(t, 0.5) / us(echo, 0.5).max(1e-9),
            us(engine, 0.5) / us(t, 0.5).max(1e-9)
        );
    }
    println!(
        "the direct path against the targets: durable / (echo + fdatasync) {:.2}× (≤ 1.3×), fsync = false / echo {:.2}× (≤ 1.5×)",
        us(&times[7], 0.5) / floor.max(1e-9),
        us(&times[8], 0.5) / us(echo, 0.5).max(1e-9)
    );
}

async fn sessions(a: SessionsArgs) -> Result<(), BenchError> {
    if a.clients == 0 {
        return Err(BenchError::Bad("--clients must be above 0".into()));
    }
    println!(
        "memory with {} idle WebSocket sessions (connected, nothing subscribed):",
        a.clients
    );
    println!("| | RSS before | RSS with sessions | per session |");
    println!("|---|---|---|---|");
    for kind in [Kind::Bare, Kind::Engine] {
        let server = match kind {
            Kind::Engine => ServerProcess::engine(&EngineSetup::new(10.0, a.clients + 16))?,
            Kind::Bare => ServerProcess::bare(10.0, 1)?,
        };
        let url = server.url("/api/v1/websocket");
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = server.rss();
        let mut held = Vec::with_capacity(a.clients);
        let mut left = a.clients;
        while left > 0 {
            let batch = left.min(50);
            left -= batch;
            for ws in
                futures_util::future::join_all((0..batch).map(|_| clients::connect(&url))).await
            {
                held.push(ws?);
            }
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let with = server.rss();
        let kib = |b: u64| b as f64 / 1024.0;
        println!(
            "| {} | {:.0} KiB | {:.0} KiB | {:.1} KiB |",
            kind.name(),
            kib(before),
            kib(with),
            kib(with.saturating_sub(before)) / a.clients.max(1) as f64
        );
        drop(held);
    }
    Ok(())
}
