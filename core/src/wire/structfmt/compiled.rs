//! [`Struct`]: a format compiled into a flat table of fields for the hot path.

use core::iter::FusedIterator;
use core::slice::ChunksExact;

use super::pack::{Fault, describe, encode, region_mut, zero_short};
use super::parse::Kind;
use super::unpack::{Field, unpack_value};
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
    fields: heapless::Vec<Field, N>,
    size: usize,
    /// Spans to zero before packing, or `None` to zero the whole record.
    pub(super) gaps: Option<heapless::Vec<Gap, N>>,
    zero_p: Option<usize>,
}

/// Bytes of the record that no field writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gap {
    offset: usize,
    len: usize,
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
        let mut fields = heapless::Vec::new();
        // Byte spans that no field writes (alignment gaps, `x`), to zero on every pack; `None`
        // once that is not worth tracking and the whole record is zeroed instead.
        let mut gaps = Some(heapless::Vec::<Gap, N>::new());
        let mut end = 0usize;
        for run in format.layout() {
            let run = run?;
            // Without the `0p` quirk, `s` and `p` can write their own padding, so that the
            // record needs zeroing only where nothing is written at all.
            let kind = match run.kind {
                Kind::Str { len, .. } if format.zero_p.is_none() => Kind::Str { len, pad: true },
                Kind::Pascal { len, .. } if format.zero_p.is_none() => {
                    Kind::Pascal { len, pad: true }
                }
                kind => kind,
            };
            let mut offset = run.offset;
            for _ in 0..run.values {
                let field = Field {
                    kind,
                    offset,
                    code: run.code,
                };
                fields.push(field).map_err(|_| too_many)?;
                offset = offset.saturating_add(run.stride);
            }
            if run.values == 0 {
                continue;
            }
            if kind.fixed_width().is_none() {
                gaps = None;
            }
            if run.offset > end {
                let gap = Gap {
                    offset: end,
                    len: run.offset - end,
                };
                gaps = gaps.and_then(|mut g| g.push(gap).ok().map(|()| g));
            }
            end = offset;
        }
        if format.size > end {
            let gap = Gap {
                offset: end,
                len: format.size - end,
            };
            gaps = gaps.and_then(|mut g| g.push(gap).ok().map(|()| g));
        }
        if format.zero_p.is_some() {
            gaps = None;
        }
        Ok(Self {
            fields,
            size: format.size,
            gaps,
            zero_p: format.zero_p,
        })
    }

    /// The size in bytes of a record (`calcsize`).
    #[inline]
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many values `pack_into` takes and `unpack` yields.
    #[inline]
    pub fn value_count(&self) -> usize {
        self.fields.len()
    }

    /// The format code of each value, in order (as [`Format::value_codes`]).
    pub fn value_codes(&self) -> impl ExactSizeIterator<Item = char> + '_ {
        self.fields.iter().map(|f| char::from(f.code))
    }

    /// As [`Format::pack_into`].
    ///
    /// # Errors
    ///
    /// As [`Format::pack_into`].
    #[inline]
    pub fn pack_into(
        &self,
        buf: &mut [u8],
        offset: usize,
        values: &[Value<'_>],
    ) -> Result<(), PackError> {
        if values.len() != self.fields.len() {
            return Err(PackError::ValueCount {
                expected: self.fields.len(),
                got: values.len(),
            });
        }
        let region = region_mut(buf, offset, self.size)?;
        match &self.gaps {
            Some(gaps) => {
                for gap in gaps {
                    if let Some(dst) = region.get_mut(gap.offset..gap.offset + gap.len) {
                        zero_short(dst);
                    }
                }
            }
            None => region.fill(0),
        }
        for (item, (field, v)) in self.fields.iter().zip(values).enumerate() {
            if let Err(fault) = encode(field.kind, region, field.offset, v) {
                // Only the index leaves the loop; the error is rebuilt out of line, so the hot
                // loop keeps nothing alive for it.
                return Err(self.pack_error(fault, item, values, region.len()));
            }
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn pack_error(&self, fault: Fault, item: usize, values: &[Value<'_>], len: usize) -> PackError {
        match (self.fields.get(item), values.get(item)) {
            (Some(f), Some(v)) => describe(fault, f.kind, len, f.offset, v, item, f.code),
            _ => PackError::ValueCount {
                expected: self.fields.len(),
                got: values.len(),
            },
        }
    }

    /// As [`Format::pack`].
    ///
    /// # Errors
    ///
    /// As [`Format::pack_into`].
    #[inline]
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
            fields: self.fields.iter(),
        })
    }

    /// As [`Format::iter_unpack`], one [`Values`] iterator per record.
    ///
    /// # Errors
    ///
    /// As [`Format::iter_unpack`].
    pub fn iter_unpack<'b>(&self, buf: &'b [u8]) -> Result<StructRecords<'_, 'b>, UnpackError> {
        check_records(buf, self.size, self.zero_p)?;
        Ok(StructRecords {
            fields: &self.fields,
            records: buf.chunks_exact(self.size.max(1)),
        })
    }
}

/// The values of one record unpacked by a [`Struct`], in format order, as
/// [`Unpack`](super::Unpack) yields them; `c`, `s` and `p` bytes borrow from the buffer.
///
/// It is a slice iterator and the record (four words), so that handing it around costs no
/// more than the values themselves.
#[derive(Clone, Debug)]
pub struct Values<'s, 'b> {
    record: &'b [u8],
    fields: core::slice::Iter<'s, Field>,
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
        let field = self.fields.next()?;
        unpack_value(field.kind, self.record, field.offset)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl ExactSizeIterator for Values<'_, '_> {}
impl FusedIterator for Values<'_, '_> {}

/// The records of a buffer holding a whole number of them, as [`Values`] iterators; made by
/// [`Struct::iter_unpack`].
#[derive(Clone, Debug)]
pub struct StructRecords<'s, 'b> {
    fields: &'s [Field],
    records: ChunksExact<'b, u8>,
}

impl<'s, 'b> Iterator for StructRecords<'s, 'b> {
    type Item = Values<'s, 'b>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        Some(Values {
            record,
            fields: self.fields.iter(),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl ExactSizeIterator for StructRecords<'_, '_> {}
impl FusedIterator for StructRecords<'_, '_> {}
