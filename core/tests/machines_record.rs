//! The binary record machines over in-memory streams: the chapter's record one byte at a time,
//! a record cut short, and random records over random chunkings.

mod machines_util;

use machines_util::{Transcript, Turn, py, run, turn};
use portsock_core::drive::{DriveError, run_stream, step_stream};
use portsock_core::mem::{ManualClock, MemError, StreamPair};
use portsock_core::record::{
    CHAPTER_FORMAT, Hexlify, ReceiverEvent, RecordError, RecordReceiver, RecordSender, SenderEvent,
    chapter_values,
};
use portsock_core::transport::{Blocking, Write};
use portsock_core::wire::repr::PyTuple;
use portsock_core::wire::structfmt::{Format, Value};
use proptest::prelude::*;

type Failure = Option<DriveError<MemError, RecordError>>;

/// Sends `values` as `format` from one end of `pair` and receives them at the other, both
/// non-blocking, stepping each in turn. Returns the two transcripts and the values received.
fn exchange<const N: usize>(
    pair: &StreamPair<'_, N>,
    format: &Format<'_>,
    values: &[Value<'_>],
) -> (Transcript, Transcript, Vec<String>) {
    let (mut a, mut b) = pair.split();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let mut sender = RecordSender::new(format, values, [0u8; 64]).unwrap();
    let mut receiver = RecordReceiver::new(*format, [0u8; 64]).unwrap();
    let (mut client, mut server) = (Transcript::default(), Transcript::default());
    let (mut client_failure, mut server_failure): (Failure, Failure) = (None, None);
    {
        let mut sender_side = || {
            let step = step_stream(&mut a, &mut sender, &mut |s| {
                while let Some(SenderEvent::Sending(bytes)) = s.poll_event() {
                    client.line(format_args!("sending b'{}'", Hexlify(bytes)));
                }
            });
            turn(step, None, &mut client_failure)
        };
        let mut receiver_side = || {
            let step = step_stream(&mut b, &mut receiver, &mut |r| {
                while let Some(ReceiverEvent::Received { bytes, values }) = r.poll_event() {
                    server.line(format_args!("received b'{}'", Hexlify(bytes)));
                    let values: Vec<Value<'_>> = values.collect();
                    server.line(format_args!("unpacked: {}", PyTuple(&values)));
                }
            });
            turn(step, None, &mut server_failure)
        };
        let sides: &mut [&mut dyn FnMut() -> Turn] = &mut [&mut sender_side, &mut receiver_side];
        run(&ManualClock::new(), &|| pair.activity(), sides, 10_000).unwrap();
    }
    assert_eq!((client_failure, server_failure), (None, None));
    assert!(sender.is_done() && receiver.is_done());
    let received = receiver.values().unwrap().map(|v| v.to_string()).collect();
    (client, server, received)
}

#[test]
fn the_chapter_record_one_byte_at_a_time() {
    let pair = StreamPair::<8>::new().with_max_io(1, 1);
    let format = Format::parse(CHAPTER_FORMAT).unwrap();
    let (client, server, values) = exchange(&pair, &format, &chapter_values());
    assert_eq!(client.0, ["sending b'0100000061620000cdcc2c40'"]);
    assert_eq!(
        server.0,
        [
            "received b'0100000061620000cdcc2c40'",
            "unpacked: (1, b'ab', 2.700000047683716)"
        ]
    );
    assert_eq!(values, ["1", "b'ab'", "2.700000047683716"]);
}

#[test]
fn blocking_sender_then_receiver() {
    let pair = StreamPair::<64>::new();
    let (mut a, mut b) = pair.split();
    let format = Format::parse("!H 3s ?").unwrap();
    let values = [Value::Int(0xbeef), Value::Bytes(b"xyz"), Value::Bool(true)];
    let mut sender = RecordSender::new(&format, &values, [0u8; 16]).unwrap();
    run_stream(&mut a, &mut sender, &mut |_| {}).unwrap();
    let mut receiver = RecordReceiver::new(format, [0u8; 16]).unwrap();
    run_stream(&mut b, &mut receiver, &mut |_| {}).unwrap();
    assert_eq!(
        receiver.record(),
        Some(&[0xbe, 0xef, b'x', b'y', b'z', 1][..])
    );
    let back: Vec<Value<'_>> = receiver.values().unwrap().collect();
    assert_eq!(back, values);
}

#[test]
fn a_record_cut_short_is_an_error() {
    let pair = StreamPair::<64>::new();
    let (mut a, mut b) = pair.split();
    a.write_all(&[1, 0, 0, 0, b'a']).unwrap();
    drop(a);
    let mut receiver =
        RecordReceiver::new(Format::parse(CHAPTER_FORMAT).unwrap(), [0u8; 16]).unwrap();
    let err = run_stream(&mut b, &mut receiver, &mut |_| {}).unwrap_err();
    assert_eq!(
        err,
        DriveError::Protocol(RecordError::Truncated { got: 5, need: 12 })
    );
    assert!(receiver.values().is_none());
    assert_eq!(py(b"x"), "b'x'");
}

proptest! {
    #[test]
    fn prop_records_survive_any_chunking(
        id in any::<u32>(),
        tag in any::<[u8; 2]>(),
        x in any::<f32>().prop_filter("finite", |x| x.is_finite()),
        max_read in 1usize..16,
        max_write in 1usize..16,
    ) {
        let pair = StreamPair::<7>::new().with_max_io(max_read, max_write);
        let format = Format::parse(CHAPTER_FORMAT).unwrap();
        let values = [Value::Int(i128::from(id)), Value::Bytes(&tag), Value::Float(f64::from(x))];
        let (_, _, received) = exchange(&pair, &format, &values);
        let expected: Vec<String> = values.iter().map(ToString::to_string).collect();
        prop_assert_eq!(received, expected);
    }
}
