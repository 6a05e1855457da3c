//! [`F16`]: the half-precision float of the `e` code.

use crate::wire::structfmt::Value;
use crate::wire::structfmt::float::{f16_to_f64, f64_to_f16};

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

impl From<F16> for Value<'_> {
    fn from(h: F16) -> Self {
        Self::Float(h.to_f64())
    }
}
