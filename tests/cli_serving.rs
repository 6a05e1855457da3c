//! The chapter's one-at-a-time servers as a user leaves them running: one client's failure (a
//! reset, a short record, a record that never completes) is logged on stderr and the server
//! goes on to the next client; `--count` counts every client, served or failed.

mod common;

use std::io::Write as _;
use std::net::TcpStream;

use common::{MESSAGE, Running, STREAM_CLIENT_LINES};

/// A client that connects, sends `data`, and resets the connection (`SO_LINGER` 0, then
/// close: an RST instead of a FIN).
fn reset_after(port: u16, data: &[u8]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(data).expect("send");
    socket2::SockRef::from(&stream)
        .set_linger(Some(std::time::Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

/// Runs the chapter's echo client against `port` and checks its transcript.
fn good_echo_client(port: u16) {
    let lines =
        Running::portsock(["echo", "client", "--addr", &format!("127.0.0.1:{port}")]).finish_ok();
    assert_eq!(lines[1..], STREAM_CLIENT_LINES, "{lines:#?}");
}

/// Runs `binary send` with the chapter's record against `port`.
fn good_record_client(port: u16) {
    let lines =
        Running::portsock(["binary", "send", "--addr", &format!("127.0.0.1:{port}")]).finish_ok();
    assert_eq!(lines.last().map(String::as_str), Some("closing socket"));
}

#[test]
fn echo_server_serves_the_next_client_after_a_reset() {
    let mut server = Running::portsock(["echo", "server", "--addr", "127.0.0.1:0", "--count", "2"]);
    let port = server.wait_for_port();
    server.wait_for("waiting", |l| l == "waiting for a connection");
    reset_after(port, MESSAGE.as_bytes());
    // The server is back at accept once it logged the reset.
    server.wait_for("a second wait", |l| l == "waiting for a connection");
    good_echo_client(port);
    let done = server.finish();
    assert!(done.status.success(), "{done:?}");
    let served = done
        .stdout
        .iter()
        .filter(|l| l.starts_with("no data from ('127.0.0.1', "))
        .count();
    assert_eq!(served, 1, "the good client was served: {done:#?}");
    assert_eq!(done.stderr.lines().count(), 1, "{done:#?}");
    assert!(
        done.stderr.starts_with("connection from ('127.0.0.1', ") && done.stderr.contains("reset"),
        "one line names the client and the reset: {:?}",
        done.stderr
    );
}

#[test]
fn echo_server_drops_a_silent_client_after_its_read_timeout() {
    let mut server = Running::portsock([
        "echo",
        "server",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "2",
        "--read-timeout",
        "0.3",
    ]);
    let port = server.wait_for_port();
    let silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    server.wait_for("the silent client", |l| l.starts_with("connection from "));
    good_echo_client(port);
    drop(silent);
    let done = server.finish();
    assert!(done.status.success(), "{done:?}");
    assert!(done.stderr.contains("timed out"), "{:?}", done.stderr);
}

#[test]
fn binary_receive_serves_the_next_client_after_a_short_record() {
    let mut server =
        Running::portsock(["binary", "receive", "--addr", "127.0.0.1:0", "--count", "2"]);
    let port = server.wait_for_port();
    server.wait_for("waiting", |l| l == "waiting for a connection");
    // 5 of the record's 12 bytes, then a clean close.
    let mut short = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    short.write_all(&[1, 0, 0, 0, b'a']).expect("send");
    drop(short);
    server.wait_for("a second wait", |l| l == "waiting for a connection");
    good_record_client(port);
    let done = server.finish();
    assert!(done.status.success(), "{done:?}");
    assert_eq!(
        done.stdout.last().map(String::as_str),
        Some("unpacked: (1, b'ab', 2.700000047683716)"),
        "{done:#?}"
    );
    assert_eq!(done.stderr.lines().count(), 1, "{done:#?}");
    assert!(
        done.stderr.starts_with("connection from ('127.0.0.1', ")
            && done.stderr.contains("5 of 12 record bytes"),
        "one line names the client and what was missing: {:?}",
        done.stderr
    );
}

#[test]
fn binary_receive_times_out_a_held_open_partial_record() {
    let mut server = Running::portsock([
        "binary",
        "receive",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "2",
        "--read-timeout",
        "0.3",
    ]);
    let port = server.wait_for_port();
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stalled.write_all(&[1, 0, 0]).expect("send");
    // Held open until the next client is served: before, the server waited on it forever.
    good_record_client(port);
    let done = server.finish();
    drop(stalled);
    assert!(done.status.success(), "{done:?}");
    assert_eq!(
        done.stdout.last().map(String::as_str),
        Some("unpacked: (1, b'ab', 2.700000047683716)"),
        "{done:#?}"
    );
    assert!(
        done.stderr.contains("timed out"),
        "the stalled client's line: {:?}",
        done.stderr
    );
}

/// A Unix socket path in a fresh directory (kept alive by the returned guard).
fn unix_path() -> (tempfile::TempDir, String) {
    let dir = common::open_tempdir();
    let path = dir.path().join("uds_socket");
    let path = path.to_str().expect("utf-8 path").to_owned();
    (dir, path)
}

fn is_socket(path: &str) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn unix_server_removes_its_own_node_when_it_is_done() {
    let (_dir, path) = unix_path();
    let mut server = Running::portsock([
        "echo", "server", "--proto", "unix", "--path", &path, "--count", "1",
    ]);
    server.wait_for("waiting", |l| l == "waiting for a connection");
    let client = Running::portsock(["echo", "client", "--proto", "unix", "--path", &path]);
    client.finish_ok();
    server.finish_ok();
    assert!(!is_socket(&path), "the node outlived its server");
}

#[test]
fn a_node_replaced_by_another_server_outlives_the_first() {
    for concurrent in [false, true] {
        let (_dir, path) = unix_path();
        let mut argv = vec![
            "echo", "server", "--proto", "unix", "--path", &path, "--count", "1",
        ];
        if concurrent {
            argv.push("--concurrent");
        }
        let mut a = Running::portsock(&argv);
        a.wait_for("waiting", |l| l.starts_with("waiting for"));
        // A's one client, held while B takes the path over (the chapter's way: unlink, bind).
        let held = std::os::unix::net::UnixStream::connect(&path).expect("connect to A");
        a.wait_for("the held client", |l| l.starts_with("connection from"));
        std::fs::remove_file(&path).expect("unlink A's node");
        let mut b = Running::portsock([
            "echo", "server", "--proto", "unix", "--path", &path, "--count", "1",
        ]);
        b.wait_for("waiting", |l| l == "waiting for a connection");
        drop(held);
        let a_done = a.finish();
        assert!(a_done.status.success(), "{a_done:?}");
        assert!(
            is_socket(&path),
            "A (concurrent: {concurrent}) removed B's node at exit"
        );
        let client = Running::portsock(["echo", "client", "--proto", "unix", "--path", &path]);
        assert_eq!(client.finish_ok()[1..], STREAM_CLIENT_LINES);
        b.finish_ok();
    }
}

#[test]
fn a_one_shot_server_survives_a_second_servers_stale_probe() {
    let (_dir, path) = unix_path();
    let mut a = Running::portsock([
        "echo", "server", "--proto", "unix", "--path", &path, "--count", "1",
    ]);
    a.wait_for("waiting", |l| l == "waiting for a connection");
    let b = Running::portsock(["echo", "server", "--proto", "unix", "--path", &path]).finish();
    assert_eq!(b.status.code(), Some(1), "{b:?}");
    assert!(b.stderr.contains("in use"), "{:?}", b.stderr);
    // A's one client is this one, not B's probe.
    let client = Running::portsock(["echo", "client", "--proto", "unix", "--path", &path]);
    assert_eq!(client.finish_ok()[1..], STREAM_CLIENT_LINES);
    let lines = a.finish_ok();
    let connections = lines
        .iter()
        .filter(|l| l.starts_with("connection from"))
        .count();
    assert_eq!(connections, 1, "{lines:#?}");
    assert!(
        lines.iter().any(|l| l == "received b' repeated.'"),
        "{lines:#?}"
    );
}
