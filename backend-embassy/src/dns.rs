//! Name lookups through the stack's DNS socket (feature `dns`).

use core::net::IpAddr;

use embassy_net::Stack;
use embassy_net::dns::{self, DnsQueryType};

use crate::Error;
use crate::addr::ip_addr;

/// Which address family a lookup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Family {
    /// An A record.
    V4,
    /// An AAAA record.
    #[cfg(feature = "ipv6")]
    V6,
}

/// The first address of `name` in `family`, from the DNS servers of the stack's configuration
/// (an address literal is returned as it is, without a query).
///
/// smoltcp retries and gives up by itself (then [`Error::NotFound`]); wrap it in a timer to
/// wait less. Cancel-safe: a dropped lookup cancels its query.
///
/// # Errors
///
/// [`Error::InvalidName`] for a name the resolver refuses (empty, too long); [`Error::NotFound`]
/// when no address came back or the lookup failed.
pub async fn resolve(stack: Stack<'_>, name: &str, family: Family) -> Result<IpAddr, Error> {
    let qtype = match family {
        Family::V4 => DnsQueryType::A,
        #[cfg(feature = "ipv6")]
        Family::V6 => DnsQueryType::Aaaa,
    };
    let addrs = stack.dns_query(name, qtype).await.map_err(|e| match e {
        dns::Error::InvalidName | dns::Error::NameTooLong => Error::InvalidName,
        dns::Error::Failed => Error::NotFound,
    })?;
    addrs.first().copied().map(ip_addr).ok_or(Error::NotFound)
}
