//! `laicai-client`: a Rust client for the laicai engine's WebSocket API.
//!
//! ```no_run
//! use laicai_client::{ConnectionConfig, WebSocketClient};
//! # #[actix_rt::main] async fn main() -> Result<(), laicai_client::ClientError> {
//! let client = WebSocketClient::new(ConnectionConfig::new("ws://127.0.0.1:8000/api/stream"));
//! client.add_message_handler("order_update", |m| println!("{:?}", m.event()));
//! client.connect().await?;
//! let status = client.get_system_status().await?;
//! println!("{} strategies running", status.active_strategies);
//! # Ok(()) }
//! ```
//!
//! Handlers get every `order_update` and `trade` exactly once and in
//! `seq` order, across reconnects (the client replays what it missed, or
//! tells you to resync with an `Incoming::Resync` and a fresh snapshot).

mod client;
mod commands;
mod config;
mod error;
mod manager;
mod message;
pub mod sequencer;

pub use client::{ClientStats, WebSocketClient};
pub use commands::NewOrder;
pub use config::{ConnectionConfig, ConnectionState, SubscriptionConfig};
pub use error::ClientError;
pub use laicai_core::protocol::{Command, CommandError, StrategyAction};
pub use laicai_core::venue::{OrderFilter, VenueRef};
pub use laicai_core::wire::events::{Envelope, Event};
pub use manager::ClientManager;
pub use message::Incoming;
