//! `print(t)` of an unpacked tuple, written straight into a byte buffer: the same text as the
//! core's `repr::write_tuple` (CPython 3.11's `repr`), without going through `core::fmt`, for
//! `struct unpack --iter`, which prints millions of tuples.
//!
//! Floats take zmij's shortest round-trip digits (Schubfach, the closest of the shortest and
//! an exact tie to the even digit, as CPython's dtoa in mode 0 picks them) laid out as Python
//! lays them out; the core's `PyFloat` gets the same digits from `core::fmt` and a tie-break
//! that parses them again, several times slower. Integers are written eight digits at a time.

use std::io::Write as _;

use portsock_core::wire::structfmt::Value;

/// Appends Python's `repr` of the tuple and a newline, as `print(t)` writes it.
pub(super) fn write_tuple<'a>(out: &mut Vec<u8>, values: impl Iterator<Item = Value<'a>>) {
    out.push(b'(');
    let mut count = 0usize;
    for value in values {
        if count > 0 {
            out.extend_from_slice(b", ");
        }
        match value {
            Value::Int(i) => match i64::try_from(i) {
                Ok(small) => push_i64(out, small),
                // Only `Q` and `P` values past i64::MAX.
                Err(_) => push_display(out, value),
            },
            Value::Float(x) => push_float(out, x),
            Value::Bytes(b) => push_bytes(out, b),
            Value::Bool(true) => out.extend_from_slice(b"True"),
            Value::Bool(false) => out.extend_from_slice(b"False"),
            Value::BigInt(_) => push_display(out, value),
        }
        count += 1;
    }
    if count == 1 {
        out.push(b',');
    }
    out.extend_from_slice(b")\n");
}

/// Appends the value's `repr` through `core::fmt`: for the rare values the others leave out.
/// Kept out of line, as the float and bytes writers are, so that the loop over a record's
/// values stays small enough for the compiler to inline the unpacking into it (a third of the
/// time of integer records otherwise).
#[cold]
#[inline(never)]
fn push_display(out: &mut Vec<u8>, value: Value<'_>) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{value}");
}

/// Appends `repr(x)`: the shortest digits that round-trip, positional for decimal exponents
/// -4..=15 (`0.0001`, `1234567890123456.0`), else `1e-05`, `1.5e+16` (at least two exponent
/// digits); `inf`, `-inf`, `nan`, `0.0`, `-0.0`.
#[inline(never)]
pub(super) fn push_float(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        out.extend_from_slice(match (x.is_nan(), x.is_sign_negative()) {
            (true, _) => b"nan",
            (false, false) => b"inf",
            (false, true) => b"-inf",
        });
        return;
    }
    let mut buf = zmij::Buffer::new();
    let text = buf.format_finite(x).as_bytes();
    // From 1e-4 (just above 10^-4) up to 1e16 the shortest digits start at 10^-4 ..= 10^15
    // (digits outside would not round to x), where both write positional text alike.
    if (1e-4..1e16).contains(&x.abs()) {
        push_short(out, text);
        return;
    }
    // zmij's layout differs from Python's in two places only: it writes 10^-5 positionally
    // (`0.00001234`, Python `1.234e-05`), and one-digit exponents as `e-7` (Python `e-07`).
    let (sign, body) = match text.split_first() {
        Some((b'-', body)) => (&text[..1], body),
        _ => (&text[..0], text),
    };
    if let Some(e) = body.iter().rposition(|&c| c == b'e') {
        let (mantissa, exp) = body.split_at(e);
        // `exp` is `e`, a sign and one to three digits.
        if exp.len() == 3 {
            out.extend_from_slice(text.get(..text.len() - 1).unwrap_or(text));
            out.push(b'0');
            out.extend_from_slice(&exp[2..]);
        } else {
            out.extend_from_slice(sign);
            out.extend_from_slice(mantissa);
            out.extend_from_slice(exp);
        }
    } else if let Some(digits) = body.strip_prefix(b"0.0000") {
        // The first digit at 10^-5 (10^-6 and below are already in exponent form).
        out.extend_from_slice(sign);
        if let Some((first, rest)) = digits.split_first() {
            out.push(*first);
            if !rest.is_empty() {
                out.push(b'.');
                out.extend_from_slice(rest);
            }
        }
        out.extend_from_slice(b"e-05");
    } else {
        out.extend_from_slice(text);
    }
}

/// Appends `repr(bytes)`: `b'...'`, with `\t \n \r \\`, `\xNN` for other bytes below 0x20 or
/// from 0x7f, and double quotes if the data has `'` but no `"`.
#[inline(never)]
pub(super) fn push_bytes(out: &mut Vec<u8>, data: &[u8]) {
    let plain = |c: &u8| (0x20..0x7f).contains(c) && *c != b'\'' && *c != b'\\';
    if data.iter().all(plain) {
        out.extend_from_slice(b"b'");
        push_short(out, data);
        out.push(b'\'');
        return;
    }
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(b'b');
    out.push(quote);
    for &c in data {
        match c {
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ if c == quote => out.extend_from_slice(&[b'\\', c]),
            0x20..0x7f => out.push(c),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]),
        }
    }
    out.push(quote);
}

/// Appends `text`, with fixed-size copies when it is at most 32 bytes (a float's text, a short
/// field): a call to `memmove` per value was a sixth of the time of float records.
#[inline(always)]
fn push_short(out: &mut Vec<u8>, text: &[u8]) {
    let n = text.len();
    if n > 32 {
        out.extend_from_slice(text);
        return;
    }
    let start = out.len();
    out.extend_from_slice(&[0; 32]);
    if let Some(dst) = out.get_mut(start..start + 32) {
        // Two copies of a fixed width that overlap in the middle cover any length between
        // that width and twice it.
        let pair = |dst: &mut [u8], w: usize| {
            dst[..w].copy_from_slice(&text[..w]);
            dst[n - w..n].copy_from_slice(&text[n - w..]);
        };
        match n {
            16.. => pair(dst, 16),
            8..16 => pair(dst, 8),
            4..8 => pair(dst, 4),
            _ => dst[..n].copy_from_slice(text),
        }
    }
    out.truncate(start + n);
}

/// Lower-case hex digits, as `repr(bytes)` writes `\xNN`.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `n` in decimal. itoa (tried first) formats into its own buffer, and copying its
/// digits out reads back bytes just stored two at a time, which the CPU cannot forward to a
/// wider load: half of `--iter`'s time on integer records. These write straight into `out`,
/// eight digits at a time in independent pairs, so that a ten-digit timestamp is not one long
/// chain of divisions either.
#[inline(always)]
pub(super) fn push_i64(out: &mut Vec<u8>, n: i64) {
    const E8: u64 = 100_000_000;
    if n < 0 {
        out.push(b'-');
    }
    let n = n.unsigned_abs();
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let start = out.len();
    // A fixed run (u64::MAX has 20 digits), written over and cut to length.
    out.extend_from_slice(&[b'0'; 20]);
    let Some(dst) = out.get_mut(start..start + len) else {
        return;
    };
    // Each part is below 10^8, so the casts keep it.
    if n < E8 {
        put_small(dst, n as u32);
    } else if let Some((high, low)) = dst.split_at_mut_checked(len.saturating_sub(8)) {
        let top = n / E8;
        if top < E8 {
            put_small(high, top as u32);
        } else if let Some((higher, mid)) = high.split_at_mut_checked(len.saturating_sub(16)) {
            put_small(higher, (top / E8) as u32);
            put8(mid, (top % E8) as u32);
        }
        put8(low, (n % E8) as u32);
    }
    out.truncate(start + len);
}

/// Writes `x` (below 10^8) as exactly `dst.len()` digits, the last first.
#[inline(always)]
fn put_small(dst: &mut [u8], mut x: u32) {
    let mut end = dst.len();
    while end >= 2 {
        let pair = 2 * (x % 100) as usize;
        x /= 100;
        end -= 2;
        dst[end..end + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if end == 1 {
        dst[0] = b'0' + (x % 10) as u8;
    }
}

/// Writes `x` (below 10^8) as eight digits, its four pairs computed independently.
#[inline(always)]
fn put8(dst: &mut [u8], x: u32) {
    let (a, b) = (x / 10_000, x % 10_000);
    for (i, q) in [a / 100, a % 100, b / 100, b % 100].into_iter().enumerate() {
        let q = 2 * q as usize;
        if let (Some(d), Some(p)) = (dst.get_mut(2 * i..2 * i + 2), PAIRS.get(q..q + 2)) {
            d.copy_from_slice(p);
        }
    }
}

/// "00" to "99".
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

#[cfg(test)]
mod tests {
    use portsock_core::wire::repr::{PyBytes, PyFloat};

    use super::*;

    fn float(x: f64) -> String {
        let mut out = Vec::new();
        push_float(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    /// xorshift64: reproducible bit patterns.
    fn bits(seed: u64) -> impl Iterator<Item = u64> {
        let mut x = seed;
        std::iter::repeat_with(move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
    }

    #[test]
    fn tuples_as_python_prints_them() {
        let mut out = Vec::new();
        write_tuple(&mut out, [Value::Int(-5)].into_iter());
        write_tuple(&mut out, [].into_iter());
        let values = [
            Value::Int(i128::from(u64::MAX) + 1),
            Value::Bytes(b"a'"),
            Value::Float(2.7),
            Value::Bool(false),
            Value::Float(f64::NAN),
        ];
        write_tuple(&mut out, values.into_iter());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(-5,)\n()\n(18446744073709551616, b\"a'\", 2.7, False, nan)\n"
        );
    }

    #[test]
    fn integers_as_display_writes_them() {
        let mut cases = vec![0, 1, -1, 9, 10, 99, 100, 101, i64::MIN, i64::MAX];
        cases.extend((0..19).flat_map(|p| {
            let t = 10i64.pow(p);
            [t - 1, t, t + 1, -t]
        }));
        for n in cases {
            let mut out = b"x".to_vec();
            push_i64(&mut out, n);
            assert_eq!(std::str::from_utf8(&out[1..]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn floats_in_python_layout() {
        let cases: &[(f64, &str)] = &[
            (1e-05, "1e-05"),
            (1.234e-05, "1.234e-05"),
            (-9.99e-05, "-9.99e-05"),
            (0.0001, "0.0001"),
            (1e-07, "1e-07"),
            (-2.5e-7, "-2.5e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e100, "1e+100"),
            (1234567890123456.0, "1234567890123456.0"),
            (100.0, "100.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-f64::NAN, "nan"),
            (5e-324, "5e-324"),
            (f64::from(2.7f32), "2.700000047683716"),
            (-1761.0 / 1_048_576.0, "-0.0016794204711914062"),
            (9007199254740993.0, "9007199254740992.0"),
        ];
        for &(x, text) in cases {
            assert_eq!(float(x), text, "{x:e}");
        }
    }

    /// The same text as the core's `PyFloat` (checked against CPython's vectors) on the
    /// layout's edges, powers of ten and their neighbours, exact ties, subnormals and random
    /// doubles and widened singles; tests/cli_struct_floats.rs checks millions against CPython.
    #[test]
    fn floats_as_the_core_prints_them() {
        let mut xs: Vec<f64> = Vec::new();
        for p in -325..=308 {
            let t: f64 = format!("1e{p}").parse().unwrap();
            xs.extend([t, t.next_up(), t.next_down(), 1.5 * t, 9.5 * t]);
        }
        // Dyadic rationals with short significands: where two shortest candidates tie.
        for m in 1..200u32 {
            for e in [-80, -60, -40, -30, -20, -10, 40, 50, 53, 54, 60] {
                xs.push(f64::from(m) * 2f64.powi(e));
            }
        }
        xs.extend(
            bits(7)
                .take(20_000)
                .map(|b| f64::from_bits(b & 0x000f_ffff_ffff_ffff)),
        );
        xs.extend(bits(11).take(100_000).map(f64::from_bits));
        xs.extend(
            bits(13)
                .take(100_000)
                .map(|b| f64::from(f32::from_bits(b as u32))),
        );
        for x in xs {
            for x in [x, -x] {
                assert_eq!(float(x), PyFloat(x).to_string(), "{:#x}", x.to_bits());
            }
        }
    }

    #[test]
    fn bytes_as_the_core_prints_them() {
        let mut cases: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for pair in [b"'\"", b"a'", b"a\"", b"\\'", b"''", b"ab"] {
            cases.push(pair.to_vec());
        }
        cases.extend(
            bits(5)
                .take(2000)
                .map(|b| b.to_le_bytes()[..(b % 9) as usize].to_vec()),
        );
        for data in cases {
            let mut out = Vec::new();
            push_bytes(&mut out, &data);
            assert_eq!(String::from_utf8(out).unwrap(), PyBytes(&data).to_string());
        }
    }
}
