//! UDP's data mode on embassy-net (`connect -u` / `listen -u --backend embassy`), with the
//! kernel's semantics: each read of stdin is one datagram to the peer (at most one frame of
//! the TAP: [`userspace_udp`](super::userspace_udp)), each datagram from the peer goes to
//! stdout; `listen -u` takes the first datagram's sender as its peer and then only that
//! peer's datagrams.
//!
//! The session is one future beside the stack's runner. Stdin reaches it through a
//! `SOCK_SEQPACKET` pair that a thread fills a record per read of stdin (so a record is a
//! datagram), stdout through a stream pair that a thread empties; the future waits for them
//! on async-io's reactor as for the TAP. Each turn races one step of each direction and the
//! `--wait` timer; the losers are dropped mid-wait, which loses nothing: embassy-net's
//! `recv_from` and `send_to` and the reactor's reads and writes take or give bytes only in the
//! poll that completes them, and the buffers live outside the futures.

use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::time::Instant;

use async_io::Async;
use embassy_net::IpEndpoint;
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::transport::Datagram as _;
use portsock_embassy::{UdpResources, UdpSocket};
use serde_json::json;

use super::embassy::stdout_pipe;
use super::report::{Reporter, Transfer};
use super::userspace_udp::{check_route, frame_payload, read_size, stdin_records, too_large};
use super::{FamilyPref, Session};
use crate::cli::CliError;
use crate::cli::echo::client_bind_addr;
use crate::cli::embassy::{LINGER, dgram::tap_mtu};
use crate::cli::net::{BackendArg, HostPort};

/// Datagrams the socket queues per direction (a burst of the peer's waits there while stdout
/// takes the ones before), and their payload bytes together: 128 frames of 1,500 bytes.
const PACKETS: usize = 128;
const BYTES: usize = 192 * 1024;
/// The largest datagram received (no larger one is sent in one frame of a TAP).
const RECEIVE: usize = 65_536;

/// `connect -u` or `listen -u` on the embassy stack `backend` describes.
pub(super) fn run(
    backend: &BackendArg,
    session: &Session,
    hp: &HostPort,
    listen: bool,
) -> Result<(), CliError> {
    let net = crate::cli::embassy::stack(backend)?;
    let mtu = tap_mtu(backend);
    let mut reporter = Reporter::new(session.report);
    let (bind, peer) = if listen {
        let addr = net.bind_addr(hp, "[HOST:]PORT")?;
        let addr = match (session.family, addr.ip().is_unspecified()) {
            (FamilyPref::V6, true) => {
                SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), addr.port())
            }
            _ => addr,
        };
        (addr, None)
    } else {
        let peer = net.peer_addr(hp, "HOST:PORT")?;
        if !session.family.allows(peer.ip()) {
            return Err(CliError::new(
                format_args!("HOST:PORT {peer}"),
                "is not of the family -4 / -6 asks for",
            ));
        }
        check_route(backend, peer)?;
        read_size("embassy", frame_payload(mtu, peer), peer)?;
        (client_bind_addr(peer), Some(peer))
    };
    let stack = net.stack();
    let reporter = &mut reporter;
    net.block_on(async move {
        let option = if listen { "[HOST:]PORT" } else { "HOST:PORT" };
        let mut buffers = Box::new(UdpResources::<PACKETS, BYTES>::new());
        let mut socket = UdpSocket::bind(stack, bind, &mut buffers)
            .map_err(|e| CliError::new(format_args!("{option} {bind}"), e))?;
        let local = socket
            .local_addr()
            .map_err(|e| CliError::new(format_args!("{option} {bind}"), e))?;
        let udp = socket.socket();
        let (peer, first_datagram) = if let Some(peer) = peer {
            let shown = peer.to_string();
            reporter.event(
                "connected",
                || format!("connected to {shown}"),
                json!({ "peer": shown, "local": local.to_string() }),
            );
            (peer, None)
        } else {
            reporter.listening(&local.to_string());
            let (peer, datagram) = first_from(udp, session.family).await?;
            let shown = peer.to_string();
            reporter.event(
                "connected",
                || format!("datagrams from {shown}"),
                json!({ "peer": shown }),
            );
            (peer, Some(datagram))
        };
        let size = read_size("embassy", frame_payload(mtu, peer), peer)?;
        let transfer = reporter.session();
        let result = pump(
            reporter,
            &transfer,
            udp,
            peer,
            first_datagram,
            session.wait,
            size,
        )
        .await;
        reporter.finish(transfer);
        reporter.done();
        // The datagrams still queued leave before the process (and with it the stack) ends.
        let _ = embassy_time::with_timeout(LINGER, udp.flush()).await;
        result
    })
}

/// The first datagram (of the family asked for) and its sender, the peer from then on.
async fn first_from(
    udp: &embassy_net::udp::UdpSocket<'_>,
    family: FamilyPref,
) -> Result<(SocketAddr, Vec<u8>), CliError> {
    let mut buf = vec![0u8; RECEIVE];
    loop {
        let (n, meta) = udp
            .recv_from(&mut buf)
            .await
            .map_err(|e| CliError::new("recvfrom", format_args!("{e:?}")))?;
        let from = SocketAddr::from(meta.endpoint);
        if family.allows(from.ip()) {
            buf.truncate(n);
            return Ok((from, buf));
        }
    }
}

/// What one turn of [`pump`] did.
enum Step {
    /// Wrote this many bytes of the peer's datagram to stdout.
    Wrote(usize),
    /// Received a datagram of this many bytes from this sender.
    Received(usize, SocketAddr),
    /// Sent the datagram read from stdin.
    Sent,
    /// Read a datagram of this many bytes from stdin (0: stdin's end).
    Read(usize),
    /// `--wait` passed since stdin's end and the peer's last datagram.
    Quiet,
}

/// Stdin to `peer` a datagram per read, `peer`'s datagrams to stdout (`first_datagram` before
/// them), until stdin has ended and nothing came from `peer` for `wait` (never without one).
async fn pump(
    reporter: &Reporter,
    transfer: &Transfer,
    udp: &embassy_net::udp::UdpSocket<'_>,
    peer: SocketAddr,
    first_datagram: Option<Vec<u8>>,
    wait: Option<std::time::Duration>,
    size: usize,
) -> Result<(), CliError> {
    let shown = peer.to_string();
    let fail = |e: io::Error| CliError::new(&shown, e);
    let (records, stdin_thread) = stdin_records(size).map_err(fail)?;
    let mut stdin_thread = Some(stdin_thread);
    let stdin = Async::new(UnixStream::from(records)).map_err(fail)?;
    let (stdout, stdout_thread) = stdout_pipe().map_err(fail)?;
    let counters = &transfer.counters;
    let endpoint = IpEndpoint::from(peer);
    // The peer's datagram on its way to stdout, and how much of it is written.
    let (mut incoming, mut written) = (first_datagram.unwrap_or_default(), 0);
    let mut receive = vec![0u8; RECEIVE];
    // Stdin's datagram on its way to the peer (`outgoing_len` bytes, 0: none).
    let mut outgoing = vec![0u8; size];
    let mut outgoing_len = 0;
    let mut stdin_end: Option<Instant> = None;
    let mut last = Instant::now();
    let mut stdin_first = false;
    let result = loop {
        // (Not while a datagram is still being written to stdout.)
        let quiet_until = match (stdin_end, wait) {
            (Some(end), Some(wait)) if written == incoming.len() => Some(end.max(last) + wait),
            _ => None,
        };
        let step = {
            let (incoming, receive, outgoing) = (&incoming, &mut receive, &mut outgoing);
            let (stdout, stdin) = (&stdout, &stdin);
            let to_stdout = async move {
                if written < incoming.len() {
                    let n = stdout
                        .write_with(|mut s| s.write(&incoming[written..]))
                        .await
                        .map_err(|e| CliError::new(format_args!("{peer} -> stdout"), e))?;
                    return Ok(Step::Wrote(n));
                }
                let (n, meta) = udp.recv_from(receive).await.map_err(|e| {
                    CliError::new(format_args!("{peer} -> stdout"), format_args!("{e:?}"))
                })?;
                Ok(Step::Received(n, SocketAddr::from(meta.endpoint)))
            };
            let from_stdin = async move {
                if stdin_end.is_some() {
                    return core::future::pending().await;
                }
                if outgoing_len > 0 {
                    return match udp.send_to(&outgoing[..outgoing_len], endpoint).await {
                        Ok(()) => Ok(Step::Sent),
                        Err(embassy_net::udp::SendError::PacketTooLarge) => Err(too_large(
                            "embassy",
                            outgoing_len,
                            udp.payload_send_capacity(),
                        )),
                        Err(e) => Err(CliError::new(
                            format_args!("stdin -> {peer}"),
                            format_args!("{e:?}"),
                        )),
                    };
                }
                let n = stdin
                    .read_with(|mut s| s.read(outgoing))
                    .await
                    .map_err(|e| CliError::new(format_args!("stdin -> {peer}"), e))?;
                Ok(Step::Read(n))
            };
            let quiet = async move {
                match quiet_until {
                    Some(at) => {
                        let left = at.saturating_duration_since(Instant::now());
                        let micros = u64::try_from(left.as_micros()).unwrap_or(u64::MAX);
                        embassy_time::Timer::after(embassy_time::Duration::from_micros(micros))
                            .await;
                        Ok(Step::Quiet)
                    }
                    None => core::future::pending().await,
                }
            };
            // `first` polls its first future first: the two directions take turns at that, so
            // a peer that never pauses does not starve stdin, nor stdin the peer.
            let outcome = if stdin_first {
                first(from_stdin, first(to_stdout, quiet)).await
            } else {
                first(to_stdout, first(from_stdin, quiet)).await
            };
            match outcome {
                Either::First(step) | Either::Second(Either::First(step)) => step,
                Either::Second(Either::Second(step)) => step,
            }
        };
        stdin_first = !stdin_first;
        match step {
            Err(e) => break Err(e),
            Ok(Step::Wrote(n)) => {
                written += n;
                counters.received.fetch_add(n as u64, Ordering::Relaxed);
            }
            Ok(Step::Received(n, from)) => {
                // Anyone else's datagrams are not ours (as on a connected socket).
                if from == peer {
                    last = Instant::now();
                    incoming.clear();
                    incoming.extend_from_slice(&receive[..n]);
                    written = 0;
                }
            }
            Ok(Step::Sent) => {
                counters
                    .sent
                    .fetch_add(outgoing_len as u64, Ordering::Relaxed);
                outgoing_len = 0;
            }
            Ok(Step::Read(0)) => {
                // The thread has ended (it closed its end): a failed read is its error.
                if let Some(Ok(Err(e))) = stdin_thread.take().map(|t| t.join()) {
                    break Err(CliError::new(format_args!("stdin -> {peer}"), e));
                }
                stdin_end = Some(Instant::now());
                reporter.event(
                    "eof",
                    || "stdin ended".to_owned(),
                    json!({ "from": "stdin" }),
                );
            }
            Ok(Step::Read(n)) => outgoing_len = n,
            Ok(Step::Quiet) => break Ok(()),
        }
    };
    // Everything received is written before the command ends.
    drop(stdout);
    let written = match stdout_thread.join() {
        Ok(done) => done.map_err(|e| CliError::new(format_args!("{shown} -> stdout"), e)),
        Err(_) => Err(CliError::new("stdout", "the writing thread failed")),
    };
    result.and(written)
}
