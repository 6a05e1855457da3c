//! [`Server`]: the listeners, the event loop, signals and the stop handle.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use portsock_core::transport::Listener;
use portsock_std::tcp::TcpListener;
use portsock_std::unix::{UnixAddr, UnixBindOptions, UnixListener};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use crate::ServerConfig;
use crate::conn::{Socket, Table};
use crate::observe::{Observer, Peer};
use crate::session::{EchoSessions, NewSession};
use crate::stats::{Counters, StatsHandle};
use crate::stop::{StopReason, Stopped};

/// A cloneable handle that stops a running [`Server`] from any thread, as SIGTERM does.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    requested: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

/// The event-driven server: listeners, an event loop, and a session made by `N` per
/// connection. See the [crate documentation](crate).
pub struct Server<N = EchoSessions> {
    poll: Poll,
    config: ServerConfig,
    new_session: N,
    listeners: Vec<Listening>,
    signals: Option<Signals>,
    /// The signal that arrived (0: none), set by the handler itself, so the loop sees it
    /// between two connections without polling.
    signalled: Arc<AtomicUsize>,
    requested: Arc<AtomicBool>,
    waker: Arc<Waker>,
    counters: Arc<Counters>,
}

/// The echo server: a [`Server`] of
/// [`EchoSession`](portsock_core::echo::stream::EchoSession)s.
pub type EchoServer = Server<EchoSessions>;

/// A listening socket the server accepts from.
struct Listening {
    socket: ListenSocket,
    /// Connections may wait in its backlog (an edge was seen and not yet drained).
    pending: bool,
}

enum ListenSocket {
    Tcp(TcpListener),
    /// With the path the server bound itself, which it removes when it stops.
    Unix(UnixListener, Option<PathBuf>),
}

/// What accepting from a listener came to.
enum Accepting {
    /// Its backlog is empty.
    Drained,
    /// The turn's share of accepts is used up; more may wait.
    More,
    /// The connection limit was reached, or the system ran out of descriptors or memory.
    Paused,
}

/// The waker's token; listeners count down from [`FIRST_LISTENER`], connections up from 0.
const WAKER: Token = Token(usize::MAX);
const SIGNALS: Token = Token(usize::MAX - 1);
const FIRST_LISTENER: usize = usize::MAX - 2;
/// Readiness events taken from the kernel per wakeup.
const EVENTS: usize = 1024;
/// How soon to try accepting again after running out of descriptors or memory.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// Connections accepted per listener per turn, so a burst does not hold up the others.
const ACCEPT_BUDGET: usize = 256;

impl ShutdownHandle {
    /// Asks the server to stop, and returns at once; [`Server::run`] then closes every
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
    /// An echo server with no listener yet, its sessions reading [`ServerConfig::chunk`]
    /// bytes at a time; add listeners with [`bind_tcp`](Self::bind_tcp),
    /// [`bind_unix`](Self::bind_unix), [`add_tcp`](Self::add_tcp) or
    /// [`add_unix`](Self::add_unix).
    ///
    /// # Errors
    ///
    /// Creating the epoll instance or its eventfd failed (out of descriptors).
    pub fn new(config: ServerConfig) -> io::Result<Self> {
        Self::with_sessions(config, EchoSessions::new(config.chunk()))
    }
}

impl<N: NewSession> Server<N> {
    /// A server whose connections each get a session from `new_session` (a closure
    /// `|| session`, say), with no listener yet.
    ///
    /// # Errors
    ///
    /// Creating the epoll instance or its eventfd failed (out of descriptors).
    pub fn with_sessions(config: ServerConfig, new_session: N) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Self {
            poll,
            config,
            new_session,
            listeners: Vec::new(),
            signals: None,
            signalled: Arc::new(AtomicUsize::new(0)),
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
        self.add_tcp(TcpListener::bind_with_backlog(addr, self.config.backlog())?)
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
        if self.config.nodelay() {
            listener.socket().set_tcp_nodelay(true)?;
        }
        self.register_listener(listener.as_raw_fd())?;
        self.listeners.push(Listening {
            socket: ListenSocket::Tcp(listener),
            pending: true,
        });
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
        let listener = UnixListener::bind_with(path, options.backlog(self.config.backlog()))?;
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

    /// Stops the server on SIGINT (Ctrl-C) or SIGTERM: the handler sets a flag the loop
    /// reads between two connections, and wakes the poll through a self-pipe
    /// (`signal-hook-mio`); [`Stopped::reason`] names the signal.
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
        for signal in [SIGINT, SIGTERM] {
            signal_hook::flag::register_usize(
                signal,
                Arc::clone(&self.signalled),
                signal as usize,
            )?;
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
    /// show in [`Stats`](crate::Stats) and the [`Observer`].
    pub fn run(self) -> io::Result<Stopped> {
        self.run_with(&mut ())
    }

    /// As [`run`](Self::run), telling `observer` about every connection and session event.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub fn run_with<O>(mut self, observer: &mut O) -> io::Result<Stopped>
    where
        O: Observer<N::Session> + ?Sized,
    {
        let started = Instant::now();
        let mut table = Table::new(self.config);
        let mut events = Events::with_capacity(EVENTS);
        // Accepting stopped at the connection limit or for lack of descriptors, since then.
        let mut accept_paused: Option<Instant> = None;
        let idle_timeout = self.config.idle_timeout();
        let sweep_every = idle_timeout.map(|t| (t / 4).max(Duration::from_millis(1)));
        let mut next_sweep = sweep_every.map(|every| started + every);
        let (requested, signalled) = (&*self.requested, &*self.signalled);
        let stop_reason = || {
            if requested.load(Ordering::Acquire) {
                return Some(StopReason::Requested);
            }
            match signalled.load(Ordering::Acquire) {
                0 => None,
                signal => Some(StopReason::Signal(signal as i32)),
            }
        };
        let outcome = loop {
            self.counters.publish(&table.stats);
            if let Some(reason) = stop_reason() {
                break Ok(reason);
            }
            observer.turn_done();
            let accepting = accept_paused.is_none() && self.listeners.iter().any(|l| l.pending);
            let timeout = if table.has_ready() || accepting {
                Some(Duration::ZERO)
            } else {
                let now = Instant::now();
                let retry = accept_paused
                    .map(|since| (since + ACCEPT_RETRY).saturating_duration_since(now));
                let sweep = next_sweep.map(|at: Instant| at.saturating_duration_since(now));
                retry.into_iter().chain(sweep).min()
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
            table.now = Instant::now();
            let registry = self.poll.registry();
            let closed_before = table.stats.closed;
            for event in &events {
                match event.token() {
                    WAKER => {} // the flag is read at the top of the loop
                    SIGNALS => {
                        // The handler set the flag; drain the pipe.
                        if let Some(signals) = self.signals.as_mut() {
                            signals.pending().for_each(drop);
                        }
                    }
                    token => match listener_index(token, self.listeners.len()) {
                        Some(i) => self.listeners[i].pending = true,
                        None => table.mark(token.0, event),
                    },
                }
            }
            let mut stop = || stop_reason().is_some();
            if table.run_ready(registry, observer, &mut stop) {
                continue; // the stop is taken at the top of the loop
            }
            if let Some(at) = next_sweep
                && table.now >= at
                && let Some(timeout) = idle_timeout
            {
                table.close_idle(timeout, observer);
                next_sweep = sweep_every.map(|every| table.now + every);
            }
            // Edge-triggered listeners signal a new connection only once: after a pause, take
            // what waits in their backlogs as soon as there is room again.
            if let Some(since) = accept_paused
                && (table.stats.closed > closed_before || table.now >= since + ACCEPT_RETRY)
            {
                accept_paused = None;
                for listener in &mut self.listeners {
                    listener.pending = true;
                }
            }
            if accept_paused.is_none() {
                for listener in self.listeners.iter_mut().filter(|l| l.pending) {
                    match accept_ready(
                        listener,
                        registry,
                        &mut table,
                        &mut self.new_session,
                        observer,
                    ) {
                        Accepting::Drained => listener.pending = false,
                        Accepting::More => {}
                        Accepting::Paused => {
                            accept_paused = Some(table.now);
                            break;
                        }
                    }
                }
            }
        };
        table.close_all(observer);
        observer.turn_done();
        self.counters.publish(&table.stats);
        self.remove_socket_files();
        outcome.map(|reason| Stopped {
            reason,
            stats: table.stats,
            ran: started.elapsed(),
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
        self.listeners.push(Listening {
            socket: ListenSocket::Unix(listener, bound),
            pending: true,
        });
        Ok(addr)
    }

    fn register_listener(&self, fd: std::os::fd::RawFd) -> io::Result<()> {
        let token = Token(FIRST_LISTENER - self.listeners.len());
        self.poll
            .registry()
            .register(&mut SourceFd(&fd), token, Interest::READABLE)
    }

    /// Removes the socket files of the paths this server bound, if they are still sockets.
    fn remove_socket_files(&mut self) {
        for listener in self.listeners.drain(..) {
            if let ListenSocket::Unix(listener, Some(_)) = listener.socket {
                // Only while the path still names the node this listener bound (another
                // server may have taken the path over); best effort: a leftover file is
                // removed as stale by the next bind.
                let _ = listener.remove_node();
            }
        }
    }
}

impl<N> fmt::Debug for Server<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("listeners", &self.listeners.len())
            .field("catches_signals", &self.signals.is_some())
            .field("stats", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

/// Accepts up to [`ACCEPT_BUDGET`] connections waiting on `listener`, each with a new session.
fn accept_ready<N, O>(
    listener: &mut Listening,
    registry: &Registry,
    table: &mut Table<N::Session>,
    new_session: &mut N,
    observer: &mut O,
) -> Accepting
where
    N: NewSession,
    O: Observer<N::Session> + ?Sized,
{
    for _ in 0..ACCEPT_BUDGET {
        if table.is_full() {
            return Accepting::Paused;
        }
        let accepted = match &mut listener.socket {
            ListenSocket::Tcp(l) => l
                .accept_nonblocking()
                .map(|(s, a)| (Socket::Tcp(s), Peer::Tcp(a))),
            ListenSocket::Unix(l, _) => l
                .accept_nonblocking()
                .map(|(s, a)| (Socket::Unix(s), Peer::Unix(a))),
        };
        match accepted {
            Ok((socket, peer)) => {
                table.insert(socket, peer, new_session.new_session(), registry, observer);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Accepting::Drained,
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
                return Accepting::Paused;
            }
        }
    }
    Accepting::More
}

/// The listener a token stands for, if it is a listener's.
fn listener_index(token: Token, listeners: usize) -> Option<usize> {
    let i = FIRST_LISTENER.checked_sub(token.0)?;
    (i < listeners).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let _client = portsock_std::tcp::TcpStream::connect(addr, None).unwrap();
        let (accepted, _) = plain.accept().unwrap();
        assert!(accepted.socket().tcp_nodelay().unwrap());
    }
}
