//! UDP between a userspace stack ([`Stack`]) and the kernel over the TAP: the datagram echo
//! scenario `tests/smoltcp_tap_udp.rs` and `tests/embassy_tap_udp.rs` both run.

use super::{Stack, TapNet, started};
use crate::common::MESSAGE;

/// The TAP's MTU (the kernel's default for a TAP device).
pub const MTU: usize = 1500;

/// CPython's datagram client: sends one datagram of each size in argv[3:] (bytes of a
/// pattern), checks every byte of each echo and prints `ok SIZE FROM`.
pub const PY_UDP_CLIENT: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.settimeout(10)
for size in map(int, sys.argv[3:]):
    message = bytes((i * 7 + size) % 251 for i in range(size))
    sock.sendto(message, (host, port))
    data, server = sock.recvfrom(65536)
    assert data == message, f"echo of {size} bytes differs: {len(data)} bytes back"
    print("ok", size, server[0], flush=True)
"#;

/// CPython's datagram echo server on (argv[1], argv[2]): prints `ready`, then echoes argv[3]
/// datagrams, printing `LEN FROM` for each.
pub const PY_UDP_SERVER: &str = r#"
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((host, port))
print("ready", flush=True)
for _ in range(count):
    data, peer = sock.recvfrom(65536)
    sock.sendto(data, peer)
    print(len(data), peer[0], flush=True)
"#;

/// `HOST:PORT` with brackets for IPv6.
pub fn bracket(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The largest UDP payload in one frame of the TAP to `ip`.
pub fn largest(ip: &str) -> usize {
    MTU - if ip.contains(':') { 40 } else { 20 } - 8
}

/// A message of `size` letters and digits (text for `--message`, printed by Python's `repr`
/// as it is).
pub fn text_of(size: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..size)
        .map(|i| char::from(ALPHABET[i * 7 % ALPHABET.len()]))
        .collect()
}

/// The datagram echo both ways between `stack` (at `ours`) and the kernel (at `kernel_ip`):
/// the stack's server answers portsock's std client and CPython (one byte up to the largest
/// datagram a frame carries, every byte checked); the stack's client reaches portsock's std
/// server and CPython's with the chapter's message and the largest one.
pub fn udp_both_ways(net: &TapNet, stack: Stack, kernel_ip: &str, ours: &str) {
    let max = largest(ours);
    let sizes: Vec<String> = [1, 16, 1000, max - 1, max]
        .iter()
        .map(ToString::to_string)
        .collect();
    // The stack's server; the kernel's clients: portsock std, then CPython.
    let any = if ours.contains(':') {
        "[::]:10000"
    } else {
        ":10000"
    };
    let count = (1 + sizes.len()).to_string();
    let mut server = net.on(
        stack,
        &[
            "echo", "server", "--proto", "udp", "--addr", any, "--count", &count,
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
            &bracket(ours, 10000),
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
    let mut args = vec![ours, "10000"];
    args.extend(sizes.iter().map(String::as_str));
    let py = net.python(PY_UDP_CLIENT, &args).finish_ok();
    let want: Vec<String> = sizes.iter().map(|s| format!("ok {s} {ours}")).collect();
    assert_eq!(py, want);
    let served = server.finish_ok();
    for size in std::iter::once(MESSAGE.len()).chain(sizes.iter().map(|s| s.parse().unwrap())) {
        let from = format!("received {size} bytes from ('{kernel_ip}', ");
        assert!(
            served.iter().any(|l| l.starts_with(&from)),
            "{from}: {served:#?}"
        );
    }
    assert_eq!(
        served.iter().filter(|l| l.starts_with("sent ")).count(),
        1 + sizes.len(),
        "{served:#?}"
    );

    // The kernel's servers, portsock-std's then CPython's; the stack's client, with the chapter's
    // message and with the largest one.
    let kernel_addr = bracket(kernel_ip, 10001);
    for message in [None, Some(text_of(max))] {
        let mut server = net.kernel(&[
            "echo",
            "server",
            "--proto",
            "udp",
            "--addr",
            &kernel_addr,
            "--count",
            "1",
        ]);
        started(&mut server);
        let mut args = vec![
            "echo",
            "client",
            "--proto",
            "udp",
            "--addr",
            &kernel_addr,
            "--timeout",
            "10",
        ];
        if let Some(m) = &message {
            args.extend(["--message", m]);
        }
        let expected = message.as_deref().unwrap_or(MESSAGE);
        // The kernel's answer to the client's first ARP or neighbour request may be dropped
        // (see `TapNet::link_up`), so the client waits for the retry.
        let lines = net.on(stack, &args, &[]).finish_ok();
        assert_eq!(
            lines,
            [
                format!("sending b'{expected}'"),
                "waiting to receive".into(),
                format!("received b'{expected}'"),
                "closing socket".into()
            ]
        );
        let served = server.finish_ok();
        let sent = format!("sent {} bytes back to ('{ours}', ", expected.len());
        assert!(
            served.iter().any(|l| l.starts_with(&sent)),
            "{sent}: {served:#?}"
        );
    }
    let mut py = net.python(PY_UDP_SERVER, &[kernel_ip, "10002", "1"]);
    py.wait_for("ready", |l| l == "ready");
    let message = text_of(max);
    let lines = net
        .on(
            stack,
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &bracket(kernel_ip, 10002),
                "--timeout",
                "10",
                "--message",
                &message,
            ],
            &[],
        )
        .finish_ok();
    assert_eq!(lines[2], format!("received b'{message}'"));
    assert_eq!(
        py.finish_ok(),
        ["ready".to_owned(), format!("{max} {ours}")]
    );
}
