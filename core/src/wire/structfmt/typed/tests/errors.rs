//! What `Record` refuses, and how it says so.

use std::string::ToString;

use embedded_io::ErrorKind;

use crate::wire::structfmt::typed::record::Plan;
use crate::wire::structfmt::{FieldType, FormatError, PackError, Record, TypedError, UnpackError};

#[test]
fn type_mismatch_names_the_field() {
    assert_eq!(
        Record::<(u8, i64)>::new("<B n").unwrap_err(),
        TypedError::Format(FormatError::NativeOnly { at: 3, code: b'n' })
    );
    assert_eq!(
        Record::<(u8, i64)>::new("B n").unwrap_err(),
        TypedError::FieldType {
            field: 1,
            at: 2,
            code: b'n',
            format: FieldType::Isize,
            record: FieldType::I64
        }
    );
    assert_eq!(
        Record::<(u8, [u8; 3])>::new("B 4s").unwrap_err(),
        TypedError::FieldType {
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
        TypedError::FieldType {
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
        assert_eq!(err, TypedError::NoTypedForm { at, code }, "{fmt:?}");
        assert!(err.to_string().contains("use Struct or Format"), "{err}");
    }
    // Refused even when the count does not match either: the better error.
    assert_eq!(
        Record::<(u8, u8, u8)>::new("2c").unwrap_err(),
        TypedError::NoTypedForm { at: 1, code: b'c' }
    );
    // `0c` takes no value, so it is no field and no error.
    assert_eq!(Record::<(u8,)>::new("0c B").map(|r| r.size()), Ok(1));
}

#[test]
fn field_count() {
    assert_eq!(
        Record::<(u8, u8)>::new("3B").unwrap_err(),
        TypedError::FieldCount {
            format: 3,
            record: 2
        }
    );
    assert_eq!(
        Record::<(u8, u8)>::new("B").unwrap_err(),
        TypedError::FieldCount {
            format: 1,
            record: 2
        }
    );
    assert_eq!(
        Record::<(u8,)>::new("4x").unwrap_err(),
        TypedError::FieldCount {
            format: 0,
            record: 1
        }
    );
    assert_eq!(
        Record::<(u8,)>::new("99999999999B").unwrap_err(),
        TypedError::FieldCount {
            format: 99_999_999_999,
            record: 1
        }
    );
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
fn display_and_debug() {
    assert_eq!(
        TypedError::NoTypedForm { at: 2, code: b'p' }.to_string(),
        "format byte 2: code 'p' has no typed form; use Struct or Format"
    );
    assert_eq!(
        TypedError::FieldCount {
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
