//! The transport contract: what every backend's sockets must do alike, written once and run on
//! each backend (`portsock_core::mem`, portsock-std over TCP/UDP and Unix sockets,
//! portsock-smoltcp over `Loopback`).
//!
//! Each item is a generic function over a [`Harness`], the little a backend has to supply: a
//! listener and a connect, a bound datagram socket, an abortive close, a way to let a sent
//! datagram arrive, and its clock. A backend's `tests/contract.rs` includes this file at its
//! crate root and expands [`contract_tests!`] once per harness, which makes one `#[test]` per
//! item:
//!
//! ```ignore
//! #[path = "../../contract/mod.rs"]
//! mod contract;
//!
//! mod tcp {
//!     crate::contract::contract_tests!(super::Inet::new());
//! }
//! ```
//!
//! The tests run each side in turn on one thread, as a firmware main loop would: a write is
//! made before the read that takes it, and every read that should succeed has a generous
//! guard timeout, so a broken backend fails instead of hanging. Nothing asserts how long an
//! operation took beyond "not before its deadline" (and within the 5 s guard), so a busy
//! machine cannot fail them. The harness is deliberately small (no borrowed sockets, no
//! threads) so that an async variant for the async backends can mirror it with `async fn`s.
#![allow(dead_code, unreachable_pub)]

use core::fmt::Debug;

use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{
    Blocking, Datagram, Error as _, ErrorKind, Listener, Read, ReadReady, Shutdown, Stream,
    TransportError, Write,
};

/// How long a call that should succeed may take before the test calls it a failure.
pub const GUARD: Duration = Duration::from_secs(5);
/// A timeout or deadline meant to run out.
pub const SHORT: Duration = Duration::from_millis(100);
/// A second, longer one, to see which of two wins.
pub const LONGER: Duration = Duration::from_millis(250);

/// What a backend supplies to run the contract.
///
/// Sockets do not borrow the harness (a backend whose sockets borrow a stack leaks one stack
/// per test to get `'static` sockets), which keeps the trait free of lifetimes.
pub trait Harness {
    /// The address of a stream or listener.
    type Addr: PartialEq + Clone + Debug;
    /// A connected stream.
    type Stream: Stream<Addr = Self::Addr> + Blocking + ReadReady;
    /// A listener handing out [`Self::Stream`]s.
    type Listener: Listener<Addr = Self::Addr, Stream = Self::Stream> + Blocking;
    /// A bound datagram socket.
    type Datagram: Datagram<Addr: PartialEq> + Blocking;

    /// Whether later reads and writes report a reset again (`true`: smoltcp, mem), or it is
    /// reported once, after which reads are end of stream and writes `BrokenPipe` (`false`:
    /// the kernel). The first read after it fails with `ConnectionReset` everywhere.
    const RESET_REPEATS: bool;

    /// Whether the peer's writes fail with `BrokenPipe` once this end shut down reading
    /// (`true`: Unix stream sockets), or are accepted and never read (`false`: TCP on the
    /// kernel and on smoltcp, mem).
    const SHUTDOWN_READ_REFUSES_PEER: bool;

    /// The time on the clock the backend reads deadlines on.
    fn now(&self) -> Instant;

    /// A fresh listener on a loopback address (or a fresh path).
    fn listen(&self) -> Self::Listener;

    /// A stream connected to `listener`, before it is accepted.
    fn connect(&self, listener: &Self::Listener) -> Self::Stream;

    /// A fresh datagram socket bound to a loopback address (or a fresh path).
    fn bind(&self) -> Self::Datagram;

    /// Closes `stream` abortively: TCP sends a RST (`SO_LINGER` 0 on the host,
    /// `TcpStream::abort` on smoltcp); the in-memory transport resets the pair. A Unix stream socket has no RST: Linux reports `ECONNRESET` to the
    /// peer when a socket closes with bytes unread, which the test arranges, so closing is
    /// the abort there.
    fn abort(&self, stream: Self::Stream);

    /// Waits (bounded) until a datagram sent to `socket` is queued there, so that a
    /// receive with a past deadline finds it: polls the stack on smoltcp, waits for
    /// readability on the host, nothing in memory.
    fn settle(&self, socket: &mut Self::Datagram);
}

/// One `#[test]` per contract item, each on a fresh harness made by `$make`. Include the
/// contract module at the crate root as `mod contract`.
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract::contract_tests!(@each $make;
            datagram_truncation_reports_the_full_length,
            datagram_waiting_is_delivered_past_its_deadline,
            datagram_deadline_overrides_the_read_timeout,
            datagram_would_block_and_timed_out_stay_apart,
            stream_would_block_and_timed_out_stay_apart,
            stream_write_would_block_and_timed_out_stay_apart,
            timeouts_read_back_and_zero_is_refused,
            accept_would_block_and_timed_out_stay_apart,
            stream_orderly_close_is_end_of_stream,
            stream_abort_is_connection_reset,
            stream_writes_to_a_closed_peer_fail,
            shutdown_write_is_the_peers_end_of_stream,
            shutdown_read_ends_reading_and_keeps_writing,
            shutdown_both_ends_both_directions,
            stream_addresses_agree_on_both_ends,
            datagram_addresses_name_the_sender,
        );
    };
    (@each $make:expr; $($item:ident),* $(,)?) => {$(
        #[test]
        fn $item() {
            let harness = $make;
            $crate::contract::$item(&harness);
        }
    )*};
}
pub(crate) use contract_tests;

/// A connected pair: `(client, accepted server end)`. The listener is gone by then: accepted
/// streams do not depend on it.
pub fn pair<H: Harness>(h: &H) -> (H::Stream, H::Stream) {
    let mut listener = h.listen();
    let client = h.connect(&listener);
    let (server, _) = listener.accept().expect("accept a connected client");
    (client, server)
}

/// Reads until end of stream (at most `GUARD` per read), returning everything read.
fn read_to_eof<S: Stream + Blocking>(s: &mut S) -> Vec<u8> {
    s.set_read_timeout(Some(GUARD)).expect("set a read timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf).expect("read up to end of stream") {
            0 => return got,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads exactly `n` bytes (at most `GUARD` per read).
fn read_n<S: Stream + Blocking>(s: &mut S, n: usize) -> Vec<u8> {
    s.set_read_timeout(Some(GUARD)).expect("set a read timeout");
    let mut got = vec![0u8; n];
    s.read_exact(&mut got).expect("read the bytes sent");
    got
}

/// Waits (at most `GUARD` on the harness's clock) until `s` has something to read.
fn wait_read_ready<H: Harness>(h: &H, s: &mut H::Stream) {
    let until = h.now() + GUARD;
    while !s.read_ready().expect("read_ready") {
        assert!(h.now() < until, "nothing arrived");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Writes `chunk` again and again until a write fails (at most 64 MiB), returning the error.
fn write_until_error<S: Stream>(s: &mut S, chunk: &[u8]) -> S::Error {
    let mut total = 0usize;
    loop {
        match s.write(chunk) {
            Ok(n) => total += n,
            Err(e) => return e,
        }
        assert!(
            total < 64 << 20,
            "64 MiB written and the buffers are not full"
        );
    }
}

/// Asserts `e` is "would block" and nothing else.
fn assert_would_block<E: TransportError + portsock_core::transport::Error + Debug>(e: &E) {
    assert!(e.is_would_block(), "expected would-block, got {e:?}");
    assert_ne!(
        e.kind(),
        ErrorKind::TimedOut,
        "would-block is not timed out: {e:?}"
    );
}

/// Asserts `e` is "timed out" and nothing else.
fn assert_timed_out<E: TransportError + portsock_core::transport::Error + Debug>(e: &E) {
    assert_eq!(
        e.kind(),
        ErrorKind::TimedOut,
        "expected timed out, got {e:?}"
    );
    assert!(!e.is_would_block(), "timed out is not would-block: {e:?}");
}

/// A datagram longer than the buffer: `Received::len` is its full size, the buffer holds its
/// first bytes, and the rest is gone (the next receive is the next datagram). An empty
/// datagram is received as one of length 0, and an empty buffer still learns the length.
pub fn datagram_truncation_reports_the_full_length<H: Harness>(h: &H) {
    let mut a = h.bind();
    let mut b = h.bind();
    let to = b.local_addr().expect("receiver's address");
    a.send_to(b"0123456789", &to).expect("send 10 bytes");
    a.send_to(b"ab", &to).expect("send 2 bytes");
    let mut buf = [0u8; 4];
    let got = b
        .recv_from(&mut buf, Some(h.now() + GUARD))
        .expect("receive")
        .expect("a datagram before the deadline");
    assert_eq!(got.len, 10, "the datagram's full length");
    assert!(got.is_truncated(buf.len()));
    assert_eq!(got.copied(buf.len()), 4);
    assert_eq!(&buf, b"0123", "only what fits is copied");
    let mut buf = [0u8; 8];
    let got = b
        .recv_from(&mut buf, Some(h.now() + GUARD))
        .expect("receive")
        .expect("the second datagram");
    assert_eq!(
        got.len, 2,
        "the cut-off bytes were discarded, not delivered"
    );
    assert_eq!(&buf[..2], b"ab");
    a.send_to(b"", &to).expect("send an empty datagram");
    a.send_to(b"xyz", &to).expect("send 3 bytes");
    let got = b
        .recv_from(&mut buf, Some(h.now() + GUARD))
        .expect("receive")
        .expect("the empty datagram, not a timeout");
    assert_eq!(got.len, 0);
    let got = b
        .recv_from(&mut [], Some(h.now() + GUARD))
        .expect("receive into an empty buffer")
        .expect("a datagram");
    assert_eq!(got.len, 3, "an empty buffer still learns the length");
}

/// A datagram already waiting is delivered even when the deadline has passed; with nothing
/// waiting, a past deadline answers `Ok(None)` at once.
pub fn datagram_waiting_is_delivered_past_its_deadline<H: Harness>(h: &H) {
    let mut a = h.bind();
    let mut b = h.bind();
    a.send_to(b"late", &b.local_addr().expect("address"))
        .expect("send");
    h.settle(&mut b);
    let past = h.now();
    let mut buf = [0u8; 8];
    let got = b
        .recv_from(&mut buf, Some(past))
        .expect("receive")
        .expect("the waiting datagram, deadline or not");
    assert_eq!(&buf[..got.len], b"late");
    let before = h.now();
    assert_eq!(
        b.recv_from(&mut buf, Some(past)).expect("receive"),
        None,
        "nothing waiting and the deadline passed"
    );
    assert!(h.now() - before < GUARD, "a past deadline does not wait");
}

/// The documented rule: the read timeout ([`Blocking::set_read_timeout`]) applies to
/// `recv_from` only without a deadline; a deadline replaces it, whichever is sooner.
pub fn datagram_deadline_overrides_the_read_timeout<H: Harness>(h: &H) {
    let mut b = h.bind();
    let mut buf = [0u8; 8];
    for (timeout, wait) in [(SHORT, LONGER), (LONGER, SHORT)] {
        b.set_read_timeout(Some(timeout)).expect("set read timeout");
        let deadline = h.now() + wait;
        match b.recv_from(&mut buf, Some(deadline)) {
            Ok(None) => {}
            other => panic!(
                "timeout {timeout}, deadline in {wait}: expected Ok(None) at the deadline, got {other:?}"
            ),
        }
        assert!(
            h.now() >= deadline,
            "timeout {timeout}: returned before the deadline"
        );
    }
    b.set_read_timeout(Some(SHORT)).expect("set read timeout");
    let e = b
        .recv_from(&mut buf, None)
        .expect_err("no deadline: the read timeout applies");
    assert_timed_out(&e);
}

/// `recv_from`: non-blocking with nothing queued is would-block whatever the deadline (it
/// never waits and never answers `Ok(None)`); blocking with a read timeout is timed out.
pub fn datagram_would_block_and_timed_out_stay_apart<H: Harness>(h: &H) {
    let mut b = h.bind();
    let mut buf = [0u8; 8];
    b.set_read_timeout(Some(SHORT)).expect("set read timeout");
    b.set_nonblocking(true).expect("non-blocking");
    for deadline in [None, Some(h.now() + GUARD), Some(h.now())] {
        let e = b
            .recv_from(&mut buf, deadline)
            .expect_err("non-blocking, nothing queued");
        assert_would_block(&e);
    }
    b.set_nonblocking(false).expect("blocking");
    let e = b
        .recv_from(&mut buf, None)
        .expect_err("blocking with a timeout, nothing sent");
    assert_timed_out(&e);
}

/// A stream read: non-blocking with nothing there is would-block (even with a read timeout
/// set), blocking with a timeout is timed out, and neither breaks the stream.
pub fn stream_would_block_and_timed_out_stay_apart<H: Harness>(h: &H) {
    let (mut c, mut s) = pair(h);
    let mut buf = [0u8; 8];
    s.set_read_timeout(Some(SHORT)).expect("set read timeout");
    s.set_nonblocking(true).expect("non-blocking");
    let e = s.read(&mut buf).expect_err("non-blocking, nothing sent");
    assert_would_block(&e);
    s.set_nonblocking(false).expect("blocking");
    let e = s
        .read(&mut buf)
        .expect_err("blocking with a timeout, nothing sent");
    assert_timed_out(&e);
    c.write_all(b"x").expect("write");
    assert_eq!(read_n(&mut s, 1), b"x", "the stream still works");
}

/// A stream write: with the peer reading nothing, non-blocking writes end in would-block once
/// the buffers are full; a blocking write with a write timeout then times out.
pub fn stream_write_would_block_and_timed_out_stay_apart<H: Harness>(h: &H) {
    let (mut c, _s) = pair(h);
    let chunk = [0x55u8; 16 * 1024];
    c.set_write_timeout(Some(SHORT)).expect("set write timeout");
    c.set_nonblocking(true).expect("non-blocking");
    let e = write_until_error(&mut c, &chunk);
    assert_would_block(&e);
    c.set_nonblocking(false).expect("blocking");
    let e = write_until_error(&mut c, &chunk);
    assert_timed_out(&e);
}

/// Timeouts read back as set (or longer: the kernel rounds up to its tick), `None` is
/// "forever", and a zero timeout is refused as invalid input on every kind of socket.
pub fn timeouts_read_back_and_zero_is_refused<H: Harness>(h: &H) {
    let (mut c, _s) = pair(h);
    c.set_read_timeout(Some(SHORT)).expect("set read timeout");
    c.set_write_timeout(Some(LONGER))
        .expect("set write timeout");
    let read = c.read_timeout().expect("read timeout").expect("set");
    let write = c.write_timeout().expect("write timeout").expect("set");
    assert!(read >= SHORT && write >= LONGER, "{read} {write}");
    c.set_read_timeout(None).expect("no read timeout");
    assert_eq!(c.read_timeout().expect("read timeout"), None);
    let zero = Some(Duration::ZERO);
    let mut d = h.bind();
    let mut l = h.listen();
    for e in [
        c.set_read_timeout(zero).expect_err("zero read timeout"),
        c.set_write_timeout(zero).expect_err("zero write timeout"),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    }
    let e = d
        .set_read_timeout(zero)
        .expect_err("zero timeout on a datagram socket");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    let e = l
        .set_read_timeout(zero)
        .expect_err("zero timeout on a listener");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert_eq!(c.read_timeout().expect("read timeout"), None, "unchanged");
}

/// `accept`: non-blocking with nobody connecting is would-block, blocking with a timeout is
/// timed out; a stream accepted by a non-blocking listener starts blocking, without a timeout.
pub fn accept_would_block_and_timed_out_stay_apart<H: Harness>(h: &H) {
    let mut listener = h.listen();
    listener
        .set_read_timeout(Some(SHORT))
        .expect("set read timeout");
    listener.set_nonblocking(true).expect("non-blocking");
    let e = listener.accept().map(|_| ()).expect_err("nobody connected");
    assert_would_block(&e);
    listener.set_nonblocking(false).expect("blocking");
    let e = listener.accept().map(|_| ()).expect_err("nobody connected");
    assert_timed_out(&e);
    listener.set_nonblocking(true).expect("non-blocking");
    let _client = h.connect(&listener);
    let (mut s, _) = listener.accept().expect("a client is waiting");
    assert_eq!(s.read_timeout().expect("read timeout"), None);
    s.set_read_timeout(Some(SHORT)).expect("set read timeout");
    let e = s
        .read(&mut [0u8; 8])
        .expect_err("nothing sent: the accepted stream waits");
    assert_timed_out(&e);
}

/// The peer's orderly close (dropping its end) is end of stream after its last byte:
/// `Ok(0)`, and `Ok(0)` again.
pub fn stream_orderly_close_is_end_of_stream<H: Harness>(h: &H) {
    let (mut c, mut s) = pair(h);
    c.write_all(b"bye").expect("write");
    drop(c);
    assert_eq!(read_to_eof(&mut s), b"bye");
    assert_eq!(s.read(&mut [0u8; 8]).expect("read after end of stream"), 0);
    s.set_nonblocking(true).expect("non-blocking");
    assert_eq!(
        s.read(&mut [0u8; 8])
            .expect("end of stream is not would-block"),
        0
    );
    assert!(
        s.read_ready().expect("read_ready"),
        "end of stream is ready"
    );
}

/// The peer's abort is not end of stream: the next read fails with `ConnectionReset`; later
/// reads and writes fail as [`Harness::RESET_REPEATS`] says.
pub fn stream_abort_is_connection_reset<H: Harness>(h: &H) {
    let (c, mut s) = pair(h);
    // Bytes the aborting end never reads: on Unix sockets they are what makes the close a
    // reset (see `Harness::abort`); on TCP they are discarded with the connection.
    s.write_all(b"unread").expect("write");
    h.abort(c);
    s.set_read_timeout(Some(GUARD)).expect("set read timeout");
    let e = s
        .read(&mut [0u8; 8])
        .expect_err("the peer aborted: a reset, not end of stream");
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e:?}");
    assert!(!e.is_would_block());
    let again = s.read(&mut [0u8; 8]);
    let write = s.write(b"x").expect_err("writing after a reset");
    if H::RESET_REPEATS {
        let e = again.expect_err("the reset is reported again");
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e:?}");
        assert_eq!(write.kind(), ErrorKind::ConnectionReset, "{write:?}");
    } else {
        assert_eq!(again.expect("end of stream after the reset"), 0);
        assert_eq!(write.kind(), ErrorKind::BrokenPipe, "{write:?}");
    }
}

/// Writes to a peer that closed its stream (dropped it, with nothing unread) fail soon: the
/// kernel answers data for a closed socket with a reset, and so must every backend, or a
/// server never learns its client is gone. A first write may still be accepted (the reset
/// is on its way back), so this writes a byte at a time, each followed by a short read that
/// lets the reset arrive, until one fails, within a bounded number of tries.
pub fn stream_writes_to_a_closed_peer_fail<H: Harness>(h: &H) {
    let (mut c, s) = pair(h);
    drop(s);
    c.set_read_timeout(Some(SHORT)).expect("set read timeout");
    let mut buf = [0u8; 8];
    for _ in 0..50 {
        match c.write(b"x") {
            Ok(_) => {}
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
                    "{e:?}"
                );
                return;
            }
        }
        // End of stream (the peer's FIN), a reset or a time-out: any lets the stack move.
        let _ = c.read(&mut buf);
    }
    panic!("50 writes to a peer that closed its stream all succeeded");
}

/// `Shutdown::Write`: the peer reads what was sent and then end of stream; writing again
/// fails with `BrokenPipe`; the other direction still carries bytes (a half-close).
pub fn shutdown_write_is_the_peers_end_of_stream<H: Harness>(h: &H) {
    let (mut c, mut s) = pair(h);
    c.write_all(b"half").expect("write");
    c.shutdown(Shutdown::Write).expect("shutdown write");
    assert_eq!(read_to_eof(&mut s), b"half");
    let e = c.write(b"more").expect_err("write after shutdown(Write)");
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e:?}");
    s.write_all(b"back").expect("write the other way");
    assert_eq!(
        read_n(&mut c, 4),
        b"back",
        "still reading after shutdown(Write)"
    );
}

/// `Shutdown::Read`: reads return end of stream at once (no wait, no error), even with bytes
/// received before and sent after; writing still works. The peer's later writes fail or not
/// as [`Harness::SHUTDOWN_READ_REFUSES_PEER`] says.
pub fn shutdown_read_ends_reading_and_keeps_writing<H: Harness>(h: &H) {
    let (mut c, mut s) = pair(h);
    c.write_all(b"before").expect("write");
    wait_read_ready(h, &mut s);
    s.shutdown(Shutdown::Read).expect("shutdown read");
    s.set_read_timeout(Some(GUARD)).expect("set read timeout");
    let mut buf = [0u8; 8];
    assert_eq!(
        s.read(&mut buf).expect("read after shutdown(Read)"),
        0,
        "bytes queued before"
    );
    let late = c.write(b"after");
    if H::SHUTDOWN_READ_REFUSES_PEER {
        let e = late.expect_err("the peer may not write any more");
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e:?}");
    } else {
        late.expect("the peer's write is accepted");
    }
    assert_eq!(
        s.read(&mut buf).expect("read after shutdown(Read)"),
        0,
        "bytes sent after"
    );
    assert!(
        s.read_ready().expect("read_ready"),
        "end of stream is ready"
    );
    s.write_all(b"still").expect("write after shutdown(Read)");
    assert_eq!(read_n(&mut c, 5), b"still");
}

/// `Shutdown::Both`: reads return end of stream, writes fail with `BrokenPipe`, and the peer
/// reads end of stream.
pub fn shutdown_both_ends_both_directions<H: Harness>(h: &H) {
    let (mut c, mut s) = pair(h);
    c.shutdown(Shutdown::Both).expect("shutdown both");
    c.set_read_timeout(Some(GUARD)).expect("set read timeout");
    assert_eq!(c.read(&mut [0u8; 8]).expect("read after shutdown(Both)"), 0);
    let e = c.write(b"x").expect_err("write after shutdown(Both)");
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e:?}");
    assert_eq!(read_to_eof(&mut s), b"", "the peer reads end of stream");
}

/// A stream's addresses agree from both ends: the client's peer is the listener's address,
/// the accepted end's peer is the client's local address (which `accept` also returns).
pub fn stream_addresses_agree_on_both_ends<H: Harness>(h: &H) {
    let mut listener = h.listen();
    let listening = Listener::local_addr(&listener).expect("listener's address");
    assert_eq!(
        Listener::local_addr(&listener).expect("again"),
        listening,
        "stable"
    );
    let c = h.connect(&listener);
    let (s, peer) = listener.accept().expect("accept");
    let client = c.local_addr().expect("client's local address");
    assert_eq!(peer, client, "accept returns the client's address");
    assert_eq!(s.peer_addr().expect("server's peer"), client);
    assert_eq!(c.peer_addr().expect("client's peer"), listening);
    assert_eq!(s.local_addr().expect("server's local address"), listening);
}

/// A datagram socket's local address is the one a datagram from it arrives from, and the one
/// a datagram to it reaches.
pub fn datagram_addresses_name_the_sender<H: Harness>(h: &H) {
    let mut a = h.bind();
    let mut b = h.bind();
    let (from_a, to_b) = (
        a.local_addr().expect("a's address"),
        b.local_addr().expect("b's address"),
    );
    assert_ne!(from_a, to_b, "two sockets, two addresses");
    a.send_to(b"to b", &to_b).expect("send");
    let mut buf = [0u8; 8];
    let got = b
        .recv_from(&mut buf, Some(h.now() + GUARD))
        .expect("receive")
        .expect("before the deadline");
    assert_eq!(got.from, from_a);
    b.send_to(b"reply", &got.from).expect("reply to the sender");
    let got = a
        .recv_from(&mut buf, Some(h.now() + GUARD))
        .expect("receive")
        .expect("the reply");
    assert_eq!((got.len, got.from), (5, to_b));
}
