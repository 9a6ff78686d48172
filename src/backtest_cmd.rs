//! `laicai backtest` and `laicai sample-data`: local commands (no engine
//! needed) over `laicai_actors::backtest` — load, replay with a progress
//! bar, write the report and chart, print a summary; and the shipped
//! sample data set, regenerated deterministically.

use crate::cli::{decimal, exit_code, say, Failure};
use clap::Args;
use laicai_core::Decimal;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

/// `laicai backtest`'s options.
#[derive(Args, Debug)]
pub(crate) struct BacktestArgs {
    /// The engine config whose paper.pairs give the pair's tick and step
    /// sizes (default: configs/default.toml, else the built-in one).
    #[arg(long, env = "LAICAI_CONFIG")]
    pub config: Option<PathBuf>,
    /// A strategy config (TOML fields, like configs/pmm.toml); its type is
    /// the file's name (pmm, grid, twap) unless --type says.
    #[arg(long)]
    strategy: PathBuf,
    #[arg(long = "type")]
    strategy_type: Option<String>,
    /// Data files: Binance trade or kline CSV, .csv or .csv.gz, of one
    /// pair, in time order.
    #[arg(long, num_args = 1.., required = true)]
    data: Vec<PathBuf>,
    #[arg(long, default_value = "BTC-USDT")]
    pair: String,
    /// Start and end, ms since the epoch or YYYY-MM-DD (UTC).
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    to: Option<String>,
    /// Where report.json and equity.svg go.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    #[arg(long, default_value = "1")]
    initial_base: String,
    #[arg(long, default_value = "100000")]
    initial_quote: String,
    #[arg(long, default_value = "0.001")]
    maker_fee: String,
    #[arg(long, default_value = "0.001")]
    taker_fee: String,
    #[arg(long, default_value = "1")]
    slippage_bps: String,
    #[arg(long, default_value = "1")]
    half_spread_bps: String,
    #[arg(long, default_value_t = 0)]
    latency_ms: i64,
}

/// A time as ms since the epoch or `YYYY-MM-DD` (UTC midnight).
fn time_arg(name: &str, text: &str) -> Result<i64, Failure> {
    text.parse::<i64>()
        .or_else(|_| laicai_core::time::parse_date_ms(text))
        .map_err(|e| Failure::Said(format!("--{name}: {e} (or ms since the epoch)")))
}

/// `laicai backtest`: loads, replays with a progress bar, writes the
/// report, prints a summary table.
pub(crate) fn backtest(config: &laicai::config::Config, a: BacktestArgs) -> std::process::ExitCode {
    exit_code(run_backtest(config, a))
}

fn run_backtest(config: &laicai::config::Config, a: BacktestArgs) -> Result<(), Failure> {
    use laicai_actors::backtest as bt;
    use laicai_core::strategy::StrategyParams;
    use laicai_core::wire::backtest::SimSettings;
    use laicai_core::wire::events::StrategyType;
    let kind_name = a.strategy_type.clone().unwrap_or_else(|| {
        a.strategy
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    // `grid.toml`, or `grid-sample.toml`: the type is the name's first word.
    let kind = StrategyType::from_str(&kind_name)
        .or_else(|e| {
            kind_name
                .split(['-', '_', '.'])
                .next()
                .map_or(Err(e.clone()), |w| StrategyType::from_str(w).map_err(|_| e))
        })
        .map_err(|e| Failure::Said(format!("strategy type `{kind_name}` {e} (use --type)")))?;
    let text = std::fs::read_to_string(&a.strategy)
        .map_err(|e| Failure::Said(format!("{}: {e}", a.strategy.display())))?;
    let toml: toml::Value = text
        .parse()
        .map_err(|e| Failure::Said(format!("{}: {e}", a.strategy.display())))?;
    let json = serde_json::to_value(toml).map_err(|e| Failure::Said(e.to_string()))?;
    let params = StrategyParams::parse(kind, &json)
        .map_err(|e| Failure::Said(format!("{}: {e}", a.strategy.display())))?;
    let pair = config
        .paper
        .pairs
        .iter()
        .find(|p| p.symbol.eq_ignore_ascii_case(&a.pair))
        .ok_or_else(|| {
            Failure::Said(format!(
                "pair {} is not in the config's paper.pairs (its tick and step sizes are needed)",
                a.pair
            ))
        })?;
    let rules = laicai_core::pair::PairSpec {
        symbol: laicai_core::pair::Symbol::parse(&pair.symbol)
            .map_err(|e| Failure::Said(e.to_string()))?,
        tick_size: pair.tick_size,
        step_size: pair.step_size,
        min_notional: pair.min_notional,
    };
    let settings = SimSettings {
        initial_base: decimal("--initial-base", &a.initial_base)?,
        initial_quote: decimal("--initial-quote", &a.initial_quote)?,
        maker_fee: decimal("--maker-fee", &a.maker_fee)?,
        taker_fee: decimal("--taker-fee", &a.taker_fee)?,
        slippage_bps: decimal("--slippage-bps", &a.slippage_bps)?,
        half_spread_bps: decimal("--half-spread-bps", &a.half_spread_bps)?,
        latency_ms: a.latency_ms,
    };
    let from = a.from.as_deref().map(|t| time_arg("from", t)).transpose()?;
    let to = a.to.as_deref().map(|t| time_arg("to", t)).transpose()?;
    eprintln!("loading {} file(s)…", a.data.len());
    let loaded = Instant::now();
    let events = bt::load(&a.data, from, to).map_err(|e| Failure::Said(e.to_string()))?;
    eprintln!(
        "{} events loaded in {:.2} s; replaying them through {}",
        events.len(),
        loaded.elapsed().as_secs_f64(),
        kind.as_str()
    );
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let names: Vec<String> = a.data.iter().map(|p| p.display().to_string()).collect();
    let mut bar = ProgressBar::new(std::io::stderr().is_terminal());
    let (money, amount) = (
        rules.tick_size.normalize().scale().max(2),
        rules.step_size.normalize().scale(),
    );
    let report = bt::run(rules, &params, settings, &names, &events, &cancel, |p| {
        bar.show(&p)
    })
    .map_err(|e| Failure::Said(e.to_string()))?;
    bar.finish();
    let took = started.elapsed().as_secs_f64();
    let title = format!("{} {} backtest", kind.as_str(), a.pair.to_ascii_uppercase());
    bt::write_report(&a.out, &report, &title).map_err(|e| Failure::Said(e.to_string()))?;
    for line in summary(&report, &title, money, amount, took) {
        say(line)?;
    }
    say(format_args!(
        "{:<16} {}",
        "report",
        a.out.join("report.json").display()
    ))?;
    say(format_args!(
        "{:<16} {}",
        "chart",
        a.out.join("equity.svg").display()
    ))?;
    Ok(())
}

/// The report for a person: each figure with its unit and what it is,
/// money at `money` decimals and base amounts at `amount`.
fn summary(
    r: &laicai_core::wire::backtest::Report,
    title: &str,
    money: u32,
    amount: u32,
    took: f64,
) -> Vec<String> {
    use crate::cli::rounded;
    let cur = &r.currency;
    let signed = |d: Decimal, places: u32| {
        let text = rounded(d, places);
        if d.round_dp(places) > Decimal::ZERO {
            format!("+{text}")
        } else {
            text
        }
    };
    let balances = |b| amounts(b, cur, money, amount);
    let mut rows = vec![
        format!("{title} · {}", time_range(r)),
        format!(
            "{} events replayed in {took:.2} s ({:.0} a second)",
            r.events,
            r.events as f64 / took.max(1e-9)
        ),
        String::new(),
        format!(
            "{:<16} {} {cur} → {} {cur}  (the balances marked at the mid: {} at the start)",
            "equity",
            rounded(r.initial_equity, money),
            rounded(r.final_equity, money),
            balances(&r.initial_balances),
        ),
        format!(
            "{:<16} {} {cur}  ({} %; final − initial equity)",
            "PnL",
            signed(r.pnl, money),
            signed(r.return_pct, 3)
        ),
        format!(
            "{:<16} {} {cur}  ({} %; the starting balances kept, same mids)",
            "buy and hold",
            signed(r.buy_and_hold.pnl, money),
            signed(r.buy_and_hold.return_pct, 3)
        ),
        format!(
            "{:<16} {} {cur}  (PnL − buy and hold)",
            "vs holding",
            signed(r.vs_buy_and_hold, money)
        ),
        format!(
            "{:<16} {} %  (of the equity, from its running peak)",
            "max drawdown",
            rounded(r.max_drawdown_pct, 3)
        ),
        format!(
            "{:<16} {}  (hourly equity returns, annualised; no risk-free rate)",
            "Sharpe",
            rounded(r.sharpe, 2)
        ),
        format!(
            "{:<16} {} fills  ({} as maker)",
            "trades", r.trades, r.maker_fills
        ),
        if r.trades == 0 {
            format!("{:<16} -  (no fills)", "win rate")
        } else {
            format!(
                "{:<16} {} %  (of the fills that reduced a position, those with a profit)",
                "win rate",
                rounded(r.win_rate, 1)
            )
        },
        format!("{:<16} {} {cur}", "fees", rounded(r.fees, money)),
        format!(
            "{:<16} {} {cur}  (price × size of every fill)",
            "turnover",
            rounded(r.turnover, money)
        ),
        format!("{:<16} {}", "final balances", balances(&r.final_balances)),
        format!(
            "{:<16} {} to {} {cur}",
            "mid range",
            rounded(r.low_mid, money),
            rounded(r.high_mid, money)
        ),
    ];
    if let Some(why) = &r.ended {
        rows.push(format!("{:<16} {why}", "ended early"));
    }
    for w in &r.warnings {
        rows.push(format!("{:<16} {w}", "WARNING"));
    }
    rows
}

/// Balances by asset, each at its precision (`1.00000 BTC + 100,000.00 USDT`).
fn amounts(
    b: &laicai_core::wire::backtest::Amounts,
    currency: &str,
    money: u32,
    amount: u32,
) -> String {
    use crate::cli::rounded;
    b.0.iter()
        .map(|(asset, v)| {
            let places = if asset == currency { money } else { amount };
            format!("{} {asset}", rounded(*v, places))
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The replayed time range, to the minute.
fn time_range(r: &laicai_core::wire::backtest::Report) -> String {
    match (&r.run.from, &r.run.to) {
        (Some(f), Some(t)) => format!(
            "{} → {} UTC",
            f.get(..16).unwrap_or(f).replace('T', " "),
            t.get(..16).unwrap_or(t).replace('T', " ")
        ),
        _ => "no data replayed".into(),
    }
}

/// Replay progress on stderr that suits a run of 0.02 s and one of 20
/// minutes alike: nothing for a run that ends within half a second; on
/// a terminal one line redrawn at most ten times a second; in a log a
/// line every quarter of the way or every 30 s.
struct ProgressBar {
    tty: bool,
    started: Instant,
    drawn: Option<Instant>,
    logged_quarter: i32,
}

impl ProgressBar {
    fn new(tty: bool) -> Self {
        ProgressBar {
            tty,
            started: Instant::now(),
            drawn: None,
            logged_quarter: 0,
        }
    }

    fn show(&mut self, p: &laicai_actors::backtest::Progress) {
        if let Some(text) = self.line(p, Instant::now()) {
            if self.tty {
                eprint!("\r\x1b[K{text}");
            } else {
                eprintln!("{text}");
            }
        }
    }

    /// What to print for `p` at `now`, if anything.
    fn line(&mut self, p: &laicai_actors::backtest::Progress, now: Instant) -> Option<String> {
        if now.duration_since(self.started).as_millis() < 500 || p.fraction >= 1.0 {
            return None;
        }
        let line = format!(
            "{:>3.0} %  {} of {} days replayed  about {} left",
            p.fraction * 100.0,
            trim_days(p.completed_days()),
            trim_days(p.total_days()),
            human_secs(p.estimated_remaining())
        );
        let text = if self.tty {
            if self
                .drawn
                .is_some_and(|d| now.duration_since(d).as_millis() < 100)
            {
                return None;
            }
            let width = 30;
            let done = ((p.fraction * width as f64).round() as usize).min(width);
            format!("[{}{}] {line}", "#".repeat(done), "-".repeat(width - done))
        } else {
            let quarter = (p.fraction * 4.0).floor() as i32;
            let stale = self
                .drawn
                .is_none_or(|d| now.duration_since(d).as_secs() >= 30);
            if quarter <= self.logged_quarter && !stale {
                return None;
            }
            self.logged_quarter = quarter;
            line
        };
        self.drawn = Some(now);
        Some(text)
    }

    fn finish(&self) {
        if self.tty && self.drawn.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}

/// `0.25`, `1`, `30.5`: days without noise.
fn trim_days(d: f64) -> String {
    let text = format!("{d:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `45 s`, `3 min 05 s`, `1 h 02 min`.
fn human_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s / 60 % 60),
    }
}

/// `laicai sample-data`: a deterministic day of BTC-USDT trades (one
/// every two seconds on average) and 30 days of 1-minute klines, as
/// Binance publishes them, gzipped.
pub(crate) fn sample_data(out: &std::path::Path) -> std::process::ExitCode {
    let written = write_samples(out).map_err(|e| Failure::Said(format!("{}: {e}", out.display())));
    exit_code(written.and_then(|files| files.iter().try_for_each(|f| say(f.display()))))
}

fn write_samples(out: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    use laicai_core::rng::Rng;
    std::fs::create_dir_all(out)?;
    let start: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
    let gz = |name: &str, text: String| -> std::io::Result<PathBuf> {
        let path = out.join(name);
        let file = std::fs::File::create(&path)?;
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        enc.write_all(text.as_bytes())?;
        enc.finish()?;
        Ok(path)
    };
    let mut rng = Rng::new(20250101);
    let mut price = 94_000.0f64;
    let mut trades = String::new();
    let (mut t, mut id) = (start, 1u64);
    while t < start + 86_400_000 {
        price *= 1.0 + rng.normal() * 0.0002;
        let qty = 0.0005 + rng.uniform() * 0.05;
        let buyer_maker = rng.uniform() < 0.5;
        trades.push_str(&format!(
            "{id},{price:.2},{qty:.5},{:.7},{t},{},True\n",
            price * qty,
            if buyer_maker { "True" } else { "False" }
        ));
        id += 1;
        t += 1 + (rng.uniform() * 4000.0) as i64;
    }
    let mut klines = String::new();
    let mut close = 94_000.0f64;
    for m in 0..30 * 1440i64 {
        let open = close;
        close = open * (1.0 + rng.normal() * 0.0008);
        let high = open.max(close) * (1.0 + rng.uniform() * 0.0005);
        let low = open.min(close) * (1.0 - rng.uniform() * 0.0005);
        let volume = 1.0 + rng.uniform() * 20.0;
        let t = start + m * 60_000;
        klines.push_str(&format!(
            "{t},{open:.2},{high:.2},{low:.2},{close:.2},{volume:.5},{},{:.2},100,0,0,0\n",
            t + 59_999,
            volume * close
        ));
    }
    Ok(vec![
        gz("BTCUSDT-trades-2025-01-01.csv.gz", trades)?,
        gz("BTCUSDT-1m-2025-01.csv.gz", klines)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use laicai_actors::backtest::Progress;
    use std::time::Duration;

    fn at(fraction: f64, elapsed_s: u64) -> Progress {
        let day = 86_400_000;
        Progress {
            fraction,
            current_ms: (fraction * 30.0 * day as f64) as i64,
            first_ms: 0,
            last_ms: 30 * day,
            elapsed: Duration::from_secs(elapsed_s),
        }
    }

    #[test]
    fn a_run_of_a_moment_shows_no_progress() {
        let mut bar = ProgressBar::new(true);
        let now = bar.started + Duration::from_millis(20);
        for i in 1..20 {
            assert_eq!(bar.line(&at(i as f64 / 20.0, 0), now), None);
        }
    }

    #[test]
    fn a_long_run_in_a_log_prints_each_quarter_and_says_the_time_left_in_minutes() {
        let mut bar = ProgressBar::new(false);
        let t0 = bar.started;
        let mut printed = Vec::new();
        for i in 1..20u64 {
            // A 20-minute run: a minute per 5 %.
            let now = t0 + Duration::from_secs(60 * i);
            if let Some(l) = bar.line(&at(i as f64 / 20.0, 60 * i), now) {
                printed.push(l);
            }
        }
        assert_eq!(
            printed.len(),
            19,
            "every minute (30 s without a line): {printed:?}"
        );
        let mut quiet = ProgressBar::new(false);
        let t0 = quiet.started;
        let lines: Vec<String> = (1..20u64)
            .filter_map(|i| quiet.line(&at(i as f64 / 20.0, i), t0 + Duration::from_secs(1 + i)))
            .collect();
        assert_eq!(
            lines.len(),
            4,
            "a 20 s run logs once it shows, then at 25, 50 and 75 %: {lines:?}"
        );
        assert!(
            lines[1].starts_with(" 25 %  7.5 of 30 days replayed  about "),
            "{lines:?}"
        );
        let long = bar
            .line(&at(0.05, 60), t0 + Duration::from_secs(10_000))
            .unwrap();
        assert!(long.ends_with("about 19 min 00 s left"), "{long}");
    }

    #[test]
    fn on_a_terminal_it_redraws_at_most_ten_times_a_second() {
        let mut bar = ProgressBar::new(true);
        let t0 = bar.started + Duration::from_secs(1);
        let drawn = (0..100u64)
            .filter(|i| {
                bar.line(
                    &at(*i as f64 / 100.0, 1),
                    t0 + Duration::from_millis(i * 10),
                )
                .is_some()
            })
            .count();
        assert_eq!(drawn, 10);
        assert!(bar
            .line(&at(0.5, 1), t0 + Duration::from_secs(5))
            .is_some_and(|l| l.starts_with("[###############---------------]  50 %")));
    }
}
