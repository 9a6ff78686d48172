//! `WebSocketClient`: one connection to the engine that holds on. It
//! reconnects with backoff and jitter, re-subscribes, replays what it
//! missed (handlers see every event once, in `seq` order — see
//! `Sequencer`), pings and notices a dead server, and correlates command
//! answers by `request_id`. It runs on the actix runtime
//! (`#[actix_rt::main]`, `actix_rt::System`) like awc, its transport.

use crate::config::{ConnectionConfig, ConnectionState, SubscriptionConfig};
use crate::error::ClientError;
use crate::message::Incoming;
use crate::sequencer::{Kind, Out, Sequencer};
use actix_codec::Framed;
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use laicai_core::backoff::Backoff;
use laicai_core::protocol::Command;
use laicai_core::rng::Rng;
use laicai_core::wire::events::{Envelope, Event};
use serde::Serialize;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

type Conn = Framed<awc::BoxedSocket, ws::Codec>;
type AsyncHandler = Rc<dyn Fn(Incoming) -> Pin<Box<dyn Future<Output = ()>>>>;

#[derive(Clone)]
enum Handler {
    Sync(Rc<dyn Fn(&Incoming)>),
    Async(AsyncHandler),
}

/// Reconnect delays never grow beyond this.
const MAX_RECONNECT_DELAY_MS: u64 = 30_000;

/// A frame larger than this from the server is refused.
const MAX_FRAME: usize = 64 << 20;

/// The client's counters, as `stats()` reports them.
#[derive(Clone, Debug, Serialize)]
pub struct ClientStats {
    pub messages_received: u64,
    pub messages_sent: u64,
    pub reconnect_count: u64,
    pub errors: u64,
    pub state: ConnectionState,
    /// The URL connected to (or last tried).
    pub url: String,
    pub connection_id: Option<String>,
    pub subscriptions_count: usize,
    /// Since the current connection was made (zero when not connected).
    #[serde(serialize_with = "as_secs")]
    pub uptime: Duration,
    /// The last `seq` handed to handlers.
    pub last_seq: u64,
    /// Frames dropped because they had been handed over already.
    pub duplicates_dropped: u64,
    /// Times it could not replay and resynced from a snapshot.
    pub resyncs: u64,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[derive(Default)]
struct Counters {
    received: u64,
    sent: u64,
    reconnects: u64,
    errors: u64,
    connection_id: Option<String>,
    connected_at: Option<Instant>,
    resyncs: u64,
}

enum Outgoing {
    Text(String),
    Close,
}

type Answer = oneshot::Sender<Result<Value, ClientError>>;

struct Shared {
    config: ConnectionConfig,
    state: watch::Sender<ConnectionState>,
    handlers: RefCell<Vec<(String, Handler)>>,
    streams: RefCell<Vec<mpsc::UnboundedSender<Incoming>>>,
    subscriptions: RefCell<BTreeMap<String, SubscriptionConfig>>,
    /// Commands (and subscriptions, as `sub:<id>`) waiting for an answer.
    pending: RefCell<HashMap<String, Answer>>,
    outbox: RefCell<Option<mpsc::UnboundedSender<Outgoing>>>,
    /// To the task that calls the handlers, in order.
    deliveries: mpsc::UnboundedSender<Incoming>,
    undelivered: RefCell<Option<mpsc::UnboundedReceiver<Incoming>>>,
    counters: RefCell<Counters>,
    /// What has been handed to handlers (`last`, duplicates); borrowed
    /// only between awaits.
    sequencer: RefCell<Sequencer<Incoming>>,
    next_id: Cell<u64>,
    closing: Cell<bool>,
    /// Which of `urls(config)` the connection is (or was last) on.
    current_url: Cell<usize>,
}

impl Shared {
    fn set_state(&self, s: ConnectionState) {
        self.state.send_replace(s);
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.borrow_mut());
    }

    fn deliver(&self, outs: Vec<Out<Incoming>>) {
        for out in outs {
            let item = match out {
                Out::Item(i) => i,
                Out::Resync(reason) => {
                    self.count(|c| c.resyncs += 1);
                    tracing::warn!(%reason, "events were missed: resyncing from a snapshot");
                    Incoming::Resync { reason }
                }
            };
            let _ = self.deliveries.send(item);
        }
    }

    /// Every waiting command learns the connection is gone.
    fn fail_pending(&self) {
        for (_, answer) in self.pending.borrow_mut().drain() {
            let _ = answer.send(Err(ClientError::ConnectionLost));
        }
    }

    fn send(&self, text: String) -> Result<(), ClientError> {
        let state = *self.state.borrow();
        if state != ConnectionState::Connected {
            return Err(ClientError::NotConnected(state));
        }
        match &*self.outbox.borrow() {
            Some(tx) if tx.send(Outgoing::Text(text)).is_ok() => Ok(()),
            _ => Err(ClientError::NotConnected(state)),
        }
    }

    /// Sends `frame` and waits for the answer filed under `key`.
    async fn ask(&self, key: String, frame: Value) -> Result<Value, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(key.clone(), tx);
        if let Err(e) = self.send(frame.to_string()) {
            self.pending.borrow_mut().remove(&key);
            return Err(e);
        }
        match actix_rt::time::timeout(self.config.timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ClientError::ConnectionLost),
            Err(_) => {
                self.pending.borrow_mut().remove(&key);
                Err(ClientError::Timeout(self.config.timeout))
            }
        }
    }
}

/// A client of one engine. Clones share the connection.
#[derive(Clone)]
pub struct WebSocketClient {
    shared: Rc<Shared>,
}

impl fmt::Debug for WebSocketClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketClient")
            .field("config", &self.shared.config)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl WebSocketClient {
    pub fn new(config: ConnectionConfig) -> Self {
        let (deliveries, undelivered) = mpsc::unbounded_channel();
        WebSocketClient {
            shared: Rc::new(Shared {
                config,
                state: watch::channel(ConnectionState::Disconnected).0,
                handlers: RefCell::default(),
                streams: RefCell::default(),
                subscriptions: RefCell::default(),
                pending: RefCell::default(),
                outbox: RefCell::default(),
                deliveries,
                undelivered: RefCell::new(Some(undelivered)),
                counters: RefCell::default(),
                sequencer: RefCell::default(),
                next_id: Cell::new(0),
                closing: Cell::new(false),
                current_url: Cell::new(0),
            }),
        }
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.shared.config
    }

    pub fn state(&self) -> ConnectionState {
        *self.shared.state.borrow()
    }

    /// Watches the state change (`changed().await`, `borrow()`).
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.subscribe()
    }

    /// Connects (one attempt per URL, its own then the fallbacks, each
    /// within `timeout`). Once connected, a lost connection is re-made in
    /// the background.
    pub async fn connect(&self) -> Result<(), ClientError> {
        let state = self.state();
        if matches!(
            state,
            ConnectionState::Connected
                | ConnectionState::Connecting
                | ConnectionState::Reconnecting
        ) {
            return Ok(());
        }
        if let Some(rx) = self.shared.undelivered.borrow_mut().take() {
            actix_rt::spawn(call_handlers(Rc::downgrade(&self.shared), rx));
        }
        self.shared.closing.set(false);
        self.shared.set_state(ConnectionState::Connecting);
        // Its URL, then each fallback in turn.
        let mut last = None;
        let mut conn = None;
        for (i, url) in urls(&self.shared.config).into_iter().enumerate() {
            match open(&self.shared.config, url).await {
                Ok(c) => {
                    self.shared.current_url.set(i);
                    conn = Some(c);
                    break;
                }
                Err(e) => {
                    self.shared.count(|c| c.errors += 1);
                    last = Some(e);
                }
            }
        }
        let Some(conn) = conn else {
            self.shared.set_state(ConnectionState::Disconnected);
            return Err(last.unwrap_or(ClientError::Connect {
                url: self.shared.config.url.clone(),
                reason: "no URL to connect to".into(),
            }));
        };
        let (tx, rx) = mpsc::unbounded_channel();
        *self.shared.outbox.borrow_mut() = Some(tx);
        mark_connected(&self.shared);
        actix_rt::spawn(hold(self.shared.clone(), conn, rx));
        Ok(())
    }

    /// Closes the connection; no reconnect follows.
    pub async fn disconnect(&self) {
        self.shared.closing.set(true);
        if let Some(tx) = self.shared.outbox.borrow_mut().take() {
            let _ = tx.send(Outgoing::Close);
        }
        let mut state = self.watch_state();
        let closed =
            state.wait_for(|s| matches!(s, ConnectionState::Disconnected | ConnectionState::Error));
        let _ = actix_rt::time::timeout(self.shared.config.timeout, closed).await;
        self.shared.set_state(ConnectionState::Disconnected);
    }

    /// Calls `handler` for every message of `event_type` (`order_update`,
    /// `price`, …; `resync` for a resync notice; `*` for everything), in
    /// order, off the socket's task.
    pub fn add_message_handler(&self, event_type: &str, handler: impl Fn(&Incoming) + 'static) {
        self.shared
            .handlers
            .borrow_mut()
            .push((event_type.to_string(), Handler::Sync(Rc::new(handler))));
    }

    /// Like `add_message_handler`; each call is awaited before the next
    /// message is handed to any handler.
    pub fn add_async_handler<F, Fut>(&self, event_type: &str, handler: F)
    where
        F: Fn(Incoming) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let handler: AsyncHandler = Rc::new(move |m| Box::pin(handler(m)));
        self.shared
            .handlers
            .borrow_mut()
            .push((event_type.to_string(), Handler::Async(handler)));
    }

    /// Every message from now on, typed or raw (unknown event types arrive
    /// as `Incoming::Unknown`), in the order handlers see them.
    pub fn messages(&self) -> mpsc::UnboundedReceiver<Incoming> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.streams.borrow_mut().push(tx);
        rx
    }

    /// Subscribes (the protocol's SDK form) and waits for the engine's
    /// acknowledgement. Kept and restored after every reconnect.
    pub async fn subscribe(&self, id: &str, config: SubscriptionConfig) -> Result<(), ClientError> {
        let limit = self.shared.config.max_subscriptions;
        {
            let subs = self.shared.subscriptions.borrow();
            if !subs.contains_key(id) && subs.len() >= limit {
                return Err(ClientError::SubscriptionLimit(limit));
            }
        }
        let frame = config.frame("subscribe", id);
        self.shared.ask(format!("sub:{id}"), frame).await?;
        self.shared
            .subscriptions
            .borrow_mut()
            .insert(id.to_string(), config);
        Ok(())
    }

    pub async fn unsubscribe(&self, id: &str) -> Result<(), ClientError> {
        let Some(config) = self.shared.subscriptions.borrow_mut().remove(id) else {
            return Ok(());
        };
        let frame = config.frame("unsubscribe", id);
        self.shared
            .ask(format!("sub:{id}"), frame)
            .await
            .map(|_| ())
    }

    /// Sends a command (`{"cmd": …}`) and waits for its response. A refusal
    /// (`success: false`) is `ClientError::Command` with the engine's code.
    pub async fn command(&self, mut cmd: Value) -> Result<Value, ClientError> {
        let n = self.shared.next_id.get() + 1;
        self.shared.next_id.set(n);
        let id = format!("sdk-{n}");
        if let Some(map) = cmd.as_object_mut() {
            map.insert("request_id".into(), json!(id));
        }
        let answer = self.shared.ask(id, cmd).await?;
        if answer["success"] == json!(true) {
            return Ok(answer);
        }
        Err(ClientError::Command {
            code: answer["error"].as_str().unwrap_or("unknown").to_string(),
            message: answer["message"].as_str().unwrap_or_default().to_string(),
            response: Box::new(answer),
        })
    }

    pub fn stats(&self) -> ClientStats {
        let c = self.shared.counters.borrow();
        let sequencer = self.shared.sequencer.borrow();
        let state = self.state();
        ClientStats {
            messages_received: c.received,
            messages_sent: c.sent,
            reconnect_count: c.reconnects,
            errors: c.errors,
            state,
            url: urls(&self.shared.config)
                .get(self.shared.current_url.get())
                .map_or_else(String::new, |u| u.to_string()),
            connection_id: c.connection_id.clone(),
            subscriptions_count: self.shared.subscriptions.borrow().len(),
            uptime: match (state, c.connected_at) {
                (ConnectionState::Connected, Some(at)) => at.elapsed(),
                _ => Duration::ZERO,
            },
            last_seq: sequencer.last(),
            duplicates_dropped: sequencer.duplicates(),
            resyncs: c.resyncs,
        }
    }
}

/// Every URL the client may use: its own, then the fallbacks.
fn urls(config: &ConnectionConfig) -> Vec<&str> {
    std::iter::once(config.url.as_str())
        .chain(config.fallback_urls.iter().map(String::as_str))
        .collect()
}

/// Opens the WebSocket to `url`, with the token, within `timeout`.
async fn open(config: &ConnectionConfig, url: &str) -> Result<Conn, ClientError> {
    let fail = |reason: String| ClientError::Connect {
        url: url.to_string(),
        reason,
    };
    let client = awc::Client::builder().timeout(config.timeout).finish();
    let mut req = client.ws(url).max_frame_size(MAX_FRAME);
    if let Some(key) = &config.api_key {
        req = req.set_header("Authorization", format!("Bearer {key}"));
    }
    match actix_rt::time::timeout(config.timeout, req.connect()).await {
        Ok(Ok((_, conn))) => Ok(conn),
        Ok(Err(awc::error::WsClientError::InvalidResponseStatus(s))) => Err(fail(format!(
            "HTTP {}{}",
            s.as_u16(),
            if s.as_u16() == 401 {
                " (check the token)"
            } else {
                ""
            }
        ))),
        Ok(Err(e)) => Err(fail(e.to_string())),
        Err(_) => Err(fail(format!("no answer within {:?}", config.timeout))),
    }
}

fn mark_connected(shared: &Shared) {
    let n = shared.next_id.get() + 1;
    shared.next_id.set(n);
    let id = format!("{:x}-{n}", std::process::id());
    shared.count(|c| {
        c.connection_id = Some(id);
        c.connected_at = Some(Instant::now());
    });
    shared.set_state(ConnectionState::Connected);
}

/// Why a connection ended.
enum End {
    /// `disconnect()`.
    Closed,
    Lost(String),
}

/// Keeps the client connected until `disconnect()` or the reconnect
/// attempts run out.
async fn hold(shared: Rc<Shared>, mut conn: Conn, mut outbox: mpsc::UnboundedReceiver<Outgoing>) {
    let backoff = Backoff::new(
        shared.config.reconnect_delay.as_millis().max(1) as u64,
        MAX_RECONNECT_DELAY_MS.max(shared.config.reconnect_delay.as_millis() as u64),
    )
    .unwrap_or_else(|_| Backoff::new(1000, MAX_RECONNECT_DELAY_MS).expect("valid backoff"));
    let mut rng = Rng::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.as_nanos() as u64),
    );
    loop {
        let end = serve(&shared, &mut conn, &mut outbox).await;
        shared.fail_pending();
        // Frames queued for the lost connection are not sent on the next.
        while outbox.try_recv().is_ok() {}
        let reason = match end {
            End::Closed => break,
            End::Lost(_) if shared.closing.get() => break,
            End::Lost(reason) => reason,
        };
        tracing::warn!(%reason, url = %urls(&shared.config)[shared.current_url.get()], "connection lost: reconnecting");
        shared.count(|c| {
            c.errors += 1;
            c.connected_at = None;
        });
        shared.set_state(ConnectionState::Reconnecting);
        let mut attempt = 0;
        conn = loop {
            if attempt >= shared.config.max_reconnect_attempts {
                tracing::error!(attempts = attempt, "giving up reconnecting");
                shared.set_state(ConnectionState::Error);
                return;
            }
            let wait = backoff.delay_ms(attempt, &mut rng);
            actix_rt::time::sleep(Duration::from_millis(wait)).await;
            if shared.closing.get() {
                shared.set_state(ConnectionState::Disconnected);
                return;
            }
            // Each attempt tries every URL, the one after the URL lost first.
            let urls = urls(&shared.config);
            let mut opened = None;
            for k in 1..=urls.len() {
                let i = (shared.current_url.get() + k) % urls.len();
                match open(&shared.config, urls[i]).await {
                    Ok(c) => {
                        shared.current_url.set(i);
                        opened = Some(c);
                        break;
                    }
                    Err(e) => {
                        shared.count(|c| c.errors += 1);
                        tracing::warn!(error = %e, attempt, "reconnect failed");
                    }
                }
            }
            match opened {
                Some(c) => break c,
                None => attempt += 1,
            }
        };
        shared.count(|c| c.reconnects += 1);
        mark_connected(&shared);
    }
    shared.set_state(ConnectionState::Disconnected);
}

/// The replay this connection asked for, if any.
const REPLAY_ID: &str = "sdk-replay";

/// Serves one connection until it ends.
async fn serve(
    shared: &Shared,
    conn: &mut Conn,
    outbox: &mut mpsc::UnboundedReceiver<Outgoing>,
) -> End {
    let timeout = shared.config.timeout;
    let mut first_frames = Vec::new();
    let since = shared.sequencer.borrow_mut().reconnected();
    if since.is_some() {
        // The same subscriptions, then the missed events.
        for (id, sub) in shared.subscriptions.borrow().iter() {
            first_frames.push(sub.frame("subscribe", id).to_string());
        }
    }
    if let Some(since) = since {
        first_frames.push(
            Command::Replay { since_seq: since }
                .to_frame(Some(json!(REPLAY_ID)))
                .to_string(),
        );
    }
    for text in first_frames {
        if let Err(e) = conn.send(ws::Message::Text(text.into())).await {
            return End::Lost(e.to_string());
        }
        shared.count(|c| c.sent += 1);
    }
    let catch_up_by = Instant::now() + timeout;
    let mut heartbeat = actix_rt::time::interval(shared.config.heartbeat_interval);
    heartbeat.tick().await;
    let mut check = actix_rt::time::interval(Duration::from_millis(100).min(timeout / 4));
    let mut last_heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    loop {
        tokio::select! {
            frame = conn.next() => {
                let frame = match frame {
                    None => return End::Lost("the server closed the connection".into()),
                    Some(Err(e)) => return End::Lost(e.to_string()),
                    Some(Ok(f)) => f,
                };
                last_heard = Instant::now();
                ping_sent = None;
                match frame {
                    ws::Frame::Text(bytes) => {
                        shared.count(|c| c.received += 1);
                        match std::str::from_utf8(&bytes) {
                            Ok(text) => on_text(shared, text),
                            Err(_) => shared.count(|c| c.errors += 1),
                        }
                    }
                    ws::Frame::Ping(p) => {
                        if let Err(e) = conn.send(ws::Message::Pong(p)).await {
                            return End::Lost(e.to_string());
                        }
                    }
                    ws::Frame::Close(reason) => {
                        return End::Lost(format!("closed by the server: {reason:?}"));
                    }
                    _ => {}
                }
            }
            out = outbox.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if let Err(e) = conn.send(ws::Message::Text(text.into())).await {
                        return End::Lost(e.to_string());
                    }
                    shared.count(|c| c.sent += 1);
                }
                Some(Outgoing::Close) | None => {
                    let _ = conn.send(ws::Message::Close(None)).await;
                    return End::Closed;
                }
            },
            _ = heartbeat.tick() => {
                if let Err(e) = conn.send(ws::Message::Ping("laicai-client".into())).await {
                    return End::Lost(e.to_string());
                }
                ping_sent.get_or_insert_with(Instant::now);
            }
            _ = check.tick() => {
                let silent = last_heard.elapsed();
                if ping_sent.is_some_and(|at| at.elapsed() > timeout)
                    || silent > shared.config.heartbeat_interval + timeout
                {
                    return End::Lost(format!("the server did not answer for {silent:?}"));
                }
                let mut sequencer = shared.sequencer.borrow_mut();
                if sequencer.catching_up() && Instant::now() > catch_up_by {
                    let outs = sequencer.resync("the replay did not complete in time".into());
                    shared.deliver(outs);
                }
            }
        }
    }
}

/// One text frame: an answer, an acknowledgement, or an event.
fn on_text(shared: &Shared, text: &str) {
    let mut sequencer = shared.sequencer.borrow_mut();
    let Ok(raw) = serde_json::from_str::<Value>(text) else {
        shared.count(|c| c.errors += 1);
        tracing::warn!("a frame that is not JSON");
        return;
    };
    let kind = raw["type"].as_str().unwrap_or_default().to_string();
    match kind.as_str() {
        "response" => {
            let id = raw["request_id"].as_str().unwrap_or_default();
            if id == REPLAY_ID {
                let outs = if raw["success"] == json!(true) {
                    let upto = raw["seq"].as_u64().unwrap_or(0);
                    let count = raw["count"].as_u64().unwrap_or(0) as usize;
                    sequencer.replayed(upto, count)
                } else {
                    let why = raw["message"].as_str().unwrap_or("replay refused");
                    sequencer.resync(format!("{}: {why}", raw["error"].as_str().unwrap_or("")))
                };
                shared.deliver(outs);
            } else if let Some(answer) = shared.pending.borrow_mut().remove(id) {
                let _ = answer.send(Ok(raw));
            }
            return;
        }
        "subscribed" | "unsubscribed" => {
            let id = raw["subscription_id"].as_str().unwrap_or_default();
            if let Some(answer) = shared.pending.borrow_mut().remove(&format!("sub:{id}")) {
                let _ = answer.send(Ok(raw));
            }
            return;
        }
        "pong" => return,
        "error" => shared.count(|c| c.errors += 1),
        _ => {}
    }
    let Some(seq) = raw["seq"].as_u64() else {
        shared.deliver(vec![Out::Item(Incoming::Unknown {
            kind,
            seq: None,
            raw,
        })]);
        return;
    };
    // The engine replays everything but market data and the `error`s it
    // numbers for one connection; a type this SDK does not know is
    // replayed too.
    let (order, item) = match serde_json::from_str::<Envelope>(text) {
        Ok(envelope) => {
            let order = match &envelope.event {
                Event::Snapshot(_) => Kind::Snapshot,
                Event::Error(_) => Kind::Own,
                e if e.is_market_data() => Kind::Market,
                _ => Kind::Retained,
            };
            (order, Incoming::Event(Box::new(envelope)))
        }
        Err(_) => (
            Kind::Retained,
            Incoming::Unknown {
                kind,
                seq: Some(seq),
                raw,
            },
        ),
    };
    let outs = sequencer.on_frame(seq, order, item);
    shared.deliver(outs);
}

/// Hands each message to the handlers for its type, then to the streams.
async fn call_handlers(shared: std::rc::Weak<Shared>, mut rx: mpsc::UnboundedReceiver<Incoming>) {
    while let Some(message) = rx.recv().await {
        let Some(s) = shared.upgrade() else {
            return;
        };
        let handlers: Vec<Handler> = s
            .handlers
            .borrow()
            .iter()
            .filter(|(t, _)| t == "*" || t == message.kind())
            .map(|(_, h)| h.clone())
            .collect();
        s.streams
            .borrow_mut()
            .retain(|tx| tx.send(message.clone()).is_ok());
        drop(s);
        for h in handlers {
            match h {
                Handler::Sync(f) => f(&message),
                Handler::Async(f) => f(message.clone()).await,
            }
        }
    }
}
