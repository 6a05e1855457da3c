//! Drivers: run any state machine over any transport, blocking or not.
//!
//! This is the only module that knows both the machines ([`machine`](crate::machine)) and the
//! transports ([`transport`](crate::transport)); neither knows the other. Every machine is one
//! of two kinds, and each kind has one driver:
//!
//! | machine trait | driver |
//! |---|---|
//! | [`StreamMachine`] | [`run_stream`] / [`step_stream`] over a [`Stream`] |
//! | [`DatagramMachine`] | [`run_datagram`] / [`step_datagram`] over a [`Datagram`] and a [`Clock`] |
//!
//! So there is one small loop per transport kind rather than one per machine: poll_transmit →
//! write, poll_timeout → deadline, read → handle_*, and after each of them an observer closure
//! that polls the machine's events as they happen (that is where the examples print the
//! chapter's lines): `&mut |m| while let Some(event) = m.poll_event() { ... }`.
//!
//! `run_*` blocks until the machine is done; it expects a blocking transport. `step_*` makes
//! as much progress as it can and returns; on a non-blocking transport it fails with a
//! would-block [`DriveError::Transport`] (see [`DriveError::is_would_block`]) when nothing could
//! be done, which an event loop treats as "wait for readiness, or until the machine's
//! `poll_timeout`, and step again". State is never lost: a machine remembers everything the
//! transport accepted.
//!
//! An event loop in miniature: both ends non-blocking, each side stepped in turn, "would
//! block" meaning "nothing to do now":
//!
//! ```
//! use portsock_core::drive::step_stream;
//! use portsock_core::echo::CHAPTER_MESSAGE;
//! use portsock_core::echo::stream::{ClientEvent, EchoClient, EchoSession};
//! use portsock_core::mem::StreamPair;
//! use portsock_core::transport::Blocking;
//!
//! let pair = StreamPair::<64>::new();
//! let (mut client_end, mut server_end) = pair.split();
//! client_end.set_nonblocking(true)?;
//! server_end.set_nonblocking(true)?;
//! let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]);
//! let mut session = EchoSession::new([0u8; 16]);
//! let mut lines = Vec::new();
//! while !client.is_done() {
//!     let step = step_stream(&mut client_end, &mut client, &mut |c| {
//!         while let Some(event) = c.poll_event() {
//!             if let ClientEvent::Received(data) = event {
//!                 lines.push(String::from_utf8_lossy(data).into_owned());
//!             }
//!         }
//!     });
//!     match step {
//!         Err(e) if !e.is_would_block() => return Err(e.into()),
//!         _ => {}
//!     }
//!     match step_stream(&mut server_end, &mut session, &mut |_| {}) {
//!         Err(e) if !e.is_would_block() => return Err(e.into()),
//!         _ => {}
//!     }
//! }
//! assert_eq!(lines, ["This is the mess", "age.  It will be", " repeated."]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use embedded_io::{Error, ErrorKind};

use crate::machine::{DatagramMachine, Status, StreamMachine};
use crate::time::Clock;
use crate::transport::{Datagram, Stream, TransportError};

/// Why a driver stopped: the transport failed, the protocol failed, or the pair misbehaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DriveError<E, P> {
    /// The transport's error (including would-block and timed out; see
    /// [`is_would_block`](Self::is_would_block)).
    Transport(E),
    /// The machine's protocol error.
    Protocol(P),
    /// A write of a non-empty buffer returned `Ok(0)`, which embedded-io forbids.
    WriteZero,
    /// The machine is not done but asked for no I/O and no timer (e.g. a zero-length buffer).
    Stalled,
}

impl<E: TransportError, P> DriveError<E, P> {
    /// Whether this is the transport saying "would block": nothing could be done now.
    pub fn is_would_block(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_would_block())
    }
}

impl<E: fmt::Display, P: fmt::Display> fmt::Display for DriveError<E, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::Protocol(e) => write!(f, "protocol: {e}"),
            Self::WriteZero => f.write_str("transport: write accepted 0 bytes"),
            Self::Stalled => f.write_str("machine stalled: not done, but wants no i/o"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display, P: fmt::Debug + fmt::Display> core::error::Error
    for DriveError<E, P>
{
}

impl<E: Error, P: Error> Error for DriveError<E, P> {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Transport(e) => e.kind(),
            Self::Protocol(e) => e.kind(),
            Self::WriteZero => ErrorKind::WriteZero,
            Self::Stalled => ErrorKind::Other,
        }
    }
}

/// The error of a stream driver.
pub type StreamDriveError<S, M> =
    DriveError<<S as embedded_io::ErrorType>::Error, <M as StreamMachine>::Error>;
/// The error of a datagram driver.
pub type DatagramDriveError<T, M> =
    DriveError<<T as embedded_io::ErrorType>::Error, <M as DatagramMachine>::Error>;

/// Runs `machine` over a blocking `stream` until it is done, calling `observe(machine)` after
/// every input and output so it can poll the machine's events as they happen.
///
/// # Errors
///
/// The first error of [`step_stream`]; on a non-blocking stream that includes would-block.
pub fn run_stream<S, M, F>(
    stream: &mut S,
    machine: &mut M,
    observe: &mut F,
) -> Result<(), StreamDriveError<S, M>>
where
    S: Stream,
    M: StreamMachine,
    F: FnMut(&mut M),
{
    while step_stream(stream, machine, observe)? == Status::Running {}
    Ok(())
}

/// One round: write what the machine has to send, shut down what it wants shut, and read once
/// if it wants to read.
///
/// # Errors
///
/// [`DriveError::Transport`] with a would-block error if nothing could be done without
/// blocking; any other transport error; the machine's protocol error; [`DriveError::WriteZero`];
/// [`DriveError::Stalled`].
pub fn step_stream<S, M, F>(
    stream: &mut S,
    machine: &mut M,
    observe: &mut F,
) -> Result<Status, StreamDriveError<S, M>>
where
    S: Stream,
    M: StreamMachine,
    F: FnMut(&mut M),
{
    observe(machine);
    if machine.is_done() {
        return Ok(Status::Done);
    }
    let mut progressed = false;
    let mut blocked = None;
    while let Some(data) = machine.poll_transmit() {
        match stream.write(data) {
            Ok(0) => return Err(DriveError::WriteZero),
            Ok(n) => {
                machine.handle_sent(n);
                progressed = true;
            }
            Err(e) if e.is_would_block() => {
                blocked = Some(e);
                break;
            }
            Err(e) => return Err(DriveError::Transport(e)),
        }
    }
    observe(machine);
    if blocked.is_none()
        && let Some(how) = machine.poll_close()
    {
        match stream.flush().and_then(|()| stream.shutdown(how)) {
            Ok(()) => {
                machine.handle_closed();
                progressed = true;
            }
            Err(e) if e.is_would_block() => blocked = Some(e),
            Err(e) => return Err(DriveError::Transport(e)),
        }
        observe(machine);
    }
    if let Some(buf) = machine.recv_buf() {
        match stream.read(buf) {
            Ok(0) => machine.handle_peer_closed().map_err(DriveError::Protocol)?,
            Ok(n) => machine.handle_read(n).map_err(DriveError::Protocol)?,
            Err(e) if e.is_would_block() => blocked = Some(e),
            Err(e) => return Err(DriveError::Transport(e)),
        }
        progressed |= blocked.is_none();
        observe(machine);
    }
    finish(machine.is_done(), progressed, blocked)
}

/// Runs `machine` over a blocking datagram socket until it is done, reading time from
/// `clock` and calling `observe(machine)` after every input and output.
///
/// # Errors
///
/// The first error of [`step_datagram`]; on a non-blocking socket that includes would-block.
pub fn run_datagram<T, M, C, F>(
    socket: &mut T,
    machine: &mut M,
    clock: &C,
    observe: &mut F,
) -> Result<(), DatagramDriveError<T, M>>
where
    T: Datagram,
    M: DatagramMachine<Addr = T::Addr>,
    C: Clock + ?Sized,
    F: FnMut(&mut M),
{
    while step_datagram(socket, machine, clock, observe)? == Status::Running {}
    Ok(())
}

/// One round: send what the machine has to send, fire its timer if due, and receive once
/// (until its timer at most) if it wants to receive.
///
/// # Errors
///
/// As [`step_stream`], for datagrams.
pub fn step_datagram<T, M, C, F>(
    socket: &mut T,
    machine: &mut M,
    clock: &C,
    observe: &mut F,
) -> Result<Status, DatagramDriveError<T, M>>
where
    T: Datagram,
    M: DatagramMachine<Addr = T::Addr>,
    C: Clock + ?Sized,
    F: FnMut(&mut M),
{
    observe(machine);
    if machine.is_done() {
        return Ok(Status::Done);
    }
    let mut progressed = false;
    let mut blocked = None;
    while let Some(t) = machine.poll_transmit() {
        match socket.send_to(t.payload, t.to) {
            Ok(()) => {
                machine.handle_sent(clock.now());
                progressed = true;
                observe(machine);
            }
            Err(e) if e.is_would_block() => {
                blocked = Some(e);
                break;
            }
            Err(e) => return Err(DriveError::Transport(e)),
        }
    }
    let deadline = machine.poll_timeout();
    let now = clock.now();
    if deadline.is_some_and(|at| at <= now) {
        machine.handle_timeout(now).map_err(DriveError::Protocol)?;
        observe(machine);
        return finish(machine.is_done(), true, None);
    }
    if let Some(buf) = machine.recv_buf() {
        match socket.recv_from(buf, deadline) {
            Ok(Some(received)) => machine
                .handle_received(clock.now(), received)
                .map_err(DriveError::Protocol)?,
            Ok(None) => machine
                .handle_timeout(clock.now())
                .map_err(DriveError::Protocol)?,
            Err(e) if e.is_would_block() => blocked = Some(e),
            Err(e) => return Err(DriveError::Transport(e)),
        }
        progressed |= blocked.is_none();
        observe(machine);
    }
    finish(machine.is_done(), progressed, blocked)
}

fn finish<E, P>(
    done: bool,
    progressed: bool,
    blocked: Option<E>,
) -> Result<Status, DriveError<E, P>> {
    match (done, progressed, blocked) {
        (true, _, _) => Ok(Status::Done),
        (false, true, _) => Ok(Status::Running),
        (false, false, Some(e)) => Err(DriveError::Transport(e)),
        (false, false, None) => Err(DriveError::Stalled),
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;
    use crate::echo::stream::{EchoClient, EchoError};
    use crate::machine::Shutdown;
    use crate::mem::{MemError, StreamPair};
    use crate::transport::{ErrorType, Read, Write};

    /// A stream that accepts writes with `Ok(0)`, which embedded-io forbids.
    struct ZeroWriter;

    impl ErrorType for ZeroWriter {
        type Error = ErrorKind;
    }
    impl Read for ZeroWriter {
        fn read(&mut self, _: &mut [u8]) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Other)
        }
    }
    impl Write for ZeroWriter {
        fn write(&mut self, _: &[u8]) -> Result<usize, ErrorKind> {
            Ok(0)
        }
        fn flush(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }
    impl Stream for ZeroWriter {
        type Addr = ();
        fn shutdown(&mut self, _: Shutdown) -> Result<(), ErrorKind> {
            Ok(())
        }
        fn local_addr(&self) -> Result<(), ErrorKind> {
            Ok(())
        }
        fn peer_addr(&self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }

    #[test]
    fn write_zero_is_an_error_not_a_hang() {
        let mut client = EchoClient::new(b"abc", [0u8; 4]);
        let err = run_stream(&mut ZeroWriter, &mut client, &mut |_| {}).unwrap_err();
        assert_eq!(err, DriveError::WriteZero);
        assert_eq!(err.kind(), ErrorKind::WriteZero);
    }

    #[test]
    fn zero_length_buffer_stalls_instead_of_spinning() {
        let pair = StreamPair::<8>::new();
        let (mut a, mut b) = pair.split();
        let mut client = EchoClient::new(b"abc", [0u8; 0]);
        // Sends, then wants to read the echo into nothing.
        let echo = b.write_all(b"abc");
        assert!(echo.is_ok());
        let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
        assert_eq!(err, DriveError::Stalled);
    }

    #[test]
    fn would_block_is_reported_when_nothing_moves() {
        let pair = StreamPair::<8>::new();
        let (mut a, _b) = pair.split();
        let mut client = EchoClient::new(b"abc", [0u8; 4]);
        // First step sends; the echo is not there yet, but sending was progress.
        assert_eq!(
            step_stream(&mut a, &mut client, &mut |_| {}),
            Ok(Status::Running)
        );
        let err = step_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
        assert!(err.is_would_block());
        assert_eq!(err, DriveError::Transport(MemError::WouldBlock));
    }

    #[test]
    fn errors_display_their_layer() {
        let e: DriveError<MemError, EchoError> = DriveError::Protocol(EchoError::EarlyClose {
            received: 1,
            expected: 2,
        });
        assert_eq!(
            e.to_string(),
            "protocol: peer closed after 1 of 2 echoed bytes"
        );
        let e: DriveError<MemError, EchoError> = DriveError::Transport(MemError::TimedOut);
        assert_eq!(e.to_string(), "transport: timed out");
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(!e.is_would_block());
    }
}
