//! An event-driven echo server for thousands of concurrent TCP and Unix stream clients, on one
//! thread, each connection served by the core's [`EchoSession`] state machine.
//!
//! The chapter's servers take one client at a time. [`EchoServer`] takes them all at once: a
//! single [`mio`] event loop (epoll, edge-triggered) owns the listening sockets and every
//! connection, and gives each connection an [`EchoSession`] with a buffer of its own. The
//! server holds no echo logic: it moves bytes between a socket and its session, in the order
//! the session's [calling order](portsock_core::echo::stream::EchoSession#calling-order) asks (events, transmit, close,
//! read), and closes the socket when the session says it is done.
//!
//! What the design guarantees:
//!
//! * **Bounded memory per connection.** A session holds at most
//!   [`ServerConfig::buffer_size`] bytes. When its buffer is full of bytes the client has not
//!   taken back (the client stopped reading, so the echo cannot be sent), the session stops
//!   asking to read and the server drops its interest in the socket's readability until the
//!   echo drains: TCP's flow control then stops the client. The server's memory is at most
//!   [`ServerConfig::max_connections`] × `buffer_size` (see [`ServerConfig::memory_bound`]);
//!   [`Stats::peak_buffered`] shows what it actually held.
//! * **Half-close.** After a client's FIN the session echoes what it still holds, then the
//!   server shuts the socket down and closes it.
//! * **Isolation.** A client that resets mid-stream, or stops reading, only ever costs its own
//!   connection: errors close that one socket, and no call blocks.
//! * **Clean shutdown.** [`EchoServer::catch_signals`] turns SIGINT and SIGTERM into a stop
//!   (through `signal-hook-mio`, in the same poll), and a [`ShutdownHandle`] does the same from
//!   any thread. [`run`](EchoServer::run) then closes every connection and listener and
//!   returns the final [`Stats`].
//! * **Many clients at once.** The listen backlog is [`TcpListener::LARGE_BACKLOG`] (4096) by
//!   default, so a burst of thousands of connections waits in the kernel's queue instead of
//!   being dropped into SYN retries; at most [`ServerConfig::max_connections`] are served at
//!   once (more wait in the backlog), and running out of descriptors pauses accepting rather
//!   than failing (see [`raise_fd_limit`]).
//!
//! [`EchoServer::stats`] reads the counters while the server runs; an [`Observer`] sees each
//! connection's life and its session's events (the chapter's lines: [`ChapterLines`]).
//!
//! ```no_run
//! use portsock_std::server::{ChapterLines, EchoServer, ServerConfig, raise_fd_limit};
//!
//! raise_fd_limit(20_000)?; // room for thousands of clients
//! let mut server = EchoServer::new(ServerConfig::new())?;
//! let addr = server.bind_tcp("127.0.0.1:10000".parse()?)?;
//! server.catch_signals()?; // Ctrl-C stops it
//! println!("starting up on {addr}");
//! let stopped = server.run_with(&mut ChapterLines::new(std::io::stdout()))?;
//! println!("stopped ({:?}): {:?}", stopped.reason, stopped.stats);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a thread, stopped through its handle, with the core's verifying client on the other
//! end:
//!
//! ```
//! use std::thread;
//! use portsock_core::drive::run_stream;
//! use portsock_core::echo::CHAPTER_MESSAGE;
//! use portsock_core::echo::stream::EchoClient;
//! use portsock_std::server::{EchoServer, ServerConfig, StopReason};
//! use portsock_std::tcp::TcpStream;
//!
//! let mut server = EchoServer::new(ServerConfig::new().with_buffer_size(16 * 1024))?;
//! let addr = server.bind_tcp("127.0.0.1:0".parse()?)?;
//! let stop = server.shutdown_handle();
//! let stats = server.stats();
//! let running = thread::spawn(move || server.run());
//!
//! let mut sock = TcpStream::connect(addr, None)?;
//! let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 64]);
//! run_stream(&mut sock, &mut client, &mut |_| {})?; // every byte checked
//! drop(sock);
//!
//! stop.shutdown()?;
//! let stopped = running.join().expect("server thread")?;
//! assert_eq!(stopped.reason, StopReason::Requested);
//! assert_eq!(stopped.stats.accepted, 1);
//! assert_eq!(stopped.stats.bytes_echoed, CHAPTER_MESSAGE.len() as u64);
//! assert_eq!(stats.snapshot(), stopped.stats);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`EchoSession`]: portsock_core::echo::stream::EchoSession

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use portsock_core::transport::{Blocking, Listener};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use self::conn::{Socket, Table};
pub use self::observe::{ChapterLines, Closed, Observer, Peer};
use self::stats::Counters;
pub use self::stats::{Stats, StatsHandle};
use crate::sys;
use crate::tcp::TcpListener;
use crate::unix::{UnixAddr, UnixBindOptions, UnixListener};

mod conn;
mod observe;
mod stats;

/// How an [`EchoServer`] listens and how much it holds per connection.
///
/// ```
/// use portsock_std::server::ServerConfig;
///
/// let config = ServerConfig::new().with_buffer_size(16 * 1024).with_max_connections(1_000);
/// assert_eq!(config.backlog(), 4096);
/// assert_eq!(config.chunk(), 16 * 1024); // reads fill the buffer unless told otherwise
/// assert_eq!(config.memory_bound(), 16 * 1024 * 1_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    backlog: u32,
    buffer_size: usize,
    chunk: Option<usize>,
    max_connections: usize,
    nodelay: bool,
}

/// A cloneable handle that stops a running [`EchoServer`] from any thread, as SIGTERM does.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    requested: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

/// Why and how an [`EchoServer`] stopped: what [`run`](EchoServer::run) returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stopped {
    /// What stopped it.
    pub reason: StopReason,
    /// The counters at the end, every connection closed.
    pub stats: Stats,
}

/// What stopped an [`EchoServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// [`ShutdownHandle::shutdown`] was called.
    Requested,
    /// This signal arrived (`SIGINT` or `SIGTERM`), after [`EchoServer::catch_signals`].
    Signal(i32),
}

/// The event-driven echo server: listeners, an event loop, and an
/// [`EchoSession`](portsock_core::echo::stream::EchoSession) per connection. See the
/// [module documentation](self).
pub struct EchoServer {
    poll: Poll,
    config: ServerConfig,
    listeners: Vec<Listening>,
    signals: Option<Signals>,
    requested: Arc<AtomicBool>,
    waker: Arc<Waker>,
    counters: Arc<Counters>,
}

/// A listening socket the server accepts from.
enum Listening {
    Tcp(TcpListener),
    /// With the path the server bound itself, which it removes when it stops.
    Unix(UnixListener, Option<PathBuf>),
}

/// The waker's token; listeners count down from [`FIRST_LISTENER`], connections up from 0.
const WAKER: Token = Token(usize::MAX);
const SIGNALS: Token = Token(usize::MAX - 1);
const FIRST_LISTENER: usize = usize::MAX - 2;
/// Readiness events taken from the kernel per wakeup.
const EVENTS: usize = 1024;
/// How soon to try accepting again after running out of descriptors or memory.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

impl ServerConfig {
    /// A session's buffer by default: 64 KiB, a loopback TCP segment's worth, so one read
    /// and one write move a full segment.
    pub const DEFAULT_BUFFER_SIZE: usize = 64 * 1024;
    /// Connections served at once by default; more wait in the listen backlog.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

    /// The defaults: backlog [`TcpListener::LARGE_BACKLOG`], buffers of
    /// [`DEFAULT_BUFFER_SIZE`](Self::DEFAULT_BUFFER_SIZE) read whole,
    /// [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS), `TCP_NODELAY` on.
    pub const fn new() -> Self {
        Self {
            backlog: TcpListener::LARGE_BACKLOG,
            buffer_size: Self::DEFAULT_BUFFER_SIZE,
            chunk: None,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            nodelay: true,
        }
    }

    /// The listen backlog for listeners the server binds (clamped to `i32::MAX`; the kernel
    /// caps it at `net.core.somaxconn`).
    #[must_use]
    pub const fn with_backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Each connection's session buffer, in bytes (at least 1): the most the server holds
    /// for one connection.
    #[must_use]
    pub const fn with_buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = if bytes == 0 { 1 } else { bytes };
        self
    }

    /// Reads at most `chunk` bytes at a time (at least 1); the chapter's server reads 16.
    #[must_use]
    pub const fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = Some(if chunk == 0 { 1 } else { chunk });
        self
    }

    /// Serves at most `max` connections at once (at least 1).
    #[must_use]
    pub const fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = if max == 0 { 1 } else { max };
        self
    }

    /// Whether accepted TCP connections get `TCP_NODELAY`, so an echo leaves at once rather
    /// than waiting for the previous one's ACK (Nagle's algorithm, RFC 896). It is set on the
    /// listening socket, which Linux passes on to the sockets it accepts.
    #[must_use]
    pub const fn with_nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// The listen backlog.
    pub const fn backlog(&self) -> u32 {
        self.backlog
    }

    /// Each connection's buffer, in bytes.
    pub const fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// The most one read takes: the chunk if one was set, else the whole buffer.
    pub const fn chunk(&self) -> usize {
        match self.chunk {
            Some(chunk) => chunk,
            None => self.buffer_size,
        }
    }

    /// The most connections served at once.
    pub const fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Whether accepted TCP connections get `TCP_NODELAY`.
    pub const fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// The most the server's sessions can hold at once, in bytes: `max_connections ×
    /// buffer_size`. (The kernel's socket buffers come on top, bounded by `tcp_rmem` /
    /// `tcp_wmem`.)
    pub const fn memory_bound(&self) -> u64 {
        self.max_connections as u64 * self.buffer_size as u64
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ShutdownHandle {
    /// Asks the server to stop, and returns at once; [`EchoServer::run`] then closes every
    /// connection and returns. Calling it again, or after the server stopped, does nothing.
    ///
    /// # Errors
    ///
    /// Waking the event loop failed (`write(2)` on its eventfd).
    pub fn shutdown(&self) -> io::Result<()> {
        self.requested.store(true, Ordering::Release);
        self.waker.wake()
    }

    /// Whether a stop was asked for through a handle.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }
}

impl EchoServer {
    /// A server with no listener yet; add some with [`bind_tcp`](Self::bind_tcp),
    /// [`bind_unix`](Self::bind_unix), [`add_tcp`](Self::add_tcp) or
    /// [`add_unix`](Self::add_unix).
    ///
    /// # Errors
    ///
    /// Creating the epoll instance or its eventfd failed (out of descriptors).
    pub fn new(config: ServerConfig) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Self {
            poll,
            config,
            listeners: Vec::new(),
            signals: None,
            requested: Arc::new(AtomicBool::new(false)),
            waker,
            counters: Arc::new(Counters::default()),
        })
    }

    /// Binds `addr` with the configured backlog and serves it; returns the address bound
    /// (with the port the system chose for port 0).
    ///
    /// # Errors
    ///
    /// As [`TcpListener::bind`], or registering the socket failed.
    pub fn bind_tcp(&mut self, addr: SocketAddr) -> io::Result<SocketAddr> {
        self.add_tcp(TcpListener::bind_with_backlog(addr, self.config.backlog)?)
    }

    /// Serves an already listening TCP socket (its backlog is whatever it was given); returns
    /// its address. With [`ServerConfig::nodelay`] it sets `TCP_NODELAY` on it.
    ///
    /// # Errors
    ///
    /// Switching it to non-blocking mode or registering it failed.
    pub fn add_tcp(&mut self, mut listener: TcpListener) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        // Linux passes TCP_NODELAY on from the listener to every socket it accepts, which
        // saves a setsockopt(2) per connection.
        if self.config.nodelay {
            listener.socket().set_tcp_nodelay(true)?;
        }
        self.register_listener(listener.as_raw_fd())?;
        self.listeners.push(Listening::Tcp(listener));
        Ok(addr)
    }

    /// Binds the Unix socket `path` (a stale socket file there is removed, nothing else is;
    /// see [`UnixListener::bind_with`]) with the configured backlog and serves it. The server
    /// removes the socket file when it stops.
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind_with`], or registering the socket failed.
    pub fn bind_unix(&mut self, path: impl AsRef<Path>) -> io::Result<()> {
        self.bind_unix_with(path, UnixBindOptions::new())
    }

    /// As [`bind_unix`](Self::bind_unix), with `options` (a file mode, say); the backlog is
    /// the configured one.
    ///
    /// # Errors
    ///
    /// As [`bind_unix`](Self::bind_unix).
    pub fn bind_unix_with(
        &mut self,
        path: impl AsRef<Path>,
        options: UnixBindOptions,
    ) -> io::Result<()> {
        let path = path.as_ref();
        let listener = UnixListener::bind_with(path, options.backlog(self.config.backlog))?;
        self.add_unix_listener(listener, Some(path.to_path_buf()))?;
        Ok(())
    }

    /// Serves an already listening Unix socket (the server leaves its file alone); returns
    /// its address.
    ///
    /// # Errors
    ///
    /// Switching it to non-blocking mode or registering it failed.
    pub fn add_unix(&mut self, listener: UnixListener) -> io::Result<UnixAddr> {
        self.add_unix_listener(listener, None)
    }

    /// Stops the server on SIGINT (Ctrl-C) or SIGTERM, through a self-pipe in the server's
    /// own poll (`signal-hook-mio`); [`Stopped::reason`] names the signal.
    ///
    /// The handlers are the process's: a second server catching signals stops too. After the
    /// server is dropped the signals stay caught and do nothing (signal-hook cannot restore
    /// the default action), so a program that goes on after [`run`](Self::run) should exit by
    /// itself.
    ///
    /// # Errors
    ///
    /// Installing the handlers or registering the pipe failed.
    pub fn catch_signals(&mut self) -> io::Result<()> {
        if self.signals.is_some() {
            return Ok(());
        }
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        self.poll
            .registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        self.signals = Some(signals);
        Ok(())
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            requested: Arc::clone(&self.requested),
            waker: Arc::clone(&self.waker),
        }
    }

    /// A handle on the server's counters, readable from any thread while it runs.
    pub fn stats(&self) -> StatsHandle {
        StatsHandle::new(Arc::clone(&self.counters))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Serves until stopped (a [`ShutdownHandle`], or a signal after
    /// [`catch_signals`](Self::catch_signals)), then closes every connection and listener.
    ///
    /// # Errors
    ///
    /// Waiting for events failed (`epoll_wait(2)`, other than `EINTR`); connections are
    /// closed first. Errors of single connections or of `accept` never end the server; they
    /// show in [`Stats`] and the [`Observer`].
    pub fn run(self) -> io::Result<Stopped> {
        self.run_with(&mut ())
    }

    /// As [`run`](Self::run), telling `observer` about every connection and session event.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub fn run_with<O: Observer + ?Sized>(mut self, observer: &mut O) -> io::Result<Stopped> {
        let mut table = Table::new(self.config);
        let mut events = Events::with_capacity(EVENTS);
        let mut accept_paused = false;
        let outcome = loop {
            self.counters.publish(&table.stats);
            if self.requested.load(Ordering::Acquire) {
                break Ok(StopReason::Requested);
            }
            let timeout = accept_paused.then_some(ACCEPT_RETRY);
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
            let registry = self.poll.registry();
            let mut signalled = None;
            let closed_before = table.stats.closed;
            for event in &events {
                match event.token() {
                    WAKER => {} // the flag is read at the top of the loop
                    SIGNALS => signalled = self.signals.as_mut().and_then(first_signal),
                    token => match listener_index(token, self.listeners.len()) {
                        Some(i) => {
                            accept_paused |=
                                accept_ready(&mut self.listeners[i], registry, &mut table, observer)
                        }
                        None => table.serve(token.0, event, registry, observer),
                    },
                }
            }
            // Edge-triggered listeners signal a new connection only once: after a pause, take
            // what waits in their backlogs as soon as there is room again.
            if accept_paused && (events.is_empty() || table.stats.closed > closed_before) {
                accept_paused = false;
                for listener in &mut self.listeners {
                    accept_paused |= accept_ready(listener, registry, &mut table, observer);
                }
            }
            if let Some(signal) = signalled {
                break Ok(StopReason::Signal(signal));
            }
        };
        table.close_all(observer);
        self.counters.publish(&table.stats);
        self.remove_socket_files();
        outcome.map(|reason| Stopped {
            reason,
            stats: table.stats,
        })
    }

    fn add_unix_listener(
        &mut self,
        mut listener: UnixListener,
        bound: Option<PathBuf>,
    ) -> io::Result<UnixAddr> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        self.register_listener(listener.as_raw_fd())?;
        self.listeners.push(Listening::Unix(listener, bound));
        Ok(addr)
    }

    fn register_listener(&self, fd: std::os::fd::RawFd) -> io::Result<()> {
        let token = Token(FIRST_LISTENER - self.listeners.len());
        self.poll
            .registry()
            .register(&mut SourceFd(&fd), token, Interest::READABLE)
    }

    /// Removes the socket files of the paths this server bound, if they are still its own
    /// ([`UnixListener::remove_node`]: another server's node in their place is left alone).
    fn remove_socket_files(&mut self) {
        for listener in self.listeners.drain(..) {
            if let Listening::Unix(listener, Some(_)) = listener {
                // Best effort: a leftover file is removed as stale by the next bind.
                let _ = listener.remove_node();
            }
        }
    }
}

impl fmt::Debug for EchoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchoServer")
            .field("config", &self.config)
            .field("listeners", &self.listeners.len())
            .field("catches_signals", &self.signals.is_some())
            .field("stats", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

/// Raises this process's limit on open descriptors (`RLIMIT_NOFILE`) to at least `want` if
/// it can, and returns the soft limit now in force. A server needs one descriptor per client.
///
/// The soft limit can go up to the hard limit; beyond it only with `CAP_SYS_RESOURCE`
/// (root), up to `fs.nr_open`. Without that privilege the soft limit becomes the hard one and
/// the result is less than `want`. The limit is never lowered.
///
/// # Errors
///
/// `getrlimit(2)` or `setrlimit(2)` failed other than for lack of privilege.
pub fn raise_fd_limit(want: u64) -> io::Result<u64> {
    let (soft, hard) = sys::nofile_limit()?;
    if soft >= want {
        return Ok(soft);
    }
    if want <= hard {
        sys::set_nofile_limit(want, hard)?;
        return Ok(want);
    }
    match sys::set_nofile_limit(want, want) {
        Ok(()) => Ok(want),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            sys::set_nofile_limit(hard, hard)?;
            Ok(hard)
        }
        Err(e) => Err(e),
    }
}

/// Accepts every connection waiting on `listener`; returns whether accepting must pause (the
/// connection limit was reached, or the system ran out of descriptors or memory).
fn accept_ready<O: Observer + ?Sized>(
    listener: &mut Listening,
    registry: &Registry,
    table: &mut Table,
    observer: &mut O,
) -> bool {
    loop {
        if table.is_full() {
            return true;
        }
        let accepted = match listener {
            Listening::Tcp(l) => l
                .accept_nonblocking()
                .map(|(s, a)| (Socket::Tcp(s), Peer::Tcp(a))),
            Listening::Unix(l, _) => l
                .accept_nonblocking()
                .map(|(s, a)| (Socket::Unix(s), Peer::Unix(a))),
        };
        match accepted {
            Ok((socket, peer)) => table.insert(socket, peer, registry, observer),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            // The client gave up before we got to it: nothing to do but take the next.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) =>
            {
                table.stats.accept_errors += 1;
            }
            // EMFILE, ENFILE, ENOBUFS, ENOMEM and the unexpected: the backlog keeps the
            // connections; retry shortly rather than spin.
            Err(_) => {
                table.stats.accept_errors += 1;
                return true;
            }
        }
    }
}

/// The listener a token stands for, if it is a listener's.
fn listener_index(token: Token, listeners: usize) -> Option<usize> {
    let i = FIRST_LISTENER.checked_sub(token.0)?;
    (i < listeners).then_some(i)
}

/// The first of the signals that arrived, if any; draining them all.
fn first_signal(signals: &mut Signals) -> Option<i32> {
    signals.pending().fold(None, |first, s| first.or(Some(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_builder_and_bound() {
        let c = ServerConfig::new();
        assert_eq!(c, ServerConfig::default());
        assert_eq!(c.backlog(), 4096);
        assert_eq!(c.buffer_size(), 64 * 1024);
        assert_eq!(c.chunk(), 64 * 1024);
        assert!(c.nodelay());
        let c = c
            .with_backlog(10)
            .with_buffer_size(0)
            .with_chunk(0)
            .with_max_connections(0)
            .with_nodelay(false);
        assert_eq!(
            (c.backlog(), c.buffer_size(), c.chunk(), c.max_connections()),
            (10, 1, 1, 1)
        );
        assert!(!c.nodelay());
        let c = ServerConfig::new()
            .with_buffer_size(1 << 20)
            .with_max_connections(1 << 20);
        assert_eq!(c.memory_bound(), 1 << 40);
    }

    #[test]
    fn tokens_of_listeners_and_connections_stay_apart() {
        assert_eq!(listener_index(Token(FIRST_LISTENER), 2), Some(0));
        assert_eq!(listener_index(Token(FIRST_LISTENER - 1), 2), Some(1));
        assert_eq!(listener_index(Token(FIRST_LISTENER - 2), 2), None);
        assert_eq!(listener_index(Token(0), 2), None);
        assert_eq!(listener_index(WAKER, 2), None);
        assert_eq!(listener_index(SIGNALS, 2), None);
    }

    #[test]
    fn accepted_sockets_inherit_tcp_nodelay_from_the_listener() {
        let mut server = EchoServer::new(ServerConfig::new()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let probe = listener.socket().try_clone().unwrap();
        server.add_tcp(listener).unwrap();
        assert!(probe.tcp_nodelay().unwrap());
        // What the server relies on: the kernel copies the option into accepted sockets.
        let mut plain = TcpListener::from_socket(probe).unwrap();
        let _client = crate::tcp::TcpStream::connect(addr, None).unwrap();
        let (accepted, _) = plain.accept().unwrap();
        assert!(accepted.socket().tcp_nodelay().unwrap());
    }

    /// The only test that touches the process's descriptor limit (tests run in parallel).
    #[test]
    fn raise_fd_limit_raises_up_to_the_hard_limit_and_never_lowers() {
        let (soft, hard) = sys::nofile_limit().unwrap();
        assert!(soft <= hard);
        // Lowering the soft limit needs no privilege.
        sys::set_nofile_limit(soft - 1, hard).unwrap();
        assert_eq!(sys::nofile_limit().unwrap(), (soft - 1, hard));
        assert_eq!(raise_fd_limit(1).unwrap(), soft - 1);
        assert_eq!(raise_fd_limit(soft).unwrap(), soft);
        assert_eq!(sys::nofile_limit().unwrap(), (soft, hard));
        // A soft limit above the hard one is refused.
        if hard != libc::RLIM_INFINITY {
            let err = sys::set_nofile_limit(hard + 1, hard).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        }
    }
}
