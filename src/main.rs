//! `laicai`: the command line. With no subcommand it serves.

mod allocator;
mod backtest_cmd;
mod bench;
mod cli;

use clap::{Args, Parser, Subcommand};
use laicai::config::Config;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "laicai",
    version,
    about = "An actor-model trading engine with a WebSocket API and a web dashboard",
    // `laicai --bind …` serves; a subcommand takes only its own options.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// The engine's options (`laicai` and `laicai serve`).
#[derive(Args, Clone, Debug, Default)]
struct EngineArgs {
    /// TOML config laid over the built-in defaults (configs/default.toml
    /// documents every field).
    #[arg(long, env = "LAICAI_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP/WebSocket listen address.
    #[arg(long, env = "LAICAI_BIND")]
    bind: Option<String>,
    /// Directory of the database: DIR/laicai.db (default: storage.path,
    /// state/laicai.db).
    #[arg(long, env = "LAICAI_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Record the paper market's trades as trade CSV
    /// (backtest.record_dir) for later backtests.
    #[arg(long, env = "LAICAI_RECORD")]
    record: bool,
    /// The engine's log as `text` or `json` lines (engine.log_format).
    #[arg(long, env = "LAICAI_LOG_FORMAT", value_enum)]
    log_format: Option<laicai::config::LogFormat>,
    /// Publish events to NATS JetStream for gateways (bus.url):
    /// nats://HOST:PORT.
    #[arg(long, env = "LAICAI_BUS")]
    bus: Option<String>,
}

/// A gateway's options (`laicai gateway`).
#[derive(Args, Clone, Debug)]
struct GatewayArgs {
    /// TOML config (its [server] and [bus] sections apply).
    #[arg(long, env = "LAICAI_CONFIG")]
    config: Option<PathBuf>,
    /// The bus the engine publishes to: nats://HOST:PORT.
    #[arg(long, env = "LAICAI_BUS")]
    bus: String,
    /// HTTP/WebSocket listen address.
    #[arg(long, env = "LAICAI_BIND")]
    bind: Option<String>,
    /// The engine's name on the bus (bus.engine).
    #[arg(long)]
    engine: Option<String>,
    /// This gateway's name in `get_system_status` (default: gw-<pid>).
    #[arg(long)]
    node: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the engine (the default): the dashboard at http://127.0.0.1:8000/.
    Serve(EngineArgs),
    /// Serve the engine's WebSocket API from the bus, on another machine:
    /// commands go to the engine, events come from its stream.
    Gateway(GatewayArgs),
    #[command(flatten)]
    Client(cli::ClientCmd),
    /// Replays recorded data through a strategy; writes report.json and
    /// equity.svg.
    Backtest(backtest_cmd::BacktestArgs),
    /// Measures the engine against a bare WebSocket server on loopback
    /// (BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Writes the deterministic sample data set (a day of trades, 30 days
    /// of 1-minute klines) the README's backtest example uses.
    SampleData {
        #[arg(long, default_value = "data/sample")]
        out: PathBuf,
    },
}

/// The config file to read: the one named, else configs/default.toml
/// when run from a checkout, else the built-in defaults.
fn config_path(named: Option<PathBuf>) -> Option<PathBuf> {
    named.or_else(|| {
        let default = PathBuf::from("configs/default.toml");
        default.exists().then_some(default)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let engine = match cli.command {
        Some(Cmd::SampleData { out }) => return backtest_cmd::sample_data(&out),
        Some(Cmd::Bench(cmd)) => return bench::run(cmd),
        Some(Cmd::Backtest(args)) => {
            return match Config::load(config_path(args.config.clone()).as_deref()) {
                Ok(config) => backtest_cmd::backtest(&config, args),
                Err(e) => {
                    eprintln!("laicai: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Some(Cmd::Client(cmd)) => {
            // A client: quiet unless RUST_LOG says otherwise.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
                )
                .init();
            return cli::run(cmd);
        }
        Some(Cmd::Serve(args)) => args,
        Some(Cmd::Gateway(args)) => return gateway(args),
        None => cli.engine,
    };
    let path = config_path(engine.config);
    let mut config = match Config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("laicai: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(bind) = engine.bind {
        config.server.bind = bind;
        if let Err(e) = config.validate() {
            eprintln!("laicai: {e}");
            return ExitCode::from(2);
        }
    }
    if add_env_token(&mut config) {
        if let Err(e) = config.validate() {
            eprintln!("laicai: LAICAI_TOKEN: {e}");
            return ExitCode::from(2);
        }
    }
    if engine.record {
        config.backtest.record = true;
    }
    if let Some(dir) = engine.state_dir {
        config.storage.path = dir.join("laicai.db").to_string_lossy().into_owned();
    }
    if let Some(format) = engine.log_format {
        config.engine.log_format = format;
    }
    if let Some(url) = engine.bus {
        config.bus.url = url;
        if let Err(e) = config.validate() {
            eprintln!("laicai: --bus: {e}");
            return ExitCode::from(2);
        }
    }
    let (reload, _log_written) = init_engine_log(&config);
    serve(config, path, reload)
}

/// Adds `LAICAI_TOKEN`, when set, as an admin token; answers whether it
/// did.
fn add_env_token(config: &mut Config) -> bool {
    match std::env::var("LAICAI_TOKEN") {
        Ok(token) if !token.is_empty() => {
            config.server.tokens.push(laicai::config::TokenConfig {
                token,
                scope: laicai_core::auth::Scope::Admin,
            });
            true
        }
        _ => false,
    }
}

/// Sets the level of the engine's own log at run time.
type LogReload = Box<dyn Fn(&str) -> Result<(), String>>;

/// The engine's log: to stdout as text (colour only on a terminal) or JSON
/// lines, at `engine.log_level` (RUST_LOG wins when set), written by a
/// thread of its own (`log_output`); and, as `log` events, to clients.
/// Answers how to change the level later, unless RUST_LOG fixed it, and
/// the guard that writes the last lines when dropped.
fn init_engine_log(config: &Config) -> (Option<LogReload>, laicai::log_output::WorkerGuard) {
    use laicai::config::LogFormat;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, reload, EnvFilter};
    let from_env = EnvFilter::try_from_default_env().ok();
    let fixed = from_env.is_some();
    let filter = from_env.unwrap_or_else(|| {
        EnvFilter::try_new(&config.engine.log_level).unwrap_or_else(|e| {
            eprintln!(
                "laicai: engine.log_level `{}`: {e}; using info",
                config.engine.log_level
            );
            EnvFilter::new("info")
        })
    });
    let (filter, handle) = reload::Layer::new(filter);
    let (stdout, written) = laicai::log_output::stdout();
    let out = match config.engine.log_format {
        LogFormat::Text => fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(stdout)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .with_ansi(false)
            .with_writer(stdout)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(out.with_filter(filter))
        .with(laicai::logs::layer(
            config.engine.log_events_level,
            config.engine.log_events_per_sec,
        ))
        .init();
    if fixed {
        return (None, written);
    }
    let reload: LogReload = Box::new(move |level: &str| {
        let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    });
    (Some(reload), written)
}

/// On SIGHUP, the config file is read again and its `engine.log_level`
/// applied (unless RUST_LOG fixed the level); nothing else changes
/// without a restart, and SIGHUP never ends the process.
#[cfg(unix)]
async fn reload_log_level_on_sighup(path: Option<PathBuf>, reload: Option<LogReload>) {
    let Ok(mut hup) = actix_rt::signal::unix::signal(actix_rt::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP: the log level is fixed until a restart");
        return;
    };
    while hup.recv().await.is_some() {
        let Some(reload) = &reload else {
            tracing::warn!("SIGHUP: RUST_LOG fixes the log level; nothing changed");
            continue;
        };
        match Config::load(path.as_deref()) {
            Ok(c) => match reload(&c.engine.log_level) {
                Ok(()) => tracing::warn!(level = %c.engine.log_level, "SIGHUP: log level applied"),
                Err(e) => tracing::error!(error = %e, "SIGHUP: log level not applied"),
            },
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the config cannot be read; nothing changed")
            }
        }
    }
}

fn serve(config: Config, path: Option<PathBuf>, reload: Option<LogReload>) -> ExitCode {
    let system = actix::System::new();
    let result: Result<(), String> = system.block_on(async move {
        // Always listening: an unhandled SIGHUP would end the process.
        #[cfg(unix)]
        actix::spawn(reload_log_level_on_sighup(path, reload));
        #[cfg(not(unix))]
        let _ = (path, reload);
        let running = laicai::start(config).await.map_err(|e| e.to_string())?;
        stop_on_signal(running.stop(), Some(running.storage.clone()));
        let served = match running.served.await {
            Ok(served) => served.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        // Every write queued so far reaches the disk before the process
        // ends, however long the disk takes.
        laicai::Running::flush(&running.storage).await;
        served
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("laicai: {e}");
            ExitCode::FAILURE
        }
    }
}

fn gateway(args: GatewayArgs) -> ExitCode {
    let mut config = match Config::load(config_path(args.config).as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("laicai: {e}");
            return ExitCode::from(2);
        }
    };
    config.bus.url = args.bus;
    if let Some(bind) = args.bind {
        config.server.bind = bind;
    }
    if let Some(engine) = args.engine {
        config.bus.engine = engine;
    }
    add_env_token(&mut config);
    if let Err(e) = config.validate() {
        eprintln!("laicai: {e}");
        return ExitCode::from(2);
    }
    let node = args
        .node
        .unwrap_or_else(|| format!("gw-{}", std::process::id()));
    let (_, _log_written) = init_engine_log(&config);
    let system = actix::System::new();
    let result: Result<(), String> = system.block_on(async move {
        let gateway = laicai::gateway::start(config, node)
            .await
            .map_err(|e| e.to_string())?;
        stop_on_signal(
            laicai::stop_server(gateway.server.handle(), gateway.close_sessions(), async {}),
            None,
        );
        gateway.server.await.map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("laicai: {e}");
            ExitCode::FAILURE
        }
    }
}

/// On SIGINT or SIGTERM: `stop` (closes the sessions, then stops the
/// server); while it stops, says every few seconds what it waits for on
/// `storage`'s disk.
fn stop_on_signal(
    stop: impl std::future::Future<Output = ()> + 'static,
    storage: Option<laicai_actors::storage::Storage>,
) {
    actix::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        if let Some(storage) = storage {
            actix::spawn(say_while_stopping(storage));
        }
        stop.await;
    });
}

/// Every few seconds while writes queued before the stop wait for the
/// disk: how long, how many, and why. A stop waits for them: nothing
/// queued is dropped, and a thread the kernel holds in a write to a hung
/// disk keeps the process from ending anyway, whatever signal it gets.
async fn say_while_stopping(storage: laicai_actors::storage::Storage) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(5);
    let since = std::time::Instant::now();
    loop {
        actix_rt::time::sleep(EVERY).await;
        let queued = storage.waiting();
        if queued > 0 {
            let why = storage
                .health()
                .unavailable()
                .map(|why| format!(": {why}"))
                .unwrap_or_default();
            tracing::warn!(
                waited_s = since.elapsed().as_secs(),
                queued,
                "stopping: waiting for the disk to take {queued} queued writes before the engine ends{why}"
            );
        }
    }
}

/// Resolves on SIGINT (Ctrl+C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = std::pin::pin!(actix_rt::signal::ctrl_c());
    #[cfg(unix)]
    if let Ok(mut term) =
        actix_rt::signal::unix::signal(actix_rt::signal::unix::SignalKind::terminate())
    {
        let term = std::pin::pin!(term.recv());
        futures_util::future::select(ctrl_c, term).await;
        return;
    }
    let _ = ctrl_c.await;
}
