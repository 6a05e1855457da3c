//! The transport contract (`contract/mod.rs` at the workspace root) on `portsock_core::mem`:
//! streams from a `MemListener`, datagrams on a `Network`, time on a `ManualClock`.

#[path = "../../contract/mod.rs"]
mod contract;

use core::net::SocketAddr;

use portsock_core::mem::{ManualClock, MemListener, MemSocket, MemStream, Network, StreamPair};
use portsock_core::time::Instant;

/// Bytes each direction of a stream buffers.
const STREAM_BUF: usize = 256;
/// Pairs one listener hands out.
const PAIRS: usize = 2;
type Net = Network<'static, 8, 4, 64>;

/// The in-memory transport, leaked so its sockets are `'static` (one small leak per test).
struct Mem {
    clock: &'static ManualClock,
    net: &'static Net,
}

impl Mem {
    fn new() -> Self {
        let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new()));
        Self {
            clock,
            net: Box::leak(Box::new(Network::new(clock))),
        }
    }
}

impl contract::Harness for Mem {
    type Addr = SocketAddr;
    type Stream = MemStream<'static, STREAM_BUF>;
    type Listener = MemListener<'static, STREAM_BUF>;
    type Datagram = MemSocket<'static, 8, 4, 64>;

    const RESET_REPEATS: bool = true;
    const SHUTDOWN_READ_REFUSES_PEER: bool = false;

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn listen(&self) -> Self::Listener {
        let pairs: &'static [StreamPair<'static, STREAM_BUF>] =
            Box::leak(Box::new(core::array::from_fn::<_, PAIRS, _>(|_| {
                StreamPair::new().with_clock(self.clock)
            })));
        MemListener::new(addr("127.0.0.1:10000"), pairs)
    }

    fn connect(&self, listener: &Self::Listener) -> Self::Stream {
        listener.connect().expect("a free pair")
    }

    fn bind(&self) -> Self::Datagram {
        self.net.bind(addr("127.0.0.1:0")).expect("bind")
    }

    fn abort(&self, stream: Self::Stream) {
        stream.abort();
    }

    fn settle(&self, _: &mut Self::Datagram) {
        // Delivery is part of `send_to`.
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

contract::contract_tests!(Mem::new());
