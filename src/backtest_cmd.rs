//! `laicai backtest` and `laicai sample-data`: local commands (no engine
//! needed) over `laicai_actors::backtest` — load, replay with a progress
//! bar, write the report and chart, print a summary; and the shipped
//! sample data set, regenerated deterministically.

use crate::cli::{decimal, exit_code, Failure};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

/// `laicai backtest`'s options.
#[derive(Args, Debug)]
pub struct BacktestArgs {
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
        .map_err(|e| Failure(format!("--{name}: {e} (or ms since the epoch)")))
}

/// `laicai backtest`: loads, replays with a progress bar, writes the
/// report, prints a summary table.
pub fn backtest(config: &laicai::config::Config, a: BacktestArgs) -> std::process::ExitCode {
    exit_code(run_backtest(config, a))
}

fn run_backtest(config: &laicai::config::Config, a: BacktestArgs) -> Result<(), Failure> {
    use laicai_actors::backtest as bt;
    use laicai_core::backtest::SimSettings;
    use laicai_core::strategy::{StrategyParams, StrategyType};
    let kind_name = a.strategy_type.clone().unwrap_or_else(|| {
        a.strategy
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let kind = StrategyType::from_str(&kind_name)
        .map_err(|e| Failure(format!("strategy type `{kind_name}` {e} (use --type)")))?;
    let text = std::fs::read_to_string(&a.strategy)
        .map_err(|e| Failure(format!("{}: {e}", a.strategy.display())))?;
    let toml: toml::Value = text
        .parse()
        .map_err(|e| Failure(format!("{}: {e}", a.strategy.display())))?;
    let json = serde_json::to_value(toml).map_err(|e| Failure(e.to_string()))?;
    let params = StrategyParams::parse(kind, &json)
        .map_err(|e| Failure(format!("{}: {e}", a.strategy.display())))?;
    let pair = config
        .paper
        .pairs
        .iter()
        .find(|p| p.symbol.eq_ignore_ascii_case(&a.pair))
        .ok_or_else(|| {
            Failure(format!(
                "pair {} is not in the config's paper.pairs (its tick and step sizes are needed)",
                a.pair
            ))
        })?;
    let rules = laicai_core::pair::PairSpec {
        symbol: laicai_core::pair::Symbol::parse(&pair.symbol)
            .map_err(|e| Failure(e.to_string()))?,
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
    let tty = std::io::stderr().is_terminal();
    eprintln!("loading {} file(s)…", a.data.len());
    let loaded = Instant::now();
    let events = bt::load(&a.data, from, to).map_err(|e| Failure(e.to_string()))?;
    eprintln!(
        "{} events loaded in {:.2} s; replaying through {}",
        events.len(),
        loaded.elapsed().as_secs_f64(),
        kind.as_str()
    );
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let report = bt::run(rules, &params, settings, &events, &cancel, |p| {
        let width = 30;
        let done = (p.fraction * width as f64).round() as usize;
        let bar = format!(
            "[{}{}] {:>3.0}%  day {:.1}/{:.1}  ~{:.0} s left",
            "#".repeat(done),
            "-".repeat(width - done.min(width)),
            p.fraction * 100.0,
            p.completed_days(),
            p.total_days(),
            p.estimated_remaining()
        );
        if tty {
            eprint!("\r\x1b[K{bar}");
        } else {
            eprintln!("{bar}");
        }
    })
    .map_err(|e| Failure(e.to_string()))?;
    if tty {
        eprintln!();
    }
    let took = started.elapsed().as_secs_f64();
    let title = format!("{} {} backtest", kind.as_str(), a.pair.to_ascii_uppercase());
    bt::write_report(&a.out, &report, &title).map_err(|e| Failure(e.to_string()))?;
    let rows = [
        ("PnL", format!("{} {}", report.pnl, quote_of(&a.pair))),
        ("return", format!("{} %", report.return_pct)),
        ("max drawdown", format!("{} %", report.max_drawdown_pct)),
        ("Sharpe (hourly, annualised)", report.sharpe.to_string()),
        ("trades", report.trades.to_string()),
        ("win rate", report.win_rate.to_string()),
        ("fees", report.fees.to_string()),
        ("turnover", report.turnover.to_string()),
        (
            "final balances",
            format!(
                "{} base, {} quote",
                report.final_balances.base, report.final_balances.quote
            ),
        ),
        (
            "replayed",
            format!(
                "{} events in {took:.2} s ({:.0}/s)",
                report.events,
                report.events as f64 / took.max(1e-9)
            ),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<28} {v}");
    }
    if let Some(why) = &report.ended {
        println!("{:<28} {why}", "ended early");
    }
    println!("{:<28} {}", "report", a.out.join("report.json").display());
    println!("{:<28} {}", "chart", a.out.join("equity.svg").display());
    Ok(())
}

fn quote_of(pair: &str) -> String {
    pair.rsplit('-')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// `laicai sample-data`: a deterministic day of BTC-USDT trades (one
/// every two seconds on average) and 30 days of 1-minute klines, as
/// Binance publishes them, gzipped.
pub fn sample_data(out: &std::path::Path) -> std::process::ExitCode {
    exit_code(
        write_samples(out)
            .map(|files| files.iter().for_each(|f| println!("{}", f.display())))
            .map_err(|e| Failure(format!("{}: {e}", out.display()))),
    )
}

fn write_samples(out: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    use laicai_core::feed::Rng;
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
