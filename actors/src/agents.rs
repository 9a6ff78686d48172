//! `AgentMonitor`: one health record per watched actor — `agent_status`
//! events (every `interval`, and at once when an actor's status or restart
//! count changes, or it appears or stops) and `get_agents`. It probes every
//! registered actor once a `probe_every`; an actor that does not answer
//! within that time is `unresponsive`, one whose mailbox is closed is
//! reported `stopped` once and forgotten.

use crate::clock::Clock;
use crate::health::{AgentHealth, Health, Load, RegisterAgent};
use crate::registry::{Publish, RegistryActor};
use actix::prelude::*;
use futures_util::future::join_all;
use laicai_core::wire::events::{AgentData, AgentStatus, Event};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Message)]
#[rtype(result = "Vec<AgentStatus>")]
pub struct GetAgents;

#[derive(Debug)]
struct Agent {
    probe: Recipient<Health>,
    load: Load,
    restarts: u32,
    /// Bumped on each registration: a late answer for an older one is ignored.
    generation: u64,
    last: Option<AgentData>,
}

#[derive(Debug)]
pub struct AgentMonitor {
    registry: Addr<RegistryActor>,
    agents: BTreeMap<String, Agent>,
    generations: u64,
    interval: Duration,
    probe_every: Duration,
    last_full: Instant,
    process: ProcessSampler,
    probing: bool,
    /// The registry's report on the sessions it serves.
    sessions: Option<AgentData>,
    clock: Clock,
}

/// The agent id of the sessions' summary.
pub const SESSIONS: &str = "sessions";

impl AgentMonitor {
    pub fn new(
        registry: Addr<RegistryActor>,
        interval: Duration,
        probe_every: Duration,
        clock: Clock,
    ) -> Self {
        AgentMonitor {
            registry,
            agents: BTreeMap::new(),
            generations: 0,
            interval,
            probe_every,
            last_full: Instant::now(),
            process: ProcessSampler::new(),
            probing: false,
            sessions: None,
            clock,
        }
    }

    fn probe_all(&mut self, ctx: &mut Context<Self>) {
        if self.probing {
            return;
        }
        self.probing = true;
        let timeout = self.probe_every;
        let asks: Vec<_> = self
            .agents
            .iter()
            .map(|(id, a)| {
                let before = a.load.count();
                let ask = a.probe.send(Health).timeout(timeout);
                let (id, generation) = (id.clone(), a.generation);
                async move { (id, generation, before, ask.await) }
            })
            .collect();
        ctx.spawn(join_all(asks).into_actor(self).map(|answers, act, _| {
            act.probing = false;
            act.record(answers);
        }));
    }

    fn record(&mut self, answers: Vec<(String, u64, u64, Result<AgentHealth, MailboxError>)>) {
        let (cpu, memory) = self.process.sample();
        let last_update = self.clock.now_ms() as f64 / 1000.0;
        // Rounds come every `probe_every`, give or take: the one nearest the
        // interval's end reports everything.
        let full = self.last_full.elapsed() + self.probe_every / 2 >= self.interval;
        if full {
            self.last_full = Instant::now();
        }
        let entry = |status: String, task_queue_size, restarts, count| AgentData {
            status,
            cpu_usage: cpu,
            memory_usage: memory,
            task_queue_size,
            restarts,
            last_update,
            count,
        };
        let mut out = Vec::new();
        let mut sessions = None;
        for (id, generation, before, answer) in answers {
            let Some(agent) = self.agents.get_mut(&id) else {
                continue;
            };
            if agent.generation != generation {
                continue;
            }
            let (queue, status, gone) = match answer {
                Ok(h) => {
                    if h.sessions.is_some() {
                        sessions = h.sessions;
                    }
                    (h.queued_ahead(before), h.status, false)
                }
                Err(MailboxError::Timeout) => (0, "unresponsive".to_string(), false),
                Err(MailboxError::Closed) => (0, "stopped".to_string(), true),
            };
            let data = entry(status, queue, agent.restarts, None);
            let changed = agent
                .last
                .as_ref()
                .is_none_or(|l| l.status != data.status || l.restarts != data.restarts);
            agent.last = Some(data.clone());
            if gone {
                self.agents.remove(&id);
            }
            if changed || full {
                out.push(AgentStatus { agent_id: id, data });
            }
        }
        if let Some(s) = sessions {
            let data = entry("running".into(), s.waiting, 0, Some(s.open));
            let changed = self.sessions.as_ref().is_none_or(|l| l.count != data.count);
            self.sessions = Some(data.clone());
            if changed || full {
                out.push(AgentStatus {
                    agent_id: SESSIONS.into(),
                    data,
                });
            }
        }
        for status in out {
            self.registry
                .do_send(Publish::now(Event::AgentStatus(status)));
        }
    }

    /// The newest record of every agent, by id.
    fn list(&self) -> Vec<AgentStatus> {
        let agents = self.agents.iter().filter_map(|(id, a)| {
            a.last.clone().map(|data| AgentStatus {
                agent_id: id.clone(),
                data,
            })
        });
        let sessions = self.sessions.clone().map(|data| AgentStatus {
            agent_id: SESSIONS.into(),
            data,
        });
        agents.chain(sessions).collect()
    }
}

impl Actor for AgentMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
        ctx.run_interval(self.probe_every, |act, ctx| act.probe_all(ctx));
    }
}

impl Handler<RegisterAgent> for AgentMonitor {
    type Result = ();
    fn handle(&mut self, msg: RegisterAgent, ctx: &mut Self::Context) {
        self.generations += 1;
        let agent = Agent {
            probe: msg.probe,
            load: msg.load,
            restarts: msg.restarts,
            generation: self.generations,
            last: None,
        };
        tracing::debug!(agent = %msg.id, restarts = msg.restarts, "watching agent");
        self.agents.insert(msg.id, agent);
        // A newcomer (or a restart) is a change: report it soon.
        ctx.run_later(Duration::from_millis(50), |act, ctx| act.probe_all(ctx));
    }
}

impl Handler<GetAgents> for AgentMonitor {
    type Result = MessageResult<GetAgents>;
    fn handle(&mut self, _: GetAgents, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.list())
    }
}

/// The engine process's CPU use between samples and its resident memory,
/// from `/proc/self` (zeros where there is no procfs).
#[derive(Debug)]
struct ProcessSampler {
    last: Option<(Instant, u64)>,
}

/// `/proc` reports CPU time in USER_HZ ticks, 100 a second on Linux.
const TICKS_PER_SEC: f64 = 100.0;

impl ProcessSampler {
    fn new() -> Self {
        ProcessSampler {
            last: Self::cpu_ticks().map(|t| (Instant::now(), t)),
        }
    }

    /// (CPU percent of one core since the last sample, RSS in MiB).
    fn sample(&mut self) -> (f64, f64) {
        let now = Instant::now();
        let cpu = match (Self::cpu_ticks(), self.last) {
            (Some(ticks), Some((then, before))) => {
                self.last = Some((now, ticks));
                let wall = now.duration_since(then).as_secs_f64();
                if wall > 0.0 {
                    let used = ticks.saturating_sub(before) as f64 / TICKS_PER_SEC;
                    (used / wall * 1000.0).round() / 10.0
                } else {
                    0.0
                }
            }
            (ticks, _) => {
                self.last = ticks.map(|t| (now, t));
                0.0
            }
        };
        (cpu, Self::rss_mib().unwrap_or(0.0))
    }

    /// utime + stime of `/proc/self/stat` (fields 14 and 15; the command
    /// name in field 2 may hold spaces, so count after its `)`).
    fn cpu_ticks() -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    fn rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some((kib / 1024.0 * 10.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_sampler_reads_procfs() {
        let mut p = ProcessSampler::new();
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let (cpu, rss) = p.sample();
        if cfg!(target_os = "linux") {
            assert!(cpu > 20.0, "a spinning thread shows up: {cpu}%");
            assert!(rss > 1.0, "{rss} MiB");
        }
    }
}
