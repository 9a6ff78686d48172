//! Places a limit order far from the market, then cancels it.
//! `cargo run -p laicai-client --example place_and_cancel` (engine running).

use laicai_client::{ConnectionConfig, NewOrder, WebSocketClient};
use laicai_core::order::Side;
use laicai_core::Decimal;

#[actix_rt::main]
async fn main() -> Result<(), laicai_client::ClientError> {
    let url =
        std::env::var("LAICAI_URL").unwrap_or_else(|_| "ws://127.0.0.1:8000/api/stream".into());
    let mut config = ConnectionConfig::new(url);
    if let Ok(token) = std::env::var("LAICAI_TOKEN") {
        config = config.with_api_key(token);
    }
    let client = WebSocketClient::new(config);
    client.add_message_handler("order_update", |m| println!("event: {:?}", m.event()));
    client.connect().await?;
    let order = NewOrder::limit(
        "BTC-USDT",
        Side::Buy,
        Decimal::new(1, 3),
        Decimal::new(30_000, 0),
    );
    let placed = client.place_order(&order).await?;
    println!("placed {} ({})", placed.order_id, placed.status);
    client.cancel_order(&placed.order_id).await?;
    println!("cancelled {}", placed.order_id);
    actix_rt::time::sleep(std::time::Duration::from_millis(300)).await;
    client.disconnect().await;
    Ok(())
}
