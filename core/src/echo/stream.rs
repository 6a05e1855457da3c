//! Stream echo: the server's [`EchoSession`] and the verifying [`EchoClient`].

use core::fmt;

use embedded_io::ErrorKind;

use super::CHAPTER_CHUNK;
use crate::machine::{Buffer, Shutdown, StreamMachine};

/// How far an [`EchoClient`] sends ahead of what has come back, by default: small enough for
/// any TCP path's buffers, so a blocking client never deadlocks with a server that stops
/// reading while its echo cannot be sent.
pub const DEFAULT_WINDOW: usize = 64 * 1024;

/// The server side of one echo connection: read a chunk, send it back, until the peer closes;
/// then send what is left and close.
///
/// It reads as much as the buffer it is given has room for ([`new`](Self::new)), or at most
/// `chunk` bytes at a time if told ([`with_chunk`](Self::with_chunk); the chapter's
/// `recv(16)` is [`chapter`](Self::chapter)). The buffer bounds what it holds: when it is full of
/// bytes not yet echoed it stops asking to read ([`recv_buf`](Self::recv_buf) returns `None`,
/// [`wants_read`](Self::wants_read) is false), so a client that sends but does not read cannot
/// make it grow. After the peer's FIN ([`handle_peer_closed`](Self::handle_peer_closed)) it
/// echoes what it still holds, then asks to close ([`poll_close`](Self::poll_close)).
///
/// # Calling order
///
/// Methods are of four kinds, as in quinn-proto's `Connection`: (A) getters (`&self`),
/// (B) inputs `handle_*`, (C) [`recv_buf`](Self::recv_buf), where input bytes go, and
/// (D) outputs `poll_*`. After each (B) call, call the (D) methods in this order:
///
/// 1. [`poll_event`](Self::poll_event) until `None` (the chapter's lines:
///    [`SessionEvent::Received`] is `received b'...'`, [`SessionEvent::Sending`] is
///    `sending data back to the client`, [`SessionEvent::PeerClosed`] is `received b''` and
///    `no data from ...`);
/// 2. [`poll_transmit`](Self::poll_transmit) and write, then
///    [`handle_sent`](Self::handle_sent) with what the transport took, until `None`;
/// 3. [`poll_close`](Self::poll_close): shut the stream down, then
///    [`handle_closed`](Self::handle_closed);
/// 4. [`recv_buf`](Self::recv_buf), read into it, then [`handle_read`](Self::handle_read) (or
///    [`handle_peer_closed`](Self::handle_peer_closed) on end of stream).
///
/// A received chunk's bytes stay in the buffer until they are echoed; its event borrows them,
/// so poll events before transmitting (a chunk echoed before its event was polled is reported
/// only in part). [`drive::run_stream`](crate::drive::run_stream) does all this.
///
/// ```
/// use portsock_core::echo::stream::{EchoSession, SessionEvent};
/// use portsock_core::machine::Shutdown;
///
/// let mut session = EchoSession::new([0u8; 16]);
/// session.handle_input(b"This is the mess")?;          // what a 16-byte read returned
/// assert_eq!(session.poll_event(), Some(SessionEvent::Received(b"This is the mess")));
/// assert_eq!(session.poll_event(), Some(SessionEvent::Sending(16)));
/// assert!(!session.wants_read());                       // the buffer is full of unsent bytes
/// assert_eq!(session.poll_transmit(), Some(&b"This is the mess"[..]));
/// session.handle_sent(8);                               // a short write
/// assert_eq!(session.poll_transmit(), Some(&b"the mess"[..]));
/// session.handle_peer_closed()?;                        // FIN: finish the echo, then close
/// assert_eq!(session.poll_event(), Some(SessionEvent::PeerClosed));
/// assert_eq!(session.poll_close(), None);
/// session.handle_sent(8);
/// assert_eq!(session.poll_close(), Some(Shutdown::Both));
/// session.handle_closed();
/// assert!(session.is_done());
/// # Ok::<(), portsock_core::echo::stream::EchoError>(())
/// ```
///
/// Over the in-memory transport, with a scripted client that sends and half-closes:
///
/// ```
/// use portsock_core::drive::run_stream;
/// use portsock_core::echo::stream::EchoSession;
/// use portsock_core::mem::StreamPair;
/// use portsock_core::transport::{Read, Shutdown, Stream, Write};
///
/// let pair = StreamPair::<64>::new();
/// let (mut client, mut server) = pair.split();
/// client.write_all(b"hello")?;
/// client.shutdown(Shutdown::Write)?; // FIN after the message
/// let mut session = EchoSession::new([0u8; 16]);
/// run_stream(&mut server, &mut session, &mut |_| {})?;
/// let mut echo = [0u8; 8];
/// assert_eq!(client.read(&mut echo)?, 5);
/// assert_eq!(client.read(&mut echo)?, 0); // the session closed after the echo
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EchoSession<B> {
    buf: B,
    chunk: usize,
    /// `buf[..filled]` holds received bytes not yet discarded.
    filled: usize,
    /// `buf[..sent]` has been echoed.
    sent: usize,
    /// `buf[..reported]` has been reported in [`SessionEvent::Received`].
    reported: usize,
    /// A [`SessionEvent::Sending`] is due for this many bytes.
    sending: Option<usize>,
    peer_closed: Flag,
    closed: bool,
    received_total: u64,
    sent_total: u64,
}

/// What an [`EchoSession`] did, for the chapter's server lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionEvent<'a> {
    /// A read returned these bytes (`received b'...'`).
    Received(&'a [u8]),
    /// They are being echoed (`sending data back to the client`); the byte count.
    Sending(usize),
    /// The peer closed its side (`received b''`, then `no data from ...`).
    PeerClosed,
}

/// An echo client: send a message, and verify that exactly the same bytes come back.
///
/// It sends `message` as fast as the transport takes it, but never more than `window` bytes
/// ahead of what has come back ([`DEFAULT_WINDOW`]); reads as much as the buffer it is given
/// holds (or `chunk` bytes at a time: [`with_chunk`](Self::with_chunk), and the chapter's 16
/// with [`chapter`](Self::chapter)), and compares every byte with
/// what it sent: the first difference is [`EchoError::Mismatch`] with its offset, and a peer
/// that closes early is [`EchoError::EarlyClose`]. It is done when the whole message has come
/// back (and, with [`with_half_close`](Self::with_half_close), its sending side is shut down).
///
/// # Calling order
///
/// As [`EchoSession`]'s. Events: [`ClientEvent::Sending`] once (`sending b'...'`),
/// [`ClientEvent::Received`] per read (`received b'...'`), [`ClientEvent::Done`].
///
/// ```
/// use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoError};
///
/// let mut client = EchoClient::new(b"hello", [0u8; 16]);
/// assert_eq!(client.poll_event(), Some(ClientEvent::Sending(b"hello")));
/// assert_eq!(client.poll_transmit(), Some(&b"hello"[..]));
/// client.handle_sent(5);
/// client.handle_input(b"he")?;
/// assert_eq!(client.poll_event(), Some(ClientEvent::Received(b"he")));
/// assert_eq!(
///     client.handle_input(b"lLo"),
///     Err(EchoError::Mismatch { offset: 3, expected: b'l', got: b'L' })
/// );
/// # Ok::<(), EchoError>(())
/// ```
///
/// Over the in-memory transport, against a scripted echo, printing the chapter's lines:
///
/// ```
/// use portsock_core::drive::run_stream;
/// use portsock_core::echo::stream::{ClientEvent, EchoClient};
/// use portsock_core::mem::StreamPair;
/// use portsock_core::transport::Write;
/// use portsock_core::wire::repr::PyBytes;
///
/// let pair = StreamPair::<64>::new();
/// let (mut sock, mut server) = pair.split();
/// server.write_all(b"hello, world")?; // the echo, already on its way
/// let mut client = EchoClient::new(b"hello, world", [0u8; 8]).with_chunk(8);
/// let mut lines = Vec::new();
/// run_stream(&mut sock, &mut client, &mut |c| {
///     while let Some(event) = c.poll_event() {
///         match event {
///             ClientEvent::Sending(m) => lines.push(format!("sending {}", PyBytes(m))),
///             ClientEvent::Received(d) => lines.push(format!("received {}", PyBytes(d))),
///             _ => {}
///         }
///     }
/// })?;
/// assert_eq!(lines, ["sending b'hello, world'", "received b'hello, w'", "received b'orld'"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EchoClient<'a, B> {
    message: &'a [u8],
    buf: B,
    chunk: usize,
    window: usize,
    half_close: bool,
    sent: usize,
    received: usize,
    reported: usize,
    announced: bool,
    write_closed: bool,
    failed: bool,
    done_reported: bool,
}

/// What an [`EchoClient`] did, for the chapter's client lines. The bytes borrow the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ClientEvent<'a> {
    /// About to send the message (`sending b'...'`).
    Sending(&'a [u8]),
    /// A read returned these bytes, verified (`received b'...'`).
    Received(&'a [u8]),
    /// The whole message came back.
    Done,
}

/// Why a stream echo failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EchoError {
    /// An echoed byte differs from the one sent.
    Mismatch {
        /// Its offset in the message.
        offset: usize,
        /// What was sent.
        expected: u8,
        /// What came back.
        got: u8,
    },
    /// The peer closed before the whole message came back.
    EarlyClose {
        /// Bytes that came back.
        received: usize,
        /// The message's length.
        expected: usize,
    },
    /// More input than the machine asked for (a driver bug, or a peer echoing more than was
    /// sent).
    Overrun {
        /// Bytes given.
        len: usize,
        /// Bytes the machine had room for.
        room: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    No,
    Pending,
    Reported,
}

impl<B: Buffer> EchoSession<B> {
    /// A session echoing through `buf`, each read filling as much of it as is free: give it
    /// a large buffer (4 KiB to 64 KiB) for throughput.
    pub fn new(buf: B) -> Self {
        Self {
            buf,
            chunk: usize::MAX,
            filled: 0,
            sent: 0,
            reported: 0,
            sending: None,
            peer_closed: Flag::No,
            closed: false,
            received_total: 0,
            sent_total: 0,
        }
    }

    /// The chapter's session: reads [`CHAPTER_CHUNK`] (16) bytes at a time, as
    /// `socket_echo_server.py`'s `connection.recv(16)`, so its transcript shows the same
    /// `received b'...'` lines. The same as `new(buf).with_chunk(CHAPTER_CHUNK)`; a buffer
    /// larger than 16 bytes still lets it hold more while an echo cannot be sent.
    ///
    /// ```
    /// use portsock_core::echo::stream::{EchoSession, SessionEvent};
    ///
    /// let mut chapter = EchoSession::chapter([0u8; 64]);
    /// assert_eq!(chapter.free(), 16); // recv(16)
    /// let fast = EchoSession::new([0u8; 64]);
    /// assert_eq!(fast.free(), 64); // as much as the buffer holds
    /// chapter.handle_input(b"This is the mess")?;
    /// assert_eq!(chapter.poll_event(), Some(SessionEvent::Received(b"This is the mess")));
    /// # Ok::<(), portsock_core::echo::stream::EchoError>(())
    /// ```
    pub fn chapter(buf: B) -> Self {
        Self::new(buf).with_chunk(CHAPTER_CHUNK)
    }

    /// Reads at most `chunk` bytes at a time (at least 1).
    #[must_use]
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// The most one read may bring: the chunk set with [`with_chunk`](Self::with_chunk), or
    /// the buffer's capacity if that is smaller (the capacity itself after [`new`](Self::new)).
    pub fn chunk(&self) -> usize {
        self.chunk.min(self.capacity())
    }

    /// The buffer's size: the most it holds.
    pub fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    /// Bytes received and not yet echoed.
    pub fn buffered(&self) -> usize {
        self.filled - self.sent
    }

    /// How many bytes the next read may bring: `min(chunk, capacity - buffered)`, 0 once the
    /// peer has closed.
    pub fn free(&self) -> usize {
        if self.peer_closed != Flag::No || self.closed {
            return 0;
        }
        self.chunk.min(self.capacity() - self.buffered())
    }

    /// Whether it wants to read now: false while the buffer is full of bytes to echo
    /// (backpressure) and after the peer closed.
    pub fn wants_read(&self) -> bool {
        self.free() > 0
    }

    /// Total bytes received.
    pub fn received(&self) -> u64 {
        self.received_total
    }

    /// Swaps in another buffer while the session holds no byte it has yet to echo
    /// ([`buffered`](Self::buffered) is 0), and returns the old one; otherwise gives `buf`
    /// back as the error. Its capacity becomes the new buffer's.
    ///
    /// So a server can lend idle sessions one shared buffer, and leave a buffer with a session
    /// only while its echo cannot be sent: an empty buffer (capacity 0) makes a session that
    /// reads nothing until it gets a real one. The bytes of a [`SessionEvent::Received`] not
    /// yet polled are gone, as when an echo is sent before its event was polled.
    ///
    /// ```
    /// use portsock_core::echo::stream::EchoSession;
    ///
    /// let mut session = EchoSession::new(Vec::new()); // holds nothing, reads nothing
    /// assert!(!session.wants_read());
    /// let empty = session.replace_buffer(vec![0u8; 16]).unwrap();  // lent a buffer
    /// session.handle_input(b"hi")?;
    /// let refused = session.replace_buffer(empty).unwrap_err();    // "hi" is not echoed yet
    /// session.handle_sent(2);
    /// let lent = session.replace_buffer(refused).unwrap();         // given back
    /// assert_eq!((lent.len(), session.capacity()), (16, 0));
    /// # Ok::<(), portsock_core::echo::stream::EchoError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Err(buf)` while the session holds bytes not yet echoed.
    pub fn replace_buffer(&mut self, buf: B) -> Result<B, B> {
        if self.buffered() > 0 {
            return Err(buf);
        }
        self.filled = 0;
        self.sent = 0;
        self.reported = 0;
        Ok(core::mem::replace(&mut self.buf, buf))
    }

    /// Total bytes echoed.
    pub fn sent(&self) -> u64 {
        self.sent_total
    }

    /// Whether the session has closed.
    pub fn is_done(&self) -> bool {
        self.closed
    }

    /// Where the next read goes (`free()` bytes), or `None` if it does not want to read.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        let want = self.free();
        if want == 0 {
            return None;
        }
        if self.capacity() - self.filled < want {
            self.compact();
        }
        let start = self.filled;
        self.buf.as_mut().get_mut(start..start + want)
    }

    /// A read filled the first `n` bytes of [`recv_buf`](Self::recv_buf).
    ///
    /// # Errors
    ///
    /// [`EchoError::Overrun`] if `n` is more than it had room for.
    pub fn handle_read(&mut self, n: usize) -> Result<(), EchoError> {
        let room = self.free().min(self.capacity() - self.filled);
        if n > room {
            return Err(EchoError::Overrun { len: n, room });
        }
        self.filled += n;
        self.received_total += n as u64;
        Ok(())
    }

    /// A read returned `bytes`: copies them in, as [`recv_buf`](Self::recv_buf) then
    /// [`handle_read`](Self::handle_read). Empty input does nothing (end of stream is
    /// [`handle_peer_closed`](Self::handle_peer_closed)).
    ///
    /// # Errors
    ///
    /// [`EchoError::Overrun`] if `bytes` is longer than [`free`](Self::free).
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), EchoError> {
        let room = self.free();
        match self.recv_buf() {
            Some(dst) if bytes.len() <= dst.len() => dst[..bytes.len()].copy_from_slice(bytes),
            _ if bytes.is_empty() => return Ok(()),
            _ => {
                return Err(EchoError::Overrun {
                    len: bytes.len(),
                    room,
                });
            }
        }
        self.handle_read(bytes.len())
    }

    /// The peer closed its sending side: echo what is left, then close.
    ///
    /// # Errors
    ///
    /// None; the `Result` matches the client's.
    pub fn handle_peer_closed(&mut self) -> Result<(), EchoError> {
        if self.peer_closed == Flag::No {
            crate::log::debug!(
                "echo session: peer closed after {=u64} bytes",
                self.received_total
            );
            self.peer_closed = Flag::Pending;
        }
        Ok(())
    }

    /// Bytes to echo next.
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        if self.closed || self.sent == self.filled {
            return None;
        }
        self.buf.as_ref().get(self.sent..self.filled)
    }

    /// The transport took the first `n` bytes of [`poll_transmit`](Self::poll_transmit).
    pub fn handle_sent(&mut self, n: usize) {
        let n = n.min(self.filled - self.sent);
        self.sent += n;
        self.sent_total += n as u64;
        if self.sent == self.filled && self.reported >= self.filled {
            self.filled = 0;
            self.sent = 0;
            self.reported = 0;
        }
    }

    /// `Some(Shutdown::Both)` once the peer has closed and everything is echoed.
    pub fn poll_close(&self) -> Option<Shutdown> {
        let finished = self.peer_closed != Flag::No && self.sent == self.filled && !self.closed;
        finished.then_some(Shutdown::Both)
    }

    /// The stream was shut down as [`poll_close`](Self::poll_close) asked.
    pub fn handle_closed(&mut self) {
        self.closed = true;
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent<'_>> {
        if self.reported < self.filled {
            let start = self.reported;
            self.reported = self.filled;
            self.sending = Some(self.sending.unwrap_or(0) + (self.filled - start));
            return self
                .buf
                .as_ref()
                .get(start..self.filled)
                .map(SessionEvent::Received);
        }
        if let Some(n) = self.sending.take() {
            return Some(SessionEvent::Sending(n));
        }
        if self.peer_closed == Flag::Pending {
            self.peer_closed = Flag::Reported;
            return Some(SessionEvent::PeerClosed);
        }
        None
    }

    /// Moves the bytes not yet echoed to the front of the buffer.
    fn compact(&mut self) {
        let keep = self.sent;
        self.buf.as_mut().copy_within(keep..self.filled, 0);
        self.filled -= keep;
        // Bytes echoed before their event was polled are gone: report only the rest.
        self.reported = self.reported.max(keep) - keep;
        self.sent = 0;
    }
}

impl<'a, B: Buffer> EchoClient<'a, B> {
    /// A client that sends `message` and reads its echo into `buf`, each read filling as much
    /// of it as the echo still owed allows.
    pub fn new(message: &'a [u8], buf: B) -> Self {
        Self {
            message,
            buf,
            chunk: usize::MAX,
            window: DEFAULT_WINDOW,
            half_close: false,
            sent: 0,
            received: 0,
            reported: 0,
            announced: false,
            write_closed: false,
            failed: false,
            done_reported: false,
        }
    }

    /// The chapter's client: reads the echo [`CHAPTER_CHUNK`] (16) bytes at a time, as
    /// `socket_echo_client.py`'s `sock.recv(16)`, so its transcript shows the same
    /// `received b'...'` lines. The same as `new(message, buf).with_chunk(CHAPTER_CHUNK)`.
    pub fn chapter(message: &'a [u8], buf: B) -> Self {
        Self::new(message, buf).with_chunk(CHAPTER_CHUNK)
    }

    /// Reads at most `chunk` bytes at a time (at least 1; at most the buffer's size).
    #[must_use]
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Sends at most `window` bytes (at least 1) ahead of what has come back.
    #[must_use]
    pub fn with_window(mut self, window: usize) -> Self {
        self.window = window.max(1);
        self
    }

    /// Shuts down its sending side once the whole message is sent, so the server sees end of
    /// stream while the echo is still coming back (a half-close).
    #[must_use]
    pub fn with_half_close(mut self, half_close: bool) -> Self {
        self.half_close = half_close;
        self
    }

    /// The message.
    pub fn message(&self) -> &'a [u8] {
        self.message
    }

    /// Bytes sent so far.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Bytes that came back, verified.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Whether the whole message came back (and the half-close, if asked for, was done).
    pub fn is_done(&self) -> bool {
        !self.failed
            && self.received == self.message.len()
            && (!self.half_close || self.write_closed)
    }

    fn send_limit(&self) -> usize {
        self.message
            .len()
            .min(self.received.saturating_add(self.window))
    }

    fn read_room(&self) -> usize {
        if self.failed {
            return 0;
        }
        self.chunk
            .min(self.sent - self.received)
            .min(self.buf.as_ref().len())
    }

    /// The bytes to send next.
    pub fn poll_transmit(&self) -> Option<&'a [u8]> {
        let limit = self.send_limit();
        if self.failed || self.sent >= limit {
            return None;
        }
        self.message.get(self.sent..limit)
    }

    /// The transport took the first `n` bytes of [`poll_transmit`](Self::poll_transmit).
    pub fn handle_sent(&mut self, n: usize) {
        self.sent = self
            .sent
            .saturating_add(n)
            .min(self.send_limit().max(self.sent));
    }

    /// Where the next read goes, or `None` when nothing is outstanding.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        let room = self.read_room();
        if room == 0 {
            return None;
        }
        self.buf.as_mut().get_mut(..room)
    }

    /// A read filled the first `n` bytes of [`recv_buf`](Self::recv_buf): verify them.
    ///
    /// # Errors
    ///
    /// [`EchoError::Mismatch`] at the first byte that differs from the message,
    /// [`EchoError::Overrun`] if `n` is more than it asked for. Either is final.
    pub fn handle_read(&mut self, n: usize) -> Result<(), EchoError> {
        let room = self.read_room();
        if n > room {
            self.failed = true;
            return Err(EchoError::Overrun { len: n, room });
        }
        let got = self.buf.as_ref().get(..n).unwrap_or_default();
        let expected = self
            .message
            .get(self.received..self.received + n)
            .unwrap_or_default();
        if let Some(i) = got.iter().zip(expected).position(|(g, e)| g != e) {
            self.failed = true;
            return Err(EchoError::Mismatch {
                offset: self.received + i,
                expected: expected[i],
                got: got[i],
            });
        }
        self.received += n;
        Ok(())
    }

    /// A read returned `bytes`: copies them in and verifies them, as
    /// [`recv_buf`](Self::recv_buf) then [`handle_read`](Self::handle_read).
    ///
    /// # Errors
    ///
    /// As [`handle_read`](Self::handle_read).
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), EchoError> {
        let room = self.read_room();
        match self.recv_buf() {
            Some(dst) if bytes.len() <= dst.len() => dst[..bytes.len()].copy_from_slice(bytes),
            _ if bytes.is_empty() => return Ok(()),
            _ => {
                self.failed = true;
                return Err(EchoError::Overrun {
                    len: bytes.len(),
                    room,
                });
            }
        }
        self.handle_read(bytes.len())
    }

    /// The server closed its side.
    ///
    /// # Errors
    ///
    /// [`EchoError::EarlyClose`] if the whole message has not come back.
    pub fn handle_peer_closed(&mut self) -> Result<(), EchoError> {
        if self.received < self.message.len() {
            self.failed = true;
            return Err(EchoError::EarlyClose {
                received: self.received,
                expected: self.message.len(),
            });
        }
        Ok(())
    }

    /// `Some(Shutdown::Write)` once everything is sent, if a half-close was asked for.
    pub fn poll_close(&self) -> Option<Shutdown> {
        let due = self.half_close
            && !self.write_closed
            && !self.failed
            && self.sent == self.message.len();
        due.then_some(Shutdown::Write)
    }

    /// The sending side was shut down.
    pub fn handle_closed(&mut self) {
        self.write_closed = true;
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent<'a>> {
        if !self.announced {
            self.announced = true;
            return Some(ClientEvent::Sending(self.message));
        }
        if self.reported < self.received {
            let start = self.reported;
            self.reported = self.received;
            return self
                .message
                .get(start..self.received)
                .map(ClientEvent::Received);
        }
        if self.is_done() && !self.done_reported {
            self.done_reported = true;
            return Some(ClientEvent::Done);
        }
        None
    }
}

impl<B: Buffer> StreamMachine for EchoSession<B> {
    type Error = EchoError;
    fn poll_transmit(&self) -> Option<&[u8]> {
        self.poll_transmit()
    }
    fn handle_sent(&mut self, n: usize) {
        self.handle_sent(n);
    }
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.recv_buf()
    }
    fn handle_read(&mut self, n: usize) -> Result<(), EchoError> {
        self.handle_read(n)
    }
    fn handle_peer_closed(&mut self) -> Result<(), EchoError> {
        self.handle_peer_closed()
    }
    fn poll_close(&self) -> Option<Shutdown> {
        self.poll_close()
    }
    fn handle_closed(&mut self) {
        self.handle_closed();
    }
    fn is_done(&self) -> bool {
        self.is_done()
    }
}

impl<'a, B: Buffer> StreamMachine for EchoClient<'a, B> {
    type Error = EchoError;
    fn poll_transmit(&self) -> Option<&[u8]> {
        self.poll_transmit()
    }
    fn handle_sent(&mut self, n: usize) {
        self.handle_sent(n);
    }
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.recv_buf()
    }
    fn handle_read(&mut self, n: usize) -> Result<(), EchoError> {
        self.handle_read(n)
    }
    fn handle_peer_closed(&mut self) -> Result<(), EchoError> {
        self.handle_peer_closed()
    }
    fn poll_close(&self) -> Option<Shutdown> {
        self.poll_close()
    }
    fn handle_closed(&mut self) {
        self.handle_closed();
    }
    fn is_done(&self) -> bool {
        self.is_done()
    }
}

impl fmt::Display for EchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mismatch {
                offset,
                expected,
                got,
            } => {
                write!(
                    f,
                    "echoed byte {offset}: sent {expected:#04x}, got {got:#04x}"
                )
            }
            Self::EarlyClose { received, expected } => {
                write!(f, "peer closed after {received} of {expected} echoed bytes")
            }
            Self::Overrun { len, room } => write!(f, "input of {len} bytes, room for {room}"),
        }
    }
}

impl core::error::Error for EchoError {}

impl embedded_io::Error for EchoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Mismatch { .. } => ErrorKind::InvalidData,
            Self::EarlyClose { .. } => ErrorKind::ConnectionAborted,
            Self::Overrun { .. } => ErrorKind::InvalidInput,
        }
    }
}

#[cfg(test)]
mod tests;
