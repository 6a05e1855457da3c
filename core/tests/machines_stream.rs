//! The stream echo machines over the in-memory transport: the chapter's transcript, short I/O,
//! half-close, backpressure, mismatch, early close, reset, timeouts, a listener with two
//! clients, and random chunkings.

mod machines_util;

use std::cell::RefCell;

use machines_util::{Transcript, Turn, py, run, turn};
use portsock_core::drive::{DriveError, run_stream, step_stream};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoError, EchoSession, SessionEvent};
use portsock_core::machine::Buffer;
use portsock_core::machine::Status;
use portsock_core::mem::{ManualClock, MemError, MemListener, MemStream, StreamPair};
use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{Blocking, Error as _, ErrorKind, Listener, Stream, Write};
use proptest::prelude::*;

type Failure = Option<DriveError<MemError, EchoError>>;

#[derive(Debug, Default)]
struct Outcome {
    client: Transcript,
    server: Transcript,
    client_error: Failure,
    server_error: Failure,
    /// Every byte the client reported as echoed and verified, in order.
    echoed: Vec<u8>,
    rounds: usize,
}

fn client_line(t: &mut Transcript, event: ClientEvent<'_>) {
    match event {
        ClientEvent::Sending(m) => t.line(format_args!("sending {}", py(m))),
        ClientEvent::Received(d) => t.line(format_args!("received {}", py(d))),
        ClientEvent::Done => t.line(format_args!("closing socket")),
        _ => t.line(format_args!("{event:?}")),
    }
}

fn server_line(t: &mut Transcript, peer: std::net::SocketAddr, event: SessionEvent<'_>) {
    match event {
        SessionEvent::Received(d) => t.line(format_args!("received {}", py(d))),
        SessionEvent::Sending(_) => t.line(format_args!("sending data back to the client")),
        SessionEvent::PeerClosed => {
            t.line(format_args!("received b''"));
            t.line(format_args!("no data from {peer}"));
        }
        _ => t.line(format_args!("{event:?}")),
    }
}

/// Runs `client` against `session` over `pair`, both ends non-blocking; the client's end is
/// dropped (closed) once it is done, as the chapter's client closes its socket.
fn converse<const N: usize>(
    pair: &StreamPair<'_, N>,
    client: &mut EchoClient<'_, impl Buffer>,
    session: &mut EchoSession<impl Buffer>,
) -> Outcome {
    let clock = ManualClock::new();
    let (a, mut b) = pair.split();
    let mut a = Some(a);
    a.as_mut().map(|a| a.set_nonblocking(true));
    b.set_nonblocking(true).unwrap();
    let peer = b.peer_addr().unwrap();
    let mut out = Outcome::default();
    let rounds = {
        let mut client_side = || {
            let Some(stream) = a.as_mut() else {
                return Turn::Done;
            };
            let step = step_stream(stream, client, &mut |c| {
                while let Some(e) = c.poll_event() {
                    if let ClientEvent::Received(d) = e {
                        out.echoed.extend_from_slice(d);
                    }
                    client_line(&mut out.client, e);
                }
            });
            let t = turn(step, None, &mut out.client_error);
            if t == Turn::Done {
                a = None;
            }
            t
        };
        let mut server_side = || {
            let step = step_stream(&mut b, session, &mut |s| {
                while let Some(e) = s.poll_event() {
                    server_line(&mut out.server, peer, e);
                }
            });
            turn(step, None, &mut out.server_error)
        };
        run(
            &clock,
            &|| pair.activity(),
            &mut [&mut client_side, &mut server_side],
            100_000,
        )
    };
    out.rounds = rounds.expect("the conversation finishes");
    out
}

#[test]
fn chapter_transcript() {
    let pair = StreamPair::<64>::new();
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    let mut session = EchoSession::new([0u8; 16]);
    let out = converse(&pair, &mut client, &mut session);
    assert_eq!((out.client_error, out.server_error), (None, None));
    assert_eq!(
        out.client.0,
        [
            "sending b'This is the message.  It will be repeated.'",
            "received b'This is the mess'",
            "received b'age.  It will be'",
            "received b' repeated.'",
            "closing socket",
        ]
    );
    assert_eq!(
        out.server.0,
        [
            "received b'This is the mess'",
            "sending data back to the client",
            "received b'age.  It will be'",
            "sending data back to the client",
            "received b' repeated.'",
            "sending data back to the client",
            "received b''",
            "no data from 127.0.0.1:49152",
        ]
    );
    assert!(client.is_done() && session.is_done());
    assert_eq!((session.received(), session.sent()), (42, 42));
}

#[test]
fn one_byte_at_a_time() {
    let pair = StreamPair::<8>::new().with_max_io(1, 1);
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    let mut session = EchoSession::new([0u8; 4]);
    let out = converse(&pair, &mut client, &mut session);
    assert_eq!((out.client_error, out.server_error), (None, None));
    assert_eq!(
        out.client.starting_with("received").len(),
        CHAPTER_MESSAGE.len()
    );
    assert_eq!(
        out.server.starting_with("sending data back").len(),
        CHAPTER_MESSAGE.len()
    );
    assert_eq!(client.received(), CHAPTER_MESSAGE.len());
}

#[test]
fn half_close_echoes_the_rest_then_closes() {
    let message: Vec<u8> = (0..200u8).collect();
    let pair = StreamPair::<256>::new();
    let log = RefCell::new(Vec::new());
    let (a, mut b) = pair.split();
    let mut a = Some(a);
    a.as_mut().map(|a| a.set_nonblocking(true));
    b.set_nonblocking(true).unwrap();
    let mut client = EchoClient::new(&message, [0u8; 16]).with_half_close(true);
    let mut session = EchoSession::new([0u8; 16]);
    let (mut client_error, mut server_error): (Failure, Failure) = (None, None);
    {
        let mut client_side = || {
            let Some(stream) = a.as_mut() else {
                return Turn::Done;
            };
            let step = step_stream(stream, &mut client, &mut |c| {
                while let Some(e) = c.poll_event() {
                    if let ClientEvent::Received(d) = e {
                        log.borrow_mut().push(format!("client got {}", d.len()));
                    }
                }
            });
            let t = turn(step, None, &mut client_error);
            if t == Turn::Done {
                a = None;
            }
            t
        };
        let mut server_side = || {
            let step = step_stream(&mut b, &mut session, &mut |s| {
                while let Some(e) = s.poll_event() {
                    if e == SessionEvent::PeerClosed {
                        log.borrow_mut().push("server saw FIN".to_string());
                    }
                }
            });
            turn(step, None, &mut server_error)
        };
        let clock = ManualClock::new();
        run(
            &clock,
            &|| pair.activity(),
            &mut [&mut client_side, &mut server_side],
            10_000,
        )
        .unwrap();
    }
    assert_eq!((client_error, server_error), (None, None));
    let log = log.into_inner();
    let fin = log
        .iter()
        .position(|l| l == "server saw FIN")
        .expect("the server saw the FIN");
    let echoed_before_fin: usize = log[..fin]
        .iter()
        .filter_map(|l| l.strip_prefix("client got ")?.parse::<usize>().ok())
        .sum();
    assert!(
        echoed_before_fin < message.len(),
        "FIN arrived while the echo was still coming back"
    );
    assert!(client.is_done() && session.is_done());
    assert_eq!(client.received(), message.len());
}

#[test]
fn backpressure_bounds_what_a_non_reading_client_can_push() {
    let pair = StreamPair::<32>::new();
    let (mut a, mut b) = pair.split();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let mut session = EchoSession::new([0u8; 64]);
    let flood: Vec<u8> = (0..1_000u32).map(|i| (i % 251) as u8).collect();
    let mut offered = 0;
    for _ in 0..500 {
        match a.write(&flood[offered..]) {
            Ok(n) => offered += n,
            Err(e) => assert_eq!(e, MemError::WouldBlock),
        }
        match step_stream(&mut b, &mut session, &mut |_| {}) {
            Ok(Status::Running | Status::Blocked) => {}
            Err(e) => panic!("{e:?}"),
            Ok(Status::Done) => panic!("the session cannot finish"),
        }
        assert!(session.buffered() <= 64);
        assert!(pair.pending().iter().all(|&p| p <= 32));
    }
    assert!(!session.wants_read(), "it stopped reading");
    assert_eq!(
        offered,
        32 + 64 + 32,
        "both pipes and the session's buffer are full, nothing more"
    );
    // The client starts reading: everything flows again and every byte is intact.
    let mut client = EchoClient::new(&flood, [0u8; 64]);
    client.handle_sent(offered);
    let mut turns = 0;
    while client.received() < flood.len() {
        turns += 1;
        assert!(turns < 10_000);
        let _ = step_stream(&mut a, &mut client, &mut |_| {});
        let _ = step_stream(&mut b, &mut session, &mut |_| {});
    }
    assert!(client.is_done());
}

#[test]
fn a_corrupted_echo_is_caught_at_its_offset() {
    let pair = StreamPair::<128>::new();
    let (mut a, mut b) = pair.split();
    let mut corrupted = CHAPTER_MESSAGE.to_vec();
    corrupted[20] ^= 0x20;
    b.write_all(&corrupted).unwrap();
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    let mut received = Vec::new();
    let err = run_stream(&mut a, &mut client, &mut |c| {
        while let Some(e) = c.poll_event() {
            if let ClientEvent::Received(d) = e {
                received.extend_from_slice(d);
            }
        }
    })
    .unwrap_err();
    let expected = EchoError::Mismatch {
        offset: 20,
        expected: b' ',
        got: b'\0',
    };
    assert_eq!(err, DriveError::Protocol(expected));
    assert_eq!(
        received,
        CHAPTER_MESSAGE[..16],
        "only verified bytes are reported"
    );
    assert_eq!(
        err.to_string(),
        "protocol: echoed byte 20: sent 0x20, got 0x00"
    );
}

#[test]
fn an_early_close_is_an_error() {
    let pair = StreamPair::<128>::new();
    let (mut a, mut b) = pair.split();
    b.write_all(&CHAPTER_MESSAGE[..21]).unwrap();
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    assert_eq!(
        step_stream(&mut a, &mut client, &mut |_| {}),
        Ok(Status::Running)
    );
    drop(b);
    let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
    assert_eq!(
        err,
        DriveError::Protocol(EchoError::EarlyClose {
            received: 21,
            expected: 42
        })
    );
    assert_eq!(err.kind(), ErrorKind::ConnectionAborted);
}

#[test]
fn a_reset_is_a_transport_error() {
    let pair = StreamPair::<128>::new();
    let (mut a, _b) = pair.split();
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    pair.reset();
    let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
    assert_eq!(err, DriveError::Transport(MemError::ConnectionReset));
}

#[test]
fn a_silent_server_times_out_in_blocking_mode_and_blocks_otherwise() {
    let clock = ManualClock::new();
    let pair = StreamPair::<128>::new().with_clock(&clock);
    let (mut a, _b) = pair.split();
    a.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
    assert_eq!(err, DriveError::Transport(MemError::TimedOut));
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(clock.now(), Instant::from_millis(500));

    a.set_nonblocking(true).unwrap();
    assert_eq!(
        step_stream(&mut a, &mut client, &mut |_| {}),
        Ok(Status::Blocked)
    );
    let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
    assert_eq!(err, DriveError::Blocked);
    assert_eq!(
        clock.now(),
        Instant::from_millis(500),
        "would-block does not wait"
    );
}

#[test]
fn a_listener_serves_two_clients_at_once() {
    let pairs: [StreamPair<'_, 32>; 2] =
        std::array::from_fn(|_| StreamPair::new().with_max_io(5, 3));
    let mut listener = MemListener::new("127.0.0.1:10000".parse().unwrap(), &pairs);
    let messages: [&[u8]; 2] = [
        b"first client, first message",
        b"second client says something longer",
    ];
    let mut ends: Vec<Option<MemStream<'_, 32>>> =
        messages.iter().map(|_| listener.connect().ok()).collect();
    let mut served: Vec<(MemStream<'_, 32>, _)> =
        (0..2).map(|_| listener.accept().unwrap()).collect();
    assert_eq!(served[1].1, "127.0.0.1:49153".parse().unwrap());
    let mut clients: Vec<_> = messages
        .iter()
        .map(|m| EchoClient::new(m, [0u8; 16]))
        .collect();
    let mut sessions: Vec<_> = (0..2).map(|_| EchoSession::new([0u8; 16])).collect();
    for end in ends.iter_mut().flatten() {
        end.set_nonblocking(true).unwrap();
    }
    for (s, _) in &mut served {
        s.set_nonblocking(true).unwrap();
    }
    let mut failures: [Failure; 4] = [None; 4];
    let [f0, f1, f2, f3] = &mut failures;
    let (c0, c1) = clients.split_at_mut(1);
    let (s0, s1) = sessions.split_at_mut(1);
    let (e0, e1) = ends.split_at_mut(1);
    let (v0, v1) = served.split_at_mut(1);
    let mut sides: [&mut dyn FnMut() -> Turn; 4] = [
        &mut || client_turn(&mut e0[0], &mut c0[0], f0),
        &mut || client_turn(&mut e1[0], &mut c1[0], f1),
        &mut || turn(step_stream(&mut v0[0].0, &mut s0[0], &mut |_| {}), None, f2),
        &mut || turn(step_stream(&mut v1[0].0, &mut s1[0], &mut |_| {}), None, f3),
    ];
    let activity = || pairs.iter().map(StreamPair::activity).sum();
    run(&ManualClock::new(), &activity, &mut sides, 10_000).unwrap();
    assert_eq!(failures, [None; 4]);
    assert!(clients.iter().all(|c| c.is_done()) && sessions.iter().all(|s| s.is_done()));
    assert_eq!(sessions[1].sent(), messages[1].len() as u64);
}

fn client_turn(
    end: &mut Option<MemStream<'_, 32>>,
    client: &mut EchoClient<'_, [u8; 16]>,
    failure: &mut Failure,
) -> Turn {
    let Some(stream) = end.as_mut() else {
        return Turn::Done;
    };
    let t = turn(step_stream(stream, client, &mut |_| {}), None, failure);
    if t == Turn::Done {
        *end = None;
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn prop_echo_over_random_chunkings_always_verifies(
        message in proptest::collection::vec(any::<u8>(), 0..400),
        chunk in 1usize..40,
        server_buf in 1usize..100,
        client_buf in 1usize..50,
        max_read in 1usize..20,
        max_write in 1usize..20,
        window in 1usize..500,
        half_close in any::<bool>(),
    ) {
        let pair = StreamPair::<24>::new().with_max_io(max_read, max_write);
        let mut client = EchoClient::new(&message, vec![0u8; client_buf])
            .with_chunk(chunk)
            .with_window(window)
            .with_half_close(half_close);
        let mut session = EchoSession::new(vec![0u8; server_buf]).with_chunk(chunk);
        let out = converse(&pair, &mut client, &mut session);
        prop_assert_eq!(out.client_error, None);
        prop_assert_eq!(out.server_error, None);
        prop_assert!(client.is_done() && session.is_done());
        prop_assert_eq!(session.received(), message.len() as u64);
        prop_assert_eq!(out.echoed, message);
    }

    #[test]
    fn prop_any_corrupted_byte_is_caught(
        message in proptest::collection::vec(any::<u8>(), 1..200),
        at in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
        max_read in 1usize..20,
    ) {
        let at = at.index(message.len());
        let pair = StreamPair::<256>::new().with_max_io(max_read, 256);
        let (mut a, mut b) = pair.split();
        let mut corrupted = message.clone();
        corrupted[at] ^= flip;
        b.write_all(&corrupted).unwrap();
        let mut client = EchoClient::new(&message, [0u8; 16]);
        let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
        let expected = EchoError::Mismatch { offset: at, expected: message[at], got: corrupted[at] };
        prop_assert_eq!(err, DriveError::Protocol(expected));
        prop_assert!(client.received() <= at, "nothing past the corrupted byte is accepted");
    }
}
