//! `EngineLink`: a gateway's line to its engine over the bus. Commands go
//! by NATS request/reply on `laicai.<engine>.cmd` with the client's scope
//! in a header, and fail at once when no engine listens (NATS answers
//! "no responders"), or after the command timeout — never hang. The same
//! line asks the engine for a `snapshot` and for its run id (`hello`).

use super::route::{command_subject, hello_subject, snapshot_subject};
use bytes::Bytes;
use laicai_core::auth::Scope;
use std::time::Duration;

/// The header carrying the client's scope.
pub const SCOPE_HEADER: &str = "Laicai-Scope";

/// How long a `hello` may take: the gateway asks once a second, between
/// relaying events, and an engine that cannot answer that fast is as good
/// as down for it.
const HELLO_TIMEOUT: Duration = Duration::from_millis(500);

/// Why the engine gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Nobody answers on the engine's subjects: it is stopped, restarting
    /// or cut off from the bus. Nothing was done.
    #[error("the engine `{0}` is not on the bus (stopped, restarting or unreachable): nothing was done; try again once it is back")]
    NoEngine(String),
    /// The engine took the request and did not answer in time: it may or
    /// may not have acted.
    #[error("the engine did not answer within {0} ms")]
    Timeout(u64),
    /// The gateway's own connection to the bus failed.
    #[error("the bus: {0}")]
    Bus(String),
}

/// A connected gateway's line to one engine.
#[derive(Clone)]
pub struct EngineLink {
    client: async_nats::Client,
    engine: String,
    timeout: Duration,
    /// This gateway's name, as `system_status` reports it.
    pub node: String,
}

impl std::fmt::Debug for EngineLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineLink")
            .field("engine", &self.engine)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl EngineLink {
    pub fn new(
        client: async_nats::Client,
        engine: String,
        node: String,
        timeout: Duration,
    ) -> Self {
        EngineLink {
            client,
            engine,
            timeout,
            node,
        }
    }

    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// The engine's answer to one command frame, run under `scope`.
    pub async fn command(&self, text: &str, scope: Scope) -> Result<Bytes, LinkError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(SCOPE_HEADER, scope.to_string().as_str());
        self.request(
            command_subject(&self.engine),
            Bytes::copy_from_slice(text.as_bytes()),
            Some(headers),
        )
        .await
    }

    /// The engine's `snapshot` frame: its state as of the frame's `seq`.
    pub async fn snapshot(&self) -> Result<Bytes, LinkError> {
        self.request(snapshot_subject(&self.engine), Bytes::new(), None)
            .await
    }

    /// The engine's run id: it changes when the engine restarts.
    pub async fn hello(&self) -> Result<String, LinkError> {
        let body = self
            .request_within(
                hello_subject(&self.engine),
                Bytes::new(),
                None,
                HELLO_TIMEOUT,
            )
            .await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    async fn request(
        &self,
        subject: String,
        payload: Bytes,
        headers: Option<async_nats::HeaderMap>,
    ) -> Result<Bytes, LinkError> {
        self.request_within(subject, payload, headers, self.timeout)
            .await
    }

    async fn request_within(
        &self,
        subject: String,
        payload: Bytes,
        headers: Option<async_nats::HeaderMap>,
        timeout: Duration,
    ) -> Result<Bytes, LinkError> {
        use async_nats::client::RequestErrorKind;
        let mut request = async_nats::Request::new()
            .payload(payload)
            .timeout(Some(timeout));
        if let Some(h) = headers {
            request = request.headers(h);
        }
        match self.client.send_request(subject, request).await {
            Ok(reply) => Ok(reply.payload),
            Err(e) => Err(match e.kind() {
                RequestErrorKind::NoResponders => LinkError::NoEngine(self.engine.clone()),
                RequestErrorKind::TimedOut => LinkError::Timeout(timeout.as_millis() as u64),
                _ => LinkError::Bus(e.to_string()),
            }),
        }
    }
}
