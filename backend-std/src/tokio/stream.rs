//! What the TCP and Unix streams share: embedded-io-async `Read` / `Write` over tokio's (and
//! tokio's own `AsyncRead` / `AsyncWrite`, so tokio's utilities take them too), a `shutdown(2)`
//! that the contract's [`Shutdown::Read`] holds to, and the conversions.
//!
//! Why not `embedded_io_adapters::tokio_1::FromTokio`: it would give `Read` / `Write` only, and
//! a stream also needs `shutdown` and its addresses from the tokio type inside, so the wrapper
//! is ours either way; the two methods it would save are one line each.
//!
//! [`Shutdown::Read`]: portsock_core::asynch::transport::Shutdown::Read

use std::io;

use portsock_core::asynch::transport::Shutdown;
use socket2::SockRef;

use crate::tcp::std_shutdown;

/// `shutdown(2)` on a tokio stream, through socket2 (it never waits, so nothing is awaited).
pub(super) fn shutdown(fd: &impl std::os::fd::AsFd, how: Shutdown) -> io::Result<()> {
    SockRef::from(fd).shutdown(std_shutdown(how))
}

/// Implements, for a wrapper `$ty { inner: $inner, read_shut: bool }` around a tokio stream:
/// `ErrorType`, embedded-io-async `Read` and `Write`, tokio's `AsyncRead` and `AsyncWrite`,
/// `AsRef` / `AsMut` / `From` for the tokio type, `AsFd` and `AsRawFd`.
macro_rules! impl_async_stream {
    ($ty:ident, $inner:ty) => {
        impl embedded_io::ErrorType for $ty {
            type Error = std::io::Error;
        }

        impl portsock_core::asynch::transport::Read for $ty {
            /// Reads what has arrived, waiting for at least one byte; 0 at end of stream or
            /// once reading was shut down.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: if the future is dropped before it completes, no byte was read.
            async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if buf.is_empty() || self.read_shut {
                    return Ok(0);
                }
                tokio::io::AsyncReadExt::read(&mut self.inner, buf).await
            }
        }

        impl portsock_core::asynch::transport::Write for $ty {
            /// Writes what fits in the send buffer, waiting for room for at least one byte.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: if the future is dropped before it completes, no byte was written.
            async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                tokio::io::AsyncWriteExt::write(&mut self.inner, buf).await
            }

            /// Nothing to do: the stream buffers nothing of its own (cancel-safe).
            async fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl tokio::io::AsyncRead for $ty {
            /// tokio's read, so `tokio::io::copy`, `BufReader` and friends work; end of stream
            /// once reading was shut down, as [`Read::read`](portsock_core::asynch::transport::Read::read).
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                if this.read_shut {
                    return std::task::Poll::Ready(Ok(()));
                }
                std::pin::Pin::new(&mut this.inner).poll_read(cx, buf)
            }
        }

        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_flush(cx)
            }

            /// Shuts down the writing side (`shutdown(SHUT_WR)`), as tokio's.
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }
        }

        impl $ty {
            /// The tokio stream, for what this type does not wrap.
            pub fn into_inner(self) -> $inner {
                self.inner
            }
        }

        impl AsRef<$inner> for $ty {
            fn as_ref(&self) -> &$inner {
                &self.inner
            }
        }

        impl AsMut<$inner> for $ty {
            fn as_mut(&mut self) -> &mut $inner {
                &mut self.inner
            }
        }

        impl From<$inner> for $ty {
            fn from(inner: $inner) -> Self {
                Self {
                    inner,
                    read_shut: false,
                }
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.as_raw_fd()
            }
        }
    };
}

/// Implements `ErrorType`, `AsRef` for the tokio type, `AsFd` and `AsRawFd` for a wrapper
/// `$ty { inner: $inner, .. }` around a tokio listener or datagram socket.
macro_rules! impl_async_socket {
    ($ty:ident, $inner:ty) => {
        impl embedded_io::ErrorType for $ty {
            type Error = std::io::Error;
        }

        impl AsRef<$inner> for $ty {
            fn as_ref(&self) -> &$inner {
                &self.inner
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.as_raw_fd()
            }
        }
    };
}

pub(super) use {impl_async_socket, impl_async_stream};
