//! An in-memory transport, so the machines and drivers run without sockets: a connected
//! [`StreamPair`] (with a [`MemListener`] handing pairs out), a datagram [`Network`] with
//! addresses, multicast groups and optional loss, and a [`ManualClock`].
//!
//! Everything is fixed-size (const generics, `heapless`), needs no allocator and works on
//! firmware too. It is single-threaded: both ends live in one thread (behind a `RefCell`), so a
//! call can never wait for the other side. That decides what "blocking" means here:
//!
//! * in non-blocking mode, a call that cannot proceed fails with [`MemError::WouldBlock`];
//! * in blocking mode with a timeout (or a `recv_from` deadline, which replaces the timeout),
//!   nobody else can act while it waits, so the wait always runs out: the [`ManualClock`] (if
//!   the transport has one) jumps ahead by the timeout and the call fails with
//!   [`MemError::TimedOut`] (or jumps to the deadline and returns `Ok(None)`), exactly as a
//!   real socket would with a silent peer;
//! * in blocking mode without a timeout the call would wait forever; it fails with
//!   [`MemError::WouldBlock`] instead, so a test harness can run the other side and retry.
//!
//! Short I/O is simulated with [`StreamPair::with_max_io`] (e.g. one byte per `read` and
//! `write`), peer failure with [`StreamPair::reset`], loss with [`Network::drop_next`].
//! [`StreamPair::activity`] and [`Network::activity`] count successful operations, so a harness
//! can tell "both sides idle" from progress and advance the clock (as quinn-proto's test
//! `Pair::step` does).
//!
//! ```
//! use portsock_core::mem::{ManualClock, MemError, StreamPair};
//! use portsock_core::time::Duration;
//! use portsock_core::transport::{Blocking, Read, Write};
//!
//! let clock = ManualClock::new();
//! let pair = StreamPair::<8>::new().with_clock(&clock).with_max_io(1, 3);
//! let (mut a, mut b) = pair.split();
//! assert_eq!(a.write(b"hello")?, 3); // short write
//! let mut buf = [0u8; 8];
//! assert_eq!(b.read(&mut buf)?, 1); // short read
//! b.set_nonblocking(true)?;
//! assert_eq!((b.read(&mut buf)?, b.read(&mut buf)?), (1, 1));
//! assert_eq!(b.read(&mut buf), Err(MemError::WouldBlock)); // "hel" read, nothing more yet
//! b.set_nonblocking(false)?;
//! b.set_read_timeout(Some(Duration::from_millis(200)))?;
//! assert_eq!(b.read(&mut buf), Err(MemError::TimedOut));
//! assert_eq!(clock.now().as_millis(), 200);
//! # Ok::<(), MemError>(())
//! ```

#[cfg(feature = "async")]
mod asynch;
mod datagram;
mod stream;
mod wake;

use core::cell::{Cell, RefCell};
use core::fmt;
use core::net::SocketAddr;

use embedded_io::ErrorKind;

pub use datagram::{MemSocket, Network};
pub use stream::{MemListener, MemStream, StreamPair};

use crate::time::{Clock, Duration, Instant};
use crate::transport::TransportError;

/// Tasks that can sleep on one [`ManualClock`] at once without waking each other (more still
/// work, less efficiently).
const SLEEPERS: usize = 16;

/// A clock that moves only when told to.
///
/// With the `async` feature it is also an `asynch::time::Timer`:
/// a `sleep_until` completes once [`advance`](Self::advance) or [`set`](Self::set) moves the
/// clock to its instant (they wake the sleepers that are due). A test executor can let time
/// jump when every task waits, as tokio's paused clock does, with
/// [`advance_to_next_wake`](Self::advance_to_next_wake).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Cell<u64>,
    sleepers: RefCell<wake::WakerList<SLEEPERS>>,
}

impl ManualClock {
    /// A clock at [`Instant::ZERO`].
    pub const fn new() -> Self {
        Self {
            now: Cell::new(0),
            sleepers: RefCell::new(wake::WakerList::new()),
        }
    }

    /// The current time (also [`Clock::now`]).
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.now.get())
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.set(self.now() + d);
    }

    /// Moves the clock to `t`; never backwards (an earlier `t` is ignored). Wakes the tasks
    /// sleeping until `t` or earlier.
    pub fn set(&self, t: Instant) {
        let now = self.now.get().max(t.as_millis());
        self.now.set(now);
        self.sleepers.borrow_mut().wake_until(now);
    }

    /// The earliest instant a task sleeps until (the `async` feature's `Timer`), if any task
    /// sleeps.
    pub fn next_wake(&self) -> Option<Instant> {
        self.sleepers.borrow().earliest().map(Instant::from_millis)
    }

    /// Moves the clock to [`next_wake`](Self::next_wake) (never backwards) and wakes the tasks
    /// due then; returns the new time, or `None` (and leaves the clock alone) if no task
    /// sleeps. What an executor calls when every task waits, so that timers fire at once and in
    /// order instead of after real time.
    pub fn advance_to_next_wake(&self) -> Option<Instant> {
        let at = self.next_wake()?;
        self.set(at);
        Some(self.now())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Self::now(self)
    }
}

/// Why an in-memory operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MemError {
    /// Non-blocking mode and nothing to do, or a blocking call that would wait forever.
    WouldBlock,
    /// A blocking call's timeout ran out.
    TimedOut,
    /// The pair was [reset](StreamPair::reset).
    ConnectionReset,
    /// Writing after this side shut down writing, or after the peer went away.
    BrokenPipe,
    /// [`MemListener::connect`] with every pair already connected.
    ConnectionRefused,
    /// The address is bound already.
    AddrInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// Every socket slot of the [`Network`] is in use.
    TooManySockets,
    /// A datagram longer than the network carries.
    TooLarge {
        /// Its length.
        len: usize,
        /// The network's limit (`M`).
        mtu: usize,
    },
    /// A zero timeout (use non-blocking mode instead).
    ZeroTimeout,
    /// A membership request for the other address family.
    WrongFamily,
    /// More memberships than a socket holds.
    TooManyGroups,
    /// Joining a group twice.
    AlreadyMember,
    /// Leaving a group not joined.
    NotMember,
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WouldBlock => f.write_str("would block"),
            Self::TimedOut => f.write_str("timed out"),
            Self::ConnectionReset => f.write_str("connection reset"),
            Self::BrokenPipe => {
                f.write_str("broken pipe: this side shut down writing, or the peer is gone")
            }
            Self::ConnectionRefused => f.write_str("connection refused: no free stream pair"),
            Self::AddrInUse { addr } => write!(f, "address {addr} already in use"),
            Self::TooManySockets => f.write_str("network full: no free socket slot"),
            Self::TooLarge { len, mtu } => write!(
                f,
                "datagram of {len} bytes, the network carries at most {mtu}"
            ),
            Self::ZeroTimeout => f.write_str("zero timeout (use non-blocking mode)"),
            Self::WrongFamily => f.write_str("membership request of the other address family"),
            Self::TooManyGroups => f.write_str("too many multicast memberships"),
            Self::AlreadyMember => f.write_str("already a member of that group"),
            Self::NotMember => f.write_str("not a member of that group"),
        }
    }
}

impl core::error::Error for MemError {}

impl embedded_io::Error for MemError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::WouldBlock => ErrorKind::Other,
            Self::TimedOut => ErrorKind::TimedOut,
            Self::ConnectionReset => ErrorKind::ConnectionReset,
            Self::BrokenPipe => ErrorKind::BrokenPipe,
            Self::ConnectionRefused => ErrorKind::ConnectionRefused,
            Self::AddrInUse { .. } | Self::AlreadyMember => ErrorKind::AddrInUse,
            Self::TooManySockets | Self::TooManyGroups => ErrorKind::OutOfMemory,
            Self::TooLarge { .. } | Self::ZeroTimeout | Self::WrongFamily => {
                ErrorKind::InvalidInput
            }
            Self::NotMember => ErrorKind::AddrNotAvailable,
        }
    }
}

impl TransportError for MemError {
    fn is_would_block(&self) -> bool {
        *self == Self::WouldBlock
    }
}

/// How an in-memory socket waits (the state behind [`Blocking`](crate::transport::Blocking)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mode {
    nonblocking: bool,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl Mode {
    /// What a call that cannot proceed reports, after "waiting" `timeout` on `clock`.
    fn wait(&self, clock: Option<&ManualClock>, timeout: Option<Duration>) -> MemError {
        match timeout {
            _ if self.nonblocking => MemError::WouldBlock,
            Some(t) => {
                if let Some(clock) = clock {
                    clock.advance(t);
                }
                MemError::TimedOut
            }
            None => MemError::WouldBlock,
        }
    }

    /// A `recv_from` with nothing queued: `Ok(None)` at the deadline, or the error to report.
    ///
    /// As the transport contract says: non-blocking mode never waits and never answers at a
    /// deadline (would block, whatever the deadline); a deadline replaces the read timeout,
    /// which applies only without one.
    fn wait_until(&self, clock: &ManualClock, deadline: Option<Instant>) -> Result<(), MemError> {
        if self.nonblocking {
            return Err(MemError::WouldBlock);
        }
        match deadline {
            Some(d) => {
                clock.set(d);
                Ok(())
            }
            None => Err(self.wait(Some(clock), self.read_timeout)),
        }
    }
}

/// The checked timeout setter of every in-memory socket.
fn check_timeout(timeout: Option<Duration>) -> Result<Option<Duration>, MemError> {
    match timeout {
        Some(t) if t.is_zero() => Err(MemError::ZeroTimeout),
        t => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use embedded_io::Error;

    use super::*;

    #[test]
    fn clock_never_goes_back() {
        let c = ManualClock::new();
        c.advance(Duration::from_millis(5));
        c.set(Instant::from_millis(3));
        assert_eq!(c.now(), Instant::from_millis(5));
        c.set(Instant::from_millis(9));
        assert_eq!(Clock::now(&c), Instant::from_millis(9));
    }

    #[test]
    fn waits_distinguish_would_block_from_timed_out() {
        let clock = ManualClock::new();
        let nb = Mode {
            nonblocking: true,
            read_timeout: Some(Duration::from_millis(5)),
            ..Mode::default()
        };
        assert_eq!(nb.wait(Some(&clock), nb.read_timeout), MemError::WouldBlock);
        let blocking = Mode {
            read_timeout: Some(Duration::from_millis(5)),
            ..Mode::default()
        };
        assert_eq!(
            blocking.wait(Some(&clock), blocking.read_timeout),
            MemError::TimedOut
        );
        assert_eq!(clock.now(), Instant::from_millis(5));
        assert_eq!(
            Mode::default().wait(Some(&clock), None),
            MemError::WouldBlock
        );
        assert!(MemError::WouldBlock.is_would_block());
        assert!(!MemError::TimedOut.is_would_block());
        assert_eq!(MemError::TimedOut.kind(), ErrorKind::TimedOut);
        assert_eq!(MemError::WouldBlock.kind(), ErrorKind::Other);
    }

    #[test]
    fn deadlines_and_timeouts_for_datagrams() {
        let clock = ManualClock::new();
        let mode = Mode::default();
        assert_eq!(
            mode.wait_until(&clock, Some(Instant::from_millis(100))),
            Ok(())
        );
        assert_eq!(
            clock.now(),
            Instant::from_millis(100),
            "waited until the deadline"
        );
        let short = Mode {
            read_timeout: Some(Duration::from_millis(10)),
            ..Mode::default()
        };
        assert_eq!(
            short.wait_until(&clock, Some(Instant::from_millis(500))),
            Ok(())
        );
        assert_eq!(
            clock.now(),
            Instant::from_millis(500),
            "the deadline replaces the read timeout"
        );
        assert_eq!(short.wait_until(&clock, None), Err(MemError::TimedOut));
        assert_eq!(
            clock.now(),
            Instant::from_millis(510),
            "without a deadline the read timeout applies"
        );
        assert_eq!(mode.wait_until(&clock, None), Err(MemError::WouldBlock));
        let nb = Mode {
            nonblocking: true,
            ..Mode::default()
        };
        assert_eq!(
            nb.wait_until(&clock, Some(Instant::from_millis(900))),
            Err(MemError::WouldBlock)
        );
        assert_eq!(
            nb.wait_until(&clock, Some(Instant::from_millis(110))),
            Err(MemError::WouldBlock),
            "non-blocking never answers at a deadline, even a past one"
        );
        assert_eq!(clock.now(), Instant::from_millis(510), "and never waits");
    }

    #[test]
    fn zero_timeouts_are_refused() {
        assert_eq!(
            check_timeout(Some(Duration::ZERO)),
            Err(MemError::ZeroTimeout)
        );
        assert_eq!(check_timeout(None), Ok(None));
        assert_eq!(
            MemError::ZeroTimeout.to_string(),
            "zero timeout (use non-blocking mode)"
        );
    }
}
