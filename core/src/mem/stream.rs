//! In-memory streams: [`StreamPair`], its two [`MemStream`] ends, and [`MemListener`].

use core::cell::{Cell, RefCell};
use core::net::{Ipv4Addr, SocketAddr};

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

use super::wake::{WakerList, WakerSlot};
use super::{ManualClock, MemError, Mode, check_timeout};
use crate::time::Duration;
use crate::transport::{Blocking, Listener, Shutdown, Stream};

/// The first port [`MemListener::connect`] gives its clients.
const CLIENT_PORT_BASE: u16 = 49_152;
/// Tasks that can wait in a listener's `accept` at once without waking each other (more still
/// work; see `WakerList`).
const ACCEPT_WAITERS: usize = 8;

/// A connected pair of in-memory streams, each direction a ring buffer of `N` bytes.
///
/// [`split`](Self::split) gives its two ends: `a` (the client, 127.0.0.1:49152 by default) and
/// `b` (the server, 127.0.0.1:10000). Writing blocks (see the [module doc](super)) when the
/// peer's direction holds `N` unread bytes; shutting down writing or dropping an end is the
/// peer's end of stream; writing to an end that was dropped is [`MemError::BrokenPipe`].
#[derive(Debug)]
pub struct StreamPair<'c, const N: usize> {
    clock: Option<&'c ManualClock>,
    state: RefCell<PairState<N>>,
}

/// One end of a [`StreamPair`]: [`Read`], [`Write`], [`Stream`], [`Blocking`].
#[derive(Debug)]
pub struct MemStream<'p, const N: usize> {
    pair: &'p StreamPair<'p, N>,
    end: usize,
}

/// A listener over a fixed set of [`StreamPair`]s: [`connect`](Self::connect) takes the next
/// free pair and returns its client end; [`accept`](Listener::accept) returns the server ends
/// in connection order.
#[derive(Debug)]
pub struct MemListener<'p, const N: usize> {
    pairs: &'p [StreamPair<'p, N>],
    addr: SocketAddr,
    clock: Option<&'p ManualClock>,
    connected: Cell<usize>,
    accepted: Cell<usize>,
    /// Tasks waiting in the async `accept`.
    waiters: RefCell<WakerList<ACCEPT_WAITERS>>,
    mode: Mode,
}

#[derive(Debug)]
pub(super) struct PairState<const N: usize> {
    /// `pipes[i]` carries what end `i` writes.
    pipes: [Pipe<N>; 2],
    ends: [End; 2],
    addrs: [SocketAddr; 2],
    max_read: usize,
    max_write: usize,
    activity: u64,
    reset: bool,
}

#[derive(Debug, Default)]
struct Pipe<const N: usize> {
    data: heapless::Deque<u8, N>,
    /// The writer shut down writing (or dropped its end).
    fin: bool,
    /// The reader dropped its end: writes fail.
    reader_gone: bool,
    /// The reader shut down reading: writes are accepted and discarded.
    reader_shut: bool,
    /// The async reader waiting for data or end of stream.
    reader: WakerSlot,
    /// The async writer waiting for room.
    writer: WakerSlot,
}

#[derive(Debug, Default, Clone, Copy)]
struct End {
    mode: Mode,
    read_shut: bool,
    write_shut: bool,
}

impl<'c, const N: usize> StreamPair<'c, N> {
    /// A pair with empty buffers, no clock, and no limit on bytes per call.
    pub fn new() -> Self {
        let a = SocketAddr::from((Ipv4Addr::LOCALHOST, CLIENT_PORT_BASE));
        let b = SocketAddr::from((Ipv4Addr::LOCALHOST, crate::echo::CHAPTER_PORT));
        Self {
            clock: None,
            state: RefCell::new(PairState {
                pipes: [Pipe::default(), Pipe::default()],
                ends: [End::default(); 2],
                addrs: [a, b],
                max_read: usize::MAX,
                max_write: usize::MAX,
                activity: 0,
                reset: false,
            }),
        }
    }

    /// Timeouts advance `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: &'c ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The ends' addresses.
    #[must_use]
    pub fn with_addrs(self, a: SocketAddr, b: SocketAddr) -> Self {
        self.state.borrow_mut().addrs = [a, b];
        self
    }

    /// At most `read` bytes per `read` and `write` bytes per `write` (at least 1), to simulate
    /// short I/O.
    #[must_use]
    pub fn with_max_io(self, read: usize, write: usize) -> Self {
        self.set_max_io(read, write);
        self
    }

    /// Changes the limits of [`with_max_io`](Self::with_max_io).
    pub fn set_max_io(&self, read: usize, write: usize) {
        let mut s = self.state.borrow_mut();
        s.max_read = read.max(1);
        s.max_write = write.max(1);
    }

    /// The two ends, `(a, b)`. Call it once per pair.
    pub fn split(&self) -> (MemStream<'_, N>, MemStream<'_, N>) {
        (
            MemStream { pair: self, end: 0 },
            MemStream { pair: self, end: 1 },
        )
    }

    /// Resets the connection: every further call on either end fails with
    /// [`MemError::ConnectionReset`].
    pub fn reset(&self) {
        let mut s = self.state.borrow_mut();
        s.reset = true;
        s.activity += 1;
        for pipe in &mut s.pipes {
            pipe.reader.wake();
            pipe.writer.wake();
        }
    }

    /// Successful operations so far (bytes moved, shutdowns), for idle detection.
    pub fn activity(&self) -> u64 {
        self.state.borrow().activity
    }

    /// Unread bytes in each direction: `[a to b, b to a]`.
    pub fn pending(&self) -> [usize; 2] {
        let s = self.state.borrow();
        [s.pipes[0].data.len(), s.pipes[1].data.len()]
    }
}

impl<const N: usize> Default for StreamPair<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MemStream<'_, N> {
    /// Closes this end abortively, as a TCP reset (`SO_LINGER` 0 and close): the pair is
    /// [reset](StreamPair::reset), so the peer's next call fails with
    /// [`MemError::ConnectionReset`] instead of reading end of stream.
    pub fn abort(self) {
        self.pair.reset();
    }

    pub(super) fn with<R>(&self, f: impl FnOnce(&mut PairState<N>, usize) -> R) -> R {
        f(&mut self.pair.state.borrow_mut(), self.end)
    }
}

impl<const N: usize> ErrorType for MemStream<'_, N> {
    type Error = MemError;
}

impl<const N: usize> Read for MemStream<'_, N> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, MemError> {
        let clock = self.pair.clock;
        self.with(|s, end| match s.try_read(end, buf)? {
            Some(n) => Ok(n),
            None => {
                let mode = s.ends[end].mode;
                Err(mode.wait(clock, mode.read_timeout))
            }
        })
    }
}

impl<const N: usize> Write for MemStream<'_, N> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, MemError> {
        let clock = self.pair.clock;
        self.with(|s, end| match s.try_write(end, buf)? {
            Some(n) => Ok(n),
            None => {
                let mode = s.ends[end].mode;
                Err(mode.wait(clock, mode.write_timeout))
            }
        })
    }

    fn flush(&mut self) -> Result<(), MemError> {
        self.with(|s, _| s.try_flush())
    }
}

impl<const N: usize> PairState<N> {
    /// A read by `end`: `Ok(None)` if it has to wait for the peer.
    pub(super) fn try_read(
        &mut self,
        end: usize,
        buf: &mut [u8],
    ) -> Result<Option<usize>, MemError> {
        if self.reset {
            return Err(MemError::ConnectionReset);
        }
        if buf.is_empty() || self.ends[end].read_shut {
            return Ok(Some(0));
        }
        let max_read = self.max_read;
        let pipe = &mut self.pipes[1 - end];
        if pipe.data.is_empty() {
            return Ok(pipe.fin.then_some(0));
        }
        let n = buf.len().min(pipe.data.len()).min(max_read);
        for slot in &mut buf[..n] {
            *slot = pipe.data.pop_front().unwrap_or_default();
        }
        pipe.writer.wake();
        self.activity += 1;
        Ok(Some(n))
    }

    /// A write by `end`: `Ok(None)` if it has to wait for room.
    pub(super) fn try_write(&mut self, end: usize, buf: &[u8]) -> Result<Option<usize>, MemError> {
        if self.reset {
            return Err(MemError::ConnectionReset);
        }
        if self.ends[end].write_shut || self.pipes[end].reader_gone {
            return Err(MemError::BrokenPipe);
        }
        if buf.is_empty() {
            return Ok(Some(0));
        }
        let max_write = self.max_write;
        let pipe = &mut self.pipes[end];
        if pipe.reader_shut {
            return Ok(Some(buf.len().min(max_write)));
        }
        let free = N - pipe.data.len();
        if free == 0 {
            return Ok(None);
        }
        let n = buf.len().min(free).min(max_write);
        for &byte in &buf[..n] {
            // Cannot fail: `n` is at most the free space.
            let _ = pipe.data.push_back(byte);
        }
        pipe.reader.wake();
        self.activity += 1;
        Ok(Some(n))
    }

    /// Nothing is buffered on the way out: a flush only reports a reset.
    pub(super) fn try_flush(&self) -> Result<(), MemError> {
        if self.reset {
            Err(MemError::ConnectionReset)
        } else {
            Ok(())
        }
    }

    /// `shutdown(2)` by `end`.
    pub(super) fn shutdown(&mut self, end: usize, how: Shutdown) -> Result<(), MemError> {
        if self.reset {
            return Err(MemError::ConnectionReset);
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.ends[end].read_shut = true;
            let incoming = &mut self.pipes[1 - end];
            incoming.reader_shut = true;
            incoming.data.clear();
            incoming.writer.wake();
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.ends[end].write_shut = true;
            self.pipes[end].fin = true;
            self.pipes[end].reader.wake();
        }
        self.activity += 1;
        Ok(())
    }

    /// Registers `end`'s task to be woken when it can read.
    #[cfg(feature = "async")]
    pub(super) fn wait_readable(&mut self, end: usize, waker: &core::task::Waker) {
        self.pipes[1 - end].reader.register(waker);
    }

    /// Registers `end`'s task to be woken when it can write.
    #[cfg(feature = "async")]
    pub(super) fn wait_writable(&mut self, end: usize, waker: &core::task::Waker) {
        self.pipes[end].writer.register(waker);
    }
}

impl<const N: usize> ReadReady for MemStream<'_, N> {
    fn read_ready(&mut self) -> Result<bool, MemError> {
        self.with(|s, end| {
            let pipe = &s.pipes[1 - end];
            Ok(s.reset || s.ends[end].read_shut || pipe.fin || !pipe.data.is_empty())
        })
    }
}

impl<const N: usize> WriteReady for MemStream<'_, N> {
    fn write_ready(&mut self) -> Result<bool, MemError> {
        self.with(|s, end| {
            let pipe = &s.pipes[end];
            Ok(s.reset || s.ends[end].write_shut || pipe.reader_gone || pipe.data.len() < N)
        })
    }
}

impl<const N: usize> Stream for MemStream<'_, N> {
    type Addr = SocketAddr;

    fn shutdown(&mut self, how: Shutdown) -> Result<(), MemError> {
        self.with(|s, end| s.shutdown(end, how))
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        Ok(self.pair.state.borrow().addrs[self.end])
    }

    fn peer_addr(&self) -> Result<SocketAddr, MemError> {
        Ok(self.pair.state.borrow().addrs[1 - self.end])
    }
}

impl<const N: usize> Blocking for MemStream<'_, N> {
    fn set_nonblocking(&mut self, nonblocking: bool) -> Result<(), MemError> {
        self.with(|s, end| s.ends[end].mode.nonblocking = nonblocking);
        Ok(())
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MemError> {
        let timeout = check_timeout(timeout)?;
        self.with(|s, end| s.ends[end].mode.read_timeout = timeout);
        Ok(())
    }

    fn read_timeout(&self) -> Result<Option<Duration>, MemError> {
        Ok(self.pair.state.borrow().ends[self.end].mode.read_timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MemError> {
        let timeout = check_timeout(timeout)?;
        self.with(|s, end| s.ends[end].mode.write_timeout = timeout);
        Ok(())
    }

    fn write_timeout(&self) -> Result<Option<Duration>, MemError> {
        Ok(self.pair.state.borrow().ends[self.end].mode.write_timeout)
    }
}

/// Dropping an end closes it: the peer reads end of stream, and its writes fail with
/// [`MemError::BrokenPipe`].
impl<const N: usize> Drop for MemStream<'_, N> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.pair.state.try_borrow_mut() {
            let end = self.end;
            s.pipes[end].fin = true;
            s.pipes[end].reader.wake();
            s.pipes[1 - end].reader_gone = true;
            s.pipes[1 - end].writer.wake();
            s.activity += 1;
        }
    }
}

impl<'p, const N: usize> MemListener<'p, N> {
    /// A listener on `addr` handing out `pairs`, one per connection.
    pub fn new(addr: SocketAddr, pairs: &'p [StreamPair<'p, N>]) -> Self {
        let clock = pairs.first().and_then(|p| p.clock);
        Self {
            pairs,
            addr,
            clock,
            connected: Cell::new(0),
            accepted: Cell::new(0),
            waiters: RefCell::new(WakerList::new()),
            mode: Mode::default(),
        }
    }

    /// Connects to the listener: the client end of the next free pair, addressed
    /// 127.0.0.1:(49152 + its index) and the listener's address.
    ///
    /// # Errors
    ///
    /// [`MemError::ConnectionRefused`] when every pair is taken.
    pub fn connect(&self) -> Result<MemStream<'p, N>, MemError> {
        let i = self.connected.get();
        let pair = self.pairs.get(i).ok_or(MemError::ConnectionRefused)?;
        let port = CLIENT_PORT_BASE.saturating_add(u16::try_from(i).unwrap_or(u16::MAX));
        pair.state.borrow_mut().addrs = [SocketAddr::from((Ipv4Addr::LOCALHOST, port)), self.addr];
        self.connected.set(i + 1);
        self.waiters.borrow_mut().wake_all();
        Ok(MemStream { pair, end: 0 })
    }

    /// The server end of the next connection not yet accepted, and its peer's address.
    pub(super) fn try_accept(&self) -> Option<(MemStream<'p, N>, SocketAddr)> {
        let i = self.accepted.get();
        let pair = self.pairs.get(i).filter(|_| i < self.connected.get())?;
        self.accepted.set(i + 1);
        let peer = pair.state.borrow().addrs[0];
        Some((MemStream { pair, end: 1 }, peer))
    }

    /// Registers a task to be woken by the next [`connect`](Self::connect).
    #[cfg(feature = "async")]
    pub(super) fn wait_connect(&self, waker: &core::task::Waker) {
        self.waiters.borrow_mut().register(waker, 0);
    }
}

impl<const N: usize> ErrorType for MemListener<'_, N> {
    type Error = MemError;
}

impl<'p, const N: usize> Listener for MemListener<'p, N> {
    type Addr = SocketAddr;
    type Stream = MemStream<'p, N>;

    fn accept(&mut self) -> Result<(MemStream<'p, N>, SocketAddr), MemError> {
        self.try_accept()
            .ok_or_else(|| self.mode.wait(self.clock, self.mode.read_timeout))
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        Ok(self.addr)
    }
}

impl<const N: usize> Blocking for MemListener<'_, N> {
    fn set_nonblocking(&mut self, nonblocking: bool) -> Result<(), MemError> {
        self.mode.nonblocking = nonblocking;
        Ok(())
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MemError> {
        self.mode.read_timeout = check_timeout(timeout)?;
        Ok(())
    }

    fn read_timeout(&self) -> Result<Option<Duration>, MemError> {
        Ok(self.mode.read_timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MemError> {
        self.mode.write_timeout = check_timeout(timeout)?;
        Ok(())
    }

    fn write_timeout(&self) -> Result<Option<Duration>, MemError> {
        Ok(self.mode.write_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    #[test]
    fn bytes_flow_both_ways_with_short_io() {
        let pair = StreamPair::<4>::new().with_max_io(2, 3);
        let (mut a, mut b) = pair.split();
        assert_eq!(a.write(b"hello"), Ok(3));
        assert_eq!(a.write(b"lo"), Ok(1), "only 1 byte of room left");
        assert_eq!(
            a.write(b"o"),
            Err(MemError::WouldBlock),
            "full, blocking without timeout"
        );
        let mut buf = [0u8; 8];
        assert_eq!(b.read(&mut buf), Ok(2));
        assert_eq!(&buf[..2], b"he");
        assert_eq!(pair.pending(), [2, 0]);
        assert_eq!(b.write(b"x"), Ok(1));
        assert_eq!(a.read(&mut buf), Ok(1));
        assert_eq!(buf[0], b'x');
        assert!(pair.activity() >= 5);
    }

    #[test]
    fn shutdown_write_is_the_peers_end_of_stream() {
        let pair = StreamPair::<16>::new();
        let (mut a, mut b) = pair.split();
        a.write_all(b"bye").unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        assert_eq!(a.write(b"x"), Err(MemError::BrokenPipe));
        let mut buf = [0u8; 8];
        assert_eq!(b.read(&mut buf), Ok(3));
        assert_eq!(b.read(&mut buf), Ok(0));
        assert!(b.read_ready().unwrap());
        // The other direction still works: a half-close.
        b.write_all(b"ok").unwrap();
        assert_eq!(a.read(&mut buf), Ok(2));
    }

    #[test]
    fn shutdown_read_discards_what_the_peer_sends() {
        let pair = StreamPair::<4>::new();
        let (mut a, mut b) = pair.split();
        b.shutdown(Shutdown::Read).unwrap();
        assert_eq!(a.write(b"lost bytes"), Ok(10));
        let mut buf = [0u8; 4];
        assert_eq!(b.read(&mut buf), Ok(0));
    }

    #[test]
    fn dropping_an_end_closes_it() {
        let pair = StreamPair::<16>::new();
        let (mut a, b) = pair.split();
        drop(b);
        assert_eq!(a.write(b"x"), Err(MemError::BrokenPipe));
        assert_eq!(a.read(&mut [0u8; 4]), Ok(0));
        assert!(a.write_ready().unwrap());
    }

    #[test]
    fn abort_resets_the_peer() {
        let pair = StreamPair::<16>::new();
        let (a, mut b) = pair.split();
        a.abort();
        assert_eq!(b.read(&mut [0u8; 4]), Err(MemError::ConnectionReset));
    }

    #[test]
    fn reset_fails_both_ends() {
        let pair = StreamPair::<16>::new();
        let (mut a, mut b) = pair.split();
        pair.reset();
        assert_eq!(a.write(b"x"), Err(MemError::ConnectionReset));
        assert_eq!(b.read(&mut [0u8; 4]), Err(MemError::ConnectionReset));
        assert_eq!(b.shutdown(Shutdown::Both), Err(MemError::ConnectionReset));
    }

    #[test]
    fn timeouts_advance_the_clock() {
        let clock = ManualClock::new();
        let pair = StreamPair::<1>::new().with_clock(&clock);
        let (mut a, mut b) = pair.split();
        a.set_write_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        assert_eq!(a.write_timeout(), Ok(Some(Duration::from_millis(30))));
        a.write_all(b"x").unwrap();
        assert_eq!(a.write(b"y"), Err(MemError::TimedOut));
        assert_eq!(clock.now(), Instant::from_millis(30));
        assert_eq!(
            b.set_read_timeout(Some(Duration::ZERO)),
            Err(MemError::ZeroTimeout)
        );
        b.set_nonblocking(true).unwrap();
        assert_eq!(b.read(&mut [0u8; 1]), Ok(1));
        assert_eq!(b.read(&mut [0u8; 1]), Err(MemError::WouldBlock));
        assert_eq!(
            clock.now(),
            Instant::from_millis(30),
            "would-block does not wait"
        );
    }

    #[test]
    fn listener_accepts_in_connection_order() {
        let pairs: [StreamPair<'_, 8>; 2] = core::array::from_fn(|_| StreamPair::new());
        let addr: SocketAddr = "127.0.0.1:10000".parse().unwrap();
        let mut listener = MemListener::new(addr, &pairs);
        assert_eq!(listener.accept().map(|_| ()), Err(MemError::WouldBlock));
        let mut c0 = listener.connect().unwrap();
        let _c1 = listener.connect().unwrap();
        assert_eq!(
            listener.connect().map(|_| ()),
            Err(MemError::ConnectionRefused)
        );
        let (mut s0, peer) = listener.accept().unwrap();
        assert_eq!(peer, "127.0.0.1:49152".parse().unwrap());
        assert_eq!(s0.local_addr(), Ok(addr));
        assert_eq!(c0.peer_addr(), Ok(addr));
        c0.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        s0.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer, "127.0.0.1:49153".parse().unwrap());
        listener
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        assert_eq!(listener.accept().map(|_| ()), Err(MemError::TimedOut));
        assert_eq!(Listener::local_addr(&listener), Ok(addr));
    }
}
