//! Property tests of the typed `Record` against the dynamic `Struct`: for a set of formats under
//! every prefix (`@ = < > !` and none), random values pack to the same bytes (alignment padding
//! and `x` zeroed, the bytes around the record untouched), and random bytes unpack to the same
//! values, one record or many.

use core::ffi::{c_long, c_ulong};
use core::fmt::Debug;

use portsock_core::wire::structfmt::{F16, Fields, Record, Struct, TypedError, Value};
use proptest::collection::vec;
use proptest::prelude::*;

const ALL: [&str; 6] = ["", "@", "=", "<", ">", "!"];
const NATIVE: [&str; 2] = ["", "@"];
const STANDARD: [&str; 4] = ["=", "<", ">", "!"];

/// A record field as the dynamic API takes it (`Value::from`, where there is one).
trait AsValue {
    fn as_value(&self) -> Value<'_>;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl AsValue for $t {
            fn as_value(&self) -> Value<'_> {
                Value::Int(*self as i128)
            }
        }
    )*};
}
int_value!(i8, u8, i16, u16, i32, u32, i64, u64, isize, usize);

impl AsValue for bool {
    fn as_value(&self) -> Value<'_> {
        Value::Bool(*self)
    }
}

impl AsValue for f32 {
    fn as_value(&self) -> Value<'_> {
        Value::from(*self)
    }
}

impl AsValue for f64 {
    fn as_value(&self) -> Value<'_> {
        Value::Float(*self)
    }
}

impl AsValue for F16 {
    fn as_value(&self) -> Value<'_> {
        Value::from(*self)
    }
}

impl<const K: usize> AsValue for [u8; K] {
    fn as_value(&self) -> Value<'_> {
        Value::Bytes(self)
    }
}

/// A record as the dynamic API takes it.
trait AsValues {
    fn as_values(&self) -> Vec<Value<'_>>;
}

macro_rules! tuple_values {
    ($($t:ident $i:tt),+) => {
        impl<$($t: AsValue),+> AsValues for ($($t,)+) {
            fn as_values(&self) -> Vec<Value<'_>> {
                vec![$(self.$i.as_value()),+]
            }
        }
    };
}
tuple_values!(A 0);
tuple_values!(A 0, B 1);
tuple_values!(A 0, B 1, C 2);
tuple_values!(A 0, B 1, C 2, D 3);
tuple_values!(A 0, B 1, C 2, D 3, E 4);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_values!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// Every f32, signaling NaNs included.
fn f32s() -> impl Strategy<Value = f32> {
    any::<u32>().prop_map(f32::from_bits)
}

/// Every f64, signaling NaNs included.
fn f64s() -> impl Strategy<Value = f64> {
    any::<u64>().prop_map(f64::from_bits)
}

/// Every half float (NaN payloads collapse, as `F16` stores them).
fn f16s() -> impl Strategy<Value = F16> {
    any::<u16>().prop_map(F16::from_bits)
}

/// Unpacked values agree: floats by bits, or both NaN with the same sign.
fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits()
                || (x.is_nan() && y.is_nan() && x.is_sign_negative() == y.is_sign_negative())
        }
        _ => a == b,
    }
}

fn same_values(typed: &[Value<'_>], dynamic: &[Value<'_>]) -> bool {
    typed.len() == dynamic.len() && typed.iter().zip(dynamic).all(|(a, b)| same(a, b))
}

/// `Record<T>` and `Struct` on format `fmt`: both refuse it for the same reason, or both pack
/// `value` at `offset` of a buffer of `garbage` to the same bytes and unpack `bytes` (and the
/// records they start with) to the same values.
fn check<T: Fields + AsValues + Debug>(
    fmt: &str,
    value: &T,
    garbage: u8,
    offset: usize,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let (rec, dynamic) = match (Record::<T>::new(fmt), Struct::<16>::new(fmt)) {
        (Ok(rec), Ok(dynamic)) => (rec, dynamic),
        (Err(TypedError::Format(e)), Err(d)) => {
            prop_assert_eq!(e, d, "{:?}", fmt);
            return Ok(());
        }
        (rec, dynamic) => {
            return Err(TestCaseError::fail(format!(
                "{fmt:?}: Record {rec:?}, Struct {dynamic:?}"
            )));
        }
    };
    let size = rec.size();
    prop_assert_eq!(size, dynamic.size());
    prop_assert_eq!(rec.offsets().len(), dynamic.value_count());

    // Pack: the same bytes, padding zeroed over garbage, nothing written outside the record.
    let values = value.as_values();
    let mut typed = vec![garbage; offset + size + 3];
    let mut untyped = vec![!garbage; offset + size + 3];
    prop_assert_eq!(rec.pack_into(&mut typed, offset, value), Ok(()));
    prop_assert_eq!(dynamic.pack_into(&mut untyped, offset, &values), Ok(()));
    let record = offset..offset + size;
    let outside = [0..offset, offset + size..typed.len()];
    prop_assert_eq!(
        &typed[record.clone()],
        &untyped[record.clone()],
        "{:?}",
        fmt
    );
    for range in outside {
        prop_assert!(typed[range].iter().all(|&b| b == garbage), "{:?}", fmt);
    }

    // What was packed unpacks to what was given, and again to the same bytes.
    let back = rec.unpack_from(&typed, offset)?;
    prop_assert!(
        same_values(&back.as_values(), &values),
        "{:?}: {:?}",
        fmt,
        back
    );
    let mut again = vec![!garbage; size];
    prop_assert_eq!(rec.pack(&mut again, &back), Ok(size));
    prop_assert_eq!(&again[..], &typed[record], "{:?}", fmt);

    // Unpack random bytes: the same values as `Struct`.
    let one = &bytes[..size];
    let got = rec.unpack(one)?;
    let want: Vec<Value<'_>> = dynamic.unpack(one)?.collect();
    prop_assert!(
        same_values(&got.as_values(), &want),
        "{:?}: {:?} vs {:?}",
        fmt,
        got,
        want
    );

    if let Some(records) = bytes.len().checked_div(size) {
        let many = &bytes[..records * size];
        let typed: Vec<T> = rec.iter_unpack(many)?.collect();
        let dynamic: Vec<Vec<Value<'_>>> =
            dynamic.iter_unpack(many)?.map(Iterator::collect).collect();
        prop_assert_eq!(typed.len(), dynamic.len());
        for (t, d) in typed.iter().zip(&dynamic) {
            prop_assert!(same_values(&t.as_values(), d), "{:?}", fmt);
        }
    }
    Ok(())
}

/// One proptest: `$ty` against `$body` under each of `$prefixes`, values from `$values`.
macro_rules! typed_case {
    ($name:ident, $body:literal, $ty:ty, $prefixes:expr, $values:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            #[test]
            fn $name(
                value in $values,
                garbage in any::<u8>(),
                offset in 0usize..9,
                bytes in vec(any::<u8>(), 128),
            ) {
                for prefix in $prefixes {
                    check::<$ty>(&format!("{prefix}{}", $body), &value, garbage, offset, &bytes)?;
                }
            }
        }
    };
}

typed_case!(
    chapter,
    "I 2s f",
    (u32, [u8; 2], f32),
    ALL,
    (any::<u32>(), any::<[u8; 2]>(), f32s())
);

typed_case!(
    ten,
    "I H h q Q d f 4s B ?",
    (u32, u16, i16, i64, u64, f64, f32, [u8; 4], u8, bool),
    ALL,
    (
        any::<u32>(),
        any::<u16>(),
        any::<i16>(),
        any::<i64>(),
        any::<u64>(),
        f64s(),
        f32s(),
        any::<[u8; 4]>(),
        any::<u8>(),
        any::<bool>(),
    )
);

typed_case!(
    every_int,
    "b B h H i I q Q",
    (i8, u8, i16, u16, i32, u32, i64, u64),
    ALL,
    any::<(i8, u8, i16, u16, i32, u32, i64, u64)>()
);

typed_case!(
    explicit_padding,
    "? x h 3x d b i",
    (bool, i16, f64, i8, i32),
    ALL,
    (
        any::<bool>(),
        any::<i16>(),
        f64s(),
        any::<i8>(),
        any::<i32>()
    )
);

typed_case!(
    halves,
    "e B e f",
    (F16, u8, F16, f32),
    ALL,
    (f16s(), any::<u8>(), f16s(), f32s())
);

typed_case!(
    native_long,
    "l L b l",
    (c_long, c_ulong, i8, c_long),
    NATIVE,
    any::<(c_long, c_ulong, i8, c_long)>()
);

typed_case!(
    standard_long,
    "l L b l",
    (i32, u32, i8, i32),
    STANDARD,
    any::<(i32, u32, i8, i32)>()
);

// `n N` are native only: under a standard prefix both APIs refuse the format alike.
typed_case!(
    pointer_sized,
    "b n N",
    (i8, isize, usize),
    ALL,
    any::<(i8, isize, usize)>()
);

typed_case!(
    strings_and_tail_padding,
    "B 5s Q 0s H 2x",
    (u8, [u8; 5], u64, [u8; 0], u16),
    ALL,
    (
        any::<u8>(),
        any::<[u8; 5]>(),
        any::<u64>(),
        Just([]),
        any::<u16>()
    )
);

typed_case!(
    zero_counts_still_align,
    "0i ? 2x 0q q",
    (bool, i64),
    ALL,
    any::<(bool, i64)>()
);

typed_case!(
    pads_around_one_field,
    "3x h x",
    (i16,),
    ALL,
    (any::<i16>(),)
);

typed_case!(one_double, "d", (f64,), ALL, (f64s(),));

typed_case!(
    twelve_fields,
    "b 2s q ? H f 3x d I e h 7s Q",
    (
        i8, [u8; 2], i64, bool, u16, f32, f64, u32, F16, i16, [u8; 7], u64
    ),
    ALL,
    (
        any::<i8>(),
        any::<[u8; 2]>(),
        any::<i64>(),
        any::<bool>(),
        any::<u16>(),
        f32s(),
        f64s(),
        any::<u32>(),
        f16s(),
        any::<i16>(),
        any::<[u8; 7]>(),
        any::<u64>(),
    )
);
