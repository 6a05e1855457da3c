//! Multicast pinned to the loopback: every join names the loopback (127.0.0.1 or `lo`'s
//! index) and every sender sets it as its multicast interface, so nothing leaves the host.
//! Each test uses its own group, so memberships of tests running in parallel do not mix.
//!
//! IPv6 multicast cannot be delivered over `lo` on Linux (the loopback has no `MULTICAST`
//! flag, so there is no ff00::/8 route and sending fails with `ENETUNREACH`); joins, leaves
//! and options are tested here, delivery in the namespace suite.

mod common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use common::{deadline_in, soon};
use portsock_core::wire::mreq::{Layout, chapter_request};
use portsock_std::multicast::membership;
use portsock_std::prelude::*;
use portsock_std::udp::UdpSocket;

const LO: Interface = Interface::Addr(Ipv4Addr::LOCALHOST);

fn lo_index() -> u32 {
    let text =
        std::fs::read_to_string("/sys/class/net/lo/ifindex").expect("/sys/class/net/lo/ifindex");
    text.trim().parse().expect("an interface index")
}

/// A receiver on an ephemeral port of the any-address, not yet joined.
fn receiver() -> (UdpSocket, u16) {
    let r = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
    let port = r.local_addr().unwrap().port();
    (r, port)
}

/// A sender whose multicast leaves by the loopback.
fn sender(interface: Interface) -> UdpSocket {
    let mut s = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    s.set_multicast_interface(interface).unwrap();
    s.set_multicast_ttl(1).unwrap();
    s
}

/// Sends `payload` to `group:port` from a loopback sender and expects `r` to receive it.
fn assert_delivered(r: &mut UdpSocket, group: Ipv4Addr, port: u16, payload: &[u8]) {
    let mut s = sender(LO);
    s.send_to(payload, &SocketAddr::from((group, port)))
        .unwrap();
    let mut buf = [0u8; 64];
    let got = r
        .recv_from(&mut buf, Some(soon()))
        .unwrap()
        .expect("the group's datagram");
    assert_eq!(&buf[..got.len], payload);
    assert_eq!(got.from, s.local_addr().unwrap());
}

fn assert_not_delivered(r: &mut UdpSocket, group: Ipv4Addr, port: u16) {
    let mut s = sender(LO);
    s.send_to(b"nobody home", &SocketAddr::from((group, port)))
        .unwrap();
    assert_eq!(
        r.recv_from(&mut [0u8; 64], Some(deadline_in(200))).unwrap(),
        None
    );
}

#[test]
fn idiomatic_join_by_interface_address_receives_the_group() {
    let group = Ipv4Addr::new(224, 3, 29, 71);
    let (mut r, port) = receiver();
    r.join(&membership(IpAddr::V4(group), LO).unwrap()).unwrap();
    assert_delivered(&mut r, group, port, b"very important data");
}

#[test]
fn idiomatic_join_by_interface_index_receives_the_group() {
    let group = Ipv4Addr::new(224, 3, 29, 72);
    let (mut r, port) = receiver();
    // An ip_mreqn with lo's index (socket2's join_multicast_v4_n).
    r.join_group(IpAddr::V4(group), Interface::Index(lo_index()))
        .unwrap();
    assert_delivered(&mut r, group, port, b"by index");
    // Sending by index too: IP_MULTICAST_IF with an ip_mreqn from the core's view.
    let mut s = sender(Interface::Index(lo_index()));
    s.send_to(b"sent by index", &SocketAddr::from((group, port)))
        .unwrap();
    let got = r
        .recv_from(&mut [0u8; 64], Some(soon()))
        .unwrap()
        .expect("datagram");
    assert_eq!(got.len, 13);
}

#[test]
fn raw_join_with_codec_bytes_receives_the_group() {
    let group = Ipv4Addr::new(224, 3, 29, 73);
    let (mut r, port) = receiver();
    // The bytes are the core codec's ip_mreq (group, interface 127.0.0.1), handed to
    // setsockopt(IP_ADD_MEMBERSHIP) through libc unchanged.
    let request = membership(IpAddr::V4(group), LO).unwrap();
    let mut optval = [0u8; 8];
    assert_eq!(request.emit(&mut optval).unwrap(), 8);
    assert_eq!(optval, [224, 3, 29, 73, 127, 0, 0, 1]);
    r.join_raw(&optval).unwrap();
    assert_delivered(&mut r, group, port, b"joined the raw way");
    // The idiomatic call sees the raw membership: joining again is "already a member".
    assert_eq!(
        r.join(&request).unwrap_err().kind(),
        io::ErrorKind::AddrInUse
    );
    r.leave_raw(&optval).unwrap();
    assert_not_delivered(&mut r, group, port);
}

#[test]
fn raw_join_with_an_ip_mreqn_by_index() {
    let group = Ipv4Addr::new(224, 3, 29, 74);
    let (mut r, port) = receiver();
    let request = membership(IpAddr::V4(group), Interface::Index(lo_index())).unwrap();
    assert_eq!(request.layout(), Layout::IpMreqn);
    let mut optval = [0u8; 12];
    request.emit(&mut optval).unwrap();
    r.join_raw(&optval).unwrap();
    assert_delivered(&mut r, group, port, b"ip_mreqn");
}

#[test]
fn the_chapter_request_is_read_by_the_kernel_as_an_ip_mreqn() {
    // The chapter's own bytes name no interface, so joining with them would join on the
    // default route's interface; dropping a membership that does not exist shows how the
    // kernel reads them without joining anything: a 16-byte value parsed as an ip_mreqn
    // (EADDRNOTAVAIL, "not a member"), not refused as malformed (EINVAL).
    let group = Ipv4Addr::new(224, 3, 29, 75);
    let bytes = chapter_request(group).unwrap();
    assert_eq!(&bytes.as_bytes()[..4], &group.octets());
    let (mut r, _) = receiver();
    let err = r.leave_raw(bytes.as_bytes()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRNOTAVAIL), "{err}");
    assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
    // A value too short for any layout is refused before the kernel sees it.
    assert_eq!(
        r.join_raw(&bytes.as_bytes()[..7]).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}

#[test]
fn chapter_and_raw_joins_validate_the_group() {
    let (mut r, _) = receiver();
    let err = r.join_chapter(Ipv4Addr::new(10, 0, 0, 1)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "group 10.0.0.1: not a multicast address (expected 224.0.0.0/4)"
    );
    let err = r.join_raw(&[10, 0, 0, 1, 127, 0, 0, 1]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(
        err.to_string()
            .starts_with("group 10.0.0.1: not a multicast address"),
        "{err}"
    );
}

#[test]
fn leaving_stops_delivery() {
    let group = Ipv4Addr::new(224, 3, 29, 76);
    let (mut r, port) = receiver();
    r.join_group(IpAddr::V4(group), LO).unwrap();
    assert_delivered(&mut r, group, port, b"member");
    r.leave_group(IpAddr::V4(group), LO).unwrap();
    assert_not_delivered(&mut r, group, port);
    let err = r.leave_group(IpAddr::V4(group), LO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
    assert!(
        err.to_string()
            .starts_with("leave group 224.3.29.76 on interface 127.0.0.1: "),
        "{err}"
    );
}

#[test]
fn two_receivers_on_one_port_each_get_a_copy() {
    let group = Ipv4Addr::new(224, 3, 29, 77);
    let mut a = UdpSocket::bind_reusable("0.0.0.0:0".parse().unwrap()).unwrap();
    let port = a.local_addr().unwrap().port();
    let mut b = UdpSocket::bind_reusable(SocketAddr::from(([0, 0, 0, 0], port))).unwrap();
    a.join_group(IpAddr::V4(group), LO).unwrap();
    b.join_group(IpAddr::V4(group), LO).unwrap();
    let mut s = sender(LO);
    s.send_to(b"to all", &SocketAddr::from((group, port)))
        .unwrap();
    for r in [&mut a, &mut b] {
        assert_eq!(
            r.recv_from(&mut [0u8; 16], Some(soon()))
                .unwrap()
                .map(|g| g.len),
            Some(6)
        );
    }
}

#[test]
fn ttl_and_loop_getters_follow_the_setters() {
    let mut s = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    assert_eq!(s.multicast_ttl().unwrap(), 1, "the system default");
    assert!(s.multicast_loop().unwrap(), "on by default");
    s.set_multicast_ttl(2).unwrap();
    assert_eq!(s.multicast_ttl().unwrap(), 2);
    assert_eq!(s.socket().multicast_ttl_v4().unwrap(), 2);
    s.set_multicast_loop(false).unwrap();
    assert!(!s.multicast_loop().unwrap());
    s.set_multicast_loop(true).unwrap();
    assert!(s.multicast_loop().unwrap());
    s.set_multicast_interface(LO).unwrap();
    assert_eq!(s.socket().multicast_if_v4().unwrap(), Ipv4Addr::LOCALHOST);
    s.set_multicast_interface(Interface::Any).unwrap();
    assert_eq!(s.socket().multicast_if_v4().unwrap(), Ipv4Addr::UNSPECIFIED);
}

#[test]
fn groups_of_the_wrong_family_or_kind_are_invalid_input() {
    let (mut r4, _) = receiver();
    let err = r4
        .join_group("ff02::1:3".parse().unwrap(), Interface::Index(lo_index()))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "group ff02::1:3 is IPv6, but this socket is IPv4; bind an IPv6 socket for it"
    );
    let err = r4
        .join_group("192.168.1.1".parse().unwrap(), LO)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "group 192.168.1.1: not a multicast address (expected 224.0.0.0/4)"
    );

    let mut r6 = UdpSocket::bind("[::]:0".parse().unwrap()).unwrap();
    let err = r6
        .join_group("224.3.29.71".parse().unwrap(), LO)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = r6.join_chapter(Ipv4Addr::new(224, 3, 29, 71)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = r6.set_multicast_interface(LO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn joining_on_a_missing_interface_names_it() {
    let (mut r, _) = receiver();
    let err = r
        .join_group("224.3.29.78".parse().unwrap(), Interface::Index(999_999))
        .unwrap_err();
    assert_eq!(err.raw_os_error(), None, "wrapped with context");
    assert!(
        err.to_string()
            .starts_with("join group 224.3.29.78 on interface index 999999: "),
        "{err}"
    );
}

#[test]
fn ipv6_join_leave_and_options_on_the_loopback() {
    let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    let mut r = UdpSocket::bind("[::]:0".parse().unwrap()).unwrap();
    let request = MembershipRequest::v6(group, lo_index()).unwrap();
    r.join(&request).unwrap();
    assert_eq!(
        r.join(&request).unwrap_err().kind(),
        io::ErrorKind::AddrInUse,
        "already joined"
    );
    r.leave(&request).unwrap();

    // The raw way with the core's ipv6_mreq bytes.
    let mut optval = [0u8; 20];
    assert_eq!(request.emit(&mut optval).unwrap(), 20);
    r.join_raw(&optval).unwrap();
    r.leave_raw(&optval).unwrap();
    assert_eq!(
        r.leave_raw(&optval).unwrap_err().kind(),
        io::ErrorKind::AddrNotAvailable
    );

    assert!(r.multicast_loop().unwrap());
    r.set_multicast_loop(false).unwrap();
    assert!(!r.multicast_loop().unwrap());
    r.set_multicast_ttl(5).unwrap();
    assert_eq!(r.multicast_ttl().unwrap(), 5);
    assert_eq!(r.socket().multicast_hops_v6().unwrap(), 5);
    r.set_multicast_interface(Interface::Index(lo_index()))
        .unwrap();
    assert_eq!(r.socket().multicast_if_v6().unwrap(), lo_index());
}
