//! CPython's `socket` and `struct` modules as the real peer, in both directions: a Python
//! client against a `portsock` server and a `portsock` client against a Python server, for
//! TCP, UDP, Unix stream sockets, multicast on the loopback and binary records; and the
//! chapter's socketpair program across a real `fork`.
//!
//! The Python peers are written here, small, in the chapter's style. Servers bind port 0 and
//! print `port N` (or `ready`) once they listen. Everything runs on 127.0.0.1 or in a
//! temporary directory. `python3` must be installed (`scripts/test` installs it); set
//! `PORTSOCK_PYTHON` to use another interpreter.

mod common;

use std::process::Command;

use common::{MESSAGE, Running, STREAM_CLIENT_LINES, open_tempdir, stream_server_lines};

/// A Python peer: `python3 -u -c SCRIPT ARGS...`.
fn python(script: &str, args: &[&str]) -> Running {
    let interpreter = std::env::var("PORTSOCK_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(interpreter);
    cmd.arg("-u").arg("-c").arg(script).args(args);
    Running::spawn(cmd)
}

/// The port a Python server printed as `port N`.
fn python_port(server: &mut Running) -> String {
    let line = server.wait_for("port N", |l| l.starts_with("port "));
    line["port ".len()..].to_owned()
}

/// The chapter's stream client: send the message, read 16 bytes at a time until it is back.
/// Arguments: `inet PORT` or `unix PATH`.
const STREAM_CLIENT: &str = include_str!("python/stream_client.py");

/// The chapter's stream server, for one connection: echo 16 bytes at a time until the client
/// closes. Arguments: `inet` (binds 127.0.0.1 port 0) or `unix PATH`.
const STREAM_SERVER: &str = r#"
import socket, sys
if sys.argv[1] == 'unix':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(sys.argv[2])
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
sock.listen(1)
print('port', sock.getsockname()[1] if sys.argv[1] == 'inet' else 0)
sock.settimeout(10)
connection, client_address = sock.accept()
connection.settimeout(10)
total = b''
while True:
    data = connection.recv(16)
    if not data:
        break
    total += data
    connection.sendall(data)
connection.close()
print('echoed {!r}'.format(total))
"#;

#[test]
fn tcp_python_client_to_portsock_server() {
    let mut server = Running::portsock(["echo", "server", "--addr", "localhost:0", "--count", "1"]);
    let port = server.wait_for_port().to_string();
    let client = python(STREAM_CLIENT, &["inet", &port]);
    assert_eq!(
        client.finish_ok(),
        [
            "received b'This is the mess'",
            "received b'age.  It will be'",
            "received b' repeated.'",
            "echo ok",
        ]
    );
    let lines = server.finish_ok();
    let peer = lines[2].trim_start_matches("connection from ");
    assert_eq!(lines[1..], stream_server_lines(peer)[..]);
}

#[test]
fn tcp_portsock_client_to_python_server() {
    let mut server = python(STREAM_SERVER, &["inet"]);
    let port = python_port(&mut server);
    let client = Running::portsock(["echo", "client", "--addr", &format!("127.0.0.1:{port}")]);
    let mut expected = vec![format!("connecting to 127.0.0.1 port {port}")];
    expected.extend(STREAM_CLIENT_LINES.map(String::from));
    assert_eq!(client.finish_ok(), expected);
    assert_eq!(server.finish_ok()[1], format!("echoed b'{MESSAGE}'"));
}

#[test]
fn unix_python_client_to_portsock_server() {
    let dir = open_tempdir();
    let path = dir.path().join("uds_socket");
    let path = path.to_str().expect("utf-8 path");
    let mut server = Running::portsock([
        "echo", "server", "--proto", "unix", "--path", path, "--count", "1",
    ]);
    server.wait_for("waiting for a connection", |l| {
        l == "waiting for a connection"
    });
    let client = python(STREAM_CLIENT, &["unix", path]);
    assert_eq!(
        client.finish_ok().last().map(String::as_str),
        Some("echo ok")
    );
    let mut expected = vec![format!("starting up on {path}")];
    expected.extend(stream_server_lines(""));
    assert_eq!(server.finish_ok(), expected);
}

#[test]
fn unix_portsock_client_to_python_server() {
    let dir = open_tempdir();
    let path = dir.path().join("uds_socket");
    let path = path.to_str().expect("utf-8 path");
    let mut server = python(STREAM_SERVER, &["unix", path]);
    python_port(&mut server);
    let client = Running::portsock(["echo", "client", "--proto", "unix", "--path", path]);
    let mut expected = vec![format!("connecting to {path}")];
    expected.extend(STREAM_CLIENT_LINES.map(String::from));
    assert_eq!(client.finish_ok(), expected);
    assert_eq!(server.finish_ok()[1], format!("echoed b'{MESSAGE}'"));
}

#[test]
fn udp_python_client_to_portsock_server() {
    let client_script = r#"
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(10)
message = b'This is the message.  It will be repeated.'
sock.sendto(message, ('localhost', int(sys.argv[1])))
data, server = sock.recvfrom(4096)
print('received {!r}'.format(data))
print('from port', server[1])
print('client port', sock.getsockname()[1])
"#;
    let mut server = Running::portsock([
        "echo",
        "server",
        "--proto",
        "udp",
        "--addr",
        "localhost:0",
        "--count",
        "1",
    ]);
    let port = server.wait_for_port();
    server.wait_for("waiting to receive message", |l| {
        l == "waiting to receive message"
    });
    let lines = python(client_script, &[&port.to_string()]).finish_ok();
    assert_eq!(
        lines[..2],
        [
            format!("received b'{MESSAGE}'"),
            format!("from port {port}")
        ]
    );
    let peer = format!(
        "('127.0.0.1', {})",
        lines[2].trim_start_matches("client port ")
    );
    assert_eq!(
        server.finish_ok()[3..],
        [
            format!("received 42 bytes from {peer}"),
            format!("b'{MESSAGE}'"),
            format!("sent 42 bytes back to {peer}"),
        ]
    );
}

#[test]
fn udp_portsock_client_to_python_server() {
    let server_script = r#"
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(('127.0.0.1', 0))
print('port', sock.getsockname()[1])
sock.settimeout(10)
data, address = sock.recvfrom(4096)
sock.sendto(data, address)
print('echoed {!r}'.format(data))
"#;
    let mut server = python(server_script, &[]);
    let port = python_port(&mut server);
    let client = Running::portsock([
        "echo",
        "client",
        "--proto",
        "udp",
        "--addr",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(
        client.finish_ok(),
        [
            format!("sending b'{MESSAGE}'"),
            "waiting to receive".into(),
            format!("received b'{MESSAGE}'"),
            "closing socket".into(),
        ]
    );
    assert_eq!(server.finish_ok()[1], format!("echoed b'{MESSAGE}'"));
}

#[test]
fn multicast_python_receiver_acks_portsock_sender() {
    // The chapter's receiver, joined on the loopback (interface 127.0.0.1), not INADDR_ANY.
    let receiver_script = r#"
import socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(('', 0))
mreq = struct.pack('4s4s', socket.inet_aton('224.3.29.71'), socket.inet_aton('127.0.0.1'))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
sock.settimeout(10)
print('port', sock.getsockname()[1])
data, address = sock.recvfrom(1024)
print('received {!r}'.format(data))
sock.sendto(b'ack', address)
"#;
    let mut receiver = python(receiver_script, &[]);
    let port = python_port(&mut receiver);
    let lines =
        Running::portsock(["multicast", "send", "--port", &port, "--timeout", "0.5"]).finish_ok();
    let ack = format!("received b'ack' from ('127.0.0.1', {port})");
    assert_eq!(
        lines,
        [
            "sending b'very important data'",
            "waiting to receive",
            &ack,
            "waiting to receive",
            "timed out, no more responses",
            "closing socket",
        ]
    );
    assert_eq!(receiver.finish_ok()[1], "received b'very important data'");
}

#[test]
fn multicast_portsock_receiver_acks_python_sender() {
    // The chapter's sender, with the outgoing interface pinned to the loopback.
    let sender_script = r#"
import socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.5)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack('b', 1))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))
sock.sendto(b'very important data', ('224.3.29.71', int(sys.argv[1])))
while True:
    try:
        data, server = sock.recvfrom(16)
    except socket.timeout:
        print('timed out, no more responses')
        break
    else:
        print('received {!r} from {}'.format(data, server))
"#;
    let mut receiver = Running::portsock(["multicast", "receive", "--port", "0", "--count", "1"]);
    let port = receiver.wait_for_port().to_string();
    receiver.wait_for("waiting to receive message", |l| {
        l == "waiting to receive message"
    });
    let lines = python(sender_script, &[&port]).finish_ok();
    assert_eq!(
        lines,
        [
            format!("received b'ack' from ('127.0.0.1', {port})"),
            "timed out, no more responses".into(),
        ]
    );
    let lines = receiver.finish_ok();
    assert_eq!(lines[4], "b'very important data'");
    assert!(lines[5].starts_with("sending acknowledgement to ('127.0.0.1', "));
}

/// A Python record receiver: accept one connection, read one record of format `argv[1]`,
/// print its values as `print(tuple)` does.
const RECORD_SERVER: &str = r#"
import socket, struct, sys
unpacker = struct.Struct(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(('127.0.0.1', 0))
sock.listen(1)
print('port', sock.getsockname()[1])
sock.settimeout(10)
connection, client_address = sock.accept()
connection.settimeout(10)
data = b''
while len(data) < unpacker.size:
    chunk = connection.recv(unpacker.size - len(data))
    if not chunk:
        break
    data += chunk
connection.close()
print('unpacked:', unpacker.unpack(data))
"#;

/// A Python record sender: pack `argv[3:]` (evaluated as Python literals) with format `argv[2]`
/// and send it to port `argv[1]`; print what was packed, as `unpack` sees it.
const RECORD_CLIENT: &str = include_str!("python/record_client.py");

#[test]
fn binary_records_portsock_to_python_struct() {
    for (format, values, expected) in [
        ("I 2s f", &[][..], "(1, b'ab', 2.700000047683716)"),
        ("!h d 3s", &["-5", "0.1", "xyz"][..], "(-5, 0.1, b'xyz')"),
        (
            "<q ? e",
            &["-0x8000000000000000", "True", "1.5"][..],
            "(-9223372036854775808, True, 1.5)",
        ),
    ] {
        let mut server = python(RECORD_SERVER, &[format]);
        let port = python_port(&mut server);
        let mut argv = vec!["binary", "send", "--addr"];
        let addr = format!("127.0.0.1:{port}");
        argv.extend([addr.as_str(), "--format", format]);
        argv.extend(values);
        let lines = Running::portsock(&argv).finish_ok();
        assert_eq!(
            lines.last().map(String::as_str),
            Some("closing socket"),
            "{format}"
        );
        assert_eq!(
            server.finish_ok()[1],
            format!("unpacked: {expected}"),
            "{format}"
        );
    }
}

#[test]
fn binary_records_python_struct_to_portsock() {
    for (format, values, expected) in [
        (
            "I 2s f",
            &["1", "b'ab'", "2.7"][..],
            "(1, b'ab', 2.700000047683716)",
        ),
        (
            "<q ? e 5p",
            &["-9223372036854775808", "True", "1.5", "b'hi'"][..],
            "(-9223372036854775808, True, 1.5, b'hi')",
        ),
        (">H x d", &["65535", "-0.0"][..], "(65535, -0.0)"),
    ] {
        let mut server = Running::portsock([
            "binary",
            "receive",
            "--addr",
            "127.0.0.1:0",
            "--count",
            "1",
            "--format",
            format,
        ]);
        let port = server.wait_for_port().to_string();
        server.wait_for("waiting for a connection", |l| {
            l == "waiting for a connection"
        });
        let mut args = vec![port.as_str(), format];
        args.extend(values);
        let sent = python(RECORD_CLIENT, &args).finish_ok();
        assert_eq!(sent, [format!("sent: {expected}")], "{format}");
        let lines = server.finish_ok();
        assert!(lines[3].starts_with("received b'"), "{lines:?}");
        assert_eq!(lines[4], format!("unpacked: {expected}"), "{format}");
    }
}

#[test]
fn socketpair_across_fork() {
    let lines = Running::portsock(["socketpair"]).finish_ok();
    assert_eq!(
        lines,
        [
            "in parent, sending message",
            "in child, waiting for message",
            "message from parent: b'ping'",
            "response from child: b'pong'",
        ]
    );
}
