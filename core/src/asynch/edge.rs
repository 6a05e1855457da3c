//! portsock's async traits over any edge-nal 0.7 stack (feature `edge-nal`): wrap what the
//! stack hands out and the [drivers](super::drive) run portsock's machines on it.
//!
//! | edge-nal 0.7 | wrapped in | implements |
//! |---|---|---|
//! | a socket: `Read + Write + TcpShutdown` (from `TcpConnect` or `TcpAccept`) | [`EdgeStream`] | [`Stream`] |
//! | `TcpAccept` (from `TcpBind::bind`) | [`EdgeListener`] | [`Listener`] |
//! | `UdpReceive + UdpSend` (from `UdpBind::bind`) | [`EdgeDatagram`] | [`Datagram`] |
//! | `MulticastV4 + MulticastV6` | [`EdgeDatagram::join`] / [`leave`](EdgeDatagram::leave) (async) | not [`Multicast`](super::transport::Multicast) |
//! | `embassy_time` (edge-nal's own clock) | [`EmbassyTimer`] | [`Timer`](super::time::Timer) |
//!
//! ```
//! # use core::net::SocketAddr;
//! use portsock_core::asynch::drive::run_stream;
//! use portsock_core::asynch::edge::EdgeListener;
//! use portsock_core::asynch::transport::Listener;
//! use portsock_core::echo::stream::EchoSession;
//!
//! /// Echoes one connection on any edge-nal stack (edge-nal-std, embassy-net's edge-nal-embassy).
//! # #[allow(dead_code)]
//! async fn echo_one<B: edge_nal::TcpBind>(stack: &B, local: SocketAddr) -> Result<(), B::Error> {
//!     let listener = EdgeListener::new(stack.bind(local).await?, local);
//!     let (mut stream, _peer) = listener.accept().await?;
//!     let mut session = EchoSession::new([0u8; 1024]);
//!     let _ = run_stream(&mut stream, &mut session, &mut |_| {}).await;
//!     Ok(())
//! }
//! ```
//!
//! # Where the semantics differ
//!
//! - **Addresses.** edge-nal has no `getsockname`/`getpeername`: a stream knows its peer from
//!   `accept` (or the address it connected to), and every socket's local address is the one
//!   it was bound to, as given to [`EdgeListener::new`] / [`EdgeDatagram::new`] (port 0 stays
//!   0; ask the stack itself for the port it picked: edge-nal-std's TCP and UDP sockets deref
//!   to async-io's `Async<std::net::…>`, its acceptor does not, so bind it to a port you chose).
//! - **Truncation.** edge-nal's `UdpReceive::receive` returns `(len, from)`, and its docs ask
//!   for the full datagram size in `len`, but not every stack does: edge-nal-std returns what
//!   `recvfrom(2)` copied, so a datagram longer than the buffer reports the buffer's length and
//!   its truncation does not show. [`EdgeDatagram`] passes the stack's `len` on as
//!   [`Received::len`] unchanged: exact on stacks that keep edge-nal's word, `min(len,
//!   buf.len())` on edge-nal-std. Give machines a buffer one byte longer than the largest
//!   datagram they accept if they must tell.
//! - **Shutdown.** [`Stream::shutdown`] maps to `TcpShutdown::close`, which edge-nal's docs let
//!   a stack hold until the peer has acknowledged the FIN (edge-nal-std returns at once, as
//!   `shutdown(2)`). Wrap such a stack's socket in edge-nal's `WithTimeout` if the peer may
//!   vanish.
//! - **Multicast.** edge-nal's `join_v4`/`join_v6` are `async` and it has no TTL, loop or
//!   outgoing-interface options, so [`EdgeDatagram`] cannot implement portsock's (synchronous,
//!   option-complete) [`Multicast`](super::transport::Multicast). It offers an async
//!   [`join`](EdgeDatagram::join) / [`leave`](EdgeDatagram::leave) instead, which the caller
//!   awaits before running the multicast machines (they need only [`Datagram`]); TTL and
//!   loop stay the stack's defaults (1 and on, for std sockets).
//! - **Would-block and time-outs.** Neither side has would-block. edge-nal puts deadlines on
//!   sockets (`WithTimeout`, an error `TimedOut`); portsock's drivers take them from the
//!   machine's `poll_timeout` and the [`Timer`](super::time::Timer), so the wrapped sockets need none.
//! - **Listener backlog.** edge-nal's `TcpBind` takes no backlog: the stack's own applies
//!   (std's `TcpListener::bind` default on edge-nal-std; on stacks without an accept queue,
//!   such as embassy-net, only as many connections as there are `accept`s waiting).
//!
//! # Cancellation
//!
//! Each wrapper method is as cancel-safe as the stack's method it calls, and adds no state of
//! its own across an `.await`. edge-nal-std's reads, writes, `accept` and `receive` are
//! (async-io waits for readiness, then makes one non-blocking call).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use edge_nal::{Close, MulticastV4, MulticastV6, TcpAccept, TcpShutdown, UdpReceive, UdpSend};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};

pub use super::embassy_timer::EmbassyTimer;
use super::transport::{
    Datagram, Interface, Listener, MembershipRequest, Received, Shutdown, Stream,
};

/// An edge-nal TCP socket as a portsock [`Stream`].
#[derive(Debug)]
pub struct EdgeStream<S> {
    socket: S,
    local: SocketAddr,
    peer: SocketAddr,
}

impl<S> EdgeStream<S> {
    /// Wraps `socket`, connected from `local` (the address bound, or unspecified) to `peer`.
    pub fn new(socket: S, local: SocketAddr, peer: SocketAddr) -> Self {
        Self {
            socket,
            local,
            peer,
        }
    }

    /// The edge-nal socket, for what portsock's traits do not cover (`TcpSplit`, `Readable`).
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.socket
    }

    /// Unwraps the edge-nal socket.
    pub fn into_inner(self) -> S {
        self.socket
    }
}

impl<S: ErrorType> ErrorType for EdgeStream<S> {
    type Error = S::Error;
}

impl<S: Read> Read for EdgeStream<S> {
    /// Cancel-safe if the stack's `read` is.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.socket.read(buf).await
    }
}

impl<S: Write> Write for EdgeStream<S> {
    /// Cancel-safe if the stack's `write` is.
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.socket.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.socket.flush().await
    }
}

impl<S: Read + Write + TcpShutdown> Stream for EdgeStream<S> {
    type Addr = SocketAddr;

    /// `TcpShutdown::close`; as cancel-safe as the stack's.
    async fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error> {
        let what = match how {
            Shutdown::Read => Close::Read,
            Shutdown::Write => Close::Write,
            Shutdown::Both => Close::Both,
        };
        self.socket.close(what).await
    }

    /// The address the listener was bound to (edge-nal has no `getsockname`).
    fn local_addr(&self) -> Result<SocketAddr, Self::Error> {
        Ok(self.local)
    }

    fn peer_addr(&self) -> Result<SocketAddr, Self::Error> {
        Ok(self.peer)
    }
}

/// An edge-nal `TcpAccept` as a portsock [`Listener`]: `accept(&self)` and the socket that
/// may borrow its acceptor map one to one.
#[derive(Debug)]
pub struct EdgeListener<A> {
    acceptor: A,
    local: SocketAddr,
}

impl<A> EdgeListener<A> {
    /// Wraps `acceptor`, bound (by `TcpBind::bind`) to `local`.
    pub fn new(acceptor: A, local: SocketAddr) -> Self {
        Self { acceptor, local }
    }

    /// The edge-nal acceptor.
    pub fn inner(&self) -> &A {
        &self.acceptor
    }
}

impl<A: TcpAccept> ErrorType for EdgeListener<A> {
    type Error = A::Error;
}

impl<A: TcpAccept> Listener for EdgeListener<A> {
    type Addr = SocketAddr;
    type Stream<'a>
        = EdgeStream<A::Socket<'a>>
    where
        Self: 'a;

    /// As cancel-safe as the stack's `accept`.
    async fn accept(&self) -> Result<(Self::Stream<'_>, SocketAddr), Self::Error> {
        let (peer, socket) = self.acceptor.accept().await?;
        Ok((EdgeStream::new(socket, self.local, peer), peer))
    }

    /// The address given to [`new`](Self::new).
    fn local_addr(&self) -> Result<SocketAddr, Self::Error> {
        Ok(self.local)
    }
}

/// An edge-nal UDP socket (`UdpReceive + UdpSend`) as a portsock [`Datagram`], with async
/// multicast membership when the socket has it.
#[derive(Debug)]
pub struct EdgeDatagram<U> {
    socket: U,
    local: SocketAddr,
}

impl<U> EdgeDatagram<U> {
    /// Wraps `socket`, bound (by `UdpBind::bind`) to `local`.
    pub fn new(socket: U, local: SocketAddr) -> Self {
        Self { socket, local }
    }

    /// The edge-nal socket.
    pub fn inner_mut(&mut self) -> &mut U {
        &mut self.socket
    }

    /// Unwraps the edge-nal socket.
    pub fn into_inner(self) -> U {
        self.socket
    }
}

impl<U: MulticastV4 + MulticastV6> EdgeDatagram<U> {
    /// Joins the group of `request` (edge-nal's `join_v4` / `join_v6`).
    ///
    /// # Errors
    ///
    /// [`EdgeMulticastError::IndexForIpv4`] for an IPv4 group on an interface index (edge-nal
    /// names IPv4 interfaces by address only); the stack's error otherwise.
    pub async fn join(
        &mut self,
        request: &MembershipRequest,
    ) -> Result<(), EdgeMulticastError<U::Error>> {
        match EdgeMembership::new(request)? {
            EdgeMembership::V4 { group, interface } => self.socket.join_v4(group, interface).await,
            EdgeMembership::V6 { group, index } => self.socket.join_v6(group, index).await,
        }
        .map_err(EdgeMulticastError::Stack)
    }

    /// Leaves the group of `request`.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub async fn leave(
        &mut self,
        request: &MembershipRequest,
    ) -> Result<(), EdgeMulticastError<U::Error>> {
        match EdgeMembership::new(request)? {
            EdgeMembership::V4 { group, interface } => self.socket.leave_v4(group, interface).await,
            EdgeMembership::V6 { group, index } => self.socket.leave_v6(group, index).await,
        }
        .map_err(EdgeMulticastError::Stack)
    }
}

impl<U: ErrorType> ErrorType for EdgeDatagram<U> {
    type Error = U::Error;
}

impl<U: UdpReceive + UdpSend> Datagram for EdgeDatagram<U> {
    type Addr = SocketAddr;

    /// `UdpSend::send`; as cancel-safe as the stack's (edge-nal-std's sends a datagram whole).
    async fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> Result<(), Self::Error> {
        self.socket.send(*to, data).await
    }

    /// `UdpReceive::receive`, its `len` passed on as [`Received::len`]: the full size on
    /// stacks that report it, the bytes copied on edge-nal-std (see the module docs).
    async fn recv_from(&mut self, buf: &mut [u8]) -> Result<Received<SocketAddr>, Self::Error> {
        let (len, from) = self.socket.receive(buf).await?;
        Ok(Received { len, from })
    }

    /// The address given to [`new`](Self::new).
    fn local_addr(&self) -> Result<SocketAddr, Self::Error> {
        Ok(self.local)
    }
}

/// Why [`EdgeDatagram::join`] or [`leave`](EdgeDatagram::leave) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdgeMulticastError<E> {
    /// An IPv4 group on an interface index: edge-nal's `join_v4` takes the interface's address.
    IndexForIpv4 {
        /// The index asked for.
        index: u32,
    },
    /// The stack refused.
    Stack(E),
}

impl<E: core::fmt::Display> core::fmt::Display for EdgeMulticastError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::IndexForIpv4 { index } => write!(
                f,
                "multicast interface index {index}: edge-nal names IPv4 interfaces by address, \
                 expected an address or any"
            ),
            Self::Stack(e) => write!(f, "multicast membership: {e}"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for EdgeMulticastError<E> {}

impl<E: embedded_io_async::Error> embedded_io_async::Error for EdgeMulticastError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::IndexForIpv4 { .. } => ErrorKind::InvalidInput,
            Self::Stack(e) => e.kind(),
        }
    }
}

/// A membership request in edge-nal's terms: IPv4 by interface address, IPv6 by index.
enum EdgeMembership {
    V4 {
        group: Ipv4Addr,
        interface: Ipv4Addr,
    },
    V6 {
        group: Ipv6Addr,
        index: u32,
    },
}

impl EdgeMembership {
    fn new<E>(request: &MembershipRequest) -> Result<Self, EdgeMulticastError<E>> {
        Ok(match (request.group(), request.interface()) {
            (IpAddr::V4(group), Interface::Any) => Self::V4 {
                group,
                interface: Ipv4Addr::UNSPECIFIED,
            },
            (IpAddr::V4(group), Interface::Addr(interface)) => Self::V4 { group, interface },
            (IpAddr::V4(_), Interface::Index(index)) => {
                return Err(EdgeMulticastError::IndexForIpv4 { index });
            }
            (IpAddr::V6(group), Interface::Index(index)) => Self::V6 { group, index },
            // MembershipRequest::new refuses an IPv6 group on an IPv4 address: any interface.
            (IpAddr::V6(group), _) => Self::V6 { group, index: 0 },
        })
    }
}
