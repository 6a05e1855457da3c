//! The data mode on the userspace stacks over a TAP device in a test namespace (see
//! `tests/common/tap.rs`), against the kernel: socat sending to `portsock listen --backend
//! smoltcp` through dropped frames with a capture, `portsock connect --backend smoltcp`
//! moving a file each way at once with portsock's kernel listener over IPv6, and the same two
//! on `--backend embassy` (ncat as the sender there); UDP is `tests/data_tap_udp.rs`. As root only (`SKIPPED: <why>`
//! otherwise, a failure under `PORTSOCK_REQUIRE_PRIVILEGED=1`); the refusals run anywhere.

mod common;
mod data_support;

use std::path::Path;
use std::process::Command;

use common::tap::{KERNEL_V6, SMOL_V4, SMOL_V6, TapNet};
use data_support::{PORTSOCK, Proc, assert_same, random_file};

/// `ip netns exec NS PROGRAM ARGS`.
fn in_ns(net: &TapNet, program: &str, args: &[&str]) -> Command {
    data_support::tap::in_ns(&net.ns, program, args)
}

/// `portsock ARGS --backend BACKEND --tap TAP --ip ... EXTRA` in the namespace.
fn userspace(
    net: &TapNet,
    backend: &str,
    args: &[&str],
    extra: &[&str],
    input: Option<&Path>,
    output: Option<&Path>,
) -> Proc {
    data_support::tap::userspace((&net.ns, &net.tap), backend, args, extra, input, output)
}

/// `portsock ARGS --backend smoltcp --tap TAP --ip ... EXTRA` in the namespace.
fn smoltcp(
    net: &TapNet,
    args: &[&str],
    extra: &[&str],
    input: Option<&Path>,
    output: Option<&Path>,
) -> Proc {
    userspace(net, "smoltcp", args, extra, input, output)
}

#[test]
fn socat_to_smoltcp_listen_through_dropped_frames() {
    let Some(net) = TapNet::new("dl") else { return };
    data_support::require("socat", "socat");
    let (input, out, pcap) = (net.file("in"), net.file("out"), net.file("listen.pcap"));
    random_file(&input, 2 << 20);
    let mut listen = smoltcp(
        &net,
        &["listen", "9000"],
        &["--pcap", pcap.to_str().unwrap(), "--drop-chance", "3"],
        None,
        Some(&out),
    );
    // No host: `::`, IPv6 and IPv4 (socat comes over IPv4), as the kernel's listen.
    assert_eq!(listen.listening(), "[::]:9000");
    net.link_up();
    let target = format!("TCP4:{SMOL_V4}:9000");
    Proc::spawn(
        in_ns(&net, "socat", &["-u", "STDIN", &target]),
        Some(&input),
        None,
    )
    .finish_ok();
    let report = listen.finish_ok();
    assert_same(&input, &out, "socat -> portsock listen --backend smoltcp");
    let summary = report.last().expect("a summary");
    assert!(
        summary.starts_with(&format!("sent 0 bytes, received {} bytes", 2 << 20)),
        "{summary}"
    );
    assert!(
        pcap.metadata().unwrap().len() > 2 << 20,
        "the capture holds the transfer"
    );
}

#[test]
fn smoltcp_connect_both_ways_with_the_kernel_over_ipv6() {
    let Some(net) = TapNet::new("dc") else { return };
    let (ours, theirs) = (net.file("ours"), net.file("theirs"));
    let (got_ours, got_theirs) = (net.file("got-ours"), net.file("got-theirs"));
    random_file(&ours, 1 << 20);
    random_file(&theirs, 3 << 19);
    let kernel_addr = format!("[{KERNEL_V6}]:9001");
    let mut kernel = Proc::spawn(
        in_ns(&net, PORTSOCK, &["listen", &kernel_addr]),
        Some(&theirs),
        Some(&got_ours),
    );
    kernel.listening();
    let client = smoltcp(
        &net,
        &["connect", &kernel_addr, "--json"],
        &[],
        Some(&ours),
        Some(&got_theirs),
    );
    net.link_up();
    let events = client.finish_ok();
    kernel.finish_ok();
    assert_same(&ours, &got_ours, "smoltcp connect -> kernel listen");
    assert_same(&theirs, &got_theirs, "kernel listen -> smoltcp connect");
    let summary: serde_json::Value =
        serde_json::from_str(events.last().expect("a summary")).unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["sent"], 1 << 20);
    assert_eq!(summary["received"], 3 << 19);
}

/// A Unix socket is the OS's: both userspace stacks refuse `-U` (UDP, `-u`, they run).
#[test]
fn userspace_stacks_refuse_unix_sockets() {
    for (backend, args) in [
        ("smoltcp", &["connect", "-U", "/tmp/x"][..]),
        ("smoltcp", &["listen", "-U", "/tmp/x"][..]),
        ("embassy", &["connect", "-U", "/tmp/x"][..]),
        ("embassy", &["listen", "-U", "/tmp/x"][..]),
    ] {
        let out = Command::new(PORTSOCK)
            .args(args)
            .args([
                "--backend",
                backend,
                "--tap",
                "nonexistent0",
                "--ip",
                "192.168.69.1/24",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{backend} {args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: -U") && stderr.contains("Unix sockets are the OS's"),
            "{backend} {args:?}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{backend} {args:?}: nothing on stdout"
        );
    }
}

/// `portsock ARGS --backend embassy --tap TAP --ip ...` in the namespace.
fn embassy(net: &TapNet, args: &[&str], input: Option<&Path>, output: Option<&Path>) -> Proc {
    userspace(net, "embassy", args, &[], input, output)
}

#[test]
fn embassy_connect_both_ways_with_the_kernel() {
    let Some(net) = TapNet::new("ec") else { return };
    let (ours, theirs) = (net.file("ours"), net.file("theirs"));
    let (got_ours, got_theirs) = (net.file("got-ours"), net.file("got-theirs"));
    random_file(&ours, 1 << 20);
    random_file(&theirs, 3 << 19);
    let kernel_addr = format!("{}:9002", common::tap::KERNEL_V4);
    let mut kernel = Proc::spawn(
        in_ns(&net, PORTSOCK, &["listen", &kernel_addr]),
        Some(&theirs),
        Some(&got_ours),
    );
    kernel.listening();
    let client = embassy(
        &net,
        &["connect", &kernel_addr],
        Some(&ours),
        Some(&got_theirs),
    );
    net.link_up();
    let report = client.finish_ok();
    kernel.finish_ok();
    assert_same(&ours, &got_ours, "embassy connect -> kernel listen");
    assert_same(&theirs, &got_theirs, "kernel listen -> embassy connect");
    let summary = report.last().expect("a summary");
    assert!(
        summary.starts_with(&format!(
            "sent {} bytes, received {} bytes",
            1 << 20,
            3 << 19
        )),
        "{summary}"
    );
}

#[test]
fn ncat_to_embassy_listen_with_a_capture() {
    let Some(net) = TapNet::new("el") else { return };
    data_support::require("ncat", "ncat");
    let (input, out, pcap) = (net.file("in"), net.file("out"), net.file("listen.pcap"));
    random_file(&input, 1 << 20);
    let mut listen = embassy(
        &net,
        &["listen", "9003", "--pcap", pcap.to_str().unwrap()],
        None,
        Some(&out),
    );
    listen.listening();
    net.link_up();
    Proc::spawn(
        in_ns(&net, "ncat", &["--send-only", SMOL_V6, "9003"]),
        Some(&input),
        None,
    )
    .finish_ok();
    listen.finish_ok();
    assert_same(&input, &out, "ncat -> portsock listen --backend embassy");
    assert!(
        pcap.metadata().unwrap().len() > 1 << 20,
        "the capture holds the transfer"
    );
}

/// `listen -k` on a userspace stack shares stdin as on the kernel: the first client gets
/// stdin's bytes and then its end, the next one the end at once; every client's bytes reach
/// stdout. The clients send their line and end their side at once, so the listener's
/// session ends at their end of stream: stdin's bytes reach the first client all the same
/// (what stdin already has is sent before the session ends).
fn keep_listening_shares_stdin(backend: &str, tag: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let (stdin, out) = (net.file("stdin"), net.file("out"));
    std::fs::write(&stdin, "for the first client\n").unwrap();
    let mut listen = userspace(
        &net,
        backend,
        &["listen", "-k", "9005"],
        &[],
        Some(&stdin),
        Some(&out),
    );
    assert_eq!(listen.listening(), "[::]:9005");
    net.link_up();
    let target = format!("{SMOL_V4}:9005");
    for (i, want) in [(1, "for the first client\n"), (2, "")] {
        let (input, got) = (net.file(&format!("in{i}")), net.file(&format!("got{i}")));
        std::fs::write(&input, format!("client {i}\n")).unwrap();
        Proc::spawn(
            in_ns(&net, PORTSOCK, &["connect", &target, "-q"]),
            Some(&input),
            Some(&got),
        )
        .finish_ok();
        assert_eq!(std::fs::read_to_string(&got).unwrap(), want, "client {i}");
        listen.wait_for("the session's end", |l| l.starts_with("sent "));
    }
    drop(listen);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "client 1\nclient 2\n"
    );
}

#[test]
fn keep_listening_on_smoltcp_shares_stdin() {
    keep_listening_shares_stdin("smoltcp", "dk");
}

#[test]
fn keep_listening_on_embassy_shares_stdin() {
    keep_listening_shares_stdin("embassy", "ek");
}
