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
//! `step_*` makes as much progress as it can without blocking and says how it went: a
//! [`Status`] of [`Running`](Status::Running) (step again), [`Blocked`](Status::Blocked)
//! (nothing could be done now: wait for readiness, or until the machine's `poll_timeout`, and
//! step again) or [`Done`](Status::Done). "Would block" is that status, never an error: a
//! [`DriveError`] is always a real failure. State is never lost: a machine remembers
//! everything the transport accepted.
//!
//! `run_*` steps until the machine is done and is meant for **blocking** transports (the
//! default), where a step waits instead of returning `Blocked`. Given a non-blocking transport
//! with nothing to do, it does not spin: it returns [`DriveError::Blocked`], as Python's
//! `sendall` raises `BlockingIOError` on a non-blocking socket. Event loops use `step_*`.
//!
//! An event loop in miniature: both ends non-blocking, each side stepped in turn:
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
//!     // Each side's status is Running, Blocked (the other side has not caught up) or Done.
//!     step_stream(&mut client_end, &mut client, &mut |c| {
//!         while let Some(event) = c.poll_event() {
//!             if let ClientEvent::Received(data) = event {
//!                 lines.push(String::from_utf8_lossy(data).into_owned());
//!             }
//!         }
//!     })?;
//!     step_stream(&mut server_end, &mut session, &mut |_| {})?;
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
    /// The transport's error, such as timed out or reset (never "would block", which is
    /// [`Status::Blocked`]).
    Transport(E),
    /// The machine's protocol error.
    Protocol(P),
    /// A write of a non-empty buffer returned `Ok(0)`, which embedded-io forbids.
    WriteZero,
    /// The machine is not done but asked for no I/O and no timer (e.g. a zero-length buffer).
    Stalled,
    /// `run_*` was given a non-blocking transport and nothing could be done without waiting.
    /// `run_*` is for blocking transports; an event loop calls `step_*`, which reports this as
    /// [`Status::Blocked`]. The machine lost nothing: run or step it again once ready.
    Blocked,
}

impl<E: fmt::Display, P: fmt::Display> fmt::Display for DriveError<E, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::Protocol(e) => write!(f, "protocol: {e}"),
            Self::WriteZero => f.write_str("transport: write accepted 0 bytes"),
            Self::Stalled => f.write_str("machine stalled: not done, but wants no i/o"),
            Self::Blocked => {
                f.write_str("transport would block (run_* needs a blocking transport; use step_*)")
            }
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
            Self::Stalled | Self::Blocked => ErrorKind::Other,
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
/// The first error of [`step_stream`]; [`DriveError::Blocked`] if the stream is non-blocking
/// and a step could do nothing.
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
    run(|| step_stream(stream, machine, observe))
}

/// One round: write what the machine has to send, shut down what it wants shut, and read once
/// if it wants to read. Returns [`Status::Blocked`] if the stream is non-blocking and none of
/// that could be done now.
///
/// # Errors
///
/// A transport error other than "would block"; the machine's protocol error;
/// [`DriveError::WriteZero`]; [`DriveError::Stalled`].
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
    let mut blocked = false;
    while let Some(data) = machine.poll_transmit() {
        match stream.write(data) {
            Ok(0) => return Err(DriveError::WriteZero),
            Ok(n) => {
                machine.handle_sent(n);
                progressed = true;
            }
            Err(e) if e.is_would_block() => {
                blocked = true;
                break;
            }
            Err(e) => return Err(DriveError::Transport(e)),
        }
    }
    observe(machine);
    if !blocked && let Some(how) = machine.poll_close() {
        match stream.flush().and_then(|()| stream.shutdown(how)) {
            Ok(()) => {
                machine.handle_closed();
                progressed = true;
            }
            Err(e) if e.is_would_block() => blocked = true,
            Err(e) => return Err(DriveError::Transport(e)),
        }
        observe(machine);
    }
    if let Some(buf) = machine.recv_buf() {
        match stream.read(buf) {
            Ok(0) => {
                machine.handle_peer_closed().map_err(DriveError::Protocol)?;
                progressed = true;
            }
            Ok(n) => {
                machine.handle_read(n).map_err(DriveError::Protocol)?;
                progressed = true;
            }
            Err(e) if e.is_would_block() => blocked = true,
            Err(e) => return Err(DriveError::Transport(e)),
        }
        observe(machine);
    }
    finish(machine.is_done(), progressed, blocked)
}

/// Runs `machine` over a blocking datagram socket until it is done, reading time from
/// `clock` and calling `observe(machine)` after every input and output.
///
/// # Errors
///
/// The first error of [`step_datagram`]; [`DriveError::Blocked`] if the socket is non-blocking
/// and a step could do nothing.
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
    run(|| step_datagram(socket, machine, clock, observe))
}

/// One round: send what the machine has to send, fire its timer if due, and receive once
/// (until its timer at most) if it wants to receive. Returns [`Status::Blocked`] if the socket
/// is non-blocking and none of that could be done now.
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
    let mut blocked = false;
    while let Some(t) = machine.poll_transmit() {
        match socket.send_to(t.payload, t.to) {
            Ok(()) => {
                machine.handle_sent(clock.now());
                progressed = true;
                observe(machine);
            }
            Err(e) if e.is_would_block() => {
                blocked = true;
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
        return finish(machine.is_done(), true, false);
    }
    if let Some(buf) = machine.recv_buf() {
        match socket.recv_from(buf, deadline) {
            Ok(Some(received)) => {
                let now = clock.now();
                machine
                    .handle_received(now, received)
                    .map_err(DriveError::Protocol)?;
                progressed = true;
            }
            Ok(None) => {
                machine
                    .handle_timeout(clock.now())
                    .map_err(DriveError::Protocol)?;
                progressed = true;
            }
            Err(e) if e.is_would_block() => blocked = true,
            Err(e) => return Err(DriveError::Transport(e)),
        }
        observe(machine);
    }
    finish(machine.is_done(), progressed, blocked)
}

/// Steps until done; a blocked step ends the run (see [`DriveError::Blocked`]).
fn run<E, P>(
    mut step: impl FnMut() -> Result<Status, DriveError<E, P>>,
) -> Result<(), DriveError<E, P>> {
    loop {
        match step()? {
            Status::Running => {}
            Status::Blocked => return Err(DriveError::Blocked),
            Status::Done => return Ok(()),
        }
    }
}

fn finish<E, P>(done: bool, progressed: bool, blocked: bool) -> Result<Status, DriveError<E, P>> {
    match (done, progressed, blocked) {
        (true, _, _) => Ok(Status::Done),
        (false, true, _) => Ok(Status::Running),
        (false, false, true) => Ok(Status::Blocked),
        (false, false, false) => Err(DriveError::Stalled),
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;
    use crate::echo::stream::{EchoClient, EchoError};
    use crate::machine::Shutdown;
    use crate::mem::{MemError, StreamPair};
    use crate::transport::{Blocking, ErrorType, Read, Write};

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
    fn would_block_is_a_status_when_nothing_moves() {
        let pair = StreamPair::<8>::new();
        let (mut a, _b) = pair.split();
        a.set_nonblocking(true).unwrap();
        let mut client = EchoClient::new(b"abc", [0u8; 4]);
        // First step sends; the echo is not there yet, but sending was progress.
        assert_eq!(
            step_stream(&mut a, &mut client, &mut |_| {}),
            Ok(Status::Running)
        );
        assert_eq!(
            step_stream(&mut a, &mut client, &mut |_| {}),
            Ok(Status::Blocked)
        );
        // run_* does not spin on a non-blocking stream: it says what happened.
        let err = run_stream(&mut a, &mut client, &mut |_| {}).unwrap_err();
        assert_eq!(err, DriveError::Blocked);
        assert_eq!(client.sent(), 3);
    }

    #[test]
    fn a_read_after_a_blocked_write_is_progress() {
        let pair = StreamPair::<8>::new();
        let (mut a, mut b) = pair.split();
        a.set_nonblocking(true).unwrap();
        let message = b"0123456789abcdef";
        let mut client = EchoClient::new(message, [0u8; 16]);
        assert_eq!(
            step_stream(&mut a, &mut client, &mut |_| {}),
            Ok(Status::Running)
        );
        assert_eq!(client.sent(), 8); // the pipe holds 8 bytes
        // The peer echoes 3 bytes without reading more: writing still blocks, reading works.
        b.write_all(&message[..3]).unwrap();
        assert_eq!(
            step_stream(&mut a, &mut client, &mut |_| {}),
            Ok(Status::Running)
        );
        assert_eq!((client.sent(), client.received()), (8, 3));
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
        let e: DriveError<MemError, EchoError> = DriveError::Blocked;
        assert!(e.to_string().contains("use step_*"), "{e}");
    }
}
