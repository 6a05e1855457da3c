//! One connection's task: its session run by the core's async driver over the stream, the
//! bytes and activity counted on the way, an idle watchdog beside it, and a guard that
//! reports the end however it comes (finished, failed, idle, or the task aborted by the
//! server's stop).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ::tokio::sync::OwnedSemaphorePermit;
use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::transport::{ErrorType, Read, Shutdown, Stream, Write};
use portsock_core::drive::DriveError;

use super::accept::Unstarted;
use super::live::{Ending, Live};
use super::with_buffer;
use crate::observe::{Closed, Observer, Peer};
use crate::session::Session;

/// What every connection task shares: the counters, the idle timeout and the clock it is
/// measured on.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) live: std::sync::Arc<Live>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) started: Instant,
}

/// What a connection's task holds from its spawn on.
pub(crate) struct Start {
    /// Its place among the server's connections, for the task's life.
    pub(crate) permit: Option<OwnedSemaphorePermit>,
    pub(crate) unstarted: Unstarted,
    /// The session's buffer, allocated when the task first runs.
    pub(crate) buffer_size: usize,
}

impl Shared {
    /// Milliseconds since the server started (the idle clock).
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Serves one connection until its session is done, the stream fails, it idles past the
/// timeout, or the task is aborted; reports it to `observer` and the counters in every case.
///
/// The accept loop spawns this future itself (not an `async` block around it that would keep
/// a second copy of every argument in the task), so a connection's task is no bigger than it
/// needs be: each poll touches fewer cache lines, which counts at thousands of connections.
/// `start` is what the task holds from its spawn: the connection's permit, the counters, and
/// the size of the session's buffer, allocated here, on whichever worker runs the task.
pub(crate) async fn serve<S, M, O>(
    stream: S,
    mut session: M,
    observer: O,
    id: u64,
    peer: Peer,
    mut start: Start,
) where
    S: Stream<Error = io::Error>,
    M: Session,
    O: Observer<M>,
{
    let Start {
        permit: _permit,
        unstarted,
        buffer_size,
    } = &mut start;
    let shared = unstarted.start();
    // Back into the same place, not a new local beside it.
    session = with_buffer(session, *buffer_size);
    let activity = AtomicU64::new(shared.now_ms());
    let mut conn = Conn {
        stream: Metered {
            inner: stream,
            received: 0,
            sent: 0,
            activity: shared.idle_timeout.map(|_| (&activity, shared)),
        },
        session,
        observer,
        held: 0,
        id,
        peer,
        shared,
        ending: None,
    };
    conn.observer.accepted(id, &conn.peer);
    let Conn {
        stream,
        session,
        observer,
        held,
        peer,
        ..
    } = &mut conn;
    // Bytes read and about to be written at once are not counted: what counts, as in the mio
    // server (which counts what a turn leaves behind), is what a session holds while it waits
    // for its peer: an echo a write did not take whole, part of a record. So a steady echo
    // touches the shared counters not at all, rather than twice per round trip from every
    // worker.
    let mut about_to_write = false;
    // `move`: the closure holds the references themselves (and its flag), not references to
    // them, one load fewer for each on every step.
    let mut observe = move |s: &mut M| {
        observer.events(id, peer, s);
        observer.turn_done();
        let now = s.held() as u64;
        if now > 0 && s.poll_transmit().is_some() && !about_to_write {
            about_to_write = true;
            return;
        }
        about_to_write = false;
        if now != *held {
            shared.live.held(*held, now);
            *held = now;
        }
    };
    let run = run_stream(stream, session, &mut observe);
    let outcome = match shared.idle_timeout {
        None => Some(run.await),
        Some(timeout) => {
            ::tokio::select! {
                biased;
                done = run => Some(done),
                () = idle(&activity, timeout, shared) => None,
            }
        }
    };
    conn.ending = Some(match outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(Some(drive_error(e))),
        None => Err(None),
    });
}

/// Completes once nothing was read or written for `timeout`.
async fn idle(activity: &AtomicU64, timeout: Duration, shared: &Shared) {
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    loop {
        let last = activity.load(Ordering::Relaxed);
        let due = last.saturating_add(timeout_ms);
        let now = shared.now_ms();
        if now >= due {
            return;
        }
        ::tokio::time::sleep(Duration::from_millis(due - now)).await;
    }
}

/// A driver's error as the `io::Error` the observer is shown.
fn drive_error<E: std::fmt::Display + embedded_io::Error>(
    e: DriveError<io::Error, E>,
) -> io::Error {
    match e {
        DriveError::Transport(e) => e,
        DriveError::Protocol(e) => {
            io::Error::new(embedded_io::Error::kind(&e).into(), e.to_string())
        }
        other => io::Error::other(other.to_string()),
    }
}

/// A connection being served; dropping it reports how it ended.
struct Conn<'a, S, M: Session, O: Observer<M>> {
    stream: Metered<'a, S>,
    session: M,
    observer: O,
    /// What the session held when last counted.
    held: u64,
    id: u64,
    peer: Peer,
    shared: &'a Shared,
    /// `None` while it runs (dropped then: the server stopped); `Err(None)`: idle timeout.
    ending: Option<Result<(), Option<io::Error>>>,
}

impl<S, M: Session, O: Observer<M>> Drop for Conn<'_, S, M, O> {
    fn drop(&mut self) {
        let (ending, how) = match &self.ending {
            None => (Ending::Normal, Closed::Shutdown),
            Some(Ok(())) => (Ending::Normal, Closed::Finished),
            Some(Err(Some(e))) => (Ending::Failed, Closed::Failed(e)),
            Some(Err(None)) => (Ending::TimedOut, Closed::IdleTimeout),
        };
        self.shared.live.held(self.held, 0);
        self.shared
            .live
            .closed(ending, self.stream.received, self.stream.sent);
        self.observer.closed(self.id, &self.peer, how);
        self.observer.turn_done();
    }
}

/// A stream that counts what moves through it and, with an idle timeout, when it last moved.
struct Metered<'a, S> {
    inner: S,
    received: u64,
    sent: u64,
    activity: Option<(&'a AtomicU64, &'a Shared)>,
}

impl<S> Metered<'_, S> {
    fn touch(&self) {
        if let Some((activity, shared)) = self.activity {
            activity.store(shared.now_ms(), Ordering::Relaxed);
        }
    }
}

impl<S: ErrorType> ErrorType for Metered<'_, S> {
    type Error = S::Error;
}

impl<S: Read> Read for Metered<'_, S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.inner.read(buf).await?;
        self.received += n as u64;
        self.touch();
        Ok(n)
    }
}

impl<S: Write> Write for Metered<'_, S> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = self.inner.write(buf).await?;
        self.sent += n as u64;
        self.touch();
        Ok(n)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().await
    }
}

impl<S: Stream<Error = io::Error>> Stream for Metered<'_, S> {
    type Addr = S::Addr;

    async fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error> {
        match self.inner.shutdown(how).await {
            // The peer may be gone altogether by now; what it was sent was delivered.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn local_addr(&self) -> Result<Self::Addr, Self::Error> {
        self.inner.local_addr()
    }

    fn peer_addr(&self) -> Result<Self::Addr, Self::Error> {
        self.inner.peer_addr()
    }
}
