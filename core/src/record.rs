//! Binary records over a stream (`socket_binary_client.py`, `socket_binary_server.py`): a
//! [`RecordSender`] packs values with the struct codec and sends the bytes; a
//! [`RecordReceiver`] reads exactly one record's size, across short reads, and unpacks it.
//!
//! The chapter's format is [`CHAPTER_FORMAT`] (`'I 2s f'`, native: 12 bytes on common targets)
//! and its values are [`chapter_values`] (`(1, b'ab', 2.7)`).
//!
//! ```
//! use portsock_core::record::{chapter_values, Hexlify, RecordReceiver, RecordSender, CHAPTER_FORMAT};
//! use portsock_core::wire::structfmt::{Format, Value};
//!
//! let format = Format::parse(CHAPTER_FORMAT)?;
//! let sender = RecordSender::new(&format, &chapter_values(), [0u8; 64])?;
//! assert_eq!(Hexlify(sender.record()).to_string(), "0100000061620000cdcc2c40");
//!
//! let mut receiver = RecordReceiver::new(format, [0u8; 64])?;
//! for byte in sender.record() {
//!     receiver.recv_buf().unwrap()[0] = *byte; // one byte per read
//!     receiver.handle_read(1)?;
//! }
//! let values: Vec<Value> = receiver.values().unwrap().collect();
//! assert_eq!(values, [Value::Int(1), Value::Bytes(b"ab"), Value::Float(f64::from(2.7f32))]);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use core::fmt;

use embedded_io::ErrorKind;

use crate::machine::{Buffer, Shutdown, StreamMachine};
use crate::wire::structfmt::{Format, PackError, Unpack, UnpackError, Value};

/// The chapter's record format (`struct.Struct('I 2s f')`).
pub const CHAPTER_FORMAT: &str = "I 2s f";

/// The chapter's values: `(1, b'ab', 2.7)`.
pub fn chapter_values() -> [Value<'static>; 3] {
    [Value::Int(1), Value::Bytes(b"ab"), Value::Float(2.7)]
}

/// Displays bytes as lowercase hex, as Python's `binascii.hexlify` (without the `b''`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hexlify<'a>(pub &'a [u8]);

/// Sends one packed record, then shuts down its sending side.
///
/// # Calling order
///
/// As [`EchoSession`](crate::echo::stream::EchoSession)'s; it never reads. Events:
/// [`SenderEvent::Sending`] with the packed bytes (`sending b'0100...'`).
#[derive(Debug, Clone)]
pub struct RecordSender<B> {
    buf: B,
    len: usize,
    sent: usize,
    announce: bool,
    closed: bool,
}

/// What a [`RecordSender`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SenderEvent<'a> {
    /// About to send this record.
    Sending(&'a [u8]),
}

/// Receives one record of a format: reads exactly `format.size()` bytes, however the transport
/// splits them, then unpacks them and closes.
///
/// # Calling order
///
/// As [`EchoSession`](crate::echo::stream::EchoSession)'s. Events: [`ReceiverEvent::Received`]
/// with the bytes (`received b'0100...'`) and the values (`unpacked: (1, b'ab', 2.7...)`).
///
/// Over the in-memory transport:
///
/// ```
/// use portsock_core::drive::run_stream;
/// use portsock_core::mem::StreamPair;
/// use portsock_core::record::{chapter_values, RecordReceiver, RecordSender, CHAPTER_FORMAT};
/// use portsock_core::wire::structfmt::Format;
///
/// let pair = StreamPair::<64>::new().with_max_io(5, 3); // short reads and writes
/// let (mut a, mut b) = pair.split();
/// let format = Format::parse(CHAPTER_FORMAT)?;
/// let mut sender = RecordSender::new(&format, &chapter_values(), [0u8; 16])?;
/// run_stream(&mut a, &mut sender, &mut |_| {})?;
/// let mut receiver = RecordReceiver::new(format, [0u8; 16])?;
/// run_stream(&mut b, &mut receiver, &mut |_| {})?;
/// assert_eq!(receiver.values().map(Iterator::count), Some(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordReceiver<'f, B> {
    format: Format<'f>,
    buf: B,
    filled: usize,
    reported: bool,
    closed: bool,
    failed: bool,
}

/// What a [`RecordReceiver`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReceiverEvent<'a> {
    /// A whole record arrived.
    Received {
        /// Its bytes.
        bytes: &'a [u8],
        /// Its values.
        values: Unpack<'a, 'a>,
    },
}

/// Why a record could not be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecordError {
    /// The buffer is smaller than the record.
    BufferTooSmall {
        /// The record's size.
        need: usize,
        /// The buffer's size.
        got: usize,
    },
    /// The peer closed before the whole record arrived.
    Truncated {
        /// Bytes that arrived.
        got: usize,
        /// The record's size.
        need: usize,
    },
    /// More input than the record has room for.
    Overrun {
        /// Bytes given.
        len: usize,
        /// Bytes still expected.
        room: usize,
    },
    /// The format cannot be unpacked (it contains `0p`).
    Unpack(UnpackError),
}

impl<B: Buffer> RecordSender<B> {
    /// Packs `values` as `format` into `buf`, ready to send.
    ///
    /// # Errors
    ///
    /// The codec's [`PackError`]: wrong number or kind of values, a value out of range, or a
    /// buffer smaller than the record.
    pub fn new(format: &Format<'_>, values: &[Value<'_>], mut buf: B) -> Result<Self, PackError> {
        let len = format.pack(buf.as_mut(), values)?;
        Ok(Self {
            buf,
            len,
            sent: 0,
            announce: true,
            closed: false,
        })
    }

    /// The packed record.
    pub fn record(&self) -> &[u8] {
        self.buf.as_ref().get(..self.len).unwrap_or_default()
    }

    /// Whether the record was sent and the sending side shut down.
    pub fn is_done(&self) -> bool {
        self.closed
    }

    /// The bytes still to send.
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        (self.sent < self.len).then(|| self.record().get(self.sent..).unwrap_or_default())
    }

    /// The transport took `n` more bytes.
    pub fn handle_sent(&mut self, n: usize) {
        self.sent = self.sent.saturating_add(n).min(self.len);
    }

    /// `Some(Shutdown::Write)` once the whole record is sent.
    pub fn poll_close(&self) -> Option<Shutdown> {
        (self.sent == self.len && !self.closed).then_some(Shutdown::Write)
    }

    /// The sending side was shut down.
    pub fn handle_closed(&mut self) {
        self.closed = true;
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SenderEvent<'_>> {
        core::mem::take(&mut self.announce).then(|| SenderEvent::Sending(self.record()))
    }
}

impl<'f, B: Buffer> RecordReceiver<'f, B> {
    /// A receiver of one `format` record into `buf`.
    ///
    /// # Errors
    ///
    /// [`RecordError::BufferTooSmall`] if `buf` is shorter than `format.size()`;
    /// [`RecordError::Unpack`] if the format cannot be unpacked.
    pub fn new(format: Format<'f>, buf: B) -> Result<Self, RecordError> {
        let (need, got) = (format.size(), buf.as_ref().len());
        let Some(record) = buf.as_ref().get(..need) else {
            return Err(RecordError::BufferTooSmall { need, got });
        };
        format.unpack(record).map_err(RecordError::Unpack)?;
        Ok(Self {
            format,
            buf,
            filled: 0,
            reported: false,
            closed: false,
            failed: false,
        })
    }

    /// The format.
    pub fn format(&self) -> &Format<'f> {
        &self.format
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.filled
    }

    /// Swaps in another buffer while the receiver holds no byte of a record
    /// ([`received`](Self::received) is 0), and returns the old one; otherwise gives `buf` back
    /// as the error. A buffer shorter than the record (an empty one, say) makes a receiver that
    /// reads nothing until it gets one long enough: so a server can lend idle receivers one
    /// shared buffer.
    ///
    /// # Errors
    ///
    /// `Err(buf)` once part of a record has arrived.
    pub fn replace_buffer(&mut self, buf: B) -> Result<B, B> {
        if self.filled > 0 {
            return Err(buf);
        }
        Ok(core::mem::replace(&mut self.buf, buf))
    }

    /// The record, once it is complete.
    pub fn record(&self) -> Option<&[u8]> {
        self.is_complete()
            .then(|| self.buf.as_ref().get(..self.filled).unwrap_or_default())
    }

    /// The record's values, once it is complete.
    pub fn values(&self) -> Option<Unpack<'_, '_>> {
        self.format.unpack(self.record()?).ok()
    }

    fn is_complete(&self) -> bool {
        self.filled == self.format.size()
    }

    /// Whether the record arrived and the connection was shut down.
    pub fn is_done(&self) -> bool {
        self.closed
    }

    /// Where the rest of the record goes.
    pub fn recv_buf(&mut self) -> Option<&mut [u8]> {
        if self.failed || self.is_complete() {
            return None;
        }
        let (start, end) = (self.filled, self.format.size());
        self.buf.as_mut().get_mut(start..end)
    }

    /// A read filled the first `n` bytes of [`recv_buf`](Self::recv_buf).
    ///
    /// # Errors
    ///
    /// [`RecordError::Overrun`] if `n` is more than the rest of the record.
    pub fn handle_read(&mut self, n: usize) -> Result<(), RecordError> {
        let room = self.format.size() - self.filled;
        if n > room {
            crate::log::warning!("record: {=usize} bytes where {=usize} were left", n, room);
            self.failed = true;
            return Err(RecordError::Overrun { len: n, room });
        }
        self.filled += n;
        Ok(())
    }

    /// The peer closed its side.
    ///
    /// # Errors
    ///
    /// [`RecordError::Truncated`] if the record is not complete.
    pub fn handle_peer_closed(&mut self) -> Result<(), RecordError> {
        if !self.is_complete() {
            crate::log::warning!(
                "record: peer closed after {=usize} of {=usize} bytes",
                self.filled,
                self.format.size()
            );
            self.failed = true;
            return Err(RecordError::Truncated {
                got: self.filled,
                need: self.format.size(),
            });
        }
        Ok(())
    }

    /// `Some(Shutdown::Both)` once the record is complete (never after an error: an error is
    /// final).
    pub fn poll_close(&self) -> Option<Shutdown> {
        (self.is_complete() && !self.closed && !self.failed).then_some(Shutdown::Both)
    }

    /// The connection was shut down.
    pub fn handle_closed(&mut self) {
        self.closed = true;
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ReceiverEvent<'_>> {
        if self.reported || !self.is_complete() {
            return None;
        }
        self.reported = true;
        let bytes = self.buf.as_ref().get(..self.filled).unwrap_or_default();
        let values = self.format.unpack(bytes).ok()?;
        Some(ReceiverEvent::Received { bytes, values })
    }
}

impl<B: Buffer> StreamMachine for RecordSender<B> {
    type Error = RecordError;
    fn poll_transmit(&self) -> Option<&[u8]> {
        self.poll_transmit()
    }
    fn handle_sent(&mut self, n: usize) {
        self.handle_sent(n);
    }
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        None
    }
    fn handle_read(&mut self, n: usize) -> Result<(), RecordError> {
        Err(RecordError::Overrun { len: n, room: 0 })
    }
    fn handle_peer_closed(&mut self) -> Result<(), RecordError> {
        Ok(())
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

impl<B: Buffer> StreamMachine for RecordReceiver<'_, B> {
    type Error = RecordError;
    fn poll_transmit(&self) -> Option<&[u8]> {
        None
    }
    fn handle_sent(&mut self, _n: usize) {}
    fn recv_buf(&mut self) -> Option<&mut [u8]> {
        self.recv_buf()
    }
    fn handle_read(&mut self, n: usize) -> Result<(), RecordError> {
        self.handle_read(n)
    }
    fn handle_peer_closed(&mut self) -> Result<(), RecordError> {
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

impl fmt::Display for Hexlify<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { need, got } => {
                write!(f, "buffer of {got} bytes, record needs {need}")
            }
            Self::Truncated { got, need } => {
                write!(f, "peer closed after {got} of {need} record bytes")
            }
            Self::Overrun { len, room } => {
                write!(f, "input of {len} bytes, record has room for {room}")
            }
            Self::Unpack(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for RecordError {}

impl embedded_io::Error for RecordError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::BufferTooSmall { .. } | Self::Overrun { .. } | Self::Unpack(_) => {
                ErrorKind::InvalidInput
            }
            Self::Truncated { .. } => ErrorKind::ConnectionAborted,
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for ReceiverEvent<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Self::Received { bytes, .. } => {
                defmt::write!(f, "Received {{ bytes: {=[u8]} }}", bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;
    use std::vec::Vec;

    use super::*;

    const CHAPTER_BYTES: [u8; 12] = [0x01, 0, 0, 0, b'a', b'b', 0, 0, 0xcd, 0xcc, 0x2c, 0x40];

    #[test]
    fn sender_packs_the_chapter_record() {
        let format = Format::parse(CHAPTER_FORMAT).unwrap();
        let mut s = RecordSender::new(&format, &chapter_values(), [0u8; 16]).unwrap();
        assert_eq!(s.record(), CHAPTER_BYTES);
        assert_eq!(s.poll_event(), Some(SenderEvent::Sending(&CHAPTER_BYTES)));
        assert_eq!(s.poll_event(), None);
        s.handle_sent(5);
        assert_eq!(s.poll_transmit(), Some(&CHAPTER_BYTES[5..]));
        assert_eq!(s.poll_close(), None);
        s.handle_sent(100);
        assert_eq!(s.poll_transmit(), None);
        assert_eq!(s.poll_close(), Some(Shutdown::Write));
        s.handle_closed();
        assert!(s.is_done());
    }

    #[test]
    fn receiver_lends_its_buffer_only_while_it_holds_no_record_byte() {
        let format = Format::parse(CHAPTER_FORMAT).unwrap();
        let mut r = RecordReceiver::new(format, std::vec![0u8; 12]).unwrap();
        let lent = r.replace_buffer(Vec::new()).unwrap();
        assert_eq!(lent.len(), 12);
        assert!(r.recv_buf().is_none()); // no room: it reads nothing
        r.replace_buffer(lent).unwrap();
        r.recv_buf().unwrap()[..4].copy_from_slice(&CHAPTER_BYTES[..4]);
        r.handle_read(4).unwrap();
        let refused = r.replace_buffer(Vec::new()).unwrap_err();
        assert!(refused.is_empty());
        r.recv_buf().unwrap().copy_from_slice(&CHAPTER_BYTES[4..]);
        r.handle_read(8).unwrap();
        assert_eq!(r.record(), Some(&CHAPTER_BYTES[..]));
    }

    #[test]
    fn sender_reports_pack_errors() {
        let format = Format::parse(CHAPTER_FORMAT).unwrap();
        assert!(matches!(
            RecordSender::new(&format, &chapter_values(), [0u8; 11]),
            Err(PackError::BufferTooSmall {
                need: 12,
                got: 11,
                ..
            })
        ));
        assert!(matches!(
            RecordSender::new(&format, &[Value::Int(1)], [0u8; 16]),
            Err(PackError::ValueCount {
                expected: 3,
                got: 1
            })
        ));
    }

    #[test]
    fn receiver_reads_exactly_one_record_across_short_reads() {
        let format = Format::parse(CHAPTER_FORMAT).unwrap();
        let mut r = RecordReceiver::new(format, [0u8; 32]).unwrap();
        assert_eq!(
            r.recv_buf().map(|b| b.len()),
            Some(12),
            "never reads past the record"
        );
        for chunk in CHAPTER_BYTES.chunks(5) {
            assert!(r.poll_event().is_none());
            r.recv_buf().unwrap()[..chunk.len()].copy_from_slice(chunk);
            r.handle_read(chunk.len()).unwrap();
        }
        assert!(r.recv_buf().is_none());
        let Some(ReceiverEvent::Received { bytes, values }) = r.poll_event() else {
            panic!("no record")
        };
        assert_eq!(bytes, CHAPTER_BYTES);
        let values: Vec<Value> = values.collect();
        assert_eq!(
            values,
            [
                Value::Int(1),
                Value::Bytes(b"ab"),
                Value::Float(f64::from(2.7f32))
            ]
        );
        assert_eq!(r.poll_close(), Some(Shutdown::Both));
        r.handle_closed();
        assert!(r.is_done());
    }

    #[test]
    fn receiver_errors() {
        let format = Format::parse(CHAPTER_FORMAT).unwrap();
        assert_eq!(
            RecordReceiver::new(format, [0u8; 8]).unwrap_err(),
            RecordError::BufferTooSmall { need: 12, got: 8 }
        );
        let mut r = RecordReceiver::new(format, [0u8; 12]).unwrap();
        r.handle_read(4).unwrap();
        assert_eq!(
            r.handle_read(9),
            Err(RecordError::Overrun { len: 9, room: 8 })
        );
        let mut r = RecordReceiver::new(format, [0u8; 12]).unwrap();
        r.handle_read(4).unwrap();
        let err = r.handle_peer_closed().unwrap_err();
        assert_eq!(err, RecordError::Truncated { got: 4, need: 12 });
        assert_eq!(err.to_string(), "peer closed after 4 of 12 record bytes");
        let zero_p = Format::parse("0p").unwrap();
        assert!(matches!(
            RecordReceiver::new(zero_p, [0u8; 4]),
            Err(RecordError::Unpack(_))
        ));
    }

    #[test]
    fn an_overrun_is_final_even_for_a_complete_record() {
        // Found by the stream_machines fuzz target: an empty record is complete at once, and
        // after a read it never offered was reported, it still asked to close (and so would
        // have ended "done").
        let empty = Format::parse("").unwrap();
        let mut r = RecordReceiver::new(empty, [0u8; 4]).unwrap();
        assert_eq!(r.poll_close(), Some(Shutdown::Both));
        assert_eq!(
            r.handle_read(3),
            Err(RecordError::Overrun { len: 3, room: 0 })
        );
        assert_eq!(r.poll_close(), None);
        assert!(!r.is_done());
    }

    #[test]
    fn hexlify_is_lowercase_hex() {
        assert_eq!(
            Hexlify(&CHAPTER_BYTES).to_string(),
            "0100000061620000cdcc2c40"
        );
        assert_eq!(Hexlify(b"").to_string(), "");
    }
}
