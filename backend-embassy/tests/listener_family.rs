//! A listener on an IPv4 address serves IPv4 clients only, as a kernel's `AF_INET` socket
//! does: smoltcp's listening socket on the unspecified address completes a handshake of either
//! family, and the listener resets an IPv6 connection at `accept` instead of handing it out,
//! then listens again. On `::` it takes both, as Linux's `AF_INET6` socket does by default.

mod common;

use core::future::{Future, poll_fn};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::pin::pin;
use core::task::Poll;

use common::{at, block_on, leak, network, v4, v6};
use embassy_time::{Duration, Timer};
use embedded_io::{Error as _, ErrorKind};
use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::transport::{Listener, Read, Stream};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_embassy::{Error, TcpConnector, TcpListener, TcpResources};

const GUARD: Duration = Duration::from_secs(30);

async fn guard<F: Future>(what: &str, fut: F) -> F::Output {
    match first(fut, Timer::after(GUARD)).await {
        Either::First(out) => out,
        Either::Second(()) => panic!("{what}: not done within {GUARD:?}"),
    }
}

/// Both outputs; `a` is polled first each time (the accept listens before the connect's SYN).
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(o) = a.as_mut().poll(cx)
        {
            out_a = Some(o);
        }
        if out_b.is_none()
            && let Poll::Ready(o) = b.as_mut().poll(cx)
        {
            out_b = Some(o);
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready((out_a.take().unwrap(), out_b.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Accepts one client on `listener` and echoes it: its address and the bytes echoed.
async fn serve_one<const N: usize>(listener: &TcpListener<'_, N>) -> (SocketAddr, u64) {
    let (mut stream, peer) = listener.accept().await.expect("accept");
    let mut session = EchoSession::new([0u8; 256]);
    run_stream(&mut stream, &mut session, &mut |_| {})
        .await
        .expect("the echo");
    (peer, session.sent())
}

/// Connects to `to` and runs the chapter's verifying echo client: the client's address.
async fn echo_client<const N: usize>(
    connector: &TcpConnector<'_, N>,
    to: SocketAddr,
) -> SocketAddr {
    let mut stream = connector.connect(to).await.expect("connect");
    let local = stream.local_addr().expect("the client's address");
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 64]);
    run_stream(&mut stream, &mut client, &mut |_| {})
        .await
        .expect("every byte echoed");
    local
}

/// A one-socket listener on 0.0.0.0: an IPv6 client is reset, never accepted; then an IPv4
/// client is accepted on the same socket, listening again, and echoed.
#[test]
fn any_ipv4_listener_resets_ipv6_clients_and_serves_ipv4() {
    block_on(async {
        let stacks = network(2);
        let listener = TcpListener::new(
            stacks[0],
            at(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 10000),
            leak(TcpResources::<1, 1024, 1024>::new()),
        )
        .expect("listen");
        let connector = TcpConnector::new(stacks[1], leak(TcpResources::<2, 1024, 1024>::new()));

        // smoltcp completes the IPv6 handshake on its own...
        let mut wrong = guard("the IPv6 connect", connector.connect(at(v6(0), 10000)))
            .await
            .expect("the handshake, before any accept");
        // ...and accept resets it rather than handing it out.
        let mut buf = [0u8; 16];
        match guard(
            "accept beside the reset",
            first(listener.accept(), wrong.read(&mut buf)),
        )
        .await
        {
            Either::First(Ok((_, peer))) => {
                panic!("a listener on 0.0.0.0 accepted an IPv6 client, {peer}")
            }
            Either::First(Err(e)) => panic!("accept failed: {e}"),
            Either::Second(read) => {
                let err = read.expect_err("the IPv6 client is reset");
                assert_eq!(
                    (err, err.kind()),
                    (Error::Reset, ErrorKind::ConnectionReset)
                );
            }
        }
        drop(wrong);

        // The listener's one socket listens again: an IPv4 client is served.
        let client = echo_client(&connector, at(v4(0), 10000));
        let ((peer, echoed), local) =
            guard("the IPv4 client", join(serve_one(&listener), client)).await;
        assert_eq!(peer, local, "the accepted client is the IPv4 one");
        assert_eq!(peer.ip(), v4(1));
        assert_eq!(echoed, CHAPTER_MESSAGE.len() as u64);
    });
}

/// A listener on `::` serves an IPv6 client and an IPv4 one, each under its own address.
#[test]
fn any_ipv6_listener_serves_both_families() {
    block_on(async {
        let stacks = network(2);
        let listener = TcpListener::new(
            stacks[0],
            at(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 10000),
            leak(TcpResources::<2, 1024, 1024>::new()),
        )
        .expect("listen");
        let connector = TcpConnector::new(stacks[1], leak(TcpResources::<2, 1024, 1024>::new()));
        for to in [v6(0), v4(0)] {
            let client = echo_client(&connector, at(to, 10000));
            let ((peer, echoed), local) =
                guard("a client", join(serve_one(&listener), client)).await;
            assert_eq!(peer, local, "{to}");
            assert_eq!(peer.is_ipv4(), to.is_ipv4());
            assert_eq!(echoed, CHAPTER_MESSAGE.len() as u64);
        }
    });
}
