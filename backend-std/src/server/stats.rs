//! The server's counters: [`Stats`], kept by the event loop and published for
//! [`StatsHandle`]s on other threads.

use std::sync::{Arc, Mutex, PoisonError};

/// An [`EchoServer`](super::EchoServer)'s counters.
///
/// Always `accepted == active + closed`, `failed <= closed`, `peak_buffered <=
/// peak_active × buffer_size`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub active: u64,
    /// The most connections open at once.
    pub peak_active: u64,
    /// Connections closed (finished, failed, or closed by the shutdown).
    pub closed: u64,
    /// Of those, the ones that failed (reset by the client, broken pipe).
    pub failed: u64,
    /// Bytes echoed, over all connections.
    pub bytes_echoed: u64,
    /// Bytes received and not yet echoed, over all connections: what the sessions hold now.
    pub buffered: u64,
    /// The most the sessions held at once.
    pub peak_buffered: u64,
    /// `accept(2)` failures, and accepted sockets that could not be set up (they are closed).
    pub accept_errors: u64,
}

/// Reads an [`EchoServer`](super::EchoServer)'s [`Stats`] from any thread, while it runs and
/// after.
///
/// The event loop publishes its counters each time it has handled a batch of events and
/// before it waits for the next, so a snapshot is at most one batch behind, exact while the
/// server is idle, and always one consistent set.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    counters: Arc<Counters>,
}

/// The published counters. A mutex rather than one atomic per field, so that a snapshot is
/// one publication, whose invariants hold; the loop takes it once per batch of events.
#[derive(Debug, Default)]
pub(super) struct Counters(Mutex<Stats>);

impl StatsHandle {
    pub(super) fn new(counters: Arc<Counters>) -> Self {
        Self { counters }
    }

    /// The counters as last published.
    pub fn snapshot(&self) -> Stats {
        self.counters.snapshot()
    }
}

impl Counters {
    pub(super) fn publish(&self, stats: &Stats) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = *stats;
    }

    pub(super) fn snapshot(&self) -> Stats {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_returns_what_was_published() {
        let counters = Arc::new(Counters::default());
        let handle = StatsHandle::new(Arc::clone(&counters));
        assert_eq!(handle.snapshot(), Stats::default());
        let stats = Stats {
            accepted: 1,
            active: 2,
            peak_active: 3,
            closed: 4,
            failed: 5,
            bytes_echoed: 6,
            buffered: 7,
            peak_buffered: 8,
            accept_errors: 9,
        };
        counters.publish(&stats);
        assert_eq!(handle.snapshot(), stats);
    }
}
