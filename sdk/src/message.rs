//! `Incoming`: what handlers and streams receive.

use laicai_core::wire::events::{Envelope, Event};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A typed event with its `seq` and `timestamp`.
    Event(Box<Envelope>),
    /// A frame of a type this SDK does not know (a newer engine), raw.
    Unknown {
        kind: String,
        seq: Option<u64>,
        raw: Value,
    },
    /// Events were missed and could not be replayed (`replay_gap`, or a
    /// replay that did not complete): the next message is a fresh
    /// `snapshot`; rebuild state from it.
    Resync { reason: String },
}

impl Incoming {
    /// The event type (`order_update`, …), `resync` for a resync notice.
    pub fn kind(&self) -> &str {
        match self {
            Incoming::Event(e) => e.event.name(),
            Incoming::Unknown { kind, .. } => kind,
            Incoming::Resync { .. } => "resync",
        }
    }

    pub fn seq(&self) -> Option<u64> {
        match self {
            Incoming::Event(e) => Some(e.seq),
            Incoming::Unknown { seq, .. } => *seq,
            Incoming::Resync { .. } => None,
        }
    }

    pub fn event(&self) -> Option<&Event> {
        match self {
            Incoming::Event(e) => Some(&e.event),
            _ => None,
        }
    }
}
