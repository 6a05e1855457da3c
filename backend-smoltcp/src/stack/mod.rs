//! The stack: one smoltcp [`Interface`], its [`SocketSet`], a device and a [`Platform`], shared
//! by every socket made from it.
//!
//! - `config`: [`Config`] and [`parse_cidr`], what the interface is set up with;
//! - `pool`: the socket table, listeners' pools and ports;
//! - `poll`: the poll / wait loop and the loop every blocking call runs;
//! - `resources`: [`StackResources`], the socket table's memory without an allocator;
//! - `time`: the core's clock types against smoltcp's.

mod config;
mod poll;
mod pool;
mod resources;
mod time;

pub(crate) use config::check_tcp_timers;
pub use config::{
    Config, DEFAULT_TCP_KEEP_ALIVE, DEFAULT_TCP_TIMEOUT, ORPHAN_FIN_TIMEOUT, parse_cidr,
};
pub(crate) use pool::{ListenerEntry, Use};
pub use resources::StackResources;
pub(crate) use time::{from_net_duration, to_net, to_net_duration};

use core::cell::{RefCell, RefMut};
#[cfg(feature = "dns")]
use smoltcp::iface::SocketHandle;
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketSet, SocketStorage};
use smoltcp::phy::{Device, Medium};
#[cfg(feature = "dns")]
use smoltcp::socket::dns;
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Duration as NetDuration;
#[cfg(feature = "dns")]
use smoltcp::wire::IpAddress;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr};

use managed::ManagedSlice;
use portsock_core::time::{Clock, Instant};

use crate::counted::Counted;
use crate::error::{SocketKind, StackError};
use crate::platform::Platform;

use pool::Slot;
use time::from_net;

/// How many sockets one stack can track (TCP, UDP and DNS together).
pub const MAX_SOCKETS: usize = 32;
/// How many listeners one stack can have at once.
pub const MAX_LISTENERS: usize = 8;
/// How many addresses an interface can have (smoltcp's `iface-max-addr-count`, default 2).
pub const MAX_ADDRS: usize = 2;
/// How many DNS servers a stack can be given.
#[cfg(feature = "dns")]
pub const MAX_DNS_SERVERS: usize = 3;

/// Everything behind the stack's `RefCell`.
pub(crate) struct Inner<'a, D: Device, P: Platform> {
    pub iface: Interface,
    pub sockets: SocketSet<'a>,
    pub device: Counted<D>,
    pub platform: P,
    pub slots: heapless::Vec<Slot, MAX_SOCKETS>,
    pub listeners: heapless::Vec<ListenerEntry, MAX_LISTENERS>,
    pub next_listener: u16,
    pub next_port: u16,
    #[cfg(feature = "dns")]
    pub dns: Option<SocketHandle>,
    #[cfg(feature = "dns")]
    pub dns_servers: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    /// The socket table's size when its storage is a fixed slice (`None`: a growable `Vec`).
    pub storage_capacity: Option<usize>,
    /// A poll changed some socket's state since the last [`Stack::wait`]: waiting now could
    /// sleep through data that has already arrived.
    pub dirty: bool,
    /// Every TCP connection's timeout and keep-alive interval when handed out.
    pub tcp_timeout: Option<NetDuration>,
    pub tcp_keep_alive: Option<NetDuration>,
}

/// A smoltcp interface with its sockets, device and platform: the backend's equivalent of the
/// host's network stack.
///
/// Sockets ([`TcpListener`](crate::TcpListener), [`TcpStream`](crate::TcpStream),
/// [`UdpSocket`](crate::UdpSocket)) borrow the stack (`&Stack`) and implement portsock-core's
/// transport traits, so the core's state machines and drivers run on them unchanged. The stack
/// is single-threaded (a `RefCell` inside): every blocking call polls the interface and waits
/// through the [`Platform`] until its socket is ready or its deadline passes, so a program
/// with one socket needs no loop of its own; several sockets at once are driven in
/// non-blocking mode: step each socket's machine (`portsock_core::drive::step_stream` /
/// `step_datagram`), then [`Stack::wait`], as the crate's `tests/loopback.rs` and the firmware
/// do.
///
/// Socket memory is the caller's: the socket table's storage goes to [`Stack::new`], and each
/// TCP / UDP socket's buffers to [`Stack::add_tcp_socket`] / [`Stack::add_udp_socket`] (with
/// the `std` feature, [`Stack::add_tcp_sockets`] and friends allocate them). The stack hands
/// those sockets out and takes them back: a dropped stream finishes closing in the background
/// and becomes free again.
pub struct Stack<'a, D: Device, P: Platform> {
    inner: RefCell<Inner<'a, D, P>>,
}

impl<'a, D: Device, P: Platform> Stack<'a, D, P> {
    /// A stack over `device`, configured by `config`, with room for the sockets in `storage`
    /// (a `&mut` [`StackResources`] in a static, `&mut [SocketStorage::EMPTY; N]`, or a `Vec`
    /// with `std`).
    ///
    /// # Errors
    ///
    /// [`StackError::InvalidInput`] for a multicast or all-zero MAC address (smoltcp would
    /// panic), or a TCP keep-alive interval not shorter than the TCP timeout.
    pub fn new<S>(
        config: &Config,
        mut device: D,
        platform: P,
        storage: S,
    ) -> Result<Self, StackError>
    where
        S: Into<ManagedSlice<'a, SocketStorage<'a>>>,
    {
        let (tcp_timeout, tcp_keep_alive) = config.tcp_timers();
        check_tcp_timers(tcp_timeout, tcp_keep_alive).map_err(StackError::InvalidInput)?;
        let medium = device.capabilities().medium;
        let hardware_addr = match medium {
            Medium::Ethernet => {
                let mac = EthernetAddress(config.mac());
                if !mac.is_unicast() {
                    return Err(StackError::InvalidInput(
                        "the MAC address must be unicast and not all zeros (first octet even)",
                    ));
                }
                HardwareAddress::Ethernet(mac)
            }
            #[cfg(feature = "medium-ip")]
            Medium::Ip => HardwareAddress::Ip,
            #[allow(unreachable_patterns)]
            _ => {
                return Err(StackError::Unsupported(
                    "device medium other than Ethernet or IP",
                ));
            }
        };
        let mut iface_config = IfaceConfig::new(hardware_addr);
        iface_config.random_seed = config.random_seed();
        let now = platform.now();
        let mut iface = Interface::new(iface_config, &mut device, now);
        let mut overflow = false;
        iface.update_ip_addrs(|addrs| {
            for cidr in config.addresses() {
                overflow |= addrs.push(*cidr).is_err();
            }
        });
        if overflow {
            return Err(StackError::InvalidInput("too many interface addresses"));
        }
        if let Some(gw) = config.gateway_v4() {
            iface
                .routes_mut()
                .add_default_ipv4_route(gw)
                .map_err(|_| StackError::InvalidInput("route table full"))?;
        }
        #[cfg(feature = "ipv6")]
        if let Some(gw) = config.gateway_v6() {
            iface
                .routes_mut()
                .add_default_ipv6_route(gw)
                .map_err(|_| StackError::InvalidInput("route table full"))?;
        }
        let storage = storage.into();
        let storage_capacity = match &storage {
            ManagedSlice::Borrowed(slice) => Some(slice.len()),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        Ok(Self {
            inner: RefCell::new(Inner {
                iface,
                sockets: SocketSet::new(storage),
                storage_capacity,
                dirty: false,
                tcp_timeout: tcp_timeout.map(to_net_duration),
                tcp_keep_alive: tcp_keep_alive.map(to_net_duration),
                device: Counted::new(device),
                platform,
                slots: heapless::Vec::new(),
                listeners: heapless::Vec::new(),
                next_listener: 1,
                next_port: pool::EPHEMERAL_FIRST,
                #[cfg(feature = "dns")]
                dns: None,
                #[cfg(feature = "dns")]
                dns_servers: config.dns_servers().iter().copied().collect(),
            }),
        })
    }

    pub(crate) fn inner(&self) -> RefMut<'_, Inner<'a, D, P>> {
        self.inner.borrow_mut()
    }

    /// As [`inner`](Self::inner), for `Drop`, which must not panic.
    pub(crate) fn try_inner(
        &self,
    ) -> Result<RefMut<'_, Inner<'a, D, P>>, core::cell::BorrowMutError> {
        self.inner.try_borrow_mut()
    }

    /// Gives the stack a TCP socket to hand out (to a listener's pool or a connect).
    ///
    /// # Errors
    ///
    /// [`StackError::TooManySockets`] past [`MAX_SOCKETS`], or when the socket table's storage
    /// is full.
    pub fn add_tcp_socket(&self, socket: tcp::Socket<'a>) -> Result<(), StackError> {
        self.inner().add(SocketKind::Tcp, |set| set.add(socket))
    }

    /// Gives the stack a TCP socket over these receive and transmit buffers (the TCP window
    /// is at most the receive buffer's size).
    ///
    /// # Errors
    ///
    /// As [`add_tcp_socket`](Self::add_tcp_socket).
    pub fn add_tcp_buffers(&self, rx: &'a mut [u8], tx: &'a mut [u8]) -> Result<(), StackError> {
        self.add_tcp_socket(tcp::Socket::new(
            tcp::SocketBuffer::new(rx),
            tcp::SocketBuffer::new(tx),
        ))
    }

    /// Gives the stack a UDP socket to hand out to [`UdpSocket::bind`](crate::UdpSocket::bind).
    ///
    /// # Errors
    ///
    /// As [`add_tcp_socket`](Self::add_tcp_socket).
    pub fn add_udp_socket(&self, socket: udp::Socket<'a>) -> Result<(), StackError> {
        self.inner().add(SocketKind::Udp, |set| set.add(socket))
    }

    /// Gives the stack a UDP socket over these buffers: receive and transmit, each a table of
    /// datagram slots (`&mut [udp::PacketMetadata::EMPTY; N]`: at most N datagrams queued) and
    /// the bytes they share.
    ///
    /// # Errors
    ///
    /// As [`add_tcp_socket`](Self::add_tcp_socket).
    pub fn add_udp_buffers(
        &self,
        rx_meta: &'a mut [udp::PacketMetadata],
        rx: &'a mut [u8],
        tx_meta: &'a mut [udp::PacketMetadata],
        tx: &'a mut [u8],
    ) -> Result<(), StackError> {
        self.add_udp_socket(udp::Socket::new(
            udp::PacketBuffer::new(rx_meta, rx),
            udp::PacketBuffer::new(tx_meta, tx),
        ))
    }

    /// Gives the stack the DNS socket [`Stack::resolve`] uses, with room for `queries`
    /// lookups at once (`&mut [None; N]`, or a `Vec` with `std`). The servers are the
    /// [`Config`]'s.
    ///
    /// # Errors
    ///
    /// As [`add_tcp_socket`](Self::add_tcp_socket); [`StackError::InvalidInput`] if it has one.
    #[cfg(feature = "dns")]
    pub fn add_dns_socket<Q>(&self, queries: Q) -> Result<(), StackError>
    where
        Q: Into<ManagedSlice<'a, Option<dns::DnsQuery>>>,
    {
        let mut inner = self.inner();
        if inner.dns.is_some() {
            return Err(StackError::InvalidInput(
                "the stack has a DNS socket already",
            ));
        }
        let servers = inner.dns_servers.clone();
        let socket = dns::Socket::new(&servers, queries);
        inner.add(SocketKind::Dns, |set| set.add(socket))?;
        let handle = inner.slots.last().map(|s| s.handle);
        inner.dns = handle;
        if let Some(slot) = inner.slots.last_mut() {
            slot.used = Use::Owned;
        }
        Ok(())
    }

    /// Runs `f` on the smoltcp interface (to inspect it, add a route, …).
    pub fn with_interface<R>(&self, f: impl FnOnce(&mut Interface) -> R) -> R {
        f(&mut self.inner().iface)
    }

    /// Runs `f` on the device (e.g. to read a capture's statistics).
    pub fn with_device<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        f(&mut self.inner().device.inner)
    }

    /// The interface's addresses.
    pub fn addresses(&self) -> heapless::Vec<IpCidr, MAX_ADDRS> {
        let inner = self.inner();
        let mut out = heapless::Vec::new();
        for a in inner.iface.ip_addrs() {
            let _ = out.push(*a);
        }
        out
    }

    /// How many TCP / UDP sockets are free to hand out.
    pub fn free_sockets(&self, kind: SocketKind) -> usize {
        self.inner()
            .slots
            .iter()
            .filter(|s| s.kind == kind && s.used == Use::Free)
            .count()
    }
}

impl<D: Device, P: Platform> Clock for Stack<'_, D, P> {
    /// The platform's clock in whole milliseconds: hand the stack to the core's drivers as
    /// their clock, so their deadlines and the sockets' agree.
    fn now(&self) -> Instant {
        from_net(self.inner.borrow().platform.now())
    }
}
