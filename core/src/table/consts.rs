//! Socket constants with their names both ways, with the values CPython's `socket` module has
//! on Linux (x86_64, CPython 3.11): address families (`AF_*`), socket types (`SOCK_*`) and IP
//! protocol numbers (`IPPROTO_*`).
//!
//! Each table lists exactly the names `dir(socket)` shows for its prefix, in the same
//! (alphabetical) order. Several names may share a value (`AF_NETLINK` and `AF_ROUTE` are both
//! 16; `IPPROTO_HOPOPTS` and `IPPROTO_IP` are both 0). [`name_of`] then gives the name the
//! chapter's `get_constants(prefix)` prints, which is the *last* one alphabetically, because
//! it builds `{getattr(socket, n): n for n in dir(socket) if n.startswith(prefix)}`.
//!
//! ```
//! use portsock_core::table::consts::{self, AF, IPPROTO, SOCK};
//!
//! assert_eq!(consts::by_name("AF_INET6").map(|c| c.value), Some(10));
//! assert_eq!(consts::name_of(AF, 16), Some("AF_ROUTE")); // not AF_NETLINK
//! assert_eq!(consts::name_of(SOCK, 1), Some("SOCK_STREAM"));
//! assert_eq!(consts::name_of(IPPROTO, 0), Some("IPPROTO_IP")); // not IPPROTO_HOPOPTS
//! assert_eq!(consts::name_of(AF, 99), None);
//! ```

/// One named constant: `AF_INET` = 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Constant {
    /// The name as Python spells it (`AF_DECnet` keeps its lowercase).
    pub name: &'static str,
    /// The value on Linux.
    pub value: i32,
}

/// Address families, `AF_*`, sorted by name.
pub static AF: &[Constant] = &[
    c("AF_ALG", 38),
    c("AF_APPLETALK", 5),
    c("AF_ASH", 18),
    c("AF_ATMPVC", 8),
    c("AF_ATMSVC", 20),
    c("AF_AX25", 3),
    c("AF_BRIDGE", 7),
    c("AF_CAN", 29),
    c("AF_DECnet", 12),
    c("AF_ECONET", 19),
    c("AF_INET", 2),
    c("AF_INET6", 10),
    c("AF_IPX", 4),
    c("AF_IRDA", 23),
    c("AF_KEY", 15),
    c("AF_LLC", 26),
    c("AF_NETBEUI", 13),
    c("AF_NETLINK", 16),
    c("AF_NETROM", 6),
    c("AF_PACKET", 17),
    c("AF_PPPOX", 24),
    c("AF_QIPCRTR", 42),
    c("AF_RDS", 21),
    c("AF_ROSE", 11),
    c("AF_ROUTE", 16),
    c("AF_SECURITY", 14),
    c("AF_SNA", 22),
    c("AF_TIPC", 30),
    c("AF_UNIX", 1),
    c("AF_UNSPEC", 0),
    c("AF_VSOCK", 40),
    c("AF_WANPIPE", 25),
    c("AF_X25", 9),
];

/// Socket types and the two type flags (`SOCK_CLOEXEC`, `SOCK_NONBLOCK`), `SOCK_*`, sorted by
/// name.
pub static SOCK: &[Constant] = &[
    c("SOCK_CLOEXEC", 0o2_000_000),
    c("SOCK_DGRAM", 2),
    c("SOCK_NONBLOCK", 0o4000),
    c("SOCK_RAW", 3),
    c("SOCK_RDM", 4),
    c("SOCK_SEQPACKET", 5),
    c("SOCK_STREAM", 1),
];

/// IP protocol numbers, `IPPROTO_*`, sorted by name.
pub static IPPROTO: &[Constant] = &[
    c("IPPROTO_AH", 51),
    c("IPPROTO_DSTOPTS", 60),
    c("IPPROTO_EGP", 8),
    c("IPPROTO_ESP", 50),
    c("IPPROTO_FRAGMENT", 44),
    c("IPPROTO_GRE", 47),
    c("IPPROTO_HOPOPTS", 0),
    c("IPPROTO_ICMP", 1),
    c("IPPROTO_ICMPV6", 58),
    c("IPPROTO_IDP", 22),
    c("IPPROTO_IGMP", 2),
    c("IPPROTO_IP", 0),
    c("IPPROTO_IPIP", 4),
    c("IPPROTO_IPV6", 41),
    c("IPPROTO_MPTCP", 262),
    c("IPPROTO_NONE", 59),
    c("IPPROTO_PIM", 103),
    c("IPPROTO_PUP", 12),
    c("IPPROTO_RAW", 255),
    c("IPPROTO_ROUTING", 43),
    c("IPPROTO_RSVP", 46),
    c("IPPROTO_SCTP", 132),
    c("IPPROTO_TCP", 6),
    c("IPPROTO_TP", 29),
    c("IPPROTO_UDP", 17),
    c("IPPROTO_UDPLITE", 136),
];

/// Every table, for look-ups by name.
pub static ALL: &[&[Constant]] = &[AF, SOCK, IPPROTO];

/// Looks a constant up by its exact (case-sensitive) name in [`AF`], [`SOCK`] and [`IPPROTO`].
///
/// ```
/// use portsock_core::table::consts::by_name;
///
/// assert_eq!(by_name("SOCK_DGRAM").map(|c| c.value), Some(2));
/// assert_eq!(by_name("sock_dgram"), None);
/// ```
#[must_use]
pub fn by_name(name: &str) -> Option<Constant> {
    // Each table is sorted by name, so a binary search per table is enough.
    ALL.iter().find_map(|table| {
        table
            .binary_search_by(|c| c.name.cmp(name))
            .ok()
            .and_then(|i| table.get(i))
            .copied()
    })
}

/// The name Python's `get_constants(prefix)` prints for `value`: among the names in `table`
/// that have this value, the last one in `table`'s (alphabetical) order. `None` when no name
/// has this value.
#[must_use]
pub fn name_of(table: &[Constant], value: i32) -> Option<&'static str> {
    table
        .iter()
        .rev()
        .find(|c| c.value == value)
        .map(|c| c.name)
}

const fn c(name: &'static str, value: i32) -> Constant {
    Constant { name, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_like_dir() {
        for table in ALL {
            for pair in table.windows(2) {
                assert!(
                    pair[0].name < pair[1].name,
                    "{} before {}",
                    pair[0].name,
                    pair[1].name
                );
            }
        }
    }

    #[test]
    fn names_carry_their_prefix() {
        for (table, prefix) in [(AF, "AF_"), (SOCK, "SOCK_"), (IPPROTO, "IPPROTO_")] {
            assert!(table.iter().all(|c| c.name.starts_with(prefix)), "{prefix}");
        }
    }

    #[test]
    fn lookups_both_ways() {
        assert_eq!(by_name("AF_INET"), Some(c("AF_INET", 2)));
        assert_eq!(by_name("AF_UNIX").map(|c| c.value), Some(1));
        assert_eq!(by_name("IPPROTO_UDP").map(|c| c.value), Some(17));
        assert_eq!(by_name("SOCK_CLOEXEC").map(|c| c.value), Some(0x8_0000));
        assert_eq!(by_name("AF_"), None);
        assert_eq!(by_name(""), None);
        assert_eq!(name_of(AF, 2), Some("AF_INET"));
        assert_eq!(name_of(AF, 16), Some("AF_ROUTE"));
        assert_eq!(name_of(IPPROTO, 0), Some("IPPROTO_IP"));
        assert_eq!(name_of(SOCK, 2), Some("SOCK_DGRAM"));
        assert_eq!(name_of(SOCK, -1), None);
    }

    #[test]
    fn every_name_round_trips() {
        for table in ALL {
            for constant in *table {
                assert_eq!(by_name(constant.name), Some(*constant));
                let shown = name_of(table, constant.value).unwrap();
                assert_eq!(by_name(shown).map(|c| c.value), Some(constant.value));
            }
        }
    }
}
