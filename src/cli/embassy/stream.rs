//! The stream commands on `--backend embassy`: `echo server` and `echo client` over TCP, and
//! `binary send` / `binary receive`. The machines are the core's ([`EchoSession`],
//! [`EchoClient`], [`RecordSender`], [`RecordReceiver`]), run by the core's async
//! [`run_stream`] over portsock-embassy's [`TcpListener`] and [`TcpConnector`] with
//! [`EmbassyTimer`]; the lines are those of the std and smoltcp backends.

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;

use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::sessions::{Event, Sessions};
use portsock_core::asynch::time::Timer;
use portsock_core::asynch::transport::{Listener, Shutdown, Stream};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::machine::StreamMachine;
use portsock_core::record::{RecordReceiver, RecordSender};
use portsock_core::time::{Clock, Duration};
use portsock_core::wire::repr::PyTuple;
use portsock_core::wire::structfmt::{Format, Value};
use portsock_embassy::{EmbassyTimer, TcpConnector, TcpListener, TcpStream};

use super::super::echo::{Serving, client_line, listening};
use super::super::lines;
use super::super::net::{BackendArg, HostPort, Out, PyAddr};
use super::super::{CliError, binary};
use super::{EmbassyNet, LINGER, tcp_resources};

/// Sockets of the one-at-a-time servers' listeners: one serves while the others keep
/// listening, so the next clients connect (and send) meanwhile, as into a kernel backlog.
const BACKLOG: usize = 4;
/// Sessions of `echo server --concurrent` at once; the listener has one more socket, so a
/// client beyond them still connects and waits.
const WORKERS: usize = 8;
/// How long a client's handshake may take without --timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often `echo server --concurrent` looks at its stop flag (SIGINT, SIGTERM).
const STOP_POLL: Duration = Duration::from_millis(100);

/// `echo server --backend embassy --proto tcp`: the chapter's server, one client at a time
/// (`--count` of them, forever without; `--read-timeout` for a silent one), or with
/// `concurrent` up to [`WORKERS`] at once on the listener's pool.
///
/// # Errors
///
/// The stack could not be built, the address or port is unusable, or `accept` failed.
pub(crate) fn echo_server(
    backend: &BackendArg,
    hp: &HostPort,
    serving: Serving,
    concurrent: bool,
    idle_timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let addr = net.bind_addr(hp, "--addr")?;
    let Serving {
        chunk,
        count,
        read_timeout,
    } = serving;
    if concurrent {
        return serve_concurrent(&net, hp, addr, chunk, count, idle_timeout);
    }
    let listener = TcpListener::new(net.stack(), addr, tcp_resources::<BACKLOG>())
        .map_err(|e| CliError::new("--addr", e))?;
    let mut out = Out::stdout();
    listening(hp, addr).print(&mut out, true);
    net.block_on(one_at_a_time(
        &listener,
        count,
        read_timeout,
        &mut out,
        |out| out.line("waiting for a connection"),
        |out, client| {
            lines::connection_from(out, client);
            EchoSession::new(vec![0u8; chunk]).with_chunk(chunk)
        },
        |out, client, session| {
            while let Some(event) = session.poll_event() {
                lines::echo_event(out, client, event);
            }
        },
    ))
}

/// `echo client --backend embassy --proto tcp`: connects, sends `message`, verifies the echo
/// read `chunk` bytes at a time; `timeout` bounds the handshake and each wait for the echo.
///
/// # Errors
///
/// The stack, the connection or the echo failed.
pub(crate) fn echo_client(
    backend: &BackendArg,
    hp: &HostPort,
    chunk: usize,
    message: &[u8],
    timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let server = net.peer_addr(hp, "--addr")?;
    let timeout = timeout.map(Duration::from);
    let mut out = Out::stdout();
    net.block_on(async {
        let connector = connector(&net, timeout);
        // As the chapter: where it tries, then the echo, or the error if it is refused.
        let connected = connect(&connector, server).await;
        crate::cli::echo::connecting(&mut out, hp, server);
        let mut stream = connected?;
        let started = std::time::Instant::now();
        let mut client = EchoClient::new(message, vec![0u8; chunk]).with_chunk(chunk);
        let peer = PyAddr(server).to_string();
        drive(&mut stream, &mut client, timeout, &mut |c| {
            while let Some(event) = c.poll_event() {
                client_line(&mut out, event);
            }
        })
        .await
        .map_err(|e| CliError::new(format_args!("echo from {peer}"), e))?;
        out.line("closing socket");
        super::super::echo::client_summary(&mut out, message.len(), started);
        linger(&mut stream).await;
        Ok(())
    })
}

/// `binary send --backend embassy`: connects and sends the record `sender` holds.
///
/// # Errors
///
/// The stack, the connection or the transport failed.
pub(crate) fn binary_send(
    backend: &BackendArg,
    hp: &HostPort,
    sender: &mut RecordSender<Vec<u8>>,
    values: &[Value<'_>],
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let server = net.peer_addr(hp, "--addr")?;
    let mut out = Out::stdout();
    net.block_on(async {
        let connector = connector(&net, None);
        let mut stream = connect(&connector, server).await.inspect_err(|_| {
            // Where it tried, before the error, as the std backend's client says it.
            crate::cli::echo::connecting(&mut out, hp, server);
        })?;
        out.line(format_args!("values = {}", PyTuple(values)));
        let json_values = PyTuple(values).to_string();
        out.event(serde_json::json!({ "event": "values", "values": json_values }));
        drive(&mut stream, sender, None, &mut |s| {
            while let Some(event) = s.poll_event() {
                binary::sender_line(&mut out, event);
            }
        })
        .await
        .map_err(|e| CliError::new("send", e))?;
        out.line("closing socket");
        linger(&mut stream).await;
        Ok(())
    })
}

/// `binary receive --backend embassy`: accepts `count` connections (forever without), one at
/// a time, and unpacks one `fmt` record from each.
///
/// # Errors
///
/// The stack could not be built, the address or port is unusable, or `accept` failed.
pub(crate) fn binary_receive(
    backend: &BackendArg,
    hp: &HostPort,
    fmt: Format<'_>,
    count: Option<usize>,
    read_timeout: Duration,
) -> Result<(), CliError> {
    let net = super::stack(backend)?;
    let addr = net.bind_addr(hp, "--addr")?;
    let listener = TcpListener::new(net.stack(), addr, tcp_resources::<BACKLOG>())
        .map_err(|e| CliError::new("--addr", e))?;
    let mut out = Out::stdout();
    net.block_on(one_at_a_time(
        &listener,
        count,
        Some(read_timeout),
        &mut out,
        |out| {
            out.line("");
            out.line("waiting for a connection");
        },
        |_, _| RecordReceiver::new(fmt, vec![0u8; fmt.size()]).expect("checked by the command"),
        |out, _, receiver| {
            while let Some(event) = receiver.poll_event() {
                lines::record_event(out, event);
            }
        },
    ))
}

/// A connector of one socket, with the handshake bounded by `timeout` (or
/// [`CONNECT_TIMEOUT`]).
fn connector(net: &EmbassyNet, timeout: Option<Duration>) -> TcpConnector<'static, 1> {
    let timeout = timeout.unwrap_or(CONNECT_TIMEOUT);
    TcpConnector::new(net.stack(), tcp_resources::<1>())
        .with_timeout(embassy_time::Duration::from_millis(timeout.as_millis()))
}

/// Connects to `server`; the error names it.
async fn connect<'a>(
    connector: &'a TcpConnector<'static, 1>,
    server: SocketAddr,
) -> Result<TcpStream<'a, 'static>, CliError> {
    connector
        .connect(server)
        .await
        .map_err(|e| CliError::new(format_args!("--addr {server}"), e))
}

/// Serves `count` connections (forever without) one at a time, as the chapter's servers do:
/// `waiting(out)` before each accept, `make(out, client)` for its machine, `observe` after
/// every step. A client that fails (a reset, a read or write waiting past `read_timeout`)
/// gets one line on stderr and the server goes on to the next. A finished connection closes
/// in order before the next is accepted.
async fn one_at_a_time<L, M>(
    listener: &L,
    count: Option<usize>,
    read_timeout: Option<Duration>,
    out: &mut Out,
    mut waiting: impl FnMut(&mut Out),
    mut make: impl FnMut(&mut Out, &PyAddr) -> M,
    mut observe: impl FnMut(&mut Out, &PyAddr, &mut M),
) -> Result<(), CliError>
where
    L: Listener<Addr = SocketAddr, Error = portsock_embassy::Error>,
    for<'a> L::Stream<'a>: Stream<Error = portsock_embassy::Error>,
    M: StreamMachine<Error: std::fmt::Display>,
{
    let mut served = 0;
    while count.is_none_or(|n| served < n) {
        waiting(out);
        let (mut stream, peer) = listener
            .accept()
            .await
            .map_err(|e| CliError::new("accept", e))?;
        served += 1;
        let client = PyAddr(peer);
        let mut machine = make(out, &client);
        let outcome = drive(&mut stream, &mut machine, read_timeout, &mut |m| {
            observe(out, &client, m);
        })
        .await;
        match outcome {
            Ok(()) => linger(&mut stream).await,
            Err(e) => out.note(format_args!("connection from {client}: {e}")),
        }
    }
    Ok(())
}

/// [`run_stream`], failing when nothing was read or written for `timeout` (none: no limit);
/// the error as text.
async fn drive<S, M>(
    stream: &mut S,
    machine: &mut M,
    timeout: Option<Duration>,
    observe: &mut impl FnMut(&mut M),
) -> Result<(), String>
where
    S: Stream<Error: std::fmt::Display>,
    M: StreamMachine<Error: std::fmt::Display>,
{
    let last = Cell::new(EmbassyTimer.now());
    let mut step = |m: &mut M| {
        last.set(EmbassyTimer.now());
        observe(m);
    };
    let run = run_stream(stream, machine, &mut step);
    let quiet = async {
        match timeout {
            Some(t) => silent_for(&last, t).await,
            None => core::future::pending().await,
        }
    };
    match first(run, quiet).await {
        Either::First(done) => done.map_err(|e| e.to_string()),
        Either::Second(()) => Err(format!(
            "timed out: nothing read or written for {} ms",
            timeout.map_or(0, |t| t.as_millis())
        )),
    }
}

/// Returns once `last` (updated by the caller) is `timeout` in the past.
async fn silent_for(last: &Cell<portsock_core::time::Instant>, timeout: Duration) {
    loop {
        let at = last.get() + timeout;
        if EmbassyTimer.now() >= at {
            return;
        }
        EmbassyTimer.sleep_until(at).await;
    }
}

/// Closes `stream` in order and waits (up to [`LINGER`]) until the peer has acknowledged every
/// byte and the FIN: the process may exit next, and then nothing more is sent.
async fn linger<S: Stream>(stream: &mut S) {
    let _ = stream.shutdown(Shutdown::Write).await;
    let _ = within(LINGER, stream.flush()).await;
}

/// `f`, unless `limit` passes first.
async fn within<F: Future>(limit: embassy_time::Duration, f: F) -> Option<F::Output> {
    match first(f, embassy_time::Timer::after(limit)).await {
        Either::First(out) => Some(out),
        Either::Second(()) => None,
    }
}

/// `echo server --backend embassy --concurrent`: up to [`WORKERS`] clients at once, each
/// session driven by its own worker of the core's async
/// [`Sessions`], with the lines of the smoltcp backend's concurrent server. Stops after
/// `count` connections have closed, or on SIGINT / SIGTERM; then waits (up to [`LINGER`]) for
/// the last connections to close in order.
fn serve_concurrent(
    net: &EmbassyNet,
    hp: &HostPort,
    addr: SocketAddr,
    chunk: usize,
    count: Option<usize>,
    idle_timeout: Option<std::time::Duration>,
) -> Result<(), CliError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| CliError::new("signals", e))?;
    }
    let listener = TcpListener::new(net.stack(), addr, tcp_resources::<{ WORKERS + 1 }>())
        .map_err(|e| CliError::new("--addr", e))?;
    let mut out = Out::stdout();
    listening(hp, addr).print(&mut out, true);
    out.line(format_args!(
        "waiting for connections (up to {WORKERS} at once)"
    ));
    let closed = Cell::new(0usize);
    let mut sessions = Sessions::new(&listener, &EmbassyTimer);
    if let Some(t) = idle_timeout {
        sessions = sessions.with_idle_timeout(t.into());
    }
    let stopped = async {
        while !stop.load(Ordering::Relaxed) && count.is_none_or(|n| closed.get() < n) {
            EmbassyTimer
                .sleep_until(EmbassyTimer.now() + STOP_POLL)
                .await;
        }
    };
    let on =
        |event: Event<'_, TcpListener<'static, { WORKERS + 1 }>, EchoSession<Vec<u8>>>| match event
        {
            Event::Accepted { peer, .. } => lines::connection_from(&mut out, &PyAddr(*peer)),
            Event::Stepped { peer, machine, .. } => {
                while let Some(event) = machine.poll_event() {
                    lines::echo_event(&mut out, &PyAddr(*peer), event);
                }
            }
            Event::Finished { .. } | Event::Closed { .. } => closed.set(closed.get() + 1),
            Event::Failed { peer, error, .. } => {
                lines::error_from(&mut out, &PyAddr(*peer), &error);
                closed.set(closed.get() + 1);
            }
            Event::IdleTimeout { peer, .. } => {
                lines::idle_closed(&mut out, &PyAddr(*peer));
                closed.set(closed.get() + 1);
            }
            Event::AcceptFailed { error, .. } => {
                lines::error_from(&mut out, &"accept", &error);
            }
            _ => {}
        };
    net.block_on(async {
        sessions
            .serve::<WORKERS, _, _, _, _>(
                |_| EchoSession::new(vec![0u8; chunk]).with_chunk(chunk),
                on,
                stopped,
            )
            .await;
        within(LINGER, listener.closed()).await;
    });
    Ok(())
}
