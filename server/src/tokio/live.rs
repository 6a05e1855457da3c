//! The tokio server's counters: atomics its tasks update, read as one [`Stats`].

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Stats;

/// [`Stats`] as atomics. Tasks on every worker update them: each once per connection
/// (accept, close), and `buffered` when a session holds bytes while it waits for its peer (an
/// echo a write did not take whole, part of a record), not on every echo.
#[derive(Debug, Default)]
pub(crate) struct Live {
    accepted: AtomicU64,
    closed: AtomicU64,
    peak_active: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    buffered: AtomicU64,
    peak_buffered: AtomicU64,
    accept_errors: AtomicU64,
}

/// How a connection ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Normal,
    Failed,
    TimedOut,
}

impl Live {
    /// A connection was accepted; returns its number (from 0).
    pub(crate) fn accepted(&self) -> u64 {
        let id = self.accepted.fetch_add(1, Ordering::AcqRel);
        let active = id + 1 - self.closed.load(Ordering::Acquire);
        self.peak_active.fetch_max(active, Ordering::AcqRel);
        id
    }

    /// A connection closed, having moved these bytes.
    pub(crate) fn closed(&self, ending: Ending, received: u64, sent: u64) {
        self.bytes_received.fetch_add(received, Ordering::Relaxed);
        self.bytes_sent.fetch_add(sent, Ordering::Relaxed);
        match ending {
            Ending::Failed => self.failed.fetch_add(1, Ordering::Relaxed),
            Ending::TimedOut => self.timed_out.fetch_add(1, Ordering::Relaxed),
            Ending::Normal => 0,
        };
        self.closed.fetch_add(1, Ordering::AcqRel);
    }

    /// A session went from holding `from` bytes to holding `to`.
    pub(crate) fn held(&self, from: u64, to: u64) {
        if to > from {
            let now = self.buffered.fetch_add(to - from, Ordering::Relaxed) + (to - from);
            self.peak_buffered.fetch_max(now, Ordering::Relaxed);
        } else {
            self.buffered.fetch_sub(from - to, Ordering::Relaxed);
        }
    }

    pub(crate) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now. Each is current, but taken while connections come and go they are
    /// not one instant's (the mio server's are); `closed` is read before `accepted`, so
    /// `active` never goes negative. Once the server has stopped they are exact.
    pub(crate) fn snapshot(&self) -> Stats {
        let closed = self.closed.load(Ordering::Acquire);
        let accepted = self.accepted.load(Ordering::Acquire);
        let active = accepted - closed;
        let peak_active = self.peak_active.load(Ordering::Acquire).max(active);
        Stats {
            accepted,
            active,
            peak_active,
            closed,
            failed: self.failed.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            buffered: self.buffered.load(Ordering::Relaxed),
            peak_buffered: self.peak_buffered.load(Ordering::Relaxed),
            // Each session owns its buffer for the connection's life.
            buffers: active,
            peak_buffers: peak_active,
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let live = Live::default();
        assert_eq!(live.accepted(), 0);
        assert_eq!(live.accepted(), 1);
        live.held(0, 100);
        live.held(100, 40);
        live.closed(Ending::Failed, 10, 5);
        live.held(40, 0);
        assert_eq!(live.accepted(), 2);
        live.closed(Ending::TimedOut, 1, 1);
        live.accept_error();
        let s = live.snapshot();
        assert_eq!(
            (s.accepted, s.active, s.closed, s.peak_active),
            (3, 1, 2, 2)
        );
        assert_eq!((s.failed, s.timed_out, s.accept_errors), (1, 1, 1));
        assert_eq!((s.bytes_received, s.bytes_sent), (11, 6));
        assert_eq!((s.buffered, s.peak_buffered), (0, 100));
        assert_eq!((s.buffers, s.peak_buffers), (1, 2));
    }
}
