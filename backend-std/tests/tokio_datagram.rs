//! portsock-std's tokio datagram sockets (feature `tokio`): UDP on the loopback (multicast
//! pinned to it, as in tests/multicast.rs) and Unix datagram sockets in a temporary directory,
//! against blocking std peers and the core's datagram machines run by the core's async driver.

mod common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::thread;
use std::time::Duration as StdDuration;

use common::TempDir;
use portsock_core::asynch::drive::run_datagram;
use portsock_core::asynch::transport::{Datagram, Interface, MembershipRequest, Multicast};
use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoServer};
use portsock_core::echo::{CHAPTER_DATAGRAM_SIZE, CHAPTER_MESSAGE};
use portsock_core::multicast::{CHAPTER_ACK, CHAPTER_TTL, MulticastReceiver, MulticastSender};
use portsock_core::time::Duration;
use portsock_std::tokio::{TokioTimer, UdpSocket, UnixDatagram};
use portsock_std::unix::UnixAddr;
use socket2::SockRef;

const LO: Interface = Interface::Addr(Ipv4Addr::LOCALHOST);

/// Generous: for things that happen at once on the loopback.
const SOON: StdDuration = StdDuration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_echo_server_and_client_machines() {
    let mut server_socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let server_addr = server_socket.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut server = DatagramEchoServer::new([0u8; CHAPTER_DATAGRAM_SIZE]).with_limit(3);
        run_datagram(&mut server_socket, &mut server, &TokioTimer, &mut |_| {})
            .await
            .map(|()| server.served())
            .map_err(|e| e.to_string())
    });
    for _ in 0..3 {
        let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut client =
            DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr, [0u8; CHAPTER_DATAGRAM_SIZE])
                .with_timeout(Duration::from_secs(5));
        run_datagram(&mut socket, &mut client, &TokioTimer, &mut |_| {})
            .await
            .unwrap();
        assert!(client.is_done());
    }
    assert_eq!(server.await.unwrap().unwrap(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn udp_echo_client_times_out_on_tokios_clock() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap(); // never answers
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut client =
        DatagramEchoClient::new(CHAPTER_MESSAGE, silent.local_addr().unwrap(), [0u8; 64])
            .with_timeout(Duration::from_millis(200))
            .with_retries(1);
    let started = std::time::Instant::now();
    let err = run_datagram(&mut socket, &mut client, &TokioTimer, &mut |_| {})
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(err.to_string().contains("protocol"), "{err}");
    assert_eq!(client.attempts(), 2); // the first send and one retry
    assert!(waited >= StdDuration::from_millis(395), "{waited:?}");
    // The datagram the silent socket got, twice: the same message both times.
    let mut buf = [0u8; 64];
    for _ in 0..2 {
        let (n, _) = silent.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], CHAPTER_MESSAGE);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn udp_truncation_shows_the_full_length_against_a_std_peer() {
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let long: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    peer.send_to(&long, socket.local_addr().unwrap()).unwrap();
    peer.send_to(b"short", socket.local_addr().unwrap())
        .unwrap();

    let mut buf = [0u8; 10];
    let got = socket.recv_from(&mut buf).await.unwrap();
    assert_eq!(got.len, 1000);
    assert_eq!(got.from, peer.local_addr().unwrap());
    assert!(got.is_truncated(buf.len()));
    assert_eq!(&buf, &long[..10]);
    // The rest of the long datagram is gone; the next one is whole.
    let got = socket.recv_from(&mut buf).await.unwrap();
    assert_eq!((got.len, &buf[..5]), (5, &b"short"[..]));

    // And the other way: the std peer gets what the tokio socket sends.
    socket
        .send_to(b"reply", &peer.local_addr().unwrap())
        .await
        .unwrap();
    let mut back = [0u8; 16];
    let (n, from) = peer.recv_from(&mut back).unwrap();
    assert_eq!(
        (&back[..n], from),
        (&b"reply"[..], socket.local_addr().unwrap())
    );
}

#[tokio::test(flavor = "current_thread")]
async fn udp_refuses_oversized_payloads_naming_the_limit() {
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let err = socket.send_to(&[0u8; 65_508], &to).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "datagram of 65,508 bytes to 127.0.0.1:9: UDP over IPv4 carries at most 65,507 bytes"
    );
    let err = UdpSocket::bind("192.0.2.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("bind 192.0.2.1:0: "), "{err}");
}

/// Datagrams per batch the senders below send when told to.
const BATCH: u32 = 100;

/// Receives `batches` batches of numbered datagrams from a sender that sends a batch each time
/// `go` tells it to, with every wait cut short: before each batch a receive waits on an empty
/// socket and is dropped, and within it each receive is dropped after 200 µs, so futures are
/// dropped mid-receive over and over. Every datagram must still arrive once, in order.
async fn receive_while_cancelling<D: Datagram>(
    socket: &mut D,
    go: std::sync::mpsc::Sender<()>,
    batches: u32,
) -> u32
where
    D::Error: std::fmt::Debug,
{
    let mut next = 0u32;
    let mut cancelled = 0u32;
    let mut buf = [0u8; 8];
    for _ in 0..batches {
        // Nothing is on its way: this receive is always cut short.
        let idle = tokio::time::timeout(StdDuration::from_millis(1), socket.recv_from(&mut buf));
        assert!(
            idle.await.is_err(),
            "a datagram before the batch was asked for"
        );
        cancelled += 1;
        go.send(()).unwrap();
        let end = next + BATCH;
        while next < end {
            let wait = StdDuration::from_micros(200);
            match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
                Err(_elapsed) => cancelled += 1,
                Ok(got) => {
                    let got = got.unwrap();
                    assert_eq!(got.len, 4);
                    assert_eq!(u32::from_be_bytes(buf[..4].try_into().unwrap()), next);
                    next += 1;
                }
            }
        }
    }
    cancelled
}

/// Sends `batches` batches of [`BATCH`] numbered datagrams with `send`, each once `go` says.
fn send_batches(go: &std::sync::mpsc::Receiver<()>, batches: u32, mut send: impl FnMut(&[u8])) {
    for batch in 0..batches {
        go.recv().unwrap();
        for i in batch * BATCH..(batch + 1) * BATCH {
            send(&i.to_be_bytes());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_receive_is_cancel_safe() {
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // Room for a whole batch, so the kernel drops none while the receiver dawdles.
    SockRef::from(socket.as_ref())
        .set_recv_buffer_size(1 << 20)
        .unwrap();
    let to = socket.local_addr().unwrap();
    let (go, told) = std::sync::mpsc::channel();
    let sender = thread::spawn(move || {
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        send_batches(&told, 10, |d| {
            peer.send_to(d, to).unwrap();
        });
    });
    let received = receive_while_cancelling(&mut socket, go, 10);
    let cancelled = tokio::time::timeout(SOON, received)
        .await
        .expect("every datagram within 10 s");
    sender.join().unwrap();
    assert!(cancelled >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_datagram_receive_is_cancel_safe() {
    let dir = TempDir::new("tokio-dgram-cancel");
    let path = dir.join("dgram");
    let mut socket = UnixDatagram::bind(&path).await.unwrap();
    let (go, told) = std::sync::mpsc::channel();
    // A Unix datagram sender waits when the receiver's queue is full: nothing is dropped.
    let sender = thread::spawn(move || {
        let peer = std::os::unix::net::UnixDatagram::unbound().unwrap();
        send_batches(&told, 30, |d| {
            peer.send_to(d, &path).unwrap();
        });
    });
    let received = receive_while_cancelling(&mut socket, go, 30);
    let cancelled = tokio::time::timeout(SOON, received)
        .await
        .expect("every datagram within 10 s");
    sender.join().unwrap();
    assert!(cancelled >= 30);
}

#[tokio::test(flavor = "current_thread")]
async fn unix_datagrams_with_addresses_truncation_and_the_node() {
    let dir = TempDir::new("tokio-dgram");
    let server_path = dir.join("server");
    let client_path = dir.join("client");
    let mut server = UnixDatagram::bind(&server_path).await.unwrap();
    let mut client = UnixDatagram::bind(&client_path).await.unwrap();
    let server_addr = UnixAddr::from(server_path.as_path());
    assert_eq!(server.local_addr().unwrap(), server_addr);

    client.send_to(b"0123456789", &server_addr).await.unwrap();
    let mut buf = [0u8; 4];
    let got = server.recv_from(&mut buf).await.unwrap();
    assert_eq!(got.len, 10); // MSG_TRUNC: the full length
    assert_eq!(&buf, b"0123");
    assert_eq!(got.from, UnixAddr::from(client_path.as_path()));
    server.send_to(b"pong", &got.from).await.unwrap();
    let got = client.recv_from(&mut buf).await.unwrap();
    assert_eq!((got.len, &buf, got.from), (4, b"pong", server_addr.clone()));

    // An unbound sender is Unnamed, and nothing can be sent to that.
    let mut anonymous = UnixDatagram::unbound().unwrap();
    anonymous.send_to(b"hi", &server_addr).await.unwrap();
    let got = server.recv_from(&mut buf).await.unwrap();
    assert_eq!(got.from, UnixAddr::Unnamed);
    let err = server.send_to(b"x", &UnixAddr::Unnamed).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

    // A std peer hears it too.
    let std_peer = std::os::unix::net::UnixDatagram::bind(dir.join("std")).unwrap();
    server
        .send_to(b"to std", &UnixAddr::from(dir.join("std")))
        .await
        .unwrap();
    let mut back = [0u8; 16];
    let n = std_peer.recv(&mut back).unwrap();
    assert_eq!(&back[..n], b"to std");

    // A pair: connected, unnamed.
    let (a, mut b) = UnixDatagram::pair().unwrap();
    a.send(b"paired").await.unwrap();
    let got = b.recv_from(&mut [0u8; 16]).await.unwrap();
    assert_eq!((got.len, got.from), (6, UnixAddr::Unnamed));

    assert!(server.remove_node().unwrap());
    assert!(!server_path.exists());
    let err = client.send_to(b"gone", &server_addr).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multicast_sender_and_receiver_machines_on_the_loopback() {
    let group = Ipv4Addr::new(224, 3, 29, 91);
    let mut rx = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).await.unwrap();
    rx.join_group(group.into(), LO).unwrap();
    let port = rx.local_addr().unwrap().port();
    let receiver = tokio::spawn(async move {
        let mut receiver = MulticastReceiver::new([0u8; 1024]).with_limit(1);
        run_datagram(&mut rx, &mut receiver, &TokioTimer, &mut |_| {})
            .await
            .map(|()| receiver.acknowledged())
            .map_err(|e| e.to_string())
    });

    let mut tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    tx.set_multicast_interface(LO).unwrap();
    tx.set_multicast_ttl(CHAPTER_TTL).unwrap();
    assert_eq!(tx.multicast_ttl().unwrap(), CHAPTER_TTL);
    let to = SocketAddr::from((group, port));
    let mut sender =
        MulticastSender::<4, 16>::new(b"very important data", to, Duration::from_millis(500));
    run_datagram(&mut tx, &mut sender, &TokioTimer, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(receiver.await.unwrap().unwrap(), 1);
    let replies = sender.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].from.port(), port);
    assert_eq!(&replies[0].payload[..], CHAPTER_ACK);
}

#[tokio::test(flavor = "current_thread")]
async fn multicast_leave_loop_and_family_checks() {
    let group = Ipv4Addr::new(224, 3, 29, 92);
    let mut rx = UdpSocket::bind_reusable("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let request = MembershipRequest::v4(group, LO).unwrap();
    rx.join(&request).unwrap();
    let err = rx.join(&request).unwrap_err();
    assert_eq!(
        err.kind(),
        io::ErrorKind::AddrInUse,
        "already joined: {err}"
    );
    assert!(
        err.to_string()
            .starts_with("join group 224.3.29.92 on interface 127.0.0.1: "),
        "{err}"
    );
    rx.leave(&request).unwrap();
    let err = rx.leave(&request).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable, "{err}");

    assert!(rx.multicast_loop().unwrap());
    rx.set_multicast_loop(false).unwrap();
    assert!(!rx.multicast_loop().unwrap());
    assert!(!SockRef::from(rx.as_ref()).multicast_loop_v4().unwrap());

    let err = rx
        .join_group("ff02::1:3".parse().unwrap(), Interface::Index(1))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "group ff02::1:3 is IPv6, but this socket is IPv4; bind an IPv6 socket for it"
    );
    let err = rx
        .join_group(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), LO)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

    // IPv6: joins, leaves and options (lo carries no IPv6 multicast; see tests/multicast.rs).
    let lo_index: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut rx6 = UdpSocket::bind("[::]:0".parse().unwrap()).await.unwrap();
    assert!(rx6.is_ipv6());
    let group6: Ipv6Addr = "ff02::1:4".parse().unwrap();
    let request = MembershipRequest::v6(group6, lo_index).unwrap();
    rx6.join(&request).unwrap();
    rx6.leave(&request).unwrap();
    rx6.set_multicast_ttl(5).unwrap();
    assert_eq!(rx6.multicast_ttl().unwrap(), 5);
    assert_eq!(SockRef::from(rx6.as_ref()).multicast_hops_v6().unwrap(), 5);
    rx6.set_multicast_interface(Interface::Index(lo_index))
        .unwrap();
    assert_eq!(
        SockRef::from(rx6.as_ref()).multicast_if_v6().unwrap(),
        lo_index
    );
}
