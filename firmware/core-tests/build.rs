//! Turns the conformance vectors (`tests/data/vectors/{struct,inet}.jsonl`, CPython 3.11 on
//! x86_64) into Rust arrays for the on-target harness, in `$OUT_DIR/vectors.rs`.
//!
//! To fit the 256 KiB flash, two pack/unpack cases in three are left out where
//! the target makes no difference (standard sizes, native codes other than `l L n N P`); so is a case that would not fit the harness's fixed buffers (a
//! pack/unpack over `MAX_RECORD` bytes, a repr over `MAX_REPR`). Both are counted in
//! `STRUCT_LEFT_OUT` and logged, never dropped silently. Every inet case is kept. Floats are written as bit patterns parsed here with `str::parse::<f64>`
//! (correctly rounded), integers as `i128` literals, so nothing is lost in the translation.
//! A missing vector file fails the build.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value as Json;
use serde_json::value::RawValue;

/// The harness packs into and unpacks from buffers of this size (`src/vectors.rs`).
const MAX_RECORD: usize = 256;
/// One target-independent pack/unpack case in this many is embedded.
const STANDARD_STRIDE: usize = 3;
/// And compares reprs of at most this many bytes.
const MAX_REPR: usize = 512;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/vectors");
    let mut out = String::new();
    let (structs, left_out) = struct_cases(&dir.join("struct.jsonl"));
    writeln!(
        out,
        "pub static STRUCT_CASES: &[StructCase] = &[{structs}];"
    )
    .unwrap();
    writeln!(out, "pub const STRUCT_LEFT_OUT: usize = {left_out};").unwrap();
    let inet = inet_cases(&dir.join("inet.jsonl"));
    writeln!(out, "pub static INET_CASES: &[InetCase] = &[{inet}];").unwrap();
    let path = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("vectors.rs");
    std::fs::write(path, out).unwrap();
    println!("cargo:rerun-if-changed={}", dir.display());

    // cortex-m-rt's link.x includes memory.x from the link search path.
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::copy("memory.x", out_dir.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out_dir.display());
    println!("cargo:rerun-if-changed=memory.x");
}

fn read(path: &PathBuf) -> String {
    println!("cargo:rerun-if-changed={}", path.display());
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the vectors ship with the repository)",
            path.display()
        )
    })
}

fn struct_cases(path: &PathBuf) -> (String, usize) {
    let mut out = String::new();
    let mut left_out = 0;
    for (index, line) in read(path).lines().enumerate() {
        let case: Json = serde_json::from_str(line).unwrap();
        let text = |key: &str| case.get(key).and_then(Json::as_str);
        let fmt = text("fmt").unwrap();
        let error = case.get("error").is_some();
        // The image has 256 KiB of flash: keep every calcsize and every native case (where the
        // target differs), and one standard-size pack/unpack case in three.
        let standard = matches!(fmt.as_bytes().first(), Some(b'<' | b'>' | b'!' | b'='));
        let target_specific = !standard && fmt.contains(['l', 'L', 'n', 'N', 'P']);
        if !target_specific && text("op") != Some("calcsize") && index % STANDARD_STRIDE != 0 {
            left_out += 1;
            continue;
        }
        let (op, expect) = match text("op").unwrap() {
            "calcsize" => {
                let expect = match case.get("calcsize").and_then(Json::as_u64) {
                    Some(n) => format!("Expect::Size({n})"),
                    None => "Expect::Error".into(),
                };
                ("StructOp::Calcsize".to_string(), expect)
            }
            "pack" => {
                let raw: Raw = serde_json::from_str(line).unwrap();
                let values: Vec<String> = raw.values.iter().map(|v| value(v.get())).collect();
                let packed = text("packed_hex").map(unhex);
                if packed.as_ref().is_some_and(|p| p.len() > MAX_RECORD) {
                    left_out += 1;
                    continue;
                }
                let expect = match packed {
                    Some(bytes) => format!("Expect::Bytes(&{bytes:?})"),
                    None => "Expect::Error".into(),
                };
                (format!("StructOp::Pack(&[{}])", values.join(", ")), expect)
            }
            "unpack" => {
                let bytes = unhex(text("hex").unwrap());
                let repr = text("unpacked_repr");
                if bytes.len() > MAX_RECORD || repr.is_some_and(|r| r.len() > MAX_REPR) {
                    left_out += 1;
                    continue;
                }
                let expect = match repr {
                    Some(r) => format!("Expect::Repr({r:?})"),
                    None => "Expect::Error".into(),
                };
                (format!("StructOp::Unpack(&{bytes:?})"), expect)
            }
            other => panic!("struct.jsonl line {}: unknown op {other:?}", index + 1),
        };
        assert!(!error || expect == "Expect::Error");
        write!(
            out,
            "StructCase {{ line: {}, fmt: {fmt:?}, op: {op}, expect: {expect} }},",
            index + 1
        )
        .unwrap();
    }
    (out, left_out)
}

/// The `values` array with each element's raw JSON text (numbers untouched by serde's float
/// parsing).
#[derive(serde::Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    values: Vec<&'a RawValue>,
}

fn value(raw: &str) -> String {
    match raw {
        "true" => return "Value::Bool(true)".into(),
        "false" => return "Value::Bool(false)".into(),
        _ => {}
    }
    if raw.starts_with('{') {
        let object: Json = serde_json::from_str(raw).unwrap();
        let text = |key: &str| object.get(key).and_then(Json::as_str);
        if let Some(digits) = text("int") {
            return match digits.parse::<i128>() {
                Ok(i) => format!("Value::Int({i})"),
                Err(_) => format!("Value::BigInt({digits:?})"),
            };
        }
        if let Some(special) = text("float") {
            let x = match special {
                "nan" => f64::NAN,
                "-nan" => -f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "-0.0" => -0.0,
                other => panic!("unknown float {other:?}"),
            };
            return float(x);
        }
        if let Some(h) = text("bytes_hex") {
            return format!("Value::Bytes(&{:?})", unhex(h));
        }
        panic!("unknown value {raw}");
    }
    if raw.contains(['.', 'e', 'E']) {
        return float(raw.parse().unwrap());
    }
    format!("Value::Int({})", raw.parse::<i128>().unwrap())
}

fn float(x: f64) -> String {
    format!("Value::Float(f64::from_bits({:#018x}))", x.to_bits())
}

fn inet_cases(path: &PathBuf) -> String {
    let mut out = String::new();
    for (index, line) in read(path).lines().enumerate() {
        let case: Json = serde_json::from_str(line).unwrap();
        let text = |key: &str| case.get(key).and_then(Json::as_str);
        let op = match text("op").unwrap() {
            "inet_aton" => "InetOp::Aton",
            "inet_pton" => "InetOp::Pton",
            "inet_ntoa" => "InetOp::Ntoa",
            "inet_ntop" => "InetOp::Ntop",
            other => panic!("inet.jsonl line {}: unknown op {other:?}", index + 1),
        };
        let v6 = match text("family") {
            None | Some("inet") => false,
            Some("inet6") => true,
            Some(other) => panic!("unknown family {other:?}"),
        };
        // Text in, bytes out (aton, pton) or bytes in, text out (ntoa, ntop).
        let (input, expect) = match op {
            "InetOp::Aton" | "InetOp::Pton" => (
                text("input").unwrap().as_bytes().to_vec(),
                text("hex").map(unhex),
            ),
            _ => (
                unhex(text("hex").unwrap()),
                text("text").map(|t| t.as_bytes().to_vec()),
            ),
        };
        write!(
            out,
            "InetCase {{ line: {}, op: {op}, v6: {v6}, input: &{input:?}, expect: {} }},",
            index + 1,
            match expect {
                Some(bytes) => format!("Some(&{bytes:?})"),
                None => "None".into(),
            }
        )
        .unwrap();
    }
    out
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
