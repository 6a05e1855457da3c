//! Many stream sessions over one listener, in one thread, without an allocator.
//!
//! [`Sessions`] is the event loop's inner turn that a concurrent server writes otherwise by
//! hand: accept while there is a free slot, make a machine for each new stream, step every
//! session with [`step_stream`], and retire the ones that finished or failed, telling the
//! caller about each through one callback of [`Event`]s. The caller owns the memory (a slice
//! of slots, `[None; N]` on firmware or a `Vec` on a host) and the waiting: after a
//! [`poll`](Sessions::poll) it waits for readiness (mio, `Stack::wait`, an interrupt) unless the
//! [`Turn`] says there is more to do at once.
//!
//! Fairness comes from a **budget**: a session takes at most [`budget`](Sessions::budget) steps
//! per turn (each step writes what it can and reads once), as tokio's cooperative budget caps a
//! task's operations per poll. A client that pushes without pause gets its share and no more,
//! and the others are served in the same turn.
//!
//! An **idle timeout** ([`with_idle_timeout`](Sessions::with_idle_timeout)) closes a session on
//! which nothing was read or written for that long, so a client that connects and then stays
//! silent (its kernel still acknowledging TCP keep-alives, so the transport never gives up on
//! it) cannot hold a slot forever. Such a session is reported as [`Event::IdleTimeout`] and
//! closed as a finished one is: its stream is dropped, which on TCP is a graceful close (the
//! FIN follows anything still queued; the peer reads end-of-file), as the std server's
//! `--idle-timeout` does. The time comes from a [`Clock`] the caller hands over, and each
//! [`Turn`] says by when to poll again ([`Turn::deadline`]) so the caller's wait does not
//! sleep through a timeout.
//!
//! The listener must be in non-blocking mode (or `accept` would wait for a connection while
//! sessions starve); every accepted stream is switched to non-blocking mode here.
//!
//! Three clients served by two slots over the in-memory transport (the third waits in the
//! backlog until a slot frees):
//!
//! ```
//! use portsock_core::drive::sessions::{Event, Sessions};
//! use portsock_core::drive::step_stream;
//! use portsock_core::echo::stream::{EchoClient, EchoSession};
//! use portsock_core::mem::{MemListener, StreamPair};
//! use portsock_core::transport::Blocking;
//!
//! let pairs: [StreamPair<'_, 64>; 3] = core::array::from_fn(|_| StreamPair::new());
//! let mut listener = MemListener::new("127.0.0.1:10000".parse()?, &pairs);
//! listener.set_nonblocking(true)?;
//! let mut ends = [listener.connect()?, listener.connect()?, listener.connect()?];
//! // Each client half-closes once it has sent, so its session sees the end and finishes.
//! let mut clients = [b"one".as_slice(), b"two", b"three"]
//!     .map(|m| EchoClient::new(m, [0u8; 8]).with_half_close(true));
//! for end in &mut ends {
//!     end.set_nonblocking(true)?;
//! }
//!
//! let mut slots = [const { None }; 2];
//! let mut sessions = Sessions::new(&mut slots);
//! let mut log = Vec::new();
//! for turn in 0.. {
//!     if clients.iter().all(|c| c.is_done()) && sessions.active() == 0 {
//!         break;
//!     }
//!     assert!(turn < 100, "stuck: {log:?}");
//!     for (end, client) in ends.iter_mut().zip(&mut clients) {
//!         step_stream(end, client, &mut |_| {})?;
//!     }
//!     sessions.poll(&mut listener, &mut |_peer| EchoSession::new([0u8; 16]), &mut |event| {
//!         match event {
//!             Event::Accepted { id, peer, .. } => log.push(format!("{id}: {peer}")),
//!             Event::Finished { id, machine, .. } => log.push(format!("{id}: {} bytes", machine.sent())),
//!             Event::Failed { id, error, .. } => log.push(format!("{id}: {error}")),
//!             _ => {}
//!         }
//!     });
//! }
//! assert_eq!(log, [
//!     "0: 127.0.0.1:49152", "1: 127.0.0.1:49153",
//!     "0: 3 bytes", "1: 3 bytes",
//!     "2: 127.0.0.1:49154", "2: 5 bytes",
//! ]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use super::{DriveError, StreamDriveError, step_stream};
use crate::machine::{Status, StreamMachine};
use crate::time::{Clock, Duration, Instant};
use crate::transport::{Blocking, Listener, TransportError};

/// Steps a session may take in one turn, unless [`Sessions::with_budget`] says otherwise.
pub const DEFAULT_BUDGET: usize = 16;

/// One session: an accepted stream, its peer and the machine serving it.
#[derive(Debug)]
pub struct Session<S, A, M> {
    id: u64,
    peer: A,
    stream: S,
    machine: M,
    /// When something was last read or written (the clock's epoch without an idle timeout).
    active: Instant,
}

impl<S, A, M> Session<S, A, M> {
    /// The session's number: 0 for the first accepted, then 1, 2, ...
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The peer's address, as `accept` returned it.
    pub fn peer(&self) -> &A {
        &self.peer
    }

    /// The accepted stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The machine serving it.
    pub fn machine(&self) -> &M {
        &self.machine
    }
}

/// A slot of a listener's sessions: empty, or one session.
pub type Slot<L, M> = Option<Session<<L as Listener>::Stream, <L as Listener>::Addr, M>>;

/// What happened to a session (or to `accept`), as [`Sessions::poll`] reports it. Every
/// `Accepted` is followed, in a later event, by exactly one `Finished`, `Failed`,
/// `IdleTimeout` or `Closed` of the same `id`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a, L: Listener, M: StreamMachine> {
    /// A connection was accepted and its machine made.
    Accepted {
        /// The session's number.
        id: u64,
        /// Who connected.
        peer: &'a L::Addr,
        /// The new machine.
        machine: &'a mut M,
    },
    /// The driver's observer, called during each step after every input and output: poll the
    /// machine's events here (they borrow its buffer, so they cannot wait until after the step).
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
    /// The session failed: a transport error (a reset, a timeout), the protocol's verdict or
    /// a driver error. Its stream is dropped after this event.
    Failed {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The machine as the failure left it.
        machine: &'a mut M,
        /// What went wrong.
        error: StreamDriveError<L::Stream, M>,
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
    /// [`Sessions::close_all`] closed a session that had not finished.
    Closed {
        /// The session's number.
        id: u64,
        /// The peer.
        peer: &'a L::Addr,
        /// The unfinished machine.
        machine: &'a mut M,
    },
    /// `accept` failed with something other than "would block" (e.g. out of file
    /// descriptors). The sessions are served all the same; the caller decides whether the
    /// listener is worth keeping.
    AcceptFailed {
        /// The listener's error.
        error: L::Error,
    },
}

/// What one [`Sessions::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Turn {
    /// Connections accepted.
    pub accepted: usize,
    /// Sessions that finished, failed or timed out, and were retired.
    pub retired: usize,
    /// Sessions open after the turn.
    pub active: usize,
    /// There is more to do at once: a session used its whole budget while still making
    /// progress, or a slot freed while connections may be waiting. Poll again before
    /// waiting for readiness (an edge-triggered poller would not wake for them).
    pub more: bool,
    /// With an idle timeout, the earliest instant at which an open session would time out:
    /// poll again by then (wait no later). `None` without an idle timeout or open session.
    pub deadline: Option<Instant>,
}

/// Stream sessions over one listener, in caller-provided slots; see the [module doc](self).
pub struct Sessions<'s, L: Listener, M> {
    slots: &'s mut [Slot<L, M>],
    budget: usize,
    next_id: u64,
    idle: Option<Idle<'s>>,
}

/// An idle timeout and the clock it is measured by.
#[derive(Clone, Copy)]
struct Idle<'c> {
    timeout: Duration,
    clock: &'c dyn Clock,
}

impl Idle<'_> {
    /// Whether a session last active at `active` is idle too long at `now`; if it is not, its
    /// deadline goes into `turn`'s. Never without an idle timeout.
    ///
    /// Not generic, so compiled once however many kinds of sessions a program serves.
    #[inline(never)]
    fn expired(idle: Option<Self>, active: Instant, now: Instant, turn: &mut Turn) -> bool {
        let Some(idle) = idle else { return false };
        let deadline = active + idle.timeout;
        if now >= deadline {
            return true;
        }
        turn.deadline = Some(turn.deadline.map_or(deadline, |d| d.min(deadline)));
        false
    }
}

impl<'s, L, M> Sessions<'s, L, M>
where
    L: Listener,
    L::Stream: Blocking,
    M: StreamMachine,
{
    /// Sessions in `slots`, at most one per slot; the slots should be empty (any session
    /// already in one is served too). The budget is [`DEFAULT_BUDGET`] steps.
    pub fn new(slots: &'s mut [Slot<L, M>]) -> Self {
        Self {
            slots,
            budget: DEFAULT_BUDGET,
            next_id: 0,
            idle: None,
        }
    }

    /// Closes a session on which nothing was read or written for `timeout` (a zero timeout
    /// counts as 1 ms), as [`Event::IdleTimeout`], reading the time from `clock` once per
    /// [`poll`](Self::poll). The check is made in each poll, so a session is closed in the
    /// first poll at or after its deadline: wait no later than [`Turn::deadline`].
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration, clock: &'s dyn Clock) -> Self {
        let timeout = timeout.max(Duration::from_millis(1));
        self.idle = Some(Idle { timeout, clock });
        self
    }

    /// The idle timeout, if there is one.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle.map(|idle| idle.timeout)
    }

    /// At most `steps` steps (at least 1) per session per turn.
    #[must_use]
    pub fn with_budget(mut self, steps: usize) -> Self {
        self.budget = steps.max(1);
        self
    }

    /// Steps per session per turn.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// How many sessions can be open at once: the number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// How many sessions are open.
    pub fn active(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// The open sessions.
    pub fn iter(&self) -> impl Iterator<Item = &Session<L::Stream, L::Addr, M>> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// One turn: accept while a slot is free (making each machine with `make(&peer)`), then
    /// step every session up to the budget, retiring those that finished, failed or (with an
    /// idle timeout) were idle too long. Everything that happened goes to `on`, in order.
    pub fn poll<Make, On>(&mut self, listener: &mut L, make: &mut Make, on: &mut On) -> Turn
    where
        Make: FnMut(&L::Addr) -> M,
        On: FnMut(Event<'_, L, M>),
    {
        let mut turn = Turn::default();
        let now = self.idle.map_or(Instant::ZERO, |idle| idle.clock.now());
        let full = self.accept(listener, make, on, now, &mut turn);
        for slot in self.slots.iter_mut() {
            let Some(session) = slot else { continue };
            let served = Self::serve(session, self.budget, now, on);
            let Session {
                id,
                peer,
                machine,
                active,
                ..
            } = session;
            match served {
                Served::Open { cut } => {
                    turn.more |= cut;
                    if !Idle::expired(self.idle, *active, now, &mut turn) {
                        continue;
                    }
                    on(Event::IdleTimeout {
                        id: *id,
                        peer,
                        machine,
                    });
                }
                Served::Finished => on(Event::Finished {
                    id: *id,
                    peer,
                    machine,
                }),
                Served::Failed(error) => on(Event::Failed {
                    id: *id,
                    peer,
                    machine,
                    error,
                }),
            }
            *slot = None;
            turn.retired += 1;
        }
        turn.active = self.active();
        turn.more |= full && turn.retired > 0;
        turn
    }

    /// Closes every open session (dropping its stream), reporting each as
    /// [`Event::Closed`]: for a server that stops.
    pub fn close_all<On>(&mut self, on: &mut On)
    where
        On: FnMut(Event<'_, L, M>),
    {
        for slot in self.slots.iter_mut() {
            if let Some(Session {
                id, peer, machine, ..
            }) = slot
            {
                on(Event::Closed {
                    id: *id,
                    peer,
                    machine,
                });
            }
            *slot = None;
        }
    }

    /// Accepts into free slots; whether it stopped because every slot was taken.
    fn accept<Make, On>(
        &mut self,
        listener: &mut L,
        make: &mut Make,
        on: &mut On,
        now: Instant,
        turn: &mut Turn,
    ) -> bool
    where
        Make: FnMut(&L::Addr) -> M,
        On: FnMut(Event<'_, L, M>),
    {
        for slot in self.slots.iter_mut().filter(|s| s.is_none()) {
            let (stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.is_would_block() => return false,
                Err(error) => {
                    on(Event::AcceptFailed { error });
                    return false;
                }
            };
            let id = self.next_id;
            self.next_id += 1;
            turn.accepted += 1;
            let accepted = Accepted {
                id,
                peer,
                stream,
                now,
            };
            if !Self::open(slot, accepted, make, on) {
                turn.retired += 1;
            }
        }
        true
    }

    /// Makes the machine of a new session into `slot` and reports it; whether it is open (it
    /// is not if its stream refused non-blocking mode, reported as a failure).
    ///
    /// Out of line, so that the new machine, built here, never sits in the frames that accept
    /// or step (on firmware the machine's buffer would add to the peak stack).
    #[inline(never)]
    fn open<Make, On>(
        slot: &mut Slot<L, M>,
        accepted: Accepted<L::Stream, L::Addr>,
        make: &mut Make,
        on: &mut On,
    ) -> bool
    where
        Make: FnMut(&L::Addr) -> M,
        On: FnMut(Event<'_, L, M>),
    {
        let Accepted {
            id,
            peer,
            stream,
            now,
        } = accepted;
        let machine = make(&peer);
        let Session {
            id,
            peer,
            stream,
            machine,
            ..
        } = slot.insert(Session {
            id,
            peer,
            stream,
            machine,
            active: now,
        });
        on(Event::Accepted {
            id: *id,
            peer,
            machine,
        });
        if let Err(e) = stream.set_nonblocking(true) {
            on(Event::Failed {
                id: *id,
                peer,
                machine,
                error: DriveError::Transport(e),
            });
            *slot = None;
            return false;
        }
        true
    }

    /// Steps one session up to `budget` times; a step that read or wrote something makes
    /// `now` its last active time.
    fn serve<On>(
        session: &mut Session<L::Stream, L::Addr, M>,
        budget: usize,
        now: Instant,
        on: &mut On,
    ) -> Served<StreamDriveError<L::Stream, M>>
    where
        On: FnMut(Event<'_, L, M>),
    {
        let Session {
            id,
            peer,
            stream,
            machine,
            active,
        } = session;
        let id = *id;
        for _ in 0..budget {
            let step = step_stream(stream, machine, &mut |machine| {
                on(Event::Stepped { id, peer, machine });
            });
            match step {
                Ok(Status::Running) => *active = now,
                Ok(Status::Blocked) => return Served::Open { cut: false },
                Ok(Status::Done) => return Served::Finished,
                Err(e) => return Served::Failed(e),
            }
        }
        Served::Open { cut: true }
    }
}

impl<L: Listener, M> fmt::Debug for Sessions<'_, L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("capacity", &self.slots.len())
            .field("active", &self.slots.iter().filter(|s| s.is_some()).count())
            .field("budget", &self.budget)
            .field("next_id", &self.next_id)
            .field("idle_timeout", &self.idle.map(|idle| idle.timeout))
            .finish()
    }
}

/// A connection accepted, before its machine is made.
struct Accepted<S, A> {
    id: u64,
    peer: A,
    stream: S,
    /// The turn's time: the session's first active time.
    now: Instant,
}

/// How one session's share of a turn ended.
enum Served<E> {
    /// Still open; `cut` if the budget ran out while it was still making progress.
    Open { cut: bool },
    /// The machine is done.
    Finished,
    /// The session failed.
    Failed(E),
}

#[cfg(test)]
mod tests;
