//! The core's protocol machines, driven by the core's drivers, over real sockets on the
//! loopback and in a temporary directory: the backend meets the transport contract the
//! machines were written against.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::Instant as StdInstant;

use common::TempDir;
use portsock_core::drive::{DriveError, run_datagram, run_stream};
use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoError, DatagramEchoServer};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::echo::{CHAPTER_DATAGRAM_SIZE, CHAPTER_MESSAGE};
use portsock_core::multicast::{CHAPTER_ACK, CHAPTER_TTL, MulticastReceiver, MulticastSender};
use portsock_core::time::Duration;
use portsock_std::prelude::*;
use portsock_std::tcp::{TcpListener, TcpStream};
use portsock_std::udp::UdpSocket;
use portsock_std::unix::{UnixListener, UnixStream, socketpair};

/// Runs the chapter's echo session on `server` and the verifying echo client on `client`.
fn stream_echo<S, C>(mut server: S, mut client: C, message: &'static [u8])
where
    S: Stream + Send + 'static,
    C: Stream,
    S::Error: std::fmt::Debug + Send,
    C::Error: std::fmt::Debug,
{
    let served = thread::spawn(move || {
        let mut session = EchoSession::new([0u8; 64]);
        run_stream(&mut server, &mut session, &mut |_| {}).map(|()| session.received())
    });
    let mut echo = EchoClient::new(message, [0u8; 64]);
    run_stream(&mut client, &mut echo, &mut |_| {}).unwrap();
    assert!(echo.is_done());
    assert_eq!(echo.received(), message.len());
    drop(client); // the server's session ends at the client's FIN
    assert_eq!(served.join().unwrap().unwrap(), message.len() as u64);
}

#[test]
fn tcp_echo_session_and_client() {
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap(), None).unwrap();
    let (server, _) = listener.accept().unwrap();
    stream_echo(server, client, CHAPTER_MESSAGE);
}

#[test]
fn tcp_echo_of_a_long_message() {
    let message: &'static [u8] = Vec::leak((0..300_000u32).map(|i| (i % 253) as u8).collect());
    let mut listener = TcpListener::bind("[::1]:0".parse().unwrap()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap(), None).unwrap();
    let (server, _) = listener.accept().unwrap();
    stream_echo(server, client, message);
}

#[test]
fn unix_echo_session_and_client() {
    let dir = TempDir::new("drive");
    let path = dir.join("uds_socket");
    let mut listener = UnixListener::bind(&path).unwrap();
    let client = UnixStream::connect(&path).unwrap();
    let (server, _) = listener.accept().unwrap();
    stream_echo(server, client, CHAPTER_MESSAGE);

    let (a, b) = socketpair().unwrap();
    stream_echo(a, b, CHAPTER_MESSAGE);
}

#[test]
fn udp_echo_server_and_client() {
    let mut server_socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let server_addr = server_socket.local_addr().unwrap();
    let server = thread::spawn(move || {
        let mut server = DatagramEchoServer::new([0u8; CHAPTER_DATAGRAM_SIZE]).with_limit(1);
        run_datagram(&mut server_socket, &mut server, &SystemClock, &mut |_| {})
            .map(|()| server.served())
    });
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client =
        DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr, [0u8; CHAPTER_DATAGRAM_SIZE])
            .with_timeout(Duration::from_secs(5));
    run_datagram(&mut socket, &mut client, &SystemClock, &mut |_| {}).unwrap();
    assert!(client.is_done());
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

#[test]
fn udp_echo_client_times_out_on_the_host_clock() {
    // Nobody answers on this socket's port.
    let silent = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client =
        DatagramEchoClient::new(CHAPTER_MESSAGE, silent.local_addr().unwrap(), [0u8; 64])
            .with_timeout(Duration::from_millis(200));
    let started = StdInstant::now();
    let err = run_datagram(&mut socket, &mut client, &SystemClock, &mut |_| {}).unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(
            err,
            DriveError::Protocol(DatagramEchoError::Lost { attempts: 1, .. })
        ),
        "{err:?}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(195),
        "gave up after {waited:?}"
    );
    assert!(
        waited < std::time::Duration::from_secs(3),
        "gave up after {waited:?}"
    );
}

#[test]
fn multicast_sender_collects_the_receivers_ack_on_the_loopback() {
    let group = Ipv4Addr::new(224, 3, 29, 90);
    let lo = Interface::Addr(Ipv4Addr::LOCALHOST);
    let mut rx = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
    rx.join_group(group.into(), lo).unwrap();
    let port = rx.local_addr().unwrap().port();
    let receiver = thread::spawn(move || {
        let mut receiver = MulticastReceiver::new([0u8; 1024]).with_limit(1);
        run_datagram(&mut rx, &mut receiver, &SystemClock, &mut |_| {})
            .map(|()| receiver.acknowledged())
    });

    let mut tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    tx.set_multicast_interface(lo).unwrap();
    tx.set_multicast_ttl(CHAPTER_TTL).unwrap();
    let to = SocketAddr::from((group, port));
    let mut sender =
        MulticastSender::<4, 16>::new(b"very important data", to, Duration::from_millis(500));
    run_datagram(&mut tx, &mut sender, &SystemClock, &mut |_| {}).unwrap();
    assert_eq!(receiver.join().unwrap().unwrap(), 1);
    let replies = sender.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].from.port(), port);
    assert_eq!(&replies[0].payload[..], CHAPTER_ACK);
}
