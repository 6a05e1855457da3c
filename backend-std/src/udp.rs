//! UDP: [`UdpSocket`], the core's [`Datagram`] (and [`Multicast`](crate::multicast), and
//! [`Blocking`](portsock_core::transport::Blocking)) over socket2.
//!
//! Three behaviours the core's contract asks for and plain `recvfrom(2)` / `sendto(2)` do not
//! give:
//!
//! * **Truncation shows.** A datagram longer than the buffer is cut, and the rest is lost;
//!   [`Received::len`] is still its full size. The receive passes `MSG_TRUNC` (`udp(7)`,
//!   Linux 2.6.8+; `unix(7)` datagrams since 3.4), with which `recvfrom` returns the real
//!   length. That costs nothing, where peeking first (`MSG_PEEK`) would cost a second system
//!   call per datagram.
//! * **Deadlines.** `recv_from` waits until a core [`Instant`] read on
//!   [`SystemClock`](crate::time::SystemClock), with `poll(2)`, and answers `Ok(None)` when it
//!   passes, leaving the socket's own read timeout alone.
//! * **Oversized payloads are refused before the system call**, with an `InvalidInput` error
//!   naming the size and the limit: [`UdpSocket::MAX_PAYLOAD_V4`] (65,507 bytes: 65,535 for
//!   the IPv4 packet, less 20 of IPv4 and 8 of UDP header) or [`UdpSocket::MAX_PAYLOAD_V6`]
//!   (65,527: IPv6's payload length field covers the UDP header only).
//!
//! ```
//! use portsock_std::prelude::*;
//! use portsock_std::udp::UdpSocket;
//!
//! let mut server = UdpSocket::bind("127.0.0.1:0".parse()?)?;
//! let mut client = UdpSocket::bind("127.0.0.1:0".parse()?)?;
//! client.send_to(b"This is the message.", &server.local_addr()?)?;
//!
//! let mut buf = [0u8; 4];
//! let deadline = SystemClock.now() + Duration::from_secs(5);
//! let got = server.recv_from(&mut buf, Some(deadline))?.expect("before the deadline");
//! assert_eq!((got.len, got.from), (20, client.local_addr()?));
//! assert!(got.is_truncated(buf.len()));
//! assert_eq!(&buf, b"This");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::net::SocketAddr;

use portsock_core::time::Instant;
use portsock_core::transport::{Datagram, Received};
use portsock_core::wire::repr::Thousands;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::resolve;
use crate::sock::{Sock, context, impl_sock};
use crate::tcp::inet;

/// A UDP socket, bound to a local address.
#[derive(Debug)]
pub struct UdpSocket {
    pub(crate) sock: Sock,
    ipv6: bool,
}

impl UdpSocket {
    /// The largest UDP payload over IPv4: 65,535 − 20 (IPv4 header) − 8 (UDP header).
    pub const MAX_PAYLOAD_V4: usize = 65_507;
    /// The largest UDP payload over IPv6 without jumbograms: 65,535 − 8 (UDP header); the
    /// IPv6 header is not counted in its payload length.
    pub const MAX_PAYLOAD_V6: usize = 65_527;

    /// Binds `addr` (port 0: the system picks one).
    ///
    /// # Errors
    ///
    /// `socket(2)` or `bind(2)` failed; the message names `addr`.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_inner(addr, false)
    }

    /// Binds `addr` with `SO_REUSEADDR` set first, so several sockets (several multicast
    /// receivers, say) can share one port; each receives its own copy of every multicast
    /// datagram.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_reusable(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_inner(addr, true)
    }

    /// Binds `host` and `port` the way the chapter's servers do: `""` is any address
    /// ([`resolve::bind_addr`]).
    ///
    /// # Errors
    ///
    /// Resolution failed (the message names `host:port`), or as [`bind`](Self::bind).
    pub fn bind_host(host: &str, port: u16) -> io::Result<Self> {
        Self::bind(resolve::bind_addr(host, port)?)
    }

    fn bind_inner(addr: SocketAddr, reuse: bool) -> io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if reuse {
            socket
                .set_reuse_address(true)
                .map_err(|e| context(e, format!("SO_REUSEADDR on {addr}")))?;
        }
        socket
            .bind(&addr.into())
            .map_err(|e| context(e, format!("bind {addr}")))?;
        Ok(Self {
            sock: Sock::blocking(socket),
            ipv6: addr.is_ipv6(),
        })
    }

    /// Wraps a UDP socket2 socket, reading its family and blocking mode from the kernel.
    ///
    /// # Errors
    ///
    /// `getsockopt(SO_DOMAIN)` or `fcntl(F_GETFL)` failed; `InvalidInput` if the socket is
    /// neither IPv4 nor IPv6.
    pub fn from_socket(socket: Socket) -> io::Result<Self> {
        let ipv6 = match socket.domain()? {
            Domain::IPV4 => false,
            Domain::IPV6 => true,
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a UDP socket must be IPv4 or IPv6, not {other:?}"),
                ));
            }
        };
        Ok(Self {
            sock: Sock::adopt(socket)?,
            ipv6,
        })
    }

    /// Whether this is an IPv6 socket (its multicast options are the `IPV6_*` ones).
    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    /// The largest payload [`send_to`](Datagram::send_to) accepts for destination `to`:
    /// [`MAX_PAYLOAD_V4`](Self::MAX_PAYLOAD_V4) for IPv4 (including IPv4-mapped IPv6
    /// addresses, which travel as IPv4), else [`MAX_PAYLOAD_V6`](Self::MAX_PAYLOAD_V6).
    pub fn max_payload(to: &SocketAddr) -> usize {
        let v4 = match to {
            SocketAddr::V4(_) => true,
            SocketAddr::V6(a) => a.ip().to_ipv4_mapped().is_some(),
        };
        if v4 {
            Self::MAX_PAYLOAD_V4
        } else {
            Self::MAX_PAYLOAD_V6
        }
    }

    /// The socket2 socket, for options this type does not wrap (`SO_BROADCAST`, buffer
    /// sizes). Setting `O_NONBLOCK` through it would confuse timed out with would block; use
    /// [`Blocking::set_nonblocking`](portsock_core::transport::Blocking::set_nonblocking).
    pub fn socket(&self) -> &Socket {
        self.sock.socket()
    }

    /// The socket2 socket.
    pub fn into_socket(self) -> Socket {
        self.sock.into_socket()
    }
}

impl Datagram for UdpSocket {
    type Addr = SocketAddr;

    /// Sends `data` as one datagram to `to`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` before any system call if `data` is longer than
    /// [`max_payload(to)`](UdpSocket::max_payload); otherwise `sendto(2)`'s error (a full
    /// send buffer is `WouldBlock` in non-blocking mode, `TimedOut` after a write timeout).
    fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> io::Result<()> {
        check_payload(data.len(), to)?;
        self.sock.send_to(data, &SockAddr::from(*to))
    }

    fn recv_from(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<Option<Received<SocketAddr>>> {
        match self.sock.recv_from(buf, deadline)? {
            None => Ok(None),
            Some((len, from)) => Ok(Some(Received {
                len,
                from: inet(&from)?,
            })),
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(&self.sock.socket().local_addr()?)
    }
}

impl_sock!(UdpSocket);

/// Refuses a payload of `len` bytes too large for a UDP datagram to `to`.
pub(crate) fn check_payload(len: usize, to: &SocketAddr) -> io::Result<()> {
    let limit = UdpSocket::max_payload(to);
    if len <= limit {
        return Ok(());
    }
    let family = if limit == UdpSocket::MAX_PAYLOAD_V4 {
        "IPv4"
    } else {
        "IPv6"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "datagram of {} bytes to {to}: UDP over {family} carries at most {} bytes",
            Thousands(len as u64),
            Thousands(limit as u64)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_limits_by_destination_family() {
        assert_eq!(
            UdpSocket::max_payload(&"127.0.0.1:1".parse().unwrap()),
            65_507
        );
        assert_eq!(UdpSocket::max_payload(&"[::1]:1".parse().unwrap()), 65_527);
        assert_eq!(
            UdpSocket::max_payload(&"[::ffff:127.0.0.1]:1".parse().unwrap()),
            65_507
        );
    }

    #[test]
    fn oversize_message_names_size_and_limit() {
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(check_payload(65_507, &to).is_ok());
        let err = check_payload(65_508, &to).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "datagram of 65,508 bytes to 127.0.0.1:9: UDP over IPv4 carries at most 65,507 bytes"
        );
        let err = check_payload(100_000, &"[::1]:9".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "datagram of 100,000 bytes to [::1]:9: UDP over IPv6 carries at most 65,527 bytes"
        );
    }
}
