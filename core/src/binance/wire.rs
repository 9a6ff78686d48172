//! Binance spot's wire formats, as its REST and WebSocket APIs send them,
//! with only the fields laicai reads. Decimals arrive as strings and are
//! read exactly.

use crate::num::Level;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `GET /api/v3/time`: `{"serverTime":1499827319559}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    pub server_time: i64,
}

/// Any error body: `{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub msg: String,
}

/// `GET /api/v3/exchangeInfo`, trimmed to the symbols and their filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeInfo {
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    /// `BTCUSDT`
    pub symbol: String,
    /// `TRADING`, `BREAK`, …
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub filters: Vec<Filter>,
}

/// `{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000","tickSize":"0.01"}` and friends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "filterType")]
pub enum Filter {
    #[serde(rename = "PRICE_FILTER", rename_all = "camelCase")]
    Price {
        #[serde(with = "crate::num")]
        tick_size: Decimal,
    },
    #[serde(rename = "LOT_SIZE", rename_all = "camelCase")]
    LotSize {
        #[serde(with = "crate::num")]
        min_qty: Decimal,
        #[serde(with = "crate::num")]
        step_size: Decimal,
    },
    #[serde(rename = "MIN_NOTIONAL", rename_all = "camelCase")]
    MinNotional {
        #[serde(with = "crate::num")]
        min_notional: Decimal,
    },
    #[serde(rename = "NOTIONAL", rename_all = "camelCase")]
    Notional {
        #[serde(with = "crate::num")]
        min_notional: Decimal,
    },
    #[serde(other)]
    Other,
}

/// `GET /api/v3/depth`: `{"lastUpdateId":1027024,"bids":[["4.00","431.0"]],"asks":[["4.02","12.0"]]}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepthSnapshot {
    pub last_update_id: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// `<symbol>@depth@100ms`: `{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","0"]]}`
/// (a size of 0 removes the level).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthUpdate {
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "U")]
    pub first_id: u64,
    #[serde(rename = "u")]
    pub last_id: u64,
    #[serde(rename = "b")]
    pub bids: Vec<Level>,
    #[serde(rename = "a")]
    pub asks: Vec<Level>,
}

/// `<symbol>@bookTicker`: `{"u":400900217,"s":"BNBUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookTicker {
    #[serde(rename = "u")]
    pub update_id: u64,
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "b", with = "crate::num")]
    pub bid: Decimal,
    #[serde(rename = "B", with = "crate::num")]
    pub bid_qty: Decimal,
    #[serde(rename = "a", with = "crate::num")]
    pub ask: Decimal,
    #[serde(rename = "A", with = "crate::num")]
    pub ask_qty: Decimal,
}

/// A combined-stream frame: `{"stream":"btcusdt@bookTicker","data":{…}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamFrame {
    pub stream: String,
    pub data: serde_json::Value,
}

/// The user data stream's `executionReport`:
/// `{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.5","z":"0.5","L":"0.1026","n":"0.0001","N":"BNB","T":1499405658657,"t":77,"m":true,"Z":"0.0513"}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionReport {
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "c")]
    pub client_order_id: String,
    #[serde(rename = "S")]
    pub side: String,
    #[serde(rename = "o")]
    pub order_type: String,
    #[serde(rename = "f")]
    pub time_in_force: String,
    #[serde(rename = "q", with = "crate::num")]
    pub quantity: Decimal,
    #[serde(rename = "p", with = "crate::num")]
    pub price: Decimal,
    /// Execution type: NEW, CANCELED, REPLACED, REJECTED, TRADE, EXPIRED, TRADE_PREVENTION.
    #[serde(rename = "x")]
    pub execution_type: String,
    /// Order status: NEW, PARTIALLY_FILLED, FILLED, CANCELED, PENDING_CANCEL, REJECTED, EXPIRED, EXPIRED_IN_MATCH.
    #[serde(rename = "X")]
    pub status: String,
    #[serde(rename = "r", default)]
    pub reject_reason: String,
    #[serde(rename = "i")]
    pub order_id: u64,
    #[serde(rename = "l", with = "crate::num")]
    pub last_qty: Decimal,
    #[serde(rename = "z", with = "crate::num")]
    pub cumulative_qty: Decimal,
    #[serde(rename = "L", with = "crate::num")]
    pub last_price: Decimal,
    #[serde(rename = "n", with = "crate::num::opt", default)]
    pub commission: Option<Decimal>,
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    #[serde(rename = "T")]
    pub transaction_time: i64,
    #[serde(rename = "t")]
    pub trade_id: i64,
    #[serde(rename = "m", default)]
    pub is_maker: bool,
    #[serde(rename = "Z", with = "crate::num", default)]
    pub cumulative_quote: Decimal,
}

/// `outboundAccountPosition`: `{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountPosition {
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "B")]
    pub balances: Vec<StreamBalance>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamBalance {
    #[serde(rename = "a")]
    pub asset: String,
    #[serde(rename = "f", with = "crate::num")]
    pub free: Decimal,
    #[serde(rename = "l", with = "crate::num")]
    pub locked: Decimal,
}

/// `GET /api/v3/account`: `{"balances":[{"asset":"BTC","free":"4723846.89208129","locked":"0.00000000"}], …}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub balances: Vec<RestBalance>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestBalance {
    pub asset: String,
    #[serde(with = "crate::num")]
    pub free: Decimal,
    #[serde(with = "crate::num")]
    pub locked: Decimal,
}

/// An order as `POST /api/v3/order` (RESULT), `DELETE /api/v3/order`,
/// `GET /api/v3/order` and `GET /api/v3/openOrders` return it:
/// `{"symbol":"BTCUSDT","orderId":28,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","price":"1.00","origQty":"10.0","executedQty":"0.0","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"SELL"}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestOrder {
    pub symbol: String,
    pub order_id: u64,
    pub client_order_id: String,
    #[serde(with = "crate::num")]
    pub price: Decimal,
    #[serde(with = "crate::num")]
    pub orig_qty: Decimal,
    #[serde(with = "crate::num")]
    pub executed_qty: Decimal,
    pub status: String,
    #[serde(default)]
    pub time_in_force: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub side: String,
}

/// `GET /api/v3/myTrades`: `[{"symbol":"BNBBTC","id":28457,"orderId":100234,"price":"4.0","qty":"12.0","commission":"10.1","commissionAsset":"BNB","time":1499865549590,"isBuyer":true,"isMaker":false}]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyTrade {
    pub symbol: String,
    pub id: i64,
    pub order_id: u64,
    #[serde(with = "crate::num")]
    pub price: Decimal,
    #[serde(with = "crate::num")]
    pub qty: Decimal,
    #[serde(with = "crate::num")]
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: i64,
    pub is_buyer: bool,
    pub is_maker: bool,
}

/// `POST /api/v3/userDataStream`: `{"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKey {
    pub listen_key: String,
}

/// A user data stream message, by its `e`.
#[derive(Clone, Debug, PartialEq)]
pub enum UserEvent {
    Execution(Box<ExecutionReport>),
    Account(AccountPosition),
    ListenKeyExpired,
    Other(String),
}

impl UserEvent {
    pub fn parse(text: &str) -> Result<UserEvent, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        // Newer servers wrap it: {"subscriptionId":0,"event":{…}}.
        let v = match v.get("event") {
            Some(inner) if inner.is_object() => inner.clone(),
            _ => v,
        };
        let kind = v
            .get("e")
            .and_then(|e| e.as_str())
            .unwrap_or_default()
            .to_string();
        let bad = |e: serde_json::Error| format!("{kind}: {e}");
        Ok(match kind.as_str() {
            "executionReport" => {
                UserEvent::Execution(Box::new(serde_json::from_value(v).map_err(bad)?))
            }
            "outboundAccountPosition" => {
                UserEvent::Account(serde_json::from_value(v).map_err(bad)?)
            }
            "listenKeyExpired" => UserEvent::ListenKeyExpired,
            _ => UserEvent::Other(kind),
        })
    }
}
