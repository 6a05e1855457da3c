//! [`Record`]: a format checked once against a tuple of Rust types, then packed and unpacked
//! with no per-value dispatch.
//!
//! The type-to-code table, the layouts and the guarantees are documented on [`Record`].

use core::fmt;
use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::slice::ChunksExact;

use embedded_io::ErrorKind;

use super::float::{f16_to_f64, f64_to_f16};
use super::pack::{region_mut, zero_short};
use super::parse::{Kind, Mode};
use super::{Format, FormatError, PackError, UnpackError, check_records, record};

/// Whether native mode is big-endian (the byte order of `@` and `=`).
const NATIVE_BIG: bool = cfg!(target_endian = "big");

/// The Rust type of one field, as a [`Field`] names it and as [`RecordError`] reports it.
///
/// ```
/// use portsock_core::wire::structfmt::{Field, FieldType};
///
/// assert_eq!(<[u8; 4] as Field>::TYPE, FieldType::Bytes { len: 4 });
/// assert_eq!(FieldType::I64.to_string(), "i64");
/// assert_eq!(FieldType::Bytes { len: 4 }.to_string(), "[u8; 4]");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FieldType {
    /// `i8`: `b`.
    I8,
    /// `u8`: `B`.
    U8,
    /// `i16`: `h`, and a 2-byte native C `int` or `long`.
    I16,
    /// `u16`: `H`, and a 2-byte native C `unsigned int` or `unsigned long`.
    U16,
    /// `i32`: `i`, standard `l`, and native `l` where `long` is 4 bytes.
    I32,
    /// `u32`: `I`, standard `L`, and native `L` where `long` is 4 bytes.
    U32,
    /// `i64`: `q`, and native `l` where `long` is 8 bytes.
    I64,
    /// `u64`: `Q`, and native `L` where `long` is 8 bytes.
    U64,
    /// `isize`: `n`.
    Isize,
    /// `usize`: `N`.
    Usize,
    /// `bool`: `?`.
    Bool,
    /// [`F16`]: `e`.
    F16,
    /// `f32`: `f`.
    F32,
    /// `f64`: `d`.
    F64,
    /// `[u8; len]`: `<len>s`.
    Bytes {
        /// The array length, the count of the `s` item.
        len: usize,
    },
}

impl FieldType {
    /// The type a format code of kind `kind` takes, or `None` for a code without a typed form
    /// (`c`, `p`, `P`) and for `x`.
    fn of(kind: Kind, code: u8) -> Option<Self> {
        Some(match (kind, code) {
            (_, b'n') => Self::Isize,
            (_, b'N') => Self::Usize,
            (Kind::I8, _) => Self::I8,
            (Kind::U8, _) => Self::U8,
            (Kind::I16 { .. }, _) => Self::I16,
            (Kind::U16 { .. }, _) => Self::U16,
            (Kind::I32 { .. }, _) => Self::I32,
            (Kind::U32 { .. }, _) => Self::U32,
            (Kind::I64 { .. }, _) => Self::I64,
            (Kind::U64 { .. }, _) => Self::U64,
            (Kind::Bool, _) => Self::Bool,
            (Kind::F16 { .. }, _) => Self::F16,
            (Kind::F32 { .. }, _) => Self::F32,
            (Kind::F64 { .. }, _) => Self::F64,
            (Kind::Str { len, .. }, _) => Self::Bytes { len },
            (Kind::Char | Kind::Pascal { .. } | Kind::Ptr { .. } | Kind::Pad, _) => return None,
        })
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self {
            Self::I8 => "i8",
            Self::U8 => "u8",
            Self::I16 => "i16",
            Self::U16 => "u16",
            Self::I32 => "i32",
            Self::U32 => "u32",
            Self::I64 => "i64",
            Self::U64 => "u64",
            Self::Isize => "isize",
            Self::Usize => "usize",
            Self::Bool => "bool",
            Self::F16 => "F16",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::Bytes { len } => return write!(f, "[u8; {len}]"),
        })
    }
}

/// Why [`Record::new`] refused a format for its tuple type.
///
/// ```
/// use portsock_core::wire::structfmt::{FieldType, Record, RecordError};
///
/// let err = Record::<(i32, u8)>::new("<q B").unwrap_err();
/// assert_eq!(
///     err,
///     RecordError::FieldType { field: 0, at: 1, code: b'q', format: FieldType::I64, record: FieldType::I32 }
/// );
/// assert_eq!(err.to_string(), "field 0 (format byte 1, code 'q'): the format takes i64, the record type has i32");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecordError {
    /// The format itself is invalid.
    Format(FormatError),
    /// A code with no typed form (`c`, `p`, `P`): pack and unpack such a format with
    /// [`Struct`](super::Struct) or [`Format`].
    NoTypedForm {
        /// Format byte of the code.
        at: usize,
        /// The code.
        code: u8,
    },
    /// The format does not take as many values as the tuple has fields.
    FieldCount {
        /// How many values the format takes.
        format: usize,
        /// How many fields the tuple has.
        record: usize,
    },
    /// A field of the tuple is not the type its code takes.
    FieldType {
        /// Index of the field (and of the value in the format).
        field: usize,
        /// Format byte of the code.
        at: usize,
        /// The code.
        code: u8,
        /// The type the code takes.
        format: FieldType,
        /// The type of the tuple's field.
        record: FieldType,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = |c: u8| char::from(c).escape_default();
        match *self {
            Self::Format(e) => e.fmt(f),
            Self::NoTypedForm { at, code: c } => write!(
                f,
                "format byte {at}: code '{}' has no typed form; use Struct or Format",
                code(c)
            ),
            Self::FieldCount { format, record } => write!(
                f,
                "the format takes {format} values, the record type has {record} fields"
            ),
            Self::FieldType {
                field,
                at,
                code: c,
                format,
                record,
            } => write!(
                f,
                "field {field} (format byte {at}, code '{}'): the format takes {format}, \
                 the record type has {record}",
                code(c)
            ),
        }
    }
}

impl core::error::Error for RecordError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Format(e) => Some(e),
            _ => None,
        }
    }
}

impl embedded_io::Error for RecordError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

impl From<FormatError> for RecordError {
    fn from(e: FormatError) -> Self {
        Self::Format(e)
    }
}

/// An IEEE 754 half-precision float, the Rust type of the `e` code.
///
/// It holds the 16 bits as they are packed, with one normalisation: every NaN is the quiet NaN
/// `0x7e00` with its sign, as CPython packs and unpacks NaNs, so that a `Record` writes the bytes
/// a `Struct` writes. Equality compares bits (`-0.0 != 0.0`, a NaN equals itself).
///
/// ```
/// use portsock_core::wire::structfmt::F16;
///
/// let h = F16::from_f64(1.5).unwrap();
/// assert_eq!(h.to_bits(), 0x3e00);
/// assert_eq!(f64::from(h), 1.5);
/// assert_eq!(F16::from_f64(65520.0), None); // too large, as CPython's OverflowError
/// assert_eq!(F16::from_bits(0xfc01).to_bits(), 0xfe00); // NaNs are quiet, sign kept
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct F16(u16);

impl F16 {
    /// The half-precision float with these bits (a NaN becomes the quiet NaN with its sign).
    ///
    /// ```
    /// use portsock_core::wire::structfmt::F16;
    ///
    /// assert_eq!(f64::from(F16::from_bits(0xc000)), -2.0);
    /// ```
    #[inline]
    pub const fn from_bits(bits: u16) -> Self {
        if bits & 0x7c00 == 0x7c00 && bits & 0x03ff != 0 {
            Self((bits & 0x8000) | 0x7e00)
        } else {
            Self(bits)
        }
    }

    /// The 16 bits.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::F16;
    ///
    /// assert_eq!(F16::from_bits(0x3c00).to_bits(), 0x3c00);
    /// ```
    #[inline]
    pub const fn to_bits(self) -> u16 {
        self.0
    }

    /// `x` rounded to half precision, half to even, as CPython packs a float for `e`; `None` if
    /// it overflows (|x| rounds to 65520 or more; infinities are fine).
    ///
    /// ```
    /// use portsock_core::wire::structfmt::F16;
    ///
    /// assert_eq!(F16::from_f64(65504.0).map(F16::to_bits), Some(0x7bff));
    /// assert_eq!(F16::from_f64(f64::INFINITY).map(F16::to_bits), Some(0x7c00));
    /// assert_eq!(F16::from_f64(1e6), None);
    /// ```
    pub fn from_f64(x: f64) -> Option<Self> {
        f64_to_f16(x).map(Self::from_bits)
    }

    /// The value as a double (exact).
    ///
    /// ```
    /// use portsock_core::wire::structfmt::F16;
    ///
    /// assert_eq!(F16::from_bits(0x0001).to_f64(), 2f64.powi(-24));
    /// ```
    pub fn to_f64(self) -> f64 {
        f16_to_f64(self.0)
    }
}

impl From<F16> for f64 {
    fn from(h: F16) -> Self {
        h.to_f64()
    }
}

impl From<F16> for super::Value<'_> {
    fn from(h: F16) -> Self {
        Self::Float(h.to_f64())
    }
}

mod sealed {
    use super::FieldType;

    /// The encoded form of a field: `[u8; K]`.
    pub trait Bytes: Copy {
        /// The `K` bytes at `at` of `src`, if they are there.
        fn load(src: &[u8], at: usize) -> Option<Self>;
        /// Writes the bytes at `at` of `dst`, if they fit.
        fn store(self, dst: &mut [u8], at: usize);
    }

    impl<const K: usize> Bytes for [u8; K] {
        #[inline(always)]
        fn load(src: &[u8], at: usize) -> Option<Self> {
            src.get(at..)?.first_chunk::<K>().copied()
        }

        #[inline(always)]
        fn store(self, dst: &mut [u8], at: usize) {
            if let Some(d) = dst.get_mut(at..).and_then(|t| t.first_chunk_mut::<K>()) {
                *d = self;
            }
        }
    }

    /// How one field type is laid out and encoded.
    pub trait Scalar: Copy {
        /// The encoded bytes.
        type Bytes: Bytes;
        /// Bytes in the record.
        const SIZE: usize;
        /// Native-mode alignment (that of the C type).
        const ALIGN: usize;
        /// The bytes, big-endian if `BIG`.
        fn encode<const BIG: bool>(self) -> Self::Bytes;
        /// The value of the bytes, big-endian if `BIG`.
        fn decode<const BIG: bool>(bytes: Self::Bytes) -> Self;
    }

    /// A tuple of fields and its two common layouts.
    pub trait Tuple: Copy {
        /// `[usize; arity]`.
        type Offsets: Copy + core::fmt::Debug + PartialEq + AsRef<[usize]> + AsMut<[usize]>;
        /// The type of each field.
        const TYPES: &'static [FieldType];
        /// Offsets and size with no padding (standard mode).
        const PACKED: (Self::Offsets, usize);
        /// Offsets and size with every field at its native alignment (native mode without
        /// `x`).
        const ALIGNED: (Self::Offsets, usize);
        /// Writes every field at its offset and zeroes the bytes between and after them up to
        /// `size`.
        fn write<const BIG: bool>(&self, out: &mut [u8], offsets: &Self::Offsets, size: usize);
        /// Reads every field; `None` if one is outside `src`.
        fn read<const BIG: bool>(src: &[u8], offsets: &Self::Offsets) -> Option<Self>;
    }
}

use sealed::{Bytes as _, Scalar, Tuple};

/// A Rust type that is the typed form of a format code: see the table on [`Record`].
///
/// Implemented (and only implementable) for `i8 u8 i16 u16 i32 u32 i64 u64 isize usize bool`,
/// [`F16`], `f32`, `f64` and `[u8; K]`.
///
/// ```
/// use portsock_core::wire::structfmt::{F16, Field, FieldType, Record};
///
/// assert_eq!(<F16 as Field>::TYPE, FieldType::F16);
/// // A native `l` is a C `long`, whatever its width on the target.
/// assert_eq!(<core::ffi::c_long as Field>::TYPE, Record::<(core::ffi::c_long,)>::new("@l")?.field_types()[0]);
/// # Ok::<(), portsock_core::wire::structfmt::RecordError>(())
/// ```
pub trait Field: Scalar {
    /// Which type this is.
    const TYPE: FieldType;
}

/// A tuple of [`Field`]s, 0 to 12 of them: the Rust form of a record.
///
/// ```
/// use portsock_core::wire::structfmt::{FieldType, Fields};
///
/// fn types<T: Fields>() -> &'static [FieldType] {
///     T::field_types()
/// }
/// assert_eq!(types::<(u8, bool)>(), [FieldType::U8, FieldType::Bool]);
/// ```
pub trait Fields: Tuple {
    /// The type of each field, in order.
    ///
    /// ```
    /// use portsock_core::wire::structfmt::{FieldType, Fields};
    ///
    /// assert_eq!(<(f32, [u8; 3])>::field_types(), [FieldType::F32, FieldType::Bytes { len: 3 }]);
    /// ```
    fn field_types() -> &'static [FieldType] {
        Self::TYPES
    }
}

macro_rules! int_field {
    ($($t:ty => $ty:ident),* $(,)?) => {$(
        impl Scalar for $t {
            type Bytes = [u8; size_of::<$t>()];
            const SIZE: usize = size_of::<$t>();
            const ALIGN: usize = align_of::<$t>();

            #[inline(always)]
            fn encode<const BIG: bool>(self) -> Self::Bytes {
                if BIG { self.to_be_bytes() } else { self.to_le_bytes() }
            }

            #[inline(always)]
            fn decode<const BIG: bool>(bytes: Self::Bytes) -> Self {
                if BIG { Self::from_be_bytes(bytes) } else { Self::from_le_bytes(bytes) }
            }
        }

        impl Field for $t {
            const TYPE: FieldType = FieldType::$ty;
        }
    )*};
}

int_field!(
    i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32, i64 => I64, u64 => U64,
    isize => Isize, usize => Usize,
);

impl Scalar for bool {
    type Bytes = [u8; 1];
    const SIZE: usize = 1;
    const ALIGN: usize = 1;

    #[inline(always)]
    fn encode<const BIG: bool>(self) -> [u8; 1] {
        [u8::from(self)]
    }

    #[inline(always)]
    fn decode<const BIG: bool>(bytes: [u8; 1]) -> Self {
        // Any non-zero byte is True, as CPython unpacks it.
        bytes != [0]
    }
}

impl Field for bool {
    const TYPE: FieldType = FieldType::Bool;
}

impl Scalar for f32 {
    type Bytes = [u8; 4];
    const SIZE: usize = 4;
    const ALIGN: usize = align_of::<Self>();

    #[inline(always)]
    fn encode<const BIG: bool>(self) -> [u8; 4] {
        // `Struct` receives an f32 as a double and narrows it again, which quiets a signaling
        // NaN (payload and sign kept); do the same so that both write the same bytes.
        let bits = self.to_bits();
        let bits = if self.is_nan() {
            bits | 0x0040_0000
        } else {
            bits
        };
        if BIG {
            bits.to_be_bytes()
        } else {
            bits.to_le_bytes()
        }
    }

    #[inline(always)]
    fn decode<const BIG: bool>(bytes: [u8; 4]) -> Self {
        Self::from_bits(if BIG {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }
}

impl Field for f32 {
    const TYPE: FieldType = FieldType::F32;
}

impl Scalar for f64 {
    type Bytes = [u8; 8];
    const SIZE: usize = 8;
    const ALIGN: usize = align_of::<Self>();

    #[inline(always)]
    fn encode<const BIG: bool>(self) -> [u8; 8] {
        if BIG {
            self.to_be_bytes()
        } else {
            self.to_le_bytes()
        }
    }

    #[inline(always)]
    fn decode<const BIG: bool>(bytes: [u8; 8]) -> Self {
        if BIG {
            Self::from_be_bytes(bytes)
        } else {
            Self::from_le_bytes(bytes)
        }
    }
}

impl Field for f64 {
    const TYPE: FieldType = FieldType::F64;
}

impl Scalar for F16 {
    type Bytes = [u8; 2];
    const SIZE: usize = 2;
    const ALIGN: usize = align_of::<core::ffi::c_short>();

    #[inline(always)]
    fn encode<const BIG: bool>(self) -> [u8; 2] {
        if BIG {
            self.0.to_be_bytes()
        } else {
            self.0.to_le_bytes()
        }
    }

    #[inline(always)]
    fn decode<const BIG: bool>(bytes: [u8; 2]) -> Self {
        Self::from_bits(if BIG {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        })
    }
}

impl Field for F16 {
    const TYPE: FieldType = FieldType::F16;
}

impl<const K: usize> Scalar for [u8; K] {
    type Bytes = Self;
    const SIZE: usize = K;
    const ALIGN: usize = 1;

    #[inline(always)]
    fn encode<const BIG: bool>(self) -> Self {
        self
    }

    #[inline(always)]
    fn decode<const BIG: bool>(bytes: Self) -> Self {
        bytes
    }
}

impl<const K: usize> Field for [u8; K] {
    const TYPE: FieldType = FieldType::Bytes { len: K };
}

/// Offsets and total size of fields of `sizes` laid end to end.
const fn packed<const N: usize>(sizes: [usize; N]) -> ([usize; N], usize) {
    aligned(sizes, [1; N])
}

/// Offsets and total size of fields of `sizes`, each at a multiple of its alignment (a power of
/// two) as native mode lays them out. Saturates rather than fail to compile on absurd sizes;
/// such a layout never matches a parsed one.
const fn aligned<const N: usize>(sizes: [usize; N], aligns: [usize; N]) -> ([usize; N], usize) {
    let mut offsets = [0; N];
    let mut end = 0usize;
    let mut i = 0;
    while i < N {
        let mask = aligns[i].saturating_sub(1);
        let at = end.saturating_add(end.wrapping_neg() & mask);
        offsets[i] = at;
        end = at.saturating_add(sizes[i]);
        i += 1;
    }
    (offsets, end)
}

/// Zeroes `out[from..to]` (nothing if that is empty or outside `out`).
#[inline(always)]
fn zero_gap(out: &mut [u8], from: usize, to: usize) {
    if let Some(gap) = out.get_mut(from..to) {
        zero_short(gap);
    }
}

impl Tuple for () {
    type Offsets = [usize; 0];
    const TYPES: &'static [FieldType] = &[];
    const PACKED: ([usize; 0], usize) = ([], 0);
    const ALIGNED: ([usize; 0], usize) = ([], 0);

    #[inline(always)]
    fn write<const BIG: bool>(&self, out: &mut [u8], _: &[usize; 0], size: usize) {
        zero_gap(out, 0, size);
    }

    #[inline(always)]
    fn read<const BIG: bool>(_: &[u8], _: &[usize; 0]) -> Option<Self> {
        Some(())
    }
}

impl Fields for () {}

macro_rules! tuple_fields {
    ($n:literal; $($t:ident $i:tt),+) => {
        impl<$($t: Field),+> Tuple for ($($t,)+) {
            type Offsets = [usize; $n];
            const TYPES: &'static [FieldType] = &[$(<$t as Field>::TYPE),+];
            const PACKED: ([usize; $n], usize) = packed([$(<$t as Scalar>::SIZE),+]);
            const ALIGNED: ([usize; $n], usize) =
                aligned([$(<$t as Scalar>::SIZE),+], [$(<$t as Scalar>::ALIGN),+]);

            #[inline(always)]
            fn write<const BIG: bool>(&self, out: &mut [u8], offsets: &[usize; $n], size: usize) {
                let mut end = 0usize;
                $(
                    let at = offsets[$i];
                    zero_gap(out, end, at);
                    self.$i.encode::<BIG>().store(out, at);
                    end = at.wrapping_add(<$t as Scalar>::SIZE);
                )+
                zero_gap(out, end, size);
            }

            #[inline(always)]
            fn read<const BIG: bool>(src: &[u8], offsets: &[usize; $n]) -> Option<Self> {
                Some(($(
                    <$t as Scalar>::decode::<BIG>(
                        <<$t as Scalar>::Bytes>::load(src, offsets[$i])?,
                    ),
                )+))
            }
        }

        impl<$($t: Field),+> Fields for ($($t,)+) {}
    };
}

tuple_fields!(1; A 0);
tuple_fields!(2; A 0, B 1);
tuple_fields!(3; A 0, B 1, C 2);
tuple_fields!(4; A 0, B 1, C 2, D 3);
tuple_fields!(5; A 0, B 1, C 2, D 3, E 4);
tuple_fields!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_fields!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_fields!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_fields!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_fields!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_fields!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_fields!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// How a record is packed: which offsets (compile-time constants of the tuple type when the
/// layout is one of the two common ones, else the stored ones) and which byte order. Resolved
/// once per call, so each arm is straight-line code with every offset and width known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
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
/// as [`Struct`](super::Struct) does, with no per-value dispatch and no error but the buffer's
/// length.
///
/// Where [`Struct`](super::Struct) takes a slice of [`Value`](super::Value)s and checks the
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
/// | `e` | [`F16`] | [`F16`] |
/// | `f` `d` | `f32` `f64` | `f32` `f64` |
/// | `Ks` | `[u8; K]` | `[u8; K]` |
/// | `x` | no field: zero padding | no field: zero padding |
/// | `c` `p` `P` | refused ([`RecordError::NoTypedForm`]) | refused |
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
    plan: Plan,
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
    /// use portsock_core::wire::structfmt::{Record, RecordError};
    ///
    /// assert_eq!(Record::<(u16, bool)>::new(">H ?")?.size(), 3);
    /// assert!(matches!(Record::<(u8,)>::new("c"), Err(RecordError::NoTypedForm { at: 0, code: b'c' })));
    /// assert_eq!(
    ///     Record::<(u8,)>::new("2B").unwrap_err(),
    ///     RecordError::FieldCount { format: 2, record: 1 }
    /// );
    /// # Ok::<(), RecordError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecordError::Format`] for an invalid format, [`RecordError::NoTypedForm`] if it
    /// contains `c`, `p` or `P`, [`RecordError::FieldCount`] if it takes more or fewer values
    /// than `T` has fields, [`RecordError::FieldType`] at the first field whose type is not the
    /// one its code takes.
    pub fn new(fmt: &str) -> Result<Self, RecordError> {
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
    /// As [`new`](Self::new), but for [`RecordError::Format`].
    pub fn from_format(format: &Format<'_>) -> Result<Self, RecordError> {
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
                return Err(RecordError::NoTypedForm {
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
                    return Err(RecordError::FieldType {
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
            return Err(RecordError::FieldCount {
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
    /// # Ok::<(), portsock_core::wire::structfmt::RecordError>(())
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
    /// # Ok::<(), portsock_core::wire::structfmt::RecordError>(())
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
    /// # Ok::<(), portsock_core::wire::structfmt::RecordError>(())
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

#[cfg(test)]
mod tests {
    use core::ffi::{c_long, c_ulong};
    use std::string::ToString;
    use std::vec::Vec;

    use super::super::{Struct, Value};
    use super::*;

    /// Packs `value` with a `Record` and `values` with a `Struct` into buffers of different
    /// garbage, asserts the bytes agree, and returns them.
    fn both<T: Fields + fmt::Debug + PartialEq>(
        fmt: &str,
        value: T,
        values: &[Value<'_>],
    ) -> Vec<u8> {
        let rec = Record::<T>::new(fmt).expect("format takes T");
        let dynamic = Struct::<16>::new(fmt).expect("valid format");
        assert_eq!(rec.size(), dynamic.size());
        let mut typed = std::vec![0xa5; rec.size()];
        assert_eq!(rec.pack(&mut typed, &value), Ok(rec.size()));
        let mut untyped = std::vec![0x5a; rec.size()];
        assert_eq!(dynamic.pack(&mut untyped, values), Ok(rec.size()));
        assert_eq!(typed, untyped, "{fmt:?}");
        let back = rec.unpack(&typed).expect("one record");
        // A NaN field makes `value != value`; the repacked bytes still say it is the same.
        #[allow(clippy::eq_op)]
        let comparable = value == value;
        if comparable {
            assert_eq!(back, value, "{fmt:?}");
        }
        let mut again = std::vec![0xc3; rec.size()];
        assert_eq!(rec.pack(&mut again, &back), Ok(rec.size()));
        assert_eq!(again, typed, "{fmt:?}");
        typed
    }

    fn plan(fmt: &str) -> Plan {
        Record::<(u32, [u8; 2], f32)>::new(fmt)
            .expect("takes (u32, [u8; 2], f32)")
            .plan
    }

    #[test]
    fn chapter_record_in_every_mode() {
        let v = (1u32, *b"ab", 2.7f32);
        let values = [
            Value::Int(1),
            Value::Bytes(b"ab"),
            Value::Float(f64::from(2.7f32)),
        ];
        let native = both("I 2s f", v, &values);
        assert_eq!(native.len(), 12);
        assert_eq!(&native[4..8], b"ab\0\0");
        assert_eq!(
            both("<I 2s f", v, &values),
            [1, 0, 0, 0, b'a', b'b', 0xcd, 0xcc, 0x2c, 0x40]
        );
        assert_eq!(
            both("!I 2s f", v, &values),
            [0, 0, 0, 1, b'a', b'b', 0x40, 0x2c, 0xcc, 0xcd]
        );
        for fmt in ["@I 2s f", "=I 2s f", ">I 2s f"] {
            both(fmt, v, &values);
        }
    }

    #[test]
    fn plans() {
        let native_le = if NATIVE_BIG {
            Plan::PackedBe
        } else {
            Plan::PackedLe
        };
        assert_eq!(plan("<I 2s f"), Plan::PackedLe);
        assert_eq!(plan(">I 2s f"), Plan::PackedBe);
        assert_eq!(plan("!I2sf"), Plan::PackedBe);
        assert_eq!(plan("=I 2s f"), native_le);
        assert_eq!(plan("I 2s f"), Plan::AlignedNative);
        // `x` that happens to fill the alignment gap: still the constant layout.
        assert_eq!(plan("I 2s 2x f"), Plan::AlignedNative);
        assert_eq!(
            plan("<I 2s 2x f"),
            if NATIVE_BIG {
                Plan::OffsetsLe
            } else {
                Plan::AlignedNative
            }
        );
        assert_eq!(plan("<I x 2s f"), Plan::OffsetsLe);
        assert_eq!(plan(">I 2s f x"), Plan::OffsetsBe);
        assert_eq!(
            plan("I 2s f x"),
            if NATIVE_BIG {
                Plan::OffsetsBe
            } else {
                Plan::OffsetsLe
            }
        );
        assert_eq!(
            plan("x I 2s f"),
            if NATIVE_BIG {
                Plan::OffsetsBe
            } else {
                Plan::OffsetsLe
            }
        );
        // Native and packed coincide without gaps; either constant layout is right.
        let rec = Record::<(u32, u32)>::new("@I I").expect("valid");
        assert!(matches!(rec.plan, Plan::PackedLe | Plan::PackedBe));
    }

    #[test]
    fn padding_is_zeroed_in_every_plan() {
        let v = (-1i8, 0x0102_0304i32, true);
        let values = [Value::Int(-1), Value::Int(0x0102_0304), Value::Bool(true)];
        for fmt in [
            "b i ?",
            "<b i ?",
            ">b i ?",
            "b 3x i ?",
            "<b 2x i 3x ?",
            ">b x i ? 4x",
            "xb i ?x",
        ] {
            let bytes = both(fmt, v, &values);
            let rec = Record::<(i8, i32, bool)>::new(fmt).expect("valid");
            let offsets = rec.offsets();
            for (at, b) in bytes.iter().enumerate() {
                let in_field = [(offsets[0], 1), (offsets[1], 4), (offsets[2], 1)]
                    .iter()
                    .any(|&(o, n)| (o..o + n).contains(&at));
                assert!(in_field || *b == 0, "{fmt:?}: byte {at} is {b:#x}");
            }
        }
    }

    #[test]
    fn every_code_and_its_type() {
        use FieldType::*;
        let check = |fmt: &str, want: &[FieldType]| {
            let format = Format::parse(fmt).expect("valid");
            let got: Vec<FieldType> = format
                .layout()
                .filter_map(|run| run.ok())
                .filter(|run| run.values > 0)
                .flat_map(|run| core::iter::repeat_n(FieldType::of(run.kind, run.code), run.values))
                .map(|t| t.expect("typed"))
                .collect();
            assert_eq!(got, want, "{fmt:?}");
        };
        let long = if size_of::<c_long>() == 8 {
            [I64, U64]
        } else {
            [I32, U32]
        };
        check(
            "<bBhHiIlLqQ?efd3s0s",
            &[
                I8,
                U8,
                I16,
                U16,
                I32,
                U32,
                I32,
                U32,
                I64,
                U64,
                Bool,
                F16,
                F32,
                F64,
                Bytes { len: 3 },
                Bytes { len: 0 },
            ],
        );
        check("@lL", &long);
        check("nN", &[Isize, Usize]);
        check("2h3x0i", &[I16, I16]);
        assert_eq!(<c_long as Field>::TYPE, long[0]);
        assert_eq!(<c_ulong as Field>::TYPE, long[1]);
        assert!(Record::<(c_long, c_ulong)>::new("lL").is_ok());
        assert!(Record::<(i32, u32)>::new("<lL").is_ok());
        assert!(Record::<(isize, usize)>::new("nN").is_ok());
        assert!(Record::<(bool, super::F16, f32, f64)>::new(">?efd").is_ok());
    }

    #[test]
    fn type_mismatch_names_the_field() {
        assert_eq!(
            Record::<(u8, i64)>::new("<B n").unwrap_err(),
            RecordError::Format(FormatError::NativeOnly { at: 3, code: b'n' })
        );
        assert_eq!(
            Record::<(u8, i64)>::new("B n").unwrap_err(),
            RecordError::FieldType {
                field: 1,
                at: 2,
                code: b'n',
                format: FieldType::Isize,
                record: FieldType::I64
            }
        );
        assert_eq!(
            Record::<(u8, [u8; 3])>::new("B 4s").unwrap_err(),
            RecordError::FieldType {
                field: 1,
                at: 3,
                code: b's',
                format: FieldType::Bytes { len: 4 },
                record: FieldType::Bytes { len: 3 }
            }
        );
        // The third value of `3h` is field 2; every value of the run has the code's position.
        assert_eq!(
            Record::<(i16, i16, u16)>::new("<3h").unwrap_err(),
            RecordError::FieldType {
                field: 2,
                at: 2,
                code: b'h',
                format: FieldType::I16,
                record: FieldType::U16
            }
        );
        // A value of the right width but the wrong signedness or kind is refused too.
        assert!(Record::<(u32,)>::new("<i").is_err());
        assert!(Record::<(f32,)>::new("<I").is_err());
        assert!(Record::<(u8,)>::new("?").is_err());
        assert!(Record::<(i64,)>::new("d").is_err());
    }

    #[test]
    fn codes_without_typed_form() {
        for (fmt, at, code) in [
            ("c", 0, b'c'),
            ("<B 3p", 4, b'p'),
            ("P", 0, b'P'),
            ("B 0p", 3, b'p'),
        ] {
            let err = Record::<(u8,)>::new(fmt).unwrap_err();
            assert_eq!(err, RecordError::NoTypedForm { at, code }, "{fmt:?}");
            assert!(err.to_string().contains("use Struct or Format"), "{err}");
        }
        // Refused even when the count does not match either: the better error.
        assert_eq!(
            Record::<(u8, u8, u8)>::new("2c").unwrap_err(),
            RecordError::NoTypedForm { at: 1, code: b'c' }
        );
        // `0c` takes no value, so it is no field and no error.
        assert_eq!(Record::<(u8,)>::new("0c B").map(|r| r.size()), Ok(1));
    }

    #[test]
    fn field_count() {
        assert_eq!(
            Record::<(u8, u8)>::new("3B").unwrap_err(),
            RecordError::FieldCount {
                format: 3,
                record: 2
            }
        );
        assert_eq!(
            Record::<(u8, u8)>::new("B").unwrap_err(),
            RecordError::FieldCount {
                format: 1,
                record: 2
            }
        );
        assert_eq!(
            Record::<(u8,)>::new("4x").unwrap_err(),
            RecordError::FieldCount {
                format: 0,
                record: 1
            }
        );
        assert_eq!(
            Record::<(u8,)>::new("99999999999B").unwrap_err(),
            RecordError::FieldCount {
                format: 99_999_999_999,
                record: 1
            }
        );
    }

    #[test]
    fn empty_tuple() {
        let rec = Record::<()>::new("3x").expect("no values");
        let mut buf = [9u8; 4];
        assert_eq!(rec.pack(&mut buf, &()), Ok(3));
        assert_eq!(buf, [0, 0, 0, 9]);
        assert_eq!(rec.unpack(&buf[..3]), Ok(()));
        assert_eq!(Record::<()>::new("").map(|r| r.size()), Ok(0));
        assert_eq!(Record::<()>::new("0i").map(|r| r.size()), Ok(0));
        assert_eq!(
            Record::<()>::new("")
                .expect("empty")
                .iter_unpack(&[])
                .map(|r| r.count()),
            Err(UnpackError::ZeroSize)
        );
    }

    #[test]
    fn twelve_fields() {
        type Twelve = (
            i8,
            [u8; 2],
            i64,
            bool,
            u16,
            f32,
            f64,
            u32,
            F16,
            i16,
            [u8; 7],
            u64,
        );
        let v: Twelve = (
            -3,
            *b"hi",
            -5_000_000_000,
            true,
            0xbeef,
            -1.25,
            1e300,
            0xdead_beef,
            F16::from_bits(0x3c00),
            -2,
            *b"seven!!",
            u64::MAX,
        );
        let values = [
            Value::Int(-3),
            Value::Bytes(b"hi"),
            Value::Int(-5_000_000_000),
            Value::Bool(true),
            Value::Int(0xbeef),
            Value::Float(-1.25),
            Value::Float(1e300),
            Value::Int(0xdead_beef),
            Value::Float(1.0),
            Value::Int(-2),
            Value::Bytes(b"seven!!"),
            Value::Int(u64::MAX.into()),
        ];
        for prefix in ["", "@", "=", "<", ">", "!"] {
            let fmt = std::format!("{prefix}b 2s q ? H f 3x d I e h 7s Q");
            both(&fmt, v, &values);
        }
    }

    #[test]
    fn buffer_errors_touch_nothing() {
        let rec = Record::<(u16, u8)>::new("<H B").expect("valid");
        let mut buf = [7u8; 4];
        assert_eq!(
            rec.pack(&mut buf[..2], &(1, 2)),
            Err(PackError::BufferTooSmall {
                offset: 0,
                need: 3,
                got: 2
            })
        );
        assert_eq!(
            rec.pack_into(&mut buf, 2, &(1, 2)),
            Err(PackError::BufferTooSmall {
                offset: 2,
                need: 3,
                got: 4
            })
        );
        assert_eq!(
            rec.pack_into(&mut buf, usize::MAX, &(1, 2)),
            Err(PackError::BufferTooSmall {
                offset: usize::MAX,
                need: 3,
                got: 4
            })
        );
        assert_eq!(buf, [7; 4]);
        assert_eq!(rec.pack_into(&mut buf, 1, &(0x0201, 3)), Ok(()));
        assert_eq!(buf, [7, 1, 2, 3]);
        assert_eq!(
            rec.unpack(&buf),
            Err(UnpackError::SizeMismatch { need: 3, got: 4 })
        );
        assert_eq!(rec.unpack_from(&buf, 1), Ok((0x0201, 3)));
        assert_eq!(
            rec.unpack_from(&buf, 2),
            Err(UnpackError::BufferTooSmall {
                offset: 2,
                need: 3,
                got: 4
            })
        );
        // The same through the stored-offset path.
        let rec = Record::<(u16, u8)>::new("<H x B").expect("valid");
        assert_eq!(rec.plan, Plan::OffsetsLe);
        assert_eq!(
            rec.pack(&mut buf[..3], &(1, 2)),
            Err(PackError::BufferTooSmall {
                offset: 0,
                need: 4,
                got: 3
            })
        );
        assert_eq!(
            rec.unpack(&buf[..3]),
            Err(UnpackError::SizeMismatch { need: 4, got: 3 })
        );
    }

    #[test]
    fn bools_and_floats() {
        let rec = Record::<(bool, bool)>::new("??").expect("valid");
        assert_eq!(rec.unpack(&[0, 0x80]), Ok((false, true)));
        // A signaling NaN is quieted, as `Struct` (through a double) does; sign and payload kept.
        let snan = f32::from_bits(0xff80_0001);
        let bytes = both("<f", (snan,), &[Value::from(snan)]);
        assert_eq!(bytes, 0xffc0_0001u32.to_le_bytes());
        both(
            "<d",
            (f64::from_bits(0x7ff0_0000_0000_0001),),
            &[Value::Float(f64::from_bits(0x7ff0_0000_0000_0001))],
        );
        for bits in [
            0u16, 0x8000, 0x0001, 0x03ff, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0xfe00,
        ] {
            let h = F16::from_bits(bits);
            assert_eq!(h.to_bits(), bits);
            both(">e", (h,), &[Value::from(h)]);
            both("e", (h,), &[Value::Float(h.to_f64())]);
            assert_eq!(F16::from_f64(h.to_f64()), Some(h), "{bits:#x}");
        }
        // NaN payloads collapse to the quiet NaN, as CPython unpacks and repacks them.
        let rec = Record::<(F16,)>::new("<e").expect("valid");
        assert_eq!(
            rec.unpack(&[0x01, 0xfc]).map(|(h,)| h.to_bits()),
            Ok(0xfe00)
        );
        assert_eq!(
            rec.unpack(&[0x00, 0x7d]).map(|(h,)| h.to_bits()),
            Ok(0x7e00)
        );
        // Rounding and overflow are those of `Struct`.
        assert_eq!(
            F16::from_f64(1.0 + 2f64.powi(-11)).map(F16::to_bits),
            Some(0x3c00)
        );
        assert_eq!(F16::from_f64(65519.99).map(F16::to_bits), Some(0x7bff));
        assert_eq!(F16::from_f64(-65520.0), None);
        assert_eq!(F16::from_f64(f64::NAN).map(F16::to_bits), Some(0x7e00));
        assert_eq!(F16::default().to_f64(), 0.0);
    }

    #[test]
    fn iter_unpack() {
        let rec = Record::<(u8, u16)>::new("<B H").expect("valid");
        let all: Vec<(u8, u16)> = rec
            .iter_unpack(&[1, 2, 0, 3, 4, 0])
            .expect("whole records")
            .collect();
        assert_eq!(all, [(1, 2), (3, 4)]);
        assert_eq!(rec.iter_unpack(&[]).map(|r| r.len()), Ok(0));
        assert_eq!(
            rec.iter_unpack(&[0; 4]).map(|r| r.len()),
            Err(UnpackError::NotMultiple { size: 3, got: 4 })
        );
        let records = rec.iter_unpack(&[0; 6]).expect("whole records");
        assert!(std::format!("{records:?}").contains("left: 2"));
        assert_eq!(records.clone().last(), Some((0, 0)));
    }

    #[test]
    fn display_and_debug() {
        assert_eq!(
            RecordError::NoTypedForm { at: 2, code: b'p' }.to_string(),
            "format byte 2: code 'p' has no typed form; use Struct or Format"
        );
        assert_eq!(
            RecordError::FieldCount {
                format: 3,
                record: 2
            }
            .to_string(),
            "the format takes 3 values, the record type has 2 fields"
        );
        let bad = Record::<(u8,)>::new("y").unwrap_err();
        assert_eq!(
            bad.to_string(),
            FormatError::UnknownCode { at: 0, code: b'y' }.to_string()
        );
        assert!(core::error::Error::source(&bad).is_some());
        assert_eq!(embedded_io::Error::kind(&bad), ErrorKind::InvalidInput);
        let rec = Record::<(u8, [u8; 2])>::new("B 2s").expect("valid");
        let shown = std::format!("{rec:?}");
        assert!(
            shown.contains("Bytes { len: 2 }") && shown.contains("size: 3"),
            "{shown}"
        );
    }

    #[test]
    fn const_layouts() {
        type T = (u8, u32, u16, u64, [u8; 3], f32);
        assert_eq!(<T as Tuple>::PACKED, ([0, 1, 5, 7, 15, 18], 22));
        let layout = <T as Tuple>::ALIGNED;
        let native = Record::<T>::new("B I H Q 3s f").expect("valid");
        assert_eq!((native.offsets(), native.size()), (&layout.0[..], layout.1));
        assert_eq!(native.plan, Plan::AlignedNative);
        // Absurd sizes saturate instead of overflowing.
        assert_eq!(
            aligned([usize::MAX, 1], [1, 8]),
            ([0, usize::MAX], usize::MAX)
        );
    }
}
