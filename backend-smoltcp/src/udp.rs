//! UDP over the stack, with multicast through the interface's group table (IGMP / MLD).

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{
    Datagram, ErrorType, Interface, MembershipRequest, Multicast, Received,
};
use smoltcp::iface::SocketHandle;
use smoltcp::phy::Device;
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpListenEndpoint};

use crate::addr::{endpoint_to_addr, to_net_endpoint, to_net_ip};
use crate::error::{MulticastProblem, SocketKind, UdpError};
use crate::mode::{Mode, impl_blocking};
use crate::platform::Platform;
use crate::stack::{Stack, Use, to_net};

/// The largest UDP payload over IPv4 (65,535 − 20 − 8), as the kernel refuses larger ones.
pub const MAX_UDP_PAYLOAD_V4: usize = 65_507;

/// A UDP socket on the stack: the core's [`Datagram`], [`Multicast`] and
/// [`Blocking`](portsock_core::transport::Blocking).
///
/// ```
/// use portsock_core::transport::Datagram;
/// use portsock_smoltcp::{Config, ManualPlatform, Stack, UdpSocket};
/// use smoltcp::phy::{Loopback, Medium};
///
/// let config = Config::new([2, 0, 0, 0, 0, 1]).with_address(portsock_smoltcp::parse_cidr("127.0.0.1/8")?)?;
/// let stack = Stack::new(&config, Loopback::new(Medium::Ip), ManualPlatform::default(), vec![])?;
/// stack.add_udp_sockets(2, 4, 2048)?;
/// let mut server = UdpSocket::bind(&stack, "127.0.0.1:10000".parse()?)?;
/// let mut client = UdpSocket::bind(&stack, "0.0.0.0:0".parse()?)?;
/// client.send_to(b"ping", &"127.0.0.1:10000".parse()?)?;
/// let mut buf = [0u8; 16];
/// let got = server.recv_from(&mut buf, None)?.expect("no deadline");
/// assert_eq!(&buf[..got.len], b"ping");
/// assert_eq!(got.from.port(), client.local_addr()?.port());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UdpSocket<'s, 'a, D: Device, P: Platform> {
    stack: &'s Stack<'a, D, P>,
    handle: SocketHandle,
    local: SocketAddr,
    mode: Mode,
    multicast_ttl: u8,
}

impl<'s, 'a, D: Device, P: Platform> UdpSocket<'s, 'a, D, P> {
    /// Binds a free UDP socket of the stack to `addr`: an unspecified address receives on
    /// every address of the interface (and multicast groups joined), port 0 picks an
    /// ephemeral port.
    ///
    /// # Errors
    ///
    /// [`UdpError::AddrInUse`], [`UdpError::NoFreeSocket`], [`UdpError::Unaddressable`] for an address
    /// the interface does not have.
    pub fn bind(stack: &'s Stack<'a, D, P>, addr: SocketAddr) -> Result<Self, UdpError> {
        let ip = to_net_ip(addr.ip())?;
        let mut guard = stack.inner();
        let inner = &mut *guard;
        let port = if addr.port() == 0 {
            inner
                .ephemeral_port(SocketKind::Udp)
                .ok_or(UdpError::AddrInUse(0))?
        } else if inner.port_in_use(SocketKind::Udp, addr.port(), None) {
            return Err(UdpError::AddrInUse(addr.port()));
        } else {
            addr.port()
        };
        let endpoint = if addr.ip().is_unspecified() {
            IpListenEndpoint { addr: None, port }
        } else if ip.is_multicast() || inner.iface.has_ip_addr(ip) {
            IpListenEndpoint {
                addr: Some(ip),
                port,
            }
        } else {
            return Err(UdpError::Unaddressable);
        };
        let handle = inner.claim(SocketKind::Udp).ok_or(UdpError::NoFreeSocket)?;
        let socket = inner.sockets.get_mut::<udp::Socket>(handle);
        if socket.bind(endpoint).is_err() {
            inner.set_use(handle, Use::Free);
            return Err(UdpError::Unaddressable);
        }
        drop(guard);
        Ok(Self {
            stack,
            handle,
            local: SocketAddr::new(addr.ip(), port),
            mode: Mode::default(),
            multicast_ttl: 1,
        })
    }

    /// The largest payload this socket's transmit buffer can ever hold.
    pub fn max_payload(&self) -> usize {
        self.stack
            .inner()
            .sockets
            .get::<udp::Socket>(self.handle)
            .payload_send_capacity()
    }

    fn is_v6(&self) -> bool {
        self.local.is_ipv6()
    }
}

impl<D: Device, P: Platform> Drop for UdpSocket<'_, '_, D, P> {
    fn drop(&mut self) {
        let Ok(mut guard) = self.stack.try_inner() else {
            return;
        };
        let inner = &mut *guard;
        let socket = inner.sockets.get_mut::<udp::Socket>(self.handle);
        if socket.send_queue() == 0 {
            socket.close();
            inner.set_use(self.handle, Use::Free);
        } else {
            // Datagrams still queued (waiting for the neighbour's address, say) leave first,
            // as the kernel sends what a closed socket had queued; the stack frees it then.
            inner.set_use(self.handle, Use::Closing);
        }
    }
}

impl<D: Device, P: Platform> ErrorType for UdpSocket<'_, '_, D, P> {
    type Error = UdpError;
}

impl<D: Device, P: Platform> Datagram for UdpSocket<'_, '_, D, P> {
    type Addr = SocketAddr;

    fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> Result<(), UdpError> {
        if to.ip().is_unspecified() || to.port() == 0 {
            return Err(UdpError::Unaddressable);
        }
        // Bound to an address of one family, it cannot send to the other (smoltcp would build
        // a packet with source and destination of different families, and panic); the kernel
        // refuses it too.
        if !self.local.ip().is_unspecified() && self.local.is_ipv4() != to.is_ipv4() {
            return Err(UdpError::Unaddressable);
        }
        if to.is_ipv4() && data.len() > MAX_UDP_PAYLOAD_V4 {
            return Err(UdpError::DatagramTooLarge {
                len: data.len(),
                max: MAX_UDP_PAYLOAD_V4,
            });
        }
        let to = to_net_endpoint(*to)?;
        if !self.stack.inner().has_route(to.addr) {
            return Err(UdpError::NoRoute);
        }
        let max = self.max_payload();
        if data.len() > max {
            return Err(UdpError::DatagramTooLarge {
                len: data.len(),
                max,
            });
        }
        let handle = self.handle;
        let hop_limit = to.addr.is_multicast().then_some(self.multicast_ttl);
        let deadline = self.stack.deadline_in(self.mode.write_timeout);
        self.stack.block(self.mode.nonblocking, deadline, |inner| {
            let socket = inner.sockets.get_mut::<udp::Socket>(handle);
            socket.set_hop_limit(hop_limit);
            match socket.send_slice(data, to) {
                Ok(()) => Some(Ok(())),
                Err(udp::SendError::BufferFull) => None,
                Err(udp::SendError::Unaddressable) => Some(Err(UdpError::Unaddressable)),
            }
        })
    }

    fn recv_from(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<Option<Received<SocketAddr>>, UdpError> {
        let handle = self.handle;
        let (deadline, is_timeout) = match deadline {
            Some(d) => (Some(to_net(d)), false),
            None => (self.stack.deadline_in(self.mode.read_timeout), true),
        };
        let got = self.stack.block(self.mode.nonblocking, deadline, |inner| {
            let socket = inner.sockets.get_mut::<udp::Socket>(handle);
            match socket.recv() {
                Ok((payload, meta)) => {
                    let n = payload.len().min(buf.len());
                    buf[..n].copy_from_slice(&payload[..n]);
                    Some(Ok(Received {
                        len: payload.len(),
                        from: endpoint_to_addr(meta.endpoint),
                    }))
                }
                Err(_) => None,
            }
        });
        match got {
            Ok(r) => Ok(Some(r)),
            // A passed deadline is `Ok(None)`; a passed read timeout is an error, as on std.
            Err(UdpError::TimedOut) if !is_timeout => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn local_addr(&self) -> Result<SocketAddr, UdpError> {
        Ok(self.local)
    }
}

impl<D: Device, P: Platform> UdpSocket<'_, '_, D, P> {
    /// Checks the request against this socket and the stack's one interface.
    fn group_of(&self, request: &MembershipRequest) -> Result<IpAddress, UdpError> {
        let group: IpAddr = request.group();
        if !group.is_multicast() {
            return Err(UdpError::Multicast(MulticastProblem::NotMulticast));
        }
        if group.is_ipv6() != self.is_v6() && !self.local.ip().is_unspecified() {
            return Err(UdpError::Multicast(MulticastProblem::WrongFamily));
        }
        self.check_interface(request.interface())?;
        Ok(to_net_ip(group)?)
    }

    fn check_interface(&self, interface: Interface) -> Result<(), UdpError> {
        match interface {
            Interface::Any => Ok(()),
            Interface::Addr(a) if a == Ipv4Addr::UNSPECIFIED => Ok(()),
            Interface::Addr(a) => {
                if self.stack.inner().iface.has_ip_addr(a) {
                    Ok(())
                } else {
                    Err(UdpError::Multicast(MulticastProblem::NoSuchInterface))
                }
            }
            // One interface: index 0 ("any") or 1 (the first, as `lo` is on Linux).
            Interface::Index(0 | 1) => Ok(()),
            _ => Err(UdpError::Multicast(MulticastProblem::NoSuchInterface)),
        }
    }
}

impl<D: Device, P: Platform> Multicast for UdpSocket<'_, '_, D, P> {
    /// Joins the group on the stack's interface: smoltcp sends the IGMP (IPv4) or MLD (IPv6)
    /// report on the next poll. Membership belongs to the interface, not to the socket.
    fn join(&mut self, request: &MembershipRequest) -> Result<(), UdpError> {
        let group = self.group_of(request)?;
        self.stack
            .inner()
            .iface
            .join_multicast_group(group)
            .map_err(|e| match e {
                smoltcp::iface::MulticastError::GroupTableFull => {
                    UdpError::Multicast(MulticastProblem::GroupTableFull)
                }
                _ => UdpError::Multicast(MulticastProblem::NotMulticast),
            })?;
        self.stack.poll();
        Ok(())
    }

    fn leave(&mut self, request: &MembershipRequest) -> Result<(), UdpError> {
        let group = self.group_of(request)?;
        self.stack
            .inner()
            .iface
            .leave_multicast_group(group)
            .map_err(|_| UdpError::Multicast(MulticastProblem::NotMulticast))?;
        self.stack.poll();
        Ok(())
    }

    fn set_multicast_ttl(&mut self, ttl: u8) -> Result<(), UdpError> {
        self.multicast_ttl = ttl;
        Ok(())
    }

    fn multicast_ttl(&self) -> Result<u8, UdpError> {
        Ok(self.multicast_ttl)
    }

    /// smoltcp never delivers its own multicast datagrams back to itself: turning loopback
    /// off is accepted (it is already off), turning it on is [`UdpError::Unsupported`].
    fn set_multicast_loop(&mut self, on: bool) -> Result<(), UdpError> {
        if on {
            Err(UdpError::Unsupported("multicast loopback"))
        } else {
            Ok(())
        }
    }

    fn multicast_loop(&self) -> Result<bool, UdpError> {
        Ok(false)
    }

    /// The stack has one interface; this checks that `interface` names it.
    fn set_multicast_interface(&mut self, interface: Interface) -> Result<(), UdpError> {
        self.check_interface(interface)
    }
}

impl_blocking!(UdpSocket, UdpError);
