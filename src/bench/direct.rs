//! The direct order path: the floor under any shape the engine's order
//! path could take. The engine's own WebSocket stack (actix-web,
//! actix-web-actors, one worker) and its own domain code — the frame
//! parsed as the engine parses it, the risk check, the paper exchange's
//! matching, the order's records appended to the engine's SQLite journal
//! (with or without the fsync), the answer and the `order_update` encoded
//! as the engine encodes them — all run in the socket's handler, with no
//! actor, mailbox or thread between. What the engine spends over this is
//! what its actors cost. Any other frame comes straight back: the
//! stack's own echo, beside the bare tokio-tungstenite one.

use super::SqliteFloor;
use actix::{Actor, AsyncContext, StreamHandler};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_web_actors::ws;
use laicai::config::Config;
use laicai_actors::clock::Clock;
use laicai_actors::storage::journal::record_of;
use laicai_actors::storage::Record;
use laicai_actors::venue::paper::changed_state;
use laicai_core::error::ErrorCode;
use laicai_core::paper::PaperExchange;
use laicai_core::protocol::commands::{parse_client_message, ClientMessage, Command};
use laicai_core::risk::RiskManager;
use laicai_core::wire::events::{encode, Event};
use laicai_core::wire::Response;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// What the venue's name is on this server.
const VENUE: &str = "paper";

/// The state an order goes through: one per server, on its one worker.
struct OrderPath {
    exchange: PaperExchange,
    risk: RiskManager,
    store: SqliteFloor,
    seq: u64,
}

impl OrderPath {
    /// The frames `text` is answered with: for `place_order` and
    /// `cancel_all_orders` the answer and the events (once the records
    /// are appended), for a subscription its confirmation, anything else
    /// as it came.
    fn handle(&mut self, text: &str) -> Vec<String> {
        let now = Clock::System.now_ms();
        let env = match parse_client_message(text) {
            Ok(ClientMessage::Command(env)) => env,
            Ok(ClientMessage::Subscribe(_)) => {
                return vec![r#"{"type":"subscribed","channel":"order_update"}"#.into()]
            }
            _ => return vec![text.to_string()],
        };
        let rid = env.request_id.clone();
        let (answer, events) = match Command::parse(&env) {
            Ok(Command::PlaceOrder { mut order, .. }) => {
                order.exchange = Some(VENUE.into());
                if let Err(v) = self.risk.check(VENUE, &order, now) {
                    let no = Response::fail(&env.cmd, rid, ErrorCode::RiskRejected, v.to_string());
                    return vec![no.encode(now)];
                }
                match self.exchange.place(order, now) {
                    Ok(o) => (
                        Response::ok(&env.cmd, rid, "Order placed")
                            .with("order_id", &o.order.order_id)
                            .with("order", &o.order),
                        o.events,
                    ),
                    Err(e) => {
                        let no =
                            Response::fail(&env.cmd, rid, ErrorCode::OrderRejected, e.to_string());
                        return vec![no.encode(now)];
                    }
                }
            }
            Ok(Command::CancelAllOrders { mut filter, .. }) => {
                filter.exchange = Some(VENUE.into());
                let (count, events) = self.exchange.cancel_all(&filter, now);
                (
                    Response::ok(&env.cmd, rid, format!("Cancelled {count} orders"))
                        .with("cancelled_count", &count),
                    events,
                )
            }
            _ => return vec![text.to_string()],
        };
        if let Err(e) = self.store.append(&self.records(&events, now)) {
            let no = Response::fail(
                &env.cmd,
                env.request_id,
                ErrorCode::StorageUnavailable,
                e.to_string(),
            );
            return vec![no.encode(now)];
        }
        let mut frames = vec![answer.encode(now)];
        for event in &events {
            self.seq += 1;
            if let Ok(frame) = encode(event, now, self.seq) {
                frames.push(frame);
            }
        }
        frames
    }

    /// The records the engine's paper venue appends for `events`: each
    /// order and trade, what they changed of its state, and the `seq`
    /// lease.
    fn records(&self, events: &[Event], now: i64) -> Vec<Record> {
        events
            .iter()
            .filter_map(|e| record_of(e, now))
            .chain(changed_state(&self.exchange, events))
            .chain([Record::Seq(self.seq + events.len() as u64)])
            .collect()
    }
}

struct DirectSession(Rc<RefCell<OrderPath>>);

impl Actor for DirectSession {
    type Context = ws::WebsocketContext<Self>;
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for DirectSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => {
                for frame in self.0.borrow_mut().handle(&text) {
                    ctx.text(frame);
                }
                // Once the frames are written, as the storage thread
                // does it beside the engine's commits.
                ctx.run_later(Duration::ZERO, |session, _| {
                    if let Err(e) = session.0.borrow_mut().store.between() {
                        eprintln!("laicai bench direct-server: {e}");
                    }
                });
            }
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Close(_)) | Err(_) => ctx.close(None),
            Ok(_) => {}
        }
    }
}

async fn socket(
    req: HttpRequest,
    stream: web::Payload,
    path: web::Data<Rc<RefCell<OrderPath>>>,
) -> actix_web::Result<HttpResponse> {
    ws::start(DirectSession(path.get_ref().clone()), &req, stream)
}

/// Serves until killed: the paper market and risk limits of the engine's
/// config at `config`, the journal in `state_dir`.
pub(super) fn serve(bind: SocketAddr, config: PathBuf, state_dir: PathBuf) -> Result<(), String> {
    let text =
        std::fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
    let cfg = Config::from_toml(Some((&config.display().to_string(), &text)))
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let fsync = cfg.storage.fsync;
    let db = state_dir.join("direct.db");
    actix::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            // One worker: made once, on its thread.
            let made = laicai::paper_domain(&cfg)
                .map_err(|e| e.to_string())
                .and_then(|(exchange, risk)| {
                    let store = SqliteFloor::open(&db, fsync).map_err(|e| e.to_string())?;
                    Ok(OrderPath {
                        exchange,
                        risk,
                        store,
                        seq: 0,
                    })
                });
            let path = match made {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("laicai bench direct-server: {e}");
                    std::process::exit(1);
                }
            };
            App::new()
                .app_data(web::Data::new(Rc::new(RefCell::new(path))))
                .route("/api/v1/websocket", web::get().to(socket))
                .route("/ws", web::get().to(socket))
        })
        .workers(1)
        .bind(bind)
        .map_err(|e| format!("{bind}: {e}"))?;
        server.run().await.map_err(|e| e.to_string())
    })
}
