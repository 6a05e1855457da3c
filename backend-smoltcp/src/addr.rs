//! Conversions between `core::net` addresses and smoltcp's, whichever IP versions are built in.
//!
//! smoltcp's own `From<core::net::IpAddr>` / `From<SocketAddr>` exist only with both IPv4 and
//! IPv6; these work without the `ipv6` feature too, where an IPv6 address is
//! `NoIpv6`, which each error type turns into its own "unsupported".

use core::net::{IpAddr, SocketAddr};

use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use crate::error::NoIpv6;

/// A `core::net` address as smoltcp's.
///
/// # Errors
///
/// [`NoIpv6`] for an IPv6 address without the `ipv6` feature.
pub(crate) fn to_net_ip(addr: IpAddr) -> Result<IpAddress, NoIpv6> {
    match addr {
        IpAddr::V4(a) => Ok(IpAddress::Ipv4(a)),
        #[cfg(feature = "ipv6")]
        IpAddr::V6(a) => Ok(IpAddress::Ipv6(a)),
        #[cfg(not(feature = "ipv6"))]
        IpAddr::V6(_) => Err(NoIpv6),
    }
}

/// A socket address as a smoltcp endpoint (errors as [`to_net_ip`]).
pub(crate) fn to_net_endpoint(addr: SocketAddr) -> Result<IpEndpoint, NoIpv6> {
    Ok(IpEndpoint::new(to_net_ip(addr.ip())?, addr.port()))
}

/// A socket address as a smoltcp listen endpoint: an unspecified address listens on every
/// address of the interface (errors as [`to_net_ip`]).
pub(crate) fn to_listen_endpoint(addr: SocketAddr) -> Result<IpListenEndpoint, NoIpv6> {
    let ip = if addr.ip().is_unspecified() {
        None
    } else {
        Some(to_net_ip(addr.ip())?)
    };
    Ok(IpListenEndpoint {
        addr: ip,
        port: addr.port(),
    })
}

/// A smoltcp endpoint as a socket address.
pub(crate) fn endpoint_to_addr(e: IpEndpoint) -> SocketAddr {
    SocketAddr::new(e.addr.into(), e.port)
}
