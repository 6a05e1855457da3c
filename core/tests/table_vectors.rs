//! The built-in tables against their oracles:
//!
//! * every line of `tests/data/vectors/services.jsonl` and `protocols.jsonl` (CPython 3.11 on
//!   glibc 2.36, Debian 12 netbase) against `table::services` / `table::protocols`;
//! * the generated tables against `scripts/gen-tables --check`, when this machine has the same
//!   netbase files;
//! * `table::consts` against python3's `socket` module on this machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use portsock_core::table::consts::{self, Constant};
use portsock_core::table::protocols::{self, Protocol};
use portsock_core::table::services::{self, Service};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/vectors");

/// Line counts `meta.json` records.
const SERVICES_LINES: usize = 1339;
const PROTOCOLS_LINES: usize = 119;

/// Why a look-up failed, as the two Python exceptions the vectors record.
#[derive(Debug, PartialEq, Eq)]
enum LookupError {
    /// No such entry (Python: `OSError`).
    NotFound,
    /// A port outside 0-65535 (Python: `OverflowError`). The Rust API takes a `u16`, so the
    /// range check happens here, where the vectors' JSON integer becomes a port.
    PortOutOfRange,
}

/// `socket.getservbyport` over the built-in table: the `i64` port models Python's int, and the
/// conversion to `u16` is its range check.
fn getservbyport(port: i64, proto: Option<&str>) -> Result<&'static Service, LookupError> {
    let port = u16::try_from(port).map_err(|_| LookupError::PortOutOfRange)?;
    services::getservbyport(port, proto).ok_or(LookupError::NotFound)
}

fn getservbyname(name: &str, proto: Option<&str>) -> Result<&'static Service, LookupError> {
    services::getservbyname(name, proto).ok_or(LookupError::NotFound)
}

fn getprotobyname(name: &str) -> Result<&'static Protocol, LookupError> {
    protocols::getprotobyname(name).ok_or(LookupError::NotFound)
}

#[test]
fn every_services_vector() {
    let cases = read_jsonl("services.jsonl");
    assert_eq!(
        cases.len(),
        SERVICES_LINES,
        "services.jsonl line count differs from meta.json"
    );
    let mut failures = Vec::new();
    let mut checked = BTreeMap::<&str, usize>::new();
    for (line, case) in &cases {
        let proto = case.get("proto").and_then(Value::as_str);
        let (op, outcome) = match str_field(case, "op", *line) {
            "getservbyname" => {
                let got = getservbyname(str_field(case, "name", *line), proto).map(|s| s.port);
                ("getservbyname", expect(case, got, "port", as_u16))
            }
            "getservbyport" => {
                let port = case
                    .get("port")
                    .and_then(Value::as_i64)
                    .expect("integer port");
                let got = getservbyport(port, proto).map(|s| s.name);
                if !(0..=65535).contains(&port) && got != Err(LookupError::PortOutOfRange) {
                    failures.push(format!("line {line}: port {port} must be out of range"));
                }
                ("getservbyport", expect(case, got, "name", Value::as_str))
            }
            other => panic!("line {line}: unknown op {other:?}"),
        };
        if let Err(why) = outcome {
            failures.push(format!("line {line}: {case}\n    {why}"));
        }
        *checked.entry(op).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "{} services vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked.values().sum::<usize>(), cases.len());
    println!("services vectors checked: {} ({checked:?})", cases.len());
}

#[test]
fn every_protocols_vector() {
    let cases = read_jsonl("protocols.jsonl");
    assert_eq!(
        cases.len(),
        PROTOCOLS_LINES,
        "protocols.jsonl line count differs from meta.json"
    );
    let mut failures = Vec::new();
    for (line, case) in &cases {
        assert_eq!(
            str_field(case, "op", *line),
            "getprotobyname",
            "line {line}"
        );
        let name = str_field(case, "name", *line);
        let got = getprotobyname(name).map(|p| p.number);
        let outcome = expect(case, got, "number", as_u16);
        if let Err(why) = outcome {
            failures.push(format!("line {line}: {case}\n    {why}"));
        }
        // getprotobynumber is not in the vectors (Python has no such function); check that it
        // finds the first entry with that number in file order.
        if let Ok(p) = getprotobyname(name) {
            let first = protocols::PROTOCOLS.iter().find(|q| q.number == p.number);
            assert_eq!(protocols::getprotobynumber(p.number), first, "line {line}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} protocols vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("protocols vectors checked: {}", cases.len());
}

#[test]
fn chapter_lookups_are_built_in() {
    for name in [
        "http", "https", "ftp", "gopher", "smtp", "imap", "imaps", "pop3", "pop3s",
    ] {
        let service = services::getservbyname(name, Some("tcp"));
        assert!(service.is_some_and(|s| s.is_named(name)), "service {name}");
    }
    for name in ["icmp", "udp", "tcp"] {
        assert!(protocols::getprotobyname(name).is_some(), "protocol {name}");
    }
}

#[test]
fn generated_tables_record_the_vector_hashes() {
    let meta: Value = serde_json::from_str(&read_vector_file("meta.json")).expect("meta.json");
    let table_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/table");
    for (file, key) in [
        ("services_data.rs", "etc_services_sha256"),
        ("protocols_data.rs", "etc_protocols_sha256"),
    ] {
        let sha = meta
            .get(key)
            .and_then(Value::as_str)
            .expect("hash in meta.json");
        let path = table_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        assert!(
            text.contains(sha),
            "{} was not generated from the file with sha256 {sha}",
            file
        );
    }
}

#[test]
fn generated_tables_are_up_to_date() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen-tables");
    let output = match Command::new("python3").arg(&script).arg("--check").output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            println!("SKIPPED: python3 not found");
            return;
        }
        Err(err) => panic!("cannot run {}: {err}", script.display()),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        // This machine's /etc/services or /etc/protocols is not the netbase the vectors were
        // made from; the vector tests above still check the committed tables.
        Some(3) => println!("SKIPPED: {}", stderr.trim()),
        _ => panic!(
            "scripts/gen-tables --check failed ({}):\n{stderr}",
            output.status
        ),
    }
}

/// Every `AF_*`, `SOCK_*` and `IPPROTO_*` entry against `socket` in this machine's python3:
/// same names, same values, and the same value -> name mapping as the chapter's
/// `get_constants(prefix)`.
#[cfg(target_os = "linux")]
#[test]
fn consts_match_python_socket_module() {
    const SCRIPT: &str = r#"
import json, socket, sys
prefixes = ("AF_", "SOCK_", "IPPROTO_")
names = {p: {n: int(getattr(socket, n)) for n in dir(socket) if n.startswith(p)} for p in prefixes}
shown = {p: {int(getattr(socket, n)): n for n in dir(socket) if n.startswith(p)} for p in prefixes}
print(json.dumps({"version": list(sys.version_info[:2]), "names": names, "shown": shown}))
"#;
    let output = match Command::new("python3").arg("-c").arg(SCRIPT).output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            println!("SKIPPED: python3 not found");
            return;
        }
        Err(err) => panic!("cannot run python3: {err}"),
    };
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let python: Value = serde_json::from_slice(&output.stdout).expect("python3 printed JSON");
    // The tables list what CPython 3.11 has; another version may add names we do not know yet.
    let same_version = python["version"] == serde_json::json!([3, 11]);

    let mut failures = Vec::new();
    for (prefix, table) in [
        ("AF_", consts::AF),
        ("SOCK_", consts::SOCK),
        ("IPPROTO_", consts::IPPROTO),
    ] {
        let names = python["names"][prefix]
            .as_object()
            .expect("names by prefix");
        for Constant { name, value } in table {
            match names.get(*name).and_then(Value::as_i64) {
                Some(v) if v == i64::from(*value) => {}
                Some(v) => failures.push(format!("{name}: ours {value}, python {v}")),
                None => failures.push(format!("{name}: not in python's socket module")),
            }
        }
        for (name, value) in names {
            if consts::by_name(name).is_none() {
                let note = format!("{name} = {value}: python has it, the table does not");
                if same_version {
                    failures.push(note)
                } else {
                    println!("note: {note}")
                }
            }
        }
        let shown = python["shown"][prefix]
            .as_object()
            .expect("shown by prefix");
        for (value, name) in shown {
            let value: i32 = value.parse().expect("integer key");
            let ours = consts::name_of(table, value);
            if ours.is_some() && ours != name.as_str() {
                failures.push(format!(
                    "{prefix} {value}: ours shows {ours:?}, python {name}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "consts differ from python3:\n{}",
        failures.join("\n")
    );
}

/// Compares a look-up with the case's `field`, or expects it to fail if the case has `"error"`.
fn expect<'v, T: PartialEq + std::fmt::Debug>(
    case: &'v Value,
    got: Result<T, LookupError>,
    field: &str,
    want: impl Fn(&'v Value) -> Option<T>,
) -> Result<(), String> {
    match (case.get("error"), case.get(field)) {
        (Some(error), _) => match got {
            Err(_) => Ok(()),
            Ok(value) => Err(format!("expected {error}, got {value:?}")),
        },
        (None, Some(field_value)) => match want(field_value) {
            Some(want) if got.as_ref() == Ok(&want) => Ok(()),
            Some(want) => Err(format!("expected {want:?}, got {got:?}")),
            None => Err(format!("unusable {field:?} value {field_value}")),
        },
        (None, None) => Err(format!("case has neither \"error\" nor {field:?}")),
    }
}

/// Reads a vector file; a missing file fails the test loudly (never skips).
fn read_vector_file(name: &str) -> String {
    let path = format!("{VECTORS}/{name}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read test vectors {path}: {err}"))
}

fn read_jsonl(name: &str) -> Vec<(usize, Value)> {
    read_vector_file(name)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("{name}:{}: bad JSON: {err}", i + 1));
            (i + 1, value)
        })
        .collect()
}

fn as_u16(value: &Value) -> Option<u16> {
    value.as_u64().and_then(|v| u16::try_from(v).ok())
}

fn str_field<'a>(case: &'a Value, field: &str, line: usize) -> &'a str {
    case.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("line {line}: no string field {field:?} in {case}"))
}
