//! The traits behind [`Field`](super::Field) and [`Fields`](super::Fields), private so that only
//! this crate can implement them.

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
