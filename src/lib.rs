//! The `laicai` binary's library: the engine's configuration, and its
//! wiring — which actors exist and who talks to whom.
//!
//! - `config`: the TOML configuration, every field checked;
//! - `settings`: each actor's settings made from the config;
//! - `recover`: what the database gives back at start;
//! - `start` (here): the stages that start the engine, in order;
//! - `http`: the endpoints, the auth gate and `/metrics`;
//! - `gateway`: `laicai gateway`, the same API served from the bus;
//! - `dashboard`: the web page's embedded files;
//! - `logs`: the engine's own log as `log` events;
//! - `typical_order`: an order's records, for the benchmarks.

pub mod config;
pub mod dashboard;
pub mod gateway;
mod http;
pub mod log_output;
pub mod logs;
mod recover;
pub mod settings;
pub mod state_lock;
pub mod typical_order;

use actix::prelude::*;
use config::Config;
use laicai_actors::agents::AgentMonitor;
use laicai_actors::backtests::BacktestManager;
use laicai_actors::bus::{BusBridge, BusConfig};
use laicai_actors::clock::Clock;
use laicai_actors::engine::EngineActor;
use laicai_actors::health::{self, Watch, Watched};
use laicai_actors::order_book::OrderBookActor;
use laicai_actors::recorder::{RecorderActor, Recording};
use laicai_actors::registry::{Publish, RegistryActor};
use laicai_actors::risk::RiskActor;
use laicai_actors::risk::StorageState;
use laicai_actors::session::{SessionDeps, SessionLink};
use laicai_actors::storage::Storage;
use laicai_actors::strategy::manager::{
    ControlStrategy, CreateStrategy, ManagerConfig, ManagerLinks, Restore,
};
use laicai_actors::strategy::StrategyManager;
use laicai_actors::venue::directory::{VenueHandle, Venues};
use laicai_actors::venue::paper::feed::{MarketFeedActor, PairFeed};
use laicai_actors::venue::paper::PaperVenue;
use laicai_actors::venue::supervisor::{self, ConnectionSupervisor};
use laicai_core::auth::{FailureLimiter, Tokens};
use laicai_core::backoff::BackoffError;
use laicai_core::feed::SyntheticMarket;
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::paper::PaperExchange;
use laicai_core::protocol::{NewStrategy, StrategyAction};
use laicai_core::risk::RiskManager;
use laicai_core::wire::events::LogLevel;
use parking_lot::Mutex;
use recover::Recovered;
use settings::PAPER;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("paper exchange: {0}")]
    Paper(String),
    #[error("strategies: {0}")]
    Strategy(String),
    #[error("strategies.restart_base_ms / restart_max_ms: {0}")]
    StrategyRestart(BackoffError),
    #[error("connections.backoff_base_ms / backoff_max_ms: {0}")]
    ConnectionBackoff(BackoffError),
    #[error("refusing to listen on {0} without client tokens: anyone who can reach it could trade. Add [[server.tokens]] (token, scope) to your config or set LAICAI_TOKEN, or bind 127.0.0.1")]
    NoTokens(String),
    #[error("storage: {0}")]
    Storage(#[from] laicai_actors::storage::StoreError),
    #[error("cannot restore the state in {path}: {detail}; move the file aside to start empty, or restore a backup")]
    Restore { path: String, detail: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the bus: {0}")]
    Bus(String),
    #[error(transparent)]
    StateLock(#[from] state_lock::StateLockError),
    #[error("the HTTP server did not start: {0}")]
    Serve(String),
}

/// A started engine: its address, and the HTTP server to stop and await.
pub struct Running {
    pub addr: SocketAddr,
    /// Stops the server (`Running::stop` first closes the sessions).
    pub server: actix_web::dev::ServerHandle,
    /// Ends when the server has stopped.
    pub served: actix_rt::task::JoinHandle<std::io::Result<()>>,
    /// Flush it after the server stops, so nothing queued is left behind.
    pub storage: Storage,
    registry: Addr<RegistryActor>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// No other engine opens the database while this one runs.
    _lock: state_lock::StateLock,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// A graceful stop: every WebSocket session is closed (1012, "the
    /// engine is stopping") and given a quarter second to go; the event
    /// stream is sealed, leaving the last retained `seq` for the next
    /// start (clients replay across the restart without a gap); then the
    /// server stops, and with its worker the actors. Await `served`, then
    /// `flush`.
    pub fn stop(&self) -> impl std::future::Future<Output = ()> + 'static {
        let (stopping, registry, server) = (
            self.stopping.clone(),
            self.registry.clone(),
            self.server.clone(),
        );
        let close = move || stopping.store(true, std::sync::atomic::Ordering::Release);
        stop_server(server, close, async move {
            match registry.send(laicai_actors::registry::Seal).await {
                Ok(carried) => tracing::info!(
                    carried,
                    "event stream sealed: retained events kept for replay after the restart"
                ),
                Err(e) => tracing::warn!(error = %e, "event stream not sealed"),
            }
        })
    }

    /// Waits until everything queued is on disk.
    pub async fn flush(storage: &Storage) {
        if let Err(e) = storage.read(|_| Ok(())).await {
            tracing::error!(error = %e, "storage did not flush");
        }
    }
}

/// Closes every session (`close_sessions`), gives them a quarter second
/// to go, does `before_stop`, then stops the server: a graceful stop does
/// not wait for clients that would never hang up.
pub async fn stop_server(
    server: actix_web::dev::ServerHandle,
    close_sessions: impl Fn(),
    before_stop: impl std::future::Future<Output = ()>,
) {
    close_sessions();
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    before_stop.await;
    server.stop(true).await;
}

/// Starts every actor and the HTTP server. Call inside an actix system.
///
/// Everything that can fail (the listening socket, the paper venue, the
/// plans, the database) is done before the first actor starts, so a
/// failed start leaves nothing running. The actors are then started by
/// the first HTTP worker, on its thread: the sessions it serves reach
/// risk, the venue and the registry without crossing a thread (with
/// `server.workers = 1`, the default, that is every session).
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    let lock = state_lock::StateLock::take(std::path::Path::new(&cfg.storage.path))?;
    let (listener, addr) = listen(&cfg)?;
    let market = PaperMarket::from_config(&cfg)?;
    let plan = Plan::from_config(&cfg)?;
    let (venue, recovered) = recover::recover(&cfg.storage, market.venue, seq_step(&cfg))?;
    let storage = recovered.storage.clone();
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers = cfg.server.workers;
    let bind = cfg.server.bind.clone();
    let (started, registry) = tokio::sync::oneshot::channel();
    let parts = Parts {
        cfg,
        market: PaperMarket { venue, ..market },
        plan,
        recovered,
        stopping: stopping.clone(),
    };
    let make: http::MakeState = Box::new(move || {
        Box::pin(async move {
            let (state, registry) = start_actors(parts).await;
            // Nobody waits only if the start was abandoned.
            let _ = started.send(registry);
            state
        })
    });
    let server = http::server(http::StateCell::made_on_worker(make), listener, workers)
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    let handle = server.handle();
    let mut served = actix_rt::spawn(server);
    // The workers start once the server runs; one of them starts the actors.
    let registry = tokio::select! {
        registry = registry => registry.map_err(|_| StartError::Serve("the engine did not start".into()))?,
        ended = &mut served => {
            let why = match ended {
                Ok(Ok(())) => "the server stopped".to_string(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            return Err(StartError::Serve(why));
        }
    };
    tracing::info!(%addr, "laicai listening: ws://{addr}/api/stream, the dashboard at http://{addr}/");
    Ok(Running {
        addr,
        server: handle,
        served,
        storage,
        registry,
        stopping,
        _lock: lock,
    })
}

/// What the actors are started from: the config, checked, and what the
/// database gave back.
struct Parts {
    cfg: Config,
    market: PaperMarket,
    plan: Plan,
    recovered: Recovered,
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

/// Starts every actor on the calling thread; the app's state for the
/// HTTP side, and the registry.
async fn start_actors(parts: Parts) -> (http::AppState, Addr<RegistryActor>) {
    let Parts {
        cfg,
        market,
        plan,
        recovered,
        stopping,
    } = parts;
    let hub = start_hub(&cfg, &recovered);
    let paper = start_paper(
        &cfg,
        &market.specs,
        market.feeds,
        market.venue,
        &hub,
        &recovered,
    );
    let (risk, engine) =
        start_risk_and_engine(&cfg, &market.specs, &paper.venues, &hub, &recovered);
    let connection_backoff = plan.connection_backoff;
    let strategies = start_strategies(
        &cfg,
        &market.specs,
        plan,
        &paper.venues,
        &hub,
        &recovered,
        (&risk, &engine),
    )
    .await;
    let connections = start_connections(
        &cfg,
        &market.specs,
        connection_backoff,
        &paper.venues,
        &hub,
        &recovered,
    )
    .await;
    let backtests = BacktestManager::new(
        cfg.backtest.manager(cfg.strategies.allow_test_strategies),
        market.specs.clone(),
        hub.registry.clone(),
    )
    .start_watched(&hub.watch, "backtests", 0);
    let deps = SessionDeps {
        registry: hub.registry.clone(),
        engine,
        risk,
        strategies,
        connections,
        agents: hub.agents,
        backtests,
        venues: paper.venues,
        storage: recovered.storage.clone(),
        limits: (&cfg.server).into(),
        latency: Default::default(),
        stopping,
        clock: Clock::System,
    };
    if !cfg.bus.url.is_empty() {
        laicai_actors::session::remote::serve(
            cfg.bus.url.clone(),
            cfg.bus.engine.clone(),
            deps.clone(),
        );
    }
    let state = http::AppState {
        link: Arc::new(SessionLink::local(deps.clone())),
        node: http::Node::Engine(Box::new(deps)),
        started: Instant::now(),
        dropped_ticks: paper.dropped_ticks,
        recorded_lost: paper.recorded_lost,
        bus: hub.bus.clone(),
        event_ages: hub.event_ages.clone(),
        gate: Arc::new(gate(&cfg)),
    };
    (state, hub.registry)
}

/// The listening socket; a non-loopback address needs client tokens.
pub(crate) fn listen(cfg: &Config) -> Result<(std::net::TcpListener, SocketAddr), StartError> {
    let s = &cfg.server;
    let bind_error = |source| StartError::Bind {
        addr: s.bind.clone(),
        source,
    };
    let listener = std::net::TcpListener::bind(&s.bind).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    if s.tokens.is_empty() && !addr.ip().is_loopback() {
        return Err(StartError::NoTokens(addr.to_string()));
    }
    Ok((listener, addr))
}

/// The paper venue as configured (before what the database holds), its
/// pairs' rules, and a synthetic market for each pair.
struct PaperMarket {
    venue: PaperExchange,
    specs: Vec<PairSpec>,
    feeds: Vec<PairFeed>,
}

impl PaperMarket {
    fn from_config(cfg: &Config) -> Result<Self, StartError> {
        let p = &cfg.paper;
        let mut specs = Vec::new();
        let mut feeds = Vec::new();
        for (i, pair) in p.pairs.iter().enumerate() {
            let spec = pair.spec().map_err(|e| StartError::Paper(e.to_string()))?;
            let market = SyntheticMarket::new(pair.feed(), p.seed.wrapping_add(i as u64));
            feeds.push(PairFeed::new(
                spec.symbol.clone(),
                market,
                pair.ticks_per_sec,
            ));
            specs.push(spec);
        }
        let balances: Vec<(String, rust_decimal::Decimal)> =
            p.balances.iter().map(|(a, v)| (a.clone(), v.0)).collect();
        let venue = PaperExchange::new(p.into(), specs.clone(), &balances)
            .map_err(|e| StartError::Paper(e.to_string()))?;
        Ok(PaperMarket {
            venue,
            specs,
            feeds,
        })
    }
}

/// What the strategy manager is started with: its restart policy and
/// the config's boot strategies, each checked.
struct Plan {
    restart: laicai_actors::strategy::RestartPolicy,
    boot: Vec<(NewStrategy, bool)>,
    /// How a failed exchange connection is retried.
    connection_backoff: laicai_core::backoff::Backoff,
}

impl Plan {
    fn from_config(cfg: &Config) -> Result<Self, StartError> {
        let boot = cfg
            .strategies
            .boot
            .iter()
            .map(|b| b.to_new_strategy().map(|n| (n, b.start)))
            .collect::<Result<_, _>>()
            .map_err(StartError::Strategy)?;
        let restart = cfg
            .strategies
            .restart_policy()
            .map_err(StartError::StrategyRestart)?;
        let connection_backoff = cfg
            .connections
            .backoff()
            .map_err(StartError::ConnectionBackoff)?;
        Ok(Plan {
            restart,
            boot,
            connection_backoff,
        })
    }
}

/// What every actor reports to: the registry (events out) and the agent
/// monitor (health).
struct Hub {
    registry: Addr<RegistryActor>,
    agents: Addr<AgentMonitor>,
    watch: Watch,
    /// The bus's counters, when there is a bus.
    bus: Option<Arc<laicai_actors::bus::BusStats>>,
    event_ages: Arc<laicai_actors::latency::LatencyHistogram>,
}

/// How far apart events are numbered: with a bus the engine leaves
/// gateways the numbers between its events.
fn seq_step(cfg: &Config) -> u64 {
    if cfg.bus.url.is_empty() {
        1
    } else {
        laicai_actors::registry::BUS_SEQ_STEP
    }
}

fn start_hub(cfg: &Config, r: &Recovered) -> Hub {
    let registry = RegistryActor::new((&cfg.server).into())
        .numbered_every(seq_step(cfg))
        .continuing(
            r.storage.clone(),
            r.seq_from,
            r.seq_ceiling,
            r.carried.clone(),
        );
    let load = registry.load().clone();
    let event_ages = registry.event_ages();
    let registry = registry.start();
    logs::attach(registry.clone());
    let alerts = registry.clone();
    r.storage.alert_to(Box::new(move |conflict| {
        alerts.do_send(Publish::alert(LogLevel::Error, conflict, "storage"));
    }));
    let agents = AgentMonitor::new(
        registry.clone(),
        Duration::from_millis(cfg.engine.agent_status_interval_ms),
        Duration::from_secs(1),
        Clock::System,
    )
    .start();
    let watch: Watch = Some(agents.clone().recipient());
    health::watch(&watch, "registry", registry.clone().recipient(), load, 0);
    let mut bus_stats = None;
    if !cfg.bus.url.is_empty() {
        let bus = BusConfig {
            url: cfg.bus.url.clone(),
            engine: cfg.bus.engine.clone(),
            backlog: cfg.bus.backlog,
            keep_events: cfg.server.replay_events.max(100_000),
        };
        let bridge = BusBridge::new(bus, registry.clone());
        bus_stats = Some(bridge.stats());
        bridge.start();
    }
    Hub {
        registry,
        agents,
        watch,
        bus: bus_stats,
        event_ages,
    }
}

/// The paper venue running: its books, the recorder, the venue actor and
/// its market feed; every venue by name.
struct Paper {
    venues: Venues,
    dropped_ticks: Arc<AtomicU64>,
    recorded_lost: Arc<AtomicU64>,
}

fn start_paper(
    cfg: &Config,
    specs: &[PairSpec],
    feeds: Vec<PairFeed>,
    venue: PaperExchange,
    hub: &Hub,
    r: &Recovered,
) -> Paper {
    let p = &cfg.paper;
    let books: HashMap<Symbol, _> = venue
        .symbols()
        .map(|symbol| {
            let book = OrderBookActor::new(
                PAPER,
                symbol.as_str(),
                hub.registry.clone(),
                p.book_depth,
                p.orderbook_interval_ms,
            );
            let id = format!("orderbook:{PAPER}:{symbol}");
            (symbol.clone(), book.start_watched(&hub.watch, id, 0))
        })
        .collect();
    let venues = Venues::new(PAPER);
    venues.set_rules(PAPER, specs.to_vec());
    for (sym, addr) in &books {
        venues.add_book(PAPER, sym.as_str(), addr.clone());
    }
    let recorded_lost = Arc::new(AtomicU64::new(0));
    let b = &cfg.backtest;
    let recording = b.record.then(|| {
        tracing::info!(dir = %b.record_dir, "recording the market's trades");
        Recording {
            to: RecorderActor::new(b.record_dir.clone().into(), recorded_lost.clone())
                .start_own_thread(),
            lost: recorded_lost.clone(),
        }
    });
    let exchange = PaperVenue::new(
        venue,
        p.into(),
        hub.registry.clone(),
        books,
        Some(r.storage.clone()),
    )
    .with_recording(recording);
    let board = exchange.board();
    let exchange = exchange.start_watched(&hub.watch, format!("exchange:{PAPER}"), 0);
    let dropped_ticks = Arc::new(AtomicU64::new(0));
    MarketFeedActor::new(
        exchange.clone(),
        feeds,
        dropped_ticks.clone(),
        Clock::System,
    )
    .start();
    venues.add(PAPER, PAPER, None);
    venues.set(PAPER, Some(VenueHandle::of(&exchange).with_board(board)));
    Paper {
        venues,
        dropped_ticks,
        recorded_lost,
    }
}

/// The paper exchange and the risk manager the config describes, as the
/// engine builds them, without their actors: what `laicai bench
/// roundtrip` runs an order through on the socket's own thread, the floor
/// of any shape the engine's order path could take.
pub fn paper_domain(cfg: &Config) -> Result<(PaperExchange, RiskManager), StartError> {
    let market = PaperMarket::from_config(cfg)?;
    let risk = RiskManager::new(cfg.risk.clone(), paper_rules(&market.specs));
    Ok((market.venue, risk))
}

fn paper_rules(specs: &[PairSpec]) -> Vec<(String, PairSpec)> {
    specs
        .iter()
        .map(|s| (PAPER.to_string(), s.clone()))
        .collect()
}

/// The risk manager, with the day's loss, peaks, halts and the kill
/// switch as they were; and the engine.
fn start_risk_and_engine(
    cfg: &Config,
    specs: &[PairSpec],
    venues: &Venues,
    hub: &Hub,
    r: &Recovered,
) -> (Addr<RiskActor>, Addr<EngineActor>) {
    let mut manager = RiskManager::new(cfg.risk.clone(), paper_rules(specs));
    if let Some(k) = &r.risk.kill_switch {
        // Still engaged: it survives a restart until someone resets it.
        tracing::warn!(mode = %k.mode, reason = %k.reason, "kill switch still engaged from before the restart");
    }
    manager.restore(r.risk.clone());
    let risk = RiskActor::new(
        manager,
        cfg.engine.start_running,
        venues.clone(),
        hub.registry.clone(),
        cfg.server.command_timeout(),
        Clock::System,
    )
    .with_storage(r.storage.clone())
    .start_watched(&hub.watch, "risk", 0);
    let engine = EngineActor::new(
        cfg.into(),
        hub.registry.clone(),
        risk.clone(),
        venues.clone(),
    )
    .with_storage(r.storage.clone())
    .start_watched(&hub.watch, "engine", 0);
    watch_storage(&r.storage, hub, &risk, &engine);
    (risk, engine)
}

/// When the database cannot be written: an alert says why, `system_status`
/// shows the engine degraded, and risk refuses new orders and holds the
/// strategies; all of it undone, with an alert, once it can be again.
fn watch_storage(storage: &Storage, hub: &Hub, risk: &Addr<RiskActor>, engine: &Addr<EngineActor>) {
    let (registry, risk, engine) = (hub.registry.clone(), risk.clone(), engine.clone());
    storage.watch_health(Box::new(move |state| {
        let alert = match &state {
            Some(why) => Publish::alert(
                LogLevel::Error,
                format!("The database cannot be written ({why}): new orders and state-changing commands are refused, strategies hold; what was in flight is kept and retried, and nothing is acknowledged before it is on disk"),
                "storage",
            ),
            None => Publish::alert(
                LogLevel::Info,
                "The database can be written again: orders are accepted and strategies quote again",
                "storage",
            ),
        };
        registry.do_send(alert);
        risk.do_send(StorageState(state.clone()));
        engine.do_send(StorageState(state));
    }));
}

/// The strategy manager, with the stored strategies restored — or, on a
/// first start, the config's boot strategies created (and started).
async fn start_strategies(
    cfg: &Config,
    specs: &[PairSpec],
    plan: Plan,
    venues: &Venues,
    hub: &Hub,
    r: &Recovered,
    (risk, engine): (&Addr<RiskActor>, &Addr<EngineActor>),
) -> Addr<StrategyManager> {
    let config = ManagerConfig {
        restart: plan.restart,
        allow_test_strategies: cfg.strategies.allow_test_strategies,
        runtime: cfg.into(),
        clock: Clock::System,
    };
    let strategies = StrategyManager::new(
        config,
        paper_rules(specs),
        venues.clone(),
        ManagerLinks::of(&hub.registry, risk, engine),
        Some(r.storage.clone()),
    )
    .watched_by(hub.watch.clone())
    .start_watched(&hub.watch, "strategies", 0);
    if !r.strategies.is_empty() {
        let restored = strategies
            .send(Restore {
                stored: r.strategies.clone(),
                // Nothing resumes under an engaged kill switch.
                resume: cfg.storage.resume_strategies && r.risk.kill_switch.is_none(),
            })
            .await
            .unwrap_or(0);
        tracing::info!(restored, "strategies restored");
        return strategies;
    }
    for (new, start) in plan.boot {
        boot(&strategies, new, start).await;
    }
    strategies
}

/// Creates one boot strategy, and starts it if asked.
async fn boot(strategies: &Addr<StrategyManager>, new: NewStrategy, start: bool) {
    let name = new.name.clone();
    match strategies.send(CreateStrategy(new)).await {
        Ok(Ok(view)) if start => {
            let started = strategies
                .send(ControlStrategy {
                    id: view.id.clone(),
                    action: StrategyAction::Start,
                })
                .await;
            if !matches!(started, Ok(Ok(_))) {
                tracing::error!(strategy = %view.id, "boot strategy did not start");
            }
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(%name, error = %e, "boot strategy refused"),
        Err(e) => tracing::error!(%name, error = %e, "strategy manager unavailable"),
    }
}

/// The connection supervisor, with the stored connections reconnecting.
async fn start_connections(
    cfg: &Config,
    specs: &[PairSpec],
    backoff: laicai_core::backoff::Backoff,
    venues: &Venues,
    hub: &Hub,
    r: &Recovered,
) -> Addr<ConnectionSupervisor> {
    let pairs = specs.iter().map(|s| s.symbol.clone()).collect();
    let connections = ConnectionSupervisor::new(
        cfg.connections.supervisor(backoff, pairs, &cfg.paper),
        venues.clone(),
        hub.registry.clone(),
        Some((r.storage.clone(), r.sealer.clone())),
    )
    .watched_by(hub.watch.clone())
    .start_watched(&hub.watch, "connections", 0);
    if !r.connections.is_empty() {
        let restored = connections
            .send(supervisor::Restore(r.connections.clone()))
            .await
            .unwrap_or(0);
        tracing::info!(restored, "connections restored");
    }
    connections
}

/// Who may open a session: the configured tokens, the failed-attempt
/// limiter and the connection count.
pub(crate) fn gate(cfg: &Config) -> http::Gate {
    let s = &cfg.server;
    http::Gate {
        tokens: Tokens::new(
            s.tokens
                .iter()
                .map(|t| (t.token.clone(), t.scope))
                .collect(),
        ),
        failures: Mutex::new(FailureLimiter::new(
            s.auth_failures_per_minute,
            (s.auth_block_s * 1000) as i64,
        )),
        open: Arc::new(AtomicUsize::new(0)),
        max_connections: connection_cap(s.max_connections, open_files_limit()),
    }
}

/// Descriptors kept for everything but client connections: the database
/// and its log, the listener, exchange sockets, log files.
const RESERVED_FDS: u64 = 64;

/// Descriptors a client connection holds: its socket, and the duplicate
/// the engine keeps to reset a slow client (`ClientSocket`).
const FDS_PER_CONNECTION: u64 = 2;

/// The connections the engine admits: the configured cap, lowered when the
/// process may not open that many descriptors, so that the connection past
/// the limit gets HTTP 503 rather than hanging in the kernel's queue while
/// the engine cannot accept it (and cannot open anything else).
fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return configured;
    };
    let room = (limit.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION).max(1) as usize;
    if room < configured {
        tracing::warn!(
            configured,
            open_files = limit,
            admitted = room,
            "the open-file limit is lower than server.max_connections needs: admitting {room} connections (raise it with `ulimit -n`)"
        );
    }
    configured.min(room)
}

/// The process's soft limit on open files, from /proc/self/limits.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_fit_in_the_open_file_limit() {
        assert_eq!(connection_cap(1000, None), 1000);
        assert_eq!(connection_cap(1000, Some(1_048_576)), 1000);
        // (200 - 64 kept) / 2 descriptors a connection.
        assert_eq!(connection_cap(1000, Some(200)), 68);
        assert_eq!(connection_cap(1000, Some(10)), 1);
        assert!(open_files_limit().is_some_and(|n| n > 0));
    }
}
