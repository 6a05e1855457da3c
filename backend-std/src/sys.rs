//! Every `unsafe` block of portsock-std, and nothing else.
//!
//! The crate is `#![deny(unsafe_code)]`; this module alone allows it. Each function wraps one
//! system call (or one pointer cast) whose preconditions it can check locally, funnels the
//! `-1`-means-error convention through [`check`], and returns `io::Error` unchanged, as socket2
//! does. socket2 and rustix (`crate::os`: poll, waitpid, rlimits) cover everything else
//! safely, so this stays small:
//!
//! | function | why it cannot be safe code |
//! |---|---|
//! | [`recv_from_into`] | socket2 receives into `[MaybeUninit<u8>]`; we receive into `[u8]` |
//! | [`setsockopt_bytes`] | `setsockopt(2)` with a byte layout built by the core codec |
//! | [`fork`] | no safe wrapper anywhere: fork is unsafe in std, rustix and nix alike |
//! | [`netdb`] | the reentrant `gethostby*_r` / `getservby*_r` / `getprotobyname_r` look-ups |

#![allow(unsafe_code)]

pub(crate) mod netdb;

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

use libc::c_int;
use socket2::{SockAddr, Socket};

/// Turns the C convention (`-1` and `errno`) into an `io::Result`.
fn check(ret: c_int) -> io::Result<c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `recvfrom(2)` with `flags` into an initialised buffer; returns what the call returned (with
/// `MSG_TRUNC`, the datagram's full length, which may exceed `buf.len()`) and the sender.
pub(crate) fn recv_from_into(
    socket: &Socket,
    buf: &mut [u8],
    flags: c_int,
) -> io::Result<(usize, SockAddr)> {
    // SAFETY: `MaybeUninit<u8>` has the size, alignment and validity of `u8`, so the cast
    // keeps the slice's bounds. The only code that writes through it is socket2's
    // `recv_from_with_flags`, which hands the pointer to recvfrom(2); the kernel writes real
    // bytes and never "uninitialised" ones, so `buf` is still fully initialised when this
    // borrow ends (the same argument socket2 makes in its `impl Read for Socket`).
    let uninit = unsafe { &mut *(std::ptr::from_mut::<[u8]>(buf) as *mut [MaybeUninit<u8>]) };
    socket.recv_from_with_flags(uninit, flags)
}

/// `setsockopt(2)` with a value given as bytes (an `ip_mreq`, `ip_mreqn` or `ipv6_mreq` laid
/// out by `portsock_core::wire::mreq`).
pub(crate) fn setsockopt_bytes(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &[u8],
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "socket option value too long"))?;
    // SAFETY: `value` is valid for reads of `len` bytes for the whole call; the kernel copies
    // the option (with no alignment requirement) and keeps no pointer to it. `fd` is borrowed,
    // so it stays open meanwhile.
    check(unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) })?;
    Ok(())
}

/// Which side of a [`fork`] this process is.
#[derive(Debug)]
pub(crate) enum Forked {
    /// The original process; the child's pid.
    Parent(libc::pid_t),
    /// The new process.
    Child,
}

/// `fork(2)`. The caller has checked that this process is single-threaded (see
/// `crate::process::fork_child`), which is what makes running ordinary code in the child
/// sound.
pub(crate) fn fork() -> io::Result<Forked> {
    // SAFETY: fork(2) takes no pointers. Its hazard is a multi-threaded parent (the child
    // inherits locks other threads held, and POSIX then allows only async-signal-safe calls);
    // the only caller refuses to fork unless the calling thread is the process's only one.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use socket2::{Domain, Type};

    use super::*;

    #[test]
    fn recv_from_into_reports_the_full_length_with_msg_trunc() {
        let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM, None).unwrap();
        a.send(b"0123456789").unwrap();
        let mut buf = [0xaau8; 4];
        let (n, _) = recv_from_into(&b, &mut buf, libc::MSG_TRUNC).unwrap();
        assert_eq!(n, 10);
        assert_eq!(&buf, b"0123");
    }

    #[test]
    fn setsockopt_bytes_passes_the_value_and_reports_errors() {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        setsockopt_bytes(s.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, &[7]).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 7);
        // IP_ADD_MEMBERSHIP needs at least an 8-byte ip_mreq.
        let err = setsockopt_bytes(
            s.as_fd(),
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            &[224, 0, 0],
        )
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }
}
