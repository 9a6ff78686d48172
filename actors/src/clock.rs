//! `Clock`: how actors read the wall time. Every actor that needs the
//! time is handed one (in its config). The engine's reads the system
//! clock; a test's follows tokio's clock from a chosen start, so with
//! tokio's time paused the timestamps an actor writes and the timers it
//! runs advance together, as far as the test says.

use laicai_core::time::TimestampMs;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// `start_ms` at tokio's instant `origin`, then moving as tokio's
    /// clock does.
    Tokio {
        start_ms: TimestampMs,
        origin: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock reading `start_ms` now and then following tokio's time.
    pub fn following_tokio(start_ms: TimestampMs) -> Clock {
        Clock::Tokio {
            start_ms,
            origin: tokio::time::Instant::now(),
        }
    }

    /// Milliseconds since the epoch.
    pub fn now_ms(&self) -> TimestampMs {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as TimestampMs)
                .unwrap_or(0),
            Clock::Tokio { start_ms, origin } => {
                start_ms + origin.elapsed().as_millis() as TimestampMs
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[actix_rt::test]
    async fn a_tokio_clock_moves_only_when_tokio_time_does() {
        tokio::time::pause();
        let clock = Clock::following_tokio(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now_ms(), 1_000);
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(clock.now_ms(), 1_250);
    }

    #[test]
    fn the_system_clock_is_the_wall_time() {
        let t = Clock::System.now_ms();
        assert!(t > 1_700_000_000_000, "{t}");
    }
}
