//! The WAL checkpointer: a thread with its own connection that copies
//! committed pages from the write-ahead log into the database file, so no
//! commit on the storage thread ever waits for a checkpoint (SQLite's
//! automatic one runs inside the commit that crosses its threshold: an
//! order's acknowledgement then waits for the copy and its fsync).

use super::store::{Store, StoreError};
use rusqlite::Connection;
use std::sync::Weak;
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

/// Checkpoints `store`'s log from a thread of its own every `EVERY`, for
/// as long as `alive` has an owner (the storage thread), and stops the
/// store's commits checkpointing it themselves. On an error commits go on
/// checkpointing themselves (slower, never lost).
pub fn start(store: &mut Store, alive: Weak<()>) -> Result<(), CheckpointError> {
    let conn = store.checkpoint_connection()?;
    std::thread::Builder::new()
        .name("laicai-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(EVERY);
                checkpoint(&conn);
            }
            // One last pass: what the last batches wrote reaches the file.
            checkpoint(&conn);
        })?;
    store.stop_auto_checkpoint()?;
    Ok(())
}

/// PASSIVE: copies what it can without waiting for the writer or readers;
/// whatever it skipped goes with the next pass.
fn checkpoint(conn: &Connection) {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match done {
        Ok((log, copied)) if log > copied => {
            tracing::debug!(log, copied, "WAL checkpoint left frames for the next pass");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying next pass"),
    }
}
