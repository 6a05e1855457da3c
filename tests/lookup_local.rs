//! Services, protocols and `localhost`, against CPython, without privileges or a network.
//!
//! * The vectors (`tests/data/vectors/{services,protocols}.jsonl`, CPython 3.11 on Debian 12)
//!   through `portsock_std::lookup`, once this machine's `/etc/services` and `/etc/protocols`
//!   are checked to be the files they were made from (sha256 in `meta.json`); a sample of
//!   them through the `portsock` command.
//! * Every entry of this machine's own files (whatever they are), every name, alias and port,
//!   asked of `portsock_std::lookup` and of Python's `socket` now.
//! * `localhost` / `127.0.0.1` through both, the library and the command line. These names are
//!   in `/etc/hosts`, so nothing leaves the machine.

mod common;
mod lookup_support;

use std::collections::BTreeSet;

use lookup_support::{Place, assert_no_diffs};
use portsock::std::lookup::{self, AiFlags, Hints, ResolveError};
use serde_json::{Value, json};

#[test]
fn every_service_vector_through_the_library() {
    if !netbase_is_the_vectors_own() {
        return;
    }
    let mut checked = 0;
    for v in common::vectors("services.jsonl") {
        let proto = v["proto"].as_str();
        let what = v.to_string();
        match v["op"].as_str() {
            Some("getservbyname") => {
                let name = v["name"].as_str().expect("name");
                let got = lookup::getservbyname(name, proto);
                match v["port"].as_u64() {
                    Some(port) => assert_eq!(got.ok().map(u64::from), Some(port), "{what}"),
                    None => assert_failed_like(&got, &v, &what),
                }
            }
            Some("getservbyport") => {
                let port = v["port"].as_i64().expect("port");
                // Python's OverflowError for ports outside 0-65535 is the u16 type here.
                let Ok(port) = u16::try_from(port) else {
                    assert_eq!(v["error"], "OverflowError", "{what}");
                    checked += 1;
                    continue;
                };
                let got = lookup::getservbyport(port, proto);
                match v["name"].as_str() {
                    Some(name) => assert_eq!(got.ok().as_deref(), Some(name), "{what}"),
                    None => assert_failed_like(&got, &v, &what),
                }
            }
            other => panic!("unknown op {other:?} in services.jsonl"),
        }
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} service vectors");
}

#[test]
fn every_protocol_vector_through_the_library() {
    if !netbase_is_the_vectors_own() {
        return;
    }
    let vectors = common::vectors("protocols.jsonl");
    for v in &vectors {
        assert_eq!(v["op"], "getprotobyname", "{v}");
        let name = v["name"].as_str().expect("name");
        let got = lookup::getprotobyname(name);
        match v["number"].as_i64() {
            Some(n) => assert_eq!(got.ok().map(i64::from), Some(n), "{v}"),
            None => assert_failed_like(&got, v, &v.to_string()),
        }
    }
    assert!(vectors.len() > 100);
}

#[test]
fn a_sample_of_vectors_through_the_cli() {
    if !netbase_is_the_vectors_own() {
        return;
    }
    let here = Place::host();
    // Every 40th vector (successes and failures alike), in JSON.
    for v in common::vectors("services.jsonl").iter().step_by(40) {
        let mut args = vec!["lookup", "--json"];
        let port_text;
        match v["op"].as_str() {
            Some("getservbyname") => {
                args.extend(["service", v["name"].as_str().expect("name")]);
            }
            _ => {
                port_text = v["port"].to_string();
                args.extend(["port", &port_text]);
            }
        }
        if let Some(p) = v["proto"].as_str() {
            args.extend(["--proto", p]);
        }
        let out = here.portsock(&args);
        if v.get("error").is_some() {
            // The failed look-up's object says why; stderr says it too; the status is 1.
            assert_eq!(out.status, Some(1), "{v}: {out:?}");
            let rows: Value = serde_json::from_str(&out.stdout).expect("JSON");
            assert!(rows[0]["error"]["message"].is_string(), "{v}: {out:?}");
            assert!(out.stderr.starts_with("error: "), "{v}: {out:?}");
            continue;
        }
        assert_eq!(out.status, Some(0), "{v}: {out:?}");
        let rows: Value = serde_json::from_str(&out.stdout).expect("JSON");
        let row = &rows[0];
        match v["op"].as_str() {
            Some("getservbyname") => assert_eq!(row["port"], v["port"], "{v}"),
            _ => assert_eq!(row["name"], v["name"], "{v}"),
        }
    }
    for v in common::vectors("protocols.jsonl").iter().step_by(10) {
        let out = here.portsock(&["lookup", "proto", "--json", v["name"].as_str().unwrap()]);
        match v.get("number") {
            Some(n) => {
                let rows: Value = serde_json::from_str(&out.stdout).expect("JSON");
                assert_eq!(&rows[0]["number"], n, "{v}");
            }
            None => assert_eq!(out.status, Some(1), "{v}: {out:?}"),
        }
    }
}

#[test]
fn the_chapters_service_and_protocol_programs_print_what_cpython_prints() {
    let urls = [
        "http://www.python.org",
        "https://www.mybank.com",
        "ftp://prep.ai.mit.edu",
        "gopher://gopher.micro.umn.edu",
        "smtp://mail.example.com",
        "imap://mail.example.com",
        "imaps://mail.example.com",
        "pop3://pop.example.com",
        "pop3s://pop.example.com",
    ];
    let ports = ["80", "443", "21", "70", "25", "143", "993", "110", "995"];
    let here = Place::host();
    let mut diffs = Vec::new();
    for json in [false, true] {
        let with = |args: &[&'static str]| {
            let mut all = vec!["lookup"];
            all.extend_from_slice(args);
            if json {
                all.push("--json");
            }
            all
        };
        let mut service = with(&["service"]);
        service.extend(urls);
        diffs.extend(here.compare(&service));
        let mut port = with(&["port"]);
        port.extend(ports);
        diffs.extend(here.compare(&port));
        diffs.extend(here.compare(&with(&["port", "--proto", "udp", "21", "53"])));
        diffs.extend(here.compare(&with(&["service", "--proto", "udp", "domain", "ntp"])));
        diffs.extend(here.compare(&with(&[
            "proto", "icmp", "udp", "tcp", "TCP", "ggp", "ipv6",
        ])));
        // Failures: the answers found, then an error line per input that failed, exit 1 (0
        // with --always-zero); a port out of range is bad input, nothing looked up.
        diffs.extend(here.compare(&with(&["port", "80", "1234", "443"])));
        diffs.extend(here.compare(&with(&["port", "80", "1234", "443", "--always-zero"])));
        diffs.extend(here.compare(&with(&["proto", "tcp", "nope", "udp", "nope2"])));
        diffs.extend(here.compare(&with(&["service", "http", "nope", "--always-zero"])));
        diffs.extend(here.compare(&with(&["port", "80", "70000", "443"])));
        // The host programs print their errors inline, as the chapter's; the status still
        // says one failed (`::1` has no IPv4 address: no DNS is asked).
        for op in ["host", "host-ex"] {
            diffs.extend(here.compare(&with(&[op, "localhost", "::1"])));
            diffs.extend(here.compare(&with(&[op, "localhost", "::1", "--always-zero"])));
        }
        diffs.extend(here.compare(&with(&["service", "http", "no-such-service"])));
        diffs.extend(here.compare(&with(&["service", "--proto", "udp", "ssh"])));
        diffs.extend(here.compare(&with(&["port", "1", "--proto", "udp"])));
        diffs.extend(here.compare(&with(&["port", "70000"])));
        diffs.extend(here.compare(&with(&["port", "-1"])));
        diffs.extend(here.compare(&with(&["proto", "Tcp"])));
    }
    assert_no_diffs(&diffs);
    // And the chapter's own figures, so that both sides cannot be wrong together.
    let out = here.portsock(&["lookup", "proto", "icmp", "udp", "tcp"]);
    assert_eq!(
        out.stdout,
        "icmp ->  1 (socket.IPPROTO_ICMP =  1)\n udp -> 17 (socket.IPPROTO_UDP  = 17)\n \
         tcp ->  6 (socket.IPPROTO_TCP  =  6)\n"
    );
}

#[test]
fn every_entry_of_this_machines_files_agrees_with_cpython() {
    // Each distinct call once, in the order first met.
    let mut seen = BTreeSet::new();
    let mut calls = Vec::new();
    let mut add = |call: Value| {
        if seen.insert(call.to_string()) {
            calls.push(call);
        }
    };
    let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
    for (names, port, proto) in netbase_lines(&services).filter_map(|(names, rest)| {
        let (port, proto) = rest.split_once('/')?;
        Some((names, port.parse::<u16>().ok()?, proto.to_owned()))
    }) {
        for name in &names {
            add(json!(["getservbyname", name, proto]));
            add(json!(["getservbyname", name]));
            // The same name in the wrong case is a miss in both.
            add(json!(["getservbyname", name.to_uppercase(), proto]));
        }
        add(json!(["getservbyport", port, proto]));
        add(json!(["getservbyport", port]));
    }
    let protocols = std::fs::read_to_string("/etc/protocols").unwrap_or_default();
    for (names, _number) in netbase_lines(&protocols) {
        for name in names {
            add(json!(["getprotobyname", name]));
        }
    }
    for miss in [
        json!(["getservbyname", "no-such-service"]),
        json!(["getservbyport", 1, "udp"]),
        json!(["getservbyport", 65535]),
        json!(["getservbyport", 65536]),
        json!(["getprotobyname", "no-such-protocol"]),
    ] {
        add(miss);
    }
    assert!(
        calls.len() > 900,
        "{} calls: are /etc/services and /etc/protocols here?",
        calls.len()
    );
    let python = Place::host().python_batch(&calls);
    let mut diffs = Vec::new();
    for (call, want) in calls.iter().zip(&python) {
        let got = ours(call);
        if &got != want {
            diffs.push(format!("{call}: ours {got}, CPython {want}"));
        }
    }
    assert_no_diffs(&diffs);
}

#[test]
fn localhost_agrees_with_cpython() {
    let calls = [
        json!(["gethostname"]),
        json!(["gethostbyname", "localhost"]),
        json!(["gethostbyname", "127.0.0.1"]),
        json!(["gethostbyname", "127.1"]),
        json!(["gethostbyname", ""]),
        json!(["gethostbyname", "<broadcast>"]),
        json!(["gethostbyname", "::1"]),
        json!(["gethostbyname_ex", "localhost"]),
        json!(["gethostbyname_ex", "127.0.0.1"]),
        json!(["gethostbyname_ex", ""]),
        json!(["gethostbyaddr", "127.0.0.1"]),
        json!(["gethostbyaddr", "localhost"]),
        json!(["gethostbyaddr", ""]),
        json!(["getfqdn", "localhost"]),
        json!(["getfqdn", " localhost "]),
        json!(["getaddrinfo", "localhost", "http", 0, 0, 0, 0]),
        json!([
            "getaddrinfo",
            "localhost",
            "80",
            2,
            1,
            6,
            libc::AI_CANONNAME
        ]),
        json!([
            "getaddrinfo",
            "localhost",
            "domain",
            0,
            0,
            0,
            libc::AI_CANONNAME
        ]),
        json!(["getaddrinfo", "127.0.0.1", "http", 0, 0, 0, 0]),
        json!(["getaddrinfo", "::1", "443", 0, 2, 0, libc::AI_NUMERICHOST]),
        json!(["getaddrinfo", null, "80", 0, 1, 0, libc::AI_PASSIVE]),
        json!(["getaddrinfo", null, "80", 0, 1, 0, 0]),
        json!(["getaddrinfo", "127.0.0.1", "no-such-service", 0, 0, 0, 0]),
        json!(["getaddrinfo", "localhost", "80", 0, 1, 17, 0]),
        json!(["getaddrinfo", "localhost", "80", 0, 0, 0, 0xffff]),
        json!(["getaddrinfo", "localhost", "80", 99, 0, 0, 0]),
        json!([
            "getaddrinfo",
            "localhost",
            null,
            2,
            0,
            0,
            libc::AI_NUMERICHOST
        ]),
        json!(["getaddrinfo", null, null, 0, 0, 0, 0]),
    ];
    let python = Place::host().python_batch(&calls);
    let mut diffs = Vec::new();
    for (call, want) in calls.iter().zip(&python) {
        let got = ours(call);
        if &got != want {
            diffs.push(format!("{call}: ours {got}, CPython {want}"));
        }
    }
    // The same look-ups through the command line, text and JSON.
    let here = Place::host();
    for json in [false, true] {
        let commands: [&[&str]; 9] = [
            &["hostname"],
            &[
                "lookup",
                "host",
                "localhost",
                "127.0.0.1",
                "",
                "<broadcast>",
                "::1",
            ],
            &["lookup", "host-ex", "localhost", "127.0.0.1", ""],
            &["lookup", "fqdn", "localhost", "127.0.0.1"],
            &["lookup", "addr", "127.0.0.1", "localhost"],
            &["lookup", "addr", ""],
            &["lookup", "addrinfo", "localhost", "http"],
            &[
                "lookup",
                "addrinfo",
                "localhost",
                "http",
                "--family",
                "inet",
                "--type",
                "stream",
                "--proto",
                "tcp",
                "--canonname",
            ],
            &["lookup", "addrinfo", "localhost", "no-such-service"],
        ];
        for args in commands {
            let mut args = args.to_vec();
            if json {
                args.push("--json");
            }
            diffs.extend(here.compare(&args));
        }
    }
    assert_no_diffs(&diffs);
}

/// This machine's answer to one `socket` call, in the oracle's batch shape.
fn ours(call: &Value) -> Value {
    let args = call.as_array().expect("a call is a list");
    let text = |i: usize| args.get(i).and_then(Value::as_str);
    let int = |i: usize| args.get(i).and_then(Value::as_i64).unwrap_or(0);
    let result: std::io::Result<Value> = match text(0).expect("function name") {
        "gethostname" => lookup::gethostname().map(Value::from),
        "gethostbyname" => lookup::gethostbyname(text(1).unwrap()).map(|ip| json!(ip.to_string())),
        "gethostbyname_ex" => lookup::gethostbyname_ex(text(1).unwrap()).map(|e| entry_json(&e)),
        "gethostbyaddr" => lookup::gethostbyaddr(text(1).unwrap()).map(|e| entry_json(&e)),
        "getfqdn" => lookup::getfqdn(text(1).unwrap()).map(Value::from),
        "getservbyname" => lookup::getservbyname(text(1).unwrap(), text(2)).map(Value::from),
        "getservbyport" => match u16::try_from(int(1)) {
            Ok(port) => lookup::getservbyport(port, text(2)).map(Value::from),
            Err(_) => {
                return json!({ "error": {
                    "type": "OverflowError",
                    "errno": null,
                    "message": "getservbyport: port must be 0-65535.",
                }});
            }
        },
        "getprotobyname" => lookup::getprotobyname(text(1).unwrap()).map(Value::from),
        "getaddrinfo" => {
            let hints = Hints {
                family: int(3) as i32,
                socktype: int(4) as i32,
                protocol: int(5) as i32,
                flags: AiFlags::from_bits(int(6) as i32),
            };
            lookup::getaddrinfo(text(1), text(2), hints).map(|found| {
                found
                    .iter()
                    .map(|a| {
                        let ip = lookup::text::ip_text(&a.sockaddr.ip());
                        let sockaddr = match a.sockaddr {
                            std::net::SocketAddr::V4(v4) => json!([ip, v4.port()]),
                            std::net::SocketAddr::V6(v6) => {
                                json!([ip, v6.port(), v6.flowinfo(), v6.scope_id()])
                            }
                        };
                        json!([a.family, a.socktype, a.protocol, a.canonname, sockaddr])
                    })
                    .collect()
            })
        }
        other => panic!("no such call {other}"),
    };
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(err) => {
            let e = ResolveError::of(&err).unwrap_or_else(|| panic!("{call}: {err:?}"));
            json!({ "error": {
                "type": e.python_type(),
                "errno": e.code(),
                "message": e.message(),
            }})
        }
    }
}

fn entry_json(e: &lookup::HostEntry) -> Value {
    let addresses: Vec<String> = e.addresses.iter().map(lookup::text::ip_text).collect();
    json!([e.name, e.aliases, addresses])
}

/// Asserts a look-up failed the way a vector with `"error"` says CPython's did.
fn assert_failed_like<T: std::fmt::Debug>(got: &std::io::Result<T>, v: &Value, what: &str) {
    let err = got.as_ref().expect_err(what);
    let e = ResolveError::of(err).unwrap_or_else(|| panic!("{what}: {err:?}"));
    assert_eq!(v["error"].as_str(), Some(e.python_type()), "{what}");
    if let Some(message) = v["message"].as_str() {
        assert_eq!(e.python_str(), message, "{what}");
    }
}

/// The lines of a netbase file as (name and aliases, second field), comments dropped.
fn netbase_lines(text: &str) -> impl Iterator<Item = (Vec<String>, String)> + '_ {
    text.lines().filter_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let name = fields.next()?;
        let second = fields.next()?;
        let mut names = vec![name.to_owned()];
        names.extend(fields.map(str::to_owned));
        Some((names, second.to_owned()))
    })
}

/// Whether this machine's `/etc/services` and `/etc/protocols` are the files the vectors were
/// made from (their sha256 in `meta.json`). When they are not, the vector tests say so and
/// stop; the live comparison with CPython still covers whatever files this machine has.
fn netbase_is_the_vectors_own() -> bool {
    let meta = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/vectors/meta.json"
    ))
    .expect("tests/data/vectors/meta.json");
    let meta: Value = serde_json::from_str(&meta).expect("meta.json is JSON");
    for (path, key) in [
        ("/etc/services", "etc_services_sha256"),
        ("/etc/protocols", "etc_protocols_sha256"),
    ] {
        let want = meta[key].as_str().expect("hash in meta.json");
        let out = std::process::Command::new("sha256sum")
            .arg(path)
            .output()
            .expect("sha256sum (coreutils)");
        let got = String::from_utf8_lossy(&out.stdout);
        let got = got.split_whitespace().next().unwrap_or("(missing)");
        if got != want {
            println!(
                "SKIPPED: {path} has sha256 {got}, the vectors were made from {want}; \
                 every_entry_of_this_machines_files_agrees_with_cpython checks this machine's files"
            );
            return false;
        }
    }
    true
}
