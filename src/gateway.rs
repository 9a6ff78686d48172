//! `laicai gateway --bus nats://… --bind ADDR`: the engine's WebSocket API
//! served from the bus, with no venues, strategies or storage here. The
//! same endpoints, auth, limits, subscriptions, slow-consumer policy,
//! `snapshot` and `seq`; events come from the engine's stream (`replay`
//! too), commands go to the engine by request/reply.

use crate::config::Config;
use crate::{http, StartError};
use actix::Actor;
use laicai_actors::bus::{feed, EngineLink};
use laicai_actors::clock::Clock;
use laicai_actors::registry::RegistryActor;
use laicai_actors::session::{Commands, SessionLink};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// A started gateway: its address and the HTTP server to await or stop.
pub struct Gateway {
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    stopping: Arc<AtomicBool>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A handle that closes every session (1012) when called, so clients
    /// move to another gateway at once.
    pub fn close_sessions(&self) -> impl Fn() {
        let stopping = self.stopping.clone();
        move || stopping.store(true, std::sync::atomic::Ordering::Release)
    }
}

/// Starts a gateway named `node` to the engine `cfg.bus.engine` on the
/// bus `cfg.bus.url`. NATS need not be up yet: the gateway serves at
/// once and says the engine is unavailable until it can reach it.
pub async fn start(cfg: Config, node: String) -> Result<Gateway, StartError> {
    let (listener, addr) = crate::listen(&cfg)?;
    let (options, reconnected) = feed::connect_options(format!("laicai gateway {node}"));
    let client = options
        .connect(cfg.bus.url.as_str())
        .await
        .map_err(|e| StartError::Bus(format!("{}: {e}", cfg.bus.url)))?;
    let limits: laicai_actors::session::SessionLimits = (&cfg.server).into();
    let link = EngineLink::new(
        client.clone(),
        cfg.bus.engine.clone(),
        node.clone(),
        limits.command_timeout,
    );
    let registry = RegistryActor::new((&cfg.server).into()).relaying();
    let event_ages = registry.event_ages();
    let registry = registry.start();
    let stats = feed::start(
        client,
        reconnected,
        link.clone(),
        registry.clone(),
        cfg.server.replay_events,
    );
    let stopping = Arc::new(AtomicBool::new(false));
    let state = http::AppState {
        link: Arc::new(SessionLink {
            clock: Clock::System,
            registry,
            limits,
            latency: Default::default(),
            frame_waits: Default::default(),
            stopping: stopping.clone(),
            commands: Commands::Remote(Box::new(link)),
        }),
        node: http::Node::Gateway {
            engine: cfg.bus.engine.clone(),
            feed: stats,
        },
        started: Instant::now(),
        gate: Arc::new(crate::gate(&cfg)),
        dropped_ticks: Default::default(),
        recorded_lost: Default::default(),
        bus: None,
        event_ages,
    };
    let server = http::server(http::StateCell::ready(state), listener, cfg.server.workers)
        .map_err(|source| StartError::Bind {
            addr: cfg.server.bind.clone(),
            source,
        })?;
    tracing::info!(%addr, %node, engine = %cfg.bus.engine, bus = %cfg.bus.url, "laicai gateway listening: ws://{addr}/api/stream");
    Ok(Gateway {
        addr,
        server,
        stopping,
    })
}
