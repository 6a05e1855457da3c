//! [`ServerConfig`]: how a [`Server`](crate::Server) listens and how much it holds.

use std::time::Duration;

use portsock_std::tcp::TcpListener;

/// How a [`Server`](crate::Server) listens and how much it holds per connection.
///
/// ```
/// use std::time::Duration;
/// use portsock_server::ServerConfig;
///
/// let config = ServerConfig::new()
///     .with_buffer_size(16 * 1024)
///     .with_max_connections(1_000)
///     .with_idle_timeout(Some(Duration::from_secs(60)));
/// assert_eq!(config.backlog(), 4096);
/// assert_eq!(config.chunk(), 16 * 1024); // reads fill the buffer unless told otherwise
/// assert_eq!(config.memory_bound(), 16 * 1024 * 1_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    backlog: u32,
    buffer_size: usize,
    chunk: Option<usize>,
    max_connections: usize,
    nodelay: bool,
    idle_timeout: Option<Duration>,
}

impl ServerConfig {
    /// A session's buffer by default: 64 KiB, a loopback TCP segment's worth, so one read
    /// and one write move a full segment.
    pub const DEFAULT_BUFFER_SIZE: usize = 64 * 1024;
    /// Connections served at once by default; more wait in the listen backlog.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

    /// The defaults: backlog [`TcpListener::LARGE_BACKLOG`], buffers of
    /// [`DEFAULT_BUFFER_SIZE`](Self::DEFAULT_BUFFER_SIZE) read whole,
    /// [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS), `TCP_NODELAY` on, no idle
    /// timeout.
    pub const fn new() -> Self {
        Self {
            backlog: TcpListener::LARGE_BACKLOG,
            buffer_size: Self::DEFAULT_BUFFER_SIZE,
            chunk: None,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            nodelay: true,
            idle_timeout: None,
        }
    }

    /// The listen backlog for listeners the server binds (clamped to `i32::MAX`; the kernel
    /// caps it at `net.core.somaxconn`).
    #[must_use]
    pub const fn with_backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// A session's buffer, in bytes (at least 1): the most the server holds for one
    /// connection. Idle connections hold none; they share one.
    #[must_use]
    pub const fn with_buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = if bytes == 0 { 1 } else { bytes };
        self
    }

    /// The echo reads at most `chunk` bytes at a time (at least 1); the chapter's server
    /// reads 16. (Used by [`EchoServer::new`](crate::EchoServer::new).)
    #[must_use]
    pub const fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = Some(if chunk == 0 { 1 } else { chunk });
        self
    }

    /// Serves at most `max` connections at once (at least 1).
    #[must_use]
    pub const fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = if max == 0 { 1 } else { max };
        self
    }

    /// Whether accepted TCP connections get `TCP_NODELAY`, so an echo leaves at once rather
    /// than waiting for the previous one's ACK (Nagle's algorithm, RFC 896). It is set on the
    /// listening socket, which Linux passes on to the sockets it accepts.
    #[must_use]
    pub const fn with_nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Closes a connection on which nothing was read or written for `timeout` (checked a few
    /// times per timeout, so it closes within 1¼ × `timeout`); `None`, the default, never.
    /// A zero timeout counts as 1 ms.
    #[must_use]
    pub const fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = match timeout {
            Some(t) if t.is_zero() => Some(Duration::from_millis(1)),
            other => other,
        };
        self
    }

    /// The listen backlog.
    pub const fn backlog(&self) -> u32 {
        self.backlog
    }

    /// A session's buffer, in bytes.
    pub const fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// The most one echo read takes: the chunk if one was set, else the whole buffer.
    pub const fn chunk(&self) -> usize {
        match self.chunk {
            Some(chunk) => chunk,
            None => self.buffer_size,
        }
    }

    /// The most connections served at once.
    pub const fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Whether accepted TCP connections get `TCP_NODELAY`.
    pub const fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// How long a connection may be idle before it is closed, if at all.
    pub const fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The most the server's sessions can hold at once, in bytes: `max_connections ×
    /// buffer_size` (plus the one buffer idle sessions share). The kernel's socket buffers
    /// come on top, bounded by `tcp_rmem` / `tcp_wmem`.
    pub const fn memory_bound(&self) -> u64 {
        self.max_connections as u64 * self.buffer_size as u64
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_builder_and_bound() {
        let c = ServerConfig::new();
        assert_eq!(c, ServerConfig::default());
        assert_eq!(c.backlog(), 4096);
        assert_eq!(c.buffer_size(), 64 * 1024);
        assert_eq!(c.chunk(), 64 * 1024);
        assert!(c.nodelay());
        assert_eq!(c.idle_timeout(), None);
        let c = c
            .with_backlog(10)
            .with_buffer_size(0)
            .with_chunk(0)
            .with_max_connections(0)
            .with_nodelay(false)
            .with_idle_timeout(Some(Duration::ZERO));
        assert_eq!(
            (c.backlog(), c.buffer_size(), c.chunk(), c.max_connections()),
            (10, 1, 1, 1)
        );
        assert!(!c.nodelay());
        assert_eq!(c.idle_timeout(), Some(Duration::from_millis(1)));
        let c = ServerConfig::new()
            .with_buffer_size(1 << 20)
            .with_max_connections(1 << 20);
        assert_eq!(c.memory_bound(), 1 << 40);
    }
}
