//! `RecorderActor`: writes the market's trades, as the venue prints them,
//! to Binance's trade CSV — one file per pair and UTC day,
//! `<dir>/<PAIR>/<PAIRNOSEP>-trades-<YYYY-MM-DD>.csv` — so a backtest can
//! replay what the engine saw (`"data": "recorded/BTC-USDT"`). It runs on
//! its own thread; the venue hands it trades with `try_send` and counts
//! what a full mailbox turned away, so recording never slows trading.

use actix::prelude::*;
use laicai_core::backtest::data::trade_line;
use laicai_core::pair::Symbol;
use laicai_core::tape::Print;
use laicai_core::time::iso_date;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A venue's handle on the recorder.
#[derive(Debug, Clone)]
pub struct Recording {
    pub to: Addr<RecorderActor>,
    pub lost: Arc<AtomicU64>,
}

impl Recording {
    /// Hands `prints` over without waiting; a full mailbox loses them
    /// (counted, logged) rather than holding the venue up.
    pub fn tape(&self, symbol: &Symbol, prints: Vec<Print>) {
        if prints.is_empty() {
            return;
        }
        let n = prints.len() as u64;
        let msg = Tape {
            symbol: symbol.clone(),
            prints,
        };
        if self.to.try_send(msg).is_err() {
            let before = self.lost.fetch_add(n, Ordering::Relaxed);
            // Logged as the count passes each power of two, not per tick.
            if (before + n).ilog2() > before.checked_ilog2().unwrap_or(0) || before == 0 {
                tracing::warn!(%symbol, lost = before + n, "recorder busy: trades not recorded");
            }
        }
    }
}

/// Trades of one pair, oldest first.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Tape {
    pub symbol: Symbol,
    pub prints: Vec<Print>,
}

/// The mailbox a recorder gets: about a minute of a busy feed's ticks.
pub const RECORDER_MAILBOX: usize = 4096;

#[derive(Debug)]
struct DayFile {
    date: String,
    out: BufWriter<File>,
    next_id: u64,
}

#[derive(Debug)]
pub struct RecorderActor {
    dir: PathBuf,
    files: HashMap<Symbol, DayFile>,
    /// Trades lost: a full mailbox (counted by the sender) or a failed write.
    lost: Arc<AtomicU64>,
}

impl RecorderActor {
    pub fn new(dir: PathBuf, lost: Arc<AtomicU64>) -> Self {
        RecorderActor {
            dir,
            files: HashMap::new(),
            lost,
        }
    }

    /// Starts it on a thread of its own.
    pub fn start_own_thread(self) -> Addr<Self> {
        let arbiter = Arbiter::new();
        RecorderActor::start_in_arbiter(&arbiter.handle(), move |ctx| {
            ctx.set_mailbox_capacity(RECORDER_MAILBOX);
            self
        })
    }

    fn path(&self, symbol: &Symbol, date: &str) -> PathBuf {
        let compact: String = symbol.as_str().chars().filter(|c| *c != '-').collect();
        self.dir
            .join(symbol.as_str())
            .join(format!("{compact}-trades-{date}.csv"))
    }

    /// The pair's file for `date`, opened for appending; ids go on from
    /// the file's last row.
    fn file(&mut self, symbol: &Symbol, date: &str) -> std::io::Result<&mut DayFile> {
        let current = self.files.get(symbol).is_some_and(|f| f.date == date);
        if !current {
            let path = self.path(symbol, date);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)?;
            let next_id = last_id(&mut file)? + 1;
            if let Some(mut old) = self.files.remove(symbol) {
                old.out.flush()?;
            }
            tracing::info!(path = %path.display(), "recording trades");
            self.files.insert(
                symbol.clone(),
                DayFile {
                    date: date.to_string(),
                    out: BufWriter::with_capacity(1 << 16, file),
                    next_id,
                },
            );
        }
        self.files
            .get_mut(symbol)
            .ok_or_else(|| std::io::Error::other("file vanished"))
    }

    fn write(&mut self, symbol: &Symbol, p: &Print) -> std::io::Result<()> {
        let f = self.file(symbol, &iso_date(p.at_ms))?;
        f.out.write_all(trade_line(f.next_id, p).as_bytes())?;
        f.next_id += 1;
        Ok(())
    }

    fn flush(&mut self) {
        for (symbol, f) in &mut self.files {
            if let Err(e) = f.out.flush() {
                tracing::error!(%symbol, error = %e, "recording: flush failed");
            }
        }
    }
}

/// The id in the last row of `file` (0 when it has none).
fn last_id(file: &mut File) -> std::io::Result<u64> {
    let len = file.seek(SeekFrom::End(0))?;
    let from = len.saturating_sub(4096);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    Ok(tail
        .lines()
        .rev()
        .find_map(|l| l.split(',').next()?.trim().parse().ok())
        .unwrap_or(0))
}

impl Actor for RecorderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(1), |act, _| act.flush());
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.flush();
    }
}

impl Handler<Tape> for RecorderActor {
    type Result = ();
    fn handle(&mut self, msg: Tape, _: &mut Self::Context) {
        for p in &msg.prints {
            if let Err(e) = self.write(&msg.symbol, p) {
                let lost = self.lost.fetch_add(1, Ordering::Relaxed) + 1;
                if lost.is_power_of_two() {
                    tracing::error!(symbol = %msg.symbol, error = %e, lost, "recording: a trade could not be written");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_go_on_from_the_files_last_row() {
        let path = std::env::temp_dir().join(format!("laicai-last-id-{}.csv", std::process::id()));
        std::fs::write(&path, "").unwrap();
        let open = || {
            OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .unwrap()
        };
        assert_eq!(last_id(&mut open()).unwrap(), 0);
        let rows: String = (1..=500)
            .map(|i| format!("{i},52000.12,0.00015,7.800018,1735689600123,true\n"))
            .collect();
        std::fs::write(&path, rows).unwrap();
        assert_eq!(last_id(&mut open()).unwrap(), 500);
        std::fs::remove_file(&path).unwrap();
    }
}
