//! Name lookups through smoltcp's DNS socket: the backend's `gethostbyname`.

use core::net::IpAddr;

use portsock_core::time::Duration;
use smoltcp::phy::Device;
use smoltcp::socket::dns;
use smoltcp::wire::DnsQueryType;

use crate::error::DnsError;
use crate::platform::Platform;
use crate::stack::Stack;

/// At most this many addresses come back from one lookup (smoltcp's
/// `dns-max-result-count`, set to 4 by this crate).
pub const MAX_RESULTS: usize = 4;

/// Which records to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Family {
    /// `A` records (`gethostbyname`).
    V4,
    /// `AAAA` records.
    V6,
    /// `A`, then `AAAA` (`getaddrinfo` with `AF_UNSPEC`, IPv4 first as glibc sorts them on an
    /// IPv4-only link).
    Any,
}

impl<D: Device, P: Platform> Stack<'_, D, P> {
    /// Resolves `name` with the configured DNS servers ([`Config::with_dns_server`]) and the
    /// DNS socket given with [`Stack::add_dns_socket`], following CNAMEs, waiting at most
    /// `timeout`. An IP address literal comes back as it is, without a query.
    ///
    /// [`Config::with_dns_server`]: crate::Config::with_dns_server
    ///
    /// # Errors
    ///
    /// [`DnsError::NoServer`] (no DNS socket or server), [`DnsError::InvalidName`],
    /// [`DnsError::NotFound`] (NXDOMAIN, no record of that type, or every server failed),
    /// [`DnsError::Busy`], [`DnsError::TimedOut`].
    pub fn resolve(
        &self,
        name: &str,
        family: Family,
        timeout: Duration,
    ) -> Result<heapless::Vec<IpAddr, MAX_RESULTS>, DnsError> {
        let mut out = heapless::Vec::new();
        if let Ok(literal) = name.parse::<IpAddr>() {
            let _ = out.push(literal);
            return Ok(out);
        }
        let kinds: &[DnsQueryType] = match family {
            Family::V4 => &[DnsQueryType::A],
            Family::V6 => &[DnsQueryType::Aaaa],
            Family::Any => &[DnsQueryType::A, DnsQueryType::Aaaa],
        };
        let deadline = self.deadline_in(Some(timeout));
        let mut last = DnsError::NotFound;
        for kind in kinds {
            match self.query(name, *kind, deadline) {
                Ok(found) => {
                    for a in found {
                        if !out.contains(&a) {
                            let _ = out.push(a);
                        }
                    }
                }
                Err(e) => last = e,
            }
        }
        if out.is_empty() { Err(last) } else { Ok(out) }
    }

    fn query(
        &self,
        name: &str,
        kind: DnsQueryType,
        deadline: Option<smoltcp::time::Instant>,
    ) -> Result<heapless::Vec<IpAddr, MAX_RESULTS>, DnsError> {
        let query = {
            let mut guard = self.inner();
            let inner = &mut *guard;
            let handle = inner.dns.ok_or(DnsError::NoServer)?;
            if inner.dns_servers.is_empty() {
                return Err(DnsError::NoServer);
            }
            let socket = inner.sockets.get_mut::<dns::Socket>(handle);
            socket
                .start_query(inner.iface.context(), name, kind)
                .map_err(|e| match e {
                    dns::StartQueryError::NoFreeSlot => DnsError::Busy,
                    _ => DnsError::InvalidName,
                })?
        };
        let result = self.block(false, deadline, |inner| {
            let handle = inner.dns?;
            let socket = inner.sockets.get_mut::<dns::Socket>(handle);
            match socket.get_query_result(query) {
                Err(dns::GetQueryResultError::Pending) => None,
                Err(dns::GetQueryResultError::Failed) => Some(Err(DnsError::NotFound)),
                Ok(addrs) => {
                    let mut out = heapless::Vec::new();
                    for a in addrs {
                        let _ = out.push(IpAddr::from(a));
                    }
                    Some(Ok(out))
                }
            }
        });
        if result.is_err() {
            let mut guard = self.inner();
            let inner = &mut *guard;
            if let Some(handle) = inner.dns {
                // A finished query was freed by get_query_result; a pending one is cancelled.
                let socket = inner.sockets.get_mut::<dns::Socket>(handle);
                if matches!(result, Err(DnsError::TimedOut)) {
                    socket.cancel_query(query);
                }
            }
        }
        result
    }
}
