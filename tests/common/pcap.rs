//! Captures: the frames of a pcap file (the classic format, little-endian, Ethernet; as
//! smoltcp's `PcapWriter`, the embassy backend's `--pcap` and tcpdump on x86 write it), and
//! the multicast membership reports among them.

use std::path::Path;

/// The Ethernet frames of a pcap file.
pub fn frames(pcap: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(pcap).expect("read the capture");
    assert!(bytes.len() >= 24, "{}: no pcap header", pcap.display());
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
pub fn igmp_reports(pcap: &Path, mac: [u8; 6], group: [u8; 4]) -> usize {
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
pub fn mld_reports(pcap: &Path, mac: [u8; 6], group: [u8; 16]) -> usize {
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
