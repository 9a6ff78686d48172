//! Running a backtest: loads recorded data files (Binance's trade or
//! kline CSV, Tardis-style L2 book and trade CSV, plain or `.csv.gz`,
//! several of one pair, merged in time order), replays them through
//! `laicai_core::backtest::Backtest` on the caller's thread with progress
//! reports and a cancel flag, and draws the equity curve as SVG. The CLI runs it directly; `BacktestActor` runs it on its
//! own thread for WebSocket clients.

use laicai_core::backtest::data::{merge, read_events, DataError, MarketEvent};
use laicai_core::backtest::report::Report;
use laicai_core::backtest::{Backtest, SimSettings};
use laicai_core::pair::PairSpec;
use laicai_core::strategy::StrategyParams;
use laicai_core::time::TimestampMs;
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
    Ok(bt.report())
}

/// The equity curve as an SVG line chart a browser opens.
pub fn equity_svg(report: &Report, title: &str) -> String {
    let (w, h, pad) = (900.0, 360.0, 50.0);
    let points: Vec<(f64, f64)> = report
        .equity_curve
        .iter()
        .filter_map(|(t, e)| Some((*t as f64, e.parse::<f64>().ok()?)))
        .collect();
    let (t0, t1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (t, _)| {
        (a.min(*t), b.max(*t))
    });
    let (e0, e1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, e)| {
        (a.min(*e), b.max(*e))
    });
    let span_t = (t1 - t0).max(1.0);
    let span_e = (e1 - e0).max(1e-9);
    let path: Vec<String> = points
        .iter()
        .map(|(t, e)| {
            let x = pad + (t - t0) / span_t * (w - 2.0 * pad);
            let y = h - pad - (e - e0) / span_e * (h - 2.0 * pad);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{pad}" y="24" font-size="15">{title}</text>
<text x="{pad}" y="40" fill="#555">PnL {pnl} · return {ret}% · max drawdown {dd}% · Sharpe {sharpe} · {trades} trades</text>
<line x1="{pad}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#999"/>
<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{yb}" stroke="#999"/>
<text x="4" y="{pad}" fill="#555">{e1:.2}</text>
<text x="4" y="{yb}" fill="#555">{e0:.2}</text>
<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{points}"/>
</svg>
"##,
        title = esc(title),
        pnl = report.pnl,
        ret = report.return_pct,
        dd = report.max_drawdown_pct,
        sharpe = report.sharpe,
        trades = report.trades,
        yb = h - pad,
        xr = w - pad,
        points = path.join(" "),
    )
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
