//! The core's async transport traits on embassy-net's sockets, as thin as this image needs:
//! a TCP socket as a [`Stream`], a UDP socket as a [`Datagram`], IPv4 only.
//!
//! Board-independent, and what the `portsock-embassy` crate (issue 12's backend) provides in
//! full (listener pool, multicast through the stack, DNS, error kinds); this image moves to it
//! once it is merged. No protocol here: reads, writes and datagrams are passed through.

use core::net::{IpAddr, SocketAddr, SocketAddrV4};

use embassy_net::IpEndpoint;
use embassy_net::tcp::{self, TcpSocket};
use embassy_net::udp::{self, UdpSocket};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use portsock_core::asynch::transport::{Datagram, Received, Shutdown, Stream};

/// An accepted TCP connection, borrowed for one session.
pub struct TcpStream<'s, 'd>(pub &'s mut TcpSocket<'d>);

impl ErrorType for TcpStream<'_, '_> {
    type Error = tcp::Error;
}

impl Read for TcpStream<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, tcp::Error> {
        self.0.read(buf).await
    }
}

impl Write for TcpStream<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, tcp::Error> {
        self.0.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), tcp::Error> {
        self.0.flush().await
    }
}

impl Stream for TcpStream<'_, '_> {
    type Addr = SocketAddr;

    /// `Write` and `Both` send the FIN after the queued data (smoltcp's `close` is a
    /// half-close: reading goes on); `Read` has no TCP counterpart and does nothing.
    async fn shutdown(&mut self, how: Shutdown) -> Result<(), tcp::Error> {
        if !matches!(how, Shutdown::Read) {
            self.0.close();
        }
        Ok(())
    }

    /// The address the connection came in on; "reset" once it is gone.
    fn local_addr(&self) -> Result<SocketAddr, tcp::Error> {
        self.0
            .local_endpoint()
            .map(SocketAddr::from)
            .ok_or(tcp::Error::ConnectionReset)
    }

    fn peer_addr(&self) -> Result<SocketAddr, tcp::Error> {
        self.0
            .remote_endpoint()
            .map(SocketAddr::from)
            .ok_or(tcp::Error::ConnectionReset)
    }
}

/// Why a UDP send or receive failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum UdpError {
    /// embassy-net refused the datagram (no route, too large, socket not bound).
    Send(udp::SendError),
    /// An IPv6 destination: this image's stack is IPv4 only.
    Ipv6,
}

impl core::fmt::Display for UdpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Send(udp::SendError::PacketTooLarge) => "datagram too large",
            Self::Send(udp::SendError::NoRoute) => "no route to the destination",
            Self::Send(udp::SendError::SocketNotBound) => "socket not bound",
            Self::Ipv6 => "IPv6 destination on an IPv4-only stack",
        })
    }
}

impl core::error::Error for UdpError {}

impl embedded_io_async::Error for UdpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Send(udp::SendError::PacketTooLarge) => ErrorKind::InvalidInput,
            Self::Send(udp::SendError::NoRoute) => ErrorKind::AddrNotAvailable,
            Self::Send(udp::SendError::SocketNotBound) => ErrorKind::NotConnected,
            Self::Ipv6 => ErrorKind::Unsupported,
        }
    }
}

/// A bound UDP socket.
pub struct Udp<'s, 'd>(pub &'s mut UdpSocket<'d>);

impl ErrorType for Udp<'_, '_> {
    type Error = UdpError;
}

impl Datagram for Udp<'_, '_> {
    type Addr = SocketAddr;

    async fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> Result<(), UdpError> {
        let SocketAddr::V4(to) = to else {
            return Err(UdpError::Ipv6);
        };
        self.0
            .send_to(data, IpEndpoint::from(*to))
            .await
            .map_err(UdpError::Send)
    }

    /// The whole datagram's length is reported even when `buf` is shorter (the rest is
    /// dropped), as the trait asks.
    async fn recv_from(&mut self, buf: &mut [u8]) -> Result<Received<SocketAddr>, UdpError> {
        let got = self
            .0
            .recv_from_with(|data, meta| {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Received {
                    len: data.len(),
                    from: SocketAddr::from(meta.endpoint),
                }
            })
            .await;
        Ok(got)
    }

    fn local_addr(&self) -> Result<SocketAddr, UdpError> {
        let endpoint = self.0.endpoint();
        let ip = match endpoint.addr {
            Some(addr) => IpAddr::from(addr),
            None => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
        };
        let IpAddr::V4(ip) = ip else {
            return Err(UdpError::Ipv6);
        };
        Ok(SocketAddr::V4(SocketAddrV4::new(ip, endpoint.port)))
    }
}
