//! `--concurrent`: every client at once, on portsock-server's event-driven [`Server`] (one
//! mio loop, a session per connection, no buffer for an idle one) or, with `--runtime tokio`,
//! its [`TokioServer`](portsock_server::tokio::TokioServer) (a task per connection, on
//! tokio's multi-threaded runtime; `concurrent/tokio.rs`): `echo server` with an
//! [`EchoSession`](portsock_core::echo::stream::EchoSession) per connection, `binary receive`
//! with a [`RecordReceiver`]. Both print the same lines. It prints the chapter's lines for every connection as they
//! happen (with several clients they interleave), or with `--quiet` only errors and a
//! summary at the end; the lines go through a [`Printer`], so a stdout nobody reads never
//! stalls the clients (lines that cannot be written are dropped, and counted on stderr).
//!
//! It stops on SIGINT or SIGTERM, closing every connection, or after `--count` connections
//! have closed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;

use portsock_core::record::RecordReceiver;
use portsock_core::wire::structfmt::Format;
use portsock_server::{
    EchoServer, NewSession, Observer, Server, ServerConfig, ShutdownHandle, Stopped,
};
use portsock_std::unix::UnixBindOptions;

use super::CliError;
use super::echo::listening;
use super::lines::{self, ServerLines, StartingUp};
use super::net::{HostPort, Out, seconds};
use super::printer::Printer;

#[cfg(feature = "tokio")]
#[path = "concurrent/tokio.rs"]
mod on_tokio;

/// How long the server waits at exit for a stdout that takes nothing before it gives the
/// rest of its lines up (long enough for a reader on a busy machine to be scheduled, short
/// enough that a stdout nobody reads delays no stop noticeably).
pub(crate) const STDOUT_PATIENCE: Duration = Duration::from_millis(250);

/// Where the concurrent server listens.
pub(crate) enum Listen<'a> {
    /// TCP, on the resolved address of `--addr`.
    Tcp(&'a HostPort, std::net::SocketAddr),
    /// A Unix socket at `--path`, with `--mode` if given.
    Unix(&'a Path, Option<u32>),
}

/// Which runtime serves `--concurrent` (`--runtime`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Runtime {
    /// portsock-server's own event loop: one thread, mio (epoll), no buffer for an idle
    /// connection (for UDP: the blocking socket).
    #[default]
    Mio,
    /// tokio's multi-threaded runtime, a task per connection (the same sessions, run by the
    /// core's async driver over portsock-std's tokio sockets).
    Tokio,
}

impl Runtime {
    /// Checks `--runtime`: it chooses how `--concurrent` serves (or a UDP server, or the
    /// multicast receiver: `applies`), so it needs it.
    pub(crate) fn check(given: Option<Self>, applies: bool) -> Result<Self, CliError> {
        match given {
            Some(_) if !applies => Err(CliError::new(
                "--runtime",
                "applies to --concurrent, --proto udp and multicast receive (the one-at-a-time \
                 stream server has no runtime to choose)",
            )),
            Some(Self::Tokio) if !cfg!(feature = "tokio") => Err(CliError::new(
                "--runtime tokio",
                "this portsock was built without the tokio feature",
            )),
            given => Ok(given.unwrap_or_default()),
        }
    }
}

/// The options every `--concurrent` server takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// `--runtime`.
    pub(crate) runtime: Runtime,
    /// Stop after this many connections have closed.
    pub(crate) count: Option<usize>,
    /// `--quiet`: the first lines, errors and a summary only.
    pub(crate) quiet: bool,
    /// `--idle-timeout`.
    pub(crate) idle_timeout: Option<Duration>,
}

impl Options {
    /// Checks `--idle-timeout SECONDS`.
    pub(crate) fn idle_timeout(secs: Option<&str>) -> Result<Option<Duration>, CliError> {
        secs.map(|s| seconds("--idle-timeout", s)).transpose()
    }

    fn config(&self) -> ServerConfig {
        ServerConfig::new().with_idle_timeout(self.idle_timeout)
    }
}

/// The echo server: serves until a signal, or until `--count` connections have closed.
///
/// # Errors
///
/// Binding failed, or the event loop did.
pub(crate) fn serve(listen: Listen<'_>, chunk: usize, options: Options) -> Result<(), CliError> {
    #[cfg(feature = "tokio")]
    if options.runtime == Runtime::Tokio {
        return on_tokio::serve(listen, chunk, options);
    }
    let server = EchoServer::new(options.config().with_chunk(chunk))
        .map_err(|e| CliError::new("event loop", e))?;
    run(server, listen, options, true)
}

/// `binary receive --concurrent`: a [`RecordReceiver`] of one `fmt` record per connection.
///
/// # Errors
///
/// Binding failed, or the event loop did.
pub(crate) fn serve_records(
    hp: &HostPort,
    addr: std::net::SocketAddr,
    fmt: Format<'static>,
    options: Options,
) -> Result<(), CliError> {
    #[cfg(feature = "tokio")]
    if options.runtime == Runtime::Tokio {
        return on_tokio::serve_records(hp, addr, fmt, options);
    }
    let template = record_template(fmt)?;
    let config = options.config().with_buffer_size(fmt.size());
    let server = Server::with_sessions(config, move || template.clone())
        .map_err(|e| CliError::new("event loop", e))?;
    run(server, Listen::Tcp(hp, addr), options, hp.port == 0)
}

/// Binds, prints the first lines (`starting up on ...` if `announce`), serves, and prints
/// the summary (`--quiet`).
fn run<N>(
    mut server: Server<N>,
    listen: Listen<'_>,
    options: Options,
    announce: bool,
) -> Result<(), CliError>
where
    N: NewSession,
    ServerLines<ShutdownHandle>: Observer<N::Session>,
{
    let first = bind(&mut server, listen)?;
    server
        .catch_signals()
        .map_err(|e| CliError::new("signals", e))?;
    first_lines(&first, announce);
    let mut observer = options.lines(server.shutdown_handle())?;
    let stopped = server
        .run_with(&mut observer)
        .map_err(|e| CliError::new("event loop", e));
    finish(observer.out, stopped.as_ref().ok(), options);
    stopped.map(drop)
}

/// A [`RecordReceiver`] of one `fmt` record, the template each connection's session is cloned
/// from. It starts without a buffer: the server lends each session one of the record's size.
fn record_template(fmt: Format<'static>) -> Result<RecordReceiver<'static, Box<[u8]>>, CliError> {
    let record = vec![0u8; fmt.size()].into_boxed_slice();
    let mut template = RecordReceiver::new(fmt, record).map_err(|e| CliError::new("format", e))?;
    let _ = template.replace_buffer(Box::default());
    Ok(template)
}

/// A server's two ways to listen, for [`bind`]: the mio server's and the tokio server's.
trait Bind {
    fn tcp(&mut self, addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr>;
    fn unix(&mut self, path: &Path, options: UnixBindOptions) -> std::io::Result<()>;
}

impl<N: NewSession> Bind for Server<N> {
    fn tcp(&mut self, addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr> {
        self.bind_tcp(addr)
    }

    fn unix(&mut self, path: &Path, options: UnixBindOptions) -> std::io::Result<()> {
        self.bind_unix_with(path, options)
    }
}

/// Binds `server` where `listen` says (errors name `--addr` or `--path`); its `starting up on
/// ...` line.
fn bind(server: &mut impl Bind, listen: Listen<'_>) -> Result<StartingUp, CliError> {
    Ok(match listen {
        Listen::Tcp(hp, addr) => {
            let local = server.tcp(addr).map_err(|e| CliError::new("--addr", e))?;
            listening(hp, local)
        }
        Listen::Unix(path, mode) => {
            let (first, options) = unix_bind(path, mode);
            server
                .unix(path, options)
                .map_err(|e| CliError::new("--path", e))?;
            first
        }
    })
}

/// The first lines of every `--concurrent` server: `starting up on ...` (if `announce`) and
/// `waiting for connections (any number at once)`.
fn first_lines(first: &StartingUp, announce: bool) {
    let mut out = Out::stdout();
    first.print(&mut out, announce);
    out.line("waiting for connections (any number at once)");
}

/// The `starting up on PATH` line of a Unix server, and its bind options.
fn unix_bind(path: &Path, mode: Option<u32>) -> (StartingUp, UnixBindOptions) {
    let mut bind = UnixBindOptions::new();
    if let Some(mode) = mode {
        bind = bind.mode(mode);
    }
    (StartingUp::unix(path), bind)
}

impl Options {
    /// The observer that prints the chapter's lines, stopping the server through `stop`.
    fn lines<H>(&self, stop: H) -> Result<ServerLines<H>, CliError> {
        Ok(ServerLines {
            out: Printer::stdout().map_err(|e| CliError::new("stdout", e))?,
            quiet: self.quiet,
            closed: Arc::default(),
            limit: self.count,
            stop,
        })
    }
}

/// Prints the summary (`--quiet`) of a server that `stopped`, waits for stdout, and says on
/// stderr how many lines it dropped.
fn finish(mut printer: Printer, stopped: Option<&Stopped>, options: Options) {
    if let Some(stopped) = stopped
        && (options.quiet || super::jsonl::on())
    {
        lines::summary(&mut printer, &stopped.stats, stopped.ran);
    }
    let dropped = printer.finish(STDOUT_PATIENCE);
    if dropped > 0 {
        eprintln!("portsock: {dropped} lines of output dropped: stdout did not take them");
    }
}
