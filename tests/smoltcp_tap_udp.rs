//! UDP between the smoltcp stack and the kernel over a TAP device (see `tests/common/tap.rs`):
//! the datagram echo both ways, IPv4 and IPv6, and a client that reports loss.

mod common;

use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, TapNet, started};

/// CPython's datagram client: sends argv[3], prints what came back.
const PY_UDP_CLIENT: &str = r#"
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.settimeout(5)
sock.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
data, server = sock.recvfrom(4096)
print(data.decode(), server[0])
"#;

fn udp_both_ways(tag: &str, kernel_ip: &str, smol_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let bracket = |ip: &str, port: u16| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    // smoltcp server; the kernel's clients: portsock std and CPython.
    let any = if smol_ip.contains(':') {
        "[::]:10000"
    } else {
        ":10000"
    };
    let mut server = net.smoltcp(
        &[
            "echo", "server", "--proto", "udp", "--addr", any, "--count", "2",
        ],
        &[],
    );
    started(&mut server);
    net.link_up();
    let lines = net
        .kernel(&[
            "echo",
            "client",
            "--proto",
            "udp",
            "--addr",
            &bracket(smol_ip, 10000),
            "--timeout",
            "10",
        ])
        .finish_ok();
    assert_eq!(
        lines,
        [
            "sending b'This is the message.  It will be repeated.'",
            "waiting to receive",
            "received b'This is the message.  It will be repeated.'",
            "closing socket"
        ]
    );
    let py = net
        .python(PY_UDP_CLIENT, &[smol_ip, "10000", "hello from CPython"])
        .finish_ok();
    assert_eq!(py, [format!("hello from CPython {smol_ip}")]);
    let served = server.finish_ok();
    assert_eq!(
        served.iter().filter(|l| l.starts_with("sent ")).count(),
        2,
        "{served:#?}"
    );
    // The kernel's server; the smoltcp client.
    let mut server = net.kernel(&[
        "echo",
        "server",
        "--proto",
        "udp",
        "--addr",
        &bracket(kernel_ip, 10001),
        "--count",
        "1",
    ]);
    started(&mut server);
    // The kernel's answer to the client's first ARP or neighbour request may be dropped (see
    // `TapNet::link_up`), so the client waits for the retry.
    let lines = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &bracket(kernel_ip, 10001),
                "--timeout",
                "10",
            ],
            &[],
        )
        .finish_ok();
    assert_eq!(
        lines[2],
        "received b'This is the message.  It will be repeated.'"
    );
    server.finish_ok();
}

#[test]
fn udp_echo_smoltcp_and_kernel_ipv4() {
    udp_both_ways("u4", KERNEL_V4, SMOL_V4);
}

#[test]
fn udp_echo_smoltcp_and_kernel_ipv6() {
    udp_both_ways("u6", KERNEL_V6, SMOL_V6);
}

/// Over a link that drops every frame, the UDP client reports the loss and exits non-zero.
#[test]
fn udp_echo_reports_loss_instead_of_hanging() {
    let Some(net) = TapNet::new("lo") else { return };
    let done = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &format!("{KERNEL_V4}:9"),
                "--timeout",
                "0.5",
            ],
            &["--drop-chance", "100"],
        )
        .finish();
    assert!(!done.status.success());
    assert!(
        done.stderr.starts_with("error: echo from "),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("no echo"), "{}", done.stderr);
}
