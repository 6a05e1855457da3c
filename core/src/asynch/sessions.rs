//! Many stream sessions over one listener, awaited, without an allocator: the async
//! counterpart of [`drive::sessions`](crate::drive::sessions).
//!
//! [`Sessions::serve`] runs `N` workers in one future. Each accepts on the shared listener
//! (`accept(&self)`), makes a machine for the connection with the caller's factory, runs it
//! with [`run_stream`] until it finishes, fails or (with
//! [`with_idle_timeout`](Sessions::with_idle_timeout)) stays idle too long, and accepts again.
//! So at most `N` sessions are open at once; the (`N`+1)th connection waits in the listener's
//! backlog until a worker is free. Everything that happens goes to one callback of [`Event`]s.
//! When the `stop` future completes, every worker stops: an open session is closed (its
//! stream dropped) and reported as [`Event::Closed`], no connection is accepted any more, and
//! `serve` returns.
//!
//! The workers' futures live in `serve`'s own future (an array joined with `embassy-futures`'
//! `join_array`), so its size is `N` sessions' (their machines' buffers included): on firmware
//! put it in a static task; on a host spawn it like any other future. They take turns at
//! being polled first, as `tokio::join!`'s futures do, so that on tokio, whose cooperative
//! budget is the task's, one busy session cannot spend every poll's budget and starve the
//! others. (On tokio a task per connection is the more usual server; this helper is for
//! executors without an allocator, and works on any.)
//!
//! ```
//! use core::cell::Cell;
//! use core::future::poll_fn;
//! use core::pin::pin;
//! use core::task::{Context, Poll, Waker};
//! use portsock_core::asynch::sessions::{Event, Sessions};
//! use portsock_core::echo::stream::EchoSession;
//! use portsock_core::mem::{ManualClock, MemListener, StreamPair};
//! use portsock_core::time::Duration;
//! use portsock_core::transport::{Read, Shutdown, Stream, Write};
//!
//! let clock = ManualClock::new();
//! let pairs: [StreamPair<'_, 64>; 2] = core::array::from_fn(|_| StreamPair::new());
//! let listener = MemListener::new("127.0.0.1:10000".parse()?, &pairs);
//! let mut client = listener.connect()?;
//! client.write_all(b"hello")?;
//! client.shutdown(Shutdown::Write)?;
//!
//! let echoed = Cell::new(0);
//! // Stop once a session finished (a shutdown signal, a channel, a timer...).
//! let stop = poll_fn(|_| if echoed.get() > 0 { Poll::Ready(()) } else { Poll::Pending });
//! let serve = Sessions::new(&listener, &clock)
//!     .with_idle_timeout(Duration::from_secs(30))
//!     .serve::<2, _, _, _, _>(
//!         |_peer| EchoSession::new([0u8; 1024]),
//!         |event| {
//!             if let Event::Finished { machine, .. } = event {
//!                 echoed.set(machine.sent());
//!             }
//!         },
//!         stop,
//!     );
//! // Any executor runs it (tokio, embassy); the in-memory transport never really waits, so
//! // polling in a loop does here.
//! let mut serve = pin!(serve);
//! while serve.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending() {}
//! assert_eq!(echoed.get(), 5);
//! let mut echo = [0u8; 8];
//! assert_eq!(client.read(&mut echo)?, 5);
//! assert_eq!(&echo[..5], b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cancellation
//!
//! `serve` is not cancel-safe: dropping its future drops every open session's stream (the
//! peers see the connection close) without reporting them. Connections not yet accepted stay
//! in the listener's backlog ([`Listener::accept`] is cancel-safe). Stop it with the `stop`
//! future instead to have each open session reported as [`Event::Closed`].

use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embassy_futures::join::join_array;

use super::drive::run_stream;
use super::select::{Either, first};
use super::time::Timer;
use super::transport::Listener;
use crate::drive::DriveError;
use crate::machine::StreamMachine;
use crate::time::{Duration, Instant};

/// How long a worker waits after a failed `accept` before accepting again (a listener out of
/// file descriptors fails at once, and retrying at once would spin).
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What happened to a session (or to `accept`), as [`Sessions::serve`] reports it. Every
/// `Accepted` is followed, in a later event, by exactly one `Finished`, `Failed`,
/// `IdleTimeout` or `Closed` of the same `id`.
///
/// Its `Debug` shows everything but the machine (so neither the listener nor the machine need
/// be `Debug`).
#[non_exhaustive]
pub enum Event<'a, L: Listener, M: StreamMachine> {
    /// A connection was accepted and its machine made.
    Accepted {
        /// The session's number: 0 for the first accepted, then 1, 2, ...
        id: u64,
        /// The worker serving it, `0..N`.
        worker: usize,
        /// Who connected.
        peer: &'a L::Addr,
        /// The new machine.
        machine: &'a mut M,
    },
    /// The driver's observer, called after every input and output: poll the machine's events
    /// here (they borrow its buffer).
    Stepped {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The machine, to poll its events.
        machine: &'a mut M,
    },
    /// The machine is done; its stream is dropped (closed) after this event.
    Finished {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The finished machine.
        machine: &'a mut M,
    },
    /// The session failed: a transport error (a reset), the protocol's verdict or a driver
    /// error. Its stream is dropped after this event.
    Failed {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The machine as the failure left it.
        machine: &'a mut M,
        /// What went wrong.
        error: DriveError<L::Error, M::Error>,
    },
    /// Nothing was read or written for the [idle timeout](Sessions::with_idle_timeout): the
    /// session is closed, its stream dropped after this event (on TCP a graceful close).
    IdleTimeout {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The unfinished machine.
        machine: &'a mut M,
    },
    /// `stop` completed while the session was open: it is closed, its stream dropped after
    /// this event.
    Closed {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The unfinished machine.
        machine: &'a mut M,
    },
    /// `accept` failed (e.g. out of file descriptors). The worker accepts again after
    /// [`ACCEPT_RETRY`]; the others go on.
    AcceptFailed {
        /// The worker.
        worker: usize,
        /// The listener's error.
        error: L::Error,
    },
}

impl<L: Listener, M: StreamMachine> fmt::Debug for Event<'_, L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, id, peer) = match self {
            Self::Accepted {
                id, worker, peer, ..
            } => {
                return f
                    .debug_struct("Accepted")
                    .field("id", id)
                    .field("worker", worker)
                    .field("peer", peer)
                    .finish_non_exhaustive();
            }
            Self::Failed {
                id, peer, error, ..
            } => {
                return f
                    .debug_struct("Failed")
                    .field("id", id)
                    .field("peer", peer)
                    .field("error", error)
                    .finish_non_exhaustive();
            }
            Self::AcceptFailed { worker, error } => {
                return f
                    .debug_struct("AcceptFailed")
                    .field("worker", worker)
                    .field("error", error)
                    .finish();
            }
            Self::Stepped { id, peer, .. } => ("Stepped", id, peer),
            Self::Finished { id, peer, .. } => ("Finished", id, peer),
            Self::IdleTimeout { id, peer, .. } => ("IdleTimeout", id, peer),
            Self::Closed { id, peer, .. } => ("Closed", id, peer),
        };
        f.debug_struct(name)
            .field("id", id)
            .field("peer", peer)
            .finish_non_exhaustive()
    }
}

/// `N` stream sessions at a time over one listener; see the [module doc](self).
pub struct Sessions<'a, L, T> {
    listener: &'a L,
    timer: &'a T,
    idle: Option<Duration>,
}

impl<'a, L: Listener, T: Timer> Sessions<'a, L, T> {
    /// Sessions accepted on `listener`, with time from `timer` (for the idle timeout and the
    /// pause after a failed `accept`).
    pub fn new(listener: &'a L, timer: &'a T) -> Self {
        Self {
            listener,
            timer,
            idle: None,
        }
    }

    /// Closes a session on which nothing was read or written for `timeout` (a zero timeout
    /// counts as 1 ms), as [`Event::IdleTimeout`]. A session waiting to write to a peer that
    /// does not read is idle too, as in [`drive::sessions`](crate::drive::sessions).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = Some(timeout.max(Duration::from_millis(1)));
        self
    }

    /// The idle timeout, if there is one.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle
    }

    /// Serves connections with `N` workers until `stop` completes, making each session's
    /// machine with `make(&peer)` and reporting everything to `on`; returns once every worker
    /// has stopped (at once when `stop` completes: open sessions are closed, not awaited).
    ///
    /// With `N` = 0 there is nobody to serve and it returns at once.
    pub async fn serve<const N: usize, M, Make, On, Stop>(self, make: Make, on: On, stop: Stop)
    where
        M: StreamMachine,
        Make: FnMut(&L::Addr) -> M,
        On: FnMut(Event<'_, L, M>),
        Stop: Future<Output = ()>,
    {
        let shared = Shared {
            make: RefCell::new(make),
            on: RefCell::new(on),
            next_id: Cell::new(0),
            stopped: Cell::new(false),
            first: Cell::new(0),
            late: Cell::new(false),
        };
        let workers: [_; N] =
            core::array::from_fn(|worker| shared.take_turns(worker, self.worker(worker, &shared)));
        let mut workers = pin!(join_array(workers));
        let mut stop = pin!(stop);
        poll_fn(|cx| {
            // The workers all live in this future, so once the flag is set, the poll of the
            // workers below sees it in every one of them.
            if !shared.stopped.get() && stop.as_mut().poll(cx).is_ready() {
                shared.stopped.set(true);
            }
            // Every worker once, from this round's first: `join_array` polls in index order,
            // so it is polled twice, the workers from the first on, then those before it.
            for late in [false, true] {
                shared.late.set(late);
                if workers.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            shared.first.set((shared.first.get() + 1) % N.max(1));
            Poll::Pending
        })
        .await;
    }

    /// One worker: accept, serve, report; again, until stopped.
    async fn worker<M, Make, On>(&self, worker: usize, shared: &Shared<Make, On>)
    where
        M: StreamMachine,
        Make: FnMut(&L::Addr) -> M,
        On: FnMut(Event<'_, L, M>),
    {
        loop {
            let (mut stream, peer) =
                match first(shared.until_stopped(), self.listener.accept()).await {
                    Either::First(()) => return,
                    Either::Second(Ok(accepted)) => accepted,
                    Either::Second(Err(error)) => {
                        shared.report(Event::AcceptFailed { worker, error });
                        let pause = self.timer.sleep_until(self.timer.now() + ACCEPT_RETRY);
                        if let Either::First(()) = first(shared.until_stopped(), pause).await {
                            return;
                        }
                        continue;
                    }
                };
            let id = shared.next_id.get();
            shared.next_id.set(id + 1);
            let mut machine = (shared.make.borrow_mut())(&peer);
            shared.report(Event::Accepted {
                id,
                worker,
                peer: &peer,
                machine: &mut machine,
            });
            let last = Cell::new(self.timer.now());
            let mut observe = |machine: &mut M| {
                last.set(self.timer.now());
                shared.report(Event::Stepped {
                    id,
                    peer: &peer,
                    machine,
                });
            };
            let run = run_stream(&mut stream, &mut machine, &mut observe);
            let outcome = match first(shared.until_stopped(), first(run, self.idle(&last))).await {
                Either::First(()) => Outcome::Closed,
                Either::Second(Either::First(Ok(()))) => Outcome::Finished,
                Either::Second(Either::First(Err(error))) => Outcome::Failed(error),
                Either::Second(Either::Second(())) => Outcome::Idle,
            };
            let (peer, machine) = (&peer, &mut machine);
            shared.report(match outcome {
                Outcome::Finished => Event::Finished { id, peer, machine },
                Outcome::Failed(error) => Event::Failed {
                    id,
                    peer,
                    machine,
                    error,
                },
                Outcome::Idle => Event::IdleTimeout { id, peer, machine },
                Outcome::Closed => Event::Closed { id, peer, machine },
            });
            drop(stream);
            if shared.stopped.get() {
                return;
            }
        }
    }

    /// Completes once nothing was read or written for the idle timeout (`last` is when
    /// something last was); never without one.
    async fn idle(&self, last: &Cell<Instant>) {
        let Some(idle) = self.idle else {
            return core::future::pending().await;
        };
        loop {
            self.timer.sleep_until(last.get() + idle).await;
            if self.timer.now() >= last.get() + idle {
                return;
            }
        }
    }
}

impl<L, T> fmt::Debug for Sessions<'_, L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("idle_timeout", &self.idle)
            .finish_non_exhaustive()
    }
}

/// What the workers share: the factory, the callback, the session counter, the stop flag and
/// whose turn it is.
struct Shared<Make, On> {
    make: RefCell<Make>,
    on: RefCell<On>,
    next_id: Cell<u64>,
    stopped: Cell<bool>,
    /// The worker polled first in this round.
    first: Cell<usize>,
    /// In this round's second pass, which polls the workers before `first`.
    late: Cell<bool>,
}

impl<Make, On> Shared<Make, On> {
    /// `worker`, polled only in its pass of each round: so the workers take turns at being
    /// polled first, as `tokio::join!` rotates its futures. Without it the first worker of the
    /// array would always go first, and on tokio, whose cooperative budget is per task, a
    /// busy session there would use up every round's budget and starve the other workers.
    async fn take_turns<F: Future>(&self, worker: usize, fut: F) -> F::Output {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            if (worker < self.first.get()) == self.late.get() {
                fut.as_mut().poll(cx)
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Reports `event` (never across an `.await`, so the callback is never borrowed twice).
    fn report<E>(&self, event: E)
    where
        On: FnMut(E),
    {
        (self.on.borrow_mut())(event);
    }

    /// Completes once `stop` has. Registers no waker: `serve` polls every worker right after
    /// it sets the flag.
    fn until_stopped(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|_| {
            if self.stopped.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// How a session ended.
enum Outcome<E> {
    Finished,
    Failed(E),
    Idle,
    Closed,
}
