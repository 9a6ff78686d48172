//! Prints BTC-USDT prices for ten seconds.
//! `cargo run -p laicai-client --example stream_prices` (engine running).

use laicai_client::{ConnectionConfig, Event, SubscriptionConfig, WebSocketClient};
use std::time::Duration;

#[actix_rt::main]
async fn main() -> Result<(), laicai_client::ClientError> {
    let url = std::env::var("LAICAI_URL")
        .unwrap_or_else(|_| "ws://127.0.0.1:8000/api/v1/websocket".into());
    let client = WebSocketClient::new(ConnectionConfig::new(url));
    client.add_message_handler("price", |m| {
        if let Some(Event::Price(p)) = m.event() {
            println!("{} {} (bid {:?} ask {:?})", p.symbol, p.price, p.bid, p.ask);
        }
    });
    client.connect().await?;
    client
        .subscribe("prices", SubscriptionConfig::new(["BTC-USDT"], ["price"]))
        .await?;
    actix_rt::time::sleep(Duration::from_secs(10)).await;
    println!("{:?}", client.stats());
    client.disconnect().await;
    Ok(())
}
