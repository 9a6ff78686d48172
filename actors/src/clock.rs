//! The live clock: the only place actors read the wall time.

use laicai_core::time::TimestampMs;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> TimestampMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as TimestampMs)
        .unwrap_or(0)
}
