//! `--concurrent --runtime tokio`: the same sessions and lines as the mio server, on
//! portsock-server's [`TokioServer`] (a task per connection, tokio's multi-threaded runtime).
//! Each connection's task prints through its own clone of the observer (its own batch of
//! lines for the one stdout writer), so the lines are those of the mio server.

use portsock_core::wire::structfmt::Format;
use portsock_server::tokio::{TokioServer, TokioShutdownHandle};
use portsock_server::{NewSession, Observer, ServerConfig};
use portsock_std::unix::UnixBindOptions;

use super::super::CliError;
use super::super::lines::ServerLines;
use super::super::net::HostPort;
use super::{Bind, Listen, Options, bind, finish, first_lines, record_template};

/// The echo server on tokio.
///
/// # Errors
///
/// Binding failed, or starting the runtime did.
pub(super) fn serve(listen: Listen<'_>, chunk: usize, options: Options) -> Result<(), CliError> {
    let server = TokioServer::new(options.config().with_chunk(chunk));
    run(server, listen, options, true)
}

/// `binary receive --concurrent --runtime tokio`: a [`RecordReceiver`] of one `fmt` record per
/// connection, each with a buffer of the record's size.
///
/// # Errors
///
/// Binding failed, or starting the runtime did.
pub(super) fn serve_records(
    hp: &HostPort,
    addr: std::net::SocketAddr,
    fmt: Format<'static>,
    options: Options,
) -> Result<(), CliError> {
    let template = record_template(fmt)?;
    let config: ServerConfig = options.config().with_buffer_size(fmt.size());
    let server = TokioServer::with_sessions(config, move || template.clone());
    run(server, Listen::Tcp(hp, addr), options, hp.port == 0)
}

/// Binds, prints the first lines, serves until a signal or `--count`, and prints the summary
/// (`--quiet`): as the mio server's `run`.
fn run<N>(
    mut server: TokioServer<N>,
    listen: Listen<'_>,
    options: Options,
    announce: bool,
) -> Result<(), CliError>
where
    N: NewSession + Clone + Send + 'static,
    N::Session: Send + 'static,
    ServerLines<TokioShutdownHandle>: Observer<N::Session>,
{
    let first = bind(&mut server, listen)?;
    server.catch_signals();
    first_lines(&first, announce);
    let lines = options.lines(server.shutdown_handle())?;
    let template = lines.clone();
    let stopped = server
        .run_with(move || template.clone())
        .map_err(|e| CliError::new("runtime", e));
    finish(lines.out, stopped.as_ref().ok(), options);
    stopped.map(drop)
}

impl<N> Bind for TokioServer<N>
where
    N: NewSession + Clone + Send + 'static,
    N::Session: Send + 'static,
{
    fn tcp(&mut self, addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr> {
        self.bind_tcp(addr)
    }

    fn unix(&mut self, path: &std::path::Path, options: UnixBindOptions) -> std::io::Result<()> {
        self.bind_unix_with(path, options).map(drop)
    }
}
