//! Persistence: the `Store` (SQLite) that keeps orders, trades and engine
//! state across restarts, the `StorageActor` thread that owns it, and the
//! `Journal` through which a venue's changes become durable before anyone
//! hears of them.

pub mod actor;
pub mod checkpoint;
pub mod journal;
pub mod ledger;
pub mod sealing;
pub mod stall;
pub mod store;

pub use actor::{
    Done, HealthWatch, NotDurable, Storage, StorageActor, StorageError, StorageHealth, StorageStats,
};
pub use journal::{Durable, FlushJournal, Journal, Ready};
pub use ledger::FillLedger;
pub use sealing::{SealError, SecretBox};
pub use store::{Kind, Record, StateJson, Store, StoreError, SCHEMA_VERSION};
