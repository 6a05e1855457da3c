//! TCP timeout and keep-alive: a peer that vanishes (every frame dropped from some instant on)
//! gets its connection failed with `ConnectionTimedOut` once the configured timeout has passed,
//! while an idle peer that is still there keeps its connection. On the simulated clock, so the
//! times asserted are exact to the stack's timer granularity, whatever the machine's load.

use std::net::SocketAddr;

use portsock_core::time::{Clock, Duration, Instant};
use portsock_core::transport::{Blocking, Listener, Read, Write};
use portsock_smoltcp::smoltcp::phy::{FaultInjector, Loopback, Medium};
use portsock_smoltcp::{
    Config, DEFAULT_TCP_KEEP_ALIVE, DEFAULT_TCP_TIMEOUT, ManualPlatform, ORPHAN_FIN_TIMEOUT, Stack,
    StackError, TcpError, TcpListener, TcpStream, parse_cidr,
};

type FaultyStack = Stack<'static, FaultInjector<Loopback>, ManualPlatform>;

const TIMEOUT: Duration = Duration::from_secs(5);
const KEEP_ALIVE: Duration = Duration::from_secs(1);
const SERVER: &str = "127.0.0.1:10000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn stack(config: Config) -> FaultyStack {
    let config = config
        .with_address(parse_cidr("127.0.0.1/8").unwrap())
        .unwrap();
    let device = FaultInjector::new(Loopback::new(Medium::Ip), 1);
    let stack = Stack::new(&config, device, ManualPlatform::default(), vec![]).unwrap();
    stack.add_tcp_sockets(4, 4096, 4096).unwrap();
    stack
}

fn short_timers() -> Config {
    Config::new([2, 0, 0, 0, 0, 1])
        .with_tcp_timeout(Some(TIMEOUT))
        .with_tcp_keep_alive(Some(KEEP_ALIVE))
}

/// A connected pair on `stack`: (client, server side).
fn pair(
    stack: &FaultyStack,
) -> (
    TcpStream<'_, 'static, FaultInjector<Loopback>, ManualPlatform>,
    TcpStream<'_, 'static, FaultInjector<Loopback>, ManualPlatform>,
) {
    let mut listener = TcpListener::bind(stack, addr(SERVER), 1).unwrap();
    let client = TcpStream::connect(stack, addr(SERVER), Some(Duration::from_secs(5))).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// The link goes dead: from now on every frame is lost.
fn vanish(stack: &FaultyStack) -> Instant {
    stack.with_device(|d| d.set_drop_chance(100));
    stack.now()
}

#[test]
fn an_idle_connection_whose_peer_vanished_times_out() {
    let stack = stack(short_timers());
    let (_client, mut server) = pair(&stack);
    let gone = vanish(&stack);
    let mut buf = [0u8; 16];
    // A blocking read with no timeout of its own: only the TCP timers can end it.
    let err = server.read(&mut buf).unwrap_err();
    let waited = stack.now() - gone;
    assert_eq!(err, TcpError::ConnectionTimedOut);
    assert!(
        err.to_string().contains("timed out"),
        "a clear message: {err}"
    );
    // The last frame heard was just before the link died; keep-alive probes went unanswered.
    assert!(
        waited >= TIMEOUT && waited <= TIMEOUT + KEEP_ALIVE,
        "failed after {waited:?}, timeout {TIMEOUT:?}"
    );
}

#[test]
fn unacknowledged_data_to_a_vanished_peer_times_out() {
    let stack = stack(short_timers().with_tcp_keep_alive(None));
    let (mut client, _server) = pair(&stack);
    let gone = vanish(&stack);
    client.write_all(b"nobody hears this").unwrap();
    let err = client.flush().unwrap_err();
    let waited = stack.now() - gone;
    assert_eq!(err, TcpError::ConnectionTimedOut);
    assert!(
        waited >= TIMEOUT && waited <= TIMEOUT + Duration::from_secs(2),
        "{waited:?}"
    );
    // Later calls say the same, not "reset".
    assert_eq!(
        client.write(b"x").unwrap_err(),
        TcpError::ConnectionTimedOut
    );
}

#[test]
fn a_connect_nobody_answers_times_out() {
    let stack = stack(short_timers());
    let _listener = TcpListener::bind(&stack, addr(SERVER), 1).unwrap();
    let gone = vanish(&stack);
    let err = match TcpStream::connect(&stack, addr(SERVER), None) {
        Err(e) => e,
        Ok(_) => panic!("connected over a dead link"),
    };
    assert_eq!(err, TcpError::ConnectionTimedOut);
    assert!(stack.now() - gone >= TIMEOUT);
}

/// Keep-alive probes keep a healthy idle connection's peer talking: it outlives the timeout
/// many times over, then still carries data.
#[test]
fn an_idle_connection_to_a_live_peer_stays_up() {
    let stack = stack(short_timers());
    let (mut client, mut server) = pair(&stack);
    server
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        server.read(&mut buf),
        Err(TcpError::TimedOut),
        "the read's own timeout"
    );
    client.write_all(b"still here").unwrap();
    client.flush().unwrap();
    let n = server.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"still here");
}

/// Without keep-alive and timeout, an idle connection whose peer vanished is never noticed:
/// the read ends only at its own deadline. Per stream, the timers can be turned back on.
#[test]
fn timers_can_be_turned_off_and_set_per_stream() {
    let stack = stack(
        Config::new([2, 0, 0, 0, 0, 1])
            .with_tcp_timeout(None)
            .with_tcp_keep_alive(None),
    );
    let (_client, mut server) = pair(&stack);
    assert_eq!((server.timeout(), server.keep_alive()), (None, None));
    vanish(&stack);
    server
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(server.read(&mut buf), Err(TcpError::TimedOut));

    server.set_timeout(Some(TIMEOUT)).unwrap();
    server.set_keep_alive(Some(KEEP_ALIVE)).unwrap();
    assert_eq!(server.read(&mut buf), Err(TcpError::ConnectionTimedOut));
}

#[test]
fn bad_timer_settings_are_refused() {
    let config = Config::new([2, 0, 0, 0, 0, 1]);
    assert_eq!(
        config.tcp_timers(),
        (Some(DEFAULT_TCP_TIMEOUT), Some(DEFAULT_TCP_KEEP_ALIVE))
    );
    let device = || FaultInjector::new(Loopback::new(Medium::Ip), 1);
    for (timeout, keep_alive) in [
        (Some(TIMEOUT), Some(TIMEOUT)),
        (Some(KEEP_ALIVE), Some(TIMEOUT)),
        (Some(Duration::ZERO), None),
        (None, Some(Duration::ZERO)),
    ] {
        let config = config
            .clone()
            .with_tcp_timeout(timeout)
            .with_tcp_keep_alive(keep_alive);
        match Stack::new(&config, device(), ManualPlatform::default(), vec![]) {
            Err(StackError::InvalidInput(why)) => assert!(why.contains("TCP"), "{why}"),
            Err(e) => panic!("{timeout:?} / {keep_alive:?}: {e}"),
            Ok(_) => panic!("{timeout:?} / {keep_alive:?} accepted"),
        }
    }
    let stack = stack(short_timers());
    let (mut client, _server) = pair(&stack);
    assert!(matches!(
        client.set_keep_alive(Some(TIMEOUT)),
        Err(TcpError::InvalidInput(_))
    ));
    assert!(matches!(
        client.set_timeout(Some(KEEP_ALIVE)),
        Err(TcpError::InvalidInput(_))
    ));
    assert_eq!(
        (client.timeout(), client.keep_alive()),
        (Some(TIMEOUT), Some(KEEP_ALIVE))
    );
}

/// A server drops its stream; the client acknowledges the FIN but keeps its own side open
/// (and keeps answering keep-alives). The server's socket waits in FIN-WAIT-2, where no TCP
/// timer runs: after `ORPHAN_FIN_TIMEOUT` it is reset and freed, so the listener's pool can
/// take the next client on a stack with no socket to spare.
#[test]
fn a_dropped_stream_whose_peer_never_closes_is_freed() {
    let config = short_timers()
        .with_address(parse_cidr("127.0.0.1/8").unwrap())
        .unwrap();
    let device = FaultInjector::new(Loopback::new(Medium::Ip), 1);
    let stack = Stack::new(&config, device, ManualPlatform::default(), vec![]).unwrap();
    // The first client, the server's end of it, and one more: the second client. Nothing
    // left for the listener's pool until the server's end is freed.
    stack.add_tcp_sockets(3, 4096, 4096).unwrap();
    let mut listener = TcpListener::bind(&stack, addr(SERVER), 1).unwrap();
    let mut client = TcpStream::connect(&stack, addr(SERVER), Some(TIMEOUT)).unwrap();
    let (server, _) = listener.accept().unwrap();
    drop(server);
    // The client sees the FIN (end of stream) and does not close.
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert_eq!(client.read(&mut [0u8; 4]).unwrap(), 0);
    let second = addr(SERVER);
    let dropped = stack.now();
    // Before the timeout the server's end still holds its socket: the second client's SYN
    // finds nothing listening (its connect gives up at its own deadline).
    let early = TcpStream::connect(&stack, second, Some(TIMEOUT));
    assert!(early.is_err(), "connected while the orphan held the socket");
    while stack.now() - dropped < ORPHAN_FIN_TIMEOUT + KEEP_ALIVE {
        stack.wait(Some(stack.now() + KEEP_ALIVE));
    }
    // The orphan is gone: the pool listens again, and the next client is served.
    let mut next = TcpStream::connect(&stack, second, Some(TIMEOUT)).expect("connect");
    let (mut accepted, _) = listener.accept().expect("accept");
    next.write_all(b"ping").unwrap();
    next.flush().unwrap();
    let mut buf = [0u8; 4];
    accepted.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut got = 0;
    while got < 4 {
        got += accepted.read(&mut buf[got..]).unwrap();
    }
    assert_eq!(&buf, b"ping");
    // The first client's connection is still there, half closed, for its owner to end.
    drop(client);
}
