//! The core's machines on smoltcp over an in-process `Loopback` device with a simulated clock:
//! no privileges, deterministic, runs anywhere. Client and server share one stack and one
//! thread, each socket non-blocking and stepped in turn, as a firmware main loop would.

use std::net::SocketAddr;

use portsock_core::drive::{DriveError, step_datagram, step_stream};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoError, DatagramEchoServer};
use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoSession, SessionEvent};
use portsock_core::machine::{Status, StreamMachine};
use portsock_core::multicast::{MulticastReceiver, MulticastSender, SenderEvent};
use portsock_core::record::{ReceiverEvent, RecordReceiver, RecordSender};
use portsock_core::time::{Clock, Duration};
use portsock_core::transport::{
    Blocking, Datagram, Error as _, ErrorKind, Listener, MembershipRequest, Multicast, Read,
    Stream, Write,
};
use portsock_core::wire::structfmt::{Format, Value};
use portsock_smoltcp::smoltcp::phy::{FaultInjector, Loopback, Medium};
use portsock_smoltcp::{
    Checksummed, Config, ManualPlatform, SocketKind, Stack, TcpError, TcpListener, TcpStream,
    UdpError, UdpSocket, parse_cidr,
};

type LoStack = Stack<'static, Loopback, ManualPlatform>;

fn config() -> Config {
    Config::new([2, 0, 0, 0, 0, 1])
        .with_address(parse_cidr("127.0.0.1/8").unwrap())
        .unwrap()
        .with_address(parse_cidr("::1/128").unwrap())
        .unwrap()
}

fn stack() -> LoStack {
    let s = Stack::new(
        &config(),
        Loopback::new(Medium::Ip),
        ManualPlatform::default(),
        vec![],
    )
    .unwrap();
    s.add_tcp_sockets(8, 16 * 1024, 16 * 1024).unwrap();
    s.add_udp_sockets(4, 8, 4096).unwrap();
    s
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Steps a stream machine: whether it is done; an error is a failure.
fn step<S: Stream, M: StreamMachine>(s: &mut S, m: &mut M, observe: &mut impl FnMut(&mut M)) -> bool
where
    S::Error: std::fmt::Debug,
    M::Error: std::fmt::Debug,
{
    match step_stream(s, m, observe) {
        Ok(Status::Done) => true,
        Ok(Status::Running | Status::Blocked) => false,
        Err(e) => panic!(
            "stream machine failed: {e:?} in {}",
            std::any::type_name::<M>()
        ),
    }
}

/// The chapter's TCP echo, client and server on one smoltcp stack: the transcript both sides
/// print, and every byte echoed.
fn tcp_echo(server: &str, connect: &str) {
    let stack = stack();
    let mut listener = TcpListener::bind(&stack, addr(server), 1).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut client_stream = TcpStream::connect(&stack, addr(connect), Some(Duration::from_secs(5)))
        .expect("connect over loopback");
    client_stream.set_nonblocking(true).unwrap();
    let (mut server_stream, peer) = listener.accept().expect("accept after the handshake");
    server_stream.set_nonblocking(true).unwrap();
    assert_eq!(peer, client_stream.local_addr().unwrap());
    assert_eq!(
        server_stream.peer_addr().unwrap(),
        client_stream.local_addr().unwrap()
    );

    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]).with_half_close(true);
    let mut session = EchoSession::new([0u8; 16]);
    let (mut client_lines, mut server_lines) = (Vec::new(), Vec::new());
    let mut echoed = Vec::new();
    let (mut client_done, mut server_done) = (false, false);
    for _ in 0..10_000 {
        if !client_done {
            client_done = step(&mut client_stream, &mut client, &mut |c| {
                while let Some(e) = c.poll_event() {
                    match e {
                        ClientEvent::Sending(m) => {
                            client_lines.push(format!("sending {}", m.len()))
                        }
                        ClientEvent::Received(d) => {
                            echoed.extend_from_slice(d);
                            client_lines.push(format!("received {:?}", String::from_utf8_lossy(d)));
                        }
                        _ => client_lines.push("done".into()),
                    }
                }
            });
        }
        if !server_done {
            server_done = step(&mut server_stream, &mut session, &mut |s| {
                while let Some(e) = s.poll_event() {
                    match e {
                        SessionEvent::Received(d) => {
                            server_lines.push(format!("received {:?}", String::from_utf8_lossy(d)))
                        }
                        SessionEvent::PeerClosed => server_lines.push("no more data".into()),
                        _ => {}
                    }
                }
            });
        }
        if client_done && server_done {
            break;
        }
        stack.wait(None);
    }
    assert!(
        client_done && server_done,
        "echo did not finish: {client_lines:?} {server_lines:?}"
    );
    assert_eq!(echoed, CHAPTER_MESSAGE);
    assert_eq!(
        client_lines[1..4],
        [
            "received \"This is the mess\"",
            "received \"age.  It will be\"",
            "received \" repeated.\""
        ]
    );
    assert_eq!(server_lines.last().unwrap(), "no more data");
    let received: String = server_lines
        .iter()
        .filter_map(|l| l.strip_prefix("received \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    assert_eq!(received.as_bytes(), CHAPTER_MESSAGE);
    drop((client_stream, server_stream));
    assert!(
        stack.finish(Duration::from_secs(5)),
        "connections did not close"
    );
    assert_eq!(
        stack.free_sockets(SocketKind::Tcp),
        7,
        "the listener keeps one listening"
    );
}

#[test]
fn tcp_echo_ipv4() {
    tcp_echo("127.0.0.1:10000", "127.0.0.1:10000");
}

#[test]
fn tcp_echo_any_address_ipv6() {
    tcp_echo("[::]:10000", "[::1]:10000");
}

/// Four clients at once against one listener with a pool of four: each sends 256 KiB of its
/// own pattern and gets exactly its own bytes back.
#[test]
fn tcp_listener_pool_serves_clients_at_once() {
    let stack = stack();
    let mut listener = TcpListener::bind(&stack, addr("127.0.0.1:10000"), 4).unwrap();
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.listening(), 4);
    let messages: Vec<Vec<u8>> = (0..4u8)
        .map(|k| {
            (0..256 * 1024)
                .map(|i: usize| (i * 7 + usize::from(k) * 13) as u8)
                .collect()
        })
        .collect();
    let mut clients = Vec::new();
    for m in &messages {
        let mut s = TcpStream::connect(
            &stack,
            addr("127.0.0.1:10000"),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        s.set_nonblocking(true).unwrap();
        clients.push((
            s,
            EchoClient::new(m, vec![0u8; 4096]).with_half_close(true),
            false,
        ));
    }
    let mut sessions = Vec::new();
    while sessions.len() < 4 {
        match listener.accept() {
            Ok((mut s, _)) => {
                s.set_nonblocking(true).unwrap();
                sessions.push((s, EchoSession::new(vec![0u8; 4096]), false));
            }
            Err(e) if portsock_core::transport::TransportError::is_would_block(&e) => {
                stack.wait(None)
            }
            Err(e) => panic!("{e}"),
        }
    }
    for _ in 0..200_000 {
        for (s, m, done) in &mut clients {
            if !*done {
                *done = step(s, m, &mut |_| {});
            }
        }
        for (s, m, done) in &mut sessions {
            if !*done {
                *done = step(s, m, &mut |_| {});
            }
        }
        if clients.iter().all(|c| c.2) && sessions.iter().all(|s| s.2) {
            break;
        }
        stack.wait(None);
    }
    assert!(
        clients.iter().all(|c| c.2),
        "not every client got its echo back"
    );
    assert!(sessions.iter().all(|s| s.2));
}

#[test]
fn udp_echo_ipv4_and_ipv6() {
    for (server_addr, client_addr) in [
        ("127.0.0.1:10000", "127.0.0.1:0"),
        ("[::1]:10000", "[::1]:0"),
    ] {
        let stack = stack();
        let server_addr = addr(server_addr);
        let mut server_socket = UdpSocket::bind(&stack, server_addr).unwrap();
        server_socket.set_nonblocking(true).unwrap();
        let mut client_socket = UdpSocket::bind(&stack, addr(client_addr)).unwrap();
        client_socket.set_nonblocking(true).unwrap();
        let mut server = DatagramEchoServer::new([0u8; 4096]);
        let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr, [0u8; 4096]);
        let mut got = Vec::new();
        for _ in 0..1000 {
            match step_datagram(&mut client_socket, &mut client, &stack, &mut |c| {
                while let Some(e) = c.poll_event() {
                    if let portsock_core::echo::datagram::ClientEvent::Received(data) = e {
                        got.extend_from_slice(data);
                    }
                }
            }) {
                Ok(Status::Done) => break,
                Ok(Status::Running | Status::Blocked) => {}
                Err(e) => panic!("{e:?}"),
            }
            step_datagram(&mut server_socket, &mut server, &stack, &mut |_| {}).unwrap();
            stack.wait(None);
        }
        assert!(client.is_done());
        assert_eq!(got, CHAPTER_MESSAGE);
    }
}

/// With every frame dropped, the datagram client reports its loss after its retries instead
/// of waiting forever.
#[test]
fn udp_echo_reports_losses() {
    let mut lossy = FaultInjector::new(Loopback::new(Medium::Ip), 7);
    lossy.set_drop_chance(100);
    let stack = Stack::new(&config(), lossy, ManualPlatform::default(), vec![]).unwrap();
    stack.add_udp_sockets(1, 4, 2048).unwrap();
    let mut socket = UdpSocket::bind(&stack, addr("127.0.0.1:0")).unwrap();
    let mut client = DatagramEchoClient::new(b"hello", addr("127.0.0.1:10000"), [0u8; 64])
        .with_timeout(Duration::from_millis(500))
        .with_retries(2);
    let started = stack.now();
    let err = portsock_core::drive::run_datagram(&mut socket, &mut client, &stack, &mut |_| {})
        .expect_err("nothing can come back");
    assert!(
        matches!(
            err,
            DriveError::Protocol(DatagramEchoError::Lost { attempts: 3, .. })
        ),
        "{err:?}"
    );
    assert_eq!(stack.now() - started, Duration::from_millis(1500));
}

/// Connects a client to a listener on 127.0.0.1:10000 of `stack` (both non-blocking), echoes
/// `message` through the core's machines in `chunk`-byte reads, stepping both ends in turn, and
/// returns the bytes the client verified and the simulated time it took.
fn echo_through<D: portsock_smoltcp::smoltcp::phy::Device>(
    stack: &Stack<'static, D, ManualPlatform>,
    message: &[u8],
    chunk: usize,
) -> (usize, Duration) {
    let started = stack.now();
    let mut listener = TcpListener::bind(stack, addr("127.0.0.1:10000"), 1).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut c = TcpStream::connect(
        stack,
        addr("127.0.0.1:10000"),
        Some(Duration::from_secs(60)),
    )
    .expect("connect");
    c.set_nonblocking(true).unwrap();
    let (mut s, _) = loop {
        match listener.accept() {
            Ok(x) => break x,
            Err(e) if portsock_core::transport::TransportError::is_would_block(&e) => {
                stack.wait(None)
            }
            Err(e) => panic!("{e}"),
        }
    };
    s.set_nonblocking(true).unwrap();
    let mut client = EchoClient::new(message, vec![0u8; chunk])
        .with_chunk(chunk)
        .with_half_close(true);
    let mut session = EchoSession::new(vec![0u8; chunk]).with_chunk(chunk);
    let mut total = 0usize;
    let (mut cd, mut sd) = (false, false);
    for _ in 0..5_000_000 {
        if !cd {
            cd = step(&mut c, &mut client, &mut |m| {
                while let Some(e) = m.poll_event() {
                    if let ClientEvent::Received(d) = e {
                        total += d.len();
                    }
                }
            });
        }
        if !sd {
            sd = step(&mut s, &mut session, &mut |_| {});
        }
        if cd && sd {
            break;
        }
        stack.wait(None);
    }
    assert!(cd && sd, "the echo did not finish: {total} bytes back");
    (total, stack.now() - started)
}

/// 1 MiB echoed over a link that drops 10% and corrupts 1% of the frames, every byte right:
/// TCP's retransmissions and checksums at work under the core's machines.
#[test]
fn tcp_echo_one_mib_through_faults() {
    // Loopback claims checksums need no checking; Checksummed makes smoltcp verify them, so a
    // corrupted frame is dropped as on a real link.
    let mut faulty = FaultInjector::new(Checksummed::new(Loopback::new(Medium::Ip)), 0x5eed);
    faulty.set_drop_chance(10);
    faulty.set_corrupt_chance(1);
    let stack = Stack::new(&config(), faulty, ManualPlatform::default(), vec![]).unwrap();
    stack.add_tcp_sockets(3, 32 * 1024, 32 * 1024).unwrap();
    let message: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (total, _) = echo_through(&stack, &message, 8192);
    assert_eq!(total, 1 << 20, "every byte verified by the client machine");
}

/// The chapter's multicast exchange on one stack: a receiver joined to 224.3.29.71 acks the
/// sender's datagram, and the sender collects `(peer, ack)` until its timeout.
#[test]
fn multicast_sender_collects_ack() {
    let stack = stack();
    let group = addr("224.3.29.71:10000");
    let mut rx = UdpSocket::bind(&stack, addr("0.0.0.0:10000")).unwrap();
    rx.join(&MembershipRequest::new(group.ip(), portsock_core::transport::Interface::Any).unwrap())
        .unwrap();
    assert!(stack.with_interface(|i| i.has_multicast_group(group.ip())));
    rx.set_nonblocking(true).unwrap();
    let mut tx = UdpSocket::bind(&stack, addr("127.0.0.1:0")).unwrap();
    tx.set_multicast_ttl(1).unwrap();
    tx.set_nonblocking(true).unwrap();
    let mut sender: MulticastSender<'_, 4, 64> =
        MulticastSender::new(b"very important data", group, Duration::from_millis(200));
    let mut receiver = MulticastReceiver::new([0u8; 1024]).with_limit(1);
    let mut acks = Vec::new();
    for _ in 0..10_000 {
        let s = step_datagram(&mut tx, &mut sender, &stack, &mut |m| {
            while let Some(e) = m.poll_event() {
                if let SenderEvent::Reply { from, payload, .. } = e {
                    acks.push((from, payload.to_vec()));
                }
            }
        });
        match s {
            Ok(Status::Done) => break,
            Ok(Status::Running | Status::Blocked) => {}
            Err(e) => panic!("{e:?}"),
        }
        if !receiver.is_done() {
            step_datagram(&mut rx, &mut receiver, &stack, &mut |_| {}).unwrap();
        }
        stack.wait(None);
    }
    assert!(sender.is_done());
    assert_eq!(acks.len(), 1, "one receiver, one ack: {acks:?}");
    assert_eq!(acks[0].1, b"ack");
    assert_eq!(acks[0].0.port(), 10000);
}

/// The chapter's binary record (`'I 2s f'`, `(1, b'ab', 2.7)`) over TCP through the codec.
#[test]
fn binary_record_over_tcp() {
    let stack = stack();
    let mut listener = TcpListener::bind(&stack, addr("127.0.0.1:10000"), 1).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut c = TcpStream::connect(
        &stack,
        addr("127.0.0.1:10000"),
        Some(Duration::from_secs(5)),
    )
    .unwrap();
    c.set_nonblocking(true).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_nonblocking(true).unwrap();
    let format = Format::parse("I 2s f").unwrap();
    let values = [Value::Int(1), Value::Bytes(b"ab"), Value::Float(2.7)];
    let mut sender = RecordSender::new(&format, &values, [0u8; 64]).unwrap();
    let mut receiver = RecordReceiver::new(format, [0u8; 64]).unwrap();
    let mut unpacked = None;
    let (mut sd, mut rd) = (false, false);
    for _ in 0..10_000 {
        if !sd {
            sd = step(&mut c, &mut sender, &mut |_| {});
        }
        if !rd {
            rd = step(&mut s, &mut receiver, &mut |r| {
                while let Some(e) = r.poll_event() {
                    if let ReceiverEvent::Received { values, .. } = e {
                        unpacked = Some(format!("{:?}", values.collect::<Vec<_>>()));
                    }
                }
            });
        }
        if sd && rd {
            break;
        }
        stack.wait(None);
    }
    let unpacked = unpacked.expect("the receiver unpacked a record");
    assert!(
        unpacked.contains("Int(1)")
            && unpacked.contains("[97, 98]")
            && unpacked.contains("2.70000004"),
        "{unpacked}"
    );
}

#[test]
fn errors_are_clear_and_never_panic() {
    let stack = stack();
    let _l = TcpListener::bind(&stack, addr("127.0.0.1:10000"), 1).unwrap();
    let e = TcpListener::bind(&stack, addr("127.0.0.1:10000"), 1)
        .err()
        .unwrap();
    assert_eq!(e, TcpError::AddrInUse(10000));
    assert_eq!(e.to_string(), "address already in use: port 10000");
    // Nobody listens on 10001: smoltcp answers the SYN with a RST.
    let e = TcpStream::connect(
        &stack,
        addr("127.0.0.1:10001"),
        Some(Duration::from_secs(5)),
    )
    .err()
    .unwrap();
    assert_eq!(e, TcpError::ConnectionRefused);
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(e.to_string(), "connection refused");
    let e = TcpStream::connect(&stack, addr("10.1.2.3:80"), None)
        .err()
        .unwrap();
    assert_eq!(e, TcpError::NoRoute, "no gateway configured");
    let e = TcpStream::connect(&stack, addr("0.0.0.0:10000"), None)
        .err()
        .unwrap();
    assert_eq!(e, TcpError::Unaddressable);
    let mut u = UdpSocket::bind(&stack, addr("127.0.0.1:0")).unwrap();
    let e = u
        .send_to(&vec![0u8; 70_000], &addr("127.0.0.1:9"))
        .unwrap_err();
    assert_eq!(
        e,
        UdpError::DatagramTooLarge {
            len: 70_000,
            max: 65_507
        }
    );
    let e = u
        .send_to(&vec![0u8; 40_000], &addr("127.0.0.1:9"))
        .unwrap_err();
    assert_eq!(
        e,
        UdpError::DatagramTooLarge {
            len: 40_000,
            max: 8 * 4096
        }
    );
    assert!(u.set_read_timeout(Some(Duration::ZERO)).is_err());
    let bad = MembershipRequest::new(
        "10.0.0.1".parse().unwrap(),
        portsock_core::transport::Interface::Any,
    );
    assert!(bad.is_err(), "the core refuses a unicast group");
    let e = u
        .join(
            &MembershipRequest::new(
                "224.1.1.1".parse().unwrap(),
                portsock_core::transport::Interface::Addr("10.9.9.9".parse().unwrap()),
            )
            .unwrap(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("no such interface"), "{e}");
    assert_eq!(
        u.set_multicast_loop(true).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    // Timeouts: a blocking read with a timeout times out, non-blocking would block.
    u.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let t0 = stack.now();
    let mut buf = [0u8; 8];
    assert_eq!(u.recv_from(&mut buf, None).unwrap_err(), UdpError::TimedOut);
    assert_eq!(stack.now() - t0, Duration::from_millis(300));
    assert_eq!(
        u.recv_from(&mut buf, Some(stack.now() + Duration::from_millis(50)))
            .unwrap(),
        None
    );
    u.set_nonblocking(true).unwrap();
    assert_eq!(
        u.recv_from(&mut buf, None).unwrap_err(),
        UdpError::WouldBlock
    );
    // Running out of sockets is an error, not a panic.
    let more: Vec<_> = (0..3)
        .map(|_| UdpSocket::bind(&stack, addr("127.0.0.1:0")).unwrap())
        .collect();
    assert_eq!(
        UdpSocket::bind(&stack, addr("127.0.0.1:0")).err(),
        Some(UdpError::NoFreeSocket)
    );
    assert_eq!(
        UdpError::NoFreeSocket.to_string(),
        "no free UDP socket: every one the stack was given is in use"
    );
    drop(more);
    assert!(
        UdpSocket::bind(&stack, addr("127.0.0.1:0")).is_ok(),
        "dropped sockets are free again"
    );
    eprintln!(
        "listening: {} free {}",
        _l.listening(),
        stack.free_sockets(SocketKind::Tcp)
    );
    let mut s = TcpStream::connect(
        &stack,
        addr("127.0.0.1:10000"),
        Some(Duration::from_secs(1)),
    )
    .unwrap();
    s.shutdown(portsock_core::transport::Shutdown::Write)
        .unwrap();
    assert_eq!(s.write(b"x").unwrap_err(), TcpError::BrokenPipe);
    let mut b = [0u8; 4];
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(s.read(&mut b).unwrap_err(), TcpError::TimedOut);
}

/// Over an Ethernet-medium loopback the first SYN waits for ARP; the stack keeps polling while
/// frames move, so the handshake takes no timer at all (it used to wait smoltcp's 1 s
/// neighbour-discovery silence).
#[test]
fn ethernet_loopback_connects_without_waiting_for_a_timer() {
    let stack = Stack::new(
        &config(),
        Loopback::new(Medium::Ethernet),
        ManualPlatform::default(),
        vec![],
    )
    .unwrap();
    stack.add_tcp_sockets(2, 4096, 4096).unwrap();
    let _listener = TcpListener::bind(&stack, addr("127.0.0.1:10000"), 1).unwrap();
    let started = stack.now();
    let stream = TcpStream::connect(
        &stack,
        addr("127.0.0.1:10000"),
        Some(Duration::from_secs(5)),
    )
    .expect("connect");
    assert_eq!(
        stack.now() - started,
        Duration::ZERO,
        "no simulated time passed"
    );
    drop(stream);
}

/// A rate limit (the `FaultInjector`'s policer, 200 frames/s each way, as `--rate-limit 200`
/// sets it): a 64 KiB echo still completes with every byte right, TCP backing off and
/// retransmitting what the policer dropped; it takes simulated seconds, not none.
#[test]
fn tcp_echo_through_a_rate_limit() {
    let mut limited = FaultInjector::new(Checksummed::new(Loopback::new(Medium::Ip)), 3);
    limited.set_bucket_interval(portsock_smoltcp::smoltcp::time::Duration::from_millis(100));
    limited.set_max_tx_rate(20);
    limited.set_max_rx_rate(20);
    let stack = Stack::new(&config(), limited, ManualPlatform::default(), vec![]).unwrap();
    stack.add_tcp_sockets(3, 8 * 1024, 8 * 1024).unwrap();
    let message: Vec<u8> = (0..64 * 1024).map(|i: u32| (i % 253) as u8).collect();
    let (total, took) = echo_through(&stack, &message, 4096);
    assert_eq!(total, message.len());
    assert!(
        took >= Duration::from_millis(500),
        "a policed link takes time: {took}"
    );
}

#[test]
fn udp_socket_bound_to_one_family_refuses_the_other() {
    // Found by the smoltcp_stack fuzz target: a socket bound to an IPv4 address that sent to
    // an IPv6 one made smoltcp panic on the next poll ("IP version mismatch").
    let stack = stack();
    let mut v4 = UdpSocket::bind(&stack, addr("127.0.0.1:7000")).unwrap();
    assert_eq!(
        v4.send_to(b"x", &addr("[::1]:9")),
        Err(UdpError::Unaddressable)
    );
    let mut v6 = UdpSocket::bind(&stack, addr("[::1]:7001")).unwrap();
    assert_eq!(
        v6.send_to(b"x", &addr("127.0.0.1:9")),
        Err(UdpError::Unaddressable)
    );
    stack.poll();
    // The unspecified address still sends to either family.
    let mut any = UdpSocket::bind(&stack, addr("0.0.0.0:7002")).unwrap();
    assert_eq!(any.send_to(b"x", &addr("[::1]:7001")), Ok(()));
    assert_eq!(any.send_to(b"x", &addr("127.0.0.1:7000")), Ok(()));
    stack.poll();
    let mut buf = [0u8; 4];
    let got = v6.recv_from(&mut buf, None).unwrap().unwrap();
    assert_eq!((got.len, got.from.port()), (1, 7002));
}
