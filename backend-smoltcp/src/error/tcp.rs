//! TCP listeners and streams.

use core::fmt;

use portsock_core::transport::{ErrorKind, TransportError};

use super::{Blocked, NoIpv6};

/// Why a [`TcpListener`](crate::TcpListener) or [`TcpStream`](crate::TcpStream) call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TcpError {
    /// Non-blocking mode, and nothing could be done now.
    WouldBlock,
    /// A blocking call waited for its timeout or deadline.
    TimedOut,
    /// Every TCP socket the stack was given is in use; give it more
    /// ([`Stack::add_tcp_socket`](crate::Stack::add_tcp_socket)).
    NoFreeSocket,
    /// The stack has [`MAX_LISTENERS`](crate::MAX_LISTENERS) listeners already.
    TooManyListeners,
    /// The address cannot be used here: unspecified, port 0, or not one of the interface's.
    Unaddressable,
    /// Another socket already listens on or uses the port (0: no ephemeral port is free).
    AddrInUse(u16),
    /// The peer refused the connection: a RST answered the SYN (nobody listens there).
    ConnectionRefused,
    /// The peer reset the connection (a RST).
    ConnectionReset,
    /// The peer stayed silent past the connection's TCP timeout (no answer to a SYN, to data,
    /// or to keep-alive probes: it vanished), and the connection was dropped.
    ConnectionTimedOut,
    /// No route to the address: it is on none of the interface's networks, and no gateway of
    /// its family is set.
    NoRoute,
    /// The call needs a connected stream, and this one is not (yet, or any more).
    NotConnected,
    /// Writing after this side shut its sending direction down.
    BrokenPipe,
    /// A value out of range, e.g. a zero timeout or backlog; the text says which.
    InvalidInput(&'static str),
    /// Something this build cannot do (an IPv6 address without the `ipv6` feature).
    Unsupported(&'static str),
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WouldBlock => f.write_str("operation would block"),
            Self::TimedOut => f.write_str("timed out"),
            Self::NoFreeSocket => {
                f.write_str("no free TCP socket: every one the stack was given is in use")
            }
            Self::TooManyListeners => write!(
                f,
                "too many listeners on one stack ({} at most)",
                crate::MAX_LISTENERS
            ),
            Self::Unaddressable => f.write_str(
                "address not usable on this interface (unspecified, port 0, or not the interface's)",
            ),
            Self::AddrInUse(0) => f.write_str("address already in use: no ephemeral port is free"),
            Self::AddrInUse(port) => write!(f, "address already in use: port {port}"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::ConnectionReset => f.write_str("connection reset by the peer"),
            Self::ConnectionTimedOut => {
                f.write_str("connection timed out: the peer stopped answering (TCP timeout)")
            }
            Self::NoRoute => f.write_str(
                "no route to host: not on the interface's networks, and no gateway (--gateway) for its family",
            ),
            Self::NotConnected => f.write_str("socket is not connected"),
            Self::BrokenPipe => f.write_str("broken pipe: the sending direction was shut down"),
            Self::InvalidInput(what) => write!(f, "invalid input: {what}"),
            Self::Unsupported(what) => write!(f, "not supported by the smoltcp backend: {what}"),
        }
    }
}

impl core::error::Error for TcpError {}

impl embedded_io::Error for TcpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::WouldBlock => ErrorKind::Other,
            Self::TimedOut | Self::ConnectionTimedOut => ErrorKind::TimedOut,
            Self::NoFreeSocket | Self::TooManyListeners => ErrorKind::OutOfMemory,
            // embedded-io has no "host unreachable".
            Self::Unaddressable | Self::NoRoute => ErrorKind::AddrNotAvailable,
            Self::AddrInUse(_) => ErrorKind::AddrInUse,
            Self::ConnectionRefused => ErrorKind::ConnectionRefused,
            Self::ConnectionReset => ErrorKind::ConnectionReset,
            Self::NotConnected => ErrorKind::NotConnected,
            Self::BrokenPipe => ErrorKind::BrokenPipe,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unsupported(_) => ErrorKind::Unsupported,
        }
    }
}

impl TransportError for TcpError {
    fn is_would_block(&self) -> bool {
        matches!(self, Self::WouldBlock)
    }
}

impl From<Blocked> for TcpError {
    fn from(b: Blocked) -> Self {
        match b {
            Blocked::WouldBlock => Self::WouldBlock,
            Blocked::TimedOut => Self::TimedOut,
        }
    }
}

impl From<NoIpv6> for TcpError {
    fn from(_: NoIpv6) -> Self {
        Self::Unsupported(NoIpv6::TEXT)
    }
}

#[cfg(feature = "std")]
impl From<TcpError> for std::io::Error {
    fn from(e: TcpError) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            TcpError::WouldBlock => K::WouldBlock,
            TcpError::NoRoute => K::HostUnreachable,
            _ => match embedded_io::Error::kind(&e) {
                ErrorKind::TimedOut => K::TimedOut,
                ErrorKind::OutOfMemory => K::OutOfMemory,
                ErrorKind::AddrNotAvailable => K::AddrNotAvailable,
                ErrorKind::AddrInUse => K::AddrInUse,
                ErrorKind::ConnectionRefused => K::ConnectionRefused,
                ErrorKind::ConnectionReset => K::ConnectionReset,
                ErrorKind::NotConnected => K::NotConnected,
                ErrorKind::BrokenPipe => K::BrokenPipe,
                ErrorKind::InvalidInput => K::InvalidInput,
                ErrorKind::Unsupported => K::Unsupported,
                _ => K::Other,
            },
        };
        Self::new(kind, e)
    }
}
