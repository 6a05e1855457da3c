//! `getaddrinfo(3)` as Python's `socket.getaddrinfo` calls it, through `dns-lookup`.

use std::fmt;
use std::net::SocketAddr;
use std::ops::{BitOr, BitOrAssign};

use portsock_core::table::consts::{AF, IPPROTO, SOCK};

use super::error::{ErrorOrigin, ResolveError};
use super::text;
use crate::consts::name_on_host;
use crate::sys::netdb;

/// The `ai_flags` of a [`getaddrinfo`](super::getaddrinfo) call (`AI_*`, this host's values).
///
/// ```
/// use portsock_std::lookup::AiFlags;
///
/// let flags = AiFlags::CANONNAME | AiFlags::ADDRCONFIG;
/// assert!(flags.contains(AiFlags::CANONNAME));
/// assert_eq!(flags.names(), ["AI_ADDRCONFIG", "AI_CANONNAME"]);
/// assert_eq!(AiFlags::by_name("AI_PASSIVE"), Some(AiFlags::PASSIVE));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AiFlags(i32);

impl AiFlags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// `AI_PASSIVE`: with no host, the wildcard address (to bind) instead of the loopback.
    pub const PASSIVE: Self = Self(libc::AI_PASSIVE);
    /// `AI_CANONNAME`: put the canonical name in the first result's `canonname`.
    pub const CANONNAME: Self = Self(libc::AI_CANONNAME);
    /// `AI_NUMERICHOST`: the host must be an address literal; never ask a resolver.
    pub const NUMERICHOST: Self = Self(libc::AI_NUMERICHOST);
    /// `AI_V4MAPPED`: with `AF_INET6` and no IPv6 address, IPv4-mapped ones.
    pub const V4MAPPED: Self = Self(libc::AI_V4MAPPED);
    /// `AI_ALL`: with `AI_V4MAPPED`, the mapped IPv4 addresses as well as the IPv6 ones.
    pub const ALL: Self = Self(libc::AI_ALL);
    /// `AI_ADDRCONFIG`: only families this host has a (non-loopback) address of.
    pub const ADDRCONFIG: Self = Self(libc::AI_ADDRCONFIG);
    /// `AI_NUMERICSERV`: the service must be a port number; never read `/etc/services`.
    pub const NUMERICSERV: Self = Self(libc::AI_NUMERICSERV);

    /// Every named flag, sorted by name as Python's `dir(socket)` lists them.
    pub const ALL_NAMED: [(&'static str, Self); 7] = [
        ("AI_ADDRCONFIG", Self::ADDRCONFIG),
        ("AI_ALL", Self::ALL),
        ("AI_CANONNAME", Self::CANONNAME),
        ("AI_NUMERICHOST", Self::NUMERICHOST),
        ("AI_NUMERICSERV", Self::NUMERICSERV),
        ("AI_PASSIVE", Self::PASSIVE),
        ("AI_V4MAPPED", Self::V4MAPPED),
    ];

    /// Flags from their C value (any bits, as Python passes them; glibc refuses unknown ones
    /// with `EAI_BADFLAGS`).
    pub const fn from_bits(bits: i32) -> Self {
        Self(bits)
    }

    /// The C value.
    pub const fn bits(self) -> i32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flag called `name` (`AI_CANONNAME`), if it is one of [`ALL_NAMED`](Self::ALL_NAMED).
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL_NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The names of the set flags, in [`ALL_NAMED`](Self::ALL_NAMED) order.
    pub fn names(self) -> Vec<&'static str> {
        Self::ALL_NAMED
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(n, _)| *n)
            .collect()
    }
}

impl BitOr for AiFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for AiFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// What to ask [`getaddrinfo`](super::getaddrinfo) for: Python's `family`, `type`, `proto`
/// and `flags` arguments, 0 meaning "any" for the first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hints {
    /// `AF_INET`, `AF_INET6` or 0 (`AF_UNSPEC`).
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW` or 0.
    pub socktype: i32,
    /// `IPPROTO_TCP`, `IPPROTO_UDP`, ... or 0.
    pub protocol: i32,
    /// `AI_*` flags.
    pub flags: AiFlags,
}

/// One result of [`getaddrinfo`](super::getaddrinfo): Python's `(family, type, proto,
/// canonname, sockaddr)` tuple.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddrInfo {
    /// The address family (`AF_INET` = 2, `AF_INET6` = 10 on Linux).
    pub family: i32,
    /// The socket type (`SOCK_STREAM` = 1, ...).
    pub socktype: i32,
    /// The protocol (`IPPROTO_TCP` = 6, ...; 0 for `SOCK_RAW`).
    pub protocol: i32,
    /// The canonical name: set only on the first result and only with
    /// [`AiFlags::CANONNAME`]; empty otherwise, as in Python.
    pub canonname: String,
    /// The address and port (and, for IPv6, flow label and scope).
    pub sockaddr: SocketAddr,
}

impl AddrInfo {
    /// The family's name as the chapter's `get_constants('AF_')` gives it (`AF_INET`).
    pub fn family_name(&self) -> Option<&'static str> {
        name_on_host(AF, self.family)
    }

    /// The socket type's name (`SOCK_STREAM`).
    pub fn socktype_name(&self) -> Option<&'static str> {
        name_on_host(SOCK, self.socktype)
    }

    /// The protocol's name (`IPPROTO_TCP`; `IPPROTO_IP` for 0).
    pub fn protocol_name(&self) -> Option<&'static str> {
        name_on_host(IPPROTO, self.protocol)
    }

    /// The socket address as Python prints the tuple: `('151.101.32.223', 80)`.
    pub fn sockaddr_repr(&self) -> String {
        text::sockaddr_repr(&self.sockaddr)
    }
}

impl fmt::Display for AddrInfo {
    /// The chapter's five lines (without the blank line after them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_number = |name: Option<&str>, n: i32| name.map_or(n.to_string(), str::to_owned);
        writeln!(
            f,
            "Family        : {}",
            or_number(self.family_name(), self.family)
        )?;
        writeln!(
            f,
            "Type          : {}",
            or_number(self.socktype_name(), self.socktype)
        )?;
        writeln!(
            f,
            "Protocol      : {}",
            or_number(self.protocol_name(), self.protocol)
        )?;
        writeln!(f, "Canonical name: {}", self.canonname)?;
        write!(f, "Socket address: {}", self.sockaddr_repr())
    }
}

/// `getaddrinfo(host, service, hints)`; see [`super::getaddrinfo`].
pub(super) fn getaddrinfo(
    host: Option<&str>,
    service: Option<&str>,
    hints: Hints,
) -> Result<Vec<AddrInfo>, ResolveError> {
    let input = describe(host, service);
    if host.is_none() && service.is_none() {
        // dns-lookup refuses this before calling C; glibc (and so Python) answers EAI_NONAME.
        return Err(gai_error(libc::EAI_NONAME, &input));
    }
    for text in [host, service].into_iter().flatten() {
        if text.contains('\0') {
            return Err(ResolveError::new(
                ErrorOrigin::Input,
                None,
                "embedded null character",
                &input,
            ));
        }
    }
    let c_hints = dns_lookup::AddrInfoHints {
        flags: hints.flags.bits(),
        address: hints.family,
        socktype: hints.socktype,
        protocol: hints.protocol,
    };
    let results = dns_lookup::getaddrinfo(host, service, Some(c_hints)).map_err(|e| {
        let code = e.error_num();
        let io: std::io::Error = e.into();
        match (code, io.raw_os_error()) {
            (libc::EAI_SYSTEM, Some(errno)) => os_error(errno, &input),
            // Not a resolver code: dns-lookup itself failed (it reports 0).
            (0, _) => ResolveError::new(ErrorOrigin::Lookup, None, io.to_string(), &input),
            (code, _) => gai_error(code, &input),
        }
    })?;
    // dns-lookup panics while converting a canonical name that is not UTF-8 (only a non-UTF-8
    // /etc/hosts can produce one); turn that into an error instead of taking the caller down.
    let collected = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        results
            .map(|r| {
                let r = r.map_err(|e| {
                    ResolveError::new(ErrorOrigin::Lookup, None, e.to_string(), &input)
                })?;
                Ok(AddrInfo {
                    family: r.address,
                    socktype: r.socktype,
                    protocol: r.protocol,
                    canonname: r.canonname.unwrap_or_default(),
                    sockaddr: r.sockaddr,
                })
            })
            .collect()
    }));
    collected.unwrap_or_else(|_| {
        Err(ResolveError::new(
            ErrorOrigin::Lookup,
            None,
            "the resolver returned a canonical name that is not valid UTF-8",
            &input,
        ))
    })
}

/// A `gaierror` with glibc's message for `code`.
pub(super) fn gai_error(code: i32, input: &str) -> ResolveError {
    ResolveError::new(
        ErrorOrigin::Gai,
        Some(code),
        netdb::gai_message(code),
        input,
    )
}

/// An `OSError` with `errno` and its `strerror` text.
pub(super) fn os_error(errno: i32, input: &str) -> ResolveError {
    ResolveError::new(
        ErrorOrigin::Os,
        Some(errno),
        super::error::strerror(errno),
        input,
    )
}

/// `host:service` for error messages, with `-` for a missing part.
fn describe(host: Option<&str>, service: Option<&str>) -> String {
    let host = host.unwrap_or("-");
    let service = service.unwrap_or("-");
    if host.contains(':') {
        format!("[{host}]:{service}")
    } else {
        format!("{host}:{service}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_by_name_and_back() {
        for (name, flag) in AiFlags::ALL_NAMED {
            assert_eq!(AiFlags::by_name(name), Some(flag));
            assert_eq!(flag.names(), [name]);
        }
        assert_eq!(AiFlags::by_name("AI_NOPE"), None);
        assert!(AiFlags::NONE.names().is_empty());
        let mut f = AiFlags::PASSIVE;
        f |= AiFlags::NUMERICSERV;
        assert_eq!(f.bits(), libc::AI_PASSIVE | libc::AI_NUMERICSERV);
        assert!(f.contains(AiFlags::PASSIVE) && !f.contains(AiFlags::CANONNAME));
    }

    #[test]
    fn numeric_lookups_with_every_hint() {
        let hints = Hints {
            family: libc::AF_INET,
            socktype: libc::SOCK_STREAM,
            protocol: libc::IPPROTO_TCP,
            flags: AiFlags::NUMERICHOST | AiFlags::NUMERICSERV,
        };
        let res = getaddrinfo(Some("127.0.0.1"), Some("80"), hints).unwrap();
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].family_name(), Some("AF_INET"));
        assert_eq!(res[0].socktype_name(), Some("SOCK_STREAM"));
        assert_eq!(res[0].protocol_name(), Some("IPPROTO_TCP"));
        assert_eq!(res[0].sockaddr_repr(), "('127.0.0.1', 80)");
        assert_eq!(
            res[0].to_string(),
            "Family        : AF_INET\nType          : SOCK_STREAM\nProtocol      : IPPROTO_TCP\n\
             Canonical name: \nSocket address: ('127.0.0.1', 80)"
        );
    }

    #[test]
    fn resolver_codes_come_back() {
        let numeric = Hints {
            flags: AiFlags::NUMERICHOST,
            ..Hints::default()
        };
        let err = getaddrinfo(Some("not-an-address"), Some("80"), numeric).unwrap_err();
        assert_eq!(err.origin(), ErrorOrigin::Gai);
        assert_eq!(err.code(), Some(libc::EAI_NONAME));
        assert_eq!(err.python_str(), "[Errno -2] Name or service not known");
        assert_eq!(err.input(), "not-an-address:80");
        let err = getaddrinfo(None, None, Hints::default()).unwrap_err();
        assert_eq!(err.code(), Some(libc::EAI_NONAME));
        let family = Hints {
            family: 99,
            ..Hints::default()
        };
        let err = getaddrinfo(Some("127.0.0.1"), Some("80"), family).unwrap_err();
        assert_eq!(err.python_str(), "[Errno -6] ai_family not supported");
        let err = getaddrinfo(Some("a\0b"), None, Hints::default()).unwrap_err();
        assert_eq!(err.origin(), ErrorOrigin::Input);
    }
}
