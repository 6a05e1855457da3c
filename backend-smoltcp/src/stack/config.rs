//! How a stack is set up: [`Config`] (addresses, routes, DNS servers, TCP timers) and
//! [`parse_cidr`].

use portsock_core::time::Duration;
#[cfg(feature = "ipv6")]
use smoltcp::wire::Ipv6Address;
use smoltcp::wire::{IpAddress, IpCidr, Ipv4Address};

use crate::addr::to_net_ip;
use crate::error::StackError;

use super::MAX_ADDRS;
#[cfg(feature = "dns")]
use super::MAX_DNS_SERVERS;

/// How long a TCP peer may stay silent (no segment at all) while we wait for it — to answer
/// a SYN, to acknowledge data, or to answer a keep-alive — before the connection is dropped:
/// [`Config::with_tcp_timeout`]'s default. RFC 1122 (4.2.3.5) asks at least 100 s before
/// giving up on data, and a lossy link's retransmissions back off to 60 s apart.
pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a TCP connection may be idle before a keep-alive probe asks the peer whether it
/// is still there: [`Config::with_tcp_keep_alive`]'s default. A peer that vanished answers
/// none, and [`DEFAULT_TCP_TIMEOUT`] later the connection fails.
pub const DEFAULT_TCP_KEEP_ALIVE: Duration = Duration::from_secs(30);
/// How long a dropped stream waits in FIN-WAIT-2 for its peer's FIN (ours was acknowledged,
/// theirs never comes) before the stack resets it and frees the socket, as Linux does after
/// `tcp_fin_timeout`. Nothing of ours is in flight then, so the TCP timeout never fires, and a
/// peer that keeps its side open (answering keep-alives) would otherwise hold the socket for
/// ever.
pub const ORPHAN_FIN_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// [`StackError::InvalidInput`] past [`MAX_ADDRS`] addresses.
    pub fn with_address(mut self, cidr: IpCidr) -> Result<Self, StackError> {
        self.addresses
            .push(cidr)
            .map_err(|_| StackError::InvalidInput("too many interface addresses"))?;
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

    /// Adds a DNS server for [`Stack::resolve`](crate::Stack::resolve).
    ///
    /// # Errors
    ///
    /// [`StackError::InvalidInput`] past [`MAX_DNS_SERVERS`] servers.
    #[cfg(feature = "dns")]
    pub fn with_dns_server(mut self, server: IpAddress) -> Result<Self, StackError> {
        self.dns_servers
            .push(server)
            .map_err(|_| StackError::InvalidInput("too many DNS servers"))?;
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
    /// [`TcpError::ConnectionTimedOut`](crate::TcpError::ConnectionTimedOut); `None`: never (a vanished peer holds its socket until
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

    /// The seed for TCP initial sequence numbers.
    pub fn random_seed(&self) -> u64 {
        self.random_seed
    }

    /// The default gateway for IPv4.
    pub fn gateway_v4(&self) -> Option<Ipv4Address> {
        self.gateway_v4
    }

    /// The default gateway for IPv6.
    #[cfg(feature = "ipv6")]
    pub fn gateway_v6(&self) -> Option<Ipv6Address> {
        self.gateway_v6
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
/// [`StackError::InvalidInput`] unless it is an IPv4 or IPv6 address, a `/`, and a prefix length
/// of at most 32 or 128; [`StackError::Unsupported`] for an IPv6 address without the `ipv6` feature.
pub fn parse_cidr(text: &str) -> Result<IpCidr, StackError> {
    const EXPECTED: &str = "expected ADDRESS/PREFIX, e.g. 192.168.69.1/24 or fdaa::1/64";
    let (addr, prefix) = text
        .split_once('/')
        .ok_or(StackError::InvalidInput(EXPECTED))?;
    let addr: core::net::IpAddr = addr
        .parse()
        .map_err(|_| StackError::InvalidInput(EXPECTED))?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| StackError::InvalidInput(EXPECTED))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(StackError::InvalidInput(EXPECTED));
    }
    Ok(IpCidr::new(
        to_net_ip(addr).map_err(StackError::from)?,
        prefix,
    ))
}

/// A TCP keep-alive interval must be shorter than the timeout: the probes are what keep a
/// healthy idle connection's peer talking. The error is what is wrong.
pub(crate) fn check_tcp_timers(
    timeout: Option<Duration>,
    keep_alive: Option<Duration>,
) -> Result<(), &'static str> {
    match (timeout, keep_alive) {
        (Some(t), _) if t.is_zero() => Err("the TCP timeout must be longer than zero"),
        (_, Some(k)) if k.is_zero() => Err("the TCP keep-alive interval must be longer than zero"),
        (Some(t), Some(k)) if k >= t => {
            Err("the TCP keep-alive interval must be shorter than the TCP timeout")
        }
        _ => Ok(()),
    }
}
