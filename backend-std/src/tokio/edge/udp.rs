//! edge-nal's UDP traits on portsock's tokio [`UdpSocket`], and on `&UdpSocket`, which is
//! what its split halves are (tokio's receive and send take `&self`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use edge_nal::{
    MulticastV4, MulticastV6, Readable, UdpReceive, UdpSend, UdpSplit, UdpSplitMulticast,
};
use portsock_core::asynch::transport::{ErrorType, Interface};
use socket2::SockRef;

use super::UdpSocket;
use crate::multicast::{Options, membership};
use crate::tokio::datagram::whole;
use crate::udp::check_payload;

impl ErrorType for &UdpSocket {
    type Error = io::Error;
}

impl UdpReceive for &UdpSocket {
    /// One datagram and its sender; the length is the bytes copied into `buffer` (never more
    /// than its length: see the module docs on truncation).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe (tokio's): a datagram that arrives after the future is dropped is returned
    /// by the next call.
    async fn receive(&mut self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.as_ref().recv_from(buffer).await
    }
}

impl UdpSend for &UdpSocket {
    /// One whole datagram to `remote`, or to the connected peer (then `remote` is ignored,
    /// as edge-nal specifies). A payload too long for one datagram is refused before the
    /// system call.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is sent whole or not at all.
    async fn send(&mut self, remote: SocketAddr, data: &[u8]) -> io::Result<()> {
        let socket = self.as_ref();
        let n = match socket.peer_addr() {
            Ok(peer) => {
                check_payload(data.len(), &peer)?;
                socket.send(data).await?
            }
            Err(_) => {
                check_payload(data.len(), &remote)?;
                socket.send_to(data, remote).await?
            }
        };
        whole(n, data.len())
    }
}

impl Readable for &UdpSocket {
    /// Waits until a datagram (or an error) is there to receive; consumes nothing.
    async fn readable(&mut self) -> io::Result<()> {
        self.as_ref().readable().await
    }
}

impl MulticastV4 for &UdpSocket {
    /// `IP_ADD_MEMBERSHIP` on the interface with address `interface` (unspecified: any);
    /// completes at its first poll.
    async fn join_v4(&mut self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let request = membership(IpAddr::V4(group), Interface::Addr(interface))?;
        options(self, |o| o.join(&request))
    }

    async fn leave_v4(&mut self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let request = membership(IpAddr::V4(group), Interface::Addr(interface))?;
        options(self, |o| o.leave(&request))
    }
}

impl MulticastV6 for &UdpSocket {
    /// `IPV6_JOIN_GROUP` on the interface with index `interface` (0: any); completes at its
    /// first poll.
    async fn join_v6(&mut self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        let request = membership(IpAddr::V6(group), Interface::Index(interface))?;
        options(self, |o| o.join(&request))
    }

    async fn leave_v6(&mut self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        let request = membership(IpAddr::V6(group), Interface::Index(interface))?;
        options(self, |o| o.leave(&request))
    }
}

/// Forwards an edge-nal method of `UdpSocket` to the same one of `&UdpSocket`.
macro_rules! by_ref {
    ($(async fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(async fn $name(&mut self $(, $arg: $ty)*) -> $ret {
            let mut socket: &UdpSocket = self;
            socket.$name($($arg),*).await
        })*
    };
}

impl UdpReceive for UdpSocket {
    by_ref! { async fn receive(&mut self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)>; }
}

impl UdpSend for UdpSocket {
    by_ref! { async fn send(&mut self, remote: SocketAddr, data: &[u8]) -> io::Result<()>; }
}

impl Readable for UdpSocket {
    by_ref! { async fn readable(&mut self) -> io::Result<()>; }
}

impl MulticastV4 for UdpSocket {
    by_ref! {
        async fn join_v4(&mut self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()>;
        async fn leave_v4(&mut self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()>;
    }
}

impl MulticastV6 for UdpSocket {
    by_ref! {
        async fn join_v6(&mut self, group: Ipv6Addr, interface: u32) -> io::Result<()>;
        async fn leave_v6(&mut self, group: Ipv6Addr, interface: u32) -> io::Result<()>;
    }
}

impl UdpSplit for UdpSocket {
    type Receive<'a> = &'a Self;
    type Send<'a> = &'a Self;

    fn split(&mut self) -> (&Self, &Self) {
        (self, self)
    }
}

impl UdpSplitMulticast for UdpSocket {
    type MulticastV4<'a> = &'a Self;
    type MulticastV6<'a> = &'a Self;

    fn split_multicast(&mut self) -> (&Self, &Self, &Self, &Self) {
        (self, self, self, self)
    }
}

/// Runs `f` on the socket's multicast options (the blocking socket's code).
fn options<R>(socket: &UdpSocket, f: impl FnOnce(Options<'_>) -> R) -> R {
    let sock = SockRef::from(socket.as_ref());
    f(Options::new(&sock, socket.is_ipv6()))
}
