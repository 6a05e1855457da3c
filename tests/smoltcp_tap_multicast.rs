//! Multicast between the smoltcp stack and the kernel over a TAP device (see
//! `tests/common/tap.rs`): the chapter's sender and receiver both ways, and the IGMP / MLD
//! reports smoltcp sends, read from a pcap capture.

mod common;

use std::path::Path;

use common::tap::{ACK_WAIT, KERNEL_V4, SMOL_MAC, SMOL_V4, SMOL_V6, TapNet};

/// The Ethernet frames of a pcap file, as smoltcp's `PcapWriter` writes it.
fn frames(pcap: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(pcap).expect("read the capture");
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian pcap file"
    );
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(bytes[at + 16..(at + 16 + caplen).min(bytes.len())].to_vec());
        at += 16 + caplen;
    }
    frames
}

/// The IGMP membership reports (v2, type 0x16) for `group` sent from `mac`.
fn igmp_reports(pcap: &Path, mac: [u8; 6], group: [u8; 4]) -> usize {
    frames(pcap)
        .iter()
        .filter(|f| {
            // Ethernet II from `mac`, IPv4, protocol 2 (IGMP).
            if f.len() < 14 + 20 + 8 || f[6..12] != mac || f[12..14] != [0x08, 0x00] || f[23] != 2 {
                return false;
            }
            let igmp = &f[14 + usize::from(f[14] & 0x0f) * 4..];
            igmp.len() >= 8 && igmp[0] == 0x16 && igmp[4..8] == group
        })
        .count()
}

/// The MLDv2 reports (ICMPv6 type 143 after a hop-by-hop header) naming `group`, sent from
/// `mac`.
fn mld_reports(pcap: &Path, mac: [u8; 6], group: [u8; 16]) -> usize {
    frames(pcap)
        .iter()
        .filter(|f| {
            // Ethernet II from `mac`, IPv6, next header 0 (hop-by-hop options).
            if f.len() < 14 + 40 + 8 + 8
                || f[6..12] != mac
                || f[12..14] != [0x86, 0xdd]
                || f[20] != 0
            {
                return false;
            }
            let hbh = &f[14 + 40..];
            let icmp = &hbh[(usize::from(hbh[1]) + 1) * 8..];
            // Type 143; records of 4 + 16 bytes (no sources) from offset 8.
            hbh[0] == 58
                && icmp.first() == Some(&143)
                && icmp[8..]
                    .chunks(20)
                    .any(|r| r.len() == 20 && r[4..20] == group)
        })
        .count()
}

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
/// sender, which sends on the TAP by name.
#[test]
fn multicast_ipv6_smoltcp_receiver_reports_mld() {
    let Some(net) = TapNet::new("m6") else { return };
    let pcap = net.file("receiver6.pcap");
    let mut receiver = net.smoltcp(
        &[
            "multicast",
            "receive",
            "--group",
            "ff05::1:2",
            "--count",
            "1",
        ],
        &["--pcap", pcap.to_str().unwrap()],
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
    receiver.finish_ok();
    let group: std::net::Ipv6Addr = "ff05::1:2".parse().unwrap();
    assert!(
        mld_reports(&pcap, SMOL_MAC, group.octets()) >= 1,
        "no MLDv2 report for ff05::1:2 from the smoltcp stack in the capture"
    );
}
