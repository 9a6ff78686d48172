//! What the database gives back at start: the paper account as it was
//! stored (balances, positions, resting orders), the next block of `seq`,
//! the strategies and connections to bring back, the risk state and the
//! events a clean stop kept for replay; and the storage thread, started.

use crate::StartError;
use laicai_actors::registry::{CarriedRing, SEQ_LEASE};
use laicai_actors::risk::RISK_MEMORY_KEY;
use laicai_actors::storage::{Kind, Record, SecretBox, Storage, StorageActor, Store, StoreError};
use laicai_core::paper::{OpenOrder, PaperExchange};
use std::sync::Arc;

/// Writes waiting for the disk before writers are made to wait.
const STORAGE_QUEUE: usize = 16_384;

/// What the database gave back at start.
pub(crate) struct Recovered {
    pub(crate) storage: Storage,
    /// `seq` continues above this: the last run's stored ceiling.
    pub(crate) seq_from: u64,
    /// The next ceiling, a lease ahead (already durable).
    pub(crate) seq_ceiling: u64,
    /// Stored strategy instances (JSON), for the manager to bring back.
    pub(crate) strategies: Vec<String>,
    /// Stored connections (JSON, credentials sealed).
    pub(crate) connections: Vec<String>,
    pub(crate) sealer: Arc<SecretBox>,
    /// Kill switch, daily loss, peaks and halts as they were.
    pub(crate) risk: laicai_core::risk::RiskMemory,
    /// The retained events a clean stop left for replay (see `Seal`).
    pub(crate) carried: Option<CarriedRing>,
}

/// Opens and migrates the database, puts the paper account back as it was
/// stored, leases the next block of `seq` (numbered `seq_step` apart), and
/// starts the storage thread.
pub(crate) fn recover(
    cfg: &crate::config::StorageSection,
    mut venue: PaperExchange,
    seq_step: u64,
) -> Result<(PaperExchange, Recovered), StartError> {
    let mut store = Store::open(std::path::Path::new(&cfg.path))?;
    store.set_fsync(cfg.fsync)?;
    let path = store.path().display().to_string();
    let restore_error = |detail: String| StartError::Restore {
        path: path.clone(),
        detail,
    };
    let unreadable =
        |what: &str, e: StoreError| restore_error(format!("{what} is unreadable: {e}"));
    let name = venue.name().to_string();
    if let Some(account) = store
        .get(Kind::Paper, &name)
        .map_err(|e| unreadable("the paper account", e))?
    {
        let open: Vec<OpenOrder> = store
            .values(Kind::PaperOrder, &format!("{name}/"))
            .map_err(|e| unreadable("a resting paper order", e))?;
        let count = open.len();
        venue
            .restore(account, open)
            .map_err(|e| restore_error(e.to_string()))?;
        tracing::info!(%path, open = count, "paper account restored");
    }
    let dir = store
        .path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let key = std::env::var(laicai_actors::storage::sealing::KEY_ENV).ok();
    let sealer = SecretBox::load(key.as_deref(), &dir).map_err(|e| restore_error(e.to_string()))?;
    // Each strategy and connection is checked on its own when it comes
    // back: one bad record is an alert, not a failed start.
    let raw = |kind| -> Result<Vec<String>, StoreError> {
        Ok(store.state(kind, "")?.into_iter().map(|(_, v)| v).collect())
    };
    let connections = raw(Kind::Connection)?;
    let strategies = raw(Kind::Strategy)?;
    let risk = store
        .get(Kind::Risk, RISK_MEMORY_KEY)
        .map_err(|e| unreadable("the risk state", e))?
        .unwrap_or_default();
    let seq_from = store.seq()?;
    let seq_ceiling = seq_from + SEQ_LEASE * seq_step;
    let (carried, carried_keys) = CarriedRing::take_from(&store)?;
    // Taken once: after a crash from here on it must not be trusted.
    let mut taken = vec![Record::Seq(seq_ceiling)];
    taken.extend(carried_keys.into_iter().map(|key| Record::Delete {
        kind: Kind::Stream,
        key,
    }));
    store.write(&taken)?;
    tracing::info!(%path, seq_from, "database ready");
    let storage = StorageActor::start(store, STORAGE_QUEUE).map_err(|e| StartError::Restore {
        path: path.clone(),
        detail: format!("cannot start the storage thread: {e}"),
    })?;
    Ok((
        venue,
        Recovered {
            storage,
            seq_from,
            seq_ceiling,
            strategies,
            connections,
            sealer: Arc::new(sealer),
            risk,
            carried,
        },
    ))
}
