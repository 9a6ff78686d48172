//! The engine's own log as `log` events (what `/ws/logs` carries): a
//! tracing layer turns every record at or above `engine.log_events_level`
//! into a `log` event (`level`, `msg`, `source` = the module) and hands it
//! to the registry, at most `engine.log_events_per_sec` a second. A storm
//! past that is shed, and the next line that passes is preceded by one
//! saying how many were dropped, so a log storm never floods sessions and
//! never blocks the thread that logged.
//!
//! The layer is process-wide (`layer()`, installed by `main` with the
//! config's level and rate); `attach`, called by `start`, points it at the
//! engine's registry. Until then records are not kept.

use actix::Addr;
use laicai_actors::registry::{Publish, RegistryActor};
use laicai_core::wire::events::{Event, LogLevel, LogLine};
use parking_lot::{Mutex, RwLock};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::{Event as Record, Level, Subscriber};
use tracing_subscriber::filter::{Filtered, LevelFilter};
use tracing_subscriber::layer::{Context, Layer};

struct Stream {
    registry: RwLock<Option<Addr<RegistryActor>>>,
    /// The least severe level forwarded: 0 error … 3 debug.
    level: AtomicU8,
    bucket: Mutex<Bucket>,
    dropped: AtomicU64,
}

/// A token bucket: `rate` a second, bursts up to twice that.
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate * 2.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

static STREAM: OnceLock<Stream> = OnceLock::new();

fn stream() -> &'static Stream {
    STREAM.get_or_init(|| Stream {
        registry: RwLock::new(None),
        level: AtomicU8::new(rank(LogLevel::Info)),
        bucket: Mutex::new(Bucket {
            rate: 50.0,
            tokens: 100.0,
            at: Instant::now(),
        }),
        dropped: AtomicU64::new(0),
    })
}

fn rank(level: LogLevel) -> u8 {
    match level {
        LogLevel::Error => 0,
        LogLevel::Warning => 1,
        LogLevel::Info => 2,
        LogLevel::Debug => 3,
    }
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warning,
        Level::INFO => LogLevel::Info,
        _ => LogLevel::Debug,
    }
}

/// Sends records to `registry` from now on; call inside the actix
/// system: once a second it says how many lines a storm shed.
pub fn attach(registry: Addr<RegistryActor>) {
    *stream().registry.write() = Some(registry.clone());
    actix::spawn(async move {
        let mut every = actix_rt::time::interval(std::time::Duration::from_secs(1));
        while registry.connected() {
            every.tick().await;
            report_dropped(stream(), &registry);
        }
    });
}

/// One line saying how many were shed since the last one, if any were.
fn report_dropped(s: &Stream, registry: &Addr<RegistryActor>) {
    let dropped = s.dropped.swap(0, Ordering::Relaxed);
    if dropped == 0 {
        return;
    }
    let line = Event::Log(LogLine {
        level: LogLevel::Warning,
        msg: format!(
            "{dropped} log lines dropped: more than {} a second",
            s.bucket.lock().rate
        ),
        source: Some("laicai::logs".into()),
    });
    let _ = registry.try_send(Publish::now(line));
}

/// The layer `main` installs beside the terminal's: records at or above
/// `level`, at most `per_sec` a second.
pub fn layer<S>(level: LogLevel, per_sec: u32) -> Filtered<LogLayer, LevelFilter, S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let s = stream();
    s.level.store(rank(level), Ordering::Relaxed);
    {
        let mut b = s.bucket.lock();
        b.rate = f64::from(per_sec.max(1));
        b.tokens = b.rate * 2.0;
    }
    let filter = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warning => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
    };
    LogLayer.with_filter(filter)
}

#[derive(Debug)]
pub struct LogLayer;

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, record: &Record<'_>, _: Context<'_, S>) {
        let s = stream();
        let meta = record.metadata();
        let level = level_of(meta.level());
        if rank(level) > s.level.load(Ordering::Relaxed) {
            return;
        }
        let Some(registry) = s.registry.read().clone() else {
            return;
        };
        if !s.bucket.lock().take(Instant::now()) {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        report_dropped(s, &registry);
        let mut text = Text::default();
        record.record(&mut text);
        let line = Event::Log(LogLine {
            level,
            msg: text.0,
            source: Some(meta.target().to_string()),
        });
        // Never waits: a full registry sheds the line.
        if registry.try_send(Publish::now(line)).is_err() {
            s.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A record as one line: its message, then `field=value` for the rest.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_passes_its_rate_and_bursts_up_to_twice_it() {
        let start = Instant::now();
        let mut b = Bucket {
            rate: 10.0,
            tokens: 20.0,
            at: start,
        };
        let passed = (0..100).filter(|_| b.take(start)).count();
        assert_eq!(passed, 20);
        // Half a second refills five.
        let later = start + Duration::from_millis(500);
        assert_eq!((0..100).filter(|_| b.take(later)).count(), 5);
        // A long quiet refills to the burst, no more.
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..100).filter(|_| b.take(much_later)).count(), 20);
    }

    #[test]
    fn levels_rank_from_error_to_debug() {
        assert!(rank(level_of(&Level::ERROR)) < rank(level_of(&Level::WARN)));
        assert!(rank(level_of(&Level::INFO)) < rank(level_of(&Level::DEBUG)));
        assert_eq!(level_of(&Level::TRACE), LogLevel::Debug);
    }
}
