//! `ConnectionSupervisor`: owns the exchange connections created at run
//! time (`create_connection` … `get_connections`) and restarts their
//! sessions. A failed session hands back its state (orders, seen fills,
//! followers); the next one starts after an exponential backoff with full
//! jitter (`Backoff`), the attempt count resets once a session has been up
//! for `stable`, and after `max_attempts` failures in a row the connection
//! is `failed` and an alert goes out. Every change is a `connection` event.
//! A session's failure never blocks anything else: it only ever sends
//! messages.

use crate::health::{watched, Handles, Load, Watch, Watched};
use crate::order_book::OrderBookActor;
use crate::registry::{NameConnection, Publish, RegistryActor};
use crate::storage::{Kind, SecretBox, Storage};
use crate::venue::binance::connector::{
    BinanceConnector, BinanceSettings, Carry, ConnectorReport, SessionFailure, Shutdown,
    TestAccount,
};
use crate::venue::binance::rest::Rest;
use crate::venue::directory::{VenueHandle, Venues};
use actix::prelude::*;
use awc::http::Method;
use laicai_core::backoff::Backoff;
use laicai_core::binance::wire::Account;
use laicai_core::error::Coded;
use laicai_core::error::ErrorCode;
use laicai_core::pair::Symbol;
use laicai_core::protocol::NewConnection;
use laicai_core::rng::Rng;
use laicai_core::venue::{Credentials, Secret};
use laicai_core::wire::events::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

pub const BINANCE_REST: &str = "https://api.binance.com";
pub const BINANCE_WS: &str = "wss://stream.binance.com:9443";
pub const TESTNET_REST: &str = "https://testnet.binance.vision";
pub const TESTNET_WS: &str = "wss://stream.testnet.binance.vision";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectionError {
    #[error("invalid `{field}`: {reason}")]
    InvalidParams { field: &'static str, reason: String },
    #[error("no connection `{0}`")]
    NotFound(String),
    #[error("{0}")]
    Exchange(String),
}

impl Coded for ConnectionError {
    fn code(&self) -> ErrorCode {
        match self {
            ConnectionError::InvalidParams { .. } => ErrorCode::InvalidParams,
            ConnectionError::NotFound(_) => ErrorCode::NotFound,
            ConnectionError::Exchange(_) => ErrorCode::ExchangeUnavailable,
        }
    }
}

#[derive(Debug, Message)]
#[rtype(result = "Result<ConnectionView, ConnectionError>")]
pub struct CreateConnection(pub NewConnection);

#[derive(Debug, Message)]
#[rtype(result = "Result<ConnectionView, ConnectionError>")]
pub struct DeleteConnection(pub String);

#[derive(Debug, Message)]
#[rtype(result = "Result<String, ConnectionError>")]
pub struct TestConnection(pub String);

#[derive(Debug, Message)]
#[rtype(result = "Vec<ConnectionView>")]
pub struct GetConnections;

/// Settings every Binance session shares (from `[connections]`).
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub backoff: Backoff,
    pub stable: Duration,
    pub max_attempts: u32,
    pub default_pairs: Vec<Symbol>,
    pub recv_window_ms: u64,
    pub silent_timeout: Duration,
    pub ping_interval: Duration,
    pub keepalive: Duration,
    pub request_timeout: Duration,
    pub max_server_errors: u32,
    pub book_depth: usize,
    pub orderbook_interval_ms: i64,
    pub history_limit: usize,
    /// Where it reads the wall time.
    pub clock: crate::clock::Clock,
}

#[derive(Debug)]
struct Entry {
    view: ConnectionView,
    settings: BinanceSettings,
    carry: Option<Carry>,
    actor: Option<Addr<BinanceConnector>>,
    session: u64,
    books: HashMap<Symbol, Addr<OrderBookActor>>,
}

#[derive(Debug)]
pub struct ConnectionSupervisor {
    cfg: SupervisorConfig,
    entries: BTreeMap<String, Entry>,
    next: u32,
    venues: Venues,
    registry: Addr<RegistryActor>,
    /// Connections and their sessions' orders and trades are stored here.
    storage: Option<Storage>,
    /// Seals the credentials it stores.
    sealer: Option<Arc<SecretBox>>,
    rng: Rng,
    load: Load,
    watch: Watch,
}

impl ConnectionSupervisor {
    pub fn new(
        cfg: SupervisorConfig,
        venues: Venues,
        registry: Addr<RegistryActor>,
        storage: Option<(Storage, Arc<SecretBox>)>,
    ) -> Self {
        let (storage, sealer) = storage.unzip();
        let seed = cfg.clock.now_ms() as u64 ^ 0x5eed;
        ConnectionSupervisor {
            cfg,
            storage,
            sealer,
            entries: BTreeMap::new(),
            next: 1,
            venues,
            registry,
            rng: Rng::new(seed),
            load: Load::default(),
            watch: None,
        }
    }

    /// Registers its connectors and their order books with a monitor.
    pub fn watched_by(mut self, watch: Watch) -> Self {
        self.watch = watch;
        self
    }

    fn publish(&self, id: &str) {
        if let Some(e) = self.entries.get(id) {
            self.registry
                .do_send(Publish::now(Event::Connection(e.view.clone())));
        }
    }

    fn alert(&self, level: LogLevel, message: String, source: &str) {
        self.registry
            .do_send(Publish::alert(level, message, source));
    }

    fn start_session(&mut self, id: &str, ctx: &mut Context<Self>) {
        let supervisor = ctx.address().recipient();
        let registry = self.registry.clone();
        let Some(e) = self.entries.get_mut(id) else {
            return;
        };
        e.session += 1;
        let carry = e.carry.take().unwrap_or_default();
        let actor = BinanceConnector::new(
            id,
            &e.view.name,
            e.session,
            e.settings.clone(),
            carry,
            registry,
            e.books.clone(),
            supervisor,
            self.storage.clone(),
        );
        let restarts = (e.session - 1) as u32;
        e.actor = Some(actor.start_watched(&self.watch, format!("connection:{id}"), restarts));
        e.view.status = ConnectionStatus::Connecting;
        e.view.next_retry_ms = None;
        e.view.message = if e.view.attempt == 0 {
            "connecting".into()
        } else {
            format!("reconnecting (attempt {})", e.view.attempt)
        };
        tracing::info!(connection = %id, attempt = e.view.attempt, "binance session starting");
        self.publish(id);
    }
}

impl Actor for ConnectionSupervisor {
    type Context = Context<Self>;
}

/// A connection as stored; its API key and secret sealed.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct StoredConnection {
    id: String,
    name: String,
    exchange: String,
    testnet: bool,
    rest_url: String,
    ws_url: String,
    pairs: Vec<Symbol>,
    api_key: String,
    api_secret: String,
}

/// Brings back stored connections at start (each reconnects and
/// reconciles its orders over REST before it trades). Answers how many.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct Restore(pub Vec<String>);

impl ConnectionSupervisor {
    /// Stores a connection, its credentials sealed.
    fn store(&self, id: &str) {
        let (Some(storage), Some(e)) = (&self.storage, self.entries.get(id)) else {
            return;
        };
        let Some(sealer) = &self.sealer else {
            return;
        };
        let c = &e.settings.credentials;
        let sealed = sealer
            .seal(c.api_key.expose())
            .and_then(|k| Ok((k, sealer.seal(c.api_secret.expose())?)));
        let (api_key, api_secret) = match sealed {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(connection = %id, error = %e, "connection not stored");
                return;
            }
        };
        let stored = StoredConnection {
            id: id.to_string(),
            name: e.view.name.clone(),
            exchange: e.view.exchange.clone(),
            testnet: e.view.testnet,
            rest_url: e.settings.rest_url.clone(),
            ws_url: e.settings.ws_url.clone(),
            pairs: e.settings.pairs.clone(),
            api_key,
            api_secret,
        };
        storage.put(Kind::Connection, id, &stored);
    }

    fn restore_one(&mut self, json: &str, ctx: &mut Context<Self>) -> Result<String, String> {
        let st: StoredConnection = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let sealer = self
            .sealer
            .as_ref()
            .ok_or("no key to open stored secrets")?;
        let credentials = Credentials {
            api_key: Secret::new(sealer.open(&st.api_key).map_err(|e| e.to_string())?),
            api_secret: Secret::new(sealer.open(&st.api_secret).map_err(|e| e.to_string())?),
        };
        if let Some(n) = st
            .id
            .strip_prefix("conn-")
            .and_then(|n| n.parse::<u32>().ok())
        {
            self.next = self.next.max(n + 1);
        }
        let n = NewConnection {
            exchange: st.exchange,
            credentials,
            testnet: st.testnet,
            name: Some(st.name),
            rest_url: Some(st.rest_url),
            ws_url: Some(st.ws_url),
            pairs: Some(st.pairs),
        };
        self.open(st.id.clone(), n, ctx)
            .map(|v| v.id)
            .map_err(|e| e.to_string())
    }
}

impl Handles<Restore> for ConnectionSupervisor {
    type Result = usize;
    fn handle(&mut self, msg: Restore, ctx: &mut Self::Context) -> usize {
        let mut restored = 0;
        for json in &msg.0 {
            match self.restore_one(json, ctx) {
                Ok(id) => {
                    restored += 1;
                    tracing::info!(connection = %id, "connection restored");
                }
                Err(e) => {
                    tracing::error!(error = %e, "a stored connection was not restored");
                    self.registry.do_send(Publish::alert(
                        LogLevel::Error,
                        format!("a stored connection could not be restored: {e}"),
                        "connections",
                    ));
                }
            }
        }
        restored
    }
}

impl Handles<CreateConnection> for ConnectionSupervisor {
    type Result = Result<ConnectionView, ConnectionError>;
    fn handle(&mut self, msg: CreateConnection, ctx: &mut Self::Context) -> Self::Result {
        let id = format!("conn-{}", self.next);
        let view = self.open(id.clone(), msg.0, ctx)?;
        self.next += 1;
        self.store(&id);
        Ok(view)
    }
}

impl ConnectionSupervisor {
    /// Adds a connection under `id` and starts its first session.
    fn open(
        &mut self,
        id: String,
        n: NewConnection,
        ctx: &mut Context<Self>,
    ) -> Result<ConnectionView, ConnectionError> {
        let name = n.name.clone().unwrap_or_else(|| {
            if n.testnet {
                "binance-testnet".into()
            } else {
                "binance".into()
            }
        });
        if self.venues.knows(&name) {
            return Err(ConnectionError::InvalidParams {
                field: "name",
                reason: format!("`{name}` is already an exchange; pick another name"),
            });
        }
        let (rest_default, ws_default) = if n.testnet {
            (TESTNET_REST, TESTNET_WS)
        } else {
            (BINANCE_REST, BINANCE_WS)
        };
        let pairs = n
            .pairs
            .clone()
            .unwrap_or_else(|| self.cfg.default_pairs.clone());
        let settings = BinanceSettings {
            rest_url: n.rest_url.clone().unwrap_or_else(|| rest_default.into()),
            ws_url: n.ws_url.clone().unwrap_or_else(|| ws_default.into()),
            credentials: n.credentials,
            recv_window_ms: self.cfg.recv_window_ms,
            pairs: pairs.clone(),
            silent_timeout: self.cfg.silent_timeout,
            ping_interval: self.cfg.ping_interval,
            keepalive: self.cfg.keepalive,
            request_timeout: self.cfg.request_timeout,
            book_depth: self.cfg.book_depth,
            history_limit: self.cfg.history_limit,
            max_server_errors: self.cfg.max_server_errors,
            clock: self.cfg.clock,
        };
        let books: HashMap<Symbol, Addr<OrderBookActor>> = pairs
            .iter()
            .map(|p| {
                let book = OrderBookActor::new(
                    &name,
                    p.as_str(),
                    self.registry.clone(),
                    self.cfg.book_depth,
                    self.cfg.orderbook_interval_ms,
                )
                .start_watched(&self.watch, format!("orderbook:{name}:{p}"), 0);
                self.venues.add_book(&name, p.as_str(), book.clone());
                (p.clone(), book)
            })
            .collect();
        self.venues.add(&name, &n.exchange, Some(&id));
        self.registry.do_send(NameConnection {
            exchange: name.clone(),
            connection_id: id.clone(),
        });
        let view = ConnectionView {
            id: id.clone(),
            name: name.clone(),
            exchange: n.exchange,
            status: ConnectionStatus::Connecting,
            message: "connecting".into(),
            attempt: 0,
            next_retry_ms: None,
            testnet: n.testnet,
            pairs: pairs.iter().map(|p| p.to_string()).collect(),
            rest_url: settings.rest_url.clone(),
            ws_url: settings.ws_url.clone(),
        };
        tracing::info!(connection = %id, %name, rest = %view.rest_url, "connection created");
        self.entries.insert(
            id.clone(),
            Entry {
                view: view.clone(),
                settings,
                carry: None,
                actor: None,
                session: 0,
                books,
            },
        );
        self.start_session(&id, ctx);
        Ok(view)
    }
}

impl Handles<ConnectorReport> for ConnectionSupervisor {
    type Result = ();
    fn handle(&mut self, msg: ConnectorReport, ctx: &mut Self::Context) {
        match msg {
            ConnectorReport::Connected { id, session, specs } => {
                let stable = self.cfg.stable;
                let Some(e) = self.entries.get_mut(&id) else {
                    return;
                };
                if e.session != session {
                    return;
                }
                e.view.status = ConnectionStatus::Connected;
                e.view.message = "connected".into();
                e.view.next_retry_ms = None;
                if let Some(a) = &e.actor {
                    self.venues.set(&e.view.name, Some(VenueHandle::of(a)));
                }
                self.venues.set_rules(&e.view.name, specs);
                self.publish(&id);
                ctx.run_later(stable, move |act, _| {
                    if let Some(e) = act.entries.get_mut(&id) {
                        if e.session == session
                            && e.view.status == ConnectionStatus::Connected
                            && e.view.attempt > 0
                        {
                            e.view.attempt = 0;
                            act.publish(&id);
                        }
                    }
                });
            }
            ConnectorReport::Failed {
                id,
                session,
                failure,
                carry,
            } => {
                let (reason, recoverable) = match failure {
                    SessionFailure::Transient(r) => (r, true),
                    SessionFailure::Fatal(r) => (r, false),
                };
                let (max_attempts, backoff) = (self.cfg.max_attempts, self.cfg.backoff);
                let Some(e) = self.entries.get_mut(&id) else {
                    return;
                };
                if e.session != session {
                    return;
                }
                e.carry = Some(*carry);
                e.actor = None;
                self.venues.set(&e.view.name, None);
                e.view.attempt += 1;
                let name = e.view.name.clone();
                if !recoverable || e.view.attempt > max_attempts {
                    e.view.status = ConnectionStatus::Failed;
                    e.view.next_retry_ms = None;
                    e.view.message = if recoverable {
                        format!("gave up after {max_attempts} attempts: {reason}")
                    } else {
                        format!("not retrying: {reason}")
                    };
                    let msg = format!("Connection {id} ({name}) failed: {}", e.view.message);
                    self.publish(&id);
                    self.alert(LogLevel::Error, msg, &name);
                    return;
                }
                let delay = backoff.delay_ms(e.view.attempt - 1, &mut self.rng);
                e.view.status = ConnectionStatus::Disconnected;
                e.view.next_retry_ms = Some(delay);
                e.view.message = reason.clone();
                tracing::warn!(connection = %id, attempt = e.view.attempt, delay_ms = delay, %reason, "binance reconnect scheduled");
                self.publish(&id);
                self.alert(
                    LogLevel::Warning,
                    format!("Connection {id} ({name}) lost: {reason}; retrying in {delay} ms"),
                    &name,
                );
                ctx.run_later(Duration::from_millis(delay), move |act, ctx| {
                    let due = act
                        .entries
                        .get(&id)
                        .is_some_and(|e| e.session == session && e.actor.is_none());
                    if due {
                        act.start_session(&id, ctx);
                    }
                });
            }
        }
    }
}

impl Handles<DeleteConnection> for ConnectionSupervisor {
    type Result = Result<ConnectionView, ConnectionError>;
    fn handle(&mut self, msg: DeleteConnection, _: &mut Self::Context) -> Self::Result {
        let id = self.venues_id(&msg.0);
        let mut e = self
            .entries
            .remove(&id)
            .ok_or_else(|| ConnectionError::NotFound(msg.0.clone()))?;
        if let Some(a) = e.actor.take() {
            a.do_send(Shutdown);
        }
        self.venues.remove(&e.view.name);
        if let Some(storage) = &self.storage {
            storage.delete(Kind::Connection, &id);
        }
        e.view.status = ConnectionStatus::Deleted;
        e.view.message = "deleted".into();
        self.registry
            .do_send(Publish::now(Event::Connection(e.view.clone())));
        tracing::info!(connection = %id, "connection deleted");
        Ok(e.view)
    }
}

impl ConnectionSupervisor {
    /// A connection's id from its id or its name.
    fn venues_id(&self, key: &str) -> String {
        if self.entries.contains_key(key) {
            return key.to_string();
        }
        self.entries
            .iter()
            .find(|(_, e)| e.view.name == key)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| key.to_string())
    }
}

impl Handles<TestConnection> for ConnectionSupervisor {
    type Result = ResponseActFuture<Self, Result<String, ConnectionError>>;
    fn handle(&mut self, msg: TestConnection, _: &mut Self::Context) -> Self::Result {
        let id = self.venues_id(&msg.0);
        let Some(e) = self.entries.get(&id) else {
            return Box::pin(fut::ready(Err(ConnectionError::NotFound(msg.0))));
        };
        if let Some(actor) = e.actor.clone() {
            let timeout = self.cfg.request_timeout * 3;
            return Box::pin(
                async move {
                    match actor.send(TestAccount).timeout(timeout).await {
                        Ok(Ok(ok)) => Ok(ok),
                        Ok(Err(e)) => Err(ConnectionError::Exchange(e)),
                        Err(e) => Err(ConnectionError::Exchange(format!("no answer: {e}"))),
                    }
                }
                .into_actor(self),
            );
        }
        // Down: one signed request of its own.
        let s = &e.settings;
        let rest = Rest::new(
            &s.rest_url,
            s.credentials.clone(),
            s.recv_window_ms,
            s.request_timeout,
            s.clock,
        );
        Box::pin(
            async move {
                rest.sync_time()
                    .await
                    .map_err(|e| ConnectionError::Exchange(e.to_string()))?;
                let a: Account = rest
                    .signed(Method::GET, "/api/v3/account", &[])
                    .await
                    .map_err(|e| ConnectionError::Exchange(e.to_string()))?;
                Ok(format!(
                    "healthy: signed account request answered ({} balances)",
                    a.balances.len()
                ))
            }
            .into_actor(self),
        )
    }
}

impl Handles<GetConnections> for ConnectionSupervisor {
    type Result = MessageResult<GetConnections>;
    fn handle(&mut self, _: GetConnections, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.entries.values().map(|e| e.view.clone()).collect())
    }
}

watched!(ConnectionSupervisor, |_| "running".into());

#[cfg(test)]
mod tests;
