//! `--runtime tokio` as a user runs it, with CPython peers (`socket`, `struct`) and the
//! chapter's programs (the CLI's own clients): the concurrent echo server over TCP and a Unix
//! socket and the record receiver, every byte verified, the same lines as the mio runtime
//! prints, and `--runtime`'s errors. Datagrams: `cli_tokio_datagram.rs`; hostile load:
//! `cli_tokio_hostile.rs`. Loopback and a temporary directory only; `python3` must be
//! installed (`PORTSOCK_PYTHON` picks another).

mod common;

use std::process::Command;

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
const STREAM_CLIENT: &str = include_str!("python/stream_client.py");

/// A Python record sender: pack `argv[3:]` (Python literals) with format `argv[2]`, send it
/// to port `argv[1]`, print what was packed as `unpack` sees it.
const RECORD_CLIENT: &str = include_str!("python/record_client.py");

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
