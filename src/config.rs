//! The engine's configuration: `configs/default.toml` (embedded, so the
//! binary runs from anywhere), a user file laid over it, then flags and
//! environment. `validate` reports every bad field by its path.

use laicai_core::pair::Symbol;
use laicai_core::protocol::NewStrategy;
use laicai_core::risk::RiskLimits;
use laicai_core::strategy::StrategyParams;
use laicai_core::venue::VenueRef;
use laicai_core::wire::events::StrategyType;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

/// The shipped defaults, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../configs/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub engine: EngineSection,
    #[serde(default)]
    pub risk: RiskLimits,
    pub strategies: StrategiesSection,
    pub connections: ConnectionsSection,
    pub paper: PaperSection,
    pub storage: StorageSection,
    pub backtest: BacktestSection,
    pub bus: BusSection,
}

/// The bus to gateways on other machines (NATS JetStream); off when `url`
/// is empty.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSection {
    /// `nats://host:port`, or "" for no bus (`--bus` sets it).
    pub url: String,
    /// This engine's name in the bus's subjects and stream names.
    pub engine: String,
    /// Events kept while NATS is unreachable, published once it is back.
    pub backlog: usize,
}

/// Backtests started over the WebSocket (`start_backtest`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestSection {
    /// `data` names files or directories inside this directory.
    pub data_dir: String,
    /// Each run's report goes to `<report_dir>/<backtest_id>/`; "" keeps
    /// reports in memory only.
    pub report_dir: String,
    /// Backtests replaying at once, one thread each.
    pub runners: usize,
    /// Backtests waiting for a runner; more are refused.
    pub max_queued: usize,
    /// Ended backtests `get_backtest` still answers for.
    pub keep: usize,
    /// Write the paper market's trades to `record_dir` as trade CSV.
    pub record: bool,
    pub record_dir: String,
}

/// Where the engine keeps its state.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// The SQLite database (`--state-dir DIR` makes it `DIR/laicai.db`).
    pub path: String,
    /// Each commit waits for the disk (survives power loss); `false` waits
    /// only for the OS (survives the process dying).
    pub fsync: bool,
    /// Strategies that were running when the engine stopped start again.
    pub resume_strategies: bool,
}

/// Exchange connections (Binance) and how their sessions are restarted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsSection {
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub stable_s: u64,
    pub max_attempts: u32,
    pub silent_timeout_ms: u64,
    pub ping_interval_ms: u64,
    pub listen_key_keepalive_s: u64,
    pub request_timeout_ms: u64,
    pub recv_window_ms: u64,
    pub max_server_errors: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartMode {
    Never,
    OnFailure,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategiesSection {
    pub restart: RestartMode,
    pub restart_base_ms: u64,
    pub restart_max_ms: u64,
    pub max_restarts: u32,
    pub tick_ms: u64,
    pub allow_test_strategies: bool,
    #[serde(default)]
    pub boot: Vec<BootStrategy>,
}

/// A strategy created (and started) when the engine starts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootStrategy {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub exchange: Option<String>,
    pub pair: String,
    #[serde(default = "yes")]
    pub start: bool,
    #[serde(default)]
    pub config: toml::Table,
}

fn yes() -> bool {
    true
}

impl BootStrategy {
    /// The same parameters `create_strategy` takes, validated.
    pub fn to_new_strategy(&self) -> Result<NewStrategy, String> {
        let kind = StrategyType::from_str(&self.kind).map_err(|e| format!("type: {e}"))?;
        let config = serde_json::to_value(&self.config).map_err(|e| format!("config: {e}"))?;
        let params = StrategyParams::parse(kind, &config).map_err(|e| e.to_string())?;
        Ok(NewStrategy {
            name: self.name.clone(),
            params,
            venue: VenueRef {
                exchange: self.exchange.clone(),
                connection_id: None,
            },
            pair: Symbol::parse(&self.pair).map_err(|e| format!("pair: {e}"))?,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub workers: usize,
    pub max_frame_bytes: usize,
    pub session_mailbox: usize,
    pub session_backlog: usize,
    pub slow_client_timeout_ms: u64,
    pub subscription_limit: usize,
    pub heartbeat_s: u64,
    pub idle_timeout_s: u64,
    pub command_timeout_ms: u64,
    pub registry_mailbox: usize,
    pub replay_events: usize,
    pub max_connections: usize,
    pub max_messages_per_sec: u32,
    pub auth_failures_per_minute: u32,
    pub auth_block_s: u64,
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
}

/// One client token and what it may do.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub token: String,
    pub scope: laicai_core::auth::Scope,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenConfig {{ token: ***, scope: {} }}", self.scope)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    pub start_running: bool,
    pub status_interval_ms: u64,
    pub agent_status_interval_ms: u64,
    pub log_events_level: laicai_core::wire::events::LogLevel,
    pub log_events_per_sec: u32,
    /// What the engine's own log shows (a tracing filter: `info`,
    /// `warn,laicai_actors=debug`); re-read on SIGHUP. RUST_LOG, when
    /// set, wins.
    pub log_level: String,
    /// `text` (colour only on a terminal) or `json` (one object a line).
    pub log_format: LogFormat,
}

/// How the engine's log is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperSection {
    #[serde(with = "laicai_core::num")]
    pub maker_fee: Decimal,
    #[serde(with = "laicai_core::num")]
    pub taker_fee: Decimal,
    pub history_limit: usize,
    pub book_depth: usize,
    pub orderbook_interval_ms: i64,
    pub market_data_interval_ms: i64,
    pub position_refresh_ms: u64,
    pub seed: u64,
    pub balances: BTreeMap<String, DecimalValue>,
    pub pairs: Vec<PairConfig>,
}

/// A decimal in a map (serde's `with` cannot reach map values).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct DecimalValue(#[serde(with = "laicai_core::num")] pub Decimal);

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    pub symbol: String,
    #[serde(with = "laicai_core::num")]
    pub start_price: Decimal,
    #[serde(with = "laicai_core::num")]
    pub tick_size: Decimal,
    #[serde(with = "laicai_core::num")]
    pub step_size: Decimal,
    #[serde(with = "laicai_core::num")]
    pub min_notional: Decimal,
    pub ticks_per_sec: f64,
    pub volatility_bps: f64,
    pub spread_bps: f64,
    pub level_spacing_bps: f64,
    pub depth_levels: usize,
    #[serde(with = "laicai_core::num")]
    pub level_size: Decimal,
    pub trade_probability: f64,
    #[serde(with = "laicai_core::num")]
    pub trade_size: Decimal,
}

/// Lays `top` over `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Value, top: toml::Value) {
    match (base, top) {
        (toml::Value::Table(b), toml::Value::Table(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, t) => *b = t,
    }
}

impl Config {
    /// The defaults with `user` (TOML text from `path`) laid over them.
    pub fn from_toml(user: Option<(&str, &str)>) -> Result<Config, ConfigError> {
        Config::from_layers(user.as_slice())
    }

    /// The defaults with each `(path, text)` layer laid over the one
    /// before: tables merge key by key, arrays (like `paper.pairs`) replace.
    pub fn from_layers(layers: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let parse = |path: &str, text: &str| {
            text.parse::<toml::Value>().map_err(|e| ConfigError::Parse {
                path: path.to_string(),
                message: e.to_string(),
            })
        };
        let mut value = parse("<built-in defaults>", DEFAULT_TOML)?;
        let mut path = "<built-in defaults>";
        for (p, text) in layers {
            merge(&mut value, parse(p, text)?);
            path = p;
        }
        let config: Config = value
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.to_string(),
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::from_toml(None),
            Some(p) => {
                let shown = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: shown.clone(),
                    source,
                })?;
                Config::from_toml(Some((&shown, &text)))
            }
        }
    }

    /// Every field that is out of range, by its path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut bad = Vec::new();
        self.check_server(&mut bad);
        self.check_engine_and_storage(&mut bad);
        self.check_strategies(&mut bad);
        self.check_connections(&mut bad);
        self.check_paper(&mut bad);
        self.check_pairs(&mut bad);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(bad))
        }
    }

    /// `[server]`: the address, the limits, the tokens.
    fn check_server(&self, bad: &mut Vec<String>) {
        let s = &self.server;
        if s.bind.parse::<SocketAddr>().is_err() {
            bad.push(format!(
                "server.bind: `{}` is not an address like 127.0.0.1:8000",
                s.bind
            ));
        }
        for (name, v) in [
            ("max_frame_bytes", s.max_frame_bytes),
            ("session_mailbox", s.session_mailbox),
            ("session_backlog", s.session_backlog),
            ("slow_client_timeout_ms", s.slow_client_timeout_ms as usize),
            ("subscription_limit", s.subscription_limit),
            ("registry_mailbox", s.registry_mailbox),
        ] {
            if v == 0 {
                bad.push(format!("server.{name}: must be at least 1"));
            }
        }
        if s.heartbeat_s == 0 || s.idle_timeout_s <= s.heartbeat_s {
            bad.push(
                "server.idle_timeout_s: must be longer than heartbeat_s, which must be at least 1"
                    .into(),
            );
        }
        for (i, t) in s.tokens.iter().enumerate() {
            if t.token.len() < laicai_core::auth::MIN_TOKEN_LEN
                || t.token.chars().any(|c| c.is_whitespace() || c == ',')
            {
                bad.push(format!(
                    "server.tokens[{i}].token: must be at least {} characters, no spaces or commas",
                    laicai_core::auth::MIN_TOKEN_LEN
                ));
            }
        }
        if s.max_connections == 0 || s.max_messages_per_sec == 0 || s.auth_failures_per_minute == 0
        {
            bad.push("server.max_connections, max_messages_per_sec, auth_failures_per_minute: must be at least 1".into());
        }
        if s.command_timeout_ms == 0 {
            bad.push("server.command_timeout_ms: must be at least 1".into());
        }
    }

    /// `[engine]`, `[backtest]`, `[storage]` and `[risk]`.
    fn check_engine_and_storage(&self, bad: &mut Vec<String>) {
        let bus = &self.bus;
        if !bus.url.is_empty() && !bus.url.starts_with("nats://") {
            bad.push(format!(
                "bus.url: `{}` is not a nats://host:port address",
                bus.url
            ));
        }
        if bus.engine.is_empty()
            || bus
                .engine
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            bad.push("bus.engine: letters, digits, - and _ only, at least one".into());
        }
        if bus.backlog == 0 {
            bad.push("bus.backlog: must be at least 1".into());
        }
        if self.engine.log_events_per_sec == 0 {
            bad.push("engine.log_events_per_sec: must be at least 1".into());
        }
        if self.engine.status_interval_ms < 100 {
            bad.push("engine.status_interval_ms: must be at least 100".into());
        }
        let b = &self.backtest;
        if b.runners == 0 || b.runners > 64 || b.max_queued == 0 || b.keep == 0 {
            bad.push("backtest.runners (1 to 64), max_queued, keep: must be at least 1".into());
        }
        if b.record && b.record_dir.trim().is_empty() {
            bad.push("backtest.record_dir: must name a directory, like data/recorded".into());
        }
        if b.data_dir.trim().is_empty() {
            bad.push("backtest.data_dir: must name a directory, like data".into());
        }
        if self.storage.path.trim().is_empty() {
            bad.push("storage.path: must name a file, like state/laicai.db".into());
        }
        if self.engine.agent_status_interval_ms < 1000 {
            bad.push("engine.agent_status_interval_ms: must be at least 1000".into());
        }
        bad.extend(self.risk.problems());
    }

    /// `[strategies]`: the restart backoff, the tick, each boot strategy.
    fn check_strategies(&self, bad: &mut Vec<String>) {
        let st = &self.strategies;
        if let Err(e) = laicai_core::backoff::Backoff::new(st.restart_base_ms, st.restart_max_ms) {
            bad.push(format!("strategies.restart_base_ms / restart_max_ms: {e}"));
        }
        if st.tick_ms < 10 {
            bad.push("strategies.tick_ms: must be at least 10".into());
        }
        for (i, b) in st.boot.iter().enumerate() {
            match b.to_new_strategy() {
                Err(e) => bad.push(format!("strategies.boot[{i}]: {e}")),
                Ok(n) => {
                    let known = self
                        .paper
                        .pairs
                        .iter()
                        .any(|p| Symbol::parse(&p.symbol).is_ok_and(|s| s == n.pair));
                    if !known {
                        bad.push(format!(
                            "strategies.boot[{i}].pair: {} is not a paper pair",
                            n.pair
                        ));
                    }
                }
            }
        }
    }

    /// `[connections]`: the backoff and the connector's timings.
    fn check_connections(&self, bad: &mut Vec<String>) {
        let c = &self.connections;
        if let Err(e) = laicai_core::backoff::Backoff::new(c.backoff_base_ms, c.backoff_max_ms) {
            bad.push(format!("connections.backoff_base_ms / backoff_max_ms: {e}"));
        }
        for (name, v, min) in [
            ("silent_timeout_ms", c.silent_timeout_ms, 100),
            ("ping_interval_ms", c.ping_interval_ms, 50),
            ("request_timeout_ms", c.request_timeout_ms, 10),
            ("listen_key_keepalive_s", c.listen_key_keepalive_s, 1),
            ("recv_window_ms", c.recv_window_ms, 1),
        ] {
            if v < min {
                bad.push(format!("connections.{name}: must be at least {min}"));
            }
        }
        if c.recv_window_ms > 60_000 {
            bad.push("connections.recv_window_ms: Binance accepts at most 60000".into());
        }
        if c.max_attempts == 0 || c.max_server_errors == 0 {
            bad.push("connections.max_attempts and max_server_errors: must be at least 1".into());
        }
    }

    /// `[paper]`: fees, limits, balances.
    fn check_paper(&self, bad: &mut Vec<String>) {
        let p = &self.paper;
        for (name, fee) in [("maker_fee", p.maker_fee), ("taker_fee", p.taker_fee)] {
            if fee < Decimal::ZERO || fee >= Decimal::ONE {
                bad.push(format!(
                    "paper.{name}: must be from 0 up to (not including) 1"
                ));
            }
        }
        if p.history_limit == 0 || p.book_depth == 0 {
            bad.push("paper.history_limit and paper.book_depth: must be at least 1".into());
        }
        for (asset, amount) in &p.balances {
            if amount.0 < Decimal::ZERO {
                bad.push(format!("paper.balances.{asset}: must not be negative"));
            }
        }
        if p.pairs.is_empty() {
            bad.push("paper.pairs: at least one pair is needed".into());
        }
    }

    /// `[[paper.pairs]]`: each pair's rules and market.
    fn check_pairs(&self, bad: &mut Vec<String>) {
        let p = &self.paper;
        let mut seen = std::collections::HashSet::new();
        for (i, pair) in p.pairs.iter().enumerate() {
            let at = |field: &str| format!("paper.pairs[{i}].{field}");
            match Symbol::parse(&pair.symbol) {
                Ok(sym) if !seen.insert(sym.clone()) => {
                    bad.push(format!("{}: {sym} is listed twice", at("symbol")))
                }
                Ok(_) => {}
                Err(e) => bad.push(format!("{}: {e}", at("symbol"))),
            }
            for (name, v) in [
                ("start_price", pair.start_price),
                ("tick_size", pair.tick_size),
                ("step_size", pair.step_size),
                ("level_size", pair.level_size),
                ("trade_size", pair.trade_size),
            ] {
                if v <= Decimal::ZERO {
                    bad.push(format!("{}: must be greater than zero", at(name)));
                }
            }
            if pair.min_notional < Decimal::ZERO {
                bad.push(format!("{}: must not be negative", at("min_notional")));
            }
            if !(0.0..=100_000.0).contains(&pair.ticks_per_sec) {
                bad.push(format!("{}: must be from 0 to 100000", at("ticks_per_sec")));
            }
            for (name, v) in [
                ("volatility_bps", pair.volatility_bps),
                ("level_spacing_bps", pair.level_spacing_bps),
                ("spread_bps", pair.spread_bps),
            ] {
                if !v.is_finite() || v < 0.0 {
                    bad.push(format!("{}: must be a number ≥ 0", at(name)));
                }
            }
            if !(0.0..=1.0).contains(&pair.trade_probability) {
                bad.push(format!("{}: must be from 0 to 1", at("trade_probability")));
            }
            if pair.depth_levels == 0 || pair.depth_levels > 1000 {
                bad.push(format!("{}: must be from 1 to 1000", at("depth_levels")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() {
        let c = Config::from_toml(None).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:8000");
        assert_eq!(c.paper.pairs.len(), 2);
        assert_eq!(c.paper.maker_fee, Decimal::new(1, 3));
    }

    #[test]
    fn shipped_config_files_are_valid() {
        for path in ["configs/default.toml", "configs/fast-feed.toml"] {
            let c = Config::load(Some(Path::new(path))).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(c.paper.pairs.len(), 2, "{path}");
        }
        let missing = Config::load(Some(Path::new("configs/nope.toml")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("configs/nope.toml"), "{missing}");
    }

    #[test]
    fn boot_strategies_are_validated_like_commands() {
        let c = Config::from_toml(None).unwrap();
        assert_eq!(c.strategies.boot.len(), 1, "the demo PMM");
        assert_eq!(
            c.strategies.boot[0]
                .to_new_strategy()
                .unwrap()
                .pair
                .as_str(),
            "BTC-USDT"
        );
        let bad = Config::from_toml(Some((
            "u.toml",
            "[[strategies.boot]]\nname = \"g\"\ntype = \"grid\"\npair = \"DOGE-USDT\"\n[strategies.boot.config]\nlower_price = 1\n\n[[strategies.boot]]\nname = \"p\"\ntype = \"pmm\"\npair = \"XRP-USDT\"\n[risk]\nprice_band_pct = 0\n",
        )))
        .unwrap_err()
        .to_string();
        for field in [
            "strategies.boot[0]: invalid `config.upper_price`",
            "strategies.boot[1].pair",
            "risk.price_band_pct",
        ] {
            assert!(bad.contains(field), "{field} missing from: {bad}");
        }
    }

    /// The strategy files in configs/ document the defaults: they must
    /// parse, and pmm.toml must be exactly the defaults.
    #[test]
    fn strategy_config_files_match_the_code() {
        let load = |name: &str, kind| {
            let text = std::fs::read_to_string(format!("configs/{name}.toml")).unwrap();
            let table: toml::Table = text.parse().unwrap();
            let json = serde_json::to_value(&table).unwrap();
            StrategyParams::parse(kind, &json).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        assert_eq!(
            load("pmm", StrategyType::Pmm),
            StrategyParams::parse(StrategyType::Pmm, &serde_json::Value::Null).unwrap()
        );
        let StrategyParams::Grid(g) = load("grid", StrategyType::Grid) else {
            panic!("not a grid")
        };
        assert_eq!(
            g.grid_levels,
            laicai_core::strategy::grid::GridConfig::default().grid_levels
        );
        let StrategyParams::Twap(t) = load("twap", StrategyType::Twap) else {
            panic!("not a twap")
        };
        let defaults = laicai_core::strategy::twap::TwapConfig::default();
        assert_eq!(
            (t.duration_s, t.slices, t.side),
            (defaults.duration_s, defaults.slices, defaults.side)
        );
    }

    #[test]
    fn user_file_overrides_and_merges() {
        let c = Config::from_toml(Some((
            "u.toml",
            "[server]\nbind = \"127.0.0.1:0\"\n[paper.balances]\nUSDT = 5\n",
        )))
        .unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:0");
        assert_eq!(c.server.heartbeat_s, 10, "untouched fields keep defaults");
        assert_eq!(c.paper.balances["USDT"].0, Decimal::from(5));
    }

    #[test]
    fn errors_name_the_field() {
        let unknown = Config::from_toml(Some(("u.toml", "[server]\nbindd = \"x\"\n")))
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("bindd"), "{unknown}");
        let typed = Config::from_toml(Some(("u.toml", "[paper]\nmaker_fee = \"abc\"\n")))
            .unwrap_err()
            .to_string();
        assert!(typed.contains("maker_fee"), "{typed}");
        let ranged = Config::from_toml(Some((
            "u.toml",
            "[server]\nbind = \"nowhere\"\n[[paper.pairs]]\nsymbol = \"BTCUSDT\"\nstart_price = 1\ntick_size = 0\nstep_size = 1\nmin_notional = 0\nticks_per_sec = 1\nvolatility_bps = 1\nspread_bps = 1\nlevel_spacing_bps = 1\ndepth_levels = 5\nlevel_size = 1\ntrade_probability = 2\ntrade_size = 1\n",
        )))
        .unwrap_err()
        .to_string();
        for field in [
            "server.bind",
            "paper.pairs[0].symbol",
            "paper.pairs[0].tick_size",
            "paper.pairs[0].trade_probability",
        ] {
            assert!(ranged.contains(field), "{field} missing from: {ranged}");
        }
    }
}
