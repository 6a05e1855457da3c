use core::ffi::{c_long, c_ulong};
use core::fmt;
use std::vec::Vec;

use super::record::Plan;
use super::sealed::Tuple;
use super::tuple::aligned;
use super::*;
use crate::wire::structfmt::{Format, Struct, UnpackError, Value};

/// Packs `value` with a `Record` and `values` with a `Struct` into buffers of different
/// garbage, asserts the bytes agree, and returns them.
fn both<T: Fields + fmt::Debug + PartialEq>(fmt: &str, value: T, values: &[Value<'_>]) -> Vec<u8> {
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

mod errors;
