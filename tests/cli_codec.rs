//! The `portsock struct` and `portsock inet` commands against a sample of the CPython/glibc
//! vectors (the library itself checks every line in `core/tests`), plus the documented error
//! behaviour: `error: ...` on stderr, nothing on stdout, exit 1.

mod common;

use common::{assert_cli_error, portsock, stdout_ok, vectors};
use portsock::core::wire::structfmt::Format;
use serde_json::Value as J;

/// Every `STRIDE`-th vector goes through the CLI (a process per case).
const STRIDE: usize = 7;

/// The CLI spelling of a vector value, or `None` when the CLI reads that argument as another
/// kind (a number given to `s`, say: on the command line that is text).
fn cli_arg(v: &J, code: char) -> Option<String> {
    let bytes_code = matches!(code, 's' | 'p' | 'c');
    let arg = match v {
        J::Object(o) if o.contains_key("bytes_hex") => format!("hex:{}", o["bytes_hex"].as_str()?),
        _ if bytes_code => return None,
        J::Bool(b) => (if *b { "True" } else { "False" }).to_owned(),
        J::Number(n) => n.to_string(),
        J::Object(o) => o
            .get("int")
            .or_else(|| o.get("float"))?
            .as_str()?
            .to_owned(),
        _ => return None,
    };
    Some(arg)
}

#[test]
fn struct_vectors_through_the_cli() {
    let mut checked = 0;
    for (i, case) in vectors("struct.jsonl")
        .iter()
        .enumerate()
        .filter(|(i, _)| i % STRIDE == 0)
    {
        let what = format!("struct.jsonl:{}", i + 1);
        let fmt = case["fmt"].as_str().expect("fmt");
        if fmt.contains('\0') {
            continue; // a NUL cannot travel in argv
        }
        let out = match case["op"].as_str() {
            Some("calcsize") => portsock(["struct", "calcsize", fmt]),
            Some("unpack") => {
                portsock(["struct", "unpack", fmt, case["hex"].as_str().expect("hex")])
            }
            Some("pack") => {
                let Ok(parsed) = Format::parse(fmt) else {
                    continue;
                };
                let values = case["values"].as_array().expect("values");
                let codes: Vec<char> = parsed.value_codes().collect();
                if codes.len() != values.len() {
                    continue; // a count mismatch: covered by the library tests and below
                }
                let Some(args) = values
                    .iter()
                    .zip(&codes)
                    .map(|(v, &c)| cli_arg(v, c))
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
                let mut argv = vec!["struct".to_owned(), "pack".to_owned(), fmt.to_owned()];
                argv.extend(args);
                portsock(argv)
            }
            other => panic!("{what}: unknown op {other:?}"),
        };
        if case.get("error").is_some() {
            assert_cli_error(&out, &what);
        } else {
            let want = case
                .get("calcsize")
                .map(|n| n.to_string())
                .or_else(|| {
                    case.get("packed_hex")
                        .map(|h| h.as_str().expect("hex").to_owned())
                })
                .or_else(|| {
                    case.get("unpacked_repr")
                        .map(|r| r.as_str().expect("repr").to_owned())
                })
                .expect("a result field");
            assert_eq!(stdout_ok(&out, &what), want, "{what}");
        }
        checked += 1;
    }
    assert!(
        checked > 350,
        "only {checked} struct vectors went through the CLI"
    );
}

#[test]
fn inet_vectors_through_the_cli() {
    use std::os::unix::ffi::OsStrExt as _;
    let mut checked = 0;
    for (i, case) in vectors("inet.jsonl")
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
    {
        let what = format!("inet.jsonl:{}", i + 1);
        let family = case.get("family").and_then(J::as_str);
        let op = case["op"].as_str().expect("op");
        // aton/pton read text and print hex; ntoa/ntop read hex and print text.
        let (verb, arg_key, result_key) = match op {
            "inet_aton" => ("aton", "input", "hex"),
            "inet_pton" => ("pton", "input", "hex"),
            "inet_ntoa" => ("ntoa", "hex", "text"),
            "inet_ntop" => ("ntop", "hex", "text"),
            other => panic!("{what}: unknown op {other}"),
        };
        let arg = case[arg_key].as_str().expect("argument");
        if arg.contains('\0') {
            continue; // a NUL cannot travel in argv
        }
        let mut argv: Vec<std::ffi::OsString> = vec!["inet".into(), verb.into()];
        argv.extend(family.map(Into::into));
        argv.push(std::ffi::OsStr::from_bytes(arg.as_bytes()).into());
        let out = portsock(&argv);
        if case.get("error").is_some() {
            assert_cli_error(&out, &what);
        } else {
            assert_eq!(
                stdout_ok(&out, &what),
                case[result_key].as_str().expect("result"),
                "{what}"
            );
        }
        checked += 1;
    }
    assert!(
        checked > 300,
        "only {checked} inet vectors went through the CLI"
    );
}

#[test]
fn chapter_record_both_ways() {
    let out = portsock(["struct", "pack", "I 2s f", "1", "ab", "2.7"]);
    assert_eq!(stdout_ok(&out, "pack"), "0100000061620000cdcc2c40");
    let out = portsock(["struct", "unpack", "I 2s f", "0100000061620000cdcc2c40"]);
    assert_eq!(stdout_ok(&out, "unpack"), "(1, b'ab', 2.700000047683716)");
    let out = portsock([
        "struct",
        "unpack",
        "--json",
        "I 2s f",
        "0100000061620000cdcc2c40",
    ]);
    let json: J = serde_json::from_str(&stdout_ok(&out, "json")).expect("json");
    assert_eq!(
        json,
        serde_json::json!([1, {"bytes_hex": "6162"}, 2.700000047683716])
    );
}

#[test]
fn negative_numbers_need_no_double_dash() {
    let out = portsock(["struct", "pack", "<h d d", "-5", "-inf", "-0.0"]);
    assert_eq!(
        stdout_ok(&out, "pack"),
        "fbff000000000000f0ff0000000000000080"
    );
    let out = portsock(["struct", "pack", "<q", "-0x8000000000000000"]);
    assert_eq!(stdout_ok(&out, "pack"), "0000000000000080");
    let out = portsock(["struct", "pack", "<3s p ?", "hex:", "x", "False"]);
    assert_eq!(stdout_ok(&out, "pack"), "0000000000");
}

#[test]
fn bad_input_is_one_clear_error() {
    for (argv, mentions) in [
        (vec!["struct", "calcsize", "I 2y"], "'y'"),
        (vec!["struct", "pack", "B", "256"], "255"),
        (vec!["struct", "pack", "I I", "1"], "2"),
        (vec!["struct", "pack", "I", "ab"], "\"ab\""),
        (vec!["struct", "pack", "4s", "hex:abc"], "hex"),
        (vec!["struct", "unpack", "I", "0102"], "4"),
        (vec!["struct", "unpack", "I", "zz"], "hex"),
        (vec!["inet", "aton", "1.2.3.256"], "1.2.3.256"),
        (vec!["inet", "pton", "inet6", "1:::2"], "1:::2"),
        (vec!["inet", "ntoa", "0102"], "4"),
        (vec!["inet", "ntop", "inet6", "00"], "16"),
        (vec!["constants", "XX_"], "AF_"),
    ] {
        let out = portsock(&argv);
        assert_cli_error(&out, &argv.join(" "));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(mentions),
            "{argv:?}: {stderr:?} should mention {mentions}"
        );
    }
}

#[test]
fn constants_follow_get_constants() {
    let out = stdout_ok(&portsock(["constants", "IPPROTO_"]), "constants");
    for line in ["   1 IPPROTO_ICMP", "   6 IPPROTO_TCP", "  17 IPPROTO_UDP"] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in {out}");
    }
    let out = stdout_ok(&portsock(["constants", "AF_"]), "constants");
    assert!(out.lines().any(|l| l == "  10 AF_INET6"), "{out}");
}

#[test]
fn help_everywhere() {
    for argv in [
        vec!["--help"],
        vec!["struct", "--help"],
        vec!["struct", "pack", "--help"],
        vec!["inet", "ntop", "--help"],
    ] {
        let out = portsock(&argv);
        assert!(out.status.success(), "{argv:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{argv:?}"
        );
    }
}
