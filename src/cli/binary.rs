//! `portsock binary send|receive`: the chapter's `socket_binary_client.py` and
//! `socket_binary_server.py`, one record packed exactly as Python's `struct` packs it
//! (default `'I 2s f'` with `(1, b'ab', 2.7)`), on the core's [`RecordSender`] and
//! [`RecordReceiver`].

use std::fmt;

use clap::{Args, Subcommand};
use portsock_core::drive::run_stream;
use portsock_core::record::{CHAPTER_FORMAT, Hexlify, RecordReceiver, RecordSender, SenderEvent};
use portsock_core::time::Duration;
use portsock_core::wire::repr::{PyBytes, PyTuple};
use portsock_core::wire::structfmt::{Format, Value};
use portsock_std::prelude::*;
use portsock_std::tcp::{TcpListener, TcpStream};
use serde_json::json;

use super::concurrent::{self, Runtime};
use super::echo::listening;
use super::lines;
use super::net::{BackendArg, DEFAULT_ADDR, HostPort, Out, PyShow, seconds};
use super::structcmd::{check_record_size, decode_args, parse_values};
use super::{CliError, Output, jsonl};

/// The chapter's values, as the command line spells them.
const CHAPTER_VALUES: [&str; 3] = ["1", "ab", "2.7"];

#[derive(Debug, Subcommand)]
pub(crate) enum BinaryCmd {
    /// Connect, pack VALUES with --format and send the record (socket_binary_client.py).
    Send(SendArgs),
    /// Accept connections and unpack one record from each (socket_binary_server.py).
    Receive(ReceiveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The server: HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    addr: String,
    /// The record's struct format.
    #[arg(long, value_name = "F", default_value = CHAPTER_FORMAT)]
    format: String,
    /// One per value, as `portsock struct pack` reads them [default: 1 ab 2.7].
    #[arg(allow_hyphen_values = true, num_args = 0..)]
    values: Vec<String>,
    /// JSON lines on stdout instead of the chapter's text: `values`, `sending` (`len`,
    /// `data_hex`), then a `summary`.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    backend: BackendArg,
}

#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// Where to listen: HOST:PORT (an empty host, :10000, is any address; with port 0 the
    /// system chooses one, and a first line `starting up on HOST port N` shows it).
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    addr: String,
    /// The record's struct format.
    #[arg(long, value_name = "F", default_value = CHAPTER_FORMAT)]
    format: String,
    /// Exit after N clients instead of running forever; a client that failed (a short record,
    /// a reset, a timeout) counts too (with --concurrent: after N connections closed, served or
    /// failed).
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// Seconds a client may keep a read waiting (a record sent in part and held open) before
    /// it is dropped and the next one is served (the one-at-a-time server; with --concurrent,
    /// see --idle-timeout).
    #[arg(long, value_name = "S", default_value = "10")]
    read_timeout: String,
    /// Receive from every client at once, one record per connection, on the event-driven
    /// server; stops on Ctrl-C or SIGTERM, or after --count connections.
    #[arg(long)]
    concurrent: bool,
    /// With --concurrent: print only the first lines, errors and a summary at exit.
    #[arg(long)]
    quiet: bool,
    /// With --concurrent: close a connection on which nothing was read for this many
    /// seconds (a record cut short and held open).
    #[arg(long, value_name = "SECONDS")]
    idle_timeout: Option<String>,
    /// With --concurrent: what serves the clients: mio (portsock-server's own event loop, one
    /// thread) or tokio (a task per connection on tokio's multi-threaded runtime); the same
    /// receivers and lines either way [default: mio].
    #[arg(long, value_enum)]
    runtime: Option<Runtime>,
    /// JSON lines on stdout instead of the chapter's text: `listening`, a `record` per client
    /// (`len`, `data_hex`, `unpacked`), `error`, then a `summary` at the end of a --count.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    backend: BackendArg,
}

impl BinaryCmd {
    pub(crate) fn run(self) -> Output {
        match self {
            Self::Send(args) => send(args)?,
            Self::Receive(args) => receive(args)?,
        }
        Ok(String::new())
    }
}

fn send(args: SendArgs) -> Result<(), CliError> {
    jsonl::enable(args.json);
    let on_embassy = args.backend.on_embassy()?;
    let on_smoltcp = !on_embassy && args.backend.check()?;
    let hp = HostPort::parse("--addr", &args.addr)?;
    let fmt = parse_format(&args.format)?;
    let texts: Vec<String> = if args.values.is_empty() && args.format == CHAPTER_FORMAT {
        CHAPTER_VALUES.iter().map(|v| (*v).to_owned()).collect()
    } else {
        args.values
    };
    let decoded = decode_args(&fmt, &args.format, &texts)?;
    let values = parse_values(&fmt, &texts, &decoded)?;
    // Pack before connecting: a value out of range is an input error, not a network one.
    let mut sender = RecordSender::new(&fmt, &values, vec![0u8; fmt.size()])
        .map_err(|e| CliError::new(format_args!("format {:?}", args.format), e))?;
    if on_embassy {
        #[cfg(feature = "embassy")]
        return super::embassy::stream::binary_send(&args.backend, &hp, &mut sender, &values);
    }
    if on_smoltcp {
        #[cfg(feature = "smoltcp")]
        return smoltcp_send(&args.backend, &hp, &mut sender, &values);
    }
    let server = hp.resolve("--addr")?;
    let mut out = Out::stdout();
    // The chapter's client prints nothing before it connects; when the connection fails,
    // where it tried goes before the error, as the echo client says it.
    let mut stream = TcpStream::connect(server, None).map_err(|e| {
        super::echo::connecting(&mut out, &hp, server);
        CliError::new("--addr", e)
    })?;
    send_record(&mut stream, &mut sender, &values, &mut out)
}

/// `binary send --backend smoltcp`.
#[cfg(feature = "smoltcp")]
fn smoltcp_send(
    backend: &BackendArg,
    hp: &HostPort,
    sender: &mut RecordSender<Vec<u8>>,
    values: &[Value<'_>],
) -> Result<(), CliError> {
    let stack = super::smol::stack(backend)?;
    let server = super::smol::peer_addr(&stack, hp, "--addr")?;
    let mut stream = portsock_smoltcp::TcpStream::connect(
        &stack,
        server,
        Some(portsock_core::time::Duration::from_secs(30)),
    )
    .map_err(|e| {
        super::echo::connecting(&mut Out::stdout(), hp, server);
        CliError::new(format_args!("--addr {server}"), e)
    })?;
    let mut out = Out::stdout();
    send_record(&mut stream, sender, values, &mut out)?;
    drop(stream);
    super::smol::linger(&stack);
    Ok(())
}

/// `binary receive --backend smoltcp`.
#[cfg(feature = "smoltcp")]
fn smoltcp_receive(
    backend: &BackendArg,
    hp: &HostPort,
    fmt: Format<'_>,
    count: Option<usize>,
    read_timeout: Duration,
) -> Result<(), CliError> {
    let stack = super::smol::stack(backend)?;
    let addr = super::smol::bind_addr(&stack, hp, "--addr")?;
    if addr.port() == 0 {
        return Err(CliError::new(
            "--addr",
            "the smoltcp backend listens on a given port, not 0",
        ));
    }
    let mut listener = portsock_smoltcp::TcpListener::bind(&stack, addr, super::smol::BACKLOG)
        .map_err(|e| CliError::new("--addr", e))?;
    let mut out = Out::stdout();
    receive_records(&mut listener, fmt, count, Some(read_timeout), &mut out)?;
    super::smol::linger(&stack);
    Ok(())
}

/// Sends the record `sender` holds, printing `values = ...`, `sending b'<hex>'` and
/// `closing socket`.
///
/// # Errors
///
/// The transport failed.
pub(crate) fn send_record<S: Stream<Error: fmt::Display>>(
    stream: &mut S,
    sender: &mut RecordSender<Vec<u8>>,
    values: &[Value<'_>],
    out: &mut Out,
) -> Result<(), CliError> {
    out.line(format_args!("values = {}", PyTuple(values)));
    out.event(json!({ "event": "values", "values": PyTuple(values).to_string() }));
    let mut sent = 0;
    run_stream(stream, sender, &mut |s| {
        while let Some(event) = s.poll_event() {
            if let SenderEvent::Sending(bytes) = event {
                sent += bytes.len();
            }
            sender_line(out, event);
        }
    })
    .map_err(|e| CliError::new("send", e))?;
    out.line("closing socket");
    out.event(json!({ "event": "summary", "bytes_sent": sent }));
    Ok(())
}

/// The record sender's line for one event of its machine: `sending b'<hex>'`.
pub(crate) fn sender_line(out: &mut Out, event: SenderEvent<'_>) {
    if let SenderEvent::Sending(bytes) = event {
        let hex = Hexlify(bytes).to_string();
        out.line(format_args!("sending {}", PyBytes(hex.as_bytes())));
        out.event(json!({ "event": "sending", "len": bytes.len(), "data_hex": hex }));
    }
}

fn receive(args: ReceiveArgs) -> Result<(), CliError> {
    jsonl::enable(args.json);
    let on_embassy = args.backend.on_embassy()?;
    let on_smoltcp = !on_embassy && args.backend.check()?;
    let on_stack = on_smoltcp || on_embassy;
    let hp = HostPort::parse("--addr", &args.addr)?;
    let fmt = parse_format(&args.format)?;
    RecordReceiver::new(fmt, vec![0u8; fmt.size()])
        .map_err(|e| CliError::new(format_args!("format {:?}", args.format), e))?;
    if args.count == Some(0) {
        return Err(CliError::new("--count 0", "expected at least 1"));
    }
    let read_timeout = seconds("--read-timeout", &args.read_timeout)?.into();
    let idle_timeout = concurrent::Options::idle_timeout(args.idle_timeout.as_deref())?;
    let runtime = Runtime::check(args.runtime, args.concurrent)?;
    for (given, option) in [
        (args.concurrent && on_stack, "--concurrent"),
        (args.quiet, "--quiet"),
        (idle_timeout.is_some(), "--idle-timeout"),
        (args.runtime.is_some(), "--runtime"),
    ] {
        if given && (!args.concurrent || on_stack) {
            return Err(CliError::new(
                option,
                "applies to --concurrent on --backend std only",
            ));
        }
    }
    if args.concurrent {
        let addr = hp.resolve("--addr")?;
        let options = concurrent::Options {
            runtime,
            count: args.count,
            quiet: args.quiet,
            idle_timeout,
        };
        // The server runs until the process ends, and a tokio server's tasks need a format
        // that lives as long: one small string, kept for good.
        let text: &'static str = Box::leak(args.format.clone().into_boxed_str());
        return concurrent::serve_records(&hp, addr, parse_format(text)?, options);
    }
    if on_embassy {
        #[cfg(feature = "embassy")]
        return super::embassy::stream::binary_receive(
            &args.backend,
            &hp,
            fmt,
            args.count,
            read_timeout,
        );
    }
    if on_smoltcp {
        #[cfg(feature = "smoltcp")]
        return smoltcp_receive(&args.backend, &hp, fmt, args.count, read_timeout);
    }
    let addr = hp.resolve("--addr")?;
    let mut listener = TcpListener::bind(addr).map_err(|e| CliError::new("--addr", e))?;
    let mut out = Out::stdout();
    if hp.port == 0 {
        // The chapter's server prints no address; with a port the system chose, say which.
        let local = listener
            .local_addr()
            .map_err(|e| CliError::new("--addr", e))?;
        listening(&hp, local).print(&mut out, true);
    } else {
        let local = listener
            .local_addr()
            .map_err(|e| CliError::new("--addr", e))?;
        listening(&hp, local).print(&mut out, false);
    }
    receive_records(&mut listener, fmt, args.count, Some(read_timeout), &mut out)?;
    Ok(())
}

/// Accepts `count` connections (forever without) and unpacks one `fmt` record from each,
/// printing `received b'<hex>'` and `unpacked: (...)`. A client that fails (closes before the
/// whole record, resets, keeps a read waiting past `read_timeout`) gets one line on stderr
/// ([`Out::note`]) and counts; the server goes on to the next. Returns the unpacked tuples as
/// Python prints them.
///
/// # Errors
///
/// `accept` failed.
pub(crate) fn receive_records<L>(
    listener: &mut L,
    fmt: Format<'_>,
    count: Option<usize>,
    read_timeout: Option<Duration>,
    out: &mut Out,
) -> Result<Vec<String>, CliError>
where
    L: Listener<Error: fmt::Display>,
    L::Stream: Stream<Error: fmt::Display> + Blocking,
    L::Addr: PyShow,
{
    let mut tuples = Vec::new();
    let mut served = 0;
    while count.is_none_or(|n| served < n) {
        out.line("");
        out.line("waiting for a connection");
        let (mut connection, client) = listener.accept().map_err(|e| CliError::new("accept", e))?;
        served += 1;
        let mut receiver = RecordReceiver::new(fmt, vec![0u8; fmt.size()])
            .map_err(|e| CliError::new("format", e))?;
        let mut tuple = String::new();
        let done = connection
            .set_read_timeout(read_timeout)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                run_stream(&mut connection, &mut receiver, &mut |r| {
                    while let Some(event) = r.poll_event() {
                        tuple = lines::record_event(out, event).unwrap_or_default();
                    }
                })
                .map_err(|e| e.to_string())
            });
        match done {
            Ok(()) => tuples.push(tuple),
            Err(e) => {
                out.note(format_args!("connection from {}: {e}", client.py()));
                out.event(json!({ "event": "error", "peer": client.plain(), "error": e }));
            }
        }
    }
    out.event(json!({ "event": "summary", "connections": served, "records": tuples.len() }));
    Ok(tuples)
}

fn parse_format(format: &str) -> Result<Format<'_>, CliError> {
    let fmt =
        Format::parse(format).map_err(|e| CliError::new(format_args!("format {format:?}"), e))?;
    check_record_size(&fmt, format)?;
    Ok(fmt)
}
