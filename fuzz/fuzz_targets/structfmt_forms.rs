//! The codec's three forms must agree: `Struct<N>` (compiled) and `Record<T>` (typed) against
//! `Format` (the reference), for arbitrary formats, values, buffers and offsets. Same bytes,
//! same errors; where a form has errors of its own (`Struct`'s field limit, `Record`'s type
//! check) they must be exactly the ones the format calls for.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use portsock_core::wire::structfmt::{
    F16, Field, FieldType, Fields, Format, FormatError, Record, Struct, TypedError, UnpackError,
    Value,
};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = match u.int_in_range(0..=8u8) {
        Ok(0) => compiled(&mut u),
        Ok(1) => typed::<(u32, [u8; 2], f32)>(&mut u),
        Ok(2) => typed::<(i8, u8, i16, u16, i32, u32, i64, u64)>(&mut u),
        Ok(3) => typed::<(isize, usize, bool, F16, f64, [u8; 3])>(&mut u),
        Ok(4) => typed::<(bool,)>(&mut u),
        Ok(5) => typed::<()>(&mut u),
        Ok(6) => typed::<(f32, f32, [u8; 0], u8)>(&mut u),
        Ok(7) => typed::<(i16, i16, i16, F16, F16)>(&mut u),
        _ => typed::<(
            i64,
            i16,
            u8,
            u64,
            i32,
            [u8; 5],
            F16,
            bool,
            f64,
            u16,
            i8,
            u32,
        )>(&mut u),
    };
});

/// Values equal; floats by bits, except that any NaN equals any NaN (`Record` quiets NaNs
/// where a double does, and a NaN's payload is not part of the contract).
fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

fn same_all<'a>(a: impl Iterator<Item = Value<'a>>, b: &[Value<'_>]) -> bool {
    let a: Vec<Value<'a>> = a.collect();
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// Arbitrary values of the kinds CPython takes, mostly fitting the codes, sometimes not.
fn values<'a>(u: &mut Unstructured<'a>, codes: &[char]) -> Result<Vec<Value<'a>>> {
    codes
        .iter()
        .map(|&code| {
            Ok(match (u.int_in_range(0..=9u8)?, code) {
                (0, _) => Value::Int(u.arbitrary()?),
                (1, _) => Value::Float(f64::from_bits(u.arbitrary()?)),
                (2, _) => Value::Bool(u.arbitrary()?),
                (3, _) => Value::Bytes(u.arbitrary()?),
                (4, _) => Value::BigInt(if u.arbitrary()? {
                    "-340282366920938463463374607431768211457"
                } else {
                    "340282366920938463463374607431768211456"
                }),
                (_, 's' | 'p' | 'c') => {
                    let n = if code == 'c' {
                        1
                    } else {
                        u.int_in_range(0..=12)?
                    };
                    Value::Bytes(u.bytes(n)?)
                }
                (_, 'e' | 'f' | 'd') => Value::Float(f64::from(u.arbitrary::<f32>()?)),
                (_, '?') => Value::Bool(u.arbitrary()?),
                (_, 'b') => Value::Int(u.arbitrary::<i8>()?.into()),
                (_, 'B') => Value::Int(u.arbitrary::<u8>()?.into()),
                (_, 'h' | 'H') => Value::Int(u.arbitrary::<i16>()?.into()),
                (_, 'i' | 'I' | 'l' | 'L') => Value::Int(u.arbitrary::<i32>()?.into()),
                _ => Value::Int(u.arbitrary::<u64>()?.into()),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Struct<N> against Format.

fn compiled(u: &mut Unstructured<'_>) -> Result<()> {
    let text: &str = u.arbitrary()?;
    if u.arbitrary()? {
        check_compiled::<4>(u, text)
    } else {
        check_compiled::<16>(u, text)
    }
}

fn check_compiled<const N: usize>(u: &mut Unstructured<'_>, text: &str) -> Result<()> {
    let parsed = Format::parse(text);
    let compiled = Struct::<N>::new(text);
    let (format, rec) = match (parsed, compiled) {
        (Err(e), c) => {
            assert_eq!(c.map(|_| ()), Err(e), "{text:?}: the same format error");
            return Ok(());
        }
        (Ok(f), Err(e)) => {
            let needed = f.value_count();
            assert_eq!(e, FormatError::TooManyFields { limit: N, needed });
            assert!(needed > N);
            return Ok(());
        }
        (Ok(f), Ok(s)) => (f, s),
    };
    assert_eq!(rec.size(), format.size());
    assert_eq!(rec.value_count(), format.value_count());
    assert!(rec.value_codes().eq(format.value_codes()));
    if format.size() > 1 << 16 {
        return Ok(());
    }
    let codes: Vec<char> = format.value_codes().collect();

    // Pack into the same garbage, at the same offset: same result; same bytes when it worked.
    let mut codes_used = codes.clone();
    if !u.ratio(15, 16)? {
        codes_used.pop();
    }
    let vals = values(u, &codes_used)?;
    let len = format.size() + usize::from(u.int_in_range(0..=3u8)?);
    let offset = usize::from(u.int_in_range(0..=4u8)?);
    let fill: u8 = u.arbitrary()?;
    let (mut a, mut b) = (vec![fill; len], vec![fill; len]);
    let ra = format.pack_into(&mut a, offset, &vals);
    let rb = rec.pack_into(&mut b, offset, &vals);
    assert_eq!(ra, rb, "{text:?}: pack_into");
    if ra.is_ok() {
        assert_eq!(a, b, "{text:?}: packed bytes");
    }

    // Unpack whatever bytes: same values or the same error.
    let bytes: &[u8] = u.arbitrary()?;
    let offset = usize::from(u.int_in_range(0..=4u8)?);
    match (format.unpack(bytes), rec.unpack(bytes)) {
        (Ok(x), Ok(y)) => assert!(same_all(x, &y.collect::<Vec<_>>())),
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: unpack"),
    }
    // unpack_into: the same values into enough slots; TooFewSlots (checked first) otherwise.
    let slots = format.value_count() + usize::from(u.int_in_range(0..=2u8)?);
    let slots = slots.saturating_sub(usize::from(u.int_in_range(0..=1u8)?));
    let mut out = [Value::Int(0); N];
    let out = &mut out[..slots.min(N)];
    let got = out.len();
    match (format.unpack(bytes), rec.unpack_into(bytes, out)) {
        (_, Err(UnpackError::TooFewSlots { need, got: g })) => {
            assert!(got < format.value_count(), "{text:?}: slots suffice");
            assert_eq!((need, g), (format.value_count(), got));
        }
        (Ok(x), Ok(y)) => assert!(same_all(x, y)),
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: unpack_into"),
    }
    match (
        format.unpack_from(bytes, offset),
        rec.unpack_from(bytes, offset),
    ) {
        (Ok(x), Ok(y)) => assert!(same_all(x, &y.collect::<Vec<_>>())),
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: unpack_from"),
    }
    match (format.iter_unpack(bytes), rec.iter_unpack(bytes)) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x.len(), y.len());
            for (p, q) in x.zip(y).take(64) {
                assert!(same_all(p, &q.collect::<Vec<_>>()));
            }
        }
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: iter_unpack"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Record<T> against Format.

/// A field type the target can make, spell and compare.
trait FuzzField: Field + Sized {
    fn make(u: &mut Unstructured<'_>) -> Result<Self>;
    fn value(&self) -> Value<'_>;
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FuzzField for $t {
            fn make(u: &mut Unstructured<'_>) -> Result<Self> {
                u.arbitrary()
            }
            fn value(&self) -> Value<'_> {
                Value::Int(*self as i128)
            }
        }
    )*};
}
int_field!(i8, u8, i16, u16, i32, u32, i64, u64, isize, usize);

impl FuzzField for bool {
    fn make(u: &mut Unstructured<'_>) -> Result<Self> {
        u.arbitrary()
    }
    fn value(&self) -> Value<'_> {
        Value::Bool(*self)
    }
}

impl FuzzField for f32 {
    fn make(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Self::from_bits(u.arbitrary()?))
    }
    fn value(&self) -> Value<'_> {
        Value::Float(f64::from(*self))
    }
}

impl FuzzField for f64 {
    fn make(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Self::from_bits(u.arbitrary()?))
    }
    fn value(&self) -> Value<'_> {
        Value::Float(*self)
    }
}

impl FuzzField for F16 {
    fn make(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Self::from_bits(u.arbitrary()?))
    }
    fn value(&self) -> Value<'_> {
        Value::Float(self.to_f64())
    }
}

impl<const K: usize> FuzzField for [u8; K] {
    fn make(u: &mut Unstructured<'_>) -> Result<Self> {
        u.arbitrary()
    }
    fn value(&self) -> Value<'_> {
        Value::Bytes(self)
    }
}

/// A tuple the target can make and turn into `Format`'s values.
trait FuzzTuple: Fields + Sized {
    fn make(u: &mut Unstructured<'_>) -> Result<Self>;
    fn values(&self) -> Vec<Value<'_>>;
}

impl FuzzTuple for () {
    fn make(_: &mut Unstructured<'_>) -> Result<Self> {
        Ok(())
    }
    fn values(&self) -> Vec<Value<'_>> {
        Vec::new()
    }
}

macro_rules! tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FuzzField),+> FuzzTuple for ($($t,)+) {
            fn make(u: &mut Unstructured<'_>) -> Result<Self> {
                Ok(($($t::make(u)?,)+))
            }
            fn values(&self) -> Vec<Value<'_>> {
                vec![$(self.$i.value()),+]
            }
        }
    };
}
tuple!(A 0);
tuple!(A 0, B 1, C 2);
tuple!(A 0, B 1, C 2, D 3);
tuple!(A 0, B 1, C 2, D 3, E 4);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// The codes that take `ty` in `std`ard or native mode (the last ones only sometimes).
fn codes_for(ty: FieldType, standard: bool) -> &'static [&'static str] {
    match (ty, standard) {
        (FieldType::I8, _) => &["b"],
        (FieldType::U8, _) => &["B"],
        (FieldType::I16, _) => &["h"],
        (FieldType::U16, _) => &["H"],
        (FieldType::I32, true) => &["i", "l"],
        (FieldType::I32, false) => &["i"],
        (FieldType::U32, true) => &["I", "L"],
        (FieldType::U32, false) => &["I"],
        (FieldType::I64, true) => &["q"],
        (FieldType::I64, false) => &["q", "l"],
        (FieldType::U64, true) => &["Q"],
        (FieldType::U64, false) => &["Q", "L"],
        (FieldType::Isize, _) => &["n", "q"],
        (FieldType::Usize, _) => &["N", "Q"],
        (FieldType::Bool, _) => &["?"],
        (FieldType::F16, _) => &["e"],
        (FieldType::F32, _) => &["f"],
        (FieldType::F64, _) => &["d"],
        (FieldType::Bytes { .. }, _) => &["s"],
        _ => &["x"],
    }
}

/// A format for `T`: mostly one that fits (prefix, a code per field, counts merged, padding,
/// spaces), sometimes with a field's code replaced by any code or dropped. (`ratio` is true
/// when the input has run out, so the rare choices are written `!ratio(..)`: an exhausted
/// input still gives a fitting format.)
fn format_for<T: Fields>(u: &mut Unstructured<'_>) -> Result<String> {
    const PREFIXES: [&str; 6] = ["", "@", "=", "<", ">", "!"];
    const ANY: &[u8] = b"xcbB?hHiIlLqQnNefdspP";
    let prefix = *u.choose(&PREFIXES)?;
    let standard = !matches!(prefix, "" | "@");
    let mut items: Vec<(usize, String)> = Vec::new();
    for &ty in T::field_types() {
        if !u.ratio(5, 6)? {
            items.push((u.int_in_range(1..=3)?, "x".into()));
        }
        let mut code = (*u.choose(codes_for(ty, standard))?).to_string();
        if !u.ratio(23, 24)? {
            code = char::from(*u.choose(ANY)?).to_string();
        }
        let count = match ty {
            FieldType::Bytes { len } if code == "s" => len,
            _ => 1,
        };
        match items.last_mut() {
            Some((n, last)) if *last == code && code != "s" && u.arbitrary()? => *n += 1,
            _ if !u.ratio(31, 32)? => {}
            _ => items.push((count, code)),
        }
    }
    if !u.ratio(5, 6)? {
        items.push((u.int_in_range(0..=3)?, "x".into()));
    }
    let mut text = prefix.to_string();
    for (i, (count, code)) in items.iter().enumerate() {
        if i > 0 && u.arbitrary()? {
            text.push(' ');
        }
        if *count != 1 || code == "s" || !u.ratio(7, 8)? {
            text.push_str(&count.to_string());
        }
        text.push_str(code);
    }
    Ok(text)
}

fn typed<T: FuzzTuple>(u: &mut Unstructured<'_>) -> Result<()> {
    let text = if !u.ratio(7, 8)? {
        u.arbitrary::<&str>()?.to_string()
    } else {
        format_for::<T>(u)?
    };
    let types = T::field_types();
    let parsed = Format::parse(&text);
    let record = Record::<T>::new(&text);
    let (format, rec) = match (parsed, record) {
        (Err(e), r) => {
            assert_eq!(r.err(), Some(TypedError::Format(e)), "{text:?}");
            return Ok(());
        }
        (Ok(f), Err(e)) => {
            // The error must be the one the format calls for.
            if f.value_count() > 64 {
                // More values than any tuple has fields (`1000000000h`): too many to list.
                assert!(matches!(
                    e,
                    TypedError::NoTypedForm { .. } | TypedError::FieldCount { .. }
                ));
                return Ok(());
            }
            let codes: Vec<char> = f.value_codes().collect();
            let untyped = codes.iter().any(|c| matches!(c, 'c' | 'p' | 'P'));
            match e {
                TypedError::NoTypedForm { at, code } => {
                    // The first code without a typed form.
                    let first = codes.iter().find(|c| matches!(c, 'c' | 'p' | 'P'));
                    assert_eq!(first, Some(&char::from(code)), "{text:?}");
                    assert_eq!(text.as_bytes().get(at), Some(&code));
                }
                TypedError::FieldCount { format, record } => {
                    assert!(!untyped);
                    assert_eq!((format, record), (codes.len(), types.len()));
                    assert_ne!(format, record);
                }
                TypedError::FieldType {
                    field,
                    at,
                    code,
                    format,
                    record,
                } => {
                    // The first field whose code takes another type; none untyped before it.
                    assert_eq!(codes.len(), types.len(), "{text:?}");
                    assert!(!codes[..=field].iter().any(|c| matches!(c, 'c' | 'p' | 'P')));
                    assert_eq!(codes[field], char::from(code));
                    assert_eq!(text.as_bytes().get(at), Some(&code));
                    assert_eq!(types[field], record);
                    assert_ne!(format, record);
                }
                e => panic!("{text:?}: {e:?}"),
            }
            return Ok(());
        }
        (Ok(f), Ok(r)) => (f, r),
    };
    assert_eq!(rec.size(), format.size(), "{text:?}");
    assert_eq!(format.value_count(), types.len());
    assert!(
        format
            .value_codes()
            .all(|c| !matches!(c, 'c' | 'p' | 'P' | 'x')),
        "{text:?}"
    );
    if format.size() > 1 << 16 {
        return Ok(());
    }

    // Pack: the bytes Format writes for the same values, and the same error for a short buffer.
    let value = T::make(u)?;
    let vals = value.values();
    let len = format.size() + usize::from(u.int_in_range(0..=2u8)?);
    let offset = usize::from(u.int_in_range(0..=3u8)?);
    let fill: u8 = u.arbitrary()?;
    let (mut a, mut b) = (vec![fill; len], vec![fill; len]);
    let ra = format.pack_into(&mut a, offset, &vals);
    let rb = rec.pack_into(&mut b, offset, &value);
    assert_eq!(ra, rb, "{text:?}: pack_into {vals:?}");
    assert_eq!(a, b, "{text:?}: packed bytes of {vals:?}");

    // Unpack any bytes: the values Format unpacks, or its error.
    let bytes: &[u8] = u.arbitrary()?;
    match (format.unpack(bytes), rec.unpack(bytes)) {
        (Ok(x), Ok(y)) => assert!(same_all(x, &y.values()), "{text:?}: unpack"),
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: unpack"),
    }
    // And what Record packed, unpacks to what was packed (NaNs aside).
    if rb.is_ok() {
        let back = rec.unpack_from(&b, offset).expect("packed record unpacks");
        assert!(
            back.values().iter().zip(&vals).all(|(x, y)| same(x, y)),
            "{text:?}: round trip of {vals:?}"
        );
    }
    let offset = usize::from(u.int_in_range(0..=4u8)?);
    match (
        format.unpack_from(bytes, offset),
        rec.unpack_from(bytes, offset),
    ) {
        (Ok(x), Ok(y)) => assert!(same_all(x, &y.values())),
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: unpack_from"),
    }
    match (format.iter_unpack(bytes), rec.iter_unpack(bytes)) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x.len(), y.len());
            for (p, q) in x.zip(y).take(64) {
                assert!(same_all(p, &q.values()));
            }
        }
        (x, y) => assert_eq!(x.err(), y.err(), "{text:?}: iter_unpack"),
    }
    Ok(())
}
