//! Where the engine's log lines go: stdout, written by a thread of its
//! own (tracing-appender's non-blocking writer). The sessions' thread logs
//! every order; writing to stdout there would cost it a syscall each, and
//! a reader of stdout that falls behind (a full pipe to a log collector, a
//! paused terminal) would stop the engine. Lines that find
//! `WAITING_LINES` already waiting are dropped and counted
//! (`/metrics laicai_log_lines_dropped_total`); the `log` events clients
//! get are not affected (`logs`).

use std::sync::OnceLock;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder};

pub use tracing_appender::non_blocking::WorkerGuard;

/// Lines waiting for the writer before more are dropped.
const WAITING_LINES: usize = 8192;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// The writer for the log, and the guard that writes what is waiting
/// when it is dropped (keep it until the process ends).
pub fn stdout() -> (NonBlocking, WorkerGuard) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(WAITING_LINES)
        .thread_name("laicai-log")
        .finish(std::io::stdout());
    let _ = DROPPED.set(writer.error_counter());
    (writer, guard)
}

/// Lines dropped because too many were waiting.
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}
