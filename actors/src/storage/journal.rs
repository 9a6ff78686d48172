//! `Journal`: a venue actor's half of "durable before anyone hears of it".
//!
//! The venue commits what a command or a tick changed: its order and trade
//! events (each becomes a record) and any state records (the paper
//! account). The journal holds the events until the storage thread says
//! their records are durable (a `Durable` message back to the venue), then
//! hands them back — in commit order, with the reply of the command that
//! caused them — for the venue to publish. Events with nothing to store
//! wait behind earlier ones, so nobody ever hears of B before A.

use super::actor::{Done, NotDurable, Storage};
use super::store::Record;
use actix::prelude::*;
use laicai_core::time::TimestampMs;
use laicai_core::wire::events::{Event, TradeView};
use std::collections::VecDeque;

/// The answer a command waits for: `Ok` once what it did is durable.
pub type Reply = tokio::sync::oneshot::Sender<Result<(), NotDurable>>;

/// The storage thread's word on one commit.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Durable {
    pub ticket: u64,
    pub result: Result<(), NotDurable>,
}

/// Written to the venue itself by its journal when it has staged records:
/// it comes after the messages already waiting, and writes what they
/// staged in one commit (`Journal::flush`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct FlushJournal;

/// Events that may now be published, and the reply they answer.
#[derive(Debug)]
pub struct Ready {
    events: Vec<Event>,
    at_ms: TimestampMs,
    reply: Option<Reply>,
    result: Result<(), NotDurable>,
}

impl Ready {
    /// Whether it changes a balance.
    pub fn touches_balances(&self) -> bool {
        self.events.iter().any(|e| matches!(e, Event::Balance(_)))
    }

    /// Answers the command (if one waits) and gives the events to publish.
    pub fn answer(self) -> (Vec<Event>, TimestampMs) {
        if let Some(reply) = self.reply {
            let _ = reply.send(self.result);
        }
        (self.events, self.at_ms)
    }
}

#[derive(Debug)]
struct Entry {
    ticket: u64,
    /// `None` while its records are on their way to the disk.
    result: Option<Result<(), NotDurable>>,
    ready: Ready,
}

#[derive(Debug)]
pub struct Journal {
    storage: Option<Storage>,
    me: Option<Recipient<Durable>>,
    next_ticket: u64,
    pending: VecDeque<Entry>,
    /// Where `FlushJournal` goes, for a venue that batches (`batch_into`).
    flush_to: Option<Recipient<FlushJournal>>,
    /// Records of the commits staged since the last flush, and their
    /// tickets, in order.
    staged: Vec<Record>,
    staged_tickets: Vec<u64>,
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
            flush_to: None,
            staged: Vec::new(),
            staged_tickets: Vec::new(),
        }
    }

    /// When the storage commits on the caller's thread (no fsync:
    /// `Storage::write_here`), commits are staged and written together
    /// once the venue has handled the messages already waiting for it:
    /// one commit for a burst of orders, made on the venue's thread, and
    /// none of them published before it. `flush_to` is the venue, which
    /// calls `flush` on `FlushJournal`.
    pub fn batch_into(&mut self, flush_to: Recipient<FlushJournal>) {
        self.flush_to = Some(flush_to);
    }

    /// Where the storage thread's `Durable` answers go (the venue actor,
    /// once it has started).
    pub fn attach(&mut self, me: Recipient<Durable>) {
        self.me = Some(me);
    }

    /// Whether what is committed is stored (or only passes through).
    pub fn is_durable(&self) -> bool {
        self.storage.is_some()
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
        let (Some(storage), Some(_)) = (&self.storage, &self.me) else {
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
        if records.is_empty() {
            // Nothing to store: it waits behind what came before.
            self.pending.push_back(Entry {
                ticket,
                result: Some(Ok(())),
                ready,
            });
            return Vec::new();
        }
        let trades: Vec<&TradeView> = ready.events.iter().filter_map(Event::trade).collect();
        let ledger = storage
            .fill_ledger()
            .filter(|_| !trades.is_empty())
            .cloned();
        if let (Some(flush_to), None, true) = (&self.flush_to, &ledger, storage.commits_here()) {
            if self.staged.is_empty() {
                flush_to.do_send(FlushJournal);
            }
            self.staged.extend(records);
            self.staged_tickets.push(ticket);
            self.pending.push_back(Entry {
                ticket,
                result: None,
                ready,
            });
            return Vec::new();
        }
        // Written now, after whatever is staged.
        let mut out = self.flush();
        let (Some(storage), Some(me)) = (&self.storage, &self.me) else {
            return out;
        };
        let me = me.clone();
        let done: Done = Box::new(move |result| me.do_send(Durable { ticket, result }));
        let mut job = Some((records, done));
        if let Some(ledger) = ledger {
            // What the fills did to the ledger goes in their transaction.
            ledger.commit_fills(&trades, at_ms, &mut |derived| {
                if let Some((mut records, done)) = job.take() {
                    records.extend(derived);
                    storage.write(records, Some(done));
                }
            });
        }
        if let Some((records, done)) = job.take() {
            storage.write(records, Some(done));
        }
        self.pending.push_back(Entry {
            ticket,
            result: None,
            ready,
        });
        out.extend(self.release());
        out
    }

    /// Writes what is staged in one commit (on this thread when storage
    /// allows, else through the storage thread); returns what may be
    /// published now.
    pub fn flush(&mut self) -> Vec<Ready> {
        let (Some(storage), Some(me)) = (&self.storage, &self.me) else {
            return Vec::new();
        };
        if self.staged.is_empty() {
            return Vec::new();
        }
        let records = std::mem::take(&mut self.staged);
        let tickets = std::mem::take(&mut self.staged_tickets);
        match storage.write_here(records) {
            Ok(()) => {
                // Tickets rise: one lookup per entry, not a scan of the burst.
                for e in self.pending.iter_mut() {
                    if tickets.binary_search(&e.ticket).is_ok() {
                        e.result = Some(Ok(()));
                    }
                }
            }
            Err(records) => {
                let me = me.clone();
                let done: Done = Box::new(move |result| {
                    for ticket in tickets {
                        me.do_send(Durable {
                            ticket,
                            result: result.clone(),
                        });
                    }
                });
                storage.write(records, Some(done));
            }
        }
        self.release()
    }

    /// The storage thread answered: returns what may be published now.
    pub fn durable(&mut self, msg: Durable) -> Vec<Ready> {
        if let Some(e) = self.pending.iter_mut().find(|e| e.ticket == msg.ticket) {
            e.result = Some(msg.result);
        }
        self.release()
    }

    /// The oldest entries whose records are durable, in commit order.
    fn release(&mut self) -> Vec<Ready> {
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
        let mut out = self.flush();
        out.extend(self.pending.drain(..).map(|mut e| {
            e.ready.result = e.result.unwrap_or(Ok(()));
            e.ready
        }));
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::store::tests::order;
    use crate::storage::{StorageActor, Store};
    use laicai_core::order::OrderStatus;
    use laicai_core::wire::events::LogLevel;
    use parking_lot::Mutex;
    use std::sync::Arc;
    use std::time::Duration;

    /// A venue in miniature: commits through a journal and hands what it
    /// publishes, once durable, to `on_publish`.
    pub(crate) struct TestVenue {
        pub(crate) journal: Journal,
        pub(crate) on_publish: Box<dyn Fn(Vec<Event>)>,
    }

    impl TestVenue {
        fn release(&self, ready: Vec<Ready>) {
            for r in ready {
                (self.on_publish)(r.answer().0);
            }
        }
    }

    impl Actor for TestVenue {
        type Context = Context<Self>;
        fn started(&mut self, ctx: &mut Context<Self>) {
            self.journal.attach(ctx.address().recipient());
            self.journal.batch_into(ctx.address().recipient());
        }
    }

    impl Handler<FlushJournal> for TestVenue {
        type Result = ();
        fn handle(&mut self, _: FlushJournal, _: &mut Context<Self>) {
            let ready = self.journal.flush();
            self.release(ready);
        }
    }

    /// Events to commit, and the reply that waits for them.
    #[derive(Message)]
    #[rtype(result = "()")]
    pub(crate) struct Commit(pub(crate) Vec<Event>, pub(crate) Option<Reply>);

    impl Handler<Commit> for TestVenue {
        type Result = ();
        fn handle(&mut self, msg: Commit, _: &mut Context<Self>) {
            let ready = self.journal.commit(msg.0, Vec::new(), 1, msg.1);
            self.release(ready);
        }
    }

    impl Handler<Durable> for TestVenue {
        type Result = ();
        fn handle(&mut self, msg: Durable, _: &mut Context<Self>) {
            let ready = self.journal.durable(msg);
            self.release(ready);
        }
    }

    /// Whether ORD-1 is on disk: in the journal, or already in its table
    /// (read raw: opening a Store would apply the journal itself).
    fn on_disk(db: &std::path::Path) -> bool {
        order_on_disk(db, "ORD-1")
    }

    fn order_on_disk(db: &std::path::Path, id: &str) -> bool {
        rusqlite::Connection::open(db)
            .and_then(|c| {
                c.query_row(
                    "SELECT (SELECT count(*) FROM journal WHERE records LIKE '%' || ?1 || '%')
                          + (SELECT count(*) FROM order_events WHERE order_id = ?1)",
                    [id],
                    |r| r.get::<_, i64>(0),
                )
            })
            .is_ok_and(|n| n > 0)
    }

    /// A fresh database for `test`.
    fn fresh_db(test: &str) -> std::path::PathBuf {
        let db = std::env::temp_dir()
            .join(format!("laicai-journal-{test}-{}", std::process::id()))
            .join("laicai.db");
        let _ = std::fs::remove_file(&db);
        db
    }

    #[actix_rt::test]
    async fn without_fsync_a_burst_is_one_commit_on_the_venues_thread_published_in_order() {
        let db = fresh_db("burst");
        let mut store = Store::open(&db).unwrap();
        store.set_fsync(false).unwrap();
        let storage = StorageActor::start(store, 64).unwrap();
        let published = Arc::new(Mutex::new(Vec::new()));
        let (seen, at) = (published.clone(), db.clone());
        let venue = TestVenue {
            journal: Journal::new(Some(storage.clone())),
            on_publish: Box::new(move |events| {
                for e in events {
                    if let Event::OrderUpdate(o) = &e {
                        let id = o.order_id.to_string();
                        let stored = order_on_disk(&at, &id);
                        seen.lock().push((id, stored));
                    }
                }
            }),
        }
        .start();
        // Let it start (it commits nothing: no events).
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        let stats = storage.stats();
        let before = stats.batches.load(std::sync::atomic::Ordering::Relaxed);
        // Three orders waiting for the venue at once: one burst.
        let mut answers = Vec::new();
        for id in ["ORD-1", "ORD-2", "ORD-3"] {
            let (reply, answer) = tokio::sync::oneshot::channel();
            venue.do_send(Commit(
                vec![Event::OrderUpdate(order(id, OrderStatus::Open, "0"))],
                Some(reply),
            ));
            answers.push(answer);
        }
        for answer in answers {
            let result = actix_rt::time::timeout(Duration::from_secs(5), answer)
                .await
                .expect("answered");
            assert_eq!(result.unwrap(), Ok(()));
        }
        assert_eq!(
            *published.lock(),
            vec![
                ("ORD-1".to_string(), true),
                ("ORD-2".to_string(), true),
                ("ORD-3".to_string(), true)
            ],
            "in order, each on disk when published"
        );
        let ordering = std::sync::atomic::Ordering::Relaxed;
        assert_eq!(stats.batches.load(ordering) - before, 1, "one commit");
        assert_eq!(
            stats.batches_here.load(ordering),
            1,
            "made on the venue's thread"
        );
    }

    #[actix_rt::test]
    async fn nothing_is_published_or_answered_before_its_record_is_on_disk() {
        let db = fresh_db("durable");
        let storage = StorageActor::start(Store::open(&db).unwrap(), 64).unwrap();
        // Stall the storage thread: the disk is slow.
        let (gate, stalled) = std::sync::mpsc::channel::<()>();
        storage.write(
            Vec::new(),
            Some(Box::new(move |_| {
                let _ = stalled.recv();
            })),
        );
        let published = Arc::new(Mutex::new(Vec::new()));
        let (seen, at) = (published.clone(), db.clone());
        let venue = TestVenue {
            journal: Journal::new(Some(storage)),
            on_publish: Box::new(move |events| {
                let stored = on_disk(&at);
                for e in events {
                    seen.lock().push((e.name().to_string(), stored));
                }
            }),
        }
        .start();

        let (reply, mut answer) = tokio::sync::oneshot::channel();
        let placed = Event::OrderUpdate(order("ORD-1", OrderStatus::Open, "0"));
        venue.do_send(Commit(vec![placed], Some(reply)));
        // Nothing to store, but it came after: it waits too.
        let note = Event::log(LogLevel::Info, "after", "test");
        venue.do_send(Commit(vec![note], None));
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        assert!(published.lock().is_empty(), "published before durable");
        assert!(answer.try_recv().is_err(), "answered before durable");

        gate.send(()).unwrap();
        let result = actix_rt::time::timeout(Duration::from_secs(5), answer)
            .await
            .expect("answered once durable");
        assert_eq!(result.unwrap(), Ok(()));
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            *published.lock(),
            vec![
                ("order_update".to_string(), true),
                ("log".to_string(), true)
            ]
        );
    }
}
