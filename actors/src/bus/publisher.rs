//! The loop that moves the backlog onto NATS JetStream: connect (capped,
//! jittered backoff), make sure the two streams exist, learn what the
//! events stream already holds, then publish in `seq` order, each event
//! with its `seq` as `Nats-Msg-Id` and the stream sequence it must follow
//! (`Nats-Expected-Last-Sequence`), so nothing is stored twice or out of
//! order, whatever dropped in between. A refusal or a lost connection
//! gives the unstored events back and starts over.

use super::backlog::Pending;
use super::route::{stream_name, stream_subjects, Lane};
use super::{BusConfig, Shared};
use async_nats::jetstream::{self, message::PublishMessage, stream};
use std::time::Duration;

/// On market data: the `seq` of the newest event numbered before it. A
/// gateway, which gets events from the stream and market data as it is
/// published, relays that event first, so its clients see `seq` rise.
pub(super) const AFTER_HEADER: &str = "Laicai-After";

/// Events published before their acknowledgements are awaited.
const IN_FLIGHT: usize = 256;

const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub(super) enum BusError {
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("stream {stream}: {detail}")]
    Stream { stream: String, detail: String },
    #[error("publishing: {0}")]
    Publish(String),
}

/// Where the next event goes: the events stream, and the stream sequence
/// its last stored message has.
struct Link {
    js: jetstream::Context,
    last_stream_seq: u64,
}

pub(super) async fn run(cfg: BusConfig, shared: std::sync::Arc<Shared>) {
    let mut wait = RETRY_FIRST;
    loop {
        match connect(&cfg, &shared).await {
            Ok(mut link) => {
                shared.set_down(None);
                wait = RETRY_FIRST;
                if let Err(e) = pump(&mut link, &shared).await {
                    tracing::warn!(error = %e, "bus: publishing stopped; reconnecting");
                    shared.set_down(Some(e.to_string()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "bus: not connected");
                shared.set_down(Some(e.to_string()));
            }
        }
        tokio::time::sleep(jittered(wait)).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// `wait` ± 20 %, so engines and gateways do not retry in step.
pub(super) fn jittered(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let spread = 0.8 + 0.4 * f64::from(nanos % 1000) / 1000.0;
    wait.mul_f64(spread)
}

async fn connect(cfg: &BusConfig, shared: &Shared) -> Result<Link, BusError> {
    let client = async_nats::ConnectOptions::new()
        .name(format!("laicai engine {}", cfg.engine))
        .connection_timeout(Duration::from_secs(2))
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| BusError::Connect {
            url: cfg.url.clone(),
            detail: e.to_string(),
        })?;
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_secs(2));
    let events = ensure(
        &js,
        stream::Config {
            name: stream_name(&cfg.engine, Lane::Events),
            subjects: vec![stream_subjects(&cfg.engine, Lane::Events)],
            max_messages: cfg.keep_events as i64,
            duplicate_window: Duration::from_secs(120),
            storage: stream::StorageType::File,
            ..Default::default()
        },
    )
    .await?;
    ensure(
        &js,
        stream::Config {
            name: stream_name(&cfg.engine, Lane::Market),
            subjects: vec![stream_subjects(&cfg.engine, Lane::Market)],
            max_messages_per_subject: 1,
            storage: stream::StorageType::File,
            ..Default::default()
        },
    )
    .await?;
    // What the stream already has is not published again.
    let name = stream_name(&cfg.engine, Lane::Events);
    let stream_err = |detail: String| BusError::Stream {
        stream: name.clone(),
        detail,
    };
    let info = events
        .get_info()
        .await
        .map_err(|e| stream_err(e.to_string()))?;
    let last_stream_seq = info.state.last_sequence;
    if info.state.messages > 0 {
        let last = events
            .get_raw_message(last_stream_seq)
            .await
            .map_err(|e| stream_err(e.to_string()))?;
        if let Some(seq) = seq_of(&last.payload) {
            shared.backlog.lock().stored_upto(seq);
            shared
                .stats
                .last_seq
                .store(seq, std::sync::atomic::Ordering::Relaxed);
        }
    }
    tracing::info!(url = %cfg.url, stream = %name, last_stream_seq, "bus: connected");
    Ok(Link {
        js,
        last_stream_seq,
    })
}

async fn ensure(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<stream::Stream, BusError> {
    let name = config.name.clone();
    js.get_or_create_stream(config)
        .await
        .map_err(|e| BusError::Stream {
            stream: name,
            detail: e.to_string(),
        })
}

fn seq_of(payload: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    serde_json::from_slice::<Seq>(payload).ok().map(|s| s.seq)
}

/// Publishes until the connection fails.
async fn pump(link: &mut Link, shared: &Shared) -> Result<(), BusError> {
    loop {
        let woken = shared.wake.notified();
        let (events, market) = {
            let mut b = shared.backlog.lock();
            let taken = (b.take_events(IN_FLIGHT), b.take_market());
            let waiting = b.events_waiting() + taken.0.len();
            shared
                .stats
                .waiting
                .store(waiting as u64, std::sync::atomic::Ordering::Relaxed);
            taken
        };
        if events.is_empty() && market.is_empty() {
            woken.await;
            continue;
        }
        publish_events(link, shared, events).await?;
        publish_market(link, shared, market).await?;
    }
}

async fn publish_events(
    link: &mut Link,
    shared: &Shared,
    events: Vec<Pending>,
) -> Result<(), BusError> {
    let mut acks = Vec::with_capacity(events.len());
    let mut failed = None;
    for (i, p) in events.iter().enumerate() {
        let msg = PublishMessage::build()
            .payload(p.payload.clone())
            .message_id(p.routed.seq.to_string())
            .expected_last_sequence(link.last_stream_seq + i as u64);
        match link.js.send_publish(p.routed.subject.clone(), msg).await {
            Ok(ack) => acks.push(ack),
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        }
    }
    let mut stored = 0;
    for ack in acks {
        match ack.await {
            Ok(ack) => {
                stored += 1;
                link.last_stream_seq = ack.sequence;
                let stats = &shared.stats;
                stats
                    .published
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if ack.duplicate {
                    stats
                        .duplicates
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Err(e) => {
                failed.get_or_insert(e.to_string());
                break;
            }
        }
    }
    if let Some(last) = events[..stored].last() {
        shared
            .stats
            .last_seq
            .store(last.routed.seq, std::sync::atomic::Ordering::Relaxed);
    }
    match failed {
        None => Ok(()),
        Some(why) => {
            shared.backlog.lock().give_back(events[stored..].to_vec());
            Err(BusError::Publish(why))
        }
    }
}

async fn publish_market(
    link: &mut Link,
    shared: &Shared,
    market: Vec<Pending>,
) -> Result<(), BusError> {
    let mut acks = Vec::with_capacity(market.len());
    for p in &market {
        let msg = PublishMessage::build()
            .payload(p.payload.clone())
            .message_id(p.routed.seq.to_string())
            .header(AFTER_HEADER, p.after.to_string().as_str());
        match link.js.send_publish(p.routed.subject.clone(), msg).await {
            Ok(ack) => acks.push(ack),
            Err(e) => {
                shared.backlog.lock().give_back_market(market);
                return Err(BusError::Publish(e.to_string()));
            }
        }
    }
    for ack in acks {
        if let Err(e) = ack.await {
            shared.backlog.lock().give_back_market(market);
            return Err(BusError::Publish(e.to_string()));
        }
    }
    Ok(())
}
