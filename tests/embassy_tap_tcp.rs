//! TCP between the embassy backend (portsock-embassy on embassy-net) and the kernel over a TAP
//! device (see `tests/common/tap.rs`): the chapter's echo server and client on embassy against
//! portsock's std backend and CPython, IPv4 and IPv6, every byte verified; the `--concurrent`
//! server with clients at once; and one CPython chapter client answered alike by the std,
//! smoltcp and embassy servers.

mod common;

use common::STREAM_CLIENT_LINES;
use common::tap::{KERNEL_V4, KERNEL_V6, PY_ECHO_CLIENT, SMOL_V4, SMOL_V6, TapNet, started};

/// A CPython echo server (one connection; reads until end of stream, echoes as it goes).
const PY_ECHO_SERVER: &str = r#"
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
print("listening", flush=True)
conn, peer = srv.accept()
total = 0
while True:
    data = conn.recv(16)
    if not data:
        break
    conn.sendall(data)
    total += len(data)
conn.close()
print("echoed", total, "from", peer[0], flush=True)
"#;

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

/// `HOST:PORT` with brackets for IPv6.
fn target(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn embassy_tcp_server_answers_the_kernel(tag: &str, bind: &str, server_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let mut server = net.embassy(
        &[
            "echo", "server", "--addr", bind, "--count", "3", "--chunk", "4096",
        ],
        &["--pcap", net.file("server.pcap").to_str().unwrap()],
    );
    started(&mut server);
    net.link_up();
    let addr = target(server_ip, 10000);
    // 1. portsock's std client: the chapter's lines, every byte verified by the client machine.
    let lines = net
        .kernel(&["echo", "client", "--addr", &addr, "--timeout", "10"])
        .finish_ok();
    assert_eq!(lines[0], format!("connecting to {server_ip} port 10000"));
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    // 2. CPython, the chapter's way, 16 bytes per recv.
    let py = net
        .python(PY_ECHO_CLIENT, &[server_ip, "10000", "42"])
        .finish_ok();
    assert_eq!(py, ["ok 42"]);
    // 3. CPython again with 1 MiB: flow control both ways through embassy-net's windows.
    let py = net
        .python(PY_ECHO_CLIENT, &[server_ip, "10000", "1048576"])
        .finish_ok();
    assert_eq!(py, ["ok 1048576"]);
    let lines = server.finish_ok();
    let peers: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("connection from"))
        .collect();
    assert_eq!(peers.len(), 3, "{lines:#?}");
    let kernel = if server_ip.contains(':') {
        KERNEL_V6
    } else {
        KERNEL_V4
    };
    assert!(
        peers.iter().all(|p| p.contains(&format!("'{kernel}'"))),
        "{peers:?}"
    );
    assert!(
        net.file("server.pcap").metadata().unwrap().len() > 1 << 20,
        "the capture holds the traffic"
    );
}

#[test]
fn tcp_embassy_server_kernel_clients_ipv4() {
    embassy_tcp_server_answers_the_kernel("e4", ":10000", SMOL_V4);
}

#[test]
fn tcp_embassy_server_kernel_clients_ipv6() {
    embassy_tcp_server_answers_the_kernel("e6", "[::]:10000", SMOL_V6);
}

fn embassy_tcp_client_reaches_the_kernel(tag: &str, kernel_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let addr = target(kernel_ip, 10000);
    // 1. portsock's std server on the kernel's sockets.
    let mut server = net.kernel(&["echo", "server", "--addr", &addr, "--count", "1"]);
    started(&mut server);
    let lines = net
        .embassy(&["echo", "client", "--addr", &addr, "--timeout", "10"], &[])
        .finish_ok();
    assert_eq!(lines[0], format!("connecting to {kernel_ip} port 10000"));
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    let served = server.finish_ok();
    let ours = if kernel_ip.contains(':') {
        SMOL_V6
    } else {
        SMOL_V4
    };
    assert!(
        served
            .iter()
            .any(|l| l.starts_with(&format!("connection from ('{ours}'"))),
        "{served:#?}"
    );
    assert!(
        served.contains(&"received b' repeated.'".to_owned()),
        "{served:#?}"
    );
    // 2. CPython's server, a 60,000-byte message (every byte checked by portsock's client).
    let mut py = net.python(PY_ECHO_SERVER, &[kernel_ip, "10001"]);
    py.wait_for("listening", |l| l == "listening");
    let message: String = (0..60_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let lines = net
        .embassy(
            &[
                "echo",
                "client",
                "--addr",
                &target(kernel_ip, 10001),
                "--chunk",
                "4096",
                "--message",
                &message,
            ],
            &[],
        )
        .finish_ok();
    assert_eq!(lines.last().unwrap(), "closing socket");
    let received: String = lines
        .iter()
        .filter_map(|l| l.strip_prefix("received b'"))
        .map(|l| l.strip_suffix('\'').unwrap())
        .collect();
    assert_eq!(received, message);
    let py = py.finish_ok();
    assert_eq!(py.last().unwrap(), &format!("echoed 60000 from {ours}"));
    // 3. Nothing listens on 10002: the kernel resets, and the client and `binary send` say
    // where they tried, then why, as the chapter's clients do.
    let refused = target(kernel_ip, 10002);
    for args in [
        &["echo", "client", "--addr", &refused, "--timeout", "10"][..],
        &["binary", "send", "--addr", &refused][..],
    ] {
        let done = net.embassy(args, &[]).finish();
        assert_eq!(done.status.code(), Some(1), "{args:?}: {}", done.stderr);
        assert_eq!(
            done.stdout,
            [format!("connecting to {kernel_ip} port 10002")]
        );
        assert!(
            done.stderr.starts_with("error: ") && done.stderr.lines().count() == 1,
            "{args:?}: {}",
            done.stderr
        );
    }
}

#[test]
fn tcp_embassy_client_kernel_servers_ipv4() {
    embassy_tcp_client_reaches_the_kernel("ec4", KERNEL_V4);
}

#[test]
fn tcp_embassy_client_kernel_servers_ipv6() {
    embassy_tcp_client_reaches_the_kernel("ec6", KERNEL_V6);
}

/// `--concurrent`: six CPython clients at once, 200,000 bytes each, on the core's `Sessions`
/// over portsock-embassy's listener pool; the server stops after `--count 6`.
#[test]
fn tcp_embassy_concurrent_server_serves_clients_at_once() {
    let Some(net) = TapNet::new("ecc") else {
        return;
    };
    let mut server = net.embassy(
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--concurrent",
            "--count",
            "6",
            "--chunk",
            "4096",
        ],
        &[],
    );
    started(&mut server);
    net.link_up();
    let clients: Vec<_> = (0..6)
        .map(|_| net.python(PY_ECHO_CLIENT, &[SMOL_V4, "10000", "200000"]))
        .collect();
    for client in clients {
        assert_eq!(client.finish_ok(), ["ok 200000"]);
    }
    let lines = server.finish_ok();
    assert_eq!(lines[1], "waiting for connections (up to 8 at once)");
    let served = lines
        .iter()
        .filter(|l| l.starts_with("connection from"))
        .count();
    assert_eq!(served, 6, "{lines:#?}");
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
