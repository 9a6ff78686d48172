//! `ClientError`: every way a client call fails.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("not connected ({0})")]
    NotConnected(crate::ConnectionState),
    #[error("the connection was lost before the answer came; the command may or may not have run")]
    ConnectionLost,
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The engine refused the command: its `error` code and `message`.
    #[error("{code}: {message}")]
    Command {
        code: String,
        message: String,
        response: Box<Value>,
    },
    /// Not sent: a parameter the engine would refuse, as it would word it.
    #[error("invalid_params: {0}")]
    Invalid(#[from] laicai_core::protocol::CommandError),
    #[error("subscription limit reached ({0})")]
    SubscriptionLimit(usize),
    #[error("unexpected answer: {0}")]
    Decode(String),
}
