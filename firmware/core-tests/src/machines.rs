//! The core's sans-IO machines over its in-memory transport (`portsock_core::mem`), stepped by
//! the core's own drivers (`drive::step_stream`, `drive::run_stream`), as
//! `core/tests/machines_{stream,record}.rs` do on the host.
//!
//! Each conversation is stepped round-robin, both ends non-blocking, for a bounded number of
//! rounds; "would block" is a normal turn, any other error fails the test.

use portsock_core::drive::{run_stream, step_stream};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoSession, SessionEvent};
use portsock_core::machine::Status;
use portsock_core::mem::StreamPair;
use portsock_core::record::{
    CHAPTER_FORMAT, ReceiverEvent, RecordReceiver, RecordSender, SenderEvent, chapter_values,
};
use portsock_core::transport::{Blocking, Write as _};
use portsock_core::wire::repr::write_tuple;
use portsock_core::wire::structfmt::{Format, Value};

use crate::{Outcome, ensure, fail};

const MAX_ROUNDS: usize = 10_000;

/// One side's step: `Ok(true)` when done, `Ok(false)` to go on (progress or would block).
fn turn<E: core::fmt::Debug, P: core::fmt::Debug>(
    step: Result<Status, portsock_core::drive::DriveError<E, P>>,
) -> Result<bool, crate::Failure> {
    match step {
        Ok(Status::Done) => Ok(true),
        Ok(Status::Running | Status::Blocked) => Ok(false),
        Err(e) => Err(fail(format_args!("{e:?}"))),
    }
}

/// The chapter's echo: the client sends the 42-byte message, the session echoes it back in
/// 16-byte reads, the client verifies every byte and closes; the session sees the close.
pub fn stream_echo_chapter_transcript() -> Outcome {
    echo_over(&StreamPair::<64>::new(), &[16, 16, 10])
}

/// The same with every read and write one byte long.
pub fn stream_echo_one_byte_at_a_time() -> Outcome {
    echo_over(&StreamPair::<8>::new().with_max_io(1, 1), &[])
}

fn echo_over<const N: usize>(pair: &StreamPair<'_, N>, chapter_chunks: &[usize]) -> Outcome {
    let (a, mut b) = pair.split();
    let mut a = Some(a);
    if let Some(a) = a.as_mut() {
        a.set_nonblocking(true)
            .map_err(|e| fail(format_args!("{e:?}")))?;
    }
    b.set_nonblocking(true)
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
    let mut session = EchoSession::new([0u8; 16]);
    let mut echoed = heapless::Vec::<u8, 64>::new();
    let mut chunks = heapless::Vec::<usize, 64>::new();
    let (mut sent_events, mut peer_closed) = (0usize, false);
    let (mut client_done, mut server_done) = (false, false);
    for _ in 0..MAX_ROUNDS {
        if let (false, Some(stream)) = (client_done, a.as_mut()) {
            let step = step_stream(stream, &mut client, &mut |c| {
                while let Some(event) = c.poll_event() {
                    if let ClientEvent::Received(d) = event {
                        let _ = echoed.extend_from_slice(d);
                    }
                }
            });
            client_done = turn(step)?;
            if client_done {
                a = None; // the chapter's client closes its socket
            }
        }
        if !server_done {
            let step = step_stream(&mut b, &mut session, &mut |s| {
                while let Some(event) = s.poll_event() {
                    match event {
                        SessionEvent::Received(d) => {
                            let _ = chunks.push(d.len());
                        }
                        SessionEvent::Sending(_) => sent_events += 1,
                        SessionEvent::PeerClosed => peer_closed = true,
                        _ => {}
                    }
                }
            });
            server_done = turn(step)?;
        }
        if client_done && server_done {
            break;
        }
    }
    ensure!(
        client_done && server_done,
        "not done after {MAX_ROUNDS} rounds"
    );
    ensure!(echoed == CHAPTER_MESSAGE, "echoed {:?}", echoed.as_slice());
    ensure!(client.is_done() && session.is_done(), "machines not done");
    ensure!(
        (session.received(), session.sent()) == (42, 42),
        "session received {} sent {}",
        session.received(),
        session.sent()
    );
    ensure!(peer_closed, "the session did not see the client close");
    if !chapter_chunks.is_empty() {
        ensure!(
            chunks == chapter_chunks,
            "server reads {:?}",
            chunks.as_slice()
        );
        ensure!(sent_events == chapter_chunks.len(), "{sent_events} sends");
    }
    Ok(())
}

/// The chapter's `'I 2s f'` record, one byte per read and write, both ends non-blocking.
pub fn record_chapter_one_byte_at_a_time() -> Outcome {
    let pair = StreamPair::<8>::new().with_max_io(1, 1);
    let (mut a, mut b) = pair.split();
    a.set_nonblocking(true)
        .map_err(|e| fail(format_args!("{e:?}")))?;
    b.set_nonblocking(true)
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let format = Format::parse(CHAPTER_FORMAT).map_err(|e| fail(format_args!("{e}")))?;
    let values = chapter_values();
    let mut sender =
        RecordSender::new(&format, &values, [0u8; 64]).map_err(|e| fail(format_args!("{e}")))?;
    let mut receiver =
        RecordReceiver::new(format, [0u8; 64]).map_err(|e| fail(format_args!("{e}")))?;
    let mut sending = heapless::Vec::<u8, 16>::new();
    let mut unpacked = heapless::String::<64>::new();
    let (mut sent, mut received) = (false, false);
    for _ in 0..MAX_ROUNDS {
        if !sent {
            sent = turn(step_stream(&mut a, &mut sender, &mut |s| {
                while let Some(SenderEvent::Sending(bytes)) = s.poll_event() {
                    let _ = sending.extend_from_slice(bytes);
                }
            }))?;
        }
        if !received {
            received = turn(step_stream(&mut b, &mut receiver, &mut |r| {
                while let Some(ReceiverEvent::Received { values, .. }) = r.poll_event() {
                    let _ = write_tuple(&mut unpacked, values);
                }
            }))?;
        }
        if sent && received {
            break;
        }
    }
    ensure!(sent && received, "not done after {MAX_ROUNDS} rounds");
    let wire = [1, 0, 0, 0, b'a', b'b', 0, 0, 0xcd, 0xcc, 0x2c, 0x40];
    ensure!(sending == wire, "sent {:02x?}", sending.as_slice());
    ensure!(
        receiver.record() == Some(&wire[..]),
        "received {:02x?}",
        receiver.record()
    );
    ensure!(
        unpacked == "(1, b'ab', 2.700000047683716)",
        "unpacked: {}",
        unpacked.as_str()
    );
    Ok(())
}

/// A record written with the blocking driver, then read with it: `!H 3s ?` round-trips.
pub fn record_blocking_roundtrip() -> Outcome {
    let pair = StreamPair::<64>::new();
    let (mut a, mut b) = pair.split();
    let format = Format::parse("!H 3s ?").map_err(|e| fail(format_args!("{e}")))?;
    let values = [Value::Int(0xbeef), Value::Bytes(b"xyz"), Value::Bool(true)];
    let mut sender =
        RecordSender::new(&format, &values, [0u8; 16]).map_err(|e| fail(format_args!("{e}")))?;
    run_stream(&mut a, &mut sender, &mut |_| {}).map_err(|e| fail(format_args!("{e:?}")))?;
    a.flush().map_err(|e| fail(format_args!("{e:?}")))?;
    let mut receiver =
        RecordReceiver::new(format, [0u8; 16]).map_err(|e| fail(format_args!("{e}")))?;
    run_stream(&mut b, &mut receiver, &mut |_| {}).map_err(|e| fail(format_args!("{e:?}")))?;
    let record = [0xbe, 0xef, b'x', b'y', b'z', 1];
    ensure!(
        receiver.record() == Some(&record[..]),
        "record {:02x?}",
        receiver.record()
    );
    let back = receiver
        .values()
        .ok_or_else(|| fail(format_args!("no values")))?;
    ensure!(back.eq(values.iter().copied()), "values differ");
    Ok(())
}
