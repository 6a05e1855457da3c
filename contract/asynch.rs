//! The async transport contract: what every async backend's sockets must do alike
//! (`portsock_core::asynch::transport`), written once and run on each backend
//! (`portsock_core::mem` with the `async` feature, portsock-std's tokio types, the edge-nal
//! adapters). The async sibling of the blocking contract in `mod.rs`.
//!
//! Each item is a generic `async fn` over a [`Harness`], the little a backend has to supply: a
//! listener and a connect, a bound datagram socket, and a [`Timer`]. A backend's test file
//! includes this file at its crate root **as `contract_async`** and expands
//! [`contract_async_tests!`] once per harness, with the harness (an expression, evaluated
//! inside the executor, so it may `.await`) and a function that runs a future to completion on
//! the backend's executor; that makes one `#[test]` per item:
//!
//! ```ignore
//! #[path = "../../contract/asynch.rs"]
//! mod contract_async;
//!
//! fn block_on<F: core::future::Future>(f: F) -> F::Output {
//!     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! }
//!
//! mod tcp {
//!     crate::contract_async::contract_async_tests!(super::Tcp::new(), super::block_on);
//! }
//! ```
//!
//! The futures are not `Send` (the traits serve single-threaded executors too): run them with
//! a current-thread runtime's `block_on` (or `LocalSet`). Each item is also a `pub async fn`
//! a test can call by itself.
//!
//! # The items
//!
//! | item | checks |
//! |---|---|
//! | [`stream_echoes_both_ways`] | bytes written at one end are read at the other, both ways |
//! | [`stream_large_transfer_arrives_whole`] | [`LARGE`] bytes each way, through whatever short reads and writes the backend makes, arrive whole and in order |
//! | [`shutdown_write_is_the_peers_end_of_stream`] | after `shutdown(Write)` the peer reads all data, then end of stream; the other direction still works |
//! | [`orderly_close_is_end_of_stream`] | dropping a stream is the peer's end of stream after its last byte, and stays so |
//! | [`accept_returns_the_peer_and_addresses_agree`] | `accept` returns the client's address; local and peer addresses agree from both ends |
//! | [`datagram_truncation_reports_the_full_length`] | `Received::len` is a datagram's full size; the rest is discarded; empty datagrams and buffers |
//! | [`datagram_addresses_name_the_sender`] | `from` is the sender's local address; a reply to it arrives |
//! | [`read_is_cancel_safe`] | a read dropped before it completes (raced against a timer, or polled once) loses no byte |
//! | [`write_is_cancel_safe`] | a write dropped before it completes (the peer not reading) sent no byte: the peer reads exactly what the completed writes reported |
//! | [`recv_from_is_cancel_safe`] | a datagram arriving after a dropped `recv_from` is returned by the next |
//! | [`run_stream_echoes`] | `run_stream` with `EchoSession` and `EchoClient` completes over a pair, every byte verified |
//! | [`run_stream_is_cancel_safe`] | dropping both sides' `run_stream` mid-read and mid-send, then running it again with the same machine, loses or repeats no byte of the echo |
//! | [`run_datagram_echoes`] | `run_datagram` with the datagram echo server and client completes |
//! | [`run_datagram_is_cancel_safe`] | dropping `run_datagram` while it waits and running it again loses no datagram |
//! | [`run_datagram_fires_the_timeout`] | `run_datagram` fires the machine's timeout through the [`Timer`], never early |
//!
//! # What a backend provides
//!
//! - streams whose reads and writes are cancel-safe (the traits' requirement), whose two
//!   directions together buffer at least [`WINDOW`] bytes (any kernel socket does; the
//!   in-memory pairs are given 256 each way): the drivers write before they read, so an echo
//!   client further ahead than the buffers hold would wait for room while the session waits
//!   for room too;
//! - a listener that takes at least 2 connections (one after the other);
//! - datagram sockets with room for 4 queued datagrams of up to 64 bytes;
//! - a [`Timer`] whose `now` is the clock the checks read: tokio's clock, or a manual clock
//!   that an executor advances when every task waits.
//!
//! Every wait that should end is bounded by [`GUARD`] on the harness's timer, so a broken
//! backend fails instead of hanging; nothing asserts that an operation was fast (only that a
//! timeout did not fire early), so a busy machine cannot fail them.
#![allow(dead_code, unreachable_pub, async_fn_in_trait)]

use core::fmt::Debug;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use portsock_core::asynch::drive::{run_datagram, run_stream};
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::time::Timer;
use portsock_core::asynch::transport::{Datagram, Listener, Read, Shutdown, Stream, Write};
use portsock_core::drive::DriveError;
use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoError, DatagramEchoServer};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::machine::StreamMachine;
use portsock_core::time::{Clock as _, Duration};

/// How long a wait that should end may take before the test calls it a failure.
pub const GUARD: Duration = Duration::from_secs(5);
/// A timeout meant to run out.
pub const SHORT: Duration = Duration::from_millis(100);
/// The bytes each way of the large transfers.
pub const LARGE: usize = 256 * 1024;
/// How far the echo clients send ahead of the echo: what a pair's two directions must buffer
/// together.
pub const WINDOW: usize = 128;

/// What a backend supplies to run the async contract.
pub trait Harness {
    /// The address of a stream or listener.
    type Addr: PartialEq + Clone + Debug;
    /// A client stream (the accepted ones are the listener's `Stream<'_>`).
    type Stream: Stream<Addr = Self::Addr>;
    /// A listener.
    type Listener: Listener<Addr = Self::Addr>;
    /// A bound datagram socket.
    type Datagram: Datagram<Addr: PartialEq>;
    /// The clock the drivers and the guards wait on.
    type Timer: Timer;

    /// The timer.
    fn timer(&self) -> &Self::Timer;

    /// A fresh listener on a loopback address (or a fresh path).
    async fn listen(&self) -> Self::Listener;

    /// A stream connected to `listener` (it need not have been accepted yet).
    async fn connect(&self, listener: &Self::Listener) -> Self::Stream;

    /// A fresh datagram socket bound to a loopback address (or a fresh path).
    async fn bind(&self) -> Self::Datagram;
}

/// One `#[test]` per contract item, each on a fresh harness made by `$make` inside
/// `$run(future)`. Include the contract module at the crate root as `mod contract_async`.
macro_rules! contract_async_tests {
    ($make:expr, $run:path) => {
        $crate::contract_async::contract_async_tests!(@each $make, $run;
            stream_echoes_both_ways,
            stream_large_transfer_arrives_whole,
            shutdown_write_is_the_peers_end_of_stream,
            orderly_close_is_end_of_stream,
            accept_returns_the_peer_and_addresses_agree,
            datagram_truncation_reports_the_full_length,
            datagram_addresses_name_the_sender,
            read_is_cancel_safe,
            write_is_cancel_safe,
            recv_from_is_cancel_safe,
            run_stream_echoes,
            run_stream_is_cancel_safe,
            run_datagram_echoes,
            run_datagram_is_cancel_safe,
            run_datagram_fires_the_timeout,
        );
    };
    (@each $make:expr, $run:path; $($item:ident),* $(,)?) => {$(
        #[test]
        fn $item() {
            $run(async {
                let harness = $make;
                $crate::contract_async::$item(&harness).await;
            });
        }
    )*};
}
pub(crate) use contract_async_tests;

/// `fut`'s output, or a panic naming `what` if it is not done within [`GUARD`] on the
/// harness's timer.
pub async fn guard<H: Harness, F: Future>(h: &H, what: &str, fut: F) -> F::Output {
    let timer = h.timer();
    match first(fut, timer.sleep_until(timer.now() + GUARD)).await {
        Either::First(out) => out,
        Either::Second(()) => panic!("{what}: not done within {GUARD}"),
    }
}

/// Both futures' outputs, polling both until both are done.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            out_a = Some(out);
        }
        if out_b.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            out_b = Some(out);
        }
        match (out_a.take(), out_b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (out_a, out_b) = (a, b);
                Poll::Pending
            }
        }
    })
    .await
}

/// Polls `fut` until it completes or has returned `Pending` `times` times; in that case it
/// is dropped (cancelled) and the answer is `None`, at once (in a loop, give `times` of at
/// least 2, or the loop never yields to the executor).
pub async fn poll_at_most<F: Future>(times: usize, fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut pending = 0;
    poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => {
            pending += 1;
            if pending >= times {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        }
    })
    .await
}

/// A connected pair and the listener it came from: `(listener, client)`; accept the server
/// end with `listener.accept()`.
async fn connected<H: Harness>(h: &H) -> (H::Listener, H::Stream) {
    let listener = h.listen().await;
    let client = guard(h, "connect", h.connect(&listener)).await;
    (listener, client)
}

/// `n` bytes of a pattern with a period (251) that no power-of-two chunking lines up with.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Reads until end of stream.
async fn read_to_end<S: Read>(s: &mut S) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await.expect("read up to end of stream") {
            0 => return got,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads exactly `n` bytes.
async fn read_n<S: Read>(s: &mut S, n: usize) -> Vec<u8> {
    let mut got = vec![0u8; n];
    s.read_exact(&mut got).await.expect("read the bytes sent");
    got
}

/// Bytes written at one end are read at the other, both ways.
pub async fn stream_echoes_both_ways<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    c.write_all(b"ping").await.expect("write");
    c.flush().await.expect("flush");
    assert_eq!(guard(h, "read ping", read_n(&mut s, 4)).await, b"ping");
    s.write_all(b"pong").await.expect("write back");
    s.flush().await.expect("flush");
    assert_eq!(guard(h, "read pong", read_n(&mut c, 4)).await, b"pong");
}

/// [`LARGE`] bytes each way, a writer and a reader running together, arrive whole and in
/// order, whatever short reads and writes the backend makes.
pub async fn stream_large_transfer_arrives_whole<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    let data = pattern(LARGE);
    let send = async {
        c.write_all(&data).await.expect("write client to server");
        c.flush().await.expect("flush");
    };
    let (_, got) = guard(h, "client to server", join(send, read_n(&mut s, LARGE))).await;
    assert!(got == data, "client to server: the bytes differ");
    let send = async {
        s.write_all(&data).await.expect("write server to client");
        s.flush().await.expect("flush");
    };
    let (_, got) = guard(h, "server to client", join(send, read_n(&mut c, LARGE))).await;
    assert!(got == data, "server to client: the bytes differ");
}

/// `Shutdown::Write`: the peer reads everything sent, then end of stream (again and again);
/// the other direction still carries bytes (a half-close).
pub async fn shutdown_write_is_the_peers_end_of_stream<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    let data = pattern(3000);
    let send = async {
        c.write_all(&data).await.expect("write");
        c.flush().await.expect("flush");
        c.shutdown(Shutdown::Write).await.expect("shutdown write");
    };
    let (_, got) = guard(h, "read to end of stream", join(send, read_to_end(&mut s))).await;
    assert!(got == data, "the bytes read differ from those sent");
    assert_eq!(
        s.read(&mut [0u8; 8])
            .await
            .expect("read after end of stream"),
        0
    );
    s.write_all(b"back").await.expect("write the other way");
    s.flush().await.expect("flush");
    assert_eq!(
        guard(h, "read after shutdown(Write)", read_n(&mut c, 4)).await,
        b"back"
    );
}

/// Dropping a stream is the peer's end of stream after its last byte, and stays so.
pub async fn orderly_close_is_end_of_stream<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    c.write_all(b"bye").await.expect("write");
    c.flush().await.expect("flush");
    drop(c);
    assert_eq!(
        guard(h, "read to end of stream", read_to_end(&mut s)).await,
        b"bye"
    );
    assert_eq!(
        s.read(&mut [0u8; 8])
            .await
            .expect("read after end of stream"),
        0
    );
}

/// `accept` returns the client's address, and each accepted stream is its client's: two
/// clients connect and are accepted in turn. The client's peer is the listener's address, the
/// accepted end's local address is too, and its peer is the client's local address.
pub async fn accept_returns_the_peer_and_addresses_agree<H: Harness>(h: &H) {
    let listener = h.listen().await;
    let listening = listener.local_addr().expect("listener's address");
    assert_eq!(listener.local_addr().expect("again"), listening, "stable");
    for (i, message) in [b"one", b"two"].into_iter().enumerate() {
        let mut c = guard(h, "connect", h.connect(&listener)).await;
        let (mut s, peer) = guard(h, "accept", listener.accept()).await.expect("accept");
        let client = c.local_addr().expect("client's local address");
        assert_eq!(
            peer, client,
            "client {i}: accept returns the client's address"
        );
        assert_eq!(s.peer_addr().expect("server's peer"), client);
        assert_eq!(c.peer_addr().expect("client's peer"), listening);
        assert_eq!(s.local_addr().expect("server's local address"), listening);
        c.write_all(message).await.expect("write");
        c.flush().await.expect("flush");
        assert_eq!(
            guard(h, "read", read_n(&mut s, 3)).await,
            message,
            "client {i}'s bytes on its accepted stream"
        );
    }
}

/// A datagram longer than the buffer: `Received::len` is its full size, the buffer holds its
/// first bytes, and the rest is gone (the next receive is the next datagram). An empty
/// datagram is received as one of length 0, and an empty buffer still learns the length.
pub async fn datagram_truncation_reports_the_full_length<H: Harness>(h: &H) {
    let mut a = h.bind().await;
    let mut b = h.bind().await;
    let to = b.local_addr().expect("receiver's address");
    a.send_to(b"0123456789", &to).await.expect("send 10 bytes");
    a.send_to(b"ab", &to).await.expect("send 2 bytes");
    let mut buf = [0u8; 4];
    let got = guard(h, "receive", b.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!(got.len, 10, "the datagram's full length");
    assert!(got.is_truncated(buf.len()));
    assert_eq!(&buf, b"0123", "only what fits is copied");
    let mut buf = [0u8; 8];
    let got = guard(h, "receive", b.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!(
        got.len, 2,
        "the cut-off bytes were discarded, not delivered"
    );
    assert_eq!(&buf[..2], b"ab");
    a.send_to(b"", &to).await.expect("send an empty datagram");
    a.send_to(b"xyz", &to).await.expect("send 3 bytes");
    let got = guard(h, "receive", b.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!(got.len, 0, "the empty datagram");
    let got = guard(h, "receive", b.recv_from(&mut []))
        .await
        .expect("receive");
    assert_eq!(got.len, 3, "an empty buffer still learns the length");
}

/// A datagram's `from` is its sender's local address, and a reply to it arrives there.
pub async fn datagram_addresses_name_the_sender<H: Harness>(h: &H) {
    let mut a = h.bind().await;
    let mut b = h.bind().await;
    let from_a = a.local_addr().expect("a's address");
    let to_b = b.local_addr().expect("b's address");
    assert_ne!(from_a, to_b, "two sockets, two addresses");
    a.send_to(b"to b", &to_b).await.expect("send");
    let mut buf = [0u8; 8];
    let got = guard(h, "receive", b.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!(got.from, from_a);
    b.send_to(b"reply", &got.from)
        .await
        .expect("reply to the sender");
    let got = guard(h, "receive the reply", a.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!((got.len, got.from), (5, to_b));
    assert_eq!(&buf[..5], b"reply");
}

/// A read dropped before it completes loses no byte: one polled once and dropped before
/// anything was sent, then reads raced against a 1 ms timer while the peer sends 7 bytes
/// every 3 ms. Everything sent is read, in order, and some reads were dropped.
pub async fn read_is_cancel_safe<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    let mut buf = [0u8; 64];
    assert!(
        poll_at_most(1, s.read(&mut buf)).await.is_none(),
        "nothing sent: the read waits"
    );
    let data = pattern(700);
    let timer = h.timer();
    let send = async {
        for chunk in data.chunks(7) {
            c.write_all(chunk).await.expect("write");
            c.flush().await.expect("flush");
            timer
                .sleep_until(timer.now() + Duration::from_millis(3))
                .await;
        }
    };
    let receive = async {
        let (mut got, mut dropped) = (Vec::new(), 0);
        while got.len() < data.len() {
            let tick = timer.sleep_until(timer.now() + Duration::from_millis(1));
            match first(s.read(&mut buf), tick).await {
                Either::First(n) => match n.expect("read") {
                    0 => panic!("end of stream after {} bytes", got.len()),
                    n => got.extend_from_slice(&buf[..n]),
                },
                Either::Second(()) => dropped += 1,
            }
        }
        (got, dropped)
    };
    let (_, (got, dropped)) = guard(h, "trickle", join(send, receive)).await;
    assert!(got == data, "the bytes read differ from those sent");
    assert!(
        dropped > 0,
        "no read was ever dropped: the test proved nothing"
    );
}

/// A write dropped before it completes sent no byte: with the peer not reading, writes raced
/// against an expired timer, and then a [`SHORT`] one, until one is dropped (the buffers are
/// full; at most 64 MiB); then the peer reads to end of stream exactly the bytes the completed
/// writes reported.
pub async fn write_is_cancel_safe<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    let chunk = pattern(16 * 1024 + 251);
    let timer = h.timer();
    let mut sent = 0usize;
    loop {
        assert!(
            sent < 64 << 20,
            "64 MiB written and the buffers are not full"
        );
        let at = sent % 251;
        // Against a timer already expired first (a write that can complete at once must win,
        // or be dropped having sent nothing), then against a short one.
        let write = c.write(&chunk[at..at + 16 * 1024]);
        if let Either::First(n) = first(write, timer.sleep_until(timer.now())).await {
            sent += n.expect("write");
            continue;
        }
        let write = c.write(&chunk[at..at + 16 * 1024]);
        match first(write, timer.sleep_until(timer.now() + SHORT)).await {
            Either::First(n) => sent += n.expect("write"),
            Either::Second(()) => break,
        }
    }
    c.shutdown(Shutdown::Write).await.expect("shutdown write");
    let got = guard(h, "read to end of stream", read_to_end(&mut s)).await;
    assert_eq!(
        got.len(),
        sent,
        "the peer read what the completed writes reported"
    );
    assert!(
        got == pattern(sent),
        "the bytes read differ from those sent"
    );
}

/// A datagram that arrives after a `recv_from` was dropped is returned by the next one: a
/// receive raced against a [`SHORT`] timer that wins, and one polled once and dropped. And a
/// receive raced against an expired timer, again until it wins, is never dropped having taken
/// the datagram.
pub async fn recv_from_is_cancel_safe<H: Harness>(h: &H) {
    let mut a = h.bind().await;
    let mut b = h.bind().await;
    let to = b.local_addr().expect("receiver's address");
    let timer = h.timer();
    let mut buf = [0u8; 8];
    let raced = first(
        b.recv_from(&mut buf),
        timer.sleep_until(timer.now() + SHORT),
    )
    .await;
    assert!(
        matches!(raced, Either::Second(())),
        "nothing sent: the timer wins"
    );
    a.send_to(b"late", &to).await.expect("send");
    let got = guard(h, "receive", b.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!((got.len, &buf[..4]), (4, &b"late"[..]));
    assert!(
        poll_at_most(1, b.recv_from(&mut buf)).await.is_none(),
        "nothing sent"
    );
    a.send_to(b"later", &to).await.expect("send");
    let got = guard(h, "receive", b.recv_from(&mut buf))
        .await
        .expect("receive");
    assert_eq!((got.len, &buf[..5]), (5, &b"later"[..]));
    a.send_to(b"racing", &to).await.expect("send");
    let racing = async {
        loop {
            match first(b.recv_from(&mut buf), timer.sleep_until(timer.now())).await {
                Either::First(got) => return got.expect("receive"),
                // Not there yet: let the backend run, and race again.
                Either::Second(()) => {
                    let tick = timer.now() + Duration::from_millis(1);
                    timer.sleep_until(tick).await;
                }
            }
        }
    };
    let got = guard(h, "the datagram raced against an expired timer", racing).await;
    assert_eq!((got.len, &buf[..6]), (6, &b"racing"[..]));
}

/// `run_stream` with an [`EchoSession`] on the accepted end and a half-closing [`EchoClient`]
/// on the other completes, every byte of a 64 KiB message verified by the client.
pub async fn run_stream_echoes<H: Harness>(h: &H) {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    let message = pattern(LARGE / 4);
    let mut client = EchoClient::new(&message, [0u8; 64])
        .with_chunk(64)
        .with_window(WINDOW)
        .with_half_close(true);
    let mut session = EchoSession::new([0u8; 64]).with_chunk(64);
    let (client_run, session_run) = guard(
        h,
        "echo",
        join(
            run_stream(&mut c, &mut client, &mut |_| {}),
            run_stream(&mut s, &mut session, &mut |_| {}),
        ),
    )
    .await;
    client_run.expect("the client's run");
    session_run.expect("the session's run");
    assert!(client.is_done());
    assert_eq!(client.received(), message.len());
    assert_eq!(
        (session.received(), session.sent()),
        (message.len() as u64, message.len() as u64)
    );
}

/// How often [`run_stream_is_cancel_safe`] dropped a driver future, and where it was waiting.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cancellations {
    /// Dropped while waiting for a write (the machine had bytes to send).
    pub mid_send: usize,
    /// Dropped while waiting for a read (or a shutdown).
    pub mid_read: usize,
}

/// Dropping `run_stream` mid-read or mid-send and running it again with the same machine
/// loses or repeats no byte: both sides of an echo of 64 KiB run with their driver future
/// dropped after every few `Pending`s (the session's after 2, the client's after 3) and
/// started again. The client verifies every byte; the session echoed exactly what it
/// received. Returns where the drops happened: over kernel sockets the echo never fills the
/// socket buffers (the client is at most [`WINDOW`] bytes ahead), so they are all mid-read
/// there, and [`write_is_cancel_safe`] covers the dropped write; the in-memory pairs of 64
/// bytes see both kinds.
pub async fn run_stream_is_cancel_safe<H: Harness>(h: &H) -> Cancellations {
    let (listener, mut c) = connected(h).await;
    let (mut s, _) = guard(h, "accept", listener.accept()).await.expect("accept");
    let message = pattern(LARGE / 4);
    let mut client = EchoClient::new(&message, [0u8; 64])
        .with_chunk(64)
        .with_window(WINDOW)
        .with_half_close(true);
    let mut session = EchoSession::new([0u8; 64]).with_chunk(64);
    let (client_drops, session_drops) = guard(
        h,
        "echo with dropped drivers",
        join(
            interrupted(3, &mut c, &mut client),
            interrupted(2, &mut s, &mut session),
        ),
    )
    .await;
    assert!(client.is_done(), "every byte came back, verified");
    assert_eq!(
        (session.received(), session.sent()),
        (message.len() as u64, message.len() as u64)
    );
    let total = Cancellations {
        mid_send: client_drops.mid_send + session_drops.mid_send,
        mid_read: client_drops.mid_read + session_drops.mid_read,
    };
    assert!(
        total.mid_send + total.mid_read > 0,
        "nothing was dropped: the test proved nothing"
    );
    total
}

/// Runs `machine` over `stream` to the end, dropping the driver's future after `times`
/// `Pending`s and starting it again each time.
async fn interrupted<S: Stream, M: StreamMachine>(
    times: usize,
    stream: &mut S,
    machine: &mut M,
) -> Cancellations
where
    M::Error: Debug,
{
    let mut drops = Cancellations::default();
    loop {
        match poll_at_most(times, run_stream(stream, machine, &mut |_| {})).await {
            Some(done) => {
                done.expect("run_stream");
                return drops;
            }
            None if machine.poll_transmit().is_some() => drops.mid_send += 1,
            None => drops.mid_read += 1,
        }
    }
}

/// `run_datagram` with a [`DatagramEchoServer`] (one datagram) and a [`DatagramEchoClient`]
/// on two sockets: both complete, the echo verified.
pub async fn run_datagram_echoes<H: Harness>(h: &H) {
    let mut server_socket = h.bind().await;
    let mut client_socket = h.bind().await;
    let to = server_socket.local_addr().expect("server's address");
    let timer = h.timer();
    let mut server = DatagramEchoServer::new([0u8; 64]).with_limit(1);
    let mut client = DatagramEchoClient::new(b"ping", to, [0u8; 64]).with_timeout(GUARD);
    let (server_run, client_run) = guard(
        h,
        "datagram echo",
        join(
            run_datagram(&mut server_socket, &mut server, timer, &mut |_| {}),
            run_datagram(&mut client_socket, &mut client, timer, &mut |_| {}),
        ),
    )
    .await;
    server_run.expect("the server's run");
    client_run.expect("the client's run");
    assert!(client.is_done());
}

/// Dropping `run_datagram` while it waits and running it again with the same machine loses
/// no datagram: an echo server for three datagrams, its driver dropped after every second
/// `Pending`, echoes three clients in turn (each waiting up to [`GUARD`]).
pub async fn run_datagram_is_cancel_safe<H: Harness>(h: &H) {
    let mut server_socket = h.bind().await;
    let mut client_socket = h.bind().await;
    let to = server_socket.local_addr().expect("server's address");
    let timer = h.timer();
    let mut server = DatagramEchoServer::new([0u8; 64]).with_limit(3);
    let serve = async {
        let mut drops = 0usize;
        let mut observe = |_: &mut _| {};
        loop {
            let run = run_datagram(&mut server_socket, &mut server, timer, &mut observe);
            match poll_at_most(2, run).await {
                Some(done) => {
                    done.expect("the server's run");
                    return drops;
                }
                None => drops += 1,
            }
        }
    };
    let clients = async {
        for message in [&b"one"[..], b"two", b"three"] {
            let mut client =
                DatagramEchoClient::new(message, to.clone(), [0u8; 64]).with_timeout(GUARD);
            run_datagram(&mut client_socket, &mut client, timer, &mut |_| {})
                .await
                .expect("the client's run");
            assert!(client.is_done());
        }
    };
    let (drops, ()) = guard(h, "echo with a dropped server", join(serve, clients)).await;
    assert!(
        drops > 0,
        "the server's driver was never dropped: the test proved nothing"
    );
}

/// `run_datagram` fires the machine's timeout through the [`Timer`]: a client whose server
/// never answers sends twice ([`SHORT`] timeout, one retry) and fails with `Lost`, no sooner
/// than two timeouts after it started; both datagrams reached the silent socket.
pub async fn run_datagram_fires_the_timeout<H: Harness>(h: &H) {
    let mut silent = h.bind().await;
    let mut socket = h.bind().await;
    let to = silent.local_addr().expect("address");
    let timer = h.timer();
    let mut client = DatagramEchoClient::new(b"anyone?", to, [0u8; 64])
        .with_timeout(SHORT)
        .with_retries(1);
    let start = timer.now();
    let run = guard(
        h,
        "the timeout",
        run_datagram(&mut socket, &mut client, timer, &mut |_| {}),
    )
    .await;
    match run {
        Err(DriveError::Protocol(DatagramEchoError::Lost { attempts, timeout })) => {
            assert_eq!((attempts, timeout), (2, SHORT));
        }
        other => panic!("expected Lost after 2 attempts, got {other:?}"),
    }
    let waited = timer.now() - start;
    assert!(
        waited >= SHORT + SHORT,
        "gave up after {waited}, before two timeouts"
    );
    let mut buf = [0u8; 16];
    for attempt in 1..=2 {
        let got = guard(h, "receive", silent.recv_from(&mut buf))
            .await
            .expect("receive");
        assert_eq!(&buf[..got.len], b"anyone?", "attempt {attempt}");
    }
}
