use std::format;
use std::string::String;
use std::vec::Vec;

use super::*;
use crate::echo::stream::EchoSession;
use crate::mem::{ManualClock, MemListener, MemStream, StreamPair};
use crate::time::{Duration, Instant};
use crate::transport::{Read, Shutdown, Stream, Write};

type Listener64<'p> = MemListener<'p, 64>;
type Echo = EchoSession<[u8; 64]>;

fn listener<'p>(pairs: &'p [StreamPair<'p, 64>]) -> Listener64<'p> {
    let mut listener = MemListener::new("127.0.0.1:10000".parse().unwrap(), pairs);
    listener.set_nonblocking(true).unwrap();
    listener
}

fn connect<'p>(listener: &Listener64<'p>) -> MemStream<'p, 64> {
    let mut end = listener.connect().unwrap();
    end.set_nonblocking(true).unwrap();
    end
}

/// Echo sessions reading one byte per step, so steps can be counted in bytes.
fn one_byte_echo(_: &core::net::SocketAddr) -> Echo {
    EchoSession::new([0u8; 64]).with_chunk(1)
}

/// Every event but `Stepped`, as text.
fn record(log: &mut Vec<String>) -> impl FnMut(Event<'_, Listener64<'_>, Echo>) + '_ {
    |event| match event {
        Event::Accepted { id, peer, .. } => log.push(format!("{id} accepted {peer}")),
        Event::Stepped { .. } => {}
        Event::Finished { id, machine, .. } => {
            log.push(format!("{id} finished after {} bytes", machine.sent()));
        }
        Event::Failed {
            id, peer, error, ..
        } => log.push(format!("{id} {peer} failed: {error}")),
        Event::IdleTimeout { id, peer, .. } => log.push(format!("{id} {peer} idle, closed")),
        Event::Closed { id, .. } => log.push(format!("{id} closed")),
        Event::AcceptFailed { error } => log.push(format!("accept failed: {error}")),
    }
}

#[test]
fn a_busy_session_gets_its_budget_and_no_more() {
    let pairs: [StreamPair<'_, 64>; 2] = core::array::from_fn(|_| StreamPair::new());
    let mut listener = listener(&pairs);
    let mut hog = connect(&listener);
    let mut quiet = connect(&listener);
    hog.write_all(&[7u8; 64]).unwrap();
    quiet.write_all(b"hi").unwrap();

    let mut slots = [const { None }; 2];
    let mut sessions = Sessions::new(&mut slots).with_budget(4);
    let mut log = Vec::new();
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    let received: Vec<u64> = sessions.iter().map(|s| s.machine().received()).collect();
    // Four steps of one byte for the hog, though 60 more are waiting; the quiet client is
    // served in the same turn.
    assert_eq!(received, [4, 2]);
    assert!(turn.more, "the hog has more to do at once");
    assert_eq!((turn.accepted, turn.retired, turn.active), (2, 0, 2));

    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    let received: Vec<u64> = sessions.iter().map(|s| s.machine().received()).collect();
    assert_eq!(received, [8, 2]);
    assert!(turn.more);
}

#[test]
fn without_more_work_a_turn_says_so() {
    let pairs: [StreamPair<'_, 64>; 1] = [StreamPair::new()];
    let mut listener = listener(&pairs);
    let mut client = connect(&listener);
    client.write_all(b"abc").unwrap();
    let mut slots = [const { None }; 1];
    let mut sessions = Sessions::new(&mut slots);
    let mut log = Vec::new();
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert!(!turn.more);
    let mut back = [0u8; 8];
    assert_eq!(client.read(&mut back), Ok(3));
    assert_eq!(&back[..3], b"abc");
}

#[test]
fn sessions_finish_fail_and_report_their_peers() {
    let pairs: [StreamPair<'_, 64>; 2] = core::array::from_fn(|_| StreamPair::new());
    let mut listener = listener(&pairs);
    let mut done = connect(&listener);
    let _reset = connect(&listener);
    done.write_all(b"xyz").unwrap();
    done.shutdown(Shutdown::Write).unwrap();
    pairs[1].reset();

    let mut slots = [const { None }; 2];
    let mut sessions = Sessions::new(&mut slots);
    let mut log = Vec::new();
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!(
        log,
        [
            "0 accepted 127.0.0.1:49152",
            "1 accepted 127.0.0.1:49153",
            "0 finished after 3 bytes",
            "1 127.0.0.1:49153 failed: transport: connection reset",
        ]
    );
    assert_eq!((turn.accepted, turn.retired, turn.active), (2, 2, 0));
}

#[test]
fn full_slots_leave_connections_waiting_until_one_frees() {
    let pairs: [StreamPair<'_, 64>; 2] = core::array::from_fn(|_| StreamPair::new());
    let mut listener = listener(&pairs);
    let mut first = connect(&listener);
    let _second = connect(&listener);
    let mut slots = [const { None }; 1];
    let mut sessions = Sessions::new(&mut slots);
    let mut log = Vec::new();

    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.accepted, turn.active, turn.more), (1, 1, false));
    first.shutdown(Shutdown::Write).unwrap();
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.accepted, turn.retired, turn.active), (0, 1, 0));
    assert!(turn.more, "a slot freed while a connection may be waiting");
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.accepted, turn.active), (1, 1));
    sessions.close_all(&mut record(&mut log));
    assert_eq!(sessions.active(), 0);
    assert_eq!(
        log,
        [
            "0 accepted 127.0.0.1:49152",
            "0 finished after 0 bytes",
            "1 accepted 127.0.0.1:49153",
            "1 closed",
        ]
    );
}

#[test]
fn accept_errors_are_reported_and_sessions_still_served() {
    let pairs: [StreamPair<'_, 64>; 1] = [StreamPair::new()];
    let mut listener = listener(&pairs);
    let mut client = connect(&listener);
    let mut slots = [const { None }; 2];
    let mut sessions = Sessions::new(&mut slots);
    let mut log = Vec::new();
    sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    // A blocking listener with a timeout fails its accept with "timed out": reported, and the
    // open session is still served.
    listener.set_nonblocking(false).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    client.write_all(b"ok").unwrap();
    sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!(log[1], "accept failed: timed out");
    let mut back = [0u8; 4];
    assert_eq!(client.read(&mut back), Ok(2));
}

#[test]
fn an_idle_session_is_closed_a_busy_one_kept_and_the_slot_reused() {
    let pairs: [StreamPair<'_, 64>; 3] = core::array::from_fn(|_| StreamPair::new());
    let mut listener = listener(&pairs);
    let mut idle = connect(&listener);
    let mut busy = connect(&listener);
    let mut next = connect(&listener);
    let clock = ManualClock::new();
    let second = Duration::from_secs(1);
    let mut slots = [const { None }; 2];
    let mut sessions = Sessions::new(&mut slots).with_idle_timeout(second, &clock);
    assert_eq!(sessions.idle_timeout(), Some(second));
    let mut log = Vec::new();
    let mut back = [0u8; 8];

    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.accepted, turn.active), (2, 2));
    assert_eq!(turn.deadline, Some(Instant::from_millis(1_000)));

    // The busy client talks at 0.6 s and at 0.999 s; nothing times out before 1 s.
    for at in [600, 999] {
        clock.set(Instant::from_millis(at));
        busy.write_all(b"x").unwrap();
        let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
        assert_eq!((turn.retired, turn.active), (0, 2));
        assert_eq!(
            turn.deadline,
            Some(Instant::from_millis(1_000)),
            "the idle one's"
        );
        assert_eq!(busy.read(&mut back), Ok(1));
    }
    assert_eq!(idle.read(&mut back), Err(crate::mem::MemError::WouldBlock));

    // At 1 s the silent session is closed (its client reads the end of the stream); the busy
    // one, active 1 ms ago, stays.
    clock.set(Instant::from_millis(1_000));
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.retired, turn.active), (1, 1));
    assert!(turn.more, "a slot freed while a connection may be waiting");
    assert_eq!(
        turn.deadline,
        Some(Instant::from_millis(1_999)),
        "the busy one's"
    );
    assert_eq!(idle.read(&mut back), Ok(0));

    // The next turn's freed slot takes the waiting client, whose timeout runs from its
    // accept; the busy one is still served.
    busy.write_all(b"y").unwrap();
    next.write_all(b"z").unwrap();
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.accepted, turn.active), (1, 2));
    assert_eq!(busy.read(&mut back), Ok(1));
    assert_eq!(&back[..1], b"y");
    assert_eq!(next.read(&mut back), Ok(1));
    assert_eq!(
        log,
        [
            "0 accepted 127.0.0.1:49152",
            "1 accepted 127.0.0.1:49153",
            "0 127.0.0.1:49152 idle, closed",
            "2 accepted 127.0.0.1:49154",
        ]
    );

    // Once both fall silent, each is closed at its own deadline: 2 s after the busy one's
    // last byte, and 2 s after the new one's accept.
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!(turn.deadline, Some(Instant::from_millis(2_000)));
    clock.set(Instant::from_millis(2_000));
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.retired, turn.active, turn.deadline), (2, 0, None));
    // In slot order: the new session sits in the first slot, the idle one's.
    assert_eq!(
        log[4..],
        [
            "2 127.0.0.1:49154 idle, closed",
            "1 127.0.0.1:49153 idle, closed"
        ]
    );
    assert_eq!(busy.read(&mut back), Ok(0));
    assert_eq!(next.read(&mut back), Ok(0));
}

#[test]
fn a_client_that_does_not_read_its_echo_is_idle_too() {
    let pairs: [StreamPair<'_, 64>; 1] = [StreamPair::new()];
    let mut listener = listener(&pairs);
    let mut client = connect(&listener);
    let clock = ManualClock::new();
    let mut slots = [const { None }; 1];
    let mut sessions =
        Sessions::new(&mut slots).with_idle_timeout(Duration::from_millis(500), &clock);
    let mut log = Vec::new();
    // 64 bytes fill the pipe back to the client; the 64 after them wait for it to read.
    client.write_all(&[1u8; 64]).unwrap();
    let mut turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    while turn.more {
        turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    }
    client.write_all(&[2u8; 64]).unwrap();
    clock.set(Instant::from_millis(100));
    for _ in 0..100 {
        sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    }
    // Stuck since 0.1 s: closed at 0.6 s, not before.
    clock.set(Instant::from_millis(599));
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!(
        (turn.active, turn.deadline),
        (1, Some(Instant::from_millis(600)))
    );
    clock.set(Instant::from_millis(600));
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!(turn.active, 0);
    assert_eq!(log[1], "0 127.0.0.1:49152 idle, closed");
}

#[test]
fn without_an_idle_timeout_a_silent_session_stays() {
    let pairs: [StreamPair<'_, 64>; 1] = [StreamPair::new()];
    let mut listener = listener(&pairs);
    let _client = connect(&listener);
    let mut slots = [const { None }; 1];
    let mut sessions = Sessions::new(&mut slots);
    let mut log = Vec::new();
    let turn = sessions.poll(&mut listener, &mut one_byte_echo, &mut record(&mut log));
    assert_eq!((turn.active, turn.deadline), (1, None));
    assert_eq!(sessions.idle_timeout(), None);
}
