//! A server under measurement, run as a child process of the bench: the
//! engine itself (`laicai serve` with a generated config) or the bare
//! broadcast server (`laicai bench bare-server`). Its CPU time and
//! resident memory are read from /proc, so the clients' own work is never
//! counted against it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server a measurement runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// laicai: the paper feed, the registry, one session actor per client.
    Engine,
    /// A minimal tokio-tungstenite broadcast server: the practical ceiling.
    Bare,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Engine => "laicai",
            Kind::Bare => "bare tokio-tungstenite",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum ServerError {
    #[error("cannot find a free loopback port: {0}")]
    Port(std::io::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{what} did not listen on {addr} within 30 s; it wrote: {log}")]
    NotListening {
        what: &'static str,
        addr: SocketAddr,
        log: String,
    },
}

/// What the engine runs with for a bench: one synthetic pair stepping
/// `rate` times a second, nothing booted, room for every client.
pub(super) struct EngineSetup {
    pub rate: f64,
    pub max_connections: usize,
    /// `[storage] fsync`: each commit waits for the disk (the default).
    pub fsync: bool,
    /// `[server] workers`: threads serving sessions (0: one per core; 1,
    /// the engine's default, serves them all on the engine's thread).
    pub workers: usize,
    /// `[server] max_messages_per_sec`: out of the way for measurements,
    /// the default (100) when the limits are what is tested.
    pub max_messages_per_sec: u32,
    /// The `[strategies]` part: none booted, or `[[strategies.boot]]`
    /// tables.
    pub strategies: String,
    /// `[bus] url`: publish to NATS JetStream for gateways.
    pub bus: Option<String>,
}

impl EngineSetup {
    pub(super) fn new(rate: f64, max_connections: usize) -> Self {
        EngineSetup {
            rate,
            max_connections,
            fsync: true,
            workers: 1,
            max_messages_per_sec: 100_000,
            strategies: "[strategies]\nboot = []\n".into(),
            bus: None,
        }
    }
}

/// A running child server; stopped (SIGTERM, then SIGKILL) when dropped.
pub(super) struct ServerProcess {
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

fn free_port() -> Result<SocketAddr, ServerError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(ServerError::Port)?;
    l.local_addr().map_err(ServerError::Port)
}

/// The engine's name on a bench's bus.
const BUS_ENGINE: &str = "bench";

fn server_section(addr: SocketAddr, setup: &EngineSetup) -> String {
    format!(
        "[server]\nbind = \"{addr}\"\nmax_connections = {}\nmax_messages_per_sec = {}\nworkers = {}\n",
        setup.max_connections, setup.max_messages_per_sec, setup.workers
    )
}

fn bus_section(setup: &EngineSetup) -> String {
    match &setup.bus {
        Some(url) => format!("[bus]\nurl = \"{url}\"\nengine = \"{BUS_ENGINE}\"\n"),
        None => String::new(),
    }
}

fn engine_config(addr: SocketAddr, setup: &EngineSetup) -> String {
    format!(
        r#"{server}
{bus}
{strategies}
[storage]
fsync = {fsync}

[[paper.pairs]]
symbol = "BTC-USDT"
start_price = "52000"
tick_size = "0.01"
step_size = "0.00001"
min_notional = "5"
ticks_per_sec = {rate:?}
volatility_bps = 0.3
spread_bps = 1.0
level_spacing_bps = 0.5
depth_levels = 20
level_size = "0.4"
trade_probability = 0.6
trade_size = "0.05"
"#,
        server = server_section(addr, setup),
        bus = bus_section(setup),
        rate = setup.rate,
        fsync = setup.fsync,
        strategies = setup.strategies,
    )
}

/// A port, a scratch directory named for `what`, and the engine's config
/// for `setup` written in it.
fn engine_dir(
    what: &str,
    setup: &EngineSetup,
) -> Result<(SocketAddr, PathBuf, PathBuf), ServerError> {
    let addr = free_port()?;
    let dir = scratch_dir(what);
    let config = dir.join("bench.toml");
    std::fs::write(&config, engine_config(addr, setup)).map_err(|source| ServerError::Write {
        path: config.clone(),
        source,
    })?;
    Ok((addr, dir, config))
}

impl ServerProcess {
    /// Where an engine keeps its database.
    pub(super) fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Starts the engine in a fresh state directory.
    pub(super) fn engine(setup: &EngineSetup) -> Result<Self, ServerError> {
        let (addr, dir, config) = engine_dir("engine", setup)?;
        let mut cmd = Command::new(current_exe("the engine")?);
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"));
        Self::spawn(Kind::Engine.name(), cmd, addr, dir)
    }

    /// Starts the direct order path (`bench direct-server`) on the
    /// engine's config for `setup`, in a fresh state directory.
    pub(super) fn direct(setup: &EngineSetup) -> Result<Self, ServerError> {
        let (addr, dir, config) = engine_dir("direct", setup)?;
        let mut cmd = Command::new(current_exe("the direct order path")?);
        cmd.args(["bench", "direct-server", "--bind"])
            .arg(addr.to_string())
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"));
        Self::spawn("direct order path", cmd, addr, dir)
    }

    /// Starts a gateway to the engine on `setup.bus`, with `setup`'s
    /// server limits.
    pub(super) fn gateway(setup: &EngineSetup) -> Result<Self, ServerError> {
        let addr = free_port()?;
        let dir = scratch_dir("gateway");
        let config = dir.join("bench.toml");
        let text = format!("{}\n{}", server_section(addr, setup), bus_section(setup));
        std::fs::write(&config, text).map_err(|source| ServerError::Write {
            path: config.clone(),
            source,
        })?;
        let mut cmd = Command::new(current_exe("a gateway")?);
        cmd.arg("gateway")
            .arg("--config")
            .arg(&config)
            .arg("--bus")
            .arg(setup.bus.clone().unwrap_or_default())
            .arg("--node")
            .arg(format!("bench-gw-{}", addr.port()));
        Self::spawn("laicai gateway", cmd, addr, dir)
    }

    /// Starts `nats-server -js` with its store in a scratch directory.
    pub(super) fn nats() -> Result<Self, ServerError> {
        let addr = free_port()?;
        let dir = scratch_dir("nats");
        let mut cmd = Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(addr.port().to_string())
            .arg("-sd")
            .arg(dir.join("js"));
        Self::spawn("nats-server", cmd, addr, dir)
    }

    /// Starts the bare server stepping `rate` frames a second on
    /// `threads` worker threads.
    pub(super) fn bare(rate: f64, threads: usize) -> Result<Self, ServerError> {
        let addr = free_port()?;
        let dir = scratch_dir("bare");
        let mut cmd = Command::new(current_exe("the bare server")?);
        cmd.args(["bench", "bare-server", "--listen"])
            .arg(addr.to_string())
            .arg("--rate")
            .arg(rate.to_string())
            .arg("--threads")
            .arg(threads.to_string());
        Self::spawn(Kind::Bare.name(), cmd, addr, dir)
    }

    fn spawn(
        what: &'static str,
        mut cmd: Command,
        addr: SocketAddr,
        dir: PathBuf,
    ) -> Result<Self, ServerError> {
        let log_path = dir.join("server.log");
        let log = std::fs::File::create(&log_path).map_err(|source| ServerError::Write {
            path: log_path.clone(),
            source,
        })?;
        let err = log.try_clone().map_err(|source| ServerError::Write {
            path: log_path.clone(),
            source,
        })?;
        let child = cmd
            .env("RUST_LOG", "warn")
            .env_remove("LAICAI_CONFIG")
            .env_remove("LAICAI_BIND")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|source| ServerError::Spawn { what, source })?;
        let mut server = ServerProcess { addr, child, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let exited = matches!(server.child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(ServerError::NotListening {
                    what,
                    addr,
                    log: tail.join(" / "),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User plus system CPU time the server has used so far.
    pub(super) fn cpu(&self) -> Duration {
        cpu_time(self.pid()).unwrap_or_default()
    }

    /// Resident memory in bytes.
    pub(super) fn rss(&self) -> u64 {
        rss_bytes(self.pid()).unwrap_or_default()
    }

    /// What it has written to its log so far.
    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

impl Drop for ServerProcess {
    #[allow(
        unsafe_code,
        reason = "std's Child::kill sends SIGKILL; a graceful stop needs SIGTERM from libc"
    )]
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with our own child's pid has no memory effects.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn current_exe(what: &'static str) -> Result<PathBuf, ServerError> {
    std::env::current_exe().map_err(|source| ServerError::Spawn { what, source })
}

fn scratch_dir(what: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("laicai-bench-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// utime + stime of a process, from /proc/PID/stat.
pub(super) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a constant.
    #[allow(
        unsafe_code,
        reason = "the clock tick rate that /proc counts in is only known from sysconf"
    )]
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    Some(Duration::from_micros((utime + stime) * 1_000_000 / hz))
}

/// VmRSS of a process in bytes, from /proc/PID/status.
pub(super) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process's CPU time from the kernel's own clock: what
    /// `cpu_time` reads from /proc, at a finer grain.
    #[allow(
        unsafe_code,
        reason = "the kernel's process CPU clock is read through libc's clock_gettime"
    )]
    fn process_clock() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec it is given.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    #[test]
    fn reads_its_own_cpu_and_memory() {
        let me = std::process::id();
        // Work until the process has really had 100 ms of CPU (on a busy
        // machine that takes longer than 100 ms of wall time).
        let start = process_clock();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut x = 0u64;
        while process_clock() < start + Duration::from_millis(100) && Instant::now() < deadline {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        let (before, read, after) = (process_clock(), cpu_time(me), process_clock());
        let read = read.expect("cpu_time reads /proc");
        // /proc counts whole clock ticks (10 ms at USER_HZ 100).
        let tick = Duration::from_millis(20);
        assert!(
            read + tick >= before && read <= after + tick,
            "cpu_time {read:?}, the clock {before:?}..{after:?}"
        );
        assert!(read >= Duration::from_millis(80), "{read:?}");
        assert!(rss_bytes(me).is_some_and(|b| b > 1 << 20));
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
