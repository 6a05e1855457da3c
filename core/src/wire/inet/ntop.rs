//! `inet_ntop(3)` / `inet_ntoa(3)`: addresses to glibc's exact text, written digit by digit
//! into a stack buffer.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::Family;

/// The longest text [`inet_ntop4`] writes: `255.255.255.255`.
pub const IPV4_TEXT_MAX: usize = 15;

/// The longest text [`inet_ntop6`] writes, `INET6_ADDRSTRLEN` without its NUL. glibc's longest
/// output is 39 bytes (`ffff:...:ffff`); 45 leaves room for `ffff:...:ffff:255.255.255.255`, the
/// bound C code reserves.
pub const IPV6_TEXT_MAX: usize = 45;

/// Formats an IPv4 address as dotted decimal (`inet_ntoa(3)`, `inet_ntop(AF_INET, ..)`).
///
/// ```
/// use core::net::Ipv4Addr;
/// use portsock_core::wire::inet::inet_ntop4;
///
/// assert_eq!(inet_ntop4(&Ipv4Addr::new(10, 0, 0, 255)), "10.0.0.255");
/// ```
#[must_use]
pub fn inet_ntop4(addr: &Ipv4Addr) -> heapless::String<IPV4_TEXT_MAX> {
    let mut out = Text::new();
    out.dotted_quad(addr.octets());
    out.finish()
}

/// Formats an IPv6 address exactly as glibc's `inet_ntop(AF_INET6, ..)` does.
///
/// Lowercase hex without leading zeros. The longest run of two or more zero groups becomes `::`
/// (the first one on a tie); a single zero group stays `0`. The last 32 bits are written as a
/// dotted quad in glibc's two cases only, which are not RFC 5952's:
///
/// * `::ffff:a.b.c.d`: the first five groups are zero and the sixth is `ffff`;
/// * `::a.b.c.d`: exactly the first six groups are zero (the seventh is not), so `::1:2` is
///   written `::0.1.0.2`, while `::1` stays `::1` and `64:ff9b::1.2.3.4` is `64:ff9b::102:304`.
///
/// ```
/// use core::net::Ipv6Addr;
/// use portsock_core::wire::inet::inet_ntop6;
///
/// let text = |s: &str| inet_ntop6(&s.parse::<Ipv6Addr>().unwrap());
/// assert_eq!(text("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
/// assert_eq!(text("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
/// assert_eq!(text("::2:0"), "::0.2.0.0");
/// assert_eq!(text("::ffff:0:1.2.3.4"), "::ffff:0:102:304");
/// ```
#[must_use]
pub fn inet_ntop6(addr: &Ipv6Addr) -> heapless::String<IPV6_TEXT_MAX> {
    let groups = addr.segments();
    let (run_start, run_len) = longest_zero_run(&groups);
    let mut out = Text::new();
    if run_start == 0 && (run_len == 6 || (run_len == 5 && groups[5] == 0xffff)) {
        out.push_str(if run_len == 6 { b"::" } else { b"::ffff:" });
        let [.., a, b, c, d] = addr.octets();
        out.dotted_quad([a, b, c, d]);
        return out.finish();
    }
    if run_len < 2 {
        for (i, &group) in groups.iter().enumerate() {
            if i != 0 {
                out.push(b':');
            }
            out.hex(group);
        }
        return out.finish();
    }
    let run_end = run_start + run_len;
    for (i, &group) in groups.iter().enumerate().take(run_start) {
        if i != 0 {
            out.push(b':');
        }
        out.hex(group);
    }
    out.push_str(b"::");
    for (i, &group) in groups.iter().enumerate().skip(run_end) {
        if i != run_end {
            out.push(b':');
        }
        out.hex(group);
    }
    out.finish()
}

/// `packed` must be [`InetLenError::expected`]; it is [`InetLenError::got`] bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct InetLenError {
    /// The length the operation needs, in words: `"4 bytes (an IPv4 address)"`.
    pub expected: &'static str,
    /// The length it was given.
    pub got: usize,
}

impl InetLenError {
    /// Not the 4 bytes of an IPv4 address.
    pub(super) const fn ipv4(got: usize) -> Self {
        Self {
            expected: "4 bytes (an IPv4 address)",
            got,
        }
    }

    /// Not the 16 bytes of an IPv6 address.
    pub(super) const fn ipv6(got: usize) -> Self {
        Self {
            expected: "16 bytes (an IPv6 address)",
            got,
        }
    }
}

impl fmt::Display for InetLenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "packed address is {} bytes long, expected {}",
            self.got, self.expected
        )
    }
}

impl core::error::Error for InetLenError {}

impl embedded_io::Error for InetLenError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::InvalidInput
    }
}

/// [`super::inet_ntop`]'s body: checks the length for the family, then formats.
pub(super) fn inet_ntop(
    family: Family,
    packed: &[u8],
) -> Result<heapless::String<IPV6_TEXT_MAX>, InetLenError> {
    match family {
        Family::Inet => {
            let octets =
                <[u8; 4]>::try_from(packed).map_err(|_| InetLenError::ipv4(packed.len()))?;
            let mut out = Text::new();
            out.dotted_quad(octets);
            Ok(out.finish())
        }
        Family::Inet6 => {
            let octets =
                <[u8; 16]>::try_from(packed).map_err(|_| InetLenError::ipv6(packed.len()))?;
            Ok(inet_ntop6(&Ipv6Addr::from(octets)))
        }
    }
}

/// The first longest run of zero groups, as `(start, len)`; `len` is 0 when there is none.
fn longest_zero_run(groups: &[u16; 8]) -> (usize, usize) {
    let (mut best_start, mut best_len) = (0, 0);
    let mut run_start = 0;
    let mut run_len = 0;
    for (i, &group) in groups.iter().enumerate() {
        if group != 0 {
            run_len = 0;
            continue;
        }
        if run_len == 0 {
            run_start = i;
        }
        run_len += 1;
        // Strictly longer: on a tie the earlier run stays, as in glibc.
        if run_len > best_len {
            (best_start, best_len) = (run_start, run_len);
        }
    }
    (best_start, best_len)
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Scratch space for one address's text, written left to right. The longest output is 39
/// bytes; the slack lets every group and octet be stored as one 4-byte chunk. A write that would
/// not fit is dropped rather than panicking (the tests check the longest outputs).
struct Text {
    buf: [u8; 48],
    len: usize,
}

impl Text {
    const fn new() -> Self {
        Self {
            buf: [0; 48],
            len: 0,
        }
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn push_str(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.push(byte);
        }
    }

    /// Stores the last `len` bytes of the big-endian `chunk` (1 to 4 of them).
    fn chunk(&mut self, chunk: u32, len: usize) {
        let chunk = chunk << (32 - 8 * len);
        if let Some(dst) = self.buf.get_mut(self.len..self.len + 4) {
            dst.copy_from_slice(&chunk.to_be_bytes());
            self.len += len;
        }
    }

    /// `%x`: lowercase, no leading zeros, `0` for zero.
    fn hex(&mut self, group: u16) {
        let len = match group {
            0x1000.. => 4,
            0x100.. => 3,
            0x10.. => 2,
            _ => 1,
        };
        let nibble = |shift: u16| HEX_DIGITS[usize::from((group >> shift) & 0xf)];
        self.chunk(
            u32::from_be_bytes([nibble(12), nibble(8), nibble(4), nibble(0)]),
            len,
        );
    }

    /// `%u`.
    fn decimal(&mut self, byte: u8) {
        let len = match byte {
            100.. => 3,
            10.. => 2,
            _ => 1,
        };
        let digits = [
            b'0',
            b'0' + byte / 100,
            b'0' + byte / 10 % 10,
            b'0' + byte % 10,
        ];
        self.chunk(u32::from_be_bytes(digits), len);
    }

    fn dotted_quad(&mut self, [a, b, c, d]: [u8; 4]) {
        self.decimal(a);
        self.push(b'.');
        self.decimal(b);
        self.push(b'.');
        self.decimal(c);
        self.push(b'.');
        self.decimal(d);
    }

    fn finish<const N: usize>(&self) -> heapless::String<N> {
        let mut out = heapless::String::new();
        // Only ASCII is written, and at most N bytes: neither fallback is ever taken.
        let text = self.buf.get(..self.len).unwrap_or_default();
        let _ = out.push_str(core::str::from_utf8(text).unwrap_or_default());
        out
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    fn text(groups: [u16; 8]) -> heapless::String<IPV6_TEXT_MAX> {
        inet_ntop6(&Ipv6Addr::from(groups))
    }

    #[test]
    fn emit_v4() {
        assert_eq!(inet_ntop4(&Ipv4Addr::new(0, 0, 0, 0)), "0.0.0.0");
        assert_eq!(
            inet_ntop4(&Ipv4Addr::new(255, 255, 255, 255)),
            "255.255.255.255"
        );
        assert_eq!(inet_ntop4(&Ipv4Addr::new(9, 10, 99, 100)), "9.10.99.100");
        assert_eq!(
            inet_ntop(Family::Inet, &[1, 2, 3, 4]).as_deref(),
            Ok("1.2.3.4")
        );
    }

    #[test]
    fn emit_v6_runs() {
        assert_eq!(text([0; 8]), "::");
        assert_eq!(text([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
        assert_eq!(text([1, 0, 0, 0, 0, 0, 0, 0]), "1::");
        assert_eq!(text([1, 0, 2, 0, 3, 0, 4, 0]), "1:0:2:0:3:0:4:0");
        assert_eq!(text([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), "2001:db8::1:0:0:1");
        assert_eq!(text([0x2001, 0xdb8, 1, 0, 0, 1, 0, 0]), "2001:db8:1::1:0:0");
        assert_eq!(text([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]), "2001:db8:0:1::1");
        assert_eq!(text([1, 2, 3, 4, 5, 6, 7, 0]), "1:2:3:4:5:6:7:0");
        assert_eq!(text([0xffff; 8]), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        assert_eq!(
            text([0xa, 0xab, 0xabc, 0xabcd, 0, 0, 0, 0]),
            "a:ab:abc:abcd::"
        );
    }

    #[test]
    fn emit_v6_embedded_ipv4() {
        assert_eq!(text([0, 0, 0, 0, 0, 0, 1, 2]), "::0.1.0.2");
        assert_eq!(text([0, 0, 0, 0, 0, 0, 2, 0]), "::0.2.0.0");
        assert_eq!(
            text([0, 0, 0, 0, 0, 0, 0xffff, 0xffff]),
            "::255.255.255.255"
        );
        assert_eq!(text([0, 0, 0, 0, 0, 0xffff, 0, 0]), "::ffff:0.0.0.0");
        assert_eq!(
            text([0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff]),
            "::ffff:255.255.255.255"
        );
        assert_eq!(text([0, 0, 0, 0, 0, 0xfffe, 1, 2]), "::fffe:1:2");
        assert_eq!(
            text([0, 0, 0, 0, 0xffff, 0, 0x102, 0x304]),
            "::ffff:0:102:304"
        );
        assert_eq!(
            text([0x64, 0xff9b, 0, 0, 0, 0, 0x102, 0x304]),
            "64:ff9b::102:304"
        );
        assert_eq!(text([0, 0, 0, 0, 0, 0, 0, 0xffff]), "::ffff");
    }

    #[test]
    fn emit_every_zero_pattern_fits() {
        // Every zero/non-zero pattern, with the widest group and octet values.
        for mask in 0..=255u8 {
            let groups: [u16; 8] =
                core::array::from_fn(|i| if mask & (1 << i) != 0 { 0xffff } else { 0 });
            let out = text(groups);
            assert!(!out.is_empty());
            let back: Ipv6Addr = out.parse().unwrap();
            assert_eq!(back.segments(), groups, "{out}");
        }
    }

    #[test]
    fn len_errors() {
        assert_eq!(
            inet_ntop(Family::Inet, &[0; 16]),
            Err(InetLenError::ipv4(16))
        );
        assert_eq!(
            inet_ntop(Family::Inet6, &[0; 15]),
            Err(InetLenError::ipv6(15))
        );
        assert_eq!(
            InetLenError::ipv6(0).to_string(),
            "packed address is 0 bytes long, expected 16 bytes (an IPv6 address)"
        );
    }
}
