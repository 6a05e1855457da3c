//! The listeners and their accept loops: a permit per connection, a task per connection,
//! and every task aborted when the server stops.

use std::io;
use std::sync::Arc;

use ::tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use ::tokio::task::JoinSet;
use portsock_core::asynch::transport::Listener as _;
use portsock_std::tcp::TcpListener;
use portsock_std::tokio::{TcpListener as TokioTcp, UnixListener as TokioUnix};
use portsock_std::unix::UnixListener;

use super::conn::{self, Shared, Start};
use super::live::Ending;
use super::{ACCEPT_RETRY, NewObserver};
use crate::observe::Peer;
use crate::session::NewSession;
use crate::stop::StopReason;

/// A listening socket bound before the runtime starts (tokio's listeners need one).
#[derive(Debug)]
pub(super) enum Listening {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// A listener on the runtime.
pub(super) enum Acceptor {
    Tcp(TokioTcp),
    Unix(TokioUnix),
}

impl Listening {
    pub(super) fn tcp(listener: TcpListener) -> io::Result<Self> {
        listener.socket().set_nonblocking(true)?;
        Ok(Self::Tcp(listener))
    }

    pub(super) fn unix(listener: UnixListener) -> io::Result<Self> {
        listener.socket().set_nonblocking(true)?;
        Ok(Self::Unix(listener))
    }

    /// Registers it with the runtime; for a Unix listener, also returns the listener that
    /// knows its node (it shares the socket), to remove the node at the end.
    pub(super) fn start(self) -> io::Result<(Acceptor, Option<UnixListener>)> {
        match self {
            Self::Tcp(listener) => {
                let std = std::net::TcpListener::from(listener.into_socket());
                Ok((Acceptor::Tcp(TokioTcp::from_std(std)?), None))
            }
            Self::Unix(listener) => {
                let socket = listener.socket().try_clone()?;
                let std = std::os::unix::net::UnixListener::from(socket);
                Ok((Acceptor::Unix(TokioUnix::from_std(std)?), Some(listener)))
            }
        }
    }
}

/// Accepts until the server stops, a task per connection, each holding a permit of
/// `permits` for its life; then aborts every connection task and waits for them.
pub(super) async fn accept_loop<N, W>(
    acceptor: Acceptor,
    mut new_session: N,
    mut observers: W,
    buffer_size: usize,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<Option<StopReason>>,
) where
    N: NewSession + Send + 'static,
    N::Session: Send + 'static,
    W: NewObserver<N::Session>,
{
    let mut tasks = JoinSet::new();
    let mut permit: Option<OwnedSemaphorePermit> = None;
    // Accepting failed for lack of descriptors or memory.
    let mut paused = false;
    loop {
        if permit.is_none() {
            // The common case, without a round of the select for it.
            permit = Arc::clone(&permits).try_acquire_owned().ok();
        }
        if paused {
            // Retry once a connection closes, or shortly, rather than spin.
            ::tokio::select! {
                biased;
                _ = stop.wait_for(Option::is_some) => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = ::tokio::time::sleep(ACCEPT_RETRY) => {}
            }
            paused = false;
        }
        ::tokio::select! {
            biased;
            _ = stop.wait_for(Option::is_some) => break,
            // Finished connections' tasks, reaped so the set holds only live ones.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            p = Arc::clone(&permits).acquire_owned(), if permit.is_none() => {
                permit = p.ok();
            }
            accepted = acceptor.accept(), if permit.is_some() => match accepted {
                Ok(stream) => {
                    let id = shared.live.accepted();
                    let session = new_session.new_session();
                    let observer = observers.new_observer();
                    let start = Start {
                        permit: permit.take(),
                        unstarted: Unstarted::new(&shared),
                        buffer_size,
                    };
                    // The task allocates its session's buffer, on whichever worker runs it,
                    // so the accept loop only accepts and spawns.
                    match stream {
                        Accepted::Tcp(s, peer) => {
                            tasks.spawn(conn::serve(s, session, observer, id, peer, start))
                        }
                        Accepted::Unix(s, peer) => {
                            tasks.spawn(conn::serve(s, session, observer, id, peer, start))
                        }
                    };
                }
                // The client gave up before we got to it: take the next.
                Err(e) if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => shared.live.accept_error(),
                // EMFILE, ENFILE, ENOBUFS, ENOMEM and the unexpected: the backlog keeps the
                // connections.
                Err(_) => {
                    shared.live.accept_error();
                    paused = true;
                }
            },
        }
    }
    // Aborting a task drops its connection, which reports `Closed::Shutdown`.
    tasks.shutdown().await;
}

/// A connection counted as accepted whose task has not run yet: if the stop aborts the task
/// before it starts, dropping this counts the connection closed, so `accepted == active +
/// closed` still holds (its observer, never told of it, hears nothing).
pub(super) struct Unstarted {
    shared: Arc<Shared>,
    started: bool,
}

impl Unstarted {
    fn new(shared: &Arc<Shared>) -> Self {
        Self {
            shared: Arc::clone(shared),
            started: false,
        }
    }

    /// The task runs: from here its connection reports its own end.
    pub(super) fn start(&mut self) -> &Shared {
        self.started = true;
        &self.shared
    }
}

impl Drop for Unstarted {
    fn drop(&mut self) {
        if !self.started {
            self.shared.live.closed(Ending::Normal, 0, 0);
        }
    }
}

/// An accepted connection and its peer.
enum Accepted {
    Tcp(portsock_std::tokio::TcpStream, Peer),
    Unix(portsock_std::tokio::UnixStream, Peer),
}

impl Acceptor {
    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Self::Tcp(l) => l
                .accept()
                .await
                .map(|(s, addr)| Accepted::Tcp(s, Peer::Tcp(addr))),
            Self::Unix(l) => l
                .accept()
                .await
                .map(|(s, addr)| Accepted::Unix(s, Peer::Unix(addr))),
        }
    }
}
