//! UDP between the embassy backend (`--backend embassy`: portsock-embassy on an embassy-net
//! stack) and the kernel over a TAP device (see `tests/common/tap.rs`; the embassy stack takes
//! the smoltcp stack's addresses): the datagram echo both ways against portsock-std and
//! CPython, IPv4 and IPv6, from one byte up to the largest datagram one frame carries, every
//! byte checked; and the client's refusal of a larger one.

mod common;

use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, TapNet, started};

/// The TAP's MTU (the kernel's default for a TAP device).
const MTU: usize = 1500;

/// CPython's datagram client: sends one datagram of each size in argv[3:] (bytes of a
/// pattern), checks every byte of each echo and prints `ok SIZE FROM`.
const PY_UDP_CLIENT: &str = r#"
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
const PY_UDP_SERVER: &str = r#"
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

fn bracket(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The largest UDP payload in one frame of the TAP to `ip`.
fn largest(ip: &str) -> usize {
    MTU - if ip.contains(':') { 40 } else { 20 } - 8
}

/// A message of `size` letters and digits (text for `--message`, printed by Python's `repr`
/// as it is).
fn text_of(size: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..size)
        .map(|i| char::from(ALPHABET[i * 7 % ALPHABET.len()]))
        .collect()
}

fn udp_both_ways(tag: &str, kernel_ip: &str, emb_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let max = largest(emb_ip);
    let sizes: Vec<String> = [1, 16, 1000, max - 1, max]
        .iter()
        .map(ToString::to_string)
        .collect();
    // The embassy server; the kernel's clients: portsock std, then CPython.
    let any = if emb_ip.contains(':') {
        "[::]:10000"
    } else {
        ":10000"
    };
    let count = (1 + sizes.len()).to_string();
    let mut server = net.embassy(
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
            &bracket(emb_ip, 10000),
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
    let mut args = vec![emb_ip, "10000"];
    args.extend(sizes.iter().map(String::as_str));
    let py = net.python(PY_UDP_CLIENT, &args).finish_ok();
    let want: Vec<String> = sizes.iter().map(|s| format!("ok {s} {emb_ip}")).collect();
    assert_eq!(py, want);
    let served = server.finish_ok();
    for size in
        std::iter::once(common::MESSAGE.len()).chain(sizes.iter().map(|s| s.parse().unwrap()))
    {
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

    // The kernel's servers, portsock-std's then CPython's; the embassy client, with the chapter's
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
        let expected = message.as_deref().unwrap_or(common::MESSAGE);
        // The kernel's answer to the client's first ARP or neighbour request may be dropped
        // (see `TapNet::link_up`), so the client waits for the retry.
        let lines = net.embassy(&args, &[]).finish_ok();
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
        let sent = format!("sent {} bytes back to ('{emb_ip}', ", expected.len());
        assert!(
            served.iter().any(|l| l.starts_with(&sent)),
            "{sent}: {served:#?}"
        );
    }
    let mut py = net.python(PY_UDP_SERVER, &[kernel_ip, "10002", "1"]);
    py.wait_for("ready", |l| l == "ready");
    let message = text_of(max);
    let lines = net
        .embassy(
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
        ["ready".to_owned(), format!("{max} {emb_ip}")]
    );

    // One byte more does not fit in a frame: the client says so before sending anything.
    let done = net
        .embassy(
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &bracket(kernel_ip, 10002),
                "--message",
                &text_of(max + 1),
            ],
            &[],
        )
        .finish();
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(done.stdout.is_empty(), "{:#?}", done.stdout);
    let at_most = format!("at most {},{:03} bytes", max / 1000, max % 1000);
    assert!(
        done.stderr.starts_with("error: --message: ") && done.stderr.contains(&at_most),
        "{}",
        done.stderr
    );
}

#[test]
fn udp_echo_embassy_and_kernel_ipv4() {
    udp_both_ways("eu4", KERNEL_V4, SMOL_V4);
}

#[test]
fn udp_echo_embassy_and_kernel_ipv6() {
    udp_both_ways("eu6", KERNEL_V6, SMOL_V6);
}
