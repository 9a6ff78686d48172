//! Binance spot, pure: request signing, the wire formats, symbol mapping
//! and filters, diff-depth sequencing, and `BinanceAccount` — the orders,
//! fills and balances of one connection, built from REST answers and the
//! user data stream with every fill applied exactly once. The connection
//! actor does the I/O and feeds these.

pub mod account;
pub mod depth;
pub mod sign;
pub mod symbols;
pub mod wire;
