//! The host's values of the socket constants named in [`portsock_core::table::consts`].
//!
//! The core's tables carry Linux's numbers, so firmware can print them without a libc; a program
//! that hands a number to this host's kernel must use the host's own, which this module reads
//! from `libc`.

use portsock_core::table::consts::Constant;

/// This host's value of the constant called `name` (`"AF_INET6"`, `"SOCK_DGRAM"`, ...), or `None`
/// when this platform's libc has no such constant.
pub fn host_value(name: &str) -> Option<i32> {
    let v = match name {
        "AF_UNSPEC" => libc::AF_UNSPEC,
        "AF_UNIX" => libc::AF_UNIX,
        "AF_LOCAL" => libc::AF_LOCAL,
        "AF_INET" => libc::AF_INET,
        "AF_INET6" => libc::AF_INET6,
        "AF_NETLINK" => libc::AF_NETLINK,
        "AF_ROUTE" => libc::AF_NETLINK,
        "AF_PACKET" => libc::AF_PACKET,
        "AF_BLUETOOTH" => libc::AF_BLUETOOTH,
        "AF_CAN" => libc::AF_CAN,
        "AF_TIPC" => libc::AF_TIPC,
        "AF_VSOCK" => libc::AF_VSOCK,
        "AF_ALG" => libc::AF_ALG,
        "AF_APPLETALK" => libc::AF_APPLETALK,
        "AF_IPX" => libc::AF_IPX,
        "AF_X25" => libc::AF_X25,
        "AF_IRDA" => libc::AF_IRDA,
        "AF_KEY" => libc::AF_KEY,
        "AF_LLC" => libc::AF_LLC,
        "AF_NETROM" => libc::AF_NETROM,
        "AF_PPPOX" => libc::AF_PPPOX,
        "AF_RDS" => libc::AF_RDS,
        "AF_SNA" => libc::AF_SNA,
        "AF_WANPIPE" => libc::AF_WANPIPE,
        "AF_ROSE" => libc::AF_ROSE,
        "AF_AX25" => libc::AF_AX25,
        "AF_ATMPVC" => libc::AF_ATMPVC,
        "AF_ATMSVC" => libc::AF_ATMSVC,
        "AF_BRIDGE" => libc::AF_BRIDGE,
        "AF_NETBEUI" => libc::AF_NETBEUI,
        "AF_SECURITY" => libc::AF_SECURITY,
        "AF_ECONET" => libc::AF_ECONET,
        "SOCK_STREAM" => libc::SOCK_STREAM,
        "SOCK_DGRAM" => libc::SOCK_DGRAM,
        "SOCK_RAW" => libc::SOCK_RAW,
        "SOCK_RDM" => libc::SOCK_RDM,
        "SOCK_SEQPACKET" => libc::SOCK_SEQPACKET,
        "SOCK_NONBLOCK" => libc::SOCK_NONBLOCK,
        "SOCK_CLOEXEC" => libc::SOCK_CLOEXEC,
        "IPPROTO_IP" => libc::IPPROTO_IP,
        "IPPROTO_HOPOPTS" => libc::IPPROTO_HOPOPTS,
        "IPPROTO_ICMP" => libc::IPPROTO_ICMP,
        "IPPROTO_IGMP" => libc::IPPROTO_IGMP,
        "IPPROTO_IPIP" => libc::IPPROTO_IPIP,
        "IPPROTO_TCP" => libc::IPPROTO_TCP,
        "IPPROTO_EGP" => libc::IPPROTO_EGP,
        "IPPROTO_PUP" => libc::IPPROTO_PUP,
        "IPPROTO_UDP" => libc::IPPROTO_UDP,
        "IPPROTO_IDP" => libc::IPPROTO_IDP,
        "IPPROTO_TP" => libc::IPPROTO_TP,
        "IPPROTO_IPV6" => libc::IPPROTO_IPV6,
        "IPPROTO_ROUTING" => libc::IPPROTO_ROUTING,
        "IPPROTO_FRAGMENT" => libc::IPPROTO_FRAGMENT,
        "IPPROTO_RSVP" => libc::IPPROTO_RSVP,
        "IPPROTO_GRE" => libc::IPPROTO_GRE,
        "IPPROTO_ESP" => libc::IPPROTO_ESP,
        "IPPROTO_AH" => libc::IPPROTO_AH,
        "IPPROTO_ICMPV6" => libc::IPPROTO_ICMPV6,
        "IPPROTO_NONE" => libc::IPPROTO_NONE,
        "IPPROTO_DSTOPTS" => libc::IPPROTO_DSTOPTS,
        "IPPROTO_PIM" => libc::IPPROTO_PIM,
        "IPPROTO_SCTP" => libc::IPPROTO_SCTP,
        "IPPROTO_UDPLITE" => libc::IPPROTO_UDPLITE,
        "IPPROTO_MPTCP" => libc::IPPROTO_MPTCP,
        "IPPROTO_RAW" => libc::IPPROTO_RAW,
        "IPPROTO_MPLS" => libc::IPPROTO_MPLS,
        "IPPROTO_ETHERNET" => libc::IPPROTO_ETHERNET,
        "IPPROTO_BEETPH" => libc::IPPROTO_BEETPH,
        "IPPROTO_COMP" => libc::IPPROTO_COMP,
        "IPPROTO_DCCP" => libc::IPPROTO_DCCP,
        "IPPROTO_ENCAP" => libc::IPPROTO_ENCAP,
        "IPPROTO_MTP" => libc::IPPROTO_MTP,
        // Not in the `libc` crate for glibc targets (only musl/hexagon has AF_QIPCRTR).
        "AF_QIPCRTR" | "IPPROTO_TCP_ULP" | "IPPROTO_MAX" => return None,
        _ => return None,
    };
    Some(v)
}

/// `constant` with its value replaced by this host's, when the host's libc knows it.
pub fn on_host(constant: Constant) -> Constant {
    Constant {
        value: host_value(constant.name).unwrap_or(constant.value),
        ..constant
    }
}

/// The name the chapter's `get_constants(prefix)` gives `value` on this host: among the names in
/// `table` whose host value is `value`, the last one alphabetically (Python builds a dict from
/// `dir(socket)`, so a later name overwrites an earlier one with the same value). `None` when
/// no name has this value, where the chapter's program would raise `KeyError`.
///
/// ```
/// use portsock_core::table::consts::{AF, IPPROTO};
/// use portsock_std::consts::name_on_host;
///
/// assert_eq!(name_on_host(AF, libc::AF_INET6), Some("AF_INET6"));
/// assert_eq!(name_on_host(IPPROTO, 0), Some("IPPROTO_IP"));
/// assert_eq!(name_on_host(IPPROTO, 3), None);
/// ```
pub fn name_on_host(table: &[Constant], value: i32) -> Option<&'static str> {
    // The core's tables are sorted by name, so the last match is the last name.
    table
        .iter()
        .rev()
        .find(|c| on_host(**c).value == value)
        .map(|c| c.name)
}

/// The chapter's `get_constants(prefix)`: every constant whose name starts with `prefix`
/// (`"AF_"`, `"SOCK_"`, `"IPPROTO_"`), value -> name, with this host's values and the name
/// [`name_on_host`] picks when several share a value.
///
/// ```
/// use portsock_std::consts::get_constants;
///
/// let protocols = get_constants("IPPROTO_");
/// assert_eq!(protocols.get(&17), Some(&"IPPROTO_UDP"));
/// assert!(get_constants("NOPE_").is_empty());
/// ```
pub fn get_constants(prefix: &str) -> std::collections::BTreeMap<i32, &'static str> {
    let mut named: Vec<Constant> = portsock_core::table::consts::ALL
        .iter()
        .flat_map(|table| table.iter())
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| on_host(*c))
        .collect();
    named.sort_by_key(|c| c.name);
    // Later (alphabetically greater) names overwrite earlier ones, as in the dict comprehension.
    named.into_iter().map(|c| (c.value, c.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_host_agrees_with_the_core_table() {
        // On Linux the built-in (Linux) numbers and libc's must be the same.
        for table in [
            portsock_core::table::consts::AF,
            portsock_core::table::consts::SOCK,
            portsock_core::table::consts::IPPROTO,
        ] {
            for c in table {
                if let Some(v) = host_value(c.name) {
                    assert_eq!(v, c.value, "{}", c.name);
                }
            }
        }
    }
}
