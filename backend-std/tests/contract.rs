//! The transport contract (`contract/mod.rs` at the workspace root) on the host's sockets:
//! TCP and UDP on 127.0.0.1, and Unix stream and datagram sockets in a temporary directory.

mod common;
#[path = "../../contract/mod.rs"]
mod contract;

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use common::TempDir;
use portsock_core::time::{Clock as _, Instant};
use portsock_core::transport::Listener as _;
use portsock_std::tcp::{TcpListener, TcpStream};
use portsock_std::time::SystemClock;
use portsock_std::udp::UdpSocket;
use portsock_std::unix::{UnixAddr, UnixDatagram, UnixListener, UnixStream};
use socket2::Socket;

/// TCP and UDP on the loopback address.
struct Inet;

impl contract::Harness for Inet {
    type Addr = SocketAddr;
    type Stream = TcpStream;
    type Listener = TcpListener;
    type Datagram = UdpSocket;

    // The kernel reports ECONNRESET once, then end of stream.
    const RESET_REPEATS: bool = false;
    const SHUTDOWN_READ_REFUSES_PEER: bool = false;

    fn now(&self) -> Instant {
        SystemClock.now()
    }

    fn listen(&self) -> TcpListener {
        TcpListener::bind(loopback()).expect("listen on 127.0.0.1")
    }

    fn connect(&self, listener: &TcpListener) -> TcpStream {
        let to = listener.local_addr().expect("listener's address");
        TcpStream::connect(to, Some(contract::GUARD.into())).expect("connect")
    }

    fn bind(&self) -> UdpSocket {
        UdpSocket::bind(loopback()).expect("bind 127.0.0.1")
    }

    fn abort(&self, stream: TcpStream) {
        stream
            .socket()
            .set_linger(Some(StdDuration::ZERO))
            .expect("SO_LINGER 0");
    }

    fn settle(&self, socket: &mut UdpSocket) {
        wait_readable(socket.socket());
    }
}

/// Unix stream and datagram sockets on paths in a directory of their own.
struct Unix {
    dir: TempDir,
    next: Cell<usize>,
}

impl Unix {
    fn new() -> Self {
        Self {
            dir: TempDir::new("contract"),
            next: Cell::new(0),
        }
    }

    fn path(&self, tag: &str) -> std::path::PathBuf {
        let n = self.next.get();
        self.next.set(n + 1);
        self.dir.join(&format!("{tag}{n}"))
    }
}

impl contract::Harness for Unix {
    type Addr = UnixAddr;
    type Stream = UnixStream;
    type Listener = UnixListener;
    type Datagram = UnixDatagram;

    const RESET_REPEATS: bool = false;
    // A Unix stream socket refuses writes to a peer that shut down reading (EPIPE).
    const SHUTDOWN_READ_REFUSES_PEER: bool = true;

    fn now(&self) -> Instant {
        SystemClock.now()
    }

    fn listen(&self) -> UnixListener {
        UnixListener::bind(self.path("stream")).expect("bind a Unix listener")
    }

    fn connect(&self, listener: &UnixListener) -> UnixStream {
        let addr = listener.local_addr().expect("listener's address");
        UnixStream::connect(addr.as_path().expect("a path address")).expect("connect")
    }

    fn bind(&self) -> UnixDatagram {
        UnixDatagram::bind(self.path("dgram")).expect("bind a Unix datagram socket")
    }

    /// Closing is the abort: the contract test leaves bytes unread in `stream` first, and
    /// Linux then reports `ECONNRESET` to the peer (`unix(7)` has no RST).
    fn abort(&self, stream: UnixStream) {
        drop(stream);
    }

    fn settle(&self, socket: &mut UnixDatagram) {
        wait_readable(socket.socket());
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

/// Waits at most `GUARD` until a datagram is queued on `socket` (a zero-length `MSG_PEEK`),
/// leaving the socket's read timeout as it was.
fn wait_readable(socket: &Socket) {
    let before = socket.read_timeout().expect("SO_RCVTIMEO");
    socket
        .set_read_timeout(Some(contract::GUARD.into()))
        .expect("set SO_RCVTIMEO");
    socket.peek_sender().expect("a datagram arrives");
    socket
        .set_read_timeout(before)
        .expect("restore SO_RCVTIMEO");
}

mod tcp_udp {
    crate::contract::contract_tests!(super::Inet);
}

mod unix {
    crate::contract::contract_tests!(super::Unix::new());
}
