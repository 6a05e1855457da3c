//! UDP's data mode on the smoltcp stack (`connect -u` / `listen -u --backend smoltcp`), with
//! the kernel's semantics ([`kernel::udp`](super::kernel)): each read of stdin is one
//! datagram to the peer, each datagram from the peer goes to stdout; `listen -u` takes the
//! first datagram's sender as its peer and then only that peer's datagrams.
//!
//! One loop owns the stack and the socket (non-blocking); a thread reads stdin a datagram at a
//! time ([`userspace_udp`](super::userspace_udp), at most one frame each) and another writes
//! stdout. With `--drop-chance` a datagram whose frame is dropped is lost, as UDP may lose
//! any: it counts as sent (the stack sent it), and the receiver counts only what arrived.
//! Unlike the kernel, smoltcp does not report an ICMP "port unreachable" to the socket, so a
//! `connect -u` to a port nobody listens on ends after `--wait` like a silent peer.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use portsock_core::time::{Clock as _, Duration};
use portsock_core::transport::{Blocking as _, Datagram as _};
use portsock_smoltcp::{UdpError, UdpSocket};
use serde_json::json;

use super::report::{Reporter, Transfer};
use super::smol::stdout_writer;
use super::userspace_udp::{check_route, frame_payload, read_size, stdin_datagrams, too_large};
use super::{FamilyPref, Session};
use crate::cli::CliError;
use crate::cli::echo::client_bind_addr;
use crate::cli::net::{BackendArg, HostPort};
use crate::cli::smol::{self as stack_cli, SmolStack, UdpQueue};

/// How often the loop looks at stdin's channel while it may bring a datagram.
const STDIN_TICK: Duration = Duration::from_millis(2);
/// The largest datagram received (no larger one is sent in one frame of a TAP).
const RECEIVE: usize = 65_536;
/// The socket's queue each way: a burst of the peer's datagrams (or a sending stdin's)
/// waits there while the loop takes the ones before it, rather than being dropped at 8 as
/// the echo's would; 128 frames of 1,500 bytes, or two of the largest datagrams.
const QUEUE: UdpQueue = UdpQueue {
    packets: 128,
    bytes: 192 * 1024,
};

type Socket<'s> = UdpSocket<
    's,
    'static,
    portsock_smoltcp::Wrapped<portsock_smoltcp::smoltcp::phy::TunTapInterface>,
    portsock_smoltcp::StdPlatform,
>;

/// `connect -u` or `listen -u` on the stack `backend` describes.
pub(super) fn run(
    backend: &BackendArg,
    session: &Session,
    hp: &HostPort,
    listen: bool,
) -> Result<(), CliError> {
    let stack = stack_cli::stack_with(backend, QUEUE)?;
    let mut reporter = Reporter::new(session.report);
    let result = if listen {
        listen_on(&stack, &mut reporter, session, hp)
    } else {
        connect_to(&stack, backend, &mut reporter, session, hp)
    };
    // The datagrams still queued (waiting for the neighbour's address) leave before the exit.
    stack_cli::linger(&stack);
    result
}

fn connect_to(
    stack: &SmolStack,
    backend: &BackendArg,
    reporter: &mut Reporter,
    session: &Session,
    hp: &HostPort,
) -> Result<(), CliError> {
    let peer = stack_cli::peer_addr(stack, hp, "HOST:PORT")?;
    if !session.family.allows(peer.ip()) {
        return Err(CliError::new(
            format_args!("HOST:PORT {peer}"),
            "is not of the family -4 / -6 asks for",
        ));
    }
    check_route(backend, peer)?;
    let size = read_size("smoltcp", payload_to(stack, peer), peer)?;
    let mut socket = UdpSocket::bind(stack, client_bind_addr(peer))
        .map_err(|e| CliError::new(format_args!("HOST:PORT {peer}"), e))?;
    let local = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let shown = peer.to_string();
    reporter.event(
        "connected",
        || format!("connected to {shown}"),
        json!({ "peer": shown, "local": local }),
    );
    let transfer = reporter.session();
    let result = pump(
        stack,
        reporter,
        &transfer,
        &mut socket,
        peer,
        None,
        session.wait,
        size,
    );
    reporter.finish(transfer);
    reporter.done();
    result
}

fn listen_on(
    stack: &SmolStack,
    reporter: &mut Reporter,
    session: &Session,
    hp: &HostPort,
) -> Result<(), CliError> {
    let addr = stack_cli::bind_addr(stack, hp, "[HOST:]PORT")?;
    let addr = match (session.family, addr.ip().is_unspecified()) {
        (FamilyPref::V6, true) => {
            SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), addr.port())
        }
        _ => addr,
    };
    let mut socket = UdpSocket::bind(stack, addr)
        .map_err(|e| CliError::new(format_args!("[HOST:]PORT {addr}"), e))?;
    let local = socket
        .local_addr()
        .map_err(|e| CliError::new(format_args!("[HOST:]PORT {addr}"), e))?;
    reporter.listening(&local.to_string());
    // The first datagram of the family asked for names the peer (an address of the stack's
    // unspecified bind takes both families).
    let mut buf = vec![0u8; RECEIVE];
    let (first, peer) = loop {
        let got = socket
            .recv_from(&mut buf, None)
            .map_err(|e| CliError::new("recvfrom", e))?
            .ok_or_else(|| CliError::new("recvfrom", "no deadline was set"))?;
        if session.family.allows(got.from.ip()) {
            break (buf[..got.len.min(buf.len())].to_vec(), got.from);
        }
    };
    let size = read_size("smoltcp", payload_to(stack, peer), peer)?;
    let shown = peer.to_string();
    reporter.event(
        "connected",
        || format!("datagrams from {shown}"),
        json!({ "peer": shown }),
    );
    let transfer = reporter.session();
    let result = pump(
        stack,
        reporter,
        &transfer,
        &mut socket,
        peer,
        Some(first),
        session.wait,
        size,
    );
    reporter.finish(transfer);
    reporter.done();
    result
}

/// The largest datagram to `peer` in one frame of the stack's device.
fn payload_to(stack: &SmolStack, peer: SocketAddr) -> usize {
    use portsock_smoltcp::smoltcp::phy::Device as _;
    let ip_mtu = stack.with_device(|d| d.capabilities().ip_mtu());
    frame_payload(ip_mtu, peer)
}

/// Stdin to `peer` a datagram per read, `peer`'s datagrams to stdout (`first` before them),
/// until stdin has ended and nothing came from `peer` for `wait` (never without one).
#[allow(clippy::too_many_arguments)]
fn pump(
    stack: &SmolStack,
    reporter: &Reporter,
    transfer: &Transfer,
    socket: &mut Socket<'_>,
    peer: SocketAddr,
    first: Option<Vec<u8>>,
    wait: Option<std::time::Duration>,
    size: usize,
) -> Result<(), CliError> {
    let shown = peer.to_string();
    let fail = |e: UdpError| CliError::new(&shown, e);
    socket.set_nonblocking(true).map_err(fail)?;
    let stdin: Receiver<std::io::Result<Vec<u8>>> = stdin_datagrams(size);
    let (to_stdout, writer) = stdout_writer();
    let counters = &transfer.counters;
    let mut stdout_open = true;
    if let Some(bytes) = first {
        counters
            .received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        stdout_open = to_stdout.send(bytes).is_ok();
    }
    let mut pending: Option<Vec<u8>> = None;
    let mut stdin_end: Option<Instant> = None;
    let mut last = Instant::now();
    let mut buf = vec![0u8; RECEIVE];
    while stdout_open {
        let mut progress = false;
        // Stdin -> the peer.
        if stdin_end.is_none() && pending.is_none() {
            match stdin.try_recv() {
                Ok(Ok(datagram)) => pending = Some(datagram),
                Ok(Err(e)) => return Err(CliError::new(format_args!("stdin -> {shown}"), e)),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    stdin_end = Some(Instant::now());
                    progress = true;
                    reporter.event(
                        "eof",
                        || "stdin ended".to_owned(),
                        json!({ "from": "stdin" }),
                    );
                }
            }
        }
        if let Some(datagram) = &pending {
            match socket.send_to(datagram, &peer) {
                Ok(()) => {
                    counters
                        .sent
                        .fetch_add(datagram.len() as u64, Ordering::Relaxed);
                    pending = None;
                    progress = true;
                }
                // The socket's queue is full (the neighbour's address is not known yet, say).
                Err(UdpError::WouldBlock) => {}
                Err(UdpError::DatagramTooLarge { len, max }) => {
                    return Err(too_large("smoltcp", len, max));
                }
                Err(e) => return Err(CliError::new(format_args!("stdin -> {shown}"), e)),
            }
        }
        // The peer -> stdout; anyone else's datagrams are not ours (as on a connected socket).
        // At most a queue's worth per turn, so a peer that never pauses does not starve stdin.
        for _ in 0..QUEUE.packets {
            match socket.recv_from(&mut buf, None) {
                Ok(Some(got)) => {
                    progress = true;
                    if got.from != peer {
                        continue;
                    }
                    last = Instant::now();
                    let n = got.len.min(buf.len());
                    if to_stdout.send(buf[..n].to_vec()).is_err() {
                        // The writer stopped: its error is reported below.
                        stdout_open = false;
                        break;
                    }
                    counters.received.fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(None) | Err(UdpError::WouldBlock) => break,
                Err(e) => return Err(CliError::new(format_args!("{shown} -> stdout"), e)),
            }
        }
        // Done once stdin has ended and the peer was silent for `wait`.
        let quiet_until = match (stdin_end, wait) {
            (Some(end), Some(wait)) => Some(end.max(last) + wait),
            _ => None,
        };
        if quiet_until.is_some_and(|at| Instant::now() >= at) {
            break;
        }
        if !progress {
            let now = stack.now();
            let tick = (stdin_end.is_none() && pending.is_none()).then(|| now + STDIN_TICK);
            let quiet = quiet_until.map(|at| {
                let left = at.saturating_duration_since(Instant::now());
                now + Duration::from_millis(u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
            });
            let deadline = match (tick, quiet) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            stack.wait(deadline);
        }
    }
    drop(to_stdout);
    match writer.join() {
        Ok(result) => result.map_err(|e| CliError::new(format_args!("{shown} -> stdout"), e)),
        Err(_) => Err(CliError::new("stdout", "the writing thread failed")),
    }
}
