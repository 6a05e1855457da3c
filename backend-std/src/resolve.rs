//! Host names to socket addresses, through the system resolver.
//!
//! Resolution is std's [`ToSocketAddrs`], which is `getaddrinfo(3)`: `/etc/hosts`, DNS and
//! whatever else `nsswitch.conf` lists, with the address order of `gai.conf` (RFC 6724), as
//! Python's `socket.getaddrinfo` sees it. IP literals never reach the resolver.
//!
//! Two questions are asked of it, as the chapter's programs ask them:
//!
//! * [`resolve`]: every address of `host`, in order, for a client that will try each one
//!   ([`TcpStream::create_connection`](crate::tcp::TcpStream::create_connection)).
//! * [`bind_addr`]: the one address a server binds, where `""` means "any address"
//!   (`INADDR_ANY`), as in Python's `sock.bind(('', 10000))`.
//!
//! ```
//! use std::net::SocketAddr;
//! use portsock_std::resolve::bind_addr;
//!
//! assert_eq!(bind_addr("", 10000)?, "0.0.0.0:10000".parse::<SocketAddr>()?);
//! assert_eq!(bind_addr("::", 10000)?, "[::]:10000".parse::<SocketAddr>()?);
//! assert_eq!(bind_addr("127.0.0.1", 0)?, "127.0.0.1:0".parse::<SocketAddr>()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// Every address `host` resolves to, with `port`, in the resolver's order.
///
/// `host` may be a name (`"localhost"`) or an IPv4 / IPv6 literal (`"::1"`, without
/// brackets).
///
/// # Errors
///
/// The resolver's error, with a message naming `host:port` ("cannot resolve
/// nosuch.example:10000: ..."), keeping its kind; `NotFound` if it found no address.
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot resolve {}: {e}", host_port(host, port)),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "cannot resolve {}: the resolver returned no addresses",
                host_port(host, port)
            ),
        ));
    }
    Ok(addrs)
}

/// The address a server binds for `host` and `port`, as Python's `bind((host, port))` on an
/// `AF_INET` socket would pick it, except that IPv6 literals are accepted too:
///
/// * `""`: any IPv4 address, `0.0.0.0` (`INADDR_ANY`);
/// * an IPv4 or IPv6 literal: itself (`"0.0.0.0"` and `"::"` are the any-addresses);
/// * a name: its first IPv4 address, or its first address if it has none, so that
///   `"localhost"` binds `127.0.0.1` where the chapter's Python clients (IPv4 sockets) look
///   for it.
///
/// # Errors
///
/// As [`resolve`].
pub fn bind_addr(host: &str, port: u16) -> io::Result<SocketAddr> {
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    let addrs = resolve(host, port)?;
    let first_v4 = addrs.iter().find(|a| a.is_ipv4());
    Ok(*first_v4.unwrap_or(&addrs[0]))
}

/// `host:port`, bracketing an IPv6 literal: `[::1]:10000`.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_skip_the_resolver() {
        assert_eq!(
            resolve("127.0.0.1", 7).unwrap(),
            ["127.0.0.1:7".parse().unwrap()]
        );
        assert_eq!(resolve("::1", 7).unwrap(), ["[::1]:7".parse().unwrap()]);
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        let addrs = resolve("localhost", 10000).unwrap();
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 10000),
            "{addrs:?}"
        );
        assert_eq!(
            bind_addr("localhost", 10000).unwrap(),
            "127.0.0.1:10000".parse().unwrap()
        );
    }

    #[test]
    fn empty_host_binds_any_ipv4() {
        assert_eq!(bind_addr("", 5).unwrap(), "0.0.0.0:5".parse().unwrap());
        assert_eq!(
            bind_addr("0.0.0.0", 5).unwrap(),
            "0.0.0.0:5".parse().unwrap()
        );
        assert_eq!(bind_addr("::", 5).unwrap(), "[::]:5".parse().unwrap());
    }

    #[test]
    fn resolver_errors_name_host_and_port() {
        // A NUL byte is refused before any lookup, so this never touches the network.
        let err = resolve("bad\0host", 10000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.starts_with("cannot resolve bad\0host:10000: "), "{msg}");
        assert_eq!(host_port("fe80::1", 1), "[fe80::1]:1");
    }
}
