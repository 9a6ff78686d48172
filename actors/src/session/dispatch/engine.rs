//! The engine and its risk gate: status, start/stop, the kill switch, actors, the session itself, replay.

use super::*;

pub(super) async fn get_agents(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let agents = ask(deps, &deps.agents, GetAgents).await?;
        r.ok(format!("{} agents", agents.len()))
            .with("agents", &agents)
            .with("count", &agents.len())
    })
}

pub(super) async fn get_system_status(
    deps: &SessionDeps,
    r: &Reply<'_>,
) -> Result<Response, Failure> {
    Ok({
        let s = ask(deps, &deps.engine, GetSystemStatus).await?;
        let status = r
            .ok("System status".into())
            .with("uptime", &s.uptime)
            .with("bot_status", &s.bot_status)
            .with("active_strategies", &s.active_strategies)
            .with("total_profit", &Exact(s.total_profit))
            .with("total_trades", &s.total_trades)
            .with("success_rate", &Exact(s.success_rate));
        match &s.degraded {
            Some(why) => status.with("degraded", why),
            None => status,
        }
    })
}

pub(super) async fn kill_switch(
    deps: &SessionDeps,
    r: &Reply<'_>,
    mode: KillMode,
    reason: Option<String>,
) -> Result<Response, Failure> {
    Ok({
        let reason = reason.unwrap_or_else(|| "kill_switch command".into());
        let out = ask(deps, &deps.risk, EngageKillSwitch { mode, reason }).await?;
        let status = ask(deps, &deps.risk, GetRiskStatus).await?;
        r.ok(if out.changed {
            format!(
                "Kill switch engaged ({mode}); {} orders cancelled",
                out.cancelled
            )
        } else {
            "Kill switch already engaged".to_string()
        })
        .with("cancelled_count", &out.cancelled)
        .with("kill_switch", &status.kill_switch)
    })
}

pub(super) async fn reset_kill_switch(
    deps: &SessionDeps,
    r: &Reply<'_>,
) -> Result<Response, Failure> {
    Ok({
        let changed = ask(deps, &deps.risk, ResetKillSwitch).await?;
        r.ok(if changed {
            "Kill switch reset: orders are accepted again"
        } else {
            "Kill switch was not engaged"
        }
        .into())
    })
}

pub(super) async fn get_risk_limits(
    deps: &SessionDeps,
    r: &Reply<'_>,
) -> Result<Response, Failure> {
    Ok({
        let s = ask(deps, &deps.risk, GetRiskStatus).await?;
        r.ok("Risk limits".into())
            .with("limits", &s.limits)
            .with("kill_switch", &s.kill_switch)
            .with("account", &s.account)
            .with("strategies", &s.strategies)
    })
}

pub(super) async fn start_engine(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let changed = ask(deps, &deps.engine, StartEngine).await?;
        r.ok(if changed {
            "Engine started"
        } else {
            "Engine already running"
        }
        .into())
    })
}

pub(super) async fn stop_engine(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let changed = ask(
            deps,
            &deps.engine,
            StopEngine {
                reason: "stop_engine command".into(),
            },
        )
        .await?;
        r.ok(if changed {
            "Engine stopped"
        } else {
            "Engine already stopped"
        }
        .into())
    })
}

pub(super) async fn get_session(caller: Caller, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        r.ok("This connection".into())
            .with("session_id", &caller.session.to_string())
            .with("scope", &caller.scope.to_string())
    })
}

pub(super) async fn replay(
    registry: &Addr<crate::registry::RegistryActor>,
    timeout: std::time::Duration,
    caller: Caller,
    r: &Reply<'_>,
    since_seq: u64,
) -> Result<Response, Failure> {
    Ok({
        let (count, seq) = registry
            .send(Replay {
                session: caller.session,
                since_seq,
            })
            .timeout(timeout)
            .await
            .map_err(|e| mailbox_failure(&e))?
            .map_err(|gap| (ErrorCode::ReplayGap, gap.to_string()))?;
        r.ok(format!("Replayed {count} events after seq {since_seq}"))
            .with("count", &count)
            .with("since_seq", &since_seq)
            .with("seq", &seq)
    })
}
