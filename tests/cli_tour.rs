//! `portsock tour`, section by section: the look-ups against CPython's answers on this machine,
//! the listening addresses, the socket node's permissions and the refused client, the record's
//! padding; and no line of the tour's own machinery.
#![cfg(feature = "std")]

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::process::Command;

use common::{Running, open_tempdir};

/// The tour's transcript, once per test binary run.
fn tour() -> Vec<String> {
    Running::portsock(["tour"]).finish_ok()
}

/// The lines of the section whose title starts with `title`, between its header and its
/// verdict (which must be `-- verified`).
fn section<'a>(lines: &'a [String], title: &str) -> &'a [String] {
    let start = lines
        .iter()
        .position(|l| {
            l.starts_with("== ")
                && l.split_once(". ")
                    .is_some_and(|(_, t)| t.starts_with(title))
        })
        .unwrap_or_else(|| panic!("no section {title:?} in {lines:#?}"));
    let len = lines[start..]
        .iter()
        .position(|l| l.starts_with("-- "))
        .unwrap_or_else(|| panic!("section {title:?} has no verdict"));
    let body = &lines[start + 1..start + len];
    assert_eq!(lines[start + len], "-- verified", "{title}: {body:#?}");
    body
}

/// What CPython prints for `program` on this machine, line by line.
fn python(program: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args(["-c", program])
        .output()
        .expect("python3 (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Asserts `want` appears in `body` as consecutive lines.
fn assert_run(body: &[String], want: &[String], what: &str) {
    assert!(
        body.windows(want.len()).any(|w| w == want),
        "{what}: {want:#?} not in {body:#?}"
    );
}

#[test]
fn host_names_are_cpythons() {
    let lines = tour();
    let body = section(&lines, "Host names [");
    let ex = python(
        "import socket\n\
         name, aliases, addresses = socket.gethostbyname_ex('localhost')\n\
         print('localhost')\n\
         print('  Hostname:', name)\n\
         print('  Aliases :', aliases)\n\
         print(' Addresses:', addresses)\n",
    );
    assert_run(body, &ex, "gethostbyname_ex");
    let fqdn = python(
        "import socket\nprint('{:>10} : {}'.format('localhost', socket.getfqdn('localhost')))",
    );
    assert_run(body, &fqdn, "getfqdn");
    let by_addr = python(
        "import socket\n\
         hostname, aliases, addresses = socket.gethostbyaddr('127.0.0.1')\n\
         print('Hostname :', hostname)\n\
         print('Aliases  :', aliases)\n\
         print('Addresses:', addresses)\n",
    );
    assert_run(body, &by_addr, "gethostbyaddr");
    assert!(
        body.iter().any(|l| l == "localhost : 127.0.0.1"),
        "{body:#?}"
    );
}

/// The chapter's getaddrinfo loop, over `call`'s results.
fn addrinfo_program(call: &str) -> String {
    format!(
        "import socket\n\
         def get_constants(prefix):\n    \
             return {{getattr(socket, n): n for n in dir(socket) if n.startswith(prefix)}}\n\
         families = get_constants('AF_')\n\
         types = get_constants('SOCK_')\n\
         protocols = get_constants('IPPROTO_')\n\
         for family, socktype, proto, canonname, sockaddr in {call}:\n    \
             print()\n    \
             print('Family        :', families[family])\n    \
             print('Type          :', types[socktype])\n    \
             print('Protocol      :', protocols[proto])\n    \
             print('Canonical name:', canonname)\n    \
             print('Socket address:', sockaddr)\n"
    )
}

#[test]
fn getaddrinfo_unfiltered_and_filtered_are_cpythons() {
    let lines = tour();
    let body = section(&lines, "Finding service information [");
    let filtered_at = body
        .iter()
        .position(|l| l.starts_with("getaddrinfo('localhost', 'http', AF_INET"))
        .expect("the filtered call");
    assert_eq!(body[0], "getaddrinfo('localhost', 'http')");
    let unfiltered = python(&addrinfo_program("socket.getaddrinfo('localhost', 'http')"));
    assert_eq!(body[1..filtered_at - 1], unfiltered[..]);
    assert_eq!(body[filtered_at - 1], "");
    let filtered = python(&addrinfo_program(
        "socket.getaddrinfo('localhost', 'http', socket.AF_INET, socket.SOCK_STREAM, \
         socket.IPPROTO_TCP, socket.AI_CANONNAME)",
    ));
    assert_eq!(body[filtered_at + 1..], filtered[..]);
    assert!(
        body[filtered_at + 1..]
            .iter()
            .any(|l| l.starts_with("Canonical name: ") && l.len() > "Canonical name: ".len()),
        "AI_CANONNAME shows a name: {body:#?}"
    );
}

#[test]
fn explicit_and_any_listening_addresses() {
    let lines = tour();
    let body = section(&lines, "Choosing a listening address [");
    assert_eq!(body[0], "an explicit address: bind(('127.0.0.1', 0))");
    let port = body[1]
        .strip_prefix("    server | starting up on 127.0.0.1 port ")
        .expect("the explicit server's first line");
    assert_ne!(port, "0");
    assert_eq!(
        body[2],
        format!("    server | getsockname() -> ('127.0.0.1', {port})")
    );
    assert_eq!(body[3], "    server | waiting for a connection");
    assert!(
        body[4].starts_with("    server | client connected: ('127.0.0.1', "),
        "{body:#?}"
    );
    let refused = format!("    client | connect(('127.0.0.2', {port})) -> ");
    assert!(body[5].starts_with(&refused), "{body:#?}");
    assert!(!body[5].ends_with("connected"), "{body:#?}");
    assert_eq!(body[7], "any address: bind(('', 0))");
    let any_port: u16 = body[8]
        .strip_prefix("    server | starting up on 0.0.0.0 port ")
        .expect("getsockname() of the any-address socket")
        .parse()
        .expect("a port");
    assert_ne!(any_port, 0);
}

#[test]
fn the_socket_nodes_mode_refuses_another_user() {
    let lines = tour();
    let body = section(&lines, "Permissions [");
    // The tour's node belongs to the user it runs as, which is this test's.
    let dir = open_tempdir();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "").expect("write a probe file");
    let uid = std::fs::metadata(&probe).expect("probe").uid();

    let path = body[0]
        .strip_prefix("$ ls -ln ")
        .expect("the ls line")
        .to_owned();
    assert!(path.ends_with("/uds_socket"), "{path}");
    let gid = body[1]
        .strip_prefix(&format!("srw------- 1 {uid} "))
        .and_then(|rest| rest.strip_suffix(" 0 uds_socket"))
        .unwrap_or_else(|| panic!("mode line: {body:#?}"));
    assert!(gid.parse::<u32>().is_ok(), "{gid}");
    assert_eq!(body[2], format!("its owner (uid {uid}) connects: ok"));
    let who = if uid == 0 { "nobody" } else { " owner" };
    let client = format!("$ portsock echo client --proto unix --path {path}");
    let at = body
        .iter()
        .position(|l| *l == client)
        .unwrap_or_else(|| panic!("no client run: {body:#?}"));
    assert_eq!(body[at + 1], format!("    {who} | connecting to {path}"));
    let error = &body[at + 2];
    assert!(
        error.starts_with(&format!("    {who} | error: --path: connect {path}: "))
            && error.ends_with("Permission denied (os error 13)"),
        "{error}"
    );
    assert_eq!(body.len(), at + 3, "{body:#?}");
    // The tour removes its node and its directory.
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn the_records_padding_is_explained_and_packed() {
    let lines = tour();
    let body = section(&lines, "Binary data [");
    let padding = [
        "calcsize('I 2s f') = 12: I at 0 (4 bytes), 2s at 4 (2), 2 bytes of padding, f at 8 (4)",
        "  01000000 6162 0000 cdcc2c40   native alignment: f starts on a multiple of 4",
        "calcsize('=I 2s f') = 10: standard sizes, no alignment, no padding",
        "  010000006162cdcc2c40",
    ]
    .map(String::from);
    assert_run(body, &padding, "padding");
    // CPython packs the same bytes both ways.
    let packed = python(
        "import struct, binascii\n\
         print(binascii.hexlify(struct.pack('I 2s f', 1, b'ab', 2.7)).decode())\n\
         print(binascii.hexlify(struct.pack('=I 2s f', 1, b'ab', 2.7)).decode())\n",
    );
    assert_eq!(packed, ["0100000061620000cdcc2c40", "010000006162cdcc2c40"]);
}

#[test]
fn the_socketpair_section_shows_the_programs_lines_only() {
    let lines = tour();
    let body = section(&lines, "Parent and child [");
    assert_eq!(
        body,
        [
            "    parent | in parent, sending message",
            "     child | in child, waiting for message",
            "     child | message from parent: b'ping'",
            "    parent | response from child: b'pong'",
        ]
    );
}

#[test]
fn a_section_that_cannot_verify_fails_the_tour() {
    // No temporary directory: the two sections with a Unix socket node cannot run, and say so;
    // every other section still runs and verifies.
    let out = Command::new(env!("CARGO_BIN_EXE_portsock"))
        .arg("tour")
        .env("TMPDIR", "/nonexistent/portsock-tour")
        .env_remove("RUST_LOG")
        .output()
        .expect("run portsock tour");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("-- FAILED: "))
            .count(),
        2,
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("-- FAILED: "))
            .all(|l| l.contains("temporary directory /nonexistent/portsock-tour/")),
        "{stdout}"
    );
    assert_eq!(lines.iter().filter(|l| **l == "-- verified").count(), 12);
    assert_eq!(lines.last(), Some(&"tour: 2 of 14 sections FAILED (9, 10)"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: tour: section(s) 9, 10 failed (see the transcript)\n"
    );
}
