//! TCP between a userspace stack ([`Stack`]) and the kernel over the TAP: the scenarios
//! `tests/smoltcp_tap_tcp.rs` and `tests/embassy_tap_tcp.rs` both run, each on its backend.

use super::{KERNEL_V4, KERNEL_V6, PY_ECHO_CLIENT, SMOL_V4, SMOL_V6, Stack, TapNet, started};
use crate::common::STREAM_CLIENT_LINES;

/// A CPython echo server (one connection; reads until end of stream, echoes as it goes).
pub const PY_ECHO_SERVER: &str = r#"
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

/// `HOST:PORT` with brackets for IPv6.
pub fn target(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// `portsock echo server` on `stack` (bound to `bind`, reached at `server_ip`) answers
/// portsock's std client and CPython (42 bytes, then 1 MiB: flow control both ways through the
/// stack's windows); all three come from the kernel's address, and the capture holds it all.
pub fn server_answers_the_kernel(stack: Stack, tag: &str, bind: &str, server_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let mut server = net.on(
        stack,
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
    // 3. CPython again with 1 MiB: flow control both ways through the stack's windows.
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

/// `portsock echo client` on `stack` reaches portsock's std server and CPython's (a
/// 60,000-byte message, every byte checked) at `kernel_ip`; where nothing listens, it and
/// `binary send` say where they tried, then why (`refused` is how the error line starts).
pub fn client_reaches_the_kernel(stack: Stack, tag: &str, kernel_ip: &str, refused: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let addr = target(kernel_ip, 10000);
    // 1. portsock's std server on the kernel's sockets.
    let mut server = net.kernel(&["echo", "server", "--addr", &addr, "--count", "1"]);
    started(&mut server);
    let lines = net
        .on(
            stack,
            &["echo", "client", "--addr", &addr, "--timeout", "10"],
            &[],
        )
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
        .on(
            stack,
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
    // 3. Nothing listens on 10002: the kernel resets the connection, and the client and
    // `binary send` say where they tried, then why, as the chapter's clients do.
    let nobody = target(kernel_ip, 10002);
    for args in [
        &["echo", "client", "--addr", &nobody, "--timeout", "10"][..],
        &["binary", "send", "--addr", &nobody][..],
    ] {
        let done = net.on(stack, args, &[]).finish();
        assert_eq!(done.status.code(), Some(1), "{args:?}: {}", done.stderr);
        assert_eq!(
            done.stdout,
            [format!("connecting to {kernel_ip} port 10002")]
        );
        assert!(
            done.stderr.starts_with(refused) && done.stderr.lines().count() == 1,
            "{args:?}: {}",
            done.stderr
        );
    }
}

/// `echo server --concurrent --count N` on `stack`: `clients` CPython clients at once, `size`
/// bytes each, every byte checked; the server served `clients` connections. Its lines.
pub fn concurrent_server_serves(
    net: &TapNet,
    stack: Stack,
    clients: usize,
    size: usize,
) -> Vec<String> {
    let count = clients.to_string();
    let mut server = net.on(
        stack,
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--concurrent",
            "--count",
            &count,
            "--chunk",
            "4096",
        ],
        &[],
    );
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    net.link_up();
    let size = size.to_string();
    let running: Vec<_> = (0..clients)
        .map(|_| net.python(PY_ECHO_CLIENT, &[SMOL_V4, "10000", &size]))
        .collect();
    for client in running {
        assert_eq!(client.finish_ok(), [format!("ok {size}")]);
    }
    let lines = server.finish_ok();
    let served = lines
        .iter()
        .filter(|l| l.starts_with("connection from"))
        .count();
    assert_eq!(served, clients, "{lines:#?}");
    lines
}
