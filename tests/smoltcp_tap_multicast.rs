//! Multicast between the smoltcp stack and the kernel over a TAP device (see
//! `tests/common/tap.rs`): the chapter's sender and receiver both ways, and the IGMP / MLD
//! reports smoltcp sends, read from a pcap capture.

mod common;

use common::pcap::igmp_reports;
use common::tap::multicast::{ipv6_receiver_acks_the_kernel, kernel_sender_gets_the_ack};
use common::tap::{ACK_WAIT, KERNEL_V4, SMOL_MAC, Stack, TapNet};

#[test]
fn multicast_smoltcp_and_kernel_both_ways() {
    let Some(net) = TapNet::new("mc") else { return };
    let pcap = net.file("receiver.pcap");
    // A smoltcp receiver joined to the chapter's group answers the kernel's sender.
    let mut receiver = net.smoltcp(
        &["multicast", "receive", "--count", "1"],
        &["--pcap", pcap.to_str().unwrap()],
    );
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    net.link_up();
    kernel_sender_gets_the_ack(&net);
    let got = receiver.finish_ok();
    assert!(
        got.contains(&"b'very important data'".to_string()),
        "{got:#?}"
    );
    assert!(
        igmp_reports(&pcap, SMOL_MAC, [224, 3, 29, 71]) >= 1,
        "no IGMP membership report for 224.3.29.71 from the smoltcp stack in the capture"
    );
    // A kernel receiver answers a smoltcp sender.
    let mut receiver = net.kernel(&["multicast", "receive", "--iface", KERNEL_V4, "--count", "1"]);
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    let lines = net
        .smoltcp(&["multicast", "send", "--timeout", ACK_WAIT], &[])
        .finish_ok();
    assert!(
        lines.contains(&format!("received b'ack' from ('{KERNEL_V4}', 10000)")),
        "{lines:#?}"
    );
    receiver.finish_ok();
}

/// IPv6: a smoltcp receiver joined to ff05::1:2 (MLDv2 report on the wire) acks the kernel's
/// sender, which sends on the TAP by name (see [`ipv6_receiver_acks_the_kernel`]).
#[test]
fn multicast_ipv6_smoltcp_receiver_reports_mld() {
    let Some(net) = TapNet::new("m6") else { return };
    ipv6_receiver_acks_the_kernel(&net, Stack::Smoltcp);
}
