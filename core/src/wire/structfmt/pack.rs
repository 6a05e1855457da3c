//! Packing one value, after the `np_*`, `lp_*` and `bp_*` functions of CPython's
//! `Modules/_struct.c`: which Python kinds each code accepts, range checks, rounding.
//!
//! The hot path ([`encode`]) reports failures as a one-byte [`Fault`]; [`describe`] turns it
//! into a full [`PackError`] only when a value is actually refused.

use super::float::{f64_to_f16, f64_to_f32};
use super::parse::Kind;
use super::{PackError, Value};

/// The `size` bytes at `offset` of `buf`, or why they do not exist.
#[inline]
pub(super) fn region_mut(
    buf: &mut [u8],
    offset: usize,
    size: usize,
) -> Result<&mut [u8], PackError> {
    let got = buf.len();
    offset
        .checked_add(size)
        .and_then(|end| buf.get_mut(offset..end))
        .ok_or(PackError::BufferTooSmall {
            offset,
            need: size,
            got,
        })
}

/// Writes `v` as `kind` at `offset` of the record `region`, which the caller has zero-filled.
///
/// `item` and `code` only label errors.
#[inline(always)]
pub(super) fn pack_value(
    kind: Kind,
    region: &mut [u8],
    offset: usize,
    v: &Value<'_>,
    item: usize,
    code: u8,
) -> Result<(), PackError> {
    match encode(kind, region, offset, v) {
        Ok(()) => Ok(()),
        Err(fault) => Err(describe(fault, kind, region.len(), offset, v, item, code)),
    }
}

/// Why a value was refused, small enough to travel in a register on the hot path.
#[derive(Clone, Copy, Debug)]
pub(super) enum Fault {
    WrongKind,
    OutOfRange,
    CharLength,
    FloatOverflow,
    IntTooLargeForFloat,
    InvalidBigInt,
    NoRoom,
}

/// Writes `v` as `kind` at `offset` of the record `region` (zeroed where nothing writes).
#[inline(always)]
pub(super) fn encode(
    kind: Kind,
    region: &mut [u8],
    offset: usize,
    v: &Value<'_>,
) -> Result<(), Fault> {
    macro_rules! int {
        ($t:ty, $big:expr) => {{
            let x = int_as::<$t>(v)?;
            put(
                region,
                offset,
                if $big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                },
            )
        }};
    }
    let written = match kind {
        Kind::I8 => int!(i8, false),
        Kind::U8 => int!(u8, false),
        Kind::I16 { big } => int!(i16, big),
        Kind::U16 { big } => int!(u16, big),
        Kind::I32 { big } => int!(i32, big),
        Kind::U32 { big } => int!(u32, big),
        Kind::I64 { big } => int!(i64, big),
        Kind::U64 { big } => int!(u64, big),
        Kind::Ptr { size, big } => {
            let (min, max) = ptr_range(size);
            let i = int_arg(v)?;
            if i < min || i > max {
                return Err(Fault::OutOfRange);
            }
            // Two's complement: -1 is all ones, as CPython stores a negative pointer.
            let u = i as u64;
            match size {
                4 => put(
                    region,
                    offset,
                    if big {
                        (u as u32).to_be_bytes()
                    } else {
                        (u as u32).to_le_bytes()
                    },
                ),
                _ => put(
                    region,
                    offset,
                    if big {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    },
                ),
            }
        }
        Kind::Bool => put(region, offset, [u8::from(truth(v)?)]),
        Kind::Char => match *v {
            Value::Bytes(&[c]) => put(region, offset, [c]),
            Value::Bytes(_) => return Err(Fault::CharLength),
            _ => return Err(Fault::WrongKind),
        },
        Kind::F16 { big } => {
            let h = f64_to_f16(float_arg(v)?).ok_or(Fault::FloatOverflow)?;
            put(
                region,
                offset,
                if big {
                    h.to_be_bytes()
                } else {
                    h.to_le_bytes()
                },
            )
        }
        Kind::F32 { big, native } => {
            let x = float_arg(v)?;
            let y = f64_to_f32(x);
            // Native mode is a C cast, which overflows to inf; PyFloat_Pack4 refuses.
            if !native && y.is_infinite() && x.is_finite() {
                return Err(Fault::FloatOverflow);
            }
            let b = y.to_bits();
            put(
                region,
                offset,
                if big {
                    b.to_be_bytes()
                } else {
                    b.to_le_bytes()
                },
            )
        }
        Kind::F64 { big } => {
            let b = float_arg(v)?.to_bits();
            put(
                region,
                offset,
                if big {
                    b.to_be_bytes()
                } else {
                    b.to_le_bytes()
                },
            )
        }
        Kind::Str { len, pad } => {
            let data = bytes_arg(v)?;
            // Truncate to the field; the zero fill (or the explicit padding) pads it.
            let data = data.get(..len).unwrap_or(data);
            put_slice(region, offset, data)
                && (!pad || zero(region, offset.saturating_add(data.len()), len - data.len()))
        }
        Kind::Pascal { len: 0, .. } => {
            bytes_arg(v)?;
            // CPython computes the stored length as min(len, 0 - 1) = -1 and writes it, as 0xff,
            // into the byte where the field would start, which belongs to whatever follows. A
            // `0p` at the very end would write past the record; that byte is not ours, so skip.
            if let Some(b) = region.get_mut(offset) {
                *b = 0xff;
            }
            true
        }
        Kind::Pascal { len, pad } => {
            let data = bytes_arg(v)?;
            let data = data.get(..len - 1).unwrap_or(data);
            let stored = u8::try_from(data.len()).unwrap_or(u8::MAX);
            let start = offset.saturating_add(1);
            put(region, offset, [stored])
                && put_slice(region, start, data)
                && (!pad
                    || zero(
                        region,
                        start.saturating_add(data.len()),
                        len - 1 - data.len(),
                    ))
        }
        Kind::Pad => true,
    };
    // Never false for a layout made by `Layout`: every field lies inside the record.
    if written { Ok(()) } else { Err(Fault::NoRoom) }
}

/// The full error for `fault` (value `item`, `v`, for `code` as `kind` at `offset` of a record
/// of `len` bytes), off the hot path.
#[cold]
#[inline(never)]
pub(super) fn describe(
    fault: Fault,
    kind: Kind,
    len: usize,
    offset: usize,
    v: &Value<'_>,
    item: usize,
    code: u8,
) -> PackError {
    match fault {
        Fault::WrongKind => {
            let expected = match kind {
                Kind::F16 { .. } | Kind::F32 { .. } | Kind::F64 { .. } => "a float",
                Kind::Char => "a bytes object of length 1",
                Kind::Str { .. } | Kind::Pascal { .. } => "a bytes object",
                _ => "an integer",
            };
            PackError::WrongKind {
                item,
                code,
                expected,
                got: v.kind_name(),
            }
        }
        Fault::OutOfRange => {
            let value = match *v {
                Value::Int(i) => Some(i),
                Value::Bool(b) => Some(i128::from(b)),
                Value::BigInt(text) => text.parse().ok(),
                _ => None,
            };
            let (min, max) = int_range(kind);
            PackError::OutOfRange {
                item,
                code,
                value,
                min,
                max,
            }
        }
        Fault::CharLength => {
            let len = if let Value::Bytes(b) = v { b.len() } else { 0 };
            PackError::CharLength { item, len }
        }
        Fault::FloatOverflow => PackError::FloatOverflow { item, code },
        Fault::IntTooLargeForFloat => PackError::IntTooLargeForFloat { item, code },
        Fault::InvalidBigInt => PackError::InvalidBigInt { item, code },
        Fault::NoRoom => PackError::BufferTooSmall {
            offset,
            need: offset.saturating_add(1),
            got: len,
        },
    }
}

/// The accepted range of an integer kind.
fn int_range(kind: Kind) -> (i128, i128) {
    fn of<T: Into<i128>>(min: T, max: T) -> (i128, i128) {
        (min.into(), max.into())
    }
    match kind {
        Kind::I8 => of(i8::MIN, i8::MAX),
        Kind::U8 => of(u8::MIN, u8::MAX),
        Kind::I16 { .. } => of(i16::MIN, i16::MAX),
        Kind::U16 { .. } => of(u16::MIN, u16::MAX),
        Kind::I32 { .. } => of(i32::MIN, i32::MAX),
        Kind::U32 { .. } => of(u32::MIN, u32::MAX),
        Kind::I64 { .. } => of(i64::MIN, i64::MAX),
        Kind::U64 { .. } => of(u64::MIN, u64::MAX),
        Kind::Ptr { size, .. } => ptr_range(size),
        _ => (0, 0),
    }
}

/// `PyLong_AsVoidPtr`'s range: the signed one for negatives, the unsigned one otherwise.
#[inline(always)]
fn ptr_range(size: u8) -> (i128, i128) {
    let bits = 8 * u32::from(size);
    (-(1i128 << (bits - 1)), (1i128 << bits) - 1)
}

/// `v` as the C integer type `T`, if it is a Python int (or bool) in its range.
#[inline(always)]
fn int_as<T: TryFrom<i128>>(v: &Value<'_>) -> Result<T, Fault> {
    T::try_from(int_arg(v)?).map_err(|_| Fault::OutOfRange)
}

/// The integer value of `v` (Python ints and bools).
#[inline(always)]
fn int_arg(v: &Value<'_>) -> Result<i128, Fault> {
    // The common case first, as one compare rather than a jump on the variant.
    if let Value::Int(i) = *v {
        Ok(i)
    } else {
        other_int(v)
    }
}

#[inline(never)]
fn other_int(v: &Value<'_>) -> Result<i128, Fault> {
    match *v {
        Value::Int(i) => Ok(i),
        Value::Bool(b) => Ok(i128::from(b)),
        Value::BigInt(text) => {
            big_digits(text).ok_or(Fault::InvalidBigInt)?;
            // Beyond i128 is beyond every integer code.
            text.parse::<i128>().map_err(|_| Fault::OutOfRange)
        }
        Value::Float(_) | Value::Bytes(_) => Err(Fault::WrongKind),
    }
}

/// The double value of `v`: floats as they are, ints correctly rounded half to even
/// (`PyLong_AsDouble`), bools as 0.0 and 1.0.
#[inline(always)]
fn float_arg(v: &Value<'_>) -> Result<f64, Fault> {
    if let Value::Float(x) = *v {
        Ok(x)
    } else {
        other_float(v)
    }
}

#[inline(never)]
fn other_float(v: &Value<'_>) -> Result<f64, Fault> {
    match *v {
        Value::Float(x) => Ok(x),
        Value::Int(i) => Ok(i as f64),
        Value::Bool(b) => Ok(f64::from(u8::from(b))),
        Value::BigInt(text) => {
            big_digits(text).ok_or(Fault::InvalidBigInt)?;
            // core's decimal parser is correctly rounded (half to even) for any length, so
            // 2**1024 - 2**970 - 1 gives f64::MAX and 2**1024 - 2**970 gives inf.
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(Fault::IntTooLargeForFloat),
            }
        }
        Value::Bytes(_) => Err(Fault::WrongKind),
    }
}

/// Python's truth value of `v`.
#[inline(always)]
fn truth(v: &Value<'_>) -> Result<bool, Fault> {
    Ok(match *v {
        Value::Int(i) => i != 0,
        Value::BigInt(text) => big_digits(text)
            .ok_or(Fault::InvalidBigInt)?
            .bytes()
            .any(|d| d != b'0'),
        Value::Float(x) => x != 0.0,
        Value::Bool(b) => b,
        Value::Bytes(b) => !b.is_empty(),
    })
}

#[inline(always)]
fn bytes_arg<'v>(v: &Value<'v>) -> Result<&'v [u8], Fault> {
    match *v {
        Value::Bytes(b) => Ok(b),
        _ => Err(Fault::WrongKind),
    }
}

/// The digits of a big-int text `[+-]?[0-9]+`, or `None` if it is not one.
fn big_digits(text: &str) -> Option<&str> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    (!digits.is_empty() && digits.bytes().all(|d| d.is_ascii_digit())).then_some(digits)
}

/// Writes `W` bytes at `offset`; `false` if they do not fit.
#[inline(always)]
fn put<const W: usize>(region: &mut [u8], offset: usize, bytes: [u8; W]) -> bool {
    match region
        .get_mut(offset..)
        .and_then(|t| t.first_chunk_mut::<W>())
    {
        Some(dst) => {
            *dst = bytes;
            true
        }
        None => false,
    }
}

/// Zeroes `len` bytes at `offset`; `false` if they do not fit.
#[inline(always)]
fn zero(region: &mut [u8], offset: usize, len: usize) -> bool {
    match offset
        .checked_add(len)
        .and_then(|end| region.get_mut(offset..end))
    {
        Some(dst) => {
            zero_short(dst);
            true
        }
        None => false,
    }
}

/// Copies `data` to `offset`; `false` if it does not fit.
#[inline(always)]
fn put_slice(region: &mut [u8], offset: usize, data: &[u8]) -> bool {
    match offset
        .checked_add(data.len())
        .and_then(|end| region.get_mut(offset..end))
    {
        Some(dst) => {
            copy_short(dst, data);
            true
        }
        None => false,
    }
}

/// `dst.copy_from_slice(src)` for slices of equal length, with up to 16 bytes done by two
/// overlapping fixed-size moves instead of a call to `memcpy`.
#[inline(always)]
pub(super) fn copy_short(dst: &mut [u8], src: &[u8]) {
    fn ends<const W: usize>(dst: &mut [u8], src: &[u8]) {
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<W>(), src.first_chunk::<W>()) {
            *d = *s;
        }
        if let (Some(d), Some(s)) = (dst.last_chunk_mut::<W>(), src.last_chunk::<W>()) {
            *d = *s;
        }
    }
    match src.len() {
        _ if src.len() != dst.len() => {}
        0 => {}
        1 => ends::<1>(dst, src),
        2..4 => ends::<2>(dst, src),
        4..8 => ends::<4>(dst, src),
        8..=16 => ends::<8>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// `dst.fill(0)`, with up to 16 bytes done by two overlapping fixed-size stores instead of a
/// call to `memset`.
#[inline(always)]
pub(super) fn zero_short(dst: &mut [u8]) {
    fn ends<const W: usize>(dst: &mut [u8]) {
        if let Some(d) = dst.first_chunk_mut::<W>() {
            *d = [0; W];
        }
        if let Some(d) = dst.last_chunk_mut::<W>() {
            *d = [0; W];
        }
    }
    match dst.len() {
        0 => {}
        1 => ends::<1>(dst),
        2..4 => ends::<2>(dst),
        4..8 => ends::<4>(dst),
        8..=16 => ends::<8>(dst),
        _ => dst.fill(0),
    }
}
