//! Binance spot over its real REST and WebSocket protocols: `rest` (signed
//! requests, rate-limit backoff, clock sync) and `connector` (one session:
//! streams, depth books, orders, reconciliation). The pure parts live in
//! `laicai_core::binance`.

pub mod connector;
pub mod rest;
