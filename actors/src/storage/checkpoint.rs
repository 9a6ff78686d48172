//! The WAL checkpointer: a thread with its own connection that copies
//! committed pages from the write-ahead log into the database file, so no
//! commit on the storage thread ever waits for a checkpoint (SQLite's
//! automatic one runs inside the commit that crosses its threshold: an
//! order's acknowledgement then waits for the copy and its fsync).

use rusqlite::Connection;
use std::sync::Weak;
use std::time::Duration;

/// How often the log is checkpointed.
pub const EVERY: Duration = Duration::from_millis(250);

/// Checkpoints through `conn` every `every` for as long as `alive` has an
/// owner (the storage thread), then ends.
pub fn spawn(conn: Connection, alive: Weak<()>, every: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("laicai-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(every);
                checkpoint(&conn);
            }
            // One last pass: what the last batches wrote reaches the file.
            checkpoint(&conn);
        })
        .map(|_| ())
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
