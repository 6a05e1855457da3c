//! What an async backend provides: the async mirror of [`crate::transport`].
//!
//! | blocking ([`crate::transport`]) | async (here) | edge-nal 0.7 |
//! |---|---|---|
//! | `Stream` | [`Stream`] | `Read + Write + TcpShutdown` |
//! | `Listener` | [`Listener`] (`accept(&self)`) | `TcpAccept` |
//! | `Datagram` | [`Datagram`] | `UdpSend + UdpReceive` |
//! | `Multicast` | [`Multicast`] | `MulticastV4 + MulticastV6` |
//! | `Blocking` (timeouts) | none: an async operation waits; deadlines come from a [`Timer`](super::time::Timer) | `WithTimeout` |
//!
//! Errors are `embedded_io::Error`s, as the blocking traits', but none of them means "would
//! block": an async operation waits instead.

use core::fmt::Debug;

pub use embedded_io_async::{ErrorType, Read, Write};

pub use crate::machine::{Received, Shutdown};
pub use crate::wire::mreq::{Interface, MembershipRequest};

/// A connected byte stream (TCP, a Unix stream socket, an in-memory pipe).
///
/// Reading and writing are `embedded_io_async`'s. Implementations must make
/// [`read`](Read::read) and [`write`](Write::write) cancel-safe (tokio's and embassy-net's
/// are): a read dropped before it completes consumed no byte, a write dropped before it
/// completes sent none. The drivers rely on it.
pub trait Stream: Read + Write {
    /// The address type (`SocketAddr`, a Unix path).
    type Addr: Clone + Debug;

    /// Shuts down one or both directions (`shutdown(2)`). After [`Shutdown::Write`] the peer
    /// reads end of stream once what was written has arrived.
    ///
    /// Cancel-safety: the implementation's to state; the drivers await it to completion.
    async fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error>;

    /// This end's address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As `getpeername(2)`; not connected.
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;
}

/// A listening socket that accepts streams.
///
/// `accept` takes `&self` so that several tasks can wait on one listener (as edge-nal's
/// `TcpAccept` and tokio's `TcpListener`), and an accepted stream may borrow from the listener
/// (`Stream<'a>`), as a stack with a fixed pool of sockets needs.
pub trait Listener: ErrorType {
    /// The address type.
    type Addr: Clone + Debug;
    /// An accepted stream.
    type Stream<'a>: Stream<Addr = Self::Addr, Error = Self::Error>
    where
        Self: 'a;

    /// Waits for the next connection; returns it and its peer's address.
    ///
    /// Cancel-safe: a connection that arrives after the future is dropped waits for the next
    /// `accept`.
    async fn accept(&self) -> Result<(Self::Stream<'_>, Self::Addr), Self::Error>;

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;
}

/// A datagram socket (UDP, a Unix datagram socket).
pub trait Datagram: ErrorType {
    /// The address type.
    type Addr: Clone + Debug;

    /// Sends one datagram to `to`.
    ///
    /// Cancel-safe: a datagram is sent whole or not at all.
    async fn send_to(&mut self, data: &[u8], to: &Self::Addr) -> Result<(), Self::Error>;

    /// Waits for one datagram. What does not fit in `buf` is discarded; the returned
    /// [`Received::len`] is the datagram's full size.
    ///
    /// Must be cancel-safe: a datagram that arrives after the future is dropped is returned by
    /// the next call. The datagram driver races it against its timer.
    async fn recv_from(&mut self, buf: &mut [u8]) -> Result<Received<Self::Addr>, Self::Error>;

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;
}

/// Multicast membership and options on a datagram socket.
///
/// These are socket options, applied at once on every stack portsock targets (the kernel, and
/// smoltcp/embassy-net, which queue their IGMP/MLD report), so they are not `async`, unlike
/// edge-nal's `MulticastV4`. A portsock socket exposed as edge-nal awaits nothing in its
/// `join_v4`; an edge-nal socket wrapped for portsock (`asynch::edge::EdgeDatagram`) cannot
/// offer this trait and has an async `join` of its own instead.
pub trait Multicast: Datagram {
    /// Joins a group (`IP_ADD_MEMBERSHIP` / `IPV6_JOIN_GROUP`).
    ///
    /// # Errors
    ///
    /// The stack refused the membership.
    fn join(&mut self, request: &MembershipRequest) -> Result<(), Self::Error>;

    /// Leaves a group.
    ///
    /// # Errors
    ///
    /// Not a member.
    fn leave(&mut self, request: &MembershipRequest) -> Result<(), Self::Error>;

    /// Sets the hop limit of multicast datagrams sent.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    fn set_multicast_ttl(&mut self, ttl: u8) -> Result<(), Self::Error>;

    /// The hop limit of multicast datagrams sent.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    fn multicast_ttl(&self) -> Result<u8, Self::Error>;

    /// Sets whether this host's own members receive what it sends.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    fn set_multicast_loop(&mut self, on: bool) -> Result<(), Self::Error>;

    /// Whether this host's own members receive what it sends.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    fn multicast_loop(&self) -> Result<bool, Self::Error>;

    /// Sets the interface multicast datagrams leave by.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    fn set_multicast_interface(&mut self, interface: Interface) -> Result<(), Self::Error>;
}
