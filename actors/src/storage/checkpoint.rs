//! The WAL checkpointer: a thread with its own connection that copies
//! committed pages from the write-ahead log into the database file, so no
//! commit on the storage thread ever waits for a checkpoint (SQLite's
//! automatic one runs inside the commit that crosses its threshold: an
//! order's acknowledgement then waits for the copy and its fsync).
//!
//! Under a steady stream of commits its passes never quite catch up:
//! commits land while it copies. SQLite writes the log from its start
//! again only once a checkpoint has copied all of it, so such a log grows
//! without end, and every durable commit then also waits for the file
//! system to record the file's new size (60–100 µs more per commit on
//! the CI disk, BENCHMARKS.md §15). So a pass that copied frames raises
//! `Behind`, and the writer, the next time it has nothing to do, finishes
//! the checkpoint itself (`finish`): only the frames committed since the
//! pass began, with no commit landing meanwhile. Its next commit starts
//! the log afresh, over pages the file already has.

use super::store::{Store, StoreError};
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the log is checkpointed.
pub const EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the checkpoint thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Whether the checkpointer's last pass may have left frames in the log,
/// for the writer to finish when it is idle.
#[derive(Debug, Clone, Default)]
pub struct Behind(Arc<AtomicBool>);

impl Behind {
    fn raise(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// Checkpoints `store`'s log from a thread of its own every `EVERY`, for
/// as long as `alive` has an owner (the storage thread), and stops the
/// store's commits checkpointing it themselves. On an error commits go on
/// checkpointing themselves (slower, never lost).
pub fn start(store: &mut Store, alive: Weak<()>) -> Result<Behind, CheckpointError> {
    let conn = store.checkpoint_connection()?;
    let behind = Behind::default();
    let raise = behind.clone();
    std::thread::Builder::new()
        .name("laicai-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(EVERY);
                checkpoint(&conn, &raise);
            }
            // One last pass: what the last batches wrote reaches the file.
            checkpoint(&conn, &raise);
        })?;
    store.stop_auto_checkpoint()?;
    Ok(behind)
}

/// PASSIVE: copies what it can without waiting for the writer or readers;
/// whatever it skipped goes with the next pass, or `finish`.
fn checkpoint(conn: &Connection, behind: &Behind) {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match done {
        // `log` is the log as the pass began: whatever was committed
        // while it copied is not in it, so a pass that copied anything
        // leaves the writer its tail to finish.
        Ok((log, copied)) if log > 0 => {
            tracing::trace!(log, copied, "WAL checkpoint pass; the writer finishes it");
            behind.raise();
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying next pass"),
    }
}

/// Called by the writer when it has nothing to do: if the checkpointer
/// was left behind, copies the rest of the log on the writer's own
/// connection, so its next commit starts the log afresh. A pass that
/// cannot finish (the checkpointer is copying at that moment) is tried at
/// the next idle moment.
pub fn finish(store: &Store, behind: &Behind) {
    if !behind.take() {
        return;
    }
    match store.checkpoint() {
        Ok(true) => {}
        Ok(false) => behind.raise(),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint by the writer failed; retrying when idle");
            behind.raise();
        }
    }
}
