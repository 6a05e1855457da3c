//! What the server serves: a [`Session`] per connection, made by a [`NewSession`].
//!
//! A session is one of the core's sans-IO stream machines ([`StreamMachine`]) that can also
//! lend its buffer back: the server reads for every idle connection through one shared
//! buffer and leaves a buffer with a session only while it holds bytes it still needs (an
//! echo the client has not taken yet, part of a record), so an idle connection costs no
//! buffer at all.

use portsock_core::echo::stream::EchoSession;
use portsock_core::machine::StreamMachine;
use portsock_core::record::RecordReceiver;

/// A stream machine the [`Server`](crate::Server) can serve, one per connection.
///
/// Implemented for the core's [`EchoSession`] and [`RecordReceiver`] over `Box<[u8]>`.
pub trait Session: StreamMachine<Error: core::fmt::Display> {
    /// Bytes it holds that it still needs: received and not yet echoed, or part of a record.
    fn held(&self) -> usize;

    /// Whether it would read now (false under backpressure, after the end of stream, or with
    /// no buffer to read into).
    fn wants_read(&self) -> bool;

    /// Swaps in `buf` and returns the old buffer if the session holds nothing it still needs
    /// ([`held`](Self::held) is 0); otherwise gives `buf` back as the error. An empty buffer
    /// leaves a session that reads nothing until it is lent a real one.
    ///
    /// # Errors
    ///
    /// `Err(buf)` while the session holds bytes.
    fn replace_buffer(&mut self, buf: Box<[u8]>) -> Result<Box<[u8]>, Box<[u8]>>;
}

impl Session for EchoSession<Box<[u8]>> {
    fn held(&self) -> usize {
        self.buffered()
    }

    fn wants_read(&self) -> bool {
        Self::wants_read(self)
    }

    fn replace_buffer(&mut self, buf: Box<[u8]>) -> Result<Box<[u8]>, Box<[u8]>> {
        Self::replace_buffer(self, buf)
    }
}

impl Session for RecordReceiver<'_, Box<[u8]>> {
    fn held(&self) -> usize {
        self.received()
    }

    fn wants_read(&self) -> bool {
        self.record().is_none() && !self.is_done()
    }

    fn replace_buffer(&mut self, buf: Box<[u8]>) -> Result<Box<[u8]>, Box<[u8]>> {
        Self::replace_buffer(self, buf)
    }
}

/// Makes the session of each accepted connection. Any `FnMut() -> S` closure is one; the
/// server calls it once per connection, with an empty buffer expected (the server lends one).
///
// The example is the mio server's: compiled and run with its feature only.
#[cfg_attr(feature = "mio", doc = "```")]
#[cfg_attr(not(feature = "mio"), doc = "```ignore")]
/// use portsock_core::record::RecordReceiver;
/// use portsock_core::wire::structfmt::Format;
/// use portsock_server::{Server, ServerConfig};
///
/// let format = Format::parse("I 2s f")?;
/// // Each connection gets a receiver of one 'I 2s f' record; the server lends it buffers
/// // of the record's size.
/// let config = ServerConfig::new().with_buffer_size(format.size());
/// let server = Server::with_sessions(config, move || {
///     RecordReceiver::new(format, Box::default()).expect("a format that unpacks")
/// })?;
/// # drop(server);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait NewSession {
    /// The session type.
    type Session: Session;

    /// A fresh session, for a connection just accepted.
    fn new_session(&mut self) -> Self::Session;
}

impl<S: Session, F: FnMut() -> S> NewSession for F {
    type Session = S;

    fn new_session(&mut self) -> S {
        self()
    }
}

/// The echo server's sessions: an [`EchoSession`] reading `chunk` bytes at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoSessions {
    chunk: usize,
}

impl EchoSessions {
    /// Sessions reading at most `chunk` bytes at a time (at least 1).
    pub const fn new(chunk: usize) -> Self {
        Self {
            chunk: if chunk == 0 { 1 } else { chunk },
        }
    }

    /// The read size.
    pub const fn chunk(&self) -> usize {
        self.chunk
    }
}

impl NewSession for EchoSessions {
    type Session = EchoSession<Box<[u8]>>;

    fn new_session(&mut self) -> Self::Session {
        EchoSession::new(Box::default()).with_chunk(self.chunk)
    }
}
