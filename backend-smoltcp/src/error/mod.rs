//! The backend's errors: one small enum for each kind of thing that fails, each with the
//! variants its own calls can return and a message that says what to do.
//!
//! | enum | returned by |
//! |---|---|
//! | [`StackError`] | [`Config`](crate::Config), [`parse_cidr`](crate::parse_cidr), [`Stack::new`](crate::Stack::new), `Stack::add_*` |
//! | [`TcpError`] | [`TcpListener`](crate::TcpListener), [`TcpStream`](crate::TcpStream) |
//! | [`UdpError`] | [`UdpSocket`](crate::UdpSocket) |
//! | [`DnsError`] | `Stack::resolve` (feature `dns`) |
//!
//! The socket errors implement the core's [`TransportError`](portsock_core::transport::TransportError)
//! and embedded-io's `Error`; with `std`, all of them convert into `std::io::Error` with the
//! matching `ErrorKind`. `WouldBlock` and `TimedOut` are the transport's two kinds of "nothing
//! happened" (see [`portsock_core::transport`]): the first only in non-blocking mode, the
//! second only when a blocking call reached its timeout or deadline.

#[cfg(feature = "dns")]
mod dns;
mod stack;
mod tcp;
mod udp;

#[cfg(feature = "dns")]
pub use dns::DnsError;
pub use stack::StackError;
pub use tcp::TcpError;
pub use udp::{MulticastProblem, UdpError};

/// A kind of socket the stack hands out (see [`Stack::free_sockets`](crate::Stack::free_sockets)).
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

/// How a blocking call ended without an answer; every socket error has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// Non-blocking mode, and nothing could be done now.
    WouldBlock,
    /// The call's timeout or deadline passed.
    TimedOut,
}

/// An IPv6 address given to a stack built without the `ipv6` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoIpv6;

impl NoIpv6 {
    pub(crate) const TEXT: &'static str = "IPv6 (portsock-smoltcp built without the ipv6 feature)";
}
