//! TCP streams: an embassy-net [`TcpSocket`] of a [pool](crate::pool) behind portsock's
//! [`Stream`].
//!
//! # Cancellation
//!
//! | operation | cancel-safe |
//! |---|---|
//! | [`read`](Read::read) | yes: embassy-net's read is one `poll_fn` that copies out of the socket's buffer only when it completes |
//! | [`write`](Write::write) | yes: likewise, it copies into the send buffer only when it completes |
//! | [`flush`](Write::flush) | yes: it only waits for the peer's acknowledgements |
//! | [`shutdown`](Stream::shutdown) | yes: it awaits nothing (the FIN follows the queued bytes) |

use core::cell::RefMut;
use core::net::SocketAddr;

use embassy_net::tcp::TcpSocket;
use portsock_core::asynch::transport::{ErrorType, Read, Shutdown, Stream, Write};

use crate::Error;
use crate::addr::socket_addr;
use crate::pool::{Slot, SlotState, Waiters};

/// A connected TCP stream: a socket of a [`TcpListener`](crate::TcpListener)'s or
/// [`TcpConnector`](crate::TcpConnector)'s pool, borrowed until the stream is dropped.
///
/// Dropping it closes the connection in order (a FIN after the bytes still queued) and gives
/// the socket back to its pool, which listens (or connects) with it again once the close has
/// completed. The socket stays in the stack meanwhile, so the peer reads every byte and then
/// end of stream, as from a kernel socket. A close that has not completed after the pool's
/// close timeout ([`CLOSE_TIMEOUT`](crate::CLOSE_TIMEOUT) by default: a peer that never
/// closes its side, or vanished) is aborted, so that no peer can hold the socket.
pub struct TcpStream<'a, 'd> {
    socket: RefMut<'a, TcpSocket<'d>>,
    slot: &'a Slot<'d>,
    waiters: &'a Waiters,
    read_shut: bool,
    write_shut: bool,
}

impl<'a, 'd> TcpStream<'a, 'd> {
    pub(crate) fn new(
        socket: RefMut<'a, TcpSocket<'d>>,
        slot: &'a Slot<'d>,
        waiters: &'a Waiters,
    ) -> Self {
        slot.state.set(SlotState::Taken);
        Self {
            socket,
            slot,
            waiters,
            read_shut: false,
            write_shut: false,
        }
    }

    /// embassy-net's socket, for its options (`set_nagle_enabled`, `set_keep_alive`,
    /// `set_timeout`) and state.
    pub fn socket(&mut self) -> &mut TcpSocket<'d> {
        &mut self.socket
    }

    /// Aborts the connection: the peer gets a reset, queued bytes are lost. The socket goes
    /// back to its pool when the stream is dropped.
    pub fn abort(&mut self) {
        self.socket.abort();
        self.read_shut = true;
        self.write_shut = true;
    }
}

impl Drop for TcpStream<'_, '_> {
    fn drop(&mut self) {
        if !self.write_shut {
            self.socket.close();
        }
        self.slot.state.set(SlotState::Closing);
        self.slot.closing_since.set(embassy_time::Instant::now());
        // Whoever waits on the pool looks again: this socket listens again once closed.
        self.waiters.wake();
    }
}

impl core::fmt::Debug for TcpStream<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.socket.local_endpoint())
            .field("remote", &self.socket.remote_endpoint())
            .field("state", &self.socket.state())
            .finish()
    }
}

impl ErrorType for TcpStream<'_, '_> {
    type Error = Error;
}

impl Read for TcpStream<'_, '_> {
    /// Cancel-safe. After `shutdown(Read)`, end of stream at once; a reset connection (or one
    /// that timed out under the socket's `set_timeout`) is [`Error::Reset`].
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.read_shut || buf.is_empty() {
            return Ok(0);
        }
        self.socket.read(buf).await.map_err(|_| Error::Reset)
    }
}

impl Write for TcpStream<'_, '_> {
    /// Cancel-safe: waits for room in the send buffer, then copies what fits.
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        if self.write_shut {
            return Err(Error::WriteAfterShutdown);
        }
        // embassy-net's write of nothing would wait for ever (smoltcp takes 0 bytes either way).
        if buf.is_empty() {
            return Ok(0);
        }
        self.socket.write(buf).await.map_err(|_| Error::Reset)
    }

    /// Waits until the peer has acknowledged every byte written (and a FIN sent). Cancel-safe.
    async fn flush(&mut self) -> Result<(), Error> {
        self.socket.flush().await.map_err(|_| Error::Reset)
    }
}

impl Stream for TcpStream<'_, '_> {
    type Addr = SocketAddr;

    /// `Write` sends a FIN after the queued bytes (smoltcp's `close`); `Read` makes reads end
    /// of stream at once (smoltcp cannot refuse the peer's bytes: they still fill the receive
    /// window). Awaits nothing, so it is cancel-safe.
    async fn shutdown(&mut self, how: Shutdown) -> Result<(), Error> {
        if matches!(how, Shutdown::Write | Shutdown::Both) && !self.write_shut {
            self.socket.close();
            self.write_shut = true;
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read_shut = true;
        }
        Ok(())
    }

    fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.socket
            .local_endpoint()
            .map(socket_addr)
            .ok_or(Error::NotConnected)
    }

    fn peer_addr(&self) -> Result<SocketAddr, Error> {
        self.socket
            .remote_endpoint()
            .map(socket_addr)
            .ok_or(Error::NotConnected)
    }
}
