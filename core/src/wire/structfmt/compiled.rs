//! [`Struct`]: a format compiled into a flat table of fields for the hot path.

use core::iter::FusedIterator;
use core::slice::ChunksExact;

use super::ops::{Op, decode, pack_fast};
use super::pack::{Fault, describe, encode, region_mut, zero_short};
use super::parse::Kind;
use super::{
    Format, FormatError, PackError, UnpackError, Value, check_records, check_zero_p, record,
};

/// A format compiled for speed: every value's code and offset resolved once, for up to `N`
/// values.
///
/// It has the methods of [`Format`] with the same results; `pack_into` is a loop over a flat
/// field table with no parsing, which zeroes only the bytes no field writes.
///
/// ```
/// use portsock_core::wire::structfmt::{Struct, Value};
///
/// let rec = Struct::<4>::new("<I 2s f")?;
/// let mut buf = [0u8; 10];
/// rec.pack(&mut buf, &[Value::Int(7), Value::Bytes(b"ok"), Value::Float(0.5)])?;
/// let back: Vec<Value> = rec.unpack(&buf)?.collect();
/// assert_eq!(back, [Value::Int(7), Value::Bytes(b"ok"), Value::Float(0.5)]);
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Struct<const N: usize = 16> {
    ops: heapless::Vec<Op, N>,
    size: usize,
    /// Spans of the record that no field writes (alignment, `x`), zeroed on each pack before
    /// the fields are written: a short list walked once, so that the field loop has no gap
    /// test in it.
    gaps: heapless::Vec<Gap, N>,
    /// Zero the whole record before packing instead of only the gaps: formats with `0p`, whose
    /// fields rely on the zero fill, and formats with more gaps than `N`.
    fill: bool,
    zero_p: Option<usize>,
}

impl<const N: usize> Struct<N> {
    /// Parses and compiles `fmt`.
    ///
    /// # Errors
    ///
    /// The errors of [`Format::parse`], and [`FormatError::TooManyFields`] if the format takes
    /// more than `N` values.
    pub fn new(fmt: &str) -> Result<Self, FormatError> {
        Self::from_format(&Format::parse(fmt)?)
    }

    /// Compiles an already parsed format.
    ///
    /// # Errors
    ///
    /// [`FormatError::TooManyFields`] if the format takes more than `N` values.
    pub fn from_format(format: &Format<'_>) -> Result<Self, FormatError> {
        let too_many = FormatError::TooManyFields {
            limit: N,
            needed: format.values,
        };
        if format.values > N {
            return Err(too_many);
        }
        let mut ops = heapless::Vec::<Op, N>::new();
        // Without the `0p` quirk every field writes all of its bytes (`s` and `p` their
        // padding too), so only the spans between fields need zeroing.
        let mut fill = format.zero_p.is_some();
        let mut gaps = heapless::Vec::<Gap, N>::new();
        let mut gap = |at: usize, end: usize, fill: &mut bool| {
            if end > at && !*fill && gaps.push(Gap { at, len: end - at }).is_err() {
                *fill = true;
            }
        };
        let mut end = 0usize;
        for run in format.layout() {
            let run = run?;
            if run.values == 0 {
                continue;
            }
            let kind = match run.kind {
                Kind::Str { len, .. } if !fill => Kind::Str { len, pad: true },
                Kind::Pascal { len, .. } if !fill => Kind::Pascal { len, pad: true },
                kind => kind,
            };
            gap(end, run.offset, &mut fill);
            let mut offset = run.offset;
            for _ in 0..run.values {
                ops.push(Op::new(kind, offset, run.code))
                    .map_err(|_| too_many)?;
                offset = offset.saturating_add(run.stride);
            }
            end = offset;
        }
        gap(end, format.size, &mut fill);
        Ok(Self {
            ops,
            size: format.size,
            gaps: if fill { heapless::Vec::new() } else { gaps },
            fill,
            zero_p: format.zero_p,
        })
    }

    /// How many byte spans packing zeroes because no field writes them (alignment gaps, `x`),
    /// or `None` when it zeroes the whole record first.
    #[cfg(test)]
    pub(super) fn gap_count(&self) -> Option<usize> {
        (!self.fill).then_some(self.gaps.len())
    }

    /// The size in bytes of a record (`calcsize`).
    #[inline]
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many values `pack_into` takes and `unpack` yields.
    #[inline]
    pub fn value_count(&self) -> usize {
        self.ops.len()
    }

    /// The format code of each value, in order (as [`Format::value_codes`]).
    pub fn value_codes(&self) -> impl ExactSizeIterator<Item = char> + '_ {
        self.ops.iter().map(|op| char::from(op.fmt_code))
    }

    /// As [`Format::pack_into`].
    ///
    /// # Errors
    ///
    /// As [`Format::pack_into`].
    #[inline(always)]
    pub fn pack_into(
        &self,
        buf: &mut [u8],
        offset: usize,
        values: &[Value<'_>],
    ) -> Result<(), PackError> {
        if values.len() != self.ops.len() {
            return Err(PackError::ValueCount {
                expected: self.ops.len(),
                got: values.len(),
            });
        }
        let region = region_mut(buf, offset, self.size)?;
        match self.pack_record(region, values) {
            Ok(()) => Ok(()),
            Err((item, fault)) => Err(self.pack_error(fault, item, values, region.len())),
        }
    }

    /// Packs `values` (as many as there are ops) into `region` (the record's bytes). A refusal
    /// comes back as the value's index and a one-byte fault, in registers; the caller builds
    /// the error out of line.
    #[inline(always)]
    fn pack_record(&self, region: &mut [u8], values: &[Value<'_>]) -> Result<(), (usize, Fault)> {
        if self.fill {
            region.fill(0);
        }
        for gap in &self.gaps {
            if let Some(dst) = region.get_mut(gap.at..gap.at + gap.len) {
                zero_short(dst);
            }
        }
        for (op, v) in self.ops.iter().zip(values) {
            if pack_fast(op, region, v) {
                continue;
            }
            if let Err(fault) = pack_slow(op, region, v) {
                // The index is found again out of line, so the loop keeps no counter for it.
                return Err((self.index_of(op), fault));
            }
        }
        Ok(())
    }

    /// The index of `op` in the table (the value it packs).
    #[cold]
    #[inline(never)]
    fn index_of(&self, op: &Op) -> usize {
        self.ops
            .iter()
            .position(|o| core::ptr::eq(o, op))
            .unwrap_or(self.ops.len())
    }

    #[cold]
    #[inline(never)]
    fn pack_error(&self, fault: Fault, item: usize, values: &[Value<'_>], len: usize) -> PackError {
        match (self.ops.get(item), values.get(item)) {
            (Some(op), Some(v)) => describe(fault, op.kind(), len, op.offset, v, item, op.fmt_code),
            _ => PackError::ValueCount {
                expected: self.ops.len(),
                got: values.len(),
            },
        }
    }

    /// As [`Format::pack`].
    ///
    /// # Errors
    ///
    /// As [`Format::pack_into`].
    #[inline(always)]
    pub fn pack(&self, buf: &mut [u8], values: &[Value<'_>]) -> Result<usize, PackError> {
        self.pack_into(buf, 0, values).map(|()| self.size)
    }

    /// As [`Format::unpack`], as a [`Values`] iterator.
    ///
    /// # Errors
    ///
    /// As [`Format::unpack`].
    #[inline]
    pub fn unpack<'b>(&self, buf: &'b [u8]) -> Result<Values<'_, 'b>, UnpackError> {
        if buf.len() != self.size {
            return Err(UnpackError::SizeMismatch {
                need: self.size,
                got: buf.len(),
            });
        }
        self.unpack_checked(buf)
    }

    /// As [`Format::unpack_from`], as a [`Values`] iterator.
    ///
    /// # Errors
    ///
    /// As [`Format::unpack_from`].
    #[inline]
    pub fn unpack_from<'b>(
        &self,
        buf: &'b [u8],
        offset: usize,
    ) -> Result<Values<'_, 'b>, UnpackError> {
        self.unpack_checked(record(buf, offset, self.size)?)
    }

    #[inline]
    fn unpack_checked<'b>(&self, record: &'b [u8]) -> Result<Values<'_, 'b>, UnpackError> {
        check_zero_p(self.zero_p)?;
        Ok(Values {
            record,
            ops: self.ops.iter(),
        })
    }

    /// As [`Format::unpack`], into the caller's slots: fills the first `value_count()` of
    /// `out` and returns them. The fastest way to unpack a record whose values are all wanted,
    /// since nothing is left to an iterator between values.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::{Struct, Value};
    ///
    /// let rec = Struct::<4>::new(">H ?")?;
    /// let mut out = [Value::Int(0); 2];
    /// assert_eq!(rec.unpack_into(&[1, 2, 1], &mut out)?, [Value::Int(258), Value::Bool(true)]);
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Format::unpack`], and [`UnpackError::TooFewSlots`] if `out` is shorter than
    /// `value_count()` (checked before the record).
    #[inline(always)]
    pub fn unpack_into<'v, 'b>(
        &self,
        buf: &'b [u8],
        out: &'v mut [Value<'b>],
    ) -> Result<&'v mut [Value<'b>], UnpackError> {
        let got = out.len();
        let Some(out) = out.get_mut(..self.ops.len()) else {
            return Err(UnpackError::TooFewSlots {
                need: self.ops.len(),
                got,
            });
        };
        if buf.len() != self.size {
            return Err(UnpackError::SizeMismatch {
                need: self.size,
                got: buf.len(),
            });
        }
        check_zero_p(self.zero_p)?;
        if self.decode_all(buf, out) {
            Ok(out)
        } else {
            // A compiled layout keeps every field inside a record of its size.
            Err(self.short_record(buf.len()))
        }
    }

    /// Unpacks every op's value of `record` into `out`; `false` if one did not fit.
    #[inline(always)]
    fn decode_all<'b>(&self, record: &'b [u8], out: &mut [Value<'b>]) -> bool {
        for (slot, op) in out.iter_mut().zip(&self.ops) {
            match decode(op, record) {
                Some(v) => *slot = v,
                None => return false,
            }
        }
        true
    }

    #[cold]
    #[inline(never)]
    fn short_record(&self, got: usize) -> UnpackError {
        UnpackError::SizeMismatch {
            need: self.size,
            got,
        }
    }

    /// As [`Format::iter_unpack`], one [`Values`] iterator per record.
    ///
    /// # Errors
    ///
    /// As [`Format::iter_unpack`].
    pub fn iter_unpack<'b>(&self, buf: &'b [u8]) -> Result<StructRecords<'_, 'b>, UnpackError> {
        check_records(buf, self.size, self.zero_p)?;
        Ok(StructRecords {
            ops: &self.ops,
            records: buf.chunks_exact(self.size.max(1)),
        })
    }
}

/// Bytes of the record that no field writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gap {
    at: usize,
    len: usize,
}

/// Packs a value [`pack_fast`] left: another kind than the code's usual one, `c e p P`, or a
/// value to refuse. Out of line, so the hot loop stays small.
#[inline(never)]
fn pack_slow(op: &Op, region: &mut [u8], v: &Value<'_>) -> Result<(), Fault> {
    encode(op.kind(), region, op.offset, v)
}

/// The values of one record unpacked by a [`Struct`], in format order, as
/// [`Unpack`](super::Unpack) yields them; `c`, `s` and `p` bytes borrow from the buffer.
///
/// It is a slice iterator and the record (four words), so that handing it around costs no
/// more than the values themselves.
#[derive(Clone, Debug)]
pub struct Values<'s, 'b> {
    record: &'b [u8],
    ops: core::slice::Iter<'s, Op>,
}

impl<'b> Values<'_, 'b> {
    /// The bytes of the record being unpacked.
    pub fn record(&self) -> &'b [u8] {
        self.record
    }
}

impl<'b> Iterator for Values<'_, 'b> {
    type Item = Value<'b>;

    // Always inlined: a `Value` returned through memory by a call, per value, is most of the
    // time of a loop that prints integer records (`struct unpack --iter`), and the compiler
    // stops inlining this match into callers that do anything else with the value.
    #[inline(always)]
    fn next(&mut self) -> Option<Value<'b>> {
        decode(self.ops.next()?, self.record)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ops.size_hint()
    }
}

impl ExactSizeIterator for Values<'_, '_> {}
impl FusedIterator for Values<'_, '_> {}

/// The records of a buffer holding a whole number of them, as [`Values`] iterators; made by
/// [`Struct::iter_unpack`].
#[derive(Clone, Debug)]
pub struct StructRecords<'s, 'b> {
    ops: &'s [Op],
    records: ChunksExact<'b, u8>,
}

impl<'s, 'b> Iterator for StructRecords<'s, 'b> {
    type Item = Values<'s, 'b>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        Some(Values {
            record,
            ops: self.ops.iter(),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl ExactSizeIterator for StructRecords<'_, '_> {}
impl FusedIterator for StructRecords<'_, '_> {}
