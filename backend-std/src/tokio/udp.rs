//! UDP on tokio: [`UdpSocket`], the core's async [`Datagram`] and [`Multicast`].
//!
//! As the blocking [`crate::udp::UdpSocket`]: a datagram's full length shows in
//! [`Received::len`] (`MSG_TRUNC`), an oversized payload is refused before the system call,
//! and the multicast options are the blocking socket's code ([`crate::multicast`]), run on
//! the socket tokio holds.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr, SocketAddr};
//! use portsock_core::asynch::transport::{Datagram as _, Interface, Multicast as _};
//! use portsock_std::tokio::UdpSocket;
//!
//! const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let lo = Interface::Addr(Ipv4Addr::LOCALHOST);
//! let mut receiver = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).await?;
//! receiver.join_group(IpAddr::V4(GROUP), lo)?;
//! let port = receiver.local_addr()?.port();
//!
//! let mut sender = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).await?;
//! sender.set_multicast_interface(lo)?;
//! sender.set_multicast_ttl(1)?;
//! sender.send_to(b"very important data", &SocketAddr::from((GROUP, port))).await?;
//!
//! let mut buf = [0u8; 4];
//! let got = receiver.recv_from(&mut buf).await?;
//! assert_eq!((got.len, &buf), (19, b"very")); // the full length, the bytes that fit
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::{IpAddr, SocketAddr};

use portsock_core::asynch::transport::{
    Datagram, Interface, MembershipRequest, Multicast, Received,
};
use socket2::{Domain, SockRef};
use tokio::io::Interest;

use super::datagram::{recv_from_trunc, whole};
use super::stream::impl_async_socket;
use crate::multicast::{Options, membership};
use crate::tcp::inet;
use crate::udp::check_payload;

/// A UDP socket on tokio, bound to a local address.
#[derive(Debug)]
pub struct UdpSocket {
    inner: tokio::net::UdpSocket,
    ipv6: bool,
}

impl UdpSocket {
    /// Binds `addr` (port 0: the system picks one).
    ///
    /// # Errors
    ///
    /// As [`crate::udp::UdpSocket::bind`]: the message names `addr`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::from_std(crate::udp::UdpSocket::bind(addr)?.into_socket().into())
    }

    /// Binds `addr` with `SO_REUSEADDR` set first, so several sockets (several multicast
    /// receivers) can share one port.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind_reusable(addr: SocketAddr) -> io::Result<Self> {
        Self::from_std(
            crate::udp::UdpSocket::bind_reusable(addr)?
                .into_socket()
                .into(),
        )
    }

    /// Wraps a bound std UDP socket, putting it in non-blocking mode as tokio needs.
    ///
    /// # Errors
    ///
    /// `fcntl(2)` or `getsockopt(SO_DOMAIN)` failed, or tokio could not register the socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        let ipv6 = SockRef::from(&socket).domain()? == Domain::IPV6;
        Ok(Self {
            inner: tokio::net::UdpSocket::from_std(socket)?,
            ipv6,
        })
    }

    /// The tokio socket.
    pub fn into_inner(self) -> tokio::net::UdpSocket {
        self.inner
    }

    /// Whether this is an IPv6 socket (its multicast options are the `IPV6_*` ones).
    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    /// Joins `group` on `interface`: [`membership`] then [`Multicast::join`].
    ///
    /// # Errors
    ///
    /// As [`membership`] and [`Multicast::join`].
    pub fn join_group(&mut self, group: IpAddr, interface: Interface) -> io::Result<()> {
        let request = membership(group, interface)?;
        self.join(&request)
    }

    /// Leaves `group` joined on `interface`.
    ///
    /// # Errors
    ///
    /// As [`membership`] and [`Multicast::leave`].
    pub fn leave_group(&mut self, group: IpAddr, interface: Interface) -> io::Result<()> {
        let request = membership(group, interface)?;
        self.leave(&request)
    }

    /// Runs `f` on the blocking socket's multicast option code for this socket.
    fn options<R>(&self, f: impl FnOnce(Options<'_>) -> R) -> R {
        let socket = SockRef::from(&self.inner);
        f(Options::new(&socket, self.ipv6))
    }
}

impl From<tokio::net::UdpSocket> for UdpSocket {
    /// Wraps a tokio socket (an IPv6 one if its local address is).
    fn from(inner: tokio::net::UdpSocket) -> Self {
        let ipv6 = SockRef::from(&inner)
            .domain()
            .is_ok_and(|d| d == Domain::IPV6);
        Self { inner, ipv6 }
    }
}

impl Datagram for UdpSocket {
    type Addr = SocketAddr;

    /// Sends `data` as one datagram to `to`, waiting for room in the send buffer.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is sent whole when the future completes, or not at all.
    ///
    /// # Errors
    ///
    /// `InvalidInput` before any system call if `data` is longer than
    /// [`crate::udp::UdpSocket::max_payload`]; otherwise `sendto(2)`'s error.
    async fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> io::Result<()> {
        check_payload(data.len(), to)?;
        let n = self.inner.send_to(data, to).await?;
        whole(n, data.len())
    }

    /// Waits for one datagram; [`Received::len`] is its full length, even when `buf` held
    /// less (the rest is discarded).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is taken from the kernel only in the poll that completes the
    /// future, so one that arrives after the future is dropped is returned by the next call.
    async fn recv_from(&mut self, buf: &mut [u8]) -> io::Result<Received<SocketAddr>> {
        let (len, from) = self
            .inner
            .async_io(Interest::READABLE, || recv_from_trunc(&self.inner, buf))
            .await?;
        Ok(Received {
            len,
            from: inet(&from)?,
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Multicast for UdpSocket {
    /// As the blocking [`crate::udp::UdpSocket`]'s (the same code).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the group's family is not the socket's; the kernel's error with the
    /// group and interface named.
    fn join(&mut self, request: &MembershipRequest) -> io::Result<()> {
        self.options(|o| o.join(request))
    }

    fn leave(&mut self, request: &MembershipRequest) -> io::Result<()> {
        self.options(|o| o.leave(request))
    }

    fn set_multicast_ttl(&mut self, ttl: u8) -> io::Result<()> {
        self.options(|o| o.set_multicast_ttl(ttl))
    }

    fn multicast_ttl(&self) -> io::Result<u8> {
        self.options(|o| o.multicast_ttl())
    }

    fn set_multicast_loop(&mut self, on: bool) -> io::Result<()> {
        self.options(|o| o.set_multicast_loop(on))
    }

    fn multicast_loop(&self) -> io::Result<bool> {
        self.options(|o| o.multicast_loop())
    }

    fn set_multicast_interface(&mut self, interface: Interface) -> io::Result<()> {
        self.options(|o| o.set_multicast_interface(interface))
    }
}

impl_async_socket!(UdpSocket, tokio::net::UdpSocket);
