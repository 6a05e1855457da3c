//! Conversions between `core::net` addresses and smoltcp's, whichever IP versions are built in.
//!
//! smoltcp's own `From<core::net::IpAddr>` / `From<SocketAddr>` exist only with both IPv4 and
//! IPv6; these work without the `ipv6` feature too, where an IPv6 address is
//! [`NO_IPV6`].

use core::net::{IpAddr, SocketAddr};

use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use crate::error::Error;

/// What an IPv6 address is to a stack built without the `ipv6` feature.
#[cfg(not(feature = "ipv6"))]
pub(crate) const NO_IPV6: Error =
    Error::Unsupported("IPv6 (portsock-smoltcp built without the ipv6 feature)");

/// A `core::net` address as smoltcp's.
///
/// # Errors
///
/// [`NO_IPV6`] for an IPv6 address without the `ipv6` feature.
pub(crate) fn to_net_ip(addr: IpAddr) -> Result<IpAddress, Error> {
    match addr {
        IpAddr::V4(a) => Ok(IpAddress::Ipv4(a)),
        #[cfg(feature = "ipv6")]
        IpAddr::V6(a) => Ok(IpAddress::Ipv6(a)),
        #[cfg(not(feature = "ipv6"))]
        IpAddr::V6(_) => Err(NO_IPV6),
    }
}

/// A socket address as a smoltcp endpoint (errors as [`to_net_ip`]).
pub(crate) fn to_net_endpoint(addr: SocketAddr) -> Result<IpEndpoint, Error> {
    Ok(IpEndpoint::new(to_net_ip(addr.ip())?, addr.port()))
}

/// A socket address as a smoltcp listen endpoint: an unspecified address listens on every
/// address of the interface (errors as [`to_net_ip`]).
pub(crate) fn to_listen_endpoint(addr: SocketAddr) -> Result<IpListenEndpoint, Error> {
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
