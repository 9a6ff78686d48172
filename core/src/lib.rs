//! laicai-core: the pure domain of the laicai trading engine.
//!
//! No actix, no sockets, no clocks: every function that needs the time is
//! handed it (`now_ms`). Money is `rust_decimal::Decimal` everywhere.

pub mod auth;
pub mod backoff;
pub mod backtest;
pub mod balance;
pub mod binance;
pub mod candles;
pub mod depth_stream;
pub mod enums;
pub mod error;
pub mod feed;
pub mod ids;
pub mod matching;
pub mod num;
pub mod order;
pub mod order_book;
pub mod pair;
pub mod paper;
pub mod pnl;
pub mod position;
pub mod protocol;
pub mod risk;
pub mod rng;
pub mod strategy;
pub mod tape;
pub mod time;
pub mod venue;
pub mod wire;

pub use rust_decimal::Decimal;
