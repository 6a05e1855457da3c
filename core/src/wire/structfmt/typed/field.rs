//! The Rust types of fields: [`FieldType`], [`Field`] for each scalar type and [`Fields`] for
//! tuples of them.

use core::fmt;
use core::mem::{align_of, size_of};

use super::F16;
use super::sealed::{Scalar, Tuple};
use crate::wire::structfmt::parse::Kind;

/// The Rust type of one field, as a [`Field`] names it and as [`TypedError`](super::TypedError) reports it.
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
    pub(super) fn of(kind: Kind, code: u8) -> Option<Self> {
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

/// A Rust type that is the typed form of a format code: see the table on [`Record`](super::Record).
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
/// # Ok::<(), portsock_core::wire::structfmt::TypedError>(())
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
            self.to_bits().to_be_bytes()
        } else {
            self.to_bits().to_le_bytes()
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
