//! A fake Binance spot server on a loopback port, speaking the real
//! protocol: it verifies signatures exactly as Binance does (HMAC-SHA256 of
//! the query string before `&signature=`, `X-MBX-APIKEY`, `timestamp`
//! within `recvWindow`), serves exchangeInfo, account, depth snapshots,
//! listenKeys and orders, and pushes `bookTicker` and `depthUpdate` on the
//! market stream and `executionReport` / `outboundAccountPosition` on the
//! user data stream. Fault switches: drop every socket, refuse handshakes,
//! go silent, skip a depth update id, answer 429 with Retry-After, expire
//! the listenKey, fill an order while no one is listening.

use actix::prelude::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_web_actors::ws;
use laicai_core::binance::sign::{verify, Secret};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const API_KEY: &str = "fake-key-9f2c7e1d";
pub const API_SECRET: &str = "fake-secret-4b8a0c6e5d";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub order_id: u64,
    pub client_id: String,
    pub symbol: String,
    pub side: String,
    pub kind: String,
    pub tif: String,
    pub qty: String,
    pub price: String,
    pub executed: f64,
    pub status: String,
    /// Every query parameter it was placed with, signature included.
    pub params: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
struct FakeTrade {
    id: i64,
    order_id: u64,
    symbol: String,
    price: String,
    qty: String,
}

#[derive(Default)]
pub struct State {
    pub orders: Vec<FakeOrder>,
    trades: Vec<FakeTrade>,
    next_order: u64,
    next_trade: i64,
    pub listen_keys: Vec<String>,
    pub valid_key: Option<String>,
    pub requests: u64,
    pub signed_ok: u64,
    pub signed_bad: u64,
    pub handshakes: u64,
    pub snapshots: u64,
    pub keepalives: u64,
    pub clock_errors: u64,
    /// How far the fake's clock runs ahead of the engine's.
    skew_ms: i64,
    refuse_handshakes: u32,
    rate_limit: u32,
    retry_after_s: u64,
    skip_depth: bool,
    /// No `bookTicker` frames: the depth book is the only market price.
    no_book_ticker: bool,
    silent: bool,
    depth_ids: HashMap<String, u64>,
    reports: HashMap<i64, String>,
    user: Vec<Addr<FakeSocket>>,
    market: Vec<Addr<FakeSocket>>,
}

#[derive(Clone)]
pub struct FakeBinance {
    pub url: String,
    pub ws_url: String,
    pub state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

fn api_error(status: u16, code: i64, msg: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .json(json!({"code": code, "msg": msg}))
}

fn params_of(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), decode(v))
        })
        .collect()
}

fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

fn get<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

impl State {
    /// The gate every REST request passes: rate limits first, then (for
    /// SIGNED endpoints) the signature, key and timestamp checks.
    fn gate(
        &mut self,
        req: &HttpRequest,
        signed: bool,
        keyed: bool,
    ) -> Result<Vec<(String, String)>, Box<HttpResponse>> {
        self.requests += 1;
        if self.rate_limit > 0 {
            self.rate_limit -= 1;
            return Err(Box::new(HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", self.retry_after_s.to_string()))
                .json(json!({"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."}))));
        }
        let query = req.query_string();
        if keyed || signed {
            let key = req
                .headers()
                .get("X-MBX-APIKEY")
                .and_then(|v| v.to_str().ok());
            if key != Some(API_KEY) {
                return Err(Box::new(api_error(401, -2014, "API-key format invalid.")));
            }
        }
        if !signed {
            return Ok(params_of(query));
        }
        let Some((payload, signature)) = query.rsplit_once("&signature=") else {
            self.signed_bad += 1;
            return Err(Box::new(api_error(
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            )));
        };
        if !verify(&Secret::new(API_SECRET), payload, signature) {
            self.signed_bad += 1;
            return Err(Box::new(api_error(
                400,
                -1022,
                "Signature for this request is not valid.",
            )));
        }
        let params = params_of(payload);
        let ts: i64 = get(&params, "timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let window: i64 = get(&params, "recvWindow")
            .and_then(|t| t.parse().ok())
            .unwrap_or(5000);
        let now = now_ms() + self.skew_ms;
        if ts > now + 1000 || now - ts > window {
            self.signed_bad += 1;
            self.clock_errors += 1;
            return Err(Box::new(api_error(
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            )));
        }
        self.signed_ok += 1;
        Ok(params)
    }

    fn order_json(o: &FakeOrder) -> Value {
        json!({"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_id,
               "transactTime": now_ms(), "price": o.price, "origQty": o.qty,
               "executedQty": format!("{:.8}", o.executed), "cummulativeQuoteQty": "0", "status": o.status,
               "timeInForce": o.tif, "type": o.kind, "side": o.side})
    }

    fn report(o: &FakeOrder, exec: &str, last_qty: f64, last_price: &str, trade_id: i64) -> String {
        json!({"e": "executionReport", "E": now_ms(), "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.kind,
               "f": o.tif, "q": o.qty, "p": o.price, "P": "0", "F": "0", "g": -1, "C": "", "x": exec, "X": o.status,
               "r": "NONE", "i": o.order_id, "l": format!("{last_qty:.8}"), "z": format!("{:.8}", o.executed),
               "L": last_price, "n": format!("{:.8}", last_qty * 0.001), "N": "BNB", "T": now_ms(), "t": trade_id,
               "I": 1, "w": o.status == "NEW", "m": exec == "TRADE" && o.kind != "MARKET", "M": false,
               "O": now_ms(), "Z": "0", "Y": "0", "Q": "0"})
        .to_string()
    }

    fn push_user(&self, text: String) {
        for s in &self.user {
            s.do_send(Push(text.clone()));
        }
    }

    /// Fills `qty` of an order at its price: a trade, and an
    /// executionReport to whoever listens on the user stream.
    fn fill(&mut self, order_id: u64, qty: f64) -> Option<i64> {
        let trade_id = self.next_trade + 1;
        let o = self.orders.iter_mut().find(|o| o.order_id == order_id)?;
        o.executed += qty;
        let total: f64 = o.qty.parse().unwrap_or(0.0);
        o.status = if (o.executed - total).abs() < 1e-12 {
            "FILLED".into()
        } else {
            "PARTIALLY_FILLED".into()
        };
        let price = if o.kind == "MARKET" {
            "50000.00".to_string()
        } else {
            o.price.clone()
        };
        let report = Self::report(o, "TRADE", qty, &price, trade_id);
        let trade = FakeTrade {
            id: trade_id,
            order_id,
            symbol: o.symbol.clone(),
            price,
            qty: format!("{qty:.8}"),
        };
        self.next_trade = trade_id;
        self.trades.push(trade);
        self.reports.insert(trade_id, report.clone());
        self.push_user(report);
        self.push_user(
            json!({"e": "outboundAccountPosition", "E": now_ms(), "u": now_ms(),
                   "B": [{"a": "BTC", "f": "1.00400000", "l": "0.00000000"},
                         {"a": "USDT", "f": "99804.00000000", "l": "0.00000000"}]})
            .to_string(),
        );
        Some(trade_id)
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Push(String);

#[derive(Message)]
#[rtype(result = "()")]
struct Drop;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    User,
    Market,
}

pub struct FakeSocket {
    kind: Kind,
    streams: Vec<String>,
    state: Arc<Mutex<State>>,
}

impl Actor for FakeSocket {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.kind == Kind::Market {
            ctx.run_interval(Duration::from_millis(50), |act, ctx| act.tick(ctx));
        }
    }
}

impl FakeSocket {
    fn tick(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let mut st = self.state.lock();
        if st.silent {
            return;
        }
        let skip = std::mem::take(&mut st.skip_depth);
        for stream in &self.streams {
            let (sym, kind) = stream.split_once('@').unwrap_or((stream, ""));
            let upper = sym.to_ascii_uppercase();
            let base = if upper.starts_with("BTC") {
                50000.0
            } else {
                2800.0
            };
            if kind == "bookTicker" && st.no_book_ticker {
                continue;
            } else if kind == "bookTicker" {
                let text = json!({"stream": stream, "data": {"u": 1, "s": upper, "b": format!("{:.2}", base - 0.5), "B": "1.5",
                                  "a": format!("{:.2}", base + 0.5), "A": "2.0"}})
                .to_string();
                ctx.text(text);
            } else if kind.starts_with("depth") {
                let id = st.depth_ids.entry(upper.clone()).or_insert(1000);
                let first = *id + 1 + if skip { 5 } else { 0 };
                let last = first + 2;
                *id = last;
                let text = json!({"stream": stream, "data": {"e": "depthUpdate", "E": now_ms(), "s": upper, "U": first, "u": last,
                                  "b": [[format!("{:.2}", base - 0.5), "1.5"], [format!("{:.2}", base - 1.0), format!("{}", (last % 7) + 1)]],
                                  "a": [[format!("{:.2}", base + 0.5), "2.0"]]}})
                .to_string();
                ctx.text(text);
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for FakeSocket {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        if self.state.lock().silent {
            return;
        }
        match msg {
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Close(_)) | Err(_) => ctx.stop(),
            _ => {}
        }
    }
}

impl Handler<Push> for FakeSocket {
    type Result = ();
    fn handle(&mut self, msg: Push, ctx: &mut Self::Context) {
        ctx.text(msg.0);
    }
}

impl Handler<Drop> for FakeSocket {
    type Result = ();
    fn handle(&mut self, _: Drop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

type Shared = web::Data<Arc<Mutex<State>>>;

async fn time(st: Shared) -> HttpResponse {
    let skew = st.lock().skew_ms;
    HttpResponse::Ok().json(json!({"serverTime": now_ms() + skew}))
}

async fn exchange_info(req: HttpRequest, st: Shared) -> HttpResponse {
    if let Err(r) = st.lock().gate(&req, false, false) {
        return *r;
    }
    let symbol = |s: &str, base: &str, tick: &str, step: &str| {
        json!({"symbol": s, "status": "TRADING", "baseAsset": base, "quoteAsset": "USDT", "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000", "stepSize": step},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true}]})
    };
    HttpResponse::Ok().json(
        json!({"timezone": "UTC", "serverTime": now_ms(), "symbols": [
            symbol("BTCUSDT", "BTC", "0.01000000", "0.00001000"),
            symbol("ETHUSDT", "ETH", "0.01000000", "0.00010000"),
        ]}),
    )
}

async fn account(req: HttpRequest, st: Shared) -> HttpResponse {
    if let Err(r) = st.lock().gate(&req, true, true) {
        return *r;
    }
    HttpResponse::Ok().json(
        json!({"makerCommission": 10, "canTrade": true, "balances": [
        {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"},
        {"asset": "USDT", "free": "100000.00000000", "locked": "0.00000000"},
        {"asset": "BNB", "free": "0.00000000", "locked": "0.00000000"}]}),
    )
}

async fn depth(req: HttpRequest, st: Shared) -> HttpResponse {
    let mut s = st.lock();
    let params = match s.gate(&req, false, false) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    s.snapshots += 1;
    let sym = get(&params, "symbol").unwrap_or("BTCUSDT").to_string();
    let base = if sym.starts_with("BTC") {
        50000.0
    } else {
        2800.0
    };
    let id = *s.depth_ids.entry(sym).or_insert(1000);
    HttpResponse::Ok().json(json!({"lastUpdateId": id,
        "bids": [[format!("{:.2}", base - 0.5), "1.0"], [format!("{:.2}", base - 1.0), "3.0"]],
        "asks": [[format!("{:.2}", base + 0.5), "1.0"], [format!("{:.2}", base + 1.0), "3.0"]]}))
}

async fn listen_key(req: HttpRequest, st: Shared) -> HttpResponse {
    let mut s = st.lock();
    let params = match s.gate(&req, false, true) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if req.method() == actix_web::http::Method::PUT {
        return if get(&params, "listenKey") == s.valid_key.as_deref() {
            s.keepalives += 1;
            HttpResponse::Ok().json(json!({}))
        } else {
            api_error(400, -1125, "This listenKey does not exist.")
        };
    }
    let key = format!("lk{:0>58}", s.listen_keys.len() + 1);
    s.listen_keys.push(key.clone());
    s.valid_key = Some(key.clone());
    HttpResponse::Ok().json(json!({"listenKey": key}))
}

async fn order(req: HttpRequest, st: Shared) -> HttpResponse {
    let mut s = st.lock();
    let params = match s.gate(&req, true, true) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let method = req.method().clone();
    let by_client = get(&params, "origClientOrderId").map(str::to_string);
    if method == actix_web::http::Method::GET || method == actix_web::http::Method::DELETE {
        let Some(i) = s
            .orders
            .iter()
            .position(|o| Some(&o.client_id) == by_client.as_ref())
        else {
            return api_error(
                400,
                if method == actix_web::http::Method::GET {
                    -2013
                } else {
                    -2011
                },
                "Order does not exist.",
            );
        };
        if method == actix_web::http::Method::DELETE {
            if s.orders[i].status != "NEW" && s.orders[i].status != "PARTIALLY_FILLED" {
                return api_error(400, -2011, "Unknown order sent.");
            }
            s.orders[i].status = "CANCELED".into();
            let report = State::report(&s.orders[i], "CANCELED", 0.0, "0", -1);
            s.push_user(report);
        }
        return HttpResponse::Ok().json(State::order_json(&s.orders[i]));
    }
    s.next_order += 1;
    let o = FakeOrder {
        order_id: s.next_order,
        client_id: get(&params, "newClientOrderId").unwrap_or("x").to_string(),
        symbol: get(&params, "symbol").unwrap_or_default().to_string(),
        side: get(&params, "side").unwrap_or_default().to_string(),
        kind: get(&params, "type").unwrap_or_default().to_string(),
        tif: get(&params, "timeInForce").unwrap_or("GTC").to_string(),
        qty: get(&params, "quantity").unwrap_or("0").to_string(),
        price: get(&params, "price").unwrap_or("0").to_string(),
        executed: 0.0,
        status: "NEW".into(),
        params: params_of(req.query_string()),
    };
    let answer = State::order_json(&o);
    let report = State::report(&o, "NEW", 0.0, "0", -1);
    let (id, market, qty) = (
        o.order_id,
        o.kind == "MARKET",
        o.qty.parse::<f64>().unwrap_or(0.0),
    );
    s.orders.push(o);
    s.push_user(report);
    if market {
        s.fill(id, qty);
    }
    HttpResponse::Ok().json(answer)
}

async fn open_orders(req: HttpRequest, st: Shared) -> HttpResponse {
    let mut s = st.lock();
    if let Err(r) = s.gate(&req, true, true) {
        return *r;
    }
    let list: Vec<Value> = s
        .orders
        .iter()
        .filter(|o| o.status == "NEW" || o.status == "PARTIALLY_FILLED")
        .map(State::order_json)
        .collect();
    HttpResponse::Ok().json(list)
}

async fn my_trades(req: HttpRequest, st: Shared) -> HttpResponse {
    let mut s = st.lock();
    let params = match s.gate(&req, true, true) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let order_id: u64 = get(&params, "orderId")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let list: Vec<Value> = s
        .trades
        .iter()
        .filter(|t| t.order_id == order_id)
        .map(|t| {
            json!({"symbol": t.symbol, "id": t.id, "orderId": t.order_id, "orderListId": -1, "price": t.price,
                   "qty": t.qty, "quoteQty": "0", "commission": "0.00010000", "commissionAsset": "BNB",
                   "time": now_ms(), "isBuyer": true, "isMaker": true, "isBestMatch": true})
        })
        .collect();
    HttpResponse::Ok().json(list)
}

async fn user_ws(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    st: Shared,
) -> actix_web::Result<HttpResponse> {
    {
        let mut s = st.lock();
        s.handshakes += 1;
        if s.refuse_handshakes > 0 {
            s.refuse_handshakes -= 1;
            return Ok(HttpResponse::ServiceUnavailable().finish());
        }
        if s.valid_key.as_deref() != Some(path.as_str()) {
            return Ok(api_error(400, -1125, "This listenKey does not exist."));
        }
    }
    let sock = FakeSocket {
        kind: Kind::User,
        streams: vec![],
        state: st.get_ref().clone(),
    };
    let (addr, resp) = ws::WsResponseBuilder::new(sock, &req, body).start_with_addr()?;
    st.lock().user.push(addr);
    Ok(resp)
}

async fn market_ws(
    req: HttpRequest,
    body: web::Payload,
    st: Shared,
) -> actix_web::Result<HttpResponse> {
    let streams: Vec<String> = params_of(req.query_string())
        .into_iter()
        .find(|(k, _)| k == "streams")
        .map(|(_, v)| v.split('/').map(str::to_string).collect())
        .unwrap_or_default();
    {
        let mut s = st.lock();
        s.handshakes += 1;
        if s.refuse_handshakes > 0 {
            s.refuse_handshakes -= 1;
            return Ok(HttpResponse::ServiceUnavailable().finish());
        }
    }
    let sock = FakeSocket {
        kind: Kind::Market,
        streams,
        state: st.get_ref().clone(),
    };
    let (addr, resp) = ws::WsResponseBuilder::new(sock, &req, body).start_with_addr()?;
    st.lock().market.push(addr);
    Ok(resp)
}

impl FakeBinance {
    pub async fn start() -> FakeBinance {
        let state: Arc<Mutex<State>> = Arc::default();
        let data = web::Data::new(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/api/v3/time", web::get().to(time))
                .route("/api/v3/exchangeInfo", web::get().to(exchange_info))
                .route("/api/v3/account", web::get().to(account))
                .route("/api/v3/depth", web::get().to(depth))
                .route("/api/v3/userDataStream", web::post().to(listen_key))
                .route("/api/v3/userDataStream", web::put().to(listen_key))
                .route("/api/v3/order", web::post().to(order))
                .route("/api/v3/order", web::get().to(order))
                .route("/api/v3/order", web::delete().to(order))
                .route("/api/v3/myTrades", web::get().to(my_trades))
                .route("/api/v3/openOrders", web::get().to(open_orders))
                .route("/ws/{key}", web::get().to(user_ws))
                .route("/stream", web::get().to(market_ws))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        FakeBinance {
            url: format!("http://{addr}"),
            ws_url: format!("ws://{addr}"),
            state,
            handle,
        }
    }

    /// The `create_connection` frame that points the engine here.
    pub fn connection_cmd(&self) -> Value {
        json!({"cmd": "create_connection", "exchange": "binance", "api_key": API_KEY, "api_secret": API_SECRET,
               "testnet": true, "name": "binance", "rest_url": self.url, "ws_url": self.ws_url,
               "pairs": ["BTC-USDT"]})
    }

    /// Closes every socket at once, as a network failure would.
    pub fn drop_sockets(&self) {
        let mut s = self.state.lock();
        let mut all: Vec<Addr<FakeSocket>> = s.user.drain(..).collect();
        all.append(&mut s.market);
        for a in all {
            a.do_send(Drop);
        }
    }

    pub fn refuse_handshakes(&self, n: u32) {
        self.state.lock().refuse_handshakes = n;
    }

    /// Sockets stay open but nothing comes through, pongs included.
    pub fn go_silent(&self, silent: bool) {
        self.state.lock().silent = silent;
    }

    /// Stops the `bookTicker` stream (depth keeps coming).
    pub fn mute_book_ticker(&self) {
        self.state.lock().no_book_ticker = true;
    }

    pub fn skip_depth_id(&self) {
        self.state.lock().skip_depth = true;
    }

    pub fn rate_limit(&self, requests: u32, retry_after_s: u64) {
        let mut s = self.state.lock();
        s.rate_limit = requests;
        s.retry_after_s = retry_after_s;
    }

    pub fn expire_listen_key(&self) {
        let mut s = self.state.lock();
        s.valid_key = None;
        let text = json!({"e": "listenKeyExpired", "E": now_ms(), "listenKey": "gone"}).to_string();
        s.push_user(text);
    }

    /// Fills part of an order; the executionReport reaches only a socket
    /// that is connected right now.
    pub fn fill(&self, order_id: u64, qty: f64) -> Option<i64> {
        self.state.lock().fill(order_id, qty)
    }

    /// Sends a trade's executionReport again, as a duplicate delivery.
    pub fn resend_fill(&self, trade_id: i64) {
        let s = self.state.lock();
        if let Some(r) = s.reports.get(&trade_id) {
            s.push_user(r.clone());
        }
    }

    /// Forgets the user sockets (as if they were gone) without closing them.
    pub fn deafen_user_stream(&self) {
        self.state.lock().user.clear();
    }

    /// Moves the fake's clock ahead of the engine's.
    pub fn skew_clock(&self, ms: i64) {
        self.state.lock().skew_ms = ms;
    }

    /// An order placed on "the website", not through laicai.
    pub fn place_elsewhere(&self, client_id: &str, side: &str, qty: &str, price: &str) -> u64 {
        let mut s = self.state.lock();
        s.next_order += 1;
        let o = FakeOrder {
            order_id: s.next_order,
            client_id: client_id.to_string(),
            symbol: "BTCUSDT".into(),
            side: side.into(),
            kind: "LIMIT".into(),
            tif: "GTC".into(),
            qty: qty.into(),
            price: price.into(),
            executed: 0.0,
            status: "NEW".into(),
            params: vec![],
        };
        let id = o.order_id;
        s.orders.push(o);
        id
    }

    pub fn orders(&self) -> Vec<FakeOrder> {
        self.state.lock().orders.clone()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Fast reconnects for tests.
pub const CONNECTIONS: &str = "[connections]\nbackoff_base_ms = 100\nbackoff_max_ms = 1600\nstable_s = 30\nmax_attempts = 10\nsilent_timeout_ms = 1500\nping_interval_ms = 300\nrequest_timeout_ms = 3000\n";

pub async fn connected(c: &mut super::Client, fake: &FakeBinance) -> String {
    let r = c.ok(fake.connection_cmd()).await;
    let id = r["connection_id"].as_str().unwrap().to_string();
    c.wait_for("connected", |v| {
        v["type"] == "connection" && v["id"] == id && v["status"] == "connected"
    })
    .await;
    id
}

/// The Binance book, once its depth snapshot is in (it has bids).
pub fn binance_book(v: &Value) -> bool {
    v["type"] == "orderbook"
        && v["exchange"] == "binance"
        && v["bids"].as_array().is_some_and(|b| !b.is_empty())
}

pub fn is_conn(v: &Value, status: &str) -> bool {
    v["type"] == "connection" && v["status"] == status
}
