//! TCP on tokio: [`TcpListener`] and [`TcpStream`], the core's async
//! [`Listener`] and [`Stream`].

use std::io;
use std::net::SocketAddr;

use portsock_core::asynch::transport::{Listener, Shutdown, Stream};

use super::stream::{impl_async_socket, impl_async_stream, shutdown};
use crate::resolve::host_port;
use crate::sock::context;

/// A listening TCP socket on tokio.
#[derive(Debug)]
pub struct TcpListener {
    inner: tokio::net::TcpListener,
}

/// A connected TCP stream on tokio.
#[derive(Debug)]
pub struct TcpStream {
    inner: tokio::net::TcpStream,
    read_shut: bool,
}

impl TcpListener {
    /// Binds `addr` and listens with [`crate::tcp::TcpListener::DEFAULT_BACKLOG`] (128), with
    /// `SO_REUSEADDR` set first, as the blocking [`crate::tcp::TcpListener::bind`] does (the
    /// same code sets it up). Port 0 lets the system choose; read it back with
    /// [`local_addr`](Listener::local_addr).
    ///
    /// # Errors
    ///
    /// As [`crate::tcp::TcpListener::bind`]: the message names `addr`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled, as tokio's `from_std`.
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_with_backlog(addr, crate::tcp::TcpListener::DEFAULT_BACKLOG).await
    }

    /// Binds `addr` and listens with `backlog` pending connections
    /// ([`crate::tcp::TcpListener::LARGE_BACKLOG`] for servers of thousands).
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Panics
    ///
    /// As [`bind`](Self::bind).
    pub async fn bind_with_backlog(addr: SocketAddr, backlog: u32) -> io::Result<Self> {
        let socket = crate::tcp::TcpListener::bind_with_backlog(addr, backlog)?.into_socket();
        Self::from_std(socket.into())
    }

    /// Binds `host` and `port` the way the chapter's servers do: `""` (or `"0.0.0.0"`, `"::"`)
    /// is any address, a name binds its first IPv4 address ([`crate::resolve::bind_addr`],
    /// resolved on tokio's blocking pool).
    ///
    /// # Errors
    ///
    /// Resolution failed (the message names `host:port`), or as [`bind`](Self::bind).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind_host(host: &str, port: u16) -> io::Result<Self> {
        let host = host.to_owned();
        let addr = tokio::task::spawn_blocking(move || crate::resolve::bind_addr(&host, port))
            .await
            .map_err(io::Error::other)??;
        Self::bind(addr).await
    }

    /// Wraps a listening std socket, putting it in non-blocking mode as tokio needs.
    ///
    /// # Errors
    ///
    /// `fcntl(2)` failed, or tokio could not register the socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self {
            inner: tokio::net::TcpListener::from_std(listener)?,
        })
    }

    /// The tokio listener.
    pub fn into_inner(self) -> tokio::net::TcpListener {
        self.inner
    }
}

impl From<tokio::net::TcpListener> for TcpListener {
    fn from(inner: tokio::net::TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for TcpListener {
    type Addr = SocketAddr;
    type Stream<'a> = TcpStream;

    /// Waits for a connection.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection that arrives after the future is dropped waits in the
    /// backlog for the next `accept`.
    async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (inner, peer) = self.inner.accept().await?;
        Ok((TcpStream::from(inner), peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl TcpStream {
    /// Connects to `addr`, waiting as long as the system does (about two minutes on Linux for
    /// an address that does not answer; wrap it in `tokio::time::timeout` to wait less).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt (the half-open socket is closed).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused`, `TimedOut` and the like, with a message naming `addr`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let inner = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| context(e, format!("connect {addr}")))?;
        Ok(Self::from(inner))
    }

    /// Python's `socket.create_connection((host, port))`, awaited: resolves `host` with the
    /// system resolver on tokio's blocking pool ([`crate::resolve::resolve`], in the
    /// resolver's order) and connects to the first address that accepts.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt (a resolution already started finishes on
    /// the blocking pool, unused).
    ///
    /// # Errors
    ///
    /// Resolution failed ("cannot resolve host:port: ..."), or the last address's error, its
    /// message naming `host:port` and that address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn create_connection(host: &str, port: u16) -> io::Result<Self> {
        let name = host.to_owned();
        let addrs = tokio::task::spawn_blocking(move || crate::resolve::resolve(&name, port))
            .await
            .map_err(io::Error::other)??;
        let mut last = None;
        for addr in &addrs {
            match Self::connect(*addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        });
        Err(context(e, host_port(host, port)))
    }

    /// Wraps a connected std stream, putting it in non-blocking mode as tokio needs.
    ///
    /// # Errors
    ///
    /// `fcntl(2)` failed, or tokio could not register the socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self::from(tokio::net::TcpStream::from_std(stream)?))
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off: small writes leave at once).
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }
}

impl Stream for TcpStream {
    type Addr = SocketAddr;

    /// `shutdown(2)`; after [`Shutdown::Read`] (or `Both`) every read is end of stream,
    /// whatever the kernel still holds, as the blocking stream's.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it completes at its first poll.
    async fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        shutdown(&self.inner, how)?;
        self.read_shut |= matches!(how, Shutdown::Read | Shutdown::Both);
        Ok(())
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

impl_async_socket!(TcpListener, tokio::net::TcpListener);
impl_async_stream!(TcpStream, tokio::net::TcpStream);
