//! What a client is told: `ConnectionConfig` (the fields and defaults of the
//! original SDK, which existing callers rely on), `SubscriptionConfig`, and the observable `ConnectionState`.

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::fmt;
use std::time::Duration;

/// How to reach the engine and how hard to hold on. Its `Debug` shows
/// whether a key is set, never the key.
#[derive(Clone)]
pub struct ConnectionConfig {
    /// `ws://127.0.0.1:8000/api/stream` by default.
    pub url: String,
    /// A token (sent as `Authorization: Bearer …`); never logged.
    pub api_key: Option<String>,
    /// Reconnect attempts after a lost connection before giving up (state
    /// `Error`). Default 5.
    pub max_reconnect_attempts: u32,
    /// The first reconnect delay; it doubles per attempt (capped at 30 s),
    /// with jitter. Default 1 s.
    pub reconnect_delay: Duration,
    /// How often the client pings. Default 30 s.
    pub heartbeat_interval: Duration,
    /// Connecting, a command's answer, a ping's pong: each must come
    /// within this. Default 10 s.
    pub timeout: Duration,
    /// Subscriptions this client may hold. Default 100.
    pub max_subscriptions: usize,
    /// Other URLs serving the same engine's events (gateways, or the
    /// engine on another address). After a lost connection each attempt
    /// tries them in turn, starting with the one after the URL lost, and
    /// the client replays from its last `seq` on whichever answers.
    /// Default none.
    pub fallback_urls: Vec<String>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            url: "ws://127.0.0.1:8000/api/stream".into(),
            api_key: None,
            max_reconnect_attempts: 5,
            reconnect_delay: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            max_subscriptions: 100,
            fallback_urls: Vec::new(),
        }
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("max_reconnect_attempts", &self.max_reconnect_attempts)
            .field("reconnect_delay", &self.reconnect_delay)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("timeout", &self.timeout)
            .field("max_subscriptions", &self.max_subscriptions)
            .field("fallback_urls", &self.fallback_urls)
            .finish()
    }
}

impl ConnectionConfig {
    pub fn new(url: impl Into<String>) -> Self {
        ConnectionConfig {
            url: url.into(),
            ..Default::default()
        }
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into()).filter(|k: &String| !k.is_empty());
        self
    }
}

/// What to receive: `data_types` (event types: `price`, `trade`,
/// `order_update`, … ) for `symbols` (all when empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriptionConfig {
    pub symbols: Vec<String>,
    pub data_types: Vec<String>,
    /// `realtime` (default), `1s`, `5s` or `1m`.
    pub update_frequency: Option<String>,
    /// `min_price` / `max_price`.
    pub filters: Map<String, Value>,
}

impl SubscriptionConfig {
    pub fn new<S: Into<String>, T: Into<String>>(
        symbols: impl IntoIterator<Item = S>,
        data_types: impl IntoIterator<Item = T>,
    ) -> Self {
        SubscriptionConfig {
            symbols: symbols.into_iter().map(Into::into).collect(),
            data_types: data_types.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// The protocol's SDK-form `subscribe` (or `unsubscribe`) frame.
    pub(crate) fn frame(&self, kind: &str, id: &str) -> Value {
        let mut f = json!({
            "type": kind,
            "subscription_id": id,
            "symbols": self.symbols,
            "data_types": self.data_types,
        });
        if let Some(freq) = &self.update_frequency {
            f["update_frequency"] = json!(freq);
        }
        if !self.filters.is_empty() {
            f["filters"] = Value::Object(self.filters.clone());
        }
        f
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Disconnected,
    Connecting,
    Connected,
    Reconnecting,
    /// Gave up: reconnect attempts ran out.
    Error,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Error => "error",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_that_a_key_is_set_but_never_the_key() {
        let config = ConnectionConfig::new("ws://h/api/stream").with_api_key("s3cret-token");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let none = format!("{:?}", ConnectionConfig::default());
        assert!(none.contains("api_key: None"), "{none}");
    }
}
