//! Bursts of datagrams into and out of the userspace stacks in UDP's data mode, over a TAP
//! device in a test namespace (see `tests/common/tap.rs` and `tests/data_tap_udp.rs`): through
//! smoltcp's `--drop-chance` each way, where fewer datagrams arrive, each one whole and in
//! order, and the summaries count what was sent and what arrived; and socat sending a file in
//! frame-sized datagrams to `listen -u` on each stack, all of it arriving. As root only
//! (`SKIPPED: <why>` otherwise, a failure under `PORTSOCK_REQUIRE_PRIVILEGED=1`).

mod common;
mod data_support;

use std::path::Path;

use common::tap::udp::largest;
use common::tap::{KERNEL_V4, SMOL_V4, Stack, TapNet};
use data_support::tap::{in_ns, pieces};
use data_support::{Proc, assert_same, random_file};

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

/// How many datagrams the loss tests send, and the chance (percent) of each frame's loss.
const LOSSY_COUNT: usize = 60;
const DROP_CHANCE: &str = "30";

/// CPython receiving on argv[1]:argv[2] the argv[4]-byte pieces of the file argv[3] through a
/// lossy link: every datagram must be one of the pieces, whole, and after the one before; it
/// stops 5 s after the last one (waiting up to 60 s for the first) and prints `got N`.
const PY_LOSSY_RECEIVER: &str = r#"
import socket, sys
host, port, path, piece = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
data = open(path, "rb").read()
index = {data[at:at + piece]: at // piece for at in range(0, len(data), piece)}
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((host, port))
print("ready", flush=True)
sock.settimeout(60)
got, last = 0, -1
while True:
    try:
        datagram, _ = sock.recvfrom(65536)
    except socket.timeout:
        break
    assert datagram in index, f"a datagram of {len(datagram)} bytes is none of the pieces"
    assert index[datagram] > last, f"piece {index[datagram]} after piece {last}"
    last = index[datagram]
    got += 1
    sock.settimeout(5)
print("got", got, flush=True)
"#;

/// Through `--drop-chance` on smoltcp, `connect -u` to CPython: fewer datagrams arrive, each
/// one whole and in order; the summary counts every datagram sent (a lost one was sent).
#[test]
fn smoltcp_connect_udp_through_dropped_frames() {
    let Some(net) = TapNet::new("ud") else { return };
    let limit = largest(KERNEL_V4);
    let ours = net.file("ours");
    random_file(&ours, LOSSY_COUNT * limit);
    let piece = limit.to_string();
    let path = ours.display().to_string();
    let mut receiver = net.python(PY_LOSSY_RECEIVER, &[KERNEL_V4, "9102", &path, &piece]);
    receiver.wait_for("ready", |l| l == "ready");
    let addr = format!("{KERNEL_V4}:9102");
    // The stack asks for the kernel's Ethernet address once a second while its datagrams
    // wait, and a third of those requests and replies are dropped: --wait 10 (and the 5 s
    // linger) leaves it some 15 tries before the command ends.
    let client = on(
        &net,
        Stack::Smoltcp,
        &["connect", "-u", &addr, "--json", "--wait", "10"],
        &["--drop-chance", DROP_CHANCE],
        Some(&ours),
        None,
    );
    net.link_up();
    let events = client.finish_ok();
    let lines = receiver.finish_ok();
    let got: usize = lines
        .last()
        .and_then(|l| l.strip_prefix("got "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(
        (1..LOSSY_COUNT).contains(&got),
        "{got} of {LOSSY_COUNT} datagrams arrived through a {DROP_CHANCE}% drop chance"
    );
    let summary: serde_json::Value =
        serde_json::from_str(events.last().expect("a summary")).unwrap();
    assert_eq!(summary["sent"], LOSSY_COUNT * limit, "{events:#?}");
    assert_eq!(summary["received"], 0);
}

/// CPython sending the pieces of `path` to argv[1]:argv[2], one every 10 ms.
const PY_PACED_SENDER: &str = r#"
import socket, sys, time
host, port, path, piece = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
data = open(path, "rb").read()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for at in range(0, len(data), piece):
    sock.sendto(data[at:at + piece], (host, port))
    time.sleep(0.01)
print("sent", len(data) // piece, flush=True)
"#;

/// CPython to `listen -u --drop-chance` on smoltcp: stdout holds fewer pieces than were sent,
/// each whole and in order, and the summary's received count is stdout's length.
#[test]
fn smoltcp_listen_udp_through_dropped_frames() {
    let Some(net) = TapNet::new("ue") else { return };
    let limit = largest(SMOL_V4);
    let (theirs, got) = (net.file("theirs"), net.file("got"));
    random_file(&theirs, LOSSY_COUNT * limit);
    net.pin_stack_neighbour();
    let mut listen = on(
        &net,
        Stack::Smoltcp,
        &["listen", "-u", "9103", "--wait", "5"],
        &["--drop-chance", DROP_CHANCE],
        None,
        Some(&got),
    );
    listen.listening();
    net.link_up();
    let (piece, path) = (limit.to_string(), theirs.display().to_string());
    net.python(PY_PACED_SENDER, &[SMOL_V4, "9103", &path, &piece])
        .finish_ok();
    let report = listen.finish_ok();
    let sent = pieces(&theirs, limit);
    let received = std::fs::read(&got).unwrap();
    assert_eq!(received.len() % limit, 0, "whole datagrams only");
    let mut after = None;
    for (n, datagram) in received.chunks(limit).enumerate() {
        let at = sent
            .iter()
            .position(|p| p == datagram)
            .unwrap_or_else(|| panic!("datagram {n} on stdout is none of those sent"));
        assert!(
            after.is_none_or(|a| at > a),
            "piece {at} after piece {after:?}"
        );
        after = Some(at);
    }
    let count = received.len() / limit;
    assert!(
        (1..LOSSY_COUNT).contains(&count),
        "{count} of {LOSSY_COUNT} datagrams arrived through a {DROP_CHANCE}% drop chance"
    );
    assert!(
        report
            .last()
            .unwrap()
            .starts_with(&format!("sent 0 bytes, received {} bytes", received.len())),
        "{report:#?}"
    );
}

/// socat sending a file to `listen -u` on `stack` in frame-sized datagrams (`-b`, as the
/// README advises: the stacks drop IP fragments), with the kernel's neighbour entry for the
/// stack set so no datagram waits for ARP: stdout is the file.
fn socat_to_listen(stack: Stack, tag: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    data_support::require("socat", "socat");
    let limit = largest(SMOL_V4);
    let (input, out) = (net.file("in"), net.file("out"));
    random_file(&input, 50 * limit + 77);
    net.pin_stack_neighbour();
    let mut listen = on(
        &net,
        stack,
        &["listen", "-u", "9105", "--wait", "5"],
        &[],
        None,
        Some(&out),
    );
    listen.listening();
    net.link_up();
    let block = format!("-b{limit}");
    let target = format!("UDP4-SENDTO:{SMOL_V4}:9105");
    let source = format!("OPEN:{}", input.display());
    Proc::spawn(
        in_ns(&net.ns, "socat", &[&block, "-u", &source, &target]),
        None,
        None,
    )
    .finish_ok();
    let report = listen.finish_ok();
    assert_same(&input, &out, &format!("socat -> listen -u on {stack:?}"));
    assert!(
        report
            .last()
            .unwrap()
            .starts_with(&format!("sent 0 bytes, received {} bytes", 50 * limit + 77)),
        "{stack:?}: {report:#?}"
    );
}

#[test]
fn socat_to_smoltcp_listen_udp() {
    socat_to_listen(Stack::Smoltcp, "us");
}

#[test]
fn socat_to_embassy_listen_udp() {
    socat_to_listen(Stack::Embassy, "es");
}
