//! TCP on the loopback: echo, addresses, create_connection, timeouts and non-blocking mode.

mod common;

use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::Instant as StdInstant;

use portsock_std::prelude::*;
use portsock_std::tcp::{TcpListener, TcpStream};

const MESSAGE: &[u8] = b"This is the message.  It will be repeated.";

fn loopback_v4() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A port on 127.0.0.1 where nothing listens: bound by a listener that is then closed.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind(loopback_v4()).unwrap();
    listener.local_addr().unwrap()
}

/// The chapter's server for one connection: 16-byte reads echoed with `write_all` until the
/// client closes. Returns the sizes of the reads.
fn serve_one(mut listener: TcpListener) -> thread::JoinHandle<io::Result<Vec<usize>>> {
    thread::spawn(move || {
        let (mut conn, _) = listener.accept()?;
        let mut data = [0u8; 16];
        let mut reads = Vec::new();
        loop {
            let n = conn.read(&mut data)?;
            if n == 0 {
                return Ok(reads);
            }
            reads.push(n);
            conn.write_all(&data[..n])?;
        }
    })
}

fn echo_round_trip(bind: SocketAddr, message: &[u8]) {
    let listener = TcpListener::bind(bind).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve_one(listener);

    let mut client = TcpStream::connect(addr, None).unwrap();
    // Write from a second handle on the same socket while this one reads, so a message
    // larger than the socket buffers cannot deadlock the echo.
    let mut writer = TcpStream::from_socket(client.socket().try_clone().unwrap()).unwrap();
    let owned = message.to_vec();
    let sending = thread::spawn(move || writer.write_all(&owned));

    let mut received = Vec::with_capacity(message.len());
    let mut data = [0u8; 16];
    while received.len() < message.len() {
        let n = client.read(&mut data).unwrap();
        assert!(
            n > 0,
            "server closed after {} of {} bytes",
            received.len(),
            message.len()
        );
        received.extend_from_slice(&data[..n]);
    }
    sending.join().unwrap().unwrap();
    assert!(received == message, "echo differs from the message");
    client.shutdown(Shutdown::Write).unwrap();
    let reads = server.join().unwrap().unwrap();
    assert!(
        reads.iter().all(|&n| (1..=16).contains(&n)),
        "reads of more than 16 bytes: {reads:?}"
    );
    assert_eq!(reads.iter().sum::<usize>(), message.len());
}

#[test]
fn echo_round_trip_with_write_all_and_16_byte_reads() {
    echo_round_trip(loopback_v4(), MESSAGE);
}

#[test]
fn echo_round_trip_of_a_large_message_verifies_every_byte() {
    let message: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    echo_round_trip(loopback_v4(), &message);
}

#[test]
fn echo_round_trip_over_ipv6_loopback() {
    echo_round_trip("[::1]:0".parse().unwrap(), MESSAGE);
}

#[test]
fn port_zero_is_replaced_by_the_chosen_port() {
    let mut listener = TcpListener::bind(loopback_v4()).unwrap();
    let addr = listener.local_addr().unwrap();
    assert_eq!(addr.ip(), loopback_v4().ip());
    assert_ne!(addr.port(), 0);
    let client = TcpStream::connect(addr, None).unwrap();
    let (conn, peer) = listener.accept().unwrap();
    assert_eq!(client.peer_addr().unwrap(), addr);
    assert_eq!(conn.local_addr().unwrap(), addr);
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(conn.peer_addr().unwrap(), peer);
}

#[test]
fn any_address_binds_every_interface() {
    for (host, reach) in [("", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::", "::1")] {
        let mut listener = TcpListener::bind_host(host, 0).unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_unspecified(), "{host:?} bound {addr}");
        let target = SocketAddr::new(reach.parse().unwrap(), addr.port());
        let client = TcpStream::connect(target, None).unwrap();
        let (conn, _) = listener.accept().unwrap();
        assert_eq!(conn.local_addr().unwrap().ip(), target.ip(), "{host:?}");
        drop(client);
    }
}

#[test]
fn listener_with_a_large_backlog_accepts_a_burst() {
    let mut listener =
        TcpListener::bind_with_backlog(loopback_v4(), TcpListener::LARGE_BACKLOG).unwrap();
    let addr = listener.local_addr().unwrap();
    // More connections than the default backlog, all completed before any accept.
    // With the default backlog (128) the 130th connect would wait for a SYN retry; the timeout
    // turns that into a quick failure.
    let timeout = Some(std::time::Duration::from_secs(2));
    let clients: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(addr, timeout).unwrap())
        .collect();
    for _ in 0..clients.len() {
        listener.accept().unwrap();
    }
}

#[test]
fn bind_errors_name_the_address() {
    let taken = TcpListener::bind(loopback_v4()).unwrap();
    let addr = taken.local_addr().unwrap();
    // SO_REUSEADDR does not let two listeners share a port.
    let err = TcpListener::bind(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string().starts_with(&format!("bind {addr}: ")),
        "{err}"
    );
}

#[test]
fn create_connection_tries_addresses_in_order() {
    let closed = closed_port();
    let mut first = TcpListener::bind(loopback_v4()).unwrap();
    let mut second = TcpListener::bind(loopback_v4()).unwrap();
    let (a, b) = (first.local_addr().unwrap(), second.local_addr().unwrap());

    // The first address refuses; the second is connected to.
    let stream = TcpStream::connect_first([closed, a], None).unwrap();
    assert_eq!(stream.peer_addr().unwrap(), a);
    first.accept().unwrap();

    // Both accept: the first in order wins, the second is never tried.
    let stream = TcpStream::connect_first([b, a], None).unwrap();
    assert_eq!(stream.peer_addr().unwrap(), b);
    second.accept().unwrap();
    first.set_nonblocking(true).unwrap();
    assert!(
        first.accept().unwrap_err().is_would_block(),
        "the second address was tried too"
    );
}

#[test]
fn create_connection_returns_the_last_error() {
    let (x, y) = (closed_port(), closed_port());
    let err =
        TcpStream::connect_first([x, y], Some(std::time::Duration::from_secs(2))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("connect {y}: ")), "{msg}");
    assert!(msg.ends_with("(the last of 2 addresses tried)"), "{msg}");
    let none: [SocketAddr; 0] = [];
    assert_eq!(
        TcpStream::connect_first(none, None).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}

#[test]
fn create_connection_resolves_a_host_name() {
    let mut listener = TcpListener::bind_host("localhost", 0).unwrap();
    let addr = listener.local_addr().unwrap();
    let stream = TcpStream::create_connection(
        "localhost",
        addr.port(),
        Some(std::time::Duration::from_secs(2)),
    )
    .unwrap();
    listener.accept().unwrap();
    assert_eq!(stream.peer_addr().unwrap(), addr);

    let closed = closed_port();
    let err = TcpStream::create_connection("127.0.0.1", closed.port(), None).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    assert!(
        err.to_string()
            .starts_with(&format!("127.0.0.1:{}: connect {closed}: ", closed.port())),
        "{err}"
    );

    // Refused before any lookup (a NUL byte), so no query leaves the machine.
    let err = TcpStream::create_connection("no\0such", 10000, None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot resolve no\0such:10000: "),
        "{err}"
    );
}

#[test]
fn connect_refuses_a_zero_timeout() {
    let err = TcpStream::connect(closed_port(), Some(std::time::Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// A connected pair: (client, accepted server side).
fn pair() -> (TcpStream, TcpStream) {
    let mut listener = TcpListener::bind(loopback_v4()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap(), None).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn timed_out_read_is_timed_out_not_would_block() {
    let (mut client, _server) = pair();
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(
        client.read_timeout().unwrap(),
        Some(Duration::from_millis(100))
    );
    let started = StdInstant::now();
    let err = client.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(!err.is_would_block());
    assert_eq!(
        embedded_io::Error::kind(&err),
        embedded_io::ErrorKind::TimedOut
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(90),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.to_string(), "read timed out after 0.100s (SO_RCVTIMEO)");
}

#[test]
fn non_blocking_read_is_would_block() {
    let (mut client, mut server) = pair();
    // A read timeout set as well must not turn would-block into timed out.
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    client.set_nonblocking(true).unwrap();
    let err = client.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(err.is_would_block());
    assert!(!client.read_ready().unwrap());

    server.write_all(b"now").unwrap();
    let mut buf = [0u8; 16];
    let n = loop {
        match client.read(&mut buf) {
            Err(e) if e.is_would_block() => thread::yield_now(),
            other => break other.unwrap(),
        }
    };
    assert_eq!(&buf[..n], b"now");

    // Back to blocking: the timeout applies again.
    client.set_nonblocking(false).unwrap();
    assert_eq!(
        client.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
}

#[test]
fn accept_times_out_or_would_block_by_mode() {
    let mut listener = TcpListener::bind(loopback_v4()).unwrap();
    // 100 ms is a whole number of kernel ticks at 100, 250, 300 and 1000 Hz, so it reads back
    // unrounded.
    listener
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let err = listener.accept().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert_eq!(
        err.to_string(),
        "accept timed out after 0.100s (SO_RCVTIMEO)"
    );
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn write_times_out_when_the_peer_does_not_read() {
    let (client, _server) = pair();
    client.socket().set_send_buffer_size(4096).unwrap();
    let mut client = client;
    client
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let chunk = [0x55u8; 65_536];
    let err = loop {
        if let Err(e) = client.write(&chunk) {
            break e;
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    // The timeout only says no room came within 100 ms: on a busy machine the kernel may still
    // process acknowledgements (or grow the peer's window) after it, and free some room. So fill
    // in non-blocking mode until a write would block, then ask `write_ready`; a late
    // acknowledgement between the two sends us round again, a `write_ready` that is wrong every
    // time fails after the last round.
    client.set_nonblocking(true).unwrap();
    let full = (0..50).any(|_| {
        loop {
            match client.write(&chunk) {
                Ok(n) => assert!(n > 0, "a write that succeeds takes a byte"),
                Err(e) => {
                    assert!(e.is_would_block(), "non-blocking write: {e}");
                    break;
                }
            }
        }
        !client.write_ready().unwrap()
    });
    assert!(
        full,
        "write_ready() said ready right after every write that would block"
    );
}

#[test]
fn zero_timeouts_are_refused() {
    let (mut client, _server) = pair();
    let err = client.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("zero timeout"), "{err}");
    assert_eq!(
        client
            .set_write_timeout(Some(Duration::ZERO))
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput
    );
    client
        .set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    assert_eq!(
        client.write_timeout().unwrap(),
        Some(Duration::from_secs(3))
    );
    client.set_write_timeout(None).unwrap();
    assert_eq!(client.write_timeout().unwrap(), None);
}

#[test]
fn half_close_lets_the_echo_finish() {
    let (mut client, mut server) = pair();
    client.write_all(b"last words").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0u8; 32];
    let mut got = Vec::new();
    loop {
        let n = server.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"last words");
    // The other direction still works after the client's FIN.
    server.write_all(&got).unwrap();
    server.shutdown(Shutdown::Both).unwrap();
    let mut back = Vec::new();
    loop {
        let n = client.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
    }
    assert_eq!(back, b"last words");
}

#[test]
fn writing_to_a_closed_peer_is_an_error_not_a_signal() {
    let (mut client, server) = pair();
    drop(server);
    // The first writes may still be accepted; soon the reset shows. SIGPIPE would kill the
    // test process instead (MSG_NOSIGNAL prevents it).
    let err = (0..100)
        .find_map(|_| {
            thread::sleep(std::time::Duration::from_millis(5));
            client.write(b"anyone?").err()
        })
        .expect("writes to a closed peer kept succeeding");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
}

#[test]
fn connect_timeout_expires_against_a_full_backlog() {
    // A listener that never accepts, with the smallest backlog: once its queue is full the
    // kernel drops further SYNs, so a connect waits; its timeout must end the wait.
    let listener = TcpListener::bind_with_backlog(loopback_v4(), 0).unwrap();
    let addr = listener.local_addr().unwrap();
    let timeout = std::time::Duration::from_millis(200);
    let mut queued = Vec::new();
    let err = loop {
        let started = StdInstant::now();
        match TcpStream::connect(addr, Some(timeout)) {
            Ok(stream) => queued.push(stream),
            Err(e) => break (e, started.elapsed()),
        }
        assert!(queued.len() < 64, "the backlog never filled");
    };
    let (err, waited) = err;
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(
        err.to_string().starts_with(&format!("connect {addr}: ")),
        "{err}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(190),
        "gave up after {waited:?}"
    );
}
