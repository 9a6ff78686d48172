//! `FillLedger`: state derived from fills (the risk manager's day's loss
//! and peaks) that must be stored in the same transaction as the fills
//! themselves, so that no crash can keep a fill and forget what it did
//! to that state. A venue's `Journal` hands each batch of fills to the
//! ledger installed on its `Storage` before queueing them.

use super::store::Record;
use laicai_core::time::TimestampMs;
use laicai_core::wire::events::TradeView;

/// Queues records on the storage thread (called once, inside the
/// ledger's lock).
pub type Enqueue<'a> = &'a mut dyn FnMut(Vec<Record>);

pub trait FillLedger: Send + Sync + std::fmt::Debug {
    /// Applies `trades`, about to be committed, and calls `enqueue` once
    /// with the records to commit in the same transaction as them. It is
    /// called while the ledger's state is locked, so no later snapshot of
    /// that state can be queued (and so committed) before this one.
    fn commit_fills(&self, trades: &[&TradeView], at_ms: TimestampMs, enqueue: Enqueue<'_>);
}
