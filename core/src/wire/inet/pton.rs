//! `inet_pton(3)`: the strict parsers, one pass over the input and no allocation.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::ByteLit;

/// Parses a dotted quad strictly, as `inet_pton(AF_INET, ..)`.
///
/// Exactly four decimal parts, each 0-255 and without leading zeros (`0` itself is fine),
/// separated by single dots, with nothing before or after.
///
/// ```
/// use core::net::Ipv4Addr;
/// use portsock_core::wire::inet::inet_pton4;
///
/// assert_eq!(inet_pton4(b"192.168.1.100")?, Ipv4Addr::new(192, 168, 1, 100));
/// assert!(inet_pton4(b"127.1").is_err());
/// assert!(inet_pton4(b"01.2.3.4").is_err());
/// assert!(inet_pton4(b"1.2.3.4 ").is_err());
/// # Ok::<(), portsock_core::wire::inet::PtonError>(())
/// ```
///
/// # Errors
///
/// [`PtonError`] for anything but the form above.
#[inline]
pub fn inet_pton4(text: &[u8]) -> Result<Ipv4Addr, PtonError> {
    // Inlined, the valid case is one loop in the caller; explaining a refusal is out of line.
    match quad_fast(text) {
        Some(octets) => Ok(Ipv4Addr::from(octets)),
        None => pton4_error(text),
    }
}

/// The error [`inet_pton4`] gives for a text that is not a dotted quad.
#[cold]
#[inline(never)]
fn pton4_error(text: &[u8]) -> Result<Ipv4Addr, PtonError> {
    if text.is_empty() {
        return Err(PtonError::Empty);
    }
    dotted_quad_error(text, 0).map(Ipv4Addr::from)
}

/// Parses an IPv6 address as `inet_pton(AF_INET6, ..)` does in glibc.
///
/// Eight groups of 1 to 4 hex digits (either case) separated by `:`; one `::` may stand for
/// one or more zero groups (glibc accepts `1::2:3:4:5:6:7`, where RFC 5952 would not write it);
/// the last 32 bits may be a strict dotted quad (`::ffff:1.2.3.4`). No zone id (`%eth0`), no
/// brackets, no whitespace, no prefix length.
///
/// ```
/// use core::net::Ipv6Addr;
/// use portsock_core::wire::inet::inet_pton6;
///
/// assert_eq!(inet_pton6(b"::1")?, Ipv6Addr::LOCALHOST);
/// assert_eq!(inet_pton6(b"1:2:3:4:5:6:7::")?, Ipv6Addr::new(1, 2, 3, 4, 5, 6, 7, 0));
/// assert_eq!(inet_pton6(b"::ffff:1.2.3.4")?, Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x102, 0x304));
/// assert!(inet_pton6(b"1:2:3:4:5:6:7:8::").is_err()); // '::' for no group at all
/// assert!(inet_pton6(b"fe80::1%eth0").is_err());
/// # Ok::<(), portsock_core::wire::inet::PtonError>(())
/// ```
///
/// # Errors
///
/// [`PtonError`] names the first byte that breaks the rules above, or what was missing.
pub fn inet_pton6(text: &[u8]) -> Result<Ipv6Addr, PtonError> {
    // Built in network order, so that the result needs no conversion.
    let mut octets = [0u8; 16];
    // Groups stored so far; a dotted quad stores two.
    let mut n = 0usize;
    // Where the `::` is: (index in `groups`, offset in `text`).
    let mut gap: Option<(usize, usize)> = None;
    let mut i = match text {
        [] => return Err(PtonError::Empty),
        // A leading ':' must be half of a "::"; the loop sees the second ':' as the gap.
        [b':', b':', ..] => 1,
        [b':'] => {
            return Err(PtonError::UnexpectedEnd {
                expected: "':' after a leading ':'",
            });
        }
        [b':', byte, ..] => {
            return Err(PtonError::UnexpectedByte {
                at: 1,
                byte: *byte,
                expected: "':' after a leading ':'",
            });
        }
        _ => 0,
    };
    // Start of the current group, which is where a dotted quad would start.
    let mut start = i;
    let mut value = 0u16;
    let mut digits = 0u8;
    while let Some(&byte) = text.get(i) {
        let digit = HEX_VALUE[usize::from(byte)];
        if digit != NOT_HEX {
            if digits == 4 {
                return Err(PtonError::GroupTooLong { at: start });
            }
            value = (value << 4) | u16::from(digit);
            digits += 1;
            i += 1;
            continue;
        }
        match byte {
            b':' if digits == 0 => {
                // Every other ':' follows a group, so this one is the second half of "::".
                if gap.is_some() {
                    return Err(PtonError::SecondDoubleColon { at: i - 1 });
                }
                gap = Some((n, i - 1));
            }
            b':' => {
                if i + 1 == text.len() {
                    return Err(PtonError::UnexpectedEnd {
                        expected: "a hex digit after ':'",
                    });
                }
                let Some(slot) = octets.get_mut(2 * n..2 * n + 2) else {
                    return Err(PtonError::TooManyGroups { at: start });
                };
                slot.copy_from_slice(&value.to_be_bytes());
                n += 1;
                value = 0;
                digits = 0;
            }
            b'.' => {
                // The dotted quad starts over from the group's first byte, and must end the text.
                let Some(slot) = octets.get_mut(2 * n..2 * n + 4) else {
                    return Err(PtonError::TooManyGroups { at: start });
                };
                slot.copy_from_slice(&dotted_quad(text.get(start..).unwrap_or_default(), start)?);
                n += 2;
                digits = 0;
                break;
            }
            _ => {
                return Err(PtonError::UnexpectedByte {
                    at: i,
                    byte,
                    expected: "a hex digit, ':' or '.'",
                });
            }
        }
        i += 1;
        start = i;
    }
    if digits > 0 {
        let Some(slot) = octets.get_mut(2 * n..2 * n + 2) else {
            return Err(PtonError::TooManyGroups { at: start });
        };
        slot.copy_from_slice(&value.to_be_bytes());
        n += 1;
    }
    match gap {
        Some((_, at)) if n == 8 => Err(PtonError::EmptyDoubleColon { at }),
        Some((index, _)) => {
            // Slide the groups after "::" to the end and zero what they leave behind.
            // (n < 8 and index <= n, so the ranges are in bounds.)
            let width = 2 * (8 - n);
            octets.copy_within(2 * index..2 * n, 2 * index + width);
            if let Some(zeros) = octets.get_mut(2 * index..2 * index + width) {
                zeros.fill(0);
            }
            Ok(Ipv6Addr::from(octets))
        }
        None if n == 8 => Ok(Ipv6Addr::from(octets)),
        None => Err(PtonError::TooFewGroups { groups: n as u8 }),
    }
}

/// Why [`inet_pton4`], [`inet_pton6`] or [`inet_pton`](super::inet_pton) refused its input.
/// Positions are 0-based byte offsets into the whole input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PtonError {
    /// The input is empty.
    Empty,
    /// A byte that cannot appear at this position.
    UnexpectedByte {
        /// Offset of the byte.
        at: usize,
        /// The byte itself.
        byte: u8,
        /// What could have been there instead.
        expected: &'static str,
    },
    /// The input ends too early.
    UnexpectedEnd {
        /// What was expected at the end.
        expected: &'static str,
    },
    /// An IPv4 part written with a leading zero (`01`, `00`), which `inet_pton` refuses.
    LeadingZero {
        /// Offset of the part's first digit.
        at: usize,
    },
    /// An IPv4 part above 255.
    OctetTooLarge {
        /// Offset of the part's first digit.
        at: usize,
    },
    /// An IPv4 address with fewer than four parts.
    TooFewParts {
        /// How many parts there were.
        parts: u8,
    },
    /// An IPv6 group with more than four hex digits.
    GroupTooLong {
        /// Offset of the group's first digit.
        at: usize,
    },
    /// An IPv6 group (or dotted quad, which counts as two) beyond the eighth.
    TooManyGroups {
        /// Offset of the group that does not fit.
        at: usize,
    },
    /// A second `::` (at most one is allowed; `:::` counts as a second one).
    SecondDoubleColon {
        /// Offset of the first `:` of the second `::`.
        at: usize,
    },
    /// A `::` next to eight groups, where it would stand for no group at all.
    EmptyDoubleColon {
        /// Offset of the `::`.
        at: usize,
    },
    /// Fewer than eight groups and no `::` to fill the rest.
    TooFewGroups {
        /// How many groups there were (a dotted quad counts as two).
        groups: u8,
    },
}

impl fmt::Display for PtonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => f.write_str("empty address"),
            Self::UnexpectedByte { at, byte, expected } => {
                write!(
                    f,
                    "byte {at}: unexpected {}, expected {expected}",
                    ByteLit(byte)
                )
            }
            Self::UnexpectedEnd { expected } => write!(f, "unexpected end, expected {expected}"),
            Self::LeadingZero { at } => {
                write!(
                    f,
                    "byte {at}: leading zero in an IPv4 part, expected 0-255 in plain decimal"
                )
            }
            Self::OctetTooLarge { at } => write!(f, "byte {at}: IPv4 part exceeds 255"),
            Self::TooFewParts { parts } => write!(f, "{parts} IPv4 parts, expected 4"),
            Self::GroupTooLong { at } => {
                write!(f, "byte {at}: group has more than 4 hex digits")
            }
            Self::TooManyGroups { at } => {
                write!(
                    f,
                    "byte {at}: more than 8 groups (a dotted quad counts as 2)"
                )
            }
            Self::SecondDoubleColon { at } => {
                write!(f, "byte {at}: second '::', at most one is allowed")
            }
            Self::EmptyDoubleColon { at } => {
                write!(
                    f,
                    "byte {at}: '::' next to 8 groups, where it stands for none"
                )
            }
            Self::TooFewGroups { groups } => {
                write!(f, "{groups} groups and no '::', expected 8")
            }
        }
    }
}

impl core::error::Error for PtonError {}

impl embedded_io::Error for PtonError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::InvalidInput
    }
}

/// Parses `a.b.c.d` filling all of `text`; `base` is `text`'s offset in the caller's input, so
/// errors point into the whole input.
fn dotted_quad(text: &[u8], base: usize) -> Result<[u8; 4], PtonError> {
    match quad_fast(text) {
        Some(octets) => Ok(octets),
        None => dotted_quad_error(text, base),
    }
}

/// The valid dotted quads, with no error bookkeeping: four parts of one to three digits, no
/// leading zero, none above 255; `None` for anything else, which [`dotted_quad_error`] then
/// explains.
///
/// Unrolled part by part rather than a loop over the bytes: each part reads at most three
/// digits and takes its value in one multiply-add, so a part costs about four short branches
/// where a per-byte loop spends five on every byte (range, leading zero, part count); measured
/// faster than glibc's and `core::net`'s parsers on fixed and on mixed inputs
/// (`docs/benchmarks.md`).
#[inline(always)]
fn quad_fast(text: &[u8]) -> Option<[u8; 4]> {
    let (a, i) = quad_part(text, 0)?;
    let (b, i) = quad_part(text, dot_after(text, i)?)?;
    let (c, i) = quad_part(text, dot_after(text, i)?)?;
    let (d, i) = quad_part(text, dot_after(text, i)?)?;
    // A fourth digit or anything else after the last part.
    if i != text.len() {
        return None;
    }
    Some([a, b, c, d])
}

/// The offset after the `.` at `i`, or `None` when `text[i]` is not one.
#[inline(always)]
fn dot_after(text: &[u8], i: usize) -> Option<usize> {
    (text.get(i) == Some(&b'.')).then_some(i + 1)
}

/// The decimal digit at `i` (`None` past the end or for any other byte).
#[inline(always)]
fn digit_at(text: &[u8], i: usize) -> Option<u32> {
    let digit = text.get(i)?.wrapping_sub(b'0');
    (digit < 10).then_some(u32::from(digit))
}

/// One part of a dotted quad starting at `i`: its value and the offset after its last digit.
/// One to three digits, no leading zero, at most 255; what follows a third digit is the
/// caller's to check (a dot, or the end).
#[inline(always)]
fn quad_part(text: &[u8], i: usize) -> Option<(u8, usize)> {
    let first = digit_at(text, i)?;
    let Some(second) = digit_at(text, i + 1) else {
        return Some((first as u8, i + 1));
    };
    if first == 0 {
        return None;
    }
    let Some(third) = digit_at(text, i + 2) else {
        return Some(((first * 10 + second) as u8, i + 2));
    };
    let value = first * 100 + second * 10 + third;
    u8::try_from(value).ok().map(|octet| (octet, i + 3))
}

/// The error for a text [`quad_fast`] refused, naming the first byte at fault (or the octets,
/// should it be valid after all).
#[cold]
#[inline(never)]
fn dotted_quad_error(text: &[u8], base: usize) -> Result<[u8; 4], PtonError> {
    let mut octets = [0u8; 4];
    let mut i = 0usize;
    for (index, octet) in octets.iter_mut().enumerate() {
        let start = i;
        let mut value = match text.get(i) {
            Some(&byte) if byte.is_ascii_digit() => u16::from(byte - b'0'),
            Some(&byte) => {
                return Err(PtonError::UnexpectedByte {
                    at: base + i,
                    byte,
                    expected: "a decimal digit",
                });
            }
            None => {
                return Err(PtonError::UnexpectedEnd {
                    expected: "a decimal digit",
                });
            }
        };
        i += 1;
        while let Some(&byte) = text.get(i) {
            if !byte.is_ascii_digit() {
                break;
            }
            if value == 0 {
                return Err(PtonError::LeadingZero { at: base + start });
            }
            value = value * 10 + u16::from(byte - b'0');
            if value > 255 {
                return Err(PtonError::OctetTooLarge { at: base + start });
            }
            i += 1;
        }
        // `value` <= 255 here: one digit, or checked above.
        *octet = value as u8;
        match text.get(i) {
            None if index == 3 => return Ok(octets),
            None => {
                return Err(PtonError::TooFewParts {
                    parts: index as u8 + 1,
                });
            }
            Some(b'.') if index < 3 => i += 1,
            Some(&byte) => {
                let expected = match index {
                    3 => "a decimal digit or the end (4 parts at most)",
                    _ => "a decimal digit or '.'",
                };
                return Err(PtonError::UnexpectedByte {
                    at: base + i,
                    byte,
                    expected,
                });
            }
        }
    }
    // The loop returns on its fourth pass; this keeps the function total.
    Ok(octets)
}

/// Marks a byte that is not a hex digit in [`HEX_VALUE`].
const NOT_HEX: u8 = 0xff;

/// Hex digit values by byte: one load per input byte in the IPv6 loop.
static HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut b = 0;
    while b < 10 {
        table[b'0' as usize + b] = b as u8;
        b += 1;
    }
    let mut b = 0;
    while b < 6 {
        table[b'a' as usize + b] = 10 + b as u8;
        table[b'A' as usize + b] = 10 + b as u8;
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    fn v6(text: &str) -> Result<[u16; 8], PtonError> {
        inet_pton6(text.as_bytes()).map(|a| a.segments())
    }

    #[test]
    fn parse_v4() {
        assert_eq!(inet_pton4(b"0.0.0.0"), Ok(Ipv4Addr::UNSPECIFIED));
        assert_eq!(inet_pton4(b"255.255.255.255"), Ok(Ipv4Addr::BROADCAST));
        assert_eq!(inet_pton4(b"1.2.3.0"), Ok(Ipv4Addr::new(1, 2, 3, 0)));
    }

    #[test]
    fn parse_v4_errors() {
        use PtonError::*;
        let err = |t: &str| inet_pton4(t.as_bytes()).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(err("01.2.3.4"), LeadingZero { at: 0 });
        assert_eq!(err("1.2.3.00"), LeadingZero { at: 6 });
        assert_eq!(err("1.2.3.256"), OctetTooLarge { at: 6 });
        assert_eq!(err("1.2.3"), TooFewParts { parts: 3 });
        assert_eq!(err("0"), TooFewParts { parts: 1 });
        assert_eq!(
            err("1.2.3."),
            UnexpectedEnd {
                expected: "a decimal digit"
            }
        );
        assert_eq!(
            err("1..3.4"),
            UnexpectedByte {
                at: 2,
                byte: b'.',
                expected: "a decimal digit"
            }
        );
        assert!(matches!(
            err("1.2.3.4."),
            UnexpectedByte {
                at: 7,
                byte: b'.',
                ..
            }
        ));
        assert!(matches!(
            err("1.2.3.4 "),
            UnexpectedByte {
                at: 7,
                byte: b' ',
                ..
            }
        ));
        assert!(matches!(
            err("1.2.3.4\0"),
            UnexpectedByte { at: 7, byte: 0, .. }
        ));
        assert!(matches!(
            err(" 1.2.3.4"),
            UnexpectedByte {
                at: 0,
                byte: b' ',
                ..
            }
        ));
    }

    /// Every part of up to four digits and dots, in each of the four places, against
    /// `core::net` (a strict dotted-quad parser with glibc's rules): the unrolled parts of
    /// `quad_fast` see every length, leading zero, range edge and misplaced dot.
    #[test]
    fn parse_v4_every_short_part() {
        const BYTES: &[u8] = b"0123456789.";
        let mut part = std::vec::Vec::new();
        for len in 0..=4u32 {
            for mut n in 0..BYTES.len().pow(len) {
                part.clear();
                for _ in 0..len {
                    part.push(BYTES[n % BYTES.len()]);
                    n /= BYTES.len();
                }
                let part = std::str::from_utf8(&part).unwrap();
                for text in [
                    std::format!("{part}.1.22.3"),
                    std::format!("1.{part}.22.3"),
                    std::format!("1.22.{part}.3"),
                    std::format!("1.22.3.{part}"),
                ] {
                    let want = text.parse::<Ipv4Addr>().ok();
                    assert_eq!(inet_pton4(text.as_bytes()).ok(), want, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn parse_v4_part_edges() {
        use PtonError::*;
        let ok = |t: &str| inet_pton4(t.as_bytes()).map(|a| a.octets());
        assert_eq!(ok("9.99.199.255"), Ok([9, 99, 199, 255]));
        assert_eq!(ok("255.0.10.100"), Ok([255, 0, 10, 100]));
        assert_eq!(ok("1.2.3.1000").unwrap_err(), OctetTooLarge { at: 6 });
        assert_eq!(ok("1000.2.3.4").unwrap_err(), OctetTooLarge { at: 0 });
        assert_eq!(ok("1.2.3.0255").unwrap_err(), LeadingZero { at: 6 });
        assert_eq!(ok("1.2.300.4").unwrap_err(), OctetTooLarge { at: 4 });
        assert_eq!(
            ok("1.2.3.4.5").unwrap_err(),
            UnexpectedByte {
                at: 7,
                byte: b'.',
                expected: "a decimal digit or the end (4 parts at most)"
            }
        );
        // Longer than any dotted quad: still the error at the part that breaks the rules.
        assert_eq!(
            ok("1.2.3.4444444444444444").unwrap_err(),
            OctetTooLarge { at: 6 }
        );
        assert_eq!(
            ok("1.2.3.").unwrap_err(),
            UnexpectedEnd {
                expected: "a decimal digit"
            }
        );
    }

    #[test]
    fn parse_v6() {
        assert_eq!(v6("::"), Ok([0; 8]));
        assert_eq!(v6("::1"), Ok([0, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(v6("1::"), Ok([1, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(v6("1::2:3:4:5:6:7"), Ok([1, 0, 2, 3, 4, 5, 6, 7]));
        assert_eq!(v6("::2:3:4:5:6:7:8"), Ok([0, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(v6("ABCD::EF"), Ok([0xabcd, 0, 0, 0, 0, 0, 0, 0xef]));
        assert_eq!(
            v6("1:2:3:4:5:6:1.2.3.4"),
            Ok([1, 2, 3, 4, 5, 6, 0x102, 0x304])
        );
        assert_eq!(
            v6("1:2:3:4:5::1.2.3.4"),
            Ok([1, 2, 3, 4, 5, 0, 0x102, 0x304])
        );
        assert_eq!(
            v6("::255.255.255.255"),
            Ok([0, 0, 0, 0, 0, 0, 0xffff, 0xffff])
        );
        assert_eq!(v6("0000:0000:0000:0000:0000:0000:0000:0000"), Ok([0; 8]));
    }

    #[test]
    fn parse_v6_errors() {
        use PtonError::*;
        let err = |t: &str| v6(t).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(
            err(":"),
            UnexpectedEnd {
                expected: "':' after a leading ':'"
            }
        );
        assert!(matches!(
            err(":1::"),
            UnexpectedByte {
                at: 1,
                byte: b'1',
                ..
            }
        ));
        assert_eq!(err(":::"), SecondDoubleColon { at: 1 });
        assert_eq!(err("1::2::3"), SecondDoubleColon { at: 4 });
        assert_eq!(
            err("1:"),
            UnexpectedEnd {
                expected: "a hex digit after ':'"
            }
        );
        assert_eq!(err("::12345"), GroupTooLong { at: 2 });
        assert_eq!(err("1:2:3:4:5:6:7"), TooFewGroups { groups: 7 });
        assert_eq!(err("1:2:3:4:5:6:7:8:9"), TooManyGroups { at: 16 });
        assert_eq!(err("1:2:3:4:5:6:7:8::"), EmptyDoubleColon { at: 15 });
        assert_eq!(err("1:2:3:4:5:6::1.2.3.4"), EmptyDoubleColon { at: 11 });
        assert_eq!(err("1:2:3:4:5:6:7:1.2.3.4"), TooManyGroups { at: 14 });
        assert_eq!(err("::01.2.3.4"), LeadingZero { at: 2 });
        assert_eq!(
            err("::1.2.3.4.5"),
            UnexpectedByte {
                at: 9,
                byte: b'.',
                expected: "a decimal digit or the end (4 parts at most)"
            }
        );
        assert!(matches!(
            err("::a.2.3.4"),
            UnexpectedByte {
                at: 2,
                byte: b'a',
                ..
            }
        ));
        assert!(matches!(
            err("fe80::1%eth0"),
            UnexpectedByte {
                at: 7,
                byte: b'%',
                ..
            }
        ));
        assert!(matches!(
            err("[::1]"),
            UnexpectedByte {
                at: 0,
                byte: b'[',
                ..
            }
        ));
        assert!(matches!(
            err("::1\0"),
            UnexpectedByte { at: 3, byte: 0, .. }
        ));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            inet_pton4(b"1.2.3.4.").unwrap_err().to_string(),
            "byte 7: unexpected '.', expected a decimal digit or the end (4 parts at most)"
        );
        assert_eq!(
            inet_pton6(b"1::2::3").unwrap_err().to_string(),
            "byte 4: second '::', at most one is allowed"
        );
        assert_eq!(
            inet_pton6(b"1:2").unwrap_err().to_string(),
            "2 groups and no '::', expected 8"
        );
    }

    #[test]
    fn hex_table() {
        for b in 0..=255u8 {
            let want = char::from(b).to_digit(16).map_or(NOT_HEX, |d| d as u8);
            assert_eq!(HEX_VALUE[usize::from(b)], want, "byte {b:#04x}");
        }
    }
}
