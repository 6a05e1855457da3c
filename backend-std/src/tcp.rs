//! TCP: [`TcpListener`] and [`TcpStream`], the core's [`Listener`] and [`Stream`] over socket2.
//!
//! A listener binds an explicit address, or any address (`0.0.0.0`, `::`; see
//! [`resolve::bind_addr`] for the chapter's `""`), sets
//! `SO_REUSEADDR` first (so a restarted server can rebind while old connections sit in
//! `TIME_WAIT`, which Python servers usually ask for) and listens with a backlog of
//! [`TcpListener::DEFAULT_BACKLOG`] unless told otherwise. A stream connects to one address,
//! with an optional timeout, or to a host name the way Python's `socket.create_connection`
//! does ([`TcpStream::create_connection`]).
//!
//! Streams are [`std::io::Read`] / [`std::io::Write`], for the stream and for `&TcpStream` as
//! std's are (so `io::copy`, `BufReader` and `write_all`, Python's `sendall`, work), and
//! embedded-io's [`Read`](embedded_io::Read) / [`Write`](embedded_io::Write) too, which the
//! core's drivers use. There is no `BufRead`: a socket has no buffer of its own to lend, so wrap
//! it in a `BufReader`, as std's `TcpStream`. Every socket here has blocking mode and timeouts in
//! std's types (`set_read_timeout(Some(Duration::from_secs(1)))`), and is
//! [`Blocking`](portsock_core::transport::Blocking) for generic code: a timed-out read is
//! `io::ErrorKind::TimedOut`, a read that would block in non-blocking mode is `WouldBlock`.
//! The kernel keeps timeouts in clock ticks, so `read_timeout` returns what it actually waits,
//! rounded up to a tick (50 ms reads back as 52 ms at 250 Hz).
//!
//! ```
//! use portsock_std::prelude::*;
//! use portsock_std::tcp::{TcpListener, TcpStream};
//!
//! let mut listener = TcpListener::bind("127.0.0.1:0".parse()?)?;
//! let addr = listener.local_addr()?; // the port the system chose
//! let mut client = TcpStream::connect(addr, None)?;
//! let (mut server, peer) = listener.accept()?;
//! assert_eq!(peer, client.local_addr()?);
//!
//! client.write_all(b"hello")?;
//! client.shutdown(Shutdown::Write)?;
//! let mut buf = [0u8; 16];
//! let n = server.read(&mut buf)?;
//! assert_eq!(&buf[..n], b"hello");
//! assert_eq!(server.read(&mut buf)?, 0); // the client's FIN
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use portsock_core::transport::{Listener, Shutdown, Stream};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::os;
use crate::resolve::{self, host_port};
use crate::sock::{Sock, context, impl_sock, impl_stream_io};

/// A listening TCP socket.
#[derive(Debug)]
pub struct TcpListener {
    sock: Sock,
}

/// A connected TCP stream.
#[derive(Debug)]
pub struct TcpStream {
    sock: Sock,
}

impl TcpListener {
    /// The backlog [`bind`](Self::bind) uses: 128, what std and Python's `socketserver`
    /// default to, plenty for the chapter's one-client-at-a-time servers.
    pub const DEFAULT_BACKLOG: u32 = 128;

    /// A backlog for servers that accept thousands of connections at once: 4096, Linux's
    /// default `net.core.somaxconn` since 5.4 (the kernel caps any backlog at that sysctl).
    pub const LARGE_BACKLOG: u32 = 4096;

    /// Binds `addr` and listens with [`DEFAULT_BACKLOG`](Self::DEFAULT_BACKLOG).
    ///
    /// Port 0 lets the system choose a free port; read it back with
    /// [`local_addr`](Listener::local_addr). The unspecified addresses (`0.0.0.0`, `::`)
    /// listen on every interface; `::` also accepts IPv4 connections unless the system's
    /// `net.ipv6.bindv6only` says otherwise.
    ///
    /// # Errors
    ///
    /// `socket(2)`, `setsockopt(SO_REUSEADDR)`, `bind(2)` or `listen(2)` failed; the message
    /// names `addr` ("bind 127.0.0.1:10000: Address already in use (os error 98)").
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_with_backlog(addr, Self::DEFAULT_BACKLOG)
    }

    /// Binds `addr` and listens with `backlog` pending connections (clamped to `i32::MAX`;
    /// the kernel further caps it at `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_with_backlog(addr: SocketAddr, backlog: u32) -> io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket
            .set_reuse_address(true)
            .map_err(|e| context(e, format!("SO_REUSEADDR on {addr}")))?;
        socket
            .bind(&addr.into())
            .map_err(|e| context(e, format!("bind {addr}")))?;
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        socket
            .listen(backlog)
            .map_err(|e| context(e, format!("listen on {addr}")))?;
        Ok(Self {
            sock: Sock::blocking(socket),
        })
    }

    /// Binds `host` and `port` the way the chapter's servers do: `""` (or `"0.0.0.0"`,
    /// `"::"`) is any address, a name binds its first IPv4 address
    /// ([`resolve::bind_addr`]).
    ///
    /// # Errors
    ///
    /// Resolution failed (the message names `host:port`), or as [`bind`](Self::bind).
    pub fn bind_host(host: &str, port: u16) -> io::Result<Self> {
        Self::bind(resolve::bind_addr(host, port)?)
    }

    /// Wraps a listening socket2 socket, reading its blocking mode from the kernel.
    ///
    /// # Errors
    ///
    /// `fcntl(F_GETFL)` failed.
    pub fn from_socket(socket: Socket) -> io::Result<Self> {
        Ok(Self {
            sock: Sock::adopt(socket)?,
        })
    }

    /// The socket2 socket, for options this type does not wrap. Setting `O_NONBLOCK` through
    /// it would confuse timed out with would block; use
    /// [`Blocking::set_nonblocking`](portsock_core::transport::Blocking::set_nonblocking).
    pub fn socket(&self) -> &Socket {
        self.sock.socket()
    }

    /// The socket2 socket.
    pub fn into_socket(self) -> Socket {
        self.sock.into_socket()
    }

    /// Accepts a connection whose stream is already in non-blocking mode (`accept4(2)` with
    /// `SOCK_NONBLOCK`), for event loops: one system call instead of three. Like
    /// [`accept`](Listener::accept), it waits or not as the listener's own mode says.
    ///
    /// # Errors
    ///
    /// As [`accept`](Listener::accept); `WouldBlock` from a non-blocking listener with no
    /// connection pending.
    pub fn accept_nonblocking(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        let (sock, peer) = self.sock.accept_nonblocking()?;
        Ok((TcpStream { sock }, inet(&peer)?))
    }
}

impl Listener for TcpListener {
    type Addr = SocketAddr;
    type Stream = TcpStream;

    /// Waits for a connection (`accept(2)`). The new stream is in blocking mode whatever the
    /// listener's mode, as Linux does not pass `O_NONBLOCK` on, and has no timeouts: Linux
    /// would copy the listener's `SO_RCVTIMEO` / `SO_SNDTIMEO`, so they are cleared.
    fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        let (socket, peer) = self.sock.accept()?;
        Ok((
            TcpStream {
                sock: Sock::blocking(socket),
            },
            inet(&peer)?,
        ))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(&self.sock.socket().local_addr()?)
    }
}

impl TcpStream {
    /// Connects to `addr`, waiting at most `timeout` if one is given (`None`: the system's
    /// own connect timeout, about two minutes on Linux).
    ///
    /// The timeout covers connecting only; unlike Python's `settimeout`, reads and writes
    /// afterwards wait as long as the stream's [`Blocking`](portsock_core::transport::Blocking)
    /// settings say (forever by default).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused`, `TimedOut` and the like, with a message naming `addr`;
    /// `InvalidInput` for a zero timeout.
    pub fn connect(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<Self> {
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("connect {addr}: a zero timeout is not allowed"),
            ));
        }
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        let sockaddr = SockAddr::from(addr);
        let result = match timeout {
            Some(t) => socket.connect_timeout(&sockaddr, t),
            None => connect_retrying(&socket, &sockaddr),
        };
        result.map_err(|e| context(e, format!("connect {addr}")))?;
        Ok(Self {
            sock: Sock::blocking(socket),
        })
    }

    /// Connects to the first of `addrs` that accepts, trying them in order, each with
    /// `timeout`, as Python's `socket.create_connection` does once it has resolved.
    ///
    /// # Errors
    ///
    /// The last address's error (its kind kept, the message naming the address and how many
    /// were tried); `InvalidInput` if `addrs` is empty.
    pub fn connect_first<I>(addrs: I, timeout: Option<Duration>) -> io::Result<Self>
    where
        I: IntoIterator<Item = SocketAddr>,
    {
        let mut last = None;
        let mut tried = 0usize;
        for addr in addrs {
            tried += 1;
            match Self::connect(addr, timeout) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        match last {
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no address to connect to",
            )),
            Some(e) if tried == 1 => Err(e),
            Some(e) => Err(io::Error::new(
                e.kind(),
                format!("{e} (the last of {tried} addresses tried)"),
            )),
        }
    }

    /// Python's `socket.create_connection((host, port), timeout)`: resolves `host` with the
    /// system resolver ([`resolve::resolve`], IPv6 and IPv4 in the
    /// resolver's order) and connects to the first address that accepts, trying each with
    /// `timeout`.
    ///
    /// The timeout covers each connection attempt only (see [`connect`](Self::connect)).
    ///
    /// # Errors
    ///
    /// Resolution failed ("cannot resolve host:port: ..."), or the last address's error, its
    /// message naming `host:port` and that address.
    pub fn create_connection(host: &str, port: u16, timeout: Option<Duration>) -> io::Result<Self> {
        let addrs = resolve::resolve(host, port)?;
        Self::connect_first(addrs, timeout).map_err(|e| context(e, host_port(host, port)))
    }

    /// Wraps a connected socket2 socket, reading its blocking mode from the kernel.
    ///
    /// # Errors
    ///
    /// `fcntl(F_GETFL)` failed.
    pub fn from_socket(socket: Socket) -> io::Result<Self> {
        Ok(Self {
            sock: Sock::adopt(socket)?,
        })
    }

    /// The socket2 socket, for options this type does not wrap (`TCP_NODELAY`, keepalive).
    /// Setting `O_NONBLOCK` through it would confuse timed out with would block; use
    /// [`Blocking::set_nonblocking`](portsock_core::transport::Blocking::set_nonblocking).
    pub fn socket(&self) -> &Socket {
        self.sock.socket()
    }

    /// The socket2 socket.
    pub fn into_socket(self) -> Socket {
        self.sock.into_socket()
    }
}

impl Stream for TcpStream {
    type Addr = SocketAddr;

    fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(&self.sock.socket().local_addr()?)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        inet(&self.sock.socket().peer_addr()?)
    }
}

impl_sock!(TcpListener, TcpStream);
impl_stream_io!(TcpStream);

/// A blocking `connect(2)`. A signal (`EINTR`) does not stop the kernel from connecting, and
/// connecting again would fail with `EALREADY`, so wait for the outcome instead, as
/// `connect(2)` says: poll for writability, then read `SO_ERROR`.
fn connect_retrying(socket: &Socket, addr: &SockAddr) -> io::Result<()> {
    match socket.connect(addr) {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => loop {
            match os::poll_one(socket.as_fd(), libc::POLLOUT, -1) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
                Ok(_) => return socket.take_error()?.map_or(Ok(()), Err),
            }
        },
        other => other,
    }
}

/// The core's shutdown direction as std's.
pub(crate) fn std_shutdown(how: Shutdown) -> std::net::Shutdown {
    match how {
        Shutdown::Read => std::net::Shutdown::Read,
        Shutdown::Write => std::net::Shutdown::Write,
        Shutdown::Both => std::net::Shutdown::Both,
    }
}

/// An IP socket address from the kernel's.
pub(crate) fn inet(addr: &SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an IP socket address (family {})", addr.family()),
        )
    })
}
