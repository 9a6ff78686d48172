//! `SessionActor` on actix-web-actors: the WebSocket handshake, frames in
//! and out, heartbeat and idle timeout. The only module of laicai that
//! knows the WebSocket library.

use super::dispatch::Caller;
use super::{Admission, Endpoint, SessionLink};
use crate::outbox::outbox;
use crate::registry::{Deregister, Direct, Register, Subscribe, Unsubscribe};
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use laicai_core::auth::{Admit, RateLimiter, Scope};
use laicai_core::error::Coded;
use laicai_core::error::ErrorCode;
use laicai_core::ids::SessionId;
use laicai_core::protocol::commands::request_id_of;
use laicai_core::protocol::{parse_client_message, ClientMessage};
use laicai_core::wire::events::Event;
use laicai_core::wire::{Response, SubscriptionRequest};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Upgrades the request and starts a session serving `endpoint`.
pub fn start_session(
    req: &HttpRequest,
    payload: web::Payload,
    deps: Arc<SessionLink>,
    endpoint: Endpoint,
    admission: Admission,
) -> Result<HttpResponse, actix_web::Error> {
    let max_frame = deps.limits.max_frame_bytes;
    let rate = RateLimiter::new(deps.limits.max_messages_per_sec, deps.clock.now_ms());
    let protocol = admission.protocol.clone();
    let session = SessionActor {
        id: SessionId(NEXT_SESSION.fetch_add(1, Ordering::Relaxed)),
        deps,
        endpoint,
        last_heard: Instant::now(),
        evicted: Arc::new(AtomicBool::new(false)),
        scope: admission.scope,
        socket: admission.socket,
        rate,
        _place: Place::take(admission.open),
    };
    let protocols: Vec<&str> = protocol.iter().map(String::as_str).collect();
    ws::WsResponseBuilder::new(session, req, payload)
        .frame_size(max_frame)
        .protocols(&protocols)
        .start()
}

/// A session's place in the open-connection count, given back on drop.
#[derive(Debug)]
struct Place(Arc<AtomicUsize>);

impl Place {
    fn take(open: Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::AcqRel);
        Place(open)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug)]
pub struct SessionActor {
    id: SessionId,
    /// Shared by every session of the process: one pointer each.
    deps: Arc<SessionLink>,
    endpoint: Endpoint,
    last_heard: Instant,
    evicted: Arc<AtomicBool>,
    scope: Scope,
    socket: Option<crate::socket::ClientSocket>,
    rate: RateLimiter,
    _place: Place,
}

type Ctx = ws::WebsocketContext<SessionActor>;

impl SessionActor {
    /// A protocol error for this client, numbered with its other events.
    fn error(&self, code: ErrorCode, detail: impl Into<String>) {
        self.deps.registry.do_send(Direct {
            session: self.id,
            event: Event::error(code, detail),
        });
    }

    fn close(&self, ctx: &mut Ctx, code: ws::CloseCode, why: &str) {
        tracing::info!(session = %self.id, ?code, why, "closing session");
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(why.to_string()),
        }));
        ctx.stop();
    }

    fn on_text(&mut self, text: &str, ctx: &mut Ctx) {
        match self.rate.admit(self.deps.clock.now_ms()) {
            Admit::Yes => {}
            Admit::No => {
                let detail = format!(
                    "slow down: at most {} messages per second",
                    self.deps.limits.max_messages_per_sec
                );
                // A command still gets its one response; anything else an error event.
                return match parse_client_message(text) {
                    Ok(ClientMessage::Command(env)) => {
                        let r = Response::fail(
                            &env.cmd,
                            env.request_id,
                            ErrorCode::RateLimited,
                            detail,
                        );
                        ctx.text(r.encode(self.deps.clock.now_ms()));
                    }
                    _ => self.deps.registry.do_send(Direct {
                        session: self.id,
                        event: Event::error_for(
                            ErrorCode::RateLimited,
                            detail,
                            request_id_of(text),
                        ),
                    }),
                };
            }
            Admit::Abuse => {
                return self.close(ctx, ws::CloseCode::Policy, "message rate limit exceeded")
            }
        }
        let message = match parse_client_message(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(session = %self.id, error = %e.code(), "bad frame refused: {e}");
                return self.deps.registry.do_send(Direct {
                    session: self.id,
                    event: Event::error_for(e.code(), e.to_string(), request_id_of(text)),
                });
            }
        };
        match message {
            ClientMessage::Command(env) => {
                let caller = Caller {
                    session: self.id,
                    scope: self.scope,
                };
                let received = Instant::now();
                let fut = self.deps.clone().execute(caller, env);
                ctx.spawn(fut.into_actor(self).map(move |response, act, ctx| {
                    act.deps.latency.record(received.elapsed());
                    ctx.text(response.encode(act.deps.clock.now_ms()));
                }));
            }
            ClientMessage::Subscribe(req) => self.subscribe(req, ctx),
            ClientMessage::Unsubscribe(req) => self.unsubscribe(req, ctx),
            ClientMessage::Ping { timestamp } => {
                let pong = json!({
                    "type": "pong",
                    "timestamp": timestamp.unwrap_or(Value::Null),
                    "server_time": self.deps.clock.now_ms() as f64 / 1000.0,
                });
                ctx.text(pong.to_string());
            }
        }
    }

    fn ack(kind: &str, req: &SubscriptionRequest, count: usize) -> String {
        let mut ack = json!({ "type": kind, "count": count });
        if let Some(id) = &req.subscription_id {
            ack["subscription_id"] = json!(id);
        }
        if let Some(channel) = &req.channel {
            ack["channel"] = json!(channel);
            ack["symbol"] = json!(req.symbol);
        }
        ack.to_string()
    }

    fn subscribe(&mut self, req: SubscriptionRequest, ctx: &mut Ctx) {
        let msg = Subscribe {
            session: self.id,
            request: req.clone(),
        };
        let ask = self.deps.registry.send(msg);
        self.answer(ctx, ask, "subscribed", req, |r| {
            r.map_err(|limit| (ErrorCode::SubscriptionLimit, limit.to_string()))
        });
    }

    fn unsubscribe(&mut self, req: SubscriptionRequest, ctx: &mut Ctx) {
        let msg = Unsubscribe {
            session: self.id,
            request: req.clone(),
        };
        let ask = self.deps.registry.send(msg);
        self.answer(ctx, ask, "unsubscribed", req, Ok);
    }

    /// Waits for the registry's answer to a (un)subscribe, then acks it
    /// with the topic count or sends the error.
    fn answer<R>(
        &mut self,
        ctx: &mut Ctx,
        ask: impl std::future::Future<Output = Result<R, MailboxError>> + 'static,
        kind: &'static str,
        req: SubscriptionRequest,
        count: impl FnOnce(R) -> Result<usize, (ErrorCode, String)> + 'static,
    ) {
        ctx.spawn(ask.into_actor(self).map(move |answer, act, ctx| {
            match answer
                .map_err(|e| (ErrorCode::Internal, e.to_string()))
                .and_then(count)
            {
                Ok(n) => ctx.text(Self::ack(kind, &req, n)),
                Err((code, detail)) => act.error(code, detail),
            }
        }));
    }
}

impl Actor for SessionActor {
    type Context = Ctx;

    fn started(&mut self, ctx: &mut Ctx) {
        let (outbox, mut inbox) = outbox(self.deps.limits.outbox);
        inbox.record_waits_in(self.deps.frame_waits.clone());
        ctx.add_stream(inbox);
        self.deps.registry.do_send(Register {
            session: self.id,
            outbox,
            subscriptions: self.endpoint.initial_subscriptions(),
            evicted: self.evicted.clone(),
            socket: self.socket.take(),
        });
        let limits = self.deps.limits.clone();
        ctx.run_interval(limits.heartbeat, move |act, ctx| {
            if act.last_heard.elapsed() > limits.idle_timeout {
                act.close(ctx, ws::CloseCode::Away, "idle timeout");
            } else {
                ctx.ping(b"laicai");
            }
        });
        ctx.run_interval(Duration::from_millis(250), |act, ctx| {
            if act.evicted.load(Ordering::Acquire) {
                act.close(ctx, ws::CloseCode::Again, "too slow: outbound queue full");
            } else if act.deps.stopping.load(Ordering::Acquire) {
                act.close(ctx, ws::CloseCode::Restart, "the engine is stopping");
            }
        });
        tracing::info!(session = %self.id, endpoint = ?self.endpoint, "session started");
    }

    fn stopping(&mut self, _: &mut Ctx) -> Running {
        self.deps.registry.do_send(Deregister(self.id));
        tracing::info!(session = %self.id, "session stopped");
        Running::Stop
    }
}

/// Frames from the registry's outbox.
impl StreamHandler<bytestring::ByteString> for SessionActor {
    fn handle(&mut self, frame: bytestring::ByteString, ctx: &mut Ctx) {
        ctx.text(frame);
    }

    /// The outbox never ends while the session lives; nothing to do.
    fn finished(&mut self, _: &mut Ctx) {}
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for SessionActor {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Ctx) {
        let msg = match item {
            Ok(m) => m,
            Err(ws::ProtocolError::Overflow) => {
                return self.close(ctx, ws::CloseCode::Size, "frame larger than the limit");
            }
            Err(e) => {
                tracing::debug!(session = %self.id, error = %e, "websocket protocol error");
                return self.close(ctx, ws::CloseCode::Protocol, "websocket protocol error");
            }
        };
        self.last_heard = Instant::now();
        match msg {
            ws::Message::Text(text) => self.on_text(&text, ctx),
            ws::Message::Binary(_) => self.error(
                ErrorCode::InvalidMessageFormat,
                "binary frames are not supported: send JSON text",
            ),
            ws::Message::Ping(bytes) => ctx.pong(&bytes),
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Continuation(_) => self.error(
                ErrorCode::InvalidMessageFormat,
                "fragmented frames are not supported",
            ),
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
        }
    }
}
