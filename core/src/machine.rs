//! The sans-IO vocabulary: what a protocol machine is, and the few values it trades with
//! whoever runs it.
//!
//! A machine reads no clock, owns no socket and allocates nothing. It is fed with `handle_*`
//! calls and asked with `poll_*` calls, as quinn-proto's `Connection`, and works in a
//! [`Buffer`] the caller lends it. Every machine in this crate is one of two kinds:
//!
//! | trait | machines |
//! |---|---|
//! | [`StreamMachine`] | [`EchoSession`](crate::echo::stream::EchoSession), [`EchoClient`](crate::echo::stream::EchoClient), [`RecordSender`](crate::record::RecordSender), [`RecordReceiver`](crate::record::RecordReceiver) |
//! | [`DatagramMachine`] | [`DatagramEchoServer`](crate::echo::datagram::DatagramEchoServer), [`DatagramEchoClient`](crate::echo::datagram::DatagramEchoClient), [`MulticastSender`](crate::multicast::MulticastSender), [`MulticastReceiver`](crate::multicast::MulticastReceiver) |
//!
//! This module sits below both the machines and the transports: machines implement its traits
//! and speak in its [`Shutdown`], [`Received`] and [`Transmit`]; transports take and return
//! the same [`Shutdown`] and [`Received`]. Only the drivers (`portsock_core::drive`) know
//! both sides and join them.
//!
//! What a driver asks a stream machine before each I/O call, written against the trait so it
//! works for any of them:
//!
//! ```
//! use portsock_core::echo::stream::EchoClient;
//! use portsock_core::machine::StreamMachine;
//!
//! fn wants<M: StreamMachine>(m: &mut M) -> &'static str {
//!     if m.is_done() {
//!         "nothing: done"
//!     } else if m.poll_transmit().is_some() {
//!         "to write"
//!     } else if m.poll_close().is_some() {
//!         "to shut down"
//!     } else if m.recv_buf().is_some() {
//!         "to read"
//!     } else {
//!         "nothing now"
//!     }
//! }
//!
//! let mut client = EchoClient::new(b"hi", [0u8; 8]);
//! assert_eq!(wants(&mut client), "to write");
//! client.handle_sent(2); // the transport took both bytes
//! assert_eq!(wants(&mut client), "to read");
//! client.recv_buf().unwrap()[..2].copy_from_slice(b"hi"); // a read returned the echo
//! client.handle_read(2)?;
//! assert_eq!(wants(&mut client), "nothing: done");
//! # Ok::<(), portsock_core::echo::stream::EchoError>(())
//! ```

use embedded_io::Error;

use crate::time::Instant;

pub(crate) mod responder;

/// Bytes the caller lends a machine: anything that is a mutable byte slice (`[u8; N]`,
/// `&mut [u8]`, `Vec<u8>`, `Box<[u8]>`).
pub trait Buffer: AsRef<[u8]> + AsMut<[u8]> {}

impl<B: AsRef<[u8]> + AsMut<[u8]> + ?Sized> Buffer for B {}

/// Which direction(s) of a stream to shut down (`shutdown(2)`'s `SHUT_RD`, `SHUT_WR`,
/// `SHUT_RDWR`): what a [`StreamMachine`] asks for and a stream transport does. Complete:
/// there is no other direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Shutdown {
    /// No more reading; further reads return end of stream.
    Read,
    /// No more writing; the peer reads end of stream (TCP sends FIN) once the data sent so far
    /// has arrived.
    Write,
    /// Both.
    Both,
}

/// A datagram received: its full size and its sender. A datagram transport's receive
/// returns it, and a [`DatagramMachine`] is handed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Received<A> {
    /// The datagram's full size, even when the buffer was shorter and the rest was discarded.
    pub len: usize,
    /// Who sent it.
    pub from: A,
}

impl<A> Received<A> {
    /// How many bytes landed in a buffer of `capacity` bytes: `min(len, capacity)`.
    pub fn copied(&self, capacity: usize) -> usize {
        self.len.min(capacity)
    }

    /// Whether a buffer of `capacity` bytes was too short for the datagram.
    pub fn is_truncated(&self, capacity: usize) -> bool {
        self.len > capacity
    }
}

/// A datagram to send: where, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transmit<'a, A> {
    /// The destination.
    pub to: &'a A,
    /// The payload.
    pub payload: &'a [u8],
}

/// What one step of a driver achieved. None of these is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status {
    /// Progress was made; step again.
    Running,
    /// Nothing could be done now: the transport is non-blocking and would have had to wait.
    /// Wait until it is ready (mio, an interface poll) or until the machine's `poll_timeout`,
    /// then step again. The machine lost nothing.
    Blocked,
    /// The machine has finished.
    Done,
}

/// A sans-IO protocol machine over a byte stream.
///
/// The driver's calling order, after each input, is: the observer (which polls the machine's
/// events), [`poll_transmit`](Self::poll_transmit) / [`handle_sent`](Self::handle_sent) while
/// there is something to write, [`poll_close`](Self::poll_close) /
/// [`handle_closed`](Self::handle_closed), then [`recv_buf`](Self::recv_buf) / read /
/// [`handle_read`](Self::handle_read) or [`handle_peer_closed`](Self::handle_peer_closed).
///
/// Events are not part of the trait: each machine has its own `poll_event` returning its own
/// event type, and the driver hands the observer the machine itself to poll them. (A generic
/// `FnMut(M::Event<'_>)` observer would force every machine to be `'static`, a known limit of
/// generic associated types in higher-ranked bounds, and machines borrow their buffers.)
pub trait StreamMachine {
    /// The protocol error.
    type Error: Error;

    /// Bytes to write next, if any. The machine keeps them until [`handle_sent`](Self::handle_sent).
    fn poll_transmit(&self) -> Option<&[u8]>;
    /// The transport accepted the first `n` bytes of [`poll_transmit`](Self::poll_transmit).
    fn handle_sent(&mut self, n: usize);
    /// Where to read into, or `None` if the machine does not want to read now (backpressure,
    /// or nothing more expected). Never empty.
    fn recv_buf(&mut self) -> Option<&mut [u8]>;
    /// The transport filled the first `n` bytes of [`recv_buf`](Self::recv_buf) (`n > 0`).
    ///
    /// # Errors
    ///
    /// The protocol's verdict on the bytes.
    fn handle_read(&mut self, n: usize) -> Result<(), Self::Error>;
    /// The peer closed its sending direction (a read returned end of stream).
    ///
    /// # Errors
    ///
    /// If the protocol expected more.
    fn handle_peer_closed(&mut self) -> Result<(), Self::Error>;
    /// A direction to shut down now, if any.
    fn poll_close(&self) -> Option<Shutdown>;
    /// The shutdown asked for by [`poll_close`](Self::poll_close) was done.
    fn handle_closed(&mut self);
    /// Whether the machine has finished.
    fn is_done(&self) -> bool;
}

/// A sans-IO protocol machine over datagrams, with timers.
///
/// The driver's calling order, after each input, is: the observer (which polls the machine's
/// events), [`poll_transmit`](Self::poll_transmit) / [`handle_sent`](Self::handle_sent) while
/// there is something to send, [`poll_timeout`](Self::poll_timeout) (and
/// [`handle_timeout`](Self::handle_timeout) once it has passed), then
/// [`recv_buf`](Self::recv_buf) / receive with `poll_timeout` as the deadline /
/// [`handle_received`](Self::handle_received). Events are the machine's own, as for
/// [`StreamMachine`].
pub trait DatagramMachine {
    /// The peer address type.
    type Addr;
    /// The protocol error.
    type Error: Error;

    /// A datagram to send next, if any. The machine keeps it until [`handle_sent`](Self::handle_sent).
    fn poll_transmit(&self) -> Option<Transmit<'_, Self::Addr>>;
    /// The datagram from [`poll_transmit`](Self::poll_transmit) was sent at `now`.
    fn handle_sent(&mut self, now: Instant);
    /// Where to receive into, or `None` if the machine does not want to receive now. Never
    /// empty.
    fn recv_buf(&mut self) -> Option<&mut [u8]>;
    /// A datagram arrived at `now` in [`recv_buf`](Self::recv_buf).
    ///
    /// # Errors
    ///
    /// The protocol's verdict on the datagram.
    fn handle_received(
        &mut self,
        now: Instant,
        received: Received<Self::Addr>,
    ) -> Result<(), Self::Error>;
    /// When the machine wants [`handle_timeout`](Self::handle_timeout) called, if ever.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Time has reached `now`; expired timers fire.
    ///
    /// # Errors
    ///
    /// If a timer's expiry is a protocol failure (e.g. no reply).
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error>;
    /// Whether the machine has finished.
    fn is_done(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_reports_truncation() {
        let r = Received { len: 10, from: () };
        assert_eq!(r.copied(4), 4);
        assert_eq!(r.copied(16), 10);
        assert!(r.is_truncated(9));
        assert!(!r.is_truncated(10));
    }
}
