//! The tokio server one behaviour at a time, with plain std clients, as `server.rs` and
//! `server_hostile.rs` test the mio server: what the observer sees, half-close over TCP and
//! Unix sockets, one buffer for a client that stops reading, the connection limit, clients
//! that push and never read, the idle timeout, record receivers, and the stop.

mod server_util;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portsock_core::echo::stream::SessionEvent;
use portsock_core::record::{ReceiverEvent, RecordReceiver};
use portsock_core::wire::structfmt::Format;
use portsock_server::tokio::{TokioServer, TokioShutdownHandle};
use portsock_server::{Closed, Observer, Peer, ServerConfig, StatsHandle, StopReason, Stopped};
use server_util::{
    ClientStream, Echo, IO_TIMEOUT, check_echo, echo_full_duplex, idle_and_busy_clients, pattern,
    read_to_eof, wait_for,
};
use socket2::{Domain, Socket, Type};

const SOON: Duration = Duration::from_secs(10);

/// Every connection's observer writes here, as text, tagged with its connection's number.
#[derive(Clone, Default)]
struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    /// The lines of connection `id`, in order, without the tag.
    fn of(&self, id: u64) -> Vec<String> {
        let tag = format!("{id} ");
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(&tag).map(str::to_owned))
            .collect()
    }
}

impl Observer<Echo> for Transcript {
    fn accepted(&mut self, id: u64, _peer: &Peer) {
        self.push(format!("{id} accepted"));
    }

    fn events(&mut self, id: u64, _peer: &Peer, session: &mut Echo) {
        while let Some(event) = session.poll_event() {
            self.push(match event {
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
        self.push(format!("{id} closed {how:?}"));
    }
}

/// A tokio server on its own thread, watched by a [`Transcript`].
struct Running {
    addr: SocketAddr,
    stop: TokioShutdownHandle,
    stats: StatsHandle,
    transcript: Transcript,
    thread: JoinHandle<io::Result<Stopped>>,
}

impl Running {
    fn start(config: ServerConfig, unix: Option<&Path>) -> Self {
        let mut server = TokioServer::new(config);
        let addr = server.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        if let Some(path) = unix {
            server.bind_unix(path).unwrap();
        }
        let transcript = Transcript::default();
        let stop = server.shutdown_handle();
        let stats = server.stats();
        let theirs = transcript.clone();
        let thread = thread::spawn(move || server.run_with(move || theirs.clone()));
        Self {
            addr,
            stop,
            stats,
            transcript,
            thread,
        }
    }

    /// Stops it through its handle; returns how it ended and how long the stop took.
    fn stop(self) -> (Stopped, Duration, Transcript) {
        let asked = Instant::now();
        self.stop.shutdown();
        let stopped = self.thread.join().expect("server thread").expect("run");
        (stopped, asked.elapsed(), self.transcript)
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_timeouts(IO_TIMEOUT).unwrap();
    c
}

#[test]
fn the_observer_sees_each_chunk_before_its_echo_and_the_close() {
    let server = Running::start(ServerConfig::new().with_chunk(16), None);
    let mut client = connect(server.addr);
    let message = b"This is the message.  It will be repeated.";
    client.write_all(message).unwrap();
    let mut echoed = vec![0u8; message.len()];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, message);
    client.shutdown_write().unwrap();
    assert!(read_to_eof(&mut client).unwrap().is_empty());
    wait_for(&server.stats, SOON, "the close", |s| s.closed == 1);
    let (stopped, _, transcript) = server.stop();
    let lines = transcript.of(0);
    // The chunks as they were read (TCP may deliver the message in pieces other than 16).
    assert_eq!(lines.first().map(String::as_str), Some("accepted"));
    assert_eq!(
        &lines[lines.len() - 2..],
        ["peer closed", "closed Finished"]
    );
    let mut received = String::new();
    let mut owed = 0;
    for line in &lines[1..lines.len() - 2] {
        if let Some(chunk) = line.strip_prefix("received ") {
            assert!(chunk.len() <= 16, "{line}");
            assert_eq!(
                owed, 0,
                "a chunk read before the last was echoed: {lines:?}"
            );
            owed = chunk.len();
            received.push_str(chunk);
        } else {
            assert_eq!(line, &format!("sending {owed}"), "{lines:?}");
            owed = 0;
        }
    }
    assert_eq!(received.as_bytes(), message);
    let s = stopped.stats;
    assert_eq!((s.accepted, s.closed, s.failed), (1, 1, 0));
    assert_eq!((s.bytes_received, s.bytes_sent), (42, 42));
    assert_eq!(stopped.reason, StopReason::Requested);
}

#[test]
fn megabytes_over_tcp_and_unix_at_once_then_end_of_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let server = Running::start(ServerConfig::new(), Some(&path));
    let clients: Vec<JoinHandle<io::Result<()>>> = (0..6u64)
        .map(|i| {
            let (addr, path) = (server.addr, path.clone());
            thread::spawn(move || {
                let message = pattern(i, 2_000_000 + i as usize * 1_000);
                if i % 2 == 0 {
                    echo_full_duplex(connect(addr), message)
                } else {
                    let unix = UnixStream::connect(&path)?;
                    unix.set_timeouts(IO_TIMEOUT)?;
                    echo_full_duplex(unix, message)
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap().unwrap();
    }
    let s = wait_for(&server.stats, SOON, "six closes", |s| s.closed == 6);
    assert_eq!(s.failed, 0, "{s:?}");
    let total: u64 = (0..6).map(|i| 2_000_000 + i * 1_000).sum();
    assert_eq!((s.bytes_received, s.bytes_sent), (total, total));
    // One session buffer per connection at most.
    assert!(s.peak_buffered <= s.peak_active * 64 * 1024, "{s:?}");
    server.stop();
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn a_client_that_stops_reading_is_held_to_one_buffer_while_another_is_served() {
    const BUF: usize = 16 * 1024;
    const CAP: usize = 64 << 20;
    let server = Running::start(ServerConfig::new().with_buffer_size(BUF), None);
    let staller = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    staller.set_recv_buffer_size(16 * 1024).unwrap();
    staller.connect(&server.addr.into()).unwrap();
    let mut staller = TcpStream::from(staller);
    staller.set_nonblocking(true).unwrap();
    let data = pattern(7, CAP);
    // Write until the server stops taking bytes and holds an echo it cannot send. A pause
    // alone is not enough on a busy machine: a server not scheduled for a while pauses too,
    // and with that little sent the kernel's buffers would take the whole echo.
    let (started, mut sent, mut last) = (Instant::now(), 0, Instant::now());
    while sent < CAP
        && !(last.elapsed() >= Duration::from_millis(300) && server.stats.snapshot().buffered > 0)
    {
        assert!(started.elapsed() < SOON, "no held echo after {sent} bytes");
        match staller.write(&data[sent..(sent + 65_536).min(CAP)]) {
            Ok(n) => (sent, last) = (sent + n, Instant::now()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("staller: {e}"),
        }
    }
    assert!(sent < CAP, "the server kept taking {sent} bytes");
    // The session waits to write an echo the client does not take, holding part of its one
    // buffer, and reads nothing meanwhile (the driver writes before it reads again).
    let s = wait_for(&server.stats, SOON, "a held echo", |s| s.buffered > 0);
    assert!(s.buffered <= BUF as u64, "{s:?}");
    assert!(s.peak_buffered <= BUF as u64, "{s:?}");
    echo_full_duplex(connect(server.addr), pattern(8, 300_000)).unwrap();

    staller.set_nonblocking(false).unwrap();
    staller.set_timeouts(IO_TIMEOUT).unwrap();
    let mut echoed = vec![0u8; sent];
    staller.read_exact(&mut echoed).unwrap();
    check_echo(&data[..sent], &echoed).unwrap();
    staller.shutdown_write().unwrap();
    assert!(read_to_eof(&mut staller).unwrap().is_empty());
    let s = wait_for(&server.stats, SOON, "both closes", |s| s.closed == 2);
    assert_eq!((s.failed, s.buffered), (0, 0), "{s:?}");
    assert!(s.peak_buffered <= 2 * BUF as u64, "{s:?}");
    server.stop();
}

#[test]
fn at_the_connection_limit_new_clients_wait_in_the_backlog() {
    let server = Running::start(ServerConfig::new().with_max_connections(2), None);
    let ping = |c: &mut TcpStream, byte: u8| {
        c.write_all(&[byte]).unwrap();
        let mut back = [0u8; 1];
        c.read_exact(&mut back).unwrap();
        assert_eq!(back, [byte]);
    };
    let mut first = connect(server.addr);
    ping(&mut first, b'a');
    let mut second = connect(server.addr);
    ping(&mut second, b'b');
    let mut third = connect(server.addr); // completed by the kernel, in the backlog
    third.write_all(b"c").unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let err = third.read(&mut byte).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
    let s = server.stats.snapshot();
    assert_eq!((s.accepted, s.active), (2, 2));

    first.shutdown_write().unwrap();
    assert!(read_to_eof(&mut first).unwrap().is_empty());
    third.set_timeouts(IO_TIMEOUT).unwrap();
    third.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"c");
    let (stopped, _, transcript) = server.stop();
    let s = stopped.stats;
    assert_eq!((s.accepted, s.peak_active, s.failed), (3, 2, 0));
    // The two still open at the stop were closed by it.
    let shut = (0..3)
        .filter(|&id| transcript.of(id).last().map(String::as_str) == Some("closed Shutdown"))
        .count();
    assert_eq!(shut, 2);
    drop((second, third));
}

#[test]
fn clients_that_push_and_never_read_neither_starve_a_fresh_one_nor_delay_the_stop() {
    const HOGS: usize = 16;
    let server = Running::start(ServerConfig::new(), None);
    let hogs: Vec<TcpStream> = (0..HOGS).map(|_| connect(server.addr)).collect();
    let pushers: Vec<_> = hogs
        .iter()
        .enumerate()
        .map(|(i, hog)| {
            let mut hog = hog.try_clone().unwrap();
            // Until done, or blocked for good (the echo backs up), or the server is gone.
            thread::spawn(move || {
                let _ = hog.write_all(&pattern(i as u64, 4 << 20));
            })
        })
        .collect();
    wait_for(&server.stats, SOON, "the hogs", |s| s.active == HOGS as u64);
    let mut fresh = connect(server.addr);
    for round in 0..50u8 {
        let ping = [round; 16];
        fresh.write_all(&ping).unwrap();
        let mut pong = [0u8; 16];
        fresh
            .read_exact(&mut pong)
            .expect("a pong despite the hogs");
        assert_eq!(pong, ping);
    }
    let (stopped, took, _) = server.stop();
    assert!(took < SOON, "the stop took {took:?}");
    assert_eq!(stopped.stats.closed, HOGS as u64 + 1);
    assert_eq!(stopped.stats.active, 0);
    drop(hogs);
    for pusher in pushers {
        pusher.join().unwrap();
    }
}

#[test]
fn the_idle_timeout_closes_idle_connections_and_spares_busy_ones() {
    let timeout = Duration::from_millis(600);
    let server = Running::start(ServerConfig::new().with_idle_timeout(Some(timeout)), None);
    idle_and_busy_clients(server.addr, timeout);
    let (stopped, _, transcript) = server.stop();
    let s = stopped.stats;
    assert_eq!((s.timed_out, s.failed, s.closed), (1, 0, 2), "{s:?}");
    assert_eq!(
        transcript.of(0).last().map(String::as_str),
        Some("closed IdleTimeout")
    );
}

/// What record receivers unpacked, and why others failed.
#[derive(Clone, Default)]
struct Records(Arc<Mutex<(Vec<String>, Vec<String>)>>);

impl Observer<RecordReceiver<'static, Box<[u8]>>> for Records {
    fn events(&mut self, _id: u64, _peer: &Peer, r: &mut RecordReceiver<'static, Box<[u8]>>) {
        while let Some(event) = r.poll_event() {
            if let ReceiverEvent::Received { values, .. } = event {
                let text: Vec<String> = values.map(|v| format!("{v:?}")).collect();
                self.0.lock().unwrap().0.push(text.join(" "));
            }
        }
    }

    fn closed(&mut self, _id: u64, _peer: &Peer, how: Closed<'_>) {
        if let Closed::Failed(e) = how {
            self.0.lock().unwrap().1.push(e.to_string());
        }
    }
}

#[test]
fn record_receivers_are_served_concurrently_and_a_short_record_fails_alone() {
    let format = Format::parse("<I 2s").unwrap();
    let mut template = RecordReceiver::new(format, vec![0u8; 6].into_boxed_slice()).unwrap();
    template.replace_buffer(Box::default()).unwrap();
    let config = ServerConfig::new().with_buffer_size(format.size());
    let mut server = TokioServer::with_sessions(config, move || template.clone());
    let addr = server.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let stop = server.shutdown_handle();
    let stats = server.stats();
    let records = Records::default();
    let theirs = records.clone();
    let running = thread::spawn(move || server.run_with(move || theirs.clone()));

    let mut partial = connect(addr);
    partial.write_all(&[7, 0, 0]).unwrap();
    wait_for(&stats, SOON, "the partial record", |s| s.buffered == 3);
    let senders: Vec<_> = (0..10u8)
        .map(|i| {
            thread::spawn(move || {
                let mut c = connect(addr);
                c.write_all(&[i, 0, 0]).unwrap();
                thread::sleep(Duration::from_millis(20));
                c.write_all(&[0, b'a', b'a' + i]).unwrap();
                assert!(read_to_eof(&mut c).unwrap().is_empty());
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    wait_for(&stats, SOON, "ten records", |s| s.closed == 10);
    partial.shutdown_write().unwrap();
    wait_for(&stats, SOON, "the partial one closed", |s| s.closed == 11);
    stop.shutdown();
    let stopped = running.join().unwrap().unwrap();
    let (mut unpacked, failed) = records.0.lock().unwrap().clone();
    unpacked.sort();
    let expected: Vec<String> = (0..10u8)
        .map(|i| format!("Int({i}) Bytes([97, {}])", 97 + i))
        .collect();
    assert_eq!(unpacked, expected);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("3 of 6"), "{failed:?}");
    assert_eq!((stopped.stats.failed, stopped.stats.buffered), (1, 0));
}
