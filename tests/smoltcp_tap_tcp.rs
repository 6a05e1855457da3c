//! TCP between the smoltcp stack and the kernel over a TAP device (see `tests/common/tap.rs`):
//! the chapter's echo server and client on smoltcp against portsock's std backend and CPython,
//! IPv4 and IPv6, and a client reaching another network through `--gateway`.

mod common;

use common::STREAM_CLIENT_LINES;
use common::tap::{KERNEL_V4, KERNEL_V6, PY_ECHO_CLIENT, SMOL_V4, SMOL_V6, TapNet, run, started};

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

fn smoltcp_tcp_server_answers_the_kernel(tag: &str, bind: &str, server_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let mut server = net.smoltcp(
        &[
            "echo", "server", "--addr", bind, "--count", "3", "--chunk", "4096",
        ],
        &["--pcap", net.file("server.pcap").to_str().unwrap()],
    );
    started(&mut server);
    let target = if server_ip.contains(':') {
        format!("[{server_ip}]:10000")
    } else {
        format!("{server_ip}:10000")
    };
    // 1. portsock's std client: the chapter's lines, every byte verified by the client machine.
    let lines = net
        .kernel(&["echo", "client", "--addr", &target, "--timeout", "10"])
        .finish_ok();
    assert_eq!(lines[0], format!("connecting to {server_ip} port 10000"));
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    // 2. CPython, the chapter's way, 16 bytes per recv.
    let py = net
        .python(PY_ECHO_CLIENT, &[server_ip, "10000", "42"])
        .finish_ok();
    assert_eq!(py, ["ok 42"]);
    // 3. CPython again with 1 MiB: flow control both ways through smoltcp's windows.
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
fn tcp_smoltcp_server_kernel_clients_ipv4() {
    smoltcp_tcp_server_answers_the_kernel("t4", ":10000", SMOL_V4);
}

#[test]
fn tcp_smoltcp_server_kernel_clients_ipv6() {
    smoltcp_tcp_server_answers_the_kernel("t6", "[::]:10000", SMOL_V6);
}

fn smoltcp_tcp_client_reaches_the_kernel(tag: &str, kernel_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let target = if kernel_ip.contains(':') {
        format!("[{kernel_ip}]:10000")
    } else {
        format!("{kernel_ip}:10000")
    };
    // 1. portsock's std server on the kernel's sockets.
    let mut server = net.kernel(&["echo", "server", "--addr", &target, "--count", "1"]);
    started(&mut server);
    let lines = net
        .smoltcp(
            &["echo", "client", "--addr", &target, "--timeout", "10"],
            &[],
        )
        .finish_ok();
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    let served = server.finish_ok();
    let smol = if kernel_ip.contains(':') {
        SMOL_V6
    } else {
        SMOL_V4
    };
    assert!(
        served
            .iter()
            .any(|l| l.starts_with(&format!("connection from ('{smol}'"))),
        "{served:#?}"
    );
    // 2. CPython's server, a 60,000-byte message (every byte checked by portsock's client).
    let mut py = net.python(PY_ECHO_SERVER, &[kernel_ip, "10001"]);
    py.wait_for("listening", |l| l == "listening");
    let message: String = (0..60_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let target = target.replace(":10000", ":10001");
    let lines = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--addr",
                &target,
                "--chunk",
                "4096",
                "--message",
                &message,
            ],
            &[],
        )
        .finish_ok();
    assert_eq!(lines.last().unwrap(), "closing socket");
    let received: usize = lines
        .iter()
        .filter_map(|l| l.strip_prefix("received b'"))
        .map(|l| l.len() - 1)
        .sum();
    assert_eq!(received, 60_000);
    let py = py.finish_ok();
    assert_eq!(py.last().unwrap(), &format!("echoed 60000 from {smol}"));
    // 3. Nothing listens on 10002: the kernel resets the connection, and the client and
    // `binary send` say where they tried, then why, as the chapter's clients do.
    let target = target.replace(":10001", ":10002");
    for args in [
        &["echo", "client", "--addr", &target, "--timeout", "10"][..],
        &["binary", "send", "--addr", &target][..],
    ] {
        let done = net.smoltcp(args, &[]).finish();
        assert_eq!(done.status.code(), Some(1), "{args:?}: {}", done.stderr);
        assert_eq!(
            done.stdout,
            [format!("connecting to {kernel_ip} port 10002")]
        );
        assert!(
            done.stderr.starts_with("error: --addr ") && done.stderr.lines().count() == 1,
            "{args:?}: {}",
            done.stderr
        );
    }
}

#[test]
fn tcp_smoltcp_client_kernel_servers_ipv4() {
    smoltcp_tcp_client_reaches_the_kernel("c4", KERNEL_V4);
}

#[test]
fn tcp_smoltcp_client_kernel_servers_ipv6() {
    smoltcp_tcp_client_reaches_the_kernel("c6", KERNEL_V6);
}

/// `--gateway`: the kernel side also holds 10.77.0.1 on its loopback, a network the smoltcp
/// stack reaches only through its default route via 192.168.69.100.
#[test]
fn smoltcp_client_reaches_another_network_through_the_gateway() {
    let Some(net) = TapNet::new("gw") else { return };
    run(&[
        "ip",
        "-n",
        &net.ns,
        "addr",
        "add",
        "10.77.0.1/32",
        "dev",
        "lo",
    ])
    .expect("add 10.77.0.1");
    let mut server = net.kernel(&[
        "echo",
        "server",
        "--addr",
        "10.77.0.1:10000",
        "--count",
        "1",
    ]);
    started(&mut server);
    // Without a gateway there is no route.
    let done = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--addr",
                "10.77.0.1:10000",
                "--timeout",
                "2",
            ],
            &[],
        )
        .finish();
    assert!(
        !done.status.success(),
        "no route without --gateway: {:?}",
        done.stdout
    );
    assert!(
        done.stderr.starts_with("error: --addr 10.77.0.1:10000: "),
        "{}",
        done.stderr
    );
    let lines = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--addr",
                "10.77.0.1:10000",
                "--timeout",
                "5",
            ],
            &["--gateway", KERNEL_V4],
        )
        .finish_ok();
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    let served = server.finish_ok();
    assert!(
        served
            .iter()
            .any(|l| l.starts_with(&format!("connection from ('{SMOL_V4}'"))),
        "{served:#?}"
    );
}
