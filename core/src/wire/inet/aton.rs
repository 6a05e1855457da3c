//! `inet_aton(3)`: the permissive legacy IPv4 parser, and its inverse `inet_ntoa(3)`.

use core::fmt;
use core::net::Ipv4Addr;

use super::ByteLit;
use super::ntop::{self, InetLenError};

/// Parses an IPv4 address the permissive way `inet_aton(3)` does.
///
/// The input is 1 to 4 parts separated by `.`: `a.b.c.d`, `a.b.c` (`c` fills 16 bits), `a.b`
/// (`b` fills 24 bits) or `a` (all 32 bits). Each part is a C integer literal: `0x`/`0X` and
/// hex digits in either case, a leading `0` and octal digits, or decimal; any number of leading
/// zeros is fine. Parsing stops at the first ASCII whitespace (space, `\t \n \v \f \r`), and
/// whatever follows it is ignored, as glibc does (`"1.2.3.4 junk"` is `1.2.3.4`).
///
/// ```
/// use core::net::Ipv4Addr;
/// use portsock_core::wire::inet::inet_aton;
///
/// assert_eq!(inet_aton(b"127.1")?, Ipv4Addr::LOCALHOST);
/// assert_eq!(inet_aton(b"0x7f.1")?, Ipv4Addr::LOCALHOST);
/// assert_eq!(inet_aton(b"017.0.0.1")?, Ipv4Addr::new(15, 0, 0, 1));
/// assert_eq!(inet_aton(b"2130706433")?, Ipv4Addr::LOCALHOST);
/// assert_eq!(inet_aton(b"1.2 .3")?, Ipv4Addr::new(1, 0, 0, 2));
/// assert!(inet_aton(b"1.2.65536").is_err());
/// # Ok::<(), portsock_core::wire::inet::AtonError>(())
/// ```
///
/// # Errors
///
/// [`AtonError`] for leading whitespace, a sign, an empty input or part, a trailing `.`, `0x`
/// without digits, a digit outside the part's base (`08`), a part above its limit, more than
/// four parts, any other byte where a digit, `.`, whitespace or the end was expected (non-ASCII
/// included), and a NUL byte anywhere, even after the whitespace.
pub fn inet_aton(text: &[u8]) -> Result<Ipv4Addr, AtonError> {
    if text.is_empty() {
        return Err(AtonError::Empty);
    }
    // The first three parts, each already checked to be at most 255.
    let mut head = [0u8; 3];
    let mut parts = 0usize;
    let mut i = 0usize;
    let last = loop {
        let (value, end, radix) = parse_part(text, i)?;
        i = end;
        match text.get(i).copied() {
            None => break value,
            Some(b'.') => {
                let Some(slot) = head.get_mut(parts) else {
                    return Err(AtonError::TooManyParts { at: i });
                };
                *slot = match u8::try_from(value) {
                    Ok(byte) => byte,
                    Err(_) => {
                        return Err(AtonError::PartTooLarge {
                            part: part_no(parts),
                            max: 255,
                        });
                    }
                };
                parts += 1;
                i += 1;
            }
            Some(0) => return Err(AtonError::EmbeddedNul { at: i }),
            Some(byte) if is_c_space(byte) => {
                // glibc stops here; CPython has already refused any NUL in the whole string.
                if let Some(nul) = text[i..].iter().position(|&b| b == 0) {
                    return Err(AtonError::EmbeddedNul { at: i + nul });
                }
                break value;
            }
            Some(byte) => {
                return Err(AtonError::UnexpectedByte {
                    at: i,
                    byte,
                    expected: radix.after(),
                });
            }
        }
    };
    // The last part fills whatever the others left: 32, 24, 16 or 8 bits.
    let max = u32::MAX >> (8 * parts);
    let last = match u32::try_from(last) {
        Ok(v) if v <= max => v,
        _ => {
            return Err(AtonError::PartTooLarge {
                part: part_no(parts),
                max,
            });
        }
    };
    let mut addr = last;
    for (k, &byte) in head[..parts].iter().enumerate() {
        addr |= u32::from(byte) << (24 - 8 * k);
    }
    Ok(Ipv4Addr::from(addr))
}

/// Formats 4 packed bytes (network order) as dotted decimal, as `inet_ntoa(3)`.
///
/// ```
/// use portsock_core::wire::inet::inet_ntoa;
///
/// assert_eq!(inet_ntoa(&[192, 168, 1, 100])?, "192.168.1.100");
/// assert!(inet_ntoa(&[1, 2, 3]).is_err());
/// # Ok::<(), portsock_core::wire::inet::InetLenError>(())
/// ```
///
/// # Errors
///
/// [`InetLenError`] unless `packed` is exactly 4 bytes (CPython raises `OSError` there).
pub fn inet_ntoa(packed: &[u8]) -> Result<heapless::String<15>, InetLenError> {
    match <[u8; 4]>::try_from(packed) {
        Ok(octets) => Ok(ntop::inet_ntop4(&Ipv4Addr::from(octets))),
        Err(_) => Err(InetLenError::ipv4(packed.len())),
    }
}

/// Why [`inet_aton`] refused its input. Positions are 0-based byte offsets into the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AtonError {
    /// The input is empty.
    Empty,
    /// A byte that cannot appear here: a part must start with an ASCII digit, and a part ends
    /// with `.`, ASCII whitespace or the end of the input.
    UnexpectedByte {
        /// Offset of the byte.
        at: usize,
        /// The byte itself.
        byte: u8,
        /// What could have been there instead.
        expected: &'static str,
    },
    /// The input ends right after a `.`, where a part was expected.
    UnexpectedEnd {
        /// What was expected at the end.
        expected: &'static str,
    },
    /// `0x` or `0X` is not followed by a hex digit.
    MissingHexDigits {
        /// Offset of the `x` or `X`.
        at: usize,
    },
    /// A part is larger than the bits left for it: 255 for each of the first three, and for the
    /// last one 2³²-1, 2²⁴-1, 2¹⁶-1 or 255 when it is the 1st, 2nd, 3rd or 4th part.
    PartTooLarge {
        /// Which part, counting from 1.
        part: u8,
        /// The largest value allowed there.
        max: u32,
    },
    /// A `.` after the fourth part: at most four parts are allowed.
    TooManyParts {
        /// Offset of that `.`.
        at: usize,
    },
    /// A NUL byte, which CPython refuses anywhere in the string.
    EmbeddedNul {
        /// Offset of the NUL.
        at: usize,
    },
}

impl fmt::Display for AtonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => f.write_str("empty address, expected 1 to 4 numbers separated by '.'"),
            Self::UnexpectedByte { at, byte, expected } => {
                write!(
                    f,
                    "byte {at}: unexpected {}, expected {expected}",
                    ByteLit(byte)
                )
            }
            Self::UnexpectedEnd { expected } => write!(f, "unexpected end, expected {expected}"),
            Self::MissingHexDigits { at } => write!(f, "byte {at}: '0x' without hex digits"),
            Self::PartTooLarge { part, max } => write!(f, "part {part} exceeds {max}"),
            Self::TooManyParts { at } => {
                write!(f, "byte {at}: unexpected '.', at most 4 parts are allowed")
            }
            Self::EmbeddedNul { at } => write!(f, "byte {at}: embedded NUL"),
        }
    }
}

impl core::error::Error for AtonError {}

impl embedded_io::Error for AtonError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::InvalidInput
    }
}

/// The base a part was written in, which decides what may follow its digits.
#[derive(Clone, Copy)]
enum Radix {
    Octal,
    Decimal,
    Hex,
}

impl Radix {
    /// What [`AtonError::UnexpectedByte`] says was expected after a part's digits.
    const fn after(self) -> &'static str {
        match self {
            Self::Octal => "an octal digit, '.', whitespace or the end",
            Self::Decimal => "a digit, '.', whitespace or the end",
            Self::Hex => "a hex digit, '.', whitespace or the end",
        }
    }
}

/// Anything above `u32::MAX` is refused whatever the position, so values saturate here: this
/// keeps arbitrarily long digit strings (`00000000000000000001`, `99999999999999999999999`)
/// overflow-free.
const OVERFLOW: u64 = 1 << 32;

/// Parses one C integer literal starting at `at`, as `strtoul(.., 0)` after glibc's
/// `isdigit` check. Returns the value (saturated at [`OVERFLOW`]), the offset just after its
/// digits and its base.
fn parse_part(text: &[u8], at: usize) -> Result<(u64, usize, Radix), AtonError> {
    let Some(&first) = text.get(at) else {
        return Err(AtonError::UnexpectedEnd {
            expected: "a digit after '.'",
        });
    };
    if !first.is_ascii_digit() {
        let err = match first {
            0 => AtonError::EmbeddedNul { at },
            byte => AtonError::UnexpectedByte {
                at,
                byte,
                expected: "a digit",
            },
        };
        return Err(err);
    }
    if first != b'0' {
        return Ok(accumulate(text, at, 10, Radix::Decimal));
    }
    match text.get(at + 1) {
        Some(b'x' | b'X') => {
            // strtoul reads "0x" as hex only when a hex digit follows; otherwise it reads "0"
            // and glibc then rejects the 'x' as a trailing character.
            match text.get(at + 2) {
                Some(d) if d.is_ascii_hexdigit() => Ok(accumulate(text, at + 2, 16, Radix::Hex)),
                _ => Err(AtonError::MissingHexDigits { at: at + 1 }),
            }
        }
        _ => Ok(accumulate(text, at, 8, Radix::Octal)),
    }
}

/// Reads digits of `radix` from `at` on (at least one is there), saturating at [`OVERFLOW`].
fn accumulate(text: &[u8], at: usize, radix: u32, kind: Radix) -> (u64, usize, Radix) {
    let mut value = 0u64;
    let mut i = at;
    while let Some(digit) = text.get(i).and_then(|&b| char::from(b).to_digit(radix)) {
        // value <= 2^32 and digit < 16, so this stays far below u64::MAX.
        value = (value * u64::from(radix) + u64::from(digit)).min(OVERFLOW);
        i += 1;
    }
    (value, i, kind)
}

/// The 1-based number of the part at 0-based index `index` (at most 3).
fn part_no(index: usize) -> u8 {
    u8::try_from(index + 1).unwrap_or(u8::MAX)
}

/// `isspace` in the C locale, restricted to ASCII as glibc's `isascii(c) && isspace(c)`.
const fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    fn ok(text: &str) -> [u8; 4] {
        match inet_aton(text.as_bytes()) {
            Ok(addr) => addr.octets(),
            Err(err) => panic!("{text:?}: {err}"),
        }
    }

    #[test]
    fn parse_every_form() {
        assert_eq!(ok("127.0.0.1"), [127, 0, 0, 1]);
        assert_eq!(ok("127.1"), [127, 0, 0, 1]);
        assert_eq!(ok("0x7f.1"), [127, 0, 0, 1]);
        assert_eq!(ok("017.0.0.1"), [15, 0, 0, 1]);
        assert_eq!(ok("1.2.3"), [1, 2, 0, 3]);
        assert_eq!(ok("1.2.0xffff"), [1, 2, 255, 255]);
        assert_eq!(ok("1.16777215"), [1, 255, 255, 255]);
        assert_eq!(ok("4294967295"), [255; 4]);
        assert_eq!(ok("0XFFFFFFFF"), [255; 4]);
        assert_eq!(ok("037777777777"), [255; 4]);
        assert_eq!(ok("00000000000000000001"), [0, 0, 0, 1]);
        assert_eq!(ok("0x00000000000000000001"), [0, 0, 0, 1]);
        assert_eq!(ok("0"), [0; 4]);
        assert_eq!(ok("0x0"), [0; 4]);
    }

    #[test]
    fn parse_stops_at_whitespace() {
        assert_eq!(ok("1.2.3.4 junk"), [1, 2, 3, 4]);
        assert_eq!(ok("1.2.3.4\x0bx"), [1, 2, 3, 4]);
        assert_eq!(ok("1.2 .3"), [1, 0, 0, 2]);
        assert_eq!(ok("8\t6.0x72.129.0"), [0, 0, 0, 8]);
        assert_eq!(ok("1.2.3.4 \u{e9}"), [1, 2, 3, 4]);
    }

    #[test]
    fn parse_errors() {
        use AtonError::*;
        let err = |text: &str| inet_aton(text.as_bytes()).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(
            err(" 1"),
            UnexpectedByte {
                at: 0,
                byte: b' ',
                expected: "a digit"
            }
        );
        assert_eq!(
            err("+1"),
            UnexpectedByte {
                at: 0,
                byte: b'+',
                expected: "a digit"
            }
        );
        assert_eq!(err("0x"), MissingHexDigits { at: 1 });
        assert_eq!(err("1.0x.1"), MissingHexDigits { at: 3 });
        assert_eq!(
            err("08"),
            UnexpectedByte {
                at: 1,
                byte: b'8',
                expected: Radix::Octal.after()
            }
        );
        assert_eq!(
            err("1..2"),
            UnexpectedByte {
                at: 2,
                byte: b'.',
                expected: "a digit"
            }
        );
        assert_eq!(
            err("1.2.3."),
            UnexpectedEnd {
                expected: "a digit after '.'"
            }
        );
        assert_eq!(err("1.2.3.4.5"), TooManyParts { at: 7 });
        assert_eq!(
            err("1.2.65536"),
            PartTooLarge {
                part: 3,
                max: 65535
            }
        );
        assert_eq!(err("256.1"), PartTooLarge { part: 1, max: 255 });
        assert_eq!(
            err("1.16777216"),
            PartTooLarge {
                part: 2,
                max: 0xff_ffff
            }
        );
        assert_eq!(
            err("4294967296"),
            PartTooLarge {
                part: 1,
                max: u32::MAX
            }
        );
        assert_eq!(
            err("99999999999999999999999"),
            PartTooLarge {
                part: 1,
                max: u32::MAX
            }
        );
        assert_eq!(err("1.2.3.4\0"), EmbeddedNul { at: 7 });
        assert_eq!(err("1.2.3.4 x\0"), EmbeddedNul { at: 9 });
        assert_eq!(err("\0"), EmbeddedNul { at: 0 });
        assert_eq!(
            err("1.2.3.4\u{a0}"),
            UnexpectedByte {
                at: 7,
                byte: 0xc2,
                expected: Radix::Decimal.after()
            }
        );
        assert_eq!(
            err("0x1g"),
            UnexpectedByte {
                at: 3,
                byte: b'g',
                expected: Radix::Hex.after()
            }
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            inet_aton(b"1.2.65536").unwrap_err().to_string(),
            "part 3 exceeds 65535"
        );
        assert_eq!(
            inet_aton(b"1.2.3.4.").unwrap_err().to_string(),
            "byte 7: unexpected '.', at most 4 parts are allowed"
        );
        assert_eq!(
            inet_aton(b"1.2.3.4x").unwrap_err().to_string(),
            "byte 7: unexpected 'x', expected a digit, '.', whitespace or the end"
        );
    }

    #[test]
    fn emit_ntoa() {
        assert_eq!(inet_ntoa(&[0, 0, 0, 0]).as_deref(), Ok("0.0.0.0"));
        assert_eq!(
            inet_ntoa(&[255, 255, 255, 255]).as_deref(),
            Ok("255.255.255.255")
        );
        assert_eq!(inet_ntoa(&[10, 0, 0, 255]).as_deref(), Ok("10.0.0.255"));
        assert_eq!(inet_ntoa(&[1, 2, 3]), Err(InetLenError::ipv4(3)));
        assert_eq!(inet_ntoa(&[0; 16]), Err(InetLenError::ipv4(16)));
    }

    #[test]
    fn roundtrip_every_octet() {
        for b in 0..=255u8 {
            let packed = [b, 255 - b, b / 3, b.wrapping_mul(7)];
            let text = inet_ntoa(&packed).unwrap();
            assert_eq!(inet_aton(text.as_bytes()).map(|a| a.octets()), Ok(packed));
        }
    }
}
