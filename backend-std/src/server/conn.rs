//! One connection: a non-blocking socket, its [`EchoSession`], and what the event loop knows
//! of the socket's readiness; and the table of them all.
//!
//! Readiness is edge-triggered (epoll's `EPOLLET`, as mio registers everything): the kernel
//! says once that a socket became readable or writable, and the server must remember it until
//! a call reports "would block". Like tokio's `ScheduledIo`, a connection also clears its
//! flag after a *short* read or write: on Linux a stream read that returns less than asked
//! emptied the receive queue, and a write that took less than offered filled the send buffer,
//! and either way the next change raises a new edge. That saves the `EAGAIN` call per event
//! that a "read until would block" loop pays. The exception is a read after the peer's FIN or
//! an error (`EPOLLRDHUP`, `EPOLLHUP`, `EPOLLERR`, which raise no further edge): then the
//! connection reads on until end of stream or the error.

use std::io;

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use portsock_core::echo::stream::EchoSession;
use portsock_core::transport::{Read, Shutdown, Stream, Write};

use super::ServerConfig;
use super::observe::{Closed, Observer, Peer};
use super::stats::Stats;
use crate::tcp::TcpStream;
use crate::unix::UnixStream;

/// An accepted stream socket, TCP or Unix.
#[derive(Debug)]
pub(super) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// One connection being served.
#[derive(Debug)]
struct Conn {
    id: u64,
    peer: Peer,
    socket: Socket,
    session: EchoSession<Box<[u8]>>,
    /// A read may find data (or end of stream) without blocking.
    readable: bool,
    /// A write may find room without blocking.
    writable: bool,
    /// The peer's FIN, a hang-up or an error was seen: read until the stream says so, even
    /// after short reads.
    read_closed: bool,
    /// Readable interest is registered (it is dropped while the session cannot take input).
    reading: bool,
}

/// Where a connection stands after the server moved what it could.
enum Outcome {
    /// Waiting for readiness.
    Open,
    /// The session finished: the peer closed and everything was echoed.
    Finished,
    /// A call failed (reset by the peer, broken pipe, ...).
    Failed(io::Error),
}

/// Every connection, indexed by its mio token, with the counters.
#[derive(Debug)]
pub(super) struct Table {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    next_id: u64,
    config: ServerConfig,
    pub(super) stats: Stats,
}

impl Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Unix(s) => s.write(buf),
        }
    }

    fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(how),
            Self::Unix(s) => s.shutdown(how),
        }
    }

    fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Self::Tcp(s) => s.as_raw_fd(),
            Self::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Conn {
    /// Takes the readiness an event reports.
    fn on_event(&mut self, event: &Event) {
        let closed = event.is_read_closed() || event.is_error();
        self.readable |= event.is_readable() || closed;
        self.read_closed |= closed;
        self.writable |= event.is_writable() || event.is_write_closed() || event.is_error();
    }

    /// Moves bytes between the socket and the session until neither can go on without
    /// blocking, in the session's calling order: events, transmit, close, read.
    fn drive<O: Observer + ?Sized>(&mut self, observer: &mut O, stats: &mut Stats) -> Outcome {
        loop {
            if self.writable {
                while let Some(data) = self.session.poll_transmit() {
                    let offered = data.len();
                    match self.socket.write(data) {
                        Ok(n) => {
                            self.session.handle_sent(n);
                            stats.bytes_echoed += n as u64;
                            stats.buffered -= n as u64;
                            if n < offered {
                                self.writable = false;
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            self.writable = false;
                            break;
                        }
                        Err(e) => return Outcome::Failed(e),
                    }
                }
            }
            if let Some(how) = self.session.poll_close() {
                return match self.socket.shutdown(how) {
                    // The peer may be gone altogether by now; the echo was delivered.
                    Err(e) if e.kind() != io::ErrorKind::NotConnected => Outcome::Failed(e),
                    _ => {
                        self.session.handle_closed();
                        Outcome::Finished
                    }
                };
            }
            if !self.readable {
                return Outcome::Open;
            }
            let Some(buf) = self.session.recv_buf() else {
                return Outcome::Open; // full of unsent bytes (backpressure), or past the FIN
            };
            let asked = buf.len();
            match self.socket.read(buf) {
                Ok(0) => {
                    // Infallible for a session; the Result mirrors the client's.
                    let _ = self.session.handle_peer_closed();
                }
                Ok(n) => {
                    if let Err(e) = self.session.handle_read(n) {
                        return Outcome::Failed(io::Error::new(
                            embedded_io::Error::kind(&e).into(),
                            e,
                        ));
                    }
                    stats.buffered += n as u64;
                    stats.peak_buffered = stats.peak_buffered.max(stats.buffered);
                    if n < asked && !self.read_closed {
                        self.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) => return Outcome::Failed(e),
            }
            while let Some(event) = self.session.poll_event() {
                observer.event(self.id, &self.peer, event);
            }
        }
    }
}

impl Table {
    pub(super) fn new(config: ServerConfig) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            config,
            stats: Stats::default(),
        }
    }

    /// Whether the connection limit is reached.
    pub(super) fn is_full(&self) -> bool {
        self.stats.active >= self.config.max_connections() as u64
    }

    /// Takes a freshly accepted, non-blocking socket: registered for both directions, with a
    /// new session. A socket that cannot be registered is closed and counted as an accept
    /// error.
    pub(super) fn insert<O: Observer + ?Sized>(
        &mut self,
        socket: Socket,
        peer: Peer,
        registry: &Registry,
        observer: &mut O,
    ) {
        let index = self.free.pop().unwrap_or(self.slots.len());
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registered = registry.register(&mut SourceFd(&socket.raw_fd()), Token(index), interest);
        if registered.is_err() {
            self.free.push(index);
            self.stats.accept_errors += 1;
            return;
        }
        let buf = vec![0u8; self.config.buffer_size()].into_boxed_slice();
        let conn = Conn {
            id: self.next_id,
            peer,
            socket,
            session: EchoSession::new(buf).with_chunk(self.config.chunk()),
            readable: false,
            // A new socket's send buffer is empty.
            writable: true,
            read_closed: false,
            reading: true,
        };
        self.next_id += 1;
        self.stats.accepted += 1;
        self.stats.active += 1;
        self.stats.peak_active = self.stats.peak_active.max(self.stats.active);
        observer.accepted(conn.id, &conn.peer);
        if index == self.slots.len() {
            self.slots.push(Some(conn));
        } else {
            self.slots[index] = Some(conn);
        }
    }

    /// Handles a readiness event for the connection at `index` (a stale token, whose
    /// connection closed earlier in the same batch, is ignored or at worst causes one
    /// spurious attempt on its successor, which "would block").
    pub(super) fn serve<O: Observer + ?Sized>(
        &mut self,
        index: usize,
        event: &Event,
        registry: &Registry,
        observer: &mut O,
    ) {
        let Some(conn) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        conn.on_event(event);
        let outcome = match conn.drive(observer, &mut self.stats) {
            Outcome::Open => match update_interest(conn, index, registry) {
                Ok(()) => return,
                Err(e) => Outcome::Failed(e),
            },
            other => other,
        };
        match outcome {
            Outcome::Failed(e) => self.close(index, Closed::Failed(&e), observer),
            _ => self.close(index, Closed::Finished, observer),
        }
    }

    /// Closes every connection, for the server's shutdown.
    pub(super) fn close_all<O: Observer + ?Sized>(&mut self, observer: &mut O) {
        for index in 0..self.slots.len() {
            self.close(index, Closed::Shutdown, observer);
        }
        self.slots.clear();
        self.free.clear();
    }

    fn close<O: Observer + ?Sized>(&mut self, index: usize, how: Closed<'_>, observer: &mut O) {
        let Some(conn) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        self.stats.active -= 1;
        self.stats.closed += 1;
        if matches!(how, Closed::Failed(_)) {
            self.stats.failed += 1;
        }
        self.stats.buffered -= conn.session.buffered() as u64;
        observer.closed(conn.id, &conn.peer, how);
        // Dropping the socket closes it, which also removes it from the epoll set.
        drop(conn);
    }
}

/// Readable interest while the session takes input, only writable interest while it is full
/// of bytes it cannot send (so a client that stops reading stops raising events).
fn update_interest(conn: &mut Conn, index: usize, registry: &Registry) -> io::Result<()> {
    let want = conn.session.wants_read();
    if want == conn.reading {
        return Ok(());
    }
    let interest = if want {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::WRITABLE
    };
    registry.reregister(&mut SourceFd(&conn.socket.raw_fd()), Token(index), interest)?;
    conn.reading = want;
    Ok(())
}
