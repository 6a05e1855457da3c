//! The concurrent echo server one behaviour at a time, with plain std clients: the chapter's
//! lines, half-close over TCP and Unix sockets, backpressure on a client that stops reading,
//! the connection limit, SIGTERM, and the Unix socket file.

mod server_util;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::stream::SessionEvent;
use portsock_server::{Closed, EchoServer, Observer, Peer, ServerConfig, StopReason};
use server_util::{
    ClientStream, Echo, IO_TIMEOUT, Running, check_echo, echo_full_duplex, pattern, read_to_eof,
    wait_for,
};
use signal_hook::consts::SIGTERM;
use socket2::{Domain, Socket, Type};

const SOON: Duration = Duration::from_secs(10);

/// Writes down what the server tells its observer, as text.
#[derive(Default)]
struct Transcript(Vec<String>);

impl Observer<Echo> for Transcript {
    fn accepted(&mut self, id: u64, peer: &Peer) {
        let Peer::Tcp(addr) = peer else {
            panic!("{peer:?}")
        };
        self.0.push(format!("{id} accepted {}", addr.port()));
    }

    fn events(&mut self, id: u64, _peer: &Peer, session: &mut Echo) {
        while let Some(event) = session.poll_event() {
            self.0.push(match event {
                SessionEvent::Received(data) => {
                    format!("{id} received {}", String::from_utf8_lossy(data))
                }
                SessionEvent::Sending(n) => format!("{id} sending {n}"),
                SessionEvent::PeerClosed => format!("{id} peer closed"),
                _ => format!("{id} {event:?}"),
            });
        }
    }

    fn closed(&mut self, id: u64, _peer: &Peer, how: Closed<'_>) {
        self.0.push(format!("{id} closed {how:?}"));
    }
}

#[test]
fn the_observer_sees_each_chunk_before_its_echo_and_the_close() {
    let config = ServerConfig::new().with_chunk(16);
    let server = Running::start_with(config, None, Transcript::default());
    let mut client = TcpStream::connect(server.addr).unwrap();
    client.set_timeouts(IO_TIMEOUT).unwrap();
    let port = client.local_addr().unwrap().port();
    client.write_all(CHAPTER_MESSAGE).unwrap();
    let mut echo = vec![0u8; CHAPTER_MESSAGE.len()];
    client.read_exact(&mut echo).unwrap();
    assert_eq!(echo, CHAPTER_MESSAGE);
    drop(client);
    wait_for(&server.stats, SOON, "the close", |s| s.closed == 1);

    let ended = server.stop();
    let expected = [
        format!("0 accepted {port}"),
        "0 received This is the mess".into(),
        "0 sending 16".into(),
        "0 received age.  It will be".into(),
        "0 sending 16".into(),
        "0 received  repeated.".into(),
        "0 sending 10".into(),
        "0 peer closed".into(),
        "0 closed Finished".into(),
    ];
    assert_eq!(ended.observer.0, expected);
    let s = ended.stopped.stats;
    assert_eq!((s.failed, s.bytes_received, s.bytes_sent), (0, 42, 42));
    // The session only ever borrowed the server's buffer.
    assert_eq!((s.buffers, s.peak_buffers), (0, 0), "{s:?}");
}

#[test]
fn half_close_gets_the_rest_of_the_echo_then_end_of_stream() {
    // Tiny reads, so the FIN arrives while the server still holds unread and unsent bytes.
    let server = Running::start(ServerConfig::new().with_chunk(4), None);
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_timeouts(IO_TIMEOUT).unwrap();
    tcp.write_all(b"0123456789").unwrap();
    tcp.shutdown_write().unwrap(); // data and FIN before the first echo byte is read
    assert_eq!(read_to_eof(&mut tcp).unwrap(), b"0123456789");
    let s = wait_for(&server.stats, SOON, "the close", |s| s.closed == 1);
    assert_eq!((s.failed, s.bytes_sent), (0, 10));
    server.stop();

    // Larger than every buffer on the way, over both transports.
    let dir = tempfile::Builder::new()
        .prefix("portsock-server-half-close-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join("uds_socket");
    let server = Running::start(ServerConfig::new().with_buffer_size(16 * 1024), Some(&path));
    let big = 2 * 1024 * 1024;
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_timeouts(IO_TIMEOUT).unwrap();
    echo_full_duplex(tcp, pattern(1, big)).unwrap();
    let unix = UnixStream::connect(&path).unwrap();
    unix.set_timeouts(IO_TIMEOUT).unwrap();
    echo_full_duplex(unix, pattern(2, big)).unwrap();

    let s = wait_for(&server.stats, SOON, "two closes", |s| s.closed == 2);
    assert_eq!(s.failed, 0);
    assert_eq!(s.bytes_sent, 2 * big as u64);
    assert_eq!(s.buffered, 0);
    assert!(s.peak_buffered <= 16 * 1024, "{s:?}");
    server.stop();
}

#[test]
fn a_client_that_stops_reading_is_held_to_one_buffer_then_served_again() {
    const BUF: usize = 16 * 1024;
    let server = Running::start(ServerConfig::new().with_buffer_size(BUF), None);

    // A client with a small receive buffer sends without reading until nothing moves.
    let staller = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    staller.set_recv_buffer_size(16 * 1024).unwrap();
    staller.connect(&server.addr.into()).unwrap();
    let mut staller = TcpStream::from(staller);
    let sent = fill_until_blocked(&mut staller, 7);
    assert!(
        sent < CAP,
        "sent {sent} bytes and the server kept taking them"
    );
    // The server stopped reading it with exactly one full buffer, the one buffer it keeps.
    let s = wait_for(&server.stats, SOON, "a full session", |s| {
        s.buffered == BUF as u64
    });
    assert_eq!(s.buffers, 1, "{s:?}");

    // Meanwhile another client is served as usual.
    let other = TcpStream::connect(server.addr).unwrap();
    other.set_timeouts(IO_TIMEOUT).unwrap();
    echo_full_duplex(other, pattern(8, 300_000)).unwrap();

    // Once the staller reads, the server drains its buffer and reads from it again.
    staller.set_nonblocking(false).unwrap();
    staller.set_timeouts(IO_TIMEOUT).unwrap();
    let mut echoed = vec![0u8; sent];
    staller.read_exact(&mut echoed).unwrap();
    check_echo(&pattern(7, sent), &echoed).unwrap();
    staller.shutdown_write().unwrap();
    assert!(read_to_eof(&mut staller).unwrap().is_empty());

    let s = wait_for(&server.stats, SOON, "both closes", |s| s.closed == 2);
    assert_eq!(s.failed, 0);
    assert_eq!(s.bytes_sent, sent as u64 + 300_000);
    // Drained, the staller gave its buffer back.
    assert_eq!((s.buffers, s.buffered), (0, 0), "{s:?}");
    assert!((1..=2).contains(&s.peak_buffers), "{s:?}");
    // The staller's full buffer, plus at most one more for the other client.
    assert!(s.peak_buffered >= BUF as u64, "{s:?}");
    assert!(s.peak_buffered <= s.peak_active * BUF as u64, "{s:?}");
    server.stop();
}

#[test]
fn at_the_connection_limit_new_clients_wait_in_the_backlog() {
    let server = Running::start(ServerConfig::new().with_max_connections(2), None);
    let mut first = connect_and_ping(&server, b'a');
    let _second = connect_and_ping(&server, b'b');

    let mut third = TcpStream::connect(server.addr).unwrap(); // completed by the kernel
    third.write_all(b"c").unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let err = third.read(&mut byte).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}"); // SO_RCVTIMEO expired
    let s = server.stats.snapshot();
    assert_eq!((s.accepted, s.active), (2, 2));

    first.shutdown_write().unwrap();
    assert!(read_to_eof(&mut first).unwrap().is_empty());
    third.set_timeouts(IO_TIMEOUT).unwrap();
    third.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"c");
    let s = server.stop().stopped.stats;
    assert_eq!((s.accepted, s.peak_active, s.failed), (3, 2, 0));
}

#[test]
fn sigterm_stops_the_server_and_closes_its_connections() {
    let mut server = EchoServer::new(ServerConfig::new()).unwrap();
    let addr = server.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    server.catch_signals().unwrap();
    let stats = server.stats();
    let running = thread::spawn(move || server.run());

    let mut client = TcpStream::connect(addr).unwrap();
    client.set_timeouts(IO_TIMEOUT).unwrap();
    client.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    client.read_exact(&mut byte).unwrap();
    wait_for(&stats, SOON, "the connection", |s| s.active == 1);

    let started = Instant::now();
    // The handler is this process's, installed above, so SIGTERM reaches the server's pipe
    // instead of ending the test run.
    signal_hook::low_level::raise(SIGTERM).unwrap();
    let stopped = running.join().unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stopped.reason, StopReason::Signal(SIGTERM));
    assert_eq!((stopped.stats.active, stopped.stats.closed), (0, 1));
    assert!(read_to_eof(&mut client).unwrap().is_empty());
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}

#[test]
fn the_unix_socket_file_is_removed_when_the_server_stops() {
    let dir = tempfile::Builder::new()
        .prefix("portsock-server-unix-file-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join("uds_socket");
    let server = Running::start(ServerConfig::new(), Some(&path));
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    let unix = UnixStream::connect(&path).unwrap();
    unix.set_timeouts(IO_TIMEOUT).unwrap();
    echo_full_duplex(unix, pattern(3, 1000)).unwrap();
    server.stop();
    assert!(!path.exists());
}

/// The most a staller may get into the server before the test calls backpressure broken.
const CAP: usize = 64 * 1024 * 1024;

/// Writes `pattern(seed, ..)` without reading until no byte has been taken for 200 ms;
/// returns how many were taken.
fn fill_until_blocked(stream: &mut TcpStream, seed: u64) -> usize {
    stream.set_nonblocking(true).unwrap();
    let data = pattern(seed, CAP);
    let mut sent = 0;
    let mut last_progress = Instant::now();
    while sent < CAP && last_progress.elapsed() < Duration::from_millis(200) {
        match stream.write(&data[sent..(sent + 64 * 1024).min(CAP)]) {
            Ok(n) => {
                sent += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("staller write: {e}"),
        }
    }
    sent
}

fn connect_and_ping(server: &Running, byte: u8) -> TcpStream {
    let mut c = TcpStream::connect(server.addr).unwrap();
    c.set_timeouts(IO_TIMEOUT).unwrap();
    c.write_all(&[byte]).unwrap();
    let mut back = [0u8; 1];
    c.read_exact(&mut back).unwrap();
    assert_eq!(back, [byte]);
    c
}
