//! The backend's one error type.

use core::fmt;

use portsock_core::transport::{ErrorKind, TransportError};

/// Why a smoltcp-backed socket operation failed.
///
/// [`Error::WouldBlock`] and [`Error::TimedOut`] are the transport's two kinds of "nothing
/// happened" (see [`portsock_core::transport`]): the first only in non-blocking mode, the
/// second only when a blocking call reached its timeout or deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Non-blocking mode, and nothing could be done now.
    WouldBlock,
    /// A blocking call waited for its timeout or deadline.
    TimedOut,
    /// Every socket of the kind asked for is in use; give the stack more (see
    /// [`Stack::add_tcp_socket`](crate::Stack::add_tcp_socket)).
    NoFreeSocket(SocketKind),
    /// The socket table has no room for another socket (see [`crate::MAX_SOCKETS`]).
    TooManySockets,
    /// The address cannot be used here: an unspecified or unreachable destination, an address
    /// of a family the interface has no address for, port 0 as a destination.
    Unaddressable,
    /// Another socket already listens on or is bound to the port.
    AddrInUse(u16),
    /// The peer refused the connection: a RST answered the SYN (nobody listens there).
    ConnectionRefused,
    /// The peer reset an established connection (a RST).
    ConnectionReset,
    /// The peer stayed silent past the connection's TCP timeout (no answer to a SYN, to data,
    /// or to keep-alive probes: it vanished), and the connection was dropped.
    ConnectionTimedOut,
    /// No route to the address: it is on none of the interface's networks, and no gateway of
    /// its family is set.
    NoRoute,
    /// The operation needs a connected stream, and this one is not (yet, or any more).
    NotConnected,
    /// Writing after this side shut its sending direction down.
    BrokenPipe,
    /// A datagram larger than the socket's buffers can ever hold.
    DatagramTooLarge {
        /// The datagram's size.
        len: usize,
        /// The largest this socket can send.
        max: usize,
    },
    /// A multicast operation failed: not a group address, the interface's group table is
    /// full, or the wrong family or interface.
    Multicast(MulticastProblem),
    /// A name lookup failed.
    Dns(DnsProblem),
    /// A setting the backend does not support, e.g. multicast loopback (smoltcp never delivers
    /// its own multicast datagrams back to itself).
    Unsupported(&'static str),
    /// An argument out of range, e.g. a zero timeout.
    InvalidInput(&'static str),
}

/// The kind of socket [`Error::NoFreeSocket`] ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SocketKind {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// DNS.
    Dns,
}

/// What went wrong with a multicast request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MulticastProblem {
    /// The group is not a multicast address.
    NotMulticast,
    /// The interface's group table is full (smoltcp's `iface-max-multicast-group-count`).
    GroupTableFull,
    /// The request names an interface this stack does not have (smoltcp has one interface:
    /// use its own address, index 0/1, or "any").
    NoSuchInterface,
    /// The group's family differs from the socket's.
    WrongFamily,
}

/// What went wrong with a DNS lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DnsProblem {
    /// No DNS server is configured.
    NoServer,
    /// The name is not a valid DNS name, or is too long.
    InvalidName,
    /// The server answered that the name does not exist, or every server failed.
    NotFound,
    /// Too many lookups at once.
    Busy,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WouldBlock => f.write_str("operation would block"),
            Self::TimedOut => f.write_str("timed out"),
            Self::NoFreeSocket(kind) => write!(
                f,
                "no free {} socket: every one the stack was given is in use",
                match kind {
                    SocketKind::Tcp => "TCP",
                    SocketKind::Udp => "UDP",
                    SocketKind::Dns => "DNS",
                }
            ),
            Self::TooManySockets => write!(
                f,
                "the stack's socket table is full ({} sockets at most)",
                crate::MAX_SOCKETS
            ),
            Self::Unaddressable => f.write_str(
                "address not usable on this interface (unspecified, port 0, no route, or no address of that family)",
            ),
            Self::AddrInUse(port) => write!(f, "address already in use: port {port}"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::ConnectionReset => f.write_str("connection reset by the peer"),
            Self::ConnectionTimedOut => f.write_str(
                "connection timed out: the peer stopped answering (TCP timeout)",
            ),
            Self::NoRoute => f.write_str(
                "no route to host: not on the interface's networks, and no gateway (--gateway) for its family",
            ),
            Self::NotConnected => f.write_str("socket is not connected"),
            Self::BrokenPipe => f.write_str("broken pipe: the sending direction was shut down"),
            Self::DatagramTooLarge { len, max } => write!(
                f,
                "datagram of {len} bytes is larger than this socket can send (at most {max})"
            ),
            Self::Multicast(p) => f.write_str(match p {
                MulticastProblem::NotMulticast => "not a multicast group address",
                MulticastProblem::GroupTableFull => "the interface's multicast group table is full",
                MulticastProblem::NoSuchInterface => {
                    "no such interface: the stack has one, named by its own address or \"any\""
                }
                MulticastProblem::WrongFamily => "the group's family differs from the socket's",
            }),
            Self::Dns(p) => f.write_str(match p {
                DnsProblem::NoServer => "no DNS server configured",
                DnsProblem::InvalidName => "not a valid DNS name",
                DnsProblem::NotFound => "Name or service not known",
                DnsProblem::Busy => "too many DNS lookups at once",
            }),
            Self::Unsupported(what) => write!(f, "not supported by the smoltcp backend: {what}"),
            Self::InvalidInput(what) => write!(f, "invalid input: {what}"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::WouldBlock => ErrorKind::Other,
            Self::TimedOut => ErrorKind::TimedOut,
            Self::NoFreeSocket(_) | Self::TooManySockets => ErrorKind::OutOfMemory,
            Self::Unaddressable => ErrorKind::AddrNotAvailable,
            Self::AddrInUse(_) => ErrorKind::AddrInUse,
            Self::ConnectionRefused => ErrorKind::ConnectionRefused,
            Self::ConnectionReset => ErrorKind::ConnectionReset,
            Self::ConnectionTimedOut => ErrorKind::TimedOut,
            // embedded-io has no "host unreachable".
            Self::NoRoute => ErrorKind::AddrNotAvailable,
            Self::NotConnected => ErrorKind::NotConnected,
            Self::BrokenPipe => ErrorKind::BrokenPipe,
            Self::DatagramTooLarge { .. } | Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Multicast(_) => ErrorKind::InvalidInput,
            Self::Dns(DnsProblem::NotFound) => ErrorKind::NotFound,
            Self::Dns(_) => ErrorKind::Other,
            Self::Unsupported(_) => ErrorKind::Unsupported,
        }
    }
}

impl TransportError for Error {
    fn is_would_block(&self) -> bool {
        matches!(self, Self::WouldBlock)
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            Error::WouldBlock => K::WouldBlock,
            Error::TimedOut => K::TimedOut,
            Error::NoFreeSocket(_) | Error::TooManySockets => K::OutOfMemory,
            Error::Unaddressable => K::AddrNotAvailable,
            Error::AddrInUse(_) => K::AddrInUse,
            Error::ConnectionRefused => K::ConnectionRefused,
            Error::ConnectionReset => K::ConnectionReset,
            Error::ConnectionTimedOut => K::TimedOut,
            Error::NoRoute => K::HostUnreachable,
            Error::NotConnected => K::NotConnected,
            Error::BrokenPipe => K::BrokenPipe,
            Error::DatagramTooLarge { .. } | Error::InvalidInput(_) | Error::Multicast(_) => {
                K::InvalidInput
            }
            Error::Dns(DnsProblem::NotFound) => K::NotFound,
            Error::Dns(_) => K::Other,
            Error::Unsupported(_) => K::Unsupported,
        };
        Self::new(kind, e)
    }
}
