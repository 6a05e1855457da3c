//! TCP between the embassy backend (portsock-embassy on embassy-net) and the kernel over a TAP
//! device (see `tests/common/tap.rs`): the chapter's echo server and client on embassy against
//! portsock's std backend and CPython, IPv4 and IPv6, every byte verified; the `--concurrent`
//! server with clients at once; and one CPython chapter client answered alike by the std,
//! smoltcp and embassy servers.

mod common;

use common::STREAM_CLIENT_LINES;
use common::tap::tcp::{
    client_reaches_the_kernel, concurrent_server_serves, server_answers_the_kernel, target,
};
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, Stack, TapNet, started};

/// The chapter's echo client as a CPython program prints it (`connecting to`, `sending`, one
/// `received` per `recv(16)`, `closing socket`), for `argv[1]` port `argv[2]`.
const PY_CHAPTER_CLIENT: &str = r#"
import socket, sys
server = (sys.argv[1], int(sys.argv[2]))
family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
sock = socket.socket(family, socket.SOCK_STREAM)
sock.settimeout(20)
print("connecting to {} port {}".format(*server))
sock.connect(server)
try:
    message = b"This is the message.  It will be repeated."
    print("sending {!r}".format(message))
    sock.sendall(message)
    got = 0
    while got < len(message):
        data = sock.recv(16)
        got += len(data)
        print("received {!r}".format(data))
finally:
    print("closing socket")
    sock.close()
"#;

#[test]
fn tcp_embassy_server_kernel_clients_ipv4() {
    server_answers_the_kernel(Stack::Embassy, "e4", ":10000", SMOL_V4);
}

#[test]
fn tcp_embassy_server_kernel_clients_ipv6() {
    server_answers_the_kernel(Stack::Embassy, "e6", "[::]:10000", SMOL_V6);
}

#[test]
fn tcp_embassy_client_kernel_servers_ipv4() {
    client_reaches_the_kernel(Stack::Embassy, "ec4", KERNEL_V4, "error: ");
}

#[test]
fn tcp_embassy_client_kernel_servers_ipv6() {
    client_reaches_the_kernel(Stack::Embassy, "ec6", KERNEL_V6, "error: ");
}

/// `--concurrent`: six CPython clients at once, 200,000 bytes each, on the core's `Sessions`
/// over portsock-embassy's listener pool; the server stops after `--count 6`.
#[test]
fn tcp_embassy_concurrent_server_serves_clients_at_once() {
    let Some(net) = TapNet::new("ecc") else {
        return;
    };
    let lines = concurrent_server_serves(&net, Stack::Embassy, 6, 200_000);
    assert_eq!(lines[1], "waiting for connections (up to 8 at once)");
    assert!(!lines.iter().any(|l| l.starts_with("error")), "{lines:#?}");
}

/// The server's transcript with the client's port replaced, to compare across stacks.
fn without_ports(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.find("', ") {
            Some(at) if l.contains("from ('") => format!("{}', PORT)", &l[..at]),
            _ => l.clone(),
        })
        .collect()
}

/// One command line, three stacks: the same CPython chapter client against
/// `portsock echo server` on the std (kernel), smoltcp and embassy backends, in turn. The
/// client prints the same lines for all three, and the three servers the same transcript.
#[test]
fn std_smoltcp_and_embassy_answer_the_same_chapter_client() {
    let Some(net) = TapNet::new("e3") else { return };
    let serve = ["echo", "server", "--addr", ":10000", "--count", "1"];
    let mut answers = Vec::new();
    for backend in ["std", "smoltcp", "embassy"] {
        let (mut server, at) = match backend {
            "std" => (net.kernel(&serve), KERNEL_V4),
            "smoltcp" => (net.smoltcp(&serve, &[]), SMOL_V4),
            _ => (net.embassy(&serve, &[]), SMOL_V4),
        };
        started(&mut server);
        if backend != "std" {
            net.link_up();
        }
        let client = net.python(PY_CHAPTER_CLIENT, &[at, "10000"]).finish_ok();
        assert_eq!(
            client[0],
            format!("connecting to {at} port 10000"),
            "{backend}"
        );
        assert_eq!(client[1..], STREAM_CLIENT_LINES, "{backend}");
        let lines = server.finish_ok();
        // The kernel's address either way: the std server's client connects from the
        // kernel to itself.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("connection from ('{KERNEL_V4}', "))),
            "{backend}: {lines:#?}"
        );
        answers.push((backend, client[1..].to_vec(), without_ports(&lines[1..])));
    }
    let (_, client, server) = &answers[0];
    for (backend, c, s) in &answers[1..] {
        assert_eq!(c, client, "{backend}'s client lines differ from std's");
        assert_eq!(s, server, "{backend}'s server lines differ from std's");
    }
}

/// Options the embassy backend refuses, before it opens anything (no privileges needed): each
/// error names the option.
#[test]
fn embassy_refuses_what_it_does_not_have() {
    let stack = ["--backend", "embassy", "--tap", "t0", "--ip", "10.0.0.1/8"];
    let cases: [(&[&str], &str); 8] = [
        (
            &["--drop-chance", "5"],
            "error: --drop-chance: applies to --backend smoltcp only",
        ),
        (
            &["--corrupt-chance", "5"],
            "error: --corrupt-chance: applies to --backend smoltcp only",
        ),
        (
            &["--rate-limit", "100"],
            "error: --rate-limit: applies to --backend smoltcp only",
        ),
        (
            &["--tcp-buffer", "4096"],
            "error: --tcp-buffer: applies to --backend smoltcp only",
        ),
        (
            &["--ip", "10.0.0.2/8"],
            "error: --ip \"10.0.0.2/8\": the embassy backend takes one address per family",
        ),
        (
            &["--gateway", "fdaa::100"],
            "error: --gateway fdaa::100: no --ip of that family",
        ),
        (
            &["--dns", "fdaa::53"],
            "error: --dns fdaa::53: no --ip of that family",
        ),
        (
            &["--mac", "03:00:00:00:00:01"],
            "error: --mac 03:00:00:00:00:01: a multicast address",
        ),
    ];
    for (extra, want) in cases {
        let out = common::portsock(
            ["echo", "server", "--addr", ":10000"]
                .iter()
                .chain(&stack)
                .chain(extra),
        );
        common::assert_cli_error(&out, want);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(want), "{stderr:?} is not {want:?}");
    }
    let out = common::portsock([
        "echo",
        "client",
        "--backend",
        "embassy",
        "--tap",
        "no-such-tap0",
        "--ip",
        "10.0.0.1/8",
    ]);
    common::assert_cli_error(&out, "no such TAP");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: --tap no-such-tap0: no network device"),
        "{stderr:?}"
    );
    let out = common::portsock([
        "binary",
        "send",
        "--backend",
        "embassy",
        "--ip",
        "10.0.0.1/8",
    ]);
    common::assert_cli_error(&out, "no --tap");
}

/// A CPython client that connects, sends nothing and tells how its connection ended.
const PY_SILENT_CLIENT: &str = r#"
import socket, sys, time
sock = socket.create_connection((sys.argv[1], 10000), timeout=60)
print("connected", flush=True)
try:
    data = sock.recv(1)
    print("closed by the server" if data == b"" else f"unexpected bytes {data!r}", flush=True)
except ConnectionResetError:
    print("closed by the server", flush=True)
except socket.timeout:
    print("never closed", flush=True)
sock.close()
"#;

/// `--read-timeout` on the one-at-a-time embassy server: a client that sends nothing is
/// dropped after it (a note on stderr, the client sees its connection end), and the client
/// that connected meanwhile (into the listener's backlog) is served next.
#[test]
fn tcp_embassy_server_drops_a_silent_client_after_the_read_timeout() {
    let Some(net) = TapNet::new("ert") else {
        return;
    };
    let mut server = net.embassy(
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--count",
            "2",
            "--read-timeout",
            "1",
        ],
        &[],
    );
    started(&mut server);
    net.link_up();
    let mut silent = net.python(PY_SILENT_CLIENT, &[SMOL_V4]);
    silent.wait_for("connected", |l| l == "connected");
    let started_at = std::time::Instant::now();
    let lines = net
        .kernel(&["echo", "client", "--addr", &target(SMOL_V4, 10000)])
        .finish_ok();
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    let waited = started_at.elapsed();
    // Not before the read timeout; how long after it depends on the machine's load. That the
    // server, not the silent client, ended their connection is the client's own line below.
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "served after {waited:?}: before the silent client's read timeout ran out"
    );
    let done = server.finish();
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stderr
            .contains("timed out: nothing read or written for 1000 ms"),
        "{}",
        done.stderr
    );
    let silent_lines = silent.finish_ok();
    assert_eq!(silent_lines, ["connected", "closed by the server"]);
}
