//! `laicai bench gateways`: one engine on a real `nats-server -js` and two
//! `laicai gateway` processes, all children of the bench. For each client
//! count, the same subscribers are connected to the engine itself and
//! then spread over the two gateways, alternately: deliveries per second,
//! publish→receive latency (from the engine's own `timestamp`, so the bus
//! hop is counted), and the CPU of the engine and of the gateways. Then a
//! command's round trip (`get_balances`) straight to the engine and
//! through a gateway, interleaved in blocks.

use super::clients::{self, FIRST};
use super::server::{EngineSetup, ServerProcess};
use super::{pct_ms, percentile, BenchError, Subscribers};
use std::time::Duration;

#[derive(clap::Args)]
pub(crate) struct GatewaysArgs {
    /// Subscriber counts measured, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,4000")]
    clients: Vec<usize>,
    /// Price events a second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds measured in each window.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Seconds after the clients subscribed before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Times each layout is measured, alternating.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Command round trips measured each way.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Threads running the clients.
    #[arg(long, default_value_t = 1)]
    pub(super) client_threads: usize,
}

/// Where the subscribers are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Engine,
    Gateways,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Engine => "on the engine",
            Layout::Gateways => "over 2 gateways",
        }
    }
}

#[derive(Default)]
struct Run {
    delivered: u64,
    secs: f64,
    engine_cpu: Duration,
    gateways_cpu: Duration,
    latency_us: Vec<u32>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.delivered as f64 / self.secs.max(1e-9)
    }
    fn cpu_pct(cpu: Duration, secs: f64) -> f64 {
        cpu.as_secs_f64() * 100.0 / secs.max(1e-9)
    }
}

pub(super) async fn gateways(a: GatewaysArgs) -> Result<(), BenchError> {
    if a.clients.is_empty() || a.clients.contains(&0) || a.rate <= 0.0 || a.duration == 0 {
        return Err(BenchError::Bad(
            "--clients, --rate and --duration must be above 0".into(),
        ));
    }
    let nats = ServerProcess::nats()?;
    let most = a.clients.iter().copied().max().unwrap_or(1);
    let setup = EngineSetup {
        workers: 1,
        bus: Some(format!("nats://{}", nats.addr)),
        ..EngineSetup::new(a.rate, most + 16)
    };
    let engine = ServerProcess::engine(&setup)?;
    let gateways = [
        ServerProcess::gateway(&setup)?,
        ServerProcess::gateway(&setup)?,
    ];
    for g in &gateways {
        reached(g).await?;
    }
    println!(
        "gateways: one engine, nats-server -js and two gateways, each serving on 1 thread; BTC-USDT price at {}/s; {} s measured after {} s; {} round(s)",
        a.rate, a.duration, a.warmup, a.rounds
    );
    println!();
    println!("| clients | where | deliveries/s | p50 ms | p99 ms | engine CPU | gateways' CPU |");
    println!("|---|---|---|---|---|---|---|");
    for &n in &a.clients {
        let mut runs = [Run::default(), Run::default()];
        for _ in 0..a.rounds.max(1) {
            for (i, layout) in [Layout::Engine, Layout::Gateways].into_iter().enumerate() {
                let urls: Vec<String> = match layout {
                    Layout::Engine => vec![engine.url("/api/v1/websocket")],
                    Layout::Gateways => gateways
                        .iter()
                        .map(|g| g.url("/api/v1/websocket"))
                        .collect(),
                };
                let subscribers = Subscribers::open(&urls, n).await?;
                tokio::time::sleep(Duration::from_secs(a.warmup)).await;
                let servers = [&engine, &gateways[0], &gateways[1]];
                let (secs, cpu) = subscribers.measure(FIRST, a.duration, &servers).await;
                let (delivered, mut latency) = subscribers.collect();
                let r = &mut runs[i];
                r.delivered += delivered[0];
                r.secs += secs;
                r.engine_cpu += cpu[0];
                r.gateways_cpu += cpu[1] + cpu[2];
                r.latency_us.append(&mut latency[0]);
                // The closed sessions leave before the next layout.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        for (layout, r) in [Layout::Engine, Layout::Gateways]
            .into_iter()
            .zip(&mut runs)
        {
            r.latency_us.sort_unstable();
            println!(
                "| {n} | {} | {:.0} | {:.2} | {:.2} | {:.0} % | {:.0} % |",
                layout.name(),
                r.rate(),
                pct_ms(&r.latency_us, 0.5),
                pct_ms(&r.latency_us, 0.99),
                Run::cpu_pct(r.engine_cpu, r.secs),
                Run::cpu_pct(r.gateways_cpu, r.secs),
            );
        }
        let [direct, spread] = &runs;
        println!(
            "| {n} | gateways / engine | {:.2}× | {:.2}× | {:.2}× | {:.2}× | |",
            spread.rate() / direct.rate().max(1e-9),
            pct_ms(&spread.latency_us, 0.5) / pct_ms(&direct.latency_us, 0.5).max(1e-9),
            pct_ms(&spread.latency_us, 0.99) / pct_ms(&direct.latency_us, 0.99).max(1e-9),
            Run::cpu_pct(spread.engine_cpu, spread.secs)
                / Run::cpu_pct(direct.engine_cpu, direct.secs).max(1e-9),
        );
    }
    command_round_trips(&engine, &gateways[0], a.count).await
}

/// Waits until a gateway answers commands (it reached the engine).
async fn reached(gateway: &ServerProcess) -> Result<(), BenchError> {
    let url = gateway.url("/api/v1/websocket");
    let mut ws = clients::connect(&url).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let trip = clients::round_trips(&mut ws, &url, 1, |_| status_trip("ready")).await;
        match trip {
            Ok(_) => return Ok(()),
            Err(e) if std::time::Instant::now() > deadline => {
                return Err(BenchError::Bad(format!(
                    "the gateway on {url} never reached the engine: {e}"
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

type Trip = (String, Box<dyn Fn(&str) -> bool>, Option<String>);

fn status_trip(id: &str) -> Trip {
    let frame = format!(r#"{{"cmd":"get_system_status","request_id":"{id}"}}"#);
    let needle = format!("\"request_id\":\"{id}\"");
    (frame, Box::new(move |t: &str| t.contains(&needle)), None)
}

fn balances_trip(id: String) -> Trip {
    let frame = format!(r#"{{"cmd":"get_balances","exchange":"paper","request_id":"{id}"}}"#);
    let needle = format!("\"request_id\":\"{id}\"");
    (frame, Box::new(move |t: &str| t.contains(&needle)), None)
}

/// `get_balances` straight to the engine and through a gateway, in
/// interleaved blocks of 100 after 100 unmeasured each.
async fn command_round_trips(
    engine: &ServerProcess,
    gateway: &ServerProcess,
    count: usize,
) -> Result<(), BenchError> {
    const BLOCK: usize = 100;
    let (e_url, g_url) = (engine.url("/ws"), gateway.url("/ws"));
    let (mut e, mut g) = (
        clients::connect(&e_url).await?,
        clients::connect(&g_url).await?,
    );
    clients::round_trips(&mut e, &e_url, BLOCK, |i| balances_trip(format!("w{i}"))).await?;
    clients::round_trips(&mut g, &g_url, BLOCK, |i| balances_trip(format!("w{i}"))).await?;
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    let mut done = 0;
    while done < count {
        let n = BLOCK.min(count - done);
        direct.extend(
            clients::round_trips(&mut e, &e_url, n, |i| {
                balances_trip(format!("e{}", done + i))
            })
            .await?,
        );
        through.extend(
            clients::round_trips(&mut g, &g_url, n, |i| {
                balances_trip(format!("g{}", done + i))
            })
            .await?,
        );
        done += n;
    }
    direct.sort_unstable();
    through.sort_unstable();
    let us = |v: &[Duration], p: f64| percentile(v, p).as_secs_f64() * 1e6;
    println!();
    println!("get_balances round trip, {count} each way, interleaved in blocks of {BLOCK}:");
    println!("| | p50 µs | p99 µs |");
    println!("|---|---|---|");
    println!(
        "| straight to the engine | {:.0} | {:.0} |",
        us(&direct, 0.5),
        us(&direct, 0.99)
    );
    println!(
        "| through a gateway | {:.0} | {:.0} |",
        us(&through, 0.5),
        us(&through, 0.99)
    );
    println!(
        "| extra through the gateway | +{:.0} | +{:.0} |",
        us(&through, 0.5) - us(&direct, 0.5),
        us(&through, 0.99) - us(&direct, 0.99)
    );
    Ok(())
}
