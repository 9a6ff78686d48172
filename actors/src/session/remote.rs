//! Commands that come over the bus from gateways (`laicai.<engine>.cmd`,
//! NATS request/reply): each runs as a session's command does, under the
//! scope the gateway admitted its client with (header `Laicai-Scope`;
//! `read` without it), and its response is the reply. The bus is inside
//! the trust boundary: gateways check tokens as the engine does.

use super::dispatch::{execute, Caller};
use super::SessionDeps;
use crate::bus::route::command_subject;
use crate::bus::BUS_SESSION;
use futures_util::StreamExt;
use laicai_core::auth::Scope;
use laicai_core::error::Coded;
use laicai_core::protocol::commands::request_id_of;
use laicai_core::protocol::{parse_client_message, ClientMessage};
use laicai_core::wire::Response;

/// The header carrying the client's scope.
pub const SCOPE_HEADER: &str = "Laicai-Scope";

/// Answers commands on the bus for as long as the engine runs; NATS
/// unreachable at first or later is retried by the client.
pub fn serve(url: String, engine: String, deps: SessionDeps) {
    actix::spawn(async move {
        let client = match async_nats::ConnectOptions::new()
            .name(format!("laicai engine {engine} commands"))
            .retry_on_initial_connect()
            .connect(url.as_str())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%url, error = %e, "bus: commands not served");
                return;
            }
        };
        let subject = command_subject(&engine);
        let mut requests = match client.subscribe(subject.clone()).await {
            Ok(s) => Requests(Some(s)),
            Err(e) => {
                tracing::error!(%subject, error = %e, "bus: commands not served");
                return;
            }
        };
        tracing::info!(%subject, "bus: answering commands");
        while let Some(msg) = requests.next().await {
            let (client, deps) = (client.clone(), deps.clone());
            actix::spawn(async move {
                let Some(reply) = msg.reply.clone() else {
                    return;
                };
                let scope = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(SCOPE_HEADER))
                    .and_then(|v| v.as_str().parse::<Scope>().ok())
                    .unwrap_or(Scope::Read);
                let text = String::from_utf8_lossy(&msg.payload).into_owned();
                let answer = answer(deps, scope, &text).await;
                if let Err(e) = client.publish(reply, answer.into()).await {
                    tracing::warn!(error = %e, "bus: a command's answer was not sent");
                }
            });
        }
    });
}

/// The subscription to commands. async-nats unsubscribes on drop by
/// spawning a task, which panics once the runtime has gone (the engine
/// exiting): then it is let go without one (the process is ending).
struct Requests(Option<async_nats::Subscriber>);

impl Requests {
    async fn next(&mut self) -> Option<async_nats::Message> {
        self.0.as_mut()?.next().await
    }
}

impl Drop for Requests {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            std::mem::forget(self.0.take());
        }
    }
}

/// The frame answering `text`: a command's response, or the error a
/// session would send.
async fn answer(deps: SessionDeps, scope: Scope, text: &str) -> String {
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
