//! The examples, run as the programs they are: each server with its client, each against a
//! CPython peer written here, with every line they print checked against the chapter's (with
//! this run's addresses and ports).
//!
//! The example binaries are not built by this file: `cargo test` builds every example before
//! it runs any test, into `target/<profile>/examples/`, next to this test's own directory. A
//! run of this file alone (`cargo test --test examples`) needs `cargo build --examples` first;
//! a missing binary fails the test with that advice.
//!
//! Everything stays on this machine: TCP and UDP on 127.0.0.1 (ports the system picked as
//! free), Unix sockets in temporary directories, multicast joined and sent on the loopback.
//! The one server that binds every address (`socket_echo_server_any`) runs in a private
//! network namespace whose only interface is its own loopback. Every process is killed if a
//! test fails ([`Program`]'s `Drop`).
#![cfg(feature = "std")]

#[path = "examples/harness.rs"]
mod harness;
#[path = "examples/peers.rs"]
mod peers;

use std::process::Command;
use std::time::{Duration, Instant};

use harness::{
    Program, example, example_path, free_tcp_port, free_udp_port, privileged, python, run,
};
use peers::{
    PY_BINARY_CLIENT, PY_BINARY_SERVER, PY_DGRAM_CLIENT, PY_DGRAM_SERVER, PY_STREAM_CLIENT,
    PY_STREAM_SERVER,
};

/// The chapter's message, as the programs print and send it.
const MESSAGE: &str = "This is the message.  It will be repeated.";
/// The message in 16-byte reads, as `recv(16)` returns it.
const CHUNKS: [&str; 3] = [
    "b'This is the mess'",
    "b'age.  It will be'",
    "b' repeated.'",
];
/// The chapter's binary record, hexlified, and its values unpacked.
const RECORD_HEX: &str = "b'0100000061620000cdcc2c40'";
const UNPACKED: &str = "(1, b'ab', 2.700000047683716)";

// ---------------------------------------------------------------------------------------------
// TCP

#[test]
fn tcp_echo_server_serves_the_client_then_the_easy_client() {
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "socket_echo_server",
        example("socket_echo_server").args(["localhost", &port, "--count", "2"]),
    );
    server.wait_for("waiting for a connection");

    let client = run(
        "socket_echo_client",
        example("socket_echo_client").args(["localhost", &port]),
    );
    let mut expected = vec![format!("connecting to localhost port {port}")];
    expected.extend(echo_client_lines());
    expected.push("closing socket".into());
    client.assert_lines(&expected);
    assert_eq!(client.received(), MESSAGE);

    server.wait_for("waiting for a connection");
    let easy = run(
        "socket_echo_client_easy",
        example("socket_echo_client_easy").args(["localhost", &port]),
    );
    let mut expected: Vec<String> = ["Family  : AF_INET", "Type    : SOCK_STREAM"]
        .into_iter()
        .chain(["Protocol: IPPROTO_TCP", ""])
        .map(String::from)
        .collect();
    expected.extend(echo_client_lines());
    expected.push("closing socket".into());
    easy.assert_lines(&expected);

    let server = server.finish();
    let first = peer_port(&server.lines, 2, "connection from ('127.0.0.1', ");
    let second = peer_port(&server.lines, 12, "connection from ('127.0.0.1', ");
    let mut expected = vec![
        format!("starting up on localhost port {port}"),
        "waiting for a connection".into(),
    ];
    expected.extend(echo_server_connection(&format!("('127.0.0.1', {first})")));
    expected.push("waiting for a connection".into());
    expected.extend(echo_server_connection(&format!("('127.0.0.1', {second})")));
    server.assert_lines(&expected);
    assert_eq!(server.received(), MESSAGE.repeat(2));
}

/// README.md's `std::net`-style client (`examples/std_net_style.rs`): `io::copy` of its stdin
/// into the stream, the echo from the chapter's server back on its stdout, every byte.
#[test]
fn std_net_style_client_copies_stdin_through_the_echo_server() {
    use std::io::Write as _;
    use std::process::Stdio;

    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "socket_echo_server",
        example("socket_echo_server").args(["127.0.0.1", &port, "--count", "1"]),
    );
    server.wait_for("waiting for a connection");

    // More than a socket buffer's worth would be in flight at once, and not text.
    let input: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut client = example("std_net_style")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start std_net_style");
    let mut stdin = client.stdin.take().expect("piped stdin");
    let feed = {
        let input = input.clone();
        std::thread::spawn(move || stdin.write_all(&input))
    };
    // The client gives up by itself (its connect and read timeouts) if the server never answers.
    let out = client.wait_with_output().expect("std_net_style's output");
    feed.join().expect("stdin writer").expect("stdin taken");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_eq!(
        stderr.trim_end(),
        format!("sent {0} bytes, {0} came back", input.len())
    );
    assert!(out.stdout == input, "the echo differs from what was sent");
    let server = server.finish();
    assert!(server.status.success(), "{}", server.report());
}

#[test]
fn tcp_explicit_server_and_client() {
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "socket_echo_server_explicit",
        example("socket_echo_server_explicit").args(["127.0.0.1", &port, "--once"]),
    );
    server.wait_for("waiting for a connection");
    let client = run(
        "socket_echo_client_explicit",
        example("socket_echo_client_explicit").args(["127.0.0.1", &port]),
    );
    let mut expected = vec![format!("connecting to 127.0.0.1 port {port}")];
    expected.extend(echo_client_lines());
    client.assert_lines(&expected);

    let server = server.finish();
    let peer = peer_port(&server.lines, 2, "client connected: ('127.0.0.1', ");
    server.assert_lines(&explicit_server_lines(
        &format!("starting up on 127.0.0.1 port {port}"),
        peer,
    ));
    assert_eq!(server.received(), MESSAGE);
}

#[test]
fn tcp_any_server_in_a_private_network_namespace() {
    // Binding every address is only safe where the loopback is the only interface: a network
    // namespace of its own. There the chapter's port 10000 is free, too.
    if !privileged("unshare --net needs root (or user namespaces)") {
        return;
    }
    let mut namespace = Command::new("unshare");
    namespace
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(example_path("socket_echo_server_any"))
        .arg("--once");
    let mut server = Program::start("socket_echo_server_any", &mut namespace);
    server.wait_for("waiting for a connection");

    let mut enter = Command::new("nsenter");
    enter
        .arg(format!("--net=/proc/{}/ns/net", server.id()))
        .arg("--")
        .arg(example_path("socket_echo_client_explicit"))
        .arg("127.0.0.1");
    let client = run("socket_echo_client_explicit", &mut enter);
    let mut expected = vec!["connecting to 127.0.0.1 port 10000".to_owned()];
    expected.extend(echo_client_lines());
    client.assert_lines(&expected);

    let server = server.finish();
    let peer = peer_port(&server.lines, 2, "client connected: ('127.0.0.1', ");
    server.assert_lines(&explicit_server_lines(
        "starting up on 0.0.0.0 port 10000",
        peer,
    ));
}

#[test]
fn python_client_against_the_tcp_echo_server() {
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "socket_echo_server",
        example("socket_echo_server").args(["127.0.0.1", &port, "--once"]),
    );
    server.wait_for("waiting for a connection");
    let python = run(
        "python client",
        python(PY_STREAM_CLIENT).args(["tcp", &port, MESSAGE]),
    );
    let client_port = python.value_after("client port ");
    python.assert_last_line(&format!("echoed b'{MESSAGE}'"));

    let server = server.finish();
    let mut expected = vec![
        format!("starting up on 127.0.0.1 port {port}"),
        "waiting for a connection".into(),
    ];
    expected.extend(echo_server_connection(&format!(
        "('127.0.0.1', {client_port})"
    )));
    server.assert_lines(&expected);
}

/// The chapter's echo server on edge-nal-std (core's `asynch::edge`): the chapter's client
/// and then CPython's, one after the other, with the same lines as `socket_echo_server`.
#[test]
fn edge_nal_echo_serves_the_client_then_python() {
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "edge_nal_echo",
        example("edge_nal_echo").args(["127.0.0.1", &port, "--count", "2"]),
    );
    server.wait_for("waiting for a connection");
    let client = run(
        "socket_echo_client",
        example("socket_echo_client").args(["127.0.0.1", &port]),
    );
    assert_eq!(client.received(), MESSAGE);

    server.wait_for("waiting for a connection");
    let python = run(
        "python client",
        python(PY_STREAM_CLIENT).args(["tcp", &port, MESSAGE]),
    );
    let python_port = python.value_after("client port ");
    python.assert_last_line(&format!("echoed b'{MESSAGE}'"));

    let server = server.finish();
    // The chapter's client does not print its port: take it from the server's line.
    let client = server.value_after("connection from ");
    assert!(client.starts_with("('127.0.0.1', "), "{client}");
    let mut expected = vec![
        format!("starting up on 127.0.0.1 port {port}"),
        "waiting for a connection".into(),
    ];
    expected.extend(echo_server_connection(&client));
    expected.push("waiting for a connection".into());
    expected.extend(echo_server_connection(&format!(
        "('127.0.0.1', {python_port})"
    )));
    server.assert_lines(&expected);
}

#[test]
fn tcp_echo_client_against_a_python_server() {
    let mut server = Program::start("python server", python(PY_STREAM_SERVER).args(["tcp", ""]));
    let port = server.wait_for_value("listening ");
    let client = run(
        "socket_echo_client",
        example("socket_echo_client").args(["127.0.0.1", &port]),
    );
    let mut expected = vec![format!("connecting to 127.0.0.1 port {port}")];
    expected.extend(echo_client_lines());
    expected.push("closing socket".into());
    client.assert_lines(&expected);
    server
        .finish()
        .assert_last_line(&format!("echoed b'{MESSAGE}'"));
}

// ---------------------------------------------------------------------------------------------
// TCP on tokio: the same machines under the async driver, a task per connection

#[test]
fn tokio_echo_server_serves_the_tokio_client_the_blocking_client_and_python() {
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "tokio_echo_server",
        example("tokio_echo_server").args(["127.0.0.1", &port, "--count", "3"]),
    );
    server.wait_for("waiting for a connection");
    let mut expected = vec![format!("connecting to 127.0.0.1 port {port}")];
    expected.extend(echo_client_lines());
    expected.push("closing socket".into());
    for name in ["tokio_echo_client", "socket_echo_client"] {
        let client = run(name, example(name).args(["127.0.0.1", &port]));
        client.assert_lines(&expected);
        assert_eq!(client.received(), MESSAGE);
    }
    let python = run(
        "python client",
        python(PY_STREAM_CLIENT).args(["tcp", &port, MESSAGE]),
    );
    let python_port = python.value_after("client port ");
    python.assert_last_line(&format!("echoed b'{MESSAGE}'"));

    // Each session runs in its own task, so the accept loop's "waiting for a connection" may
    // come amid a session's lines; every other line is in the chapter's order.
    let server = server.finish();
    assert!(server.status.success(), "{}", server.report());
    let waiting = server
        .lines
        .iter()
        .filter(|l| *l == "waiting for a connection");
    assert_eq!(waiting.count(), 3, "{}", server.report());
    let lines: Vec<&str> = server
        .lines
        .iter()
        .map(String::as_str)
        .filter(|l| *l != "waiting for a connection")
        .collect();
    let peers: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("connection from "))
        .collect();
    assert_eq!(peers.len(), 3, "{}", server.report());
    assert_eq!(peers[2], format!("('127.0.0.1', {python_port})"));
    let mut expected = vec![format!("starting up on 127.0.0.1 port {port}")];
    for peer in &peers {
        expected.extend(echo_server_connection(peer));
    }
    assert_eq!(lines, expected, "{}", server.report());
}

#[test]
fn tokio_echo_client_against_a_python_server() {
    let mut server = Program::start("python server", python(PY_STREAM_SERVER).args(["tcp", ""]));
    let port = server.wait_for_value("listening ");
    let client = run(
        "tokio_echo_client",
        example("tokio_echo_client").args(["127.0.0.1", &port]),
    );
    let mut expected = vec![format!("connecting to 127.0.0.1 port {port}")];
    expected.extend(echo_client_lines());
    expected.push("closing socket".into());
    client.assert_lines(&expected);
    server
        .finish()
        .assert_last_line(&format!("echoed b'{MESSAGE}'"));
}

/// Connects to 127.0.0.1:argv[1], says so, and sends argv[2] only once the file argv[3]
/// exists; then half-closes and prints the echo.
const PY_IDLE_THEN_ECHO: &str = r#"
import os, socket, sys, time
port, message, go = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
s = socket.create_connection(('127.0.0.1', port))
print('connected', flush=True)
deadline = time.monotonic() + 10
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit('no go file within 10 s')
    time.sleep(0.01)
s.sendall(message)
s.shutdown(socket.SHUT_WR)
echoed = b''
while True:
    part = s.recv(4096)
    if not part:
        break
    echoed += part
print('echoed', repr(echoed))
"#;

#[test]
fn tokio_echo_server_serves_clients_at_once() {
    // A client that connects and sends nothing does not hold up the next one (the blocking
    // socket_echo_server would serve the second only after the first).
    let port = free_tcp_port().to_string();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let go = dir.path().join("go");
    let mut server = Program::start(
        "tokio_echo_server",
        example("tokio_echo_server").args(["127.0.0.1", &port, "--count", "2"]),
    );
    server.wait_for("waiting for a connection");
    let mut idle = Program::start(
        "idle python client",
        python(PY_IDLE_THEN_ECHO)
            .args([port.as_str(), MESSAGE])
            .arg(&go),
    );
    idle.wait_for("connected");
    server.wait_for("waiting for a connection"); // the idle client was accepted
    let client = run(
        "tokio_echo_client",
        example("tokio_echo_client").args(["127.0.0.1", &port]),
    );
    assert_eq!(client.received(), MESSAGE, "{}", client.report());
    std::fs::write(&go, b"").expect("the go file");
    idle.finish()
        .assert_last_line(&format!("echoed b'{MESSAGE}'"));
    let server = server.finish();
    assert!(server.status.success(), "{}", server.report());
}

// ---------------------------------------------------------------------------------------------
// UDP

#[test]
fn udp_echo_server_and_client() {
    let port = free_udp_port().to_string();
    let mut server = Program::start(
        "socket_echo_server_dgram",
        example("socket_echo_server_dgram").args(["localhost", &port, "--once"]),
    );
    server.wait_for("waiting to receive message");
    let client = run(
        "socket_echo_client_dgram",
        example("socket_echo_client_dgram").args(["localhost", &port]),
    );
    client.assert_lines(&dgram_client_lines());

    let server = server.finish();
    let peer = peer_port(&server.lines, 3, "received 42 bytes from ('127.0.0.1', ");
    server.assert_lines(&dgram_server_lines(
        &format!("starting up on localhost port {port}"),
        peer,
    ));
}

#[test]
fn python_client_against_the_udp_echo_server() {
    let port = free_udp_port().to_string();
    let mut server = Program::start(
        "socket_echo_server_dgram",
        example("socket_echo_server_dgram").args(["127.0.0.1", &port, "--once"]),
    );
    server.wait_for("waiting to receive message");
    let python = run(
        "python client",
        python(PY_DGRAM_CLIENT).args([&port, MESSAGE]),
    );
    let client_port: u16 = python.value_after("client port ").parse().expect("a port");
    python.assert_last_line(&format!("echoed b'{MESSAGE}' from ('127.0.0.1', {port})"));
    server.finish().assert_lines(&dgram_server_lines(
        &format!("starting up on 127.0.0.1 port {port}"),
        client_port,
    ));
}

#[test]
fn udp_echo_client_against_a_python_server() {
    let mut server = Program::start("python server", &mut python(PY_DGRAM_SERVER));
    let port = server.wait_for_value("listening ");
    let client = run(
        "socket_echo_client_dgram",
        example("socket_echo_client_dgram").args(["127.0.0.1", &port]),
    );
    client.assert_lines(&dgram_client_lines());
    let server = server.finish();
    let last = server.lines.last().cloned().unwrap_or_default();
    let expected = format!("echoed b'{MESSAGE}' to ('127.0.0.1', ");
    assert!(last.starts_with(&expected), "{}", server.report());
}

// ---------------------------------------------------------------------------------------------
// Unix sockets

#[test]
fn uds_echo_server_and_client_twice_in_one_directory() {
    // The default path, ./uds_socket, in a directory of its own. The second server finds the
    // first one's socket file still there and replaces it, as the chapter's unlink does.
    let dir = tempfile::tempdir().expect("a temporary directory");
    for round in 0..2 {
        let mut server = Program::start(
            "socket_echo_server_uds",
            example("socket_echo_server_uds")
                .arg("--once")
                .current_dir(dir.path()),
        );
        server.wait_for("waiting for a connection");
        let client = run(
            "socket_echo_client_uds",
            example("socket_echo_client_uds").current_dir(dir.path()),
        );
        let mut expected = vec!["connecting to ./uds_socket".to_owned()];
        expected.extend(echo_client_lines());
        expected.push("closing socket".into());
        client.assert_lines(&expected);

        let server = server.finish();
        let mut expected = vec![
            "starting up on ./uds_socket".to_owned(),
            "waiting for a connection".into(),
        ];
        // The client has no address: Python prints an empty string after "from".
        expected.extend(echo_server_connection(""));
        server.assert_lines(&expected);
        assert!(dir.path().join("uds_socket").exists(), "round {round}");
    }
}

#[test]
fn uds_client_without_a_server_prints_the_error_and_exits_1() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("nobody_here");
    let client = Program::start(
        "socket_echo_client_uds",
        example("socket_echo_client_uds").arg(&path),
    )
    .finish();
    assert_eq!(client.status.code(), Some(1), "{}", client.report());
    assert_eq!(client.lines.len(), 2, "{}", client.report());
    assert_eq!(client.lines[0], format!("connecting to {}", path.display()));
    assert!(
        client.lines[1].contains("No such file or directory"),
        "{}",
        client.report()
    );
}

#[test]
fn python_client_against_the_uds_echo_server() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("uds_socket");
    let path_text = path.to_str().expect("a UTF-8 path");
    let mut server = Program::start(
        "socket_echo_server_uds",
        example("socket_echo_server_uds").args([path_text, "--once"]),
    );
    server.wait_for("waiting for a connection");
    let python = run(
        "python client",
        python(PY_STREAM_CLIENT).args(["unix", path_text, MESSAGE]),
    );
    python.assert_last_line(&format!("echoed b'{MESSAGE}'"));

    let mut expected = vec![
        format!("starting up on {path_text}"),
        "waiting for a connection".into(),
    ];
    expected.extend(echo_server_connection(""));
    server.finish().assert_lines(&expected);
}

#[test]
fn uds_echo_client_against_a_python_server() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("uds_socket");
    let path_text = path.to_str().expect("a UTF-8 path");
    let mut server = Program::start(
        "python server",
        python(PY_STREAM_SERVER).args(["unix", path_text]),
    );
    server.wait_for(&format!("listening {path_text}"));
    let client = run(
        "socket_echo_client_uds",
        example("socket_echo_client_uds").arg(path_text),
    );
    let mut expected = vec![format!("connecting to {path_text}")];
    expected.extend(echo_client_lines());
    expected.push("closing socket".into());
    client.assert_lines(&expected);
    server
        .finish()
        .assert_last_line(&format!("echoed b'{MESSAGE}'"));
}

#[test]
fn socketpair_parent_and_child() {
    let out = run("socket_socketpair", &mut example("socket_socketpair"));
    // Parent and child print concurrently: each one's lines in order, and the child's
    // message before the parent's response, which answers it.
    let position = |line: &str| {
        out.lines
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("no line {line:?}\n{}", out.report()))
    };
    assert_eq!(out.lines.len(), 4, "{}", out.report());
    let parent_sends = position("in parent, sending message");
    let child_waits = position("in child, waiting for message");
    let child_gets = position("message from parent: b'ping'");
    let parent_gets = position("response from child: b'pong'");
    assert!(parent_sends < parent_gets, "{}", out.report());
    assert!(child_waits < child_gets, "{}", out.report());
    assert!(child_gets < parent_gets, "{}", out.report());
}

// ---------------------------------------------------------------------------------------------
// Multicast, on the loopback

#[test]
fn multicast_sender_collects_the_acks_of_two_receivers_on_the_loopback() {
    let port = free_udp_port().to_string();
    let group = "224.3.29.71";
    let mut receivers: Vec<Program> = (0..2)
        .map(|_| {
            let mut receiver = Program::start(
                "socket_multicast_receiver",
                example("socket_multicast_receiver").args([group, &port, "--once"]),
            );
            receiver.wait_for("waiting to receive message");
            receiver
        })
        .collect();
    assert!(
        loopback_joined(group),
        "224.3.29.71 is not joined on lo:\n{}",
        std::fs::read_to_string("/proc/net/igmp").unwrap_or_default()
    );

    let sender = run(
        "socket_multicast_sender",
        example("socket_multicast_sender").args([group, &port]),
    );
    let ack = format!("received b'ack' from ('127.0.0.1', {port})");
    sender.assert_lines(&[
        "sending b'very important data'",
        "waiting to receive",
        &ack,
        "waiting to receive",
        &ack,
        "waiting to receive",
        "timed out, no more responses",
        "closing socket",
    ]);

    for receiver in &mut receivers {
        let receiver = receiver.finish();
        let from = peer_port(&receiver.lines, 2, "received 19 bytes from ('127.0.0.1', ");
        receiver.assert_lines(&[
            "".to_owned(),
            "waiting to receive message".into(),
            format!("received 19 bytes from ('127.0.0.1', {from})"),
            "b'very important data'".into(),
            format!("sending acknowledgement to ('127.0.0.1', {from})"),
        ]);
    }
}

// ---------------------------------------------------------------------------------------------
// Binary records

#[test]
fn binary_client_and_server() {
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "socket_binary_server",
        example("socket_binary_server").args(["localhost", &port, "--once"]),
    );
    server.wait_for("waiting for a connection");
    let client = run(
        "socket_binary_client",
        example("socket_binary_client").args(["localhost", &port]),
    );
    client.assert_lines(&[
        "values = (1, b'ab', 2.7)".to_owned(),
        format!("sending {RECORD_HEX}"),
        "closing socket".into(),
    ]);
    server.finish().assert_lines(&[
        "".to_owned(),
        "waiting for a connection".into(),
        format!("received {RECORD_HEX}"),
        format!("unpacked: {UNPACKED}"),
    ]);
}

#[test]
fn binary_records_interoperate_with_python_struct() {
    // Python packs, the example server unpacks.
    let port = free_tcp_port().to_string();
    let mut server = Program::start(
        "socket_binary_server",
        example("socket_binary_server").args(["127.0.0.1", &port, "--once"]),
    );
    server.wait_for("waiting for a connection");
    run("python client", python(PY_BINARY_CLIENT).arg(&port)).assert_lines::<&str>(&[]);
    server.finish().assert_lines(&[
        "".to_owned(),
        "waiting for a connection".into(),
        format!("received {RECORD_HEX}"),
        format!("unpacked: {UNPACKED}"),
    ]);

    // The example client packs, Python unpacks.
    let mut server = Program::start("python server", &mut python(PY_BINARY_SERVER));
    let port = server.wait_for_value("listening ");
    run(
        "socket_binary_client",
        example("socket_binary_client").args(["127.0.0.1", &port]),
    )
    .assert_last_line("closing socket");
    server
        .finish()
        .assert_last_line(&format!("unpacked {UNPACKED}"));
}

// ---------------------------------------------------------------------------------------------
// Non-blocking mode and timeouts, and bad input

#[test]
fn nonblocking_shows_timed_out_and_would_block_apart() {
    let started = Instant::now();
    let out = run("socket_nonblocking", &mut example("socket_nonblocking"));
    let waited = started.elapsed();
    let port = out.value_after("starting up on localhost port ");
    out.assert_lines(&[
        format!("starting up on localhost port {port}"),
        format!("connected to ('127.0.0.1', {port})"),
        "settimeout(0.2): recv(16) waits, then: TimedOut".into(),
        "setblocking(False): recv(16) at once: WouldBlock".into(),
        "setblocking(False): accept() at once: WouldBlock".into(),
        "echo over non-blocking sockets, one step at a time:".into(),
        format!("sending b'{MESSAGE}'"),
        format!("received {}", CHUNKS[0]),
        format!("received {}", CHUNKS[1]),
        format!("received {}", CHUNKS[2]),
        "closing socket".into(),
        format!("the server echoed {} bytes", MESSAGE.len()),
    ]);
    // The timed-out read really waited for its timeout.
    assert!(waited >= Duration::from_millis(195), "took {waited:?}");
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let cases: [(&str, &[&str], i32, &str); 6] = [
        (
            "socket_echo_server",
            &["--count"],
            2,
            "error: a value is required for '--count <N>'",
        ),
        (
            "socket_echo_server",
            &["localhost", "99999"],
            2,
            "error: invalid value '99999' for '[PORT]'",
        ),
        (
            "socket_echo_client",
            &["a", "1", "extra"],
            2,
            "error: unexpected argument 'extra'",
        ),
        (
            "socket_echo_server_explicit",
            &[],
            2,
            "error: the following required arguments were not provided:\n  <HOST>",
        ),
        (
            "socket_echo_server",
            &["--count", "2", "--once"],
            2,
            "error: the argument '--count <N>' cannot be used with '--once'",
        ),
        (
            "socket_multicast_sender",
            &["10.0.0.1", "1"],
            1,
            "Error: group 10.0.0.1: not a multicast address",
        ),
    ];
    for (name, args, code, message) in cases {
        let out = run(name, example(name).args(args));
        assert_eq!(out.status.code(), Some(code), "{}", out.report());
        assert!(out.stderr.starts_with(message), "{}", out.report());
    }
}

/// Each example's `--help`: what it does, its usage with its own name, and every argument and
/// option it takes with its default.
#[test]
fn every_example_has_real_help() {
    let server = [
        "[HOST]",
        "[default: localhost]",
        "[PORT]",
        "[default: 10000]",
    ];
    let count = ["--count <N>", "--once"];
    let group = [
        "[GROUP]",
        "[default: 224.3.29.71]",
        "--iface <ADDR>",
        "[default: 127.0.0.1]",
    ];
    let uds = ["[PATH]", "[default: ./uds_socket]"];
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "socket_echo_server",
            "The chapter's TCP echo server",
            [&server[..], &count].concat(),
        ),
        (
            "socket_echo_client",
            "The chapter's TCP echo client",
            server.to_vec(),
        ),
        (
            "socket_echo_client_easy",
            "create_connection",
            server.to_vec(),
        ),
        (
            "socket_echo_server_explicit",
            "sys.argv[1]",
            [&["<HOST>"][..], &count].concat(),
        ),
        (
            "socket_echo_client_explicit",
            "sys.argv[1]",
            vec!["<HOST>", "[PORT]"],
        ),
        (
            "socket_echo_server_any",
            "0.0.0.0",
            [&["[PORT]"][..], &count].concat(),
        ),
        (
            "socket_echo_server_dgram",
            "UDP echo server",
            [&server[..], &count].concat(),
        ),
        (
            "socket_echo_client_dgram",
            "UDP echo client",
            server.to_vec(),
        ),
        (
            "socket_echo_server_uds",
            "Unix-domain socket",
            [&uds[..], &count].concat(),
        ),
        ("socket_echo_client_uds", "Unix-domain socket", uds.to_vec()),
        ("socket_socketpair", "socketpair()", vec![]),
        (
            "socket_multicast_sender",
            "multicast sender",
            group.to_vec(),
        ),
        (
            "socket_multicast_receiver",
            "multicast receiver",
            [&group[..], &count].concat(),
        ),
        ("socket_binary_client", "'I 2s f'", server.to_vec()),
        (
            "socket_binary_server",
            "'I 2s f'",
            [&server[..], &count].concat(),
        ),
        (
            "socket_nonblocking",
            "non-blocking",
            vec!["[HOST]", "[PORT]", "[default: 0]"],
        ),
        ("edge_nal_echo", "edge-nal", [&server[..], &count].concat()),
        ("tokio_echo_server", "tokio", [&server[..], &count].concat()),
        ("tokio_echo_client", "tokio", server.to_vec()),
    ];
    for (name, about, mentions) in cases {
        let out = run(name, example(name).arg("--help"));
        assert_eq!(out.status.code(), Some(0), "{}", out.report());
        let first = out.lines.first().map_or("", String::as_str);
        assert!(
            first.contains(about),
            "{name}: {first:?} should say {about:?}"
        );
        let text = out.lines.join("\n");
        assert!(text.contains(&format!("Usage: {name}")), "{}", out.report());
        for want in mentions.iter().chain(&["-h, --help", "-V, --version"]) {
            assert!(text.contains(want), "{name}: no {want:?} in {text}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the programs print

/// The echo client's lines after connecting: the message sent, then the echo in 16-byte reads.
fn echo_client_lines() -> Vec<String> {
    let mut lines = vec![format!("sending b'{MESSAGE}'")];
    lines.extend(CHUNKS.iter().map(|c| format!("received {c}")));
    lines
}

/// `socket_echo_server`'s (and `_uds`'s) lines for one connection from `client`.
fn echo_server_connection(client: &str) -> Vec<String> {
    let mut lines = vec![format!("connection from {client}")];
    for chunk in CHUNKS {
        lines.push(format!("received {chunk}"));
        lines.push("sending data back to the client".into());
    }
    lines.push("received b''".into());
    lines.push(format!("no data from {client}"));
    lines
}

/// The explicit and any-address servers' lines for one connection from port `peer`.
fn explicit_server_lines(first: &str, peer: u16) -> Vec<String> {
    let mut lines = vec![
        first.to_owned(),
        "waiting for a connection".into(),
        format!("client connected: ('127.0.0.1', {peer})"),
    ];
    lines.extend(CHUNKS.iter().map(|c| format!("received {c}")));
    lines.push("received b''".into());
    lines
}

fn dgram_client_lines() -> Vec<String> {
    vec![
        format!("sending b'{MESSAGE}'"),
        "waiting to receive".into(),
        format!("received b'{MESSAGE}'"),
        "closing socket".into(),
    ]
}

fn dgram_server_lines(first: &str, peer: u16) -> Vec<String> {
    vec![
        first.to_owned(),
        String::new(),
        "waiting to receive message".into(),
        format!("received 42 bytes from ('127.0.0.1', {peer})"),
        format!("b'{MESSAGE}'"),
        format!("sent 42 bytes back to ('127.0.0.1', {peer})"),
    ]
}

/// The port in `lines[index]`, which must be `prefix`, a port and `)`.
fn peer_port(lines: &[String], index: usize, prefix: &str) -> u16 {
    let line = lines.get(index).map_or("", String::as_str);
    line.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("line {index} is not {prefix}PORT): {lines:#?}"))
}

/// Whether `group` is joined on the loopback interface, as `/proc/net/igmp` lists it.
fn loopback_joined(group: &str) -> bool {
    let octets: Vec<u8> = group.split('.').filter_map(|o| o.parse().ok()).collect();
    // The kernel prints the group's four bytes as a native-endian (here little-endian) word.
    let hex: String = octets.iter().rev().map(|o| format!("{o:02X}")).collect();
    let table = std::fs::read_to_string("/proc/net/igmp").expect("/proc/net/igmp");
    let mut on_lo = false;
    for line in table.lines().skip(1) {
        if !line.starts_with('\t') {
            on_lo = line.split_whitespace().nth(1) == Some("lo");
        } else if on_lo && line.split_whitespace().next() == Some(hex.as_str()) {
            return true;
        }
    }
    false
}
