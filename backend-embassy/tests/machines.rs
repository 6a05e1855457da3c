//! Every core machine end to end on embassy-net: stacks on an in-memory Ethernet hub (see
//! `common`), portsock's TCP listener and connector pools and UDP sockets on them, the core's
//! async drivers and `Sessions::serve`. Every byte verified.

mod common;

use core::cell::Cell;
use core::future::{Future, poll_fn};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::task::Poll;

use common::{at, block_on, join_tasks, leak, network, v4, v6};
use embassy_time::{Duration, Timer};
use embedded_io::Error as _;
use embedded_io::ErrorKind;
use portsock_core::asynch::drive::{run_datagram, run_stream};
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::sessions::{Event, Sessions};
use portsock_core::asynch::transport::{
    Datagram, Interface, Listener as _, MembershipRequest, Multicast, Read as _, Stream as _,
    Write as _,
};
use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoServer};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::echo::{CHAPTER_DATAGRAM_SIZE, CHAPTER_MESSAGE};
use portsock_core::multicast::{CHAPTER_ACK, CHAPTER_TTL, MulticastReceiver, MulticastSender};
use portsock_core::record::{CHAPTER_FORMAT, RecordReceiver, RecordSender, chapter_values};
use portsock_core::wire::structfmt::{Format, Value};
use portsock_embassy::{
    EmbassyTimer, Error, TcpConnector, TcpListener, TcpResources, UdpResources, UdpSocket,
};

/// Generous: what takes milliseconds in-process may take seconds on a busy machine.
const GUARD: Duration = Duration::from_secs(30);
/// Bytes each way per TCP socket.
const BUF: usize = 2048;

/// `fut`'s output, or a panic naming `what` after [`GUARD`].
async fn guard<F: Future>(what: &str, fut: F) -> F::Output {
    match first(fut, Timer::after(GUARD)).await {
        Either::First(out) => out,
        Either::Second(()) => panic!("{what}: not done within {GUARD:?}"),
    }
}

/// All of `futs`' outputs, polled together.
async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut outs: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    poll_fn(|cx| {
        for (fut, out) in futs.iter_mut().zip(outs.iter_mut()) {
            if out.is_none()
                && let Poll::Ready(o) = fut.as_mut().poll(cx)
            {
                *out = Some(o);
            }
        }
        if outs.iter().all(Option::is_some) {
            Poll::Ready(outs.iter_mut().map(|o| o.take().unwrap()).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// `n` bytes of a pattern that no power-of-two chunking lines up with, different per `seed`.
fn pattern(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i + seed * 7) % 251) as u8).collect()
}

/// Two stacks: a listener of `L` sockets at `ip` port `port` on the first, a connector of `C`
/// sockets on the second; and the listener's address.
fn tcp_pair<const L: usize, const C: usize>(
    ip: IpAddr,
    port: u16,
) -> (
    TcpListener<'static, L>,
    TcpConnector<'static, C>,
    SocketAddr,
) {
    let stacks = network(2);
    let addr = at(ip, port);
    let listener = TcpListener::new(stacks[0], addr, leak(TcpResources::<L, BUF, BUF>::new()))
        .expect("listen");
    let connector = TcpConnector::new(stacks[1], leak(TcpResources::<C, BUF, BUF>::new()));
    (listener, connector, addr)
}

/// Accepts one connection on `listener` and echoes it until the client closes; the bytes
/// echoed.
async fn echo_one<const L: usize>(listener: &TcpListener<'_, L>) -> u64 {
    let (mut stream, _) = listener.accept().await.expect("accept");
    let mut session = EchoSession::new([0u8; 256]);
    run_stream(&mut stream, &mut session, &mut |_| {})
        .await
        .expect("the session's run");
    session.sent()
}

/// Waits until `n` of `listener`'s sockets listen: accept re-arms closed sockets; nobody
/// connects, so it only waits.
async fn until_listening<const L: usize>(listener: &TcpListener<'_, L>, n: usize) {
    while listener.listening() < n {
        let _ = first(listener.accept(), Timer::after(Duration::from_millis(10))).await;
    }
}

/// One echo client over a fresh connection from `connector` to `to`: sends `message`, reads
/// it back (verified by the machine, byte for byte), half-closes.
async fn echo_once<const N: usize>(
    connector: &TcpConnector<'_, N>,
    to: SocketAddr,
    message: &[u8],
) {
    let mut stream = connector.connect(to).await.expect("connect");
    let mut client = EchoClient::new(message, [0u8; 256])
        .with_chunk(200)
        .with_window(1024)
        .with_half_close(true);
    run_stream(&mut stream, &mut client, &mut |_| {})
        .await
        .expect("the echo client's run");
    assert!(client.is_done());
    assert_eq!(client.received(), message.len());
}

/// TCP echo through `Sessions::serve` on stack 0 at `server`, clients from stack 1: the
/// chapter's message and a 64 KiB one; the server reports the bytes it echoed.
fn tcp_echo(server: fn(usize) -> IpAddr) {
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<2, 2>(server(0), 10000);
        let echoed = Cell::new(0u64);
        let peers = Cell::new(0usize);
        let done = Cell::new(false);
        let serve = Sessions::new(&listener, &EmbassyTimer).serve::<2, _, _, _, _>(
            |_peer| EchoSession::new([0u8; 512]),
            |event| {
                if let Event::Finished { machine, peer, .. } = event {
                    assert_eq!(peer.ip(), server(1), "the client's address");
                    echoed.set(echoed.get() + machine.sent());
                    peers.set(peers.get() + 1);
                }
            },
            poll_fn(|_| {
                if done.get() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }),
        );
        let big = pattern(64 * 1024, 1);
        let clients = async {
            echo_once(&connector, addr, CHAPTER_MESSAGE).await;
            echo_once(&connector, addr, &big).await;
            // The sessions report once their streams are done; wait for both.
            while peers.get() < 2 {
                Timer::after(Duration::from_millis(5)).await;
            }
            done.set(true);
        };
        guard("echo", async {
            let ((), ()) = futures_lite::future::zip(serve, clients).await;
        })
        .await;
        assert_eq!(echoed.get(), (CHAPTER_MESSAGE.len() + big.len()) as u64);
    });
}

#[test]
fn tcp_echo_over_ipv4() {
    tcp_echo(v4);
}

#[test]
fn tcp_echo_over_ipv6() {
    tcp_echo(v6);
}

/// The listener's backlog: `BACKLOG` clients connect at once before anything is accepted
/// (none refused, all established), one more is refused while every socket is taken, then
/// two workers echo all of them (more clients than workers: the rest wait, connected, in the
/// backlog). Once they closed, the sockets listen again and a second burst is served too.
#[test]
fn listener_takes_a_burst_of_clients_up_to_its_backlog() {
    const BACKLOG: usize = 6;
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<BACKLOG, { BACKLOG + 1 }>(v4(0), 10000);
        assert_eq!(listener.listening(), BACKLOG);
        for round in 0..2 {
            // The burst, before anyone accepts.
            let connects = (0..BACKLOG).map(|_| connector.connect(addr)).collect();
            let streams: Vec<_> = guard("the burst's connects", join_all(connects))
                .await
                .into_iter()
                .enumerate()
                .map(|(i, s)| s.unwrap_or_else(|e| panic!("round {round}, client {i}: {e}")))
                .collect();
            assert_eq!(listener.listening(), 0, "every socket holds a connection");
            let err = guard("the refused connect", connector.connect(addr))
                .await
                .expect_err("a client beyond the backlog");
            assert_eq!(
                (err, err.kind()),
                (Error::Refused, ErrorKind::ConnectionRefused)
            );

            let served = Cell::new(0usize);
            let serve = Sessions::new(&listener, &EmbassyTimer).serve::<2, _, _, _, _>(
                |_peer| EchoSession::new([0u8; 256]),
                |event| {
                    if let Event::Finished { .. } = event {
                        served.set(served.get() + 1);
                    }
                },
                poll_fn(|_| {
                    if served.get() == BACKLOG {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }),
            );
            let messages: Vec<Vec<u8>> = (0..BACKLOG).map(|i| pattern(3000 + i, i)).collect();
            let clients = streams
                .into_iter()
                .zip(&messages)
                .map(|(mut stream, message)| async move {
                    let mut client = EchoClient::new(message, [0u8; 256])
                        .with_chunk(256)
                        .with_window(1024)
                        .with_half_close(true);
                    run_stream(&mut stream, &mut client, &mut |_| {})
                        .await
                        .expect("the echo client's run");
                    assert_eq!(client.received(), message.len());
                })
                .collect();
            guard("the burst's echoes", async {
                futures_lite::future::zip(serve, join_all(clients)).await;
            })
            .await;
            assert_eq!(served.get(), BACKLOG);
            // The closes complete, and every socket listens again.
            guard(
                "the sockets listening again",
                until_listening(&listener, BACKLOG),
            )
            .await;
        }
    });
}

/// Four tasks, each with its own waker (as on embassy's executor), accept on one listener at
/// once and serve four clients at once: each client gets its first echo only while all four
/// connections are open (a barrier between the first echo and the rest), so a task left
/// asleep on the listener (a smoltcp socket keeps one waker: the last task's to poll) would
/// hang the test.
#[test]
fn several_tasks_accept_on_one_listener_and_serve_clients_at_once() {
    const CLIENTS: usize = 4;
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<CLIENTS, CLIENTS>(v4(0), 10000);
        let servers = (0..CLIENTS).map(|_| echo_one(&listener)).collect();
        let echoed_once = Cell::new(0usize);
        let clients = (0..CLIENTS)
            .map(|i| {
                let (connector, echoed_once) = (&connector, &echoed_once);
                async move {
                    let mut stream = connector.connect(addr).await.expect("connect");
                    let first_part = pattern(500, i);
                    stream.write_all(&first_part).await.expect("write");
                    let mut back = vec![0u8; first_part.len()];
                    stream.read_exact(&mut back).await.expect("the first echo");
                    assert_eq!(back, first_part, "client {i}'s first echo");
                    echoed_once.set(echoed_once.get() + 1);
                    while echoed_once.get() < CLIENTS {
                        Timer::after(Duration::from_millis(5)).await;
                    }
                    let rest = pattern(2000, i + 10);
                    let mut client = EchoClient::new(&rest, [0u8; 256])
                        .with_window(1024)
                        .with_half_close(true);
                    run_stream(&mut stream, &mut client, &mut |_| {})
                        .await
                        .expect("the rest of the echo");
                    assert!(client.is_done());
                }
            })
            .collect();
        let (sent, _) = guard(
            "four clients at once",
            futures_lite::future::zip(join_tasks(servers), join_tasks(clients)),
        )
        .await;
        assert_eq!(
            sent, [2500; CLIENTS],
            "each session echoed its client's bytes"
        );
    });
}

/// A peer that never closes its side cannot hold a listener's socket: the server drops its
/// stream, the client keeps its own open and silent, and after the listener's close timeout
/// the socket is aborted and listens again (it would stay in FIN-WAIT-2 for ever otherwise);
/// a second client is then served on it.
#[test]
fn a_peer_that_never_closes_loses_the_socket_after_the_close_timeout() {
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<1, 2>(v4(0), 10000);
        let listener = listener.with_close_timeout(Duration::from_millis(300));
        let mut silent = guard("connect", connector.connect(addr))
            .await
            .expect("connect");
        let (server, _) = guard("accept", listener.accept()).await.expect("accept");
        drop(server);
        // The client reads the server's end of stream, and keeps its side open.
        let n = guard("the server's FIN", silent.read(&mut [0u8; 8]))
            .await
            .expect("end of stream");
        assert_eq!(n, 0);
        guard("the socket listening again", until_listening(&listener, 1)).await;
        let serve = echo_one(&listener);
        guard(
            "the second client",
            futures_lite::future::zip(serve, echo_once(&connector, addr, CHAPTER_MESSAGE)),
        )
        .await;
        drop(silent);
    });
}

/// `closed` waits for the listener's dropped streams to finish closing: not while the peer
/// still has the connection open (the server's socket waits in FIN-WAIT-2), then once the
/// peer closed its side too; at once when nothing is closing.
#[test]
fn closed_waits_until_dropped_streams_have_closed() {
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<2, 1>(v4(0), 10000);
        guard("nothing closing", listener.closed()).await;
        let mut client = guard("connect", connector.connect(addr))
            .await
            .expect("connect");
        let (mut server, _) = guard("accept", listener.accept()).await.expect("accept");
        server.write_all(b"last bytes").await.expect("write");
        drop(server);
        let early = first(listener.closed(), Timer::after(Duration::from_millis(200))).await;
        assert!(
            matches!(early, Either::Second(())),
            "the client has not closed its side yet"
        );
        let mut got = [0u8; 10];
        guard("read", client.read_exact(&mut got))
            .await
            .expect("the server's bytes");
        assert_eq!(&got, b"last bytes");
        drop(client);
        guard("the close", listener.closed()).await;
    });
}

/// `accept` is cancel-safe: accepts dropped while nothing arrived (raced against a timer, and
/// polled once) lose nothing, and the connection that arrives after them is the next
/// accept's, with the client's address.
#[test]
fn a_dropped_accept_loses_no_connection() {
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<2, 1>(v4(0), 10000);
        let raced = first(listener.accept(), Timer::after(Duration::from_millis(50))).await;
        assert!(matches!(raced, Either::Second(())), "nobody connected yet");
        let once = first(listener.accept(), core::future::ready(())).await;
        assert!(
            matches!(once, Either::Second(())),
            "polled once, nobody yet"
        );
        let mut client = guard("connect", connector.connect(addr))
            .await
            .expect("connect");
        client.write_all(b"first bytes").await.expect("write");
        let (mut server, peer) = guard("accept", listener.accept()).await.expect("accept");
        assert_eq!(peer, client.local_addr().expect("the client's address"));
        let mut got = [0u8; 11];
        guard("read", server.read_exact(&mut got))
            .await
            .expect("the client's bytes");
        assert_eq!(&got, b"first bytes");
    });
}

#[test]
fn udp_echo_server_and_clients() {
    block_on(async {
        let stacks = network(2);
        let mut server_socket = UdpSocket::bind(
            stacks[0],
            at(v4(0), 7),
            leak(UdpResources::<4, 1024>::new()),
        )
        .expect("bind");
        let mut server = DatagramEchoServer::new([0u8; CHAPTER_DATAGRAM_SIZE]).with_limit(3);
        let to = server_socket.local_addr().expect("address");
        let clients = async {
            for i in 0..3 {
                let mut socket = UdpSocket::bind(
                    stacks[1],
                    at(v4(1), 0),
                    leak(UdpResources::<4, 1024>::new()),
                )
                .expect("bind");
                let message = pattern(100 + i, i);
                let mut client =
                    DatagramEchoClient::new(&message, to, [0u8; CHAPTER_DATAGRAM_SIZE])
                        .with_timeout(portsock_core::time::Duration::from_secs(5))
                        .with_retries(3);
                run_datagram(&mut socket, &mut client, &EmbassyTimer, &mut |_| {})
                    .await
                    .expect("the client's run");
                assert!(client.is_done());
            }
        };
        let (served, ()) = guard(
            "datagram echo",
            futures_lite::future::zip(
                run_datagram(&mut server_socket, &mut server, &EmbassyTimer, &mut |_| {}),
                clients,
            ),
        )
        .await;
        served.expect("the server's run");
        assert_eq!(server.served(), 3);
    });
}

/// The chapter's multicast: a sender on stack 0, receivers on stacks 1 and 2 that joined the
/// group through their stacks; both acknowledge, from their own addresses. Over IPv4 (IGMP)
/// and IPv6 (MLD).
fn multicast(group: IpAddr, local: fn(usize) -> IpAddr) {
    block_on(async {
        let stacks = network(3);
        let port = 10000;
        let request = match group {
            IpAddr::V4(g) => MembershipRequest::v4(g, Interface::Any),
            IpAddr::V6(g) => MembershipRequest::v6(g, 0),
        }
        .expect("a group");
        let any = match group {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
        };
        let mut receivers = Vec::new();
        for &stack in &stacks[1..] {
            let mut socket =
                UdpSocket::bind(stack, at(any, port), leak(UdpResources::<4, 1024>::new()))
                    .expect("bind");
            socket.join(&request).expect("join");
            receivers.push(socket);
        }
        let receive = receivers
            .iter_mut()
            .map(|socket| async move {
                let mut receiver = MulticastReceiver::new([0u8; 1024]).with_limit(1);
                run_datagram(socket, &mut receiver, &EmbassyTimer, &mut |_| {})
                    .await
                    .expect("the receiver's run");
                receiver.acknowledged()
            })
            .collect();
        let mut tx = UdpSocket::bind(
            stacks[0],
            at(local(0), 0),
            leak(UdpResources::<4, 1024>::new()),
        )
        .expect("bind");
        tx.set_multicast_ttl(CHAPTER_TTL).expect("ttl");
        assert_eq!(tx.multicast_ttl().expect("ttl"), CHAPTER_TTL);
        tx.set_multicast_interface(Interface::Any)
            .expect("the stack's own interface");
        let message = pattern(300, 3);
        // Replies are collected for 3 s: long enough for a busy machine, short for a test.
        let mut sender = MulticastSender::<4, 16>::new(
            &message,
            SocketAddr::new(group, port),
            portsock_core::time::Duration::from_secs(3),
        );
        let send = async {
            run_datagram(&mut tx, &mut sender, &EmbassyTimer, &mut |_| {})
                .await
                .expect("the sender's run");
        };
        let ((), acks) = guard(
            "multicast",
            futures_lite::future::zip(send, join_all(receive)),
        )
        .await;
        assert_eq!(acks, [1, 1], "each receiver acknowledged the datagram");
        let mut from: Vec<IpAddr> = sender.replies().iter().map(|r| r.from.ip()).collect();
        from.sort();
        assert_eq!(from, [local(1), local(2)]);
        for reply in sender.replies() {
            assert_eq!(reply.from.port(), port);
            assert_eq!(&reply.payload[..], CHAPTER_ACK);
        }
        for socket in &mut receivers {
            socket.leave(&request).expect("leave");
        }
    });
}

#[test]
fn multicast_sender_and_two_receivers() {
    multicast(IpAddr::V4(Ipv4Addr::new(224, 3, 29, 71)), v4);
}

#[test]
fn multicast_sender_and_two_receivers_over_ipv6() {
    multicast("ff15::3:29:71".parse().expect("a group"), v6);
}

/// The chapter's binary record, and a longer one, from a connector's stream to an accepted
/// one: the receiver unpacks exactly the values sent.
#[test]
fn binary_records() {
    block_on(async {
        let (listener, connector, addr) = tcp_pair::<1, 1>(v6(0), 10001);
        let chapter = Format::parse(CHAPTER_FORMAT).expect("the chapter's format");
        let longer = Format::parse("!H 300s ? d q").expect("a format");
        let text = pattern(300, 9);
        let longer_values = [
            Value::Int(0xbeef),
            Value::Bytes(&text),
            Value::Bool(true),
            Value::Float(-1.5e300),
            Value::Int(-1 << 40),
        ];
        for (format, values) in [
            (&chapter, &chapter_values()[..]),
            (&longer, &longer_values[..]),
        ] {
            let send = async {
                let mut stream = connector.connect(addr).await.expect("connect");
                let mut sender = RecordSender::new(format, values, [0u8; 512]).expect("pack");
                run_stream(&mut stream, &mut sender, &mut |_| {})
                    .await
                    .expect("the sender's run");
                sender.record().to_vec()
            };
            let receive = async {
                let (mut stream, _) = listener.accept().await.expect("accept");
                let mut receiver = RecordReceiver::new(*format, [0u8; 512]).expect("a receiver");
                run_stream(&mut stream, &mut receiver, &mut |_| {})
                    .await
                    .expect("the receiver's run");
                let record = receiver.record().expect("a whole record").to_vec();
                let got: Vec<String> = receiver
                    .values()
                    .expect("a whole record")
                    .map(|v| format!("{v:?}"))
                    .collect();
                (record, got)
            };
            let (sent, (received, got)) =
                guard("a record", futures_lite::future::zip(send, receive)).await;
            assert_eq!(received, sent, "the packed record, byte for byte");
            assert_eq!(received.len(), format.size());
            // The values unpacked: those sent (the chapter's `f` is an f32, so 2.7 comes back
            // as the f32 nearest to it, as in Python).
            let expected: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::Float(x) if format == &chapter => {
                        format!("{:?}", Value::Float(f64::from(*x as f32)))
                    }
                    v => format!("{v:?}"),
                })
                .collect();
            assert_eq!(got, expected);
        }
    });
}
