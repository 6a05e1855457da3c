//! How a server stopped: [`Stopped`] and [`StopReason`], what the mio server (feature `mio`)
//! and the tokio server (feature `tokio`) both return.

use std::time::Duration;

use crate::Stats;

/// Why and how a server stopped: what [`Server::run`](crate::Server::run) (or the tokio
/// server's `run`) returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stopped {
    /// What stopped it.
    pub reason: StopReason,
    /// The counters at the end, every connection closed.
    pub stats: Stats,
    /// How long it ran.
    pub ran: Duration,
}

/// What stopped a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Its shutdown handle's `shutdown` was called.
    Requested,
    /// This signal arrived (`SIGINT` or `SIGTERM`), after the server's `catch_signals`.
    Signal(i32),
}
