//! Every case of `tests/data/vectors/struct.jsonl` (CPython 3.11.7, x86_64 Linux) against the
//! codec: `calcsize`, `pack` (hex) and `unpack` (`repr` of the tuple), errors included.
//!
//! Each case runs through [`Format`] and, where the values fit, through a compiled [`Struct`];
//! packs are also replayed at an offset into a larger buffer, and unpacks through `unpack_from`
//! at an offset and `iter_unpack`, which must all agree.

use portsock_core::wire::repr::write_tuple;
use portsock_core::wire::structfmt::{Format, Struct, Value};
use serde_json::Value as Json;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/vectors/struct.jsonl"
);

/// A decoded value of the `values` array, owning its text and bytes.
#[derive(Debug)]
enum Owned {
    Int(i128),
    Big(String),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl Owned {
    fn as_value(&self) -> Value<'_> {
        match self {
            Self::Int(i) => Value::Int(*i),
            Self::Big(text) => Value::BigInt(text),
            Self::Float(x) => Value::Float(*x),
            Self::Bool(b) => Value::Bool(*b),
            Self::Bytes(b) => Value::Bytes(b),
        }
    }
}

#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "the vectors record native sizes of x86_64 Linux"
)]
fn struct_vectors_match_cpython() {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
        panic!("cannot read {VECTORS}: {e} (the vectors must ship with the repo)")
    });
    let mut checked = 0usize;
    let mut failures = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        match check_line(line) {
            Ok(()) => checked += 1,
            Err(why) => failures.push(format!("line {number}: {why}\n    {line}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n")
    );
    assert_eq!(checked, lines.len());
    assert_eq!(
        checked, 2989,
        "struct.jsonl should have 2989 cases (README.md)"
    );
}

fn check_line(line: &str) -> Result<(), String> {
    let case: Json = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
    let field = |name: &str| case.get(name).ok_or_else(|| format!("no {name:?}"));
    let fmt = field("fmt")?.as_str().ok_or("fmt is not a string")?;
    let expect_error = case.get("error").is_some();
    let op = field("op")?.as_str().ok_or("op is not a string")?;
    let outcome = match op {
        "calcsize" => calcsize_case(fmt).map(|size| Json::from(size as u64)),
        "pack" => {
            let values = raw_values(line)?
                .into_iter()
                .map(decode)
                .collect::<Result<Vec<_>, _>>()?;
            let values: Vec<Value<'_>> = values.iter().map(Owned::as_value).collect();
            pack_case(fmt, &values).map(Json::from)
        }
        "unpack" => {
            let bytes = hex(field("hex")?.as_str().ok_or("hex is not a string")?)?;
            unpack_case(fmt, &bytes).map(Json::from)
        }
        other => return Err(format!("unknown op {other:?}")),
    };
    let result_key = match op {
        "calcsize" => "calcsize",
        "pack" => "packed_hex",
        _ => "unpacked_repr",
    };
    match (outcome, expect_error) {
        (Ok(got), false) if Some(&got) == case.get(result_key) => Ok(()),
        (Ok(got), false) => Err(format!("got {got}")),
        (Ok(got), true) => Err(format!("expected an error, got {got}")),
        (Err(_), true) => Ok(()),
        (Err(e), false) => Err(format!("unexpected error: {e}")),
    }
}

fn calcsize_case(fmt: &str) -> Result<usize, String> {
    let size = portsock_core::wire::structfmt::calcsize(fmt).map_err(|e| e.to_string())?;
    let format = Format::parse(fmt).map_err(|e| e.to_string())?;
    if format.size() != size {
        return Err(format!("Format::size {} != calcsize {size}", format.size()));
    }
    Ok(size)
}

fn pack_case(fmt: &str, values: &[Value<'_>]) -> Result<String, String> {
    let format = Format::parse(fmt).map_err(|e| e.to_string())?;
    // A record of up to isize::MAX bytes is a valid format; don't allocate it for a case that
    // fails on the value count anyway.
    let size = if values.len() == format.value_count() {
        format.size()
    } else {
        0
    };
    let mut buf = vec![0xa5; size];
    let result = format.pack(&mut buf, values).map_err(|e| e.to_string());

    // The same through pack_into at an offset: bytes around the record stay untouched.
    let mut wide = vec![0x5a; size + 6];
    let wide_result = format
        .pack_into(&mut wide, 3, values)
        .map_err(|e| e.to_string());
    if result.is_ok() != wide_result.is_ok() {
        return Err(format!("pack {result:?} but pack_into {wide_result:?}"));
    }
    let untouched = |part: &[u8]| part.iter().all(|&b| b == 0x5a);
    if result.is_ok()
        && (wide[3..3 + size] != buf[..] || !untouched(&wide[..3]) || !untouched(&wide[3 + size..]))
    {
        return Err("pack_into at offset 3 differs from pack".into());
    }

    if let Ok(compiled) = Struct::<64>::from_format(&format) {
        let mut cbuf = vec![0x3c; size];
        let cresult = compiled.pack(&mut cbuf, values).map_err(|e| e.to_string());
        if cresult.is_ok() != result.is_ok() || (result.is_ok() && cbuf != buf) {
            return Err(format!(
                "Struct::pack {cresult:?} {cbuf:02x?} differs from Format::pack"
            ));
        }
    }
    result?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn unpack_case(fmt: &str, bytes: &[u8]) -> Result<String, String> {
    let format = Format::parse(fmt).map_err(|e| e.to_string())?;
    let mut repr = String::new();
    let values = format.unpack(bytes).map_err(|e| e.to_string())?;
    if values.len() != format.value_count() {
        return Err(format!(
            "unpack yields {} values, value_count {}",
            values.len(),
            format.value_count()
        ));
    }
    write_tuple(&mut repr, values).map_err(|e| e.to_string())?;

    let mut shifted = vec![0xee];
    shifted.extend_from_slice(bytes);
    shifted.push(0xee);
    let mut from = String::new();
    write_tuple(
        &mut from,
        format.unpack_from(&shifted, 1).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    if from != repr {
        return Err(format!("unpack_from gives {from}"));
    }
    if !bytes.is_empty() {
        let mut records = format.iter_unpack(bytes).map_err(|e| e.to_string())?;
        let mut iter = String::new();
        write_tuple(
            &mut iter,
            records.next().ok_or("iter_unpack yields nothing")?,
        )
        .map_err(|e| e.to_string())?;
        if iter != repr || records.next().is_some() {
            return Err(format!("iter_unpack gives {iter}"));
        }
    }
    if let Ok(compiled) = Struct::<64>::from_format(&format) {
        let mut compiled_repr = String::new();
        write_tuple(
            &mut compiled_repr,
            compiled.unpack(bytes).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if compiled_repr != repr {
            return Err(format!("Struct::unpack gives {compiled_repr}"));
        }
        let mut out = [Value::Int(0); 64];
        let filled = compiled
            .unpack_into(bytes, &mut out[..])
            .map_err(|e| e.to_string())?;
        let mut into_repr = String::new();
        write_tuple(&mut into_repr, filled.iter().copied()).map_err(|e| e.to_string())?;
        if into_repr != repr {
            return Err(format!("Struct::unpack_into gives {into_repr}"));
        }
    }
    Ok(repr)
}

/// The raw JSON text of each element of the line's `"values"` array.
///
/// Numbers are taken as text, not through serde_json, whose default float parsing is not
/// always correctly rounded; the vectors' floats are Python reprs that round-trip exactly only
/// through a correctly rounded parser such as `str::parse::<f64>`.
fn raw_values(line: &str) -> Result<Vec<&str>, String> {
    let key = "\"values\": [";
    let start = line.find(key).ok_or("no values array")? + key.len();
    let mut elements = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut from) = (0usize, false, false, start);
    for (i, c) in line[start..].char_indices().map(|(i, c)| (i + start, c)) {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            ']' if depth > 0 => depth -= 1,
            ',' | ']' if depth == 0 => {
                let element = line[from..i].trim();
                if !element.is_empty() {
                    elements.push(element);
                } else if c == ',' {
                    return Err("empty element in values".into());
                }
                if c == ']' {
                    return Ok(elements);
                }
                from = i + 1;
            }
            _ => {}
        }
    }
    Err("unterminated values array".into())
}

fn decode(raw: &str) -> Result<Owned, String> {
    match raw {
        "true" => return Ok(Owned::Bool(true)),
        "false" => return Ok(Owned::Bool(false)),
        _ => {}
    }
    if raw.starts_with('{') {
        let object: Json = serde_json::from_str(raw).map_err(|e| format!("{raw}: {e}"))?;
        let text = |key: &str| object.get(key).and_then(Json::as_str);
        if let Some(digits) = text("int") {
            return Ok(match digits.parse::<i128>() {
                Ok(i) => Owned::Int(i),
                Err(_) => Owned::Big(digits.to_owned()),
            });
        }
        if let Some(special) = text("float") {
            return match special {
                "nan" => Ok(Owned::Float(f64::NAN)),
                "-nan" => Ok(Owned::Float(-f64::NAN)),
                "inf" => Ok(Owned::Float(f64::INFINITY)),
                "-inf" => Ok(Owned::Float(f64::NEG_INFINITY)),
                "-0.0" => Ok(Owned::Float(-0.0)),
                other => Err(format!("unknown float {other:?}")),
            };
        }
        if let Some(h) = text("bytes_hex") {
            return hex(h).map(Owned::Bytes);
        }
        return Err(format!("unknown value {raw}"));
    }
    if raw.contains(['.', 'e', 'E']) {
        let x: f64 = raw.parse().map_err(|e| format!("{raw}: {e}"))?;
        return Ok(Owned::Float(x));
    }
    raw.parse::<i128>()
        .map(Owned::Int)
        .map_err(|e| format!("{raw}: {e}"))
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd hex length: {text:?}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| format!("{text:?}: {e}")))
        .collect()
}

#[test]
fn raw_values_split_top_level_elements() {
    let line = r#"{"op": "pack", "fmt": "x", "values": [1, {"bytes_hex": "5d2c"}, -2.5e-300, true], "packed_hex": ""}"#;
    assert_eq!(
        raw_values(line).unwrap(),
        ["1", r#"{"bytes_hex": "5d2c"}"#, "-2.5e-300", "true"]
    );
    let empty = r#"{"op": "pack", "fmt": "", "values": [], "packed_hex": ""}"#;
    assert!(raw_values(empty).unwrap().is_empty());
    assert!(
        matches!(decode(r#"{"float": "-nan"}"#), Ok(Owned::Float(x)) if x.is_nan() && x.is_sign_negative())
    );
}
