//! Unit tests, one per behaviour; the full CPython vector file is checked by
//! `core/tests/struct_vectors.rs`.

use std::string::ToString;
use std::vec::Vec;

use super::*;
use crate::wire::repr::PyTuple;

fn pack_hex(fmt: &str, values: &[Value<'_>]) -> Result<std::string::String, PackError> {
    let f = Format::parse(fmt)?;
    let mut buf = std::vec![0xaau8; f.size()];
    f.pack(&mut buf, values)?;
    let compiled = Struct::<8>::new(fmt)?;
    let mut buf2 = std::vec![0x55u8; f.size()];
    compiled.pack(&mut buf2, values)?;
    assert_eq!(buf, buf2, "Format and Struct disagree on {fmt:?}");
    Ok(buf.iter().map(|b| std::format!("{b:02x}")).collect())
}

fn unpack_repr(fmt: &str, bytes: &[u8]) -> Result<std::string::String, UnpackError> {
    let f = Format::parse(fmt).expect("valid format");
    let values: Vec<Value<'_>> = f.unpack(bytes)?.collect();
    let compiled = Struct::<8>::new(fmt).expect("valid format");
    let values2: Vec<Value<'_>> = compiled.unpack(bytes)?.collect();
    assert_eq!(values.len(), f.value_count());
    assert_eq!(std::format!("{values:?}"), std::format!("{values2:?}"));
    Ok(PyTuple(&values).to_string())
}

const NATIVE_LONG: usize = core::mem::size_of::<core::ffi::c_long>();

#[test]
fn parse_native_alignment() {
    assert_eq!(calcsize("c i"), Ok(8));
    assert_eq!(calcsize("i c"), Ok(5));
    assert_eq!(calcsize("=c i"), Ok(5));
    assert_eq!(calcsize("b e"), Ok(4));
    assert_eq!(calcsize("b ?"), Ok(2));
    assert_eq!(calcsize("bi0l"), Ok(8));
    assert_eq!(calcsize("2s f"), Ok(8));
    assert_eq!(calcsize("@l"), Ok(NATIVE_LONG));
    assert_eq!(calcsize("<l"), Ok(4));
    assert_eq!(calcsize("P"), Ok(core::mem::size_of::<usize>()));
}

#[test]
fn parse_counts_whitespace_and_limits() {
    assert_eq!(calcsize("< 3i\t2h\n"), Ok(16));
    assert_eq!(calcsize(""), Ok(0));
    assert_eq!(calcsize("<"), Ok(0));
    let max = std::format!("{}x", isize::MAX);
    assert_eq!(calcsize(&max), Ok(isize::MAX as usize));
    let over = std::format!("{}x", isize::MAX as usize + 1);
    assert_eq!(calcsize(&over), Err(FormatError::TooLong { at: 0 }));
    assert_eq!(
        calcsize("99999999999999999999999i"),
        Err(FormatError::TooLong { at: 0 })
    );
    assert_eq!(Format::parse("0s0p3x").map(|f| f.value_count()), Ok(2));
    assert_eq!(Format::parse("0i 3x").map(|f| f.value_count()), Ok(0));
}

#[test]
fn parse_errors() {
    use FormatError::*;
    assert_eq!(calcsize(" <i"), Err(MisplacedPrefix { at: 1, code: b'<' }));
    assert_eq!(calcsize("2 s"), Err(CountWithoutCode { at: 1 }));
    assert_eq!(calcsize("i3"), Err(CountWithoutCode { at: 2 }));
    assert_eq!(calcsize("<n"), Err(NativeOnly { at: 1, code: b'n' }));
    assert_eq!(calcsize("i\0"), Err(EmbeddedNul { at: 1 }));
    assert_eq!(calcsize("ié"), Err(NonAscii { at: 1 }));
    assert_eq!(calcsize("iiy"), Err(UnknownCode { at: 2, code: b'y' }));
    assert_eq!(
        Struct::<2>::new("3i").map(|s| s.size()),
        Err(TooManyFields {
            limit: 2,
            needed: 3
        })
    );
}

#[test]
fn emit_ints_both_orders() {
    assert_eq!(
        pack_hex("<hH", &[Value::Int(-2), Value::Int(0xabcd)]).unwrap(),
        "feffcdab"
    );
    assert_eq!(
        pack_hex(">hH", &[Value::Int(-2), Value::Int(0xabcd)]).unwrap(),
        "fffeabcd"
    );
    assert_eq!(
        pack_hex("!q", &[Value::Int(-1)]).unwrap(),
        "ffffffffffffffff"
    );
    assert_eq!(
        pack_hex("<Q", &[Value::Int(u64::MAX.into())]).unwrap(),
        "ffffffffffffffff"
    );
    assert_eq!(
        pack_hex("<?b", &[Value::Bool(true), Value::Bool(true)]).unwrap(),
        "0101"
    );
}

#[test]
fn emit_pointer_accepts_negatives() {
    let width = core::mem::size_of::<usize>();
    assert_eq!(
        pack_hex("P", &[Value::Int(-1)]).unwrap(),
        "ff".repeat(width)
    );
    let min = -(1i128 << (8 * width - 1));
    assert!(pack_hex("P", &[Value::Int(min)]).is_ok());
    assert!(pack_hex("P", &[Value::Int(min - 1)]).is_err());
    assert!(pack_hex("N", &[Value::Int(-1)]).is_err());
    assert!(pack_hex("Q", &[Value::Int(-1)]).is_err());
    assert_eq!(
        unpack_repr("P", &[0xff; core::mem::size_of::<usize>()]).unwrap(),
        {
            std::format!(
                "({},)",
                if width == 8 {
                    u64::MAX
                } else {
                    u64::from(u32::MAX)
                }
            )
        }
    );
}

#[test]
fn emit_kinds_accepted_and_refused() {
    assert!(matches!(
        pack_hex("<i", &[Value::Float(1.0)]),
        Err(PackError::WrongKind { .. })
    ));
    assert!(matches!(
        pack_hex("c", &[Value::Int(1)]),
        Err(PackError::WrongKind { .. })
    ));
    assert_eq!(
        pack_hex("c", &[Value::Bytes(b"ab")]),
        Err(PackError::CharLength { item: 0, len: 2 })
    );
    assert!(matches!(
        pack_hex("s", &[Value::Bool(true)]),
        Err(PackError::WrongKind { .. })
    ));
    assert_eq!(
        pack_hex("<d", &[Value::Bool(true)]).unwrap(),
        "000000000000f03f"
    );
    assert_eq!(
        pack_hex("<f", &[Value::Int(16_777_217)]).unwrap(),
        "0000804b"
    );
    let truthy = [
        Value::Int(2),
        Value::Int(-1),
        Value::Float(0.5),
        Value::Float(f64::NAN),
        Value::Bytes(b"\0"),
    ];
    for v in truthy {
        assert_eq!(pack_hex("?", &[v]).unwrap(), "01", "{v:?}");
    }
    for v in [Value::Float(-0.0), Value::Bytes(b""), Value::Int(0)] {
        assert_eq!(pack_hex("?", &[v]).unwrap(), "00", "{v:?}");
    }
    assert_eq!(unpack_repr("?", &[2]).unwrap(), "(True,)");
}

#[test]
fn emit_big_ints() {
    // 2**1024 - 2**970 - 1 rounds to DBL_MAX; 2**1024 - 2**970 rounds up to 2**1024.
    let below = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791";
    let halfway = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
    assert_eq!(
        pack_hex("<d", &[Value::BigInt(below)]).unwrap(),
        "ffffffffffffef7f"
    );
    assert_eq!(
        pack_hex("<d", &[Value::BigInt(halfway)]),
        Err(PackError::IntTooLargeForFloat {
            item: 0,
            code: b'd'
        })
    );
    assert!(matches!(
        pack_hex(
            "<Q",
            &[Value::BigInt("18446744073709551616000000000000000000000")]
        ),
        Err(PackError::OutOfRange { value: None, .. })
    ));
    assert_eq!(pack_hex("<b", &[Value::BigInt("-5")]).unwrap(), "fb");
    assert_eq!(pack_hex("?", &[Value::BigInt("-000")]).unwrap(), "00");
    assert_eq!(
        pack_hex("<i", &[Value::BigInt("12a")]),
        Err(PackError::InvalidBigInt {
            item: 0,
            code: b'i'
        })
    );
}

#[test]
fn emit_half_rounds_half_to_even() {
    assert_eq!(pack_hex("<e", &[Value::Float(65519.99)]).unwrap(), "ff7b");
    assert_eq!(
        pack_hex("<e", &[Value::Float(65520.0)]),
        Err(PackError::FloatOverflow {
            item: 0,
            code: b'e'
        })
    );
    assert!(pack_hex("<e", &[Value::Int(70_000)]).is_err());
    assert_eq!(
        pack_hex("<e", &[Value::Float(2f64.powi(-25))]).unwrap(),
        "0000"
    );
    assert_eq!(
        pack_hex("<e", &[Value::Float(-(2f64.powi(-25)))]).unwrap(),
        "0080"
    );
    assert_eq!(
        pack_hex("<e", &[Value::Float(1.5 * 2f64.powi(-24))]).unwrap(),
        "0200"
    );
    assert_eq!(
        pack_hex("<e", &[Value::Float(2.5 * 2f64.powi(-24))]).unwrap(),
        "0200"
    );
    assert_eq!(
        pack_hex("<e", &[Value::Float(1.0 + 2f64.powi(-11))]).unwrap(),
        "003c"
    );
    assert_eq!(
        pack_hex("<e", &[Value::Float(1.0 + 3.0 * 2f64.powi(-11))]).unwrap(),
        "023c"
    );
    assert_eq!(pack_hex(">e", &[Value::Float(f64::NAN)]).unwrap(), "7e00");
    assert_eq!(pack_hex(">e", &[Value::Float(-f64::NAN)]).unwrap(), "fe00");
    assert_eq!(
        pack_hex(">e", &[Value::Float(f64::NEG_INFINITY)]).unwrap(),
        "fc00"
    );
    assert_eq!(
        unpack_repr("<e", &[0x01, 0x00]).unwrap(),
        "(5.960464477539063e-08,)"
    );
    assert_eq!(unpack_repr("<e", &[0xff, 0x7b]).unwrap(), "(65504.0,)");
    assert_eq!(unpack_repr("<e", &[0x01, 0xfc]).unwrap(), "(nan,)");
}

#[test]
fn emit_float_overflow_native_vs_standard() {
    assert_eq!(
        pack_hex("<d", &[Value::Float(-f64::NAN)]).unwrap(),
        "000000000000f8ff"
    );
    assert_eq!(
        pack_hex(">f", &[Value::Float(-f64::NAN)]).unwrap(),
        "ffc00000"
    );
    assert_eq!(
        pack_hex("<f", &[Value::Float(1e300)]),
        Err(PackError::FloatOverflow {
            item: 0,
            code: b'f'
        })
    );
    let native_inf = f32::INFINITY
        .to_ne_bytes()
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect::<std::string::String>();
    assert_eq!(pack_hex("f", &[Value::Float(1e300)]).unwrap(), native_inf);
    assert_eq!(
        pack_hex("<f", &[Value::Float(f64::INFINITY)]).unwrap(),
        "0000807f"
    );
}

#[test]
fn emit_strings_pad_truncate_and_pascal() {
    assert_eq!(pack_hex("3s", &[Value::Bytes(b"a")]).unwrap(), "610000");
    assert_eq!(pack_hex("2s", &[Value::Bytes(b"abc")]).unwrap(), "6162");
    assert_eq!(pack_hex("0s", &[Value::Bytes(b"abc")]).unwrap(), "");
    assert_eq!(
        pack_hex("4p", &[Value::Bytes(b"abcdef")]).unwrap(),
        "03616263"
    );
    assert_eq!(pack_hex("1p", &[Value::Bytes(b"abc")]).unwrap(), "00");
    let long = [b'y'; 300];
    let hex = pack_hex("300p", &[Value::Bytes(&long)]).unwrap();
    assert!(hex.starts_with("ff79") && hex.ends_with("79"), "{hex}");
    let mut field = [b'y'; 300];
    field[0] = 0x10;
    assert_eq!(
        unpack_repr("300p", &field).unwrap(),
        std::format!("(b'{}',)", "y".repeat(16))
    );
    assert_eq!(unpack_repr("3p", &[9, b'a', b'b']).unwrap(), "(b'ab',)");
}

#[test]
fn emit_zero_p_quirk() {
    assert_eq!(pack_hex("0p3x", &[Value::Bytes(b"")]).unwrap(), "ff0000");
    assert_eq!(
        pack_hex("b0pi", &[Value::Int(1), Value::Bytes(b""), Value::Int(2)]).unwrap(),
        "01ff000002000000"
    );
    assert_eq!(
        pack_hex("0pb", &[Value::Bytes(b""), Value::Int(5)]).unwrap(),
        "05"
    );
    assert_eq!(
        pack_hex("<b0p", &[Value::Int(1), Value::Bytes(b"")]).unwrap(),
        "01"
    );
    assert_eq!(
        pack_hex("0p2s", &[Value::Bytes(b""), Value::Bytes(b"")]).unwrap(),
        "ff00"
    );
    // The byte after a trailing `0p` is outside the record and must survive.
    let mut buf = [7u8; 2];
    Format::parse("b0p")
        .unwrap()
        .pack(&mut buf, &[Value::Int(1), Value::Bytes(b"")])
        .unwrap();
    assert_eq!(buf, [1, 7]);
}

#[test]
fn parse_zero_p_cannot_unpack() {
    let f = Format::parse("b0pb").unwrap();
    assert_eq!(
        f.unpack(&[1, 2]).err(),
        Some(UnpackError::ZeroLengthPascal { at: 2 })
    );
    assert!(f.iter_unpack(&[]).is_ok());
    assert!(f.iter_unpack(&[1, 2]).is_err());
    assert!(Struct::<4>::new("0p").unwrap().unpack(&[]).is_err());
}

#[test]
fn roundtrip_unpack_from_and_iter() {
    let f = Format::parse(">Hb").unwrap();
    let buf = [9, 0x01, 0x02, 0xff, 0x03, 0x04, 0x80];
    let v: Vec<_> = f.unpack_from(&buf, 1).unwrap().collect();
    assert_eq!(v, [Value::Int(0x0102), Value::Int(-1)]);
    assert_eq!(
        f.unpack_from(&buf, 5).err(),
        Some(UnpackError::BufferTooSmall {
            offset: 5,
            need: 3,
            got: 7
        })
    );
    let records: Vec<Vec<_>> = f
        .iter_unpack(&buf[1..])
        .unwrap()
        .map(Iterator::collect)
        .collect();
    assert_eq!(
        records,
        [
            [Value::Int(0x0102), Value::Int(-1)],
            [Value::Int(0x0304), Value::Int(-128)]
        ]
    );
    assert_eq!(
        f.iter_unpack(&buf).err(),
        Some(UnpackError::NotMultiple { size: 3, got: 7 })
    );
    assert_eq!(
        Format::parse("0i").unwrap().iter_unpack(&[]).err(),
        Some(UnpackError::ZeroSize)
    );
    assert_eq!(
        f.unpack(&buf).err(),
        Some(UnpackError::SizeMismatch { need: 3, got: 7 })
    );
    let mut out = [0u8; 5];
    f.pack_into(&mut out, 2, &[Value::Int(0x0102), Value::Int(-1)])
        .unwrap();
    assert_eq!(out, [0, 0, 1, 2, 0xff]);
}

#[test]
fn struct_zeroes_only_gaps() {
    let tight = Struct::<4>::new("<IH").unwrap();
    assert_eq!(tight.gap_count(), Some(0));
    let mut buf = [0xaa; 6];
    tight
        .pack(&mut buf, &[Value::Int(1), Value::Int(2)])
        .unwrap();
    assert_eq!(buf, [1, 0, 0, 0, 2, 0]);
    for fmt in ["4p", "<I 2s f", "3s", "<h2p"] {
        assert_eq!(Struct::<4>::new(fmt).unwrap().gap_count(), Some(0), "{fmt}");
    }
    for fmt in ["I 2s f", "bi", "<b3x", "x", "bi0l"] {
        assert_eq!(Struct::<4>::new(fmt).unwrap().gap_count(), Some(1), "{fmt}");
    }
    for fmt in ["0pb", "0p2s"] {
        assert!(
            Struct::<4>::new(fmt).unwrap().gap_count().is_none(),
            "{fmt}"
        );
    }
    // More gaps than fields: zero the whole record.
    let spaced = Struct::<2>::new("xbxbx").unwrap();
    assert_eq!(spaced.gap_count(), None);
    assert_eq!(Struct::<3>::new("xbxbx").unwrap().gap_count(), Some(3));
    let mut buf = [0xaa; 5];
    spaced
        .pack(&mut buf, &[Value::Int(1), Value::Int(2)])
        .unwrap();
    assert_eq!(buf, [0, 1, 0, 2, 0]);
    let mut buf = [0xaa; 8];
    Struct::<4>::new("<b2xh x")
        .unwrap()
        .pack(&mut buf[..6], &[Value::Int(1), Value::Int(2)])
        .unwrap();
    assert_eq!(buf, [1, 0, 0, 2, 0, 0, 0xaa, 0xaa]);
    // Self-padded `s` and `p` still zero what they do not fill.
    let strings = Struct::<4>::new("<3s4p").unwrap();
    let mut buf = [0xaa; 7];
    strings
        .pack(&mut buf, &[Value::Bytes(b"a"), Value::Bytes(b"b")])
        .unwrap();
    assert_eq!(buf, [b'a', 0, 0, 1, b'b', 0, 0]);
}

#[test]
fn struct_pack_errors_name_the_value_as_format_does() {
    let text = "<h 2s ? B f";
    let (format, compiled) = (
        Format::parse(text).unwrap(),
        Struct::<8>::new(text).unwrap(),
    );
    let good = [
        Value::Int(1),
        Value::Bytes(b"ab"),
        Value::Bool(true),
        Value::Int(2),
        Value::Float(0.5),
    ];
    let mut buf = [0u8; 10];
    for (at, bad) in [
        (0, Value::Int(1 << 15)),
        (1, Value::Int(1)),
        (3, Value::Int(256)),
        (3, Value::Float(1.0)),
        (4, Value::Float(1e300)),
    ] {
        let mut values = good;
        values[at] = bad;
        let want = format.pack(&mut buf, &values).unwrap_err();
        assert_eq!(
            compiled.pack(&mut buf, &values),
            Err(want),
            "{bad:?} at {at}"
        );
        let item = match want {
            PackError::OutOfRange { item, .. }
            | PackError::WrongKind { item, .. }
            | PackError::FloatOverflow { item, .. } => item,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(item, at);
    }
}

#[test]
fn struct_unpack_into_needs_a_slot_per_value() {
    let rec = Struct::<4>::new("<h 2s ?").unwrap();
    let buf = [0xfe, 0xff, b'o', b'k', 2];
    let mut out = [Value::Int(9); 4];
    let filled = rec.unpack_into(&buf, &mut out).unwrap();
    assert_eq!(
        filled,
        [Value::Int(-2), Value::Bytes(b"ok"), Value::Bool(true)]
    );
    assert_eq!(
        out[3],
        Value::Int(9),
        "slots after the values are left alone"
    );
    let mut short = [Value::Int(0); 2];
    let err = rec.unpack_into(&buf, &mut short).unwrap_err();
    assert_eq!(err, UnpackError::TooFewSlots { need: 3, got: 2 });
    assert_eq!(err.to_string(), "room for 2 values, format has 3");
    assert_eq!(
        rec.unpack_into(&buf[..4], &mut out).err(),
        Some(UnpackError::SizeMismatch { need: 5, got: 4 })
    );
    assert_eq!(
        Struct::<4>::new("b0p")
            .unwrap()
            .unpack_into(&[1], &mut out)
            .err(),
        Some(UnpackError::ZeroLengthPascal { at: 2 })
    );
}

#[test]
fn errors_display() {
    assert_eq!(
        FormatError::UnknownCode { at: 3, code: b'y' }.to_string(),
        "format byte 3: unknown code 'y'"
    );
    assert_eq!(
        FormatError::NativeOnly { at: 1, code: b'P' }.to_string(),
        "format byte 1: code 'P' exists only in native mode ('@' or no prefix)"
    );
    assert_eq!(
        PackError::OutOfRange {
            item: 2,
            code: b'B',
            value: Some(300),
            min: 0,
            max: 255
        }
        .to_string(),
        "item 2 ('B'): 300 out of range 0..=255"
    );
    assert_eq!(
        PackError::OutOfRange {
            item: 0,
            code: b'q',
            value: None,
            min: -1,
            max: 1
        }
        .to_string(),
        "item 0 ('q'): integer beyond 128 bits out of range -1..=1"
    );
    assert_eq!(
        PackError::ValueCount {
            expected: 3,
            got: 2
        }
        .to_string(),
        "expected 3 values, got 2"
    );
    assert_eq!(
        PackError::BufferTooSmall {
            offset: 0,
            need: 12,
            got: 10
        }
        .to_string(),
        "buffer of 10 bytes, format needs 12"
    );
    assert_eq!(
        UnpackError::BufferTooSmall {
            offset: 4,
            need: 12,
            got: 10
        }
        .to_string(),
        "buffer of 10 bytes, format needs 12 at offset 4"
    );
    assert_eq!(
        PackError::WrongKind {
            item: 1,
            code: b'i',
            expected: "an integer",
            got: "a float"
        }
        .to_string(),
        "item 1 ('i'): expected an integer, got a float"
    );
    assert_eq!(
        FormatError::UnknownCode { at: 0, code: 1 }.to_string(),
        "format byte 0: unknown code '\\u{1}'"
    );
}

#[test]
fn errors_kinds() {
    use embedded_io::{Error, ErrorKind};
    assert_eq!(
        FormatError::EmbeddedNul { at: 0 }.kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        PackError::ValueCount {
            expected: 1,
            got: 0
        }
        .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        UnpackError::SizeMismatch { need: 1, got: 0 }.kind(),
        ErrorKind::InvalidData
    );
    assert_eq!(UnpackError::ZeroSize.kind(), ErrorKind::InvalidInput);
}

#[test]
fn parse_value_codes() {
    let f = Format::parse("@b 3h 0i 2x 5s 0p ? 2e").unwrap();
    let codes: std::string::String = f.value_codes().collect();
    assert_eq!(codes, "bhhhsp?ee");
    assert_eq!(f.value_codes().len(), f.value_count());
    let s = Struct::<16>::from_format(&f).unwrap();
    assert!(s.value_codes().eq(f.value_codes()));
    let huge = Format::parse("1000000000000i").unwrap();
    assert_eq!(huge.value_codes().len(), 1_000_000_000_000);
    assert_eq!(huge.value_codes().nth(5), Some('i'));
}
