//! A gateway's intake: the engine's events from the bus into the
//! gateway's own registry (`RegistryActor::relaying`), numbered as the
//! engine numbered them.
//!
//! - It asks the engine for a `snapshot` (state as of its `seq`) and
//!   rebases the registry on it; then reads the events stream from as far
//!   back as the replay ring holds, so `replay` is served from the stream.
//!   Events up to the snapshot's `seq` are kept for replay only; later
//!   ones go to the sessions.
//! - Market data comes as it is published (the market stream keeps only
//!   the latest). Each message names the newest event numbered before it
//!   (`Laicai-After`); it waits until that event is relayed, so every
//!   session still sees `seq` rise.
//! - Once a second it asks the engine for its run id: no answer marks the
//!   engine down (an alert; commands fail with `engine_unavailable`), a new
//!   id means it restarted, and the state is rebased on a fresh snapshot.
//!
//! Losing NATS or the consumer starts the intake over from the last
//! stream message relayed; nothing is relayed twice (the registry drops
//! a `seq` it has passed).

use super::detached::Detached;
use super::link::{EngineLink, LinkError};
use super::publisher::{jittered, AFTER_HEADER};
use super::route::{stream_name, stream_subjects, Lane};
use crate::registry::{Publish, Rebase, RegistryActor, Relay};
use actix::Addr;
use async_nats::jetstream::{self, consumer::pull};
use bytes::Bytes;
use laicai_core::wire::events::{Envelope, Event, LogLevel};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long market data waits for the event it follows before it is
/// relayed anyway (the registry still drops it if it is stale).
const HOLD_AT_MOST: Duration = Duration::from_secs(1);
const HELLO_EVERY: Duration = Duration::from_secs(1);
/// Unanswered `hello`s in a row before the engine is reported down.
const SLOW_HELLOS: u32 = 3;
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What the intake has done, for `/metrics`, `/api/health/ready` and
/// `system_status`.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// The engine answers on the bus.
    pub engine_up: AtomicBool,
    /// Events and market data relayed to the registry.
    pub relayed: AtomicU64,
    /// The newest event `seq` relayed.
    pub last_event_seq: AtomicU64,
    /// Times the state was rebased on an engine snapshot.
    pub rebases: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("the engine: {0}")]
    Engine(#[from] LinkError),
    #[error("the events stream {stream}: {detail}")]
    Stream { stream: String, detail: String },
    #[error("an unreadable snapshot from the engine: {0}")]
    Snapshot(String),
    #[error("the bus connection was lost and is back")]
    Reconnected,
}

/// A gateway's connection options, and what is notified each time the
/// connection comes back after it was lost: the intake then starts over
/// at once (the stream's consumers did not survive a NATS restart).
pub fn connect_options(name: String) -> (async_nats::ConnectOptions, Arc<tokio::sync::Notify>) {
    let back = Arc::new(tokio::sync::Notify::new());
    let lost = Arc::new(AtomicBool::new(false));
    let notify = back.clone();
    let options = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .event_callback(move |event| {
            let (notify, lost) = (notify.clone(), lost.clone());
            async move {
                match event {
                    async_nats::Event::Disconnected => lost.store(true, Ordering::Relaxed),
                    async_nats::Event::Connected if lost.swap(false, Ordering::Relaxed) => {
                        notify.notify_one();
                    }
                    _ => {}
                }
            }
        });
    (options, back)
}

/// Starts the intake; it runs as long as the process.
pub fn start(
    client: async_nats::Client,
    reconnected: Arc<tokio::sync::Notify>,
    link: EngineLink,
    registry: Addr<RegistryActor>,
    replay_events: usize,
) -> Arc<FeedStats> {
    let stats = Arc::new(FeedStats::default());
    let mut feed = Feed {
        js: jetstream::new(client.clone()),
        client,
        link,
        registry,
        replay_events: replay_events.max(1) as u64,
        stats: stats.clone(),
        next_stream_seq: None,
        last_event_seq: 0,
        run: None,
        held: HashMap::new(),
        was_down: false,
        slow_hellos: 0,
        reconnected,
    };
    actix::spawn(async move { feed.run().await });
    stats
}

struct Feed {
    client: async_nats::Client,
    js: jetstream::Context,
    link: EngineLink,
    registry: Addr<RegistryActor>,
    replay_events: u64,
    stats: Arc<FeedStats>,
    /// The stream message to read next, once something was read.
    next_stream_seq: Option<u64>,
    last_event_seq: u64,
    /// The engine run the state was rebased on.
    run: Option<String>,
    /// Market data waiting for its event, the latest per subject.
    held: HashMap<String, (u64, u64, Bytes, Instant)>,
    /// The engine was reported down (and its return is to be reported).
    was_down: bool,
    /// `hello`s in a row that timed out.
    slow_hellos: u32,
    reconnected: Arc<tokio::sync::Notify>,
}

impl Feed {
    async fn run(&mut self) {
        let mut wait = RETRY_FIRST;
        loop {
            match self.intake().await {
                Ok(()) | Err(FeedError::Reconnected) => wait = RETRY_FIRST,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "gateway: intake stopped; starting over");
                    if let FeedError::Engine(LinkError::NoEngine(_)) = e {
                        self.engine_up(false);
                    }
                }
            }
            tokio::time::sleep(jittered(wait)).await;
            wait = (wait * 2).min(RETRY_MAX);
        }
    }

    /// One pass: rebase, then relay until something fails.
    async fn intake(&mut self) -> Result<(), FeedError> {
        let run = self.link.hello().await?;
        let (seq, snapshot) = self.snapshot().await?;
        let name = stream_name(self.link.engine(), Lane::Events);
        let stream_err = |detail: String| FeedError::Stream {
            stream: name.clone(),
            detail,
        };
        let mut stream = self
            .js
            .get_stream(&name)
            .await
            .map_err(|e| stream_err(e.to_string()))?;
        let info = stream
            .info()
            .await
            .map_err(|e| stream_err(e.to_string()))?
            .state
            .clone();
        let start_at = match self.next_stream_seq {
            Some(next) => next.max(info.first_sequence),
            None => info
                .first_sequence
                .max((info.last_sequence + 1).saturating_sub(self.replay_events)),
        };
        // Replay from before the first event read would miss events.
        let dropped_upto = if info.messages == 0 || start_at > info.last_sequence {
            seq
        } else {
            let first = stream
                .get_raw_message(start_at)
                .await
                .map_err(|e| stream_err(e.to_string()))?;
            envelope(&first.payload).map_or(seq, |e| e.seq.saturating_sub(1))
        };
        self.registry.do_send(Rebase {
            snapshot,
            seq,
            dropped_upto,
        });
        self.stats.rebases.fetch_add(1, Ordering::Relaxed);
        self.run = Some(run);
        self.engine_up(true);
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: start_at,
                },
                ..Default::default()
            })
            .await
            .map_err(|e| stream_err(e.to_string()))?;
        let mut events = Detached::new(
            consumer
                .messages()
                .await
                .map_err(|e| stream_err(e.to_string()))?,
        );
        let mut market = Detached::new(
            self.client
                .subscribe(stream_subjects(self.link.engine(), Lane::Market))
                .await
                .map_err(|e| stream_err(e.to_string()))?,
        );
        tracing::info!(stream = %name, from = start_at, seq, "gateway: relaying the engine's events");
        let mut hello = tokio::time::interval(HELLO_EVERY);
        loop {
            tokio::select! {
                m = events.next() => match m {
                    Some(Ok(m)) => {
                        if let Ok(info) = m.info() {
                            self.next_stream_seq = Some(info.stream_sequence + 1);
                        }
                        self.relay_event(&m.message.payload);
                    }
                    Some(Err(e)) => return Err(stream_err(e.to_string())),
                    None => return Err(stream_err("the consumer ended".into())),
                },
                m = market.next() => if let Some(m) = m {
                    self.take_market(m);
                },
                _ = hello.tick() => self.check_engine().await?,
                _ = self.reconnected.notified() => return Err(FeedError::Reconnected),
            }
        }
    }

    async fn snapshot(&self) -> Result<(u64, laicai_core::wire::events::Snapshot), FeedError> {
        let frame = self.link.snapshot().await?;
        match envelope(&frame) {
            Some(Envelope {
                seq,
                event: Event::Snapshot(s),
                ..
            }) => Ok((seq, s)),
            _ => Err(FeedError::Snapshot(
                String::from_utf8_lossy(&frame).chars().take(80).collect(),
            )),
        }
    }

    /// The engine answers with the run the state was rebased on; if it
    /// restarted, the state is rebased on its new snapshot.
    async fn check_engine(&mut self) -> Result<(), FeedError> {
        let hello = self.link.hello().await;
        if !matches!(hello, Err(LinkError::Timeout(_))) {
            self.slow_hellos = 0;
        }
        match hello {
            Ok(run) if Some(&run) == self.run.as_ref() => self.engine_up(true),
            Ok(run) => {
                let (seq, snapshot) = self.snapshot().await?;
                tracing::info!(seq, "gateway: the engine restarted; rebasing");
                self.registry.do_send(Rebase {
                    snapshot,
                    seq,
                    dropped_upto: seq,
                });
                self.stats.rebases.fetch_add(1, Ordering::Relaxed);
                self.run = Some(run);
                self.engine_up(true);
            }
            Err(LinkError::NoEngine(_)) => self.engine_up(false),
            // A busy engine may miss one; three in a row is an engine
            // that cannot answer.
            Err(LinkError::Timeout(_)) => {
                self.slow_hellos += 1;
                if self.slow_hellos >= SLOW_HELLOS {
                    self.engine_up(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
        self.release_held(true);
        Ok(())
    }

    fn engine_up(&mut self, up: bool) {
        let was = self.stats.engine_up.swap(up, Ordering::Relaxed);
        if was == up || (up && !self.was_down) {
            // Unchanged, or up for the first time: nothing to tell.
            return;
        }
        self.was_down = !up;
        let engine = self.link.engine();
        let (level, message) = if up {
            (
                LogLevel::Info,
                format!("The engine `{engine}` is back on the bus: commands go through again"),
            )
        } else {
            (
                LogLevel::Error,
                format!("The engine `{engine}` is not answering on the bus: commands fail with engine_unavailable until it is back; sessions stay open"),
            )
        };
        tracing::warn!(engine, up, "gateway: {message}");
        self.registry
            .do_send(Publish::alert(level, message, &self.link.node));
    }

    fn relay_event(&mut self, payload: &Bytes) {
        let Some(seq) = self.relay(payload) else {
            return;
        };
        self.last_event_seq = self.last_event_seq.max(seq);
        self.stats
            .last_event_seq
            .store(self.last_event_seq, Ordering::Relaxed);
        self.release_held(false);
    }

    fn take_market(&mut self, m: async_nats::Message) {
        let after = m
            .headers
            .as_ref()
            .and_then(|h| h.get(AFTER_HEADER))
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .unwrap_or(0);
        if after <= self.last_event_seq {
            self.relay(&m.payload);
            return;
        }
        let seq = envelope(&m.payload).map_or(0, |e| e.seq);
        self.held.insert(
            m.subject.to_string(),
            (after, seq, m.payload, Instant::now()),
        );
    }

    /// Relays held market data whose event has been relayed (or, with
    /// `overdue`, that waited too long), in `seq` order.
    fn release_held(&mut self, overdue: bool) {
        if self.held.is_empty() {
            return;
        }
        let last = self.last_event_seq;
        let mut due: Vec<(u64, Bytes)> = Vec::new();
        self.held.retain(|_, (after, seq, payload, since)| {
            let go = *after <= last || (overdue && since.elapsed() >= HOLD_AT_MOST);
            if go {
                due.push((*seq, payload.clone()));
            }
            !go
        });
        due.sort_by_key(|(seq, _)| *seq);
        for (_, payload) in due {
            self.relay(&payload);
        }
    }

    /// Hands one frame to the registry; answers its `seq`.
    fn relay(&self, payload: &Bytes) -> Option<u64> {
        let Some(Envelope { seq, event, .. }) = envelope(payload) else {
            tracing::warn!(
                frame = %String::from_utf8_lossy(payload).chars().take(80).collect::<String>(),
                "gateway: an unreadable frame from the bus; skipped"
            );
            return None;
        };
        let frame = bytestring::ByteString::try_from(payload.clone()).ok()?;
        self.registry.do_send(Relay { seq, event, frame });
        self.stats.relayed.fetch_add(1, Ordering::Relaxed);
        Some(seq)
    }
}

fn envelope(payload: &[u8]) -> Option<Envelope> {
    serde_json::from_slice(payload).ok()
}
