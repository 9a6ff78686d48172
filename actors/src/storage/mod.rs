//! Persistence: the `Store` (SQLite) that keeps orders, trades and engine
//! state across restarts.

pub mod store;

pub use store::{Record, Store, StoreError, SCHEMA_VERSION};
