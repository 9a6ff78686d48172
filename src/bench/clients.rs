//! The bench's WebSocket clients (tokio-tungstenite, the same code for
//! both servers): subscribers that count `price` frames and their
//! latency, stalled readers, idle connections, and the round-trip client.

use futures_util::{SinkExt, StreamExt};
use laicai_core::time::parse_iso8601_ms;
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub(super) type Socket = WebSocketStream<TcpStream>;

#[derive(Debug, thiserror::Error)]
pub(super) enum ClientError {
    #[error("connect {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("{url}: the connection ended before {what}")]
    Ended { url: String, what: &'static str },
    #[error("{url}: no answer {what} within 10 s")]
    Timeout { url: String, what: &'static str },
    #[error("{url}: refused: {frame}")]
    Refused { url: String, frame: String },
}

/// Opens a WebSocket (Nagle off, as the servers have it).
pub(super) async fn connect(url: &str) -> Result<Socket, ClientError> {
    let failed = |detail: String| ClientError::Connect {
        url: url.to_string(),
        detail,
    };
    let host = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| failed("not a ws:// address".into()))?;
    let tcp = TcpStream::connect(host)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let (ws, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(ws)
}

/// Reads until a text frame `wanted` accepts; answers it.
pub(super) async fn wait_text(
    ws: &mut Socket,
    url: &str,
    what: &'static str,
    wanted: impl Fn(&str) -> bool,
) -> Result<String, ClientError> {
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if wanted(t.as_str()) => return Ok(t.to_string()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    return Err(ClientError::Ended {
                        url: url.to_string(),
                        what,
                    })
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| ClientError::Timeout {
            url: url.to_string(),
            what,
        })?
}

/// A connection subscribed to BTC-USDT `price` (it has seen `subscribed`).
pub(super) async fn subscriber(url: &str) -> Result<Socket, ClientError> {
    subscribe(connect(url).await?, url).await
}

async fn subscribe(mut ws: Socket, url: &str) -> Result<Socket, ClientError> {
    let subscribe = r#"{"type":"subscribe","channel":"price","symbol":"BTC-USDT"}"#;
    if ws.send(Message::text(subscribe)).await.is_err() {
        return Err(ClientError::Ended {
            url: url.to_string(),
            what: "subscribing",
        });
    }
    wait_text(&mut ws, url, "to subscribe", |t| {
        t.contains("\"subscribed\"")
    })
    .await?;
    Ok(ws)
}

/// A subscriber that will never read again, with a 4 KiB receive buffer
/// so the server feels it within moments.
pub(super) async fn stalled_subscriber(addr: SocketAddr, url: &str) -> Result<Socket, ClientError> {
    let failed = |detail: String| ClientError::Connect {
        url: url.to_string(),
        detail,
    };
    let socket = TcpSocket::new_v4().map_err(|e| failed(e.to_string()))?;
    socket
        .set_recv_buffer_size(4096)
        .map_err(|e| failed(e.to_string()))?;
    let tcp = socket
        .connect(addr)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let (ws, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .map_err(|e| failed(e.to_string()))?;
    subscribe(ws, url).await
}

/// Which window a subscriber is counting into (`WARMUP` counts nowhere).
pub(super) const WARMUP: u8 = 0;
pub(super) const FIRST: u8 = 1;
pub(super) const SECOND: u8 = 2;

/// What one subscriber received in each measured window.
#[derive(Default)]
pub(super) struct Tally {
    pub delivered: [u64; 2],
    /// Microseconds from the frame's `timestamp` to its arrival.
    pub latency_us: [Vec<u32>; 2],
}

/// Counts `price` frames into `tally` by the current `window`, forever.
pub(super) async fn count_prices(mut ws: Socket, window: Arc<AtomicU8>, tally: Arc<Mutex<Tally>>) {
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let slot = match window.load(Ordering::Relaxed) {
            FIRST => 0,
            SECOND => 1,
            _ => continue,
        };
        let text = text.as_str();
        if !text.contains("\"type\":\"price\"") {
            continue;
        }
        let latency = frame_age_us(text);
        let mut t = tally.lock();
        t.delivered[slot] += 1;
        if let Some(us) = latency {
            t.latency_us[slot].push(us);
        }
    }
}

/// Now minus the frame's `timestamp` (milliseconds, so up to 1 ms more
/// than the true age), in microseconds.
fn frame_age_us(text: &str) -> Option<u32> {
    const KEY: &str = "\"timestamp\":\"";
    let at = text.find(KEY)? + KEY.len();
    let stamp = text.get(at..at + 24)?;
    let sent_us = parse_iso8601_ms(stamp).ok()? * 1000;
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_micros() as i64;
    u32::try_from((now_us - sent_us).max(0)).ok()
}

/// What one round trip sends, what ends it, and what follows it unmeasured.
pub(super) type Trip = (String, Box<dyn Fn(&str) -> bool>, Option<String>);

/// Round trips on one connection: `send` a frame, wait for the frame
/// `answer` accepts, `count` times; then `after` (unmeasured, e.g. a
/// cancel) each time. Answers each round trip's duration.
pub(super) async fn round_trips(
    ws: &mut Socket,
    url: &str,
    count: usize,
    mut frames: impl FnMut(usize) -> Trip,
) -> Result<Vec<Duration>, ClientError> {
    let mut times = Vec::with_capacity(count);
    for i in 0..count {
        let (frame, answer, after) = frames(i);
        let sent = Instant::now();
        if ws.send(Message::text(frame)).await.is_err() {
            return Err(ClientError::Ended {
                url: url.to_string(),
                what: "a round trip",
            });
        }
        let got = wait_text(ws, url, "to a round trip", |t| {
            answer(t) || t.contains("\"success\":false")
        })
        .await?;
        if got.contains("\"success\":false") {
            return Err(ClientError::Refused {
                url: url.to_string(),
                frame: got,
            });
        }
        times.push(sent.elapsed());
        if let Some(after) = after {
            let id = request_id(&after);
            if ws.send(Message::text(after)).await.is_err() {
                return Err(ClientError::Ended {
                    url: url.to_string(),
                    what: "a round trip",
                });
            }
            if let Some(id) = id {
                let needle = format!("\"request_id\":\"{id}\"");
                wait_text(ws, url, "to the follow-up", |t| t.contains(&needle)).await?;
            }
        }
    }
    Ok(times)
}

fn request_id(frame: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(frame).ok()?["request_id"]
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frames_age_comes_from_its_timestamp() {
        let ms = laicai_actors::clock::Clock::System.now_ms() - 5;
        let frame = format!(
            r#"{{"type":"price","timestamp":"{}","seq":1}}"#,
            laicai_core::time::iso8601_ms(ms)
        );
        let age = frame_age_us(&frame).expect("an age");
        assert!((5_000..1_000_000).contains(&age), "{age}");
        assert_eq!(frame_age_us(r#"{"type":"price"}"#), None);
        assert_eq!(frame_age_us(r#"{"timestamp":"2024"}"#), None);
    }
}
