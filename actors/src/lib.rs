//! laicai-actors: every actix actor of the engine. Each is a thin shell
//! that owns one piece of state from `laicai-core` and moves messages.
//!
//! Imports run one way: session → strategy → engine → risk → exchange →
//! order book → registry. The registry uses no other actor; where a lower
//! actor must tell a higher one something (risk → strategies, strategy →
//! its manager, venue → followers) it defines the message and holds a
//! `Recipient`.

pub mod agents;
pub mod backtest;
pub mod backtests;
pub mod bus;
pub mod clock;
pub mod engine;
pub mod health;
pub mod latency;
pub mod order_book;
pub mod outbox;
pub mod recorder;
pub mod registry;
pub mod risk;
pub mod session;
pub mod socket;
pub mod storage;
pub mod strategy;
pub mod venue;
