//! `Detached`: a NATS subscription, or a stream built on one, that can be
//! dropped after the runtime has gone. async-nats unsubscribes on drop by
//! spawning a task, which panics with no runtime (the process ending, its
//! tasks dropped with it); then the subscription is let go without one.

use futures_util::{Stream, StreamExt};

pub struct Detached<T>(Option<T>);

impl<T> std::fmt::Debug for Detached<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detached")
            .field("open", &self.0.is_some())
            .finish()
    }
}

impl<T> Detached<T> {
    pub fn new(inner: T) -> Self {
        Detached(Some(inner))
    }
}

impl<T: Stream + Unpin> Detached<T> {
    /// The next item; `None` once the stream ends.
    pub async fn next(&mut self) -> Option<T::Item> {
        self.0.as_mut()?.next().await
    }
}

impl<T> Drop for Detached<T> {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            std::mem::forget(self.0.take());
        }
    }
}
