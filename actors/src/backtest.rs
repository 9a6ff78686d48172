//! Running a backtest: loads recorded data files (Binance's trade or
//! kline CSV, Tardis-style L2 book and trade CSV, plain or `.csv.gz`,
//! several of one pair, merged in time order), replays them through
//! `laicai_core::backtest::Backtest` on the caller's thread with progress
//! reports and a cancel flag, and draws the equity curve as SVG. The CLI
//! runs it directly; `backtests::BacktestManager` runs it on a thread of
//! its own for WebSocket clients.

use laicai_core::backtest::chart::equity_svg;
use laicai_core::backtest::data::{merge, read_events, DataError};
use laicai_core::backtest::report;
use laicai_core::backtest::Backtest;
use laicai_core::pair::PairSpec;
use laicai_core::strategy::StrategyParams;
use laicai_core::tape::MarketEvent;
use laicai_core::time::TimestampMs;
use laicai_core::wire::backtest::SimSettings;
use laicai_core::wire::backtest::{Report, RunInfo};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{0}")]
    Data(#[from] DataError),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("no data: {0}")]
    Empty(String),
    #[error("{0}")]
    Settings(String),
    #[error("cancelled")]
    Cancelled,
}

/// How far a run is (progress events: every 10 s and every 5 %).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// 0 to 1.
    pub fraction: f64,
    pub current_ms: TimestampMs,
    pub first_ms: TimestampMs,
    pub last_ms: TimestampMs,
    pub elapsed: Duration,
}

impl Progress {
    pub fn total_days(&self) -> f64 {
        (self.last_ms - self.first_ms) as f64 / 86_400_000.0
    }

    pub fn completed_days(&self) -> f64 {
        (self.current_ms - self.first_ms) as f64 / 86_400_000.0
    }

    /// Seconds left at the pace so far.
    pub fn estimated_remaining(&self) -> f64 {
        if self.fraction <= 0.0 {
            return 0.0;
        }
        self.elapsed.as_secs_f64() * (1.0 - self.fraction) / self.fraction
    }
}

fn open(path: &Path) -> Result<Box<dyn BufRead>, BacktestError> {
    let fail = |e: std::io::Error| BacktestError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// Every event of `files` (each in time order), merged in time order
/// and kept within `[from, to]`.
pub fn load(
    files: &[PathBuf],
    from_ms: Option<TimestampMs>,
    to_ms: Option<TimestampMs>,
) -> Result<Vec<MarketEvent>, BacktestError> {
    let mut each = Vec::with_capacity(files.len());
    for path in files {
        let mut events = Vec::new();
        read_events(&path.display().to_string(), open(path)?, &mut events)?;
        each.push(events);
    }
    let mut events = merge(each);
    events.retain(|e| {
        let at = e.at_ms();
        from_ms.is_none_or(|f| at >= f) && to_ms.is_none_or(|t| at <= t)
    });
    if events.is_empty() {
        return Err(BacktestError::Empty(
            "the files hold no rows in the time range".into(),
        ));
    }
    Ok(events)
}

/// Replays `events`; calls `progress` at least every 5 % and every 10 s
/// and once at the end: at 1.0, or where it stopped when `cancel` was set
/// (then it returns `Cancelled`).
pub fn run(
    rules: PairSpec,
    strategy: &StrategyParams,
    settings: SimSettings,
    data: &[String],
    events: &[MarketEvent],
    cancel: &AtomicBool,
    mut progress: impl FnMut(Progress),
) -> Result<Report, BacktestError> {
    let problems = settings.problems();
    if !problems.is_empty() {
        return Err(BacktestError::Settings(problems.join("; ")));
    }
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(BacktestError::Empty("no events".into()));
    };
    let (first_ms, last_ms) = (first.at_ms(), last.at_ms());
    let started = Instant::now();
    let pair = rules.symbol.clone();
    let mut bt = Backtest::new(rules, settings, strategy.build());
    let step = (events.len() / 20).max(1);
    let mut last_report = Instant::now();
    let report = |i: usize, at: TimestampMs| Progress {
        fraction: i as f64 / events.len() as f64,
        current_ms: at,
        first_ms,
        last_ms,
        elapsed: started.elapsed(),
    };
    for (i, e) in events.iter().enumerate() {
        bt.replay(e);
        if (i + 1) % 4096 == 0 && cancel.load(Ordering::Relaxed) {
            progress(report(i + 1, e.at_ms()));
            return Err(BacktestError::Cancelled);
        }
        if (i + 1) % step == 0
            || ((i + 1) % 4096 == 0 && last_report.elapsed() >= Duration::from_secs(10))
        {
            if i + 1 < events.len() {
                progress(report(i + 1, e.at_ms()));
            }
            last_report = Instant::now();
        }
        if bt.done() {
            break;
        }
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(BacktestError::Cancelled);
    }
    progress(report(events.len(), last_ms));
    let run = RunInfo {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        strategy: serde_json::json!({
            "type": strategy.kind(),
            "config": strategy.to_json(),
        }),
        pair: pair.to_string(),
        data: data.to_vec(),
        ..RunInfo::default()
    };
    let mut done = bt.report(run);
    done.warnings = report::warnings(&done, strategy);
    Ok(done)
}

/// Writes `report.json` and `equity.svg` into `dir`.
pub fn write_report(dir: &Path, report: &Report, title: &str) -> Result<(), BacktestError> {
    let fail = |e: String| BacktestError::File {
        path: dir.display().to_string(),
        reason: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| fail(e.to_string()))?;
    std::fs::write(dir.join("report.json"), json + "\n").map_err(|e| fail(e.to_string()))?;
    std::fs::write(dir.join("equity.svg"), equity_svg(report, title))
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
}
