//! One connection: a non-blocking socket, its session, and what the event loop knows of the
//! socket's readiness; and the table of them all, with the queue of connections that have
//! work left and the buffers the sessions borrow.
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
//!
//! **Fairness.** A connection with readiness goes on the ready queue, and each turn serves it
//! for at most [`READ_BUDGET`] reads or [`BYTE_BUDGET`] bytes (as tokio's coop budget does).
//! One that still has input then goes to the back of the queue, keeping its readiness, and is
//! served again after every other ready connection and a fresh poll: a client that pushes
//! megabytes delays another by one budget, not by its whole transfer. The loop checks for a
//! stop between connections.
//!
//! **Buffers.** Sessions are lent one shared buffer for their turn. One that still holds bytes
//! at the end of it (an echo the client has not taken) keeps that buffer, and the table takes
//! another (a spare, or a new one); once the session has sent them it gives its buffer back.
//! An idle connection therefore holds no buffer at all.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use portsock_core::transport::{Read, Shutdown, Stream, Write};
use portsock_std::tcp::TcpStream;
use portsock_std::unix::UnixStream;

use crate::ServerConfig;
use crate::observe::{Closed, Observer, Peer};
use crate::session::Session;
use crate::stats::Stats;

/// Reads one connection may do per turn before the others get theirs.
pub(crate) const READ_BUDGET: u32 = 16;
/// Bytes one connection may read per turn before the others get theirs: 16 reads of the
/// default 64 KiB buffer (at 64 KiB, 16 streaming connections moved 0.65x the peers'
/// throughput; a client that never reads stops being read once its buffer is full anyway).
pub(crate) const BYTE_BUDGET: usize = 1024 * 1024;
/// Buffers given back by sessions that are kept for the next one that needs one.
const SPARE_BUFFERS: usize = 8;

/// An accepted stream socket, TCP or Unix.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// One connection being served.
#[derive(Debug)]
struct Conn<S> {
    id: u64,
    peer: Peer,
    socket: Socket,
    session: S,
    /// The session keeps a buffer of its own (it holds bytes); otherwise it is lent the
    /// shared one for its turn.
    owns_buffer: bool,
    /// A read may find data (or end of stream) without blocking.
    readable: bool,
    /// A write may find room without blocking.
    writable: bool,
    /// The peer's FIN, a hang-up or an error was seen: read until the stream says so, even
    /// after short reads.
    read_closed: bool,
    /// Readable interest is registered (it is dropped while the session cannot take input).
    reading: bool,
    /// It is on the ready queue.
    queued: bool,
    /// When a byte was last read or written.
    last_active: Instant,
}

/// Where a connection stands after its turn.
enum Outcome {
    /// Waiting for readiness.
    Open,
    /// Its budget ran out with input still waiting: another turn is due.
    Yielded,
    /// The session finished (the echo: the peer closed and everything was echoed).
    Finished,
    /// A call failed (reset by the peer, broken pipe, ...), or the session refused the input.
    Failed(io::Error),
}

/// The buffers sessions borrow: the shared one, and a few spares.
#[derive(Debug)]
struct Buffers {
    size: usize,
    shared: Option<Box<[u8]>>,
    spare: Vec<Box<[u8]>>,
}

/// Every connection, indexed by its mio token, with the ready queue and the counters.
#[derive(Debug)]
pub(crate) struct Table<S> {
    slots: Vec<Option<Conn<S>>>,
    free: Vec<usize>,
    ready: VecDeque<usize>,
    buffers: Buffers,
    next_id: u64,
    config: ServerConfig,
    pub(crate) stats: Stats,
    /// The time of the current turn (read once per poll).
    pub(crate) now: Instant,
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

impl Buffers {
    /// A buffer for a session's turn: the shared one, a spare, or a new one.
    fn lend(&mut self) -> Box<[u8]> {
        self.shared
            .take()
            .or_else(|| self.spare.pop())
            .unwrap_or_else(|| vec![0u8; self.size].into_boxed_slice())
    }

    /// A buffer back from a session (an empty one, which it was given, is dropped).
    fn give_back(&mut self, buf: Box<[u8]>) {
        if buf.len() != self.size {
            return;
        }
        if self.shared.is_none() {
            self.shared = Some(buf);
        } else if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buf);
        }
    }
}

impl<S: Session> Conn<S> {
    /// Takes the readiness an event reports.
    fn on_event(&mut self, event: &Event) {
        let closed = event.is_read_closed() || event.is_error();
        self.readable |= event.is_readable() || closed;
        self.read_closed |= closed;
        self.writable |= event.is_writable() || event.is_write_closed() || event.is_error();
    }

    /// Moves bytes between the socket and the session until neither can go on without
    /// blocking or the turn's budget is spent, in the session's calling order: transmit,
    /// close, read, events.
    fn drive<O: Observer<S> + ?Sized>(
        &mut self,
        observer: &mut O,
        stats: &mut Stats,
        now: Instant,
    ) -> Outcome {
        let (mut reads, mut bytes) = (0, 0);
        loop {
            if self.writable {
                while let Some(data) = self.session.poll_transmit() {
                    let offered = data.len();
                    match self.socket.write(data) {
                        Ok(n) => {
                            self.session.handle_sent(n);
                            stats.bytes_sent += n as u64;
                            self.last_active = now;
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
            if reads >= READ_BUDGET || bytes >= BYTE_BUDGET {
                return Outcome::Yielded;
            }
            let Some(buf) = self.session.recv_buf() else {
                return Outcome::Open; // full of unsent bytes (backpressure), or past the FIN
            };
            let asked = buf.len();
            match self.socket.read(buf) {
                Ok(0) => {
                    self.last_active = now;
                    if let Err(e) = self.session.handle_peer_closed() {
                        return Outcome::Failed(session_error(e));
                    }
                }
                Ok(n) => {
                    if let Err(e) = self.session.handle_read(n) {
                        return Outcome::Failed(session_error(e));
                    }
                    stats.bytes_received += n as u64;
                    self.last_active = now;
                    reads += 1;
                    bytes += n;
                    if n < asked && !self.read_closed {
                        self.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    continue;
                }
                Err(e) => return Outcome::Failed(e),
            }
            observer.events(self.id, &self.peer, &mut self.session);
        }
    }
}

/// A session's refusal as an `io::Error` of the kind the core gives it.
fn session_error<E: embedded_io::Error + std::fmt::Display>(e: E) -> io::Error {
    io::Error::new(embedded_io::Error::kind(&e).into(), e.to_string())
}

impl<S: Session> Table<S> {
    pub(crate) fn new(config: ServerConfig) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            ready: VecDeque::new(),
            buffers: Buffers {
                size: config.buffer_size(),
                shared: None,
                spare: Vec::new(),
            },
            next_id: 0,
            config,
            stats: Stats::default(),
            now: Instant::now(),
        }
    }

    /// Whether the connection limit is reached.
    pub(crate) fn is_full(&self) -> bool {
        self.stats.active >= self.config.max_connections() as u64
    }

    /// Whether some connection has work left from an earlier turn.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Takes a freshly accepted, non-blocking socket: registered for both directions, with
    /// `session`. A socket that cannot be registered is closed and counted as an accept
    /// error.
    pub(crate) fn insert<O: Observer<S> + ?Sized>(
        &mut self,
        socket: Socket,
        peer: Peer,
        session: S,
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
        let conn = Conn {
            id: self.next_id,
            peer,
            socket,
            session,
            owns_buffer: false,
            readable: false,
            // A new socket's send buffer is empty.
            writable: true,
            read_closed: false,
            reading: true,
            queued: false,
            last_active: self.now,
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

    /// Takes a readiness event for the connection at `index` and queues it for a turn (a
    /// stale token, whose connection closed earlier in the same batch, is ignored or at worst
    /// causes one spurious attempt on its successor, which "would block").
    pub(crate) fn mark(&mut self, index: usize, event: &Event) {
        let Some(conn) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        conn.on_event(event);
        if !conn.queued {
            conn.queued = true;
            self.ready.push_back(index);
        }
    }

    /// Gives a turn to every connection queued now (those that yield go to the back, for the
    /// next call); before each, `stop` is asked whether to stop. Returns whether it did.
    pub(crate) fn run_ready<O: Observer<S> + ?Sized>(
        &mut self,
        registry: &Registry,
        observer: &mut O,
        stop: &mut dyn FnMut() -> bool,
    ) -> bool {
        for _ in 0..self.ready.len() {
            if stop() {
                return true;
            }
            let Some(index) = self.ready.pop_front() else {
                break;
            };
            self.turn(index, registry, observer);
        }
        false
    }

    /// One connection's turn: lend it a buffer, drive it, take the buffer back unless the
    /// session holds bytes in it, and requeue it if its budget ran out.
    fn turn<O: Observer<S> + ?Sized>(
        &mut self,
        index: usize,
        registry: &Registry,
        observer: &mut O,
    ) {
        let Some(conn) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if !conn.queued {
            return; // a stale entry of a closed connection whose slot was reused
        }
        conn.queued = false;
        if !conn.owns_buffer
            && let Err(buf) = conn.session.replace_buffer(self.buffers.lend())
        {
            self.buffers.give_back(buf);
        }
        let held = conn.session.held();
        let outcome = conn.drive(observer, &mut self.stats, self.now);
        self.stats.buffered = self.stats.buffered + conn.session.held() as u64 - held as u64;
        self.stats.peak_buffered = self.stats.peak_buffered.max(self.stats.buffered);
        let outcome = match outcome {
            Outcome::Open | Outcome::Yielded => match update_interest(conn, index, registry) {
                Ok(()) => outcome,
                Err(e) => Outcome::Failed(e),
            },
            other => other,
        };
        // Take the buffer back if the session holds nothing in it.
        match conn.session.replace_buffer(Box::default()) {
            Ok(buf) => {
                if conn.owns_buffer {
                    conn.owns_buffer = false;
                    self.stats.buffers -= 1;
                }
                self.buffers.give_back(buf);
            }
            Err(_) if !conn.owns_buffer => {
                conn.owns_buffer = true;
                self.stats.buffers += 1;
                self.stats.peak_buffers = self.stats.peak_buffers.max(self.stats.buffers);
            }
            Err(_) => {}
        }
        match outcome {
            Outcome::Open => {}
            Outcome::Yielded => {
                conn.queued = true;
                self.ready.push_back(index);
            }
            Outcome::Finished => self.close(index, Closed::Finished, observer),
            Outcome::Failed(e) => self.close(index, Closed::Failed(&e), observer),
        }
    }

    /// Closes every connection idle for `timeout` or longer.
    pub(crate) fn close_idle<O: Observer<S> + ?Sized>(
        &mut self,
        timeout: Duration,
        observer: &mut O,
    ) {
        for index in 0..self.slots.len() {
            let idle = self.slots[index]
                .as_ref()
                .is_some_and(|c| self.now.saturating_duration_since(c.last_active) >= timeout);
            if idle {
                self.close(index, Closed::IdleTimeout, observer);
            }
        }
    }

    /// Closes every connection, for the server's shutdown.
    pub(crate) fn close_all<O: Observer<S> + ?Sized>(&mut self, observer: &mut O) {
        for index in 0..self.slots.len() {
            self.close(index, Closed::Shutdown, observer);
        }
        self.slots.clear();
        self.free.clear();
        self.ready.clear();
    }

    fn close<O: Observer<S> + ?Sized>(&mut self, index: usize, how: Closed<'_>, observer: &mut O) {
        let Some(conn) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        self.stats.active -= 1;
        self.stats.closed += 1;
        match how {
            Closed::Failed(_) => self.stats.failed += 1,
            Closed::IdleTimeout => self.stats.timed_out += 1,
            _ => {}
        }
        if conn.owns_buffer {
            self.stats.buffers -= 1;
        }
        self.stats.buffered -= conn.session.held() as u64;
        observer.closed(conn.id, &conn.peer, how);
        // Dropping the socket closes it, which also removes it from the epoll set.
        drop(conn);
    }
}

/// Readable interest while the session takes input, only writable interest while it is full
/// of bytes it cannot send (so a client that stops reading stops raising events).
fn update_interest<S: Session>(
    conn: &mut Conn<S>,
    index: usize,
    registry: &Registry,
) -> io::Result<()> {
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
