//! Async drivers: run any machine over any async transport until it is done.
//!
//! The loops are the blocking drivers' ([`crate::drive`]), awaited: write what the machine has
//! to send, shut down what it wants shut, read (or receive, racing the machine's timer), and
//! hand the observer the machine after every input and output. They share the blocking
//! drivers' [`DriveError`], minus [`DriveError::Blocked`]: an async transport never would-block.
//!
//! ```
//! # use portsock_core::asynch::drive::run_stream;
//! # use portsock_core::asynch::transport::Stream;
//! use portsock_core::echo::stream::EchoSession;
//!
//! /// Echoes one connection, whatever the runtime: tokio, embassy, edge-nal.
//! # #[allow(dead_code)]
//! async fn echo<S: Stream>(mut stream: S) -> bool {
//!     let mut session = EchoSession::new([0u8; 4096]);
//!     run_stream(&mut stream, &mut session, &mut |_| {}).await.is_ok()
//! }
//! ```
//!
//! # Cancellation
//!
//! Both drivers are cancel-safe when the transport's reads, writes and receives are (as the
//! [`transport`](super::transport) traits require): a byte is handed to the machine only after
//! its read completed, and a write is reported only after it completed, so dropping the future
//! at any `.await` and calling the driver again with the same machine loses and repeats
//! nothing. A shutdown interrupted by cancellation is asked for again.

use crate::drive::{DatagramDriveError, DriveError, StreamDriveError};
use crate::machine::{DatagramMachine, StreamMachine};

use super::select::{Either, first};
use super::time::Timer;
use super::transport::{Datagram, Stream};

/// Runs `machine` over `stream` until it is done, calling `observe(machine)` after every input
/// and output so it can poll the machine's events as they happen.
///
/// Cancel-safe over a cancel-safe stream (see the [module doc](self)): dropped at any
/// `.await`, it can be called again with the same machine.
///
/// # Errors
///
/// The transport's error; the machine's protocol error; [`DriveError::WriteZero`] if a write
/// took nothing; [`DriveError::Stalled`] if the machine, not done, wants no I/O.
pub async fn run_stream<S, M, F>(
    stream: &mut S,
    machine: &mut M,
    observe: &mut F,
) -> Result<(), StreamDriveError<S, M>>
where
    S: Stream,
    M: StreamMachine,
    F: FnMut(&mut M),
{
    loop {
        observe(machine);
        if machine.is_done() {
            return Ok(());
        }
        let mut progressed = false;
        while let Some(data) = machine.poll_transmit() {
            match stream.write(data).await {
                Ok(0) => return Err(DriveError::WriteZero),
                Ok(n) => machine.handle_sent(n),
                Err(e) => return Err(DriveError::Transport(e)),
            }
            progressed = true;
            observe(machine);
        }
        if let Some(how) = machine.poll_close() {
            stream.flush().await.map_err(DriveError::Transport)?;
            stream.shutdown(how).await.map_err(DriveError::Transport)?;
            machine.handle_closed();
            progressed = true;
            observe(machine);
        }
        if let Some(buf) = machine.recv_buf() {
            let n = stream.read(buf).await.map_err(DriveError::Transport)?;
            if n == 0 {
                machine.handle_peer_closed().map_err(DriveError::Protocol)?;
            } else {
                machine.handle_read(n).map_err(DriveError::Protocol)?;
            }
            progressed = true;
        }
        if !progressed && !machine.is_done() {
            return Err(DriveError::Stalled);
        }
    }
}

/// Runs `machine` over a datagram `socket` until it is done, with time and timers from
/// `timer`, calling `observe(machine)` after every input and output.
///
/// A receive races the machine's [`poll_timeout`](DatagramMachine::poll_timeout); when both
/// are ready together the datagram wins, and the timer fires on the next round.
///
/// Cancel-safe over a cancel-safe socket, as [`run_stream`].
///
/// # Errors
///
/// As [`run_stream`], for datagrams.
pub async fn run_datagram<T, M, C, F>(
    socket: &mut T,
    machine: &mut M,
    timer: &C,
    observe: &mut F,
) -> Result<(), DatagramDriveError<T, M>>
where
    T: Datagram,
    M: DatagramMachine<Addr = T::Addr>,
    C: Timer + ?Sized,
    F: FnMut(&mut M),
{
    loop {
        observe(machine);
        if machine.is_done() {
            return Ok(());
        }
        while let Some(t) = machine.poll_transmit() {
            socket
                .send_to(t.payload, t.to)
                .await
                .map_err(DriveError::Transport)?;
            machine.handle_sent(timer.now());
            observe(machine);
        }
        if machine.is_done() {
            continue;
        }
        let deadline = machine.poll_timeout();
        if deadline.is_some_and(|at| at <= timer.now()) {
            machine
                .handle_timeout(timer.now())
                .map_err(DriveError::Protocol)?;
            continue;
        }
        match (machine.recv_buf(), deadline) {
            (Some(buf), Some(at)) => {
                match first(socket.recv_from(buf), timer.sleep_until(at)).await {
                    Either::First(received) => {
                        let received = received.map_err(DriveError::Transport)?;
                        machine
                            .handle_received(timer.now(), received)
                            .map_err(DriveError::Protocol)?;
                    }
                    Either::Second(()) => machine
                        .handle_timeout(timer.now())
                        .map_err(DriveError::Protocol)?,
                }
            }
            (Some(buf), None) => {
                let received = socket.recv_from(buf).await.map_err(DriveError::Transport)?;
                machine
                    .handle_received(timer.now(), received)
                    .map_err(DriveError::Protocol)?;
            }
            (None, Some(at)) => {
                timer.sleep_until(at).await;
                machine
                    .handle_timeout(timer.now())
                    .map_err(DriveError::Protocol)?;
            }
            (None, None) => return Err(DriveError::Stalled),
        }
    }
}
