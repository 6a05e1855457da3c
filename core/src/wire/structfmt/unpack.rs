//! Unpacking: one value (after the `nu_*`, `lu_*` and `bu_*` functions of CPython's
//! `Modules/_struct.c`) and the borrowing iterators [`Unpack`] and [`IterUnpack`].

use core::iter::FusedIterator;
use core::slice::ChunksExact;

use super::Value;
use super::float::{f16_to_f64, f32_to_f64};
use super::parse::{Kind, Layout};

/// The values of one record, in format order; borrows `s`, `p` and `c` bytes from the buffer.
///
/// Made by [`Format::unpack`](super::Format::unpack), [`Format::unpack_from`](super::Format::unpack_from)
/// and [`IterUnpack`]. It yields exactly
/// `value_count()` values: integers as [`Value::Int`], `?` as [`Value::Bool`], `e f d` as
/// [`Value::Float`] (widened to double) and `c s p` as [`Value::Bytes`].
#[derive(Clone, Debug)]
pub struct Unpack<'f, 'b> {
    record: &'b [u8],
    cursor: Cursor<'f>,
}

/// Where the next value comes from: the format walked on the fly. ([`Struct`](super::Struct)
/// has its own iterator, [`Values`](super::Values), over its compiled fields.)
#[derive(Clone, Debug)]
pub(super) enum Cursor<'f> {
    Runs(Runs<'f>),
}

impl<'f> Cursor<'f> {
    /// Walks `layout`, which yields `values` values in all.
    pub(super) fn runs(layout: Layout<'f>, values: usize) -> Self {
        Self::Runs(Runs {
            layout,
            kind: Kind::Pad,
            left: 0,
            offset: 0,
            stride: 0,
            remaining: values,
        })
    }
}

/// The state of a format walked on the fly: the current run and how far into it.
#[derive(Clone, Debug)]
pub(super) struct Runs<'f> {
    layout: Layout<'f>,
    kind: Kind,
    left: usize,
    offset: usize,
    stride: usize,
    remaining: usize,
}

impl Runs<'_> {
    // Kept out of line so that the compiled-field path of `Unpack::next` stays small.
    #[inline(never)]
    fn next_value<'b>(&mut self, record: &'b [u8]) -> Option<Value<'b>> {
        while self.left == 0 {
            // A validated format cannot fail here; stop rather than panic if it did.
            let Some(Ok(run)) = self.layout.next() else {
                self.remaining = 0;
                return None;
            };
            (self.kind, self.left, self.offset, self.stride) =
                (run.kind, run.values, run.offset, run.stride);
        }
        self.left -= 1;
        let at = self.offset;
        self.offset = self.offset.saturating_add(self.stride);
        let value = unpack_value(self.kind, record, at);
        self.remaining = if value.is_some() {
            self.remaining.saturating_sub(1)
        } else {
            0
        };
        value
    }
}

impl<'f, 'b> Unpack<'f, 'b> {
    /// `record` must be exactly one record, laid out as `cursor` says.
    #[inline]
    pub(super) fn new(cursor: Cursor<'f>, record: &'b [u8]) -> Self {
        Self { record, cursor }
    }

    /// The bytes of the record being unpacked.
    pub fn record(&self) -> &'b [u8] {
        self.record
    }
}

impl<'b> Iterator for Unpack<'_, 'b> {
    type Item = Value<'b>;

    #[inline]
    fn next(&mut self) -> Option<Value<'b>> {
        match &mut self.cursor {
            Cursor::Runs(runs) => runs.next_value(self.record),
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.cursor {
            Cursor::Runs(runs) => runs.remaining,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Unpack<'_, '_> {}
impl FusedIterator for Unpack<'_, '_> {}

/// The records of a buffer holding a whole number of them, as [`Unpack`] iterators.
///
/// Made by [`Format::iter_unpack`](super::Format::iter_unpack).
#[derive(Clone, Debug)]
pub struct IterUnpack<'f, 'b> {
    cursor: Cursor<'f>,
    records: ChunksExact<'b, u8>,
}

impl<'f, 'b> IterUnpack<'f, 'b> {
    /// `size` must be the record size, non-zero.
    pub(super) fn new(cursor: Cursor<'f>, buf: &'b [u8], size: usize) -> Self {
        Self {
            cursor,
            records: buf.chunks_exact(size.max(1)),
        }
    }
}

impl<'f, 'b> Iterator for IterUnpack<'f, 'b> {
    type Item = Unpack<'f, 'b>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        Some(Unpack::new(self.cursor.clone(), record))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl ExactSizeIterator for IterUnpack<'_, '_> {}
impl FusedIterator for IterUnpack<'_, '_> {}

/// Reads the value of kind `kind` at `offset` of `record`; `None` for `x` or if it does not fit
/// (which a validated layout rules out).
#[inline(always)]
pub(super) fn unpack_value(kind: Kind, record: &[u8], offset: usize) -> Option<Value<'_>> {
    let tail = record.get(offset..)?;
    macro_rules! read {
        ($t:ty, $big:expr) => {{
            let b = *tail.first_chunk::<{ size_of::<$t>() }>()?;
            i128::from(if $big {
                <$t>::from_be_bytes(b)
            } else {
                <$t>::from_le_bytes(b)
            })
        }};
    }
    Some(match kind {
        Kind::I8 => Value::Int(i128::from(*tail.first()? as i8)),
        Kind::U8 => Value::Int(i128::from(*tail.first()?)),
        Kind::I16 { big } => Value::Int(read!(i16, big)),
        Kind::U16 { big } => Value::Int(read!(u16, big)),
        Kind::I32 { big } => Value::Int(read!(i32, big)),
        Kind::U32 { big } => Value::Int(read!(u32, big)),
        Kind::I64 { big } => Value::Int(read!(i64, big)),
        Kind::U64 { big } => Value::Int(read!(u64, big)),
        Kind::Ptr { size: 4, big } => {
            let b = *tail.first_chunk::<4>()?;
            Value::Int(i128::from(if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }))
        }
        Kind::Ptr { big, .. } => {
            let b = *tail.first_chunk::<8>()?;
            Value::Int(i128::from(if big {
                u64::from_be_bytes(b)
            } else {
                u64::from_le_bytes(b)
            }))
        }
        // Any non-zero byte is True (CPython compares the byte with 0).
        Kind::Bool => Value::Bool(*tail.first()? != 0),
        Kind::Char => Value::Bytes(tail.get(..1)?),
        Kind::F16 { big } => {
            let b = *tail.first_chunk::<2>()?;
            let h = if big {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            };
            Value::Float(f16_to_f64(h))
        }
        Kind::F32 { big, .. } => {
            let b = *tail.first_chunk::<4>()?;
            let bits = if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            Value::Float(f32_to_f64(f32::from_bits(bits)))
        }
        Kind::F64 { big } => {
            let b = *tail.first_chunk::<8>()?;
            Value::Float(f64::from_bits(if big {
                u64::from_be_bytes(b)
            } else {
                u64::from_le_bytes(b)
            }))
        }
        Kind::Str { len, .. } => Value::Bytes(tail.get(..len)?),
        Kind::Pascal { len: field, .. } => {
            // The length byte is clamped to the field; `0p` is refused before we get here.
            let len = usize::from(*tail.first()?).min(field.checked_sub(1)?);
            Value::Bytes(tail.get(1..=len)?)
        }
        Kind::Pad => return None,
    })
}
