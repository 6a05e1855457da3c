//! UDP on the kernel's sockets: a connected socket, a datagram per read of stdin, each
//! datagram received to stdout; `listen -u` connects to its first datagram's sender.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::super::pump;
use super::super::report::{Reporter, Transfer};
use super::canonical;
use crate::cli::CliError;

/// The largest datagram read from stdin at once (a pipe's read may return more; the rest is
/// the next datagram).
const DATAGRAM_CHUNK: usize = 16 * 1024;
/// How often a UDP receiver looks at whether its session is over.
const UDP_TICK: Duration = Duration::from_millis(50);

/// `listen -u`: the first datagram's sender becomes the peer (the socket is connected to it,
/// so no one else's datagrams are taken), then as [`udp_session`].
pub(super) fn udp_listen(
    reporter: &mut Reporter,
    socket: &UdpSocket,
    wait: Option<Duration>,
) -> Result<(), CliError> {
    let mut buf = vec![0u8; 65_536];
    let (n, from) = socket
        .recv_from(&mut buf)
        .map_err(|e| CliError::new("recvfrom", e))?;
    let peer = canonical(from).to_string();
    socket.connect(from).map_err(|e| CliError::new(&peer, e))?;
    reporter.event(
        "connected",
        || format!("datagrams from {peer}"),
        json!({ "peer": peer }),
    );
    buf.truncate(n);
    let result = udp_session(reporter, socket, Some(buf), wait, &peer);
    reporter.done();
    result
}

/// A connected UDP socket: each read of stdin one datagram, each datagram to stdout. Ends
/// once stdin has ended and no datagram came for `wait` (never without one).
pub(super) fn udp_session(
    reporter: &mut Reporter,
    socket: &UdpSocket,
    first: Option<Vec<u8>>,
    wait: Option<Duration>,
    peer: &str,
) -> Result<(), CliError> {
    let transfer = reporter.session();
    let result = pump_udp(reporter, &transfer, socket, first, wait, peer);
    reporter.finish(transfer);
    result
}

fn pump_udp(
    reporter: &Reporter,
    transfer: &Transfer,
    socket: &UdpSocket,
    first: Option<Vec<u8>>,
    wait: Option<Duration>,
    peer: &str,
) -> Result<(), CliError> {
    let fail = |e: io::Error| CliError::new(peer, e);
    let stdout = io::stdout();
    if let Some(bytes) = first {
        pump::write_all(stdout.as_fd(), &bytes, &transfer.counters.received).map_err(fail)?;
    }
    let stdin_end: Arc<Mutex<Option<Instant>>> = Arc::default();
    let failed = Arc::new(AtomicBool::new(false));
    let sender = {
        let socket = socket.try_clone().map_err(fail)?;
        let (end, counters, failed) = (
            Arc::clone(&stdin_end),
            Arc::clone(&transfer.counters),
            Arc::clone(&failed),
        );
        thread::spawn(move || {
            let result = send_datagrams(&socket, &counters.sent);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            *end.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            result
        })
    };
    socket.set_read_timeout(Some(UDP_TICK)).map_err(fail)?;
    let mut buf = vec![0u8; 65_536];
    let mut last = Instant::now();
    let mut reported_eof = false;
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => {
                last = Instant::now();
                pump::write_all(stdout.as_fd(), &buf[..n], &transfer.counters.received)
                    .map_err(|e| CliError::new(format_args!("{peer} -> stdout"), e))?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // An ICMP port unreachable for one of our datagrams, reported on the next call.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(CliError::new(
                    peer,
                    format_args!("{e}: nothing listens there (its host said port unreachable)"),
                ));
            }
            Err(e) => return Err(CliError::new(format_args!("{peer} -> stdout"), e)),
        }
        if failed.load(Ordering::Relaxed) {
            break;
        }
        let ended = *stdin_end.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = ended {
            if !reported_eof {
                reported_eof = true;
                reporter.event(
                    "eof",
                    || "stdin ended".to_owned(),
                    json!({ "from": "stdin" }),
                );
            }
            if let Some(wait) = wait
                && at.max(last).elapsed() >= wait
            {
                break;
            }
        }
    }
    match sender.join() {
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Err(CliError::new(
            peer,
            format_args!("{e}: nothing listens there (its host said port unreachable)"),
        )),
        Ok(result) => result
            .map(drop)
            .map_err(|e| CliError::new(format_args!("stdin -> {peer}"), e)),
        Err(_) => Err(CliError::new("stdin", "the sending thread failed")),
    }
}

/// Stdin to the connected socket, a datagram per read, until stdin's end.
fn send_datagrams(socket: &UdpSocket, sent: &std::sync::atomic::AtomicU64) -> io::Result<u64> {
    let mut buf = vec![0u8; DATAGRAM_CHUNK];
    let mut total = 0;
    loop {
        let n = match rustix::io::read(io::stdin().as_fd(), &mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("reading: {e}"),
                ));
            }
        };
        loop {
            match socket.send(&buf[..n]) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The kernel's queue is full: a moment for it to drain, as a blocking send would.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOBUFS.raw_os_error()) => {
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
        total += n as u64;
        sent.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A UDP socket on `addr`; `::` takes IPv4 peers too.
pub(super) fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&SockAddr::from(addr))?;
    Ok(socket.into())
}
