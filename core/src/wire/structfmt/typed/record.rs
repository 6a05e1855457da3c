//! [`Record`] and its iterator [`Records`].

use core::fmt;
use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::slice::ChunksExact;

use super::{FieldType, Fields, NATIVE_BIG, TypedError};
use crate::wire::structfmt::pack::region_mut;
use crate::wire::structfmt::parse::Mode;
use crate::wire::structfmt::{Format, PackError, UnpackError, check_records, record};

/// How a record is packed: which offsets (compile-time constants of the tuple type when the
/// layout is one of the two common ones, else the stored ones) and which byte order. Resolved
/// once per call, so each arm is straight-line code with every offset and width known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// `T::PACKED`, little-endian.
    PackedLe,
    /// `T::PACKED`, big-endian.
    PackedBe,
    /// `T::ALIGNED`, native byte order.
    AlignedNative,
    /// The stored offsets, little-endian.
    OffsetsLe,
    /// The stored offsets, big-endian.
    OffsetsBe,
}

/// Runs `$body` with `$offsets: &T::Offsets`, `$size: usize` and `const $big: bool` of the
/// record's plan: one `match` per call, each arm monomorphized with its byte order (and, for the
/// common layouts, with every offset a constant).
macro_rules! by_plan {
    ($rec:expr, |$offsets:ident, $size:ident, $big:ident| $body:expr) => {{
        let rec = $rec;
        match rec.plan {
            Plan::PackedLe => {
                const $big: bool = false;
                let layout = T::PACKED;
                let ($offsets, $size) = (&layout.0, layout.1);
                $body
            }
            Plan::PackedBe => {
                const $big: bool = true;
                let layout = T::PACKED;
                let ($offsets, $size) = (&layout.0, layout.1);
                $body
            }
            Plan::AlignedNative => {
                const $big: bool = NATIVE_BIG;
                let layout = T::ALIGNED;
                let ($offsets, $size) = (&layout.0, layout.1);
                $body
            }
            Plan::OffsetsLe => {
                const $big: bool = false;
                let ($offsets, $size) = (&rec.offsets, rec.size);
                $body
            }
            Plan::OffsetsBe => {
                const $big: bool = true;
                let ($offsets, $size) = (&rec.offsets, rec.size);
                $body
            }
        }
    }};
}

/// A format checked once against the tuple type `T`: packs a `T` and unpacks one, byte for byte
/// as [`Struct`](crate::wire::structfmt::Struct) does, with no per-value dispatch and no error but the buffer's
/// length.
///
/// Where [`Struct`](crate::wire::structfmt::Struct) takes a slice of [`Value`](crate::wire::structfmt::Value)s and checks the
/// kind and range of each one on every call, a `Record<(u32, [u8; 2], f32)>` checks in
/// [`Record::new`] that the format takes exactly those Rust types, in that order, and stores
/// each field's offset and the byte order. Packing then cannot fail except for a buffer that is
/// too short, and both directions compile to one length check and a fixed-width load or store
/// per field.
///
/// Each code takes exactly one Rust type, the C type CPython uses for it (so a native `l` is
/// [`c_long`](core::ffi::c_long): `i64` on x86_64 Linux, `i32` on `thumbv7m-none-eabi` and on
/// Windows):
///
/// | code | native (`@` or none) | standard (`= < > !`) |
/// |------|----------------------|----------------------|
/// | `b` `B` | `i8` `u8` | `i8` `u8` |
/// | `h` `H` | `c_short` `c_ushort` | `i16` `u16` |
/// | `i` `I` | `c_int` `c_uint` | `i32` `u32` |
/// | `l` `L` | `c_long` `c_ulong` | `i32` `u32` |
/// | `q` `Q` | `c_longlong` `c_ulonglong` | `i64` `u64` |
/// | `n` `N` | `isize` `usize` | (native only) |
/// | `?` | `bool` | `bool` |
/// | `e` | [`F16`](super::F16) | [`F16`](super::F16) |
/// | `f` `d` | `f32` `f64` | `f32` `f64` |
/// | `Ks` | `[u8; K]` | `[u8; K]` |
/// | `x` | no field: zero padding | no field: zero padding |
/// | `c` `p` `P` | refused ([`TypedError::NoTypedForm`]) | refused |
///
/// (The `c_*` types are aliases of the fixed-width integers, so `Record<(i32, u16)>` is what
/// `"@i H"` takes on every common target.) Repeat counts give one field per value: `3h` takes
/// `(i16, i16, i16)`.
///
/// The bytes written are those `Struct` writes for the same values (`Value::from` of each
/// field), alignment padding and `x` included (zero); an `f32` signaling NaN is written quiet,
/// as going through a Python float does. Unpacking gives back what `Struct` unpacks, in Rust
/// types: any non-zero `?` byte is `true`, `s` fields are copied into arrays.
///
/// For speed, [`new`](Self::new) notices when the layout is the plain packed one (standard
/// mode without `x`) or the natively aligned one (native mode without `x`), and packing then
/// uses offsets that are constants of `T`; any other layout uses the stored offsets. Either way
/// the byte order is resolved once per call, not per field.
///
/// ```
/// use portsock_core::wire::structfmt::Record;
///
/// let rec = Record::<(u32, [u8; 2], f32)>::new("I 2s f")?;
/// let mut buf = [0u8; 12];
/// rec.pack(&mut buf, &(1, *b"ab", 2.7))?;
/// let (a, s, f) = rec.unpack(&buf)?;
/// assert_eq!((a, &s, f), (1, b"ab", 2.7));
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
pub struct Record<T: Fields> {
    offsets: T::Offsets,
    size: usize,
    pub(super) plan: Plan,
    fields: PhantomData<fn(T) -> T>,
}

impl<T: Fields> Clone for Record<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Fields> Copy for Record<T> {}

impl<T: Fields> fmt::Debug for Record<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("fields", &T::TYPES)
            .field("offsets", &self.offsets)
            .field("size", &self.size)
            .field("plan", &self.plan)
            .finish()
    }
}

impl<T: Fields> Record<T> {
    /// Parses `fmt` and checks that it takes exactly the fields of `T`, in order.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::{Record, TypedError};
    ///
    /// assert_eq!(Record::<(u16, bool)>::new(">H ?")?.size(), 3);
    /// assert!(matches!(Record::<(u8,)>::new("c"), Err(TypedError::NoTypedForm { at: 0, code: b'c' })));
    /// assert_eq!(
    ///     Record::<(u8,)>::new("2B").unwrap_err(),
    ///     TypedError::FieldCount { format: 2, record: 1 }
    /// );
    /// # Ok::<(), TypedError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TypedError::Format`] for an invalid format, [`TypedError::NoTypedForm`] if it
    /// contains `c`, `p` or `P`, [`TypedError::FieldCount`] if it takes more or fewer values
    /// than `T` has fields, [`TypedError::FieldType`] at the first field whose type is not the
    /// one its code takes.
    pub fn new(fmt: &str) -> Result<Self, TypedError> {
        Self::from_format(&Format::parse(fmt)?)
    }

    /// Checks an already parsed format, as [`new`](Self::new).
    ///
    /// ```
    /// use portsock_core::wire::structfmt::{Format, Record};
    ///
    /// let format = Format::parse("!h h")?;
    /// let rec = Record::<(i16, i16)>::from_format(&format)?;
    /// assert_eq!(rec.size(), format.size());
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), but for [`TypedError::Format`].
    pub fn from_format(format: &Format<'_>) -> Result<Self, TypedError> {
        let types = T::TYPES;
        let count_ok = format.values == types.len();
        let mut offsets = T::PACKED.0;
        let mut field = 0usize;
        for run in format.layout() {
            let run = run?;
            if run.values == 0 {
                continue;
            }
            let Some(ty) = FieldType::of(run.kind, run.code) else {
                return Err(TypedError::NoTypedForm {
                    at: run.at,
                    code: run.code,
                });
            };
            if !count_ok {
                // Keep looking for a code without a typed form: that is the better error.
                continue;
            }
            let mut at = run.offset;
            for _ in 0..run.values {
                let (Some(&want), Some(slot)) = (types.get(field), offsets.as_mut().get_mut(field))
                else {
                    break;
                };
                if want != ty {
                    return Err(TypedError::FieldType {
                        field,
                        at: run.at,
                        code: run.code,
                        format: ty,
                        record: want,
                    });
                }
                *slot = at;
                field += 1;
                at = at.saturating_add(run.stride);
            }
        }
        if !count_ok || field != types.len() {
            return Err(TypedError::FieldCount {
                format: format.values,
                record: types.len(),
            });
        }
        let big = match format.mode {
            Mode::Native => NATIVE_BIG,
            Mode::Standard { big } => big,
        };
        let layout = (offsets, format.size);
        let plan = if layout == T::PACKED {
            if big { Plan::PackedBe } else { Plan::PackedLe }
        } else if layout == T::ALIGNED && big == NATIVE_BIG {
            Plan::AlignedNative
        } else if big {
            Plan::OffsetsBe
        } else {
            Plan::OffsetsLe
        };
        Ok(Self {
            offsets,
            size: format.size,
            plan,
            fields: PhantomData,
        })
    }

    /// The size in bytes of a record (`calcsize`).
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// assert_eq!(Record::<(u8, u32)>::new("B I")?.size(), 8);
    /// assert_eq!(Record::<(u8, u32)>::new("<B I")?.size(), 5);
    /// # Ok::<(), portsock_core::wire::structfmt::TypedError>(())
    /// ```
    #[inline]
    pub fn size(&self) -> usize {
        self.size
    }

    /// The byte offset of each field in the record.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// assert_eq!(Record::<(u8, u32, u8)>::new("B I 2x B")?.offsets(), [0, 4, 10]);
    /// # Ok::<(), portsock_core::wire::structfmt::TypedError>(())
    /// ```
    #[inline]
    pub fn offsets(&self) -> &[usize] {
        self.offsets.as_ref()
    }

    /// The type of each field, in order (those of `T`).
    ///
    /// ```
    /// use portsock_core::wire::structfmt::{FieldType, Record};
    ///
    /// let rec = Record::<(i64, [u8; 3])>::new("<q 3s")?;
    /// assert_eq!(rec.field_types(), [FieldType::I64, FieldType::Bytes { len: 3 }]);
    /// # Ok::<(), portsock_core::wire::structfmt::TypedError>(())
    /// ```
    #[inline]
    pub fn field_types(&self) -> &'static [FieldType] {
        T::TYPES
    }

    /// `struct.pack_into(fmt, buf, offset, *value)`: writes the record to
    /// `buf[offset..offset + size()]`, padding zeroed.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// let rec = Record::<(u16, i8)>::new(">H b")?;
    /// let mut buf = [0xaau8; 5];
    /// rec.pack_into(&mut buf, 2, &(0x1234, -1))?;
    /// assert_eq!(buf, [0xaa, 0xaa, 0x12, 0x34, 0xff]);
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PackError::BufferTooSmall`] if the record does not fit; `buf` is then untouched.
    #[inline]
    pub fn pack_into(&self, buf: &mut [u8], offset: usize, value: &T) -> Result<(), PackError> {
        // Each arm checks the length against its own size, a constant for the constant
        // layouts, so that the field stores need no further bounds checks.
        by_plan!(self, |offsets, size, BIG| {
            let out = region_mut(buf, offset, size)?;
            value.write::<BIG>(out, offsets, size);
            Ok(())
        })
    }

    /// `struct.pack_into(fmt, buf, 0, *value)`; returns the number of bytes written, `size()`.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// let rec = Record::<(u8, u32)>::new("@B I")?;
    /// let mut buf = [0xffu8; 8];
    /// assert_eq!(rec.pack(&mut buf, &(7, 1))?, 8);
    /// assert_eq!(&buf[..4], [7, 0, 0, 0]); // alignment padding is zeroed
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`pack_into`](Self::pack_into).
    #[inline]
    pub fn pack(&self, buf: &mut [u8], value: &T) -> Result<usize, PackError> {
        self.pack_into(buf, 0, value).map(|()| self.size)
    }

    /// Reads the record that is the whole of what `region` returns for the record size.
    #[inline(always)]
    fn read<'b>(
        &self,
        region: impl FnOnce(usize) -> Result<&'b [u8], UnpackError>,
    ) -> Result<T, UnpackError> {
        let value = by_plan!(self, |offsets, size, BIG| T::read::<BIG>(
            region(size)?,
            offsets
        ));
        // `None` needs a field outside the record, which `from_format` rules out.
        value.ok_or_else(|| self.cannot_read())
    }

    #[cold]
    #[inline(never)]
    fn cannot_read(&self) -> UnpackError {
        UnpackError::SizeMismatch {
            need: self.size,
            got: 0,
        }
    }

    /// `struct.unpack(fmt, buf)`: the value of the record that is exactly `buf`.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// let rec = Record::<(i16, bool, [u8; 2])>::new("<h ? 2s")?;
    /// assert_eq!(rec.unpack(&[0xfe, 0xff, 2, b'o', b'k'])?, (-2, true, *b"ok"));
    /// assert!(rec.unpack(&[0; 4]).is_err());
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UnpackError::SizeMismatch`] unless `buf.len() == size()`.
    #[inline]
    pub fn unpack(&self, buf: &[u8]) -> Result<T, UnpackError> {
        self.read(|size| {
            if buf.len() == size {
                Ok(buf)
            } else {
                Err(UnpackError::SizeMismatch {
                    need: size,
                    got: buf.len(),
                })
            }
        })
    }

    /// `struct.unpack_from(fmt, buf, offset)`: the value of the record at
    /// `buf[offset..offset + size()]`; bytes after it are ignored.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// let rec = Record::<(u16,)>::new(">H")?;
    /// assert_eq!(rec.unpack_from(&[9, 1, 2, 9], 1)?, (0x0102,));
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UnpackError::BufferTooSmall`] if the record does not fit.
    #[inline]
    pub fn unpack_from(&self, buf: &[u8], offset: usize) -> Result<T, UnpackError> {
        self.read(|size| record(buf, offset, size))
    }

    /// `struct.iter_unpack(fmt, buf)`: the value of each record of `buf`.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::Record;
    ///
    /// let rec = Record::<(u8, i8)>::new("B b")?;
    /// let all: Vec<(u8, i8)> = rec.iter_unpack(&[1, 0xff, 2, 0xfe])?.collect();
    /// assert_eq!(all, [(1, -1), (2, -2)]);
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UnpackError::ZeroSize`] if `size()` is 0, [`UnpackError::NotMultiple`] unless
    /// `buf.len()` is a multiple of it.
    pub fn iter_unpack<'b>(&self, buf: &'b [u8]) -> Result<Records<'_, 'b, T>, UnpackError> {
        check_records(buf, self.size, None)?;
        Ok(Records {
            record: self,
            chunks: buf.chunks_exact(self.size.max(1)),
        })
    }
}

/// The values of the records of a buffer, made by [`Record::iter_unpack`].
///
/// ```
/// use portsock_core::wire::structfmt::Record;
///
/// let rec = Record::<(u16,)>::new("<H")?;
/// let mut records = rec.iter_unpack(&[1, 0, 2, 0])?;
/// assert_eq!(records.len(), 2);
/// assert_eq!(records.next(), Some((1,)));
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
pub struct Records<'r, 'b, T: Fields> {
    record: &'r Record<T>,
    chunks: ChunksExact<'b, u8>,
}

impl<T: Fields> Clone for Records<'_, '_, T> {
    fn clone(&self) -> Self {
        Self {
            record: self.record,
            chunks: self.chunks.clone(),
        }
    }
}

impl<T: Fields> fmt::Debug for Records<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("record", self.record)
            .field("left", &self.chunks.len())
            .finish()
    }
}

impl<T: Fields> Iterator for Records<'_, '_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        // Every chunk is one record long, so `unpack` cannot fail.
        self.record.unpack(self.chunks.next()?).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl<T: Fields> ExactSizeIterator for Records<'_, '_, T> {}
impl<T: Fields> FusedIterator for Records<'_, '_, T> {}
