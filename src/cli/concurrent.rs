//! `portsock echo server --concurrent`: every client at once, on portsock-std's event-driven
//! [`EchoServer`] (one mio loop, an [`EchoSession`](portsock_core::echo::stream::EchoSession)
//! per connection, bounded memory per connection), printing the chapter's server lines for
//! every connection as they happen ([`ChapterLines`]; with several clients they interleave).
//!
//! It stops on SIGINT or SIGTERM, closing every connection, or after `--count` connections
//! have closed.

use std::io;
use std::path::Path;

use portsock_core::echo::stream::SessionEvent;
use portsock_std::server::{
    ChapterLines, Closed, EchoServer, Observer, Peer, ServerConfig, ShutdownHandle,
};
use portsock_std::unix::UnixBindOptions;

use super::CliError;
use super::echo::starting_up;
use super::net::{HostPort, Out};

/// Where the concurrent server listens.
pub(crate) enum Listen<'a> {
    /// TCP, on the resolved address of `--addr`.
    Tcp(&'a HostPort, std::net::SocketAddr),
    /// A Unix socket at `--path`, with `--mode` if given.
    Unix(&'a Path, Option<u32>),
}

/// Serves until a signal, or until `count` connections have closed.
///
/// # Errors
///
/// Binding failed, or the event loop did.
pub(crate) fn serve(
    listen: Listen<'_>,
    chunk: usize,
    count: Option<usize>,
) -> Result<(), CliError> {
    let config = ServerConfig::new().with_chunk(chunk);
    let mut server = EchoServer::new(config).map_err(|e| CliError::new("event loop", e))?;
    let first = match listen {
        Listen::Tcp(hp, addr) => {
            let local = server
                .bind_tcp(addr)
                .map_err(|e| CliError::new("--addr", e))?;
            starting_up(hp, local)
        }
        Listen::Unix(path, mode) => {
            let mut options = UnixBindOptions::new();
            if let Some(mode) = mode {
                options = options.mode(mode);
            }
            server
                .bind_unix_with(path, options)
                .map_err(|e| CliError::new("--path", e))?;
            format!("starting up on {}", path.display())
        }
    };
    server
        .catch_signals()
        .map_err(|e| CliError::new("signals", e))?;
    let mut out = Out::stdout();
    out.line(first);
    out.line("waiting for connections (any number at once)");
    let mut observer = Counting {
        lines: ChapterLines::new(io::stdout()),
        closed: 0,
        limit: count,
        stop: server.shutdown_handle(),
    };
    server
        .run_with(&mut observer)
        .map_err(|e| CliError::new("event loop", e))?;
    Ok(())
}

/// The chapter's lines, and a stop once `limit` connections have closed.
struct Counting {
    lines: ChapterLines<io::Stdout>,
    closed: usize,
    limit: Option<usize>,
    stop: ShutdownHandle,
}

impl Observer for Counting {
    fn accepted(&mut self, id: u64, peer: &Peer) {
        self.lines.accepted(id, peer);
    }

    fn event(&mut self, id: u64, peer: &Peer, event: SessionEvent<'_>) {
        self.lines.event(id, peer, event);
    }

    fn closed(&mut self, id: u64, peer: &Peer, how: Closed<'_>) {
        self.lines.closed(id, peer, how);
        self.closed += 1;
        if self.limit.is_some_and(|n| self.closed >= n) {
            // Waking our own loop cannot fail in a way worth stopping for: the flag is set.
            let _ = self.stop.shutdown();
        }
    }
}
