//! `RiskLedger`: the risk manager, shared by the risk actor and the
//! commit path of every venue. Fills are folded into it as they are
//! committed and its memory (day's loss, peaks, halts) is stored in the
//! fills' own transaction, so a crash can never keep a fill and forget the
//! loss it made. Breaches those fills cause wait here for the risk actor,
//! which hears of each fill once it is durable.

use crate::storage::{Done, FillLedger, Kind, Record, Storage};
use laicai_core::risk::{Breach, RiskManager};
use laicai_core::time::TimestampMs;
use laicai_core::wire::events::TradeView;
use parking_lot::{Mutex, MutexGuard};

/// The key of the stored `RiskMemory`.
pub const RISK_MEMORY_KEY: &str = "memory";

#[derive(Debug)]
pub struct RiskLedger {
    manager: Mutex<RiskManager>,
    breaches: Mutex<Vec<Breach>>,
}

impl RiskLedger {
    pub fn new(manager: RiskManager) -> Self {
        RiskLedger {
            manager: Mutex::new(manager),
            breaches: Mutex::new(Vec::new()),
        }
    }

    /// The manager, locked. Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, RiskManager> {
        self.manager.lock()
    }

    /// Breaches caused by fills committed since the last call.
    pub fn take_breaches(&self) -> Vec<Breach> {
        std::mem::take(&mut *self.breaches.lock())
    }

    /// Queues the memory for storage; `done` is told once it is durable.
    /// The snapshot is queued while the manager is locked, so snapshots
    /// reach the disk in the order they were taken.
    pub fn save(&self, storage: &Storage, done: Option<Done>) {
        let manager = self.manager.lock();
        match Record::put(Kind::Risk, RISK_MEMORY_KEY, &manager.memory()) {
            Ok(record) => storage.write(vec![record], done),
            Err(e) => {
                tracing::error!(error = %e, "risk memory not stored");
                storage.write(Vec::new(), done);
            }
        }
    }
}

impl FillLedger for RiskLedger {
    fn commit_fills(
        &self,
        trades: &[&TradeView],
        at_ms: TimestampMs,
        enqueue: &mut dyn FnMut(Vec<Record>),
    ) {
        let mut manager = self.manager.lock();
        let mut breaches = Vec::new();
        for t in trades {
            breaches.extend(manager.on_trade(t, at_ms));
        }
        match Record::put(Kind::Risk, RISK_MEMORY_KEY, &manager.memory()) {
            Ok(record) => enqueue(vec![record]),
            Err(e) => {
                tracing::error!(error = %e, "risk memory not stored with its fills");
                enqueue(Vec::new());
            }
        }
        drop(manager);
        self.breaches.lock().extend(breaches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::journal::tests::{Commit, TestVenue};
    use crate::storage::store::tests::trade;
    use crate::storage::{Journal, StorageActor, Store};
    use actix::prelude::*;
    use laicai_core::risk::{RiskLimits, RiskMemory};
    use laicai_core::wire::events::Event;
    use std::sync::Arc;
    use std::time::Duration;

    #[actix_rt::test]
    async fn a_fill_and_the_loss_it_made_are_on_disk_together() {
        let db = std::env::temp_dir()
            .join(format!("laicai-ledger-{}", std::process::id()))
            .join("laicai.db");
        let _ = std::fs::remove_file(&db);
        let storage = StorageActor::start(Store::open(&db).unwrap(), 64).unwrap();
        let ledger = Arc::new(RiskLedger::new(RiskManager::new(
            RiskLimits::default(),
            Vec::new(),
        )));
        assert!(storage.fold_fills_into(ledger.clone()));
        assert!(!storage.fold_fills_into(ledger.clone()), "one ledger only");
        // At the moment the fill is published: the risk memory on disk.
        let seen = Arc::new(Mutex::new(Vec::<Option<RiskMemory>>::new()));
        let memories = seen.clone();
        let venue = TestVenue {
            journal: Journal::new(Some(storage)),
            on_publish: Box::new(move |events| {
                let memory = Store::open(&db)
                    .and_then(|s| s.get::<RiskMemory>(Kind::Risk, RISK_MEMORY_KEY))
                    .ok()
                    .flatten();
                memories
                    .lock()
                    .extend(events.iter().map(|_| memory.clone()));
            }),
        }
        .start();

        venue.do_send(Commit(vec![Event::Trade(trade("T-1", "ORD-1"))], None));
        for _ in 0..100 {
            if !seen.lock().is_empty() {
                break;
            }
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        let seen = seen.lock().clone();
        assert_eq!(seen.len(), 1, "the fill was published once");
        let memory = seen[0]
            .clone()
            .expect("the risk memory was on disk with the fill");
        let account = memory
            .scopes
            .iter()
            .find(|s| s.strategy.is_none())
            .expect("the account's scope");
        assert_eq!(account.pnl.len(), 1, "the fill is in the stored PnL");
        assert_eq!(
            account.pnl[0].pnl.position.size,
            trade("T-1", "ORD-1").amount
        );
        // The fill was applied once, by the commit.
        assert_eq!(ledger.lock().memory(), memory);
    }
}
