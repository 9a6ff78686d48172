//! Creates a pure market making strategy, runs it for twenty seconds while
//! printing its fills and status, then stops it.
//! `cargo run -p laicai-client --example run_strategy` (engine running).

use laicai_client::{ConnectionConfig, Event, StrategyAction, WebSocketClient};
use serde_json::json;
use std::time::Duration;

#[actix_rt::main]
async fn main() -> Result<(), laicai_client::ClientError> {
    let url =
        std::env::var("LAICAI_URL").unwrap_or_else(|_| "ws://127.0.0.1:8000/api/stream".into());
    let client = WebSocketClient::new(ConnectionConfig::new(url));
    client.add_message_handler("trade", |m| {
        if let Some(Event::Trade(t)) = m.event() {
            println!("fill {} {} {} @ {}", t.side, t.amount, t.symbol, t.price);
        }
    });
    client.connect().await?;
    let config = json!({"bid_spread": "0.05", "ask_spread": "0.05", "order_amount": "0.002"});
    let s = client
        .create_strategy("sdk-example", "pmm", "BTC-USDT", config)
        .await?;
    client.strategy_action(StrategyAction::Start, &s.id).await?;
    for _ in 0..4 {
        actix_rt::time::sleep(Duration::from_secs(5)).await;
        if let Some(now) = client
            .get_strategies()
            .await?
            .into_iter()
            .find(|x| x.id == s.id)
        {
            println!(
                "{} {} profit {} trades {}",
                now.id, now.status, now.profit, now.trades
            );
        }
    }
    client.strategy_action(StrategyAction::Stop, &s.id).await?;
    client.disconnect().await;
    Ok(())
}
