//! The op table of a compiled [`Struct`](super::Struct): one [`Op`] per value, its byte order
//! folded into a one-byte [`Code`] so that packing and unpacking a field is one jump-table
//! dispatch with no further branch on the layout.
//!
//! [`pack_fast`] and [`decode`] handle the common value kinds for each code inline; anything
//! else (a `bool` for an integer code, a too-long `bytes`, `e`, `p`, `P`, `c`, a refused value)
//! goes to the general [`encode`](super::pack::encode) and
//! [`unpack_value`](super::unpack::unpack_value), which give the same bytes and faults as
//! [`Format`](super::Format) does.

use super::Value;
use super::float::{f32_to_f64, f64_to_f32};
use super::pack::copy_short;
use super::parse::Kind;
use super::unpack::unpack_value;

/// What one value is and how it is laid out, with the byte order in the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Code {
    Bool,
    Char,
    I8,
    U8,
    I16Le,
    I16Be,
    U16Le,
    U16Be,
    I32Le,
    I32Be,
    U32Le,
    U32Be,
    I64Le,
    I64Be,
    U64Le,
    U64Be,
    Ptr32Le,
    Ptr32Be,
    Ptr64Le,
    Ptr64Be,
    F16Le,
    F16Be,
    /// `f` under a standard prefix: overflow is refused.
    F32Le,
    F32Be,
    /// Native `f`: a C cast, overflow packs ±inf.
    NativeF32Le,
    NativeF32Be,
    F64Le,
    F64Be,
    /// `s` that writes its own padding.
    Str,
    /// `s` that leaves its padding to the record's zero fill (formats with `0p`).
    StrUnpadded,
    /// `p` that writes its own padding.
    Pascal,
    /// `p` that leaves its padding to the record's zero fill, and `0p`.
    PascalUnpadded,
}

/// One value of a compiled format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Op {
    /// Where the value's bytes start in the record.
    pub(super) offset: usize,
    /// The field length of `s` and `p` (unused otherwise).
    pub(super) len: usize,
    pub(super) code: Code,
    /// The format code, for error messages and `value_codes`.
    pub(super) fmt_code: u8,
}

impl Op {
    /// The op for a value of `kind` at `offset`.
    pub(super) fn new(kind: Kind, offset: usize, fmt_code: u8) -> Self {
        let (code, len) = match kind {
            Kind::Bool => (Code::Bool, 0),
            Kind::Char => (Code::Char, 0),
            Kind::I8 => (Code::I8, 0),
            Kind::U8 => (Code::U8, 0),
            Kind::I16 { big } => (pick(Code::I16Le, Code::I16Be, big), 0),
            Kind::U16 { big } => (pick(Code::U16Le, Code::U16Be, big), 0),
            Kind::I32 { big } => (pick(Code::I32Le, Code::I32Be, big), 0),
            Kind::U32 { big } => (pick(Code::U32Le, Code::U32Be, big), 0),
            Kind::I64 { big } => (pick(Code::I64Le, Code::I64Be, big), 0),
            Kind::U64 { big } => (pick(Code::U64Le, Code::U64Be, big), 0),
            Kind::Ptr { size: 4, big } => (pick(Code::Ptr32Le, Code::Ptr32Be, big), 0),
            Kind::Ptr { big, .. } => (pick(Code::Ptr64Le, Code::Ptr64Be, big), 0),
            Kind::F16 { big } => (pick(Code::F16Le, Code::F16Be, big), 0),
            Kind::F32 { big, native: false } => (pick(Code::F32Le, Code::F32Be, big), 0),
            Kind::F32 { big, native: true } => (pick(Code::NativeF32Le, Code::NativeF32Be, big), 0),
            Kind::F64 { big } => (pick(Code::F64Le, Code::F64Be, big), 0),
            Kind::Str { len, pad: true } => (Code::Str, len),
            Kind::Str { len, pad: false } => (Code::StrUnpadded, len),
            Kind::Pascal { len, pad: true } => (Code::Pascal, len),
            Kind::Pascal { len, pad: false } => (Code::PascalUnpadded, len),
            // `x` takes no value and never becomes an op; were it to, it would write nothing,
            // as a `0s` does.
            Kind::Pad => (Code::StrUnpadded, 0),
        };
        Self {
            offset,
            len,
            code,
            fmt_code,
        }
    }

    /// The layout kind the general encoder and decoder take.
    pub(super) fn kind(&self) -> Kind {
        let len = self.len;
        match self.code {
            Code::Bool => Kind::Bool,
            Code::Char => Kind::Char,
            Code::I8 => Kind::I8,
            Code::U8 => Kind::U8,
            Code::I16Le | Code::I16Be => Kind::I16 { big: self.big() },
            Code::U16Le | Code::U16Be => Kind::U16 { big: self.big() },
            Code::I32Le | Code::I32Be => Kind::I32 { big: self.big() },
            Code::U32Le | Code::U32Be => Kind::U32 { big: self.big() },
            Code::I64Le | Code::I64Be => Kind::I64 { big: self.big() },
            Code::U64Le | Code::U64Be => Kind::U64 { big: self.big() },
            Code::Ptr32Le | Code::Ptr32Be => Kind::Ptr {
                size: 4,
                big: self.big(),
            },
            Code::Ptr64Le | Code::Ptr64Be => Kind::Ptr {
                size: 8,
                big: self.big(),
            },
            Code::F16Le | Code::F16Be => Kind::F16 { big: self.big() },
            Code::F32Le | Code::F32Be => Kind::F32 {
                big: self.big(),
                native: false,
            },
            Code::NativeF32Le | Code::NativeF32Be => Kind::F32 {
                big: self.big(),
                native: true,
            },
            Code::F64Le | Code::F64Be => Kind::F64 { big: self.big() },
            Code::Str => Kind::Str { len, pad: true },
            Code::StrUnpadded => Kind::Str { len, pad: false },
            Code::Pascal => Kind::Pascal { len, pad: true },
            Code::PascalUnpadded => Kind::Pascal { len, pad: false },
        }
    }

    fn big(&self) -> bool {
        matches!(
            self.code,
            Code::I16Be
                | Code::U16Be
                | Code::I32Be
                | Code::U32Be
                | Code::I64Be
                | Code::U64Be
                | Code::Ptr32Be
                | Code::Ptr64Be
                | Code::F16Be
                | Code::F32Be
                | Code::NativeF32Be
                | Code::F64Be
        )
    }
}

fn pick(little: Code, big_endian: Code, big: bool) -> Code {
    if big { big_endian } else { little }
}

/// `W` bytes at `at` of `buf`, if they are inside it.
#[inline(always)]
fn chunk<const W: usize>(buf: &[u8], at: usize) -> Option<&[u8; W]> {
    buf.get(at..)?.first_chunk::<W>()
}

/// Writes `bytes` at `at`; `false` if they do not fit.
#[inline(always)]
fn put<const W: usize>(region: &mut [u8], at: usize, bytes: [u8; W]) -> bool {
    match region.get_mut(at..).and_then(|t| t.first_chunk_mut::<W>()) {
        Some(dst) => {
            *dst = bytes;
            true
        }
        None => false,
    }
}

/// Packs `v` by `op` if it is the value kind usually given for the code (an in-range int for
/// an integer code, a float for `f d`, an int or bool for `?`, bytes of the exact length for
/// `s`) and returns `true`; otherwise writes nothing and returns `false`, for the general
/// encoder to pack or refuse.
#[inline(always)]
pub(super) fn pack_fast(op: &Op, region: &mut [u8], v: &Value<'_>) -> bool {
    let at = op.offset;
    macro_rules! int {
        ($t:ty, $to:ident) => {
            match *v {
                Value::Int(i) => match <$t>::try_from(i) {
                    Ok(x) => put(region, at, x.$to()),
                    Err(_) => false,
                },
                _ => false,
            }
        };
    }
    macro_rules! f32 {
        ($to:ident, $native:expr) => {
            match *v {
                Value::Float(x) => {
                    let y = f64_to_f32(x);
                    // Standard `f` refuses what overflows; the general encoder says so.
                    ($native || !y.is_infinite() || !x.is_finite())
                        && put(region, at, y.to_bits().$to())
                }
                _ => false,
            }
        };
    }
    match op.code {
        Code::I8 => int!(i8, to_le_bytes),
        Code::U8 => int!(u8, to_le_bytes),
        Code::I16Le => int!(i16, to_le_bytes),
        Code::I16Be => int!(i16, to_be_bytes),
        Code::U16Le => int!(u16, to_le_bytes),
        Code::U16Be => int!(u16, to_be_bytes),
        Code::I32Le => int!(i32, to_le_bytes),
        Code::I32Be => int!(i32, to_be_bytes),
        Code::U32Le => int!(u32, to_le_bytes),
        Code::U32Be => int!(u32, to_be_bytes),
        Code::I64Le => int!(i64, to_le_bytes),
        Code::I64Be => int!(i64, to_be_bytes),
        Code::U64Le => int!(u64, to_le_bytes),
        Code::U64Be => int!(u64, to_be_bytes),
        Code::F32Le => f32!(to_le_bytes, false),
        Code::F32Be => f32!(to_be_bytes, false),
        Code::NativeF32Le => f32!(to_le_bytes, true),
        Code::NativeF32Be => f32!(to_be_bytes, true),
        Code::F64Le => match *v {
            Value::Float(x) => put(region, at, x.to_bits().to_le_bytes()),
            _ => false,
        },
        Code::F64Be => match *v {
            Value::Float(x) => put(region, at, x.to_bits().to_be_bytes()),
            _ => false,
        },
        Code::Bool => match *v {
            Value::Bool(b) => put(region, at, [u8::from(b)]),
            Value::Int(i) => put(region, at, [u8::from(i != 0)]),
            _ => false,
        },
        Code::Str | Code::StrUnpadded => match *v {
            Value::Bytes(b) if b.len() == op.len => match region.get_mut(at..at + op.len) {
                Some(dst) => {
                    copy_short(dst, b);
                    true
                }
                None => false,
            },
            _ => false,
        },
        Code::Char
        | Code::Ptr32Le
        | Code::Ptr32Be
        | Code::Ptr64Le
        | Code::Ptr64Be
        | Code::F16Le
        | Code::F16Be
        | Code::Pascal
        | Code::PascalUnpadded => false,
    }
}

/// Reads the value of `op` from `record`; `None` if it does not fit (which a compiled layout
/// rules out for a record of its size).
#[inline(always)]
pub(super) fn decode<'b>(op: &Op, record: &'b [u8]) -> Option<Value<'b>> {
    let at = op.offset;
    macro_rules! int {
        ($t:ty, $from:ident) => {
            Value::Int(i128::from(<$t>::$from(*chunk(record, at)?)))
        };
    }
    macro_rules! f32 {
        ($from:ident) => {
            Value::Float(f32_to_f64(f32::from_bits(u32::$from(*chunk(record, at)?))))
        };
    }
    Some(match op.code {
        Code::I8 => int!(i8, from_le_bytes),
        Code::U8 => int!(u8, from_le_bytes),
        Code::I16Le => int!(i16, from_le_bytes),
        Code::I16Be => int!(i16, from_be_bytes),
        Code::U16Le => int!(u16, from_le_bytes),
        Code::U16Be => int!(u16, from_be_bytes),
        Code::I32Le => int!(i32, from_le_bytes),
        Code::I32Be => int!(i32, from_be_bytes),
        Code::U32Le | Code::Ptr32Le => int!(u32, from_le_bytes),
        Code::U32Be | Code::Ptr32Be => int!(u32, from_be_bytes),
        Code::I64Le => int!(i64, from_le_bytes),
        Code::I64Be => int!(i64, from_be_bytes),
        Code::U64Le | Code::Ptr64Le => int!(u64, from_le_bytes),
        Code::U64Be | Code::Ptr64Be => int!(u64, from_be_bytes),
        Code::F32Le | Code::NativeF32Le => f32!(from_le_bytes),
        Code::F32Be | Code::NativeF32Be => f32!(from_be_bytes),
        Code::F64Le => Value::Float(f64::from_bits(u64::from_le_bytes(*chunk(record, at)?))),
        Code::F64Be => Value::Float(f64::from_bits(u64::from_be_bytes(*chunk(record, at)?))),
        // Any non-zero byte is True (CPython compares the byte with 0).
        Code::Bool => Value::Bool(*record.get(at)? != 0),
        Code::Char => Value::Bytes(record.get(at..at.checked_add(1)?)?),
        Code::Str | Code::StrUnpadded => Value::Bytes(record.get(at..at.checked_add(op.len)?)?),
        Code::F16Le | Code::F16Be | Code::Pascal | Code::PascalUnpadded => {
            return unpack_value(op.kind(), record, at);
        }
    })
}
