//! The chapter's multicast pair as sans-IO state machines: [`MulticastSender`] sends one
//! datagram to a group and collects every reply until the replies stop; [`MulticastReceiver`]
//! acknowledges each datagram it receives.
//!
//! Setting the socket up (join the group on an interface, TTL 1, loopback) is the transport's
//! [`Multicast`](crate::transport::Multicast) trait; these machines only send and receive.
//!
//! ```
//! use core::net::SocketAddr;
//! use portsock_core::multicast::{MulticastSender, SenderEvent, CHAPTER_TIMEOUT};
//! use portsock_core::time::Instant;
//! use portsock_core::machine::Received;
//!
//! let group: SocketAddr = "224.3.29.71:10000".parse()?;
//! let mut sender = MulticastSender::<4, 16>::new(b"very important data", group, CHAPTER_TIMEOUT);
//! assert_eq!(sender.poll_event(), Some(SenderEvent::Sending(b"very important data")));
//! assert_eq!(sender.poll_transmit().map(|t| *t.to), Some(group));
//! sender.handle_sent(Instant::ZERO);
//! assert_eq!(sender.poll_event(), Some(SenderEvent::Waiting));
//!
//! let a: SocketAddr = "10.0.0.2:10000".parse()?;
//! sender.recv_buf().unwrap()[..3].copy_from_slice(b"ack");
//! sender.handle_received(Instant::from_millis(50), Received { len: 3, from: a });
//! assert_eq!(sender.poll_event(), Some(SenderEvent::Reply { from: a, payload: b"ack", len: 3 }));
//! assert_eq!(sender.poll_event(), Some(SenderEvent::Waiting));
//!
//! // The chapter's `settimeout(0.2)` is per receive: the wait restarts after each reply.
//! assert_eq!(sender.poll_timeout(), Some(Instant::from_millis(250)));
//! sender.handle_timeout(Instant::from_millis(250));
//! assert_eq!(sender.poll_event(), Some(SenderEvent::TimedOut));
//! assert!(sender.is_done());
//! assert_eq!((sender.replies()[0].from, &sender.replies()[0].payload[..]), (a, &b"ack"[..]));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use core::convert::Infallible;
use core::net::{Ipv4Addr, SocketAddr};

use crate::machine::responder::{Responder, Step};
use crate::machine::{Buffer, DatagramMachine, Received, Transmit};
use crate::time::{Duration, Instant};

/// The chapter's group (`socket_multicast_sender.py`: `('224.3.29.71', 10000)`).
pub const CHAPTER_GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
/// The chapter's message.
pub const CHAPTER_MESSAGE: &[u8] = b"very important data";
/// The chapter's acknowledgement (`sock.sendto(b'ack', address)`).
pub const CHAPTER_ACK: &[u8] = b"ack";
/// The chapter's receive timeout (`sock.settimeout(0.2)`).
pub const CHAPTER_TIMEOUT: Duration = Duration::from_millis(200);
/// The chapter's TTL (`struct.pack('b', 1)`): stay on the local network.
pub const CHAPTER_TTL: u8 = 1;
/// The sender's receive size in the chapter (`sock.recvfrom(16)`).
pub const CHAPTER_REPLY_SIZE: usize = 16;
/// The receiver's receive size in the chapter (`sock.recvfrom(1024)`).
pub const CHAPTER_RECEIVE_SIZE: usize = 1024;

/// Send one datagram to a group, then collect every `(peer, payload)` reply until none has
/// come for `timeout` (the chapter's per-receive `settimeout(0.2)`), or until an overall
/// deadline ([`with_deadline`](Self::with_deadline)) if one is set.
///
/// Replies are kept in a fixed store of `N` replies of up to `P` bytes each (`P` is also the
/// receive size: the chapter's `recvfrom(16)`); replies past `N` are still reported as events
/// and counted in [`overflow`](Self::overflow), and payloads past `P` bytes are truncated, as the
/// socket truncates them ([`Reply::len`] keeps the full length).
///
/// # Calling order
///
/// (B) inputs [`handle_sent`](Self::handle_sent), [`handle_received`](Self::handle_received),
/// [`handle_timeout`](Self::handle_timeout); (C) [`recv_buf`](Self::recv_buf); (D) outputs, in
/// this order after each input: [`poll_event`](Self::poll_event) until `None`,
/// [`poll_transmit`](Self::poll_transmit), [`poll_timeout`](Self::poll_timeout). Events:
/// [`SenderEvent::Sending`] (`sending b'...'`), [`SenderEvent::Waiting`] (`waiting to
/// receive`), [`SenderEvent::Reply`] (`received b'...' from ADDR`), [`SenderEvent::TimedOut`]
/// (`timed out, no more responses`).
///
/// Over the in-memory network, with one receiver; the blocking run waits out the timeout on
/// the manual clock:
///
/// ```
/// use core::net::SocketAddr;
/// use portsock_core::drive::{run_datagram, step_datagram};
/// use portsock_core::mem::{ManualClock, Network};
/// use portsock_core::multicast::*;
/// use portsock_core::time::Instant;
/// use portsock_core::transport::{Blocking, Interface, MembershipRequest, Multicast};
///
/// let clock = ManualClock::new();
/// let net = Network::<4, 4, 64>::new(&clock);
/// let group = SocketAddr::from((CHAPTER_GROUP, 10_000));
/// let mut rx = net.bind("10.0.0.2:10000".parse()?)?;
/// rx.join(&MembershipRequest::v4(CHAPTER_GROUP, Interface::Any)?)?;
/// let mut tx = net.bind("10.0.0.1:0".parse()?)?;
/// tx.set_multicast_ttl(CHAPTER_TTL)?;
/// let mut sender = MulticastSender::<4, 16>::new(CHAPTER_MESSAGE, group, CHAPTER_TIMEOUT);
/// let mut receiver = MulticastReceiver::new([0u8; 1024]).with_limit(1);
/// tx.set_nonblocking(true)?;
/// step_datagram(&mut tx, &mut sender, &clock, &mut |_| {})?; // sends to the group
/// run_datagram(&mut rx, &mut receiver, &clock, &mut |_| {})?; // acks once
/// tx.set_nonblocking(false)?;
/// run_datagram(&mut tx, &mut sender, &clock, &mut |_| {})?; // the ack, then the timeout
/// assert_eq!(sender.replies()[0].from, "10.0.0.2:10000".parse()?);
/// assert_eq!(clock.now(), Instant::ZERO + CHAPTER_TIMEOUT);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MulticastSender<'a, const N: usize, const P: usize> {
    message: &'a [u8],
    group: SocketAddr,
    timeout: Duration,
    total: Option<Duration>,
    replies: heapless::Vec<Reply<P>, N>,
    overflow: usize,
    rx: [u8; P],
    last: Option<(SocketAddr, usize)>,
    phase: SenderPhase,
    announce: bool,
    reply_pending: bool,
    waiting_pending: bool,
    timed_out_pending: bool,
}

/// One reply collected by a [`MulticastSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reply<const P: usize> {
    /// Who replied.
    pub from: SocketAddr,
    /// The reply, up to `P` bytes.
    pub payload: heapless::Vec<u8, P>,
    /// Its full length.
    pub len: usize,
}

/// What a [`MulticastSender`] did, for the chapter's sender lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SenderEvent<'a> {
    /// About to send (`sending b'...'`).
    Sending(&'a [u8]),
    /// Waiting for a reply (`waiting to receive`).
    Waiting,
    /// A reply (`received b'...' from ADDR`).
    Reply {
        /// Who replied.
        from: SocketAddr,
        /// What the receive buffer holds of it.
        payload: &'a [u8],
        /// Its full length.
        len: usize,
    },
    /// No reply came in time; done (`timed out, no more responses`).
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SenderPhase {
    Send,
    Collect {
        quiet: Instant,
        end: Option<Instant>,
    },
    Done,
}

/// Receive datagrams sent to a group and acknowledge each to its sender
/// (`socket_multicast_receiver.py`), forever or, with [`with_limit`](Self::with_limit), that
/// many times.
///
/// # Calling order
///
/// As [`DatagramEchoServer`](crate::echo::datagram::DatagramEchoServer)'s. Events:
/// [`ReceiverEvent::Waiting`] (`waiting to receive message`), [`ReceiverEvent::Received`]
/// (`received N bytes from ADDR` and the data), [`ReceiverEvent::Acknowledged`] (`sending
/// acknowledgement to ADDR`).
#[derive(Debug, Clone)]
pub struct MulticastReceiver<'a, B> {
    inner: Responder<B, SocketAddr>,
    ack: &'a [u8],
}

/// What a [`MulticastReceiver`] did, for the chapter's receiver lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReceiverEvent<'a> {
    /// Ready for the next datagram (`waiting to receive message`).
    Waiting,
    /// A datagram arrived (`received N bytes from ADDR`, then the data).
    Received {
        /// The sender.
        from: SocketAddr,
        /// What the buffer holds of it.
        data: &'a [u8],
        /// Its full length.
        len: usize,
    },
    /// The acknowledgement was sent (`sending acknowledgement to ADDR`).
    Acknowledged {
        /// Its destination, the datagram's sender.
        to: SocketAddr,
    },
}

impl<'a, const N: usize, const P: usize> MulticastSender<'a, N, P> {
    /// A sender of `message` to `group` that stops after `timeout` without a reply.
    pub fn new(message: &'a [u8], group: SocketAddr, timeout: Duration) -> Self {
        Self {
            message,
            group,
            timeout,
            total: None,
            replies: heapless::Vec::new(),
            overflow: 0,
            rx: [0; P],
            last: None,
            phase: SenderPhase::Send,
            announce: true,
            reply_pending: false,
            waiting_pending: false,
            timed_out_pending: false,
        }
    }

    /// Also stops `total` after sending, even if replies keep coming.
    #[must_use]
    pub fn with_deadline(mut self, total: Duration) -> Self {
        self.total = Some(total);
        self
    }

    /// The replies collected, in arrival order (at most `N`).
    pub fn replies(&self) -> &[Reply<P>] {
        &self.replies
    }

    /// Replies that arrived after the store was full.
    pub fn overflow(&self) -> usize {
        self.overflow
    }

    /// Whether collecting is over.
    pub fn is_done(&self) -> bool {
        self.phase == SenderPhase::Done
    }

    /// The message, until it is sent.
    pub fn poll_transmit(&self) -> Option<Transmit<'_, SocketAddr>> {
        (self.phase == SenderPhase::Send).then_some(Transmit {
            to: &self.group,
            payload: self.message,
        })
    }

    /// The message was sent at `now`: start collecting.
    pub fn handle_sent(&mut self, now: Instant) {
        if self.phase != SenderPhase::Send {
            return;
        }
        self.phase = SenderPhase::Collect {
            quiet: now + self.timeout,
            end: self.total.map(|t| now + t),
        };
        self.waiting_pending = true;
    }

    /// When collecting stops unless a reply comes first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            SenderPhase::Collect { quiet, end } => Some(end.map_or(quiet, |end| end.min(quiet))),
            _ => None,
        }
    }

    /// Time has reached `now`: stop collecting if it is time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|at| now >= at) {
            self.phase = SenderPhase::Done;
            self.timed_out_pending = true;
        }
    }

    /// Where the next reply goes, while collecting.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        let collecting = matches!(self.phase, SenderPhase::Collect { .. });
        (collecting && P > 0).then_some(&mut self.rx[..])
    }

    /// A reply arrived at `now` in [`recv_buf`](Self::recv_buf).
    pub fn handle_received(&mut self, now: Instant, received: Received<SocketAddr>) {
        let SenderPhase::Collect { end, .. } = self.phase else {
            return;
        };
        let copied = received.copied(P);
        let payload = heapless::Vec::from_slice(&self.rx[..copied]).unwrap_or_default();
        if self
            .replies
            .push(Reply {
                from: received.from,
                payload,
                len: received.len,
            })
            .is_err()
        {
            self.overflow += 1;
        }
        self.last = Some((received.from, received.len));
        self.phase = SenderPhase::Collect {
            quiet: now + self.timeout,
            end,
        };
        self.reply_pending = true;
        self.waiting_pending = true;
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SenderEvent<'_>> {
        if core::mem::take(&mut self.announce) {
            return Some(SenderEvent::Sending(self.message));
        }
        if core::mem::take(&mut self.reply_pending)
            && let Some((from, len)) = self.last
        {
            return Some(SenderEvent::Reply {
                from,
                payload: &self.rx[..len.min(P)],
                len,
            });
        }
        if core::mem::take(&mut self.waiting_pending) && !self.is_done() {
            return Some(SenderEvent::Waiting);
        }
        if core::mem::take(&mut self.timed_out_pending) {
            return Some(SenderEvent::TimedOut);
        }
        None
    }
}

impl<'a, B: Buffer> MulticastReceiver<'a, B> {
    /// A receiver reading into `buf` and acknowledging with [`CHAPTER_ACK`].
    pub fn new(buf: B) -> Self {
        Self {
            inner: Responder::new(buf),
            ack: CHAPTER_ACK,
        }
    }

    /// Acknowledges with `ack` instead.
    #[must_use]
    pub fn with_ack(mut self, ack: &'a [u8]) -> Self {
        self.ack = ack;
        self
    }

    /// Done after `n` datagrams.
    #[must_use]
    pub fn with_limit(mut self, n: usize) -> Self {
        self.inner.set_limit(n);
        self
    }

    /// Datagrams acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.inner.served()
    }

    /// Whether the limit was reached.
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Where the next datagram goes, or `None` while an acknowledgement is pending.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.inner.recv_buf()
    }

    /// A datagram arrived in [`recv_buf`](Self::recv_buf).
    pub fn handle_received(&mut self, received: Received<SocketAddr>) {
        crate::log::debug!(
            "multicast receiver: {=usize} bytes from {}",
            received.len,
            received.from
        );
        self.inner.handle_received(received, true);
    }

    /// The acknowledgement to send, if any.
    pub fn poll_transmit(&self) -> Option<Transmit<'_, SocketAddr>> {
        let ack = self.ack;
        self.inner.poll_transmit(|_| ack)
    }

    /// The acknowledgement was sent.
    pub fn handle_sent(&mut self) {
        self.inner.handle_sent();
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ReceiverEvent<'_>> {
        Some(match self.inner.poll_step()? {
            Step::Waiting => ReceiverEvent::Waiting,
            Step::Received { from, data, len } => ReceiverEvent::Received {
                from: *from,
                data,
                len,
            },
            Step::Replied { to, .. } => ReceiverEvent::Acknowledged { to: *to },
        })
    }
}

impl<'a, const N: usize, const P: usize> DatagramMachine for MulticastSender<'a, N, P> {
    type Addr = SocketAddr;
    type Error = Infallible;
    fn poll_transmit(&self) -> Option<Transmit<'_, SocketAddr>> {
        self.poll_transmit()
    }
    fn handle_sent(&mut self, now: Instant) {
        self.handle_sent(now);
    }
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.recv_buf()
    }
    fn handle_received(
        &mut self,
        now: Instant,
        received: Received<SocketAddr>,
    ) -> Result<(), Infallible> {
        self.handle_received(now, received);
        Ok(())
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Infallible> {
        self.handle_timeout(now);
        Ok(())
    }
    fn is_done(&self) -> bool {
        self.is_done()
    }
}

impl<B: Buffer> DatagramMachine for MulticastReceiver<'_, B> {
    type Addr = SocketAddr;
    type Error = Infallible;
    fn poll_transmit(&self) -> Option<Transmit<'_, SocketAddr>> {
        self.poll_transmit()
    }
    fn handle_sent(&mut self, _now: Instant) {
        self.handle_sent();
    }
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.recv_buf()
    }
    fn handle_received(
        &mut self,
        _now: Instant,
        received: Received<SocketAddr>,
    ) -> Result<(), Infallible> {
        self.handle_received(received);
        Ok(())
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Infallible> {
        Ok(())
    }
    fn is_done(&self) -> bool {
        self.is_done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn group() -> SocketAddr {
        SocketAddr::from((CHAPTER_GROUP, 10_000))
    }

    fn reply<const N: usize, const P: usize>(
        s: &mut MulticastSender<'_, N, P>,
        at: u64,
        from: SocketAddr,
        data: &[u8],
    ) {
        let buf = s.recv_buf().unwrap();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        s.handle_received(
            Instant::from_millis(at),
            Received {
                len: data.len(),
                from,
            },
        );
    }

    #[test]
    fn sender_sends_once_then_collects() {
        let mut s = MulticastSender::<4, 16>::new(CHAPTER_MESSAGE, group(), CHAPTER_TIMEOUT);
        assert_eq!(s.poll_event(), Some(SenderEvent::Sending(CHAPTER_MESSAGE)));
        assert!(s.recv_buf().is_none(), "nothing to collect before sending");
        let t = s.poll_transmit().unwrap();
        assert_eq!((*t.to, t.payload), (group(), CHAPTER_MESSAGE));
        s.handle_sent(Instant::from_millis(10));
        assert_eq!(s.poll_transmit(), None, "sent once");
        assert_eq!(s.poll_event(), Some(SenderEvent::Waiting));
        reply(&mut s, 20, addr("10.0.0.2:10000"), b"ack");
        assert_eq!(
            s.poll_event(),
            Some(SenderEvent::Reply {
                from: addr("10.0.0.2:10000"),
                payload: b"ack",
                len: 3
            })
        );
        assert_eq!(s.poll_event(), Some(SenderEvent::Waiting));
        reply(&mut s, 30, addr("10.0.0.3:10000"), b"ack");
        assert_eq!(s.poll_timeout(), Some(Instant::from_millis(230)));
        s.handle_timeout(Instant::from_millis(229));
        assert!(!s.is_done());
        s.handle_timeout(Instant::from_millis(230));
        assert!(s.is_done() && s.recv_buf().is_none());
        let froms: std::vec::Vec<_> = s.replies().iter().map(|r| r.from).collect();
        assert_eq!(froms, [addr("10.0.0.2:10000"), addr("10.0.0.3:10000")]);
        let _ = s.poll_event();
        assert_eq!(s.poll_event(), Some(SenderEvent::TimedOut));
        assert_eq!(s.poll_event(), None);
    }

    #[test]
    fn sender_counts_overflow_and_truncates_payloads() {
        let mut s = MulticastSender::<1, 4>::new(b"m", group(), CHAPTER_TIMEOUT);
        s.handle_sent(Instant::ZERO);
        reply(&mut s, 1, addr("10.0.0.2:1"), b"abcdef");
        reply(&mut s, 2, addr("10.0.0.3:1"), b"x");
        assert_eq!(s.replies().len(), 1);
        assert_eq!(&s.replies()[0].payload[..], b"abcd");
        assert_eq!(s.replies()[0].len, 6);
        assert_eq!(s.overflow(), 1);
    }

    #[test]
    fn sender_deadline_caps_a_stream_of_replies() {
        let mut s = MulticastSender::<8, 4>::new(b"m", group(), Duration::from_millis(100))
            .with_deadline(Duration::from_millis(150));
        s.handle_sent(Instant::ZERO);
        reply(&mut s, 90, addr("10.0.0.2:1"), b"a");
        assert_eq!(s.poll_timeout(), Some(Instant::from_millis(150)));
        s.handle_timeout(Instant::from_millis(150));
        assert!(s.is_done());
    }

    #[test]
    fn receiver_acknowledges_each_datagram() {
        let mut r = MulticastReceiver::new([0u8; 1024]).with_limit(2);
        let a = addr("10.0.0.1:40000");
        assert_eq!(r.poll_event(), Some(ReceiverEvent::Waiting));
        r.recv_buf().unwrap()[..4].copy_from_slice(b"data");
        r.handle_received(Received { len: 4, from: a });
        assert!(r.recv_buf().is_none());
        assert_eq!(
            r.poll_event(),
            Some(ReceiverEvent::Received {
                from: a,
                data: b"data",
                len: 4
            })
        );
        let t = r.poll_transmit().unwrap();
        assert_eq!((*t.to, t.payload), (a, CHAPTER_ACK));
        r.handle_sent();
        assert_eq!(r.poll_event(), Some(ReceiverEvent::Acknowledged { to: a }));
        assert_eq!(r.poll_event(), Some(ReceiverEvent::Waiting));
        // Even an empty datagram is acknowledged.
        r.handle_received(Received { len: 0, from: a });
        assert_eq!(
            r.poll_event(),
            Some(ReceiverEvent::Received {
                from: a,
                data: b"",
                len: 0
            })
        );
        assert_eq!(r.poll_transmit().map(|t| t.payload), Some(CHAPTER_ACK));
        r.handle_sent();
        assert_eq!(r.acknowledged(), 2);
        assert_eq!(r.poll_event(), Some(ReceiverEvent::Acknowledged { to: a }));
        assert_eq!(r.poll_event(), None, "no more waiting after the limit");
        assert!(r.is_done());
    }

    #[test]
    fn receiver_ack_is_configurable() {
        let mut r = MulticastReceiver::new([0u8; 8]).with_ack(b"got it");
        r.handle_received(Received {
            len: 0,
            from: addr("10.0.0.1:1"),
        });
        assert_eq!(r.poll_transmit().map(|t| t.payload), Some(&b"got it"[..]));
    }
}
