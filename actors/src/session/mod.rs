//! WebSocket sessions: one `SessionActor` per connection.
//!
//! `dispatch` executes commands and knows nothing of the transport;
//! `transport` is the only module that touches actix-web-actors, so moving
//! to another WebSocket library is a change to that one file.

pub mod dispatch;
pub mod forward;
pub mod remote;
pub mod transport;

use crate::agents::AgentMonitor;
use crate::backtests::BacktestManager;
use crate::engine::EngineActor;
use crate::registry::RegistryActor;
use crate::risk::RiskActor;
use crate::strategy::StrategyManager;
use crate::venue::directory::Venues;
use crate::venue::supervisor::ConnectionSupervisor;
use actix::Addr;
use laicai_core::wire::events::EventKind;
use laicai_core::wire::{Channel, SubscriptionSet};
use std::time::Duration;

pub use transport::{start_session, SessionActor};

use dispatch::Caller;
use laicai_core::protocol::CommandEnvelope;
use laicai_core::wire::Response;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Limits every session enforces.
#[derive(Clone, Debug)]
pub struct SessionLimits {
    /// Inbound messages per second (a token bucket).
    pub max_messages_per_sec: u32,
    /// Frames waiting in a session's outbox before the registry keeps
    /// them in its backlog.
    pub outbox: usize,
    pub max_frame_bytes: usize,
    pub heartbeat: Duration,
    pub idle_timeout: Duration,
    pub command_timeout: Duration,
}

/// What a session needs to serve its client.
#[derive(Debug, Clone)]
pub struct SessionDeps {
    pub clock: crate::clock::Clock,
    pub registry: Addr<RegistryActor>,
    pub engine: Addr<EngineActor>,
    pub risk: Addr<RiskActor>,
    pub strategies: Addr<StrategyManager>,
    pub connections: Addr<ConnectionSupervisor>,
    pub agents: Addr<AgentMonitor>,
    pub backtests: Addr<BacktestManager>,
    pub venues: Venues,
    /// Order and trade history.
    pub storage: crate::storage::Storage,
    pub limits: SessionLimits,
    /// Every command's time to answer, for `/metrics`.
    pub latency: std::sync::Arc<crate::latency::LatencyHistogram>,
    /// Set when the engine stops: every session closes with 1012 (service
    /// restart) so clients reconnect instead of holding the stop up.
    pub stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// What the transport needs: the registry it takes frames from, its
/// limits, and where its commands run.
#[derive(Debug, Clone)]
pub struct SessionLink {
    pub clock: crate::clock::Clock,
    pub registry: Addr<RegistryActor>,
    pub limits: SessionLimits,
    pub latency: Arc<crate::latency::LatencyHistogram>,
    /// How long frames wait for their session to take them, for
    /// `/metrics`.
    pub frame_waits: Arc<crate::latency::LatencyHistogram>,
    pub stopping: Arc<AtomicBool>,
    pub commands: Commands,
}

/// Where a session's commands run.
#[derive(Debug, Clone)]
pub enum Commands {
    /// Here: this process is the engine.
    Local(Box<SessionDeps>),
    /// In the engine behind the bus: this process is a gateway.
    Remote(Box<crate::bus::EngineLink>),
}

impl SessionLink {
    /// The link of a session of the engine itself.
    pub fn local(deps: SessionDeps) -> Self {
        SessionLink {
            clock: deps.clock,
            registry: deps.registry.clone(),
            limits: deps.limits.clone(),
            latency: deps.latency.clone(),
            frame_waits: Default::default(),
            stopping: deps.stopping.clone(),
            commands: Commands::Local(Box::new(deps)),
        }
    }

    /// Runs a command and answers it.
    pub async fn execute(self: Arc<Self>, caller: Caller, env: CommandEnvelope) -> Response {
        match &self.commands {
            Commands::Local(deps) => dispatch::execute((**deps).clone(), caller, env).await,
            Commands::Remote(engine) => {
                forward::execute(engine, &self.registry, &self.limits, caller, env).await
            }
        }
    }
}

/// What the gate decided about a new session: its scope, the subprotocol
/// to answer with, and the open-connection count it takes a place in.
#[derive(Debug)]
pub struct Admission {
    pub scope: laicai_core::auth::Scope,
    pub protocol: Option<String>,
    pub open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// The client's socket, for the registry to reset if it stops reading.
    pub socket: Option<crate::socket::ClientSocket>,
}

/// Which URL the client connected to; decides its first subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/stream`
    Stream,
    /// `/ws`
    General,
    /// `/ws/logs`
    Logs,
    /// `/api/v1/websocket`
    Subscription,
}

impl Endpoint {
    pub fn initial_subscriptions(self) -> SubscriptionSet {
        match self {
            Endpoint::Stream | Endpoint::General => SubscriptionSet::only(Channel::All),
            Endpoint::Logs => SubscriptionSet::only(Channel::Kind(EventKind::Log)),
            Endpoint::Subscription => SubscriptionSet::empty(),
        }
    }
}
