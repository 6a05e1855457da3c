//! The datagram echo machines over the in-memory network: the chapter's transcript, loss with
//! and without retries on the manual clock, stray datagrams, truncation, oversized datagrams,
//! would-block versus timed out, and random loss.

mod machines_util;

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;

use machines_util::{Transcript, Turn, py, run, turn};
use portsock_core::drive::{DriveError, run_datagram, step_datagram};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::datagram::{
    ClientEvent, DatagramEchoClient, DatagramEchoError, DatagramEchoServer, ServerEvent,
};
use portsock_core::machine::Status;
use portsock_core::mem::{ManualClock, MemError, Network};
use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{Blocking, Datagram};
use proptest::prelude::*;

type Net<'c> = Network<'c, 8, 8, 128>;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn server_addr() -> SocketAddr {
    addr("127.0.0.1:10000")
}

#[derive(Debug, Default)]
struct Outcome {
    client: Transcript,
    server: Transcript,
    client_error: Option<DriveError<MemError, DatagramEchoError>>,
    server_error: Option<DriveError<MemError, Infallible>>,
}

fn client_lines(t: &mut Transcript, c: &mut DatagramEchoClient<'_, [u8; 4096]>) {
    while let Some(event) = c.poll_event() {
        match event {
            ClientEvent::Sending(m) => t.line(format_args!("sending {}", py(m))),
            ClientEvent::Waiting => t.line(format_args!("waiting to receive")),
            ClientEvent::Received(d) => t.line(format_args!("received {}", py(d))),
            ClientEvent::Retrying(n) => t.line(format_args!("retrying, attempt {n}")),
            ClientEvent::Stray { from, len } => {
                t.line(format_args!("ignored {len} bytes from {from}"))
            }
            _ => t.line(format_args!("{event:?}")),
        }
    }
}

fn server_lines<B: portsock_core::machine::Buffer>(
    t: &mut Transcript,
    s: &mut DatagramEchoServer<B>,
) {
    while let Some(event) = s.poll_event() {
        match event {
            ServerEvent::Waiting => t.line(format_args!("waiting to receive message")),
            ServerEvent::Received { from, data, len } => {
                t.line(format_args!("received {len} bytes from {from}"));
                t.line(format_args!("{}", py(data)));
            }
            ServerEvent::Sent { to, len } => t.line(format_args!("sent {len} bytes back to {to}")),
            _ => t.line(format_args!("{event:?}")),
        }
    }
}

/// Runs `client` against `server` on a fresh network (both sockets non-blocking); the server
/// stops when the client has finished.
fn converse<B: portsock_core::machine::Buffer>(
    clock: &ManualClock,
    net: &Net<'_>,
    client: &mut DatagramEchoClient<'_, [u8; 4096]>,
    server: &mut DatagramEchoServer<B>,
) -> Outcome {
    let mut server_socket = net.bind(server_addr()).unwrap();
    let mut client_socket = net.bind(addr("127.0.0.1:0")).unwrap();
    server_socket.set_nonblocking(true).unwrap();
    client_socket.set_nonblocking(true).unwrap();
    let mut out = Outcome::default();
    let client_finished = Cell::new(false);
    {
        let mut client_side = || {
            let step = step_datagram(&mut client_socket, client, clock, &mut |c| {
                client_lines(&mut out.client, c)
            });
            let t = turn(step, client.poll_timeout(), &mut out.client_error);
            client_finished.set(t == Turn::Done);
            t
        };
        let mut server_side = || {
            if client_finished.get() {
                return Turn::Done;
            }
            let step = step_datagram(&mut server_socket, server, clock, &mut |s| {
                server_lines(&mut out.server, s)
            });
            turn(step, None, &mut out.server_error)
        };
        run(
            clock,
            &|| net.activity(),
            &mut [&mut client_side, &mut server_side],
            10_000,
        )
        .unwrap();
    }
    out
}

#[test]
fn chapter_transcript() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr(), [0u8; 4096]);
    let mut server = DatagramEchoServer::new([0u8; 4096]);
    let out = converse(&clock, &net, &mut client, &mut server);
    assert_eq!((out.client_error, out.server_error), (None, None));
    assert_eq!(
        out.client.0,
        [
            "sending b'This is the message.  It will be repeated.'",
            "waiting to receive",
            "received b'This is the message.  It will be repeated.'",
        ]
    );
    assert_eq!(
        out.server.0,
        [
            "waiting to receive message",
            "received 42 bytes from 127.0.0.1:49152",
            "b'This is the message.  It will be repeated.'",
            "sent 42 bytes back to 127.0.0.1:49152",
            "waiting to receive message",
        ]
    );
    assert_eq!(
        clock.now(),
        Instant::ZERO,
        "no time passed: nothing was lost"
    );
}

#[test]
fn a_lost_request_is_an_error_after_the_timeout() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut socket = net.bind(addr("127.0.0.1:0")).unwrap();
    let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr(), [0u8; 4096]);
    // Blocking mode: nobody answers, so the receive waits out its deadline on the manual clock.
    let err = run_datagram(&mut socket, &mut client, &clock, &mut |_| {}).unwrap_err();
    let lost = DatagramEchoError::Lost {
        attempts: 1,
        timeout: Duration::from_secs(1),
    };
    assert_eq!(err, DriveError::Protocol(lost));
    assert_eq!(clock.now(), Instant::from_millis(1_000));
    assert_eq!(net.dropped(), 1, "no socket at the server's address");
}

#[test]
fn a_retry_recovers_from_one_lost_datagram() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    net.drop_next(1);
    let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr(), [0u8; 4096])
        .with_timeout(Duration::from_millis(200))
        .with_retries(2);
    let mut server = DatagramEchoServer::new([0u8; 4096]);
    let out = converse(&clock, &net, &mut client, &mut server);
    assert_eq!(out.client_error, None);
    assert_eq!(client.attempts(), 2);
    assert_eq!(clock.now(), Instant::from_millis(200), "one timeout passed");
    assert_eq!(
        out.client.starting_with("retrying"),
        ["retrying, attempt 2"]
    );
    assert_eq!(server.served(), 1);
}

#[test]
fn loss_beyond_the_retries_is_reported_not_waited_on() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    net.drop_next(2);
    let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr(), [0u8; 4096])
        .with_timeout(Duration::from_millis(200))
        .with_retries(1);
    let mut server = DatagramEchoServer::new([0u8; 4096]);
    let out = converse(&clock, &net, &mut client, &mut server);
    let lost = DatagramEchoError::Lost {
        attempts: 2,
        timeout: Duration::from_millis(200),
    };
    assert_eq!(out.client_error, Some(DriveError::Protocol(lost)));
    assert_eq!(clock.now(), Instant::from_millis(400));
}

#[test]
fn stray_datagrams_are_ignored() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut client_socket = net.bind(addr("127.0.0.1:5000")).unwrap();
    let mut server_socket = net.bind(server_addr()).unwrap();
    let mut stranger = net.bind(addr("127.0.0.1:6000")).unwrap();
    let mut client = DatagramEchoClient::new(b"hello", server_addr(), [0u8; 4096]);
    let mut transcript = Transcript::default();
    // The client sends, then a stranger's datagram arrives before the echo.
    client_socket.set_nonblocking(true).unwrap();
    let step = step_datagram(&mut client_socket, &mut client, &clock, &mut |c| {
        client_lines(&mut transcript, c)
    });
    assert_eq!(step, Ok(Status::Running));
    stranger.send_to(b"junk", &addr("127.0.0.1:5000")).unwrap();
    let mut echo = [0u8; 16];
    let got = server_socket.recv_from(&mut echo, None).unwrap().unwrap();
    server_socket.send_to(&echo[..got.len], &got.from).unwrap();
    run_datagram(&mut client_socket, &mut client, &clock, &mut |c| {
        client_lines(&mut transcript, c)
    })
    .unwrap();
    assert_eq!(
        transcript.starting_with("ignored"),
        ["ignored 4 bytes from 127.0.0.1:6000"]
    );
    assert_eq!(transcript.starting_with("received"), ["received b'hello'"]);
}

#[test]
fn a_truncated_echo_cannot_pass_verification() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr(), [0u8; 4096]);
    let mut server = DatagramEchoServer::new([0u8; 16]);
    let out = converse(&clock, &net, &mut client, &mut server);
    assert_eq!(
        out.server.0[1..3],
        [
            "received 42 bytes from 127.0.0.1:49152",
            "b'This is the mess'"
        ]
    );
    assert_eq!(out.server.0[3], "sent 16 bytes back to 127.0.0.1:49152");
    let wrong = DatagramEchoError::WrongLength {
        expected: 42,
        got: 16,
    };
    assert_eq!(out.client_error, Some(DriveError::Protocol(wrong)));
}

#[test]
fn empty_datagrams_are_not_echoed_as_in_the_chapter() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut client = DatagramEchoClient::new(b"", server_addr(), [0u8; 4096]);
    let mut server = DatagramEchoServer::new([0u8; 64]);
    let out = converse(&clock, &net, &mut client, &mut server);
    assert_eq!(
        out.server.0[1..3],
        ["received 0 bytes from 127.0.0.1:49152", "b''"]
    );
    assert!(matches!(
        out.client_error,
        Some(DriveError::Protocol(DatagramEchoError::Lost { .. }))
    ));
}

#[test]
fn an_oversized_datagram_is_a_transport_error() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut socket = net.bind(addr("127.0.0.1:0")).unwrap();
    let big = [0u8; 200];
    let mut client = DatagramEchoClient::new(&big, server_addr(), [0u8; 4096]);
    let err = run_datagram(&mut socket, &mut client, &clock, &mut |_| {}).unwrap_err();
    assert_eq!(
        err,
        DriveError::Transport(MemError::TooLarge { len: 200, mtu: 128 })
    );
}

#[test]
fn a_server_read_timeout_is_timed_out_and_non_blocking_is_blocked() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut socket = net.bind(server_addr()).unwrap();
    let mut server = DatagramEchoServer::new([0u8; 64]);
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let err = run_datagram(&mut socket, &mut server, &clock, &mut |_| {}).unwrap_err();
    assert_eq!(err, DriveError::Transport(MemError::TimedOut));
    assert_eq!(clock.now(), Instant::from_millis(50));
    socket.set_nonblocking(true).unwrap();
    assert_eq!(
        step_datagram(&mut socket, &mut server, &clock, &mut |_| {}),
        Ok(Status::Blocked)
    );
    assert_eq!(clock.now(), Instant::from_millis(50));
    // A limited server finishes.
    let mut server = DatagramEchoServer::new([0u8; 64]).with_limit(0);
    assert_eq!(
        step_datagram(&mut socket, &mut server, &clock, &mut |_| {}),
        Ok(Status::Done)
    );
}

proptest! {
    #[test]
    fn prop_echo_succeeds_exactly_when_loss_is_within_the_retries(
        message in proptest::collection::vec(any::<u8>(), 1..128),
        lost in 0usize..4,
        retries in 0u32..4,
    ) {
        let clock = ManualClock::new();
        let net = Net::new(&clock);
        net.drop_next(lost);
        let timeout = Duration::from_millis(100);
        let mut client = DatagramEchoClient::new(&message, server_addr(), [0u8; 4096])
            .with_timeout(timeout)
            .with_retries(retries);
        let mut server = DatagramEchoServer::new([0u8; 4096]);
        let out = converse(&clock, &net, &mut client, &mut server);
        if lost <= retries as usize {
            prop_assert_eq!(out.client_error, None);
            prop_assert!(client.is_done());
            prop_assert_eq!(clock.now(), Instant::from_millis(100 * lost as u64));
        } else {
            let lost = DatagramEchoError::Lost { attempts: retries + 1, timeout };
            prop_assert_eq!(out.client_error, Some(DriveError::Protocol(lost)));
        }
    }
}
