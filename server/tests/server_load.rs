//! Load on the concurrent echo server, on the loopback and a Unix socket: a thousand clients
//! at once, every byte verified, among clients that reset mid-stream, half-close, or stop
//! reading; and a shutdown through the handle with hundreds of connections open.
//!
//! The clients are plain std sockets on threads, one per client, so nothing of portsock's
//! runs on the client side. The file-descriptor limit is raised with the crate's own
//! `raise_fd_limit` (portsock-std's, whose `setrlimit` call goes through rustix), so the test
//! needs no unsafe code of its own.

mod server_util;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portsock_server::{ServerConfig, StopReason, raise_fd_limit};
use server_util::{
    ClientStream, IO_TIMEOUT, Running, check_echo, echo_full_duplex, pattern, wait_for,
};
use socket2::{Domain, SockRef, Socket, Type};

/// Each connection's session buffer: small, so backpressure is reached quickly.
const BUF: usize = 16 * 1024;
const GOOD_TCP: usize = 800;
const GOOD_UNIX: usize = 200;
const RESETTERS: usize = 50;
const HALF_CLOSERS: usize = 50;
const STALLERS: usize = 10;
/// The most a staller may get into the server before the test calls backpressure broken.
const STALL_CAP: usize = 64 * 1024 * 1024;
const SOON: Duration = Duration::from_secs(20);

#[test]
fn a_thousand_clients_every_byte_verified_among_resetting_half_closing_and_stalled_ones() {
    let total = GOOD_TCP + GOOD_UNIX + RESETTERS + HALF_CLOSERS + STALLERS;
    ensure_fds(2 * total as u64 + 256);
    let dir = tempfile::Builder::new()
        .prefix("portsock-server-load-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join("uds_socket");
    let server = Running::start(ServerConfig::new().with_buffer_size(BUF), Some(&path));
    let started = Instant::now();

    // Clients that send without ever reading, until nothing moves; they stay connected.
    let stallers: Vec<_> = (0..STALLERS)
        .map(|i| {
            let addr = server.addr;
            spawn(move || stall(addr, 1_000_000 + i as u64))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("staller thread"))
        .collect();
    for (_, sent) in &stallers {
        assert!(
            *sent < STALL_CAP,
            "a staller got {sent} bytes in: no backpressure"
        );
    }
    let full = (STALLERS * BUF) as u64;
    wait_for(&server.stats, SOON, "full staller sessions", |s| {
        s.buffered == full
    });

    // Everyone else connects, waits until the server holds every connection, then goes.
    let others = total - STALLERS;
    let go = Arc::new(Barrier::new(others + 1));
    let mut good = Vec::new();
    for i in 0..GOOD_TCP + GOOD_UNIX {
        let (go, addr, path) = (Arc::clone(&go), server.addr, path.clone());
        let message = pattern(i as u64, 4096 + (i * 977) % 8192); // 4 to 12 KiB
        good.push(spawn(move || {
            if i < GOOD_TCP {
                echo_once(TcpStream::connect(addr)?, &go, &message)
            } else {
                echo_once(UnixStream::connect(&path)?, &go, &message)
            }
        }));
    }
    let resetters: Vec<_> = (0..RESETTERS)
        .map(|i| {
            let (go, addr) = (Arc::clone(&go), server.addr);
            spawn(move || reset_mid_stream(addr, &go, 2_000_000 + i as u64))
        })
        .collect();
    let half_closers: Vec<_> = (0..HALF_CLOSERS)
        .map(|i| {
            let (go, addr, path) = (Arc::clone(&go), server.addr, path.clone());
            let message = pattern(3_000_000 + i as u64, 96 * 1024 + i * 1000);
            spawn(move || half_close(addr, &path, i % 2 == 0, &go, message))
        })
        .collect();
    wait_for(&server.stats, SOON, "every client accepted", |s| {
        s.active == total as u64
    });
    go.wait();

    let mut echoed = 0;
    for (i, client) in good.into_iter().enumerate() {
        match client.join().expect("client thread") {
            Ok(n) => echoed += n,
            Err(e) => panic!("client {i}: {e}"),
        }
    }
    for (i, client) in half_closers.into_iter().enumerate() {
        match client.join().expect("half-closer thread") {
            Ok(n) => echoed += n,
            Err(e) => panic!("half-closer {i}: {e}"),
        }
    }
    for (i, client) in resetters.into_iter().enumerate() {
        if let Err(e) = client.join().expect("resetter thread") {
            panic!("resetter {i}: {e}");
        }
    }

    // Only the stallers are left, each held to exactly one full buffer all along.
    let s = wait_for(&server.stats, SOON, "only the stallers left", |s| {
        s.active == STALLERS as u64
    });
    assert_eq!(s.buffered, full, "{s:?}");
    assert_eq!(s.peak_active, total as u64, "{s:?}");
    assert!(s.peak_buffered <= s.peak_active * BUF as u64, "{s:?}");
    assert_eq!(
        s.failed, RESETTERS as u64,
        "only the resetters failed: {s:?}"
    );
    assert!(s.bytes_sent >= echoed as u64, "{s:?}");

    drop(stallers); // closing with unread echo in their queues resets them
    let s = wait_for(&server.stats, SOON, "every connection closed", |s| {
        s.active == 0
    });
    assert_eq!(s.buffered, 0, "{s:?}");
    assert_eq!((s.accepted, s.closed), (total as u64, total as u64));
    assert_eq!(s.failed, (RESETTERS + STALLERS) as u64, "{s:?}");
    assert_eq!(s.accept_errors, 0, "{s:?}");

    let ended = server.stop();
    assert!(
        ended.took < Duration::from_secs(2),
        "stop took {:?}",
        ended.took
    );
    assert_eq!(ended.stopped.stats, s);
    eprintln!(
        "{total} clients in {:?}: {} bytes echoed, peak {} bytes buffered",
        started.elapsed(),
        s.bytes_sent,
        s.peak_buffered
    );
}

#[test]
fn shutdown_through_the_handle_is_prompt_and_closes_everything() {
    const IDLE_TCP: usize = 300;
    const IDLE_UNIX: usize = 100;
    const BUSY: usize = 5;
    ensure_fds(2 * (IDLE_TCP + IDLE_UNIX + BUSY) as u64 + 256);
    let dir = tempfile::Builder::new()
        .prefix("portsock-server-shutdown-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join("uds_socket");
    let server = Running::start(ServerConfig::new().with_buffer_size(BUF), Some(&path));

    let mut tcp: Vec<TcpStream> = (0..IDLE_TCP)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let mut unix: Vec<UnixStream> = (0..IDLE_UNIX)
        .map(|_| UnixStream::connect(&path).unwrap())
        .collect();
    // Some connections are mid-transfer: the server holds their bytes when it stops.
    let busy: Vec<_> = (0..BUSY)
        .map(|i| {
            let addr = server.addr;
            spawn(move || stall(addr, 4_000_000 + i as u64))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("staller thread"))
        .collect();
    let open = (IDLE_TCP + IDLE_UNIX + BUSY) as u64;
    wait_for(&server.stats, SOON, "every client accepted", |s| {
        s.active == open && s.buffered == (BUSY * BUF) as u64
    });

    let addr = server.addr;
    let ended = server.stop();
    assert!(
        ended.took < Duration::from_secs(1),
        "stop took {:?}",
        ended.took
    );
    assert_eq!(ended.stopped.reason, StopReason::Requested);
    let s = ended.stopped.stats;
    assert_eq!((s.accepted, s.active, s.closed), (open, 0, open), "{s:?}");
    assert_eq!(s.buffered, 0, "{s:?}");

    // Every client sees its connection end at once, and nobody can connect any more.
    for c in &mut tcp {
        expect_closed(c);
    }
    for c in &mut unix {
        expect_closed(c);
    }
    for (mut c, _) in busy {
        c.set_nonblocking(false).unwrap();
        expect_closed(&mut c);
    }
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
    assert!(!path.exists(), "the socket file is removed");
}

/// Raises the descriptor limit to `need`, or fails the test saying why.
fn ensure_fds(need: u64) {
    let have = raise_fd_limit(need).expect("RLIMIT_NOFILE");
    assert!(
        have >= need,
        "need {need} descriptors, the hard limit allows {have}"
    );
}

/// Runs `f` on a thread with a small stack (there are a thousand of them).
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn client thread")
}

/// A well-behaved client: sends its message, reads the echo and checks every byte, then
/// half-closes and expects end of stream with nothing more. Returns the bytes echoed.
fn echo_once<S: ClientStream>(mut stream: S, go: &Barrier, message: &[u8]) -> io::Result<usize> {
    stream.set_timeouts(IO_TIMEOUT)?;
    go.wait();
    // Up to 12 KiB fits the socket buffers on the way, so writing all before reading is safe.
    stream.write_all(message)?;
    let mut echoed = vec![0u8; message.len()];
    stream.read_exact(&mut echoed)?;
    check_echo(message, &echoed)?;
    stream.shutdown_write()?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    if !rest.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} bytes more than were sent", rest.len()),
        ));
    }
    Ok(message.len())
}

/// Sends 48 KiB, reads the first KiB of the echo, then resets the connection (`SO_LINGER`
/// 0, then close) while the server is still echoing the rest.
fn reset_mid_stream(addr: std::net::SocketAddr, go: &Barrier, seed: u64) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_timeouts(IO_TIMEOUT)?;
    go.wait();
    let message = pattern(seed, 48 * 1024);
    stream.write_all(&message)?;
    let mut first = vec![0u8; 1024];
    stream.read_exact(&mut first)?;
    check_echo(&message[..1024], &first)?;
    SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    drop(stream); // RST
    Ok(())
}

/// Sends ~100 KiB and half-closes right behind it while reading the echo to end of stream.
fn half_close(
    addr: std::net::SocketAddr,
    path: &Path,
    tcp: bool,
    go: &Barrier,
    message: Vec<u8>,
) -> io::Result<usize> {
    let len = message.len();
    if tcp {
        let stream = TcpStream::connect(addr)?;
        stream.set_timeouts(IO_TIMEOUT)?;
        go.wait();
        echo_full_duplex(stream, message)?;
    } else {
        let stream = UnixStream::connect(path)?;
        stream.set_timeouts(IO_TIMEOUT)?;
        go.wait();
        echo_full_duplex(stream, message)?;
    }
    Ok(len)
}

/// A client with small socket buffers that writes without reading until no byte has been
/// taken for 200 ms. Returns the connection (still open) and how much it got in.
fn stall(addr: std::net::SocketAddr, seed: u64) -> (TcpStream, usize) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
    socket.set_send_buffer_size(64 * 1024).expect("SO_SNDBUF");
    socket.connect(&addr.into()).expect("connect");
    let mut stream = TcpStream::from(socket);
    stream.set_nonblocking(true).expect("non-blocking");
    let chunk = pattern(seed, 64 * 1024);
    let mut sent = 0;
    let mut last_progress = Instant::now();
    while sent < STALL_CAP && last_progress.elapsed() < Duration::from_millis(200) {
        match stream.write(&chunk) {
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
    (stream, sent)
}

/// Reads until the server's close shows (end of stream, or a reset if it closed with our
/// bytes unread); fails on a timeout.
fn expect_closed<S: ClientStream>(stream: &mut S) {
    stream
        .set_timeouts(Duration::from_secs(5))
        .expect("timeouts");
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {} // echo the server sent before it stopped
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("connection not closed by the shutdown: {e}"),
        }
    }
}
