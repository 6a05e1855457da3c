//! UDP on the loopback: datagrams, truncation, deadlines, size limits, timeouts.

mod common;

use std::io;
use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use common::{deadline_in, soon};
use portsock_std::prelude::*;
use portsock_std::udp::UdpSocket;

fn bound(addr: &str) -> UdpSocket {
    UdpSocket::bind(addr.parse().unwrap()).unwrap()
}

#[test]
fn round_trip_ipv4_and_ipv6() {
    for host in ["127.0.0.1:0", "[::1]:0"] {
        let mut server = bound(host);
        let mut client = bound(host);
        let server_addr = server.local_addr().unwrap();
        assert_ne!(server_addr.port(), 0);
        client
            .send_to(b"This is the message.  It will be repeated.", &server_addr)
            .unwrap();

        let mut buf = [0u8; 4096];
        let got = server
            .recv_from(&mut buf, Some(soon()))
            .unwrap()
            .expect("datagram");
        assert_eq!(got.from, client.local_addr().unwrap());
        assert_eq!(
            &buf[..got.len],
            b"This is the message.  It will be repeated."
        );

        server.send_to(&buf[..got.len], &got.from).unwrap();
        let back = client
            .recv_from(&mut buf, None)
            .unwrap()
            .expect("blocking receive");
        assert_eq!((back.len, back.from), (42, server_addr));
    }
}

#[test]
fn truncated_datagram_reports_its_full_length() {
    let mut server = bound("127.0.0.1:0");
    let mut client = bound("127.0.0.1:0");
    let to = server.local_addr().unwrap();
    let big: Vec<u8> = (0..1_000u32).map(|i| (i % 256) as u8).collect();
    client.send_to(&big, &to).unwrap();
    client.send_to(b"next", &to).unwrap();

    let mut buf = [0u8; 10];
    let got = server.recv_from(&mut buf, Some(soon())).unwrap().unwrap();
    assert_eq!(got.len, 1_000);
    assert!(got.is_truncated(buf.len()));
    assert_eq!(got.copied(buf.len()), 10);
    assert_eq!(buf[..], big[..10]);

    // The rest of the long datagram was discarded: the next receive is the next datagram.
    let got = server.recv_from(&mut buf, Some(soon())).unwrap().unwrap();
    assert_eq!((got.len, &buf[..4]), (4, &b"next"[..]));
    assert!(!got.is_truncated(buf.len()));

    // Even an empty buffer learns the size.
    client.send_to(b"sized", &to).unwrap();
    let got = server.recv_from(&mut [], Some(soon())).unwrap().unwrap();
    assert_eq!(got.len, 5);
}

#[test]
fn deadline_passes_with_none() {
    let mut server = bound("127.0.0.1:0");
    let started = StdInstant::now();
    let got = server
        .recv_from(&mut [0u8; 16], Some(deadline_in(150)))
        .unwrap();
    assert_eq!(got, None);
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(145),
        "returned after {waited:?}"
    );
    assert!(
        waited < std::time::Duration::from_secs(3),
        "returned after {waited:?}"
    );
}

#[test]
fn past_deadline_still_takes_a_waiting_datagram() {
    let mut server = bound("127.0.0.1:0");
    let mut client = bound("127.0.0.1:0");
    client
        .send_to(b"early", &server.local_addr().unwrap())
        .unwrap();
    // Give the loopback a moment to queue it, then ask with a deadline already gone.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let past = Instant::now() - Duration::from_millis(1);
    let got = server.recv_from(&mut [0u8; 16], Some(past)).unwrap();
    assert_eq!(got.map(|r| r.len), Some(5));
    assert_eq!(server.recv_from(&mut [0u8; 16], Some(past)).unwrap(), None);
}

#[test]
fn deadline_overrides_the_read_timeout() {
    let mut server = bound("127.0.0.1:0");
    server
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // Without a deadline the socket's timeout applies and fails as timed out...
    let err = server.recv_from(&mut [0u8; 16], None).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(!err.is_would_block());
    assert_eq!(
        err.to_string(),
        "recv_from timed out after 0.100s (SO_RCVTIMEO)"
    );
    // ...with one, the deadline decides and its passing is not an error.
    let started = StdInstant::now();
    assert_eq!(
        server
            .recv_from(&mut [0u8; 16], Some(deadline_in(250)))
            .unwrap(),
        None
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(245));
}

#[test]
fn non_blocking_receive_is_would_block_even_with_a_deadline() {
    let mut server = bound("127.0.0.1:0");
    server.set_nonblocking(true).unwrap();
    // A deadline far beyond the bound below: returning before it shows the receive did not
    // wait, however slow a busy machine makes this thread.
    for deadline in [None, Some(deadline_in(60_000))] {
        let started = StdInstant::now();
        let err = server.recv_from(&mut [0u8; 16], deadline).unwrap_err();
        assert!(err.is_would_block(), "{err}");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(30), "waited {took:?}");
    }
}

#[test]
fn oversize_payload_is_refused_before_sending() {
    let mut client = bound("127.0.0.1:0");
    let mut server = bound("127.0.0.1:0");
    let to = server.local_addr().unwrap();
    let payload = vec![0x5au8; UdpSocket::MAX_PAYLOAD_V4 + 1];
    let err = client.send_to(&payload, &to).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        format!("datagram of 65,508 bytes to {to}: UDP over IPv4 carries at most 65,507 bytes")
    );
    assert_eq!(
        server
            .recv_from(&mut [0u8; 16], Some(deadline_in(100)))
            .unwrap(),
        None,
        "something was sent"
    );

    // The limit itself is fine, and arrives whole.
    client
        .send_to(&payload[..UdpSocket::MAX_PAYLOAD_V4], &to)
        .unwrap();
    let mut buf = vec![0u8; 70_000];
    let got = server.recv_from(&mut buf, Some(soon())).unwrap().unwrap();
    assert_eq!(got.len, 65_507);
}

#[test]
fn oversize_payload_over_ipv6() {
    let mut client = bound("[::1]:0");
    let mut server = bound("[::1]:0");
    let to = server.local_addr().unwrap();
    let payload = vec![0xa5u8; UdpSocket::MAX_PAYLOAD_V6 + 1];
    let err = client.send_to(&payload, &to).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .ends_with("UDP over IPv6 carries at most 65,527 bytes"),
        "{err}"
    );
    client
        .send_to(&payload[..UdpSocket::MAX_PAYLOAD_V6], &to)
        .unwrap();
    let mut buf = vec![0u8; 70_000];
    assert_eq!(
        server
            .recv_from(&mut buf, Some(soon()))
            .unwrap()
            .unwrap()
            .len,
        65_527
    );
}

#[test]
fn reusable_bind_shares_a_port() {
    let first = UdpSocket::bind_reusable("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = first.local_addr().unwrap();
    UdpSocket::bind_reusable(addr).unwrap();
    let err = UdpSocket::bind(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string().starts_with(&format!("bind {addr}: ")),
        "{err}"
    );
}

#[test]
fn bind_host_takes_the_chapter_hosts() {
    let any = UdpSocket::bind_host("", 0).unwrap();
    assert!(any.local_addr().unwrap().ip().is_unspecified());
    let lo = UdpSocket::bind_host("localhost", 0).unwrap();
    assert_eq!(
        lo.local_addr().unwrap().ip(),
        "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
    );
    assert!(UdpSocket::bind_host("::", 0).unwrap().is_ipv6());
}

#[test]
fn from_socket_reads_family_and_mode() {
    let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, None).unwrap();
    socket
        .bind(&"[::1]:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut udp = UdpSocket::from_socket(socket).unwrap();
    assert!(udp.is_ipv6());
    // It knows it is non-blocking, so an empty queue is would-block, not timed out.
    assert!(
        udp.recv_from(&mut [0u8; 4], None)
            .unwrap_err()
            .is_would_block()
    );
    let unix = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None).unwrap();
    assert_eq!(
        UdpSocket::from_socket(unix).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}
