//! A TCP listener with a backlog, which embassy-net does not have.
//!
//! An embassy-net `TcpSocket` listens for one connection at a time: while it is connected,
//! a client that connects to its port is refused (smoltcp answers its SYN with a reset), and
//! users open N sockets on one port by hand (embassy-rs/embassy issue 2027). [`TcpListener`]
//! does that for them: `N` sockets of a [`TcpResources`] listen on one port from the start,
//! smoltcp completes each handshake on a listening socket by itself, and
//! [`accept`](Listener::accept) hands out the established ones. A socket whose stream is
//! dropped listens again once its close completed (or was aborted after the close timeout). So a burst of up to `N` clients is
//! accepted (and their first bytes buffered) even before anyone calls `accept`, and while
//! `K` streams are open, `N - K` more clients can connect.
//!
//! # Address families
//!
//! A listener on an IPv4 address takes IPv4 clients only, as a kernel's `AF_INET` socket
//! does: smoltcp's listening socket on the unspecified address takes a handshake of either
//! family, so on `0.0.0.0` an IPv6 connection is reset at `accept` (its client sees the reset
//! on its first read or write) and its socket listens again. On `::` the listener takes both
//! families, as Linux's `AF_INET6` socket does by default (`IPV6_V6ONLY` off); an IPv4
//! client's address is then its IPv4 address.
//!
//! # What it costs
//!
//! The backlog is bought with RAM: each slot is a whole socket with its buffers. Measured on
//! `thumbv7m-none-eabi` with this crate's default features (embassy-net 0.9.1, smoltcp
//! 0.13.1), per slot: `RX + TX` bytes in the [`TcpResources`], 408 bytes of smoltcp socket
//! entry in the stack's `StackResources`, 24 bytes in the listener; plus 136 bytes for the
//! listener itself (the waiting tasks' wakers). A stream is 20 bytes. So a backlog of 8 with
//! 1 KiB each way is 16 KiB of buffers and 3.5 KiB besides. `N` is the most connections open
//! at once plus the burst to absorb.
//!
//! # Cancellation
//!
//! `accept` is cancel-safe: an established connection stays on its socket until the next
//! `accept`.

use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::Poll;

use embassy_net::tcp::State;
use embassy_net::{IpListenEndpoint, Stack};
use portsock_core::asynch::transport::{ErrorType, Listener};

use crate::Error;
use crate::addr::{listen_endpoint, socket_addr};
use crate::pool::{
    CLOSE_TIMEOUT, Slot, SlotState, TcpResources, Waiters, is_closed, start,
    wake_at_close_deadline, wake_on_change,
};
use crate::tcp::TcpStream;

/// `N` sockets listening on one port; [`accept`](Listener::accept) takes `&self`, so several
/// tasks can accept on one listener (as `portsock_core`'s `Sessions::serve` does).
pub struct TcpListener<'d, const N: usize> {
    slots: [Slot<'d>; N],
    waiters: Waiters,
    endpoint: IpListenEndpoint,
    addr: SocketAddr,
    close_timeout: embassy_time::Duration,
}

impl<'d, const N: usize> TcpListener<'d, N> {
    /// Listens on `addr` (the unspecified address: every address of the stack) with the
    /// sockets of `resources`: all `N` listen before this returns.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPort`] for port 0; [`Error::Unsupported`] for an IPv6 address without
    /// the `ipv6` feature.
    pub fn new<const RX: usize, const TX: usize>(
        stack: Stack<'d>,
        addr: SocketAddr,
        resources: &'d mut TcpResources<N, RX, TX>,
    ) -> Result<Self, Error> {
        if addr.port() == 0 {
            return Err(Error::InvalidPort);
        }
        let endpoint = listen_endpoint(addr)?;
        let listener = Self {
            slots: resources.slots(stack),
            waiters: Waiters::new(),
            endpoint,
            addr,
            close_timeout: CLOSE_TIMEOUT,
        };
        for slot in &listener.slots {
            if let Some(mut socket) = slot.available(listener.close_timeout) {
                listener.listen(slot, &mut socket);
            }
        }
        Ok(listener)
    }

    /// How long a dropped stream's socket may take to close in order before it is aborted and
    /// listens again ([`CLOSE_TIMEOUT`] by default).
    #[must_use]
    pub fn with_close_timeout(mut self, timeout: embassy_time::Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How many sockets wait for a connection now (in TCP's LISTEN state): the burst of
    /// clients the listener can take at once. Established connections not yet accepted, open
    /// streams and closing sockets do not count.
    pub fn listening(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| {
                slot.state.get() == SlotState::Listening
                    && slot
                        .socket
                        .try_borrow()
                        .is_ok_and(|socket| socket.state() == State::Listen)
            })
            .count()
    }

    /// Waits until no dropped stream's socket is still closing (nor a refused connection's
    /// reset unsent): each close completed (the peer acknowledged the last bytes and the FIN,
    /// and closed its side), or was aborted after the close timeout. A program that stops
    /// serving awaits this before it stops running its stack, so that its last connections end
    /// in order. Cancel-safe.
    pub async fn closed(&self) {
        poll_fn(|cx| {
            let mut closing = false;
            for slot in &self.slots {
                if !matches!(slot.state.get(), SlotState::Closing | SlotState::Resetting) {
                    continue;
                }
                // `available` turns a socket whose close is done (or overdue) idle.
                let Some(socket) = slot.available(self.close_timeout) else {
                    continue;
                };
                if matches!(slot.state.get(), SlotState::Closing | SlotState::Resetting) {
                    closing = true;
                    wake_on_change(&socket, cx);
                }
            }
            if closing {
                wake_at_close_deadline(&self.slots, self.close_timeout, cx);
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
    }

    /// Puts an idle socket back to listening.
    fn listen(&self, slot: &Slot<'d>, socket: &mut embassy_net::tcp::TcpSocket<'d>) {
        if slot.state.get() != SlotState::Idle {
            return;
        }
        // embassy-net's accept starts listening on its first poll and then only waits; the
        // waiting is done by `accept` below, for every socket at once.
        if start(socket.accept(self.endpoint)).is_pending() {
            slot.state.set(SlotState::Listening);
        }
    }
}

/// Whether a listener on `listening` takes a connection to `local`: an IPv4 listener takes
/// IPv4 only; an IPv6 one (`::`) both, as a kernel's `AF_INET6` socket without `IPV6_V6ONLY`.
fn takes(listening: SocketAddr, local: Option<embassy_net::IpEndpoint>) -> bool {
    listening.is_ipv6() || local.is_none_or(|local| socket_addr(local).is_ipv4())
}

impl<const N: usize> ErrorType for TcpListener<'_, N> {
    type Error = Error;
}

impl<'d, const N: usize> Listener for TcpListener<'d, N> {
    type Addr = SocketAddr;
    type Stream<'a>
        = TcpStream<'a, 'd>
    where
        Self: 'a;

    /// Waits for an established connection on any of the sockets (re-arming those whose
    /// close completed). Cancel-safe.
    async fn accept(&self) -> Result<(TcpStream<'_, 'd>, SocketAddr), Error> {
        let this = self;
        poll_fn(move |cx| {
            this.waiters.register(cx.waker());
            for slot in &this.slots {
                let Some(mut socket) = slot.available(this.close_timeout) else {
                    continue;
                };
                this.listen(slot, &mut socket);
                if slot.state.get() != SlotState::Listening {
                    // Still closing: wake when it is done, to listen again.
                    wake_on_change(&socket, cx);
                    continue;
                }
                match socket.state() {
                    State::Listen | State::SynReceived | State::SynSent => {
                        wake_on_change(&socket, cx);
                    }
                    _ if is_closed(&socket) => {
                        // Reset or timed out before it was accepted: listen again.
                        slot.state.set(SlotState::Idle);
                        this.listen(slot, &mut socket);
                        wake_on_change(&socket, cx);
                    }
                    _ if !takes(this.addr, socket.local_endpoint()) => {
                        // An IPv6 client of an IPv4 listener (smoltcp's unspecified address
                        // takes both): refused. The socket listens again once its reset is
                        // sent.
                        socket.abort();
                        slot.state.set(SlotState::Resetting);
                        slot.closing_since.set(embassy_time::Instant::now());
                        wake_on_change(&socket, cx);
                    }
                    _ => {
                        let Some(peer) = socket.remote_endpoint() else {
                            continue;
                        };
                        let stream = TcpStream::new(socket, slot, &this.waiters);
                        // The others poll again and one of them waits on the sockets left.
                        this.waiters.wake();
                        return Poll::Ready(Ok((stream, socket_addr(peer))));
                    }
                }
            }
            wake_at_close_deadline(&this.slots, this.close_timeout, cx);
            Poll::Pending
        })
        .await
    }

    fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.addr)
    }
}
