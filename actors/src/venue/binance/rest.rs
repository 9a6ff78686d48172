//! `Rest`: Binance spot's REST API over awc. Signs requests (HMAC-SHA256
//! over the query string, `X-MBX-APIKEY`, `timestamp` corrected by the
//! measured server-time offset, `recvWindow`), honours 429/418
//! `Retry-After` by refusing locally until the ban ends, and resyncs the
//! clock and retries once on `-1021`.

use crate::clock::Clock;
use awc::http::Method;
use laicai_core::binance::sign::{sign, Credentials};
use laicai_core::binance::wire::{ApiError, ServerTime};
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    #[error("Binance error {code}: {msg}")]
    Api { status: u16, code: i64, msg: String },
    #[error("rate limited by Binance (HTTP {status}); no requests for {retry_after_ms} ms")]
    RateLimited { status: u16, retry_after_ms: u64 },
    #[error("Binance server error (HTTP {0})")]
    Server(u16),
    #[error("cannot reach Binance: {0}")]
    Transport(String),
    #[error("unexpected answer from Binance: {0}")]
    Decode(String),
}

/// Query-string encoding of one value (RFC 3986 unreserved kept).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn query(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Clone)]
pub struct Rest {
    client: awc::Client,
    base: String,
    creds: Credentials,
    recv_window_ms: u64,
    offset_ms: Rc<Cell<i64>>,
    banned_until: Rc<Cell<Option<Instant>>>,
    clock: Clock,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("base", &self.base)
            .field("offset_ms", &self.offset_ms.get())
            .field("banned_until", &self.banned_until.get())
            .finish_non_exhaustive()
    }
}

impl Rest {
    pub fn new(
        base: &str,
        creds: Credentials,
        recv_window_ms: u64,
        timeout: Duration,
        clock: Clock,
    ) -> Self {
        Rest {
            clock,
            client: awc::Client::builder().timeout(timeout).finish(),
            base: base.trim_end_matches('/').to_string(),
            creds,
            recv_window_ms,
            offset_ms: Rc::new(Cell::new(0)),
            banned_until: Rc::new(Cell::new(None)),
        }
    }

    fn ban_left(&self) -> Option<Duration> {
        let until = self.banned_until.get()?;
        until.checked_duration_since(Instant::now())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        q: String,
        with_key: bool,
    ) -> Result<actix_web::web::Bytes, RestError> {
        if let Some(left) = self.ban_left() {
            return Err(RestError::RateLimited {
                status: 429,
                retry_after_ms: left.as_millis() as u64,
            });
        }
        let url = if q.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{q}", self.base)
        };
        let mut req = self.client.request(method, url);
        if with_key {
            req = req.insert_header(("X-MBX-APIKEY", self.creds.api_key.expose()));
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| RestError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 429 || status == 418 {
            let secs = resp
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(if status == 418 { 120 } else { 1 })
                .max(1);
            let wait = Duration::from_secs(secs);
            self.banned_until.set(Some(Instant::now() + wait));
            tracing::warn!(
                status,
                retry_after_s = secs,
                "Binance rate limit: backing off"
            );
            return Err(RestError::RateLimited {
                status,
                retry_after_ms: wait.as_millis() as u64,
            });
        }
        let body = resp
            .body()
            .limit(16 * 1024 * 1024)
            .await
            .map_err(|e| RestError::Transport(e.to_string()))?;
        if status >= 500 {
            return Err(RestError::Server(status));
        }
        if status >= 400 {
            return Err(match serde_json::from_slice::<ApiError>(&body) {
                Ok(e) => RestError::Api {
                    status,
                    code: e.code,
                    msg: e.msg,
                },
                Err(_) => RestError::Api {
                    status,
                    code: 0,
                    msg: String::from_utf8_lossy(&body).chars().take(200).collect(),
                },
            });
        }
        Ok(body)
    }

    fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, RestError> {
        serde_json::from_slice(body).map_err(|e| RestError::Decode(e.to_string()))
    }

    /// A public endpoint.
    pub async fn public<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, RestError> {
        let body = self.call(Method::GET, path, query(params), false).await?;
        Self::decode(&body)
    }

    /// An endpoint that takes the API key but no signature (listenKey).
    pub async fn keyed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, RestError> {
        let body = self.call(method, path, query(params), true).await?;
        Self::decode(&body)
    }

    /// Measures the server clock's offset from ours.
    pub async fn sync_time(&self) -> Result<i64, RestError> {
        let before = self.clock.now_ms();
        let t: ServerTime = self.public("/api/v3/time", &[]).await?;
        let after = self.clock.now_ms();
        let offset = t.server_time - (before + after) / 2;
        self.offset_ms.set(offset);
        Ok(offset)
    }

    fn signed_query(&self, params: &[(&str, String)]) -> String {
        let mut all: Vec<(&str, String)> = params.to_vec();
        all.push(("recvWindow", self.recv_window_ms.to_string()));
        all.push((
            "timestamp",
            (self.clock.now_ms() + self.offset_ms.get()).to_string(),
        ));
        let q = query(&all);
        let signature = sign(&self.creds.api_secret, &q);
        format!("{q}&signature={signature}")
    }

    /// A SIGNED endpoint; on `-1021` (timestamp outside recvWindow) the
    /// clock is resynced and the request sent once more.
    pub async fn signed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, RestError> {
        let first = self
            .call(method.clone(), path, self.signed_query(params), true)
            .await;
        let body = match first {
            Err(RestError::Api { code: -1021, .. }) => {
                tracing::warn!("Binance says our clock is off: resyncing");
                self.sync_time().await?;
                self.call(method, path, self.signed_query(params), true)
                    .await?
            }
            other => other?,
        };
        Self::decode(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TLS is built in (real Binance is https/wss): an https URL with
    /// nothing behind it is a transport error, not a panic for want of a
    /// crypto provider.
    #[actix_rt::test]
    async fn https_without_a_server_is_a_clean_error() {
        use laicai_core::binance::sign::Secret;
        let creds = Credentials {
            api_key: Secret::new("k"),
            api_secret: Secret::new("s"),
        };
        let rest = Rest::new(
            "https://127.0.0.1:9",
            creds,
            5000,
            Duration::from_secs(2),
            Clock::System,
        );
        let e = rest.sync_time().await.unwrap_err();
        assert!(matches!(e, RestError::Transport(_)), "{e:?}");
    }

    #[test]
    fn encodes_values_as_binance_signs_them() {
        let q = query(&[
            ("symbol", "BTCUSDT".into()),
            ("newClientOrderId", "lc/1:a b".into()),
            ("price", "0.1".into()),
        ]);
        assert_eq!(
            q,
            "symbol=BTCUSDT&newClientOrderId=lc%2F1%3Aa%20b&price=0.1"
        );
    }
}
