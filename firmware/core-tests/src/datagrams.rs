//! The core's datagram machines over its in-memory network (`portsock_core::mem::Network`),
//! on the manual clock, as `core/tests/machines_{datagram,multicast}.rs` do on the host: the
//! datagram echo (the chapter's exchange, and a lost request reported after its retries) and
//! the chapter's multicast run (one sender, two receivers joined through the `'4sL'` bytes,
//! each acking once, the sender collecting both acks until its timeout).
//!
//! Every side is non-blocking and stepped in turn; the clock moves (to the earliest timer)
//! only when no side made progress, as the host tests' `run` does.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use portsock_core::drive::{DriveError, run_datagram, step_datagram};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::datagram::{
    ClientEvent, DatagramEchoClient, DatagramEchoError, DatagramEchoServer, ServerEvent,
};
use portsock_core::machine::Status;
use portsock_core::mem::{ManualClock, Network};
use portsock_core::multicast::{
    self, CHAPTER_ACK, CHAPTER_GROUP, CHAPTER_TIMEOUT, CHAPTER_TTL, MulticastReceiver,
    MulticastSender, SenderEvent,
};
use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{Blocking, Interface, MembershipRequest, Multicast};
use portsock_core::wire::mreq::chapter_request;

use crate::{Failure, Outcome, ensure, fail};

const MAX_ROUNDS: usize = 1_000;

fn v4(a: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port))
}

/// One side's turn: done, progress, or blocked until its timer (if any).
enum Turn {
    Done,
    Progress,
    Blocked(Option<Instant>),
}

fn turn<E: core::fmt::Debug, P: core::fmt::Debug>(
    step: Result<Status, DriveError<E, P>>,
    wake: Option<Instant>,
) -> Result<Turn, Failure> {
    match step {
        Ok(Status::Done) => Ok(Turn::Done),
        Ok(Status::Running) => Ok(Turn::Progress),
        Ok(Status::Blocked) => Ok(Turn::Blocked(wake)),
        Err(e) => Err(fail(format_args!("{e:?}"))),
    }
}

/// After a round of turns: moves the clock to the earliest timer if nobody progressed and the
/// network saw no traffic (`quiet`: a side that sent and finished in the same turn reports
/// `Done`, not progress). `Ok(true)` when every side is done.
fn settle(clock: &ManualClock, turns: &[Turn], quiet: bool) -> Result<bool, Failure> {
    let mut done = true;
    let mut progressed = false;
    let mut wake: Option<Instant> = None;
    for t in turns {
        match t {
            Turn::Done => {}
            Turn::Progress => (done, progressed) = (false, true),
            Turn::Blocked(at) => {
                done = false;
                if let Some(at) = at {
                    wake = Some(wake.map_or(*at, |w| w.min(*at)));
                }
            }
        }
    }
    if !done && !progressed && quiet {
        match wake {
            Some(at) => clock.set(at),
            None => return Err(fail(format_args!("deadlock: every side blocked, no timer"))),
        }
    }
    Ok(done)
}

/// The chapter's datagram echo: the client sends the 42-byte message to 127.0.0.1:10000, the
/// server echoes it, the client verifies it; no time passes.
pub fn datagram_echo_chapter() -> Outcome {
    let clock = ManualClock::new();
    let net = Network::<'_, 4, 4, 64>::new(&clock);
    let server_addr = v4([127, 0, 0, 1], 10_000);
    let mut server_socket = net
        .bind(server_addr)
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let mut client_socket = net
        .bind(v4([127, 0, 0, 1], 0))
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let _ = server_socket.set_nonblocking(true);
    let _ = client_socket.set_nonblocking(true);
    let mut client = DatagramEchoClient::new(CHAPTER_MESSAGE, server_addr, [0u8; 64]);
    let mut server = DatagramEchoServer::new([0u8; 64]);
    let mut echoed = heapless::Vec::<u8, 64>::new();
    let mut served: Option<(SocketAddr, usize)> = None;
    let mut finished = false;
    for _ in 0..MAX_ROUNDS {
        let before = net.activity();
        let c = if client.is_done() {
            Turn::Done
        } else {
            let step = step_datagram(&mut client_socket, &mut client, &clock, &mut |c| {
                while let Some(event) = c.poll_event() {
                    if let ClientEvent::Received(data) = event {
                        let _ = echoed.extend_from_slice(data);
                    }
                }
            });
            turn(step, client.poll_timeout())?
        };
        let s = if client.is_done() {
            Turn::Done
        } else {
            let step = step_datagram(&mut server_socket, &mut server, &clock, &mut |s| {
                while let Some(event) = s.poll_event() {
                    if let ServerEvent::Received { from, len, .. } = event {
                        served = Some((*from, len));
                    }
                }
            });
            turn(step, None)?
        };
        if settle(&clock, &[c, s], net.activity() == before)? {
            finished = true;
            break;
        }
    }
    ensure!(finished, "not done after {MAX_ROUNDS} rounds");
    ensure!(echoed == CHAPTER_MESSAGE, "echoed {:?}", echoed.as_slice());
    ensure!(
        served == Some((v4([127, 0, 0, 1], 49_152), 42)),
        "server saw {:?}",
        served
    );
    ensure!(server.served() == 1, "served {}", server.served());
    ensure!(
        clock.now() == Instant::ZERO,
        "time passed: {:?}",
        clock.now()
    );
    Ok(())
}

/// Nobody listens: the client retries once after its 500 ms timeout and reports the loss
/// after the second, at exactly 1 s on the manual clock.
pub fn datagram_echo_lost_after_retries() -> Outcome {
    let clock = ManualClock::new();
    let net = Network::<'_, 2, 2, 64>::new(&clock);
    let mut socket = net
        .bind(v4([127, 0, 0, 1], 0))
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let mut client = DatagramEchoClient::new(b"hello", v4([127, 0, 0, 1], 10_000), [0u8; 16])
        .with_timeout(Duration::from_millis(500))
        .with_retries(1);
    let mut retries = 0;
    // Blocking on the manual clock: a receive with a deadline moves the clock to it.
    let result = run_datagram(&mut socket, &mut client, &clock, &mut |c| {
        while let Some(event) = c.poll_event() {
            if let ClientEvent::Retrying(_) = event {
                retries += 1;
            }
        }
    });
    ensure!(
        matches!(
            result,
            Err(DriveError::Protocol(DatagramEchoError::Lost {
                attempts: 2,
                ..
            }))
        ),
        "expected Lost after 2 attempts: {:?}",
        result
    );
    ensure!(retries == 1, "{retries} retries");
    ensure!(
        clock.now() == Instant::from_millis(1_000),
        "lost at {:?}",
        clock.now()
    );
    Ok(())
}

/// The chapter's multicast run: receivers at 10.0.0.2 and 10.0.0.3 join 224.3.29.71 through
/// the `'4sL'` request bytes (`struct.pack('4sL', group, INADDR_ANY)`: 8 bytes on this 32-bit
/// target), each acks once; the sender at 10.0.0.1 collects both acks, then times out.
pub fn multicast_chapter_two_receivers() -> Outcome {
    let clock = ManualClock::new();
    let net = Network::<'_, 4, 4, 64>::new(&clock);
    let chapter = chapter_request(CHAPTER_GROUP).map_err(|e| fail(format_args!("{e:?}")))?;
    ensure!(
        chapter.as_bytes().len() == 8,
        "'4sL' is {} bytes",
        chapter.as_bytes().len()
    );
    let request = MembershipRequest::parse_ip_option(chapter.as_bytes())
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let expected = MembershipRequest::v4(CHAPTER_GROUP, Interface::Any)
        .map_err(|e| fail(format_args!("{e:?}")))?;
    ensure!(request == expected, "parsed {:?}", request);

    let mut sockets = [
        net.bind(v4([10, 0, 0, 2], 10_000))
            .map_err(|e| fail(format_args!("{e:?}")))?,
        net.bind(v4([10, 0, 0, 3], 10_000))
            .map_err(|e| fail(format_args!("{e:?}")))?,
    ];
    for s in &mut sockets {
        s.join(&request).map_err(|e| fail(format_args!("{e:?}")))?;
        let _ = s.set_nonblocking(true);
    }
    let mut receivers = [
        MulticastReceiver::new([0u8; 32]).with_limit(1),
        MulticastReceiver::new([0u8; 32]).with_limit(1),
    ];
    let mut got = [0usize; 2];
    let mut socket = net
        .bind(v4([10, 0, 0, 1], 0))
        .map_err(|e| fail(format_args!("{e:?}")))?;
    let _ = socket.set_multicast_ttl(CHAPTER_TTL);
    let _ = socket.set_nonblocking(true);
    let group = SocketAddr::V4(SocketAddrV4::new(CHAPTER_GROUP, 10_000));
    let mut sender: MulticastSender<'_, 4, 16> =
        MulticastSender::new(multicast::CHAPTER_MESSAGE, group, CHAPTER_TIMEOUT);
    let mut timed_out = false;
    let mut finished = false;
    for _ in 0..MAX_ROUNDS {
        let before = net.activity();
        let step = step_datagram(&mut socket, &mut sender, &clock, &mut |s| {
            while let Some(event) = s.poll_event() {
                if let SenderEvent::TimedOut = event {
                    timed_out = true;
                }
            }
        });
        let wake = sender.poll_timeout();
        let mut turns = [turn(step, wake)?, Turn::Done, Turn::Done];
        for (i, (socket, receiver)) in sockets.iter_mut().zip(&mut receivers).enumerate() {
            if receiver.is_done() {
                continue;
            }
            let count = &mut got[i];
            let step = step_datagram(socket, receiver, &clock, &mut |r| {
                while let Some(event) = r.poll_event() {
                    if let multicast::ReceiverEvent::Received { data, .. } = event {
                        if data == multicast::CHAPTER_MESSAGE {
                            *count += 1;
                        }
                    }
                }
            });
            turns[i + 1] = turn(step, None)?;
        }
        if settle(&clock, &turns, net.activity() == before)? {
            finished = true;
            break;
        }
    }
    ensure!(finished, "not done after {MAX_ROUNDS} rounds");
    ensure!(got == [1, 1], "receivers got {:?}", got);
    ensure!(timed_out, "the sender did not time out");
    let replies = sender.replies();
    ensure!(replies.len() == 2, "{} replies", replies.len());
    let mut from = [replies[0].from, replies[1].from];
    from.sort_unstable();
    ensure!(
        from == [v4([10, 0, 0, 2], 10_000), v4([10, 0, 0, 3], 10_000)],
        "acks from {:?}",
        from
    );
    ensure!(
        replies.iter().all(|r| r.payload.as_slice() == CHAPTER_ACK),
        "an ack is not b'ack'"
    );
    ensure!(
        clock.now() == Instant::ZERO + CHAPTER_TIMEOUT,
        "the sender stopped at {:?}",
        clock.now()
    );
    Ok(())
}
