//! Subscriptions: which events a session receives. A `Topic` is a channel
//! (an event type, `market_data` which also covers `price`, or `*`) and an
//! optional symbol; a `SubscriptionSet` is a session's topics.

use super::commands::FrameError;
use serde_json::{Map, Value};

/// Every channel a client may subscribe to.
pub const CHANNELS: &[&str] = &[
    "*",
    "connected",
    "disconnected",
    "system_status",
    "price",
    "market_data",
    "orderbook",
    "order_update",
    "trade",
    "position",
    "balance",
    "strategy",
    "log",
    "connection",
    "agent_status",
    "backtest_progress",
    "backtest_result",
    "alerts",
    "error",
];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Topic {
    pub channel: String,
    pub symbol: Option<String>,
}

impl Topic {
    pub fn new(channel: &str, symbol: Option<&str>) -> Self {
        Topic {
            channel: channel.to_string(),
            symbol: symbol.map(str::to_string),
        }
    }

    pub fn matches(&self, event: &str, symbol: Option<&str>) -> bool {
        let channel_ok = self.channel == "*"
            || self.channel == event
            || (self.channel == "market_data" && event == "price");
        channel_ok
            && match (&self.symbol, symbol) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
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
}

fn bad(msg: impl Into<String>) -> FrameError {
    FrameError::InvalidParams(msg.into())
}

fn channel_name(name: &str) -> Result<String, FrameError> {
    let canonical = match name {
        "volume" => "market_data",
        "depth" => "orderbook",
        other => other,
    };
    if CHANNELS.contains(&canonical) {
        Ok(canonical.to_string())
    } else {
        Err(bad(format!("unknown channel `{name}`")))
    }
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
                topics: vec![Topic::new(&channel_name(name)?, symbol.as_deref())],
                subscription_id,
                channel: Some(name.to_string()),
                symbol,
            });
        }
        // The SDK form: symbols × data_types.
        let kinds = string_list(map.get("data_types"), "data_types")?;
        let symbols: Vec<String> = string_list(map.get("symbols"), "symbols")?
            .into_iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .collect();
        match map.get("update_frequency").and_then(Value::as_str) {
            None | Some("realtime") => {}
            Some(other) => {
                return Err(bad(format!(
                    "update_frequency `{other}` is not supported yet; use realtime"
                )))
            }
        }
        if kinds.is_empty() && subscription_id.is_none() {
            return Err(bad(
                "a subscription needs a `channel`, or `data_types` (with optional `symbols`)",
            ));
        }
        let mut topics = Vec::new();
        for kind in &kinds {
            let channel = channel_name(kind)?;
            if symbols.is_empty() {
                topics.push(Topic::new(&channel, None));
            }
            for s in &symbols {
                topics.push(Topic::new(&channel, Some(s)));
            }
        }
        Ok(SubscriptionRequest {
            topics,
            subscription_id,
            channel: None,
            symbol: None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at most {limit} subscriptions per connection")]
pub struct SubscriptionLimit {
    pub limit: usize,
}

/// A session's subscriptions. Each topic is held once, with the SDK
/// subscription id that added it (if any).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriptionSet {
    entries: Vec<(Topic, Option<String>)>,
}

impl SubscriptionSet {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn only(channel: &str) -> Self {
        SubscriptionSet {
            entries: vec![(Topic::new(channel, None), None)],
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn add(
        &mut self,
        topics: &[Topic],
        id: Option<&str>,
        limit: usize,
    ) -> Result<(), SubscriptionLimit> {
        let new: Vec<&Topic> = topics
            .iter()
            .filter(|t| {
                !self
                    .entries
                    .iter()
                    .any(|(have, hid)| have == *t && hid.as_deref() == id)
            })
            .collect();
        if self.entries.len() + new.len() > limit {
            return Err(SubscriptionLimit { limit });
        }
        for t in new {
            self.entries.push((t.clone(), id.map(str::to_string)));
        }
        Ok(())
    }

    /// Removes the given topics, or every topic of the subscription id.
    pub fn remove(&mut self, topics: &[Topic], id: Option<&str>) -> usize {
        let before = self.entries.len();
        match (id, topics.is_empty()) {
            (Some(id), true) => self.entries.retain(|(_, hid)| hid.as_deref() != Some(id)),
            _ => self.entries.retain(|(t, _)| !topics.contains(t)),
        }
        before - self.entries.len()
    }

    pub fn matches(&self, event: &str, symbol: Option<&str>) -> bool {
        self.entries.iter().any(|(t, _)| t.matches(event, symbol))
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
        s.add(&r.topics, None, 50).unwrap();
        assert!(s.matches("price", Some("BTC-USDT")));
        assert!(s.matches("market_data", Some("BTC-USDT")));
        assert!(!s.matches("price", Some("ETH-USDT")));
        assert!(!s.matches("order_update", Some("BTC-USDT")));
        assert_eq!(s.remove(&r.topics, None), 1);
        assert!(s.is_empty());
        assert!(SubscriptionSet::only("*").matches("trade", Some("X-Y")));
        assert!(req(r#"{"type":"subscribe","channel":"bogus"}"#).is_err());
    }

    #[test]
    fn sdk_form_and_limit() {
        let r = req(r#"{"type":"subscribe","subscription_id":"s1","symbols":["BTC-USDT","ETH-USDT"],"data_types":["price","orderbook"]}"#).unwrap();
        assert_eq!(r.topics.len(), 4);
        let mut s = SubscriptionSet::empty();
        assert!(s.add(&r.topics, Some("s1"), 3).is_err());
        s.add(&r.topics, Some("s1"), 50).unwrap();
        s.add(&r.topics, Some("s1"), 50).unwrap();
        assert_eq!(s.len(), 4, "re-subscribing is idempotent");
        assert!(s.matches("orderbook", Some("ETH-USDT")));
        assert_eq!(s.remove(&[], Some("s1")), 4);
    }
}
