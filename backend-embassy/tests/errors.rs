//! What goes wrong on embassy-net, named: each error of portsock-embassy provoked on
//! in-memory stacks, with its `embedded_io::ErrorKind` (what the core's drivers read) and its
//! message.

mod common;

use core::future::Future;
use core::net::{IpAddr, Ipv4Addr};

use common::{at, block_on, leak, network, v4};
use embassy_time::{Duration, Timer};
use embedded_io::{Error as _, ErrorKind};
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::transport::{
    Datagram, Listener, Multicast, Read, Shutdown, Stream, Write,
};
use portsock_embassy::{Error, TcpConnector, TcpListener, TcpResources, UdpResources, UdpSocket};

const GUARD: Duration = Duration::from_secs(30);

async fn guard<F: Future>(what: &str, fut: F) -> F::Output {
    match first(fut, Timer::after(GUARD)).await {
        Either::First(out) => out,
        Either::Second(()) => panic!("{what}: not done within {GUARD:?}"),
    }
}

#[test]
fn tcp_errors_name_what_went_wrong() {
    block_on(async {
        let stacks = network(2);
        let connector = TcpConnector::new(stacks[1], leak(TcpResources::<1, 1024, 1024>::new()))
            .with_timeout(Duration::from_secs(3));

        // Nothing listens on the port: the peer's stack answers with a reset.
        let err = guard("refused", connector.connect(at(v4(0), 9)))
            .await
            .expect_err("nobody listens");
        assert_eq!(
            (err, err.kind()),
            (Error::Refused, ErrorKind::ConnectionRefused)
        );
        assert_eq!(
            err.to_string(),
            "connection refused: the peer answered with a reset"
        );

        // Nobody has the address: no ARP answer, no handshake, the connector's timeout. (The
        // socket then keeps quiet for up to a second, smoltcp's neighbor-discovery silence,
        // before its next SYN: the connect after this one waits that out, within its 3 s.)
        let nobody = at(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 99)), 10000);
        let err = guard("timed out", connector.connect(nobody))
            .await
            .expect_err("nobody has the address");
        assert_eq!((err, err.kind()), (Error::TimedOut, ErrorKind::TimedOut));

        // Port 0 to listen on.
        let err = TcpListener::new(
            stacks[0],
            at(v4(0), 0),
            leak(TcpResources::<1, 1024, 1024>::new()),
        )
        .err()
        .expect("port 0 refused");
        assert_eq!(
            (err, err.kind()),
            (Error::InvalidPort, ErrorKind::InvalidInput)
        );
        assert_eq!(
            err.to_string(),
            "port 0: expected a port to listen on (1-65535)"
        );

        // The pool's one socket is taken: no free socket (after the failures above, it is
        // free again, so this connect works).
        let listener = TcpListener::new(
            stacks[0],
            at(v4(0), 10000),
            leak(TcpResources::<2, 1024, 1024>::new()),
        )
        .expect("listen");
        let mut client = guard("connect", connector.connect(at(v4(0), 10000)))
            .await
            .expect("the pool's socket is free again");
        let err = guard("no free socket", connector.connect(at(v4(0), 10000)))
            .await
            .expect_err("one socket, taken");
        assert_eq!(
            (err, err.kind()),
            (Error::NoFreeSocket, ErrorKind::OutOfMemory)
        );

        // Writing after shutdown(Write).
        client.shutdown(Shutdown::Write).await.expect("shutdown");
        let err = client
            .write(b"late")
            .await
            .expect_err("write after shutdown");
        assert_eq!(
            (err, err.kind()),
            (Error::WriteAfterShutdown, ErrorKind::BrokenPipe)
        );

        // The server aborts: the client's read is a reset.
        let (mut server, peer) = guard("accept", listener.accept()).await.expect("accept");
        assert_eq!(peer, client.local_addr().expect("client's address"));
        server.abort();
        server.flush().await.expect("the reset sent");
        let err = guard("read a reset", client.read(&mut [0u8; 8]))
            .await
            .expect_err("reset by the peer");
        assert_eq!(
            (err, err.kind()),
            (Error::Reset, ErrorKind::ConnectionReset)
        );
    });
}

#[test]
fn udp_errors_name_what_went_wrong() {
    block_on(async {
        let stacks = network(2);
        let mut socket =
            UdpSocket::bind(stacks[0], at(v4(0), 0), leak(UdpResources::<2, 64>::new()))
                .expect("bind");
        let to = at(v4(1), 9);
        let err = socket
            .send_to(&[0u8; 65], &to)
            .await
            .expect_err("too large");
        assert_eq!(
            (err, err.kind()),
            (
                Error::DatagramTooLarge {
                    len: 65,
                    capacity: 64
                },
                ErrorKind::InvalidInput
            )
        );
        assert_eq!(
            err.to_string(),
            "datagram of 65 bytes: the socket's send buffer holds 64"
        );
        socket.send_to(&[0u8; 64], &to).await.expect("64 bytes fit");

        let err = socket.set_multicast_loop(true).expect_err("no loopback");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("multicast loopback"), "{err}");
        assert!(!socket.multicast_loop().expect("loop"));
        socket
            .set_multicast_loop(false)
            .expect("off is what it does");

        let other = portsock_core::asynch::transport::Interface::Addr(Ipv4Addr::new(10, 9, 9, 9));
        let err = socket
            .set_multicast_interface(other)
            .expect_err("not the stack's interface");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    });
}
