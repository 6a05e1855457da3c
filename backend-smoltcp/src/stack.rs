//! The stack: one smoltcp [`Interface`], its [`SocketSet`], a device and a [`Platform`], shared
//! by every socket made from it.

use core::cell::{RefCell, RefMut};
use smoltcp::iface::{
    Config as IfaceConfig, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
    SocketStorage,
};
use smoltcp::phy::{Device, Medium};
#[cfg(feature = "dns")]
use smoltcp::socket::dns;
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration as NetDuration, Instant as NetInstant};
#[cfg(feature = "ipv6")]
use smoltcp::wire::Ipv6Address;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use managed::ManagedSlice;
use portsock_core::time::{Clock, Duration, Instant};

use crate::addr::to_net_ip;
use crate::counted::Counted;
use crate::error::{Error, SocketKind};
use crate::platform::Platform;

/// How many sockets one stack can track (TCP, UDP and DNS together).
pub const MAX_SOCKETS: usize = 32;
/// How many listeners one stack can have at once.
pub const MAX_LISTENERS: usize = 8;
/// How many addresses an interface can have (smoltcp's `iface-max-addr-count`, default 2).
pub const MAX_ADDRS: usize = 2;
/// How many DNS servers a stack can be given.
#[cfg(feature = "dns")]
pub const MAX_DNS_SERVERS: usize = 3;

/// How long a TCP peer may stay silent (no segment at all) while we wait for it — to answer
/// a SYN, to acknowledge data, or to answer a keep-alive — before the connection is dropped:
/// [`Config::with_tcp_timeout`]'s default. RFC 1122 (4.2.3.5) asks at least 100 s before
/// giving up on data, and a lossy link's retransmissions back off to 60 s apart.
pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a TCP connection may be idle before a keep-alive probe asks the peer whether it
/// is still there: [`Config::with_tcp_keep_alive`]'s default. A peer that vanished answers
/// none, and [`DEFAULT_TCP_TIMEOUT`] later the connection fails.
pub const DEFAULT_TCP_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// At most this many interface polls per [`Stack::poll`].
const POLL_ROUNDS: usize = 64;

/// The first port handed out when a socket binds to port 0 or connects (IANA's dynamic range).
const EPHEMERAL_FIRST: u16 = 49152;

/// How the interface is set up: hardware address, IP addresses, routes and DNS servers.
///
/// ```
/// use portsock_smoltcp::Config;
///
/// let config = Config::new([0x02, 0, 0, 0, 0, 0x01])
///     .with_address(portsock_smoltcp::parse_cidr("192.168.69.1/24")?)?
///     .with_address(portsock_smoltcp::parse_cidr("fdaa::1/64")?)?
///     .with_gateway("192.168.69.100".parse::<std::net::IpAddr>()?.into())
///     .with_dns_server("192.168.69.100".parse::<std::net::IpAddr>()?.into())?;
/// assert_eq!(config.addresses().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    mac: [u8; 6],
    addresses: heapless::Vec<IpCidr, MAX_ADDRS>,
    gateway_v4: Option<Ipv4Address>,
    #[cfg(feature = "ipv6")]
    gateway_v6: Option<Ipv6Address>,
    #[cfg(feature = "dns")]
    dns_servers: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    random_seed: u64,
    tcp_timeout: Option<Duration>,
    tcp_keep_alive: Option<Duration>,
}

impl Config {
    /// An interface with this Ethernet address (ignored on IP-medium devices), no IP address
    /// yet.
    pub fn new(mac: [u8; 6]) -> Self {
        Self {
            mac,
            addresses: heapless::Vec::new(),
            gateway_v4: None,
            #[cfg(feature = "ipv6")]
            gateway_v6: None,
            #[cfg(feature = "dns")]
            dns_servers: heapless::Vec::new(),
            random_seed: 0x005e_ed0f_9047_50c6,
            tcp_timeout: Some(DEFAULT_TCP_TIMEOUT),
            tcp_keep_alive: Some(DEFAULT_TCP_KEEP_ALIVE),
        }
    }

    /// Adds an address with its prefix, e.g. `192.168.69.1/24`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] past [`MAX_ADDRS`] addresses.
    pub fn with_address(mut self, cidr: IpCidr) -> Result<Self, Error> {
        self.addresses
            .push(cidr)
            .map_err(|_| Error::InvalidInput("too many interface addresses"))?;
        Ok(self)
    }

    /// Sets the default gateway of the address's family.
    pub fn with_gateway(mut self, gateway: IpAddress) -> Self {
        match gateway {
            IpAddress::Ipv4(a) => self.gateway_v4 = Some(a),
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(a) => self.gateway_v6 = Some(a),
        }
        self
    }

    /// Adds a DNS server for [`Stack::resolve`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] past [`MAX_DNS_SERVERS`] servers.
    #[cfg(feature = "dns")]
    pub fn with_dns_server(mut self, server: IpAddress) -> Result<Self, Error> {
        self.dns_servers
            .push(server)
            .map_err(|_| Error::InvalidInput("too many DNS servers"))?;
        Ok(self)
    }

    /// Sets the seed for TCP initial sequence numbers and similar; use a different one on
    /// each boot.
    pub fn with_random_seed(mut self, seed: u64) -> Self {
        self.random_seed = seed;
        self
    }

    /// Sets how long every TCP connection's peer may stay silent while we wait for it (a
    /// handshake, an acknowledgement, a keep-alive answer) before the connection fails with
    /// [`Error::ConnectionTimedOut`]; `None`: never (a vanished peer holds its socket until
    /// the program drops the stream). Default [`DEFAULT_TCP_TIMEOUT`]; one stream can
    /// change it with [`TcpStream::set_timeout`](crate::TcpStream::set_timeout).
    pub fn with_tcp_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.tcp_timeout = timeout;
        self
    }

    /// Sets how long a TCP connection may be idle before a keep-alive probe is sent (and
    /// again after each such interval); `None`: no probes, so an idle connection whose peer
    /// vanished is never noticed. Default [`DEFAULT_TCP_KEEP_ALIVE`]; it must be shorter
    /// than the timeout, or an idle but healthy connection would time out.
    pub fn with_tcp_keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.tcp_keep_alive = interval;
        self
    }

    /// The TCP timeout and keep-alive interval every connection starts with.
    pub fn tcp_timers(&self) -> (Option<Duration>, Option<Duration>) {
        (self.tcp_timeout, self.tcp_keep_alive)
    }

    /// The interface's addresses.
    pub fn addresses(&self) -> &[IpCidr] {
        &self.addresses
    }

    /// The DNS servers.
    #[cfg(feature = "dns")]
    pub fn dns_servers(&self) -> &[IpAddress] {
        &self.dns_servers
    }

    /// The Ethernet address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

/// Parses `ADDR/PREFIX` (`192.168.69.1/24`, `fdaa::1/64`) into an interface address.
///
/// # Errors
///
/// [`Error::InvalidInput`] unless it is an IPv4 or IPv6 address, a `/`, and a prefix length
/// of at most 32 or 128; [`Error::Unsupported`] for an IPv6 address without the `ipv6` feature.
pub fn parse_cidr(text: &str) -> Result<IpCidr, Error> {
    const EXPECTED: &str = "expected ADDRESS/PREFIX, e.g. 192.168.69.1/24 or fdaa::1/64";
    let (addr, prefix) = text.split_once('/').ok_or(Error::InvalidInput(EXPECTED))?;
    let addr: core::net::IpAddr = addr.parse().map_err(|_| Error::InvalidInput(EXPECTED))?;
    let prefix: u8 = prefix.parse().map_err(|_| Error::InvalidInput(EXPECTED))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(Error::InvalidInput(EXPECTED));
    }
    Ok(IpCidr::new(to_net_ip(addr)?, prefix))
}

/// What a tracked socket is being used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Idle, ready to be handed out.
    Free,
    /// Listening for (or holding a not yet accepted) connection for listener `id`.
    Listening(u16),
    /// Owned by a `TcpStream`, a `UdpSocket` or the DNS resolver.
    Owned,
    /// Dropped by its owner while the connection still closes; freed once it has.
    Closing,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub handle: SocketHandle,
    pub kind: SocketKind,
    pub used: Use,
    /// The peer's FIN has arrived (seen after a poll). smoltcp forgets it when the socket
    /// closes (TIME-WAIT's timer, or the last ACK), so a stream asks here to tell a graceful
    /// end from a reset.
    pub fin_seen: bool,
    /// The TCP socket was open before the last poll's timers ran (see [`Inner::poll`]).
    pub open: bool,
    /// smoltcp closed the TCP connection because its peer stayed silent past the timeout.
    pub timed_out: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenerEntry {
    pub id: u16,
    pub endpoint: smoltcp::wire::IpListenEndpoint,
    pub backlog: u16,
}

/// Everything behind the stack's `RefCell`.
pub(crate) struct Inner<'a, D: Device, P: Platform> {
    pub iface: Interface,
    pub sockets: SocketSet<'a>,
    pub device: Counted<D>,
    pub platform: P,
    pub slots: heapless::Vec<Slot, MAX_SOCKETS>,
    pub listeners: heapless::Vec<ListenerEntry, MAX_LISTENERS>,
    next_listener: u16,
    next_port: u16,
    #[cfg(feature = "dns")]
    pub dns: Option<SocketHandle>,
    #[cfg(feature = "dns")]
    pub dns_servers: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    /// The socket table's size when its storage is a fixed slice (`None`: a growable `Vec`).
    storage_capacity: Option<usize>,
    /// A poll changed some socket's state since the last [`Stack::wait`]: waiting now could
    /// sleep through data that has already arrived.
    dirty: bool,
    /// Every TCP connection's timeout and keep-alive interval when handed out.
    tcp_timeout: Option<NetDuration>,
    tcp_keep_alive: Option<NetDuration>,
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
    /// (`&mut [SocketStorage::EMPTY; N]`, or a `Vec` with `std`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a multicast or all-zero MAC address (smoltcp would panic),
    /// or a TCP keep-alive interval not shorter than the TCP timeout.
    pub fn new<S>(config: &Config, mut device: D, platform: P, storage: S) -> Result<Self, Error>
    where
        S: Into<ManagedSlice<'a, SocketStorage<'a>>>,
    {
        check_tcp_timers(config.tcp_timeout, config.tcp_keep_alive)?;
        let medium = device.capabilities().medium;
        let hardware_addr = match medium {
            Medium::Ethernet => {
                let mac = EthernetAddress(config.mac);
                if !mac.is_unicast() {
                    return Err(Error::InvalidInput(
                        "the MAC address must be unicast and not all zeros (first octet even)",
                    ));
                }
                HardwareAddress::Ethernet(mac)
            }
            #[cfg(feature = "medium-ip")]
            Medium::Ip => HardwareAddress::Ip,
            #[allow(unreachable_patterns)]
            _ => {
                return Err(Error::Unsupported(
                    "device medium other than Ethernet or IP",
                ));
            }
        };
        let mut iface_config = IfaceConfig::new(hardware_addr);
        iface_config.random_seed = config.random_seed;
        let now = platform.now();
        let mut iface = Interface::new(iface_config, &mut device, now);
        let mut overflow = false;
        iface.update_ip_addrs(|addrs| {
            for cidr in &config.addresses {
                overflow |= addrs.push(*cidr).is_err();
            }
        });
        if overflow {
            return Err(Error::InvalidInput("too many interface addresses"));
        }
        if let Some(gw) = config.gateway_v4 {
            iface
                .routes_mut()
                .add_default_ipv4_route(gw)
                .map_err(|_| Error::InvalidInput("route table full"))?;
        }
        #[cfg(feature = "ipv6")]
        if let Some(gw) = config.gateway_v6 {
            iface
                .routes_mut()
                .add_default_ipv6_route(gw)
                .map_err(|_| Error::InvalidInput("route table full"))?;
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
                tcp_timeout: config.tcp_timeout.map(to_net_duration),
                tcp_keep_alive: config.tcp_keep_alive.map(to_net_duration),
                device: Counted::new(device),
                platform,
                slots: heapless::Vec::new(),
                listeners: heapless::Vec::new(),
                next_listener: 1,
                next_port: EPHEMERAL_FIRST,
                #[cfg(feature = "dns")]
                dns: None,
                #[cfg(feature = "dns")]
                dns_servers: config.dns_servers.clone(),
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
    /// [`Error::TooManySockets`] past [`MAX_SOCKETS`], or when the socket table's storage is
    /// full.
    pub fn add_tcp_socket(&self, socket: tcp::Socket<'a>) -> Result<(), Error> {
        self.inner().add(SocketKind::Tcp, |set| set.add(socket))
    }

    /// Gives the stack a TCP socket over these receive and transmit buffers (the TCP window
    /// is at most the receive buffer's size).
    ///
    /// # Errors
    ///
    /// As [`add_tcp_socket`](Self::add_tcp_socket).
    pub fn add_tcp_buffers(&self, rx: &'a mut [u8], tx: &'a mut [u8]) -> Result<(), Error> {
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
    pub fn add_udp_socket(&self, socket: udp::Socket<'a>) -> Result<(), Error> {
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
    ) -> Result<(), Error> {
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
    /// As [`add_tcp_socket`](Self::add_tcp_socket); [`Error::InvalidInput`] if it has one.
    #[cfg(feature = "dns")]
    pub fn add_dns_socket<Q>(&self, queries: Q) -> Result<(), Error>
    where
        Q: Into<ManagedSlice<'a, Option<dns::DnsQuery>>>,
    {
        let mut inner = self.inner();
        if inner.dns.is_some() {
            return Err(Error::InvalidInput("the stack has a DNS socket already"));
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

    /// Processes every frame that has arrived and sends whatever the sockets have queued
    /// (smoltcp's `Interface::poll`); returns whether a socket's state may have changed.
    /// Blocking calls do this themselves; event loops over non-blocking sockets call it
    /// between rounds.
    pub fn poll(&self) -> bool {
        self.inner().poll()
    }

    /// Waits (through the [`Platform`]) until a frame may have arrived or the interface has a
    /// timer due, but no later than `deadline`. For event loops: step every socket, `wait`.
    ///
    /// It returns at once, without waiting, when a socket's state changed since the last
    /// `wait` (data or a FIN that arrived during another socket's call): step again first.
    pub fn wait(&self, deadline: Option<Instant>) {
        let mut guard = self.inner();
        let inner = &mut *guard;
        inner.poll();
        if core::mem::take(&mut inner.dirty) {
            // Some socket changed since the last wait (perhaps inside another socket's
            // call): let the caller step its sockets first.
            return;
        }
        inner.idle(deadline.map(to_net));
    }

    /// Polls until every dropped stream has finished closing (its FIN sent and acknowledged)
    /// and every queued datagram has left (some wait for the neighbour's address), or
    /// `timeout` passes; returns whether they all did. Call it before a program exits, as
    /// nothing is sent once the stack is gone.
    pub fn finish(&self, timeout: Duration) -> bool {
        let deadline = self.now() + timeout;
        loop {
            let busy = {
                let mut inner = self.inner();
                inner.poll();
                inner.slots.iter().any(|s| match s.kind {
                    SocketKind::Tcp => s.used == Use::Closing,
                    // A datagram waits in its socket until the neighbour's address is known
                    // (a dropped socket with some is `Closing` until they left).
                    SocketKind::Udp => {
                        s.used == Use::Closing
                            || inner.sockets.get::<udp::Socket>(s.handle).send_queue() > 0
                    }
                    SocketKind::Dns => false,
                })
            };
            if !busy {
                return true;
            }
            if self.now() >= deadline {
                return false;
            }
            self.wait(Some(deadline));
        }
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

    /// Runs `attempt` after each poll until it gives an answer: the loop every blocking call
    /// is. Non-blocking: one try, then [`Error::WouldBlock`]. Blocking: waits through the
    /// platform until `deadline` (then [`Error::TimedOut`]); a try is always made before the
    /// deadline is checked, so something already there is taken.
    pub(crate) fn block<T>(
        &self,
        nonblocking: bool,
        deadline: Option<NetInstant>,
        mut attempt: impl FnMut(&mut Inner<'a, D, P>) -> Option<Result<T, Error>>,
    ) -> Result<T, Error> {
        let mut answer = None;
        self.block_until(nonblocking, deadline, &mut |inner| {
            answer = attempt(inner);
            answer.is_some()
        })?;
        answer.unwrap_or(Err(Error::WouldBlock))
    }

    /// [`block`](Self::block)'s loop, once for every caller (not a copy per closure type:
    /// firmware pays for it once): `ready` says whether the attempt gave an answer.
    #[inline(never)]
    fn block_until(
        &self,
        nonblocking: bool,
        deadline: Option<NetInstant>,
        ready: &mut dyn FnMut(&mut Inner<'a, D, P>) -> bool,
    ) -> Result<(), Error> {
        let mut guard = self.inner();
        let inner = &mut *guard;
        // Try what is already there before polling: a poll can fire a timer (TIME-WAIT's)
        // that makes smoltcp reset a socket and drop the bytes it still holds.
        if ready(inner) {
            inner.poll();
            return Ok(());
        }
        loop {
            inner.poll();
            if ready(inner) {
                // Send what the attempt queued (data, an ACK opening the window) right away.
                inner.poll();
                return Ok(());
            }
            if nonblocking {
                return Err(Error::WouldBlock);
            }
            if deadline.is_some_and(|d| inner.platform.now() >= d) {
                return Err(Error::TimedOut);
            }
            inner.idle(deadline);
        }
    }

    /// The deadline `timeout` from now, on the network clock.
    pub(crate) fn deadline_in(&self, timeout: Option<Duration>) -> Option<NetInstant> {
        timeout.map(|t| self.inner().platform.now() + to_net_duration(t))
    }
}

impl<D: Device, P: Platform> Clock for Stack<'_, D, P> {
    /// The platform's clock in whole milliseconds: hand the stack to the core's drivers as
    /// their clock, so their deadlines and the sockets' agree.
    fn now(&self) -> Instant {
        from_net(self.inner.borrow().platform.now())
    }
}

impl<'a, D: Device, P: Platform> Inner<'a, D, P> {
    /// Waits through the platform until the interface's next timer or `deadline`, whichever
    /// comes first (a frame arriving may end it sooner).
    fn idle(&mut self, deadline: Option<NetInstant>) {
        let now = self.platform.now();
        let mut delay = self.iface.poll_delay(now, &self.sockets);
        if let Some(deadline) = deadline {
            let left = if deadline > now {
                deadline - now
            } else {
                smoltcp::time::Duration::ZERO
            };
            delay = Some(delay.map_or(left, |d| d.min(left)));
        }
        self.platform.wait(delay);
    }

    /// Polls until the interface has nothing more to do: a frame it just sent may already be
    /// waiting to be received (a `Loopback` device, or a fast peer), and `poll_delay` does
    /// not know about frames in the device. Bounded, so a flood cannot starve the caller.
    ///
    /// Frames are taken in one at a time, and the listeners' pools refilled before each: a
    /// burst of SYNs that arrived while the program was busy finds a listening socket for each
    /// (smoltcp's own `poll` would take them all in at once and refuse those past the pool).
    pub(crate) fn poll(&mut self) -> bool {
        let mut changed = false;
        for _ in 0..POLL_ROUNDS {
            let now = self.platform.now();
            let mut round = false;
            self.iface.poll_maintenance(now);
            self.note_open();
            loop {
                self.refill();
                match self
                    .iface
                    .poll_ingress_single(now, &mut self.device, &mut self.sockets)
                {
                    PollIngressSingleResult::None => break,
                    PollIngressSingleResult::PacketProcessed => {}
                    PollIngressSingleResult::SocketStateChanged => round = true,
                }
            }
            // A reset arrives as a frame; smoltcp closes a connection for silence only when
            // it is about to send: a connection open before the egress and closed after it,
            // without the peer's FIN, timed out.
            self.note_open();
            while self
                .iface
                .poll_egress(now, &mut self.device, &mut self.sockets)
                == PollResult::SocketStateChanged
            {
                round = true;
            }
            self.note_timeouts();
            self.reap();
            let moved = self.device.take_moved();
            if round {
                changed = true;
            } else if moved == 0 {
                break;
            }
        }
        self.dirty |= changed;
        changed
    }

    /// Remembers which TCP sockets in use are open (see [`note_timeouts`](Self::note_timeouts)).
    fn note_open(&mut self) {
        for slot in &mut self.slots {
            if slot.kind == SocketKind::Tcp && matches!(slot.used, Use::Owned | Use::Listening(_)) {
                slot.open =
                    self.sockets.get::<tcp::Socket>(slot.handle).state() != tcp::State::Closed;
            }
        }
    }

    /// Marks the TCP sockets that [`note_open`](Self::note_open) saw open and smoltcp's timers
    /// have closed since, without a FIN from the peer: their peer was silent past the timeout.
    fn note_timeouts(&mut self) {
        for slot in &mut self.slots {
            if slot.kind == SocketKind::Tcp && slot.open && !slot.fin_seen {
                let state = self.sockets.get::<tcp::Socket>(slot.handle).state();
                if state == tcp::State::Closed {
                    slot.timed_out = true;
                    slot.open = false;
                }
            }
        }
    }

    /// Gives a TCP socket about to be handed out (to a connect or a listener's pool) the
    /// stack's timers, and undoes what its last user set.
    fn prepare_tcp(&mut self, handle: SocketHandle) {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(self.tcp_timeout);
        socket.set_keep_alive(self.tcp_keep_alive);
        socket.set_nagle_enabled(true);
        if let Some(slot) = self.slot_mut(handle) {
            slot.fin_seen = false;
            slot.open = false;
            slot.timed_out = false;
        }
    }

    /// Tops up every listener's pool, and tells the device which listeners have no socket
    /// listening (a SYN to them is dropped, not refused: the client sends it again).
    fn refill(&mut self) {
        self.device.full.clear();
        for l in 0..self.listeners.len() {
            let entry = self.listeners[l];
            if self.top_up(entry) == 0 {
                let _ = self.device.full.push(entry.endpoint.port);
            }
        }
    }

    fn add(
        &mut self,
        kind: SocketKind,
        add: impl FnOnce(&mut SocketSet<'a>) -> SocketHandle,
    ) -> Result<(), Error> {
        if self.slots.is_full() {
            return Err(Error::TooManySockets);
        }
        // SocketSet::add panics when fixed storage is full; check first.
        if self
            .storage_capacity
            .is_some_and(|cap| self.sockets.iter().count() >= cap)
        {
            return Err(Error::TooManySockets);
        }
        let handle = add(&mut self.sockets);
        let _ = self.slots.push(Slot {
            handle,
            kind,
            used: Use::Free,
            fin_seen: false,
            open: false,
            timed_out: false,
        });
        Ok(())
    }

    /// Frees the sockets whose closing has finished, and tops up listeners' pools.
    fn reap(&mut self) {
        for i in 0..self.slots.len() {
            let slot = self.slots[i];
            if slot.kind == SocketKind::Tcp && slot.used == Use::Owned && !slot.fin_seen {
                let state = self.sockets.get::<tcp::Socket>(slot.handle).state();
                self.slots[i].fin_seen = matches!(
                    state,
                    tcp::State::CloseWait
                        | tcp::State::LastAck
                        | tcp::State::Closing
                        | tcp::State::TimeWait
                );
            }
            if let Use::Listening(_) = slot.used {
                // A connection that closed (reset, or timed out) before it was accepted
                // leaves the pool; the socket listens again on the next top-up.
                if self.sockets.get::<tcp::Socket>(slot.handle).state() == tcp::State::Closed {
                    self.slots[i].used = Use::Free;
                }
            }
            if slot.used == Use::Closing && slot.kind == SocketKind::Udp {
                let socket = self.sockets.get_mut::<udp::Socket>(slot.handle);
                if socket.send_queue() == 0 {
                    socket.close();
                    self.slots[i].used = Use::Free;
                }
            }
            if slot.used == Use::Closing && slot.kind == SocketKind::Tcp {
                let socket = self.sockets.get_mut::<tcp::Socket>(slot.handle);
                match socket.state() {
                    tcp::State::Closed => self.slots[i].used = Use::Free,
                    tcp::State::TimeWait => {
                        // Our side closed first and the peer's FIN is acknowledged: nothing
                        // of ours is in flight any more. Recycle the socket instead of
                        // holding it for 2 MSL.
                        socket.abort();
                        self.slots[i].used = Use::Free;
                    }
                    _ => {}
                }
            }
        }
        self.refill();
    }

    /// Keeps listener `entry`'s pool at `backlog` sockets (while free TCP sockets last):
    /// those listening plus those holding a connection not accepted yet, as the kernel bounds
    /// a listener's accept queue. With every one of them holding a connection, none listens,
    /// and the device drops a SYN to the port (see [`Counted`]), as Linux drops a SYN when the
    /// accept queue is full. Returns how many sockets listen.
    pub(crate) fn top_up(&mut self, entry: ListenerEntry) -> usize {
        let (mut listening, mut pool) = (0, 0);
        for s in &self.slots {
            if s.used == Use::Listening(entry.id) {
                pool += 1;
                if self.sockets.get::<tcp::Socket>(s.handle).state() == tcp::State::Listen {
                    listening += 1;
                }
            }
        }
        for i in 0..self.slots.len() {
            if pool >= usize::from(entry.backlog) {
                break;
            }
            let slot = self.slots[i];
            if slot.kind == SocketKind::Tcp && slot.used == Use::Free {
                self.prepare_tcp(slot.handle);
                let socket = self.sockets.get_mut::<tcp::Socket>(slot.handle);
                if socket.listen(entry.endpoint).is_ok() {
                    self.slots[i].used = Use::Listening(entry.id);
                    listening += 1;
                    pool += 1;
                }
            }
        }
        listening
    }

    /// Whether `dst` can be sent to: on one of the interface's networks, multicast or
    /// broadcast, or covered by a route (the default gateway of its family).
    pub(crate) fn has_route(&mut self, dst: IpAddress) -> bool {
        if dst.is_multicast() || dst.is_broadcast() {
            return true;
        }
        if self.iface.ip_addrs().iter().any(|c| c.contains_addr(&dst)) {
            return true;
        }
        let mut routed = false;
        self.iface
            .routes_mut()
            .update(|routes| routed = routes.iter().any(|r| r.cidr.contains_addr(&dst)));
        routed
    }

    /// Claims a free socket of `kind`.
    pub(crate) fn claim(&mut self, kind: SocketKind) -> Result<SocketHandle, Error> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.kind == kind && s.used == Use::Free)
            .ok_or(Error::NoFreeSocket(kind))?;
        slot.used = Use::Owned;
        let handle = slot.handle;
        if kind == SocketKind::Tcp {
            self.prepare_tcp(handle);
        } else if let Some(slot) = self.slot_mut(handle) {
            slot.fin_seen = false;
        }
        Ok(handle)
    }

    pub(crate) fn slot_mut(&mut self, handle: SocketHandle) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.handle == handle)
    }

    pub(crate) fn set_use(&mut self, handle: SocketHandle, used: Use) {
        if let Some(slot) = self.slot_mut(handle) {
            if used == Use::Owned && slot.used != Use::Owned {
                slot.fin_seen = false;
            }
            slot.used = used;
        }
    }

    /// Whether the peer's FIN arrived on this socket while it was owned.
    pub(crate) fn fin_seen(&self, handle: SocketHandle) -> bool {
        self.slots.iter().any(|s| s.handle == handle && s.fin_seen)
    }

    /// Why this TCP socket is closed when its owner did not close it: its peer stayed silent
    /// past the timeout, or else `otherwise` (a reset, or a refused connect).
    pub(crate) fn closed_error(&self, handle: SocketHandle, otherwise: Error) -> Error {
        if self.slots.iter().any(|s| s.handle == handle && s.timed_out) {
            Error::ConnectionTimedOut
        } else {
            otherwise
        }
    }

    pub(crate) fn new_listener_id(&mut self) -> u16 {
        let id = self.next_listener;
        self.next_listener = self.next_listener.wrapping_add(1).max(1);
        id
    }

    /// Whether a TCP (or UDP) socket other than `except` uses local `port`.
    pub(crate) fn port_in_use(
        &self,
        kind: SocketKind,
        port: u16,
        except: Option<SocketHandle>,
    ) -> bool {
        if kind == SocketKind::Tcp && self.listeners.iter().any(|l| l.endpoint.port == port) {
            return true;
        }
        self.slots.iter().any(|s| {
            Some(s.handle) != except
                && s.kind == kind
                && s.used != Use::Free
                && match kind {
                    SocketKind::Tcp => {
                        let t = self.sockets.get::<tcp::Socket>(s.handle);
                        t.local_endpoint().map(|e| e.port) == Some(port)
                            || (t.state() == tcp::State::Listen && t.listen_endpoint().port == port)
                    }
                    SocketKind::Udp => {
                        self.sockets.get::<udp::Socket>(s.handle).endpoint().port == port
                    }
                    SocketKind::Dns => false,
                }
        })
    }

    /// A local port from the dynamic range that no socket of `kind` uses.
    pub(crate) fn ephemeral_port(&mut self, kind: SocketKind) -> Result<u16, Error> {
        for _ in 0..=(u16::MAX - EPHEMERAL_FIRST) {
            let port = self.next_port;
            self.next_port = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            if !self.port_in_use(kind, port, None) {
                return Ok(port);
            }
        }
        Err(Error::AddrInUse(0))
    }
}

/// A core instant as a smoltcp instant.
pub(crate) fn to_net(t: Instant) -> NetInstant {
    NetInstant::from_millis(i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
}

/// A smoltcp instant as a core instant (whole milliseconds; before the epoch is zero).
pub(crate) fn from_net(t: NetInstant) -> Instant {
    Instant::from_millis(u64::try_from(t.total_millis()).unwrap_or(0))
}

/// A smoltcp duration as a core one (whole milliseconds).
pub(crate) fn from_net_duration(d: NetDuration) -> Duration {
    Duration::from_millis(d.total_millis())
}

pub(crate) fn to_net_duration(d: Duration) -> NetDuration {
    NetDuration::from_millis(d.as_millis())
}

/// A TCP keep-alive interval must be shorter than the timeout: the probes are what keep a
/// healthy idle connection's peer talking.
pub(crate) fn check_tcp_timers(
    timeout: Option<Duration>,
    keep_alive: Option<Duration>,
) -> Result<(), Error> {
    match (timeout, keep_alive) {
        (Some(t), Some(k)) if k >= t => Err(Error::InvalidInput(
            "the TCP keep-alive interval must be shorter than the TCP timeout",
        )),
        (_, Some(k)) if k.as_millis() == 0 => Err(Error::InvalidInput(
            "the TCP keep-alive interval must be longer than zero",
        )),
        (Some(t), _) if t.as_millis() == 0 => Err(Error::InvalidInput(
            "the TCP timeout must be longer than zero",
        )),
        _ => Ok(()),
    }
}
