//! Python's `struct` module, byte for byte: format strings, `calcsize`, `pack_into`,
//! `unpack_from` and `iter_unpack`, without an allocator.
//!
//! The oracle is CPython 3.11 (`Modules/_struct.c`); `tests/data/vectors/struct.jsonl` holds its
//! answers and every one of them is checked. Parse a format once with [`Format::parse`], which
//! rejects every bad format (so packing and unpacking never meet a syntax error), or compile it
//! into a [`Struct`], which precomputes every field's offset for the hot path.
//!
//! Invariants:
//!
//! * Every code `x c b B ? h H i I l L q Q n N e f d s p P`, repeat counts, whitespace between
//!   items, and the prefixes `@ = < > !` are supported. Native mode (`@` or none) uses the
//!   sizes, alignments and byte order of the target being compiled for, so `@l` is 8 bytes on
//!   x86_64 Linux and 4 on `thumbv7m-none-eabi`; `n N P` exist only there.
//! * Values go in and come out as [`Value`]s, which mirror the Python kinds, because CPython
//!   accepts and refuses by kind: a float is refused for an integer code, an int is accepted
//!   for a float code, and `?` takes anything's truth value.
//! * Nothing panics, whatever the format, the values or the buffer: every failure is one of the
//!   small `Copy` errors [`FormatError`], [`PackError`] and [`UnpackError`].
//! * Unpacking never copies: `c`, `s` and `p` values borrow from the input buffer.
//!
//! ```
//! use portsock_core::wire::repr::PyTuple;
//! use portsock_core::wire::structfmt::{Format, Value, calcsize};
//!
//! let fmt = Format::parse("<h 3s ?")?;
//! assert_eq!(fmt.size(), calcsize("<h 3s ?")?);
//! let mut buf = [0u8; 6];
//! fmt.pack(&mut buf, &[Value::Int(-2), Value::Bytes(b"ab"), Value::Int(7)])?;
//! assert_eq!(buf, [0xfe, 0xff, b'a', b'b', 0, 1]);
//!
//! let mut values = [Value::Int(0); 3];
//! for (slot, value) in values.iter_mut().zip(fmt.unpack(&buf)?) {
//!     *slot = value;
//! }
//! assert_eq!(values, [Value::Int(-2), Value::Bytes(b"ab\0"), Value::Bool(true)]);
//! assert_eq!(PyTuple(&values).to_string(), r"(-2, b'ab\x00', True)");
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

mod compiled;
mod error;
mod float;
mod items;
mod ops;
mod pack;
mod parse;
mod typed;
mod unpack;

#[cfg(test)]
mod tests;

pub use compiled::{Struct, StructRecords, Values};
pub use error::{FormatError, PackError, UnpackError};
pub use items::{Item, Items};
pub use typed::{F16, Field, FieldType, Fields, Record, Records, TypedError};
pub use unpack::{IterUnpack, Unpack};

use pack::{pack_value, region_mut};
use parse::{Kind, Layout, Mode};
use unpack::Cursor;

/// A Python value going into or coming out of the codec.
///
/// Packing accepts what CPython accepts for each code; unpacking yields [`Value::Int`] for every
/// integer code, [`Value::Bool`] for `?`, [`Value::Float`] for `e f d` and [`Value::Bytes`] for
/// `c s p`. The set of variants is complete (one per Python kind the codec deals in).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Value<'a> {
    /// A Python `int` that fits in `i128`.
    Int(i128),
    /// A Python `int` beyond `i128`, as decimal text with an optional sign (`"-1" + "0" * 40`).
    /// Packing only: it is out of range for every integer code, and is correctly rounded to a
    /// double for `e f d`.
    BigInt(&'a str),
    /// A Python `float`.
    Float(f64),
    /// A Python `bool` (also accepted where an int is).
    Bool(bool),
    /// A Python `bytes`.
    Bytes(&'a [u8]),
}

impl Value<'_> {
    /// The Python kind, as error messages name it: `"an int"`, `"a float"`, `"a bool"`,
    /// `"bytes"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Int(_) | Self::BigInt(_) => "an int",
            Self::Float(_) => "a float",
            Self::Bool(_) => "a bool",
            Self::Bytes(_) => "bytes",
        }
    }
}

macro_rules! value_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(i: $t) -> Self {
                Self::Int(i128::from(i))
            }
        }
    )*};
}
value_from_int!(i8, u8, i16, u16, i32, u32, i64, u64, i128);

impl From<f64> for Value<'_> {
    fn from(x: f64) -> Self {
        Self::Float(x)
    }
}

impl From<f32> for Value<'_> {
    fn from(x: f32) -> Self {
        Self::Float(f64::from(x))
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(b: &'a [u8]) -> Self {
        Self::Bytes(b)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Value<'a> {
    fn from(b: &'a [u8; N]) -> Self {
        Self::Bytes(b)
    }
}

/// `struct.calcsize(fmt)`: the size in bytes of a record.
///
/// # Errors
///
/// The [`FormatError`] of [`Format::parse`].
pub fn calcsize(fmt: &str) -> Result<usize, FormatError> {
    Format::parse(fmt).map(|f| f.size())
}

/// A validated format string (CPython's `struct.Struct`), borrowing the text.
///
/// Packing and unpacking walk the text again on each call; for records packed by the thousand,
/// compile it into a [`Struct`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format<'a> {
    fmt: &'a str,
    start: usize,
    mode: Mode,
    size: usize,
    values: usize,
    zero_p: Option<usize>,
}

impl<'a> Format<'a> {
    /// Parses and validates `fmt`, computing its size and value count.
    ///
    /// # Errors
    ///
    /// A [`FormatError`] naming the byte at fault: an unknown code, a prefix that is not first,
    /// `n N P` under a standard prefix, a count without a code, a NUL or non-ASCII byte, or a
    /// size beyond `isize::MAX`.
    pub fn parse(fmt: &'a str) -> Result<Self, FormatError> {
        let bytes = fmt.as_bytes();
        if let Some(at) = bytes.iter().position(|&b| b == 0 || !b.is_ascii()) {
            return Err(if bytes.get(at) == Some(&0) {
                FormatError::EmbeddedNul { at }
            } else {
                FormatError::NonAscii { at }
            });
        }
        let (mode, start) = Mode::from_prefix(bytes.first().copied());
        let mut layout = Layout::new(bytes, start, mode);
        let mut values = 0usize;
        let mut zero_p = None;
        for run in layout.by_ref() {
            let run = run?;
            values = values
                .checked_add(run.values)
                .ok_or(FormatError::TooLong { at: run.at })?;
            if matches!(run.kind, Kind::Pascal { len: 0, .. }) && zero_p.is_none() {
                zero_p = Some(run.at);
            }
        }
        Ok(Self {
            fmt,
            start,
            mode,
            size: layout.offset(),
            values,
            zero_p,
        })
    }

    /// The format text.
    pub fn as_str(&self) -> &'a str {
        self.fmt
    }

    /// The size in bytes of a record (`calcsize`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many values [`pack_into`](Self::pack_into) takes and [`unpack`](Self::unpack)
    /// yields: the count of each integer, float, `?` and `c` item, one per `s` and `p`, none for
    /// `x`.
    pub fn value_count(&self) -> usize {
        self.values
    }

    /// The format code of each value [`pack_into`](Self::pack_into) takes, in order: `'i'`
    /// three times for `3i`, `'s'` once for `3s`, nothing for `x`. Lazy, so a format with a
    /// huge count costs nothing until iterated.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Format;
    ///
    /// let codes: String = Format::parse("<2h 4s x ?")?.value_codes().collect();
    /// assert_eq!(codes, "hhs?");
    /// # Ok::<(), portsock_core::wire::structfmt::FormatError>(())
    /// ```
    pub fn value_codes(&self) -> ValueCodes<'a> {
        ValueCodes {
            layout: self.layout(),
            code: 0,
            left: 0,
            remaining: self.values,
        }
    }

    fn layout(&self) -> Layout<'a> {
        Layout::new(self.fmt.as_bytes(), self.start, self.mode)
    }

    /// `struct.pack_into(fmt, buf, offset, *values)`: writes the record to
    /// `buf[offset..offset + size()]`.
    ///
    /// Padding is zero. A `0p` item writes `0xff` into the byte after it when that byte is
    /// part of the record and nothing overwrites it, as CPython does.
    ///
    /// # Errors
    ///
    /// [`PackError::ValueCount`] if `values.len() != value_count()`,
    /// [`PackError::BufferTooSmall`] if the record does not fit, or the error of the first value
    /// its code refuses (wrong kind, out of range, float overflow). On a value error the
    /// record's bytes are left partly written.
    pub fn pack_into(
        &self,
        buf: &mut [u8],
        offset: usize,
        values: &[Value<'_>],
    ) -> Result<(), PackError> {
        if values.len() != self.values {
            return Err(PackError::ValueCount {
                expected: self.values,
                got: values.len(),
            });
        }
        let region = region_mut(buf, offset, self.size)?;
        region.fill(0);
        let mut item = 0;
        for run in self.layout() {
            let run = run?;
            let mut at = run.offset;
            for _ in 0..run.values {
                let Some(v) = values.get(item) else {
                    return Err(PackError::ValueCount {
                        expected: self.values,
                        got: values.len(),
                    });
                };
                pack_value(run.kind, region, at, v, item, run.code)?;
                item += 1;
                at = at.saturating_add(run.stride);
            }
        }
        Ok(())
    }

    /// `struct.pack_into(fmt, buf, 0, *values)`; returns the number of bytes written, `size()`.
    ///
    /// # Errors
    ///
    /// As [`pack_into`](Self::pack_into).
    pub fn pack(&self, buf: &mut [u8], values: &[Value<'_>]) -> Result<usize, PackError> {
        self.pack_into(buf, 0, values).map(|()| self.size)
    }

    /// `struct.unpack(fmt, buf)`: the values of the record that is exactly `buf`.
    ///
    /// # Errors
    ///
    /// [`UnpackError::SizeMismatch`] unless `buf.len() == size()`;
    /// [`UnpackError::ZeroLengthPascal`] if the format contains `0p`.
    pub fn unpack<'b>(&self, buf: &'b [u8]) -> Result<Unpack<'_, 'b>, UnpackError> {
        if buf.len() != self.size {
            return Err(UnpackError::SizeMismatch {
                need: self.size,
                got: buf.len(),
            });
        }
        self.unpack_checked(buf)
    }

    /// `struct.unpack_from(fmt, buf, offset)`: the values of the record at
    /// `buf[offset..offset + size()]`; bytes after it are ignored.
    ///
    /// # Errors
    ///
    /// [`UnpackError::BufferTooSmall`] if the record does not fit;
    /// [`UnpackError::ZeroLengthPascal`] if the format contains `0p`.
    pub fn unpack_from<'b>(
        &self,
        buf: &'b [u8],
        offset: usize,
    ) -> Result<Unpack<'_, 'b>, UnpackError> {
        self.unpack_checked(record(buf, offset, self.size)?)
    }

    fn unpack_checked<'b>(&self, record: &'b [u8]) -> Result<Unpack<'_, 'b>, UnpackError> {
        check_zero_p(self.zero_p)?;
        Ok(Unpack::new(
            Cursor::runs(self.layout(), self.values),
            record,
        ))
    }

    /// `struct.iter_unpack(fmt, buf)`: one [`Unpack`] per record of `buf`.
    ///
    /// # Errors
    ///
    /// [`UnpackError::ZeroSize`] if `size()` is 0, [`UnpackError::NotMultiple`] unless
    /// `buf.len()` is a multiple of it, [`UnpackError::ZeroLengthPascal`] if the format
    /// contains `0p` and `buf` is not empty (CPython fails on the first record).
    pub fn iter_unpack<'b>(&self, buf: &'b [u8]) -> Result<IterUnpack<'_, 'b>, UnpackError> {
        check_records(buf, self.size, self.zero_p)?;
        Ok(IterUnpack::new(
            Cursor::runs(self.layout(), self.values),
            buf,
            self.size,
        ))
    }
}

impl<'a> TryFrom<&'a str> for Format<'a> {
    type Error = FormatError;

    fn try_from(fmt: &'a str) -> Result<Self, FormatError> {
        Self::parse(fmt)
    }
}

/// The format code of each value of a format, made by [`Format::value_codes`].
#[derive(Clone, Debug)]
pub struct ValueCodes<'a> {
    layout: Layout<'a>,
    code: u8,
    left: usize,
    remaining: usize,
}

impl Iterator for ValueCodes<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        while self.left == 0 {
            // A validated format cannot fail here; stop rather than panic if it did.
            let Some(Ok(run)) = self.layout.next() else {
                self.remaining = 0;
                return None;
            };
            (self.code, self.left) = (run.code, run.values);
        }
        self.left -= 1;
        self.remaining = self.remaining.saturating_sub(1);
        Some(char::from(self.code))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for ValueCodes<'_> {}
impl core::iter::FusedIterator for ValueCodes<'_> {}

/// `buf[offset..offset + size]`, or the error `unpack_from` gives.
#[inline]
fn record(buf: &[u8], offset: usize, size: usize) -> Result<&[u8], UnpackError> {
    offset
        .checked_add(size)
        .and_then(|end| buf.get(offset..end))
        .ok_or(UnpackError::BufferTooSmall {
            offset,
            need: size,
            got: buf.len(),
        })
}

#[inline]
fn check_zero_p(zero_p: Option<usize>) -> Result<(), UnpackError> {
    match zero_p {
        Some(at) => Err(UnpackError::ZeroLengthPascal { at }),
        None => Ok(()),
    }
}

fn check_records(buf: &[u8], size: usize, zero_p: Option<usize>) -> Result<(), UnpackError> {
    if size == 0 {
        return Err(UnpackError::ZeroSize);
    }
    if !buf.len().is_multiple_of(size) {
        return Err(UnpackError::NotMultiple {
            size,
            got: buf.len(),
        });
    }
    if buf.is_empty() {
        return Ok(());
    }
    check_zero_p(zero_p)
}
