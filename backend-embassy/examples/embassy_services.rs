//! How a firmware that already runs embassy-net adds portsock's machines: TCP echo on port
//! 10000 (four clients served at once, four more waiting in the backlog) and UDP echo on port
//! 10002, as the bodies of two embassy tasks on the firmware's own stack. README.md shows this
//! file; `cargo test` builds it on the host and scripts/check-no-std for Cortex-M.
#![no_std]

use embassy_net::Stack;
use portsock_core::asynch::drive::run_datagram;
use portsock_core::asynch::sessions::Sessions;
use portsock_core::echo::datagram::DatagramEchoServer;
use portsock_core::echo::stream::EchoSession;
use portsock_embassy::{EmbassyTimer, TcpListener, TcpResources, UdpResources, UdpSocket};
use static_cell::StaticCell;

/// TCP echo on port 10000 for ever: 4 sessions at once over a backlog of 8 sockets.
/// Call it once (from `#[embassy_executor::task] async fn tcp_echo_task(stack: Stack<'static>)`).
pub async fn tcp_echo(stack: Stack<'static>) {
    // 8 sockets of 1 KiB each way: 16 KiB here, and 8 of the stack's socket entries.
    static SOCKETS: StaticCell<TcpResources<8, 1024, 1024>> = StaticCell::new();
    let addr = "0.0.0.0:10000".parse().expect("an address");
    let listener = TcpListener::new(stack, addr, SOCKETS.init(TcpResources::new()))
        .expect("a port to listen on");
    Sessions::new(&listener, &EmbassyTimer)
        .serve::<4, _, _, _, _>(
            |_peer| EchoSession::new([0u8; 512]),
            |_event| {},
            core::future::pending(),
        )
        .await;
}

/// UDP echo on port 10002 for ever. Call it once.
pub async fn udp_echo(stack: Stack<'static>) {
    static BUFFERS: StaticCell<UdpResources<4, 2048>> = StaticCell::new();
    let addr = "0.0.0.0:10002".parse().expect("an address");
    let mut socket =
        UdpSocket::bind(stack, addr, BUFFERS.init(UdpResources::new())).expect("a port to bind");
    let mut server = DatagramEchoServer::new([0u8; 1024]);
    loop {
        // Only a transport error ends a run (an unroutable sender): serve the next datagram.
        let _ = run_datagram(&mut socket, &mut server, &EmbassyTimer, &mut |_| {}).await;
    }
}
