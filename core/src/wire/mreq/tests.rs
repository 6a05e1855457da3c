//! Unit tests.

use std::string::ToString;

use proptest::prelude::*;

use super::*;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
const IP_MREQ_BYTES: [u8; 8] = [0xe0, 0x03, 0x1d, 0x47, 0x7f, 0x00, 0x00, 0x01];

fn index_bytes(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

#[test]
fn parse_ip_mreq() {
    let p = IpMreq::new_checked(&IP_MREQ_BYTES[..]).unwrap();
    assert_eq!(p.group(), GROUP);
    assert_eq!(p.interface(), Ipv4Addr::LOCALHOST);
    let r = MembershipRequest::parse(Layout::IpMreq, &IP_MREQ_BYTES).unwrap();
    assert_eq!(
        r,
        MembershipRequest::v4(GROUP, Interface::Addr(Ipv4Addr::LOCALHOST)).unwrap()
    );
}

#[test]
fn emit_ip_mreq() {
    let r = MembershipRequest::v4(GROUP, Interface::Addr(Ipv4Addr::LOCALHOST)).unwrap();
    assert_eq!(r.layout(), Layout::IpMreq);
    let mut buf = [0xaa; 8];
    assert_eq!(r.emit(&mut buf), Ok(8));
    assert_eq!(buf, IP_MREQ_BYTES);
}

#[test]
fn parse_ip_mreqn() {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&GROUP.octets());
    bytes[8..].copy_from_slice(&index_bytes(3));
    let r = MembershipRequest::parse(Layout::IpMreqn, &bytes).unwrap();
    assert_eq!(r.interface(), Interface::Index(3));
    assert_eq!(r.layout(), Layout::IpMreqn);
    // An address and an index: the index wins, as in Linux.
    bytes[4..8].copy_from_slice(&[10, 0, 0, 1]);
    assert_eq!(
        MembershipRequest::parse(Layout::IpMreqn, &bytes)
            .unwrap()
            .interface(),
        Interface::Index(3)
    );
    // No index: the address.
    bytes[8..].copy_from_slice(&[0; 4]);
    let r = MembershipRequest::parse(Layout::IpMreqn, &bytes).unwrap();
    assert_eq!(r.interface(), Interface::Addr(Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn emit_ip_mreqn() {
    let r = MembershipRequest::v4(GROUP, Interface::Index(7)).unwrap();
    let mut buf = [0xaa; 12];
    assert_eq!(r.emit(&mut buf), Ok(12));
    let p = IpMreqn::new_checked(&buf).unwrap();
    assert_eq!(
        (p.group(), p.address(), p.ifindex()),
        (GROUP, Ipv4Addr::UNSPECIFIED, 7)
    );
    assert_eq!(&buf[8..], &index_bytes(7));
}

#[test]
fn parse_and_emit_ipv6_mreq() {
    let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    let r = MembershipRequest::v6(group, 2).unwrap();
    let mut buf = [0u8; 20];
    assert_eq!(r.emit(&mut buf), Ok(20));
    assert_eq!(&buf[..16], &group.octets());
    assert_eq!(&buf[16..], &index_bytes(2));
    assert_eq!(MembershipRequest::parse(Layout::Ipv6Mreq, &buf), Ok(r));
    assert_eq!(
        MembershipRequest::v6(group, 0).unwrap().interface(),
        Interface::Any
    );
}

#[test]
fn short_buffers_are_refused() {
    assert_eq!(
        MembershipRequest::parse(Layout::IpMreqn, &[0; 11]),
        Err(MreqError::TooShort {
            layout: Layout::IpMreqn,
            need: 12,
            got: 11
        })
    );
    let r = MembershipRequest::v6("ff02::1".parse().unwrap(), 1).unwrap();
    let err = r.emit(&mut [0; 19]).unwrap_err();
    assert_eq!(
        err,
        MreqError::TooShort {
            layout: Layout::Ipv6Mreq,
            need: 20,
            got: 19
        }
    );
    assert_eq!(err.to_string(), "buffer of 19 bytes, ipv6_mreq needs 20");
    assert!(IpMreq::new_checked(&[0u8; 7][..]).is_err());
    assert_eq!(
        MembershipRequest::parse_ip_option(&[224, 0, 0, 1, 0, 0, 0])
            .unwrap_err()
            .to_string(),
        "buffer of 7 bytes, ip_mreq needs 8"
    );
}

#[test]
fn groups_must_be_multicast() {
    let err = MembershipRequest::v4(Ipv4Addr::new(10, 0, 0, 1), Interface::Any).unwrap_err();
    assert_eq!(
        err.to_string(),
        "group 10.0.0.1: not a multicast address (expected 224.0.0.0/4)"
    );
    let err = MembershipRequest::v6(Ipv6Addr::LOCALHOST, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "group ::1: not a multicast address (expected ff00::/8)"
    );
    let bytes = [10, 0, 0, 1, 0, 0, 0, 0];
    assert!(matches!(
        MembershipRequest::parse(Layout::IpMreq, &bytes),
        Err(MreqError::Membership(MembershipError::NotMulticast { .. }))
    ));
    assert!(MembershipRequest::v4(Ipv4Addr::new(239, 255, 255, 255), Interface::Any).is_ok());
}

#[test]
fn ipv6_groups_take_no_ipv4_interface() {
    let err = MembershipRequest::new(
        "ff02::1".parse().unwrap(),
        Interface::Addr(Ipv4Addr::LOCALHOST),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "group ff02::1: an IPv6 group takes an interface index, not the IPv4 address 127.0.0.1"
    );
    // The unspecified address means "any", which IPv6 accepts.
    assert!(
        MembershipRequest::new(
            "ff02::1".parse().unwrap(),
            Interface::Addr(Ipv4Addr::UNSPECIFIED)
        )
        .is_ok()
    );
}

#[test]
fn chapter_request_is_what_the_kernel_reads_as_any_interface() {
    let chapter = chapter_request(GROUP).unwrap();
    let any = MembershipRequest::v4(GROUP, Interface::Any).unwrap();
    let mut mreq = [0u8; 8];
    any.emit(&mut mreq).unwrap();
    #[cfg(target_pointer_width = "64")]
    assert_eq!(
        chapter.as_bytes(),
        [0xe0, 0x03, 0x1d, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(&chapter.as_bytes()[..8], &mreq);
    assert_eq!(
        MembershipRequest::parse_ip_option(chapter.as_bytes()),
        Ok(any)
    );
    // Read as the ip_mreqn the kernel sees: address 0.0.0.0, index 0.
    if chapter.as_bytes().len() >= 12 {
        let p = IpMreqn::new_checked(chapter.as_bytes()).unwrap();
        assert_eq!(
            (p.group(), p.address(), p.ifindex()),
            (GROUP, Ipv4Addr::UNSPECIFIED, 0)
        );
    }
}

#[test]
fn setters_round_trip_through_views() {
    let mut p = Ipv6Mreq::new_checked([0u8; 24]).unwrap();
    p.set_group("ff05::2".parse().unwrap());
    p.set_ifindex(0x0102_0304);
    assert_eq!(p.group(), "ff05::2".parse::<Ipv6Addr>().unwrap());
    assert_eq!(p.ifindex(), 0x0102_0304);
    assert_eq!(p.into_inner()[20..], [0; 4]);
}

fn any_request() -> impl Strategy<Value = MembershipRequest> {
    let v4 =
        (224u8..=239, any::<[u8; 3]>(), any::<u32>(), 0u8..3).prop_map(|(a, rest, x, pick)| {
            let group = Ipv4Addr::new(a, rest[0], rest[1], rest[2]);
            let interface = match pick {
                0 => Interface::Any,
                1 => Interface::Addr(Ipv4Addr::from(x)),
                _ => Interface::Index(x),
            };
            MembershipRequest::v4(group, interface).unwrap()
        });
    let v6 = (any::<[u8; 15]>(), any::<u32>()).prop_map(|(rest, index)| {
        let mut octets = [0xffu8; 16];
        octets[1..].copy_from_slice(&rest);
        MembershipRequest::v6(Ipv6Addr::from(octets), index).unwrap()
    });
    prop_oneof![v4, v6]
}

proptest! {
    #[test]
    fn prop_parse_emit_round_trip(r in any_request()) {
        let mut buf = [0u8; 20];
        let n = r.emit(&mut buf).unwrap();
        prop_assert_eq!(n, r.buffer_len());
        prop_assert_eq!(MembershipRequest::parse(r.layout(), &buf[..n]), Ok(r));
    }

    #[test]
    fn prop_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24), which in 0u8..3) {
        let layout = [Layout::IpMreq, Layout::IpMreqn, Layout::Ipv6Mreq][usize::from(which)];
        if let Ok(r) = MembershipRequest::parse(layout, &bytes) {
            prop_assert!(r.group().is_multicast());
        }
        let _ = MembershipRequest::parse_ip_option(&bytes);
    }
}
