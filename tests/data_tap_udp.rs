//! UDP's data mode (`connect -u` / `listen -u`) on the userspace stacks over a TAP device in a
//! test namespace (see `tests/common/tap.rs`), against the kernel's side: on smoltcp and on
//! embassy, IPv4 and IPv6, `connect -u` with a capture exchanging datagrams with portsock's
//! kernel `listen -u`, and `listen -u` with CPython as its peer; every datagram's contents and
//! boundaries checked (stdin is read a frame's payload at a time, so a file of whole frames
//! goes out as exactly those datagrams); a peer the stack cannot reach, and unreadable stdin,
//! refused on both. Bursts and dropped frames: `tests/data_tap_udp_bursts.rs`. As root only
//! (`SKIPPED: <why>` otherwise, a failure under `PORTSOCK_REQUIRE_PRIVILEGED=1`).

mod common;
mod data_support;

use std::path::Path;

use common::tap::udp::{bracket, largest};
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, Stack, TapNet};
use data_support::tap::{in_ns, pieces};
use data_support::{PORTSOCK, Proc, assert_same, random_file};

/// `portsock ARGS --backend STACK --tap TAP --ip ... EXTRA` in the namespace.
fn on(
    net: &TapNet,
    stack: Stack,
    args: &[&str],
    extra: &[&str],
    input: Option<&Path>,
    output: Option<&Path>,
) -> Proc {
    let ns_tap = (net.ns.as_str(), net.tap.as_str());
    data_support::tap::userspace(ns_tap, stack.backend(), args, extra, input, output)
}

/// The UDP payloads in the capture's Ethernet frames (IPv4 or IPv6, no extension headers)
/// whose destination port is `dst`, in order.
fn udp_payloads(pcap: &Path, dst: u16) -> Vec<Vec<u8>> {
    common::pcap::frames(pcap)
        .iter()
        .filter_map(|f| {
            let udp = match f.get(12..14)? {
                [0x08, 0x00] if *f.get(14 + 9)? == 17 => &f[14 + usize::from(f[14] & 0x0f) * 4..],
                [0x86, 0xdd] if *f.get(14 + 6)? == 17 => &f[14 + 40..],
                _ => return None,
            };
            let port = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
            let len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
            (port == dst)
                .then(|| udp.get(8..len))
                .flatten()
                .map(<[u8]>::to_vec)
        })
        .collect()
}

/// `connect -u` on `stack` to portsock's kernel `listen -u` at `kernel_ip`, with a capture:
/// three full frames and a short datagram out, one datagram back; both files compared, every
/// datagram's boundaries in the capture, the summary's counts.
fn connect_to_the_kernel(stack: Stack, tag: &str, kernel_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let limit = largest(kernel_ip);
    let (ours, theirs) = (net.file("ours"), net.file("theirs"));
    let (got_ours, got_theirs, pcap) = (
        net.file("got-ours"),
        net.file("got-theirs"),
        net.file("c.pcap"),
    );
    random_file(&ours, 3 * limit + 100);
    random_file(&theirs, 1000);
    let addr = bracket(kernel_ip, 9100);
    let mut kernel = Proc::spawn(
        in_ns(&net.ns, PORTSOCK, &["listen", "-u", &addr, "--wait", "5"]),
        Some(&theirs),
        Some(&got_ours),
    );
    kernel.listening();
    let client = on(
        &net,
        stack,
        &["connect", "-u", &addr, "--json", "--wait", "5"],
        &["--pcap", pcap.to_str().unwrap()],
        Some(&ours),
        Some(&got_theirs),
    );
    net.link_up();
    let events = client.finish_ok();
    let report = kernel.finish_ok();
    assert_same(&ours, &got_ours, "userspace connect -u -> kernel listen -u");
    assert_same(
        &theirs,
        &got_theirs,
        "kernel listen -u -> userspace connect -u",
    );
    let summary: serde_json::Value =
        serde_json::from_str(events.last().expect("a summary")).unwrap();
    assert_eq!(summary["event"], "summary", "{events:#?}");
    assert_eq!(summary["sent"], 3 * limit + 100);
    assert_eq!(summary["received"], 1000);
    let connected: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(connected["event"], "connected");
    assert_eq!(connected["peer"], addr);
    assert!(
        report.last().unwrap().starts_with(&format!(
            "sent 1000 bytes, received {} bytes",
            3 * limit + 100
        )),
        "{report:#?}"
    );
    // One datagram per frame-sized read of the file: three full frames and the rest, as they
    // left the stack; the kernel's one datagram as it arrived.
    assert_eq!(
        udp_payloads(&pcap, 9100),
        pieces(&ours, limit),
        "datagrams out"
    );
    let from_port = connected["local"]
        .as_str()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("the local port");
    assert_eq!(
        udp_payloads(&pcap, from_port),
        pieces(&theirs, 1000),
        "datagrams back"
    );
}

#[test]
fn smoltcp_connect_udp_with_the_kernel_over_ipv4() {
    connect_to_the_kernel(Stack::Smoltcp, "uc4", KERNEL_V4);
}

#[test]
fn smoltcp_connect_udp_with_the_kernel_over_ipv6() {
    connect_to_the_kernel(Stack::Smoltcp, "uc6", KERNEL_V6);
}

#[test]
fn embassy_connect_udp_with_the_kernel_over_ipv4() {
    connect_to_the_kernel(Stack::Embassy, "ec4", KERNEL_V4);
}

#[test]
fn embassy_connect_udp_with_the_kernel_over_ipv6() {
    connect_to_the_kernel(Stack::Embassy, "ec6", KERNEL_V6);
}

/// CPython as `listen -u`'s peer: sends datagrams of the sizes in argv[5:] (bytes of a
/// pattern) to argv[1]:argv[2], then receives one datagram per argv[4]-byte piece of the file
/// argv[3], each checked whole; prints `ok LEN` for each.
const PY_PEER: &str = r#"
import socket, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
piece, sizes = int(sys.argv[4]), [int(s) for s in sys.argv[5:]]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.settimeout(30)
for size in sizes:
    sock.sendto(bytes((i * 7 + size) % 251 for i in range(size)), (host, port))
data = open(path, "rb").read()
for at in range(0, len(data), piece):
    got, peer = sock.recvfrom(65536)
    assert peer[0] == host, f"datagram from {peer}"
    assert got == data[at:at + piece], f"datagram {at // piece}: {len(got)} bytes, not the file's piece"
    print("ok", len(got), flush=True)
"#;

/// `listen -u` on `stack` with CPython sending datagrams of several sizes and receiving the
/// file's frame-sized pieces as datagrams.
fn listen_for_python(stack: Stack, tag: &str, ours_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let limit = largest(ours_ip);
    let (ours, got) = (net.file("ours"), net.file("got"));
    random_file(&ours, 2 * limit + 33);
    let mut listen = on(
        &net,
        stack,
        &["listen", "-u", "9101", "--wait", "5"],
        &[],
        Some(&ours),
        Some(&got),
    );
    assert_eq!(listen.listening(), "0.0.0.0:9101");
    net.link_up();
    // CPython's datagrams in the order sent: a datagram sent while the kernel resolves the
    // stack's address waits in the neighbour queue, and one sent as it resolves can overtake it.
    net.pin_stack_neighbour();
    let sizes = [1, 500, limit, 7];
    let mut args = vec![
        ours_ip.to_owned(),
        "9101".into(),
        ours.display().to_string(),
    ];
    args.push(limit.to_string());
    args.extend(sizes.iter().map(ToString::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lines = net.python(PY_PEER, &args).finish_ok();
    assert_eq!(
        lines,
        ["ok 1472", "ok 1472", "ok 33"].map(|l| l.replace("1472", &limit.to_string())),
        "CPython received the file's pieces"
    );
    let report = listen.finish_ok();
    let sent: Vec<u8> = sizes
        .iter()
        .flat_map(|&size| (0..size).map(move |i| ((i * 7 + size) % 251) as u8))
        .collect();
    assert_eq!(
        std::fs::read(&got).unwrap(),
        sent,
        "the datagrams on stdout"
    );
    let from = if ours_ip.contains(':') {
        format!("datagrams from [{KERNEL_V6}]:")
    } else {
        format!("datagrams from {KERNEL_V4}:")
    };
    assert!(report.iter().any(|l| l.starts_with(&from)), "{report:#?}");
    assert!(
        report.last().unwrap().starts_with(&format!(
            "sent {} bytes, received {} bytes",
            2 * limit + 33,
            sent.len()
        )),
        "{report:#?}"
    );
}

#[test]
fn smoltcp_listen_udp_for_cpython_over_ipv4() {
    listen_for_python(Stack::Smoltcp, "ul4", SMOL_V4);
}

#[test]
fn smoltcp_listen_udp_for_cpython_over_ipv6() {
    listen_for_python(Stack::Smoltcp, "ul6", SMOL_V6);
}

#[test]
fn embassy_listen_udp_for_cpython_over_ipv4() {
    listen_for_python(Stack::Embassy, "el4", SMOL_V4);
}

#[test]
fn embassy_listen_udp_for_cpython_over_ipv6() {
    listen_for_python(Stack::Embassy, "el6", SMOL_V6);
}

/// What a user gets wrong, on both stacks: a peer no `--ip` network or `--gateway` reaches is
/// refused before anything is sent (embassy-net would take the datagrams and drop them), and
/// stdin that cannot be read is an error naming it; exit status 1, nothing on stdout.
#[test]
fn userspace_udp_refuses_an_unreachable_peer_and_unreadable_stdin() {
    let Some(net) = TapNet::new("ux") else { return };
    let (hello, out) = (net.file("hello"), net.file("out"));
    std::fs::write(&hello, b"hello\n").unwrap();
    let dir = std::env::temp_dir();
    for stack in [Stack::Smoltcp, Stack::Embassy] {
        for (target, input, says) in [
            (
                "10.9.9.9:9104",
                hello.as_path(),
                "HOST:PORT 10.9.9.9:9104: no route to host",
            ),
            (
                "[fdab::1]:9104",
                hello.as_path(),
                "HOST:PORT [fdab::1]:9104: no route to host",
            ),
            (
                "192.168.69.100:9104",
                dir.as_path(),
                "stdin -> 192.168.69.100:9104: reading: Is a directory",
            ),
        ] {
            let ended = on(
                &net,
                stack,
                &["connect", "-u", target],
                &[],
                Some(input),
                Some(&out),
            )
            .finish();
            assert_eq!(
                ended.status.code(),
                Some(1),
                "{stack:?} {target}: {ended:?}"
            );
            assert!(
                ended
                    .stderr
                    .iter()
                    .any(|l| l.starts_with(&format!("error: {says}"))),
                "{stack:?} {target}: {:#?}",
                ended.stderr
            );
            assert_eq!(
                std::fs::read(&out).unwrap(),
                b"",
                "{stack:?} {target}: stdout"
            );
        }
    }
}
