//! `BinanceConnector`: one live session of a Binance spot connection. On
//! start it syncs the clock, loads exchangeInfo, balances and a listenKey,
//! opens the user data stream and the market streams (`bookTicker`, diff
//! depth), reconciles every order it was following over REST, and fetches
//! depth snapshots. It serves the venue messages (place, cancel, queries,
//! followers) like the paper venue does.
//!
//! Any failure — a socket closed or silent past `silent_timeout`, a
//! handshake error, repeated 5xx, a lost listenKey — ends the session: it
//! reports `Failed` with whether retrying makes sense and hands back what
//! must survive (`Carry`: the account with its orders and seen fills, the
//! followers), and stops. The `ConnectionSupervisor` starts the next
//! session after a backoff.

use super::rest::{Rest, RestError};

use crate::clock::Clock;
use crate::health::{watched, Handles, Load};
use crate::order_book::OrderBookActor;
use crate::registry::{Publish, RegistryActor};
use crate::storage::{Durable, Journal, Ready, Storage};
use crate::venue::contract::*;
use actix::io::{SinkWrite, WriteHandler};
use actix::prelude::*;
use actix_codec::Framed;
use awc::http::Method;
use awc::ws;
use awc::BoxedSocket;
use futures_util::stream::{SplitSink, StreamExt};
use laicai_core::binance::account::BinanceAccount;
use laicai_core::binance::depth::DepthSync;
use laicai_core::binance::sign::Credentials;
use laicai_core::binance::symbols::SymbolMap;
use laicai_core::binance::wire::*;
use laicai_core::candles::CandleSeries;
use laicai_core::ids::OrderId;
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::wire::events::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

mod market;
mod venue;

#[derive(Clone, Debug)]
pub struct BinanceSettings {
    pub rest_url: String,
    pub ws_url: String,
    pub credentials: Credentials,
    pub recv_window_ms: u64,
    pub pairs: Vec<Symbol>,
    /// No frame (data or pong) for this long: the socket is dead.
    pub silent_timeout: Duration,
    /// The connector pings each socket this often.
    pub ping_interval: Duration,
    /// The listenKey is kept alive this often (Binance: every 30 min).
    pub keepalive: Duration,
    pub request_timeout: Duration,
    pub book_depth: usize,
    pub history_limit: usize,
    /// Consecutive 5xx answers that end the session.
    pub max_server_errors: u32,
    pub clock: Clock,
}

/// What outlives a session.
#[derive(Debug, Default)]
pub struct Carry {
    pub account: Option<BinanceAccount>,
    pub followers: Followers,
    /// One-minute candles of each pair's quoted mid (Binance's book
    /// ticker carries no trades).
    pub candles: HashMap<Symbol, CandleSeries>,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum ConnectorReport {
    Connected {
        id: String,
        session: u64,
        specs: Vec<PairSpec>,
    },
    Failed {
        id: String,
        session: u64,
        failure: SessionFailure,
        carry: Box<Carry>,
    },
}

/// Why a session ended, by what the supervisor does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionFailure {
    /// The session broke (a socket, a timeout, Binance's servers):
    /// reconnect, with backoff.
    #[error("{0}")]
    Transient(String),
    /// Binance refused the account or the request can never succeed (a
    /// wrong key, a pair it does not trade): stop and alert.
    #[error("{0}")]
    Fatal(String),
}

/// A signed account request: answers healthy or Binance's error.
#[derive(Debug, Message)]
#[rtype(result = "Result<String, String>")]
pub struct TestAccount;

/// Ends the session for good (the connection is deleted).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Shutdown;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Sock {
    Market,
    User,
}

/// One frame from one socket; `frame: None` when the socket ended.
#[derive(Message)]
#[rtype(result = "()")]
struct SockItem {
    sock: Sock,
    frame: Option<Result<ws::Frame, awc::error::WsProtocolError>>,
}

type WsSink = SinkWrite<ws::Message, SplitSink<Framed<BoxedSocket, ws::Codec>, ws::Message>>;

pub struct BinanceConnector {
    id: String,
    name: String,
    session: u64,
    s: BinanceSettings,
    rest: Rest,
    carry: Carry,
    registry: Addr<RegistryActor>,
    books: HashMap<Symbol, Addr<OrderBookActor>>,
    supervisor: Recipient<ConnectorReport>,
    depth: HashMap<String, DepthSync>,
    snapshot_pending: HashMap<String, bool>,
    sinks: HashMap<Sock, WsSink>,
    last_seen: HashMap<Sock, Instant>,
    listen_key: Option<String>,
    connected: bool,
    ending: bool,
    server_errors: u32,
    journal: Journal,
    load: Load,
}

/// Names the connection and its state; never the listen key.
impl std::fmt::Debug for BinanceConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceConnector")
            .field("id", &self.id)
            .field("session", &self.session)
            .field("connected", &self.connected)
            .field("sockets", &self.sinks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl BinanceConnector {
    #[expect(
        clippy::too_many_arguments,
        reason = "a connector is born of its ids, settings and the actors it reports to; each is distinct"
    )]
    pub fn new(
        id: &str,
        name: &str,
        session: u64,
        s: BinanceSettings,
        carry: Carry,
        registry: Addr<RegistryActor>,
        books: HashMap<Symbol, Addr<OrderBookActor>>,
        supervisor: Recipient<ConnectorReport>,
        storage: Option<Storage>,
    ) -> Self {
        let rest = Rest::new(
            &s.rest_url,
            s.credentials.clone(),
            s.recv_window_ms,
            s.request_timeout,
            s.clock,
        );
        BinanceConnector {
            id: id.to_string(),
            name: name.to_string(),
            session,
            s,
            rest,
            carry,
            registry,
            books,
            supervisor,
            depth: HashMap::new(),
            snapshot_pending: HashMap::new(),
            sinks: HashMap::new(),
            last_seen: HashMap::new(),
            listen_key: None,
            connected: false,
            ending: false,
            server_errors: 0,
            journal: Journal::new(storage),
            load: Load::default(),
        }
    }

    fn account(&self) -> Option<&BinanceAccount> {
        self.carry.account.as_ref()
    }

    fn log(&self, level: LogLevel, msg: String) {
        self.registry
            .do_send(Publish::now(Event::log(level, msg, &self.name)));
    }

    /// Journals order and trade events; once durable, publishes them
    /// (never dropped) and tells the followers.
    fn publish(&mut self, events: Vec<Event>) {
        self.commit(events, None);
    }

    fn commit(&mut self, events: Vec<Event>, reply: Option<crate::storage::journal::Reply>) {
        let ready = self
            .journal
            .commit(events, Vec::new(), self.s.clock.now_ms(), reply);
        self.release(ready);
    }

    fn release(&self, ready: Vec<Ready>) {
        self.carry
            .followers
            .publish(&self.name, &self.registry, ready);
    }

    fn tell(&self, event: VenueEvent) {
        self.carry.followers.tell(&self.name, event);
    }

    /// Ends the session: the supervisor decides about the next one.
    fn fail(&mut self, failure: SessionFailure, ctx: &mut Context<Self>) {
        if self.ending {
            return;
        }
        self.ending = true;
        tracing::warn!(connection = %self.id, %failure, ?failure, "binance session failed");
        // What is on its way to the disk goes out now: this session will
        // not be here to hear that it landed.
        let ready = self.journal.drain();
        self.release(ready);
        self.tell(VenueEvent::Connection { connected: false });
        let carry = Carry {
            account: self.carry.account.take(),
            followers: std::mem::take(&mut self.carry.followers),
            candles: std::mem::take(&mut self.carry.candles),
        };
        self.supervisor.do_send(ConnectorReport::Failed {
            id: self.id.clone(),
            session: self.session,
            failure,
            carry: Box::new(carry),
        });
        ctx.stop();
    }

    fn on_rest_error(&mut self, what: &str, e: &RestError, ctx: &mut Context<Self>) {
        if matches!(e, RestError::Server(_)) {
            self.server_errors += 1;
            if self.server_errors >= self.s.max_server_errors {
                self.fail(
                    SessionFailure::Transient(format!(
                        "{what}: {e} ({} in a row)",
                        self.server_errors
                    )),
                    ctx,
                );
            }
        }
    }

    /// The whole start-up sequence, then the streams.
    fn connect(&mut self, ctx: &mut Context<Self>) {
        let rest = self.rest.clone();
        let pairs = self.s.pairs.clone();
        let work = async move {
            rest.sync_time().await?;
            let info: ExchangeInfo = rest.public("/api/v3/exchangeInfo", &[]).await?;
            let account: Account = rest.signed(Method::GET, "/api/v3/account", &[]).await?;
            let open: Vec<RestOrder> = rest.signed(Method::GET, "/api/v3/openOrders", &[]).await?;
            let key: ListenKey = rest
                .keyed(Method::POST, "/api/v3/userDataStream", &[])
                .await?;
            Ok::<_, RestError>((info, account, open, key, pairs))
        };
        ctx.spawn(work.into_actor(self).map(|result, act, ctx| match result {
            Ok((info, account, open, key, pairs)) => {
                let map = SymbolMap::from_info(&info);
                let missing: Vec<String> = pairs
                    .iter()
                    .filter(|p| map.venue(p).is_none())
                    .map(|p| p.to_string())
                    .collect();
                if !missing.is_empty() {
                    return act.fail(
                        SessionFailure::Fatal(format!(
                            "Binance does not trade {}",
                            missing.join(", ")
                        )),
                        ctx,
                    );
                }
                let name = act.name.clone();
                let prefix = format!("lc{}x", act.s.clock.now_ms() % 100_000_000);
                let acct = act.carry.account.get_or_insert_with(|| {
                    BinanceAccount::new(&name, map.clone(), act.s.history_limit, &prefix)
                });
                acct.set_symbols(map);
                let now = act.s.clock.now_ms();
                for o in &open {
                    acct.adopt_open(o, now);
                }
                let balances = acct.set_balances(&account);
                act.publish(balances);
                act.listen_key = Some(key.listen_key);
                act.open_streams(ctx);
            }
            Err(e) => {
                // Wrong or refused credentials do not get better by retrying.
                let refused = matches!(
                    e,
                    RestError::Api { status: 401, .. }
                        | RestError::Api {
                            code: -1022 | -2014 | -2015,
                            ..
                        }
                );
                let reason = format!("start-up: {e}");
                act.fail(
                    if refused {
                        SessionFailure::Fatal(reason)
                    } else {
                        SessionFailure::Transient(reason)
                    },
                    ctx,
                )
            }
        }));
    }

    fn open_streams(&mut self, ctx: &mut Context<Self>) {
        let Some(key) = self.listen_key.clone() else {
            return;
        };
        let base = self.s.ws_url.trim_end_matches('/').to_string();
        let account = match self.account() {
            Some(a) => a,
            None => return,
        };
        let streams: Vec<String> = self
            .s
            .pairs
            .iter()
            .filter_map(|p| account.symbols().venue(p))
            .flat_map(|v| {
                let l = v.to_ascii_lowercase();
                [format!("{l}@bookTicker"), format!("{l}@depth@100ms")]
            })
            .collect();
        let market_url = format!("{base}/stream?streams={}", streams.join("/"));
        let user_url = format!("{base}/ws/{key}");
        let timeout = self.s.request_timeout;
        let open = |url: String| async move {
            awc::Client::builder()
                .timeout(timeout)
                .finish()
                .ws(url)
                .max_frame_size(16 * 1024 * 1024)
                .connect()
                .await
                .map(|(_, framed)| framed)
                .map_err(|e| e.to_string())
        };
        let both = futures_util::future::join(open(market_url), open(user_url));
        ctx.spawn(
            both.into_actor(self)
                .map(|(market, user), act, ctx| match (market, user) {
                    (Ok(m), Ok(u)) => {
                        act.attach(Sock::Market, m, ctx);
                        act.attach(Sock::User, u, ctx);
                        act.after_connect(ctx);
                    }
                    (Err(e), _) | (_, Err(e)) => act.fail(
                        SessionFailure::Transient(format!("websocket handshake: {e}")),
                        ctx,
                    ),
                }),
        );
    }

    fn attach(
        &mut self,
        sock: Sock,
        framed: Framed<BoxedSocket, ws::Codec>,
        ctx: &mut Context<Self>,
    ) {
        let (sink, stream) = framed.split();
        self.sinks.insert(sock, SinkWrite::new(sink, ctx));
        self.last_seen.insert(sock, Instant::now());
        let items = stream
            .map(move |f| SockItem {
                sock,
                frame: Some(f),
            })
            .chain(futures_util::stream::once(async move {
                SockItem { sock, frame: None }
            }));
        ctx.add_stream(items);
    }

    /// Streams are up: reconcile what happened while away, snapshot the
    /// books, and declare the connection up.
    fn after_connect(&mut self, ctx: &mut Context<Self>) {
        self.reconcile(ctx);
        let venues: Vec<String> = self
            .s
            .pairs
            .iter()
            .filter_map(|p| {
                self.account()
                    .and_then(|a| a.symbols().venue(p))
                    .map(str::to_string)
            })
            .collect();
        for v in venues {
            self.depth.insert(v.clone(), DepthSync::new());
            self.fetch_snapshot(v, ctx);
        }
        self.connected = true;
        self.tell(VenueEvent::Connection { connected: true });
        let specs = self
            .s
            .pairs
            .iter()
            .filter_map(|p| self.account().and_then(|a| a.symbols().spec(p)).cloned())
            .collect();
        self.supervisor.do_send(ConnectorReport::Connected {
            id: self.id.clone(),
            session: self.session,
            specs,
        });
        tracing::info!(connection = %self.id, "binance connected");
    }

    /// Every order followed before the disconnect: its state and fills
    /// over REST; fills already seen are skipped by trade id.
    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        let Some(account) = self.account() else {
            return;
        };
        for live in account.live_orders() {
            let rest = self.rest.clone();
            let client = live.client_id.clone();
            let symbol = live.venue_symbol.clone();
            let work = async move {
                let state: Result<RestOrder, RestError> = rest
                    .signed(
                        Method::GET,
                        "/api/v3/order",
                        &[
                            ("symbol", symbol.clone()),
                            ("origClientOrderId", client.clone()),
                        ],
                    )
                    .await;
                let state = state?;
                let trades: Vec<MyTrade> = rest
                    .signed(
                        Method::GET,
                        "/api/v3/myTrades",
                        &[("symbol", symbol), ("orderId", state.order_id.to_string())],
                    )
                    .await?;
                Ok::<_, RestError>((state, trades))
            };
            ctx.spawn(work.into_actor(self).map(move |answer, act, ctx| {
                let now = act.s.clock.now_ms();
                let events = match (answer, act.carry.account.as_mut()) {
                    (Ok((state, trades)), Some(a)) => {
                        a.reconcile(&live.client_id, &state, &trades, now)
                    }
                    (Err(RestError::Api { code: -2013, .. }), Some(a)) => a.refused(
                        &live.client_id,
                        "never reached Binance (not found after reconnecting)",
                        now,
                    ),
                    (Err(e), _) => {
                        act.log(
                            LogLevel::Warning,
                            format!("reconciling {}: {e}", live.client_id),
                        );
                        act.on_rest_error("reconcile", &e, ctx);
                        Vec::new()
                    }
                    (_, None) => Vec::new(),
                };
                if !events.is_empty() {
                    act.log(
                        LogLevel::Info,
                        format!("reconciled {} after reconnecting", live.client_id),
                    );
                }
                act.publish(events);
            }));
        }
    }

    fn on_user_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let now = self.s.clock.now_ms();
        match UserEvent::parse(text) {
            Ok(UserEvent::Execution(er)) => {
                let events = self
                    .carry
                    .account
                    .as_mut()
                    .map(|a| a.on_execution(&er, now))
                    .unwrap_or_default();
                self.publish(events);
            }
            Ok(UserEvent::Account(p)) => {
                let events = self
                    .carry
                    .account
                    .as_mut()
                    .map(|a| a.on_account(&p))
                    .unwrap_or_default();
                self.publish(events);
            }
            Ok(UserEvent::ListenKeyExpired) => self.fail(
                SessionFailure::Transient("the listenKey expired".into()),
                ctx,
            ),
            Ok(UserEvent::Other(_)) => {}
            Err(e) => self.log(
                LogLevel::Warning,
                format!("unreadable user stream message: {e}"),
            ),
        }
    }

    fn keepalive(&mut self, ctx: &mut Context<Self>) {
        let Some(key) = self.listen_key.clone() else {
            return;
        };
        let rest = self.rest.clone();
        let work = async move {
            rest.keyed::<serde_json::Value>(
                Method::PUT,
                "/api/v3/userDataStream",
                &[("listenKey", key)],
            )
            .await
        };
        ctx.spawn(work.into_actor(self).map(|answer, act, ctx| match answer {
            Ok(_) => {}
            Err(RestError::Api { code: -1125, .. }) => act.fail(
                SessionFailure::Transient("the listenKey is no longer valid".into()),
                ctx,
            ),
            Err(e) => {
                act.log(LogLevel::Warning, format!("listenKey keepalive: {e}"));
                act.on_rest_error("keepalive", &e, ctx);
            }
        }));
    }

    fn watchdog(&mut self, ctx: &mut Context<Self>) {
        for (sock, seen) in &self.last_seen {
            if seen.elapsed() > self.s.silent_timeout {
                let msg = format!("{sock:?} socket silent for {:?}", seen.elapsed());
                return self.fail(SessionFailure::Transient(msg), ctx);
            }
        }
        for sink in self.sinks.values_mut() {
            let _ = sink.write(ws::Message::Ping(actix_web::web::Bytes::from_static(
                b"laicai",
            )));
        }
    }

    fn not_ready<T>(&self) -> Result<T, VenueError> {
        Err(VenueError::Internal(format!(
            "{} is still connecting",
            self.name
        )))
    }
}

impl Actor for BinanceConnector {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
        self.journal.attach(ctx.address().recipient());
        self.connect(ctx);
        ctx.run_interval(
            self.s.ping_interval.min(self.s.silent_timeout / 2),
            |act, ctx| {
                if act.connected {
                    act.watchdog(ctx);
                }
            },
        );
        ctx.run_interval(self.s.keepalive, |act, ctx| act.keepalive(ctx));
    }
}

impl WriteHandler<awc::error::WsProtocolError> for BinanceConnector {
    fn error(&mut self, err: awc::error::WsProtocolError, ctx: &mut Self::Context) -> Running {
        self.fail(
            SessionFailure::Transient(format!("websocket write: {err}")),
            ctx,
        );
        Running::Stop
    }
}

impl StreamHandler<SockItem> for BinanceConnector {
    fn handle(&mut self, item: SockItem, ctx: &mut Self::Context) {
        let frame = match item.frame {
            None => {
                return self.fail(
                    SessionFailure::Transient(format!("{:?} socket closed", item.sock)),
                    ctx,
                )
            }
            Some(Err(e)) => {
                return self.fail(
                    SessionFailure::Transient(format!("{:?} socket error: {e}", item.sock)),
                    ctx,
                )
            }
            Some(Ok(f)) => f,
        };
        self.last_seen.insert(item.sock, Instant::now());
        match frame {
            ws::Frame::Text(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => match item.sock {
                    Sock::Market => self.on_market_text(text, ctx),
                    Sock::User => self.on_user_text(text, ctx),
                },
                Err(_) => self.log(LogLevel::Warning, "non-UTF-8 text frame".into()),
            },
            ws::Frame::Ping(p) => {
                if let Some(sink) = self.sinks.get_mut(&item.sock) {
                    let _ = sink.write(ws::Message::Pong(p));
                }
            }
            ws::Frame::Close(reason) => self.fail(
                SessionFailure::Transient(format!(
                    "{:?} socket closed by Binance: {reason:?}",
                    item.sock
                )),
                ctx,
            ),
            _ => {}
        }
    }

    /// Each stream's end arrives as an item; nothing to do here.
    fn finished(&mut self, _: &mut Self::Context) {}
}

watched!(BinanceConnector, |c| if c.connected {
    "connected"
} else {
    "connecting"
}
.into());
