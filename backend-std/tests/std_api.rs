//! The std API as a Rust user writes it: `std::io::{Read, Write}` on the streams (so
//! `io::copy`, `BufReader`, `read_to_end` and `&stream` work), and std's `Duration` /
//! `Instant` in the sockets' own timeout and deadline methods, next to the core's traits.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use common::TempDir;
use portsock_std::prelude::{Datagram, Listener, Shutdown, Stream};
use portsock_std::tcp::{TcpListener, TcpStream};
use portsock_std::udp::UdpSocket;
use portsock_std::unix::{UnixDatagram, UnixStream, socketpair};

/// A plain `std::io` echo server on one connection: copy the stream into itself until the
/// peer's FIN, then close.
fn echo_once(mut listener: TcpListener) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        let copied = io::copy(&mut &conn, &mut &conn).expect("copy");
        drop(conn);
        copied
    })
}

#[test]
fn io_copy_into_a_tcp_stream_and_read_the_echo_back() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = echo_once(listener);

    let message: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let stream = TcpStream::connect(addr, Some(Duration::from_secs(5))).unwrap();
    let mut echo = Vec::new();
    thread::scope(|s| {
        // One thread copies into `&stream` while this one reads the echo from it.
        let sender = s.spawn(|| {
            let sent = io::copy(&mut message.as_slice(), &mut &stream).expect("copy in");
            stream
                .socket()
                .shutdown(std::net::Shutdown::Write)
                .expect("FIN");
            sent
        });
        (&stream).read_to_end(&mut echo).expect("the echo");
        assert_eq!(sender.join().unwrap(), message.len() as u64);
    });
    assert_eq!(echo, message, "every byte back, in order");
    assert_eq!(server.join().unwrap(), message.len() as u64);
}

#[test]
fn buf_reader_reads_lines_from_a_unix_stream() {
    let (a, b) = socketpair().unwrap();
    let mut writer = a;
    writer.write_all(b"first line\nsecond").unwrap();
    writer.write_all(b" line\n").unwrap();
    writer.shutdown(Shutdown::Write).unwrap();
    let lines: Vec<String> = BufReader::new(b).lines().map(Result::unwrap).collect();
    assert_eq!(lines, ["first line", "second line"]);
}

#[test]
fn a_shared_reference_reads_and_writes() {
    let dir = TempDir::new("std-api");
    let path = dir.join("s");
    let mut listener = portsock_std::unix::UnixListener::bind(&path).unwrap();
    let client = UnixStream::connect(&path).unwrap();
    let (server, _) = listener.accept().unwrap();
    // Two threads on one stream, as with `&std::net::TcpStream`.
    thread::scope(|s| {
        s.spawn(|| (&client).write_all(b"ping").unwrap());
        let mut got = [0u8; 4];
        (&server).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
    });
    (&server).write_all(b"pong").unwrap();
    let mut got = [0u8; 4];
    (&client).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"pong");
}

/// Only the prelude in scope, as a user's program starts.
mod prelude_only {
    use portsock_std::prelude::*;
    use portsock_std::tcp::{TcpListener, TcpStream};

    #[test]
    fn connect_takes_a_std_duration_and_streams_are_std_io() {
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // The line: it did not compile while the prelude exported the core's `Duration`.
        let mut stream = TcpStream::connect(addr, Some(std::time::Duration::from_secs(1))).unwrap();
        let timeout = Duration::from_millis(250); // the prelude's `Duration`
        stream.set_write_timeout(Some(timeout)).unwrap();
        assert!(stream.write_timeout().unwrap() >= Some(std::time::Duration::from_millis(250)));
        let deadline: std::time::Instant = Instant::now() + timeout; // and its `Instant`
        assert!(deadline > std::time::Instant::now());

        let (mut conn, _) = listener.accept().unwrap();
        std::io::copy(&mut &b"hello"[..], &mut stream).unwrap(); // the prelude's `Write`
        let mut got = [0u8; 5];
        conn.read_exact(&mut got).unwrap(); // its `Read`
        assert_eq!(&got, b"hello");
    }
}

#[test]
fn timeouts_are_std_durations_and_sub_millisecond_ones_still_time_out() {
    let (mut a, _b) = socketpair().unwrap();
    assert_eq!(a.read_timeout().unwrap(), None);
    a.set_read_timeout(Some(Duration::from_micros(500)))
        .unwrap();
    let kept = a.read_timeout().unwrap().expect("a timeout");
    assert!(kept >= Duration::from_micros(500), "{kept:?}");
    let err = a.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");

    // A zero timeout is refused, as std refuses it.
    let err = a.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    a.set_read_timeout(None).unwrap();
    assert_eq!(a.read_timeout().unwrap(), None);

    // The core trait's view of the same socket: whole milliseconds, rounded up.
    use portsock_core::transport::Blocking;
    Blocking::set_write_timeout(&mut a, Some(portsock_core::time::Duration::from_millis(7)))
        .unwrap();
    let std_view = a.write_timeout().unwrap().expect("a timeout");
    let core_view = Blocking::write_timeout(&a).unwrap().expect("a timeout");
    assert!(std_view >= Duration::from_millis(7), "{std_view:?}");
    assert_eq!(core_view, portsock_core::time::Duration::from(std_view));
}

#[test]
fn datagram_deadlines_are_std_instants() {
    let mut udp = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let start = Instant::now();
    let got = udp
        .recv_from(&mut [0u8; 8], Some(start + Duration::from_millis(30)))
        .unwrap();
    assert_eq!(got, None, "nothing was sent");
    assert!(start.elapsed() >= Duration::from_millis(30));

    let dir = TempDir::new("std-api-dgram");
    let mut a = UnixDatagram::bind(dir.join("a")).unwrap();
    let mut b = UnixDatagram::bind(dir.join("b")).unwrap();
    a.send_to(b"hi", &b.local_addr().unwrap()).unwrap();
    let past = Instant::now() - Duration::from_millis(1);
    let got = b.recv_from(&mut [0u8; 8], Some(past)).unwrap();
    assert_eq!(got.map(|r| r.len), Some(2), "a waiting datagram is taken");
    assert_eq!(b.recv_from(&mut [0u8; 8], Some(past)).unwrap(), None);
}

#[test]
fn a_clone_is_the_same_connection() {
    let (mut a, mut b) = socketpair().unwrap();
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut clone = a.try_clone().unwrap();
    assert_eq!(
        clone.read_timeout().unwrap(),
        a.read_timeout().unwrap(),
        "one socket, one timeout"
    );
    b.write_all(b"to either").unwrap();
    let mut got = [0u8; 9];
    clone.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"to either");
    a.shutdown(Shutdown::Write).unwrap(); // through the original...
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).unwrap(); // ...the peer sees end of stream
    assert!(rest.is_empty());
    let err = clone.write_all(b"still open").unwrap_err(); // nor can the clone write
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
}
