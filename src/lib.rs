//! The `laicai` binary's library: configuration, process wiring (which
//! actors exist and who talks to whom) and the HTTP/WebSocket routes.

pub mod config;
pub mod dashboard;
pub mod logs;

use actix::prelude::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use config::Config;
use laicai_actors::agents::{AgentMonitor, GetAgents};
use laicai_actors::backtests::{BacktestManager, BacktestsConfig};
use laicai_actors::connections::{ConnectionSupervisor, SupervisorConfig};
use laicai_actors::engine::{EngineActor, EngineConfig};
use laicai_actors::exchange::{ExchangeActor, ExchangeConfig};
use laicai_actors::feed::{MarketFeedActor, PairFeed};
use laicai_actors::health::{self, Watch, Watched};
use laicai_actors::order_book::OrderBookActor;
use laicai_actors::recorder::{RecorderActor, Recording};
use laicai_actors::registry::{GetRegistryStats, RegistryActor, RegistryConfig};
use laicai_actors::registry::{CARRIED_RING_KEY, SEQ_LEASE};
use laicai_actors::risk::RiskActor;
use laicai_actors::risk::RISK_MEMORY_KEY;
use laicai_actors::session::{start_session, Admission, Endpoint, SessionDeps, SessionLimits};
use laicai_actors::socket::ClientSocket;
use laicai_actors::storage::{Kind, Record, SecretBox, Storage, StorageActor, Store, StoreError};
use laicai_actors::strategy::manager::Restore;
use laicai_actors::strategy::manager::{ControlStrategy, CreateStrategy, ManagerConfig};
use laicai_actors::strategy::{RestartPolicy, Runtime, StrategyManager};
use laicai_actors::venues::{VenueHandle, Venues};
use laicai_core::auth::{presented_token, FailureLimiter, Scope, Tokens};
use laicai_core::backoff::Backoff;
use laicai_core::feed::{FeedParams, SyntheticMarket};
use laicai_core::pair::Symbol;
use laicai_core::paper::{OpenOrder, PairSpec, PaperConfig, PaperExchange};
use laicai_core::protocol::{NewStrategy, StrategyAction};
use laicai_core::risk::RiskManager;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const PAPER: &str = "paper";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("paper exchange: {0}")]
    Paper(String),
    #[error("strategies: {0}")]
    Strategy(String),
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
}

/// A started engine: its address and the HTTP server to await or stop.
pub struct Running {
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    /// Flush it after the server stops, so nothing queued is left behind.
    pub storage: Storage,
    /// `Seal` it once the server has stopped (see `seal`).
    pub registry: Addr<RegistryActor>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Running {
    /// A handle that, when called, closes every WebSocket session (1012,
    /// "the engine is stopping") within a quarter second, so a graceful
    /// stop does not wait for clients that would never hang up.
    pub fn close_sessions(&self) -> impl Fn() {
        let stopping = self.stopping.clone();
        move || stopping.store(true, std::sync::atomic::Ordering::Release)
    }

    /// After the server stopped: leaves the last retained `seq` for the
    /// next start (clients replay across the restart without a gap) and
    /// waits until everything queued is on disk.
    pub async fn seal(registry: &Addr<RegistryActor>, storage: &Storage) {
        match registry.send(laicai_actors::registry::Seal).await {
            Ok(carried) => tracing::info!(
                carried,
                "event stream sealed: retained events kept for replay after the restart"
            ),
            Err(e) => tracing::warn!(error = %e, "event stream not sealed"),
        }
        if let Err(e) = storage.read(|_| Ok(())).await {
            tracing::error!(error = %e, "storage did not flush");
        }
    }
}

#[derive(Clone)]
struct AppState {
    deps: SessionDeps,
    started: Instant,
    gate: Arc<Gate>,
    /// Market ticks the feed dropped because the exchange was busy.
    dropped_ticks: Arc<AtomicU64>,
    /// Market trades the recorder could not take or write.
    recorded_lost: Arc<AtomicU64>,
}

/// Who may open a session: the token check, the failed-attempt limiter,
/// and the connection count.
struct Gate {
    tokens: Tokens,
    failures: Mutex<FailureLimiter>,
    open: Arc<AtomicUsize>,
    max_connections: usize,
}

fn refusal(status: actix_web::http::StatusCode, error: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "type": "error", "error": error, "detail": detail,
    }))
}

impl Gate {
    /// The scope of the request's token (every client is admin when no
    /// tokens are configured, which only a loopback bind allows), or the
    /// HTTP answer refusing it.
    fn admit(&self, req: &HttpRequest) -> Result<(Scope, Option<String>), Box<HttpResponse>> {
        use actix_web::http::StatusCode;
        if self.open.load(Ordering::Acquire) >= self.max_connections {
            return Err(Box::new(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_connections",
                &format!("at most {} connections", self.max_connections),
            )));
        }
        if self.tokens.is_empty() {
            return Ok((Scope::Admin, None));
        }
        let addr = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let now = laicai_actors::clock::now_ms();
        if self.failures.lock().blocked(&addr, now) {
            return Err(Box::new(refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "authentication_failed",
                "too many failed attempts from this address; try again later",
            )));
        }
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let presented = presented_token(
            header("Authorization"),
            req.query_string(),
            header("Sec-WebSocket-Protocol"),
        );
        match presented.and_then(|p| self.tokens.scope_of(&p.token).map(|s| (s, p.protocol))) {
            Some(ok) => Ok(ok),
            None => {
                self.failures.lock().failed(&addr, now);
                tracing::warn!(%addr, "authentication failed");
                Err(Box::new(refusal(
                    StatusCode::UNAUTHORIZED,
                    "authentication_failed",
                    "a valid token is required (Authorization: Bearer, ?token= or the bearer.<token> subprotocol)",
                )))
            }
        }
    }
}

/// What the database gave back at start.
struct Recovered {
    storage: Storage,
    venue: PaperExchange,
    /// `seq` continues above this: the last run's stored ceiling.
    seq_from: u64,
    /// The next ceiling, a lease ahead (already durable).
    seq_ceiling: u64,
    /// Stored strategy instances (JSON), for the manager to bring back.
    strategies: Vec<String>,
    /// Stored connections (JSON, credentials sealed).
    connections: Vec<String>,
    sealer: Arc<SecretBox>,
    /// Kill switch, daily loss, peaks and halts as they were.
    risk: laicai_core::risk::RiskMemory,
    /// The retained events a clean stop left for replay (see `Seal`).
    carried: Option<laicai_actors::registry::CarriedRing>,
}

/// Opens and migrates the database, puts the paper account back as it was
/// stored, leases the next block of `seq`, and starts the storage thread.
fn recover(
    cfg: &config::StorageSection,
    mut venue: PaperExchange,
) -> Result<Recovered, StartError> {
    let mut store = Store::open(std::path::Path::new(&cfg.path))?;
    store.set_fsync(cfg.fsync)?;
    let path = store.path().display().to_string();
    let restore_error = |detail: String| StartError::Restore {
        path: path.clone(),
        detail,
    };
    let unreadable =
        |what: &str, e: StoreError| restore_error(format!("{what} is unreadable: {e}"));
    let name = venue.name().to_string();
    if let Some(account) = store
        .get(Kind::Paper, &name)
        .map_err(|e| unreadable("the paper account", e))?
    {
        let open: Vec<OpenOrder> = store
            .values(Kind::PaperOrder, &format!("{name}/"))
            .map_err(|e| unreadable("a resting paper order", e))?;
        let count = open.len();
        venue
            .restore(account, open)
            .map_err(|e| restore_error(e.to_string()))?;
        tracing::info!(%path, open = count, "paper account restored");
    }
    let dir = store
        .path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let key = std::env::var(laicai_actors::storage::sealing::KEY_ENV).ok();
    let sealer = SecretBox::load(key.as_deref(), &dir).map_err(|e| restore_error(e.to_string()))?;
    // Each strategy and connection is checked on its own when it comes
    // back: one bad record is an alert, not a failed start.
    let raw = |kind| -> Result<Vec<String>, StoreError> {
        Ok(store.state(kind, "")?.into_iter().map(|(_, v)| v).collect())
    };
    let connections = raw(Kind::Connection)?;
    let strategies = raw(Kind::Strategy)?;
    let risk = store
        .get(Kind::Risk, RISK_MEMORY_KEY)
        .map_err(|e| unreadable("the risk state", e))?
        .unwrap_or_default();
    let seq_from = store.seq()?;
    let seq_ceiling = seq_from + SEQ_LEASE;
    // Unreadable is not fatal: clients then resync from a snapshot.
    let carried = store
        .get(Kind::Stream, CARRIED_RING_KEY)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the events kept for replay are unreadable");
            None
        });
    // Taken once: after a crash from here on it must not be trusted.
    store.write(&[
        Record::Seq(seq_ceiling),
        Record::Delete {
            kind: Kind::Stream,
            key: CARRIED_RING_KEY.into(),
        },
    ])?;
    tracing::info!(%path, seq_from, "database ready");
    let storage = StorageActor::start(store, STORAGE_QUEUE).map_err(|e| StartError::Restore {
        path: path.clone(),
        detail: format!("cannot start the storage thread: {e}"),
    })?;
    Ok(Recovered {
        storage,
        venue,
        seq_from,
        seq_ceiling,
        strategies,
        connections,
        sealer: Arc::new(sealer),
        risk,
        carried,
    })
}

/// Writes waiting for the disk before writers are made to wait.
const STORAGE_QUEUE: usize = 16_384;

/// Starts every actor and the HTTP server. Call inside an actix system.
///
/// Everything that can fail (the listening socket, the paper venue) is done
/// before the first actor starts, so a failed start leaves nothing running.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
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

    let p = &cfg.paper;
    let mut specs = Vec::new();
    let mut feeds = Vec::new();
    for (i, pair) in p.pairs.iter().enumerate() {
        let symbol = Symbol::parse(&pair.symbol).map_err(|e| StartError::Paper(e.to_string()))?;
        specs.push(PairSpec {
            symbol: symbol.clone(),
            tick_size: pair.tick_size,
            step_size: pair.step_size,
            min_notional: pair.min_notional,
        });
        let params = FeedParams {
            start_price: pair.start_price,
            tick_size: pair.tick_size,
            step_size: pair.step_size,
            spread_bps: pair.spread_bps,
            volatility_bps: pair.volatility_bps,
            level_spacing_bps: pair.level_spacing_bps,
            depth_levels: pair.depth_levels,
            level_size: pair.level_size,
            trade_probability: pair.trade_probability,
            trade_size: pair.trade_size,
        };
        let seed = p.seed.wrapping_add(i as u64);
        feeds.push(PairFeed::new(
            symbol.clone(),
            SyntheticMarket::new(params, seed),
            pair.ticks_per_sec,
        ));
    }
    let venue_pairs: Vec<Symbol> = specs.iter().map(|s| s.symbol.clone()).collect();
    let backtest_rules = specs.clone();
    let rules: Vec<(String, PairSpec)> = specs
        .iter()
        .map(|s| (PAPER.to_string(), s.clone()))
        .collect();
    let boot: Vec<(NewStrategy, bool)> = cfg
        .strategies
        .boot
        .iter()
        .map(|b| b.to_new_strategy().map(|n| (n, b.start)))
        .collect::<Result<_, _>>()
        .map_err(StartError::Strategy)?;
    let st = &cfg.strategies;
    let restart = match st.restart {
        config::RestartMode::Never => RestartPolicy::Never,
        config::RestartMode::OnFailure => RestartPolicy::OnFailure {
            backoff: Backoff::new(st.restart_base_ms, st.restart_max_ms)
                .map_err(StartError::Strategy)?,
            max_restarts: st.max_restarts,
        },
    };
    let connection_backoff = Backoff::new(
        cfg.connections.backoff_base_ms,
        cfg.connections.backoff_max_ms,
    )
    .map_err(StartError::Strategy)?;
    let balances: Vec<(String, rust_decimal::Decimal)> =
        p.balances.iter().map(|(a, v)| (a.clone(), v.0)).collect();
    let venue = PaperExchange::new(
        PaperConfig {
            exchange: PAPER.into(),
            maker_fee: p.maker_fee,
            taker_fee: p.taker_fee,
            history_limit: p.history_limit,
        },
        specs,
        &balances,
    )
    .map_err(|e| StartError::Paper(e.to_string()))?;

    // The database must be usable, and what it holds restored, before
    // anything trades.
    let recovered = recover(&cfg.storage, venue)?;
    let Recovered {
        storage,
        venue,
        seq_from,
        seq_ceiling,
        strategies: stored_strategies,
        connections: stored_connections,
        sealer,
        risk: risk_memory,
        carried,
    } = recovered;
    let kill_switch = risk_memory.kill_switch.clone();

    // From here on nothing fails: start the actors.
    let registry = RegistryActor::new(RegistryConfig {
        mailbox: s.registry_mailbox,
        replay_events: s.replay_events,
        backlog_limit: s.session_backlog,
        slow_client_timeout: Duration::from_millis(s.slow_client_timeout_ms),
        subscription_limit: s.subscription_limit,
    })
    .continuing(storage.clone(), seq_from, seq_ceiling, carried);
    let registry_load = registry.load().clone();
    let registry = registry.start();
    logs::attach(registry.clone());
    {
        let registry = registry.clone();
        storage.alert_to(Box::new(move |conflict| {
            registry.do_send(laicai_actors::registry::Publish::alert(
                laicai_core::wire::events::LogLevel::Error,
                conflict,
                "storage",
            ));
        }));
    }
    let agents = AgentMonitor::new(
        registry.clone(),
        Duration::from_millis(cfg.engine.agent_status_interval_ms),
        Duration::from_secs(1),
    )
    .start();
    let watch: Watch = Some(agents.clone().recipient());
    health::watch(
        &watch,
        "registry",
        registry.clone().recipient(),
        registry_load,
        0,
    );
    let books: HashMap<Symbol, _> = venue
        .symbols()
        .map(|symbol| {
            let book = OrderBookActor::new(
                PAPER,
                symbol.as_str(),
                registry.clone(),
                p.book_depth,
                p.orderbook_interval_ms,
            );
            let id = format!("orderbook:{PAPER}:{symbol}");
            (symbol.clone(), book.start_watched(&watch, id, 0))
        })
        .collect();
    let venues = Venues::new(PAPER);
    venues.set_rules(PAPER, backtest_rules.clone());
    for (sym, addr) in &books {
        venues.add_book(PAPER, sym.as_str(), addr.clone());
    }
    let recorded_lost = Arc::new(AtomicU64::new(0));
    let recording = cfg.backtest.record.then(|| {
        tracing::info!(dir = %cfg.backtest.record_dir, "recording the market's trades");
        Recording {
            to: RecorderActor::new(
                cfg.backtest.record_dir.clone().into(),
                recorded_lost.clone(),
            )
            .start_own_thread(),
            lost: recorded_lost.clone(),
        }
    });
    let exchange = ExchangeActor::new(
        venue,
        ExchangeConfig {
            // Short on purpose: market ticks are dropped when it is full,
            // and commands never wait behind more than this many ticks.
            mailbox: 256,
            book_depth: p.book_depth,
            market_data_interval_ms: p.market_data_interval_ms,
            position_refresh_ms: p.position_refresh_ms,
        },
        registry.clone(),
        books,
        Some(storage.clone()),
    )
    .with_recording(recording)
    .start_watched(&watch, format!("exchange:{PAPER}"), 0);
    let dropped_ticks = Arc::new(AtomicU64::new(0));
    MarketFeedActor::new(exchange.clone(), feeds, dropped_ticks.clone()).start();

    venues.set(PAPER, Some(VenueHandle::of(&exchange)));
    let command_timeout = Duration::from_millis(s.command_timeout_ms);
    let mut risk_manager = RiskManager::new(cfg.risk.clone(), rules.clone());
    if let Some(k) = &kill_switch {
        // Still engaged: it survives a restart until someone resets it.
        tracing::warn!(mode = %k.mode, reason = %k.reason, "kill switch still engaged from before the restart");
    }
    // Daily loss, peaks, halts and the kill switch count on from before.
    risk_manager.restore(risk_memory);
    let risk = RiskActor::new(
        risk_manager,
        cfg.engine.start_running,
        venues.clone(),
        registry.clone(),
        command_timeout,
    )
    .with_storage(storage.clone())
    .start_watched(&watch, "risk", 0);
    let engine = EngineActor::new(
        EngineConfig {
            start_running: cfg.engine.start_running,
            status_interval: Duration::from_millis(cfg.engine.status_interval_ms),
            venue_timeout: command_timeout,
        },
        registry.clone(),
        risk.clone(),
        venues.clone(),
    )
    .start_watched(&watch, "engine", 0);
    let strategies = StrategyManager::new(
        ManagerConfig {
            restart,
            allow_test_strategies: st.allow_test_strategies,
            runtime: Runtime {
                tick: Duration::from_millis(st.tick_ms),
                max_data_age_ms: cfg.risk.max_data_age_ms,
                stale_action: cfg.risk.stale_action,
                request_timeout: command_timeout,
                reject_cooldown: Duration::from_secs(1),
                report_interval: Duration::from_secs(1),
            },
        },
        rules,
        venues.clone(),
        registry.clone(),
        risk.clone(),
        engine.clone(),
        Some(storage.clone()),
    )
    .watched_by(watch.clone())
    .start_watched(&watch, "strategies", 0);
    // The boot strategies are a first start's; after that the stored
    // instances come back instead.
    let boot = if stored_strategies.is_empty() {
        boot
    } else {
        let restored = strategies
            .send(Restore {
                stored: stored_strategies,
                // Nothing resumes under an engaged kill switch.
                resume: cfg.storage.resume_strategies && kill_switch.is_none(),
            })
            .await
            .unwrap_or(0);
        tracing::info!(restored, "strategies restored");
        Vec::new()
    };
    for (new, start) in boot {
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

    let c = &cfg.connections;
    let connections = ConnectionSupervisor::new(
        SupervisorConfig {
            backoff: connection_backoff,
            stable: Duration::from_secs(c.stable_s),
            max_attempts: c.max_attempts,
            default_pairs: venue_pairs,
            recv_window_ms: c.recv_window_ms,
            silent_timeout: Duration::from_millis(c.silent_timeout_ms),
            ping_interval: Duration::from_millis(c.ping_interval_ms),
            keepalive: Duration::from_secs(c.listen_key_keepalive_s),
            request_timeout: Duration::from_millis(c.request_timeout_ms),
            max_server_errors: c.max_server_errors,
            book_depth: p.book_depth,
            orderbook_interval_ms: p.orderbook_interval_ms,
            history_limit: p.history_limit,
        },
        venues.clone(),
        registry.clone(),
        Some((storage.clone(), sealer)),
    )
    .watched_by(watch.clone())
    .start_watched(&watch, "connections", 0);
    if !stored_connections.is_empty() {
        let restored = connections
            .send(laicai_actors::connections::Restore(stored_connections))
            .await
            .unwrap_or(0);
        tracing::info!(restored, "connections restored");
    }

    let b = &cfg.backtest;
    let backtests = BacktestManager::new(
        BacktestsConfig {
            data_dir: b.data_dir.clone().into(),
            report_dir: (!b.report_dir.trim().is_empty()).then(|| b.report_dir.clone().into()),
            runners: b.runners,
            max_queued: b.max_queued,
            keep: b.keep,
            allow_test_strategies: cfg.strategies.allow_test_strategies,
        },
        backtest_rules,
        registry.clone(),
    )
    .start_watched(&watch, "backtests", 0);

    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let state = AppState {
        deps: SessionDeps {
            registry: registry.clone(),
            engine,
            risk,
            strategies,
            connections,
            agents,
            backtests,
            venues,
            storage: storage.clone(),
            limits: SessionLimits {
                max_messages_per_sec: s.max_messages_per_sec,
                outbox: s.session_mailbox,
                max_frame_bytes: s.max_frame_bytes,
                heartbeat: Duration::from_secs(s.heartbeat_s),
                idle_timeout: Duration::from_secs(s.idle_timeout_s),
                command_timeout,
            },
            latency: Default::default(),
            stopping: stopping.clone(),
        },
        started: Instant::now(),
        dropped_ticks,
        recorded_lost,
        gate: Arc::new(Gate {
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
            max_connections: s.max_connections,
        }),
    };
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/api/stream", ws_route(Endpoint::Stream))
            .route("/ws", ws_route(Endpoint::General))
            .route("/ws/logs", ws_route(Endpoint::Logs))
            .route("/api/v1/websocket", ws_route(Endpoint::Subscription))
            .route("/api/health", web::get().to(health))
            .route("/metrics", web::get().to(metrics))
            .default_service(web::to(dashboard::serve))
    })
    // Small frames (an order update, a response) go out at once instead of
    // waiting up to 40 ms for the client's delayed ACK (Nagle's algorithm).
    .on_connect(|conn, ext| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
            match ClientSocket::of(tcp) {
                Ok(socket) => {
                    ext.insert(socket);
                }
                Err(e) => tracing::warn!(error = %e, "cannot keep a handle on a client socket"),
            }
        }
    })
    .disable_signals()
    // Sessions are closed before the stop (`close_sessions`); anything
    // else gets five seconds.
    .shutdown_timeout(5);
    if s.workers > 0 {
        server = server.workers(s.workers);
    }
    let server = server.listen(listener).map_err(bind_error)?.run();
    tracing::info!(%addr, "laicai listening: ws://{addr}/api/stream");
    Ok(Running {
        addr,
        server,
        storage,
        registry,
        stopping,
    })
}

/// A WebSocket route that starts sessions for `endpoint`.
fn ws_route(endpoint: Endpoint) -> actix_web::Route {
    web::get().to(
        move |req: HttpRequest, body: web::Payload, st: web::Data<AppState>| async move {
            let (scope, protocol) = match st.gate.admit(&req) {
                Ok(ok) => ok,
                Err(refused) => return Ok(*refused),
            };
            let admission = Admission {
                scope,
                protocol,
                open: st.gate.open.clone(),
                socket: req.conn_data::<ClientSocket>().cloned(),
            };
            start_session(&req, body, st.deps.clone(), endpoint, admission)
        },
    )
}

async fn health(st: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "uptime": st.started.elapsed().as_secs(),
        "version": VERSION,
        // Whether a client must present a token (the dashboard asks for one).
        "auth_required": !st.gate.tokens.is_empty(),
    }))
}

async fn metrics(st: web::Data<AppState>) -> HttpResponse {
    let Ok(stats) = st.deps.registry.send(GetRegistryStats).await else {
        return HttpResponse::ServiceUnavailable().body("registry unavailable\n");
    };
    let agents = st.deps.agents.send(GetAgents).await.unwrap_or_default();
    let mut m = Metrics::default();
    m.gauge("laicai_uptime_seconds", "Seconds since start.")
        .value("", st.started.elapsed().as_secs());
    m.gauge("laicai_connections", "Open WebSocket connections.")
        .value("", st.gate.open.load(Ordering::Acquire));
    m.gauge("laicai_sessions", "Sessions the registry delivers to.")
        .value("", stats.sessions);
    m.counter(
        "laicai_events_published_total",
        "Events numbered and fanned out.",
    )
    .value("", stats.seq);
    let mut published = m.counter(
        "laicai_events_published_by_type_total",
        "Events published, by type.",
    );
    for (kind, n) in stats.published_by_type.counts() {
        published.value(&format!("type=\"{kind}\""), n);
    }
    m.counter(
        "laicai_frames_delivered_total",
        "Frames handed to sessions.",
    )
    .value("", stats.delivered_by_type.0.iter().sum::<u64>());
    let mut delivered = m.counter(
        "laicai_frames_delivered_by_type_total",
        "Frames handed to sessions, by type.",
    );
    for (kind, n) in stats.delivered_by_type.counts() {
        delivered.value(&format!("type=\"{kind}\""), n);
    }
    m.counter(
        "laicai_frames_conflated_total",
        "Market data frames replaced by a newer one for a slow session.",
    )
    .value("", stats.conflated);
    m.counter(
        "laicai_market_ticks_dropped_total",
        "Simulated market ticks dropped while the exchange was busy.",
    )
    .value("", st.dropped_ticks.load(Ordering::Relaxed));
    m.counter(
        "laicai_recorded_trades_lost_total",
        "Market trades not recorded (recorder busy, or a failed write).",
    )
    .value("", st.recorded_lost.load(Ordering::Relaxed));
    m.counter(
        "laicai_sessions_evicted_total",
        "Sessions closed as too slow (1013).",
    )
    .value("", stats.evicted);
    m.gauge("laicai_orders_open", "Orders not in a final state.")
        .value("", stats.open_orders);
    let mut updates = m.counter(
        "laicai_order_updates_total",
        "order_update events, by status.",
    );
    for (status, n) in &stats.order_updates {
        updates.value(&format!("status=\"{status}\""), *n);
    }
    let mut restarts = m.counter(
        "laicai_agent_restarts_total",
        "Restarts of each actor (strategies, exchange connections).",
    );
    for a in &agents {
        restarts.value(&format!("agent=\"{}\"", a.agent_id), a.data.restarts);
    }
    let mut queue = m.gauge(
        "laicai_agent_queue",
        "Messages waiting in each actor's mailbox at the last probe.",
    );
    for a in &agents {
        queue.value(&format!("agent=\"{}\"", a.agent_id), a.data.task_queue_size);
    }
    let mut body = m.0;
    body.push_str(&st.deps.latency.render(
        "laicai_command_seconds",
        "Time from a command frame's arrival to its response.",
    ));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

/// Prometheus text, one metric family at a time.
#[derive(Default)]
struct Metrics(String);

struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Metrics {
    fn family(&mut self, name: &'static str, kind: &str, help: &str) -> Family<'_> {
        self.0
            .push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        Family {
            out: &mut self.0,
            name,
        }
    }

    fn gauge(&mut self, name: &'static str, help: &str) -> Family<'_> {
        self.family(name, "gauge", help)
    }

    fn counter(&mut self, name: &'static str, help: &str) -> Family<'_> {
        self.family(name, "counter", help)
    }
}

impl Family<'_> {
    /// One series; `labels` like `type="trade"`, empty for none.
    fn value(&mut self, labels: &str, v: impl std::fmt::Display) {
        if labels.is_empty() {
            self.out.push_str(&format!("{} {v}\n", self.name));
        } else {
            self.out
                .push_str(&format!("{}{{{labels}}} {v}\n", self.name));
        }
    }
}
