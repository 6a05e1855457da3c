//! Multicast between the embassy backend (`--backend embassy`) and the kernel over a TAP device
//! (see `tests/common/tap.rs`): an embassy sender answered by portsock-std's and CPython's
//! receivers, an embassy receiver answering CPython's and portsock-std's senders, and the IGMP
//! / MLD reports of its join, both in the embassy process's own capture (`--pcap`) and in
//! tcpdump's on the kernel's side of the TAP.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::pcap::{igmp_reports, mld_reports};
use common::tap::multicast::{ipv6_receiver_acks_the_kernel, kernel_sender_gets_the_ack};
use common::tap::{
    ACK_WAIT, KERNEL_V4, KERNEL_V6, SMOL_MAC, SMOL_V4, SMOL_V6, Stack, TapNet, skip,
};

/// The chapter's group.
const GROUP: [u8; 4] = [224, 3, 29, 71];

/// CPython's receiver in the chapter's style (`SO_REUSEADDR`, bound to port 10000, joined on
/// the interface with address argv[1]): prints `ready`, acknowledges one datagram and prints
/// it with its sender's address.
const PY_RECEIVER: &str = r#"
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("", 10000))
mreq = socket.inet_aton("224.3.29.71") + socket.inet_aton(sys.argv[1])
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
print("ready", flush=True)
data, peer = sock.recvfrom(1024)
sock.sendto(b"ack", peer)
print(data.decode(), peer[0], flush=True)
"#;

/// CPython's sender in the chapter's style, out of the interface with address argv[1]: sends
/// once, prints each acknowledgement and its sender until none comes for argv[2] seconds.
const PY_SENDER: &str = r#"
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(float(sys.argv[2]))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
sock.sendto(b"very important data", ("224.3.29.71", 10000))
while True:
    try:
        data, server = sock.recvfrom(16)
    except socket.timeout:
        break
    print(data.decode(), server[0], server[1], flush=True)
"#;

/// tcpdump capturing the TAP in the namespace (the kernel's view of the link) to a file,
/// stopped when dropped; `None` after a skip when there is no tcpdump.
struct Tcpdump(Child);

impl Tcpdump {
    fn start(net: &TapNet, file: &Path) -> Option<Self> {
        if Command::new("tcpdump").arg("--version").output().is_err() {
            skip("no tcpdump (apt install tcpdump)");
            return None;
        }
        let child = Command::new("ip")
            .args(["netns", "exec", &net.ns, "tcpdump", "-i", &net.tap])
            // Each packet written at once, as root (no privilege drop before the file opens).
            .args(["-U", "-Z", "root", "-n", "-w"])
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tcpdump");
        // It captures once it has written the file's header.
        let deadline = std::time::Instant::now() + common::WAIT;
        while std::fs::metadata(file).map_or(0, |m| m.len()) < 24 {
            assert!(
                std::time::Instant::now() < deadline,
                "tcpdump did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(Self(child))
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn multicast_embassy_and_kernel_both_ways() {
    let Some(net) = TapNet::new("emc") else {
        return;
    };
    let own = net.file("receiver.pcap");
    let kernel_side = net.file("tap.pcap");
    let Some(tcpdump) = Tcpdump::start(&net, &kernel_side) else {
        return;
    };

    // An embassy receiver joined to the chapter's group answers CPython's sender, then
    // portsock-std's.
    let mut receiver = net.embassy(
        &["multicast", "receive", "--count", "2"],
        &["--pcap", own.to_str().unwrap()],
    );
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    net.link_up();
    let acks = net.python(PY_SENDER, &[KERNEL_V4, ACK_WAIT]).finish_ok();
    assert_eq!(acks, [format!("ack {SMOL_V4} 10000")]);
    kernel_sender_gets_the_ack(&net);
    let got = receiver.finish_ok();
    assert_eq!(
        got.iter()
            .filter(|l| *l == "b'very important data'")
            .count(),
        2,
        "{got:#?}"
    );
    assert_eq!(
        got.iter()
            .filter(|l| l.starts_with(&format!("sending acknowledgement to ('{KERNEL_V4}', ")))
            .count(),
        2,
        "{got:#?}"
    );

    // An embassy sender, answered by portsock-std's receiver and CPython's, both on the
    // kernel's side of the TAP.
    let mut std_receiver =
        net.kernel(&["multicast", "receive", "--iface", KERNEL_V4, "--count", "1"]);
    std_receiver.wait_for("waiting", |l| l == "waiting to receive message");
    let mut py_receiver = net.python(PY_RECEIVER, &[KERNEL_V4]);
    py_receiver.wait_for("ready", |l| l == "ready");
    let lines = net
        .embassy(&["multicast", "send", "--timeout", ACK_WAIT], &[])
        .finish_ok();
    let ack = format!("received b'ack' from ('{KERNEL_V4}', 10000)");
    assert_eq!(
        lines.iter().filter(|l| **l == ack).count(),
        2,
        "an ack from each receiver: {lines:#?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("closing socket"));
    assert_eq!(
        py_receiver.finish_ok(),
        ["ready".to_owned(), format!("very important data {SMOL_V4}")]
    );
    let got = std_receiver.finish_ok();
    let from = format!("received 19 bytes from ('{SMOL_V4}', ");
    assert!(got.iter().any(|l| l.starts_with(&from)), "{got:#?}");

    // The join's IGMP membership report: sent by the embassy stack, and seen by the kernel.
    drop(tcpdump);
    assert!(
        igmp_reports(&own, SMOL_MAC, GROUP) >= 1,
        "no IGMP membership report for 224.3.29.71 in the embassy process's capture"
    );
    assert!(
        igmp_reports(&kernel_side, SMOL_MAC, GROUP) >= 1,
        "no IGMP membership report for 224.3.29.71 from the embassy stack in tcpdump's capture"
    );
}

/// IPv6: an embassy receiver joined to ff05::1:2 (an MLDv2 report on the wire) acks the
/// kernel's sender, which sends on the TAP by name; an embassy sender to the group gets the ack
/// of the kernel's receiver.
#[test]
fn multicast_ipv6_embassy_and_kernel_mld() {
    let Some(net) = TapNet::new("em6") else {
        return;
    };
    let kernel_side = net.file("tap6.pcap");
    let Some(tcpdump) = Tcpdump::start(&net, &kernel_side) else {
        return;
    };
    ipv6_receiver_acks_the_kernel(&net, Stack::Embassy);
    // An embassy sender to the IPv6 group, answered by portsock-std's receiver joined on the
    // TAP.
    let mut std_receiver = net.kernel(&[
        "multicast",
        "receive",
        "--group",
        "ff05::1:2",
        "--iface",
        &net.tap,
        "--count",
        "1",
    ]);
    std_receiver.wait_for("waiting", |l| l == "waiting to receive message");
    let lines = net
        .embassy(
            &[
                "multicast",
                "send",
                "--group",
                "ff05::1:2",
                "--timeout",
                ACK_WAIT,
            ],
            &[],
        )
        .finish_ok();
    assert!(
        lines.contains(&format!(
            "received b'ack' from ('{KERNEL_V6}', 10000, 0, 0)"
        )),
        "{lines:#?}"
    );
    let got = std_receiver.finish_ok();
    let from = format!("received 19 bytes from ('{SMOL_V6}', ");
    assert!(got.iter().any(|l| l.starts_with(&from)), "{got:#?}");
    drop(tcpdump);
    let group: std::net::Ipv6Addr = "ff05::1:2".parse().unwrap();
    assert!(
        mld_reports(&kernel_side, SMOL_MAC, group.octets()) >= 1,
        "no MLDv2 report for ff05::1:2 from the embassy stack in tcpdump's capture"
    );
}

/// What the embassy multicast commands refuse before they open the TAP (no privileges
/// needed): a message larger than one frame carries, and a runtime for the receiver.
#[test]
fn embassy_multicast_refusals() {
    let stack = [
        "--backend",
        "embassy",
        "--tap",
        "no-such-tap0",
        "--ip",
        "192.168.69.1/24",
    ];
    let message = "x".repeat(1_473);
    let mut send = vec!["multicast", "send", "--message", &message];
    send.extend(stack);
    let out = common::portsock(&send);
    common::assert_cli_error(&out, "a message over one frame");
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(
            "error: --message: 1,473 bytes do not fit in one datagram of the TAP's frames (at most 1,472;"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut receive = vec!["multicast", "receive", "--runtime", "tokio"];
    receive.extend(stack);
    let out = common::portsock(&receive);
    common::assert_cli_error(&out, "a runtime for the embassy receiver");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: --runtime: applies to --backend std"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
