//! A frame a client sent that is not a well-formed message, and the
//! protocol error code each kind of fault is answered with.

use crate::error::Coded;
use crate::error::ErrorCode;

/// A frame that is not a well-formed message: answered with an `error` event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("message must be valid JSON: {0}")]
    InvalidJson(String),
    #[error("message must be a JSON object")]
    NotObject,
    #[error("message needs a `cmd` or a `type` field")]
    NoKind,
    #[error("`cmd` must be a string")]
    CmdNotString,
    #[error("unsupported message type: {0}")]
    UnsupportedType(String),
    #[error("{0}")]
    InvalidParams(String),
}

impl Coded for FrameError {
    fn code(&self) -> ErrorCode {
        match self {
            FrameError::UnsupportedType(_) => ErrorCode::UnsupportedMessageType,
            FrameError::InvalidParams(_) => ErrorCode::InvalidParams,
            _ => ErrorCode::InvalidMessageFormat,
        }
    }
}
