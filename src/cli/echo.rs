//! `portsock echo server|client`: the chapter's echo programs over TCP
//! (`socket_echo_server.py`, `socket_echo_client.py`), UDP (`..._dgram.py`) and Unix stream
//! sockets (`..._uds.py`), printing the chapter's lines.
//!
//! The protocol is the core's: [`EchoSession`] / [`EchoClient`] and [`DatagramEchoServer`] /
//! [`DatagramEchoClient`], run by [`portsock_core::drive`] over portsock-std's sockets. This
//! file only sets the sockets up and turns the machines' events into lines.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use portsock_core::drive::{run_datagram, run_stream};
use portsock_core::echo::datagram::{
    ClientEvent as DgramClientEvent, DEFAULT_TIMEOUT, DatagramEchoClient, DatagramEchoServer,
    ServerEvent,
};
use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoSession};
use portsock_core::echo::{CHAPTER_CHUNK, CHAPTER_DATAGRAM_SIZE, CHAPTER_MESSAGE};
use portsock_core::time::Duration;
use portsock_core::wire::repr::PyBytes;
use portsock_server::ServerConfig;
use portsock_std::prelude::*;
use portsock_std::tcp::{TcpListener, TcpStream};
use portsock_std::udp::UdpSocket;
use portsock_std::unix::{UnixBindOptions, UnixListener, UnixStream};
use serde_json::json;

use super::concurrent::{self, Listen, Runtime};
use super::lines::{self, ShowPeer as _};
use super::net::{
    BackendArg, DEFAULT_ADDR, HostPort, Out, PyAddr, PyShow, Thousands, UDS_PATH, seconds,
};
use super::{CliError, Output, jsonl, udp_load};

/// `--read-timeout`'s default: long enough for a person typing into `nc`, short enough that a
/// client that went silent does not hold the one-at-a-time server for long.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Subcommand)]
pub(crate) enum EchoCmd {
    /// Echo what clients send, reading --chunk bytes at a time (socket_echo_server*.py).
    Server(ServerArgs),
    /// Send a message, print and verify the echo (socket_echo_client*.py).
    Client(ClientArgs),
}

/// The transport: TCP, UDP or a Unix stream socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Proto {
    /// TCP (SOCK_STREAM over IP).
    Tcp,
    /// UDP (SOCK_DGRAM over IP).
    Udp,
    /// A Unix-domain stream socket at --path.
    Unix,
}

#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The transport.
    #[arg(long, value_enum, default_value_t = Proto::Tcp)]
    proto: Proto,
    /// Where to listen (tcp, udp): HOST:PORT; an empty host (:10000) is any address, port 0
    /// lets the system choose (the `starting up` line shows it) [default: localhost:10000].
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// Where to listen (unix); a stale socket file there is replaced, anything else is not.
    /// The node is removed at exit if it is still this server's [default: ./uds_socket].
    #[arg(long, value_name = "PATH")]
    path: Option<PathBuf>,
    /// Bytes per read: 16 for streams (`recv(16)`), the receive buffer for udp (4096)
    /// [default: 16; udp: 4096].
    #[arg(long, value_name = "N")]
    chunk: Option<usize>,
    /// Exit after N connections (udp: datagrams) instead of serving forever; a client that
    /// failed counts too [default: forever].
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// Seconds a read may wait for a client (or an echo's write for a client that does not
    /// read) before it is dropped and the next one is served (tcp, unix, one client at a
    /// time) [default: 60].
    #[arg(long, value_name = "S")]
    read_timeout: Option<String>,
    /// File mode of the Unix socket node, in octal (e.g. 600: only this user may connect).
    #[arg(long, value_name = "OCTAL")]
    mode: Option<String>,
    /// Serve every client at once (tcp, unix) on the event-driven server; stops on Ctrl-C or
    /// SIGTERM, or after --count connections.
    #[arg(long)]
    concurrent: bool,
    /// With --concurrent: print only the first lines, errors and a summary at exit
    /// (connections, bytes, duration, MB/s) instead of the chapter's lines; reads whole
    /// 64 KiB buffers unless --chunk says otherwise.
    #[arg(long)]
    quiet: bool,
    /// With --concurrent (either backend): close a connection on which nothing was read or
    /// written for this many seconds.
    #[arg(long, value_name = "SECONDS")]
    idle_timeout: Option<String>,
    /// With --concurrent: what serves the clients: mio (portsock-server's own event loop, one
    /// thread) or tokio (a task per connection on tokio's multi-threaded runtime); with
    /// --proto udp: the blocking socket (mio) or a tokio one; the same sessions and lines
    /// either way [default: mio].
    #[arg(long, value_enum)]
    runtime: Option<Runtime>,
    /// JSON lines on stdout instead of the chapter's text: one object per event
    /// (`listening`, `connection`, `received`, `sent`, `peer_closed`, `error`), and a
    /// `summary` with --quiet or at the end of a --count.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    backend: BackendArg,
}

#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    /// The transport.
    #[arg(long, value_enum, default_value_t = Proto::Tcp)]
    proto: Proto,
    /// The server (tcp, udp): HOST:PORT [default: localhost:10000].
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// The server (unix) [default: ./uds_socket].
    #[arg(long, value_name = "PATH")]
    path: Option<PathBuf>,
    /// Bytes per read of the echo (`recv(16)`; udp: the receive buffer, 4096) [default: 16;
    /// udp: 4096].
    #[arg(long, value_name = "N")]
    chunk: Option<usize>,
    /// The message (UTF-8 text) [default: the chapter's `This is the message.  It will be
    /// repeated.`].
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    message: Option<String>,
    /// Seconds to wait for the server: to connect and per read (tcp, unix; default forever),
    /// for the echo (udp; default 1).
    #[arg(long, value_name = "S")]
    timeout: Option<String>,
    /// JSON lines on stdout instead of the chapter's text: one object per event
    /// (`connecting`, `sending`, `received`), then a `summary` (bytes each way, verified,
    /// seconds).
    #[arg(long)]
    json: bool,
    /// UDP load: send N datagrams (of --size bytes, at --rate per second) instead of the
    /// message, and report sent, received, lost, reordered and the round trips' p50/p99
    /// (--timeout: the wait for echoes after the last send, default 1 s).
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// With --count: bytes per datagram, at least 16 [default: 64].
    #[arg(long, value_name = "B")]
    size: Option<usize>,
    /// With --count: datagrams per second [default: 1000].
    #[arg(long, value_name = "PPS")]
    rate: Option<u64>,
    #[command(flatten)]
    backend: BackendArg,
}

impl EchoCmd {
    pub(crate) fn run(self) -> Output {
        match self {
            Self::Server(args) => server(args)?,
            Self::Client(args) => client(args)?,
        }
        Ok(String::new())
    }
}

fn server(args: ServerArgs) -> Result<(), CliError> {
    jsonl::enable(args.json);
    let on_embassy = args.backend.on_embassy()?;
    let on_smoltcp = !on_embassy && args.backend.check()?;
    let on_stack = on_smoltcp || on_embassy;
    let endpoint = Endpoint::new(args.proto, args.addr, args.path)?;
    let mut chunk = chunk_arg(args.chunk, args.proto)?;
    let read_timeout = match args.read_timeout.as_deref() {
        Some(_) if args.concurrent || args.proto == Proto::Udp => {
            return Err(CliError::new(
                "--read-timeout",
                "applies to the one-at-a-time stream server (tcp, unix without --concurrent)",
            ));
        }
        Some(text) => seconds("--read-timeout", text)?,
        None => READ_TIMEOUT,
    };
    let idle_timeout = concurrent::Options::idle_timeout(args.idle_timeout.as_deref())?;
    if args.quiet && (!args.concurrent || on_stack) {
        return Err(CliError::new(
            "--quiet",
            "applies to --concurrent on --backend std only",
        ));
    }
    if idle_timeout.is_some() && !args.concurrent {
        return Err(CliError::new("--idle-timeout", "applies to --concurrent"));
    }
    // The UDP server has a runtime to choose as well: its one socket, awaited.
    let runtime = Runtime::check(args.runtime, args.concurrent || args.proto == Proto::Udp)?;
    if args.runtime.is_some() && on_stack {
        return Err(CliError::new(
            "--runtime",
            "applies to --backend std (the smoltcp and embassy servers run their own loops)",
        ));
    }
    if args.quiet && args.chunk.is_none() {
        chunk = ServerConfig::DEFAULT_BUFFER_SIZE; // no transcript: read whole buffers
    }
    let serving = Serving {
        chunk,
        count: args.count,
        read_timeout: Some(read_timeout.into()),
    };
    if on_embassy {
        #[cfg(feature = "embassy")]
        return embassy_server(
            &args.backend,
            args.proto,
            endpoint,
            serving,
            args.concurrent,
            idle_timeout,
        );
    }
    if on_smoltcp {
        #[cfg(feature = "smoltcp")]
        return smoltcp_server(
            &args.backend,
            args.proto,
            endpoint,
            serving,
            args.concurrent,
            idle_timeout,
        );
    }
    let mode = args.mode.as_deref().map(parse_mode).transpose()?;
    if mode.is_some() && args.proto != Proto::Unix {
        return Err(CliError::new("--mode", "applies to --proto unix only"));
    }
    if args.count == Some(0) {
        return Err(CliError::new("--count 0", "expected at least 1"));
    }
    if args.concurrent {
        let options = concurrent::Options {
            runtime,
            count: args.count,
            quiet: args.quiet,
            idle_timeout,
        };
        return match &endpoint {
            Endpoint::Ip(_) if args.proto == Proto::Udp => Err(CliError::new(
                "--concurrent",
                "serves stream sockets: --proto tcp or unix",
            )),
            Endpoint::Ip(hp) => {
                let addr = hp.resolve("--addr")?;
                concurrent::serve(Listen::Tcp(hp, addr), chunk, options)
            }
            Endpoint::Unix(path) => concurrent::serve(Listen::Unix(path, mode), chunk, options),
        };
    }
    let mut out = Out::stdout();
    match endpoint {
        Endpoint::Ip(hp) => {
            let addr = hp.resolve("--addr")?;
            if args.proto == Proto::Udp {
                let mut socket = UdpSocket::bind(addr).map_err(|e| CliError::new("--addr", e))?;
                let local =
                    Datagram::local_addr(&socket).map_err(|e| CliError::new("--addr", e))?;
                listening(&hp, local).print(&mut out, true);
                #[cfg(feature = "tokio")]
                if runtime == Runtime::Tokio {
                    super::on_tokio::serve_datagram(socket, chunk, args.count, &mut out)?;
                    return Ok(());
                }
                serve_datagram(&mut socket, chunk, args.count, &mut out)?;
            } else {
                let mut listener =
                    TcpListener::bind(addr).map_err(|e| CliError::new("--addr", e))?;
                let local = listener
                    .local_addr()
                    .map_err(|e| CliError::new("--addr", e))?;
                listening(&hp, local).print(&mut out, true);
                serve_stream(&mut listener, serving, &mut out)?;
            }
        }
        Endpoint::Unix(path) => {
            let mut options = UnixBindOptions::new();
            if let Some(mode) = mode {
                options = options.mode(mode);
            }
            let mut listener =
                UnixListener::bind_with(&path, options).map_err(|e| CliError::new("--path", e))?;
            lines::StartingUp::unix(&path).print(&mut out, true);
            let served = serve_stream(&mut listener, serving, &mut out);
            // Our node only: another server that took the path over keeps its own. Best
            // effort: a leftover node is removed as stale by the next bind.
            let _ = listener.remove_node();
            served?;
        }
    }
    Ok(())
}

fn client(args: ClientArgs) -> Result<(), CliError> {
    jsonl::enable(args.json);
    let on_embassy = args.backend.on_embassy()?;
    let on_smoltcp = !on_embassy && args.backend.check()?;
    let endpoint = Endpoint::new(args.proto, args.addr, args.path)?;
    let chunk = chunk_arg(args.chunk, args.proto)?;
    let has_message = args.message.is_some();
    let message = args
        .message
        .map_or_else(|| CHAPTER_MESSAGE.to_vec(), String::into_bytes);
    let timeout = args
        .timeout
        .as_deref()
        .map(|t| seconds("--timeout", t))
        .transpose()?;
    let load = udp_load::LoadArgs {
        count: args.count,
        size: args.size,
        rate: args.rate,
        chunk: args.chunk.is_some(),
    };
    if let Some(load) = load.load(args.proto == Proto::Udp, has_message, timeout)? {
        return match endpoint {
            Endpoint::Ip(hp) => udp_load::client(&args.backend, &hp, load),
            Endpoint::Unix(_) => Err(CliError::new("--count", "applies to --proto udp")),
        };
    }
    if on_embassy {
        #[cfg(feature = "embassy")]
        return embassy_client(
            &args.backend,
            args.proto,
            endpoint,
            chunk,
            &message,
            timeout,
        );
    }
    if on_smoltcp {
        #[cfg(feature = "smoltcp")]
        return smoltcp_client(
            &args.backend,
            args.proto,
            endpoint,
            chunk,
            &message,
            timeout,
        );
    }
    let mut out = Out::stdout();
    match endpoint {
        Endpoint::Ip(hp) => {
            let server = hp.resolve("--addr")?;
            if args.proto == Proto::Udp {
                let limit = UdpSocket::max_payload(&server);
                if message.len() > limit {
                    return Err(CliError::new(
                        "--message",
                        format_args!(
                            "a datagram of {} bytes to {server} is too large: UDP over {} carries at most {} bytes",
                            Thousands(message.len() as u64),
                            if server.is_ipv4() { "IPv4" } else { "IPv6" },
                            Thousands(limit as u64)
                        ),
                    ));
                }
                let mut socket = UdpSocket::bind(client_bind_addr(server))
                    .map_err(|e| CliError::new("udp", e))?;
                let wait = timeout.map_or(DEFAULT_TIMEOUT, Duration::from);
                datagram_client(&mut socket, server, &message, chunk, wait, &mut out)?;
            } else {
                let mut stream = TcpStream::connect(server, timeout).map_err(|e| {
                    connecting(&mut out, &hp, server);
                    CliError::new("--addr", e)
                })?;
                let timeout = timeout.map(Duration::from);
                tcp_client(&mut stream, &hp, server, timeout, &message, chunk, &mut out)?;
            }
        }
        Endpoint::Unix(path) => {
            let mut stream = UnixStream::connect(&path).map_err(|e| {
                // As the chapter: where it tried, then why it could not (a path too long to
                // try is bad input, with nothing on stdout).
                if e.kind() != io::ErrorKind::InvalidInput {
                    out.line(format_args!("connecting to {}", path.display()));
                }
                CliError::new("--path", e)
            })?;
            stream
                .set_read_timeout(timeout)
                .map_err(|e| CliError::new("--timeout", e))?;
            out.line(format_args!("connecting to {}", path.display()));
            out.event(json!({ "event": "connecting", "addr": path.display().to_string() }));
            let peer = path.display().to_string();
            stream_client(&mut stream, &message, chunk, &peer, &mut out)?;
        }
    }
    Ok(())
}

/// `echo server --backend smoltcp`: the same sessions on the userspace stack. The listener
/// keeps a pool of sockets listening, so further clients can connect while one is served.
#[cfg(feature = "smoltcp")]
fn smoltcp_server(
    backend: &BackendArg,
    proto: Proto,
    endpoint: Endpoint,
    serving: Serving,
    concurrent: bool,
    idle_timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    use portsock_smoltcp::{TcpListener as SmolListener, UdpSocket as SmolUdp};
    let Serving { chunk, count, .. } = serving;
    let Endpoint::Ip(hp) = endpoint else {
        return Err(CliError::new(
            "--proto unix",
            "Unix sockets are the OS's: use --backend std",
        ));
    };
    if concurrent && proto == Proto::Udp {
        return Err(CliError::new("--concurrent", "serves TCP: --proto tcp"));
    }
    let stack = super::smol::stack(backend)?;
    let addr = super::smol::bind_addr(&stack, &hp, "--addr")?;
    if concurrent {
        let first_line = listening(&hp, addr);
        return super::smol::serve_concurrent(&stack, addr, first_line, chunk, count, idle_timeout);
    }
    let mut out = Out::stdout();
    if proto == Proto::Udp {
        let mut socket = SmolUdp::bind(&stack, addr).map_err(|e| CliError::new("--addr", e))?;
        listening(&hp, addr).print(&mut out, true);
        serve_datagram_on(&mut socket, &stack, chunk, count, &mut out)?;
    } else {
        let mut listener = SmolListener::bind(&stack, addr, super::smol::BACKLOG)
            .map_err(|e| CliError::new("--addr", e))?;
        listening(&hp, addr).print(&mut out, true);
        serve_stream(&mut listener, serving, &mut out)?;
    }
    super::smol::linger(&stack);
    Ok(())
}

/// `echo client --backend smoltcp`.
#[cfg(feature = "smoltcp")]
fn smoltcp_client(
    backend: &BackendArg,
    proto: Proto,
    endpoint: Endpoint,
    chunk: usize,
    message: &[u8],
    timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    use portsock_smoltcp::{TcpStream as SmolStream, UdpSocket as SmolUdp};
    let Endpoint::Ip(hp) = endpoint else {
        return Err(CliError::new(
            "--proto unix",
            "Unix sockets are the OS's: use --backend std",
        ));
    };
    let stack = super::smol::stack(backend)?;
    let server = super::smol::peer_addr(&stack, &hp, "--addr")?;
    let mut out = Out::stdout();
    if proto == Proto::Udp {
        let mut socket =
            SmolUdp::bind(&stack, client_bind_addr(server)).map_err(|e| CliError::new("udp", e))?;
        let wait = timeout.map_or(DEFAULT_TIMEOUT, Duration::from);
        datagram_client_on(&mut socket, &stack, server, message, chunk, wait, &mut out)?;
    } else {
        let timeout = timeout.map(Duration::from);
        let mut stream =
            SmolStream::connect(&stack, server, timeout.or(Some(Duration::from_secs(30))))
                .map_err(|e| {
                    connecting(&mut out, &hp, server);
                    CliError::new(format_args!("--addr {server}"), e)
                })?;
        tcp_client(&mut stream, &hp, server, timeout, message, chunk, &mut out)?;
    }
    super::smol::linger(&stack);
    Ok(())
}

/// `echo server --backend embassy`: the same sessions on portsock-embassy's sockets.
#[cfg(feature = "embassy")]
fn embassy_server(
    backend: &BackendArg,
    proto: Proto,
    endpoint: Endpoint,
    serving: Serving,
    concurrent: bool,
    idle_timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    let hp = embassy_endpoint(proto, endpoint)?;
    if proto == Proto::Udp {
        if concurrent {
            return Err(CliError::new("--concurrent", "serves TCP: --proto tcp"));
        }
        return super::embassy::dgram::serve(backend, &hp, serving.chunk, serving.count);
    }
    super::embassy::stream::echo_server(backend, &hp, serving, concurrent, idle_timeout)
}

/// `echo client --backend embassy`.
#[cfg(feature = "embassy")]
fn embassy_client(
    backend: &BackendArg,
    proto: Proto,
    endpoint: Endpoint,
    chunk: usize,
    message: &[u8],
    timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    let hp = embassy_endpoint(proto, endpoint)?;
    if proto == Proto::Udp {
        let wait = timeout.map_or(DEFAULT_TIMEOUT, Duration::from);
        return super::embassy::dgram::client(backend, &hp, message, chunk, wait);
    }
    super::embassy::stream::echo_client(backend, &hp, chunk, message, timeout)
}

/// The address of a TCP or UDP command on the embassy backend.
#[cfg(feature = "embassy")]
fn embassy_endpoint(proto: Proto, endpoint: Endpoint) -> Result<HostPort, CliError> {
    match (proto, endpoint) {
        (_, Endpoint::Unix(_)) => Err(CliError::new(
            "--proto unix",
            "Unix sockets are the OS's: use --backend std",
        )),
        (_, Endpoint::Ip(hp)) => Ok(hp),
    }
}

/// How the one-at-a-time stream server serves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Serving {
    /// Bytes per read (`recv(16)`).
    pub(crate) chunk: usize,
    /// Clients to serve, served or failed, before returning (forever without).
    pub(crate) count: Option<usize>,
    /// How long a read, or a write of the echo, may wait before the client is dropped
    /// (forever without).
    pub(crate) read_timeout: Option<Duration>,
}

/// Serves stream connections one at a time, as the chapter's server does, until
/// `serving.count` clients were served (forever without). A client that fails (a reset, a
/// read or write that timed out) gets one line on stderr ([`Out::note`]) and the server goes on to the
/// next: the chapter's server would stop on the exception. Returns the bytes echoed.
///
/// # Errors
///
/// `accept` failed.
pub(crate) fn serve_stream<L>(
    listener: &mut L,
    serving: Serving,
    out: &mut Out,
) -> Result<u64, CliError>
where
    L: Listener<Error: fmt::Display>,
    L::Stream: Stream<Error: fmt::Display> + Blocking,
    L::Addr: PyShow,
{
    let Serving {
        chunk,
        count,
        read_timeout,
    } = serving;
    let mut echoed = 0;
    let mut served = 0;
    while count.is_none_or(|n| served < n) {
        out.line("waiting for a connection");
        let (mut connection, client) = listener.accept().map_err(|e| CliError::new("accept", e))?;
        served += 1;
        let client = lines::Named::of(&client);
        lines::connection_from(out, &client);
        let mut session = EchoSession::new(vec![0u8; chunk]).with_chunk(chunk);
        let done = connection
            .set_read_timeout(read_timeout)
            .and_then(|()| connection.set_write_timeout(read_timeout))
            .map_err(|e| e.to_string())
            .and_then(|()| {
                run_stream(&mut connection, &mut session, &mut |s| {
                    while let Some(event) = s.poll_event() {
                        lines::echo_event(out, &client, event);
                    }
                })
                .map_err(|e| e.to_string())
            });
        if let Err(e) = done {
            out.note(format_args!("connection from {client}: {e}"));
            out.event(json!({ "event": "error", "peer": client.plain(), "error": e }));
        }
        echoed += session.sent();
    }
    out.event(json!({ "event": "summary", "connections": served, "bytes_echoed": echoed }));
    Ok(echoed)
}

/// The chapter's TCP client on a connected `stream`, on either backend: the read timeout,
/// `connecting to HOST port N`, then [`stream_client`].
///
/// # Errors
///
/// As [`stream_client`]; a timeout the socket refuses.
fn tcp_client<S>(
    stream: &mut S,
    hp: &HostPort,
    server: SocketAddr,
    timeout: Option<Duration>,
    message: &[u8],
    chunk: usize,
    out: &mut Out,
) -> Result<(), CliError>
where
    S: Stream<Error: fmt::Display> + Blocking,
{
    stream
        .set_read_timeout(timeout)
        .map_err(|e| CliError::new("--timeout", e))?;
    connecting(out, hp, server);
    let peer = PyAddr(server).to_string();
    stream_client(stream, message, chunk, &peer, out)
}

/// The chapter's `connecting to HOST port N`: before the echo, or before the error when the
/// connection is refused (as the chapter's client prints it before `connect` raises).
pub(crate) fn connecting(out: &mut Out, hp: &HostPort, server: SocketAddr) {
    out.line(format_args!(
        "connecting to {} port {}",
        hp.host_text(),
        hp.port
    ));
    out.event(json!({ "event": "connecting", "addr": server.to_string() }));
}

/// Sends `message` over a connected `stream` and reads the echo `chunk` bytes at a time,
/// verifying every byte; prints the client's lines from `sending` to `closing socket`.
///
/// # Errors
///
/// The transport failed, an echoed byte differed, or the server closed early; `peer` names it.
pub(crate) fn stream_client<S>(
    stream: &mut S,
    message: &[u8],
    chunk: usize,
    peer: &str,
    out: &mut Out,
) -> Result<(), CliError>
where
    S: Stream<Error: fmt::Display>,
{
    let started = std::time::Instant::now();
    let mut client = EchoClient::new(message, vec![0u8; chunk]).with_chunk(chunk);
    run_stream(stream, &mut client, &mut |c| {
        while let Some(event) = c.poll_event() {
            client_line(out, event);
        }
    })
    .map_err(|e| CliError::new(format_args!("echo from {peer}"), e))?;
    out.line("closing socket");
    client_summary(out, message.len(), started);
    Ok(())
}

/// The stream echo client's line for one event of its machine, as the chapter prints it.
pub(crate) fn client_line(out: &mut Out, event: ClientEvent<'_>) {
    match event {
        ClientEvent::Sending(m) => {
            out.line(format_args!("sending {}", PyBytes(m)));
            out.event(jsonl::data("sending", m, json!({})));
        }
        ClientEvent::Received(d) => {
            out.line(format_args!("received {}", PyBytes(d)));
            out.event(jsonl::data("received", d, json!({})));
        }
        _ => {}
    }
}

/// An echo client's last JSON object: the whole message went out and came back verified.
pub(crate) fn client_summary(out: &mut Out, len: usize, started: std::time::Instant) {
    out.event(json!({
        "event": "summary",
        "bytes_sent": len,
        "bytes_received": len,
        "verified": true,
        "seconds": started.elapsed().as_secs_f64(),
    }));
}

/// Echoes datagrams received into a `size`-byte buffer, `count` of them (forever without).
/// Returns how many were echoed.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn serve_datagram(
    socket: &mut UdpSocket,
    size: usize,
    count: Option<usize>,
    out: &mut Out,
) -> Result<usize, CliError> {
    serve_datagram_on(socket, &SystemClock, size, count, out)
}

/// [`serve_datagram`] over any datagram transport and its clock (the smoltcp backend's).
///
/// # Errors
///
/// The socket failed.
pub(crate) fn serve_datagram_on<T, C>(
    socket: &mut T,
    clock: &C,
    size: usize,
    count: Option<usize>,
    out: &mut Out,
) -> Result<usize, CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    let mut server = DatagramEchoServer::new(vec![0u8; size]);
    if let Some(n) = count {
        server = server.with_limit(n);
    }
    run_datagram(socket, &mut server, clock, &mut |s| {
        while let Some(event) = s.poll_event() {
            datagram_server_line(out, event);
        }
    })
    .map_err(|e| CliError::new("udp", e))?;
    out.event(json!({ "event": "summary", "datagrams": server.served() }));
    Ok(server.served())
}

/// The UDP echo server's lines for one event of its machine, as the chapter prints them.
pub(crate) fn datagram_server_line(out: &mut Out, event: ServerEvent<'_, SocketAddr>) {
    match event {
        ServerEvent::Waiting => {
            out.line("");
            out.line("waiting to receive message");
        }
        ServerEvent::Received { from, data, len } => {
            // As `recvfrom(4096)` returns it: what the buffer got.
            out.event(jsonl::data(
                "received",
                data,
                json!({ "peer": from.to_string(), "datagram_len": len }),
            ));
            let from = PyAddr(*from);
            out.line(format_args!("received {} bytes from {from}", data.len()));
            if len > data.len() {
                out.note(truncated(len, data.len(), from));
            }
            out.line(PyBytes(data));
        }
        ServerEvent::Sent { to, len } => {
            out.line(format_args!("sent {len} bytes back to {}", PyAddr(*to)));
            out.event(json!({ "event": "sent", "peer": to.to_string(), "len": len }));
        }
        _ => {}
    }
}

/// The note for a datagram of `len` bytes from `from` cut to the `kept` bytes of the buffer.
pub(crate) fn truncated(len: usize, kept: usize, from: PyAddr) -> String {
    format!(
        "truncated: the datagram from {from} had {len} bytes; the {kept}-byte receive buffer kept {kept}"
    )
}

/// Sends `message` to `server` and waits up to `timeout` for the echo, verifying it.
///
/// # Errors
///
/// The socket failed, the echo differed, or none came.
pub(crate) fn datagram_client(
    socket: &mut UdpSocket,
    server: SocketAddr,
    message: &[u8],
    size: usize,
    timeout: Duration,
    out: &mut Out,
) -> Result<(), CliError> {
    datagram_client_on(socket, &SystemClock, server, message, size, timeout, out)
}

/// [`datagram_client`] over any datagram transport and its clock (the smoltcp backend's).
///
/// # Errors
///
/// The socket failed, the echo differed, or none came.
pub(crate) fn datagram_client_on<T, C>(
    socket: &mut T,
    clock: &C,
    server: SocketAddr,
    message: &[u8],
    size: usize,
    timeout: Duration,
    out: &mut Out,
) -> Result<(), CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    let started = std::time::Instant::now();
    let mut client =
        DatagramEchoClient::new(message, server, vec![0u8; size]).with_timeout(timeout);
    run_datagram(socket, &mut client, clock, &mut |c| {
        while let Some(event) = c.poll_event() {
            datagram_client_line(out, event);
        }
    })
    .map_err(|e| CliError::new(format_args!("echo from {}", PyAddr(server)), e))?;
    out.line("closing socket");
    client_summary(out, message.len(), started);
    Ok(())
}

/// The UDP echo client's line for one event of its machine, as the chapter prints it.
pub(crate) fn datagram_client_line(out: &mut Out, event: DgramClientEvent<'_, SocketAddr>) {
    match event {
        DgramClientEvent::Sending(m) => {
            out.line(format_args!("sending {}", PyBytes(m)));
            out.event(jsonl::data("sending", m, json!({})));
        }
        DgramClientEvent::Waiting => out.line("waiting to receive"),
        DgramClientEvent::Received(d) => {
            out.line(format_args!("received {}", PyBytes(d)));
            out.event(jsonl::data("received", d, json!({})));
        }
        _ => {}
    }
}

/// The chapter's first server line: the host as given (the bound address for `''`), and the
/// port actually bound.
pub(crate) fn starting_up(hp: &HostPort, local: SocketAddr) -> String {
    listening(hp, local).text
}

/// [`starting_up`]'s line with the address bound, for the `listening` event too.
pub(crate) fn listening(hp: &HostPort, local: SocketAddr) -> lines::StartingUp {
    let host = if hp.host.is_empty() {
        local.ip().to_string()
    } else {
        hp.host.clone()
    };
    lines::StartingUp {
        text: format!("starting up on {host} port {}", local.port()),
        addr: local.to_string(),
    }
}

/// Where a client's datagram socket binds to reach `server`: the loopback for a loopback
/// server, else any address (what an unbound Python socket gets on its first `sendto`).
pub(crate) fn client_bind_addr(server: SocketAddr) -> SocketAddr {
    let ip = match server {
        _ if server.ip().is_loopback() => server.ip(),
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// Where a server listens or a client connects.
enum Endpoint {
    Ip(HostPort),
    Unix(PathBuf),
}

impl Endpoint {
    fn new(proto: Proto, addr: Option<String>, path: Option<PathBuf>) -> Result<Self, CliError> {
        match (proto, addr, path) {
            (Proto::Unix, Some(_), _) => Err(CliError::new(
                "--addr",
                "--proto unix takes --path, not --addr",
            )),
            (Proto::Unix, None, path) => Ok(Self::Unix(path.unwrap_or_else(|| UDS_PATH.into()))),
            (_, _, Some(_)) => Err(CliError::new(
                "--path",
                "--proto tcp and udp take --addr HOST:PORT, not --path",
            )),
            (_, addr, None) => Ok(Self::Ip(HostPort::parse(
                "--addr",
                addr.as_deref().unwrap_or(DEFAULT_ADDR),
            )?)),
        }
    }
}

fn chunk_arg(chunk: Option<usize>, proto: Proto) -> Result<usize, CliError> {
    match chunk {
        Some(0) => Err(CliError::new("--chunk 0", "expected at least 1 byte")),
        Some(n) if n > 1 << 26 => Err(CliError::new(
            format_args!("--chunk {n}"),
            "expected at most 67108864 bytes",
        )),
        Some(n) => Ok(n),
        None if proto == Proto::Udp => Ok(CHAPTER_DATAGRAM_SIZE),
        None => Ok(CHAPTER_CHUNK),
    }
}

/// A file mode in octal: `600`, `0600`, `0o600`.
fn parse_mode(text: &str) -> Result<u32, CliError> {
    super::parse::octal_mode(text)
        .ok_or_else(|| CliError::new(format_args!("--mode {text:?}"), super::parse::MODE_EXPECTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal() {
        assert_eq!(parse_mode("600").unwrap(), 0o600);
        assert_eq!(parse_mode("0666").unwrap(), 0o666);
        assert_eq!(parse_mode("0o755").unwrap(), 0o755);
        assert!(parse_mode("9").is_err());
        assert!(parse_mode("").is_err());
        assert!(parse_mode("17777").is_err());
        for bad in ["+600", "-600", "0o+600", " 600", "0o"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_match_the_protocol() {
        assert!(matches!(
            Endpoint::new(Proto::Unix, None, None),
            Ok(Endpoint::Unix(p)) if p == std::path::Path::new(UDS_PATH)
        ));
        assert!(Endpoint::new(Proto::Unix, Some("h:1".into()), None).is_err());
        assert!(Endpoint::new(Proto::Tcp, None, Some("x".into())).is_err());
        assert!(matches!(
            Endpoint::new(Proto::Udp, None, None),
            Ok(Endpoint::Ip(hp)) if hp.port == 10_000 && hp.host == "localhost"
        ));
    }

    #[test]
    fn starting_up_shows_the_bound_port() {
        let hp = HostPort::parse("--addr", "localhost:0").unwrap();
        let line = listening(&hp, "127.0.0.1:41234".parse().unwrap());
        assert_eq!(line.to_string(), "starting up on localhost port 41234");
        assert_eq!(line.addr, "127.0.0.1:41234");
        let any = HostPort::parse("--addr", ":0").unwrap();
        let line = starting_up(&any, "0.0.0.0:5".parse().unwrap());
        assert_eq!(line.to_string(), "starting up on 0.0.0.0 port 5");
    }
}
