//! Look-up results as Python prints them: addresses as glibc's `inet_ntop(3)` writes them,
//! `str` and `list` reprs, and socket-address tuples.
//!
//! ```
//! use std::net::SocketAddr;
//! use portsock_std::lookup::text::{py_list_repr, sockaddr_repr};
//!
//! assert_eq!(py_list_repr(["www.python.org", "python.map.fastly.net"]),
//!            "['www.python.org', 'python.map.fastly.net']");
//! assert_eq!(py_list_repr(Vec::<String>::new()), "[]");
//! let v4: SocketAddr = "151.101.32.223:80".parse()?;
//! assert_eq!(sockaddr_repr(&v4), "('151.101.32.223', 80)");
//! let v6: SocketAddr = "[2a04:4e42:8::223]:80".parse()?;
//! assert_eq!(sockaddr_repr(&v6), "('2a04:4e42:8::223', 80, 0, 0)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use portsock_core::wire::inet::{inet_ntop4, inet_ntop6};
use portsock_core::wire::repr::PyAddr;

/// An address as glibc's `inet_ntop(3)` (and so Python) writes it: `::ffff:1.2.3.4`, and
/// glibc's own embedded-IPv4 forms such as `::0.1.0.2` (see `portsock_core::wire::inet`).
pub fn ip_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => inet_ntop4(v4).as_str().to_owned(),
        IpAddr::V6(v6) => inet_ntop6(v6).as_str().to_owned(),
    }
}

/// Python's `repr()` of a `str`: single quotes unless the text has a `'` and no `"`, with
/// `\\`, `\t`, `\n`, `\r` and `\xNN` escapes for the other control characters.
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a list of `str`: `['a', 'b']`, `[]` when empty.
pub fn py_list_repr<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let inner: Vec<String> = items.into_iter().map(|s| py_str_repr(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// The socket-address tuple Python's `getaddrinfo` returns, as `print` shows it:
/// `('1.2.3.4', 80)` for IPv4 and `('::1', 80, flowinfo, scope_id)` for IPv6. The address
/// text carries no `%zone`, as in CPython's tuple; the scope is the fourth field (this is
/// [`PyAddr`] as a `String`).
pub fn sockaddr_repr(addr: &SocketAddr) -> String {
    PyAddr(*addr).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_is_glibcs() {
        let t = |s: &str| ip_text(&s.parse().unwrap());
        assert_eq!(t("10.9.0.10"), "10.9.0.10");
        assert_eq!(t("2a04:4e42:8::223"), "2a04:4e42:8::223");
        assert_eq!(t("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        // glibc, unlike std, prints these with an embedded IPv4 address.
        assert_eq!(t("::1:2"), "::0.1.0.2");
        assert_eq!(t("::1"), "::1");
    }

    #[test]
    fn str_repr_quotes_like_python() {
        assert_eq!(py_str_repr("apu"), "'apu'");
        assert_eq!(py_str_repr(""), "''");
        assert_eq!(py_str_repr("it's"), "\"it's\"");
        assert_eq!(py_str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(
            py_str_repr("a\\b\tc\n\u{1}\u{7f}"),
            "'a\\\\b\\tc\\n\\x01\\x7f'"
        );
        assert_eq!(py_str_repr("bücher"), "'bücher'");
    }

    #[test]
    fn sockaddr_tuples() {
        let v6 = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            80,
            3,
            1,
        ));
        assert_eq!(sockaddr_repr(&v6), "('fe80::1', 80, 3, 1)");
        assert_eq!(
            sockaddr_repr(&"0.0.0.0:0".parse().unwrap()),
            "('0.0.0.0', 0)"
        );
    }
}
