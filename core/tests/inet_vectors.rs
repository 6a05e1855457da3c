//! Every case of `tests/data/vectors/inet.jsonl` (CPython 3.11 on glibc 2.36) against
//! `portsock_core::wire::inet`.
//!
//! Inputs go in as the UTF-8 bytes of the JSON string, which is what CPython hands glibc. A case
//! with `"error"` must fail (whatever the exception type); every other case must give exactly
//! the recorded bytes or text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use portsock_core::wire::inet::{self, Family};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/vectors/inet.jsonl"
);

/// The line count `meta.json` records for `inet.jsonl`.
const EXPECTED_LINES: usize = 1096;

#[test]
fn every_inet_vector() {
    let cases = read_jsonl(VECTORS);
    assert_eq!(
        cases.len(),
        EXPECTED_LINES,
        "{VECTORS}: line count differs from meta.json"
    );
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (line, case) in &cases {
        let op = str_field(case, "op", *line);
        match check(op, case, *line) {
            Ok(()) => {}
            Err(why) => failures.push(format!("line {line}: {case}\n    {why}")),
        }
        *checked.entry(op.to_owned()).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {} inet vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let total: usize = checked.values().sum();
    assert_eq!(
        total,
        cases.len(),
        "every line must be checked exactly once"
    );
    println!("inet vectors checked: {total} ({checked:?})");
}

/// Runs one case; `Err` says how the result differs from CPython's.
fn check(op: &str, case: &Value, line: usize) -> Result<(), String> {
    match op {
        "inet_aton" => {
            let input = str_field(case, "input", line).as_bytes();
            let got = inet::inet_aton(input).map(|a| hex(&a.octets()));
            compare_text_input(case, input, got.map_err(|e| e.to_string()), "hex")
        }
        "inet_pton" => {
            let input = str_field(case, "input", line).as_bytes();
            let family = family(case, line);
            let got = inet::inet_pton(family, input).map(|a| match a {
                IpAddr::V4(v4) => hex(&v4.octets()),
                IpAddr::V6(v6) => hex(&v6.octets()),
            });
            // The per-family entry points must agree with the dispatcher.
            let direct = match family {
                Family::Inet => inet::inet_pton4(input).map(|a| hex(&a.octets())),
                Family::Inet6 => inet::inet_pton6(input).map(|a| hex(&a.octets())),
            };
            if direct != got {
                return Err(format!(
                    "inet_pton {got:?} but the family function {direct:?}"
                ));
            }
            compare_text_input(case, input, got.map_err(|e| e.to_string()), "hex")
        }
        "inet_ntoa" => {
            let packed = unhex(str_field(case, "hex", line));
            let got = inet::inet_ntoa(&packed).map(|t| t.as_str().to_owned());
            if packed.len() != 4 && got.is_ok() {
                return Err(format!("{} bytes must be refused", packed.len()));
            }
            compare(case, got.map_err(|e| e.to_string()), "text")
        }
        "inet_ntop" => {
            let packed = unhex(str_field(case, "hex", line));
            let family = family(case, line);
            let got = inet::inet_ntop(family, &packed).map(|t| t.as_str().to_owned());
            if packed.len() != family.packed_len() && got.is_ok() {
                return Err(format!("{} bytes must be refused", packed.len()));
            }
            if let (Family::Inet6, Ok(octets)) = (family, <[u8; 16]>::try_from(&packed[..])) {
                let direct = inet::inet_ntop6(&octets.into());
                if got.as_deref() != Ok(direct.as_str()) {
                    return Err(format!("inet_ntop {got:?} but inet_ntop6 {direct:?}"));
                }
            }
            compare(case, got.map_err(|e| e.to_string()), "text")
        }
        other => panic!("line {line}: unknown op {other:?}"),
    }
}

/// As [`compare`], and an input with an embedded NUL must fail whatever the file says.
fn compare_text_input(
    case: &Value,
    input: &[u8],
    got: Result<String, String>,
    field: &str,
) -> Result<(), String> {
    if input.contains(&0) && got.is_ok() {
        return Err(format!("an embedded NUL must be refused, got {got:?}"));
    }
    compare(case, got, field)
}

/// Compares a result with the case's `field` (or its `"error"`).
fn compare(case: &Value, got: Result<String, String>, field: &str) -> Result<(), String> {
    match (
        case.get("error"),
        case.get(field).and_then(Value::as_str),
        got,
    ) {
        (Some(_), _, Err(_)) => Ok(()),
        (Some(error), _, Ok(value)) => Err(format!("expected {error}, got Ok({value:?})")),
        (None, Some(want), Ok(value)) if value == want => Ok(()),
        (None, Some(want), Ok(value)) => Err(format!("expected {want:?}, got {value:?}")),
        (None, Some(want), Err(err)) => Err(format!("expected {want:?}, got error: {err}")),
        (None, None, _) => Err(format!("case has neither \"error\" nor {field:?}")),
    }
}

fn family(case: &Value, line: usize) -> Family {
    match str_field(case, "family", line) {
        "inet" => Family::Inet,
        "inet6" => Family::Inet6,
        other => panic!("line {line}: unknown family {other:?}"),
    }
}

/// Reads a JSON Lines file; a missing or malformed file fails the test loudly (never skips).
fn read_jsonl(path: &str) -> Vec<(usize, Value)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read test vectors {path}: {err}"));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("{path}:{}: bad JSON: {err}", i + 1));
            (i + 1, value)
        })
        .collect()
}

fn str_field<'a>(case: &'a Value, field: &str, line: usize) -> &'a str {
    case.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("line {line}: no string field {field:?} in {case}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).unwrap_or_else(|e| panic!("{text:?}: {e}"))
        })
        .collect()
}
