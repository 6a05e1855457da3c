//! What went wrong on embassy-net, named, and mapped to `embedded_io::ErrorKind` so the core's
//! drivers (and anything else that reads `kind()`) understand it.

use core::fmt;

use embedded_io::ErrorKind;

/// An error of this backend's sockets, listener and lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The peer answered the connection request with a reset: nothing listens there
    /// (`ConnectionRefused`).
    Refused,
    /// The connection was reset by the peer, or timed out by the socket's own timeout, after
    /// it was established (`ConnectionReset`).
    Reset,
    /// The stack has no route (or no source address) for the address (`AddrNotAvailable`).
    NoRoute,
    /// A connection or lookup did not complete in time (`TimedOut`).
    TimedOut,
    /// Every socket of the pool is connected or still closing (`OutOfMemory`: a resource,
    /// not the peer, is missing).
    NoFreeSocket,
    /// The socket is not connected (any more): no address to report (`NotConnected`).
    NotConnected,
    /// A write after this end's `shutdown(Write)` (`BrokenPipe`).
    WriteAfterShutdown,
    /// Port 0 where a listening port is needed (`InvalidInput`).
    InvalidPort,
    /// A datagram larger than the socket's whole send buffer (`InvalidInput`).
    DatagramTooLarge {
        /// The datagram's length.
        len: usize,
        /// The socket's send buffer, in payload bytes.
        capacity: usize,
    },
    /// The socket is already bound or connected (`InvalidInput`).
    InvalidState,
    /// The stack's multicast group table is full (`OutOfMemory`).
    GroupTableFull,
    /// Not a multicast group address, or the stack cannot join it (`InvalidInput`).
    NotMulticast,
    /// What embassy-net cannot do (a second interface, multicast loopback) (`Unsupported`).
    Unsupported(&'static str),
    /// A name the resolver refuses (`InvalidInput`).
    InvalidName,
    /// The lookup found no address, or the resolver failed (`NotFound`).
    NotFound,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused => f.write_str("connection refused: the peer answered with a reset"),
            Self::Reset => f.write_str("connection reset (by the peer, or the socket timed out)"),
            Self::NoRoute => f.write_str("no route to the address (or no source address)"),
            Self::TimedOut => f.write_str("timed out"),
            Self::NoFreeSocket => {
                f.write_str("no free socket: every socket of the pool is connected or closing")
            }
            Self::NotConnected => f.write_str("not connected"),
            Self::WriteAfterShutdown => f.write_str("write after shutdown(Write)"),
            Self::InvalidPort => f.write_str("port 0: expected a port to listen on (1-65535)"),
            Self::DatagramTooLarge { len, capacity } => write!(
                f,
                "datagram of {len} bytes: the socket's send buffer holds {capacity}"
            ),
            Self::InvalidState => f.write_str("the socket is already bound or connected"),
            Self::GroupTableFull => f.write_str("the stack's multicast group table is full"),
            Self::NotMulticast => f.write_str("expected a multicast group address"),
            Self::Unsupported(what) => write!(f, "not supported by embassy-net: {what}"),
            Self::InvalidName => f.write_str("invalid host name"),
            Self::NotFound => f.write_str("name not found"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Refused => ErrorKind::ConnectionRefused,
            Self::Reset => ErrorKind::ConnectionReset,
            Self::NoRoute => ErrorKind::AddrNotAvailable,
            Self::TimedOut => ErrorKind::TimedOut,
            Self::NoFreeSocket | Self::GroupTableFull => ErrorKind::OutOfMemory,
            Self::NotConnected => ErrorKind::NotConnected,
            Self::WriteAfterShutdown => ErrorKind::BrokenPipe,
            Self::InvalidPort
            | Self::DatagramTooLarge { .. }
            | Self::InvalidState
            | Self::NotMulticast
            | Self::InvalidName => ErrorKind::InvalidInput,
            Self::Unsupported(_) => ErrorKind::Unsupported,
            Self::NotFound => ErrorKind::NotFound,
        }
    }
}
