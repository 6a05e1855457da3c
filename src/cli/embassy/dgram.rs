//! `--backend embassy`, the datagram side: the UDP echo server and client, the multicast sender
//! and receiver, and `lookup host`, on portsock-embassy's [`UdpSocket`] and
//! [`resolve`](portsock_embassy::resolve) over the embassy-net stack that [`super`]
//! builds on a TAP device.
//!
//! The protocol is the core's machines, run by the async driver
//! ([`run_datagram`]) with [`EmbassyTimer`]; the lines are the other backends' (the
//! `*_line` functions of `echo` and `multicast`). Every command checks its input and sets its
//! socket up before the first line; the server and the receiver wait at the end (at most
//! [`LINGER`]) for their last datagram to leave, as the stack stops with the process.

use std::net::SocketAddr;

use portsock_core::asynch::drive::run_datagram;
use portsock_core::asynch::transport::{Datagram, Multicast};
use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoServer};
use portsock_core::multicast::{
    CHAPTER_RECEIVE_SIZE, CHAPTER_REPLY_SIZE, MulticastReceiver, MulticastSender,
};
use portsock_core::time::Duration;
use portsock_embassy::{EmbassyTimer, Error, Family, UdpResources, UdpSocket};

use super::LINGER;
use crate::cli::CliError;
use crate::cli::echo::{client_bind_addr, datagram_client_line, datagram_server_line, listening};
use crate::cli::lookup::{NOT_FOUND, stack_hosts};
use crate::cli::multicast::{Collect, Target, receiver_line, sender_line};
use crate::cli::net::{BackendArg, HostPort, Out, PyAddr, Thousands};

/// Datagrams each UDP socket queues per direction.
const UDP_PACKETS: usize = 8;
/// Payload bytes each UDP socket queues per direction: one datagram of the largest size a TAP
/// with a 64 KiB MTU carries.
const UDP_BYTES: usize = 65_535;
/// How long one name lookup may take (as on the smoltcp backend).
const LOOKUP_TIMEOUT: embassy_time::Duration = embassy_time::Duration::from_secs(5);
/// How many replies a multicast sender keeps (more are still printed).
const MAX_REPLIES: usize = 64;

/// One UDP socket's buffers, on the heap (128 KiB: too much for a future's frame).
type Buffers = Box<UdpResources<UDP_PACKETS, UDP_BYTES>>;

fn buffers() -> Buffers {
    Box::new(UdpResources::new())
}

/// `echo server --proto udp --backend embassy`: echoes `count` datagrams (forever without),
/// received into a `size`-byte buffer.
///
/// # Errors
///
/// A bad option or TAP device; an address the stack cannot bind; the socket failed.
pub(crate) fn serve(
    backend: &BackendArg,
    hp: &HostPort,
    size: usize,
    count: Option<usize>,
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let addr = net.bind_addr(hp, "--addr")?;
    let stack = net.stack();
    net.block_on(async {
        let mut buffers = buffers();
        let mut socket =
            UdpSocket::bind(stack, addr, &mut buffers).map_err(|e| CliError::new("--addr", e))?;
        let local = socket
            .local_addr()
            .map_err(|e| CliError::new("--addr", e))?;
        let mut out = Out::stdout();
        listening(hp, local).print(&mut out, true);
        let mut server = DatagramEchoServer::new(vec![0u8; size]);
        if let Some(n) = count {
            server = server.with_limit(n);
        }
        let served = run_datagram(&mut socket, &mut server, &EmbassyTimer, &mut |s| {
            while let Some(event) = s.poll_event() {
                datagram_server_line(&mut out, event);
            }
        })
        .await;
        linger(&mut socket).await;
        served.map_err(|e| CliError::new("udp", e))
    })
}

/// `echo client --proto udp --backend embassy`: sends `message` to the server and waits up to
/// `timeout` for the echo, verifying every byte.
///
/// # Errors
///
/// A bad option or TAP device; a server that cannot be resolved; a message larger than one
/// frame of the TAP carries; the socket failed, the echo differed or none came.
pub(crate) fn client(
    backend: &BackendArg,
    hp: &HostPort,
    message: &[u8],
    size: usize,
    timeout: Duration,
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let server = net.peer_addr(hp, "--addr")?;
    let limit = max_payload(backend, server);
    if message.len() > limit {
        return Err(CliError::new(
            "--message",
            format_args!(
                "a datagram of {} bytes to {server} is too large: the embassy stack sends UDP over {} in one frame of the TAP, at most {} bytes (it does not fragment)",
                Thousands(message.len() as u64),
                if server.is_ipv4() { "IPv4" } else { "IPv6" },
                Thousands(limit as u64)
            ),
        ));
    }
    let stack = net.stack();
    net.block_on(async {
        let mut buffers = buffers();
        let mut socket = UdpSocket::bind(stack, client_bind_addr(server), &mut buffers)
            .map_err(|e| CliError::new("udp", e))?;
        let mut out = Out::stdout();
        let started = std::time::Instant::now();
        let mut client =
            DatagramEchoClient::new(message, server, vec![0u8; size]).with_timeout(timeout);
        run_datagram(&mut socket, &mut client, &EmbassyTimer, &mut |c| {
            while let Some(event) = c.poll_event() {
                datagram_client_line(&mut out, event);
            }
        })
        .await
        .map_err(|e| CliError::new(format_args!("echo from {}", PyAddr(server)), e))?;
        out.line("closing socket");
        crate::cli::echo::client_summary(&mut out, message.len(), started);
        Ok(())
    })
}

/// `multicast send --backend embassy`: sends `message` to the group once, with hop limit
/// `ttl`, and collects the replies as `wait` says.
///
/// # Errors
///
/// A bad option or TAP device; a message larger than one frame; the socket failed.
pub(crate) fn multicast_send(
    backend: &BackendArg,
    target: &Target,
    ttl: u8,
    message: &[u8],
    wait: Collect,
) -> Result<(), CliError> {
    let group = target.group_addr();
    let limit = max_payload(backend, group);
    if message.len() > limit {
        return Err(CliError::new(
            "--message",
            format_args!(
                "{} bytes do not fit in one datagram of the TAP's frames (at most {}; the embassy stack does not fragment)",
                Thousands(message.len() as u64),
                Thousands(limit as u64)
            ),
        ));
    }
    let net = super::stack(backend)?;
    let stack = net.stack();
    net.block_on(async {
        let mut buffers = buffers();
        let mut socket = UdpSocket::bind(stack, target.any(0), &mut buffers)
            .map_err(|e| CliError::new("udp", e))?;
        socket
            .set_multicast_interface(target.request.interface())
            .map_err(|e| CliError::new("--iface", e))?;
        socket
            .set_multicast_ttl(ttl)
            .map_err(|e| CliError::new("--ttl", e))?;
        let mut out = Out::stdout();
        let mut sender =
            MulticastSender::<MAX_REPLIES, CHAPTER_REPLY_SIZE>::new(message, group, wait.each)
                .with_deadline(wait.total);
        run_datagram(&mut socket, &mut sender, &EmbassyTimer, &mut |s| {
            while let Some(event) = s.poll_event() {
                sender_line(&mut out, event, group);
            }
        })
        .await
        .map_err(|e| CliError::new(format_args!("multicast to {group}"), e))?;
        out.line("closing socket");
        Ok(())
    })
}

/// `multicast receive --backend embassy`: joins the group on the stack (its IGMP or MLD report
/// goes out on the TAP) and acknowledges `count` datagrams (forever without).
///
/// # Errors
///
/// A bad option or TAP device; a port or group the stack refuses; the socket failed.
pub(crate) fn multicast_receive(
    backend: &BackendArg,
    target: &Target,
    count: Option<usize>,
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let stack = net.stack();
    net.block_on(async {
        let mut buffers = buffers();
        let mut socket = UdpSocket::bind(stack, target.any(target.port), &mut buffers)
            .map_err(|e| CliError::new("--port", e))?;
        socket
            .join(&target.request)
            .map_err(|e| CliError::new("--group", e))?;
        let mut out = Out::stdout();
        if target.port == 0 {
            let local = socket
                .local_addr()
                .map_err(|e| CliError::new("--port", e))?;
            out.line(format_args!(
                "starting up on {} port {}",
                local.ip(),
                local.port()
            ));
        }
        let mut receiver = MulticastReceiver::new(vec![0u8; CHAPTER_RECEIVE_SIZE]);
        if let Some(n) = count {
            receiver = receiver.with_limit(n);
        }
        let received = run_datagram(&mut socket, &mut receiver, &EmbassyTimer, &mut |r| {
            while let Some(event) = r.poll_event() {
                receiver_line(&mut out, event);
            }
        })
        .await;
        // The last acknowledgement leaves before the stack goes away.
        linger(&mut socket).await;
        received
            .map(|_| ())
            .map_err(|e| CliError::new("multicast receive", e))
    })
}

/// `lookup host --backend embassy`: gethostbyname through the stack's DNS client (A records,
/// CNAMEs followed, up to [`LOOKUP_TIMEOUT`] each), printed as `host` prints it.
///
/// # Errors
///
/// No --dns; a bad option or TAP device.
pub(crate) fn lookup_host(
    backend: &BackendArg,
    names: &[String],
    json: bool,
) -> Result<crate::cli::lookup::Listed, CliError> {
    if backend.dns.is_empty() {
        return Err(CliError::new(
            "--backend embassy",
            "lookup host needs --dns SERVER (the stack has no resolver configuration of its own)",
        ));
    }
    let net = super::stack(backend)?;
    let stack = net.stack();
    Ok(stack_hosts(names, json, |name| {
        let lookup = portsock_embassy::resolve(stack, name, Family::V4);
        match net.block_on(embassy_time::with_timeout(LOOKUP_TIMEOUT, lookup)) {
            Ok(Ok(ip)) => Ok(ip),
            Ok(Err(Error::NotFound)) => Err(NOT_FOUND.to_owned()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(embassy_time::TimeoutError) => Err(Error::TimedOut.to_string()),
        }
    }))
}

/// The largest UDP payload the stack sends to `to` in one frame of the TAP: embassy-net's
/// smoltcp neither fragments nor reassembles, so a datagram is one IP packet of at most the
/// TAP's MTU (embassy-net-tuntap asks the kernel for it when it opens the device; read here
/// from sysfs, 1500 when it cannot be read).
fn max_payload(backend: &BackendArg, to: SocketAddr) -> usize {
    let headers = if to.is_ipv4() { 20 + 8 } else { 40 + 8 };
    tap_mtu(backend).saturating_sub(headers).min(UDP_BYTES)
}

/// The TAP's MTU, the largest IP packet in one of its frames (read from sysfs, as
/// embassy-net-tuntap asks the kernel for it; 1500 when it cannot be read).
pub(crate) fn tap_mtu(backend: &BackendArg) -> usize {
    backend
        .tap
        .as_deref()
        .and_then(|tap| std::fs::read_to_string(format!("/sys/class/net/{tap}/mtu")).ok())
        .and_then(|text| text.trim().parse::<usize>().ok())
        .unwrap_or(1500)
}

/// Waits until the socket's queued datagrams have left, for at most [`LINGER`].
async fn linger(socket: &mut UdpSocket<'_>) {
    let _ = embassy_time::with_timeout(LINGER, socket.socket().flush()).await;
}
