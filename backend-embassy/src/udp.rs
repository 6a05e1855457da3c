//! UDP: an embassy-net [`UdpSocket`](embassy_net::udp::UdpSocket) behind portsock's
//! [`Datagram`] and [`Multicast`].
//!
//! # Cancellation
//!
//! | operation | cancel-safe |
//! |---|---|
//! | [`send_to`](Datagram::send_to) | yes: one `poll_fn` that queues the whole datagram when it completes |
//! | [`recv_from`](Datagram::recv_from) | yes: one `poll_fn` that dequeues a datagram only when it completes |
//!
//! # Multicast on embassy-net
//!
//! Memberships are the stack's (smoltcp's interface joins the group and sends its IGMP or MLD
//! report), not the socket's: every UDP socket bound to the group's port receives the group's
//! datagrams, and dropping the socket does not leave the group ([`leave`](Multicast::leave)
//! does). The hop limit is the socket's for every datagram it sends, unicast too. smoltcp does
//! not deliver a host's own multicast datagrams back to it, so loopback is off and cannot be
//! turned on; there is one interface.

use core::net::SocketAddr;

use embassy_net::Stack;
use embassy_net::udp::{BindError, PacketMetadata, SendError};
use portsock_core::asynch::transport::{
    Datagram, ErrorType, Interface, MembershipRequest, Multicast, Received,
};

use crate::Error;
use crate::addr::{endpoint, ip_address, listen_endpoint, socket_addr};

/// smoltcp's hop limit when none is set.
const DEFAULT_HOP_LIMIT: u8 = 64;

/// The buffers of one UDP socket: `PACKETS` datagrams and `BYTES` bytes of payload queued
/// each way.
pub struct UdpResources<const PACKETS: usize, const BYTES: usize> {
    rx_meta: [PacketMetadata; PACKETS],
    rx: [u8; BYTES],
    tx_meta: [PacketMetadata; PACKETS],
    tx: [u8; BYTES],
}

impl<const PACKETS: usize, const BYTES: usize> UdpResources<PACKETS, BYTES> {
    /// Empty buffers (a `const fn`, so a `static` can hold them).
    pub const fn new() -> Self {
        Self {
            rx_meta: [PacketMetadata::EMPTY; PACKETS],
            rx: [0; BYTES],
            tx_meta: [PacketMetadata::EMPTY; PACKETS],
            tx: [0; BYTES],
        }
    }
}

impl<const PACKETS: usize, const BYTES: usize> Default for UdpResources<PACKETS, BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

/// A bound UDP socket.
pub struct UdpSocket<'d> {
    socket: embassy_net::udp::UdpSocket<'d>,
    stack: Stack<'d>,
    addr: SocketAddr,
    hop_limit: Option<u8>,
}

impl<'d> UdpSocket<'d> {
    /// Binds to `addr` (port 0: an ephemeral port; the unspecified address: every address of
    /// the stack) on the buffers of `resources`.
    ///
    /// # Errors
    ///
    /// [`Error::NoRoute`] for an address the stack cannot bind; [`Error::Unsupported`] for an
    /// IPv6 address without the `ipv6` feature.
    pub fn bind<const PACKETS: usize, const BYTES: usize>(
        stack: Stack<'d>,
        addr: SocketAddr,
        resources: &'d mut UdpResources<PACKETS, BYTES>,
    ) -> Result<Self, Error> {
        let UdpResources {
            rx_meta,
            rx,
            tx_meta,
            tx,
        } = resources;
        let mut socket = embassy_net::udp::UdpSocket::new(stack, rx_meta, rx, tx_meta, tx);
        socket.bind(listen_endpoint(addr)?).map_err(|e| match e {
            BindError::InvalidState => Error::InvalidState,
            BindError::NoRoute => Error::NoRoute,
        })?;
        let addr = SocketAddr::new(addr.ip(), socket.endpoint().port);
        Ok(Self {
            socket,
            stack,
            addr,
            hop_limit: None,
        })
    }

    /// embassy-net's socket.
    pub fn socket(&mut self) -> &mut embassy_net::udp::UdpSocket<'d> {
        &mut self.socket
    }

    /// Whether `interface` is the stack's one interface.
    fn check_interface(&self, interface: Interface) -> Result<(), Error> {
        let ours = match interface {
            Interface::Any | Interface::Index(0) => true,
            Interface::Addr(a) => {
                a.is_unspecified()
                    || self
                        .stack
                        .config_v4()
                        .is_some_and(|c| c.address.address() == a)
            }
            _ => false,
        };
        if ours {
            Ok(())
        } else {
            Err(Error::Unsupported(
                "an interface other than the stack's one (embassy-net has one interface)",
            ))
        }
    }
}

impl core::fmt::Debug for UdpSocket<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ErrorType for UdpSocket<'_> {
    type Error = Error;
}

impl Datagram for UdpSocket<'_> {
    type Addr = SocketAddr;

    /// Waits for room in the send queue, then queues the datagram whole. Cancel-safe.
    async fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> Result<(), Error> {
        let to = endpoint(*to)?;
        self.socket.send_to(data, to).await.map_err(|e| match e {
            SendError::NoRoute => Error::NoRoute,
            SendError::SocketNotBound => Error::InvalidState,
            SendError::PacketTooLarge => Error::DatagramTooLarge {
                len: data.len(),
                capacity: self.socket.payload_send_capacity(),
            },
        })
    }

    /// Cancel-safe; reports the datagram's full length, copying what fits.
    async fn recv_from(&mut self, buf: &mut [u8]) -> Result<Received<SocketAddr>, Error> {
        let received = self
            .socket
            .recv_from_with(|data, meta| {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Received {
                    len: data.len(),
                    from: socket_addr(meta.endpoint),
                }
            })
            .await;
        Ok(received)
    }

    fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.addr)
    }
}

impl Multicast for UdpSocket<'_> {
    /// Joins the group on the stack's interface (the IGMP/MLD report is queued at once).
    fn join(&mut self, request: &MembershipRequest) -> Result<(), Error> {
        self.check_interface(request.interface())?;
        let group = ip_address(request.group())?;
        self.stack
            .join_multicast_group(group)
            .map_err(multicast_error)
    }

    /// Leaves the group: the stack's membership, for every socket.
    fn leave(&mut self, request: &MembershipRequest) -> Result<(), Error> {
        self.check_interface(request.interface())?;
        let group = ip_address(request.group())?;
        self.stack
            .leave_multicast_group(group)
            .map_err(multicast_error)
    }

    /// The hop limit of every datagram this socket sends (embassy-net has one).
    fn set_multicast_ttl(&mut self, ttl: u8) -> Result<(), Error> {
        self.socket.set_hop_limit(Some(ttl));
        self.hop_limit = Some(ttl);
        Ok(())
    }

    fn multicast_ttl(&self) -> Result<u8, Error> {
        Ok(self.hop_limit.unwrap_or(DEFAULT_HOP_LIMIT))
    }

    /// Off is what smoltcp does; on is [`Error::Unsupported`].
    fn set_multicast_loop(&mut self, on: bool) -> Result<(), Error> {
        if on {
            Err(Error::Unsupported(
                "multicast loopback: smoltcp does not deliver a host's own multicast to it",
            ))
        } else {
            Ok(())
        }
    }

    fn multicast_loop(&self) -> Result<bool, Error> {
        Ok(false)
    }

    /// The stack's one interface only.
    fn set_multicast_interface(&mut self, interface: Interface) -> Result<(), Error> {
        self.check_interface(interface)
    }
}

fn multicast_error(e: embassy_net::MulticastError) -> Error {
    match e {
        embassy_net::MulticastError::GroupTableFull => Error::GroupTableFull,
        _ => Error::NotMulticast,
    }
}
