//! The bare broadcast server the fan-out bench compares the engine with:
//! tokio-tungstenite, one task per connection, one `broadcast` channel.
//! It steps like the engine's feed (`rate` frames a second, on a timer
//! of at least 1 ms) and sends the very frame the engine would — a
//! `price` event encoded once by `laicai_core` — to every subscribed
//! connection, writing whatever is queued before one flush. Any other
//! text it is sent comes straight back (the round-trip bench's echo).
//! A connection that falls behind skips frames (`Lagged`).

use futures_util::{SinkExt, StreamExt};
use laicai_core::wire::events::{encode, Event, PriceUpdate};
use rust_decimal::Decimal;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a connection may fall behind before it skips some.
const BACKLOG: usize = 4096;

/// Serves until killed.
pub(super) async fn serve(bind: SocketAddr, rate: f64) -> std::io::Result<()> {
    let listener = TcpListener::bind(bind).await?;
    let (tx, _) = broadcast::channel::<Utf8Bytes>(BACKLOG);
    tokio::spawn(feed(tx.clone(), rate));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, tx.subscribe()));
    }
}

async fn feed(tx: broadcast::Sender<Utf8Bytes>, rate: f64) {
    if rate <= 0.0 {
        return;
    }
    let period = Duration::from_secs_f64((1.0 / rate).clamp(0.001, 1.0));
    let mut timer = tokio::time::interval(period);
    let started = Instant::now();
    let (mut sent, mut price) = (0u64, Decimal::new(5_200_000, 2));
    loop {
        timer.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        while sent < due {
            sent += 1;
            price += Decimal::new(if sent % 3 == 0 { -1 } else { 1 }, 2);
            let event = Event::Price(PriceUpdate {
                symbol: "BTC-USDT".into(),
                price,
                bid: Some(price - Decimal::new(1, 2)),
                ask: Some(price + Decimal::new(1, 2)),
                exchange: "paper".into(),
                connection_id: None,
            });
            if let Ok(text) = encode(&event, laicai_actors::clock::Clock::System.now_ms(), sent) {
                // No receivers yet is fine.
                let _ = tx.send(text.into());
            }
        }
    }
}

async fn connection(stream: TcpStream, mut rx: broadcast::Receiver<Utf8Bytes>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut inbound) = ws.split();
    let mut subscribed = false;
    loop {
        tokio::select! {
            msg = inbound.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let answer = if text.contains("\"subscribe\"") {
                        subscribed = true;
                        Message::text(r#"{"type":"subscribed","channel":"price","symbol":"BTC-USDT"}"#)
                    } else {
                        Message::Text(text)
                    };
                    if sink.send(answer).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            frame = rx.recv(), if subscribed => match frame {
                Ok(frame) => {
                    if sink.feed(Message::Text(frame)).await.is_err() {
                        return;
                    }
                    while let Ok(frame) = rx.try_recv() {
                        if sink.feed(Message::Text(frame)).await.is_err() {
                            return;
                        }
                    }
                    if sink.flush().await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
