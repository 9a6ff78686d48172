//! The engine's HTTP side: the WebSocket endpoints behind the gate (token,
//! failed-attempt limiter, connection count), `/api/health`, `/metrics`
//! (Prometheus text) and the dashboard's files.

use crate::dashboard;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::future::LocalBoxFuture;
use laicai_actors::agents::GetAgents;
use laicai_actors::registry::GetRegistryStats;
use laicai_actors::session::{start_session, Admission, Endpoint, SessionDeps, SessionLink};
use laicai_actors::socket::ClientSocket;
use laicai_core::auth::{presented_token, FailureLimiter, Scope, Tokens};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::VERSION;

#[derive(Clone)]
pub(crate) struct AppState {
    /// What sessions are started with.
    pub(crate) link: Arc<SessionLink>,
    /// What this process is.
    pub(crate) node: Node,
    pub(crate) started: Instant,
    pub(crate) gate: Arc<Gate>,
    /// Market ticks the feed dropped because the exchange was busy.
    pub(crate) dropped_ticks: Arc<AtomicU64>,
    /// Market trades the recorder could not take or write.
    pub(crate) recorded_lost: Arc<AtomicU64>,
    /// The bus's counters, when there is a bus.
    pub(crate) bus: Option<Arc<laicai_actors::bus::BusStats>>,
    /// How old events are when the registry fans them out.
    pub(crate) event_ages: Arc<laicai_actors::latency::LatencyHistogram>,
}

/// The engine itself, or a gateway to one on the bus.
#[derive(Clone)]
pub(crate) enum Node {
    Engine(Box<SessionDeps>),
    Gateway {
        engine: String,
        feed: Arc<laicai_actors::bus::feed::FeedStats>,
    },
}

/// Who may open a session: the token check, the failed-attempt limiter,
/// and the connection count.
pub(crate) struct Gate {
    pub(crate) tokens: Tokens,
    pub(crate) failures: Mutex<FailureLimiter>,
    pub(crate) open: Arc<AtomicUsize>,
    pub(crate) max_connections: usize,
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
        let now = laicai_actors::clock::Clock::System.now_ms();
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

/// Makes the app's state on the worker thread that calls it.
pub(crate) type MakeState = Box<dyn FnOnce() -> LocalBoxFuture<'static, AppState> + Send>;

/// Where every worker gets the app's state: given (a gateway), or made by
/// the first worker that starts, on its own thread (the engine: its
/// actors then run beside that worker's sessions, and a command from one
/// of them reaches risk and the venue without crossing a thread).
pub(crate) struct StateCell {
    state: tokio::sync::OnceCell<AppState>,
    make: Mutex<Option<MakeState>>,
}

impl StateCell {
    pub(crate) fn ready(state: AppState) -> Arc<Self> {
        Arc::new(StateCell {
            state: tokio::sync::OnceCell::new_with(Some(state)),
            make: Mutex::new(None),
        })
    }

    pub(crate) fn made_on_worker(make: MakeState) -> Arc<Self> {
        Arc::new(StateCell {
            state: tokio::sync::OnceCell::new(),
            make: Mutex::new(Some(make)),
        })
    }

    /// The state; the first caller makes it, the others wait for it.
    async fn get(&self) -> Result<AppState, &'static str> {
        let state = self
            .state
            .get_or_try_init(|| async {
                // Taken before the await: the lock is not held across it.
                let make = self.make.lock().take();
                match make {
                    Some(make) => Ok(make().await),
                    None => Err("the engine's start was abandoned"),
                }
            })
            .await?;
        Ok(state.clone())
    }
}

/// The HTTP server on `listener` with every route, not yet running;
/// `workers` 0 is one per core.
pub(crate) fn server(
    state: Arc<StateCell>,
    listener: std::net::TcpListener,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || {
        let state = state.clone();
        App::new()
            .data_factory(move || {
                let state = state.clone();
                async move { state.get().await }
            })
            .route("/api/stream", ws_route(Endpoint::Stream))
            .route("/ws", ws_route(Endpoint::General))
            .route("/ws/logs", ws_route(Endpoint::Logs))
            .route("/api/v1/websocket", ws_route(Endpoint::Subscription))
            .route("/api/health", web::get().to(health))
            .route("/api/health/live", web::get().to(live))
            .route("/api/health/ready", web::get().to(ready))
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
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
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
            start_session(&req, body, st.link.clone(), endpoint, admission)
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

/// The process serves HTTP: a supervisor restarts it when this fails.
async fn live(st: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "live",
        "uptime": st.started.elapsed().as_secs(),
    }))
}

/// Whether it can do its work: storage writable, the engine running and
/// answering, every venue connected. 503 with the reasons when not, so a
/// load balancer sends no one there and a supervisor can alert.
async fn ready(st: web::Data<AppState>) -> HttpResponse {
    let not_ready = match &st.node {
        Node::Engine(deps) => engine_not_ready(deps).await,
        Node::Gateway { engine, feed } => {
            if feed.engine_up.load(Ordering::Relaxed) {
                Vec::new()
            } else {
                vec![format!("the engine `{engine}` is not answering on the bus")]
            }
        }
    };
    let body = serde_json::json!({
        "status": if not_ready.is_empty() { "ready" } else { "not_ready" },
        "reasons": not_ready,
    });
    if not_ready.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn engine_not_ready(deps: &SessionDeps) -> Vec<String> {
    let mut not_ready = Vec::new();
    if let Some(why) = deps.storage.health().unavailable() {
        not_ready.push(format!("the database cannot be written: {why}"));
    }
    let status = deps
        .engine
        .send(laicai_actors::engine::GetSystemStatus)
        .timeout(std::time::Duration::from_secs(2))
        .await;
    match status {
        Ok(s) if s.bot_status == laicai_core::wire::events::BotStatus::Running => {}
        Ok(_) => not_ready.push("the engine is stopped (start_engine)".into()),
        Err(e) => not_ready.push(format!("the engine did not answer: {e}")),
    }
    for name in deps.venues.names() {
        if deps.venues.exchange(Some(&name)).is_none() {
            not_ready.push(format!("venue `{name}` is not connected"));
        }
    }
    not_ready
}

/// Each actor's restarts and mailbox.
fn agent_metrics(m: &mut Metrics, agents: &[laicai_core::wire::events::AgentStatus]) {
    let mut restarts = m.counter(
        "laicai_agent_restarts_total",
        "Restarts of each actor (strategies, exchange connections).",
    );
    for a in agents {
        restarts.value(&format!("agent=\"{}\"", a.agent_id), a.data.restarts);
    }
    let mut queue = m.gauge(
        "laicai_agent_queue",
        "Messages waiting in each actor's mailbox at the last probe.",
    );
    for a in agents {
        queue.value(&format!("agent=\"{}\"", a.agent_id), a.data.task_queue_size);
    }
}

/// A gateway's intake: the engine up, events relayed, rebases.
fn feed_metrics(m: &mut Metrics, feed: &laicai_actors::bus::feed::FeedStats) {
    m.gauge(
        "laicai_gateway_engine_up",
        "1 while the engine answers this gateway on the bus.",
    )
    .value("", u8::from(feed.engine_up.load(Ordering::Relaxed)));
    m.counter(
        "laicai_gateway_relayed_total",
        "Events and market data relayed from the bus to sessions.",
    )
    .value("", feed.relayed.load(Ordering::Relaxed));
    m.gauge(
        "laicai_gateway_last_event_seq",
        "The newest event seq relayed.",
    )
    .value("", feed.last_event_seq.load(Ordering::Relaxed));
    m.counter(
        "laicai_gateway_rebases_total",
        "Times the state was rebased on the engine's snapshot.",
    )
    .value("", feed.rebases.load(Ordering::Relaxed));
}

/// The storage thread's commits: their count, records (so the group
/// commit's batch size), time (and its spread, and how long writers
/// waited), failures, and whether it can write.
fn storage_metrics(m: &mut Metrics, storage: &laicai_actors::storage::Storage) {
    let health = storage.health().unavailable().is_some();
    let storage = storage.stats();
    m.counter(
        "laicai_storage_commits_total",
        "Transactions committed (or tried), each one fsync when fsync is on.",
    )
    .value("", storage.batches.load(Ordering::Relaxed));
    m.counter(
        "laicai_storage_commits_on_venue_thread_total",
        "Of those, commits a venue made on its own thread (fsync off: one per burst of orders).",
    )
    .value("", storage.batches_here.load(Ordering::Relaxed));
    m.counter(
        "laicai_storage_records_total",
        "Records written: records per commit is the group commit's batch size.",
    )
    .value("", storage.records.load(Ordering::Relaxed));
    m.counter(
        "laicai_storage_commit_seconds_total",
        "Time spent committing.",
    )
    .value(
        "",
        storage.commit_micros.load(Ordering::Relaxed) as f64 / 1e6,
    );
    m.counter(
        "laicai_storage_failed_commits_total",
        "Commits that failed and were held for a retry.",
    )
    .value("", storage.failed_batches.load(Ordering::Relaxed));
    m.gauge(
        "laicai_storage_unavailable",
        "1 while the database cannot be written.",
    )
    .value("", u8::from(health));
    m.0.push_str(&storage.commit_times.render(
        "laicai_storage_commit_seconds",
        "Time each commit took (its fsync included, when fsync is on), on the storage thread or, with fsync off, a venue's.",
    ));
    m.0.push_str(&storage.durable_waits.render(
        "laicai_storage_durable_wait_seconds",
        "For each commit a writer waited for: from its oldest waiting write being queued to the acknowledgement.",
    ));
}

/// The bus to gateways: connected, published, waiting, dropped.
fn bus_metrics(m: &mut Metrics, bus: &laicai_actors::bus::BusStats) {
    m.gauge(
        "laicai_bus_connected",
        "1 while the bus (NATS JetStream) takes events.",
    )
    .value("", u8::from(bus.connected.load(Ordering::Relaxed)));
    m.counter(
        "laicai_bus_published_total",
        "Events stored in the bus's events stream.",
    )
    .value("", bus.published.load(Ordering::Relaxed));
    m.counter(
        "laicai_bus_duplicates_total",
        "Events the stream already had (deduplicated by seq).",
    )
    .value("", bus.duplicates.load(Ordering::Relaxed));
    m.gauge(
        "laicai_bus_last_seq",
        "The newest event seq the events stream holds.",
    )
    .value("", bus.last_seq.load(Ordering::Relaxed));
    m.gauge("laicai_bus_waiting", "Events waiting for the bus.")
        .value("", bus.waiting.load(Ordering::Relaxed));
    m.counter(
        "laicai_bus_dropped_total",
        "Events dropped from the backlog while the bus was away too long.",
    )
    .value("", bus.dropped.load(Ordering::Relaxed));
}

async fn metrics(st: web::Data<AppState>) -> HttpResponse {
    let Ok(stats) = st.link.registry.send(GetRegistryStats).await else {
        return HttpResponse::ServiceUnavailable().body("registry unavailable\n");
    };
    let agents = match &st.node {
        Node::Engine(deps) => deps.agents.send(GetAgents).await.unwrap_or_default(),
        Node::Gateway { .. } => Vec::new(),
    };
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
    match &st.node {
        Node::Engine(deps) => storage_metrics(&mut m, &deps.storage),
        Node::Gateway { feed, .. } => feed_metrics(&mut m, feed),
    }
    if let Some(bus) = &st.bus {
        bus_metrics(&mut m, bus);
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
    agent_metrics(&mut m, &agents);
    m.counter(
        "laicai_log_lines_dropped_total",
        "Log lines not written to stdout because its reader fell too far behind.",
    )
    .value("", crate::log_output::dropped_lines());
    let mut body = m.0;
    body.push_str(&st.link.latency.render(
        "laicai_command_seconds",
        "Time from a command frame's arrival to its response.",
    ));
    body.push_str(&st.event_ages.render(
        "laicai_event_age_seconds",
        "Time from an event's source (a market tick, a fill) to the registry fanning it out, in whole milliseconds.",
    ));
    body.push_str(&st.link.frame_waits.render(
        "laicai_frame_wait_seconds",
        "Time from the registry's offer of a session's first waiting frame to the session taking it.",
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
