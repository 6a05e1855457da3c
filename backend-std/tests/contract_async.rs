//! The async transport contract (`contract/asynch.rs` at the workspace root) on portsock-std's
//! tokio sockets: TCP and UDP on 127.0.0.1, and Unix stream and datagram sockets in a temporary
//! directory, on a current-thread tokio runtime with tokio's clock.

mod common;
#[path = "../../contract/asynch.rs"]
mod contract_async;

use std::cell::Cell;
use std::net::SocketAddr;

use common::TempDir;
use portsock_core::asynch::transport::Listener as _;
use portsock_std::tokio::{
    TcpListener, TcpStream, TokioTimer, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use portsock_std::unix::UnixAddr;

/// Runs `f` to completion on a fresh current-thread runtime with I/O and time (the contract's
/// futures are not `Send`).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

/// TCP and UDP on the loopback address.
struct Inet;

impl contract_async::Harness for Inet {
    type Addr = SocketAddr;
    type Stream = TcpStream;
    type Listener = TcpListener;
    type Datagram = UdpSocket;
    type Timer = TokioTimer;

    fn timer(&self) -> &TokioTimer {
        &TokioTimer
    }

    async fn listen(&self) -> TcpListener {
        TcpListener::bind(loopback()).await.expect("bind")
    }

    async fn connect(&self, listener: &TcpListener) -> TcpStream {
        TcpStream::connect(listener.local_addr().expect("local_addr"))
            .await
            .expect("connect")
    }

    async fn bind(&self) -> UdpSocket {
        UdpSocket::bind(loopback()).await.expect("bind")
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

/// Unix stream and datagram sockets at fresh paths in a temporary directory.
struct Unix {
    dir: TempDir,
    next: Cell<usize>,
}

impl Unix {
    fn new() -> Self {
        Self {
            dir: TempDir::new("contract-async"),
            next: Cell::new(0),
        }
    }

    fn fresh_path(&self, kind: &str) -> std::path::PathBuf {
        let n = self.next.get();
        self.next.set(n + 1);
        self.dir.join(&format!("{kind}{n}"))
    }
}

impl contract_async::Harness for Unix {
    type Addr = UnixAddr;
    type Stream = UnixStream;
    type Listener = UnixListener;
    type Datagram = UnixDatagram;
    type Timer = TokioTimer;

    fn timer(&self) -> &TokioTimer {
        &TokioTimer
    }

    async fn listen(&self) -> UnixListener {
        UnixListener::bind(self.fresh_path("stream"))
            .await
            .expect("bind")
    }

    async fn connect(&self, listener: &UnixListener) -> UnixStream {
        let addr = listener.local_addr().expect("local_addr");
        let path = addr.as_path().expect("a bound path");
        UnixStream::connect(path).await.expect("connect")
    }

    async fn bind(&self) -> UnixDatagram {
        UnixDatagram::bind(self.fresh_path("dgram"))
            .await
            .expect("bind")
    }
}

mod inet {
    crate::contract_async::contract_async_tests!(super::Inet, super::block_on);
}

mod unix {
    crate::contract_async::contract_async_tests!(super::Unix::new(), super::block_on);
}
