//! `Outbox`: the bounded queue of encoded frames from the registry to one
//! session. The registry pushes shared bytes into it and wakes the session
//! only if it sleeps; the session takes what is queued as a stream. No
//! allocation per frame once the queue has grown to its working size, and
//! no actix message per frame.

use crate::latency::LatencyHistogram;
use bytestring::ByteString;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// Frames of room an idle outbox keeps in each of its two buffers.
const KEEP: usize = 64;

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    waker: AtomicWaker,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<ByteString>,
    /// When the first frame now queued was offered to an empty queue.
    since: Option<Instant>,
    /// The session is gone: nothing it is offered will be read.
    closed: bool,
}

/// Why a frame was not queued; `Full` gives it back.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Full(ByteString),
    Closed,
}

/// The registry's end: offers frames.
#[derive(Debug, Clone)]
pub struct Outbox(Arc<Shared>);

/// The session's end: a stream of the frames offered, in order. Dropping
/// it closes the outbox.
#[derive(Debug)]
pub struct Inbox {
    shared: Arc<Shared>,
    /// Frames taken from the outbox in one lock, not yet yielded.
    taken: VecDeque<ByteString>,
    /// Where the wait of each batch's first frame is recorded.
    waits: Option<Arc<LatencyHistogram>>,
}

/// An outbox holding at most `capacity` frames (at least one), and the
/// stream that reads it. The session takes what is queued in one go, so
/// it may hold up to `capacity` more it has taken and not yet written.
pub fn outbox(capacity: usize) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        waker: AtomicWaker::new(),
        capacity: capacity.max(1),
    });
    let inbox = Inbox {
        shared: shared.clone(),
        taken: VecDeque::new(),
        waits: None,
    };
    (Outbox(shared), inbox)
}

impl Outbox {
    /// Queues `frame` behind the others, waking the session if it was
    /// idle. Frames behind others need no wake: the session takes the whole
    /// queue at once, and the first of them woke it.
    pub fn offer(&self, frame: ByteString) -> Result<(), Refused> {
        let was_empty = {
            let mut q = self.0.queue.lock();
            if q.closed {
                return Err(Refused::Closed);
            }
            if q.frames.len() >= self.0.capacity {
                return Err(Refused::Full(frame));
            }
            let was_empty = q.frames.is_empty();
            if was_empty && q.since.is_none() {
                q.since = Some(Instant::now());
            }
            q.frames.push_back(frame);
            was_empty
        };
        if was_empty {
            self.0.waker.wake();
        }
        Ok(())
    }
}

impl Inbox {
    /// Records, for each batch taken, how long its first frame waited
    /// since it was offered: the session's wake-up and whatever it was
    /// busy with meanwhile.
    pub fn record_waits_in(&mut self, waits: Arc<LatencyHistogram>) {
        self.waits = Some(waits);
    }

    /// The next frame: from the last batch taken, else everything queued
    /// is taken at once (swapping buffers, so neither side reallocates).
    /// A buffer a burst grew is shrunk back once it is empty.
    fn take(&mut self) -> Option<ByteString> {
        if self.taken.is_empty() {
            if self.taken.capacity() > KEEP {
                self.taken.shrink_to(KEEP);
            }
            let since = {
                let mut q = self.shared.queue.lock();
                std::mem::swap(&mut q.frames, &mut self.taken);
                q.since.take()
            };
            if let (Some(since), Some(waits)) = (since, &self.waits) {
                waits.record(since.elapsed());
            }
        }
        self.taken.pop_front()
    }
}

impl futures_util::Stream for Inbox {
    type Item = ByteString;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ByteString>> {
        let this = self.get_mut();
        if let Some(frame) = this.take() {
            return Poll::Ready(Some(frame));
        }
        this.shared.waker.register(cx.waker());
        // A frame offered between the first look and the registration
        // found no waker to wake: look again.
        match this.take() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => Poll::Pending,
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut q = self.shared.queue.lock();
        q.closed = true;
        // Frames nobody will write: free them now, not with the registry's slot.
        q.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn text(s: &str) -> ByteString {
        ByteString::from(s.to_string())
    }

    /// Frames queued and not yet taken by the session.
    fn queued(tx: &Outbox) -> usize {
        tx.0.queue.lock().frames.len()
    }

    #[actix_rt::test]
    async fn frames_come_out_in_order_and_a_full_outbox_gives_the_frame_back() {
        let (tx, mut rx) = outbox(2);
        tx.offer(text("a")).unwrap();
        tx.offer(text("b")).unwrap();
        assert_eq!(tx.offer(text("c")), Err(Refused::Full(text("c"))));
        assert_eq!(queued(&tx), 2);
        assert_eq!(rx.next().await.unwrap(), "a");
        tx.offer(text("c")).unwrap();
        assert_eq!(rx.next().await.unwrap(), "b");
        assert_eq!(rx.next().await.unwrap(), "c");
        assert_eq!(queued(&tx), 0);
    }

    #[actix_rt::test]
    async fn a_burst_leaves_no_large_buffers_behind() {
        let (tx, mut rx) = outbox(10_000);
        for round in 0..2 {
            for i in 0..5_000 {
                tx.offer(text(&format!("{round}-{i}"))).unwrap();
            }
            for i in 0..5_000 {
                assert_eq!(rx.next().await.unwrap(), format!("{round}-{i}"));
            }
        }
        // Idle again: one more frame through, and both buffers are small.
        tx.offer(text("x")).unwrap();
        assert_eq!(rx.next().await.unwrap(), "x");
        tx.offer(text("y")).unwrap();
        assert_eq!(rx.next().await.unwrap(), "y");
        assert!(rx.taken.capacity() <= KEEP, "{}", rx.taken.capacity());
        assert!(tx.0.queue.lock().frames.capacity() <= KEEP);
    }

    #[actix_rt::test]
    async fn each_batch_records_how_long_its_first_frame_waited() {
        let waits = Arc::new(LatencyHistogram::default());
        let (tx, mut rx) = outbox(8);
        rx.record_waits_in(waits.clone());
        tx.offer(text("a")).unwrap();
        tx.offer(text("b")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert_eq!(rx.next().await.unwrap(), "a");
        assert_eq!(rx.next().await.unwrap(), "b");
        tx.offer(text("c")).unwrap();
        assert_eq!(rx.next().await.unwrap(), "c");
        let text = waits.render("w", "test");
        // Two batches; the first waited at least 3 ms.
        assert!(text.contains("w_count 2\n"), "{text}");
        assert!(text.contains("w_bucket{le=\"0.002\"} 1\n"), "{text}");
    }

    #[test]
    fn a_dropped_inbox_closes_the_outbox() {
        let (tx, rx) = outbox(4);
        tx.offer(text("a")).unwrap();
        drop(rx);
        assert_eq!(tx.offer(text("b")), Err(Refused::Closed));
        assert_eq!(queued(&tx), 0);
    }

    #[actix_rt::test]
    async fn an_offer_from_another_thread_wakes_a_waiting_reader() {
        let (tx, mut rx) = outbox(8);
        let writer = std::thread::spawn(move || {
            for i in 0..10_000u32 {
                let mut frame = text(&i.to_string());
                // The reader takes frames as it is woken; a full outbox waits.
                while let Err(Refused::Full(back)) = tx.offer(frame) {
                    frame = back;
                    std::thread::yield_now();
                }
            }
        });
        let mut got = Vec::new();
        while got.len() < 10_000 {
            let frame = rx.next().await.unwrap();
            got.push(frame.parse::<u32>().unwrap());
        }
        writer.join().unwrap();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    }
}
