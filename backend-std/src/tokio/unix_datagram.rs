//! Unix datagram sockets on tokio: [`UnixDatagram`], the core's async [`Datagram`] with
//! [`UnixAddr`] as its address; bound as the blocking [`crate::unix::UnixDatagram`] is (the
//! same code), truncation shown as [`crate::tokio::UdpSocket`] shows it.

use std::io;
use std::path::Path;

use portsock_core::asynch::transport::{Datagram, Received};
use socket2::SockRef;
use tokio::io::Interest;

use super::datagram::{recv_from_trunc, send_to_whole};
use super::stream::impl_async_socket;
use crate::unix::{SocketNode, UnixAddr, UnixBindOptions};

/// A Unix datagram socket on tokio.
#[derive(Debug)]
pub struct UnixDatagram {
    inner: tokio::net::UnixDatagram,
    node: Option<SocketNode>,
}

impl UnixDatagram {
    /// Binds `path` with the default [`UnixBindOptions`] (stale socket file removed).
    ///
    /// # Errors
    ///
    /// As [`crate::unix::UnixDatagram::bind_with`]: messages name the path.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::bind_with(path, UnixBindOptions::new()).await
    }

    /// Binds `path` as `options` say (the backlog does not apply).
    ///
    /// # Errors
    ///
    /// As [`crate::unix::UnixDatagram::bind_with`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn bind_with(path: impl AsRef<Path>, options: UnixBindOptions) -> io::Result<Self> {
        let (socket, node) = crate::unix::UnixDatagram::bind_with(path, options)?.into_parts();
        let mut this = Self::from_std(socket.into())?;
        this.node = node;
        Ok(this)
    }

    /// A socket bound to no address: it can send, and the receiver sees
    /// [`UnixAddr::Unnamed`] and cannot reply.
    ///
    /// # Errors
    ///
    /// `socket(2)` failed.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn unbound() -> io::Result<Self> {
        Ok(Self::from(tokio::net::UnixDatagram::unbound()?))
    }

    /// Two connected, unnamed datagram sockets (`socketpair(2)`). Each can
    /// [`send`](Self::send) to the other; [`recv_from`](Datagram::recv_from) works on both.
    ///
    /// # Errors
    ///
    /// `socketpair(2)` failed.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = tokio::net::UnixDatagram::pair()?;
        Ok((Self::from(a), Self::from(b)))
    }

    /// Wraps a std Unix datagram socket, putting it in non-blocking mode as tokio needs.
    ///
    /// # Errors
    ///
    /// `fcntl(2)` failed, or tokio could not register the socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(Self::from(tokio::net::UnixDatagram::from_std(socket)?))
    }

    /// Sends one datagram to the connected peer (a [`pair`](Self::pair)'s other end).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: sent whole when the future completes, or not at all.
    ///
    /// # Errors
    ///
    /// `send(2)`'s error (`NotConnected` if the socket has no peer).
    pub async fn send(&self, data: &[u8]) -> io::Result<()> {
        let n = self.inner.send(data).await?;
        super::datagram::whole(n, data.len())
    }

    /// The node [`bind`](Self::bind) created (`None` if unbound or adopted).
    pub fn node(&self) -> Option<&SocketNode> {
        self.node.as_ref()
    }

    /// Removes the socket file this socket bound, if the path still names it; returns
    /// whether it did ([`SocketNode::remove`]).
    ///
    /// # Errors
    ///
    /// As [`SocketNode::remove`].
    pub fn remove_node(&self) -> io::Result<bool> {
        self.node.as_ref().map_or(Ok(false), SocketNode::remove)
    }

    /// The tokio socket (the node record is dropped; the file stays).
    pub fn into_inner(self) -> tokio::net::UnixDatagram {
        self.inner
    }
}

impl From<tokio::net::UnixDatagram> for UnixDatagram {
    fn from(inner: tokio::net::UnixDatagram) -> Self {
        Self { inner, node: None }
    }
}

impl Datagram for UnixDatagram {
    type Addr = UnixAddr;

    /// Sends one datagram to the socket bound at `to`, waiting for room in the send buffer.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: sent whole when the future completes, or not at all.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for [`UnixAddr::Unnamed`] or an over-long path; `sendto(2)`'s error
    /// (`EMSGSIZE` beyond the socket's send buffer, `ConnectionRefused` for a stale path).
    async fn send_to(&mut self, data: &[u8], to: &UnixAddr) -> io::Result<()> {
        let to = to.to_sockaddr()?;
        self.inner
            .async_io(Interest::WRITABLE, || send_to_whole(&self.inner, data, &to))
            .await
    }

    /// Waits for one datagram; [`Received::len`] is its full length (`MSG_TRUNC`, Linux
    /// 3.4+ for Unix sockets).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is taken only in the poll that completes the future.
    async fn recv_from(&mut self, buf: &mut [u8]) -> io::Result<Received<UnixAddr>> {
        let (len, from) = self
            .inner
            .async_io(Interest::READABLE, || recv_from_trunc(&self.inner, buf))
            .await?;
        Ok(Received {
            len,
            from: UnixAddr::from_sockaddr(&from)?,
        })
    }

    fn local_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&SockRef::from(&self.inner).local_addr()?)
    }
}

impl_async_socket!(UnixDatagram, tokio::net::UnixDatagram);
