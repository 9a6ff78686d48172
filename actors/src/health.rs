//! What every watched actor shares with the `AgentMonitor`: a `Load`
//! counter of the messages it has handled, and an answer to `Health`.
//!
//! `task_queue_size` comes out exact for a FIFO mailbox: the monitor reads
//! an actor's `Load` as it enqueues the `Health` probe, the actor answers
//! with its count when the probe's turn comes, and the difference is what
//! waited ahead of the probe.

use actix::dev::MessageResponse;
use actix::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Messages an actor has handled, counted by the `Handler` that
/// `counted!` derives (see `Handles`).
#[derive(Clone, Debug, Default)]
pub struct Load(Arc<AtomicU64>);

impl Load {
    pub fn handled(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// "How are you?" Answered in turn, after everything queued before it.
#[derive(Debug, Message)]
#[rtype(result = "AgentHealth")]
pub struct Health;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentHealth {
    /// In the actor's own terms: `running`, `paused`, `error`, …
    pub status: String,
    /// Its `Load` count as it answers (the probe itself counted).
    pub handled: u64,
    /// The registry also reports on the sessions it serves.
    pub sessions: Option<SessionsHealth>,
}

impl AgentHealth {
    /// Messages that waited ahead of the probe, given the actor's `Load`
    /// count read as the probe was enqueued.
    pub fn queued_ahead(&self, before: u64) -> u64 {
        self.handled.saturating_sub(before + 1)
    }

    pub fn of(status: impl Into<String>, load: &Load) -> Self {
        AgentHealth {
            status: status.into(),
            handled: load.count(),
            sessions: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionsHealth {
    pub open: usize,
    /// Frames waiting in slow sessions' backlogs.
    pub waiting: u64,
}

/// Watch this actor as `id` (registering an id again replaces the old
/// entry: a restarted actor keeps its id).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RegisterAgent {
    pub id: String,
    pub probe: Recipient<Health>,
    pub load: Load,
    pub restarts: u32,
}

/// Where actors are registered (`None`: not watched).
pub type Watch = Option<Recipient<RegisterAgent>>;

/// Registers an agent if there is a monitor.
pub fn watch(
    to: &Watch,
    id: impl Into<String>,
    probe: Recipient<Health>,
    load: Load,
    restarts: u32,
) {
    if let Some(to) = to {
        to.do_send(RegisterAgent {
            id: id.into(),
            probe,
            load,
            restarts,
        });
    }
}

/// An actor the monitor can watch.
pub trait Watched: Actor<Context = Context<Self>> + Handler<Health> {
    fn load(&self) -> &Load;

    /// Starts the actor and registers it as `id`.
    fn start_watched(self, to: &Watch, id: impl Into<String>, restarts: u32) -> Addr<Self> {
        let load = self.load().clone();
        let addr = self.start();
        watch(to, id, addr.clone().recipient(), load, restarts);
        addr
    }
}

/// A counted actor's handler of `M`. Write this instead of actix's
/// `Handler<M>`: `counted!` derives `Handler<M>` from it, counting the
/// message in the actor's `Load` before the body runs. A plain
/// `impl Handler<M>` for a counted actor does not compile (it would
/// conflict with the derived one), so no handler can forget to count.
pub trait Handles<M: Message>: Actor {
    type Result: MessageResponse<Self, M>;
    fn handle(&mut self, msg: M, ctx: &mut Self::Context) -> <Self as Handles<M>>::Result;
}

/// Gives `$actor` (with a `load: Load` field) an actix `Handler` for every
/// message it `Handles`, each counted.
macro_rules! counted {
    ($actor:ty) => {
        impl<M> actix::Handler<M> for $actor
        where
            M: actix::Message,
            $actor: $crate::health::Handles<M>,
        {
            type Result = <$actor as $crate::health::Handles<M>>::Result;
            fn handle(&mut self, msg: M, ctx: &mut Self::Context) -> Self::Result {
                self.load.handled();
                $crate::health::Handles::handle(self, msg, ctx)
            }
        }
    };
}
pub(crate) use counted;

/// Makes `$actor` (with a `load: Load` field) a counted, `Watched` actor
/// whose `Health` answer has the status `$status(&actor)`.
macro_rules! watched {
    ($actor:ty, $status:expr) => {
        $crate::health::counted!($actor);

        impl $crate::health::Handles<$crate::health::Health> for $actor {
            type Result = actix::MessageResult<$crate::health::Health>;
            fn handle(
                &mut self,
                _: $crate::health::Health,
                _: &mut Self::Context,
            ) -> actix::MessageResult<$crate::health::Health> {
                let status: fn(&$actor) -> String = $status;
                actix::MessageResult($crate::health::AgentHealth::of(status(self), &self.load))
            }
        }

        impl $crate::health::Watched for $actor {
            fn load(&self) -> &$crate::health::Load {
                &self.load
            }
        }
    };
}
pub(crate) use watched;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Slow {
        load: Load,
    }

    impl Actor for Slow {
        type Context = Context<Self>;
    }

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Nap;

    impl Handles<Nap> for Slow {
        type Result = ();
        fn handle(&mut self, _: Nap, _: &mut Self::Context) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    watched!(Slow, |_| "napping".into());

    #[actix_rt::test]
    async fn the_queue_ahead_of_a_probe_is_counted_exactly() {
        let load = Load::default();
        let slow = Slow { load: load.clone() }.start();
        for _ in 0..7 {
            slow.do_send(Nap);
        }
        let before = load.count();
        let health = slow.send(Health).await.unwrap();
        assert_eq!(health.status, "napping");
        assert_eq!(health.queued_ahead(before), 7);
        // Nothing waiting: zero.
        let before = load.count();
        assert_eq!(slow.send(Health).await.unwrap().queued_ahead(before), 0);
    }

    /// Every `.rs` file under `dir`, with its text.
    fn sources(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read");
                out.push((path, text));
            }
        }
    }

    /// The names `macro!(Name` introduces in `text`.
    fn invoked(text: &str, macro_name: &str) -> Vec<String> {
        text.match_indices(&format!("{macro_name}!("))
            .map(|(at, m)| {
                text[at + m.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .filter(|name: &String| !name.is_empty() && name != "$actor")
            .collect()
    }

    /// Rust would accept a plain `impl Handler<M>` beside the derived one
    /// (no `Handles<M>` exists, so they do not overlap); this keeps every
    /// handler of a counted actor counted.
    #[test]
    fn no_counted_actor_has_a_handler_that_skips_the_count() {
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let counted: Vec<String> = files
            .iter()
            .flat_map(|(_, text)| [invoked(text, "counted"), invoked(text, "watched")])
            .flatten()
            .collect();
        assert!(counted.len() >= 10, "found only {counted:?}");
        let mut uncounted = Vec::new();
        for (path, text) in &files {
            for line in text.lines() {
                let line = line.trim();
                let plain =
                    line.starts_with("impl Handler<") || line.starts_with("impl actix::Handler<");
                let Some(actor) = line.rsplit(" for ").next() else {
                    continue;
                };
                let actor = actor.trim_end_matches(" {").trim();
                if plain && counted.iter().any(|c| c == actor) {
                    uncounted.push(format!("{}: {line}", path.display()));
                }
            }
        }
        assert!(
            uncounted.is_empty(),
            "write `impl Handles<M>` so the message is counted:\n{}",
            uncounted.join("\n")
        );
    }
}
