//! Names, services and protocols: every look-up of the chapter, answering what Python's `socket`
//! module answers on the same machine.
//!
//! | function | C call | Python |
//! |---|---|---|
//! | [`gethostname`] | `gethostname(2)` (dns-lookup) | `socket.gethostname()` |
//! | [`gethostbyname`] | `getaddrinfo(3)`, `AF_INET` | `socket.gethostbyname(name)` |
//! | [`gethostbyname_ex`] | `getaddrinfo(3)`, then `gethostbyname_r(3)` | `socket.gethostbyname_ex(name)` |
//! | [`gethostbyaddr`] | `getaddrinfo(3)`, then `gethostbyaddr_r(3)` | `socket.gethostbyaddr(ip)` |
//! | [`getfqdn`] | the two above | `socket.getfqdn(name)` |
//! | [`getservbyname`], [`getservbyport`] | `getserv*_r(3)`, else the core's table | `socket.getservbyname/port` |
//! | [`getprotobyname`] | `getprotobyname_r(3)`, else the core's table | `socket.getprotobyname(name)` |
//! | [`getaddrinfo`] | `getaddrinfo(3)` (dns-lookup) | `socket.getaddrinfo(...)` |
//!
//! Everything goes through glibc, so `/etc/nsswitch.conf`, `/etc/hosts`, `/etc/resolv.conf`
//! (search domains included) and `/etc/gai.conf` apply exactly as they do to Python.
//!
//! # Which calls, and why
//!
//! * **`dns-lookup`** (a small, maintained wrapper with no dependencies beyond libc and
//!   socket2) covers `getaddrinfo(3)` and `gethostname(2)`, so this crate has no FFI of its own
//!   for them. (Its one rough edge: it panics on a canonical name that is not UTF-8, which
//!   glibc's DNS code never returns, since it checks names with `res_hnok`; only a non-UTF-8
//!   `/etc/hosts` could cause it; `getaddrinfo` catches that panic and reports an error.)
//! * **The `_r` functions of `<netdb.h>`** for everything else, declared in the crate's `sys`
//!   module, the only place with `unsafe` code. Aliases exist only in `struct hostent`, which
//!   `getaddrinfo` never returns, so `gethostbyname_ex` must call `gethostbyname_r(3)`, as
//!   CPython does; it gives the whole CNAME chain as aliases
//!   (`www.python.org` → `['www.python.org', 'python.map.fastly.net']`), which
//!   `getaddrinfo` with `AI_CANONNAME` cannot (it gives the last name only). The `_r`
//!   variants keep their state in a buffer of the caller's instead of static storage, so these
//!   functions can be called from many threads; the plain `getservbyname(3)` cannot.
//!
//! Before its `gethostby*_r` call, each host function runs CPython's `setipaddr` steps (an
//! empty name is the wildcard address, `<broadcast>` is `255.255.255.255`, address literals
//! skip the resolver, anything else goes to `getaddrinfo`), so that the same input fails with
//! the same error: `gethostbyname_ex("nosuchname")` is a `gaierror` (`[Errno -2] Name or
//! service not known`), `gethostbyaddr("10.0.0.99")` with no PTR record an `herror`
//! (`[Errno 1] Unknown host`).
//!
//! Services and protocols come from the system (`/etc/services`, `/etc/protocols` or any other
//! NSS source) whenever the system has the database, even when it lacks the entry: then the
//! look-up fails, as in Python. Only when glibc cannot consult the database at all (no
//! `/etc/services`, as in a minimal container) do they come from the core's built-in copy of
//! Debian's netbase files ([`portsock_core::table`]).
//!
//! # Errors
//!
//! Every failure is an [`io::Error`] carrying a [`ResolveError`] with the resolver's code and
//! message and the input it failed on; [`ResolveError::python_str`] gives the text Python
//! prints.
//!
//! ```
//! use portsock_std::lookup::{self, ResolveError};
//!
//! assert_eq!(lookup::gethostbyname("127.0.0.1")?, std::net::Ipv4Addr::LOCALHOST);
//! assert_eq!(lookup::getservbyname("https", Some("tcp"))?, 443);
//! assert_eq!(lookup::getservbyport(25, None)?, "smtp");
//! assert_eq!(lookup::getprotobyname("udp")?, 17);
//! let err = lookup::getservbyname("no-such-service", None).unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//! assert_eq!(
//!     ResolveError::of(&err).map(|e| e.python_str()),
//!     Some("service/proto not found".to_owned())
//! );
//! # Ok::<(), std::io::Error>(())
//! ```

mod addrinfo;
mod error;
pub mod text;

use std::ffi::CString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portsock_core::table::{protocols, services};
use portsock_core::wire::inet::{inet_pton4, inet_pton6};

pub use addrinfo::{AddrInfo, AiFlags, Hints};
pub use error::{ErrorOrigin, ResolveError};

use crate::sys::netdb::{self, HostFailure, NssAnswer};

/// A host entry: Python's `(hostname, aliaslist, ipaddrlist)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostEntry {
    /// The official (canonical) name.
    pub name: String,
    /// Other names: the hosts-file aliases, or the CNAMEs that led to `name`.
    pub aliases: Vec<String>,
    /// Every address, in the resolver's order.
    pub addresses: Vec<IpAddr>,
}

/// This host's name, `gethostname(2)`, as `socket.gethostname()`.
///
/// # Errors
///
/// The system error, or `InvalidData` if the name is not UTF-8.
pub fn gethostname() -> io::Result<String> {
    dns_lookup::get_hostname()
}

/// The IPv4 address of `name`, as `socket.gethostbyname(name)`: an IPv4 literal is itself,
/// `""` is `0.0.0.0`, `"<broadcast>"` is `255.255.255.255`, anything else the first IPv4
/// address `getaddrinfo(3)` gives.
///
/// # Errors
///
/// A [`ResolveError`]: a `gaierror` from the resolver (`EAI_NONAME` for an unknown name,
/// `EAI_NODATA` for a name with IPv6 addresses only, `EAI_FAMILY` for an IPv6 literal).
pub fn gethostbyname(name: &str) -> io::Result<Ipv4Addr> {
    match setipaddr(name, libc::AF_INET)? {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(addrinfo::gai_error(libc::EAI_FAMILY, name).into()),
    }
}

/// The canonical name, aliases and every IPv4 address of `name`, as
/// `socket.gethostbyname_ex(name)`. For a name reached through CNAME records, the aliases are
/// the chain (`www.python.org`, `python.map.fastly.net`) and `name` is where it ends.
///
/// # Errors
///
/// As [`gethostbyname`] first; then an `herror` with `h_errno` if `gethostbyname_r(3)` finds
/// nothing (`[Errno 3] Unknown server error` for `""`, as in Python).
pub fn gethostbyname_ex(name: &str) -> io::Result<HostEntry> {
    setipaddr(name, libc::AF_INET)?;
    let c_name = c_string(name)?;
    let ent = netdb::host_by_name(&c_name).map_err(|e| host_failure(e, name))?;
    host_entry(ent, libc::AF_INET, name)
}

/// The reverse look-up of `ip_or_name` (an address literal, or a name whose first address is
/// used), as `socket.gethostbyaddr(...)`: the name, aliases and addresses of the host entry
/// `gethostbyaddr_r(3)` finds (`/etc/hosts` or a PTR record).
///
/// # Errors
///
/// A `gaierror` if a name does not resolve; an `herror` (`[Errno 1] Unknown host`) if the
/// address has no name; `OSError("wildcard resolved to multiple address")` for `""`.
pub fn gethostbyaddr(ip_or_name: &str) -> io::Result<HostEntry> {
    let ip = setipaddr(ip_or_name, libc::AF_UNSPEC)?;
    let (octets, family) = match ip {
        IpAddr::V4(v4) => (v4.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(v6) => (v6.octets().to_vec(), libc::AF_INET6),
    };
    let ent = netdb::host_by_addr(&octets, family).map_err(|e| host_failure(e, ip_or_name))?;
    host_entry(ent, family, ip_or_name)
}

/// The fully qualified name of `name`, by Python's exact rule (`socket.getfqdn`): `name` is
/// stripped of surrounding whitespace; `""`, `"0.0.0.0"` and `"::"` mean [`gethostname`].
/// Then, if [`gethostbyaddr`] succeeds, the first of its name and aliases that contains a dot,
/// or its name if none does; if it fails, the name itself.
///
/// # Errors
///
/// Only when `name` is empty and [`gethostname`] fails; look-up failures give `name` back.
pub fn getfqdn(name: &str) -> io::Result<String> {
    let mut name = name.trim().to_owned();
    if name.is_empty() || name == "0.0.0.0" || name == "::" {
        name = gethostname()?;
    }
    let Ok(entry) = gethostbyaddr(&name) else {
        return Ok(name);
    };
    let dotted = std::iter::once(&entry.name)
        .chain(&entry.aliases)
        .find(|n| n.contains('.'));
    Ok(dotted.unwrap_or(&entry.name).clone())
}

/// The port of service `name` (or an alias) for protocol `proto` (any when `None`), as
/// `socket.getservbyname(name, proto)`. Names and protocols are case-sensitive.
///
/// # Errors
///
/// `OSError("service/proto not found")` (kind `NotFound`).
pub fn getservbyname(name: &str, proto: Option<&str>) -> io::Result<u16> {
    let input = with_proto(name, proto);
    let c_name = c_string(name)?;
    let c_proto = proto.map(c_string).transpose()?;
    let system = netdb::serv_by_name(&c_name, c_proto.as_deref());
    let builtin = || services::getservbyname(name, proto).map(|s| s.port);
    from_system_or_builtin(system, |s| s.port, builtin)
        .ok_or_else(|| not_found("service/proto not found", &input))
}

/// The name of the service on `port` for protocol `proto` (any when `None`), as
/// `socket.getservbyport(port, proto)`; the first line of the database that matches wins.
/// (Python's `OverflowError` for ports outside 0-65535 is the `u16` type here.)
///
/// # Errors
///
/// `OSError("port/proto not found")` (kind `NotFound`).
pub fn getservbyport(port: u16, proto: Option<&str>) -> io::Result<String> {
    let input = with_proto(&port.to_string(), proto);
    let c_proto = proto.map(c_string).transpose()?;
    let system = netdb::serv_by_port(port, c_proto.as_deref());
    let builtin = || services::getservbyport(port, proto).map(|s| s.name.to_owned());
    from_system_or_builtin(
        system,
        |s| String::from_utf8_lossy(&s.name).into_owned(),
        builtin,
    )
    .ok_or_else(|| not_found("port/proto not found", &input))
}

/// The number of protocol `name` (or an alias: `TCP`), as `socket.getprotobyname(name)`.
///
/// # Errors
///
/// `OSError("protocol not found")` (kind `NotFound`).
pub fn getprotobyname(name: &str) -> io::Result<i32> {
    let c_name = c_string(name)?;
    let system = netdb::proto_by_name(&c_name);
    let builtin = || protocols::getprotobyname(name).map(|p| i32::from(p.number));
    from_system_or_builtin(system, |p| p.number, builtin)
        .ok_or_else(|| not_found("protocol not found", name))
}

/// Every way to reach `service` on `host`, as `socket.getaddrinfo(host, port, family, type,
/// proto, flags)`: one [`AddrInfo`] per address and socket type, in the order of
/// `/etc/gai.conf` (RFC 6724). `host` is a name or an address literal (`None`: the loopback,
/// or the wildcard with [`AiFlags::PASSIVE`]); `service` a service name or a port number as
/// text (Python's int port is its decimal text), `None` for port 0.
///
/// ```
/// use portsock_std::lookup::{getaddrinfo, AiFlags, Hints};
///
/// let hints = Hints { socktype: libc::SOCK_STREAM, flags: AiFlags::NUMERICHOST, ..Hints::default() };
/// let found = getaddrinfo(Some("::1"), Some("http"), hints)?;
/// assert_eq!(found[0].family_name(), Some("AF_INET6"));
/// assert_eq!(found[0].sockaddr_repr(), "('::1', 80, 0, 0)");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// A `gaierror` with glibc's code: `EAI_NONAME` (unknown name or service), `EAI_SERVICE`
/// (service not known for the socket type), `EAI_NODATA`, `EAI_FAMILY`, `EAI_SOCKTYPE`,
/// `EAI_BADFLAGS`, `EAI_AGAIN`; an `OSError` for `EAI_SYSTEM`.
pub fn getaddrinfo(
    host: Option<&str>,
    service: Option<&str>,
    hints: Hints,
) -> io::Result<Vec<AddrInfo>> {
    Ok(addrinfo::getaddrinfo(host, service, hints)?)
}

/// CPython's `setipaddr`: the address `name` stands for, without a resolver when it can.
fn setipaddr(name: &str, family: i32) -> Result<IpAddr, ResolveError> {
    if name.contains('\0') {
        return Err(ResolveError::new(
            ErrorOrigin::Input,
            None,
            "embedded null character",
            name,
        ));
    }
    if name.is_empty() {
        return wildcard(family);
    }
    let any_v4 = family == libc::AF_UNSPEC || family == libc::AF_INET;
    let any_v6 = family == libc::AF_UNSPEC || family == libc::AF_INET6;
    if name == "255.255.255.255" || name == "<broadcast>" {
        if !any_v4 {
            return Err(lookup_error("address family mismatched", name));
        }
        return Ok(IpAddr::V4(Ipv4Addr::BROADCAST));
    }
    if any_v4 && let Ok(v4) = inet_pton4(name.as_bytes()) {
        return Ok(IpAddr::V4(v4));
    }
    // A scope (`fe80::1%eth0`) needs getaddrinfo to turn the interface name into an index.
    if any_v6
        && !name.contains('%')
        && let Ok(v6) = inet_pton6(name.as_bytes())
    {
        return Ok(IpAddr::V6(v6));
    }
    let hints = Hints {
        family,
        ..Hints::default()
    };
    // Report the name only, not "name:-".
    let found = addrinfo::getaddrinfo(Some(name), None, hints)
        .map_err(|e| ResolveError::new(e.origin(), e.code(), e.message(), name))?;
    found
        .first()
        .map(|a| a.sockaddr.ip())
        .ok_or_else(|| addrinfo::gai_error(libc::EAI_NONAME, name))
}

/// `setipaddr("")`: the one wildcard address of `family`.
fn wildcard(family: i32) -> Result<IpAddr, ResolveError> {
    let hints = Hints {
        family,
        socktype: libc::SOCK_DGRAM,
        flags: AiFlags::PASSIVE,
        ..Hints::default()
    };
    let found = addrinfo::getaddrinfo(None, Some("0"), hints)
        .map_err(|e| ResolveError::new(e.origin(), e.code(), e.message(), ""))?;
    match found.as_slice() {
        [one] => Ok(one.sockaddr.ip()),
        [] => Err(addrinfo::gai_error(libc::EAI_NONAME, "")),
        _ => Err(lookup_error("wildcard resolved to multiple address", "")),
    }
}

/// CPython's `gethost_common`: the entry as Python objects, checking its family.
fn host_entry(ent: netdb::HostEnt, family: i32, input: &str) -> io::Result<HostEntry> {
    if ent.family != family {
        return Err(addrinfo::os_error(libc::EAFNOSUPPORT, input).into());
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let addresses = ent
        .addrs
        .iter()
        .filter_map(|a| match family {
            libc::AF_INET => <[u8; 4]>::try_from(a.as_slice())
                .ok()
                .map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            _ => <[u8; 16]>::try_from(a.as_slice())
                .ok()
                .map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        })
        .collect();
    Ok(HostEntry {
        name: text(&ent.name),
        aliases: ent.aliases.iter().map(|a| text(a)).collect(),
        addresses,
    })
}

/// A failed `gethostby*_r` as Python reports it.
fn host_failure(failure: HostFailure, input: &str) -> io::Error {
    match failure {
        HostFailure::Herror(h) => {
            ResolveError::new(ErrorOrigin::Host, Some(h), netdb::h_message(h), input).into()
        }
        HostFailure::Os(e) => match e.raw_os_error() {
            Some(errno) => addrinfo::os_error(errno, input).into(),
            None => e,
        },
    }
}

/// The system's answer when it has the database, else the built-in table's.
fn from_system_or_builtin<S, T>(
    system: NssAnswer<S>,
    convert: impl FnOnce(S) -> T,
    builtin: impl FnOnce() -> Option<T>,
) -> Option<T> {
    match system {
        NssAnswer::Found(found) => Some(convert(found)),
        NssAnswer::NotFound => None,
        NssAnswer::Unavailable(_) => builtin(),
    }
}

/// `name` as a C string, or Python's `ValueError` for an embedded NUL.
fn c_string(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| {
        ResolveError::new(ErrorOrigin::Input, None, "embedded null character", name).into()
    })
}

/// `name/proto`, or `name` when no protocol was given.
fn with_proto(name: &str, proto: Option<&str>) -> String {
    match proto {
        Some(p) => format!("{name}/{p}"),
        None => name.to_owned(),
    }
}

fn lookup_error(message: &str, input: &str) -> ResolveError {
    ResolveError::new(ErrorOrigin::Lookup, None, message, input)
}

fn not_found(message: &str, input: &str) -> io::Error {
    lookup_error(message, input).into()
}

#[cfg(test)]
mod tests;
