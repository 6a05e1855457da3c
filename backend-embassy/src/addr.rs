//! Addresses: `core::net` (portsock's) to and from smoltcp's endpoints (embassy-net's).

use core::net::{IpAddr, SocketAddr};

use embassy_net::{IpAddress, IpEndpoint, IpListenEndpoint};

use crate::Error;

/// portsock's address of an embassy-net endpoint.
pub(crate) fn socket_addr(endpoint: IpEndpoint) -> SocketAddr {
    SocketAddr::new(ip_addr(endpoint.addr), endpoint.port)
}

/// portsock's address of a smoltcp address.
pub(crate) fn ip_addr(addr: IpAddress) -> IpAddr {
    match addr {
        IpAddress::Ipv4(a) => IpAddr::V4(a),
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(a) => IpAddr::V6(a),
    }
}

/// smoltcp's address of a portsock one.
///
/// # Errors
///
/// [`Error::Unsupported`] for an IPv6 address without the `ipv6` feature.
pub(crate) fn ip_address(addr: IpAddr) -> Result<IpAddress, Error> {
    match addr {
        IpAddr::V4(a) => Ok(IpAddress::Ipv4(a)),
        #[cfg(feature = "ipv6")]
        IpAddr::V6(a) => Ok(IpAddress::Ipv6(a)),
        #[cfg(not(feature = "ipv6"))]
        IpAddr::V6(_) => Err(Error::Unsupported(
            "IPv6 addresses (portsock-embassy's `ipv6` feature is off)",
        )),
    }
}

/// The endpoint to connect or send to.
pub(crate) fn endpoint(addr: SocketAddr) -> Result<IpEndpoint, Error> {
    Ok(IpEndpoint::new(ip_address(addr.ip())?, addr.port()))
}

/// The endpoint to listen or bind on: an unspecified address listens on every address.
pub(crate) fn listen_endpoint(addr: SocketAddr) -> Result<IpListenEndpoint, Error> {
    let ip = if addr.ip().is_unspecified() {
        None
    } else {
        Some(ip_address(addr.ip())?)
    };
    Ok(IpListenEndpoint {
        addr: ip,
        port: addr.port(),
    })
}
