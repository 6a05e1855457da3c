//! # portsock-std
//!
//! portsock's transport on the host's OS sockets, through [`socket2`], with the system
//! resolver. It implements the core's traits ([`portsock_core::transport`]) so that the
//! core's sans-IO protocol machines and drivers run over real sockets unchanged:
//!
//! ```text
//!    examples, CLI, tests             (the chapter's programs)
//!             |
//!    portsock_core::drive             one blocking loop per machine kind
//!      |                 \
//!    echo, multicast,     transport traits: Stream, Listener, Datagram, Multicast, Blocking
//!    record machines          |
//!    (no I/O)             portsock-std (this crate)
//!                           tcp.rs   TcpListener, TcpStream      (Listener, Stream)
//!                           udp.rs   UdpSocket                   (Datagram, Multicast)
//!                           unix/    UnixListener, UnixStream,   (Listener, Stream, Datagram)
//!                                    UnixDatagram, socketpair
//!                           time.rs  SystemClock                 (Clock)
//!                           tokio/   the same sockets on tokio   (asynch::transport,
//!                                    (feature `tokio`)            asynch::time::Timer)
//!                           lookup   names, services, protocols, getaddrinfo (as Python)
//!                           sys.rs   the only unsafe code: recvfrom into [u8],
//!                                    setsockopt with codec bytes, fork, netdb
//!                           os.rs    poll, waitpid, rlimits (safe, through rustix)
//!                               |
//!                           socket2, libc, the kernel
//! ```
//!
//! The API is std's where std has one: streams are [`std::io::Read`] and [`std::io::Write`]
//! (and so `io::copy`, `BufReader`, `read_exact` work), and the sockets' own methods take
//! [`std::time::Duration`] (`connect`, `set_read_timeout`) and [`std::time::Instant`]
//! (datagram deadlines). The core's traits, which the same types implement for the drivers,
//! take the core's millisecond [`Duration`](portsock_core::time::Duration) and
//! [`Instant`](portsock_core::time::Instant); [`prelude`] brings std's into scope.
//!
//! Errors are `std::io::Error` throughout, as socket2's are: system call errors unchanged on
//! the data path, and with the input named (address, path, size) where a socket is set up.
//! Core errors (a group that is not multicast) become `io::Error`s of the kind the core
//! gives them. Every socket remembers whether it is in non-blocking mode, so that a read
//! timeout is `io::ErrorKind::TimedOut` and only non-blocking mode gives `WouldBlock` (see
//! [`portsock_core::transport`] for why the two must stay apart).
//!
//! One complete loop: the chapter's echo server and client over TCP on the loopback, the
//! server reading 16 bytes at a time, with std's `Read` and `Write` from the prelude.
//!
//! ```
//! use std::thread;
//! use portsock_std::prelude::*;
//! use portsock_std::tcp::{TcpListener, TcpStream};
//!
//! let mut listener = TcpListener::bind("127.0.0.1:0".parse()?)?;
//! let addr = listener.local_addr()?;
//! let server = thread::spawn(move || -> std::io::Result<()> {
//!     let (mut conn, _client) = listener.accept()?;
//!     let mut data = [0u8; 16];
//!     loop {
//!         let n = conn.read(&mut data)?;
//!         if n == 0 {
//!             return Ok(()); // no data: the client is done
//!         }
//!         conn.write_all(&data[..n])?; // sending data back to the client
//!     }
//! });
//!
//! let message = b"This is the message.  It will be repeated.";
//! let mut sock = TcpStream::create_connection("localhost", addr.port(), None)?;
//! sock.write_all(message)?;
//! let mut received = Vec::new();
//! let mut data = [0u8; 16];
//! while received.len() < message.len() {
//!     let n = sock.read(&mut data)?;
//!     received.extend_from_slice(&data[..n]);
//! }
//! assert_eq!(received, message);
//! drop(sock); // closing the socket
//! server.join().expect("server thread")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n## Feature flags\n\n", document_features::document_features!())
)]

// Linux only, said plainly rather than by a cascade of errors: Linux socket options, `/proc`
// and glibc's reentrant netdb calls are used throughout (see README.md).
#[cfg(not(target_os = "linux"))]
compile_error!(
    "portsock-std supports Linux only (it uses Linux socket options, /proc and glibc's \
     reentrant netdb calls); portsock-core and portsock-smoltcp build on any target"
);

// The README, the page crates.io shows, is a doc test too, so its examples cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod consts;
pub mod limits;
pub mod lookup;
pub mod multicast;
pub mod process;
pub mod resolve;
pub mod tcp;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod udp;
pub mod unix;

mod os;
mod sock;
mod sys;

/// Everything a program using this crate usually needs in scope, std-flavoured: std's
/// [`Read`](std::io::Read) and [`Write`](std::io::Write) (which the stream types implement, so
/// `io::copy`, `BufReader` and `read_exact` work), std's [`Duration`](std::time::Duration) and
/// [`Instant`](std::time::Instant) (which the sockets' own methods take), the core's transport
/// traits (addresses, shutdown, datagrams, multicast) and the host's clock.
///
/// The core's own millisecond time types are not here, so that there is one `Duration` in
/// scope: name them `portsock_core::time::{Duration, Instant}` where a core trait or driver
/// wants them (`From` converts both ways). embedded-io's `Read` / `Write`, which the streams
/// implement too and which generic code over [`Stream`](portsock_core::transport::Stream)
/// uses, are `portsock_core::transport::{Read, Write}`; do not import both pairs where you call
/// `read` or `write` on a concrete stream, or the call is ambiguous.
pub mod prelude {
    pub use std::io::{Read, Write};
    pub use std::time::{Duration, Instant};

    pub use portsock_core::time::Clock;
    pub use portsock_core::transport::{
        Blocking, Datagram, Interface, Listener, MembershipRequest, Multicast, ReadReady, Received,
        Shutdown, Stream, TransportError, WriteReady,
    };

    pub use crate::time::SystemClock;
}
