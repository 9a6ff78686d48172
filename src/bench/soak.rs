//! `laicai bench soak --minutes N`: the engine under a long, mixed load —
//! the fast feed, a pmm, a grid and a twap strategy, 1 000 subscribed
//! clients of which some stall and are replaced and some leave and come
//! back every minute, and 20 clients placing and cancelling orders — with
//! one line a minute: resident memory, open descriptors, threads, the
//! deepest actor mailbox, sessions, events delivered to one watcher, and
//! the order round trip's p99, and the size of the database's write-ahead
//! log. At the end, the slope of memory, descriptors and the log after
//! the first minutes, which must be flat.

use super::clients::{connect, stalled_subscriber, subscriber, Socket};
use super::server::{EngineSetup, ServerProcess};
use super::{percentile, BenchError};
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub(crate) struct SoakArgs {
    /// How long it runs.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Subscribed clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Clients placing and cancelling orders.
    #[arg(long, default_value_t = 20)]
    traders: usize,
    /// Seconds in a reporting period (60: a line a minute).
    #[arg(long, default_value_t = 60)]
    period: u64,
}

const STRATEGIES: &str = r#"[[strategies.boot]]
name = "soak pmm"
type = "pmm"
pair = "BTC-USDT"
[strategies.boot.config]
bid_spread = "0.05"
ask_spread = "0.05"
order_amount = "0.001"
order_refresh_time = 5

[[strategies.boot]]
name = "soak grid"
type = "grid"
pair = "BTC-USDT"
[strategies.boot.config]
lower_price = "50000"
upper_price = "54000"
grid_levels = 10
order_amount = "0.001"

[[strategies.boot]]
name = "soak twap"
type = "twap"
pair = "BTC-USDT"
[strategies.boot.config]
side = "buy"
total_size = "0.05"
duration_s = 3600.0
slices = 60
"#;

/// One period's figures.
#[derive(Debug, Clone)]
struct Period {
    rss_mb: f64,
    fds: u64,
    threads: u64,
    max_queue: f64,
    sessions: f64,
    events: u64,
    rtt_p99_ms: f64,
    orders: u64,
    /// The write-ahead log's size: it must not grow with the orders.
    wal_mb: f64,
}

pub(super) async fn soak(a: SoakArgs) -> Result<(), BenchError> {
    if a.minutes == 0 || a.period == 0 {
        return Err(BenchError::Bad(
            "--minutes and --period must be above 0".into(),
        ));
    }
    let mut setup = EngineSetup::new(1000.0, a.clients + a.traders + 200);
    setup.strategies = STRATEGIES.to_string();
    let server = ServerProcess::engine(&setup)?;
    let url = server.url("/api/stream");
    println!(
        "soak: {} min; the fast feed (1000 steps/s), pmm + grid + twap, {} subscribers \
         (1 in 20 stalled and replaced, 1 in 100 reconnecting each period), {} traders; against {url}",
        a.minutes, a.clients, a.traders
    );
    let until = Instant::now() + Duration::from_secs(a.minutes * 60);
    let events = Arc::new(AtomicU64::new(0));
    let orders = Arc::new(AtomicU64::new(0));
    let rtts: Arc<Mutex<Vec<u32>>> = Arc::default();
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(watch(
        connect(&url).await?,
        events.clone(),
        until,
    )));
    for i in 0..a.traders {
        let (url, orders, rtts) = (url.clone(), orders.clone(), rtts.clone());
        tasks.push(tokio::spawn(async move {
            if let Ok(ws) = connect(&url).await {
                trade(ws, i, orders, rtts, until).await;
            }
        }));
    }
    let crowd = Arc::new(Mutex::new(Vec::new()));
    for i in 0..a.clients {
        let ws = if i % 20 == 0 {
            stalled_subscriber(server.addr, &url).await?
        } else {
            subscriber(&url).await?
        };
        crowd.lock().push(tokio::spawn(drain(ws)));
    }
    println!(
        "\n| period | RSS MB | fds | threads | deepest mailbox | sessions | events (one watcher) | orders | order RTT p99 ms | WAL MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let wal = server.state_dir().join("laicai.db-wal");
    let mut periods = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(a.period).min(until - Instant::now())).await;
        n += 1;
        let metrics = scrape(server.addr).await;
        let mut rtt = std::mem::take(&mut *rtts.lock());
        rtt.sort_unstable();
        let p = Period {
            rss_mb: server.rss() as f64 / 1e6,
            fds: count_fds(server.pid()),
            threads: threads(server.pid()),
            max_queue: metric_max(&metrics, "laicai_agent_queue"),
            sessions: metric_max(&metrics, "laicai_connections"),
            events: events.swap(0, Ordering::Relaxed),
            rtt_p99_ms: percentile(&rtt, 0.99) as f64 / 1000.0,
            orders: orders.swap(0, Ordering::Relaxed),
            wal_mb: std::fs::metadata(&wal).map_or(0, |m| m.len()) as f64 / 1e6,
        };
        println!(
            "| {n} | {:.1} | {} | {} | {:.0} | {:.0} | {} | {} | {:.2} | {:.1} |",
            p.rss_mb,
            p.fds,
            p.threads,
            p.max_queue,
            p.sessions,
            p.events,
            p.orders,
            p.rtt_p99_ms,
            p.wal_mb
        );
        periods.push(p);
        churn(&crowd, server.addr, &url, a.clients).await;
    }
    for t in tasks {
        let _ = t.await;
    }
    for t in crowd.lock().drain(..) {
        t.abort();
    }
    summarize(&periods);
    Ok(())
}

/// Every period: the stalled clients (evicted by now) are replaced, and 1
/// in 100 of the others leave and come back.
async fn churn(
    crowd: &Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    addr: std::net::SocketAddr,
    url: &str,
    clients: usize,
) {
    let replace: Vec<usize> = (0..clients)
        .filter(|i| i % 20 == 0 || i % 100 == 7)
        .collect();
    for i in replace {
        let ws = if i % 20 == 0 {
            stalled_subscriber(addr, url).await
        } else {
            subscriber(url).await
        };
        if let Ok(ws) = ws {
            let mut c = crowd.lock();
            if let Some(old) = c.get_mut(i) {
                old.abort();
                *old = tokio::spawn(drain(ws));
            }
        }
    }
}

/// A subscriber that reads (or, stalled, holds) until the end.
async fn drain(mut ws: Socket) {
    while let Some(Ok(_)) = ws.next().await {}
}

/// One client subscribed to everything, counting what it gets.
async fn watch(mut ws: Socket, events: Arc<AtomicU64>, until: Instant) {
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => {
                events.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(Some(Err(_)) | None) => return,
        }
    }
}

/// Places a far bid and cancels it, twice a second, timing each
/// `place_order` → `order_update`.
async fn trade(
    mut ws: Socket,
    i: usize,
    orders: Arc<AtomicU64>,
    rtts: Arc<Mutex<Vec<u32>>>,
    until: Instant,
) {
    let mut n = 0u64;
    while Instant::now() < until {
        let cid = format!("soak-{i}-{n}");
        n += 1;
        let place = json!({"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                           "size": "0.001", "price": "30000", "client_order_id": cid, "request_id": cid});
        let started = Instant::now();
        if ws.send(Message::text(place.to_string())).await.is_err() {
            return;
        }
        let mut order_id = None;
        let mut updated = false;
        let wait = async {
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(t) = m else { continue };
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if v["type"] == "order_update" && v["client_order_id"] == json!(cid) {
                    updated = true;
                    order_id = v["orderId"].as_str().map(str::to_string);
                    return;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            continue;
        }
        if updated {
            rtts.lock().push(started.elapsed().as_micros() as u32);
            orders.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(id) = order_id {
            let cancel = json!({"cmd": "cancel_order", "order_id": id});
            let _ = ws.send(Message::text(cancel.to_string())).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `/metrics` as text (empty when it cannot be read).
async fn scrape(addr: std::net::SocketAddr) -> String {
    let get = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).await.ok()?;
        Some(body)
    };
    tokio::time::timeout(Duration::from_secs(5), get)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The largest value of a metric over its labels.
fn metric_max(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| {
            let rest = &l[name.len()..];
            rest.starts_with('{') || rest.starts_with(' ')
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

fn count_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Least-squares slope of `ys` over their index.
fn slope(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (num, den) = ys.iter().enumerate().fold((0.0, 0.0), |(a, b), (i, y)| {
        let dx = i as f64 - mx;
        (a + dx * (y - my), b + dx * dx)
    });
    num / den
}

fn summarize(periods: &[Period]) {
    // The first periods fill caches and the replay ring (100 000 retained
    // events: about ten minutes of this load): judged over the second
    // half, when a leak would still show and a filling ring no longer
    // does. A period cut short by the end is left out.
    let whole = &periods[..periods.len().saturating_sub(1)];
    let settled = &whole[whole.len() / 2..];
    if settled.len() < 2 {
        println!("\n(too short for a slope: run at least 5 periods)");
        return;
    }
    let rss: Vec<f64> = settled.iter().map(|p| p.rss_mb).collect();
    let fds: Vec<f64> = settled.iter().map(|p| p.fds as f64).collect();
    let threads: Vec<f64> = settled.iter().map(|p| p.threads as f64).collect();
    let wal: Vec<f64> = settled.iter().map(|p| p.wal_mb).collect();
    println!(
        "\nover the second half (periods {} to {}): RSS slope {:+.2} MB/period, fds {:+.2}/period, \
         threads {:+.2}/period, WAL {:+.2} MB/period; deepest mailbox seen {:.0}; order RTT p99 worst {:.2} ms",
        whole.len() - settled.len() + 1,
        whole.len(),
        slope(&rss),
        slope(&fds),
        slope(&threads),
        slope(&wal),
        periods.iter().map(|p| p.max_queue).fold(0.0, f64::max),
        periods.iter().map(|p| p.rtt_p99_ms).fold(0.0, f64::max),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_series_has_no_slope_and_a_rising_one_does() {
        assert_eq!(slope(&[5.0, 5.0, 5.0, 5.0]), 0.0);
        assert!((slope(&[1.0, 2.0, 3.0, 4.0]) - 1.0).abs() < 1e-12);
        assert_eq!(slope(&[3.0]), 0.0);
    }

    #[test]
    fn metrics_are_read_by_name_over_their_labels() {
        let text = "# HELP x\nlaicai_agent_queue{agent=\"risk\"} 3\nlaicai_agent_queue{agent=\"engine\"} 7\nlaicai_agent_queue_other 99\n";
        assert_eq!(metric_max(text, "laicai_agent_queue"), 7.0);
        assert_eq!(metric_max(text, "missing"), 0.0);
    }
}
