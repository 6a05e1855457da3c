//! The tour's socket sections: each server runs in a thread on the loopback (or in a temporary
//! directory) with its lines kept, the client runs here, and both transcripts are printed as
//! blocks once both sides are done. Each runs the same code as the matching command.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use portsock_core::echo::{CHAPTER_CHUNK, CHAPTER_DATAGRAM_SIZE, CHAPTER_MESSAGE};
use portsock_core::multicast::{
    CHAPTER_ACK, CHAPTER_MESSAGE as MULTICAST_MESSAGE, CHAPTER_TIMEOUT,
};
use portsock_core::record::{CHAPTER_FORMAT, RecordSender, chapter_values};
use portsock_core::table::consts::{self, AF, IPPROTO, SOCK};
use portsock_core::wire::structfmt::{Format, Value};
use portsock_std::prelude::*;
use portsock_std::tcp::{TcpListener, TcpStream};
use portsock_std::udp::UdpSocket;
use portsock_std::unix::{UnixListener, UnixStream};

use super::{Verdict, block, check, child, hexlify};
use crate::cli::CliError;
use crate::cli::binary::{receive_records, send_record};
use crate::cli::echo::{
    Serving, client_bind_addr, datagram_client, serve_datagram, serve_stream, starting_up,
    stream_client,
};
use crate::cli::multicast::{
    Collect, group_addr, loopback_sender, loopback_target, multicast_receive, multicast_send,
    receiver_socket,
};
use crate::cli::net::{HostPort, Out};

/// How long any step may wait before the section fails instead of hanging.
pub(super) const WAIT: StdDuration = StdDuration::from_secs(5);
/// The tour's stream servers: the chapter's reads, one client, no read timeout (the tour's
/// clients are its own).
const ONE_CLIENT: Serving = Serving {
    chunk: CHAPTER_CHUNK,
    count: Some(1),
    read_timeout: None,
};

/// The chapter's record, packed natively on Linux targets (4-byte `I` and `f`).
const CHAPTER_RECORD_HEX: &str = "0100000061620000cdcc2c40";

/// A server side: its result and its transcript.
type Side<T> = JoinHandle<(Result<T, CliError>, Vec<String>)>;

pub(super) fn tcp_echo(out: &mut Out) -> Verdict {
    let (mut listener, hp, local) = tcp_listener()?;
    let server = side(starting_up(&hp, local), move |o| {
        serve_stream(&mut listener, ONE_CLIENT, o)
    });
    let mut client_out = Out::buffer();
    let client = (|| {
        let mut stream = TcpStream::connect(local, Some(WAIT)).map_err(text)?;
        stream.set_read_timeout(Some(WAIT)).map_err(text)?;
        client_out.line(format_args!(
            "connecting to localhost port {}",
            local.port()
        ));
        stream_client(
            &mut stream,
            CHAPTER_MESSAGE,
            CHAPTER_CHUNK,
            "server",
            &mut client_out,
        )
        .map_err(|e| e.to_string())
    })();
    let (served, server_lines) = join(server)?;
    block(out, "server", &server_lines);
    block(out, "client", &client_out.into_lines());
    client?;
    let echoed = served.map_err(|e| e.to_string())?;
    check(echoed == CHAPTER_MESSAGE.len() as u64, || {
        format!(
            "the server echoed {echoed} of {} bytes",
            CHAPTER_MESSAGE.len()
        )
    })
}

pub(super) fn create_connection(out: &mut Out) -> Verdict {
    let (mut listener, _, local) = tcp_listener()?;
    let server = side(String::new(), move |o| {
        serve_stream(&mut listener, ONE_CLIENT, o)
    });
    let mut client_out = Out::buffer();
    let client = (|| {
        // Resolve "localhost" and try each address in turn, as Python does.
        let mut stream =
            TcpStream::create_connection("localhost", local.port(), Some(WAIT)).map_err(text)?;
        stream.set_read_timeout(Some(WAIT)).map_err(text)?;
        let socket = stream.socket();
        let family = socket.domain().map(i32::from).map_err(text)?;
        let kind = socket.r#type().map(i32::from).map_err(text)?;
        let proto = socket.protocol().map_err(text)?.map_or(0, i32::from);
        let names = [
            consts::name_of(AF, family),
            consts::name_of(SOCK, kind),
            consts::name_of(IPPROTO, proto),
        ];
        let [Some(family), Some(kind), Some(proto)] = names else {
            return Err(format!("unnamed constants: {names:?}"));
        };
        client_out.line(format_args!("Family  : {family}"));
        client_out.line(format_args!("Type    : {kind}"));
        client_out.line(format_args!("Protocol: {proto}"));
        client_out.line("");
        check(
            matches!(family, "AF_INET" | "AF_INET6")
                && kind == "SOCK_STREAM"
                && proto == "IPPROTO_TCP",
            || format!("a TCP connection is {family} {kind} {proto}"),
        )?;
        stream_client(
            &mut stream,
            CHAPTER_MESSAGE,
            CHAPTER_CHUNK,
            "server",
            &mut client_out,
        )
        .map_err(|e| e.to_string())
    })();
    let (served, _) = join(server)?;
    block(out, "client", &client_out.into_lines());
    client?;
    let echoed = served.map_err(|e| e.to_string())?;
    check(echoed == CHAPTER_MESSAGE.len() as u64, || {
        format!("the server echoed {echoed} bytes")
    })
}

pub(super) fn udp_echo(out: &mut Out) -> Verdict {
    let hp = HostPort::parse("--addr", "localhost:0").map_err(|e| e.to_string())?;
    let mut socket =
        UdpSocket::bind(hp.resolve("--addr").map_err(|e| e.to_string())?).map_err(text)?;
    socket.set_read_timeout(Some(WAIT)).map_err(text)?;
    let local = Datagram::local_addr(&socket).map_err(text)?;
    let server = side(starting_up(&hp, local), move |o| {
        serve_datagram(&mut socket, CHAPTER_DATAGRAM_SIZE, Some(1), o)
    });
    let mut client_out = Out::buffer();
    let client = (|| {
        let mut socket = UdpSocket::bind(client_bind_addr(local)).map_err(text)?;
        datagram_client(
            &mut socket,
            local,
            CHAPTER_MESSAGE,
            CHAPTER_DATAGRAM_SIZE,
            WAIT.into(),
            &mut client_out,
        )
        .map_err(|e| e.to_string())
    })();
    let (served, server_lines) = join(server)?;
    block(out, "server", &server_lines);
    block(out, "client", &client_out.into_lines());
    client?;
    let served = served.map_err(|e| e.to_string())?;
    check(served == 1, || {
        format!("the server echoed {served} datagrams")
    })
}

pub(super) fn unix_echo(out: &mut Out) -> Verdict {
    let dir = TempDir::new().map_err(text)?;
    let path = dir.path().join("uds_socket");
    let mut listener = UnixListener::bind(&path).map_err(text)?;
    listener.set_read_timeout(Some(WAIT)).map_err(text)?;
    let server = side(format!("starting up on {}", path.display()), move |o| {
        serve_stream(&mut listener, ONE_CLIENT, o)
    });
    let mut client_out = Out::buffer();
    let client = (|| {
        let mut stream = UnixStream::connect(&path).map_err(text)?;
        stream.set_read_timeout(Some(WAIT)).map_err(text)?;
        client_out.line(format_args!("connecting to {}", path.display()));
        stream_client(
            &mut stream,
            CHAPTER_MESSAGE,
            CHAPTER_CHUNK,
            "server",
            &mut client_out,
        )
        .map_err(|e| e.to_string())
    })();
    let (served, server_lines) = join(server)?;
    block(out, "server", &server_lines);
    block(out, "client", &client_out.into_lines());
    client?;
    let echoed = served.map_err(|e| e.to_string())?;
    check(echoed == CHAPTER_MESSAGE.len() as u64, || {
        format!("the server echoed {echoed} bytes")
    })
}

/// The chapter's socketpair program, whose lines the child and the parent print.
const SOCKETPAIR_LINES: [(&str, &str); 4] = [
    ("parent", "in parent, sending message"),
    ("child", "in child, waiting for message"),
    ("child", "message from parent: b'ping'"),
    ("parent", "response from child: b'pong'"),
];

pub(super) fn socketpair(out: &mut Out) -> Verdict {
    // A process with threads must not fork, and the tour has run threads by now: the
    // chapter's program runs as a child `portsock socketpair`, which forks while it is still
    // single-threaded.
    let child = child::portsock(&["socketpair"])?
        .spawn()
        .map_err(|e| format!("portsock socketpair: {e}"))?;
    let child::Finished {
        status,
        stdout,
        stderr,
    } = child::finish(child, "portsock socketpair", WAIT)?;
    for line in stdout.lines() {
        let who = SOCKETPAIR_LINES
            .iter()
            .find(|(_, l)| *l == line)
            .map_or("?", |(who, _)| *who);
        block(out, who, &[line.to_owned()]);
    }
    let expected: Vec<&str> = SOCKETPAIR_LINES.iter().map(|(_, l)| *l).collect();
    check(status.success() && stdout.lines().eq(expected), || {
        format!("exit {status}, stderr {:?}", stderr.trim())
    })
}

pub(super) fn multicast(out: &mut Out) -> Verdict {
    // Two receivers share one port, as two hosts would share the chapter's port 10000: each
    // gets its own copy of the datagram and acknowledges it.
    let any_port = loopback_target(0).map_err(|e| e.to_string())?;
    let mut a = receiver_socket(&any_port, 0).map_err(|e| e.to_string())?;
    let port = Datagram::local_addr(&a).map_err(text)?.port();
    let target = loopback_target(port).map_err(|e| e.to_string())?;
    let mut b = receiver_socket(&target, port).map_err(|e| e.to_string())?;
    a.set_read_timeout(Some(WAIT)).map_err(text)?;
    b.set_read_timeout(Some(WAIT)).map_err(text)?;
    let receiver_a = side(String::new(), move |o| {
        multicast_receive(&mut a, Some(1), o)
    });
    let receiver_b = side(String::new(), move |o| {
        multicast_receive(&mut b, Some(1), o)
    });
    let mut sender_out = Out::buffer();
    let replies = loopback_sender(&target).and_then(|mut socket| {
        multicast_send(
            &mut socket,
            group_addr(&target),
            MULTICAST_MESSAGE,
            Collect {
                each: CHAPTER_TIMEOUT,
                total: Collect::DEFAULT_TOTAL,
            },
            &mut sender_out,
        )
    });
    let (acked_a, lines_a) = join(receiver_a)?;
    let (acked_b, lines_b) = join(receiver_b)?;
    out.line(format_args!(
        "group 224.3.29.71 port {port}, joined and sent on the loopback (127.0.0.1)"
    ));
    block(out, "receiver A", &lines_a);
    block(out, "receiver B", &lines_b);
    block(out, "sender", &sender_out.into_lines());
    let replies = replies.map_err(|e| e.to_string())?;
    let acked = (acked_a.map_err(|e| e.to_string())?) + (acked_b.map_err(|e| e.to_string())?);
    check(
        acked == 2 && replies.len() == 2 && replies.iter().all(|(_, p)| p == CHAPTER_ACK),
        || format!("{acked} acks sent, {} replies collected", replies.len()),
    )
}

pub(super) fn binary(out: &mut Out) -> Verdict {
    let (mut listener, _, local) = tcp_listener()?;
    let format = Format::parse(CHAPTER_FORMAT).map_err(|e| e.to_string())?;
    let server = side(String::new(), move |o| {
        receive_records(&mut listener, format, Some(1), None, o)
    });
    let mut client_out = Out::buffer();
    let values = chapter_values();
    let client = (|| {
        let mut sender = RecordSender::new(&format, &values, vec![0u8; format.size()])
            .map_err(|e| e.to_string())?;
        let mut stream = TcpStream::connect(local, Some(WAIT)).map_err(text)?;
        send_record(&mut stream, &mut sender, &values, &mut client_out)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(hexlify(sender.record()))
    })();
    let (tuples, server_lines) = join(server)?;
    block(out, "client", &client_out.into_lines());
    block(out, "server", &server_lines);
    let sent = client?;
    let tuples = tuples.map_err(|e| e.to_string())?;
    check(
        sent == CHAPTER_RECORD_HEX && tuples == ["(1, b'ab', 2.700000047683716)"],
        || format!("sent {sent}, unpacked {tuples:?}"),
    )?;
    padding(out, &format, &values)
}

/// The same values packed without alignment: the chapter's record is 12 bytes where its fields
/// take 10, because native mode aligns `f` to 4 bytes.
const STANDARD_FORMAT: &str = "=I 2s f";
const STANDARD_RECORD_HEX: &str = "010000006162cdcc2c40";

/// Why `'I 2s f'` is 12 bytes: the two zero bytes after `b'ab'` that align the float.
fn padding(out: &mut Out, native: &Format<'_>, values: &[Value<'_>]) -> Verdict {
    let standard = Format::parse(STANDARD_FORMAT).map_err(|e| e.to_string())?;
    let pack = |format: &Format<'_>| {
        let mut buf = vec![0u8; format.size()];
        format
            .pack(&mut buf, values)
            .map(|n| hexlify(&buf[..n]))
            .map_err(|e| e.to_string())
    };
    let (with, without) = (pack(native)?, pack(&standard)?);
    out.line("");
    out.line(format_args!(
        "calcsize('{CHAPTER_FORMAT}') = {}: I at 0 (4 bytes), 2s at 4 (2), 2 bytes of padding, \
         f at 8 (4)",
        native.size()
    ));
    out.line(format_args!(
        "  {} {} {} {}   native alignment: f starts on a multiple of 4",
        &with[..8],
        &with[8..12],
        with.get(12..16).unwrap_or("?"),
        with.get(16..).unwrap_or("?")
    ));
    out.line(format_args!(
        "calcsize('{STANDARD_FORMAT}') = {}: standard sizes, no alignment, no padding",
        standard.size()
    ));
    out.line(format_args!("  {without}"));
    check(
        native.size() == 12
            && standard.size() == 10
            && with == CHAPTER_RECORD_HEX
            && with.get(12..16) == Some("0000")
            && without == STANDARD_RECORD_HEX,
        || format!("packed {with} natively and {without} with '='"),
    )
}

pub(super) fn nonblocking(out: &mut Out) -> Verdict {
    let (mut listener, _, local) = tcp_listener()?;
    let mut client = TcpStream::connect(local, Some(WAIT)).map_err(text)?;
    // The server end stays silent: nothing ever arrives for the client to read.
    let (_silent, _) = listener.accept().map_err(text)?;
    let mut buf = [0u8; CHAPTER_CHUNK];

    client.set_nonblocking(true).map_err(text)?;
    match client.read(&mut buf) {
        Err(e) if e.is_would_block() && e.kind() != io::ErrorKind::TimedOut => out.line(
            format_args!("setblocking(False); recv(16) -> would block at once: {e}"),
        ),
        other => {
            return Err(format!(
                "non-blocking read: expected would-block, got {other:?}"
            ));
        }
    }

    client.set_nonblocking(false).map_err(text)?;
    let timeout = StdDuration::from_millis(200);
    client.set_read_timeout(Some(timeout)).map_err(text)?;
    let started = StdInstant::now();
    let result = client.read(&mut buf);
    let waited = started.elapsed();
    match result {
        Err(e) if e.kind() == io::ErrorKind::TimedOut && !e.is_would_block() => {
            out.line(format_args!(
                "settimeout(0.2); recv(16) -> timed out after {:.3} s: {e}",
                waited.as_secs_f64()
            ));
        }
        other => {
            return Err(format!(
                "read with a timeout: expected timed out, got {other:?}"
            ));
        }
    }
    check(waited >= timeout - StdDuration::from_millis(20), || {
        format!("timed out after only {waited:?}")
    })?;

    let mut socket = UdpSocket::bind(client_bind_addr(local)).map_err(text)?;
    let deadline = StdInstant::now() + StdDuration::from_millis(100);
    let mut dgram = [0u8; CHAPTER_DATAGRAM_SIZE];
    match socket.recv_from(&mut dgram, Some(deadline)) {
        Ok(None) => {
            out.line("recvfrom(4096) until a deadline 0.1 s away -> nothing came, no error")
        }
        other => {
            return Err(format!(
                "receive until a deadline: expected nothing, got {other:?}"
            ));
        }
    }
    Ok(())
}

/// A TCP listener on localhost with a port the system chooses, whose `accept` gives up after
/// [`WAIT`].
pub(super) fn tcp_listener() -> Result<(TcpListener, HostPort, SocketAddr), String> {
    let hp = HostPort::parse("--addr", "localhost:0").map_err(|e| e.to_string())?;
    let mut listener =
        TcpListener::bind(hp.resolve("--addr").map_err(|e| e.to_string())?).map_err(text)?;
    listener.set_read_timeout(Some(WAIT)).map_err(text)?;
    let local = listener.local_addr().map_err(text)?;
    Ok((listener, hp, local))
}

/// Runs a server side in a thread, its transcript starting with `first` (unless empty).
fn side<T, F>(first: String, run: F) -> Side<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Out) -> Result<T, CliError> + Send + 'static,
{
    thread::spawn(move || {
        let mut out = Out::buffer();
        if !first.is_empty() {
            out.line(first);
        }
        let result = run(&mut out);
        (result, out.into_lines())
    })
}

fn join<T>(side: Side<T>) -> Result<(Result<T, CliError>, Vec<String>), String> {
    side.join()
        .map_err(|_| "a server thread panicked".to_owned())
}

pub(super) fn text(e: io::Error) -> String {
    e.to_string()
}

/// A fresh directory under the system's temporary directory, removed with what it holds when
/// dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new() -> io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("portsock-tour-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("temporary directory {}: {e}", path.display()),
            )
        })?;
        Ok(Self(path))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
