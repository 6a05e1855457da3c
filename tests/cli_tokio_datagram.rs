//! `--runtime tokio` for the datagram programs: `echo server --proto udp` and `multicast
//! receive` on a tokio socket, with CPython peers, every datagram checked whole, and the same
//! lines as the mio runtime prints. Loopback only (multicast pinned to 127.0.0.1);
//! `python3` must be installed (`PORTSOCK_PYTHON` picks another).

mod common;

use std::process::Command;

use common::Running;

/// A Python peer: `python3 -u -c SCRIPT ARGS...`.
fn python(script: &str, args: &[&str]) -> Running {
    let interpreter = std::env::var("PORTSOCK_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(interpreter);
    cmd.arg("-u").arg("-c").arg(script).args(args);
    Running::spawn(cmd)
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
