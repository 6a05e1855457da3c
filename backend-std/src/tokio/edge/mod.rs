//! portsock's tokio sockets as an edge-nal 0.7 stack (feature `edge-nal`), so the crates
//! written against edge-nal run on portsock's backend: pass them [`Stack`] where they ask for a
//! `TcpBind`, `TcpConnect`, `UdpBind` or `UdpConnect`. edge-http's server and client are tested
//! on it against CPython (`tests/tokio_edge_nal.rs`); edge-mdns 0.8 asks for nothing more than
//! `UdpBind`, `UdpReceive + Readable`, `UdpSend` and `MulticastV4/V6`, all here (not run here).
//!
//! | edge-nal 0.7 | here |
//! |---|---|
//! | `TcpConnect`, `TcpBind`, `UdpBind`, `UdpConnect` | [`Stack`] (a unit: tokio's reactor is the stack) |
//! | `TcpAccept` | [`TcpListener`] (`accept(&self)`, as core's [`Listener`]) |
//! | `Read + Write + Readable + TcpSplit + TcpShutdown` | [`TcpStream`]; its halves [`TcpReadHalf`], [`TcpWriteHalf`] |
//! | `UdpReceive + UdpSend + Readable + UdpSplit(Multicast) + MulticastV4/V6` | [`UdpSocket`] and `&UdpSocket` (its halves) |
//!
//! The sockets are the very ones core's async drivers run on (one type, both vocabularies), set
//! up by the same code: `SO_REUSEADDR` and a backlog of 128 on a listener, an oversized
//! datagram refused before the system call.
//!
//! # Where the semantics differ
//!
//! - **Truncation.** edge-nal's docs ask `UdpReceive::receive` for a datagram's full size, but
//!   edge-net's own crates slice their buffer with it (edge-mdns: `&buf[..len]`), so a full size
//!   larger than the buffer would let any peer panic them with one long datagram. `receive`
//!   here returns the bytes copied, as edge-nal-std does; core's
//!   [`Datagram::recv_from`](portsock_core::asynch::transport::Datagram::recv_from) on the same
//!   socket still reports the full size.
//! - **Multicast.** edge-nal's `join_v4` / `join_v6` are `async`; portsock's membership is a
//!   socket option, applied at once, so they complete at their first poll. TTL, loop and the
//!   outgoing interface (which edge-nal has no word for) are set through core's
//!   [`Multicast`](portsock_core::asynch::transport::Multicast) on the same socket.
//! - **Shutdown.** `TcpShutdown::close` is `shutdown(2)` and returns at once (edge-nal allows
//!   waiting for the FIN's ACK; the kernel does that in the background). `abort` sets
//!   `SO_LINGER` to zero: the RST leaves when the socket is dropped (edge-nal-std's `abort`
//!   does nothing).
//! - **Would-block and time-outs.** Neither: every operation waits. Bound them with edge-nal's
//!   `WithTimeout` (embassy-time's clock; a host needs its `std` driver) or `tokio::time`.
//! - **Listener backlog.** `TcpBind::bind` takes none: 128, as [`TcpListener::bind`]; bind
//!   with [`TcpListener::bind_with_backlog`] and pass the listener as the `TcpAccept` for more.
//! - **Broadcast.** `UdpBind::bind` sets `SO_BROADCAST`, as edge-nal-std does, since edge-dhcp
//!   sends to 255.255.255.255.
//!
//! # Cancellation
//!
//! As core's traits on the same sockets: reads, writes, `accept`, `readable`, `receive` and
//! `send` are cancel-safe (tokio's); `connect` abandons the attempt; `close`, `abort`, joins
//! and leaves complete at their first poll.
//!
//! [`Listener`]: portsock_core::asynch::transport::Listener

mod tcp;
mod udp;

use std::io;
use std::net::SocketAddr;

use edge_nal::{TcpBind, TcpConnect, UdpBind, UdpConnect};

pub use self::tcp::{TcpReadHalf, TcpWriteHalf};
pub use super::{TcpListener, TcpStream, UdpSocket};

/// The edge-nal factory over portsock's tokio sockets. Like tokio's own sockets, the ones it
/// makes must be created inside a tokio runtime with I/O enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stack;

impl Stack {
    /// The stack.
    pub const fn new() -> Self {
        Self
    }
}

impl TcpConnect for Stack {
    type Error = io::Error;
    type Socket<'a> = TcpStream;

    /// [`TcpStream::connect`].
    async fn connect(&self, remote: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect(remote).await
    }
}

impl TcpBind for Stack {
    type Error = io::Error;
    type Accept<'a> = TcpListener;

    /// [`TcpListener::bind`]: `SO_REUSEADDR`, a backlog of 128.
    async fn bind(&self, local: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(local).await
    }
}

impl UdpBind for Stack {
    type Error = io::Error;
    type Socket<'a> = UdpSocket;

    /// [`UdpSocket::bind`], with `SO_BROADCAST` set.
    async fn bind(&self, local: SocketAddr) -> io::Result<UdpSocket> {
        let socket = UdpSocket::bind(local).await?;
        socket.as_ref().set_broadcast(true)?;
        Ok(socket)
    }
}

impl UdpConnect for Stack {
    type Error = io::Error;
    type Socket<'a> = UdpSocket;

    /// [`UdpSocket::bind`] to `local`, then `connect(2)` to `remote`: the socket receives from
    /// `remote` only, and `send` ignores its address argument, as edge-nal specifies.
    async fn connect(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<UdpSocket> {
        let socket = UdpSocket::bind(local).await?;
        socket.as_ref().connect(remote).await?;
        Ok(socket)
    }
}
