//! The stream machines (`EchoSession`, `EchoClient`, `RecordSender`, `RecordReceiver`) driven
//! through `StreamMachine` by an arbitrary sequence of calls: reads of any size, writes the
//! transport accepts only in part, end of stream and over-long reads at any point. A small
//! reference model of each says what must come out, and every answer is checked against it;
//! at the end the machine is drained and must finish (or fail) as the model says.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portsock_core::machine::StreamMachine;
use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoError, EchoSession, SessionEvent};
use portsock_core::record::{
    ReceiverEvent, RecordError, RecordReceiver, RecordSender, SenderEvent,
};
use portsock_core::transport::Shutdown;
use portsock_core::wire::structfmt::{Format, Value};

/// One call the driver (or the peer behind the transport) makes.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// A read returns up to this many bytes (at least 1) into `recv_buf`.
    Read(u16),
    /// The transport accepts up to this many bytes (at least 1) of `poll_transmit`.
    Write(u16),
    /// A driver bug or a lying transport: `handle_read` with this many bytes more than
    /// `recv_buf` offered.
    Overrun(u8),
    /// The peer's FIN: a read returned 0.
    PeerClosed,
    /// The driver asks `poll_close` and does the shutdown.
    Close,
    /// The observer polls events until `None`.
    Events,
}

#[derive(Arbitrary, Debug)]
enum Case {
    Session {
        buf: u8,
        chunk: u8,
        /// What the client sends.
        input: Vec<u8>,
    },
    Client {
        buf: u8,
        chunk: u8,
        window: u16,
        half_close: bool,
        message: Vec<u8>,
        /// The echo differs from the message at this offset by this XOR (0: no difference).
        corrupt: (u16, u8),
    },
    Sender {
        format: u8,
        seed: u64,
    },
    Receiver {
        format: u8,
        buf: u8,
        bytes: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    case: Case,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let ops = &input.ops[..input.ops.len().min(512)];
    match input.case {
        Case::Session { buf, chunk, input } => session(buf, chunk, &input, ops),
        Case::Client {
            buf,
            chunk,
            window,
            half_close,
            message,
            corrupt,
        } => client(
            usize::from(buf % 64),
            chunk,
            window,
            half_close,
            &message,
            corrupt,
            ops,
        ),
        Case::Sender { format, seed } => sender(format, seed, ops),
        Case::Receiver { format, buf, bytes } => receiver(format, buf, &bytes, ops),
    }
});

/// Reads of `Read(n)`: at least one byte.
fn size(n: u16) -> usize {
    usize::from(n).max(1)
}

// ---------------------------------------------------------------------------------------------
// EchoSession: echo exactly the bytes given, in order, never more; close after the peer's FIN
// once everything is echoed.

struct SessionModel<'a> {
    input: &'a [u8],
    capacity: usize,
    chunk: usize,
    /// Bytes delivered to the machine (a prefix of `input`).
    delivered: usize,
    /// Bytes it echoed (a prefix of what was delivered).
    echoed: usize,
    /// Where the next `Received` event may start at the earliest.
    reported: usize,
    /// Received bytes not yet announced by a `Sending` event.
    sending: usize,
    peer_closed: bool,
    closed_reported: bool,
    closed: bool,
}

fn session(buf: u8, chunk: u8, input: &[u8], ops: &[Op]) {
    let capacity = usize::from(buf % 64);
    let mut m = EchoSession::new(vec![0u8; capacity]).with_chunk(usize::from(chunk));
    let mut s = SessionModel {
        input,
        capacity,
        chunk: usize::from(chunk).max(1),
        delivered: 0,
        echoed: 0,
        reported: 0,
        sending: 0,
        peer_closed: false,
        closed_reported: false,
        closed: false,
    };
    for &op in ops {
        session_op(&mut m, &mut s, op);
    }
    // Drain: the peer sends the rest and closes, the transport takes everything.
    if capacity == 0 {
        return;
    }
    let early_close = s.peer_closed;
    session_op(&mut m, &mut s, Op::Events);
    for _ in 0..(input.len() + 2) * 3 {
        if s.closed {
            break;
        }
        session_op(&mut m, &mut s, Op::Write(u16::MAX));
        session_op(&mut m, &mut s, Op::Events);
        if s.delivered < input.len() {
            session_op(&mut m, &mut s, Op::Read(u16::MAX));
        } else if !s.peer_closed {
            session_op(&mut m, &mut s, Op::PeerClosed);
        }
        session_op(&mut m, &mut s, Op::Events);
        session_op(&mut m, &mut s, Op::Close);
    }
    assert!(
        s.closed && m.is_done(),
        "the session must finish after the peer closed"
    );
    assert_eq!(s.echoed, s.delivered, "everything received was echoed");
    if !early_close {
        assert_eq!(s.delivered, input.len(), "everything sent was received");
    }
    assert_eq!(m.sent(), s.echoed as u64);
    assert_eq!(m.received(), s.delivered as u64);
}

fn session_op(m: &mut EchoSession<Vec<u8>>, s: &mut SessionModel<'_>, op: Op) {
    let buffered = s.delivered - s.echoed;
    assert_eq!(m.buffered(), buffered);
    match op {
        Op::Read(n) => {
            let want = if s.peer_closed || s.closed {
                0
            } else {
                s.chunk.min(s.capacity - buffered)
            };
            let Some(dst) = StreamMachine::recv_buf(m) else {
                assert_eq!(want, 0, "recv_buf refused with room left");
                return;
            };
            assert_eq!(dst.len(), want, "recv_buf offers min(chunk, free)");
            let k = size(n).min(dst.len()).min(s.input.len() - s.delivered);
            if k == 0 {
                return;
            }
            dst[..k].copy_from_slice(&s.input[s.delivered..s.delivered + k]);
            StreamMachine::handle_read(m, k).expect("a read within recv_buf is accepted");
            s.delivered += k;
        }
        Op::Write(n) => {
            let Some(out) = StreamMachine::poll_transmit(m) else {
                assert!(
                    s.closed || buffered == 0,
                    "nothing to send with {buffered} buffered"
                );
                return;
            };
            assert!(!s.closed);
            assert_eq!(
                out,
                &s.input[s.echoed..s.delivered],
                "echo exactly what came in"
            );
            let k = size(n).min(out.len());
            StreamMachine::handle_sent(m, k);
            s.echoed += k;
        }
        Op::Overrun(extra) => {
            let room = StreamMachine::recv_buf(m).map_or(0, |b| b.len());
            let len = room + usize::from(extra).max(1);
            let err = StreamMachine::handle_read(m, len).expect_err("more than offered");
            assert!(matches!(err, EchoError::Overrun { len: l, .. } if l == len));
        }
        Op::PeerClosed => {
            StreamMachine::handle_peer_closed(m).expect("a session accepts the peer's FIN");
            s.peer_closed = true;
            assert!(StreamMachine::recv_buf(m).is_none(), "no reads after FIN");
        }
        Op::Close => {
            let due = s.peer_closed && s.echoed == s.delivered && !s.closed;
            match StreamMachine::poll_close(m) {
                Some(how) => {
                    assert!(due, "close asked for too early");
                    assert_eq!(how, Shutdown::Both);
                    StreamMachine::handle_closed(m);
                    s.closed = true;
                }
                None => assert!(!due, "close due but not asked for"),
            }
            assert_eq!(StreamMachine::is_done(m), s.closed);
        }
        Op::Events => {
            while let Some(event) = m.poll_event() {
                match event {
                    SessionEvent::Received(bytes) => {
                        // A report always ends at the newest byte; it may skip bytes only
                        // if they were already echoed before their event was polled.
                        assert!(!bytes.is_empty());
                        let start = s.delivered - bytes.len();
                        assert!(start >= s.reported, "bytes reported twice");
                        assert!(start == s.reported || start <= s.echoed);
                        assert_eq!(bytes, &s.input[start..s.delivered]);
                        s.reported = s.delivered;
                        s.sending += bytes.len();
                    }
                    SessionEvent::Sending(n) => {
                        assert_eq!(n, s.sending, "Sending counts the bytes just received");
                        s.sending = 0;
                    }
                    SessionEvent::PeerClosed => {
                        assert!(s.peer_closed && !s.closed_reported);
                        s.closed_reported = true;
                    }
                    _ => {}
                }
            }
            // Everything received was reported (or echoed unreported).
            assert!(s.reported == s.delivered || s.echoed == s.delivered);
            assert_eq!(s.sending, 0);
            assert_eq!(s.closed_reported, s.peer_closed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EchoClient: report exactly the verified prefix of the echo, fail at the first difference,
// and finish once everything came back.

struct ClientModel<'a> {
    message: &'a [u8],
    /// The echo the peer sends back: the message, one byte maybe changed.
    echo: Vec<u8>,
    capacity: usize,
    chunk: usize,
    window: usize,
    half_close: bool,
    sent: usize,
    received: usize,
    reported: usize,
    announced: bool,
    done_reported: bool,
    write_closed: bool,
    failed: bool,
}

fn client(
    capacity: usize,
    chunk: u8,
    window: u16,
    half_close: bool,
    message: &[u8],
    corrupt: (u16, u8),
    ops: &[Op],
) {
    let mut m = EchoClient::new(message, vec![0u8; capacity])
        .with_chunk(usize::from(chunk))
        .with_window(usize::from(window))
        .with_half_close(half_close);
    let mut echo = message.to_vec();
    if let Some(b) = echo.get_mut(usize::from(corrupt.0)) {
        *b ^= corrupt.1;
    }
    let mut c = ClientModel {
        message,
        echo,
        capacity,
        chunk: usize::from(chunk).max(1),
        window: usize::from(window).max(1),
        half_close,
        sent: 0,
        received: 0,
        reported: 0,
        announced: false,
        done_reported: false,
        write_closed: false,
        failed: false,
    };
    for &op in ops {
        client_op(&mut m, &mut c, op);
        if c.failed {
            // A failure is final: it asks for nothing more.
            assert!(StreamMachine::poll_transmit(&m).is_none());
            assert!(StreamMachine::recv_buf(&mut m).is_none());
            assert!(StreamMachine::poll_close(&m).is_none());
            assert!(!StreamMachine::is_done(&m));
            return;
        }
    }
    if capacity == 0 && !message.is_empty() {
        return;
    }
    // Drain: the transport takes everything and the peer echoes all of it.
    let first_bad = message.iter().zip(&c.echo).position(|(a, b)| a != b);
    for _ in 0..(message.len() + 2) * 4 {
        if c.failed || StreamMachine::is_done(&m) {
            break;
        }
        client_op(&mut m, &mut c, Op::Write(u16::MAX));
        client_op(&mut m, &mut c, Op::Close);
        client_op(&mut m, &mut c, Op::Read(u16::MAX));
        client_op(&mut m, &mut c, Op::Events);
    }
    match first_bad {
        Some(at) => assert!(
            c.failed && c.received <= at,
            "the mismatch at {at} is found"
        ),
        None => {
            assert!(
                StreamMachine::is_done(&m),
                "the client finishes on a faithful echo"
            );
            client_op(&mut m, &mut c, Op::Events);
            assert!(c.done_reported);
        }
    }
}

fn client_op(m: &mut EchoClient<'_, Vec<u8>>, c: &mut ClientModel<'_>, op: Op) {
    let len = c.message.len();
    assert_eq!((m.sent(), m.received()), (c.sent, c.received));
    match op {
        Op::Write(n) => {
            let limit = len.min(c.received.saturating_add(c.window));
            let Some(out) = StreamMachine::poll_transmit(m) else {
                assert!(c.failed || c.sent >= limit, "nothing sent below the window");
                return;
            };
            assert_eq!(
                out,
                &c.message[c.sent..limit],
                "the message, up to the window"
            );
            let k = size(n).min(out.len());
            StreamMachine::handle_sent(m, k);
            c.sent += k;
        }
        Op::Read(n) => {
            let room = c.chunk.min(c.sent - c.received).min(c.capacity);
            let Some(dst) = StreamMachine::recv_buf(m) else {
                assert_eq!(room, 0, "recv_buf refused with echo outstanding");
                return;
            };
            assert_eq!(dst.len(), room);
            let k = size(n).min(room);
            dst[..k].copy_from_slice(&c.echo[c.received..c.received + k]);
            let bad = c.message[c.received..c.received + k]
                .iter()
                .zip(&c.echo[c.received..c.received + k])
                .position(|(a, b)| a != b);
            match (StreamMachine::handle_read(m, k), bad) {
                (Ok(()), None) => c.received += k,
                (
                    Err(EchoError::Mismatch {
                        offset,
                        expected,
                        got,
                    }),
                    Some(i),
                ) => {
                    let at = c.received + i;
                    assert_eq!((offset, expected, got), (at, c.message[at], c.echo[at]));
                    c.failed = true;
                }
                (r, bad) => panic!("read of {k}: {r:?}, difference at {bad:?}"),
            }
        }
        Op::Overrun(extra) => {
            let room = StreamMachine::recv_buf(m).map_or(0, |b| b.len());
            let n = room + usize::from(extra).max(1);
            assert_eq!(
                StreamMachine::handle_read(m, n),
                Err(EchoError::Overrun { len: n, room })
            );
            c.failed = true;
        }
        Op::PeerClosed => {
            let r = StreamMachine::handle_peer_closed(m);
            if c.received < len {
                assert_eq!(
                    r,
                    Err(EchoError::EarlyClose {
                        received: c.received,
                        expected: len
                    })
                );
                c.failed = true;
            } else {
                assert_eq!(r, Ok(()));
            }
        }
        Op::Close => {
            let due = c.half_close && !c.write_closed && !c.failed && c.sent == len;
            match StreamMachine::poll_close(m) {
                Some(how) => {
                    assert!(due);
                    assert_eq!(how, Shutdown::Write);
                    StreamMachine::handle_closed(m);
                    c.write_closed = true;
                }
                None => assert!(!due),
            }
        }
        Op::Events => {
            while let Some(event) = m.poll_event() {
                match event {
                    ClientEvent::Sending(msg) => {
                        assert!(!c.announced);
                        assert_eq!(msg, c.message);
                        c.announced = true;
                    }
                    ClientEvent::Received(bytes) => {
                        assert!(c.announced);
                        assert_eq!(bytes, &c.message[c.reported..c.received]);
                        assert!(!bytes.is_empty());
                        c.reported = c.received;
                    }
                    ClientEvent::Done => {
                        assert!(!c.done_reported && c.reported == len);
                        c.done_reported = true;
                    }
                    _ => {}
                }
            }
            assert!(c.announced && c.reported == c.received);
        }
    }
    let done = !c.failed && c.received == len && (!c.half_close || c.write_closed);
    assert_eq!(StreamMachine::is_done(m), done);
}

// ---------------------------------------------------------------------------------------------
// Records: the sender sends exactly the packed record, then half-closes; the receiver takes
// exactly one record's size, however it is split, and reports the values `Format` unpacks.

/// Formats of every kind of code, alignment and size, including empty records and `0p`.
const FORMATS: &[&str] = &[
    "I 2s f", "<h", ">Q 3s ?", "@b l", "!e d", "10s", "", "4x", "<2H x B", "=q i h b", "0p",
    "@? c 3p", ">5s 0s H",
];

fn values_for<'a>(format: &Format<'_>, seed: u64, bytes: &'a [u8; 16]) -> Vec<Value<'a>> {
    format
        .value_codes()
        .enumerate()
        .map(|(i, code)| {
            let x = seed.rotate_left(i as u32 * 7);
            match code {
                's' | 'p' | 'c' => Value::Bytes(
                    &bytes[..(x as usize % if code == 'c' { 1 } else { 8 })
                        + usize::from(code == 'c')],
                ),
                'e' | 'f' | 'd' => Value::Float(f64::from(x as u16) / 8.0),
                '?' => Value::Bool(x & 1 == 1),
                'b' => Value::Int(i128::from(x as i8)),
                'B' => Value::Int(i128::from(x as u8)),
                'h' => Value::Int(i128::from(x as i16)),
                'H' => Value::Int(i128::from(x as u16)),
                'i' | 'l' => Value::Int(i128::from(x as i32)),
                'I' | 'L' => Value::Int(i128::from(x as u32)),
                'Q' | 'N' => Value::Int(i128::from(x)),
                _ => Value::Int(i128::from(x as i64)),
            }
        })
        .collect()
}

fn sender(format: u8, seed: u64, ops: &[Op]) {
    let text = FORMATS[usize::from(format) % FORMATS.len()];
    let format = Format::parse(text).expect("a listed format parses");
    let bytes = seed.to_le_bytes().repeat(2).try_into().unwrap_or([0; 16]);
    let values = values_for(&format, seed, &bytes);
    let mut expected = vec![0u8; format.size()];
    format
        .pack(&mut expected, &values)
        .expect("listed values pack");
    let mut m = RecordSender::new(&format, &values, vec![0xa5u8; format.size() + 3])
        .expect("the sender packs what Format packs");
    assert_eq!(m.record(), &expected[..]);
    assert_eq!(m.poll_event(), Some(SenderEvent::Sending(&expected[..])));
    assert_eq!(m.poll_event(), None);
    let mut sent = 0;
    let mut closed = false;
    let drain = [Op::Write(u16::MAX), Op::Close];
    for &op in ops.iter().chain(&drain) {
        match op {
            Op::Write(n) => match StreamMachine::poll_transmit(&m) {
                Some(out) => {
                    assert_eq!(out, &expected[sent..]);
                    let k = size(n).min(out.len());
                    StreamMachine::handle_sent(&mut m, k);
                    sent += k;
                }
                None => assert_eq!(sent, expected.len()),
            },
            Op::Close => match StreamMachine::poll_close(&m) {
                Some(how) => {
                    assert!(sent == expected.len() && !closed);
                    assert_eq!(how, Shutdown::Write);
                    StreamMachine::handle_closed(&mut m);
                    closed = true;
                }
                None => assert!(sent < expected.len() || closed),
            },
            Op::Read(_) | Op::Overrun(_) => {
                assert!(
                    StreamMachine::recv_buf(&mut m).is_none(),
                    "a sender never reads"
                );
            }
            Op::PeerClosed => assert_eq!(StreamMachine::handle_peer_closed(&mut m), Ok(())),
            Op::Events => assert_eq!(m.poll_event(), None),
        }
        assert_eq!(StreamMachine::is_done(&m), closed);
    }
    assert!(
        closed,
        "the sender finishes once the transport took everything"
    );
}

fn receiver(format: u8, buf: u8, bytes: &[u8], ops: &[Op]) {
    let text = FORMATS[usize::from(format) % FORMATS.len()];
    let format = Format::parse(text).expect("a listed format parses");
    let need = format.size();
    let capacity = usize::from(buf % 48);
    let mut m = match RecordReceiver::new(format, vec![0u8; capacity]) {
        Ok(m) => m,
        Err(RecordError::BufferTooSmall { need: n, got }) => {
            assert_eq!((n, got), (need, capacity));
            assert!(capacity < need);
            return;
        }
        Err(RecordError::Unpack(_)) => {
            assert!(format.unpack(&vec![0u8; need]).is_err());
            return;
        }
        Err(e) => panic!("new: {e:?}"),
    };
    assert!(capacity >= need);
    let mut filled = 0usize;
    let mut failed = false;
    let mut closed = false;
    let mut reported = false;
    let drain = [Op::Read(u16::MAX), Op::Events, Op::PeerClosed, Op::Close];
    let full = bytes.len() >= need;
    for &op in ops.iter().chain(&drain) {
        if failed {
            assert!(
                StreamMachine::recv_buf(&mut m).is_none()
                    && StreamMachine::poll_close(&m).is_none()
            );
            break;
        }
        match op {
            Op::Read(n) => match StreamMachine::recv_buf(&mut m) {
                Some(dst) => {
                    assert_eq!(dst.len(), need - filled, "exactly the rest of the record");
                    let k = size(n)
                        .min(dst.len())
                        .min(bytes.len().saturating_sub(filled));
                    if k > 0 {
                        dst[..k].copy_from_slice(&bytes[filled..filled + k]);
                        StreamMachine::handle_read(&mut m, k).expect("a read within recv_buf");
                        filled += k;
                    }
                }
                None => assert_eq!(filled, need),
            },
            Op::Overrun(extra) => {
                let room = need - filled;
                let n = room + usize::from(extra).max(1);
                assert_eq!(
                    StreamMachine::handle_read(&mut m, n),
                    Err(RecordError::Overrun { len: n, room })
                );
                // After the close the machine is done; a later error changes nothing.
                failed = !closed;
            }
            Op::PeerClosed => {
                let r = StreamMachine::handle_peer_closed(&mut m);
                if filled < need {
                    assert_eq!(r, Err(RecordError::Truncated { got: filled, need }));
                    failed = true;
                } else {
                    assert_eq!(r, Ok(()));
                }
            }
            Op::Close => match StreamMachine::poll_close(&m) {
                Some(how) => {
                    assert!(filled == need && !closed);
                    assert_eq!(how, Shutdown::Both);
                    StreamMachine::handle_closed(&mut m);
                    closed = true;
                }
                None => assert!(filled < need || closed),
            },
            Op::Write(_) => assert!(StreamMachine::poll_transmit(&m).is_none()),
            Op::Events => match m.poll_event() {
                Some(ReceiverEvent::Received { bytes: got, values }) => {
                    assert!(filled == need && !reported);
                    assert_eq!(got, &bytes[..need]);
                    let want: Vec<Value> =
                        format.unpack(&bytes[..need]).expect("unpacks").collect();
                    assert_values_eq(&values.collect::<Vec<_>>(), &want);
                    let again: Vec<Value> = m.values().expect("complete").collect();
                    assert_values_eq(&again, &want);
                    reported = true;
                }
                Some(_) => panic!("unknown event"),
                None => assert!(filled < need || reported),
            },
        }
        assert_eq!(m.received(), filled);
        assert_eq!(StreamMachine::is_done(&m), closed);
    }
    assert_eq!(
        closed,
        full && !failed,
        "done iff the whole record came and nothing failed"
    );
}

/// Values equal, NaNs equal to NaNs with the same bits.
fn assert_values_eq(a: &[Value<'_>], b: &[Value<'_>]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Value::Float(p), Value::Float(q)) => assert_eq!(p.to_bits(), q.to_bits()),
            _ => assert_eq!(x, y),
        }
    }
}
