//! Noticing a disk that stopped answering. A failing disk returns errors
//! and the storage thread reports them; a stalled one (a cloud volume
//! pausing, a frozen or hung file system) returns nothing, and the thread
//! that called it simply waits. So every disk operation of the store is
//! timed (`DiskClock::busy`), and a watcher on a thread of its own reports
//! one that has gone on for `AFTER` as a stall, and its end when it ends.
//! Meanwhile the engine refuses what would change state, as when writes
//! fail, instead of queueing orders nobody can acknowledge.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long one disk operation may take before the disk counts as
/// stalled. A healthy fsync takes well under 10 ms, a busy cloud volume's
/// up to a few hundred.
pub const AFTER: Duration = Duration::from_secs(2);

/// How often the watcher looks.
const EVERY: Duration = Duration::from_millis(100);

/// When the disk operation now under way began, if one is.
#[derive(Debug)]
pub struct DiskClock {
    base: Instant,
    /// µs since `base` when the operation began, plus one; 0: none.
    since: AtomicU64,
}

impl Default for DiskClock {
    fn default() -> Self {
        DiskClock {
            base: Instant::now(),
            since: AtomicU64::new(0),
        }
    }
}

/// A disk operation under way; it ends when this is dropped.
#[derive(Debug)]
#[must_use = "the operation is timed until this is dropped"]
pub struct Busy<'a>(&'a DiskClock);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.since.store(0, Ordering::Release);
    }
}

impl DiskClock {
    /// Times a disk operation until the returned guard drops. Operations
    /// do not overlap: the store's lock is held around each.
    pub fn busy(&self) -> Busy<'_> {
        let now = self.base.elapsed().as_micros() as u64;
        self.since.store(now + 1, Ordering::Release);
        Busy(self)
    }

    /// How long the operation now under way has taken, if one is.
    pub fn busy_for(&self) -> Option<Duration> {
        match self.since.load(Ordering::Acquire) {
            0 => None,
            since => Some(
                self.base
                    .elapsed()
                    .saturating_sub(Duration::from_micros(since - 1)),
            ),
        }
    }
}

/// What the watcher says: `Some(for how long)` when an operation has
/// taken `after`, `None` once it ended.
pub type Report = Box<dyn Fn(Option<Duration>) + Send>;

/// Watches `clock` from a thread of its own for as long as `alive` has an
/// owner: `report(Some(..))` once an operation has gone on for `after`,
/// `report(None)` once it (or the one after it) ends.
pub fn watch(
    clock: Arc<DiskClock>,
    alive: Weak<()>,
    after: Duration,
    report: Report,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("laicai-disk-watch".into())
        .spawn(move || {
            let mut stalled = false;
            while alive.strong_count() > 0 {
                std::thread::sleep(EVERY.min(after));
                let stuck = clock.busy_for().filter(|took| *took >= after);
                if stuck.is_some() != stalled {
                    stalled = stuck.is_some();
                    report(stuck);
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn an_operation_is_timed_while_its_guard_lives() {
        let clock = DiskClock::default();
        assert_eq!(clock.busy_for(), None);
        let busy = clock.busy();
        std::thread::sleep(Duration::from_millis(20));
        let took = clock.busy_for().expect("under way");
        assert!(took >= Duration::from_millis(20), "{took:?}");
        drop(busy);
        assert_eq!(clock.busy_for(), None);
    }

    #[test]
    fn a_long_operation_is_reported_once_and_its_end_once() {
        let clock = Arc::new(DiskClock::default());
        let alive = Arc::new(());
        let (tx, rx) = channel();
        watch(
            clock.clone(),
            Arc::downgrade(&alive),
            Duration::from_millis(60),
            Box::new(move |stuck| tx.send(stuck).unwrap()),
        )
        .unwrap();
        // Short operations are not stalls.
        for _ in 0..5 {
            let _busy = clock.busy();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        let busy = clock.busy();
        let stuck = rx.recv_timeout(Duration::from_secs(2)).unwrap();
        assert!(stuck.is_some_and(|took| took >= Duration::from_millis(60)));
        // Said once, however long it lasts.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(busy);
        assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap(), None);
        drop(alive);
    }
}
