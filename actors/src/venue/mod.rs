//! Venues: where orders go. `contract` is what every venue answers and
//! sends; `paper` the embedded exchange (with the synthetic `feed` that
//! moves its market); `binance` Binance spot over its REST and WebSocket
//! APIs; `directory` the venues the engine can reach, by connection id;
//! `supervisor` the actor that opens, restarts and deletes connections.
//!
//! Inside, imports run one way too: contract → directory → paper and
//! binance → supervisor.

pub mod binance;
pub mod contract;
pub mod directory;
pub mod paper;
pub mod supervisor;
