//! TCP clients out of a pool of sockets: [`TcpConnector`].

use core::cell::RefMut;
use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::Poll;

use embassy_net::Stack;
use embassy_net::tcp::{ConnectError, TcpSocket};
use portsock_core::asynch::select::{Either, first};

use crate::Error;
use crate::addr::endpoint;
use crate::pool::{
    CLOSE_TIMEOUT, Slot, SlotState, TcpResources, Waiters, wake_at_close_deadline, wake_on_change,
};
use crate::tcp::TcpStream;

/// How long [`TcpConnector::connect`] waits for the handshake unless told otherwise.
pub const CONNECT_TIMEOUT: embassy_time::Duration = embassy_time::Duration::from_secs(10);

/// Up to `N` client connections at once, on the sockets of a [`TcpResources`].
///
/// A dropped stream closes in order (the peer reads its last byte, then end of stream) and
/// its socket serves the next `connect` once the close completed (a `connect` waits for
/// that when no other socket is idle): embassy-net's own
/// `TcpSocket` is removed from the stack when dropped, before its FIN can go out.
pub struct TcpConnector<'d, const N: usize> {
    slots: [Slot<'d>; N],
    waiters: Waiters,
    timeout: embassy_time::Duration,
    close_timeout: embassy_time::Duration,
}

impl<'d, const N: usize> TcpConnector<'d, N> {
    /// A connector with the sockets of `resources`.
    pub fn new<const RX: usize, const TX: usize>(
        stack: Stack<'d>,
        resources: &'d mut TcpResources<N, RX, TX>,
    ) -> Self {
        Self {
            slots: resources.slots(stack),
            waiters: Waiters::new(),
            timeout: CONNECT_TIMEOUT,
            close_timeout: CLOSE_TIMEOUT,
        }
    }

    /// How long a handshake may take ([`CONNECT_TIMEOUT`] by default).
    ///
    /// Keep it above a second or two: a socket whose last peer did not answer neighbor
    /// discovery (ARP, NDP) is kept quiet by smoltcp for up to a second, and its next SYN
    /// waits that out.
    #[must_use]
    pub fn with_timeout(mut self, timeout: embassy_time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a dropped stream's socket may take to close in order before it is aborted and
    /// used again ([`CLOSE_TIMEOUT`] by default).
    #[must_use]
    pub fn with_close_timeout(mut self, timeout: embassy_time::Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Connects to `to` on an idle socket of the pool, waiting for one that is still closing
    /// if need be (within the timeout).
    ///
    /// Cancel-safe in that the socket goes back to the pool: dropped before the handshake
    /// completed, the half-open connection is abandoned.
    ///
    /// # Errors
    ///
    /// [`Error::NoFreeSocket`] when every socket has an open stream; [`Error::Refused`] when
    /// the peer answered with a reset; [`Error::TimedOut`] when no socket was free or the
    /// handshake not complete within the timeout; [`Error::NoRoute`] when the stack has no
    /// route or source address for `to`.
    pub async fn connect(&self, to: SocketAddr) -> Result<TcpStream<'_, 'd>, Error> {
        let remote = endpoint(to)?;
        let deadline = embassy_time::Instant::now() + self.timeout;
        let (slot, socket) = match first(self.free_slot(), embassy_time::Timer::at(deadline)).await
        {
            Either::First(free) => free?,
            Either::Second(()) => return Err(Error::TimedOut),
        };
        let mut stream = TcpStream::new(socket, slot, &self.waiters);
        let connect = stream.socket().connect(remote);
        match first(connect, embassy_time::Timer::at(deadline)).await {
            Either::First(Ok(())) => Ok(stream),
            Either::First(Err(ConnectError::ConnectionReset)) => Err(Error::Refused),
            Either::First(Err(ConnectError::NoRoute)) => Err(Error::NoRoute),
            Either::First(Err(ConnectError::TimedOut)) => Err(Error::TimedOut),
            Either::First(Err(ConnectError::InvalidState)) => Err(Error::InvalidState),
            Either::Second(()) => {
                stream.abort();
                Err(Error::TimedOut)
            }
        }
    }

    /// An idle socket, once one is: at once, or when a closing one has closed;
    /// [`Error::NoFreeSocket`] when none is idle or closing.
    async fn free_slot(&self) -> Result<(&Slot<'d>, RefMut<'_, TcpSocket<'d>>), Error> {
        let this = self;
        poll_fn(move |cx| {
            this.waiters.register(cx.waker());
            let mut closing = false;
            for slot in &this.slots {
                let Some(socket) = slot.available(this.close_timeout) else {
                    continue;
                };
                match slot.state.get() {
                    SlotState::Idle => return Poll::Ready(Ok((slot, socket))),
                    SlotState::Closing => {
                        closing = true;
                        wake_on_change(&socket, cx);
                    }
                    // (Resetting is a listener's.)
                    SlotState::Listening | SlotState::Taken | SlotState::Resetting => {}
                }
            }
            if closing {
                wake_at_close_deadline(&this.slots, this.close_timeout, cx);
                Poll::Pending
            } else {
                Poll::Ready(Err(Error::NoFreeSocket))
            }
        })
        .await
    }
}
