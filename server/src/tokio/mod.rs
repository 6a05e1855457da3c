//! [`TokioServer`]: the same sessions as the mio [`Server`](crate::Server), a tokio task per
//! connection (feature `tokio`).
//!
//! Each connection is a task that runs its [`Session`] with the core's async driver,
//! [`run_stream`](portsock_core::asynch::drive::run_stream), over portsock-std's tokio
//! streams ([`portsock_std::tokio`]): the protocol code is the mio server's, byte for byte;
//! only the I/O underneath is tokio's. What the mio server guarantees, this one does too, by
//! tokio's means:
//!
//! * **Bounded memory per connection.** A session owns one buffer of
//!   [`ServerConfig::buffer_size`] bytes for the connection's life (the mio server lends
//!   idle connections none; here an idle connection keeps its own, the price of a task per
//!   connection). A session full of bytes the client has not taken back stops reading, and
//!   TCP's flow control stops the client. At most [`ServerConfig::max_connections`] are
//!   served at once (a semaphore; more wait in the listen backlog), so the bound is
//!   [`ServerConfig::memory_bound`].
//! * **Fairness.** Every read and write goes through tokio's I/O driver, which charges the
//!   task's cooperative budget (128 operations per turn); a client pushing megabytes makes
//!   its task yield to the others, and the runtime's workers serve other connections
//!   meanwhile.
//! * **Idle timeout.** A watchdog beside each session closes the connection once nothing
//!   was read or written for [`ServerConfig::idle_timeout`] (within a millisecond or so).
//! * **Running out of descriptors** (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) pauses
//!   accepting until a connection closes or 50 ms have passed, as the mio server does; the
//!   connections wait in the backlog.
//! * **Prompt shutdown.** [`TokioServer::catch_signals`] makes SIGINT and SIGTERM stop the
//!   server (tokio's signal handling), as does a [`TokioShutdownHandle`]; every connection
//!   task is then aborted at its next `.await`, reported as
//!   [`Closed::Shutdown`](crate::Closed::Shutdown), and [`run`](TokioServer::run) returns the
//!   final [`Stats`](crate::Stats).
//!
//! An [`Observer`] sees each connection as the mio server's does, but each connection has
//! its own, made by the [`NewObserver`] given to [`run_with`](TokioServer::run_with) when it
//! is accepted, and called from the connection's task: `turn_done` after every step of the
//! session (the task may wait next).
//!
//! ```
//! use std::thread;
//! use portsock_core::drive::run_stream;
//! use portsock_core::echo::CHAPTER_MESSAGE;
//! use portsock_core::echo::stream::EchoClient;
//! use portsock_server::tokio::TokioServer;
//! use portsock_server::{ServerConfig, StopReason};
//! use portsock_std::tcp::TcpStream;
//!
//! let mut server = TokioServer::new(ServerConfig::new());
//! let addr = server.bind_tcp("127.0.0.1:0".parse()?)?;
//! let stop = server.shutdown_handle();
//! let running = thread::spawn(move || server.run());
//!
//! let mut sock = TcpStream::connect(addr, None)?;
//! let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 64]);
//! run_stream(&mut sock, &mut client, &mut |_| {})?; // every byte checked
//! drop(sock);
//!
//! stop.shutdown();
//! let stopped = running.join().expect("server thread")?;
//! assert_eq!(stopped.reason, StopReason::Requested);
//! assert_eq!(stopped.stats.accepted, 1);
//! assert_eq!(stopped.stats.bytes_sent, CHAPTER_MESSAGE.len() as u64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accept;
mod conn;
mod live;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::tokio::sync::{Semaphore, watch};
use ::tokio::task::JoinSet;
use portsock_std::tcp::TcpListener;
use portsock_std::unix::{UnixAddr, UnixBindOptions, UnixListener};

use self::accept::Listening;
use self::conn::Shared;
pub(crate) use self::live::Live;
use crate::observe::Observer;
use crate::session::{EchoSessions, NewSession, Session};
use crate::stop::{StopReason, Stopped};
use crate::{ServerConfig, StatsHandle};

/// The tokio server: listeners, a multi-threaded runtime, and a task per connection running
/// a session made by `N`. See the [module documentation](self).
#[derive(Debug)]
pub struct TokioServer<N = EchoSessions> {
    config: ServerConfig,
    new_session: N,
    listeners: Vec<Listening>,
    signals: bool,
    stop: watch::Sender<Option<StopReason>>,
    live: Arc<Live>,
}

/// A cloneable handle that stops a running [`TokioServer`] from any thread (or task).
#[derive(Debug, Clone)]
pub struct TokioShutdownHandle {
    stop: watch::Sender<Option<StopReason>>,
}

impl TokioShutdownHandle {
    /// Asks the server to stop, and returns at once; calling it again, or after the server
    /// stopped, does nothing.
    pub fn shutdown(&self) {
        self.stop.send_if_modified(|reason| {
            let first = reason.is_none();
            if first {
                *reason = Some(StopReason::Requested);
            }
            first
        });
    }

    /// Whether a stop was asked for (through a handle or a signal).
    pub fn is_requested(&self) -> bool {
        self.stop.borrow().is_some()
    }
}

/// Makes the [`Observer`] of each accepted connection. Any `FnMut() -> O` closure that can
/// be cloned and sent to the runtime is one; `|| ()` watches nothing.
pub trait NewObserver<S>: Clone + Send + 'static {
    /// The observer type.
    type Observer: Observer<S> + Send + 'static;

    /// A fresh observer, for a connection just accepted.
    fn new_observer(&mut self) -> Self::Observer;
}

impl<S, O, F> NewObserver<S> for F
where
    O: Observer<S> + Send + 'static,
    F: FnMut() -> O + Clone + Send + 'static,
{
    type Observer = O;

    fn new_observer(&mut self) -> O {
        self()
    }
}

impl TokioServer {
    /// An echo server with no listener yet, its sessions reading [`ServerConfig::chunk`]
    /// bytes at a time.
    pub fn new(config: ServerConfig) -> Self {
        Self::with_sessions(config, EchoSessions::new(config.chunk()))
    }
}

impl<N> TokioServer<N>
where
    N: NewSession + Clone + Send + 'static,
    N::Session: Send + 'static,
{
    /// A server whose connections each get a session from `new_session`, with no listener
    /// yet. The factory is cloned for each listener. The server gives each session a buffer
    /// of [`ServerConfig::buffer_size`] bytes.
    pub fn with_sessions(config: ServerConfig, new_session: N) -> Self {
        Self {
            config,
            new_session,
            listeners: Vec::new(),
            signals: false,
            stop: watch::channel(None).0,
            live: Arc::default(),
        }
    }

    /// Binds `addr` with the configured backlog (and `TCP_NODELAY`, passed on to the
    /// sockets it accepts, with [`ServerConfig::nodelay`]); returns the address bound.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::bind_with_backlog`].
    pub fn bind_tcp(&mut self, addr: SocketAddr) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind_with_backlog(addr, self.config.backlog())?;
        if self.config.nodelay() {
            listener.socket().set_tcp_nodelay(true)?;
        }
        let local = portsock_core::transport::Listener::local_addr(&listener)?;
        self.listeners.push(Listening::tcp(listener)?);
        Ok(local)
    }

    /// Binds the Unix socket `path` (a stale socket file there is removed, nothing else is)
    /// with the configured backlog; the server removes the node when it stops, if it is still
    /// its own.
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind_with`].
    pub fn bind_unix(&mut self, path: impl AsRef<Path>) -> io::Result<UnixAddr> {
        self.bind_unix_with(path, UnixBindOptions::new())
    }

    /// Binds the Unix socket `path` (a stale socket file there is removed, nothing else is)
    /// with the configured backlog and `options`; the server removes the node when it stops,
    /// if it is still its own.
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind_with`].
    pub fn bind_unix_with(
        &mut self,
        path: impl AsRef<Path>,
        options: UnixBindOptions,
    ) -> io::Result<UnixAddr> {
        let listener =
            UnixListener::bind_with(path.as_ref(), options.backlog(self.config.backlog()))?;
        let local = portsock_core::transport::Listener::local_addr(&listener)?;
        self.listeners.push(Listening::unix(listener)?);
        Ok(local)
    }

    /// Stops the server on SIGINT or SIGTERM (tokio's signal handlers, installed when the
    /// server starts); [`Stopped::reason`] names the signal. As with the mio server, the
    /// handlers are the process's and stay installed after the server stops.
    pub fn catch_signals(&mut self) {
        self.signals = true;
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> TokioShutdownHandle {
        TokioShutdownHandle {
            stop: self.stop.clone(),
        }
    }

    /// A handle on the server's counters, readable from any thread while it runs. Bytes are
    /// counted when their connection closes.
    pub fn stats(&self) -> StatsHandle {
        StatsHandle::live(Arc::clone(&self.live))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Serves on a multi-threaded runtime of its own (a worker per core) until stopped, then
    /// closes every connection and listener.
    ///
    /// # Errors
    ///
    /// Starting the runtime, registering a listener or installing the signal handlers
    /// failed. Errors of single connections or of `accept` never end the server.
    pub fn run(self) -> io::Result<Stopped> {
        self.run_with(|| ())
    }

    /// As [`run`](Self::run), with an observer per connection from `observers`.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub fn run_with<W: NewObserver<N::Session>>(self, observers: W) -> io::Result<Stopped> {
        let runtime = ::tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let stopped = runtime.block_on(self.serve_with(observers));
        // Connection tasks were aborted and awaited; nothing is left to wait for.
        runtime.shutdown_background();
        stopped
    }

    /// As [`run_with`](Self::run_with), on the runtime the caller is in (which must have
    /// I/O, time and, with [`catch_signals`](Self::catch_signals), signals enabled).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub async fn serve_with<W: NewObserver<N::Session>>(
        mut self,
        observers: W,
    ) -> io::Result<Stopped> {
        let started = Instant::now();
        let shared = Arc::new(Shared {
            live: Arc::clone(&self.live),
            idle_timeout: self.config.idle_timeout(),
            started,
        });
        let permits = Arc::new(Semaphore::new(self.config.max_connections()));
        let mut loops = JoinSet::new();
        let mut nodes = Vec::new();
        for listening in self.listeners.drain(..) {
            let (acceptor, node) = listening.start()?;
            nodes.extend(node);
            loops.spawn(accept::accept_loop(
                acceptor,
                self.new_session.clone(),
                observers.clone(),
                self.config.buffer_size(),
                Arc::clone(&permits),
                Arc::clone(&shared),
                self.stop.subscribe(),
            ));
        }
        let signals = if self.signals {
            Some(signals(self.stop.clone())?)
        } else {
            None
        };
        let mut stopping = self.stop.subscribe();
        // The sender lives in `self`, so this ends only with a stop.
        let _ = stopping.wait_for(Option::is_some).await;
        let reason = (*stopping.borrow()).unwrap_or(StopReason::Requested);
        // Each accept loop aborts its connections and waits for them before it returns.
        while loops.join_next().await.is_some() {}
        if let Some(signals) = signals {
            signals.abort();
        }
        for node in nodes {
            // Best effort: a leftover node is removed as stale by the next bind.
            let _ = node.remove_node();
        }
        Ok(Stopped {
            reason,
            stats: self.live.snapshot(),
            ran: started.elapsed(),
        })
    }
}

/// How soon to try accepting again after running out of descriptors or memory.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Turns SIGINT and SIGTERM into a stop naming the signal.
fn signals(stop: watch::Sender<Option<StopReason>>) -> io::Result<::tokio::task::JoinHandle<()>> {
    use ::tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(::tokio::spawn(async move {
        let signal = ::tokio::select! {
            _ = interrupt.recv() => SignalKind::interrupt(),
            _ = terminate.recv() => SignalKind::terminate(),
        };
        stop.send_if_modified(|reason| {
            let first = reason.is_none();
            if first {
                *reason = Some(StopReason::Signal(signal.as_raw_value()));
            }
            first
        });
    }))
}

/// A fresh `session` with a buffer of `size` bytes of its own.
fn with_buffer<S: Session>(mut session: S, size: usize) -> S {
    // A fresh session holds nothing: the swap cannot be refused.
    let _ = session.replace_buffer(vec![0u8; size].into_boxed_slice());
    session
}
