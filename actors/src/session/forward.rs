//! A gateway's commands: `replay` and `get_session` are answered from
//! the gateway's own registry (replay is served from what it read off the
//! events stream); every other command goes to the engine over the bus,
//! under the client's scope, and the engine's response comes back as it
//! wrote it. No engine on the bus → `engine_unavailable` at once; no
//! answer within the command timeout → `timeout`. `get_system_status`
//! also names the node that answered (`node`) and the engine behind it.

use super::dispatch::{answer_from_registry, forbidden, Caller};
use super::SessionLimits;
use crate::bus::{EngineLink, LinkError};
use crate::registry::RegistryActor;
use actix::Addr;
use laicai_core::error::ErrorCode;
use laicai_core::protocol::CommandEnvelope;
use laicai_core::wire::Response;
use serde_json::Value;

pub async fn execute(
    engine: &EngineLink,
    registry: &Addr<RegistryActor>,
    limits: &SessionLimits,
    caller: Caller,
    env: CommandEnvelope,
) -> Response {
    if let Some(refusal) = forbidden(caller, &env) {
        return refusal;
    }
    if let Some(answer) = answer_from_registry(registry, limits.command_timeout, caller, &env).await
    {
        return answer;
    }
    let fail =
        |code, message: String| Response::fail(&env.cmd, env.request_id.clone(), code, message);
    let answer = match engine.command(&frame(&env), caller.scope).await {
        Ok(bytes) => Response::decode(&String::from_utf8_lossy(&bytes)).unwrap_or_else(|| {
            tracing::error!(cmd = %env.cmd, "gateway: the engine's answer is not a response");
            fail(
                ErrorCode::Internal,
                "the engine's answer could not be read".into(),
            )
        }),
        Err(e @ LinkError::NoEngine(_)) => fail(ErrorCode::EngineUnavailable, e.to_string()),
        Err(e @ LinkError::Timeout(_)) => fail(ErrorCode::Timeout, e.to_string()),
        Err(e @ LinkError::Bus(_)) => fail(ErrorCode::EngineUnavailable, e.to_string()),
    };
    if env.cmd == "get_system_status" && answer.success {
        return answer
            .with("node", &engine.node)
            .with("engine", &engine.engine());
    }
    answer
}

/// The command as the client sent it (parameters, `cmd`, `request_id`).
fn frame(env: &CommandEnvelope) -> String {
    let mut map = env.params.clone();
    map.insert("cmd".into(), Value::from(env.cmd.clone()));
    if let Some(id) = &env.request_id {
        map.insert("request_id".into(), id.clone());
    }
    Value::Object(map).to_string()
}
