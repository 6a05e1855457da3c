//! `--runtime tokio` as a user runs it: the CLI's concurrent servers, its UDP echo server and
//! its multicast receiver on tokio with CPython peers (`socket`, `struct`) and the chapter's
//! programs (the CLI's own clients), every byte verified, and the same lines as the mio
//! runtime prints. Loopback and a temporary
//! directory only; `python3` must be installed (`PORTSOCK_PYTHON` picks another).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Running, STREAM_CLIENT_LINES, open_tempdir, stream_server_lines};

/// A Python peer: `python3 -u -c SCRIPT ARGS...`.
fn python(script: &str, args: &[&str]) -> Running {
    let interpreter = std::env::var("PORTSOCK_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(interpreter);
    cmd.arg("-u").arg("-c").arg(script).args(args);
    Running::spawn(cmd)
}

/// A client that sends `SIZE` pseudo-random bytes (seeded with `SEED`) from one thread,
/// half-closes, and reads the echo to end of stream on another; prints `echo ok SIZE` only if
/// every byte came back, in order. Arguments: `inet PORT SEED SIZE` or `unix PATH SEED SIZE`.
const BULK_CLIENT: &str = r#"
import random, socket, sys, threading
family, where, seed, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = random.Random(seed).randbytes(size)
if family == 'unix':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(60)
    sock.connect(where)
else:
    sock = socket.create_connection(('127.0.0.1', int(where)), timeout=60)
def send():
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
chunks = []
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    chunks.append(chunk)
sender.join()
echo = b''.join(chunks)
if echo == data:
    print('echo ok', len(echo))
else:
    first = next((i for i, (a, b) in enumerate(zip(echo, data)) if a != b), min(len(echo), len(data)))
    print('echo MISMATCH at', first, 'of', len(data), 'got', len(echo))
"#;

/// The chapter's stream client: send the message, read 16 bytes at a time until it is back.
/// Arguments: `inet PORT` or `unix PATH`.
const STREAM_CLIENT: &str = r#"
import socket, sys
family, where = sys.argv[1], sys.argv[2]
if family == 'unix':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address = where
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    address = ('localhost', int(where))
sock.settimeout(10)
sock.connect(address)
message = b'This is the message.  It will be repeated.'
sock.sendall(message)
received = b''
while len(received) < len(message):
    data = sock.recv(16)
    if not data:
        break
    received += data
    print('received {!r}'.format(data))
sock.close()
print('echo ok' if received == message else 'echo MISMATCH')
"#;

/// A Python record sender: pack `argv[3:]` (Python literals) with format `argv[2]`, send it
/// to port `argv[1]`, print what was packed as `unpack` sees it.
const RECORD_CLIENT: &str = r#"
import ast, socket, struct, sys
values = tuple(ast.literal_eval(v) for v in sys.argv[3:])
packed = struct.pack(sys.argv[2], *values)
sock = socket.create_connection(('localhost', int(sys.argv[1])), timeout=10)
sock.sendall(packed)
sock.close()
print('sent:', struct.unpack(sys.argv[2], packed))
"#;

/// The server's first two lines; returns the port of the first.
fn wait_ready(server: &mut Running) -> u16 {
    let port = server.wait_for_port();
    server.wait_for("waiting for connections", |l| {
        l == "waiting for connections (any number at once)"
    });
    port
}

#[test]
fn concurrent_cpython_clients_get_megabytes_back_over_tcp() {
    const SIZES: [usize; 4] = [3_000_000, 1_000_000, 2_500_000, 700_001];
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        "tokio",
        "--quiet",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "4",
    ]);
    let port = wait_ready(&mut server).to_string();
    let clients: Vec<Running> = SIZES
        .iter()
        .enumerate()
        .map(|(seed, size)| {
            python(
                BULK_CLIENT,
                &["inet", &port, &seed.to_string(), &size.to_string()],
            )
        })
        .collect();
    for (client, size) in clients.into_iter().zip(SIZES) {
        assert_eq!(client.finish_ok(), [format!("echo ok {size}")]);
    }
    let lines = server.finish_ok();
    let total: usize = SIZES.iter().sum();
    let total = common_thousands(total as u64);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[2].starts_with(&format!(
            "served 4 connections (0 failed, 0 timed out): {total} bytes in, {total} bytes out, "
        )),
        "{lines:?}"
    );
    assert!(lines[2].ends_with(" MB/s"), "{lines:?}");
}

#[test]
fn cpython_clients_over_a_unix_socket() {
    let dir = open_tempdir();
    let path = dir.path().join("uds_socket");
    let path = path.to_str().expect("utf-8 path");
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        "tokio",
        "--proto",
        "unix",
        "--path",
        path,
        "--count",
        "3",
    ]);
    server.wait_for("starting up", |l| l == format!("starting up on {path}"));
    let bulk: Vec<Running> = (0..2)
        .map(|seed| python(BULK_CLIENT, &["unix", path, &seed.to_string(), "1500000"]))
        .collect();
    let chapter = python(STREAM_CLIENT, &["unix", path]);
    assert_eq!(
        chapter.finish_ok(),
        [
            "received b'This is the mess'",
            "received b'age.  It will be'",
            "received b' repeated.'",
            "echo ok",
        ]
    );
    for client in bulk {
        assert_eq!(client.finish_ok(), ["echo ok 1500000"]);
    }
    let lines = server.finish_ok();
    // The chapter's client's lines are among the others'; each connection's are in order.
    assert!(lines.contains(&"received b'This is the mess'".to_owned()));
    assert!(lines.iter().filter(|l| *l == "no data from ").count() == 3);
    assert!(!dir.path().join("uds_socket").exists());
}

#[test]
fn binary_records_from_cpython_struct() {
    let cases = [
        (
            "I 2s f",
            &["1", "b'ab'", "2.7"][..],
            "(1, b'ab', 2.700000047683716)",
        ),
        (
            "I 2s f",
            &["4294967295", "b'zz'", "-0.5"][..],
            "(4294967295, b'zz', -0.5)",
        ),
        ("I 2s f", &["0", "b'\\x00\\xff'", "1e10"][..], ""),
    ];
    let mut server = Running::portsock([
        "binary",
        "receive",
        "--concurrent",
        "--runtime",
        "tokio",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "3",
    ]);
    let port = wait_ready(&mut server).to_string();
    let mut expected = Vec::new();
    for (format, values, _) in cases {
        let mut args = vec![port.as_str(), format];
        args.extend(values);
        let sent = python(RECORD_CLIENT, &args).finish_ok();
        assert_eq!(sent.len(), 1, "{sent:?}");
        // What CPython's unpack says, portsock's receiver must print.
        expected.push(sent[0].replacen("sent: ", "unpacked: ", 1));
    }
    assert_eq!(expected[0], format!("unpacked: {}", cases[0].2));
    assert_eq!(expected[1], format!("unpacked: {}", cases[1].2));
    let lines = server.finish_ok();
    let unpacked: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("unpacked: "))
        .collect();
    assert_eq!(unpacked, expected.iter().collect::<Vec<_>>(), "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("received b'"))
            .count(),
        3
    );
}

/// The lines of a `--concurrent` echo server (on `runtime`) serving the chapter's client
/// (`portsock echo client`) once, with the client's port replaced by `PORT`.
fn chapter_transcript(runtime: &str) -> (Vec<String>, Vec<String>) {
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        runtime,
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
    ]);
    let port = wait_ready(&mut server);
    let addr = format!("127.0.0.1:{port}");
    let client = Running::portsock(["echo", "client", "--addr", &addr]).finish_ok();
    let lines = server.finish_ok();
    let peer = lines[2].trim_start_matches("connection from ").to_owned();
    let server_lines = lines
        .iter()
        .map(|l| {
            l.replace(&peer, "PEER")
                .replace(&format!("port {port}"), "port PORT")
        })
        .collect();
    let client = client
        .iter()
        .map(|l| l.replace(&format!("port {port}"), "port PORT"))
        .collect();
    (server_lines, client)
}

#[test]
fn the_chapter_client_gets_the_same_lines_from_either_runtime() {
    let (tokio_server, tokio_client) = chapter_transcript("tokio");
    let (mio_server, mio_client) = chapter_transcript("mio");
    assert_eq!(tokio_server, mio_server);
    assert_eq!(tokio_client, mio_client);
    let mut expected = vec![
        "starting up on 127.0.0.1 port PORT".to_owned(),
        "waiting for connections (any number at once)".to_owned(),
    ];
    expected.extend(stream_server_lines("PEER").into_iter().skip(1));
    assert_eq!(tokio_server, expected);
    let mut client = vec!["connecting to 127.0.0.1 port PORT".to_owned()];
    client.extend(STREAM_CLIENT_LINES.map(String::from));
    assert_eq!(tokio_client, client);
}

#[test]
fn sigterm_stops_the_tokio_server_with_clients_connected() {
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        "tokio",
        "--quiet",
        "--addr",
        "127.0.0.1:0",
    ]);
    let port = wait_ready(&mut server);
    let idle: Vec<std::net::TcpStream> = (0..50)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    // Every connection is served: one echo each.
    for mut conn in &idle {
        use std::io::{Read as _, Write as _};
        conn.set_read_timeout(Some(common::WAIT)).expect("timeout");
        conn.write_all(b"hi").expect("write");
        let mut back = [0u8; 2];
        conn.read_exact(&mut back).expect("echo");
        assert_eq!(&back, b"hi");
    }
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let done = server.finish();
    let took = sent.elapsed();
    assert!(done.status.success(), "{done:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        done.stdout.last().is_some_and(|l| l.starts_with(
            "served 50 connections (0 failed, 0 timed out): 100 bytes in, 100 bytes out, "
        )),
        "{done:?}"
    );
    drop(idle);
}

/// Sends datagrams of the sizes in `argv[2:]` (pseudo-random bytes) to port `argv[1]` one at
/// a time and checks each echo whole; prints `echo ok SIZE` for each.
const DATAGRAM_CLIENT: &str = r#"
import random, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(10)
for i, size in enumerate(int(a) for a in sys.argv[2:]):
    data = random.Random(i).randbytes(size)
    sock.sendto(data, ('127.0.0.1', int(sys.argv[1])))
    echo, server = sock.recvfrom(65536)
    print('echo ok', size) if echo == data else print('echo MISMATCH', size, len(echo))
"#;

#[test]
fn udp_datagrams_from_cpython_echoed_whole() {
    const SIZES: [&str; 4] = ["1", "42", "1472", "65507"];
    let mut server = Running::portsock([
        "echo",
        "server",
        "--proto",
        "udp",
        "--runtime",
        "tokio",
        "--chunk",
        "65507",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "4",
    ]);
    let port = server.wait_for_port().to_string();
    let mut args = vec![port.as_str()];
    args.extend(SIZES);
    let lines = python(DATAGRAM_CLIENT, &args).finish_ok();
    assert_eq!(lines, SIZES.map(|n| format!("echo ok {n}")));
    let lines = server.finish_ok();
    for n in SIZES {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("sent {n} bytes back to ('127.0.0.1', "))),
            "{n}: {lines:?}"
        );
    }
}

/// The lines of `portsock echo server --proto udp` on `runtime` and of the chapter's client
/// (`portsock echo client --proto udp`), the ports replaced by `PORT` and `CLIENT`.
fn udp_transcript(runtime: &str) -> (Vec<String>, Vec<String>) {
    let mut server = Running::portsock([
        "echo",
        "server",
        "--proto",
        "udp",
        "--runtime",
        runtime,
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
    ]);
    let port = server.wait_for_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let client = Running::portsock(["echo", "client", "--proto", "udp", "--addr", &addr]);
    let client = client.finish_ok();
    let lines = server.finish_ok();
    let peer = lines[3]
        .rsplit(", ")
        .next()
        .map(|p| p.trim_end_matches(')').to_owned())
        .unwrap_or_default();
    let tidy = |l: &String| {
        l.replace(&format!("', {peer})"), "', CLIENT)")
            .replace(&format!("port {port}"), "port PORT")
    };
    (
        lines.iter().map(tidy).collect(),
        client.iter().map(tidy).collect(),
    )
}

#[test]
fn the_chapter_udp_client_gets_the_same_lines_from_either_runtime() {
    let (tokio_server, tokio_client) = udp_transcript("tokio");
    let (mio_server, mio_client) = udp_transcript("mio");
    assert_eq!(tokio_server, mio_server);
    assert_eq!(tokio_client, mio_client);
    assert_eq!(
        tokio_server[3..],
        [
            "received 42 bytes from ('127.0.0.1', CLIENT)",
            "b'This is the message.  It will be repeated.'",
            "sent 42 bytes back to ('127.0.0.1', CLIENT)",
        ]
    );
}

/// The chapter's multicast sender, its outgoing interface pinned to the loopback, sending
/// `argv[2]` to the group on port `argv[1]` and printing every acknowledgement.
const MULTICAST_SENDER: &str = r#"
import socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.5)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack('b', 1))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))
sock.sendto(sys.argv[2].encode(), ('224.3.29.71', int(sys.argv[1])))
while True:
    try:
        data, server = sock.recvfrom(16)
    except socket.timeout:
        print('timed out, no more responses')
        break
    else:
        print('received {!r} from {}'.format(data, server))
"#;

#[test]
fn multicast_on_the_loopback_acks_cpython_senders_as_the_mio_receiver_does() {
    let mut transcripts = Vec::new();
    for runtime in ["tokio", "mio"] {
        let mut receiver = Running::portsock([
            "multicast",
            "receive",
            "--runtime",
            runtime,
            "--port",
            "0",
            "--count",
            "2",
        ]);
        let port = receiver.wait_for_port().to_string();
        receiver.wait_for("waiting to receive message", |l| {
            l == "waiting to receive message"
        });
        for message in ["very important data", "and some more"] {
            let lines = python(MULTICAST_SENDER, &[&port, message]).finish_ok();
            assert_eq!(
                lines,
                [
                    format!("received b'ack' from ('127.0.0.1', {port})"),
                    "timed out, no more responses".into(),
                ],
                "{runtime}"
            );
        }
        let lines = receiver.finish_ok();
        assert!(
            lines.contains(&"b'very important data'".to_owned()),
            "{lines:?}"
        );
        assert!(lines.contains(&"b'and some more'".to_owned()), "{lines:?}");
        // The senders' ports differ from run to run; the rest must not.
        let tidy: Vec<String> = lines
            .iter()
            .map(|l| match l.find("('127.0.0.1', ") {
                Some(at) => format!("{}ADDR", &l[..at]),
                None if l.starts_with("starting up on ") => "starting up".into(),
                None => l.clone(),
            })
            .collect();
        transcripts.push(tidy);
    }
    assert_eq!(transcripts[0], transcripts[1]);
}

#[test]
fn a_stdout_nobody_reads_stalls_no_tokio_client_and_sigterm_still_stops_it() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::process::Stdio;
    // The chapter's transcript (16-byte reads, two lines each) into a pipe the test stops
    // reading after the first two lines: far more lines than a pipe holds.
    let mut child = Command::new(env!("CARGO_BIN_EXE_portsock"))
        .args([
            "echo",
            "server",
            "--concurrent",
            "--runtime",
            "tokio",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portsock");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let port: u16 = first
        .trim_end()
        .rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    let clients: Vec<_> = (0..3u8)
        .map(|seed| {
            std::thread::spawn(move || {
                let message: Vec<u8> = (0..40_000u32)
                    .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                    .collect();
                let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                conn.set_read_timeout(Some(common::WAIT)).expect("timeout");
                let mut writer = conn.try_clone().expect("clone");
                let sent = message.clone();
                let sending = std::thread::spawn(move || writer.write_all(&sent));
                let mut echoed = vec![0u8; message.len()];
                conn.read_exact(&mut echoed).expect("the whole echo");
                sending.join().expect("writer").expect("write");
                assert!(echoed == message, "the echo differs");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client");
    }
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("try_wait") {
            break exit;
        }
        assert!(sent.elapsed() < common::WAIT, "SIGTERM went unheard");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(exit.success(), "{exit}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(
        stderr.contains("lines of output dropped: stdout did not take them"),
        "{stderr:?}"
    );
    drop(stdout);
}

#[test]
fn the_idle_timeout_closes_a_silent_client_with_the_chapter_style_line() {
    use std::io::Read as _;
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        "tokio",
        "--idle-timeout",
        "0.3",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
    ]);
    let port = wait_ready(&mut server);
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    silent
        .set_read_timeout(Some(common::WAIT))
        .expect("timeout");
    let mut rest = Vec::new();
    // The server closes it: end of stream, nothing echoed.
    assert_eq!(silent.read_to_end(&mut rest).expect("end of stream"), 0);
    let peer = format!(
        "('127.0.0.1', {})",
        silent.local_addr().expect("addr").port()
    );
    let lines = server.finish_ok();
    assert_eq!(
        lines[2..],
        [
            format!("connection from {peer}"),
            format!("idle timeout: closed {peer}"),
        ]
    );
}

#[test]
fn runtime_needs_concurrent_and_the_std_backend() {
    for (args, what) in [
        (&["echo", "server", "--runtime", "tokio"][..], "--runtime"),
        (&["binary", "receive", "--runtime", "mio"][..], "--runtime"),
        (
            &["echo", "server", "--proto", "unix", "--runtime", "tokio"][..],
            "--runtime",
        ),
        (
            &[
                "echo",
                "server",
                "--concurrent",
                "--runtime",
                "tokio",
                "--backend",
                "smoltcp",
                "--tap",
                "tap0",
                "--ip",
                "10.0.0.1/24",
            ][..],
            "--runtime",
        ),
    ] {
        let out = common::portsock(args);
        common::assert_cli_error(&out, what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("error: {what}: ")), "{stderr}");
    }
    let out = common::portsock(["echo", "server", "--concurrent", "--runtime", "uv"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mio"),
        "{out:?}"
    );
}

/// `n` with thousands separators, as the summary prints it.
fn common_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
