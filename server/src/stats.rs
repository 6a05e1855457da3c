//! The server's counters: [`Stats`], kept by the event loop and published for
//! [`StatsHandle`]s on other threads (or, for the tokio server, kept in atomics its tasks
//! update).

#[cfg(any(feature = "mio", feature = "tokio"))]
use std::sync::Arc;
#[cfg(feature = "mio")]
use std::sync::{Mutex, PoisonError};

/// A [`Server`](crate::Server)'s counters.
///
/// Always `accepted == active + closed`, `failed + timed_out <= closed`, `peak_buffered <=
/// peak_active × buffer_size`, `buffers <= active`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub active: u64,
    /// The most connections open at once.
    pub peak_active: u64,
    /// Connections closed (finished, failed, timed out, or closed by the shutdown).
    pub closed: u64,
    /// Of those, the ones that failed (reset by the client, broken pipe, a protocol error).
    pub failed: u64,
    /// Of those, the ones closed for being idle longer than the idle timeout.
    pub timed_out: u64,
    /// Bytes read, over all connections.
    pub bytes_received: u64,
    /// Bytes written (for the echo: echoed), over all connections.
    pub bytes_sent: u64,
    /// Bytes the sessions hold and still need (for the echo: received and not yet echoed).
    pub buffered: u64,
    /// The most the sessions held at once.
    pub peak_buffered: u64,
    /// Buffers the sessions keep now: a session keeps one only while it holds bytes; idle
    /// ones share the server's.
    pub buffers: u64,
    /// The most buffers kept at once.
    pub peak_buffers: u64,
    /// `accept(2)` failures, and accepted sockets that could not be set up (they are closed).
    pub accept_errors: u64,
}

/// Reads a [`Server`](crate::Server)'s [`Stats`] from any thread, while it runs and after.
///
/// The event loop publishes its counters each time it has handled a batch of events and
/// before it waits for the next, so a snapshot is at most one batch behind, exact while the
/// server is idle, and always one consistent set. The tokio server's tasks update theirs as
/// they go (bytes when a connection closes), so each counter is current but a snapshot taken
/// while connections come and go is not one instant's.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    /// The mio server's, published once per batch of events.
    #[cfg(feature = "mio")]
    Published(Arc<Counters>),
    /// The tokio server's, updated by its tasks.
    #[cfg(feature = "tokio")]
    Live(Arc<crate::tokio::Live>),
}

/// The published counters. A mutex rather than one atomic per field, so that a snapshot is
/// one publication, whose invariants hold; the loop takes it once per batch of events.
#[cfg(feature = "mio")]
#[derive(Debug, Default)]
pub(crate) struct Counters(Mutex<Stats>);

impl StatsHandle {
    #[cfg(feature = "mio")]
    pub(crate) fn new(counters: Arc<Counters>) -> Self {
        Self {
            source: Source::Published(counters),
        }
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn live(live: Arc<crate::tokio::Live>) -> Self {
        Self {
            source: Source::Live(live),
        }
    }

    /// The counters as last published.
    pub fn snapshot(&self) -> Stats {
        match &self.source {
            #[cfg(feature = "mio")]
            Source::Published(counters) => counters.snapshot(),
            #[cfg(feature = "tokio")]
            Source::Live(live) => live.snapshot(),
        }
    }
}

#[cfg(feature = "mio")]
impl Counters {
    pub(crate) fn publish(&self, stats: &Stats) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = *stats;
    }

    pub(crate) fn snapshot(&self) -> Stats {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(all(test, feature = "mio"))]
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
            timed_out: 6,
            bytes_received: 7,
            bytes_sent: 8,
            buffered: 9,
            peak_buffered: 10,
            buffers: 11,
            peak_buffers: 12,
            accept_errors: 13,
        };
        counters.publish(&stats);
        assert_eq!(handle.snapshot(), stats);
    }
}
