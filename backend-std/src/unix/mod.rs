//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`] and
//! [`socketpair`], behind the same core traits as TCP and UDP, with [`UnixAddr`] as their
//! address.
//!
//! Binding a path follows the chapter, made safe:
//!
//! * **A stale socket file is removed, nothing else is.** The chapter unlinks whatever is at
//!   the path before binding. Here the path is removed only if it is a socket (`lstat`, so a
//!   symlink is never followed) and nobody is bound to it any more: a datagram probe's
//!   `connect(2)` is refused, which a live server never sees (a stream probe would be a
//!   connection it accepts). A regular file, directory, symlink or other node is refused with
//!   `AlreadyExists` and left intact; a live socket with `AddrInUse`.
//! * **The node is removed only while it is still ours.** A bound socket keeps the
//!   [`SocketNode`] it created (device and inode); [`UnixListener::remove_node`] unlinks the
//!   path only if it still names that node, so a server never deletes the live socket of
//!   another that took its path over. Nothing is removed on drop (as in the chapter, and
//!   std): call it when the server is done.
//! * **The path must fit.** `sun_path` holds 108 bytes including the terminating NUL, so a
//!   path of more than [`MAX_PATH_LEN`] (107) bytes is refused with `InvalidInput` naming it
//!   and the limit, before any system call.
//! * **An optional file mode** ([`UnixBindOptions::mode`]) is applied to the socket node right
//!   after `bind(2)` (connecting needs write permission on it, `unix(7)`). Between the two
//!   calls the node has the mode the umask gives; put the socket in a directory only its
//!   users can enter if that window matters.
//!
//! ```
//! use portsock_std::prelude::*;
//! use portsock_std::unix::{UnixAddr, UnixBindOptions, UnixListener, UnixStream};
//!
//! let dir = std::env::temp_dir().join(format!("portsock-doc-unix-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("uds_socket");
//!
//! let mut server = UnixListener::bind_with(&path, UnixBindOptions::new().mode(0o600))?;
//! let mut client = UnixStream::connect(&path)?;
//! let (mut conn, peer) = server.accept()?;
//! assert_eq!(peer, UnixAddr::Unnamed); // the client did not bind a path
//! assert_eq!(format!("{peer}"), "");    // print(client_address) shows nothing
//! assert_eq!(format!("{peer:#}"), "''"); // its repr
//! assert_eq!(server.local_addr()?, UnixAddr::from(path.as_path()));
//!
//! client.write_all(b"ping")?;
//! let mut buf = [0u8; 4];
//! conn.read_exact(&mut buf).expect("4 bytes");
//! assert_eq!(&buf, b"ping");
//!
//! // Binding again replaces the stale socket file left by the listener.
//! drop((server, conn, client));
//! let _again = UnixListener::bind(&path)?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod addr;
mod node;
mod path;

use std::io;
use std::path::Path;

use portsock_core::time::Instant;
use portsock_core::transport::{Datagram, Listener, Received, Shutdown, Stream};
use socket2::{Domain, SockAddr, Socket, Type};

pub use self::addr::UnixAddr;
pub use self::node::SocketNode;
pub use self::path::MAX_PATH_LEN;
pub(crate) use self::path::{bind_path, check_path};
use crate::sock::{Sock, context, impl_sock, impl_stream_io};
use crate::tcp::TcpListener;

/// How [`UnixListener::bind_with`] and [`UnixDatagram::bind_with`] prepare the path and the
/// socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixBindOptions {
    mode: Option<u32>,
    backlog: u32,
    remove_stale: bool,
}

/// A listening Unix stream socket.
#[derive(Debug)]
pub struct UnixListener {
    sock: Sock,
    node: Option<SocketNode>,
}

/// A connected Unix stream socket.
#[derive(Debug)]
pub struct UnixStream {
    sock: Sock,
}

/// A Unix datagram socket.
#[derive(Debug)]
pub struct UnixDatagram {
    sock: Sock,
    node: Option<SocketNode>,
}

/// Two connected Unix stream sockets (`socketpair(2)`), both unnamed; what one writes the
/// other reads. Shared across [`fork_child`](crate::process::fork_child) they are the
/// chapter's parent/child channel.
///
/// # Errors
///
/// `socketpair(2)` failed (out of descriptors).
pub fn socketpair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    Ok((
        UnixStream {
            sock: Sock::blocking(a),
        },
        UnixStream {
            sock: Sock::blocking(b),
        },
    ))
}

impl UnixBindOptions {
    /// The defaults: no mode change, backlog [`TcpListener::DEFAULT_BACKLOG`] (128), stale
    /// socket files removed.
    pub const fn new() -> Self {
        Self {
            mode: None,
            backlog: TcpListener::DEFAULT_BACKLOG,
            remove_stale: true,
        }
    }

    /// Sets the socket node's permission bits to `mode` (e.g. `0o600`) right after binding.
    /// Connecting to a Unix stream socket needs write permission on it.
    #[must_use]
    pub const fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The listen backlog (stream listeners only; clamped to `i32::MAX`, capped by the kernel
    /// at `net.core.somaxconn`).
    #[must_use]
    pub const fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Whether to remove a stale socket file at the path (default `true`). With `false`, any
    /// existing file makes `bind(2)` fail with `AddrInUse`. Anything that is not a socket is
    /// never removed either way.
    #[must_use]
    pub const fn remove_stale(mut self, remove: bool) -> Self {
        self.remove_stale = remove;
        self
    }
}

impl Default for UnixBindOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl UnixListener {
    /// Binds `path` with the default [`UnixBindOptions`] (stale socket file removed, backlog
    /// 128) and listens.
    ///
    /// # Errors
    ///
    /// As [`bind_with`](Self::bind_with).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::bind_with(path, UnixBindOptions::new())
    }

    /// Binds `path` as `options` say and listens.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an empty path or one longer than [`MAX_PATH_LEN`]; `AlreadyExists`
    /// if something other than a socket is at `path` (it is left alone); `AddrInUse` if a
    /// live socket is bound there; `bind(2)`, `listen(2)` or `chmod(2)` failed. Messages name
    /// the path.
    pub fn bind_with(path: impl AsRef<Path>, options: UnixBindOptions) -> io::Result<Self> {
        let path = path.as_ref();
        let (socket, node) = bind_path(path, Type::STREAM, options)?;
        let backlog = i32::try_from(options.backlog).unwrap_or(i32::MAX);
        if let Err(e) = socket.listen(backlog) {
            // Best effort: the node is ours and useless.
            let _ = node.remove();
            return Err(context(e, format!("listen on {}", path.display())));
        }
        Ok(Self {
            sock: Sock::blocking(socket),
            node: Some(node),
        })
    }

    /// Wraps a listening Unix socket2 socket, reading its blocking mode from the kernel. Its
    /// node, if any, is not known to be its own: [`node`](Self::node) is `None`.
    ///
    /// # Errors
    ///
    /// `fcntl(F_GETFL)` failed.
    pub fn from_socket(socket: Socket) -> io::Result<Self> {
        Ok(Self {
            sock: Sock::adopt(socket)?,
            node: None,
        })
    }

    /// The node [`bind`](Self::bind) created (`None` for [`from_socket`](Self::from_socket)).
    pub fn node(&self) -> Option<&SocketNode> {
        self.node.as_ref()
    }

    /// Removes the socket file this listener bound, if the path still names it
    /// ([`SocketNode::remove`]); returns whether it did. A node another process has put in
    /// its place is left alone.
    ///
    /// # Errors
    ///
    /// As [`SocketNode::remove`].
    pub fn remove_node(&self) -> io::Result<bool> {
        self.node.as_ref().map_or(Ok(false), SocketNode::remove)
    }

    /// The socket2 socket. Setting `O_NONBLOCK` through it would confuse timed out with
    /// would block; use [`Blocking`](portsock_core::transport::Blocking).
    pub fn socket(&self) -> &Socket {
        self.sock.socket()
    }

    /// The socket2 socket.
    pub fn into_socket(self) -> Socket {
        self.sock.into_socket()
    }

    /// The socket2 socket and the node it bound: what the tokio listener is made of.
    #[cfg(feature = "tokio")]
    pub(crate) fn into_parts(self) -> (Socket, Option<SocketNode>) {
        (self.sock.into_socket(), self.node)
    }

    /// Accepts a connection whose stream is already in non-blocking mode, as
    /// [`TcpListener::accept_nonblocking`] does.
    ///
    /// # Errors
    ///
    /// As [`accept`](Listener::accept); `WouldBlock` from a non-blocking listener with no
    /// connection pending.
    pub fn accept_nonblocking(&mut self) -> io::Result<(UnixStream, UnixAddr)> {
        let (sock, peer) = self.sock.accept_nonblocking()?;
        Ok((UnixStream { sock }, UnixAddr::from_sockaddr(&peer)?))
    }
}

impl Listener for UnixListener {
    type Addr = UnixAddr;
    type Stream = UnixStream;

    /// Waits for a connection; the new stream is blocking whatever the listener's mode.
    fn accept(&mut self) -> io::Result<(UnixStream, UnixAddr)> {
        let (socket, peer) = self.sock.accept()?;
        Ok((
            UnixStream {
                sock: Sock::blocking(socket),
            },
            UnixAddr::from_sockaddr(&peer)?,
        ))
    }

    fn local_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&self.sock.socket().local_addr()?)
    }
}

impl UnixStream {
    /// Connects to the listener bound at `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an empty or over-long path; `NotFound` (no such file),
    /// `ConnectionRefused` (a stale socket file), `PermissionDenied` (no write permission on
    /// the socket node), with a message naming the path.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        check_path(path)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket
            .connect(&SockAddr::unix(path)?)
            .map_err(|e| context(e, format!("connect {}", path.display())))?;
        Ok(Self {
            sock: Sock::blocking(socket),
        })
    }

    /// Wraps a connected Unix socket2 socket, reading its blocking mode from the kernel.
    ///
    /// # Errors
    ///
    /// `fcntl(F_GETFL)` failed.
    pub fn from_socket(socket: Socket) -> io::Result<Self> {
        Ok(Self {
            sock: Sock::adopt(socket)?,
        })
    }

    /// The socket2 socket. Setting `O_NONBLOCK` through it would confuse timed out with
    /// would block; use [`Blocking`](portsock_core::transport::Blocking).
    pub fn socket(&self) -> &Socket {
        self.sock.socket()
    }

    /// The socket2 socket.
    pub fn into_socket(self) -> Socket {
        self.sock.into_socket()
    }
}

impl Stream for UnixStream {
    type Addr = UnixAddr;

    fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how)
    }

    fn local_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&self.sock.socket().local_addr()?)
    }

    fn peer_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&self.sock.socket().peer_addr()?)
    }
}

impl UnixDatagram {
    /// Binds `path` with the default [`UnixBindOptions`] (stale socket file removed).
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind_with`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::bind_with(path, UnixBindOptions::new())
    }

    /// Binds `path` as `options` say (the backlog does not apply).
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind_with`].
    pub fn bind_with(path: impl AsRef<Path>, options: UnixBindOptions) -> io::Result<Self> {
        let (socket, node) = bind_path(path.as_ref(), Type::DGRAM, options)?;
        Ok(Self {
            sock: Sock::blocking(socket),
            node: Some(node),
        })
    }

    /// The node [`bind`](Self::bind) created (`None` if unbound or adopted).
    pub fn node(&self) -> Option<&SocketNode> {
        self.node.as_ref()
    }

    /// Removes the socket file this socket bound, if the path still names it; returns
    /// whether it did. As [`UnixListener::remove_node`].
    ///
    /// # Errors
    ///
    /// As [`SocketNode::remove`].
    pub fn remove_node(&self) -> io::Result<bool> {
        self.node.as_ref().map_or(Ok(false), SocketNode::remove)
    }

    /// A datagram socket bound to no address: it can send, and the receiver sees
    /// [`UnixAddr::Unnamed`] and cannot reply.
    ///
    /// # Errors
    ///
    /// `socket(2)` failed.
    pub fn unbound() -> io::Result<Self> {
        Ok(Self {
            sock: Sock::blocking(Socket::new(Domain::UNIX, Type::DGRAM, None)?),
            node: None,
        })
    }

    /// Wraps a Unix datagram socket2 socket, reading its blocking mode from the kernel.
    ///
    /// # Errors
    ///
    /// `fcntl(F_GETFL)` failed.
    pub fn from_socket(socket: Socket) -> io::Result<Self> {
        Ok(Self {
            sock: Sock::adopt(socket)?,
            node: None,
        })
    }

    /// The socket2 socket. Setting `O_NONBLOCK` through it would confuse timed out with
    /// would block; use [`Blocking`](portsock_core::transport::Blocking).
    pub fn socket(&self) -> &Socket {
        self.sock.socket()
    }

    /// The socket2 socket.
    pub fn into_socket(self) -> Socket {
        self.sock.into_socket()
    }

    /// The socket2 socket and the node it bound: what the tokio datagram socket is made of.
    #[cfg(feature = "tokio")]
    pub(crate) fn into_parts(self) -> (Socket, Option<SocketNode>) {
        (self.sock.into_socket(), self.node)
    }
}

impl Datagram for UnixDatagram {
    type Addr = UnixAddr;

    /// Sends one datagram to the socket bound at `to`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for [`UnixAddr::Unnamed`] or an over-long path; `sendto(2)`'s error
    /// (`EMSGSIZE` beyond the socket's send buffer, `ConnectionRefused` for a stale path).
    fn send_to(&mut self, data: &[u8], to: &UnixAddr) -> io::Result<()> {
        self.sock.send_to(data, &to.to_sockaddr()?)
    }

    /// As [`UdpSocket`](crate::udp::UdpSocket)'s: full length via `MSG_TRUNC` (Linux 3.4+),
    /// deadline on [`SystemClock`](crate::time::SystemClock).
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<Option<Received<UnixAddr>>> {
        match self.sock.recv_from(buf, deadline)? {
            None => Ok(None),
            Some((len, from)) => Ok(Some(Received {
                len,
                from: UnixAddr::from_sockaddr(&from)?,
            })),
        }
    }

    fn local_addr(&self) -> io::Result<UnixAddr> {
        UnixAddr::from_sockaddr(&self.sock.socket().local_addr()?)
    }
}

impl_sock!(UnixListener, UnixStream, UnixDatagram);
impl_stream_io!(UnixStream);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_builder() {
        let o = UnixBindOptions::new()
            .mode(0o600)
            .backlog(4096)
            .remove_stale(false);
        assert_eq!(
            o,
            UnixBindOptions {
                mode: Some(0o600),
                backlog: 4096,
                remove_stale: false
            }
        );
        assert_eq!(UnixBindOptions::default(), UnixBindOptions::new());
    }
}
