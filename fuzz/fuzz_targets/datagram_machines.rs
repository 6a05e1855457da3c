//! The datagram machines (`DatagramEchoServer`, `DatagramEchoClient`, `MulticastSender`,
//! `MulticastReceiver`) driven through `DatagramMachine` by an arbitrary sequence of calls:
//! datagrams of any length (truncated by the buffer) from any sender, sends, and time that
//! jumps forward by any amount. A reference model of each says what must be sent, which
//! timers are due, which errors come and when the machine is done.
#![no_main]

use std::net::SocketAddr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portsock_core::machine::DatagramMachine;
use portsock_core::echo::datagram::{
    ClientEvent, DatagramEchoClient, DatagramEchoError, DatagramEchoServer, ServerEvent,
};
use portsock_core::multicast::{MulticastReceiver, MulticastSender, ReceiverEvent, SenderEvent};
use portsock_core::time::{Duration, Instant};
use portsock_core::transport::Received;

/// One call.
#[derive(Arbitrary, Debug, Clone)]
enum Op {
    /// A datagram of `len` bytes (its first bytes are `data`, repeated) from peer `from`
    /// arrives, if the machine wants one.
    Arrive { from: u8, len: u16, data: Vec<u8> },
    /// The echo of what was sent arrives from the peer the machine sent to, `len` bytes long
    /// with one byte XORed (the clients).
    Echo { len_delta: i8, flip: (u8, u8) },
    /// The machine's datagram is sent.
    Send,
    /// Time moves forward by this many milliseconds, then `handle_timeout` if a timer is due.
    Advance(u32),
    /// Time jumps far ahead (hours to the end of time).
    Leap(u64),
    /// `handle_timeout` now, due or not.
    Tick,
    /// The observer polls events until `None`.
    Events,
}

#[derive(Arbitrary, Debug)]
enum Case {
    EchoServer {
        buf: u8,
        limit: Option<u8>,
    },
    EchoClient {
        buf: u8,
        message: Vec<u8>,
        timeout: u16,
        retries: u8,
    },
    MulticastSender {
        message: Vec<u8>,
        timeout: u16,
        deadline: Option<u16>,
    },
    MulticastReceiver {
        buf: u8,
        limit: Option<u8>,
        ack: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    start: u32,
    case: Case,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let ops = &input.ops[..input.ops.len().min(256)];
    let now = Instant::from_millis(u64::from(input.start));
    match input.case {
        Case::EchoServer { buf, limit } => echo_server(buf, limit, now, ops),
        Case::MulticastReceiver { buf, limit, ack } => {
            multicast_receiver(buf, limit, &ack, now, ops);
        }
        Case::EchoClient {
            buf,
            message,
            timeout,
            retries,
        } => echo_client(
            usize::from(buf % 64),
            &message,
            Duration::from_millis(u64::from(timeout)),
            u32::from(retries % 8),
            now,
            ops,
        ),
        Case::MulticastSender {
            message,
            timeout,
            deadline,
        } => multicast_sender(
            &message,
            Duration::from_millis(u64::from(timeout)),
            deadline.map(|d| Duration::from_millis(u64::from(d))),
            now,
            ops,
        ),
    }
});

fn peer(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 10_000 + u16::from(i)))
}

/// `len` bytes of `data` repeated (zeros if empty).
fn payload(data: &[u8], len: usize) -> Vec<u8> {
    if data.is_empty() {
        return vec![0; len];
    }
    data.iter().copied().cycle().take(len).collect()
}

/// Delivers a datagram into `recv_buf` as a socket would: truncated to the buffer, full length
/// reported. Returns what landed, or `None` if the machine did not want to receive.
fn deliver<M: DatagramMachine>(m: &mut M, bytes: &[u8]) -> Option<usize> {
    let dst = m.recv_buf()?;
    assert!(!dst.is_empty(), "recv_buf is never empty");
    let copied = bytes.len().min(dst.len());
    dst[..copied].copy_from_slice(&bytes[..copied]);
    Some(copied)
}

fn advance(now: Instant, op: &Op) -> Instant {
    match *op {
        Op::Advance(ms) => now + Duration::from_millis(u64::from(ms)),
        Op::Leap(ms) => now + Duration::from_millis(ms | 1 << 22),
        _ => now,
    }
}

// ---------------------------------------------------------------------------------------------
// The responders: the echo server replies with what it received (not to an empty datagram),
// the multicast receiver with its ack (always); neither has a timer. Their events are polled
// after every input, as their calling order asks (an event not polled before the next input
// is replaced).

struct ResponderModel<'a> {
    /// The multicast receiver's ack, or `None` for the echo server.
    ack: Option<&'a [u8]>,
    capacity: usize,
    limit: Option<usize>,
    served: usize,
    /// The reply due: to whom, what.
    pending: Option<(SocketAddr, Vec<u8>)>,
    /// The last datagram: from, the bytes kept, its length.
    last: Option<(SocketAddr, Vec<u8>, usize)>,
    /// Events due: `Received` for `last`, `Sent` for it, `Waiting`.
    received_due: bool,
    replied_due: bool,
}

impl ResponderModel<'_> {
    fn reached(&self) -> bool {
        self.limit.is_some_and(|l| self.served >= l)
    }
}

/// The two responders' events, as one.
enum Seen<'e> {
    Waiting,
    Received {
        from: SocketAddr,
        data: &'e [u8],
        len: usize,
    },
    Replied {
        to: SocketAddr,
        len: Option<usize>,
    },
}

fn responder<M>(
    mut m: M,
    mut model: ResponderModel<'_>,
    mut now: Instant,
    ops: &[Op],
    events: impl Fn(&mut M, &mut dyn FnMut(Seen<'_>)),
) where
    M: DatagramMachine<Addr = SocketAddr, Error = core::convert::Infallible>,
{
    for op in ops {
        now = advance(now, op);
        responder_op(&mut m, &mut model, op, now);
        let mut waited = false;
        events(&mut m, &mut |seen| match seen {
            Seen::Received { from, data, len } => {
                let (f, kept, l) = model.last.as_ref().expect("a datagram came");
                assert!(model.received_due);
                assert_eq!((from, data, len), (*f, &kept[..], *l));
                model.received_due = false;
            }
            Seen::Replied { to, len } => {
                let (f, kept, _) = model.last.as_ref().expect("a datagram came");
                assert!(model.replied_due && !model.received_due);
                assert_eq!(to, *f);
                if let Some(len) = len {
                    assert_eq!(len, kept.len());
                }
                model.replied_due = false;
            }
            Seen::Waiting => {
                assert!(!model.reached() && model.pending.is_none() && !waited);
                waited = true;
            }
        });
        assert!(
            !model.received_due && !model.replied_due,
            "every event is reported"
        );
        let done = model.reached() && model.pending.is_none();
        assert_eq!(m.is_done(), done, "done once the limit is served");
    }
}

fn responder_op<M>(m: &mut M, model: &mut ResponderModel<'_>, op: &Op, now: Instant)
where
    M: DatagramMachine<Addr = SocketAddr, Error = core::convert::Infallible>,
{
    assert_eq!(m.poll_timeout(), None, "a responder has no timer");
    let wants = model.capacity > 0 && model.pending.is_none() && !model.reached();
    match op {
        Op::Arrive { from, len, data } => {
            let from = peer(*from);
            let bytes = payload(data, usize::from(*len % 200));
            let Some(copied) = deliver(m, &bytes) else {
                assert!(!wants, "a responder that can receive refused");
                return;
            };
            assert!(wants, "receiving while a reply is due or after the limit");
            let _ = m.handle_received(
                now,
                Received {
                    len: bytes.len(),
                    from,
                },
            );
            let kept = bytes[..copied].to_vec();
            let reply = match model.ack {
                None => (copied > 0).then(|| kept.clone()),
                Some(ack) => Some(ack.to_vec()),
            };
            match reply {
                Some(r) => model.pending = Some((from, r)),
                None => model.served += 1,
            }
            model.last = Some((from, kept, bytes.len()));
            model.received_due = true;
        }
        Op::Send | Op::Echo { .. } => match m.poll_transmit() {
            Some(t) => {
                let (to, what) = model.pending.take().expect("a reply only when one is due");
                assert_eq!((*t.to, t.payload), (to, &what[..]));
                m.handle_sent(now);
                model.served += 1;
                model.replied_due = true;
            }
            None => assert!(model.pending.is_none(), "a due reply is not offered"),
        },
        Op::Tick | Op::Advance(_) | Op::Leap(_) => {
            let _ = m.handle_timeout(now);
        }
        Op::Events => {}
    }
}

fn echo_server(buf: u8, limit: Option<u8>, now: Instant, ops: &[Op]) {
    let capacity = usize::from(buf % 64);
    let mut m = DatagramEchoServer::new(vec![0u8; capacity]);
    if let Some(l) = limit {
        m = m.with_limit(usize::from(l));
    }
    let model = ResponderModel {
        ack: None,
        capacity,
        limit: limit.map(usize::from),
        served: 0,
        pending: None,
        last: None,
        received_due: false,
        replied_due: false,
    };
    responder(m, model, now, ops, |m, seen| {
        while let Some(event) = m.poll_event() {
            seen(match event {
                ServerEvent::Waiting => Seen::Waiting,
                ServerEvent::Received { from, data, len } => Seen::Received {
                    from: *from,
                    data,
                    len,
                },
                ServerEvent::Sent { to, len } => Seen::Replied {
                    to: *to,
                    len: Some(len),
                },
                _ => panic!("unknown event"),
            });
        }
    });
}

fn multicast_receiver(buf: u8, limit: Option<u8>, ack: &[u8], now: Instant, ops: &[Op]) {
    let capacity = usize::from(buf % 64);
    let mut m = MulticastReceiver::new(vec![0u8; capacity]).with_ack(ack);
    if let Some(l) = limit {
        m = m.with_limit(usize::from(l));
    }
    let model = ResponderModel {
        ack: Some(ack),
        capacity,
        limit: limit.map(usize::from),
        served: 0,
        pending: None,
        last: None,
        received_due: false,
        replied_due: false,
    };
    responder(m, model, now, ops, |m, seen| {
        while let Some(event) = m.poll_event() {
            seen(match event {
                ReceiverEvent::Waiting => Seen::Waiting,
                ReceiverEvent::Received { from, data, len } => Seen::Received { from, data, len },
                ReceiverEvent::Acknowledged { to } => Seen::Replied { to, len: None },
                _ => panic!("unknown event"),
            });
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The datagram echo client: send, wait `timeout`, resend up to `retries` times, then fail;
// verify the echo from the server and ignore strays.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Send,
    Wait(Instant),
    Done,
    Failed,
}

fn echo_client(
    capacity: usize,
    message: &[u8],
    timeout: Duration,
    retries: u32,
    mut now: Instant,
    ops: &[Op],
) {
    let server = peer(1);
    let mut m = DatagramEchoClient::new(message, server, vec![0u8; capacity])
        .with_timeout(timeout)
        .with_retries(retries);
    let mut phase = Phase::Send;
    let mut attempts = 0u32;
    let mut announced = false;
    // The drain: no echo ever comes; the client must give up after `retries + 1` sends.
    let drain: Vec<Op> = (0..=retries)
        .flat_map(|_| [Op::Send, Op::Leap(0), Op::Events])
        .collect();
    let end = ops.len();
    for (i, op) in ops.iter().chain(&drain).enumerate() {
        if i == end && matches!(phase, Phase::Done | Phase::Failed) {
            break;
        }
        now = advance(now, op);
        let due = match phase {
            Phase::Wait(deadline) => now >= deadline,
            _ => false,
        };
        match op {
            Op::Send => match DatagramMachine::poll_transmit(&m) {
                Some(t) => {
                    assert_eq!(phase, Phase::Send);
                    assert_eq!((*t.to, t.payload), (server, message));
                    DatagramMachine::handle_sent(&mut m, now);
                    attempts += 1;
                    phase = Phase::Wait(now + timeout);
                }
                None => assert_ne!(phase, Phase::Send),
            },
            Op::Advance(_) | Op::Leap(_) | Op::Tick => {
                let r = DatagramMachine::handle_timeout(&mut m, now);
                if due && attempts > retries {
                    assert_eq!(r, Err(DatagramEchoError::Lost { attempts, timeout }));
                    phase = Phase::Failed;
                } else {
                    assert_eq!(r, Ok(()));
                    if due {
                        phase = Phase::Send;
                    }
                }
            }
            Op::Arrive { from, len, data } => {
                let from = peer(*from);
                let bytes = payload(data, usize::from(*len % 200));
                client_receives(
                    &mut m, &mut phase, message, capacity, from, server, &bytes, now,
                );
            }
            Op::Echo { len_delta, flip } => {
                let len = message.len().saturating_add_signed(isize::from(*len_delta));
                let mut bytes = payload(message, len);
                if let Some(b) = bytes.get_mut(usize::from(flip.0)) {
                    *b ^= flip.1;
                }
                client_receives(
                    &mut m, &mut phase, message, capacity, server, server, &bytes, now,
                );
            }
            Op::Events => {
                while let Some(event) = m.poll_event() {
                    match event {
                        ClientEvent::Sending(msg) => {
                            assert!(!announced && msg == message);
                            announced = true;
                        }
                        ClientEvent::Received(msg) => {
                            assert_eq!((phase, msg), (Phase::Done, message));
                        }
                        ClientEvent::Retrying(n) => assert!(n >= 2 && n <= retries + 1),
                        ClientEvent::Stray { from, .. } => assert_ne!(*from, server),
                        _ => {}
                    }
                }
                assert!(announced);
            }
        }
        let timer = match phase {
            Phase::Wait(deadline) => Some(deadline),
            _ => None,
        };
        assert_eq!(DatagramMachine::poll_timeout(&m), timer);
        assert_eq!(DatagramMachine::is_done(&m), phase == Phase::Done);
        assert_eq!(m.attempts(), attempts);
    }
    assert!(
        matches!(phase, Phase::Done | Phase::Failed),
        "the client ends, one way or the other"
    );
}

#[allow(clippy::too_many_arguments)]
fn client_receives(
    m: &mut DatagramEchoClient<'_, Vec<u8>, SocketAddr>,
    phase: &mut Phase,
    message: &[u8],
    capacity: usize,
    from: SocketAddr,
    server: SocketAddr,
    bytes: &[u8],
    now: Instant,
) {
    let waiting = matches!(phase, Phase::Wait(_));
    let Some(copied) = deliver(m, bytes) else {
        assert!(
            !waiting || capacity == 0,
            "a waiting client refused the echo"
        );
        return;
    };
    assert!(waiting && capacity > 0);
    let r = DatagramMachine::handle_received(
        m,
        now,
        Received {
            len: bytes.len(),
            from,
        },
    );
    if from != server {
        assert_eq!(r, Ok(()), "a stray is ignored");
        return;
    }
    let got = &bytes[..copied];
    let expected = if let Some(offset) = got.iter().zip(message).position(|(g, m)| g != m) {
        Err(DatagramEchoError::Mismatch {
            offset,
            expected: message[offset],
            got: got[offset],
        })
    } else if bytes.len() > capacity {
        Err(DatagramEchoError::Truncated {
            len: bytes.len(),
            capacity,
        })
    } else if bytes.len() != message.len() {
        Err(DatagramEchoError::WrongLength {
            expected: message.len(),
            got: bytes.len(),
        })
    } else {
        Ok(())
    };
    assert_eq!(r, expected);
    *phase = if r.is_ok() {
        Phase::Done
    } else {
        Phase::Failed
    };
}

// ---------------------------------------------------------------------------------------------
// The multicast sender: send once, collect every reply until `timeout` passes without one or
// the overall deadline passes; keep the first N replies (P bytes each), count the rest.

const N: usize = 3;
const P: usize = 8;

struct SenderModel<'a> {
    message: &'a [u8],
    group: SocketAddr,
    timeout: Duration,
    deadline: Option<Duration>,
    /// Collecting: when the replies stop counting as quiet, and the overall end.
    collect: Option<(Instant, Option<Instant>)>,
    sent: bool,
    done: bool,
    replies: Vec<(SocketAddr, Vec<u8>, usize)>,
    overflow: usize,
    /// The last reply, while its event is due.
    reply_due: Option<(SocketAddr, Vec<u8>, usize)>,
    timed_out_reported: bool,
}

impl SenderModel<'_> {
    fn timer(&self) -> Option<Instant> {
        self.collect
            .map(|(quiet, end)| end.map_or(quiet, |e| e.min(quiet)))
    }

    fn op(&mut self, m: &mut MulticastSender<'_, N, P>, op: &Op, now: Instant) {
        match op {
            Op::Send | Op::Echo { .. } => match DatagramMachine::poll_transmit(m) {
                Some(t) => {
                    assert!(!self.sent);
                    assert_eq!((*t.to, t.payload), (self.group, self.message));
                    DatagramMachine::handle_sent(m, now);
                    self.sent = true;
                    self.collect = Some((now + self.timeout, self.deadline.map(|d| now + d)));
                }
                None => assert!(self.sent),
            },
            Op::Arrive { from, len, data } => {
                let from = peer(*from);
                let bytes = payload(data, usize::from(*len % 40));
                let Some(copied) = deliver(m, &bytes) else {
                    assert!(
                        self.collect.is_none(),
                        "a collecting sender refused a reply"
                    );
                    return;
                };
                assert!(self.collect.is_some());
                let received = Received {
                    len: bytes.len(),
                    from,
                };
                assert!(DatagramMachine::handle_received(m, now, received).is_ok());
                let reply = (from, bytes[..copied].to_vec(), bytes.len());
                if self.replies.len() < N {
                    self.replies.push(reply.clone());
                } else {
                    self.overflow += 1;
                }
                if let Some((quiet, _)) = &mut self.collect {
                    *quiet = now + self.timeout;
                }
                self.reply_due = Some(reply);
            }
            Op::Advance(_) | Op::Leap(_) | Op::Tick => {
                let due = self.timer().is_some_and(|at| now >= at);
                assert!(DatagramMachine::handle_timeout(m, now).is_ok());
                if due {
                    self.done = true;
                    self.collect = None;
                }
            }
            Op::Events => {
                while let Some(event) = m.poll_event() {
                    match event {
                        SenderEvent::Reply { from, payload, len } => {
                            let (f, kept, l) = self.reply_due.take().expect("a reply came");
                            assert_eq!((from, payload, len), (f, &kept[..], l));
                        }
                        SenderEvent::TimedOut => {
                            assert!(self.done && !self.timed_out_reported);
                            self.timed_out_reported = true;
                        }
                        _ => {}
                    }
                }
                assert!(self.reply_due.is_none());
                assert_eq!(self.timed_out_reported, self.done);
            }
        }
        assert_eq!(DatagramMachine::poll_timeout(m), self.timer());
        assert_eq!(DatagramMachine::is_done(m), self.done);
        let got: Vec<_> = m
            .replies()
            .iter()
            .map(|r| (r.from, r.payload.to_vec(), r.len))
            .collect();
        assert_eq!(got, self.replies);
        assert_eq!(m.overflow(), self.overflow);
    }
}

fn multicast_sender(
    message: &[u8],
    timeout: Duration,
    deadline: Option<Duration>,
    mut now: Instant,
    ops: &[Op],
) {
    let group = SocketAddr::from(([224, 3, 29, 71], 10_000));
    let mut m = MulticastSender::<N, P>::new(message, group, timeout);
    if let Some(d) = deadline {
        m = m.with_deadline(d);
    }
    let mut s = SenderModel {
        message,
        group,
        timeout,
        deadline,
        collect: None,
        sent: false,
        done: false,
        replies: Vec::new(),
        overflow: 0,
        reply_due: None,
        timed_out_reported: false,
    };
    for op in ops {
        now = advance(now, op);
        s.op(&mut m, op, now);
    }
    // A peer that answers every half timeout: only the deadline ends the collection.
    let step = (timeout.as_millis() / 2)
        .max(deadline.map_or(0, |d| d.as_millis() / 32))
        .max(1);
    s.op(&mut m, &Op::Send, now);
    for i in 0..64 {
        if s.done {
            break;
        }
        let arrive = Op::Arrive {
            from: i,
            len: 3,
            data: b"ack".to_vec(),
        };
        s.op(&mut m, &arrive, now);
        now += Duration::from_millis(step);
        s.op(&mut m, &Op::Tick, now);
        s.op(&mut m, &Op::Events, now);
    }
    if deadline.is_some() || step >= timeout.as_millis() {
        assert!(
            s.done,
            "the deadline (or the quiet timeout) ends the collection"
        );
    }
    // Silence: the quiet timeout ends it.
    now = advance(now, &Op::Leap(0));
    s.op(&mut m, &Op::Tick, now);
    s.op(&mut m, &Op::Events, now);
    assert!(s.done);
}
