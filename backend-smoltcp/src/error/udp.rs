//! UDP sockets and multicast.

use core::fmt;

use portsock_core::transport::{ErrorKind, TransportError};

use super::{Blocked, NoIpv6};

/// Why a [`UdpSocket`](crate::UdpSocket) call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UdpError {
    /// Non-blocking mode, and nothing could be done now.
    WouldBlock,
    /// A blocking call waited for its timeout or deadline.
    TimedOut,
    /// Every UDP socket the stack was given is in use; give it more
    /// ([`Stack::add_udp_socket`](crate::Stack::add_udp_socket)).
    NoFreeSocket,
    /// The address cannot be used here: an unspecified destination, port 0 as a destination,
    /// or a local address that is not the interface's.
    Unaddressable,
    /// Another socket is already bound to the port (0: no ephemeral port is free).
    AddrInUse(u16),
    /// No route to the address: it is on none of the interface's networks, and no gateway of
    /// its family is set.
    NoRoute,
    /// A datagram larger than the socket's buffers can ever hold.
    DatagramTooLarge {
        /// The datagram's size.
        len: usize,
        /// The largest this socket can send.
        max: usize,
    },
    /// A multicast request failed.
    Multicast(MulticastProblem),
    /// A setting the backend does not support, e.g. multicast loopback (smoltcp never delivers
    /// its own multicast datagrams back to itself), or IPv6 without the `ipv6` feature.
    Unsupported(&'static str),
    /// A value out of range, e.g. a zero timeout; the text says which.
    InvalidInput(&'static str),
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

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WouldBlock => f.write_str("operation would block"),
            Self::TimedOut => f.write_str("timed out"),
            Self::NoFreeSocket => {
                f.write_str("no free UDP socket: every one the stack was given is in use")
            }
            Self::Unaddressable => f.write_str(
                "address not usable on this interface (unspecified, port 0, or not the interface's)",
            ),
            Self::AddrInUse(0) => f.write_str("address already in use: no ephemeral port is free"),
            Self::AddrInUse(port) => write!(f, "address already in use: port {port}"),
            Self::NoRoute => f.write_str(
                "no route to host: not on the interface's networks, and no gateway (--gateway) for its family",
            ),
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
            Self::Unsupported(what) => write!(f, "not supported by the smoltcp backend: {what}"),
            Self::InvalidInput(what) => write!(f, "invalid input: {what}"),
        }
    }
}

impl core::error::Error for UdpError {}

impl embedded_io::Error for UdpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::WouldBlock => ErrorKind::Other,
            Self::TimedOut => ErrorKind::TimedOut,
            Self::NoFreeSocket => ErrorKind::OutOfMemory,
            // embedded-io has no "host unreachable".
            Self::Unaddressable | Self::NoRoute => ErrorKind::AddrNotAvailable,
            Self::AddrInUse(_) => ErrorKind::AddrInUse,
            Self::DatagramTooLarge { .. } | Self::Multicast(_) | Self::InvalidInput(_) => {
                ErrorKind::InvalidInput
            }
            Self::Unsupported(_) => ErrorKind::Unsupported,
        }
    }
}

impl TransportError for UdpError {
    fn is_would_block(&self) -> bool {
        matches!(self, Self::WouldBlock)
    }
}

impl From<Blocked> for UdpError {
    fn from(b: Blocked) -> Self {
        match b {
            Blocked::WouldBlock => Self::WouldBlock,
            Blocked::TimedOut => Self::TimedOut,
        }
    }
}

impl From<NoIpv6> for UdpError {
    fn from(_: NoIpv6) -> Self {
        Self::Unsupported(NoIpv6::TEXT)
    }
}

#[cfg(feature = "std")]
impl From<UdpError> for std::io::Error {
    fn from(e: UdpError) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            UdpError::WouldBlock => K::WouldBlock,
            UdpError::TimedOut => K::TimedOut,
            UdpError::NoFreeSocket => K::OutOfMemory,
            UdpError::Unaddressable => K::AddrNotAvailable,
            UdpError::AddrInUse(_) => K::AddrInUse,
            UdpError::NoRoute => K::HostUnreachable,
            UdpError::DatagramTooLarge { .. }
            | UdpError::Multicast(_)
            | UdpError::InvalidInput(_) => K::InvalidInput,
            UdpError::Unsupported(_) => K::Unsupported,
        };
        Self::new(kind, e)
    }
}
