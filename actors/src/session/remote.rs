//! The engine's side of the bus's request subjects, for gateways:
//! - `laicai.<engine>.cmd`: each command runs as a session's command
//!   does, under the scope the gateway admitted its client with (header
//!   `Laicai-Scope`; `read` without it), and its response is the reply.
//! - `laicai.<engine>.snap`: the `snapshot` frame a new session would get.
//! - `laicai.<engine>.hello`: this run's id, which changes on a restart.
//!
//! The bus is inside the trust boundary: gateways check tokens as the
//! engine does.

use super::dispatch::{execute, Caller};
use super::SessionDeps;
use crate::bus::detached::Detached;
use crate::bus::link::SCOPE_HEADER;
use crate::bus::route::{command_subject, hello_subject, snapshot_subject};
use crate::bus::BUS_SESSION;
use crate::registry::SnapshotFrame;
use laicai_core::auth::Scope;
use laicai_core::error::Coded;
use laicai_core::protocol::commands::request_id_of;
use laicai_core::protocol::{parse_client_message, ClientMessage};
use laicai_core::wire::Response;

/// What a request subject is for.
#[derive(Clone, Copy, Debug)]
enum Subject {
    Command,
    Snapshot,
    Hello,
}

/// Answers the engine's request subjects for as long as it runs; NATS
/// unreachable at first or later is retried by the client.
pub fn serve(url: String, engine: String, deps: SessionDeps) {
    let run = format!("{}-{}", std::process::id(), deps.clock.now_ms());
    actix::spawn(async move {
        let client = match async_nats::ConnectOptions::new()
            .name(format!("laicai engine {engine} requests"))
            .retry_on_initial_connect()
            .connect(url.as_str())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%url, error = %e, "bus: requests not served");
                return;
            }
        };
        for (subject, what) in [
            (command_subject(&engine), Subject::Command),
            (snapshot_subject(&engine), Subject::Snapshot),
            (hello_subject(&engine), Subject::Hello),
        ] {
            let requests = match client.subscribe(subject.clone()).await {
                Ok(s) => Detached::new(s),
                Err(e) => {
                    tracing::error!(%subject, error = %e, "bus: requests not served");
                    return;
                }
            };
            tracing::info!(%subject, "bus: answering requests");
            actix::spawn(answer_all(
                requests,
                what,
                client.clone(),
                deps.clone(),
                run.clone(),
            ));
        }
    });
}

async fn answer_all(
    mut requests: Detached<async_nats::Subscriber>,
    what: Subject,
    client: async_nats::Client,
    deps: SessionDeps,
    run: String,
) {
    while let Some(msg) = requests.next().await {
        let (client, deps, run) = (client.clone(), deps.clone(), run.clone());
        actix::spawn(async move {
            let Some(reply) = msg.reply.clone() else {
                return;
            };
            let clock = deps.clock;
            let answer = match what {
                Subject::Command => {
                    let scope = msg
                        .headers
                        .as_ref()
                        .and_then(|h| h.get(SCOPE_HEADER))
                        .and_then(|v| v.as_str().parse::<Scope>().ok())
                        .unwrap_or(Scope::Read);
                    let text = String::from_utf8_lossy(&msg.payload).into_owned();
                    command(deps, scope, &text).await
                }
                Subject::Snapshot => match deps.registry.send(SnapshotFrame).await {
                    Ok(Some(frame)) => frame,
                    _ => return,
                },
                Subject::Hello => run,
            };
            let answer = fit(answer, &msg.payload, client.max_payload(), clock.now_ms());
            if let Err(e) = client.publish(reply, answer.into()).await {
                tracing::warn!(error = %e, "bus: an answer was not sent");
            }
        });
    }
}

/// `answer`, or, when it is more than the bus carries (the server's
/// `max_payload`, 1 MiB by default), a refusal of the request saying so
/// (so the client is not left to time out).
fn fit(
    answer: String,
    request: &[u8],
    max_payload: usize,
    now: laicai_core::time::TimestampMs,
) -> String {
    if answer.len() <= max_payload {
        return answer;
    }
    let text = String::from_utf8_lossy(request);
    let cmd = match parse_client_message(&text) {
        Ok(ClientMessage::Command(env)) => env.cmd,
        _ => String::new(),
    };
    tracing::warn!(%cmd, bytes = answer.len(), max_payload, "bus: an answer too large for the bus was refused");
    Response::fail(
        &cmd,
        request_id_of(&text),
        laicai_core::error::ErrorCode::Internal,
        format!(
            "the answer is {} bytes, more than the bus carries ({max_payload}, nats-server's max_payload): ask for less (`limit`), or raise max_payload",
            answer.len()
        ),
    )
    .encode(now)
}

/// The frame answering `text`: a command's response, or the error a
/// session would send.
async fn command(deps: SessionDeps, scope: Scope, text: &str) -> String {
    let now = deps.clock.now_ms();
    match parse_client_message(text) {
        Ok(ClientMessage::Command(env)) => {
            let caller = Caller {
                session: BUS_SESSION,
                scope,
            };
            execute(deps, caller, env).await.encode(now)
        }
        Ok(_) => Response::fail(
            "",
            request_id_of(text),
            laicai_core::error::ErrorCode::InvalidMessageFormat,
            "only commands go over the bus; subscriptions are the gateway's own".to_string(),
        )
        .encode(now),
        Err(e) => Response::fail("", request_id_of(text), e.code(), e.to_string()).encode(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_larger_than_the_bus_carries_becomes_a_refusal_of_its_request() {
        let request = br#"{"cmd":"export_trades","request_id":"x-1"}"#;
        let small = "{}".to_string();
        assert_eq!(fit(small.clone(), request, 10, 0), small);
        let refused: serde_json::Value =
            serde_json::from_str(&fit("y".repeat(11), request, 10, 0)).unwrap();
        assert_eq!(refused["cmd"], "export_trades");
        assert_eq!(refused["request_id"], "x-1");
        assert_eq!(refused["success"], false);
        assert!(
            refused["message"].as_str().unwrap().contains("11 bytes"),
            "{refused}"
        );
    }
}
