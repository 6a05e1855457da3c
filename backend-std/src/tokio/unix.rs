//! Unix stream sockets on tokio: [`UnixListener`] and [`UnixStream`], with
//! [`UnixAddr`] as their address.
//!
//! Binding is the blocking [`crate::unix::UnixListener::bind_with`]'s, unchanged: a stale
//! socket file is removed and nothing else, the path length is checked before any system call,
//! the mode is applied after `bind(2)`, and the listener keeps the [`SocketNode`] it created so
//! that [`remove_node`](UnixListener::remove_node) unlinks the path only while it still names
//! that node. As with the blocking listener (and std's, and tokio's), nothing is removed on
//! drop: call it when the server is done.

use std::io;
use std::os::unix::net::SocketAddr as StdUnixAddr;
use std::path::Path;

use portsock_core::asynch::transport::{Listener, Shutdown, Stream};
use socket2::SockRef;

use super::stream::{impl_async_socket, impl_async_stream, shutdown};
use crate::sock::context;
use crate::unix::{SocketNode, UnixAddr, UnixBindOptions, check_path};

/// A listening Unix stream socket on tokio.
#[derive(Debug)]
pub struct UnixListener {
    inner: tokio::net::UnixListener,
    node: Option<SocketNode>,
}

/// A connected Unix stream socket on tokio.
#[derive(Debug)]
pub struct UnixStream {
    inner: tokio::net::UnixStream,
    read_shut: bool,
}

impl UnixListener {
    /// Binds `path` with the default [`UnixBindOptions`] (stale socket file removed, backlog
    /// 128) and listens.
    ///
    /// # Errors
    ///
    /// As [`crate::unix::UnixListener::bind_with`]: messages name the path.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::bind_with(path, UnixBindOptions::new()).await
    }

    /// Binds `path` as `options` say and listens.
    ///
    /// # Errors
    ///
    /// As [`crate::unix::UnixListener::bind_with`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind_with(path: impl AsRef<Path>, options: UnixBindOptions) -> io::Result<Self> {
        let (socket, node) = crate::unix::UnixListener::bind_with(path, options)?.into_parts();
        let mut listener = Self::from_std(socket.into())?;
        listener.node = node;
        Ok(listener)
    }

    /// Wraps a listening std socket, putting it in non-blocking mode as tokio needs. Its node,
    /// if any, is not known to be its own: [`node`](Self::node) is `None`.
    ///
    /// # Errors
    ///
    /// `fcntl(2)` failed, or tokio could not register the socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self {
            inner: tokio::net::UnixListener::from_std(listener)?,
            node: None,
        })
    }

    /// The node [`bind`](Self::bind) created (`None` for [`from_std`](Self::from_std)).
    pub fn node(&self) -> Option<&SocketNode> {
        self.node.as_ref()
    }

    /// Removes the socket file this listener bound, if the path still names it
    /// ([`SocketNode::remove`]); returns whether it did.
    ///
    /// # Errors
    ///
    /// As [`SocketNode::remove`].
    pub fn remove_node(&self) -> io::Result<bool> {
        self.node.as_ref().map_or(Ok(false), SocketNode::remove)
    }

    /// The tokio listener (the node record is dropped; the file stays).
    pub fn into_inner(self) -> tokio::net::UnixListener {
        self.inner
    }
}

impl From<tokio::net::UnixListener> for UnixListener {
    fn from(inner: tokio::net::UnixListener) -> Self {
        Self { inner, node: None }
    }
}

impl Listener for UnixListener {
    type Addr = UnixAddr;
    type Stream<'a> = UnixStream;

    /// Waits for a connection.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection that arrives after the future is dropped waits in the
    /// backlog for the next `accept`.
    async fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        let (inner, peer) = self.inner.accept().await?;
        Ok((UnixStream::from(inner), unix_addr(&peer.into())))
    }

    fn local_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&SockRef::from(&self.inner).local_addr()?)
    }
}

impl UnixStream {
    /// Connects to the listener bound at `path`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an empty or over-long path; `NotFound`, `ConnectionRefused` (a stale
    /// socket file), `PermissionDenied`, with a message naming the path.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        check_path(path)?;
        let inner = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| context(e, format!("connect {}", path.display())))?;
        Ok(Self::from(inner))
    }

    /// Two connected, unnamed streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// `socketpair(2)` failed (out of descriptors).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = tokio::net::UnixStream::pair()?;
        Ok((Self::from(a), Self::from(b)))
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
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self::from(tokio::net::UnixStream::from_std(stream)?))
    }
}

impl Stream for UnixStream {
    type Addr = UnixAddr;

    /// `shutdown(2)`; after [`Shutdown::Read`] (or `Both`) every read is end of stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it completes at its first poll.
    async fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        shutdown(&self.inner, how)?;
        self.read_shut |= matches!(how, Shutdown::Read | Shutdown::Both);
        Ok(())
    }

    fn local_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&SockRef::from(&self.inner).local_addr()?)
    }

    fn peer_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&SockRef::from(&self.inner).peer_addr()?)
    }
}

/// std's Unix address as ours (std never reports one that is neither: the abstract
/// namespace is the only other kind on Linux).
fn unix_addr(addr: &StdUnixAddr) -> UnixAddr {
    use std::os::linux::net::SocketAddrExt as _;
    if let Some(path) = addr.as_pathname() {
        UnixAddr::from(path)
    } else if let Some(name) = addr.as_abstract_name() {
        UnixAddr::Abstract(name.to_vec())
    } else {
        UnixAddr::Unnamed
    }
}

impl_async_socket!(UnixListener, tokio::net::UnixListener);
impl_async_stream!(UnixStream, tokio::net::UnixStream);
