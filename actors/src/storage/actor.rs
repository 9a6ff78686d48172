//! `StorageActor`: the one owner of the database, on a thread of its own
//! (SQLite calls block, actix threads must not). Callers hold a `Storage`
//! handle and send it jobs through a bounded queue.
//!
//! Writes are group-committed: the thread takes every job waiting in the
//! queue (up to `MAX_BATCH`), appends them as one row of the journal
//! table in one transaction — one fsync of a page or two — and only then
//! tells each writer its records are durable, in the order they were
//! sent. Under load a batch grows, so the cost of the fsync is shared by
//! many orders instead of paid by each. The order, trade and state tables
//! are brought up to date from the journal behind the commits (every
//! `APPLY_AFTER`, in slices a queued commit goes between), and before any
//! read: a read waits for the writes queued before it, so it sees them.
//!
//! A commit that fails (disk full, I/O error) is neither dropped nor
//! acknowledged: the thread keeps its records, reports storage
//! unavailable (`StorageHealth`), and tries the same commit again with
//! backoff, taking in the writes that follow and answering reads from
//! what is durable meanwhile. Once a commit succeeds, every writer held is
//! told, in order, and storage is reported available again. A disk that
//! returns nothing at all is reported unavailable the same way once an
//! operation has waited `stall::AFTER`, and available when it returns.

use super::checkpoint;
use super::ledger::FillLedger;
use super::stall::{self, DiskClock};
use super::store::{Kind, Record, Store, StoreError};
use crate::latency::LatencyHistogram;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most write jobs committed in one transaction.
const MAX_BATCH: usize = 1024;

/// A commit waits for the disk for its journal row only; the tables are
/// brought up to date behind it, this long after the first record not
/// yet in them (or at once past `APPLY_RECORDS`, and before any read).
const APPLY_AFTER: Duration = Duration::from_millis(50);
const APPLY_RECORDS: usize = 4096;

/// Records brought up to date in one transaction at most (about 3 µs
/// each) when a commit may be waiting: a commit queued behind them waits
/// for one slice, not for everything 50 ms of orders left (milliseconds,
/// the round trip's p99 otherwise).
const APPLY_SLICE: usize = 64;

/// How much of the journal `StorageActor::apply` brings into the tables.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Apply {
    /// All of it (before a read, and when stopping).
    All,
    /// Slice by slice, until a job waits.
    UntilAJobWaits,
    /// One slice, whatever waits: progress under a load that never lets
    /// the queue empty.
    OneSlice,
}

/// How long a failed commit waits before its first retry, and at most.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Records held while storage is unavailable before writers are made to
/// wait (the queue then fills and `Storage::write` blocks).
const MAX_HELD: usize = 1_000_000;

/// Told when storage becomes unavailable (`Some(why)`) and available
/// again (`None`).
pub type HealthWatch = Box<dyn Fn(Option<String>) + Send + Sync>;

/// Whether the database can be written, shared by the storage thread
/// (which sets it) and everyone who must refuse work while it cannot.
#[derive(Default)]
pub struct StorageHealth {
    /// Why, by cause (`Cause` indexes it); unavailable while any is set.
    why: parking_lot::Mutex<[Option<String>; 3]>,
    watch: std::sync::OnceLock<HealthWatch>,
}

/// What keeps the database from being written.
#[derive(Clone, Copy, Debug)]
enum Cause {
    /// Commits fail: nothing new is durable.
    Commit = 0,
    /// The journal's records cannot be brought into the tables: they are
    /// durable, but the journal only grows, and something is wrong with
    /// the tables.
    Apply = 1,
    /// A disk operation has not returned for `stall::AFTER`: nothing new
    /// is durable until it does, and reads of the database wait for it.
    Stall = 2,
}

/// Failed attempts in a row at applying the journal before storage is
/// reported unavailable (one failure may be a lock another connection
/// held; attempts are `RETRY_MAX` apart when nothing else comes).
const APPLY_FAILURES: u32 = 3;

impl std::fmt::Debug for StorageHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageHealth")
            .field("why", &*self.why.lock())
            .finish_non_exhaustive()
    }
}

impl StorageHealth {
    /// Why the database cannot be written now, if it cannot.
    pub fn unavailable(&self) -> Option<String> {
        self.why.lock().iter().flatten().next().cloned()
    }

    /// Whether the disk has stopped answering (reads of the database
    /// would wait for it too).
    pub fn stalled(&self) -> bool {
        self.why.lock()[Cause::Stall as usize].is_some()
    }

    fn set(&self, cause: Cause, now: Option<String>) {
        let (changed, why) = {
            let mut why = self.why.lock();
            let was = why.iter().any(Option::is_some);
            why[cause as usize] = now;
            let is = why.iter().flatten().next().cloned();
            (was != is.is_some(), is)
        };
        if changed {
            if let Some(watch) = self.watch.get() {
                watch(why);
            }
        }
    }
}

/// Told once a write is durable, or why it is not.
pub type Done = Box<dyn FnOnce(Result<(), NotDurable>) + Send>;

/// Why records are not durable: the storage thread is gone (the engine
/// is stopping). A failed write is not this: it is retried until it
/// succeeds, and its writer is told only then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDurable {
    #[error("storage is not running")]
    Stopped,
}

type ReadJob = Box<dyn FnOnce(&Store) + Send>;

enum Job {
    Write {
        records: Vec<Record>,
        done: Option<Done>,
        /// When it was sent: how long its writer waited, for `/metrics`.
        sent: Instant,
    },
    Read(ReadJob),
}

/// The storage thread's queue, and how many jobs sent to it are not yet
/// finished: while any is, nobody commits on their own thread (records
/// must reach the journal in the order they were sent).
#[derive(Clone)]
struct Queue {
    tx: SyncSender<Job>,
    queued: Arc<AtomicUsize>,
}

impl Queue {
    fn try_send(&self, job: Job) -> Result<(), TrySendError<Job>> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let sent = self.tx.try_send(job);
        if sent.is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }

    fn send(&self, job: Job) -> Result<(), std::sync::mpsc::SendError<Job>> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let sent = self.tx.send(job);
        if sent.is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }

    fn idle(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }
}

/// What the storage thread has done, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct StorageStats {
    pub batches: AtomicU64,
    pub records: AtomicU64,
    pub commit_micros: AtomicU64,
    pub failed_batches: AtomicU64,
    /// Of `batches`, those made on a venue's thread (`write_here`).
    pub batches_here: AtomicU64,
    /// How long each successful commit took (the disk's share of an
    /// order's answer).
    pub commit_times: LatencyHistogram,
    /// For each commit someone waited for: from its oldest waiting
    /// write's send to the acknowledgement (the queue's share as well).
    pub durable_waits: LatencyHistogram,
}

impl StorageStats {
    /// One commit attempt of `records` records, begun at `started`.
    fn count(&self, records: usize, started: Instant, ok: bool) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(records as u64, Ordering::Relaxed);
        let took = started.elapsed();
        self.commit_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        if ok {
            self.commit_times.record(took);
        } else {
            self.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage is not running")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Told what must reach a person (a record conflicting with a stored
/// one); set once the engine has somewhere to say it (`Storage::alert_to`).
pub type Alert = Box<dyn Fn(String) + Send + Sync>;

/// A handle on the storage thread. Cloning it is cheap; the thread ends
/// when the last handle is dropped, after the jobs already queued.
#[derive(Clone)]
pub struct Storage {
    queue: Queue,
    /// The store, for a commit on the caller's thread; only without the
    /// fsync (`write_here`).
    here: Option<Arc<parking_lot::Mutex<Store>>>,
    stats: Arc<StorageStats>,
    alert: Arc<std::sync::OnceLock<Alert>>,
    health: Arc<StorageHealth>,
    ledger: Arc<std::sync::OnceLock<Arc<dyn FillLedger>>>,
    /// Times `write_here`'s commits, for the stall watcher.
    disk: Arc<DiskClock>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("stats", &self.stats)
            .field("alerting", &self.alert.get().is_some())
            .finish_non_exhaustive()
    }
}

/// The thread that owns the `Store` (a venue's thread may borrow it for
/// one commit: `Storage::write_here`).
pub struct StorageActor {
    store: Arc<parking_lot::Mutex<Store>>,
    rx: Receiver<Job>,
    /// Jobs sent and not yet finished (`Queue`).
    queued: Arc<AtomicUsize>,
    /// Jobs taken from `rx` since `queued` was last brought down.
    taken: usize,
    stats: Arc<StorageStats>,
    alert: Arc<std::sync::OnceLock<Alert>>,
    health: Arc<StorageHealth>,
    /// Failed attempts at applying the journal since the last success.
    apply_failures: u32,
    /// The checkpointer runs while this lives.
    _alive: Arc<()>,
    /// Raised when the checkpointer left frames for this thread to copy
    /// when it is idle.
    behind: checkpoint::Behind,
    /// When the oldest write now waiting for a commit was sent.
    oldest_waiting: Option<Instant>,
    /// Times each disk operation, for the stall watcher.
    disk: Arc<DiskClock>,
}

impl std::fmt::Debug for StorageActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageActor")
            .field("store", &self.store)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// How a stall is told: a log line (from the watcher's thread, so it is
/// written even while the thread waiting on the disk is the engine's),
/// and storage reported unavailable until the operation returns.
fn report_stalls(health: Arc<StorageHealth>) -> stall::Report {
    Box::new(move |stuck| match stuck {
        Some(took) => {
            tracing::error!(
                waited_ms = took.as_millis() as u64,
                "the disk has not answered for {:.1} s: refusing what would change state until it does",
                took.as_secs_f64()
            );
            health.set(
                Cause::Stall,
                Some(format!(
                    "the disk has not answered for {:.1} s",
                    took.as_secs_f64()
                )),
            );
        }
        None => {
            tracing::info!("the disk answered again");
            health.set(Cause::Stall, None);
        }
    })
}

impl StorageActor {
    /// Starts the thread, and the WAL checkpointer beside it; `queue`
    /// bounds the jobs waiting for it.
    pub fn start(mut store: Store, queue: usize) -> std::io::Result<Storage> {
        let (tx, rx) = sync_channel(queue.max(1));
        let queued = Arc::new(AtomicUsize::new(0));
        let stats = Arc::new(StorageStats::default());
        let alive = Arc::new(());
        let behind = checkpoint::start(&mut store, Arc::downgrade(&alive)).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no WAL checkpointer: commits checkpoint the log themselves");
            checkpoint::Behind::default()
        });
        let alert = Arc::new(std::sync::OnceLock::new());
        let health = Arc::new(StorageHealth::default());
        let disk = Arc::new(DiskClock::default());
        stall::watch(
            disk.clone(),
            Arc::downgrade(&alive),
            stall::AFTER,
            report_stalls(health.clone()),
        )?;
        // Without the fsync a commit takes tens of µs: a venue may make it
        // on its own thread rather than wait for this one to wake twice.
        let here = !store.fsync();
        let store = Arc::new(parking_lot::Mutex::new(store));
        let actor = StorageActor {
            store: store.clone(),
            rx,
            queued: queued.clone(),
            taken: 0,
            stats: stats.clone(),
            alert: alert.clone(),
            health: health.clone(),
            apply_failures: 0,
            _alive: alive,
            behind,
            oldest_waiting: None,
            disk: disk.clone(),
        };
        std::thread::Builder::new()
            .name("laicai-storage".into())
            .spawn(move || actor.run())?;
        Ok(Storage {
            queue: Queue { tx, queued },
            here: here.then_some(store),
            stats,
            alert,
            health,
            ledger: Arc::default(),
            disk,
        })
    }

    /// Runs `op` on the store, timed for the stall watcher: every disk
    /// operation of this thread goes through here.
    fn on_disk<R>(&self, op: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = self.store.lock();
        let _busy = self.disk.busy();
        op(&mut store)
    }

    /// The next job; applies the journal to the tables when it is due
    /// (or nothing comes before it is), and finishes a checkpoint the
    /// checkpointer was left behind on when nothing waits. `None` once
    /// every handle is gone.
    fn next_job(&mut self, apply_due: &mut Option<Instant>) -> Option<Job> {
        loop {
            if self.queued.load(Ordering::Acquire) == 0 {
                self.on_disk(|store| checkpoint::finish(store, &self.behind));
            }
            let Some(due) = *apply_due else {
                let job = self.rx.recv().ok();
                self.taken += usize::from(job.is_some());
                return job;
            };
            match self
                .rx
                .recv_timeout(due.saturating_duration_since(Instant::now()))
            {
                Ok(job) => {
                    self.taken += 1;
                    return Some(job);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let applied = self.apply(Apply::UntilAJobWaits);
                    let unapplied = self.store.lock().unapplied();
                    // Left for a waiting job: again as soon as the queue
                    // is empty. Failed: again later.
                    let after = if applied { Duration::ZERO } else { RETRY_MAX };
                    *apply_due = (unapplied > 0).then(|| Instant::now() + after);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Brings the tables up to date with the journal, as much as `how`
    /// says. A failure leaves the records durable in the journal and is
    /// tried again later; after `APPLY_FAILURES` in a row storage is
    /// reported unavailable (commands that change state are refused,
    /// strategies hold) until it succeeds. Whether it succeeded.
    fn apply(&mut self, how: Apply) -> bool {
        let applied = match how {
            Apply::All => self.on_disk(Store::apply),
            Apply::OneSlice => self.on_disk(|store| store.apply_some(APPLY_SLICE)),
            Apply::UntilAJobWaits => loop {
                let (slice, unapplied) =
                    self.on_disk(|store| (store.apply_some(APPLY_SLICE), store.unapplied()));
                if slice.is_err() || unapplied == 0 || self.queued.load(Ordering::Acquire) > 0 {
                    break slice;
                }
            },
        };
        let ok = applied.is_ok();
        match applied {
            Ok(()) if self.apply_failures > 0 => {
                tracing::info!(
                    after = self.apply_failures,
                    "the tables are up to date with the journal again"
                );
                self.apply_failures = 0;
                self.health.set(Cause::Apply, None);
            }
            Ok(()) => {}
            Err(e) => {
                let records = self.store.lock().unapplied();
                self.apply_failures += 1;
                tracing::error!(error = %e, records, failures = self.apply_failures, "tables not brought up to date with the journal (the records are durable in it); retrying");
                if self.apply_failures >= APPLY_FAILURES {
                    self.health.set(
                        Cause::Apply,
                        Some(format!("the tables cannot be brought up to date from the journal ({e}); {records} durable records wait in it")),
                    );
                }
            }
        }
        let conflicts = self.store.lock().take_conflicts();
        for conflict in conflicts {
            tracing::error!(%conflict, "a record conflicts with a stored one");
            if let Some(alert) = self.alert.get() {
                alert(conflict);
            }
        }
        ok
    }

    fn run(mut self) {
        let mut writes: Vec<Record> = Vec::new();
        let mut done: Vec<Done> = Vec::new();
        let mut apply_due: Option<Instant> = None;
        while let Some(first) = self.next_job(&mut apply_due) {
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(job) = next.take() {
                taken += 1;
                match job {
                    Job::Write {
                        records,
                        done: d,
                        sent,
                    } => {
                        writes.extend(records);
                        if d.is_some() {
                            self.oldest_waiting.get_or_insert(sent);
                        }
                        done.extend(d);
                    }
                    Job::Read(read) => {
                        // Reads see every write sent before them.
                        self.commit(&mut writes, &mut done);
                        self.apply(Apply::All);
                        self.on_disk(|store| read(store));
                    }
                }
                if taken < MAX_BATCH {
                    next = self.rx.try_recv().ok();
                    self.taken += usize::from(next.is_some());
                }
            }
            self.commit(&mut writes, &mut done);
            // Everything taken so far is done: a venue may commit on its
            // own thread again.
            self.queued
                .fetch_sub(std::mem::take(&mut self.taken), Ordering::AcqRel);
            let unapplied = self.store.lock().unapplied();
            if unapplied >= APPLY_RECORDS {
                self.apply(Apply::OneSlice);
            }
            let unapplied = self.store.lock().unapplied();
            apply_due = match (unapplied, apply_due) {
                (0, _) => None,
                (_, None) => Some(Instant::now() + APPLY_AFTER),
                (_, due) => due,
            };
        }
        self.apply(Apply::All);
        tracing::info!("storage stopped");
    }

    fn commit(&mut self, writes: &mut Vec<Record>, done: &mut Vec<Done>) {
        if writes.is_empty() && done.is_empty() {
            return;
        }
        let mut wait = RETRY_FIRST;
        while let Err(e) = self.try_commit(writes) {
            let why = e.to_string();
            if self.health.why.lock()[Cause::Commit as usize].is_none() {
                tracing::error!(error = %why, records = writes.len(), "storage cannot be written: holding these records and retrying; nothing is acknowledged until they are durable");
            }
            self.health.set(Cause::Commit, Some(why));
            if !self.hold(writes, done, wait) {
                // Every handle is gone: nobody is left to tell.
                return;
            }
            wait = (wait * 2).min(RETRY_MAX);
        }
        if self.health.why.lock()[Cause::Commit as usize].is_some() {
            tracing::info!(records = writes.len(), "storage can be written again");
            self.health.set(Cause::Commit, None);
        }
        writes.clear();
        for d in done.drain(..) {
            d(Ok(()));
        }
        if let Some(sent) = self.oldest_waiting.take() {
            self.stats.durable_waits.record(sent.elapsed());
        }
    }

    /// One attempt at writing `writes` in one transaction.
    fn try_commit(&mut self, writes: &[Record]) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = if writes.is_empty() {
            Ok(())
        } else {
            self.on_disk(|store| store.append(writes))
        };
        self.stats.count(writes.len(), started, result.is_ok());
        result
    }

    /// Waits `wait` before the next attempt, answering reads from what is
    /// durable and taking in the writes that come (they are committed
    /// after the held ones, in order). False once every handle is gone.
    fn hold(&mut self, writes: &mut Vec<Record>, done: &mut Vec<Done>, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || writes.len() >= MAX_HELD {
                if writes.len() >= MAX_HELD {
                    std::thread::sleep(left);
                }
                return true;
            }
            let job = self.rx.recv_timeout(left);
            self.taken += usize::from(job.is_ok());
            match job {
                Ok(Job::Write {
                    records,
                    done: d,
                    sent,
                }) => {
                    writes.extend(records);
                    if d.is_some() {
                        self.oldest_waiting.get_or_insert(sent);
                    }
                    done.extend(d);
                }
                Ok(Job::Read(read)) => {
                    self.apply(Apply::All);
                    self.on_disk(|store| read(store));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return true,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
    }
}

impl Storage {
    /// Queues records; `done` is told once they are durable. Blocks only
    /// when the queue is full (storage is the bottleneck then, and the
    /// writer must wait for it rather than lose a record).
    pub fn write(&self, records: Vec<Record>, done: Option<Done>) {
        let job = Job::Write {
            records,
            done,
            sent: Instant::now(),
        };
        let job = match self.queue.try_send(job) {
            Ok(()) => return,
            Err(TrySendError::Full(job)) => {
                tracing::warn!("storage queue full: waiting for the disk");
                job
            }
            Err(TrySendError::Disconnected(job)) => job,
        };
        if let Err(e) = self.queue.send(job) {
            if let Job::Write {
                done: Some(done), ..
            } = e.0
            {
                done(Err(NotDurable::Stopped));
            }
        }
    }

    /// Whether `write_here` may commit on the caller's thread (the store
    /// does not fsync).
    pub fn commits_here(&self) -> bool {
        self.here.is_some()
    }

    /// Commits `records` on the calling thread, now, when that is as safe
    /// as `write` and faster: the store does not fsync (a commit is tens of
    /// µs, not a disk flush that would stall the caller), nothing sent to
    /// the storage thread is unfinished (so nothing sent before is
    /// overtaken), and the store is not busy. `Ok` once they are as
    /// durable as `write` would have made them; otherwise the records
    /// come back, for `write`. A failed commit comes back too: `write`
    /// holds and retries it.
    pub fn write_here(&self, records: Vec<Record>) -> Result<(), Vec<Record>> {
        let Some(store) = &self.here else {
            return Err(records);
        };
        if !self.queue.idle() {
            return Err(records);
        }
        let Some(mut store) = store.try_lock() else {
            return Err(records);
        };
        // Checked again with the store held: a job sent meanwhile would be
        // overtaken otherwise.
        if !self.queue.idle() {
            return Err(records);
        }
        let first_unapplied = store.unapplied() == 0;
        let started = Instant::now();
        let busy = self.disk.busy();
        let appended = store.append(&records);
        drop(busy);
        self.stats.count(records.len(), started, appended.is_ok());
        if appended.is_ok() {
            self.stats.batches_here.fetch_add(1, Ordering::Relaxed);
        }
        let apply_soon = store.unapplied() >= APPLY_RECORDS || first_unapplied;
        drop(store);
        if appended.is_err() {
            return Err(records);
        }
        if apply_soon {
            // The storage thread brings the tables up to date behind the
            // journal; tell it there is something to apply.
            let _ = self.try_write(Vec::new());
        }
        Ok(())
    }

    /// Queues records unless the queue is full; never blocks. For a
    /// writer that must not wait (the registry) and can try again later.
    pub fn try_write(&self, records: Vec<Record>) -> bool {
        self.queue
            .try_send(Job::Write {
                records,
                done: None,
                sent: Instant::now(),
            })
            .is_ok()
    }

    /// Stores `value` (JSON) under a kind and key; nobody waits for it.
    /// Installs the ledger every fill written through a `Journal` is
    /// folded into, in the fill's own transaction. False if one already was.
    pub fn fold_fills_into(&self, ledger: Arc<dyn FillLedger>) -> bool {
        self.ledger.set(ledger).is_ok()
    }

    /// The ledger fills are folded into, once installed.
    pub fn fill_ledger(&self) -> Option<&Arc<dyn FillLedger>> {
        self.ledger.get()
    }

    pub fn put<T: serde::Serialize>(&self, kind: Kind, key: &str, value: &T) {
        match Record::put(kind, key, value) {
            Ok(record) => self.write(vec![record], None),
            Err(e) => tracing::error!(kind = kind.as_str(), %key, error = %e, "not stored"),
        }
    }

    pub fn delete(&self, kind: Kind, key: &str) {
        let record = Record::Delete {
            kind,
            key: key.to_string(),
        };
        self.write(vec![record], None);
    }

    /// Runs `read` on the storage thread, after the writes queued before it.
    pub async fn read<T, F>(&self, read: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Job::Read(Box::new(move |store| {
            let _ = tx.send(read(store));
        }));
        // The queue may be full: wait for room off the actix thread's
        // critical path by retrying, never by blocking it.
        let mut job = job;
        loop {
            match self.queue.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    job = back;
                    actix::clock::sleep(std::time::Duration::from_millis(1)).await;
                }
                Err(TrySendError::Disconnected(_)) => return Err(StorageError::Stopped),
            }
        }
        Ok(rx.await.map_err(|_| StorageError::Stopped)??)
    }

    /// Jobs sent to the storage thread and not yet finished.
    pub fn waiting(&self) -> usize {
        self.queue.queued.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> &StorageStats {
        &self.stats
    }

    /// Whether the database can be written now.
    pub fn health(&self) -> &StorageHealth {
        &self.health
    }

    /// Who is told when storage becomes unavailable and available again
    /// (once).
    pub fn watch_health(&self, watch: HealthWatch) {
        if self.health.watch.set(watch).is_err() {
            tracing::warn!("storage health is already watched");
        }
    }

    /// Where conflicting records are reported from now on (once).
    pub fn alert_to(&self, alert: Alert) {
        if self.alert.set(alert).is_err() {
            tracing::warn!("storage alerts already go somewhere");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StateJson;
    use std::sync::mpsc::channel;

    fn temp_db(what: &str) -> std::path::PathBuf {
        std::env::temp_dir()
            .join(format!(
                "laicai-storage-{what}-{}-{:?}",
                std::process::id(),
                Instant::now()
            ))
            .join("laicai.db")
    }

    fn put(i: usize) -> Record {
        Record::Put {
            kind: Kind::Strategy,
            key: format!("k{i}"),
            value: StateJson::of(&i).unwrap(),
        }
    }

    #[test]
    fn writes_are_acknowledged_in_order_in_shared_batches_and_durable_when_acknowledged() {
        let db = temp_db("batches");
        let storage = StorageActor::start(Store::open(&db).unwrap(), 4096).unwrap();
        let (tx, rx) = channel();
        let n = 2000;
        for i in 0..n {
            let tx = tx.clone();
            storage.write(
                vec![put(i)],
                Some(Box::new(move |r| {
                    let _ = tx.send((i, r));
                })),
            );
        }
        let acks: Vec<(usize, Result<(), NotDurable>)> =
            (0..n).map(|_| rx.recv().unwrap()).collect();
        assert!(acks.iter().all(|(_, r)| r.is_ok()));
        assert_eq!(
            acks.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>()
        );
        let batches = storage.stats().batches.load(Ordering::Relaxed);
        assert!(batches < n as u64, "{batches} batches for {n} writes");
        // Acknowledged means on disk: another connection sees every one.
        let stored = Store::open(&db).unwrap().state(Kind::Strategy, "").unwrap();
        assert_eq!(stored.len(), n);
    }

    /// Writes `record` and waits until it is acknowledged durable.
    fn commit(storage: &Storage, record: Record) {
        let (tx, rx) = channel();
        storage.write(
            vec![record],
            Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        );
        rx.recv().unwrap().unwrap();
    }

    /// Waits up to `secs` for `done`.
    fn within(secs: u64, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn tables_that_cannot_be_updated_make_storage_unavailable_until_they_can() {
        let db = temp_db("apply");
        let storage = StorageActor::start(Store::open(&db).unwrap(), 64).unwrap();
        // Another connection makes every insert into the state table fail;
        // the journal still takes rows.
        let other = rusqlite::Connection::open(&db).unwrap();
        other
            .execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON state BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;")
            .unwrap();
        // Durable (in the journal), so acknowledged.
        commit(&storage, put(1));
        within(15, "storage reported unavailable", || {
            storage.health().unavailable().is_some()
        });
        let why = storage.health().unavailable().unwrap_or_default();
        assert!(
            why.contains("journal") && why.contains("refused by the test"),
            "{why}"
        );
        // A commit that works does not hide it.
        commit(&storage, put(2));
        assert!(storage.health().unavailable().is_some());
        other.execute_batch("DROP TRIGGER refuse").unwrap();
        within(15, "storage available again", || {
            storage.health().unavailable().is_none()
        });
        let stored = Store::open(&db).unwrap().state(Kind::Strategy, "").unwrap();
        assert_eq!(stored.len(), 2);
    }

    #[test]
    fn the_checkpointer_moves_every_commit_into_the_database_file() {
        let db = temp_db("checkpoint");
        let storage = StorageActor::start(Store::open(&db).unwrap(), 64).unwrap();
        // One commit each: commits do not checkpoint themselves any more.
        let n = 300;
        for i in 0..n {
            commit(&storage, put(i));
        }
        std::thread::sleep(checkpoint::EVERY * 4);
        // The database file alone, without its log, holds every record.
        let copy = db.with_file_name("copy.db");
        std::fs::copy(&db, &copy).unwrap();
        let stored = Store::open(&copy)
            .unwrap()
            .state(Kind::Strategy, "")
            .unwrap();
        assert_eq!(stored.len(), n);
    }

    #[test]
    fn under_a_steady_stream_of_commits_the_log_is_written_from_its_start_again() {
        // One writer commits back to back, each waiting for its
        // acknowledgement, for six checkpoint passes: the checkpointer
        // never catches up alone (commits land while it copies), so the
        // storage thread finishes its passes between commits and the log
        // starts again each time. Without that the log only grows: at
        // least one 4 KiB page (plus its frame header) per commit.
        let db = temp_db("restart");
        let storage = StorageActor::start(Store::open(&db).unwrap(), 64).unwrap();
        let started = Instant::now();
        let mut commits = 0;
        while started.elapsed() < checkpoint::EVERY * 6 {
            commit(&storage, put(commits % 100));
            commits += 1;
        }
        let wal = std::fs::metadata(db.with_extension("db-wal"))
            .unwrap()
            .len();
        let unbounded = commits as u64 * (4096 + 24);
        assert!(
            wal < unbounded / 2,
            "log of {wal} bytes after {commits} commits ({unbounded} if never started again)"
        );
        drop(storage);
        let _ = std::fs::remove_dir_all(db.parent().unwrap());
    }

    #[test]
    fn a_commit_on_the_callers_thread_only_without_fsync_and_never_overtaking_a_queued_one() {
        // With the fsync (the default) every commit is the storage thread's.
        let synced = StorageActor::start(Store::open(&temp_db("here-fsync")).unwrap(), 64).unwrap();
        assert_eq!(synced.write_here(vec![put(0)]).unwrap_err().len(), 1);

        let db = temp_db("here");
        let mut store = Store::open(&db).unwrap();
        store.set_fsync(false).unwrap();
        let storage = StorageActor::start(store, 64).unwrap();
        storage.write_here(vec![put(1)]).unwrap();
        // Committed when it returns: another connection sees it in the
        // journal at once, and in its table once applied behind it.
        let journal_rows = |db: &std::path::Path| -> i64 {
            rusqlite::Connection::open(db)
                .unwrap()
                .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
                .unwrap()
        };
        assert!(journal_rows(&db) >= 1);
        within(15, "the record applied to its table", || {
            Store::open(&db)
                .unwrap()
                .state(Kind::Strategy, "")
                .unwrap()
                .len()
                == 1
        });

        // While a job sent to the storage thread is unfinished, nothing is
        // committed past it: the thread is held telling a writer (the
        // store free), and another write waits behind.
        let (gate, stalled) = channel::<()>();
        storage.write(
            Vec::new(),
            Some(Box::new(move |_| {
                let _ = stalled.recv();
            })),
        );
        let (tx, rx) = channel();
        storage.write(
            vec![put(2)],
            Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        );
        let back = storage.write_here(vec![put(3)]).unwrap_err();
        assert_eq!(back.len(), 1, "refused, and the records handed back");
        gate.send(()).unwrap();
        rx.recv().unwrap().unwrap();
        within(15, "the storage thread idle again", || {
            storage.write_here(vec![put(4)]).is_ok()
        });
        let stored = Store::open(&db).unwrap().state(Kind::Strategy, "").unwrap();
        let keys: Vec<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"k2") && !keys.contains(&"k3"), "{keys:?}");
    }
}
