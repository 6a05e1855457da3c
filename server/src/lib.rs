//! # portsock-server
//!
//! An event-driven server for thousands of concurrent TCP and Unix stream clients, on one
//! thread, each connection served by one of the core's sans-IO stream machines: the
//! [`EchoSession`] by default ([`EchoServer`]), or any [`Session`] a [`NewSession`] makes
//! (the core's [`RecordReceiver`], say).
//!
//! The chapter's servers take one client at a time. A [`Server`] takes them all at once: a
//! single [`mio`] event loop (epoll, edge-triggered) owns the listening sockets and every
//! connection, and gives each connection a session. The server holds no protocol logic: it
//! moves bytes between a socket and its session, in the order the session's [calling
//! order](portsock_core::echo::stream::EchoSession#calling-order) asks (transmit, close, read,
//! events), and closes the socket when the session says it is done.
//!
//! What the design guarantees:
//!
//! * **Idle connections are cheap.** Sessions read through one buffer the server lends them
//!   for their turn; a session keeps a buffer only while it holds bytes it still needs (an
//!   echo the client has not taken yet) and gives it back once they are sent. An idle
//!   connection costs its socket and a few hundred bytes of state;
//!   [`ServerConfig::with_idle_timeout`] closes the ones idle too long.
//! * **Bounded memory per connection.** A session holds at most
//!   [`ServerConfig::buffer_size`] bytes. When its buffer is full of bytes the client has not
//!   taken back (the client stopped reading, so the echo cannot be sent), the session stops
//!   asking to read and the server drops its interest in the socket's readability until the
//!   echo drains: TCP's flow control then stops the client. The server's memory is at most
//!   [`ServerConfig::max_connections`] × `buffer_size` (see [`ServerConfig::memory_bound`]);
//!   [`Stats::peak_buffered`] and [`Stats::peak_buffers`] show what it actually held.
//! * **Fairness.** Each connection gets a budget per turn (16 reads or 1 MiB, as tokio's
//!   coop budget); one with more input waits behind every other ready connection, so a
//!   client pushing megabytes delays the others by one budget, not by its transfer.
//! * **Half-close.** After a client's FIN the session echoes what it still holds, then the
//!   server shuts the socket down and closes it.
//! * **Isolation.** A client that resets mid-stream, or stops reading, only ever costs its own
//!   connection: errors close that one socket, and no call blocks.
//! * **Clean, prompt shutdown.** [`Server::catch_signals`] turns SIGINT and SIGTERM into a
//!   stop, seen between two connections (a flag) and in the poll (a self-pipe), and a
//!   [`ShutdownHandle`] does the same from any thread. [`run`](Server::run) then closes every
//!   connection and listener and returns the final [`Stats`].
//! * **Many clients at once.** The listen backlog is
//!   [`TcpListener::LARGE_BACKLOG`](portsock_std::tcp::TcpListener::LARGE_BACKLOG) (4096) by
//!   default, so a burst of thousands of connections waits in the kernel's queue instead of
//!   being dropped into SYN retries; at most [`ServerConfig::max_connections`] are served at
//!   once (more wait in the backlog), and running out of descriptors pauses accepting rather
//!   than failing (see [`raise_fd_limit`]).
//!
//! [`Server::stats`] reads the counters while the server runs; an [`Observer`] sees each
//! connection's life and polls its session's events (the command line prints the chapter's
//! lines from them).
//!
// The examples are the mio server's: without its feature (`--no-default-features --features
// tokio`) they are shown but not compiled.
#![cfg_attr(feature = "mio", doc = "```no_run")]
#![cfg_attr(not(feature = "mio"), doc = "```ignore")]
//! use portsock_server::{EchoServer, ServerConfig, raise_fd_limit};
//!
//! raise_fd_limit(20_000)?; // room for thousands of clients
//! let mut server = EchoServer::new(ServerConfig::new())?;
//! let addr = server.bind_tcp("127.0.0.1:10000".parse()?)?;
//! server.catch_signals()?; // Ctrl-C stops it
//! println!("starting up on {addr}");
//! let stopped = server.run()?;
//! println!("stopped ({:?}): {:?}", stopped.reason, stopped.stats);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a thread, stopped through its handle, with the core's verifying client on the other
//! end:
//!
#![cfg_attr(feature = "mio", doc = "```")]
#![cfg_attr(not(feature = "mio"), doc = "```ignore")]
//! use std::thread;
//! use portsock_core::drive::run_stream;
//! use portsock_core::echo::CHAPTER_MESSAGE;
//! use portsock_core::echo::stream::EchoClient;
//! use portsock_server::{EchoServer, ServerConfig, StopReason};
//! use portsock_std::tcp::TcpStream;
//!
//! let mut server = EchoServer::new(ServerConfig::new().with_buffer_size(16 * 1024))?;
//! let addr = server.bind_tcp("127.0.0.1:0".parse()?)?;
//! let stop = server.shutdown_handle();
//! let stats = server.stats();
//! let running = thread::spawn(move || server.run());
//!
//! let mut sock = TcpStream::connect(addr, None)?;
//! let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 64]);
//! run_stream(&mut sock, &mut client, &mut |_| {})?; // every byte checked
//! drop(sock);
//!
//! stop.shutdown()?;
//! let stopped = running.join().expect("server thread")?;
//! assert_eq!(stopped.reason, StopReason::Requested);
//! assert_eq!(stopped.stats.accepted, 1);
//! assert_eq!(stopped.stats.bytes_sent, CHAPTER_MESSAGE.len() as u64);
//! assert_eq!(stats.snapshot(), stopped.stats);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`EchoSession`]: portsock_core::echo::stream::EchoSession
//! [`RecordReceiver`]: portsock_core::record::RecordReceiver
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs describe the mio server; built without it, their links to it have no target.
#![cfg_attr(not(feature = "mio"), allow(rustdoc::broken_intra_doc_links))]
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n## Feature flags\n\n", document_features::document_features!())
)]

#[cfg(not(any(feature = "mio", feature = "tokio")))]
compile_error!(
    "portsock-server needs a server to build: feature `mio` (the default: one thread, epoll) \
     or `tokio` (a task per connection), or both"
);

// The README, the page crates.io shows, is a doc test too (its example is the mio server).
#[cfg(all(doctest, feature = "mio"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod config;
#[cfg(feature = "mio")]
mod conn;
mod observe;
#[cfg(feature = "mio")]
mod server;
mod session;
mod stats;
mod stop;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use portsock_std::limits::raise_fd_limit;

pub use crate::config::ServerConfig;
pub use crate::observe::{Closed, Observer, Peer};
#[cfg(feature = "mio")]
pub use crate::server::{EchoServer, Server, ShutdownHandle};
pub use crate::session::{EchoSessions, NewSession, Session};
pub use crate::stats::{Stats, StatsHandle};
pub use crate::stop::{StopReason, Stopped};
