//! What an [`EchoServer`](super::EchoServer) tells an observer: [`Observer`], the
//! connection's [`Peer`] and how it [`Closed`], and [`ChapterLines`], which prints the
//! chapter's server lines.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use portsock_core::echo::stream::SessionEvent;
use portsock_core::wire::repr::{PyAddr, PyBytes};

use crate::unix::UnixAddr;

/// Watches an [`EchoServer`](super::EchoServer): every connection's start and end, and its
/// session's events, as they happen on the server's thread. Every method does nothing by
/// default; `()` is the observer that watches nothing.
///
/// `id` numbers connections from 0 in the order they were accepted. Methods run inside the
/// event loop, so a slow observer slows every client down.
pub trait Observer {
    /// A connection was accepted.
    fn accepted(&mut self, _id: u64, _peer: &Peer) {}

    /// Its session reported `event` (the bytes of a [`SessionEvent::Received`] are those just
    /// read, before they are echoed).
    fn event(&mut self, _id: u64, _peer: &Peer, _event: SessionEvent<'_>) {}

    /// The connection was closed.
    fn closed(&mut self, _id: u64, _peer: &Peer, _how: Closed<'_>) {}
}

/// Watches nothing.
impl Observer for () {}

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
    /// The client closed its side and got its whole echo back: the normal end.
    Finished,
    /// A read, write or shutdown failed, e.g. the client reset the connection
    /// (`ConnectionReset`) or went away while its echo was being sent (`BrokenPipe`).
    Failed(&'a io::Error),
    /// The server stopped while the connection was open.
    Shutdown,
}

/// An [`Observer`] that writes the chapter's server lines (`socket_echo_server.py`) for
/// every connection, as they happen:
///
/// ```text
/// connection from ('127.0.0.1', 52186)
/// received b'This is the mess'
/// sending data back to the client
/// ...
/// received b''
/// no data from ('127.0.0.1', 52186)
/// ```
///
/// With many clients at once their lines interleave. A failed connection, which would end the
/// chapter's server with a traceback, gets `error from ADDR: ERROR`. Write errors do not stop
/// the server; the first one is kept for [`finish`](Self::finish).
///
/// ```
/// use portsock_core::echo::stream::SessionEvent;
/// use portsock_std::server::{ChapterLines, Closed, Observer, Peer};
///
/// let peer = Peer::Tcp("127.0.0.1:52186".parse()?);
/// let mut lines = ChapterLines::new(Vec::new());
/// lines.accepted(0, &peer);
/// lines.event(0, &peer, SessionEvent::Received(b"This is the mess"));
/// lines.event(0, &peer, SessionEvent::Sending(16));
/// lines.event(0, &peer, SessionEvent::PeerClosed);
/// lines.closed(0, &peer, Closed::Finished);
/// let out = String::from_utf8(lines.finish()?)?;
/// assert_eq!(
///     out,
///     "connection from ('127.0.0.1', 52186)\n\
///      received b'This is the mess'\n\
///      sending data back to the client\n\
///      received b''\n\
///      no data from ('127.0.0.1', 52186)\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ChapterLines<W> {
    out: W,
    error: Option<io::Error>,
}

impl<W: io::Write> ChapterLines<W> {
    /// Writes to `out` (e.g. `std::io::stdout()`).
    pub fn new(out: W) -> Self {
        Self { out, error: None }
    }

    /// The writer back, or the first error writing to it.
    ///
    /// # Errors
    ///
    /// The first write error.
    pub fn finish(self) -> io::Result<W> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    fn line(&mut self, args: fmt::Arguments<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self
            .out
            .write_fmt(args)
            .and_then(|()| self.out.write_all(b"\n"))
        {
            self.error = Some(e);
        }
    }
}

impl<W: io::Write> Observer for ChapterLines<W> {
    fn accepted(&mut self, _id: u64, peer: &Peer) {
        self.line(format_args!("connection from {peer}"));
    }

    fn event(&mut self, _id: u64, peer: &Peer, event: SessionEvent<'_>) {
        match event {
            SessionEvent::Received(data) => self.line(format_args!("received {}", PyBytes(data))),
            SessionEvent::Sending(_) => self.line(format_args!("sending data back to the client")),
            SessionEvent::PeerClosed => {
                self.line(format_args!("received b''"));
                self.line(format_args!("no data from {peer}"));
            }
            _ => {}
        }
    }

    fn closed(&mut self, _id: u64, peer: &Peer, how: Closed<'_>) {
        if let Closed::Failed(e) = how {
            self.line(format_args!("error from {peer}: {e}"));
        }
    }
}

/// As Python's `print()` shows the address `accept()` returned: `('127.0.0.1', 52186)`,
/// `('::1', 52186, 0, 0)` (host, port, flow info, scope id), and for a Unix client its
/// address's `str()`, which is empty for an unnamed one.
impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{}", PyAddr(*addr)),
            Self::Unix(a) => write!(f, "{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_print_as_python_prints_them() {
        let v4 = Peer::Tcp("127.0.0.1:10000".parse().unwrap());
        assert_eq!(v4.to_string(), "('127.0.0.1', 10000)");
        let v6 = Peer::Tcp("[::1]:10000".parse().unwrap());
        assert_eq!(v6.to_string(), "('::1', 10000, 0, 0)");
        assert_eq!(Peer::Unix(UnixAddr::Unnamed).to_string(), "");
    }

    #[test]
    fn chapter_lines_report_failures_and_keep_the_first_write_error() {
        let peer = Peer::Unix(UnixAddr::Unnamed);
        let mut lines = ChapterLines::new(Vec::new());
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        lines.closed(3, &peer, Closed::Failed(&reset));
        lines.closed(4, &peer, Closed::Shutdown);
        let out = String::from_utf8(lines.finish().unwrap()).unwrap();
        assert_eq!(out, format!("error from : {reset}\n"));

        let mut small = [0u8; 4];
        let mut lines = ChapterLines::new(&mut small[..]);
        lines.accepted(0, &peer); // "connection from \n" does not fit
        assert_eq!(lines.finish().unwrap_err().kind(), io::ErrorKind::WriteZero);
    }
}
