//! The async transport contract (`contract/asynch.rs` at the workspace root) on embassy-net:
//! two stacks on an in-memory Ethernet hub, a listener pool on one, a connector pool and UDP
//! sockets on both, embassy-time's clock. Every item of the contract holds here.

mod common;
#[path = "../../contract/asynch.rs"]
mod contract_async;

use core::cell::Cell;
use core::net::SocketAddr;

use common::{at, block_on, leak, network, v4};
use embassy_net::Stack;
use portsock_core::asynch::transport::Listener as _;
use portsock_embassy::{
    EmbassyTimer, TcpConnector, TcpListener, TcpResources, TcpStream, UdpResources, UdpSocket,
};

/// Sockets per listener or connector pool.
const POOL: usize = 4;
/// Bytes each way per TCP socket (the TCP window).
const BUF: usize = 4096;

/// Server side on stack 0, clients on stack 1; datagram sockets alternate between the two
/// (smoltcp does not deliver a stack's datagrams to itself).
struct Embassy {
    stacks: Vec<Stack<'static>>,
    connector: &'static TcpConnector<'static, POOL>,
    next_port: Cell<u16>,
    binds: Cell<usize>,
}

impl Embassy {
    fn new() -> Self {
        let stacks = network(2);
        let connector = leak(TcpConnector::new(
            stacks[1],
            leak(TcpResources::<POOL, BUF, BUF>::new()),
        ));
        Self {
            stacks,
            connector,
            next_port: Cell::new(10000),
            binds: Cell::new(0),
        }
    }
}

impl contract_async::Harness for Embassy {
    type Addr = SocketAddr;
    type Stream = TcpStream<'static, 'static>;
    type Listener = TcpListener<'static, POOL>;
    type Datagram = UdpSocket<'static>;
    type Timer = EmbassyTimer;

    fn timer(&self) -> &EmbassyTimer {
        &EmbassyTimer
    }

    async fn listen(&self) -> Self::Listener {
        let port = self.next_port.get();
        self.next_port.set(port + 1);
        let resources = leak(TcpResources::<POOL, BUF, BUF>::new());
        TcpListener::new(self.stacks[0], at(v4(0), port), resources).expect("listen")
    }

    async fn connect(&self, listener: &Self::Listener) -> Self::Stream {
        let to = listener.local_addr().expect("the listener's address");
        self.connector.connect(to).await.expect("connect")
    }

    async fn bind(&self) -> Self::Datagram {
        let i = self.binds.get() % 2;
        self.binds.set(self.binds.get() + 1);
        let resources = leak(UdpResources::<4, 1024>::new());
        UdpSocket::bind(self.stacks[i], at(v4(i), 0), resources).expect("bind")
    }
}

contract_async::contract_async_tests!(Embassy::new(), block_on);
