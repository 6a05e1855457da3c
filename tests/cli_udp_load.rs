//! `echo client --proto udp --count N --size B --rate PPS` against real echo peers on the
//! loopback: portsock's own UDP echo server, a CPython echo loop and socat; and against
//! CPython peers that misbehave on purpose (drop every tenth datagram, swap pairs, alter a
//! byte, duplicate), so each number of the report is checked against a known answer.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{Running, assert_cli_error, free_udp_port, portsock};

/// A CPython UDP echo peer on 127.0.0.1, an ephemeral port (printed first); `mangle` is
/// Python that turns `data` (bytes) and `n` (its index) into the datagrams to send back.
fn python_peer(mangle: &str) -> (Running, u16) {
    let script = format!(
        r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
s.settimeout(30)
print(s.getsockname()[1], flush=True)
held = None
n = 0
while True:
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        break
    out = []
{mangle}
    for d in out:
        s.sendto(d, peer)
    n += 1
"#
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", &script]);
    let mut peer = Running::spawn(cmd);
    let port = peer
        .wait_for("the peer's port", |l| l.parse::<u16>().is_ok())
        .parse()
        .expect("a port");
    (peer, port)
}

/// Runs the load client with `args` against 127.0.0.1:`port` and returns its summary object.
fn load(port: u16, args: &[&str]) -> (std::process::Output, Value) {
    let addr = format!("127.0.0.1:{port}");
    let mut all = vec![
        "echo", "client", "--proto", "udp", "--addr", &addr, "--json",
    ];
    all.extend_from_slice(args);
    let out = portsock(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut last = None;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        last = Some(v);
    }
    let summary = last
        .unwrap_or_else(|| panic!("no output; stderr {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(summary["event"], "summary", "{summary}");
    (out, summary)
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// What holds whoever the peer is: the counts add up and the percentiles are ordered.
fn consistent(s: &Value, count: u64) {
    assert_eq!(n(s, "sent"), count, "{s}");
    assert_eq!(n(s, "received") + n(s, "lost"), count, "{s}");
    assert!(n(s, "reordered") <= n(s, "received"), "{s}");
    let rtt = &s["rtt_ms"];
    let ms = |k: &str| rtt[k].as_f64().unwrap_or_else(|| panic!("{k} in {rtt}"));
    assert!(0.0 < ms("min") && ms("min") <= ms("p50"), "{rtt}");
    assert!(ms("p50") <= ms("p99") && ms("p99") <= ms("max"), "{rtt}");
    // Anything took less than the 60 s a test allows; a round trip on the loopback too.
    assert!(ms("max") < 60_000.0, "{rtt}");
}

#[test]
fn against_portsocks_own_udp_echo_server() {
    let mut server =
        Running::portsock(["echo", "server", "--proto", "udp", "--addr", "127.0.0.1:0"]);
    let port = server.wait_for_port();
    let (out, s) = load(port, &["--count", "500", "--size", "200", "--rate", "2000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    consistent(&s, 500);
    assert_eq!((n(&s, "corrupt"), n(&s, "duplicated")), (0, 0), "{s}");
    assert!(n(&s, "received") > 0, "{s}");
    assert_eq!(n(&s, "size"), 200);

    // The text report says the same in words.
    let addr = format!("127.0.0.1:{port}");
    let out = portsock([
        "echo", "client", "--proto", "udp", "--addr", &addr, "--count", "100", "--rate", "5000",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(out.status.success(), "{text}");
    assert_eq!(
        lines[0],
        format!("sending 100 datagrams of 64 bytes to ('127.0.0.1', {port}) at 5,000/s")
    );
    assert!(lines[1].starts_with("sent 100, received "), "{}", lines[1]);
    assert!(lines[1].ends_with(", corrupt 0"), "{}", lines[1]);
    assert!(
        lines[2].starts_with("round trip: min ")
            && lines[2].contains(" ms, p50 ")
            && lines[2].contains(", p99 "),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("sent in ") && lines[3].contains(" datagrams/s), "),
        "{}",
        lines[3]
    );
    assert_eq!(lines.len(), 4, "{lines:?}");
    drop(server);
}

#[test]
fn against_cpython_echo() {
    let (_peer, port) = python_peer("    out = [data]");
    let (out, s) = load(port, &["--count", "300", "--rate", "3000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    consistent(&s, 300);
    assert_eq!(n(&s, "corrupt"), 0);
}

#[test]
fn against_socat_echo() {
    let port = free_udp_port();
    // UDP-LISTEN answers the first sender; -b 100 keeps each datagram whole through the pipe.
    let mut cmd = Command::new("socat");
    cmd.args([
        "-b",
        "100",
        &format!("UDP4-LISTEN:{port},bind=127.0.0.1"),
        "PIPE",
    ]);
    let _socat = Running::spawn(cmd);
    std::thread::sleep(std::time::Duration::from_millis(300)); // socat binds
    let (out, s) = load(
        port,
        &[
            "--count",
            "300",
            "--size",
            "100",
            "--rate",
            "2000",
            "--timeout",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    consistent(&s, 300);
    assert_eq!(n(&s, "corrupt"), 0, "{s}");
}

#[test]
fn losses_reordering_and_duplicates_are_counted_exactly() {
    // Every tenth datagram is dropped: 20 of 200. A generous --timeout: on a busy machine
    // the peer may be late, and a late echo counts as lost (a run that gets every echo ends
    // at the last one anyway).
    let (_peer, port) = python_peer("    out = [] if n % 10 == 9 else [data]");
    let (out, s) = load(
        port,
        &["--count", "200", "--rate", "2000", "--timeout", "3"],
    );
    assert!(out.status.success());
    consistent(&s, 200);
    assert_eq!((n(&s, "lost"), n(&s, "reordered")), (20, 0), "{s}");
    assert!((s["lost_percent"].as_f64().unwrap() - 10.0).abs() < 1e-9);

    // Pairs swapped: the second of each pair comes back first, so each first one is late.
    let (_peer, port) = python_peer(
        "    if n % 2 == 0:\n        held = data\n    else:\n        out = [data, held]",
    );
    let (out, s) = load(
        port,
        &["--count", "200", "--rate", "2000", "--timeout", "10"],
    );
    assert!(out.status.success());
    consistent(&s, 200);
    assert_eq!((n(&s, "lost"), n(&s, "reordered")), (0, 100), "{s}");

    // Each echo twice. The run ends with the last distinct echo, so the copy of the last
    // one may come after it.
    let (_peer, port) = python_peer("    out = [data, data]");
    let (out, s) = load(
        port,
        &["--count", "100", "--rate", "2000", "--timeout", "10"],
    );
    assert!(out.status.success());
    assert_eq!(n(&s, "received"), 100, "{s}");
    assert!((99..=100).contains(&n(&s, "duplicated")), "{s}");
}

#[test]
fn an_altered_echo_fails_the_run() {
    // The last byte of every fifth echo flipped.
    let (_peer, port) =
        python_peer("    out = [data[:-1] + bytes([data[-1] ^ 1])] if n % 5 == 0 else [data]");
    let (out, s) = load(port, &["--count", "50", "--rate", "2000", "--timeout", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!((n(&s, "corrupt"), n(&s, "received")), (10, 40), "{s}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: echo from ('127.0.0.1', ")
            && stderr.contains("10 echoes differed"),
        "{stderr}"
    );
}

#[test]
fn no_echo_at_all_fails_after_the_timeout() {
    let (_peer, port) = python_peer("    out = []");
    let started = std::time::Instant::now();
    let (out, s) = load(
        port,
        &["--count", "20", "--rate", "1000", "--timeout", "0.2"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!((n(&s, "sent"), n(&s, "lost")), (20, 20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none of 20 datagrams came back"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn bad_load_options_are_refused_before_sending() {
    for (args, what) in [
        (&["--proto", "udp", "--count", "0"][..], "--count 0"),
        (&["--proto", "udp", "--count", "1000001"], "--count 1000001"),
        (
            &["--proto", "udp", "--count", "5", "--size", "15"],
            "--size 15",
        ),
        (
            &["--proto", "udp", "--count", "5", "--size", "65508"],
            "--size 65508",
        ),
        (
            &["--proto", "udp", "--count", "5", "--rate", "0"],
            "--rate 0",
        ),
        (&["--proto", "udp", "--size", "100"], "--size"),
        (
            &["--proto", "udp", "--count", "5", "--message", "x"],
            "--message",
        ),
        (&["--count", "5"], "--count"),
        (
            &["--proto", "udp", "--count", "5", "--chunk", "10"],
            "--chunk",
        ),
        (&["--proto", "unix", "--count", "5"], "--count"),
    ] {
        let mut all = vec!["echo", "client", "--addr", "127.0.0.1:9"];
        if args.contains(&"unix") {
            all.truncate(2);
        }
        all.extend_from_slice(args);
        let out = portsock(&all);
        assert_cli_error(&out, &all.join(" "));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("error: {what}")),
            "{all:?}: {stderr}"
        );
    }
}
