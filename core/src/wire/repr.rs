//! Python's `repr` of the values the codec deals in, through `core::fmt` (no allocation).
//!
//! [`PyFloat`], [`PyBytes`] and [`PyTuple`] print exactly what CPython 3.11's `repr` prints, so
//! `print(struct.unpack(...))` can be reproduced byte for byte with [`write_tuple`]. A
//! [`Value`] displays as the `repr` of the Python object it stands for. [`PyAddr`] prints a
//! socket address as `print(addr)` shows the tuple `accept()` or `recvfrom()` returned, and
//! [`Thousands`] a count as `f"{n:,}"` does.
//!
//! ```
//! use portsock_core::wire::repr::{PyBytes, PyFloat, write_tuple};
//! use portsock_core::wire::structfmt::Value;
//!
//! assert_eq!(PyFloat(1e16).to_string(), "1e+16");
//! assert_eq!(PyFloat(f64::from(2.7f32)).to_string(), "2.700000047683716");
//! assert_eq!(PyBytes(b"it's").to_string(), r#"b"it's""#);
//!
//! let mut out = String::new();
//! write_tuple(&mut out, [Value::Int(1), Value::Bytes(b"ab"), Value::Bool(true)])?;
//! assert_eq!(out, "(1, b'ab', True)");
//!
//! use portsock_core::wire::repr::{PyAddr, Thousands};
//! assert_eq!(PyAddr("127.0.0.1:10000".parse()?).to_string(), "('127.0.0.1', 10000)");
//! assert_eq!(PyAddr("[::1]:10000".parse()?).to_string(), "('::1', 10000, 0, 0)");
//! assert_eq!(Thousands(65_507).to_string(), "65,507");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt::{self, Write};
use core::net::SocketAddr;

use super::inet::{inet_ntop4, inet_ntop6};
use super::structfmt::Value;

/// Displays a float as Python's `repr(float)`: the shortest digits that round-trip, in
/// positional form for exponents -4..=15 (`0.0001`, `1234567890123456.0`) and exponent form
/// outside it (`1e-05`, `1e+16`, `2.5e-308`), and `inf`, `-inf`, `nan`, `-0.0`.
///
/// Honours width and alignment flags (`{:>10}`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PyFloat(pub f64);

/// Displays bytes as Python's `repr(bytes)`: `b'...'`, with `\t \n \r \\`, `\xNN` for other
/// bytes below 0x20 or from 0x7f, and double quotes if the data has `'` but no `"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyBytes<'a>(pub &'a [u8]);

/// Displays values as Python's `repr(tuple)`: `()`, `(True,)`, `(1, b'ab', 2.5)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PyTuple<'v, 'a>(pub &'v [Value<'a>]);

/// Displays an IP socket address as Python's `print()` shows the tuple the socket calls return:
/// `('127.0.0.1', 10000)` for IPv4 and `('::1', 10000, 0, 0)` for IPv6 (host, port, flow info,
/// scope id). The host is written as glibc's `inet_ntop(3)` writes it, as CPython's is, so
/// `::1:2` shows as `'::0.1.0.2'`; it carries no `%zone` (the scope is the fourth field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyAddr(pub SocketAddr);

/// Displays a count with a comma between groups of three digits, as Python's `f"{n:,}"`:
/// `65,507`, `999`, `1,000,000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thousands(pub u64);

/// Writes the values as Python's `repr(tuple)`, as [`PyTuple`] does, from any iterator (such
/// as an [`Unpack`](super::structfmt::Unpack)).
///
/// # Errors
///
/// Whatever `w` returns.
pub fn write_tuple<'a, W: Write>(
    w: &mut W,
    values: impl IntoIterator<Item = Value<'a>>,
) -> fmt::Result {
    w.write_char('(')?;
    let mut count = 0usize;
    for value in values {
        if count > 0 {
            w.write_str(", ")?;
        }
        write!(w, "{value}")?;
        count += 1;
    }
    if count == 1 {
        w.write_char(',')?;
    }
    w.write_char(')')
}

impl fmt::Display for PyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SocketAddr::V4(a) => write!(f, "('{}', {})", inet_ntop4(a.ip()), a.port()),
            SocketAddr::V6(a) => write!(
                f,
                "('{}', {}, {}, {})",
                inet_ntop6(a.ip()),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
        }
    }
}

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64::MAX has 20 digits.
        let mut digits = [0u8; 20];
        let mut n = self.0;
        let mut len = 0;
        loop {
            // The remainder is below 10, so the cast keeps it.
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for i in (0..len).rev() {
            f.write_char(char::from(digits[i]))?;
            if i > 0 && i % 3 == 0 {
                f.write_char(',')?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for PyFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_nan() {
            return f.pad("nan");
        }
        if x.is_infinite() || x == 0.0 {
            let text = match (x.is_infinite(), x.is_sign_negative()) {
                (true, false) => "inf",
                (true, true) => "-inf",
                (false, false) => "0.0",
                (false, true) => "-0.0",
            };
            return f.pad(text);
        }
        // Rust's `{:e}` without a precision prints the shortest round-tripping digits, the same
        // digits as Python's repr (both pick the closest of the shortest); only the layout
        // differs.
        let mut sci = StackStr::<32>::new();
        write!(sci, "{:e}", x.abs())?;
        let (mantissa, exp) = sci.as_str().split_once('e').ok_or(fmt::Error)?;
        let exp: i32 = exp.parse().map_err(|_| fmt::Error)?;
        let mut digits = StackStr::<24>::new();
        for d in mantissa.chars().filter(char::is_ascii_digit) {
            digits.write_char(d)?;
        }
        round_tie_to_even(&mut digits, exp, x.abs());
        let digits = digits.as_str();

        let mut out = StackStr::<40>::new();
        if x.is_sign_negative() {
            out.write_char('-')?;
        }
        if !(-4..16).contains(&exp) {
            let (first, rest) = digits.split_at_checked(1).ok_or(fmt::Error)?;
            out.write_str(first)?;
            if !rest.is_empty() {
                write!(out, ".{rest}")?;
            }
            let sign = if exp < 0 { '-' } else { '+' };
            write!(out, "e{sign}{:02}", exp.unsigned_abs())?;
        } else if exp < 0 {
            out.write_str("0.")?;
            for _ in 0..(-exp - 1) {
                out.write_char('0')?;
            }
            out.write_str(digits)?;
        } else {
            let int_len = exp.unsigned_abs() as usize + 1;
            match digits.split_at_checked(int_len) {
                Some((int, frac)) if !frac.is_empty() => write!(out, "{int}.{frac}")?,
                _ => {
                    out.write_str(digits)?;
                    for _ in digits.len()..int_len {
                        out.write_char('0')?;
                    }
                    out.write_str(".0")?;
                }
            }
        }
        f.pad(out.as_str())
    }
}

impl fmt::Display for PyBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.0;
        let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
            b'"'
        } else {
            b'\''
        };
        f.write_char('b')?;
        f.write_char(char::from(quote))?;
        // Plain bytes go out in runs, one write per run rather than per byte.
        let plain = |c: u8| (0x20..0x7f).contains(&c) && c != quote && c != b'\\';
        let mut rest = data;
        while !rest.is_empty() {
            let run = rest.iter().position(|&c| !plain(c)).unwrap_or(rest.len());
            let (text, tail) = rest.split_at(run);
            f.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?)?;
            let Some((&c, tail)) = tail.split_first() else {
                break;
            };
            match c {
                b'\t' => f.write_str("\\t")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..0x7f => write!(f, "\\{}", char::from(c))?,
                _ => write!(f, "\\x{c:02x}")?,
            }
            rest = tail;
        }
        f.write_char(char::from(quote))
    }
}

impl fmt::Display for PyTuple<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_tuple(f, self.0.iter().copied())
    }
}

/// Displays the `repr` of the Python object: `42`, `True`, `2.5`, `b'ab'`; a
/// [`Value::BigInt`] prints its digits without a `+` sign or leading zeros.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Int(i) => write!(f, "{i}"),
            Self::BigInt(text) => {
                let (negative, digits) = match text.strip_prefix('-') {
                    Some(digits) => (true, digits),
                    None => (false, text.strip_prefix('+').unwrap_or(text)),
                };
                let digits = digits.trim_start_matches('0');
                match (digits.is_empty(), negative) {
                    (true, _) => f.write_str("0"),
                    (false, true) => write!(f, "-{digits}"),
                    (false, false) => f.write_str(digits),
                }
            }
            Self::Float(x) => PyFloat(x).fmt(f),
            Self::Bool(true) => f.write_str("True"),
            Self::Bool(false) => f.write_str("False"),
            Self::Bytes(b) => PyBytes(b).fmt(f),
        }
    }
}

/// Breaks a tie between two shortest candidates the way Python does.
///
/// When |x| lies exactly halfway between two decimal strings of the same shortest length that
/// both round to it, Rust's shortest formatting picks the upper one and Python's dtoa (mode 0)
/// the one with an even last digit. `digits` (n digits, first at 10^exp) is Rust's choice; if
/// its last digit is odd, |x| is exactly `digits - 0.5` units in the last place and the lower
/// candidate also round-trips, switch to the lower one.
fn round_tie_to_even(digits: &mut StackStr<24>, exp: i32, x: f64) {
    let Some(&last) = digits.as_str().as_bytes().last() else {
        return;
    };
    if (last - b'0').is_multiple_of(2) {
        return;
    }
    let Ok(value) = digits.as_str().parse::<u64>() else {
        return;
    };
    let Ok(n) = i32::try_from(digits.len) else {
        return;
    };
    // The midpoint is (10 * value - 5) * 10^(exp - n), an (n + 1)-digit decimal ending in 5.
    let Some(mid) = value.checked_mul(10).and_then(|v| v.checked_sub(5)) else {
        return;
    };
    if !equals_decimal(x, mid, exp - n) {
        return;
    }
    let mut lower = *digits;
    if let Some(d) = lower.buf.get_mut(lower.len.wrapping_sub(1)) {
        *d -= 1;
    }
    while lower.len > 1 && lower.buf.get(lower.len - 1) == Some(&b'0') {
        lower.len -= 1;
    }
    let mut text = StackStr::<40>::new();
    let (first, rest) = lower.as_str().split_at_checked(1).unwrap_or(("0", ""));
    if write!(text, "{first}.{rest}0e{exp}").is_ok() && text.as_str().parse::<f64>() == Ok(x) {
        *digits = lower;
    }
}

/// Whether the positive finite `x` equals `c * 10^k` exactly (integer arithmetic only).
fn equals_decimal(x: f64, c: u64, k: i32) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), biased - 1075)
    };
    if m == 0 || c == 0 {
        return false;
    }
    // Strip the powers of two: x = m_odd * 2^e2, c * 10^k = c_odd * 5^k * 2^(k + tz(c)).
    let (m_odd, e2) = (m >> m.trailing_zeros(), e + m.trailing_zeros() as i32);
    let (c_odd, c2) = (c >> c.trailing_zeros(), c.trailing_zeros() as i32);
    let pow5 = |j: u32| 5u128.checked_pow(j);
    if k >= 0 {
        // m_odd * 2^e2 == c_odd * 5^k * 2^(k + c2)
        e2 == k + c2
            && pow5(k.unsigned_abs()).and_then(|p| p.checked_mul(u128::from(c_odd)))
                == Some(u128::from(m_odd))
    } else {
        // m_odd * 5^j * 2^(e2 + j) == c_odd * 2^c2, with j = -k
        e2 - k == c2
            && pow5(k.unsigned_abs()).and_then(|p| p.checked_mul(u128::from(m_odd)))
                == Some(u128::from(c_odd))
    }
}

/// A fixed-capacity ASCII string on the stack; writing past the end is a `fmt::Error`.
#[derive(Clone, Copy)]
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl<const N: usize> Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::string::{String, ToString};

    use super::*;

    #[test]
    fn addresses_print_as_python_tuples() {
        let addr = |s: &str| PyAddr(s.parse().unwrap()).to_string();
        assert_eq!(addr("127.0.0.1:10000"), "('127.0.0.1', 10000)");
        assert_eq!(addr("0.0.0.0:0"), "('0.0.0.0', 0)");
        assert_eq!(addr("[::1]:10000"), "('::1', 10000, 0, 0)");
        // glibc's text, not std's: CPython prints `::1:2` with an embedded IPv4 address.
        assert_eq!(addr("[::1:2]:7"), "('::0.1.0.2', 7, 0, 0)");
        let scoped = core::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 80, 3, 1);
        assert_eq!(PyAddr(scoped.into()).to_string(), "('fe80::1', 80, 3, 1)");
    }

    #[test]
    fn thousands_groups_digits() {
        let t = |n: u64| Thousands(n).to_string();
        assert_eq!(t(0), "0");
        assert_eq!(t(999), "999");
        assert_eq!(t(1_000), "1,000");
        assert_eq!(t(65_507), "65,507");
        assert_eq!(t(1_234_567), "1,234,567");
        assert_eq!(t(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn float_positional_and_exponent() {
        let cases: &[(f64, &str)] = &[
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1.5, "1.5"),
            (100.0, "100.0"),
            (-2.5e-308, "-2.5e-308"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (f64::from(2.7f32), "2.700000047683716"),
            // An exact tie between two 17-digit candidates: Python keeps the even one.
            (-1761.0 / 1_048_576.0, "-0.0016794204711914062"),
            (9007199254740993.0, "9007199254740992.0"),
            (1.5e300, "1.5e+300"),
        ];
        for &(x, text) in cases {
            assert_eq!(PyFloat(x).to_string(), text, "{x:e}");
        }
    }

    #[test]
    fn float_specials() {
        assert_eq!(PyFloat(f64::NAN).to_string(), "nan");
        assert_eq!(PyFloat(-f64::NAN).to_string(), "nan");
        assert_eq!(PyFloat(f64::INFINITY).to_string(), "inf");
        assert_eq!(PyFloat(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(PyFloat(0.0).to_string(), "0.0");
        assert_eq!(PyFloat(-0.0).to_string(), "-0.0");
        assert_eq!(std::format!("{:>6}", PyFloat(1.5)), "   1.5");
    }

    #[test]
    fn bytes_escapes_and_quotes() {
        assert_eq!(PyBytes(b"").to_string(), "b''");
        assert_eq!(PyBytes(b"'").to_string(), r#"b"'""#);
        assert_eq!(PyBytes(b"\"").to_string(), r#"b'"'"#);
        assert_eq!(PyBytes(b"'\"").to_string(), r#"b'\'"'"#);
        assert_eq!(
            PyBytes(b"a\\b\t\n\r\x00\x7f\xff ~").to_string(),
            r"b'a\\b\t\n\r\x00\x7f\xff ~'"
        );
    }

    #[test]
    fn tuple_shapes() {
        assert_eq!(PyTuple(&[]).to_string(), "()");
        assert_eq!(PyTuple(&[Value::Bool(true)]).to_string(), "(True,)");
        let mut out = String::new();
        write_tuple(
            &mut out,
            [Value::Int(-1), Value::Float(2.5), Value::Bool(false)],
        )
        .unwrap();
        assert_eq!(out, "(-1, 2.5, False)");
    }

    #[test]
    fn big_int_text() {
        assert_eq!(Value::BigInt("+000123").to_string(), "123");
        assert_eq!(Value::BigInt("-0").to_string(), "0");
        assert_eq!(
            Value::BigInt("-170141183460469231731687303715884105729").to_string(),
            "-170141183460469231731687303715884105729"
        );
    }
}
