//! Property tests of the struct codec: random valid formats with matching random values
//! round-trip through pack and unpack (`Format` and `Struct` agreeing), and arbitrary formats,
//! values and bytes never make anything panic.

use core::ffi::{c_int, c_long, c_longlong, c_short};
use core::mem::size_of;

use portsock_core::wire::structfmt::{Format, Struct, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// A value owning its bytes, as a strategy can produce it.
#[derive(Debug, Clone)]
enum Owned {
    Int(i128),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl Owned {
    fn as_value(&self) -> Value<'_> {
        match self {
            Self::Int(i) => Value::Int(*i),
            Self::Float(x) => Value::Float(*x),
            Self::Bool(b) => Value::Bool(*b),
            Self::Bytes(b) => Value::Bytes(b),
        }
    }
}

/// One `<count><code>` item and the values it takes.
#[derive(Debug, Clone)]
struct Item {
    code: char,
    count: usize,
    explicit_count: bool,
    values: Vec<Owned>,
}

/// Byte width and signedness of an integer code in the given mode.
fn int_spec(code: char, native: bool) -> (usize, bool) {
    let size = match code {
        'b' | 'B' => 1,
        'h' | 'H' if native => size_of::<c_short>(),
        'i' | 'I' if native => size_of::<c_int>(),
        'l' | 'L' if native => size_of::<c_long>(),
        'q' | 'Q' if native => size_of::<c_longlong>(),
        'n' | 'N' | 'P' => size_of::<usize>(),
        'h' | 'H' => 2,
        'i' | 'I' | 'l' | 'L' => 4,
        _ => 8,
    };
    (size, code.is_ascii_lowercase() || code == 'P')
}

fn int_value(code: char, native: bool) -> BoxedStrategy<Owned> {
    let (size, signed) = int_spec(code, native);
    let bits = 8 * size as u32;
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    // P also takes the unsigned range.
    let max = if code == 'P' {
        (1i128 << bits) - 1
    } else {
        max
    };
    prop_oneof![
        (min..=max).prop_map(Owned::Int),
        select(vec![min, max, 0, 1, (-1i128).max(min)]).prop_map(Owned::Int),
        any::<bool>().prop_map(Owned::Bool),
    ]
    .boxed()
}

fn float_value(code: char) -> BoxedStrategy<Owned> {
    let limit = match code {
        'e' => 65_504.0,
        'f' => f64::from(f32::MAX),
        _ => f64::MAX,
    };
    prop_oneof![
        (-limit..=limit).prop_map(Owned::Float),
        (-1e-3f64..1e-3).prop_map(Owned::Float),
        select(vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            1.5,
            limit
        ])
        .prop_map(Owned::Float),
        (-65_504i128..=65_504).prop_map(Owned::Int),
        any::<bool>().prop_map(Owned::Bool),
    ]
    .boxed()
}

fn any_value() -> BoxedStrategy<Owned> {
    prop_oneof![
        any::<i64>().prop_map(|i| Owned::Int(i.into())),
        any::<f64>().prop_map(Owned::Float),
        any::<bool>().prop_map(Owned::Bool),
        vec(any::<u8>(), 0..4).prop_map(Owned::Bytes),
    ]
    .boxed()
}

fn item(native: bool) -> BoxedStrategy<Item> {
    let mut codes: Vec<char> = "xcbB?hHiIlLqQefdsp".chars().collect();
    if native {
        codes.extend(['n', 'N', 'P']);
    }
    (select(codes), 0usize..4, any::<bool>())
        .prop_flat_map(move |(code, count, explicit_count)| {
            let values = match code {
                'x' => Just(Vec::new()).boxed(),
                's' | 'p' => vec(vec(any::<u8>(), 0..12).prop_map(Owned::Bytes), 1).boxed(),
                'c' => vec(any::<u8>().prop_map(|b| Owned::Bytes(vec![b])), count).boxed(),
                '?' => vec(any_value(), count).boxed(),
                'e' | 'f' | 'd' => vec(float_value(code), count).boxed(),
                _ => vec(int_value(code, native), count).boxed(),
            };
            // `p` needs a count of at least 1 to unpack; `s`/`p` fields up to 10 bytes.
            let count = match code {
                'p' => count * 3 + 1,
                's' => count * 3,
                _ => count,
            };
            values.prop_map(move |values| Item {
                code,
                count,
                explicit_count,
                values,
            })
        })
        .boxed()
}

/// A prefix, the items, and a separator to put between them.
fn record() -> impl Strategy<Value = (String, Vec<Item>, &'static str)> {
    select(vec!["", "@", "=", "<", ">", "!"]).prop_flat_map(|prefix| {
        let native = matches!(prefix, "" | "@");
        (
            Just(prefix.to_owned()),
            vec(item(native), 0..7),
            select(vec!["", " ", "\t", "  "]),
        )
    })
}

fn format_text(prefix: &str, items: &[Item], sep: &str) -> String {
    let mut text = prefix.to_owned();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push_str(sep);
        }
        if item.count != 1 || item.explicit_count {
            text.push_str(&item.count.to_string());
        }
        text.push(item.code);
    }
    text
}

/// Python's truth value.
fn truth(v: &Owned) -> bool {
    match v {
        Owned::Int(i) => *i != 0,
        Owned::Float(x) => *x != 0.0,
        Owned::Bool(b) => *b,
        Owned::Bytes(b) => !b.is_empty(),
    }
}

fn as_f64(v: &Owned) -> f64 {
    match v {
        Owned::Int(i) => *i as f64,
        Owned::Float(x) => *x,
        Owned::Bool(b) => f64::from(u8::from(*b)),
        Owned::Bytes(_) => unreachable!("float strategies make no bytes"),
    }
}

/// Checks one unpacked value against the value that was packed.
fn check(
    code: char,
    count: usize,
    native: bool,
    sent: &Owned,
    got: Value<'_>,
) -> Result<(), TestCaseError> {
    match code {
        '?' => prop_assert_eq!(got, Value::Bool(truth(sent))),
        'c' => prop_assert_eq!(got, sent.as_value()),
        's' => {
            let Owned::Bytes(data) = sent else {
                unreachable!()
            };
            let mut field = data.clone();
            field.resize(count, 0);
            prop_assert_eq!(got, Value::Bytes(&field));
        }
        'p' => {
            let Owned::Bytes(data) = sent else {
                unreachable!()
            };
            let kept = data.len().min(count - 1).min(255);
            prop_assert_eq!(got, Value::Bytes(&data[..kept]));
        }
        'd' | 'f' | 'e' => {
            let x = as_f64(sent);
            let Value::Float(y) = got else {
                return Err(TestCaseError::fail(format!("{code}: got {got:?}")));
            };
            if x.is_nan() {
                prop_assert!(y.is_nan() && y.is_sign_negative() == x.is_sign_negative());
            } else if code == 'd' || x.is_infinite() {
                prop_assert_eq!(y.to_bits(), x.to_bits());
            } else if code == 'f' {
                prop_assert_eq!(y.to_bits(), f64::from(x as f32).to_bits());
            } else {
                // Round to nearest: within half a unit in the last place of a half.
                let ulp = if x.abs() < 2f64.powi(-14) {
                    2f64.powi(-24)
                } else {
                    2f64.powi(x.abs().log2().floor() as i32 - 10)
                };
                prop_assert!((y - x).abs() <= ulp / 2.0, "e: {} -> {}", x, y);
                prop_assert_eq!(y.is_sign_negative(), x.is_sign_negative());
            }
        }
        _ => {
            let i = match sent {
                Owned::Int(i) => *i,
                Owned::Bool(b) => i128::from(*b),
                _ => unreachable!("int strategies make ints and bools"),
            };
            let (size, _) = int_spec(code, native);
            let expected = if code == 'P' && i < 0 {
                i + (1i128 << (8 * size))
            } else {
                i
            };
            prop_assert_eq!(got, Value::Int(expected));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn prop_pack_unpack_roundtrip((prefix, items, sep) in record()) {
        let text = format_text(&prefix, &items, sep);
        let native = matches!(prefix.as_str(), "" | "@");
        let format = Format::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let owned: Vec<&Owned> = items.iter().flat_map(|item| &item.values).collect();
        let values: Vec<Value<'_>> = owned.iter().map(|v| v.as_value()).collect();
        prop_assert_eq!(format.value_count(), values.len());

        let mut buf = vec![0xa5; format.size()];
        prop_assert_eq!(format.pack(&mut buf, &values), Ok(format.size()));
        let compiled = Struct::<32>::new(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut cbuf = vec![0x5a; compiled.size()];
        prop_assert_eq!(compiled.pack(&mut cbuf, &values), Ok(format.size()));
        prop_assert_eq!(&buf, &cbuf);

        let unpacked: Vec<Value<'_>> = format.unpack(&buf).map_err(|e| TestCaseError::fail(e.to_string()))?.collect();
        let cunpacked: Vec<Value<'_>> = compiled.unpack(&buf).map_err(|e| TestCaseError::fail(e.to_string()))?.collect();
        prop_assert_eq!(format!("{unpacked:?}"), format!("{cunpacked:?}"));
        let mut out = [Value::Int(0); 32];
        let filled = compiled.unpack_into(&buf, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(format!("{unpacked:?}"), format!("{filled:?}"));
        prop_assert_eq!(unpacked.len(), values.len());
        let mut got = unpacked.into_iter();
        for item in &items {
            for sent in &item.values {
                let value = got.next().ok_or_else(|| TestCaseError::fail("too few values"))?;
                check(item.code, item.count, native, sent, value)?;
            }
        }

        // Repacking what came out gives the same bytes (floats compared after narrowing).
        let again: Vec<Value<'_>> = format.unpack(&buf).map_err(|e| TestCaseError::fail(e.to_string()))?.collect();
        let mut rebuf = vec![0; format.size()];
        format.pack(&mut rebuf, &again).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(rebuf, buf);
    }

    #[test]
    fn prop_arbitrary_format_never_panics(fmt in "[@=<>! ]?[0-9xcbB?hHiIlLqQnNefdspPz@<! \t]{0,12}", bytes in vec(any::<u8>(), 0..48), offset in 0usize..50, values in vec(any_value(), 0..6)) {
        exercise(&fmt, &bytes, offset, &values);
    }

    #[test]
    fn prop_random_bytes_never_panic(raw in vec(any::<u8>(), 0..24), bytes in vec(any::<u8>(), 0..48), offset in 0usize..50, values in vec(any_value(), 0..6)) {
        exercise(&String::from_utf8_lossy(&raw), &bytes, offset, &values);
    }

    #[test]
    fn prop_huge_counts_never_panic(count in any::<u64>(), code in select("xcbB?hHiIlLqQnNefdspP".chars().collect::<Vec<_>>()), tail in "[0-9xi]{0,3}") {
        let fmt = format!("{count}{code}{tail}");
        exercise(&fmt, &[0; 16], 0, &[]);
        exercise(&format!("b{fmt}"), &[0; 16], 3, &[Owned::Int(0), Owned::Bytes(vec![1])]);
    }

    #[test]
    fn prop_zero_p_never_unpacks(before in "[bhi]{0,2}", after in "[bhi]{0,2}") {
        let text = format!("{before}0p{after}");
        let format = Format::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(format.unpack(&vec![0; format.size()]).is_err());
        let values: Vec<Value<'_>> = (0..format.value_count()).map(|i| if i == before.len() { Value::Bytes(b"") } else { Value::Int(1) }).collect();
        let mut buf = vec![0; format.size()];
        prop_assert!(format.pack(&mut buf, &values).is_ok());
    }
}

/// Runs every entry point on the inputs; only panics matter, errors are expected.
fn exercise(fmt: &str, bytes: &[u8], offset: usize, values: &[Owned]) {
    let values: Vec<Value<'_>> = values.iter().map(Owned::as_value).collect();
    let _ = portsock_core::wire::structfmt::calcsize(fmt);
    let Ok(format) = Format::parse(fmt) else {
        return;
    };
    if let Ok(record) = format.unpack(bytes) {
        assert_eq!(record.count(), format.value_count());
    }
    if let Ok(record) = format.unpack_from(bytes, offset) {
        for value in record {
            let _ = value.to_string();
        }
    }
    if let Ok(records) = format.iter_unpack(bytes) {
        for record in records {
            assert_eq!(record.count(), format.value_count());
        }
    }
    let mut buf = vec![0; format.size().min(64)];
    let _ = format.pack_into(&mut buf, offset, &values);
    let _ = format.pack(&mut buf, &values);
    if let Ok(compiled) = Struct::<8>::from_format(&format) {
        let _ = compiled.pack(&mut buf, &values);
        let _ = compiled.unpack(bytes).map(Iterator::count);
        let mut out = [Value::Int(0); 8];
        let into = compiled.unpack_into(bytes, &mut out).map(|v| v.len());
        assert_eq!(into.ok(), compiled.unpack(bytes).ok().map(|v| v.len()));
        let _ = compiled.unpack_from(bytes, offset).map(Iterator::count);
        let _ = compiled
            .iter_unpack(bytes)
            .map(|records| records.map(Iterator::count).sum::<usize>());
    }
}
