//! TCP clients out of a pool of sockets: [`TcpConnector`].

use core::net::SocketAddr;

use embassy_net::Stack;
use embassy_net::tcp::ConnectError;
use portsock_core::asynch::select::{Either, first};

use crate::Error;
use crate::addr::endpoint;
use crate::pool::{Slot, SlotState, TcpResources, Waiters};
use crate::tcp::TcpStream;

/// How long [`TcpConnector::connect`] waits for the handshake unless told otherwise.
pub const CONNECT_TIMEOUT: embassy_time::Duration = embassy_time::Duration::from_secs(10);

/// Up to `N` client connections at once, on the sockets of a [`TcpResources`].
///
/// A dropped stream closes in order (the peer reads its last byte, then end of stream) and
/// its socket serves the next `connect` once the close completed: embassy-net's own
/// `TcpSocket` is removed from the stack when dropped, before its FIN can go out.
pub struct TcpConnector<'d, const N: usize> {
    slots: [Slot<'d>; N],
    waiters: Waiters,
    timeout: embassy_time::Duration,
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
        }
    }

    /// How long a handshake may take ([`CONNECT_TIMEOUT`] by default).
    #[must_use]
    pub fn with_timeout(mut self, timeout: embassy_time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects to `to` on an idle socket of the pool.
    ///
    /// Cancel-safe in that the socket goes back to the pool: dropped before the handshake
    /// completed, the half-open connection is abandoned.
    ///
    /// # Errors
    ///
    /// [`Error::NoFreeSocket`] when every socket is connected or still closing;
    /// [`Error::Refused`] when the peer answered with a reset; [`Error::TimedOut`] after the
    /// timeout; [`Error::NoRoute`] when the stack has no route or source address for `to`.
    pub async fn connect(&self, to: SocketAddr) -> Result<TcpStream<'_, 'd>, Error> {
        let remote = endpoint(to)?;
        let (slot, socket) = self
            .slots
            .iter()
            .find_map(|slot| {
                let socket = slot.available()?;
                (slot.state.get() == SlotState::Idle).then_some((slot, socket))
            })
            .ok_or(Error::NoFreeSocket)?;
        let mut stream = TcpStream::new(socket, &slot.state, &self.waiters);
        let connect = stream.socket().connect(remote);
        match first(connect, embassy_time::Timer::after(self.timeout)).await {
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
}
