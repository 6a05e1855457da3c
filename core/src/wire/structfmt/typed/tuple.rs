//! The two common layouts of a tuple of fields, computed at compile time, and its reads and
//! writes (`Tuple` for tuples of 0 to 12 fields).

use super::sealed::{Bytes as _, Scalar, Tuple};
use super::{Field, FieldType, Fields};
use crate::wire::structfmt::pack::zero_short;

/// Offsets and total size of fields of `sizes` laid end to end.
const fn packed<const N: usize>(sizes: [usize; N]) -> ([usize; N], usize) {
    aligned(sizes, [1; N])
}

/// Offsets and total size of fields of `sizes`, each at a multiple of its alignment (a power of
/// two) as native mode lays them out. Saturates rather than fail to compile on absurd sizes;
/// such a layout never matches a parsed one.
pub(super) const fn aligned<const N: usize>(
    sizes: [usize; N],
    aligns: [usize; N],
) -> ([usize; N], usize) {
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
