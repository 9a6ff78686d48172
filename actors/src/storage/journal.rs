//! `Journal`: a venue actor's half of "durable before anyone hears of it".
//!
//! The venue commits what a command or a tick changed: its order and trade
//! events (each becomes a record) and any state records (the paper
//! account). The journal holds the events until the storage thread says
//! their records are durable (a `Durable` message back to the venue), then
//! hands them back — in commit order, with the reply of the command that
//! caused them — for the venue to publish. Events with nothing to store
//! wait behind earlier ones, so nobody ever hears of B before A.

use super::actor::Storage;
use super::store::Record;
use actix::prelude::*;
use laicai_core::protocol::events::Event;
use laicai_core::time::TimestampMs;
use std::collections::VecDeque;

/// The answer a command waits for: `Ok` once what it did is durable.
pub type Reply = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The storage thread's word on one commit.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Durable {
    pub ticket: u64,
    pub result: Result<(), String>,
}

/// Events that may now be published, and the reply they answer.
pub struct Ready {
    pub events: Vec<Event>,
    pub at_ms: TimestampMs,
    reply: Option<Reply>,
    result: Result<(), String>,
}

impl Ready {
    /// Answers the command (if one waits) and gives the events to publish.
    pub fn answer(self) -> (Vec<Event>, TimestampMs) {
        if let Some(reply) = self.reply {
            let _ = reply.send(self.result);
        }
        (self.events, self.at_ms)
    }
}

struct Entry {
    ticket: u64,
    /// `None` while its records are on their way to the disk.
    result: Option<Result<(), String>>,
    ready: Ready,
}

pub struct Journal {
    storage: Option<Storage>,
    me: Option<Recipient<Durable>>,
    next_ticket: u64,
    pending: VecDeque<Entry>,
}

/// The record an event leaves in the journal, if any.
pub fn record_of(event: &Event, at_ms: TimestampMs) -> Option<Record> {
    match event {
        Event::OrderUpdate(o) => Some(Record::Order {
            view: o.clone(),
            at_ms,
        }),
        Event::Trade(t) => Some(Record::Trade {
            view: t.clone(),
            at_ms,
        }),
        _ => None,
    }
}

impl Journal {
    /// `None`: nothing is stored and events pass straight through.
    pub fn new(storage: Option<Storage>) -> Self {
        Journal {
            storage,
            me: None,
            next_ticket: 1,
            pending: VecDeque::new(),
        }
    }

    /// Where the storage thread's `Durable` answers go (the venue actor,
    /// once it has started).
    pub fn attach(&mut self, me: Recipient<Durable>) {
        self.me = Some(me);
    }

    pub fn storage(&self) -> Option<&Storage> {
        self.storage.as_ref()
    }

    /// Commits the events and `state`; returns what may be published now
    /// (everything, when there is nothing to wait for).
    pub fn commit(
        &mut self,
        events: Vec<Event>,
        state: Vec<Record>,
        at_ms: TimestampMs,
        reply: Option<Reply>,
    ) -> Vec<Ready> {
        let ready = Ready {
            events,
            at_ms,
            reply,
            result: Ok(()),
        };
        let (Some(storage), Some(me)) = (&self.storage, &self.me) else {
            return vec![ready];
        };
        let records: Vec<Record> = ready
            .events
            .iter()
            .filter_map(|e| record_of(e, at_ms))
            .chain(state)
            .collect();
        if records.is_empty() && self.pending.is_empty() {
            return vec![ready];
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let result = if records.is_empty() {
            Some(Ok(()))
        } else {
            let me = me.clone();
            storage.write(
                records,
                Some(Box::new(move |result| {
                    me.do_send(Durable { ticket, result })
                })),
            );
            None
        };
        self.pending.push_back(Entry {
            ticket,
            result,
            ready,
        });
        Vec::new()
    }

    /// The storage thread answered: returns what may be published now.
    pub fn durable(&mut self, msg: Durable) -> Vec<Ready> {
        if let Some(e) = self.pending.iter_mut().find(|e| e.ticket == msg.ticket) {
            e.result = Some(msg.result);
        }
        let mut out = Vec::new();
        while self.pending.front().is_some_and(|e| e.result.is_some()) {
            if let Some(mut e) = self.pending.pop_front() {
                e.ready.result = e.result.unwrap_or(Ok(()));
                out.push(e.ready);
            }
        }
        out
    }

    /// Everything still held, for a venue that is stopping: its records
    /// are queued and will be written, but the venue will not be there to
    /// hear it.
    pub fn drain(&mut self) -> Vec<Ready> {
        self.pending
            .drain(..)
            .map(|mut e| {
                e.ready.result = e.result.unwrap_or(Ok(()));
                e.ready
            })
            .collect()
    }
}
