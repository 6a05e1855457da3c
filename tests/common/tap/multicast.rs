//! Multicast between a userspace stack ([`Stack`]) and the kernel over the TAP: the IPv4 sender
//! and the IPv6 `tests/smoltcp_tap_multicast.rs` and `tests/embassy_tap_multicast.rs` both run.

use super::{ACK_WAIT, KERNEL_V4, SMOL_MAC, SMOL_V4, SMOL_V6, Stack, TapNet};
use crate::common::pcap::mld_reports;

/// portsock-std's chapter sender on the kernel's side (`--iface` the kernel's TAP address)
/// gets the ack of the stack's receiver, and closes.
pub fn kernel_sender_gets_the_ack(net: &TapNet) {
    let lines = net
        .kernel(&[
            "multicast",
            "send",
            "--iface",
            KERNEL_V4,
            "--timeout",
            ACK_WAIT,
        ])
        .finish_ok();
    assert!(
        lines.contains(&format!("received b'ack' from ('{SMOL_V4}', 10000)")),
        "{lines:#?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("closing socket"));
}

/// IPv6: a receiver on `stack` joined to ff05::1:2 acks the kernel's sender, which sends on the
/// TAP by name; the stack's own capture holds its MLDv2 report for the group.
pub fn ipv6_receiver_acks_the_kernel(net: &TapNet, stack: Stack) {
    let own = net.file("receiver6.pcap");
    let mut receiver = net.on(
        stack,
        &[
            "multicast",
            "receive",
            "--group",
            "ff05::1:2",
            "--count",
            "1",
        ],
        &["--pcap", own.to_str().unwrap()],
    );
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    net.link_up();
    let lines = net
        .kernel(&[
            "multicast",
            "send",
            "--group",
            "ff05::1:2",
            "--iface",
            &net.tap,
            "--timeout",
            ACK_WAIT,
        ])
        .finish_ok();
    assert!(
        lines.contains(&format!("received b'ack' from ('{SMOL_V6}', 10000, 0, 0)")),
        "{lines:#?}"
    );
    let got = receiver.finish_ok();
    assert!(
        got.contains(&"b'very important data'".to_string()),
        "{got:#?}"
    );
    let group: std::net::Ipv6Addr = "ff05::1:2".parse().unwrap();
    assert!(
        mld_reports(&own, SMOL_MAC, group.octets()) >= 1,
        "no MLDv2 report for ff05::1:2 in the {stack:?} process's capture"
    );
}
