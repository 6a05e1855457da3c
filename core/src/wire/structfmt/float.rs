//! Float width conversions with CPython's results: half precision (`e`, after `PyFloat_Pack2`
//! and `PyFloat_Unpack2` of CPython 3.11) and single precision (`f`, a C cast).
//!
//! Rust leaves the sign and payload of a NaN passed through `as` unspecified, so NaNs are
//! converted by hand here: sign kept, result always quiet, as x86 hardware (and so CPython on
//! the reference machine) does.

/// `x` as half-precision bits, rounded half to even; `None` if it overflows (|x| rounds to
/// 65520 or more). NaN gives the quiet NaN `7e00` with the sign of `x`.
pub(super) fn f64_to_f16(x: f64) -> Option<u16> {
    let bits = x.to_bits();
    let sign = ((bits >> 48) as u16) & 0x8000;
    if x.is_nan() {
        return Some(sign | 0x7e00);
    }
    if x.is_infinite() {
        return Some(sign | 0x7c00);
    }
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    if biased == 0 && frac == 0 {
        return Some(sign);
    }
    // |x| = m * 2^e exactly.
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), biased - 1075)
    };
    // floor(log2 |x|); m != 0, so leading_zeros <= 63.
    let top = e + 63 - m.leading_zeros() as i32;
    if top >= 16 {
        return None;
    }
    // The result is q * 2^quantum with q < 2^11: 2^-24 steps for subnormals, else 11 bits.
    let quantum = top.max(-14) - 10;
    let shift = quantum - e;
    let q = if shift <= 0 {
        // Exact: |x| has no bits below the quantum, and q = |x| / 2^quantum < 2^11.
        m << -shift
    } else if shift >= 64 {
        // |x| < 2^53 * 2^(quantum - 64): far below half a quantum.
        0
    } else {
        let q = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let half = 1 << (shift - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    // For normals, q is 1024..=2048 and the leading 1 carries into the exponent field, so a
    // rounding carry (q = 2048) lands on the next exponent by itself.
    let h = if top < -14 {
        q
    } else {
        (((top + 14) as u64) << 10) + q
    };
    if h >= 0x7c00 {
        return None;
    }
    Some(sign | h as u16)
}

/// Half-precision bits as a double (exact). Every NaN becomes the quiet NaN with its sign.
pub(super) fn f16_to_f64(h: u16) -> f64 {
    let negative = h & 0x8000 != 0;
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    let magnitude = match exp {
        0 => frac * pow2(-24),
        0x1f if frac == 0.0 => f64::INFINITY,
        0x1f => f64::NAN,
        _ => (frac + 1024.0) * pow2(exp - 25),
    };
    if negative { -magnitude } else { magnitude }
}

/// `x` rounded to single precision (half to even; overflow gives ±inf, as a C cast does).
pub(super) fn f64_to_f32(x: f64) -> f32 {
    if x.is_nan() {
        let bits = x.to_bits();
        let sign = ((bits >> 32) as u32) & 0x8000_0000;
        let payload = ((bits >> 29) as u32) & 0x003f_ffff;
        return f32::from_bits(sign | 0x7fc0_0000 | payload);
    }
    x as f32
}

/// `x` widened to double (exact; a NaN keeps its sign and payload and becomes quiet).
pub(super) fn f32_to_f64(x: f32) -> f64 {
    if x.is_nan() {
        let bits = x.to_bits();
        let sign = u64::from(bits & 0x8000_0000) << 32;
        let payload = u64::from(bits & 0x003f_ffff) << 29;
        return f64::from_bits(sign | 0x7ff8_0000_0000_0000 | payload);
    }
    f64::from(x)
}

/// 2^k for -1022 <= k <= 1023.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}
