//! Datagram echo: [`DatagramEchoServer`] and the verifying, timing-out [`DatagramEchoClient`].

use core::convert::Infallible;
use core::fmt;
use core::net::SocketAddr;

use embedded_io::ErrorKind;

use crate::machine::responder::{Responder, Step};
use crate::machine::{Buffer, DatagramMachine, Received, Transmit};
use crate::time::{Duration, Instant};

/// How long a [`DatagramEchoClient`] waits for the echo, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The datagram echo server (`socket_echo_server_dgram.py`): receive a datagram, send it back
/// to its sender; an empty datagram is not echoed, as in the chapter (`if data:`).
///
/// It holds one datagram at a time in the buffer it is given (the chapter's
/// `recvfrom(4096)`), and does not ask to receive another until the echo is sent. A datagram
/// longer than the buffer is truncated, as the socket truncates it; the event shows its full
/// length. With [`with_limit`](Self::with_limit) it is done after that many datagrams;
/// otherwise it runs forever.
///
/// # Calling order
///
/// (B) inputs [`handle_received`](Self::handle_received), [`handle_sent`](Self::handle_sent);
/// (C) [`recv_buf`](Self::recv_buf); (D) outputs, in this order after each input:
/// [`poll_event`](Self::poll_event) until `None`, [`poll_transmit`](Self::poll_transmit). Events:
/// [`ServerEvent::Waiting`] (`waiting to receive message`), [`ServerEvent::Received`]
/// (`received N bytes from ADDR` and the data), [`ServerEvent::Sent`] (`sent N bytes back to
/// ADDR`).
///
/// ```
/// use core::net::SocketAddr;
/// use portsock_core::echo::datagram::{DatagramEchoServer, ServerEvent};
/// use portsock_core::machine::Received;
///
/// let peer: SocketAddr = "127.0.0.1:5000".parse()?;
/// let mut server = DatagramEchoServer::new([0u8; 4096]);
/// assert_eq!(server.poll_event(), Some(ServerEvent::Waiting));
/// server.recv_buf().unwrap()[..2].copy_from_slice(b"hi");
/// server.handle_received(Received { len: 2, from: peer });
/// assert_eq!(server.poll_event(), Some(ServerEvent::Received { from: &peer, data: b"hi", len: 2 }));
/// let t = server.poll_transmit().unwrap();
/// assert_eq!((t.to, t.payload), (&peer, &b"hi"[..]));
/// server.handle_sent();
/// assert_eq!(server.poll_event(), Some(ServerEvent::Sent { to: &peer, len: 2 }));
/// assert_eq!(server.poll_event(), Some(ServerEvent::Waiting));
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DatagramEchoServer<B, A = SocketAddr> {
    inner: Responder<B, A>,
}

/// What a [`DatagramEchoServer`] did, for the chapter's server lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ServerEvent<'a, A> {
    /// Ready for the next datagram (`waiting to receive message`).
    Waiting,
    /// A datagram arrived (`received N bytes from ADDR`, then the data).
    Received {
        /// The sender.
        from: &'a A,
        /// What the buffer holds of it.
        data: &'a [u8],
        /// Its full length (more than `data.len()` if it was truncated).
        len: usize,
    },
    /// The echo was sent (`sent N bytes back to ADDR`).
    Sent {
        /// The destination.
        to: &'a A,
        /// Bytes sent.
        len: usize,
    },
}

/// The datagram echo client (`socket_echo_client_dgram.py`): send the message to the server,
/// wait for the echo, verify it.
///
/// A reply from another address is reported ([`ClientEvent::Stray`]) and ignored. If nothing
/// comes back within the timeout ([`DEFAULT_TIMEOUT`], [`with_timeout`](Self::with_timeout)) it
/// sends again, up to [`with_retries`](Self::with_retries) times (none by default), then fails
/// with [`DatagramEchoError::Lost`] instead of waiting forever.
///
/// # Calling order
///
/// (B) inputs [`handle_sent`](Self::handle_sent), [`handle_received`](Self::handle_received),
/// [`handle_timeout`](Self::handle_timeout); (C) [`recv_buf`](Self::recv_buf); (D) outputs, in
/// this order after each input: [`poll_event`](Self::poll_event) until `None`,
/// [`poll_transmit`](Self::poll_transmit), [`poll_timeout`](Self::poll_timeout) (the deadline
/// for the next receive). Events: [`ClientEvent::Sending`] (`sending b'...'`),
/// [`ClientEvent::Waiting`] (`waiting to receive`), [`ClientEvent::Received`] (`received
/// b'...'`).
///
/// ```
/// use core::net::SocketAddr;
/// use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoError};
/// use portsock_core::time::{Duration, Instant};
///
/// let server: SocketAddr = "127.0.0.1:10000".parse()?;
/// let mut client = DatagramEchoClient::new(b"ping", server, [0u8; 64])
///     .with_timeout(Duration::from_millis(200));
/// assert!(client.poll_transmit().is_some());
/// client.handle_sent(Instant::from_millis(1_000));
/// assert_eq!(client.poll_timeout(), Some(Instant::from_millis(1_200)));
/// client.handle_timeout(Instant::from_millis(1_100))?; // not yet
/// assert_eq!(
///     client.handle_timeout(Instant::from_millis(1_200)),
///     Err(DatagramEchoError::Lost { attempts: 1, timeout: Duration::from_millis(200) })
/// );
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
///
/// Over the in-memory network, client and server taking turns:
///
/// ```
/// use portsock_core::drive::{run_datagram, step_datagram};
/// use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoServer};
/// use portsock_core::mem::{ManualClock, Network};
/// use portsock_core::transport::Blocking;
///
/// let clock = ManualClock::new();
/// let net = Network::<4, 4, 64>::new(&clock);
/// let mut server_socket = net.bind("127.0.0.1:10000".parse()?)?;
/// let mut client_socket = net.bind("127.0.0.1:0".parse()?)?;
/// client_socket.set_nonblocking(true)?;
/// let mut client = DatagramEchoClient::new(b"ping", "127.0.0.1:10000".parse()?, [0u8; 64]);
/// let mut server = DatagramEchoServer::new([0u8; 64]).with_limit(1);
/// step_datagram(&mut client_socket, &mut client, &clock, &mut |_| {})?; // sends
/// run_datagram(&mut server_socket, &mut server, &clock, &mut |_| {})?; // echoes once
/// run_datagram(&mut client_socket, &mut client, &clock, &mut |_| {})?; // verifies
/// assert!(client.is_done());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DatagramEchoClient<'a, B, A = SocketAddr> {
    message: &'a [u8],
    server: A,
    buf: B,
    timeout: Duration,
    retries: u32,
    attempts: u32,
    phase: ClientPhase,
    announce: bool,
    retry_pending: Option<u32>,
    waiting_pending: bool,
    stray: Option<(A, usize)>,
    stray_pending: bool,
    received_pending: bool,
}

/// What a [`DatagramEchoClient`] did, for the chapter's client lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ClientEvent<'a, A> {
    /// About to send the message (`sending b'...'`).
    Sending(&'a [u8]),
    /// Sending it again after a timeout; the attempt number, from 2.
    Retrying(u32),
    /// Sent; waiting for the echo (`waiting to receive`).
    Waiting,
    /// A datagram from someone other than the server, ignored.
    Stray {
        /// Its sender.
        from: &'a A,
        /// Its length.
        len: usize,
    },
    /// The echo, verified (`received b'...'`).
    Received(&'a [u8]),
}

/// Why a datagram echo failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DatagramEchoError {
    /// No echo came back: the request or the echo was lost (or no server is there).
    Lost {
        /// Datagrams sent.
        attempts: u32,
        /// How long it waited after each.
        timeout: Duration,
    },
    /// An echoed byte differs from the one sent.
    Mismatch {
        /// Its offset in the message.
        offset: usize,
        /// What was sent.
        expected: u8,
        /// What came back.
        got: u8,
    },
    /// The echo is longer than the client's buffer, so it cannot be verified.
    Truncated {
        /// The echo's length.
        len: usize,
        /// The buffer's size.
        capacity: usize,
    },
    /// The echo has the right bytes but not the right length.
    WrongLength {
        /// The message's length.
        expected: usize,
        /// The echo's length.
        got: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientPhase {
    Send,
    Wait { deadline: Instant },
    Done,
    Failed,
}

impl<B: Buffer, A> DatagramEchoServer<B, A> {
    /// A server receiving into `buf`.
    pub fn new(buf: B) -> Self {
        Self {
            inner: Responder::new(buf),
        }
    }

    /// Done after `n` datagrams.
    #[must_use]
    pub fn with_limit(mut self, n: usize) -> Self {
        self.inner.set_limit(n);
        self
    }

    /// Datagrams handled so far.
    pub fn served(&self) -> usize {
        self.inner.served()
    }

    /// Whether the limit was reached.
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Where the next datagram goes, or `None` while an echo is pending.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.inner.recv_buf()
    }

    /// A datagram arrived in [`recv_buf`](Self::recv_buf).
    pub fn handle_received(&mut self, received: Received<A>) {
        let echo = received.copied(self.inner.capacity()) > 0;
        self.inner.handle_received(received, echo);
    }

    /// The echo to send, if any.
    pub fn poll_transmit(&self) -> Option<Transmit<'_, A>> {
        self.inner.poll_transmit(|data| data)
    }

    /// The echo from [`poll_transmit`](Self::poll_transmit) was sent.
    pub fn handle_sent(&mut self) {
        self.inner.handle_sent();
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent<'_, A>> {
        Some(match self.inner.poll_step()? {
            Step::Waiting => ServerEvent::Waiting,
            Step::Received { from, data, len } => ServerEvent::Received { from, data, len },
            Step::Replied { to, len } => ServerEvent::Sent { to, len },
        })
    }
}

impl<'a, B: Buffer, A: PartialEq> DatagramEchoClient<'a, B, A> {
    /// A client that sends `message` to `server` and receives the echo into `buf`.
    pub fn new(message: &'a [u8], server: A, buf: B) -> Self {
        Self {
            message,
            server,
            buf,
            timeout: DEFAULT_TIMEOUT,
            retries: 0,
            attempts: 0,
            phase: ClientPhase::Send,
            announce: true,
            retry_pending: None,
            waiting_pending: false,
            stray: None,
            stray_pending: false,
            received_pending: false,
        }
    }

    /// Waits `timeout` for each echo.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends again up to `retries` times when no echo comes back in time.
    #[must_use]
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Datagrams sent so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the echo came back, verified.
    pub fn is_done(&self) -> bool {
        self.phase == ClientPhase::Done
    }

    /// The message to send, if it is time to send it.
    pub fn poll_transmit(&self) -> Option<Transmit<'_, A>> {
        (self.phase == ClientPhase::Send).then_some(Transmit {
            to: &self.server,
            payload: self.message,
        })
    }

    /// The message was sent at `now`; the wait for the echo starts.
    pub fn handle_sent(&mut self, now: Instant) {
        if self.phase != ClientPhase::Send {
            return;
        }
        self.attempts += 1;
        self.phase = ClientPhase::Wait {
            deadline: now + self.timeout,
        };
        self.waiting_pending = true;
    }

    /// When the wait for the echo ends.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            ClientPhase::Wait { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// Time has reached `now`: if the wait is over, send again or give up.
    ///
    /// # Errors
    ///
    /// [`DatagramEchoError::Lost`] once the retries are used up.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), DatagramEchoError> {
        let ClientPhase::Wait { deadline } = self.phase else {
            return Ok(());
        };
        if now < deadline {
            return Ok(());
        }
        if self.attempts <= self.retries {
            crate::log::debug!(
                "datagram echo: no echo yet, attempt {=u32}",
                self.attempts + 1
            );
            self.phase = ClientPhase::Send;
            self.retry_pending = Some(self.attempts + 1);
            return Ok(());
        }
        crate::log::warning!("datagram echo: lost after {=u32} attempts", self.attempts);
        self.phase = ClientPhase::Failed;
        Err(DatagramEchoError::Lost {
            attempts: self.attempts,
            timeout: self.timeout,
        })
    }

    /// Where the echo goes, while waiting for it.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        let waiting = matches!(self.phase, ClientPhase::Wait { .. });
        let buf = self.buf.as_mut();
        (waiting && !buf.is_empty()).then_some(buf)
    }

    /// A datagram arrived in [`recv_buf`](Self::recv_buf): if it is from the server, verify it.
    ///
    /// # Errors
    ///
    /// [`DatagramEchoError::Mismatch`], [`Truncated`](DatagramEchoError::Truncated) or
    /// [`WrongLength`](DatagramEchoError::WrongLength); each is final.
    pub fn handle_received(&mut self, received: Received<A>) -> Result<(), DatagramEchoError> {
        if !matches!(self.phase, ClientPhase::Wait { .. }) {
            return Ok(());
        }
        if received.from != self.server {
            self.stray = Some((received.from, received.len));
            self.stray_pending = true;
            return Ok(());
        }
        let capacity = self.buf.as_ref().len();
        let got = self
            .buf
            .as_ref()
            .get(..received.copied(capacity))
            .unwrap_or_default();
        let result = verify(self.message, got, received.len, capacity);
        self.phase = if result.is_ok() {
            ClientPhase::Done
        } else {
            ClientPhase::Failed
        };
        self.received_pending = result.is_ok();
        result
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent<'_, A>> {
        if core::mem::take(&mut self.announce) {
            return Some(ClientEvent::Sending(self.message));
        }
        if let Some(attempt) = self.retry_pending.take() {
            return Some(ClientEvent::Retrying(attempt));
        }
        if core::mem::take(&mut self.waiting_pending) {
            return Some(ClientEvent::Waiting);
        }
        if core::mem::take(&mut self.received_pending) {
            return Some(ClientEvent::Received(self.message));
        }
        // The stray's address is kept until the next one replaces it, so the event can borrow it.
        if core::mem::take(&mut self.stray_pending)
            && let Some((from, len)) = &self.stray
        {
            return Some(ClientEvent::Stray { from, len: *len });
        }
        None
    }
}

fn verify(
    message: &[u8],
    got: &[u8],
    len: usize,
    capacity: usize,
) -> Result<(), DatagramEchoError> {
    if let Some(offset) = got.iter().zip(message).position(|(g, m)| g != m) {
        return Err(DatagramEchoError::Mismatch {
            offset,
            expected: message[offset],
            got: got[offset],
        });
    }
    if len > capacity {
        return Err(DatagramEchoError::Truncated { len, capacity });
    }
    if len != message.len() {
        return Err(DatagramEchoError::WrongLength {
            expected: message.len(),
            got: len,
        });
    }
    Ok(())
}

impl<B: Buffer, A> DatagramMachine for DatagramEchoServer<B, A> {
    type Addr = A;
    type Error = Infallible;
    fn poll_transmit(&self) -> Option<Transmit<'_, A>> {
        self.poll_transmit()
    }
    fn handle_sent(&mut self, _now: Instant) {
        self.handle_sent();
    }
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.recv_buf()
    }
    fn handle_received(&mut self, _now: Instant, received: Received<A>) -> Result<(), Infallible> {
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

impl<'a, B: Buffer, A: PartialEq> DatagramMachine for DatagramEchoClient<'a, B, A> {
    type Addr = A;
    type Error = DatagramEchoError;
    fn poll_transmit(&self) -> Option<Transmit<'_, A>> {
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
        _now: Instant,
        received: Received<A>,
    ) -> Result<(), DatagramEchoError> {
        self.handle_received(received)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), DatagramEchoError> {
        self.handle_timeout(now)
    }
    fn is_done(&self) -> bool {
        self.is_done()
    }
}

impl fmt::Display for DatagramEchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lost { attempts, timeout } => {
                write!(
                    f,
                    "no echo after {attempts} datagram(s), waited {timeout} for each"
                )
            }
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
            Self::Truncated { len, capacity } => {
                write!(f, "echo of {len} bytes, buffer holds {capacity}")
            }
            Self::WrongLength { expected, got } => {
                write!(f, "echo of {got} bytes, sent {expected}")
            }
        }
    }
}

impl core::error::Error for DatagramEchoError {}

impl embedded_io::Error for DatagramEchoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Lost { .. } => ErrorKind::TimedOut,
            _ => ErrorKind::InvalidData,
        }
    }
}

#[cfg(test)]
mod tests;
