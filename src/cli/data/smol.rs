//! The data mode on the smoltcp userspace stack (`--backend smoltcp`, over a TAP device with
//! its pcap and fault options): `nc` on a stack of our own.
//!
//! The stack is single-threaded, so one loop owns it and the connection (non-blocking), while
//! a thread reads stdin and another writes stdout, handing chunks over bounded channels: a
//! peer that sends faster than stdout takes fills the channel and then the stack's window,
//! and a stdin faster than the peer takes waits in its channel. UDP (`-u`) is
//! [`smol_udp`](super::smol_udp); a Unix socket is the OS's.

use std::io::{self, IsTerminal as _, Write as _};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread;
use std::time::Instant;

use portsock_core::time::{Clock as _, Duration};
use portsock_core::transport::{
    Blocking as _, Listener as _, Read as _, Shutdown, Stream as _, Write as _,
};
use portsock_smoltcp::{TcpError, TcpListener, TcpStream};
use serde_json::json;

use super::feed::{DRAIN, Next, StdinFeed, stdin_chunks};
use super::report::{Reporter, Transfer};
use super::{Session, Target};
use crate::cli::CliError;
use crate::cli::net::BackendArg;
use crate::cli::smol::{self as stack_cli, SmolStack};

/// Bytes per stdin read and per socket read.
const CHUNK: usize = 64 * 1024;
/// Chunks queued between the stack's loop and stdin / stdout.
const QUEUED: usize = 16;
/// How often the loop looks at stdin's channel while it has nothing else to wait for.
const STDIN_TICK: Duration = Duration::from_millis(2);

/// `connect` or `listen` on the stack `backend` describes.
pub(crate) fn run(backend: &BackendArg, session: &Session, listen: bool) -> Result<(), CliError> {
    let hp = match &session.target {
        Target::Net(hp) if session.udp => {
            return super::smol_udp::run(backend, session, hp, listen);
        }
        Target::Net(hp) => hp,
        Target::Unix(_) => {
            return Err(CliError::new(
                "-U",
                "Unix sockets are the OS's: use --backend std",
            ));
        }
    };
    let stack = stack_cli::stack(backend)?;
    let mut reporter = Reporter::new(session.report);
    let result = if listen {
        let addr = stack_cli::bind_addr(&stack, hp, "[HOST:]PORT")?;
        let addr = session.family.stack_listen_addr(addr);
        serve(&stack, &mut reporter, session, addr)
    } else {
        let peer = stack_cli::peer_addr(&stack, hp, "HOST:PORT")?;
        if !session.family.allows(peer.ip()) {
            return Err(CliError::new(
                format_args!("HOST:PORT {peer}"),
                "is not of the family -4 / -6 asks for",
            ));
        }
        let timeout = Duration::from(session.timeout);
        let stream = TcpStream::connect(&stack, peer, Some(timeout))
            .map_err(|e| CliError::new(format_args!("{}:{}", hp.host, hp.port), e))?;
        let local = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let peer_text = peer.to_string();
        reporter.event(
            "connected",
            || format!("connected to {peer_text}"),
            json!({ "peer": peer_text, "local": local }),
        );
        let result = session_on(&stack, &mut reporter, stream, &peer_text, None);
        reporter.done();
        result
    };
    stack_cli::linger(&stack);
    result
}

/// Accepts one client, or client after client with `-k` (stdin shared by them: see
/// [`StdinFeed`]).
fn serve(
    stack: &SmolStack,
    reporter: &mut Reporter,
    session: &Session,
    addr: std::net::SocketAddr,
) -> Result<(), CliError> {
    if addr.port() == 0 {
        return Err(CliError::new(
            "[HOST:]PORT 0",
            "the smoltcp stack listens on a port you choose (1 to 65535)",
        ));
    }
    let mut listener = TcpListener::bind(stack, addr, stack_cli::BACKLOG)
        .map_err(|e| CliError::new(format_args!("listen {addr}"), e))?;
    let shown = listener.local_addr_ip().to_string();
    reporter.listening(&shown);
    let mut feed = session.keep.then(StdinFeed::start);
    loop {
        let (stream, from) = listener.accept().map_err(|e| CliError::new("accept", e))?;
        let peer = from.to_string();
        reporter.client(&peer);
        let result = session_on(stack, reporter, stream, &peer, feed.as_mut());
        if let Some(end) = reporter.client_done(result, session.keep) {
            return end;
        }
    }
}

type Stream<'s> = TcpStream<
    's,
    'static,
    portsock_smoltcp::Wrapped<portsock_smoltcp::smoltcp::phy::TunTapInterface>,
    portsock_smoltcp::StdPlatform,
>;

fn session_on(
    stack: &SmolStack,
    reporter: &mut Reporter,
    stream: Stream<'_>,
    peer: &str,
    shared: Option<&mut StdinFeed>,
) -> Result<(), CliError> {
    let transfer = reporter.session();
    let result = pump(stack, reporter, &transfer, stream, peer, shared);
    reporter.finish(transfer);
    result
}

/// Both directions of one connection, until both have ended. With `shared` (`listen -k`),
/// stdin comes from the feed all clients share, and the session ends at the peer's end of
/// stream: what this client was not sent goes to the next one.
fn pump(
    stack: &SmolStack,
    reporter: &Reporter,
    transfer: &Transfer,
    mut stream: Stream<'_>,
    peer: &str,
    mut shared: Option<&mut StdinFeed>,
) -> Result<(), CliError> {
    let fail = |e: TcpError| CliError::new(peer, e);
    stream.set_nonblocking(true).map_err(fail)?;
    let keep = shared.is_some();
    let stdin = (!keep).then(|| stdin_chunks(CHUNK, QUEUED));
    let (to_stdout, writer) = stdout_writer();
    let counters = &transfer.counters;
    let mut pending: Option<(Vec<u8>, usize)> = None;
    let mut stdin_done = false;
    let mut stdin_failed = None;
    let mut peer_done = false;
    let mut buf = vec![0u8; CHUNK];
    let stdin_tty = io::stdin().is_terminal();
    // -k: after the peer's end, what stdin already has is still sent, for up to DRAIN.
    let mut stdin_ready = false;
    let mut drain_until = None;
    // Until both have ended, or the peer has and stdin is a terminal (nothing is piped there),
    // or with -k the peer has (and stdin's queue is sent).
    while !peer_done
        || (!stdin_done && !stdin_tty && !keep)
        || (!stdin_done && stdin_ready && drain_until.is_some_and(|t| Instant::now() < t))
    {
        let mut progress = false;
        // The shared stdin -> the connection (-k).
        if let Some(feed) = shared.as_deref_mut().filter(|_| !stdin_done) {
            let next = feed.next(None);
            stdin_ready = matches!(next, Ok(Next::Bytes(_)));
            match next {
                Ok(Next::Bytes(bytes)) => match stream.write(bytes) {
                    Ok(n) => {
                        feed.consumed(n);
                        progress = true;
                        counters
                            .sent
                            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(TcpError::WouldBlock) => {}
                    // The client left: the rest is the next one's.
                    Err(_) => stdin_done = true,
                },
                Ok(Next::Idle) => {}
                Ok(Next::Ended) => {
                    stream.shutdown(Shutdown::Write).map_err(fail)?;
                    stdin_done = true;
                    progress = true;
                    reporter.stdin_ended();
                }
                Err(e) => {
                    stream.shutdown(Shutdown::Write).map_err(fail)?;
                    stdin_done = true;
                    stdin_failed = Some(CliError::new(format_args!("stdin -> {peer}"), e));
                }
            }
        }
        // Stdin -> the connection.
        if !stdin_done && !keep && pending.is_none() {
            match stdin.as_ref().map(Receiver::try_recv) {
                Some(Ok(Ok(chunk))) => pending = Some((chunk, 0)),
                Some(Ok(Err(e))) => return Err(CliError::new(format_args!("stdin -> {peer}"), e)),
                Some(Err(TryRecvError::Empty)) => {}
                Some(Err(TryRecvError::Disconnected)) | None => {
                    stream.shutdown(Shutdown::Write).map_err(fail)?;
                    stdin_done = true;
                    progress = true;
                    reporter.stdin_ended();
                }
            }
        }
        if let Some((chunk, at)) = &mut pending {
            match stream.write(&chunk[*at..]) {
                Ok(n) => {
                    *at += n;
                    progress = true;
                    counters
                        .sent
                        .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    if *at == chunk.len() {
                        pending = None;
                    }
                }
                Err(TcpError::WouldBlock) => {}
                Err(e) => return Err(CliError::new(format_args!("stdin -> {peer}"), e)),
            }
        }
        // The connection -> stdout.
        if !peer_done {
            match stream.read(&mut buf) {
                Ok(0) => {
                    peer_done = true;
                    progress = true;
                    drain_until = Some(Instant::now() + DRAIN);
                    reporter.peer_ended(peer);
                }
                Ok(n) => {
                    progress = true;
                    if to_stdout.send(buf[..n].to_vec()).is_err() {
                        // The writer stopped: its error is reported below.
                        break;
                    }
                    counters
                        .received
                        .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                }
                Err(TcpError::WouldBlock) => {}
                Err(e) => return Err(CliError::new(format_args!("{peer} -> stdout"), e)),
            }
        }
        if !progress {
            // Frames and timers wake the stack; stdin's channel does not, so look again soon
            // while it may bring something.
            let waiting_for_stdin = !stdin_done && (keep || pending.is_none());
            stack.wait(waiting_for_stdin.then(|| stack.now() + STDIN_TICK));
        }
    }
    drop(stream);
    drop(to_stdout);
    match writer.join() {
        Ok(result) => result.map_err(|e| CliError::new(format_args!("{peer} -> stdout"), e))?,
        Err(_) => return Err(CliError::new("stdout", "the writing thread failed")),
    }
    stdin_failed.map_or(Ok(()), Err)
}

/// A thread writing what it is sent to stdout, until the sender is dropped.
pub(super) fn stdout_writer() -> (SyncSender<Vec<u8>>, thread::JoinHandle<io::Result<()>>) {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUED);
    let handle = thread::spawn(move || {
        let mut stdout = io::stdout().lock();
        for chunk in rx {
            stdout.write_all(&chunk)?;
            stdout.flush()?;
        }
        Ok(())
    });
    (tx, handle)
}
