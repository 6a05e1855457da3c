//! The transport contract (`contract/mod.rs` at the workspace root) on portsock-smoltcp over an
//! in-process `Loopback` device: client and server share one stack and one thread, on the
//! simulated clock (`ManualPlatform`, deterministic) and on the host's (`StdPlatform`, real
//! waits).

#[path = "../../contract/mod.rs"]
mod contract;

use std::cell::Cell;
use std::net::SocketAddr;

use portsock_core::time::{Clock as _, Instant};
use portsock_core::transport::Listener as _;
use portsock_smoltcp::smoltcp::phy::{Loopback, Medium};
use portsock_smoltcp::{
    Config, ManualPlatform, Platform, Stack, StdPlatform, TcpListener, TcpStream, UdpSocket,
    parse_cidr,
};

/// The first listener's port; each further listener on the stack takes the next.
const FIRST_PORT: u16 = 10_000;

/// A `Loopback` stack on platform `P`, leaked so its sockets are `'static` (one per test).
struct Smol<P: Platform + 'static> {
    stack: &'static Stack<'static, Loopback, P>,
    next_port: Cell<u16>,
}

impl<P: Platform + 'static> Smol<P> {
    fn new(platform: P) -> Self {
        let config = Config::new([2, 0, 0, 0, 0, 1])
            .with_address(parse_cidr("127.0.0.1/8").expect("a CIDR"))
            .expect("an address");
        let stack = Stack::new(&config, Loopback::new(Medium::Ip), platform, vec![])
            .expect("a loopback stack");
        stack.add_tcp_sockets(8, 4096, 4096).expect("TCP sockets");
        stack.add_udp_sockets(3, 4, 1024).expect("UDP sockets");
        Self {
            stack: Box::leak(Box::new(stack)),
            next_port: Cell::new(FIRST_PORT),
        }
    }
}

impl<P: Platform + 'static> contract::Harness for Smol<P> {
    type Addr = SocketAddr;
    type Stream = TcpStream<'static, 'static, Loopback, P>;
    type Listener = TcpListener<'static, 'static, Loopback, P>;
    type Datagram = UdpSocket<'static, 'static, Loopback, P>;

    const RESET_REPEATS: bool = true;
    const SHUTDOWN_READ_REFUSES_PEER: bool = false;

    fn now(&self) -> Instant {
        self.stack.now()
    }

    fn listen(&self) -> Self::Listener {
        let port = self.next_port.get();
        self.next_port.set(port + 1);
        TcpListener::bind(self.stack, SocketAddr::from(([127, 0, 0, 1], port)), 2).expect("listen")
    }

    fn connect(&self, listener: &Self::Listener) -> Self::Stream {
        let to = listener.local_addr().expect("listener's address");
        TcpStream::connect(self.stack, to, Some(contract::GUARD)).expect("connect")
    }

    fn bind(&self) -> Self::Datagram {
        UdpSocket::bind(self.stack, "127.0.0.1:0".parse().expect("an address")).expect("bind")
    }

    fn abort(&self, stream: Self::Stream) {
        stream.abort();
    }

    fn settle(&self, _: &mut Self::Datagram) {
        // One poll moves every queued datagram through the loopback device.
        self.stack.poll();
    }
}

mod manual_clock {
    crate::contract::contract_tests!(super::Smol::new(super::ManualPlatform::default()));
}

mod std_clock {
    crate::contract::contract_tests!(super::Smol::new(super::StdPlatform::new(None)));
}
