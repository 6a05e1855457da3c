//! edge-nal's TCP traits on portsock's tokio [`TcpListener`] and [`TcpStream`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use edge_nal::{Close, Readable, TcpAccept, TcpShutdown, TcpSplit};
use portsock_core::asynch::transport::{ErrorType, Listener, Read, Shutdown, Stream, Write};
use socket2::SockRef;

use super::{TcpListener, TcpStream};

impl TcpAccept for TcpListener {
    type Error = io::Error;
    type Socket<'a> = TcpStream;

    /// Core's [`Listener::accept`], the pair swapped as edge-nal has it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection that arrives after the future is dropped waits in the backlog.
    async fn accept(&self) -> io::Result<(SocketAddr, TcpStream)> {
        let (stream, peer) = Listener::accept(self).await?;
        Ok((peer, stream))
    }
}

impl Readable for TcpStream {
    /// Waits until a read would not wait (data, end of stream or an error).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it consumes nothing.
    async fn readable(&mut self) -> io::Result<()> {
        self.as_ref().readable().await
    }
}

impl TcpShutdown for TcpStream {
    /// Core's [`Stream::shutdown`]: `shutdown(2)`, which returns at once.
    async fn close(&mut self, what: Close) -> io::Result<()> {
        let how = match what {
            Close::Read => Shutdown::Read,
            Close::Write => Shutdown::Write,
            Close::Both => Shutdown::Both,
        };
        Stream::shutdown(self, how).await
    }

    /// Sets `SO_LINGER` to zero, so that dropping the stream sends an RST instead of a FIN
    /// (the socket cannot be closed while this value owns it).
    async fn abort(&mut self) -> io::Result<()> {
        SockRef::from(self.as_ref()).set_linger(Some(Duration::ZERO))
    }
}

impl TcpSplit for TcpStream {
    type Read<'a> = TcpReadHalf<'a>;
    type Write<'a> = TcpWriteHalf<'a>;

    /// tokio's borrowed halves: both usable at once, from one task.
    fn split(&mut self) -> (TcpReadHalf<'_>, TcpWriteHalf<'_>) {
        let (read, write) = self.as_mut().split();
        (TcpReadHalf(read), TcpWriteHalf(write))
    }
}

/// The reading half of a [`TcpStream`] (edge-nal's `TcpSplit`). Unlike the stream's own
/// `read`, it reads what the kernel still holds after a `Close::Read`.
#[derive(Debug)]
pub struct TcpReadHalf<'a>(tokio::net::tcp::ReadHalf<'a>);

/// The writing half of a [`TcpStream`] (edge-nal's `TcpSplit`).
#[derive(Debug)]
pub struct TcpWriteHalf<'a>(tokio::net::tcp::WriteHalf<'a>);

impl ErrorType for TcpReadHalf<'_> {
    type Error = io::Error;
}

impl Read for TcpReadHalf<'_> {
    /// # Cancel safety
    ///
    /// Cancel-safe (tokio's): if the future is dropped before it completes, no byte was read.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        tokio::io::AsyncReadExt::read(&mut self.0, buf).await
    }
}

impl Readable for TcpReadHalf<'_> {
    async fn readable(&mut self) -> io::Result<()> {
        self.0.readable().await
    }
}

impl ErrorType for TcpWriteHalf<'_> {
    type Error = io::Error;
}

impl Write for TcpWriteHalf<'_> {
    /// # Cancel safety
    ///
    /// Cancel-safe (tokio's): if the future is dropped before it completes, no byte was
    /// written.
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        tokio::io::AsyncWriteExt::write(&mut self.0, buf).await
    }

    /// Nothing to do: the half buffers nothing of its own.
    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
