//! portsock's sockets on tokio (feature `tokio`): the async transports of
//! [`portsock_core::asynch`] over `tokio::net`, so the core's async drivers
//! ([`run_stream`](portsock_core::asynch::drive::run_stream),
//! [`run_datagram`](portsock_core::asynch::drive::run_datagram)) run the same machines as the
//! blocking drivers, a task per connection.
//!
//! | type | tokio type inside | core traits |
//! |---|---|---|
//! | [`TcpListener`], [`TcpStream`] | `tokio::net::TcpListener`, `TcpStream` | [`Listener`], [`Stream`] |
//! | [`UnixListener`], [`UnixStream`] | `tokio::net::UnixListener`, `UnixStream` | [`Listener`], [`Stream`] |
//! | [`UdpSocket`] | `tokio::net::UdpSocket` | [`Datagram`], [`Multicast`] |
//! | [`UnixDatagram`] | `tokio::net::UnixDatagram` | [`Datagram`] |
//! | [`TokioTimer`] | `tokio::time` | [`Clock`](portsock_core::time::Clock), [`Timer`](portsock_core::asynch::time::Timer) |
//!
//! The sockets are set up as the blocking ones of this crate are (`SO_REUSEADDR` and the
//! backlog on a TCP listener, the stale-node rule and [`SocketNode`](crate::unix::SocketNode)
//! on a Unix one; the same code does it) and then handed to tokio, so they must be created
//! inside a tokio runtime with I/O enabled, as tokio's own are (`from_std` panics otherwise).
//! Errors are `std::io::Error`, as everywhere in this crate. Each wrapper converts to and
//! from its tokio type (`from_std`, `From`, [`AsRef`], `into_inner`) for what it does not wrap.
//!
//! # Cancellation
//!
//! Each operation says whether it is cancel-safe, in tokio's sense: dropping its future before
//! it completes loses nothing. Reads, writes, accepts, datagram sends and receives are (the
//! first three are tokio's; a receive takes a datagram only in the poll that completes it), so
//! a [`run_stream`](portsock_core::asynch::drive::run_stream) or
//! [`run_datagram`](portsock_core::asynch::drive::run_datagram) dropped at any point (by
//! `tokio::time::timeout`, `select!`) can be run again with the same machine and socket, and
//! no byte or datagram is lost or repeated (`tests/tokio_cancel.rs`, `tests/tokio_datagram.rs`
//! and the async transport contract check it on real sockets). Connecting is not: a dropped
//! connect abandons the attempt. The streams are also tokio `AsyncRead` / `AsyncWrite`, for
//! tokio's own utilities; with those traits and the core's both in scope, name the trait
//! (`AsyncReadExt::read(&mut stream, ..)`), as `read` and `write_all` are in both.
//!
//! ```
//! use portsock_core::asynch::drive::run_stream;
//! use portsock_core::asynch::transport::{Listener as _, Read as _, Write as _};
//! use portsock_core::echo::stream::EchoSession;
//! use portsock_std::tokio::{TcpListener, TcpStream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).await?;
//! let addr = listener.local_addr()?;
//! let server = tokio::spawn(async move {
//!     let (mut stream, _peer) = listener.accept().await?;
//!     let mut session = EchoSession::new([0u8; 4096]);
//!     run_stream(&mut stream, &mut session, &mut |_| {}).await.map_err(std::io::Error::other)
//! });
//!
//! let mut client = TcpStream::connect(addr).await?;
//! client.write_all(b"hello").await?;
//! let mut buf = [0u8; 5];
//! client.read_exact(&mut buf).await.map_err(std::io::Error::other)?;
//! assert_eq!(&buf, b"hello");
//! drop(client);
//! server.await??;
//! # Ok(())
//! # }
//! ```
//!
//! [`Listener`]: portsock_core::asynch::transport::Listener
//! [`Stream`]: portsock_core::asynch::transport::Stream
//! [`Datagram`]: portsock_core::asynch::transport::Datagram
//! [`Multicast`]: portsock_core::asynch::transport::Multicast

mod datagram;
mod stream;
mod tcp;
mod time;
mod udp;
mod unix;
mod unix_datagram;

pub use self::tcp::{TcpListener, TcpStream};
pub use self::time::TokioTimer;
pub use self::udp::UdpSocket;
pub use self::unix::{UnixListener, UnixStream};
pub use self::unix_datagram::UnixDatagram;
