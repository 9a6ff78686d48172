//! Backtests for WebSocket clients. `BacktestManager` owns every run's
//! status, latest progress and result, answers `start_backtest`,
//! `get_backtest` and `cancel_backtest`, and publishes `backtest_progress`
//! and `backtest_result`. Each run replays on a `BacktestRunner`, a sync
//! actor on its own thread at a lower CPU priority, so a backtest never
//! runs on, or starves, the threads that trade.

use crate::backtest::{self as bt, BacktestError, Progress};

use crate::health::{Handles, Load};
use crate::registry::{Publish, RegistryActor};
use actix::prelude::*;
use laicai_core::error::Coded;
use laicai_core::error::ErrorCode;
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::protocol::commands::NewBacktest;
use laicai_core::strategy::StrategyParams;
use laicai_core::time::{iso8601_ms, iso_date, TimestampMs};
use laicai_core::wire::backtest::Report;
use laicai_core::wire::backtest::SimSettings;
use laicai_core::wire::events::StrategyType;
use laicai_core::wire::events::{BacktestProgress, BacktestStatus, Event};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct BacktestsConfig {
    /// `data` names are paths inside this directory.
    pub data_dir: PathBuf,
    /// Each run's `report.json` and `equity.svg` go to `<dir>/<id>/`.
    pub report_dir: Option<PathBuf>,
    /// Runs replaying at once (one thread each).
    pub runners: usize,
    /// Runs waiting for a runner; more are refused.
    pub max_queued: usize,
    /// Ended runs kept for `get_backtest` (oldest forgotten first).
    pub keep: usize,
    /// Whether the test-only `chaos` strategy may run.
    pub allow_test_strategies: bool,
    /// Where it reads the wall time.
    pub clock: crate::clock::Clock,
}

/// A run as `get_backtest` and the other answers show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestView {
    pub backtest_id: String,
    pub status: BacktestStatus,
    pub strategy_type: StrategyType,
    pub pair: String,
    pub data: Vec<String>,
    pub created_at: String,
    /// The latest `backtest_progress` data.
    pub progress: Option<BacktestProgress>,
    /// The report, once completed.
    pub result: Option<Box<Report>>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where `report.json` and `equity.svg` were written.
    pub report_path: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestCmdError {
    #[error("no backtest `{0}`")]
    NotFound(String),
    #[error("invalid `pair`: {0} has no trading rules here (tick and step sizes); known: {1}")]
    UnknownPair(String, String),
    #[error("invalid `data`: {0}")]
    Data(String),
    #[error("invalid `strategy.type`: {0} is a test strategy, off in this engine")]
    TestStrategy(&'static str),
    #[error("{0} backtests are already waiting; try again when one has ended")]
    Busy(usize),
    #[error("backtest {0} has already ended ({1})")]
    Ended(String, &'static str),
}

impl Coded for BacktestCmdError {
    fn code(&self) -> ErrorCode {
        match self {
            BacktestCmdError::NotFound(_) => ErrorCode::NotFound,
            BacktestCmdError::UnknownPair(..)
            | BacktestCmdError::Data(_)
            | BacktestCmdError::TestStrategy(_) => ErrorCode::InvalidParams,
            BacktestCmdError::Busy(_) => ErrorCode::RateLimited,
            BacktestCmdError::Ended(..) => ErrorCode::InvalidState,
        }
    }
}

#[derive(Debug, Message)]
#[rtype(result = "Result<BacktestView, BacktestCmdError>")]
pub struct StartBacktest(pub NewBacktest);

#[derive(Debug, Message)]
#[rtype(result = "Result<BacktestView, BacktestCmdError>")]
pub struct GetBacktest(pub String);

/// Stops a queued or running backtest; it ends `cancelled`.
#[derive(Debug, Message)]
#[rtype(result = "Result<BacktestView, BacktestCmdError>")]
pub struct CancelBacktest(pub String);

/// Every run still known, newest first.
#[derive(Debug, Message)]
#[rtype(result = "Vec<BacktestView>")]
pub struct GetBacktests;

/// The data `start_backtest` can replay.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<DataFile>, BacktestCmdError>")]
pub struct GetDataFiles;

/// A file (or a directory of files) in the data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataFile {
    /// The name `start_backtest`'s `data` takes: the path inside the data
    /// directory, `/`-separated.
    pub name: String,
    /// `trades`, `klines`, `book_l2`, `csv`, or `directory`.
    pub kind: &'static str,
    /// The pair the file name names (`BTCUSDT`), when it names one.
    pub symbol: Option<String>,
    pub size: u64,
    /// Last modified, ISO-8601 UTC.
    pub modified: Option<String>,
    /// For a directory: how many data files it holds.
    pub files: Option<usize>,
}

/// Entries `get_data_files` lists at most, and how deep it looks.
const MAX_DATA_FILES_LISTED: usize = 1000;
const MAX_DATA_DEPTH: usize = 4;

fn is_data_file(name: &str) -> bool {
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

/// What a data file holds, judged by Binance's and Tardis's file names.
fn data_kind(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    // Binance names klines by their interval: `BTCUSDT-1m-2025-01.csv`.
    let interval = lower
        .split('-')
        .any(|part| match part.char_indices().last() {
            Some((i, 's' | 'm' | 'h' | 'd' | 'w')) => {
                i > 0 && part[..i].chars().all(|c| c.is_ascii_digit())
            }
            _ => false,
        });
    if lower.contains("book") {
        "book_l2"
    } else if lower.contains("trades") {
        "trades"
    } else if interval {
        "klines"
    } else {
        "csv"
    }
}

/// Lists the data files and directories under `dir`, sorted by name.
fn data_files(dir: &Path) -> Result<Vec<DataFile>, String> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    while let Some((at, depth)) = pending.pop() {
        let entries = std::fs::read_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?;
        let mut count = 0;
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(dir) else {
                continue;
            };
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let file_name = entry.file_name().to_string_lossy().to_string();
            if file_name.starts_with('.') || out.len() >= MAX_DATA_FILES_LISTED {
                continue;
            }
            if kind.is_dir() && depth < MAX_DATA_DEPTH {
                pending.push((path, depth + 1));
            } else if kind.is_file() && is_data_file(&file_name) {
                count += 1;
                let meta = entry.metadata().ok();
                let modified = meta
                    .as_ref()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| iso8601_ms(d.as_millis() as TimestampMs));
                // Binance and Tardis write the pair in capitals: BTCUSDT.
                let symbol = file_name
                    .split(['-', '_', '.'])
                    .find(|s| {
                        s.len() >= 5
                            && s.starts_with(|c: char| c.is_ascii_uppercase())
                            && s.chars()
                                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                    })
                    .map(str::to_string);
                out.push(DataFile {
                    name,
                    kind: data_kind(&file_name),
                    symbol,
                    size: meta.map_or(0, |m| m.len()),
                    modified,
                    files: None,
                });
            }
        }
        if count > 0 && at != dir {
            let rel = at.strip_prefix(dir).unwrap_or(&at);
            out.push(DataFile {
                name: rel.to_string_lossy().replace('\\', "/"),
                kind: "directory",
                symbol: None,
                size: 0,
                modified: None,
                files: Some(count),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// From a runner: it picked the run up.
#[derive(Message)]
#[rtype(result = "()")]
struct Started(String);

#[derive(Message)]
#[rtype(result = "()")]
struct Progressed(String, Progress);

#[derive(Message)]
#[rtype(result = "()")]
struct Finished {
    id: String,
    outcome: Result<Report, BacktestError>,
    /// How far it got.
    last: Option<Progress>,
    report_path: Option<String>,
}

#[derive(Debug)]
struct Run {
    view: BacktestView,
    cancel: Arc<AtomicBool>,
}

#[derive(Debug)]
pub struct BacktestManager {
    cfg: BacktestsConfig,
    rules: HashMap<Symbol, PairSpec>,
    registry: Addr<RegistryActor>,
    runner: Option<Addr<BacktestRunner>>,
    runs: HashMap<String, Run>,
    /// Ids by creation, to forget the oldest ended runs.
    order: VecDeque<String>,
    created: u64,
    load: Load,
}

impl BacktestManager {
    pub fn new(
        cfg: BacktestsConfig,
        rules: impl IntoIterator<Item = PairSpec>,
        registry: Addr<RegistryActor>,
    ) -> Self {
        BacktestManager {
            cfg,
            rules: rules.into_iter().map(|r| (r.symbol.clone(), r)).collect(),
            registry,
            runner: None,
            runs: HashMap::new(),
            order: VecDeque::new(),
            created: 0,
            load: Load::default(),
        }
    }

    fn view(&self, id: &str) -> Result<BacktestView, BacktestCmdError> {
        self.runs
            .get(id)
            .map(|r| r.view.clone())
            .ok_or_else(|| BacktestCmdError::NotFound(id.to_string()))
    }

    fn waiting(&self) -> usize {
        self.runs
            .values()
            .filter(|r| r.view.status == BacktestStatus::Queued)
            .count()
    }

    /// Forgets the oldest ended runs beyond `keep`.
    fn forget_old(&mut self) {
        let mut ended = self.runs.values().filter(|r| r.view.status.ended()).count();
        let mut kept = VecDeque::with_capacity(self.order.len());
        while let Some(id) = self.order.pop_front() {
            let is_ended = self.runs.get(&id).is_some_and(|r| r.view.status.ended());
            if is_ended && ended > self.cfg.keep {
                self.runs.remove(&id);
                ended -= 1;
            } else {
                kept.push_back(id);
            }
        }
        self.order = kept;
    }

    /// Ends a run: records how, publishes `backtest_result`.
    fn end(
        &mut self,
        id: &str,
        status: BacktestStatus,
        result: Option<Report>,
        error: Option<String>,
    ) {
        let Some(run) = self.runs.get_mut(id) else {
            return;
        };
        run.view.status = status;
        run.view.result = result.clone().map(Box::new);
        run.view.error = error.clone();
        tracing::info!(backtest = id, status = status.as_str(), error = ?error, "backtest ended");
        self.registry.do_send(Publish::now(Event::BacktestResult {
            backtest_id: id.to_string(),
            status,
            data: result.map(Box::new),
            error,
        }));
        self.forget_old();
    }
}

/// A data name must stay inside the data directory.
fn resolve(dir: &Path, names: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for name in names {
        let rel = Path::new(name);
        let inside = !rel.is_absolute()
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(format!("`{name}` must be a path inside the data directory"));
        }
        let path = dir.join(rel);
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| format!("`{name}`: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.to_string_lossy();
                    p.is_file() && (n.ends_with(".csv") || n.ends_with(".csv.gz"))
                })
                .collect();
            if found.is_empty() {
                return Err(format!("directory `{name}` holds no .csv or .csv.gz file"));
            }
            // Files named by date sort in time order.
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path);
        } else {
            return Err(format!(
                "no data file or directory `{name}` in {}",
                dir.display()
            ));
        }
    }
    Ok(files)
}

fn progress_data(p: &Progress) -> BacktestProgress {
    let round = |x: f64, places: i32| {
        let f = 10f64.powi(places);
        (x * f).round() / f
    };
    BacktestProgress {
        progress: round(p.fraction, 4),
        current_date: iso_date(p.current_ms),
        total_days: round(p.total_days(), 2),
        completed_days: round(p.completed_days(), 2),
        estimated_remaining: round(p.estimated_remaining(), 1),
    }
}

impl Actor for BacktestManager {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        self.runner = Some(SyncArbiter::start(self.cfg.runners.max(1), || {
            lower_this_threads_priority();
            BacktestRunner
        }));
    }
}

impl Handles<StartBacktest> for BacktestManager {
    type Result = Result<BacktestView, BacktestCmdError>;
    fn handle(&mut self, msg: StartBacktest, ctx: &mut Self::Context) -> Self::Result {
        let new = msg.0;
        let kind = new.strategy.kind();
        if kind == StrategyType::Chaos && !self.cfg.allow_test_strategies {
            return Err(BacktestCmdError::TestStrategy(kind.as_str()));
        }
        let rules = self.rules.get(&new.pair).cloned().ok_or_else(|| {
            let mut known: Vec<&str> = self.rules.keys().map(Symbol::as_str).collect();
            known.sort();
            BacktestCmdError::UnknownPair(new.pair.to_string(), known.join(", "))
        })?;
        let files = resolve(&self.cfg.data_dir, &new.data).map_err(BacktestCmdError::Data)?;
        let waiting = self.waiting();
        if waiting >= self.cfg.max_queued {
            return Err(BacktestCmdError::Busy(waiting));
        }
        let Some(runner) = self.runner.clone() else {
            return Err(BacktestCmdError::Busy(waiting));
        };
        let now = self.cfg.clock.now_ms();
        self.created += 1;
        let id = format!("bt_{now}_{}", self.created);
        let cancel = Arc::new(AtomicBool::new(false));
        let view = BacktestView {
            backtest_id: id.clone(),
            status: BacktestStatus::Queued,
            strategy_type: new.strategy.kind(),
            pair: new.pair.to_string(),
            data: new.data.clone(),
            created_at: iso8601_ms(now),
            progress: None,
            result: None,
            error: None,
            report_path: None,
        };
        runner.do_send(RunBacktest {
            id: id.clone(),
            title: format!(
                "{} {} backtest {id}",
                new.strategy.kind().as_str(),
                new.pair
            ),
            rules,
            strategy: new.strategy,
            settings: new.settings,
            names: files
                .iter()
                .map(|f| {
                    f.strip_prefix(&self.cfg.data_dir)
                        .unwrap_or(f)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
            files,
            from_ms: new.from_ms,
            to_ms: new.to_ms,
            report_dir: self.cfg.report_dir.as_ref().map(|d| d.join(&id)),
            cancel: cancel.clone(),
            manager: ctx.address(),
        });
        tracing::info!(backtest = %id, pair = %view.pair, strategy = view.strategy_type.as_str(), "backtest queued");
        self.runs.insert(
            id.clone(),
            Run {
                view: view.clone(),
                cancel,
            },
        );
        self.order.push_back(id);
        Ok(view)
    }
}

impl Handles<GetBacktest> for BacktestManager {
    type Result = Result<BacktestView, BacktestCmdError>;
    fn handle(&mut self, msg: GetBacktest, _: &mut Self::Context) -> Self::Result {
        self.view(&msg.0)
    }
}

impl Handles<GetBacktests> for BacktestManager {
    type Result = MessageResult<GetBacktests>;
    fn handle(&mut self, _: GetBacktests, _: &mut Self::Context) -> Self::Result {
        let views = self
            .order
            .iter()
            .rev()
            .filter_map(|id| self.runs.get(id).map(|r| r.view.clone()))
            .collect();
        MessageResult(views)
    }
}

impl Handles<GetDataFiles> for BacktestManager {
    type Result = Result<Vec<DataFile>, BacktestCmdError>;
    fn handle(&mut self, _: GetDataFiles, _: &mut Self::Context) -> Self::Result {
        data_files(&self.cfg.data_dir).map_err(BacktestCmdError::Data)
    }
}

impl Handles<CancelBacktest> for BacktestManager {
    type Result = Result<BacktestView, BacktestCmdError>;
    fn handle(&mut self, msg: CancelBacktest, _: &mut Self::Context) -> Self::Result {
        let id = msg.0;
        let run = self
            .runs
            .get(&id)
            .ok_or_else(|| BacktestCmdError::NotFound(id.clone()))?;
        if run.view.status.ended() {
            return Err(BacktestCmdError::Ended(id, run.view.status.as_str()));
        }
        // The runner stops within a few thousand prints; whatever it
        // reports after this, the run stays cancelled.
        run.cancel.store(true, Ordering::Relaxed);
        self.end(&id, BacktestStatus::Cancelled, None, None);
        self.view(&id)
    }
}

impl Handles<Started> for BacktestManager {
    type Result = ();
    fn handle(&mut self, msg: Started, _: &mut Self::Context) {
        if let Some(run) = self.runs.get_mut(&msg.0) {
            if run.view.status == BacktestStatus::Queued {
                run.view.status = BacktestStatus::Running;
            }
        }
    }
}

impl Handles<Progressed> for BacktestManager {
    type Result = ();
    fn handle(&mut self, msg: Progressed, _: &mut Self::Context) {
        let Some(run) = self.runs.get_mut(&msg.0) else {
            return;
        };
        if run.view.status.ended() {
            return;
        }
        let data = progress_data(&msg.1);
        run.view.progress = Some(data.clone());
        self.registry.do_send(Publish::now(Event::BacktestProgress {
            backtest_id: msg.0,
            data,
        }));
    }
}

impl Handles<Finished> for BacktestManager {
    type Result = ();
    fn handle(&mut self, msg: Finished, _: &mut Self::Context) {
        let Some(run) = self.runs.get_mut(&msg.id) else {
            return;
        };
        if let Some(p) = &msg.last {
            // A cancelled run shows where it stopped.
            run.view.progress = Some(progress_data(p));
        }
        if run.view.status.ended() {
            return;
        }
        run.view.report_path = msg.report_path;
        match msg.outcome {
            Ok(report) => self.end(&msg.id, BacktestStatus::Completed, Some(report), None),
            Err(BacktestError::Cancelled) => {
                self.end(&msg.id, BacktestStatus::Cancelled, None, None)
            }
            Err(e) => self.end(&msg.id, BacktestStatus::Failed, None, Some(e.to_string())),
        }
    }
}

crate::health::watched!(BacktestManager, |m| {
    let replaying = m
        .runs
        .values()
        .any(|r| r.view.status == BacktestStatus::Running);
    if replaying { "running" } else { "idle" }.into()
});

/// One run, as the manager hands it to a runner.
#[derive(Message)]
#[rtype(result = "()")]
struct RunBacktest {
    id: String,
    title: String,
    rules: PairSpec,
    strategy: StrategyParams,
    settings: SimSettings,
    files: Vec<PathBuf>,
    /// The files as the data directory names them, for the report.
    names: Vec<String>,
    from_ms: Option<TimestampMs>,
    to_ms: Option<TimestampMs>,
    report_dir: Option<PathBuf>,
    cancel: Arc<AtomicBool>,
    manager: Addr<BacktestManager>,
}

/// Replays one run at a time on its own thread.
#[derive(Debug)]
pub struct BacktestRunner;

impl Actor for BacktestRunner {
    type Context = SyncContext<Self>;
}

impl Handler<RunBacktest> for BacktestRunner {
    type Result = ();
    fn handle(&mut self, job: RunBacktest, _: &mut Self::Context) {
        let manager = job.manager.clone();
        let id = job.id.clone();
        if job.cancel.load(Ordering::Relaxed) {
            manager.do_send(Finished {
                id,
                outcome: Err(BacktestError::Cancelled),
                last: None,
                report_path: None,
            });
            return;
        }
        manager.do_send(Started(id.clone()));
        let mut last = None;
        // A strategy that panics fails its backtest, not the runner.
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| replay(&job, &mut last)))
                .unwrap_or_else(|_| {
                    tracing::error!(backtest = %id, "the strategy panicked during the backtest");
                    Err(BacktestError::Settings("the strategy panicked".into()))
                });
        let mut report_path = None;
        let outcome = match (outcome, &job.report_dir) {
            (Ok(report), Some(dir)) => match bt::write_report(dir, &report, &job.title) {
                Ok(()) => {
                    report_path = Some(dir.display().to_string());
                    Ok(report)
                }
                Err(e) => Err(e),
            },
            (outcome, _) => outcome,
        };
        manager.do_send(Finished {
            id,
            outcome,
            last,
            report_path,
        });
    }
}

fn replay(job: &RunBacktest, last: &mut Option<Progress>) -> Result<Report, BacktestError> {
    let events = bt::load(&job.files, job.from_ms, job.to_ms)?;
    bt::run(
        job.rules.clone(),
        &job.strategy,
        job.settings.clone(),
        &job.names,
        &events,
        &job.cancel,
        |p| {
            *last = Some(p);
            job.manager.do_send(Progressed(job.id.clone(), p));
        },
    )
}

/// Backtests yield the CPU to the engine's threads: nice 10 for the
/// calling thread (on Linux a thread's nice value is its own).
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; `who = 0`
        // is the calling thread.
        #[allow(
            unsafe_code,
            reason = "libc's setpriority is the only way to nice one thread"
        )]
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        if rc != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot lower the backtest thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_are_listed_by_name_with_what_they_hold() {
        let dir = std::env::temp_dir().join(format!("laicai-data-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("day")).unwrap();
        for name in [
            "BTCUSDT-1m-2025-01.csv.gz",
            "day/ETHUSDT-trades-2025-01-01.csv",
            "day/binance_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz",
            "notes.txt",
            ".hidden.csv",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let files = data_files(&dir).unwrap();
        let seen: Vec<(&str, &str, Option<&str>)> = files
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.symbol.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                ("BTCUSDT-1m-2025-01.csv.gz", "klines", Some("BTCUSDT")),
                ("day", "directory", None),
                (
                    "day/ETHUSDT-trades-2025-01-01.csv",
                    "trades",
                    Some("ETHUSDT")
                ),
                (
                    "day/binance_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz",
                    "book_l2",
                    Some("BTCUSDT")
                ),
            ]
        );
        assert_eq!(files[1].files, Some(2));
        assert_eq!(files[0].size, 1);
        assert!(files[0].modified.is_some());
        assert!(data_files(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn data_names_stay_inside_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("laicai-resolve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("set")).unwrap();
        for f in ["set/b.csv", "set/a.csv.gz", "set/notes.txt", "one.csv"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            resolve(&dir, &names(&["set", "one.csv"])).unwrap(),
            vec![
                dir.join("set/a.csv.gz"),
                dir.join("set/b.csv"),
                dir.join("one.csv")
            ]
        );
        for bad in ["../etc/passwd", "/etc/passwd", "set/../../x"] {
            let e = resolve(&dir, &names(&[bad])).unwrap_err();
            assert!(e.contains("inside the data directory"), "{bad}: {e}");
        }
        assert!(resolve(&dir, &names(&["missing.csv"]))
            .unwrap_err()
            .contains("no data file or directory `missing.csv`"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn progress_is_rounded_for_the_wire() {
        let p = Progress {
            fraction: 0.123456,
            current_ms: 1_735_689_600_000 + 36 * 3_600_000,
            first_ms: 1_735_689_600_000,
            last_ms: 1_735_689_600_000 + 10 * 86_400_000,
            elapsed: std::time::Duration::from_millis(1234),
        };
        let d = progress_data(&p);
        assert_eq!(d.progress, 0.1235);
        assert_eq!(d.current_date, "2025-01-02");
        assert_eq!(d.total_days, 10.0);
        assert_eq!(d.completed_days, 1.5);
        assert_eq!(d.estimated_remaining, 8.8);
    }
}
