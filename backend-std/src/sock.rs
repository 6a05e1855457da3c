//! What every socket wrapper shares: a `socket2::Socket` plus the blocking mode it is in, and
//! the few operations whose errors depend on that mode.
//!
//! Why remember the mode: on Linux a blocking socket whose `SO_RCVTIMEO` / `SO_SNDTIMEO`
//! expires fails with `EAGAIN`, the very code a non-blocking socket returns when it would
//! block, and std reports both as `io::ErrorKind::WouldBlock`. The transport contract
//! ([`portsock_core::transport`]) keeps them apart, so each wrapper records whether it put the
//! socket in non-blocking mode and [`Sock::timed_out`] rewrites `EAGAIN` from a *blocking*
//! socket into `io::ErrorKind::TimedOut`. Change the mode only through the wrapper
//! ([`Blocking::set_nonblocking`](portsock_core::transport::Blocking::set_nonblocking)), never
//! through a borrowed descriptor.
//!
//! It also remembers `shutdown(SHUT_RD)`: Linux TCP and Unix stream sockets go on returning
//! bytes that were queued, or that the peer sends afterwards, where the contract says reads end
//! at once ([`Shutdown::Read`]), so [`Sock::read`] answers end of stream itself. And whether a
//! timeout was ever set: Linux copies a TCP listener's `SO_RCVTIMEO` / `SO_SNDTIMEO` into the
//! sockets it accepts, where the contract (and a Unix listener) starts them without, so
//! [`Sock::accept`] clears them then.

use std::io::{self, Read as _};
use std::os::fd::AsFd;

use libc::c_int;
use std::time::{Duration, Instant};

use portsock_core::transport::Shutdown;
use socket2::{SockAddr, Socket};

use crate::tcp::std_shutdown;
use crate::{os, sys};

/// A socket, its blocking mode, whether reading was shut down, and whether it may have a
/// timeout set.
#[derive(Debug)]
pub(crate) struct Sock {
    socket: Socket,
    nonblocking: bool,
    read_shut: bool,
    timeouts: bool,
}

/// Which timeout an operation waits on, for the "timed out" message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    Read,
    Write,
}

impl Sock {
    /// Wraps a socket that is in blocking mode (fresh from `socket(2)`, `accept(2)` or
    /// `socketpair(2)`, none of which set `O_NONBLOCK` here).
    pub(crate) fn blocking(socket: Socket) -> Self {
        Self {
            socket,
            nonblocking: false,
            read_shut: false,
            timeouts: false,
        }
    }

    /// Wraps a socket of unknown mode, asking the kernel which it is.
    pub(crate) fn adopt(socket: Socket) -> io::Result<Self> {
        let nonblocking = socket.nonblocking()?;
        let timeouts = socket.read_timeout()?.is_some() || socket.write_timeout()?.is_some();
        Ok(Self {
            socket,
            nonblocking,
            read_shut: false,
            timeouts,
        })
    }

    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }

    pub(crate) fn into_socket(self) -> Socket {
        self.socket
    }

    /// A second handle to the same socket (`fcntl(F_DUPFD_CLOEXEC)`), remembering what this
    /// one does: both share the kernel's mode, timeouts and shutdown.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            socket: self.socket.try_clone()?,
            nonblocking: self.nonblocking,
            read_shut: self.read_shut,
            timeouts: self.timeouts,
        })
    }

    pub(crate) fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)?;
        self.nonblocking = nonblocking;
        Ok(())
    }

    pub(crate) fn set_timeout(&mut self, side: Side, timeout: Option<Duration>) -> io::Result<()> {
        // A zero `timeval` means "wait forever" to the kernel; refuse it as std does.
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: a zero timeout is not allowed (use non-blocking mode)",
                    side.option()
                ),
            ));
        }
        self.timeouts |= timeout.is_some();
        match side {
            Side::Read => self.socket.set_read_timeout(timeout),
            Side::Write => self.socket.set_write_timeout(timeout),
        }
    }

    pub(crate) fn timeout(&self, side: Side) -> io::Result<Option<Duration>> {
        let t = match side {
            Side::Read => self.socket.read_timeout()?,
            Side::Write => self.socket.write_timeout()?,
        };
        Ok(t)
    }

    /// `e`, or a `TimedOut` error naming `op` and the timeout when `e` is the `EAGAIN` of a
    /// blocking socket's expired timeout.
    pub(crate) fn timed_out(&self, e: io::Error, op: &str, side: Side) -> io::Error {
        if self.nonblocking || e.kind() != io::ErrorKind::WouldBlock {
            return e;
        }
        let after = match self.timeout(side) {
            Ok(Some(t)) => format!(" after {}", portsock_core::time::Duration::from(t)),
            _ => String::new(),
        };
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{op} timed out{after} ({})", side.option()),
        )
    }

    /// `shutdown(2)` of a stream; after [`Shutdown::Read`] (or `Both`) every read is end of
    /// stream, whatever the kernel still holds or receives.
    pub(crate) fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        self.socket.shutdown(std_shutdown(how))?;
        self.read_shut |= matches!(how, Shutdown::Read | Shutdown::Both);
        Ok(())
    }

    /// `read(2)`-like receive on a stream, retrying `EINTR`.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.read_shut {
            return Ok(0);
        }
        loop {
            match (&self.socket).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "read", Side::Read)),
                Ok(n) => return Ok(n),
            }
        }
    }

    /// `send(2)` on a stream with `MSG_NOSIGNAL` (a closed peer is `BrokenPipe`, not a
    /// `SIGPIPE`), retrying `EINTR`; at least one byte unless `buf` is empty.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.socket.send_with_flags(buf, libc::MSG_NOSIGNAL) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "write", Side::Write)),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "send(2) accepted no bytes",
                    ));
                }
                Ok(n) => return Ok(n),
            }
        }
    }

    /// `accept(2)`, retrying `EINTR`; the new socket has no timeouts (see the module doc).
    pub(crate) fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        loop {
            match self.socket.accept() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "accept", Side::Read)),
                Ok((socket, peer)) => {
                    self.clear_inherited_timeouts(&socket)?;
                    return Ok((socket, peer));
                }
            }
        }
    }

    /// Clears the timeouts Linux copied from this TCP listener into `accepted`; nothing to do
    /// (and no system call) if this socket never had one.
    fn clear_inherited_timeouts(&self, accepted: &Socket) -> io::Result<()> {
        if self.timeouts {
            accepted
                .set_read_timeout(None)
                .and_then(|()| accepted.set_write_timeout(None))
                .map_err(|e| context(e, "clearing an accepted socket's inherited timeouts"))?;
        }
        Ok(())
    }

    /// `accept4(2)` with `SOCK_NONBLOCK`, retrying `EINTR`: the new socket is non-blocking
    /// from the start, one system call where `accept` and `set_nonblocking` take three.
    pub(crate) fn accept_nonblocking(&self) -> io::Result<(Self, SockAddr)> {
        loop {
            match self
                .socket
                .accept4(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
            {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "accept", Side::Read)),
                Ok((socket, peer)) => {
                    self.clear_inherited_timeouts(&socket)?;
                    let sock = Self {
                        socket,
                        nonblocking: true,
                        read_shut: false,
                        timeouts: false,
                    };
                    return Ok((sock, peer));
                }
            }
        }
    }

    /// One whole datagram to `to`, with `MSG_NOSIGNAL`, retrying `EINTR`.
    pub(crate) fn send_to(&self, data: &[u8], to: &SockAddr) -> io::Result<()> {
        loop {
            match self.socket.send_to_with_flags(data, to, libc::MSG_NOSIGNAL) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "send_to", Side::Write)),
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("sendto(2) took {n} of the datagram's {} bytes", data.len()),
                    ));
                }
            }
        }
    }

    /// One datagram, with its full length (`MSG_TRUNC`) and sender, waiting at most until
    /// `deadline` (`Ok(None)` once it passed).
    ///
    /// Without a deadline, or in non-blocking mode, this is one `recvfrom(2)` and the socket's
    /// own mode and read timeout apply. With a deadline on a blocking socket it alternates
    /// `recvfrom(MSG_DONTWAIT)` and `poll(2)` for the time left, so a datagram already queued
    /// is taken even when the deadline has passed, and the socket's read timeout (shared
    /// with any duplicate of the descriptor) is left alone.
    pub(crate) fn recv_from(
        &self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<Option<(usize, SockAddr)>> {
        let Some(deadline) = deadline.filter(|_| !self.nonblocking) else {
            loop {
                match sys::recv_from_into(&self.socket, buf, libc::MSG_TRUNC) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(self.timed_out(e, "recv_from", Side::Read)),
                    Ok(got) => return Ok(Some(got)),
                }
            }
        };
        loop {
            match sys::recv_from_into(&self.socket, buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT) {
                Ok(got) => return Ok(Some(got)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return Err(e),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match os::poll_one(self.socket.as_fd(), libc::POLLIN, millis(left)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether a read would not block now (data, end of stream or an error is pending).
    pub(crate) fn read_ready(&self) -> io::Result<bool> {
        if self.read_shut {
            return Ok(true);
        }
        self.ready(libc::POLLIN)
    }

    /// Whether a write would not block now (buffer space, or an error is pending).
    pub(crate) fn write_ready(&self) -> io::Result<bool> {
        self.ready(libc::POLLOUT)
    }

    fn ready(&self, events: libc::c_short) -> io::Result<bool> {
        loop {
            match os::poll_one(self.socket.as_fd(), events, 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
                Ok(revents) => return Ok(revents & (events | libc::POLLHUP | libc::POLLERR) != 0),
            }
        }
    }
}

impl Side {
    fn option(self) -> &'static str {
        match self {
            Self::Read => "SO_RCVTIMEO",
            Self::Write => "SO_SNDTIMEO",
        }
    }
}

/// A wait for `poll(2)`: whole milliseconds rounded up (so a wait of 0.3 ms does not spin on
/// zero-length polls until it is over), capped at what a `c_int` holds (about 24 days; the
/// caller loops).
fn millis(d: Duration) -> c_int {
    let ms = portsock_core::time::Duration::from(d).as_millis();
    c_int::try_from(ms).unwrap_or(c_int::MAX)
}

/// `e` with `what` in front of its message, keeping its kind: "connect 127.0.0.1:9: Connection
/// refused (os error 111)".
pub(crate) fn context(e: io::Error, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Implements the shared traits for a wrapper with a `sock: Sock` field: `ErrorType`
/// (`std::io::Error`), `Blocking`, `AsFd` and `AsRawFd`.
macro_rules! impl_sock {
    ($($ty:ty),* $(,)?) => {$(
        impl embedded_io::ErrorType for $ty {
            type Error = std::io::Error;
        }

        impl portsock_core::transport::Blocking for $ty {
            fn set_nonblocking(&mut self, nonblocking: bool) -> std::io::Result<()> {
                self.sock.set_nonblocking(nonblocking)
            }

            fn set_read_timeout(&mut self, timeout: Option<portsock_core::time::Duration>) -> std::io::Result<()> {
                self.sock.set_timeout($crate::sock::Side::Read, timeout.map(Into::into))
            }

            fn read_timeout(&self) -> std::io::Result<Option<portsock_core::time::Duration>> {
                Ok(self.sock.timeout($crate::sock::Side::Read)?.map(Into::into))
            }

            fn set_write_timeout(&mut self, timeout: Option<portsock_core::time::Duration>) -> std::io::Result<()> {
                self.sock.set_timeout($crate::sock::Side::Write, timeout.map(Into::into))
            }

            fn write_timeout(&self) -> std::io::Result<Option<portsock_core::time::Duration>> {
                Ok(self.sock.timeout($crate::sock::Side::Write)?.map(Into::into))
            }
        }

        /// Blocking mode and timeouts in std's types, as `std::net`'s sockets have them. They
        /// are the [`Blocking`](portsock_core::transport::Blocking) trait's methods (which take
        /// the core's millisecond `Duration`, for generic code), and win over them in
        /// method-call syntax.
        impl $ty {
            /// Switches non-blocking mode on or off (`O_NONBLOCK`): a call that would wait fails
            /// with `io::ErrorKind::WouldBlock` instead.
            ///
            /// # Errors
            ///
            /// `fcntl(2)` failed.
            pub fn set_nonblocking(&mut self, nonblocking: bool) -> std::io::Result<()> {
                self.sock.set_nonblocking(nonblocking)
            }

            /// Sets how long a read (`accept`, or a `recv_from` without a deadline) may wait
            /// before failing with `io::ErrorKind::TimedOut` (`SO_RCVTIMEO`); `None` waits
            /// forever. The kernel rounds it up to its clock tick ([`read_timeout`](Self::read_timeout)
            /// says what it kept).
            ///
            /// # Errors
            ///
            /// `InvalidInput` for a zero timeout, as std (use
            /// [`set_nonblocking`](Self::set_nonblocking)); `setsockopt(2)` failed.
            pub fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> std::io::Result<()> {
                self.sock.set_timeout($crate::sock::Side::Read, timeout)
            }

            /// The read timeout, as the kernel keeps it.
            ///
            /// # Errors
            ///
            /// `getsockopt(2)` failed.
            pub fn read_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
                self.sock.timeout($crate::sock::Side::Read)
            }

            /// Sets how long a write may wait for buffer space before failing with
            /// `io::ErrorKind::TimedOut` (`SO_SNDTIMEO`); `None` waits forever.
            ///
            /// # Errors
            ///
            /// `InvalidInput` for a zero timeout; `setsockopt(2)` failed.
            pub fn set_write_timeout(&mut self, timeout: Option<std::time::Duration>) -> std::io::Result<()> {
                self.sock.set_timeout($crate::sock::Side::Write, timeout)
            }

            /// The write timeout, as the kernel keeps it.
            ///
            /// # Errors
            ///
            /// `getsockopt(2)` failed.
            pub fn write_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
                self.sock.timeout($crate::sock::Side::Write)
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.sock.socket())
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.sock.socket())
            }
        }
    )*};
}

/// Implements `embedded_io::{Read, Write, ReadReady, WriteReady}` and `std::io::{Read, Write}`
/// (for the type and for a shared reference to it, as std's `TcpStream`) for a stream wrapper
/// with a `sock: Sock` field.
macro_rules! impl_stream_io {
    ($($ty:ty),* $(,)?) => {$(
        /// `read(2)`: at least one byte, or `Ok(0)` at end of stream (and after
        /// `shutdown(Read)`); `TimedOut` after the read timeout, `WouldBlock` only in
        /// non-blocking mode.
        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.sock.read(buf)
            }
        }

        /// As the owned stream's: reading needs no exclusive access (one thread may read
        /// while another writes, as with `&std::net::TcpStream`).
        impl std::io::Read for &$ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.sock.read(buf)
            }
        }

        impl $ty {
            /// A second handle to the same connection, as std's `try_clone`: for instance one
            /// thread writes while another reads the reply. Both share the connection's blocking
            /// mode, timeouts and shutdown; set the mode before cloning, as each handle
            /// remembers the mode it knew (to tell timed out from would block).
            ///
            /// # Errors
            ///
            /// `fcntl(F_DUPFD_CLOEXEC)` failed (out of descriptors).
            pub fn try_clone(&self) -> std::io::Result<Self> {
                Ok(Self {
                    sock: self.sock.try_clone()?,
                })
            }
        }

        /// `send(2)` with `MSG_NOSIGNAL`: a closed peer is `BrokenPipe`, never a `SIGPIPE`.
        /// Nothing to flush: every write goes straight into the kernel.
        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.sock.write(buf)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        /// As the owned stream's.
        impl std::io::Write for &$ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.sock.write(buf)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl embedded_io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.sock.read(buf)
            }
        }

        impl embedded_io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.sock.write(buf)
            }

            /// Nothing to flush: every `write` is a `send(2)` straight into the kernel.
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl embedded_io::ReadReady for $ty {
            fn read_ready(&mut self) -> std::io::Result<bool> {
                self.sock.read_ready()
            }
        }

        impl embedded_io::WriteReady for $ty {
            fn write_ready(&mut self) -> std::io::Result<bool> {
                self.sock.write_ready()
            }
        }
    )*};
}

pub(crate) use {impl_sock, impl_stream_io};
