//! A fixed pool of TCP sockets with caller-supplied buffers: what [`TcpListener`] and
//! [`TcpConnector`] hand their streams out of.
//!
//! [`TcpResources`] holds the buffers, as embassy-net's `StackResources` holds the stack's:
//! the caller puts it where it likes (a `static_cell::StaticCell`, a task's frame) and lends
//! it to the pool for the pool's life. Each slot is one embassy-net `TcpSocket` on its own
//! receive and transmit buffers; a slot's socket also takes one of the stack's socket entries
//! (count them in `StackResources<SOCK>`).
//!
//! A slot is in one of four states: idle (closed), listening (or connecting), taken by a
//! stream, closing (the stream was dropped; its FIN is under way). A closing slot is usable
//! again once its socket reached `Closed` or `TimeWait`: a peer that never closes its side
//! keeps it closing (set a timeout on the stream's socket to bound that).
//!
//! [`TcpListener`]: crate::TcpListener
//! [`TcpConnector`]: crate::TcpConnector

use core::cell::{Cell, RefCell, RefMut};
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embassy_net::Stack;
use embassy_net::tcp::{State, TcpSocket};
use embassy_sync::waitqueue::MultiWakerRegistration;
use embassy_time::{Duration, Instant, Timer};

/// The buffers of a pool of `N` TCP sockets, `RX` bytes to receive and `TX` to send each.
///
/// RAM: `N × (RX + TX)` bytes here, plus per slot an embassy-net socket entry (smoltcp's TCP
/// socket state: 408 bytes on `thumbv7m-none-eabi` with the default features, in the stack's
/// `StackResources`) and 24 bytes in the listener or connector. The receive buffer is the TCP
/// window: 1 KiB to 4 KiB is usual on a microcontroller.
///
/// ```
/// use portsock_embassy::TcpResources;
/// use static_cell::StaticCell;
///
/// // A backlog of 4 connections of 1 KiB each way: 8 KiB.
/// static LISTENER: StaticCell<TcpResources<4, 1024, 1024>> = StaticCell::new();
/// let resources: &'static mut TcpResources<4, 1024, 1024> = LISTENER.init(TcpResources::new());
/// # let _ = resources;
/// ```
pub struct TcpResources<const N: usize, const RX: usize, const TX: usize> {
    buffers: [([u8; RX], [u8; TX]); N],
}

impl<const N: usize, const RX: usize, const TX: usize> TcpResources<N, RX, TX> {
    /// Zeroed buffers (a `const fn`, so a `static` can hold them).
    pub const fn new() -> Self {
        Self {
            buffers: [([0; RX], [0; TX]); N],
        }
    }

    /// The pool's sockets on `stack`, one per pair of buffers.
    pub(crate) fn slots<'d>(&'d mut self, stack: Stack<'d>) -> [Slot<'d>; N] {
        self.buffers
            .each_mut()
            .map(|(rx, tx)| Slot::new(TcpSocket::new(stack, rx, tx)))
    }
}

impl<const N: usize, const RX: usize, const TX: usize> Default for TcpResources<N, RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a slot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Closed: free to listen or connect.
    Idle,
    /// Listening for a connection (a listener's slot).
    Listening,
    /// A stream has it.
    Taken,
    /// Its stream was dropped; the socket is closing in order.
    Closing,
    /// The listener refused the connection (an IPv6 client of an IPv4 listener) and
    /// aborted it: idle once the reset is sent (smoltcp then forgets the peer; listening
    /// before that would drop the reset and leave the client connected), or after the close
    /// timeout.
    Resetting,
}

/// How long a dropped stream's socket may take to close in order (its FIN acknowledged, the
/// peer's FIN received) before the pool aborts it and uses it again, unless the listener or
/// connector says otherwise. (Linux's `tcp_fin_timeout` is 60 s; a microcontroller's few
/// sockets are worth more.)
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// One socket of a pool.
pub(crate) struct Slot<'d> {
    pub(crate) socket: RefCell<TcpSocket<'d>>,
    pub(crate) state: Cell<SlotState>,
    /// When its stream was dropped (while closing), or its connection refused (resetting).
    pub(crate) closing_since: Cell<Instant>,
}

impl<'d> Slot<'d> {
    fn new(socket: TcpSocket<'d>) -> Self {
        Self {
            socket: RefCell::new(socket),
            state: Cell::new(SlotState::Idle),
            closing_since: Cell::new(Instant::MIN),
        }
    }

    /// The socket, unless a stream has it. A closing socket that has finished closing is
    /// idle again; one still closing after `close_timeout` is aborted, and idle too. A
    /// resetting socket is idle once its reset is sent.
    pub(crate) fn available(&self, close_timeout: Duration) -> Option<RefMut<'_, TcpSocket<'d>>> {
        let mut socket = self.socket.try_borrow_mut().ok()?;
        if self.state.get() == SlotState::Resetting
            && (socket.state() != State::Closed
                || socket.remote_endpoint().is_none()
                || self.close_deadline(close_timeout) <= Instant::now())
        {
            self.state.set(SlotState::Idle);
        }
        if self.state.get() == SlotState::Closing {
            if !is_closed(&socket) && self.close_deadline(close_timeout) <= Instant::now() {
                socket.abort();
            }
            if is_closed(&socket) {
                self.state.set(SlotState::Idle);
            }
        }
        Some(socket)
    }

    /// When a closing socket will be aborted.
    pub(crate) fn close_deadline(&self, close_timeout: Duration) -> Instant {
        self.closing_since.get().saturating_add(close_timeout)
    }
}

/// Wakes `cx` at the earliest close deadline of the closing (or resetting) `slots`, if any.
pub(crate) fn wake_at_close_deadline(
    slots: &[Slot<'_>],
    close_timeout: Duration,
    cx: &mut Context<'_>,
) {
    let earliest = slots
        .iter()
        .filter(|slot| matches!(slot.state.get(), SlotState::Closing | SlotState::Resetting))
        .map(|slot| slot.close_deadline(close_timeout))
        .min();
    if let Some(at) = earliest {
        // embassy-time's timer registers the waker on its first poll; dropping it unregisters
        // nothing, so the wake comes (a spurious one at worst).
        let _ = poll_once(Timer::at(at), cx);
    }
}

/// Whether the socket has nothing more to do: it can listen or connect again.
pub(crate) fn is_closed(socket: &TcpSocket<'_>) -> bool {
    matches!(socket.state(), State::Closed | State::TimeWait)
}

/// Registers `cx`'s waker on `socket`: it is woken when the socket's state changes (a
/// connection established, a close completed) or room appears to send.
pub(crate) fn wake_on_change(socket: &TcpSocket<'_>, cx: &mut Context<'_>) {
    // Ready only when the socket can send (a state that needs no waiting); then nothing is
    // registered and the caller does not wait on this socket.
    let _ = poll_once(socket.wait_write_ready(), cx);
}

/// Polls a future once and drops it.
pub(crate) fn poll_once<F: Future>(fut: F, cx: &mut Context<'_>) -> Poll<F::Output> {
    pin!(fut).poll(cx)
}

/// Polls a future once with a waker that does nothing, for what its first poll does (embassy-net's
/// `accept` starts listening there).
pub(crate) fn start<F: Future>(fut: F) -> Poll<F::Output> {
    poll_once(fut, &mut Context::from_waker(Waker::noop()))
}

/// How many tasks may wait on one pool at a time before they are woken to poll again (more
/// still work: a full registration wakes them all, and they register again).
const WAITERS: usize = 8;

/// The tasks waiting on a pool (in `accept` or for a free socket).
///
/// A smoltcp socket holds one waker; when several tasks accept on one listener, the last to
/// poll is the one registered on the sockets. So whenever a task takes a socket, or a stream
/// gives one back, every waiting task is woken and polls again, and one of them is registered
/// on the sockets once more: no connection waits for a task that is busy elsewhere.
pub(crate) struct Waiters(RefCell<MultiWakerRegistration<WAITERS>>);

impl Waiters {
    pub(crate) const fn new() -> Self {
        Self(RefCell::new(MultiWakerRegistration::new()))
    }

    pub(crate) fn register(&self, waker: &Waker) {
        if let Ok(mut wakers) = self.0.try_borrow_mut() {
            wakers.register(waker);
        }
    }

    pub(crate) fn wake(&self) {
        if let Ok(mut wakers) = self.0.try_borrow_mut() {
            wakers.wake();
        }
    }
}
