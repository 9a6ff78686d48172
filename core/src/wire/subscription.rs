//! Subscriptions: which events a session receives, and how often. A
//! `Topic` is a channel (an event type, `market_data` which also covers
//! `price`, or `*`) and an optional symbol; a `SubscriptionSet` is a
//! session's topics, each with the SDK form's `update_frequency` and price
//! `filters`.
//!
//! Frequency and filters shape market data only (`price`, `market_data`,
//! `orderbook`; the price filter reads `price` and `market_data`'s price):
//! order, trade, position, balance and the other events are always
//! delivered as they happen.

use super::events::EventKind;
use super::frame::FrameError;
use crate::Decimal;
use serde_json::{Map, Value};
use std::time::Duration;

/// A channel a client may subscribe to: `*`, or an event kind (every
/// kind but the snapshot). What a topic and an event are matched on, once
/// per session for every event published, so it compares as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `*`: every event.
    All,
    Kind(EventKind),
}

impl Channel {
    /// The channel events of `kind` are published on (`None`: the
    /// snapshot, which is sent, never subscribed to).
    pub fn of(kind: EventKind) -> Option<Channel> {
        (kind != EventKind::Snapshot).then_some(Channel::Kind(kind))
    }

    /// Every channel: `*`, then the event kinds in their order.
    pub fn every() -> impl Iterator<Item = Channel> {
        std::iter::once(Channel::All).chain(EventKind::ALL.iter().copied().filter_map(Channel::of))
    }

    /// Its name on the wire: the `channel` a client subscribes to and the
    /// `type` of its events.
    pub fn name(self) -> &'static str {
        match self {
            Channel::All => "*",
            Channel::Kind(k) => k.as_str(),
        }
    }

    /// `None` for a name that is not a channel.
    pub fn named(name: &str) -> Option<Channel> {
        Self::every().find(|c| c.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Topic {
    pub channel: Channel,
    pub symbol: Option<String>,
}

impl Topic {
    pub fn new(channel: Channel, symbol: Option<&str>) -> Self {
        Topic {
            channel,
            symbol: symbol.map(str::to_string),
        }
    }

    /// Whether an event of `channel` (`None`: the snapshot, which only
    /// `*` takes) and `symbol` is on this topic.
    pub fn matches(&self, channel: Option<Channel>, symbol: Option<&str>) -> bool {
        let channel_ok = self.channel == Channel::All
            || channel == Some(self.channel)
            || (self.channel == Channel::Kind(EventKind::MarketData)
                && channel == Some(Channel::Kind(EventKind::Price)));
        channel_ok
            && match (&self.symbol, symbol) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    }
}

/// How often a subscription wants market data: every update, or the
/// newest one at most once per interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateFrequency {
    #[default]
    Realtime,
    Every(Duration),
}

impl UpdateFrequency {
    pub const NAMES: &'static str = "realtime, 1s, 5s or 1m";

    pub fn parse(name: &str) -> Option<Self> {
        let secs = match name {
            "realtime" => return Some(UpdateFrequency::Realtime),
            "1s" => 1,
            "5s" => 5,
            "1m" => 60,
            _ => return None,
        };
        Some(UpdateFrequency::Every(Duration::from_secs(secs)))
    }
}

/// Market data priced outside `[min, max]` is not delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriceFilter {
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

impl PriceFilter {
    pub fn admits(&self, price: Option<Decimal>) -> bool {
        let Some(p) = price else { return true };
        self.min.is_none_or(|min| p >= min) && self.max.is_none_or(|max| p <= max)
    }

    fn parse(v: Option<&Value>) -> Result<Self, FrameError> {
        let map = match v {
            None | Some(Value::Null) => return Ok(PriceFilter::default()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(bad("`filters` must be an object")),
        };
        let mut filter = PriceFilter::default();
        for (key, value) in map {
            let price = match value {
                Value::Null => None,
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) => Some(s.clone()),
                _ => return Err(bad(format!("`filters.{key}` must be a number"))),
            }
            .map(|text| {
                crate::num::parse_decimal(&text).map_err(|e| bad(format!("`filters.{key}`: {e}")))
            })
            .transpose()?;
            match key.as_str() {
                "min_price" => filter.min = price,
                "max_price" => filter.max = price,
                other => {
                    return Err(bad(format!(
                        "unknown filter `{other}`: supported are min_price and max_price"
                    )))
                }
            }
        }
        if let (Some(min), Some(max)) = (filter.min, filter.max) {
            if min > max {
                return Err(bad("`filters.min_price` is above `filters.max_price`"));
            }
        }
        Ok(filter)
    }
}

/// A subscribe or unsubscribe message, in either of the protocol's forms.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionRequest {
    pub topics: Vec<Topic>,
    /// The SDK form's id, echoed in the answer.
    pub subscription_id: Option<String>,
    /// The channel form's fields, echoed in the answer.
    pub channel: Option<String>,
    pub symbol: Option<String>,
    pub frequency: UpdateFrequency,
    pub filter: PriceFilter,
}

fn bad(msg: impl Into<String>) -> FrameError {
    FrameError::InvalidParams(msg.into())
}

fn channel_name(name: &str) -> Result<Channel, FrameError> {
    let canonical = match name {
        "volume" => "market_data",
        "depth" => "orderbook",
        other => other,
    };
    Channel::named(canonical).ok_or_else(|| bad(format!("unknown channel `{name}`")))
}

fn opt_symbol(v: Option<&Value>, field: &str) -> Result<Option<String>, FrameError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_ascii_uppercase())),
        Some(_) => Err(bad(format!("`{field}` must be a string"))),
    }
}

fn string_list(v: Option<&Value>, field: &str) -> Result<Vec<String>, FrameError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("`{field}` must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(bad(format!("`{field}` must be a list of strings"))),
    }
}

impl SubscriptionRequest {
    pub fn parse(map: &Map<String, Value>) -> Result<Self, FrameError> {
        let subscription_id = match map.get("subscription_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("`subscription_id` must be a string")),
        };
        if let Some(channel) = map.get("channel").filter(|v| !v.is_null()) {
            let name = channel
                .as_str()
                .ok_or_else(|| bad("`channel` must be a string"))?;
            let symbol = opt_symbol(map.get("symbol"), "symbol")?;
            return Ok(SubscriptionRequest {
                topics: vec![Topic::new(channel_name(name)?, symbol.as_deref())],
                subscription_id,
                channel: Some(name.to_string()),
                symbol,
                frequency: UpdateFrequency::Realtime,
                filter: PriceFilter::default(),
            });
        }
        // The SDK form: symbols × data_types.
        let kinds = string_list(map.get("data_types"), "data_types")?;
        let symbols: Vec<String> = string_list(map.get("symbols"), "symbols")?
            .into_iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .collect();
        let frequency = match map.get("update_frequency") {
            None | Some(Value::Null) => UpdateFrequency::Realtime,
            Some(Value::String(name)) => UpdateFrequency::parse(name).ok_or_else(|| {
                bad(format!(
                    "update_frequency `{name}` is not one of {}",
                    UpdateFrequency::NAMES
                ))
            })?,
            Some(_) => return Err(bad("`update_frequency` must be a string")),
        };
        let filter = PriceFilter::parse(map.get("filters"))?;
        if kinds.is_empty() && subscription_id.is_none() {
            return Err(bad(
                "a subscription needs a `channel`, or `data_types` (with optional `symbols`)",
            ));
        }
        let mut topics = Vec::new();
        for kind in &kinds {
            let channel = channel_name(kind)?;
            if symbols.is_empty() {
                topics.push(Topic::new(channel, None));
            }
            for s in &symbols {
                topics.push(Topic::new(channel, Some(s)));
            }
        }
        Ok(SubscriptionRequest {
            topics,
            subscription_id,
            channel: None,
            symbol: None,
            frequency,
            filter,
        })
    }
}

/// How an event reaches a session, given its subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Skip,
    Now,
    /// Market data wanted at most once per interval (the newest).
    Every(Duration),
}

/// An event as subscriptions see it.
#[derive(Clone, Copy, Debug)]
pub struct EventKey<'a> {
    /// `None` for the one event type that is no channel, the snapshot.
    pub channel: Option<Channel>,
    pub symbol: Option<&'a str>,
    /// Set for market data only: frequency and filters apply to it.
    pub market: Option<MarketPrice>,
}

impl EventKey<'_> {
    /// The event's `type`.
    pub fn name(&self) -> &'static str {
        event_type(self.channel)
    }
}

/// The `type` of an event on `channel` (`None`: the snapshot).
pub fn event_type(channel: Option<Channel>) -> &'static str {
    channel.map_or("snapshot", Channel::name)
}

/// Market data's price, if it has one (an order book frame has none).
#[derive(Clone, Copy, Debug)]
pub struct MarketPrice(pub Option<Decimal>);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at most {limit} subscriptions per connection")]
pub struct SubscriptionLimit {
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    topic: Topic,
    id: Option<String>,
    frequency: UpdateFrequency,
    filter: PriceFilter,
}

/// A session's subscriptions. Each topic is held once per SDK
/// subscription id (subscribing again updates its frequency and filters).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriptionSet {
    entries: Vec<Entry>,
}

impl SubscriptionSet {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn only(channel: Channel) -> Self {
        SubscriptionSet {
            entries: vec![Entry {
                topic: Topic::new(channel, None),
                id: None,
                frequency: UpdateFrequency::Realtime,
                filter: PriceFilter::default(),
            }],
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the request's topics, all or none.
    pub fn add(
        &mut self,
        req: &SubscriptionRequest,
        limit: usize,
    ) -> Result<(), SubscriptionLimit> {
        let id = req.subscription_id.as_deref();
        let position = |entries: &[Entry], t: &Topic| {
            entries
                .iter()
                .position(|e| &e.topic == t && e.id.as_deref() == id)
        };
        let new = req
            .topics
            .iter()
            .filter(|t| position(&self.entries, t).is_none())
            .count();
        if self.entries.len() + new > limit {
            return Err(SubscriptionLimit { limit });
        }
        for t in &req.topics {
            let entry = Entry {
                topic: t.clone(),
                id: id.map(str::to_string),
                frequency: req.frequency,
                filter: req.filter,
            };
            match position(&self.entries, t) {
                Some(i) => self.entries[i] = entry,
                None => self.entries.push(entry),
            }
        }
        Ok(())
    }

    /// Removes the given topics, or every topic of the subscription id.
    pub fn remove(&mut self, topics: &[Topic], id: Option<&str>) -> usize {
        let before = self.entries.len();
        match (id, topics.is_empty()) {
            (Some(id), true) => self.entries.retain(|e| e.id.as_deref() != Some(id)),
            _ => self.entries.retain(|e| !topics.contains(&e.topic)),
        }
        before - self.entries.len()
    }

    /// Whether an event of `channel` and `symbol` is delivered at all
    /// (frequency aside).
    pub fn matches(&self, channel: Option<Channel>, symbol: Option<&str>) -> bool {
        self.entries
            .iter()
            .any(|e| e.topic.matches(channel, symbol))
    }

    /// How `event` reaches this session: at once if any matching
    /// subscription wants it as it happens, else at the shortest interval
    /// of those that match.
    pub fn route(&self, event: &EventKey) -> Route {
        let mut every: Option<Duration> = None;
        for e in &self.entries {
            if !e.topic.matches(event.channel, event.symbol) {
                continue;
            }
            let Some(MarketPrice(price)) = event.market else {
                return Route::Now;
            };
            if !e.filter.admits(price) {
                continue;
            }
            match e.frequency {
                UpdateFrequency::Realtime => return Route::Now,
                UpdateFrequency::Every(d) => every = Some(every.map_or(d, |m| m.min(d))),
            }
        }
        every.map_or(Route::Skip, Route::Every)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> Result<SubscriptionRequest, FrameError> {
        let v: Value = serde_json::from_str(json).unwrap();
        SubscriptionRequest::parse(v.as_object().unwrap())
    }

    #[test]
    fn channel_form_and_matching() {
        let r = req(r#"{"type":"subscribe","channel":"market_data","symbol":"btc-usdt"}"#).unwrap();
        let mut s = SubscriptionSet::empty();
        s.add(&r, 50).unwrap();
        assert!(s.matches(Channel::named("price"), Some("BTC-USDT")));
        assert!(s.matches(Channel::named("market_data"), Some("BTC-USDT")));
        assert!(!s.matches(Channel::named("price"), Some("ETH-USDT")));
        assert!(!s.matches(Channel::named("order_update"), Some("BTC-USDT")));
        assert_eq!(s.remove(&r.topics, None), 1);
        assert!(s.is_empty());
        assert!(SubscriptionSet::only(Channel::All).matches(Channel::named("trade"), Some("X-Y")));
        assert!(SubscriptionSet::only(Channel::All).matches(Channel::named("not-a-channel"), None));
        assert!(!SubscriptionSet::only(Channel::Kind(EventKind::Log))
            .matches(Channel::named("trade"), None));
        assert!(SubscriptionSet::only(Channel::Kind(EventKind::Log))
            .matches(Channel::named("log"), None));
        assert!(req(r#"{"type":"subscribe","channel":"bogus"}"#).is_err());
    }

    #[test]
    fn sdk_form_and_limit() {
        let r = req(r#"{"type":"subscribe","subscription_id":"s1","symbols":["BTC-USDT","ETH-USDT"],"data_types":["price","orderbook"]}"#).unwrap();
        assert_eq!(r.topics.len(), 4);
        let mut s = SubscriptionSet::empty();
        assert!(s.add(&r, 3).is_err());
        s.add(&r, 50).unwrap();
        s.add(&r, 50).unwrap();
        assert_eq!(s.len(), 4, "re-subscribing is idempotent");
        assert!(s.matches(Channel::named("orderbook"), Some("ETH-USDT")));
        assert_eq!(s.remove(&[], Some("s1")), 4);
    }

    #[test]
    fn every_event_type_but_the_snapshot_is_a_channel() {
        for k in EventKind::ALL {
            assert_eq!(
                Channel::named(k.as_str()).is_some(),
                *k != EventKind::Snapshot,
                "`{k}`"
            );
        }
    }

    #[test]
    fn each_channel_is_its_name() {
        for (name, channel) in [
            ("*", Channel::All),
            ("price", Channel::Kind(EventKind::Price)),
            ("market_data", Channel::Kind(EventKind::MarketData)),
            ("log", Channel::Kind(EventKind::Log)),
        ] {
            assert_eq!(channel.name(), name);
            assert_eq!(Channel::named(name), Some(channel));
        }
        for channel in Channel::every() {
            assert_eq!(Channel::named(channel.name()), Some(channel));
        }
        assert_eq!(Channel::named("volume"), None);
    }

    fn market(name: &'static str, price: &str) -> EventKey<'static> {
        EventKey {
            channel: Channel::named(name),
            symbol: Some("BTC-USDT"),
            market: Some(MarketPrice(Some(crate::num::parse_decimal(price).unwrap()))),
        }
    }

    #[test]
    fn frequency_and_filters_shape_market_data_only() {
        let r = req(r#"{"type":"subscribe","subscription_id":"slow","symbols":["BTC-USDT"],"data_types":["price","trade"],"update_frequency":"5s","filters":{"min_price":100,"max_price":"200.5"}}"#).unwrap();
        assert_eq!(r.frequency, UpdateFrequency::Every(Duration::from_secs(5)));
        let mut s = SubscriptionSet::empty();
        s.add(&r, 50).unwrap();
        assert_eq!(
            s.route(&market("price", "150")),
            Route::Every(Duration::from_secs(5))
        );
        assert_eq!(s.route(&market("price", "200.51")), Route::Skip);
        assert_eq!(s.route(&market("price", "99.99")), Route::Skip);
        let trade = EventKey {
            channel: Some(Channel::Kind(EventKind::Trade)),
            symbol: Some("BTC-USDT"),
            market: None,
        };
        assert_eq!(
            s.route(&trade),
            Route::Now,
            "a trade is never throttled or filtered"
        );

        // A realtime subscription to the same data wins; the shortest interval otherwise.
        let fast = req(r#"{"type":"subscribe","subscription_id":"fast","symbols":["BTC-USDT"],"data_types":["price"],"update_frequency":"1s"}"#).unwrap();
        s.add(&fast, 50).unwrap();
        assert_eq!(
            s.route(&market("price", "150")),
            Route::Every(Duration::from_secs(1))
        );
        assert_eq!(
            s.route(&market("price", "500")),
            Route::Every(Duration::from_secs(1))
        );
        let live = req(r#"{"type":"subscribe","subscription_id":"fast","symbols":["BTC-USDT"],"data_types":["price"]}"#).unwrap();
        s.add(&live, 50).unwrap();
        assert_eq!(s.len(), 3, "subscribing again updates in place");
        assert_eq!(s.route(&market("price", "150")), Route::Now);

        for bad in [
            r#"{"type":"subscribe","data_types":["price"],"update_frequency":"2s"}"#,
            r#"{"type":"subscribe","data_types":["price"],"update_frequency":5}"#,
            r#"{"type":"subscribe","data_types":["price"],"filters":{"min_volume":1}}"#,
            r#"{"type":"subscribe","data_types":["price"],"filters":{"min_price":"x"}}"#,
            r#"{"type":"subscribe","data_types":["price"],"filters":{"min_price":5,"max_price":4}}"#,
            r#"{"type":"subscribe","data_types":["price"],"filters":[1]}"#,
        ] {
            assert!(req(bad).is_err(), "{bad}");
        }
    }
}
