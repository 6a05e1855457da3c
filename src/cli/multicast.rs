//! `portsock multicast send|receive`: the chapter's `socket_multicast_sender.py` and
//! `socket_multicast_receiver.py`, on the core's [`MulticastSender`] and [`MulticastReceiver`].
//!
//! **Multicast never leaves the machine by default**: an IPv4 group is joined, and sent to,
//! on the interface with address 127.0.0.1 (`--iface 127.0.0.1`), which needs no privileges
//! and reaches every receiver on this host. Another `--iface` is the user's choice. An IPv6
//! group needs one (a name or an index): the loopback cannot carry IPv6 multicast.
//!
//! The group is checked (224.0.0.0/4, ff00::/8) before any socket exists, so a wrong group
//! sends nothing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use clap::{Args, Subcommand};
use portsock_core::drive::run_datagram;
use portsock_core::multicast::{
    CHAPTER_GROUP, CHAPTER_MESSAGE, CHAPTER_RECEIVE_SIZE, CHAPTER_REPLY_SIZE, CHAPTER_TTL,
    MulticastReceiver, MulticastSender, ReceiverEvent, SenderEvent,
};
use portsock_core::time::Duration;
use portsock_core::transport::MembershipRequest;
use portsock_core::wire::repr::PyBytes;
use portsock_std::multicast::membership;
use portsock_std::prelude::*;
use portsock_std::udp::UdpSocket;

use serde_json::json;

use super::concurrent::Runtime;
use super::echo::truncated;
use super::mcast_watch::{Repeat, Watch, send_repeated, watch};
use super::net::{BackendArg, Out, PyAddr, Thousands, parse_interface, port_arg, seconds};
use super::{CliError, Output, jsonl};

/// How many replies a sender keeps (more are still printed).
const MAX_REPLIES: usize = 64;

/// How long a sender collects replies: until none has come for `each` (the chapter's
/// `settimeout(0.2)`), and at most `total` after sending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Collect {
    /// The wait for each reply.
    pub(crate) each: Duration,
    /// The wait for all of them.
    pub(crate) total: Duration,
}

impl Collect {
    /// `--deadline`'s default: the whole collection, however chatty the receivers.
    pub(crate) const DEFAULT_TOTAL: Duration = Duration::from_secs(5);
}

#[derive(Debug, Subcommand)]
pub(crate) enum MulticastCmd {
    /// Send one datagram to the group and print every reply until none comes for --timeout
    /// (or --deadline has passed).
    Send(SendArgs),
    /// Join the group and acknowledge every datagram with b'ack'.
    Receive(ReceiveArgs),
}

/// What both ends take.
#[derive(Debug, Args)]
pub(crate) struct GroupArgs {
    /// The group: IPv4 224.0.0.0/4 or IPv6 ff00::/8 [default: 224.3.29.71].
    #[arg(long, value_name = "G")]
    group: Option<String>,
    /// The group's port [default: 10000]; a receiver given 0 lets the system choose and
    /// prints it first (`starting up on 0.0.0.0 port N`).
    #[arg(long, value_name = "P")]
    port: Option<String>,
    /// The interface: an IPv4 address, a name (eth0) or an index [default: 127.0.0.1, so
    /// nothing leaves this machine; IPv6 groups need one].
    #[arg(long, value_name = "ADDR")]
    iface: Option<String>,
    #[command(flatten)]
    backend: BackendArg,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Time to live (IPv6: hop limit); 1 stays on the local network.
    #[arg(long, value_name = "N", default_value_t = CHAPTER_TTL)]
    ttl: u8,
    /// Seconds to wait for each reply (`settimeout(0.2)`).
    #[arg(long, value_name = "S", default_value = "0.2")]
    timeout: String,
    /// Seconds to collect replies in all, even while they keep coming (the chapter's sender
    /// would wait forever on a peer that never stops answering).
    #[arg(long, value_name = "S", default_value = "5")]
    deadline: String,
    /// The message (UTF-8 text) [default: the chapter's `very important data`].
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    message: Option<String>,
    /// Send the message N times, each one's replies collected before the next goes out.
    #[arg(long, value_name = "N", default_value_t = 1)]
    count: usize,
    /// With --count: seconds from one send to the next (more when collecting the replies
    /// takes longer).
    #[arg(long, value_name = "S", default_value = "1")]
    interval: String,
    /// JSON lines on stdout instead of the chapter's text: `sending`, `reply` and
    /// `timed_out` events, then a `summary` (sent, replies, seconds).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    group: GroupArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// Exit after acknowledging N datagrams instead of running forever [default: forever].
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// The blocking socket (mio, the default) or a tokio one: the same receiver and lines.
    #[arg(long, value_enum)]
    runtime: Option<Runtime>,
    /// Watch the group: print each datagram with its arrival time (UTC), sender and size,
    /// and acknowledge none (std and smoltcp backends).
    #[arg(long)]
    no_ack: bool,
    /// With --no-ack: payloads as hex instead of Python's bytes repr.
    #[arg(long, requires = "no_ack")]
    hex: bool,
    /// JSON lines on stdout instead of the text: `received` (with `time` under --no-ack) and
    /// `acknowledged` events, then a `summary` with --count.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    group: GroupArgs,
}

impl MulticastCmd {
    pub(crate) fn run(self) -> Output {
        match self {
            Self::Send(args) => send(args)?,
            Self::Receive(args) => receive(args)?,
        }
        Ok(String::new())
    }
}

/// The checked group, port and interface.
pub(crate) struct Target {
    pub(crate) request: MembershipRequest,
    pub(crate) port: u16,
}

impl GroupArgs {
    fn target(&self) -> Result<Target, CliError> {
        // The userspace stacks (smoltcp, embassy) have one interface, the TAP they run on.
        let on_stack = self.backend.on_embassy()? || self.backend.check()?;
        let group = match &self.group {
            None => IpAddr::V4(CHAPTER_GROUP),
            Some(text) => text.parse::<IpAddr>().map_err(|_| {
                CliError::new(
                    format_args!("--group {text:?}"),
                    "expected an IP address (224.0.0.0/4 or ff00::/8)",
                )
            })?,
        };
        let port = port_arg(self.port.as_deref())?;
        let interface = match (&self.iface, group) {
            (Some(text), _) => parse_interface(text)?,
            (None, _) if on_stack => Interface::Any,
            (None, IpAddr::V4(_)) => Interface::Addr(Ipv4Addr::LOCALHOST),
            (None, IpAddr::V6(_)) => {
                return Err(CliError::new(
                    format_args!("--group {group}"),
                    "an IPv6 group needs --iface NAME or INDEX (the loopback cannot carry IPv6 multicast)",
                ));
            }
        };
        let request = membership(group, interface).map_err(|e| CliError::new("--group", e))?;
        if let (IpAddr::V6(_), Interface::Index(0), false) = (group, request.interface(), on_stack)
        {
            return Err(CliError::new(
                "--iface 0",
                "an IPv6 group needs a real interface index",
            ));
        }
        Ok(Target { request, port })
    }
}

impl Target {
    /// Where the group's datagrams go: for IPv6, scoped to the interface.
    pub(crate) fn group_addr(&self) -> SocketAddr {
        match (self.request.group(), self.request.interface()) {
            (IpAddr::V6(g), Interface::Index(i)) => {
                SocketAddr::V6(SocketAddrV6::new(g, self.port, 0, i))
            }
            (ip, _) => SocketAddr::new(ip, self.port),
        }
    }

    /// Any address of the group's family, on `port`.
    pub(crate) fn any(&self, port: u16) -> SocketAddr {
        match self.request.group() {
            IpAddr::V4(_) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
            IpAddr::V6(_) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
        }
    }
}

fn send(args: SendArgs) -> Result<(), CliError> {
    jsonl::enable(args.json);
    let target = args.group.target()?;
    let wait = Collect {
        each: seconds("--timeout", &args.timeout)?.into(),
        total: seconds("--deadline", &args.deadline)?.into(),
    };
    if args.count == 0 {
        return Err(CliError::new("--count 0", "expected at least 1"));
    }
    let repeat = Repeat {
        count: args.count,
        interval: seconds("--interval", &args.interval)?,
    };
    let message = args
        .message
        .map_or_else(|| CHAPTER_MESSAGE.to_vec(), String::into_bytes);
    #[cfg(feature = "embassy")]
    if args.group.backend.backend == super::Backend::Embassy {
        if args.count > 1 {
            return Err(CliError::new(
                "--count",
                "applies to --backend std and smoltcp (the embassy sender sends once)",
            ));
        }
        let backend = &args.group.backend;
        return super::embassy::dgram::multicast_send(backend, &target, args.ttl, &message, wait);
    }
    #[cfg(feature = "smoltcp")]
    if args.group.backend.backend == super::Backend::Smoltcp {
        return smoltcp_send(
            &args.group.backend,
            &target,
            args.ttl,
            &message,
            wait,
            repeat,
        );
    }
    let limit = UdpSocket::max_payload(&target.group_addr());
    if message.len() > limit {
        return Err(CliError::new(
            "--message",
            format_args!(
                "{} bytes do not fit in one datagram (at most {})",
                Thousands(message.len() as u64),
                Thousands(limit as u64)
            ),
        ));
    }
    let mut socket = sender_socket(&target, args.ttl)?;
    let mut out = Out::stdout();
    let group = target.group_addr();
    send_repeated(
        &mut socket,
        &SystemClock,
        group,
        &message,
        wait,
        repeat,
        &mut out,
    )?;
    Ok(())
}

/// `multicast send --backend smoltcp`: the same sender on the userspace stack.
#[cfg(feature = "smoltcp")]
fn smoltcp_send(
    backend: &BackendArg,
    target: &Target,
    ttl: u8,
    message: &[u8],
    wait: Collect,
    repeat: Repeat,
) -> Result<(), CliError> {
    let stack = super::smol::stack(backend)?;
    let mut socket = portsock_smoltcp::UdpSocket::bind(&stack, target.any(0))
        .map_err(|e| CliError::new("udp", e))?;
    configure_sender(&mut socket, target, ttl)?;
    let mut out = Out::stdout();
    let group = target.group_addr();
    send_repeated(&mut socket, &stack, group, message, wait, repeat, &mut out)?;
    Ok(())
}

/// `multicast receive --backend smoltcp`: joins through the interface (an IGMP or MLD report
/// goes out on the TAP) and acknowledges as the chapter's receiver does.
#[cfg(feature = "smoltcp")]
fn smoltcp_receive(
    backend: &BackendArg,
    target: &Target,
    count: Option<usize>,
    watching: Option<Watch>,
) -> Result<(), CliError> {
    let stack = super::smol::stack(backend)?;
    let mut socket = portsock_smoltcp::UdpSocket::bind(&stack, target.any(target.port))
        .map_err(|e| CliError::new("--port", e))?;
    socket
        .join(&target.request)
        .map_err(|e| CliError::new("--group", e))?;
    let mut out = Out::stdout();
    let local = Datagram::local_addr(&socket).map_err(|e| CliError::new("--port", e))?;
    joined(&mut out, target, local, watching.is_some());
    match watching {
        Some(w) => drop(watch(&mut socket, w, &mut out)?),
        None => drop(multicast_receive_on(&mut socket, &stack, count, &mut out)?),
    }
    // Let the last acknowledgement leave before the stack goes away.
    super::smol::linger(&stack);
    Ok(())
}

/// A socket that sends to the group on the chosen interface only: bound to the interface's
/// address when it is given by address, with `IP_MULTICAST_IF` / `IPV6_MULTICAST_IF` set.
fn sender_socket(target: &Target, ttl: u8) -> Result<UdpSocket, CliError> {
    let bind = match target.request.interface() {
        Interface::Addr(a) => SocketAddr::new(IpAddr::V4(a), 0),
        _ => target.any(0),
    };
    let mut socket = UdpSocket::bind(bind).map_err(|e| CliError::new("--iface", e))?;
    configure_sender(&mut socket, target, ttl)?;
    Ok(socket)
}

/// Sets the outgoing interface and the TTL of a sender, on either backend.
fn configure_sender<T>(socket: &mut T, target: &Target, ttl: u8) -> Result<(), CliError>
where
    T: Multicast<Error: fmt::Display>,
{
    socket
        .set_multicast_interface(target.request.interface())
        .map_err(|e| CliError::new("--iface", e))?;
    socket
        .set_multicast_ttl(ttl)
        .map_err(|e| CliError::new("--ttl", e))
}

/// Sends `message` to `group` once and collects every reply as `wait` says; prints the
/// sender's lines. Returns the replies, `(from, payload)`.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn multicast_send(
    socket: &mut UdpSocket,
    group: SocketAddr,
    message: &[u8],
    wait: Collect,
    out: &mut Out,
) -> Result<Vec<(SocketAddr, Vec<u8>)>, CliError> {
    multicast_send_on(socket, &SystemClock, group, message, wait, out)
}

/// [`multicast_send`] over any datagram transport and its clock (the smoltcp backend's).
///
/// # Errors
///
/// The socket failed.
pub(crate) fn multicast_send_on<T, C>(
    socket: &mut T,
    clock: &C,
    group: SocketAddr,
    message: &[u8],
    wait: Collect,
    out: &mut Out,
) -> Result<Vec<(SocketAddr, Vec<u8>)>, CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    let replies = send_round(socket, clock, group, message, wait, out)?;
    out.line("closing socket");
    Ok(replies)
}

/// [`multicast_send_on`] but the last line: one datagram sent, its replies collected.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn send_round<T, C>(
    socket: &mut T,
    clock: &C,
    group: SocketAddr,
    message: &[u8],
    wait: Collect,
    out: &mut Out,
) -> Result<Vec<(SocketAddr, Vec<u8>)>, CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    let mut sender =
        MulticastSender::<MAX_REPLIES, CHAPTER_REPLY_SIZE>::new(message, group, wait.each)
            .with_deadline(wait.total);
    run_datagram(socket, &mut sender, clock, &mut |s| {
        while let Some(event) = s.poll_event() {
            sender_line(out, event, group);
        }
    })
    .map_err(|e| CliError::new(format_args!("multicast to {group}"), e))?;
    Ok(sender
        .replies()
        .iter()
        .map(|r| (r.from, r.payload.to_vec()))
        .collect())
}

/// The multicast sender's line for one event of its machine, as the chapter prints it.
pub(crate) fn sender_line(out: &mut Out, event: SenderEvent<'_>, group: SocketAddr) {
    match event {
        SenderEvent::Sending(m) => {
            out.line(format_args!("sending {}", PyBytes(m)));
            let to = json!({ "group": group.to_string() });
            out.event(jsonl::data("sending", m, to));
        }
        SenderEvent::Waiting => out.line("waiting to receive"),
        SenderEvent::Reply { from, payload, .. } => {
            out.line(format_args!(
                "received {} from {}",
                PyBytes(payload),
                PyAddr(from)
            ));
            let from = json!({ "peer": from.to_string() });
            out.event(jsonl::data("reply", payload, from));
        }
        SenderEvent::TimedOut => {
            out.line("timed out, no more responses");
            out.event(json!({ "event": "timed_out" }));
        }
        _ => {}
    }
}

fn receive(args: ReceiveArgs) -> Result<(), CliError> {
    jsonl::enable(args.json);
    let target = args.group.target()?;
    if args.count == Some(0) {
        return Err(CliError::new("--count 0", "expected at least 1"));
    }
    let runtime = Runtime::check(args.runtime, true)?;
    let watching = args.no_ack.then_some(Watch {
        hex: args.hex,
        count: args.count,
    });
    if watching.is_some() && args.runtime.is_some() {
        return Err(CliError::new(
            "--runtime",
            "the --no-ack watcher reads its one socket itself: leave --runtime out",
        ));
    }
    #[cfg(feature = "embassy")]
    if args.group.backend.backend == super::Backend::Embassy {
        if watching.is_some() {
            return Err(CliError::new(
                "--no-ack",
                "applies to --backend std and smoltcp (the embassy receiver acknowledges)",
            ));
        }
        if args.runtime.is_some() {
            return Err(CliError::new(
                "--runtime",
                "applies to --backend std (the embassy receiver runs beside the stack's runner)",
            ));
        }
        return super::embassy::dgram::multicast_receive(&args.group.backend, &target, args.count);
    }
    #[cfg(feature = "smoltcp")]
    if args.group.backend.backend == super::Backend::Smoltcp {
        if args.runtime.is_some() {
            return Err(CliError::new(
                "--runtime",
                "applies to --backend std (the smoltcp receiver runs its own loop)",
            ));
        }
        return smoltcp_receive(&args.group.backend, &target, args.count, watching);
    }
    let mut socket = receiver_socket(&target, target.port)?;
    let mut out = Out::stdout();
    let local = Datagram::local_addr(&socket).map_err(|e| CliError::new("--port", e))?;
    joined(&mut out, &target, local, watching.is_some());
    if let Some(w) = watching {
        watch(&mut socket, w, &mut out)?;
        return Ok(());
    }
    #[cfg(feature = "tokio")]
    if runtime == Runtime::Tokio {
        super::on_tokio::multicast_receive(socket, args.count, &mut out)?;
        return Ok(());
    }
    let _ = runtime; // mio: the blocking socket
    multicast_receive(&mut socket, args.count, &mut out)?;
    Ok(())
}

/// A receiver's first line: the chapter's receiver prints none, so only a port the system
/// chose is shown (`starting up on 0.0.0.0 port N`), or, when `watching`, `watching GROUP
/// port N (no acknowledgements)`; the `joined` event (`group`, `port`) either way.
fn joined(out: &mut Out, target: &Target, local: SocketAddr, watching: bool) {
    let group = target.request.group();
    if watching {
        out.line(format_args!(
            "watching {group} port {} (no acknowledgements)",
            local.port()
        ));
    } else if target.port == 0 {
        out.line(format_args!(
            "starting up on {} port {}",
            local.ip(),
            local.port()
        ));
    }
    out.event(json!({ "event": "joined", "group": group.to_string(), "port": local.port() }));
}

/// A socket bound to any address on `port` (`bind(('', 10000))`), shared with other receivers
/// on this host (`SO_REUSEADDR`), joined to the group on the chosen interface.
pub(crate) fn receiver_socket(target: &Target, port: u16) -> Result<UdpSocket, CliError> {
    let mut socket =
        UdpSocket::bind_reusable(target.any(port)).map_err(|e| CliError::new("--port", e))?;
    socket
        .join(&target.request)
        .map_err(|e| CliError::new("--iface", e))?;
    Ok(socket)
}

/// Acknowledges `count` datagrams (forever without) with b'ack'; prints the receiver's lines.
/// Returns how many were acknowledged.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn multicast_receive(
    socket: &mut UdpSocket,
    count: Option<usize>,
    out: &mut Out,
) -> Result<usize, CliError> {
    multicast_receive_on(socket, &SystemClock, count, out)
}

/// [`multicast_receive`] over any datagram transport and its clock (the smoltcp backend's).
///
/// # Errors
///
/// The socket failed.
pub(crate) fn multicast_receive_on<T, C>(
    socket: &mut T,
    clock: &C,
    count: Option<usize>,
    out: &mut Out,
) -> Result<usize, CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    let mut receiver = MulticastReceiver::new(vec![0u8; CHAPTER_RECEIVE_SIZE]);
    if let Some(n) = count {
        receiver = receiver.with_limit(n);
    }
    run_datagram(socket, &mut receiver, clock, &mut |r| {
        while let Some(event) = r.poll_event() {
            receiver_line(out, event);
        }
    })
    .map_err(|e| CliError::new("multicast receive", e))?;
    out.event(json!({ "event": "summary", "acknowledged": receiver.acknowledged() }));
    Ok(receiver.acknowledged())
}

/// The multicast receiver's lines for one event of its machine, as the chapter prints them.
pub(crate) fn receiver_line(out: &mut Out, event: ReceiverEvent<'_>) {
    match event {
        ReceiverEvent::Waiting => {
            out.line("");
            out.line("waiting to receive message");
        }
        ReceiverEvent::Received { from, data, len } => {
            // As `recvfrom(1024)` returns it: what the buffer got.
            let extra = json!({ "peer": from.to_string(), "datagram_len": len });
            out.event(jsonl::data("received", data, extra));
            let from = PyAddr(from);
            out.line(format_args!("received {} bytes from {from}", data.len()));
            if len > data.len() {
                out.note(truncated(len, data.len(), from));
            }
            out.line(PyBytes(data));
        }
        ReceiverEvent::Acknowledged { to } => {
            out.line(format_args!("sending acknowledgement to {}", PyAddr(to)));
            out.event(json!({ "event": "acknowledged", "peer": to.to_string() }));
        }
        _ => {}
    }
}

/// The group on the loopback, for the tour: the chapter's group, joined and sent to on
/// 127.0.0.1.
pub(crate) fn loopback_target(port: u16) -> Result<Target, CliError> {
    let request = membership(
        IpAddr::V4(CHAPTER_GROUP),
        Interface::Addr(Ipv4Addr::LOCALHOST),
    )
    .map_err(|e| CliError::new("group", e))?;
    Ok(Target { request, port })
}

/// A sender socket for `target`, for the tour.
pub(crate) fn loopback_sender(target: &Target) -> Result<UdpSocket, CliError> {
    sender_socket(target, CHAPTER_TTL)
}

/// Where `target`'s datagrams go, for the tour.
pub(crate) fn group_addr(target: &Target) -> SocketAddr {
    target.group_addr()
}
