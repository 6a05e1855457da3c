//! `--backend smoltcp`: the network commands on portsock-smoltcp's userspace stack over a TAP
//! device. The protocol code is the same as on the std backend (the core's machines, run by
//! the same functions of `echo`, `multicast` and `binary`); this file only builds the stack
//! from the command line and turns addresses into the stack's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use portsock_core::time::Duration;
use portsock_smoltcp::smoltcp::phy::TunTapInterface;
use portsock_smoltcp::smoltcp::wire::IpAddress;
use portsock_smoltcp::{
    Config, Family, Faults, Stack, StdPlatform, Wrapped, open_tap, parse_cidr, wrap,
};

use super::CliError;
use super::net::{BackendArg, HostPort};

/// The stack the CLI runs on: a TAP device behind a fault injector and a capture.
pub(crate) type SmolStack = Stack<'static, Wrapped<TunTapInterface>, StdPlatform>;

/// TCP sockets the stack gets: a listener's pool plus clients, or the `--concurrent` server's
/// sessions (a burst of 16 clients fits: sockets past these drop the SYN, the client retries).
const TCP_SOCKETS: usize = 16;
/// Each TCP socket's receive and transmit buffers, unless --tcp-buffer says otherwise.
const TCP_BUFFER: usize = 64 * 1024;
/// UDP sockets, datagrams queued per direction, and the largest datagram.
const UDP_SOCKETS: usize = 4;
const UDP_PACKETS: usize = 8;
const UDP_PAYLOAD: usize = 65_535;

/// Each UDP socket's queue per direction: how many datagrams, and their bytes together (the
/// largest datagram too).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UdpQueue {
    pub(crate) packets: usize,
    pub(crate) bytes: usize,
}

/// The queue of the commands that send and receive a datagram at a time.
const UDP_QUEUE: UdpQueue = UdpQueue {
    packets: UDP_PACKETS,
    bytes: UDP_PAYLOAD,
};
/// The backlog of a smoltcp listener: sockets listening at once.
pub(crate) const BACKLOG: u16 = 4;
/// How long a command waits at exit for its connections to finish closing.
pub(crate) const LINGER: Duration = Duration::from_secs(5);

/// Builds the stack `args` describe.
///
/// # Errors
///
/// A missing --tap or --ip, a malformed option, a TAP device that cannot be opened.
pub(crate) fn stack(args: &BackendArg) -> Result<SmolStack, CliError> {
    stack_with(args, UDP_QUEUE)
}

/// [`stack`] with UDP sockets of `udp` queues (the data mode's take a burst of datagrams).
///
/// # Errors
///
/// As [`stack`].
pub(crate) fn stack_with(args: &BackendArg, udp: UdpQueue) -> Result<SmolStack, CliError> {
    let tap = args.tap.as_deref().ok_or_else(|| {
        CliError::new(
            "--backend smoltcp",
            "needs --tap TAP (an existing TAP device) and --ip ADDR/PREFIX",
        )
    })?;
    if args.ip.is_empty() {
        return Err(CliError::new(
            "--backend smoltcp",
            "needs --ip ADDR/PREFIX, the interface's address (e.g. 192.168.69.1/24)",
        ));
    }
    let mac = match &args.mac {
        None => [0x02, 0, 0, 0, 0, 0x01],
        Some(text) => parse_mac(text)?,
    };
    let mut config = Config::new(mac);
    for ip in &args.ip {
        let cidr = parse_cidr(ip).map_err(|e| CliError::new(format_args!("--ip {ip:?}"), e))?;
        config = config
            .with_address(cidr)
            .map_err(|e| CliError::new(format_args!("--ip {ip:?}"), e))?;
    }
    for gw in &args.gateway {
        let ip: IpAddr = gw.parse().map_err(|_| {
            CliError::new(format_args!("--gateway {gw:?}"), "expected an IP address")
        })?;
        config = config.with_gateway(IpAddress::from(ip));
    }
    for dns in &args.dns {
        let ip: IpAddr = dns
            .parse()
            .map_err(|_| CliError::new(format_args!("--dns {dns:?}"), "expected an IP address"))?;
        config = config
            .with_dns_server(IpAddress::from(ip))
            .map_err(|e| CliError::new(format_args!("--dns {dns}"), e))?;
    }
    for (option, pct) in [
        ("--drop-chance", args.drop_chance),
        ("--corrupt-chance", args.corrupt_chance),
    ] {
        if let Some(p) = pct
            && p > 100
        {
            return Err(CliError::new(
                format_args!("{option} {p}"),
                "expected a percentage, 0 to 100",
            ));
        }
    }
    if args.rate_limit == Some(0) {
        return Err(CliError::new(
            "--rate-limit 0",
            "expected at least 1 frame per second",
        ));
    }
    let tcp_buffer = args.tcp_buffer.unwrap_or(TCP_BUFFER);
    if !(1024..=1 << 24).contains(&tcp_buffer) {
        return Err(CliError::new(
            format_args!("--tcp-buffer {tcp_buffer}"),
            "expected 1024 to 16777216 bytes",
        ));
    }
    let device = open_tap(tap).map_err(|e| CliError::new(format_args!("--tap {tap}"), e))?;
    let platform = StdPlatform::for_tap(&device);
    let faults = Faults {
        drop_pct: args.drop_chance.unwrap_or(0),
        corrupt_pct: args.corrupt_chance.unwrap_or(0),
        seed: std::process::id(),
        rate_limit: args.rate_limit,
    };
    let device =
        wrap(device, &faults, args.pcap.as_deref()).map_err(|e| CliError::new("--pcap", e))?;
    // A different seed per run, so TCP's initial sequence numbers differ between runs.
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let stack = Stack::new(&config.with_random_seed(seed), device, platform, vec![])
        .map_err(|e| CliError::new("--mac", e))?;
    let fail = |e| CliError::new("smoltcp", e);
    stack
        .add_tcp_sockets(TCP_SOCKETS, tcp_buffer, tcp_buffer)
        .map_err(fail)?;
    stack
        .add_udp_sockets(UDP_SOCKETS, udp.packets, udp.bytes)
        .map_err(fail)?;
    stack.add_dns(2).map_err(fail)?;
    Ok(stack)
}

/// `02:00:00:00:00:01`, `-` also accepted as a separator.
fn parse_mac(text: &str) -> Result<[u8; 6], CliError> {
    super::parse::mac(text)
        .ok_or_else(|| CliError::new(format_args!("--mac {text:?}"), super::parse::MAC_EXPECTED))
}

/// Where a server binds on the stack: an address of the interface, or any address for an
/// empty host and for `localhost` (the stack has no loopback; the TAP is its only link).
pub(crate) fn bind_addr(
    stack: &SmolStack,
    hp: &HostPort,
    option: &str,
) -> Result<SocketAddr, CliError> {
    if hp.host.is_empty() || hp.host == "localhost" {
        let v6_only = stack
            .addresses()
            .iter()
            .all(|c| matches!(c.address(), IpAddress::Ipv6(_)));
        let any = if v6_only {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        return Ok(SocketAddr::new(any, hp.port));
    }
    peer_addr(stack, hp, option)
}

/// Where a client connects: an IP literal, or a name resolved by the stack's DNS (--dns).
pub(crate) fn peer_addr(
    stack: &SmolStack,
    hp: &HostPort,
    option: &str,
) -> Result<SocketAddr, CliError> {
    if hp.host == "localhost" {
        return Err(CliError::new(
            format_args!("{option} localhost"),
            "the smoltcp stack has no loopback: give the peer's address on the TAP's network (e.g. 192.168.69.100:10000)",
        ));
    }
    let found = stack
        .resolve(&hp.host, Family::Any, Duration::from_secs(5))
        .map_err(|e| {
            CliError::new(
                format_args!("{option} {:?}", hp.host),
                format_args!("{e} (the smoltcp backend resolves names with --dns SERVER)"),
            )
        })?;
    let ip = found[0];
    Ok(SocketAddr::new(ip, hp.port))
}

/// Waits for the connections this command dropped to finish closing: nothing is sent once
/// the process exits.
pub(crate) fn linger(stack: &SmolStack) {
    stack.finish(LINGER);
}

/// `echo server --backend smoltcp --concurrent`: every client at once on one thread, as a
/// firmware main loop serves them: the listener's pool accepts, and the core's
/// [`Sessions`](portsock_core::drive::sessions::Sessions) gives each connection an
/// `EchoSession` and steps every one in turn (up to its budget per turn, so one busy client
/// cannot starve the others), then the stack waits for the next frame or timer. The lines are
/// every server's ([`super::lines`]), through a [`Printer`](super::printer::Printer) so a
/// stdout nobody reads never stalls the loop. With `idle_timeout`, a connection on which
/// nothing was read or written that long is closed (gracefully, FIN: `idle timeout: closed
/// ADDR`), so silent clients cannot hold every session. It stops after `count` connections
/// have closed (timed-out ones too), or on SIGINT / SIGTERM (closing every connection).
pub(crate) fn serve_concurrent(
    stack: &SmolStack,
    addr: SocketAddr,
    first_line: super::lines::StartingUp,
    chunk: usize,
    count: Option<usize>,
    idle_timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use portsock_core::drive::sessions::{Event, Sessions, Slot};
    use portsock_core::echo::stream::EchoSession;
    use portsock_core::transport::Blocking;
    use portsock_smoltcp::TcpListener;

    use super::lines;
    use super::net::PyAddr;

    /// Sessions at once: the sockets the stack has, less one that always listens.
    const MAX_SESSIONS: usize = TCP_SOCKETS - 1;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| CliError::new("signals", e))?;
    }
    // Every socket not serving a session listens, and may hold a connection not accepted yet.
    let backlog = MAX_SESSIONS as u16;
    let mut listener =
        TcpListener::bind(stack, addr, backlog).map_err(|e| CliError::new("--addr", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| CliError::new("--addr", e))?;
    let mut first = super::net::Out::stdout();
    first_line.print(&mut first, true);
    first.line(format_args!(
        "waiting for connections (up to {MAX_SESSIONS} at once)"
    ));
    let mut out = super::printer::Printer::stdout().map_err(|e| CliError::new("stdout", e))?;
    let mut slots: Vec<Slot<TcpListener<'_, '_, _, _>, EchoSession<Vec<u8>>>> =
        std::iter::repeat_with(|| None).take(MAX_SESSIONS).collect();
    let mut sessions = Sessions::new(&mut slots);
    if let Some(timeout) = idle_timeout {
        sessions = sessions.with_idle_timeout(timeout.into(), stack);
    }
    let mut make = |_: &SocketAddr| EchoSession::new(vec![0u8; chunk]).with_chunk(chunk);
    let mut closed = 0usize;
    let mut accept_error = None;
    while !stop.load(Ordering::Relaxed) && count.is_none_or(|n| closed < n) {
        let turn = sessions.poll(&mut listener, &mut make, &mut |event| match event {
            Event::Accepted { peer, .. } => lines::connection_from(&mut out, &PyAddr(*peer)),
            Event::Stepped { peer, machine, .. } => {
                while let Some(event) = machine.poll_event() {
                    lines::echo_event(&mut out, &PyAddr(*peer), event);
                }
            }
            Event::Finished { .. } => closed += 1,
            Event::Failed { peer, error, .. } => {
                lines::error_from(&mut out, &PyAddr(*peer), &error);
                closed += 1;
            }
            Event::IdleTimeout { peer, .. } => {
                lines::idle_closed(&mut out, &PyAddr(*peer));
                closed += 1;
            }
            Event::AcceptFailed { error } => accept_error = Some(error),
            _ => {}
        });
        if let Some(e) = accept_error.take() {
            return Err(CliError::new("accept", e));
        }
        // A session cut short by its budget has more to read at once: move frames and go on
        // rather than sleep; else sleep no later than the first session would go idle.
        out.flush();
        if turn.more {
            stack.poll();
        } else {
            stack.wait(turn.deadline);
        }
    }
    sessions.close_all(&mut |_| {});
    let dropped = out.finish(super::concurrent::STDOUT_PATIENCE);
    if dropped > 0 {
        eprintln!("portsock: {dropped} lines of output dropped: stdout did not take them");
    }
    linger(stack);
    Ok(())
}
