//! The multicast machines over the in-memory network: one sender collecting the acks of several
//! receivers until the timeout (the chapter's A/B run), store overflow, no receivers, loopback,
//! and membership through the chapter's `'4sL'` request.

mod machines_util;

use std::convert::Infallible;
use std::net::SocketAddr;

use machines_util::{Transcript, Turn, py, run, turn};
use portsock_core::drive::{DriveError, run_datagram, step_datagram};
use portsock_core::mem::{ManualClock, MemError, MemSocket, Network};
use portsock_core::multicast::{
    CHAPTER_GROUP, CHAPTER_MESSAGE, CHAPTER_TIMEOUT, CHAPTER_TTL, MulticastReceiver,
    MulticastSender, ReceiverEvent, SenderEvent,
};
use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{Blocking, Datagram, Interface, MembershipRequest, Multicast};
use portsock_core::wire::mreq::chapter_request;

type Net<'c> = Network<'c, 8, 8, 64>;
type Failure = Option<DriveError<MemError, Infallible>>;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn group() -> SocketAddr {
    SocketAddr::from((CHAPTER_GROUP, 10_000))
}

/// A receiver's socket, joined the chapter's way: the `'4sL'` bytes, read as the kernel reads them.
fn joined<'n>(net: &'n Net<'n>, at: &str) -> MemSocket<'n, 8, 8, 64> {
    let mut socket = net.bind(addr(at)).unwrap();
    let chapter = chapter_request(CHAPTER_GROUP).unwrap();
    let request = MembershipRequest::parse_ip_option(chapter.as_bytes()).unwrap();
    assert_eq!(
        request,
        MembershipRequest::v4(CHAPTER_GROUP, Interface::Any).unwrap()
    );
    socket.join(&request).unwrap();
    socket.set_nonblocking(true).unwrap();
    socket
}

fn sender_lines<const N: usize, const P: usize>(
    t: &mut Transcript,
    s: &mut MulticastSender<'_, N, P>,
) {
    while let Some(event) = s.poll_event() {
        match event {
            SenderEvent::Sending(m) => t.line(format_args!("sending {}", py(m))),
            SenderEvent::Waiting => t.line(format_args!("waiting to receive")),
            SenderEvent::Reply { from, payload, .. } => {
                t.line(format_args!("received {} from {from}", py(payload)))
            }
            SenderEvent::TimedOut => t.line(format_args!("timed out, no more responses")),
            _ => t.line(format_args!("{event:?}")),
        }
    }
}

fn receiver_lines(t: &mut Transcript, r: &mut MulticastReceiver<'_, [u8; 1024]>) {
    while let Some(event) = r.poll_event() {
        match event {
            ReceiverEvent::Waiting => t.line(format_args!("waiting to receive message")),
            ReceiverEvent::Received { from, data, len } => {
                t.line(format_args!("received {len} bytes from {from}"));
                t.line(format_args!("{}", py(data)));
            }
            ReceiverEvent::Acknowledged { to } => {
                t.line(format_args!("sending acknowledgement to {to}"))
            }
            _ => t.line(format_args!("{event:?}")),
        }
    }
}

struct Party<'n> {
    socket: MemSocket<'n, 8, 8, 64>,
    machine: MulticastReceiver<'static, [u8; 1024]>,
    transcript: Transcript,
    failure: Failure,
}

/// The sender at 10.0.0.1 and one receiver per address, each acking once; runs until all are
/// done.
fn run_group<const N: usize>(
    clock: &ManualClock,
    net: &Net<'_>,
    sender: &mut MulticastSender<'_, N, 16>,
    receivers: &[&str],
) -> (Transcript, Vec<Transcript>) {
    let mut parties: Vec<Party<'_>> = receivers
        .iter()
        .map(|at| Party {
            socket: joined(net, at),
            machine: MulticastReceiver::new([0u8; 1024]).with_limit(1),
            transcript: Transcript::default(),
            failure: None,
        })
        .collect();
    let mut socket = net.bind(addr("10.0.0.1:0")).unwrap();
    socket.set_multicast_ttl(CHAPTER_TTL).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut transcript = Transcript::default();
    let mut failure: Failure = None;
    {
        let mut sender_side = || {
            let step = step_datagram(&mut socket, sender, clock, &mut |s| {
                sender_lines(&mut transcript, s)
            });
            turn(step, sender.poll_timeout(), &mut failure)
        };
        let mut receiver_sides: Vec<Box<dyn FnMut() -> Turn + '_>> = parties
            .iter_mut()
            .map(|p| {
                Box::new(move || {
                    let step = step_datagram(&mut p.socket, &mut p.machine, clock, &mut |r| {
                        receiver_lines(&mut p.transcript, r)
                    });
                    turn(step, None, &mut p.failure)
                }) as Box<dyn FnMut() -> Turn + '_>
            })
            .collect();
        let mut sides: Vec<&mut dyn FnMut() -> Turn> = vec![&mut sender_side];
        sides.extend(
            receiver_sides
                .iter_mut()
                .map(|b| &mut **b as &mut dyn FnMut() -> Turn),
        );
        run(clock, &|| net.activity(), &mut sides, 10_000).unwrap();
    }
    assert_eq!(failure, None);
    assert!(
        parties
            .iter()
            .all(|p| p.failure.is_none() && p.machine.is_done())
    );
    (
        transcript,
        parties.into_iter().map(|p| p.transcript).collect(),
    )
}

#[test]
fn the_sender_collects_every_ack_until_the_timeout() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut sender = MulticastSender::<8, 16>::new(CHAPTER_MESSAGE, group(), CHAPTER_TIMEOUT);
    let (sent, received) = run_group(
        &clock,
        &net,
        &mut sender,
        &["10.0.0.2:10000", "10.0.0.3:10000", "10.0.0.4:10000"],
    );
    assert!(sender.is_done());
    let mut froms: Vec<SocketAddr> = sender.replies().iter().map(|r| r.from).collect();
    froms.sort();
    assert_eq!(
        froms,
        [
            addr("10.0.0.2:10000"),
            addr("10.0.0.3:10000"),
            addr("10.0.0.4:10000")
        ]
    );
    assert!(
        sender
            .replies()
            .iter()
            .all(|r| &r.payload[..] == b"ack" && r.len == 3)
    );
    assert_eq!(sender.overflow(), 0);
    // Every ack came at once, so collecting ended one quiet timeout later.
    assert_eq!(clock.now(), Instant::ZERO + CHAPTER_TIMEOUT);
    assert_eq!(
        sent.0.first().map(String::as_str),
        Some("sending b'very important data'")
    );
    assert_eq!(sent.starting_with("received b'ack' from 10.0.0.").len(), 3);
    assert_eq!(
        sent.0.last().map(String::as_str),
        Some("timed out, no more responses")
    );
    assert_eq!(
        received[0].0,
        [
            "waiting to receive message",
            "received 19 bytes from 10.0.0.1:49152",
            "b'very important data'",
            "sending acknowledgement to 10.0.0.1:49152",
        ]
    );
}

#[test]
fn replies_beyond_the_store_are_counted() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut sender = MulticastSender::<2, 16>::new(CHAPTER_MESSAGE, group(), CHAPTER_TIMEOUT);
    let (sent, _) = run_group(
        &clock,
        &net,
        &mut sender,
        &["10.0.0.2:10000", "10.0.0.3:10000", "10.0.0.4:10000"],
    );
    assert_eq!((sender.replies().len(), sender.overflow()), (2, 1));
    assert_eq!(
        sent.starting_with("received b'ack'").len(),
        3,
        "every reply is still reported"
    );
}

#[test]
fn with_no_receivers_the_sender_times_out() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut socket = net.bind(addr("10.0.0.1:0")).unwrap();
    let mut sender = MulticastSender::<4, 16>::new(CHAPTER_MESSAGE, group(), CHAPTER_TIMEOUT);
    let mut transcript = Transcript::default();
    run_datagram(&mut socket, &mut sender, &clock, &mut |s| {
        sender_lines(&mut transcript, s)
    })
    .unwrap();
    assert_eq!(
        transcript.0,
        [
            "sending b'very important data'",
            "waiting to receive",
            "timed out, no more responses"
        ]
    );
    assert!(sender.replies().is_empty());
    assert_eq!(clock.now(), Instant::from_millis(200));
}

#[test]
fn late_replies_keep_the_sender_listening_until_the_replies_stop() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut socket = net.bind(addr("10.0.0.1:0")).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut late = net.bind(addr("10.0.0.9:10000")).unwrap();
    let mut sender = MulticastSender::<4, 16>::new(CHAPTER_MESSAGE, group(), CHAPTER_TIMEOUT);
    let mut step = |sender: &mut MulticastSender<'_, 4, 16>| {
        step_datagram(&mut socket, sender, &clock, &mut |_| {})
    };
    assert!(step(&mut sender).is_ok());
    // A reply 150 ms in, another 300 ms in: each restarts the 200 ms wait.
    for at in [150, 300] {
        clock.set(Instant::from_millis(at));
        late.send_to(b"ack", &addr("10.0.0.1:49152")).unwrap();
        assert!(step(&mut sender).is_ok());
    }
    assert_eq!(sender.poll_timeout(), Some(Instant::from_millis(500)));
    clock.set(Instant::from_millis(500));
    assert!(step(&mut sender).is_ok());
    assert!(sender.is_done());
    assert_eq!(sender.replies().len(), 2);
}

#[test]
fn loopback_off_keeps_the_senders_own_host_out() {
    let clock = ManualClock::new();
    let net = Net::new(&clock);
    let mut own_host = joined(&net, "10.0.0.1:10000");
    let mut other = joined(&net, "10.0.0.2:10000");
    let mut socket = net.bind(addr("10.0.0.1:0")).unwrap();
    socket.set_multicast_loop(false).unwrap();
    socket
        .set_multicast_interface(Interface::Addr("10.0.0.1".parse().unwrap()))
        .unwrap();
    let mut sender =
        MulticastSender::<4, 16>::new(CHAPTER_MESSAGE, group(), Duration::from_millis(10));
    socket.set_nonblocking(true).unwrap();
    assert!(step_datagram(&mut socket, &mut sender, &clock, &mut |_| {}).is_ok());
    let mut buf = [0u8; 64];
    assert_eq!(
        own_host.recv_from(&mut buf, None),
        Err(MemError::WouldBlock)
    );
    assert!(other.recv_from(&mut buf, None).unwrap().is_some());
    // Leaving the group stops delivery.
    let request = MembershipRequest::v4(CHAPTER_GROUP, Interface::Any).unwrap();
    other.leave(&request).unwrap();
    let mut again = MulticastSender::<4, 16>::new(b"again", group(), Duration::from_millis(10));
    assert!(step_datagram(&mut socket, &mut again, &clock, &mut |_| {}).is_ok());
    assert_eq!(other.recv_from(&mut buf, None), Err(MemError::WouldBlock));
}
