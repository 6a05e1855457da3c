//! What a [`Server`](crate::Server) tells an observer: [`Observer`], the connection's
//! [`Peer`] and how it [`Closed`]. Printing them is the observer's business (the command
//! line prints the chapter's lines).

use std::io;
use std::net::SocketAddr;

use portsock_std::unix::UnixAddr;

/// Watches a [`Server`](crate::Server) serving sessions of type `S`: every connection's start
/// and end, and its session after each read (to poll the session's own events), as they
/// happen on the server's thread. Every method does nothing by default; `()` is the observer
/// that watches nothing.
///
/// `id` numbers connections from 0 in the order they were accepted. Methods run inside the
/// event loop, so a slow observer slows every client down: one that prints should not block
/// (queue the lines, and write them elsewhere), and may use [`turn_done`](Self::turn_done),
/// called before the loop polls for more events, to hand a batch of lines on.
pub trait Observer<S: ?Sized> {
    /// A connection was accepted.
    fn accepted(&mut self, _id: u64, _peer: &Peer) {}

    /// Its session took input (bytes, or the end of stream): poll its events here (for an
    /// [`EchoSession`](portsock_core::echo::stream::EchoSession), `poll_event` gives the bytes
    /// just read before they are echoed).
    fn events(&mut self, _id: u64, _peer: &Peer, _session: &mut S) {}

    /// The connection was closed.
    fn closed(&mut self, _id: u64, _peer: &Peer, _how: Closed<'_>) {}

    /// The loop finished a turn and is about to poll for more events.
    fn turn_done(&mut self) {}
}

/// Watches nothing.
impl<S: ?Sized> Observer<S> for () {}

/// A client's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Peer {
    /// A TCP client.
    Tcp(SocketAddr),
    /// A Unix stream client (usually [`UnixAddr::Unnamed`]).
    Unix(UnixAddr),
}

/// How a connection ended.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Closed<'a> {
    /// The session finished (the echo: the client closed its side and got its whole echo
    /// back): the normal end.
    Finished,
    /// A read, write or shutdown failed, e.g. the client reset the connection
    /// (`ConnectionReset`) or went away while its echo was being sent (`BrokenPipe`), or the
    /// session refused the input (a record cut short: `InvalidData`, say).
    Failed(&'a io::Error),
    /// Nothing was read or written for [`ServerConfig::idle_timeout`](crate::ServerConfig::idle_timeout).
    IdleTimeout,
    /// The server stopped while the connection was open.
    Shutdown,
}
