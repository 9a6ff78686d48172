//! A real `nats-server -js` (Debian's 2.9) on a loopback port with its
//! store in a test's directory, for the bus's tests. Without
//! `nats-server` on the PATH a test says it was skipped, unless
//! `LAICAI_REQUIRE_NATS` is set (as CI does).

use super::free_addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server -js`, killed when dropped.
pub struct Nats {
    child: Child,
    port: u16,
    store: PathBuf,
}

impl Nats {
    pub fn start(store: &Path, port: u16) -> Option<Nats> {
        let spawned = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let why = format!("no nats-server ({e}): apt-get install nats-server");
                assert!(std::env::var_os("LAICAI_REQUIRE_NATS").is_none(), "{why}");
                eprintln!("skipped: {why}");
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Nats {
            child,
            port,
            store: store.to_path_buf(),
        })
    }

    pub fn start_on_a_free_port(store: &Path) -> Option<Nats> {
        let port = free_addr()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        Self::start(store, port)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn kill(mut self) -> (PathBuf, u16) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.store.clone(), self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
