//! What the UDP and Unix datagram sockets share: the receive that reports a datagram's full
//! length, and the send that refuses to cut one.
//!
//! tokio's own `recv_from` returns only what fit in the buffer, so truncation would not show.
//! Instead the receive is the blocking backend's `recvfrom(2)` with `MSG_TRUNC` (see
//! [`crate::udp`]), called by tokio's `async_io` when the socket is readable: tokio waits for
//! readiness, calls it, and waits again only if it reports would-block. A datagram is taken
//! from the kernel in the same poll that completes the future, so dropping the future before
//! then takes nothing: the receive is cancel-safe.

use std::io;
use std::os::fd::AsFd;

use socket2::{SockAddr, SockRef};

use crate::sys;

/// One non-blocking `recvfrom(2)` with `MSG_TRUNC` (the datagram's full length, which may
/// exceed `buf.len()`) and the sender; retries `EINTR`, reports `WouldBlock` to tokio.
pub(super) fn recv_from_trunc(fd: &impl AsFd, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
    let socket = SockRef::from(fd);
    loop {
        match sys::recv_from_into(&socket, buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// One non-blocking `sendto(2)` of a whole datagram (`MSG_NOSIGNAL`); retries `EINTR`,
/// reports `WouldBlock` to tokio, and calls a partial send an error, as the blocking sockets'.
pub(super) fn send_to_whole(fd: &impl AsFd, data: &[u8], to: &SockAddr) -> io::Result<()> {
    let socket = SockRef::from(fd);
    loop {
        match socket.send_to_with_flags(data, to, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
            Ok(n) => return whole(n, data.len()),
        }
    }
}

/// A send that took `n` of `len` bytes: fine if all of them.
pub(super) fn whole(n: usize, len: usize) -> io::Result<()> {
    if n == len {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::WriteZero,
        format!("sendto(2) took {n} of the datagram's {len} bytes"),
    ))
}
