//! IPv4 / IPv6 text <-> packed bytes, exactly as glibc does it (and therefore exactly as
//! CPython's `socket.inet_aton`, `inet_ntoa`, `inet_pton` and `inet_ntop` on Linux).
//!
//! | function | C / Python | accepts |
//! | --- | --- | --- |
//! | [`inet_aton`] | `inet_aton(3)` | every legacy IPv4 form: `127.1`, `0x7f.1`, `017.0.0.1`, `2130706433` |
//! | [`inet_pton4`] | `inet_pton(AF_INET, ..)` | exactly `a.b.c.d`, decimal, no leading zeros |
//! | [`inet_pton6`] | `inet_pton(AF_INET6, ..)` | RFC 4291 text, with glibc's extras (a `::` for one group) |
//! | [`inet_ntoa`], [`inet_ntop4`] | `inet_ntoa(3)` | 4 packed bytes |
//! | [`inet_ntop6`] | `inet_ntop(AF_INET6, ..)` | any address; glibc's text, not RFC 5952's |
//!
//! Inputs are bytes, not `&str`: CPython hands glibc the UTF-8 of its `str`, so a non-ASCII
//! character is just a run of bytes above `0x7f` that no rule accepts. A NUL byte is always an
//! error (CPython refuses an embedded NUL before glibc sees it).
//!
//! Invariants, relied on by the fuzz target (`fuzz/fuzz_targets/inet.rs`):
//!
//! * No function here panics, allocates or overflows, whatever its input.
//! * `inet_pton6(inet_ntop6(a)) == Ok(a)` for every address, and `inet_pton4(inet_ntop4(a)) ==
//!   Ok(a)`.
//! * Whatever [`inet_pton4`] accepts, [`inet_aton`] accepts with the same result.
//!
//! ```
//! use core::net::{Ipv4Addr, Ipv6Addr};
//! use portsock_core::wire::inet::{self, Family};
//!
//! assert_eq!(inet::inet_aton(b"127.1")?, Ipv4Addr::LOCALHOST);
//! assert_eq!(inet::inet_ntoa(&[10, 0, 0, 255])?, "10.0.0.255");
//!
//! let addr = inet::inet_pton6(b"2001:db8:0:0:1:0:0:1")?;
//! assert_eq!(inet::inet_ntop6(&addr), "2001:db8::1:0:0:1"); // first of two equal runs
//! assert_eq!(inet::inet_pton6(inet::inet_ntop6(&addr).as_bytes())?, addr);
//!
//! // glibc's own embedded-IPv4 rule: six zero groups, then a non-zero seventh.
//! let odd: Ipv6Addr = "::1:2".parse()?;
//! assert_eq!(inet::inet_ntop(Family::Inet6, &odd.octets())?, "::0.1.0.2");
//!
//! assert!(inet::inet_pton(Family::Inet, b"127.1").is_err()); // pton is strict
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use core::fmt;
use core::net::IpAddr;

mod aton;
mod ntop;
mod pton;

pub use aton::{AtonError, inet_aton, inet_ntoa};
pub use ntop::{IPV4_TEXT_MAX, IPV6_TEXT_MAX, InetLenError, inet_ntop4, inet_ntop6};
pub use pton::{PtonError, inet_pton4, inet_pton6};

/// An address family, as the `AF_INET` / `AF_INET6` argument of `inet_pton` and `inet_ntop`.
///
/// Deliberately exhaustive: these are the only two families those functions know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Family {
    /// IPv4 (`AF_INET`, 2 on Linux): 4 packed bytes.
    Inet,
    /// IPv6 (`AF_INET6`, 10 on Linux): 16 packed bytes.
    Inet6,
}

impl Family {
    /// The size of a packed address of this family: 4 or 16 bytes.
    #[must_use]
    pub const fn packed_len(self) -> usize {
        match self {
            Self::Inet => 4,
            Self::Inet6 => 16,
        }
    }

    /// The family's `AF_*` number on Linux (2 or 10), as in [`crate::table::consts::AF`].
    #[must_use]
    pub const fn af(self) -> i32 {
        match self {
            Self::Inet => 2,
            Self::Inet6 => 10,
        }
    }
}

/// Text to an address, strictly, as `inet_pton(3)`: [`inet_pton4`] or [`inet_pton6`].
///
/// # Errors
///
/// [`PtonError`] names the first byte that does not fit the family's syntax.
pub fn inet_pton(family: Family, text: &[u8]) -> Result<IpAddr, PtonError> {
    match family {
        Family::Inet => inet_pton4(text).map(IpAddr::V4),
        Family::Inet6 => inet_pton6(text).map(IpAddr::V6),
    }
}

/// Packed bytes to text, as `inet_ntop(3)`: 4 bytes for [`Family::Inet`], 16 for
/// [`Family::Inet6`].
///
/// # Errors
///
/// [`InetLenError`] when `packed` is not exactly [`Family::packed_len`] bytes long (CPython
/// raises `ValueError` there).
pub fn inet_ntop(family: Family, packed: &[u8]) -> Result<heapless::String<45>, InetLenError> {
    ntop::inet_ntop(family, packed)
}

/// Shows a byte the way an error message quotes it: `'x'` when printable ASCII, else `'\xNN'`.
struct ByteLit(u8);

impl fmt::Display for ByteLit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b'\'' => f.write_str("'\\''"),
            b'\\' => f.write_str("'\\\\'"),
            b @ 0x20..=0x7e => write!(f, "'{}'", char::from(b)),
            b => write!(f, "'\\x{b:02x}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn family_sizes() {
        assert_eq!(Family::Inet.packed_len(), 4);
        assert_eq!(Family::Inet6.packed_len(), 16);
        assert_eq!((Family::Inet.af(), Family::Inet6.af()), (2, 10));
    }

    #[test]
    fn dispatch() {
        assert_eq!(
            inet_pton(Family::Inet, b"1.2.3.4"),
            Ok(IpAddr::from([1, 2, 3, 4]))
        );
        assert!(inet_pton(Family::Inet, b"::1").is_err());
        assert_eq!(
            inet_pton(Family::Inet6, b"::1"),
            Ok(IpAddr::V6(core::net::Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            inet_ntop(Family::Inet, &[1, 2, 3, 4]).as_deref(),
            Ok("1.2.3.4")
        );
        assert!(inet_ntop(Family::Inet, &[0; 16]).is_err());
        assert!(inet_ntop(Family::Inet6, &[0; 4]).is_err());
        assert_eq!(inet_ntop(Family::Inet6, &[0; 16]).as_deref(), Ok("::"));
    }

    #[test]
    fn byte_literals() {
        assert_eq!(ByteLit(b'.').to_string(), "'.'");
        assert_eq!(ByteLit(b'\'').to_string(), "'\\''");
        assert_eq!(ByteLit(b'\\').to_string(), "'\\\\'");
        assert_eq!(ByteLit(0).to_string(), "'\\x00'");
        assert_eq!(ByteLit(0xc3).to_string(), "'\\xc3'");
    }
}
