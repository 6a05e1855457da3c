//! The data mode on embassy-net (`--backend embassy`, over a TAP device with `--pcap`): TCP
//! through portsock-embassy's listener and connector; UDP (`-u`) is
//! [`embassy_udp`](super::embassy_udp).
//!
//! The command runs as one future beside the stack's runner ([`EmbassyNet::block_on`], on
//! async-io). Stdin and stdout reach it through Unix socket pairs that a thread on the other
//! side fills from stdin or empties into stdout (with [`pump::copy`]), so the future waits for
//! them on async-io's reactor like for the TAP. Both directions run at once on the socket's
//! two halves; when one ends, the other is dropped mid-wait and resumed alone: every buffer
//! and position lives outside the futures, and embassy-net's reads and writes, like the
//! reactor's, take or give bytes only in the poll that completes them, so nothing is lost.

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};

use async_io::Async;
use embassy_net::tcp::{TcpReader, TcpWriter};
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::transport::Listener as _;
use portsock_embassy::{TcpConnector, TcpListener, TcpStream};
use serde_json::json;

use super::feed::DRAIN;
use super::report::{Reporter, Transfer};
use super::{Session, Target, pump};
use crate::cli::CliError;
use crate::cli::embassy::{EmbassyNet, LINGER, tcp_resources};
use crate::cli::net::BackendArg;

/// Listening sockets of `listen`'s pool.
const BACKLOG: usize = 2;
/// Bytes per read on each side.
const CHUNK: usize = 16 * 1024;

/// `connect` or `listen` on the embassy stack `backend` describes.
pub(crate) fn run(backend: &BackendArg, session: &Session, listen: bool) -> Result<(), CliError> {
    let hp = match &session.target {
        Target::Net(hp) if session.udp => {
            return super::embassy_udp::run(backend, session, hp, listen);
        }
        Target::Net(hp) => hp,
        Target::Unix(_) => {
            return Err(CliError::new(
                "-U",
                "Unix sockets are the OS's: use --backend std",
            ));
        }
    };
    let net = crate::cli::embassy::stack(backend)?;
    let mut reporter = Reporter::new(session.report);
    if listen {
        let addr = net.bind_addr(hp, "[HOST:]PORT")?;
        let addr = session.family.stack_listen_addr(addr);
        let listener = TcpListener::new(net.stack(), addr, tcp_resources::<BACKLOG>())
            .map_err(|e| CliError::new(format_args!("[HOST:]PORT {addr}"), e))?;
        let shown = addr.to_string();
        reporter.listening(&shown);
        // -k: stdin shared by the clients (see `pump`), read once for the whole run.
        let mut shared = if session.keep {
            Some(StdinSide::start().map_err(|e| CliError::new("stdin", e))?)
        } else {
            None
        };
        return net.block_on(async {
            loop {
                let (mut stream, from) = listener
                    .accept()
                    .await
                    .map_err(|e| CliError::new("accept", e))?;
                let peer = from.to_string();
                reporter.client(&peer);
                let transfer = reporter.session();
                let result = match shared.as_mut() {
                    Some(stdin) => {
                        pump(&reporter, &transfer, &mut stream, &peer, stdin, true).await
                    }
                    None => match StdinSide::start() {
                        Ok(mut stdin) => {
                            pump(&reporter, &transfer, &mut stream, &peer, &mut stdin, false).await
                        }
                        Err(e) => Err(CliError::new("stdin", e)),
                    },
                };
                reporter.finish(transfer);
                if let Some(end) = reporter.client_done(result, session.keep) {
                    return end;
                }
            }
        });
    }
    let peer = net.peer_addr(hp, "HOST:PORT")?;
    if !session.family.allows(peer.ip()) {
        return Err(CliError::new(
            format_args!("HOST:PORT {peer}"),
            "is not of the family -4 / -6 asks for",
        ));
    }
    connect(&net, &mut reporter, session, peer)
}

fn connect(
    net: &EmbassyNet,
    reporter: &mut Reporter,
    session: &Session,
    peer: SocketAddr,
) -> Result<(), CliError> {
    let millis = u64::try_from(session.timeout.as_millis()).unwrap_or(u64::MAX);
    let connector = TcpConnector::new(net.stack(), tcp_resources::<1>())
        .with_timeout(embassy_time::Duration::from_millis(millis));
    net.block_on(async {
        let mut stream = connector
            .connect(peer)
            .await
            .map_err(|e| CliError::new(format_args!("HOST:PORT {peer}"), e))?;
        let shown = peer.to_string();
        reporter.event(
            "connected",
            || format!("connected to {shown}"),
            json!({ "peer": shown }),
        );
        let transfer = reporter.session();
        let mut stdin = StdinSide::start().map_err(|e| CliError::new("stdin", e))?;
        let result = pump(reporter, &transfer, &mut stream, &shown, &mut stdin, false).await;
        reporter.finish(transfer);
        reporter.done();
        result
    })
}

/// A buffer, how much of it is filled, how much of that has been passed on.
struct Half {
    buf: Vec<u8>,
    len: usize,
    at: usize,
}

impl Half {
    fn new() -> Self {
        Self {
            buf: vec![0u8; CHUNK],
            len: 0,
            at: 0,
        }
    }
}

/// Stdin as the command's future reads it: a socket pair a thread fills from stdin, the chunk
/// being sent, and whether stdin has ended (all of it sent).
struct StdinSide {
    pair: Async<UnixStream>,
    thread: Option<JoinHandle<io::Result<()>>>,
    half: Half,
    ended: bool,
}

impl StdinSide {
    fn start() -> io::Result<Self> {
        let (ours, theirs) = UnixStream::pair()?;
        let handle = thread::spawn(move || {
            let result = pump::copy(io::stdin().as_fd(), theirs.as_fd(), &AtomicU64::new(0));
            drop(theirs);
            result.map(drop)
        });
        Ok(Self {
            pair: Async::new(ours)?,
            thread: Some(handle),
            half: Half::new(),
            ended: false,
        })
    }
}

/// Both directions of one connection, until both have ended (or the peer's end, when stdin
/// is a terminal); then the connection closes in order. With `keep` (`listen -k`) `stdin` is
/// shared by the clients: the session ends at the peer's end of stream, a client that leaves
/// leaves what it was not sent to the next one, and once stdin has ended each client is sent
/// its end of stream at once.
async fn pump(
    reporter: &Reporter,
    transfer: &Transfer,
    stream: &mut TcpStream<'_, '_>,
    peer: &str,
    stdin: &mut StdinSide,
    keep: bool,
) -> Result<(), CliError> {
    let fail = |e: io::Error| CliError::new(peer, e);
    if stdin.ended {
        stream.socket().close();
        reporter.stdin_ended();
    }
    let (stdout, stdout_thread) = stdout_pipe().map_err(fail)?;
    let counters = &transfer.counters;
    let mut receiving = Half::new();
    let mut stdin_done = stdin.ended;
    let mut peer_done = false;
    let stdin_tty = io::stdin().is_terminal();
    // Until both have ended, or the peer has and stdin is a terminal, or with -k the peer has.
    while !peer_done || (!stdin_done && !stdin_tty && !keep) {
        let (mut reader, mut writer) = stream.socket().split();
        let (receiving, sending, stdout) = (&mut receiving, &mut stdin.half, &stdout);
        let pair = Some(&stdin.pair).filter(|_| !stdin_done);
        let recv = async move {
            if peer_done {
                core::future::pending().await
            } else {
                receive(&mut reader, stdout, receiving, &counters.received).await
            }
        };
        let send = async move {
            match pair {
                Some(pair) => send(&mut writer, pair, sending, &counters.sent).await,
                None => core::future::pending().await,
            }
        };
        let outcome = first(recv, send).await;
        match outcome {
            Either::First(result) => {
                result.map_err(|e| CliError::new(format_args!("{peer} -> stdout"), e))?;
                peer_done = true;
                reporter.peer_ended(peer);
            }
            // -k: a client that left leaves the rest to the next one.
            Either::Second(Err(_)) if keep => stdin_done = true,
            Either::Second(result) => {
                result.map_err(|e| CliError::new(format_args!("stdin -> {peer}"), e))?;
                stdin_done = true;
                stdin.ended = true;
                // embassy-net's close is a half-close: the FIN follows what is queued.
                stream.socket().close();
                reporter.stdin_ended();
            }
        }
    }
    if keep && !stdin_done {
        // The client's end, as `nc -l`: what stdin already has is still sent to it (for up to
        // DRAIN); the rest waits for the next client.
        let (_, mut writer) = stream.socket().split();
        let drained = first(
            drain(&mut writer, stdin, &counters.sent),
            embassy_time::Timer::after(embassy_time::Duration::from_millis(
                DRAIN.as_millis() as u64
            )),
        )
        .await;
        if let Either::First(Ok(true)) = drained {
            stdin.ended = true;
            stream.socket().close();
            reporter.stdin_ended();
        }
    }
    // Everything sent, and acknowledged, before the process may exit.
    let socket = stream.socket();
    let _ = first(socket.flush(), embassy_time::Timer::after(LINGER)).await;
    drop(stdout);
    if stdin.ended
        && let Some(handle) = stdin.thread.take()
    {
        let _ = handle.join();
    }
    match stdout_thread.join() {
        Ok(result) => result.map_err(|e| CliError::new(format_args!("{peer} -> stdout"), e)),
        Err(_) => Err(CliError::new("stdout", "the writing thread failed")),
    }
}

/// The connection's bytes to stdout's pair until the peer's end of stream.
async fn receive(
    reader: &mut TcpReader<'_>,
    stdout: &Async<UnixStream>,
    half: &mut Half,
    count: &AtomicU64,
) -> io::Result<()> {
    loop {
        if half.at < half.len {
            let n = stdout
                .write_with(|mut s| s.write(&half.buf[half.at..half.len]))
                .await?;
            half.at += n;
            count.fetch_add(n as u64, Ordering::Relaxed);
            continue;
        }
        let n = reader
            .read(&mut half.buf)
            .await
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        if n == 0 {
            return Ok(());
        }
        (half.len, half.at) = (n, 0);
    }
}

/// Stdin's pair to the connection until stdin's end.
async fn send(
    writer: &mut TcpWriter<'_>,
    stdin: &Async<UnixStream>,
    half: &mut Half,
    count: &AtomicU64,
) -> io::Result<()> {
    loop {
        write_held(writer, half, count).await?;
        let n = stdin.read_with(|mut s| s.read(&mut half.buf)).await?;
        if n == 0 {
            return Ok(());
        }
        (half.len, half.at) = (n, 0);
    }
}

/// Writes to the connection what `half` holds, all of it.
async fn write_held(
    writer: &mut TcpWriter<'_>,
    half: &mut Half,
    count: &AtomicU64,
) -> io::Result<()> {
    while half.at < half.len {
        let n = writer
            .write(&half.buf[half.at..half.len])
            .await
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        half.at += n;
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Sends what stdin has ready, without waiting for more: whether stdin has ended.
async fn drain(
    writer: &mut TcpWriter<'_>,
    stdin: &mut StdinSide,
    count: &AtomicU64,
) -> io::Result<bool> {
    let half = &mut stdin.half;
    loop {
        write_held(writer, half, count).await?;
        // The pair is non-blocking (async-io's): nothing there now is the end of the drain.
        match stdin.pair.get_ref().read(&mut half.buf) {
            Ok(0) => return Ok(true),
            Ok(n) => (half.len, half.at) = (n, 0),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A pair whose other end a thread copies to stdout, until ours is dropped.
pub(super) fn stdout_pipe() -> io::Result<(Async<UnixStream>, JoinHandle<io::Result<()>>)> {
    let (ours, theirs) = UnixStream::pair()?;
    let handle = thread::spawn(move || {
        pump::copy(theirs.as_fd(), io::stdout().as_fd(), &AtomicU64::new(0)).map(drop)
    });
    Ok((Async::new(ours)?, handle))
}
