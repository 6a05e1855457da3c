//! The transport: traits only, which every backend implements and every driver runs over.
//!
//! | trait | what | std backend | smoltcp backend / firmware |
//! |---|---|---|---|
//! | [`Read`] + [`Write`] + [`Stream`] | TCP and Unix stream sockets | `TcpStream`, `UnixStream` | `(stack, handle)` TCP socket |
//! | [`Listener`] | `accept` | `TcpListener`, `UnixListener` | a listening TCP socket |
//! | [`Datagram`] | `send_to` / `recv_from` | `UdpSocket`, `UnixDatagram` | `(stack, handle)` UDP socket |
//! | [`Multicast`] | groups, TTL, loopback | `UdpSocket` | UDP socket + `iface.join_multicast_group` |
//! | [`Blocking`] | timeouts, non-blocking mode | `set_read_timeout`, `set_nonblocking` | a stored deadline / mode |
//!
//! Streams are [`embedded_io`] 0.7's [`Read`] and [`Write`] as they are: `read` returns at least
//! one byte or `Ok(0)` at end of stream, `write` at least one byte, and `write_all` is Python's
//! `sendall`. Everything is blocking by default, as embedded-io is; non-blocking mode and
//! timeouts are opt-in through [`Blocking`], and their two failures stay apart:
//!
//! * **timed out**: a blocking call waited for its timeout and nothing happened. The error's
//!   [`embedded_io::Error::kind`] is [`ErrorKind::TimedOut`]; retrying waits again.
//! * **would block**: in non-blocking mode nothing can happen *now*.
//!   [`TransportError::is_would_block`] is `true`; the caller waits for readiness (mio, an
//!   interface poll) and retries. Its `kind()` is [`ErrorKind::Other`], because embedded-io's
//!   [`ErrorKind`] has no `WouldBlock` (and its `From<std::io::ErrorKind>` maps `WouldBlock` to
//!   `Other`).
//!
//! An error is never both. The std backend must keep them apart itself: on Unix a socket read
//! timeout (`SO_RCVTIMEO`) fails with `EAGAIN`, the same code as non-blocking mode, so it
//! reports `ErrorKind::TimedOut` when the socket is blocking with a timeout and `WouldBlock`
//! only in non-blocking mode.
//!
//! Datagram receives carry their own `deadline: Option<Instant>` (`Ok(None)` when it passes):
//! a state machine's `poll_timeout` goes straight into it, so a driver needs no timeout setting
//! per call. Implementations read the deadline on the same [`Clock`](crate::time::Clock) the
//! driver was given.
//!
//! # How this differs from embedded-nal, embedded-nal-async and edge-nal
//!
//! * **Blocking calls with deadlines, not `nb` and not `async`.** embedded-nal returns
//!   `nb::Result` (every call may answer `WouldBlock`, so every caller is a poll loop);
//!   embedded-nal-async and edge-nal are `async fn` traits, which need an executor, and edge-nal
//!   adds timeouts by wrapping futures with `embassy-time`. portsock's protocol logic is already
//!   sans-IO ([`echo`](crate::echo), [`multicast`](crate::multicast), [`record`](crate::record)), so
//!   the transport only has to block until "ready or deadline": a smoltcp backend spins
//!   `iface.poll(now)` until then, a firmware main loop does the same, a host blocks in the
//!   kernel. No executor, no allocator, no timer crate. Non-blocking operation is still there for
//!   event loops (the mio echo server), as a mode rather than as the only shape of every call.
//! * **Would-block is a property of the backend's own error.** embedded-nal wraps every error in
//!   `nb::Error<E>`; here it is one method, [`TransportError::is_would_block`], on the error type
//!   the backend already has, so `std::io::Error` works unchanged (as STYLE.md asks of
//!   backend-std) and `?` keeps working. A variant could not be added to embedded-io's foreign,
//!   `#[non_exhaustive]` [`ErrorKind`], and a second error enum would force every backend to map
//!   twice.
//! * **Sockets are objects, not stack handles.** embedded-nal's `UdpClientStack::send(&mut self,
//!   socket: &mut Self::UdpSocket, ..)` threads the stack through every call; like
//!   embedded-nal-async and edge-nal, a socket here carries whatever it needs (a smoltcp
//!   backend's `(stack, handle)` pair), which is what lets streams *be* embedded-io readers and
//!   writers.
//! * **Addresses are an associated type.** All three use `SocketAddr`; [`Stream::Addr`] and
//!   [`Datagram::Addr`] let the std backend put Unix sockets (path addresses) behind the same
//!   traits, and the machines take the address type as a parameter. [`Multicast`] is IP only.
//! * **One multicast trait over a membership request.** edge-nal splits `MulticastV4` /
//!   `MulticastV6` with `(group, interface)` arguments and has no TTL or loopback control;
//!   embedded-nal(-async) has no multicast. [`Multicast`] takes the core's validated
//!   [`MembershipRequest`] (group plus an IPv4 interface address or IPv6 interface index, the
//!   same value [`wire::mreq`](crate::wire::mreq) lays out as `ip_mreq` / `ipv6_mreq`) and sets
//!   TTL / hop limit, loopback and the outgoing interface, as socket2 does.
//! * **Accepted streams do not borrow the listener.** edge-nal's `TcpAccept::Socket<'a>` borrows
//!   the acceptor, so a server cannot accept while a connection lives. [`Listener::Stream`] is a
//!   plain type: a smoltcp backend's listener holds `&'s Stack` and hands out streams that live
//!   for `'s`.
//! * **Shutdown of either direction**, as edge-nal's `TcpShutdown::close(Close)`, because the
//!   echo protocol half-closes; embedded-nal-async has none.
//! * **Truncation shows**, as in embedded-nal-async's `receive_into`: [`Received::len`] is the
//!   datagram's full size even when the buffer was shorter.
//!
//! # Example
//!
//! A function that works on any stream, here run over the in-memory transport:
//!
//! ```
//! use portsock_core::mem::StreamPair;
//! use portsock_core::transport::{Read, Shutdown, Stream, Write};
//!
//! fn shout<S: Stream>(s: &mut S) -> Result<usize, S::Error> {
//!     let mut buf = [0u8; 16];
//!     let n = s.read(&mut buf)?;
//!     buf[..n].make_ascii_uppercase();
//!     s.write_all(&buf[..n])?;
//!     s.shutdown(Shutdown::Write)?;
//!     Ok(n)
//! }
//!
//! let pair = StreamPair::<64>::new();
//! let (mut client, mut server) = pair.split();
//! client.write_all(b"hello")?;
//! assert_eq!(shout(&mut server)?, 5);
//! let mut back = [0u8; 8];
//! assert_eq!(client.read(&mut back)?, 5);
//! assert_eq!(&back[..5], b"HELLO");
//! assert_eq!(client.read(&mut back)?, 0); // the server's FIN
//! # Ok::<(), portsock_core::mem::MemError>(())
//! ```

use core::convert::Infallible;
use core::fmt::Debug;

pub use embedded_io::{Error, ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

pub use crate::machine::{Received, Shutdown};
pub use crate::wire::mreq::{Interface, MembershipRequest};

use crate::time::{Duration, Instant};

/// The distinction embedded-io's [`ErrorKind`] lacks: "would block" (non-blocking mode, try
/// again when ready), as opposed to "timed out" ([`ErrorKind::TimedOut`]).
///
/// Every error type of the transport traits implements it. Implementations must keep the two
/// apart: `is_would_block()` and `kind() == ErrorKind::TimedOut` are never both true.
pub trait TransportError {
    /// Whether the operation failed only because the socket is non-blocking and nothing could
    /// be done right now (`EAGAIN` / `EWOULDBLOCK` in non-blocking mode).
    fn is_would_block(&self) -> bool;
}

impl TransportError for Infallible {
    fn is_would_block(&self) -> bool {
        match *self {}
    }
}

/// For transports whose error is a bare kind; never "would block".
impl TransportError for ErrorKind {
    fn is_would_block(&self) -> bool {
        false
    }
}

/// `io::ErrorKind::WouldBlock` is "would block". On Unix a blocking socket's timeout also
/// surfaces as `WouldBlock`; backends must turn that into `TimedOut` (see the module doc).
#[cfg(feature = "std")]
impl TransportError for std::io::Error {
    fn is_would_block(&self) -> bool {
        self.kind() == std::io::ErrorKind::WouldBlock
    }
}

/// A connected byte stream (TCP, Unix stream socket): [`Read`] + [`Write`], plus shutdown and
/// addresses.
///
/// The error type implements [`TransportError`], so drivers can tell "would block" from
/// "timed out" and from real failures.
pub trait Stream: Read + Write + ErrorType<Error: TransportError> {
    /// The address type: `SocketAddr` for TCP, a path address for Unix sockets.
    type Addr: Clone + Debug;

    /// Shuts down one or both directions (`shutdown(2)`); see [`Shutdown`].
    ///
    /// # Errors
    ///
    /// The backend's error, e.g. not connected.
    fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error>;

    /// The local address (`getsockname`).
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// The peer's address (`getpeername`).
    ///
    /// # Errors
    ///
    /// The backend's error, e.g. not connected.
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;
}

/// A listening socket that accepts [`Stream`]s.
///
/// Accepted streams are independent of the listener (no borrow), so a server keeps accepting
/// while earlier connections are served.
pub trait Listener: ErrorType<Error: TransportError> {
    /// The address type, the same as the accepted streams'.
    type Addr: Clone + Debug;
    /// The streams it accepts.
    type Stream: Stream<Addr = Self::Addr>;

    /// Waits for the next connection and returns it with the peer's address (`accept(2)`); in
    /// non-blocking mode fails with a would-block error when none is pending.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn accept(&mut self) -> Result<(Self::Stream, Self::Addr), Self::Error>;

    /// The address it listens on (`getsockname`), with the port the system chose for port 0.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;
}

/// An unconnected datagram socket (UDP, Unix datagram socket), bound to a local address.
pub trait Datagram: ErrorType<Error: TransportError> {
    /// The address type: `SocketAddr` for UDP, a path address for Unix sockets.
    type Addr: Clone + Debug;

    /// Sends one datagram to `to` (`sendto(2)`); all of `data` or nothing.
    ///
    /// # Errors
    ///
    /// The backend's error, e.g. a datagram too large for the transport.
    fn send_to(&mut self, data: &[u8], to: &Self::Addr) -> Result<(), Self::Error>;

    /// Receives one datagram into `buf`, waiting at most until `deadline` (forever if `None`).
    ///
    /// Returns `Ok(Some(received))` with the datagram's full length (bytes past `buf.len()` are
    /// discarded, see [`Received::is_truncated`]), or `Ok(None)` once `deadline` has passed with
    /// nothing received. A deadline already past still takes a datagram that is waiting. In
    /// non-blocking mode it fails with a would-block error instead of waiting.
    ///
    /// The deadline is read on the same [`Clock`](crate::time::Clock) the caller uses.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<Option<Received<Self::Addr>>, Self::Error>;

    /// The local address (`getsockname`).
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;
}

/// Multicast control for an IP datagram socket, after socket2's `join_multicast_v4` /
/// `join_multicast_v6`, `set_multicast_ttl_v4` / `set_multicast_hops_v6`,
/// `set_multicast_loop_*` and `set_multicast_if_*` (`ip(7)`, `ipv6(7)`).
///
/// The socket's family picks the IPv4 or IPv6 option; a request of the other family is an
/// error.
pub trait Multicast: Datagram {
    /// Joins a group on an interface (`IP_ADD_MEMBERSHIP` / `IPV6_ADD_MEMBERSHIP`).
    ///
    /// # Errors
    ///
    /// The backend's error, e.g. no such interface or too many memberships.
    fn join(&mut self, request: &MembershipRequest) -> Result<(), Self::Error>;

    /// Leaves a group joined with the same request (`IP_DROP_MEMBERSHIP` /
    /// `IPV6_DROP_MEMBERSHIP`).
    ///
    /// # Errors
    ///
    /// The backend's error, e.g. not a member.
    fn leave(&mut self, request: &MembershipRequest) -> Result<(), Self::Error>;

    /// Sets the TTL (IPv4) or hop limit (IPv6) of outgoing multicast datagrams; 1, the system
    /// default, keeps them on the local network (`IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS`).
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn set_multicast_ttl(&mut self, ttl: u8) -> Result<(), Self::Error>;

    /// The TTL / hop limit of outgoing multicast datagrams.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn multicast_ttl(&self) -> Result<u8, Self::Error>;

    /// Whether outgoing multicast datagrams are also delivered to this host's own members of
    /// the group (`IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`; on by default).
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn set_multicast_loop(&mut self, on: bool) -> Result<(), Self::Error>;

    /// Whether multicast loopback is on.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn multicast_loop(&self) -> Result<bool, Self::Error>;

    /// Picks the interface outgoing multicast datagrams leave by (`IP_MULTICAST_IF` /
    /// `IPV6_MULTICAST_IF`); [`Interface::Any`] lets the routing table decide.
    ///
    /// # Errors
    ///
    /// The backend's error, e.g. no such interface or the wrong family.
    fn set_multicast_interface(&mut self, interface: Interface) -> Result<(), Self::Error>;
}

/// How a socket waits: forever (the default), up to a timeout, or not at all.
///
/// With a timeout, a call that waited that long fails with [`ErrorKind::TimedOut`]; in
/// non-blocking mode a call that would wait fails with [`TransportError::is_would_block`]. A
/// zero timeout is refused, as `std` refuses it (use non-blocking mode).
pub trait Blocking: ErrorType<Error: TransportError> {
    /// Switches non-blocking mode on or off (`O_NONBLOCK`).
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn set_nonblocking(&mut self, nonblocking: bool) -> Result<(), Self::Error>;

    /// Sets how long a read (or `accept`, or `recv_from` without a deadline) may wait; `None`
    /// waits forever (`SO_RCVTIMEO`).
    ///
    /// # Errors
    ///
    /// The backend's error; a zero timeout is invalid input.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), Self::Error>;

    /// The read timeout.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn read_timeout(&self) -> Result<Option<Duration>, Self::Error>;

    /// Sets how long a write may wait for buffer space; `None` waits forever (`SO_SNDTIMEO`).
    ///
    /// # Errors
    ///
    /// The backend's error; a zero timeout is invalid input.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<(), Self::Error>;

    /// The write timeout.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn write_timeout(&self) -> Result<Option<Duration>, Self::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_error_kinds_never_would_block() {
        assert!(!ErrorKind::TimedOut.is_would_block());
        assert!(!ErrorKind::Other.is_would_block());
    }

    #[cfg(feature = "std")]
    #[test]
    fn io_errors_would_block_only_for_would_block() {
        use std::io;
        assert!(io::Error::from(io::ErrorKind::WouldBlock).is_would_block());
        assert!(!io::Error::from(io::ErrorKind::TimedOut).is_would_block());
    }
}
