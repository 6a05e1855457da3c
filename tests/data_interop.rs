//! `portsock connect` / `portsock listen` against the tools people use for the job (socat,
//! ncat, OpenBSD netcat) and CPython's `socket`: 100 MiB of random bytes through each pair,
//! compared byte for byte at the other end, over TCP (IPv4 and IPv6), a Unix socket and both
//! directions at once; UDP with datagrams CPython and socat count and check.

mod data_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

use data_support::{
    BIG, Proc, assert_same, connect_retrying, file, free_port, free_udp_port, random_file, require,
    tempdir,
};

/// The 100 MiB input every transfer sends, made once per test run.
fn big_input() -> &'static Path {
    static INPUT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = INPUT.get_or_init(|| {
        let dir = tempdir();
        let path = dir.path().join("big.bin");
        random_file(&path, BIG);
        (dir, path)
    });
    path
}

fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// `peer` listens and writes what it receives to `DIR/out`; `portsock connect ARGS` sends it
/// the 100 MiB input, which must arrive byte for byte. portsock's report.
fn connect_to_peer(dir: &TempDir, peer: Command, connect: &[&str], what: &str) -> Vec<String> {
    let out = file(dir, "out");
    let peer = Proc::spawn(peer, None, Some(&out));
    let report = connect_retrying(connect, Some(big_input()), None);
    peer.finish_ok();
    assert_same(big_input(), &out, what);
    report
}

/// `portsock listen ARGS` writes what it receives to a file; the command `peer` makes (given
/// the listener, once it listens) sends it the 100 MiB input, which must arrive byte for byte.
/// portsock's report.
fn peer_to_listen(
    listen: &[&str],
    peer: impl FnOnce(&mut Proc) -> Command,
    what: &str,
) -> Vec<String> {
    let dir = tempdir();
    let out = file(&dir, "out");
    let mut listen = Proc::portsock(listen, None, Some(&out));
    Proc::spawn(peer(&mut listen), Some(big_input()), None).finish_ok();
    let report = listen.finish_ok();
    assert_same(big_input(), &out, what);
    report
}

#[test]
fn tcp_v4_portsock_connect_to_socat_listen() {
    require("socat", "socat");
    let dir = tempdir();
    let port = free_port(false);
    let socat = cmd(
        "socat",
        &[
            "-u",
            &format!("TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
            "STDOUT",
        ],
    );
    let report = connect_to_peer(
        &dir,
        socat,
        &["connect", &format!("127.0.0.1:{port}")],
        "portsock connect -> socat",
    );
    let summary = report.last().expect("a summary");
    assert!(
        summary.starts_with(&format!("sent {BIG} bytes, received 0 bytes in ")),
        "{summary}"
    );
}

#[test]
fn tcp_v6_socat_connect_to_portsock_listen() {
    require("socat", "socat");
    let report = peer_to_listen(
        &["listen", "[::1]:0"],
        |l| {
            cmd(
                "socat",
                &["-u", "STDIN", &format!("TCP6:[::1]:{}", l.port())],
            )
        },
        "socat -> portsock listen [::1]",
    );
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("connection from [::1]:")),
        "{report:#?}"
    );
}

#[test]
fn tcp_v4_ncat_connect_to_portsock_listen() {
    require("ncat", "ncat");
    peer_to_listen(
        &["listen", "-4", "0"],
        |l| cmd("ncat", &["--send-only", "127.0.0.1", &l.port().to_string()]),
        "ncat -> portsock listen -4",
    );
}

#[test]
fn tcp_v6_portsock_connect_to_ncat_listen() {
    require("ncat", "ncat");
    let dir = tempdir();
    let port = free_port(true).to_string();
    connect_to_peer(
        &dir,
        cmd("ncat", &["-6", "-l", "::1", &port, "--recv-only"]),
        &["connect", "-6", &format!("[::1]:{port}")],
        "portsock connect -6 -> ncat -l",
    );
}

#[test]
fn tcp_openbsd_nc_connect_to_portsock_listen() {
    require("nc.openbsd", "netcat-openbsd");
    // -N: shut the socket down at stdin's end, as portsock does.
    peer_to_listen(
        &["listen", "127.0.0.1:0"],
        |l| cmd("nc.openbsd", &["-N", "127.0.0.1", &l.port().to_string()]),
        "nc -N -> portsock listen",
    );
}

#[test]
fn tcp_portsock_connect_receives_from_socat() {
    require("socat", "socat");
    let dir = tempdir();
    let out = file(&dir, "out");
    let port = free_port(false);
    let socat = Proc::spawn(
        cmd(
            "socat",
            &[
                "-u",
                "STDIN",
                &format!("TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
            ],
        ),
        Some(big_input()),
        None,
    );
    connect_retrying(
        &["connect", &format!("localhost:{port}"), "-4"],
        None,
        Some(&out),
    );
    socat.finish_ok();
    assert_same(big_input(), &out, "socat -> portsock connect");
}

#[test]
fn unix_portsock_connect_to_socat_listen() {
    require("socat", "socat");
    let dir = tempdir();
    let path = file(&dir, "sock");
    connect_to_peer(
        &dir,
        cmd(
            "socat",
            &["-u", &format!("UNIX-LISTEN:{}", path.display()), "STDOUT"],
        ),
        &["connect", "-U", path.to_str().unwrap()],
        "portsock connect -U -> socat",
    );
}

#[test]
fn unix_ncat_connect_to_portsock_listen() {
    require("ncat", "ncat");
    let dir = tempdir();
    let path = file(&dir, "sock");
    let path = path.to_str().unwrap();
    peer_to_listen(
        &["listen", "-U", path],
        |l| {
            l.listening();
            cmd("ncat", &["--send-only", "-U", path])
        },
        "ncat -U -> portsock listen -U",
    );
}

/// CPython sends the 100 MiB file to `portsock listen -U` and, at once, reads back what
/// portsock sends from its own stdin (the same file) until portsock's end of stream.
const PY_BOTH_WAYS: &str = r#"
import socket, sys, threading
family, addr, path = sys.argv[1], sys.argv[2], sys.argv[3]
if family == "unix":
    s = socket.socket(socket.AF_UNIX); s.connect(addr)
else:
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host.strip("[]"), int(port)))
data = open(path, "rb").read()
def send():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    b = s.recv(1 << 20)
    if not b: break
    got += b
t.join()
print("same" if bytes(got) == data else f"differ {len(got)}", flush=True)
"#;

fn python_both_ways(family: &str, listen_args: &[&str]) {
    let dir = tempdir();
    let out = file(&dir, "out");
    let mut listen = Proc::portsock(listen_args, Some(big_input()), Some(&out));
    let addr = listen.listening();
    let verdict = Command::new("python3")
        .args([
            "-c",
            PY_BOTH_WAYS,
            family,
            &addr,
            big_input().to_str().unwrap(),
        ])
        .output()
        .expect("run python3");
    assert!(
        verdict.status.success(),
        "{}",
        String::from_utf8_lossy(&verdict.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&verdict.stdout).trim(), "same");
    let report = listen.finish_ok();
    assert_same(big_input(), &out, "CPython -> portsock listen");
    let summary = report.last().expect("a summary");
    assert!(
        summary.starts_with(&format!("sent {BIG} bytes, received {BIG} bytes in ")),
        "{summary}"
    );
}

#[test]
fn unix_cpython_both_ways_at_once() {
    let dir = tempdir();
    let path = file(&dir, "sock");
    python_both_ways("unix", &["listen", "-U", path.to_str().unwrap()]);
    assert!(!path.exists(), "the socket node is removed at the end");
}

#[test]
fn tcp_v4_cpython_both_ways_at_once() {
    python_both_ways("inet", &["listen", "127.0.0.1:0"]);
}

/// CPython's UDP peer: answers each datagram with its length as text, and counts.
const PY_UDP_PEER: &str = r#"
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0))
print(s.getsockname()[1], flush=True)
want = int(sys.argv[2]); total = 0; data = bytearray()
while total < want:
    b, peer = s.recvfrom(65536)
    total += len(b); data += b
    s.sendto(b"got %d\n" % len(b), peer)
open(sys.argv[3], "wb").write(data)
"#;

fn udp_with_cpython(host: &str, bracketed: &str) {
    let dir = tempdir();
    let input = file(&dir, "in");
    let echoed = file(&dir, "peer-got");
    let out = file(&dir, "out");
    // Three datagrams' worth (each read of a file is one datagram of up to 16 KiB).
    random_file(&input, 40_000);
    let mut peer = std::process::Command::new("python3")
        .args(["-c", PY_UDP_PEER, host, "40000", echoed.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(peer.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let port = line.trim();
    Proc::portsock(
        &[
            "connect",
            "-u",
            &format!("{bracketed}:{port}"),
            "--wait",
            "2",
        ],
        Some(&input),
        Some(&out),
    )
    .finish_ok();
    assert!(peer.wait().unwrap().success());
    assert_same(&input, &echoed, "portsock connect -u -> CPython");
    let replies = std::fs::read_to_string(&out).unwrap();
    assert_eq!(replies, "got 16384\ngot 16384\ngot 7232\n");
}

#[test]
fn udp_v4_with_cpython() {
    udp_with_cpython("127.0.0.1", "127.0.0.1");
}

#[test]
fn udp_v6_with_cpython() {
    udp_with_cpython("::1", "[::1]");
}

#[test]
fn udp_socat_to_portsock_listen() {
    require("socat", "socat");
    let dir = tempdir();
    let out = file(&dir, "out");
    let input = file(&dir, "in");
    std::fs::write(&input, b"one datagram\n").unwrap();
    let port = free_udp_port(false);
    let mut listen = Proc::portsock(
        &["listen", "-u", &format!("127.0.0.1:{port}"), "--wait", "1"],
        None,
        Some(&out),
    );
    listen.listening();
    Proc::spawn(
        cmd(
            "socat",
            &["-u", "STDIN", &format!("UDP4-SENDTO:127.0.0.1:{port}")],
        ),
        Some(&input),
        None,
    )
    .finish_ok();
    listen.finish_ok();
    assert_same(&input, &out, "socat -> portsock listen -u");
}
