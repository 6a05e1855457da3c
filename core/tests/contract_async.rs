//! The async transport contract (`contract/asynch.rs` at the workspace root) on
//! `portsock_core::mem`: streams from a `MemListener` with short reads and writes, datagrams on
//! a `Network`, time on a `ManualClock` that the test executor moves when every task waits.

mod async_util;
#[path = "../../contract/asynch.rs"]
mod contract_async;

use core::net::SocketAddr;

use async_util::block_on;
use portsock_core::mem::{ManualClock, MemListener, MemSocket, MemStream, Network, StreamPair};

/// Bytes each direction of a stream buffers.
const STREAM_BUF: usize = 256;
/// Pairs one listener hands out.
const PAIRS: usize = 2;
type Net = Network<'static, 8, 4, 64>;

/// The in-memory transport with pairs of `N` bytes each way, leaked so its sockets are
/// `'static` (one small leak per test).
struct Mem<const N: usize> {
    clock: &'static ManualClock,
    net: &'static Net,
}

impl<const N: usize> Mem<N> {
    fn new() -> Self {
        let clock = async_util::clock();
        Self {
            clock,
            net: Box::leak(Box::new(Network::new(clock))),
        }
    }
}

impl<const N: usize> contract_async::Harness for Mem<N> {
    type Addr = SocketAddr;
    type Stream = MemStream<'static, N>;
    type Listener = MemListener<'static, N>;
    type Datagram = MemSocket<'static, 8, 4, 64>;
    type Timer = ManualClock;

    fn timer(&self) -> &ManualClock {
        self.clock
    }

    async fn listen(&self) -> Self::Listener {
        // Short reads and writes of odd sizes, so every transfer is cut up.
        let pairs: &'static [StreamPair<'static, N>] =
            Box::leak(Box::new(core::array::from_fn::<_, PAIRS, _>(|_| {
                StreamPair::new().with_clock(self.clock).with_max_io(5, 11)
            })));
        MemListener::new(addr("127.0.0.1:10000"), pairs)
    }

    async fn connect(&self, listener: &Self::Listener) -> Self::Stream {
        listener.connect().expect("a free pair")
    }

    async fn bind(&self) -> Self::Datagram {
        self.net.bind(addr("127.0.0.1:0")).expect("bind")
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

contract_async::contract_async_tests!(Mem::<STREAM_BUF>::new(), block_on);

/// With pairs of 64 bytes each way (half the echo client's window, so both sides' writes
/// wait for room now and then), the drivers are dropped both mid-send and mid-read (on a real socket where they are is up to the kernel's buffers; the
/// contract item checks only that some were dropped).
#[test]
fn run_stream_is_dropped_both_mid_send_and_mid_read() {
    block_on(async {
        let drops = contract_async::run_stream_is_cancel_safe(&Mem::<64>::new()).await;
        assert!(drops.mid_send > 0 && drops.mid_read > 0, "{drops:?}");
    });
}
