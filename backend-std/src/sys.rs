//! Every `unsafe` block of portsock-std, and nothing else.
//!
//! The crate is `#![deny(unsafe_code)]`; this module alone allows it. Each function wraps one
//! system call (or one pointer cast) whose preconditions it can check locally, funnels the
//! `-1`-means-error convention through [`check`], and returns `io::Error` unchanged, as socket2
//! does. socket2 covers everything else safely, so this stays small:
//!
//! | function | why it cannot be safe code |
//! |---|---|
//! | [`recv_from_into`] | socket2 receives into `[MaybeUninit<u8>]`; we receive into `[u8]` |
//! | [`poll_one`] | `poll(2)`, for receive deadlines and `ReadReady` / `WriteReady` |
//! | [`setsockopt_bytes`] | `setsockopt(2)` with a byte layout built by the core codec |
//! | [`fork`], [`waitpid`] | no safe wrapper in std |
//! | [`netdb`] | the reentrant `gethostby*_r` / `getservby*_r` / `getprotobyname_r` look-ups |
//! | [`nofile_limit`], [`set_nofile_limit`] | `getrlimit(2)` / `setrlimit(2)`, for servers of thousands |

#![allow(unsafe_code)]

pub(crate) mod netdb;

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

use libc::{c_int, c_short};
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

/// `poll(2)` on one descriptor: waits up to `timeout_ms` (`-1`: forever) for `events` and
/// returns the `revents` (0 when the time ran out).
pub(crate) fn poll_one(
    fd: BorrowedFd<'_>,
    events: c_short,
    timeout_ms: c_int,
) -> io::Result<c_short> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid `pollfd` that lives across the call, and `nfds` is 1, the
    // number of entries it points to. `fd` is borrowed, so it stays open meanwhile.
    let ready = check(unsafe { libc::poll(&raw mut pfd, 1, timeout_ms) })?;
    Ok(if ready == 0 { 0 } else { pfd.revents })
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

/// `waitpid(2)` for one child, retrying on `EINTR`; returns the raw wait status.
pub(crate) fn waitpid(pid: libc::pid_t) -> io::Result<c_int> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is a valid, exclusively borrowed `int` for the call to write.
        match check(unsafe { libc::waitpid(pid, &raw mut status, 0) }) {
            Ok(_) => return Ok(status),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `getrlimit(RLIMIT_NOFILE)`: the soft and hard limits on open descriptors.
pub(crate) fn nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, exclusively borrowed `rlimit` for the call to write.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) })?;
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// `setrlimit(RLIMIT_NOFILE)` to `soft` and `hard` (raising `hard` needs `CAP_SYS_RESOURCE`).
pub(crate) fn set_nofile_limit(soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid `rlimit` that lives across the call; the kernel only reads it.
    check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) })?;
    Ok(())
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
    fn poll_one_times_out_then_sees_data() {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
        assert_eq!(poll_one(b.as_fd(), libc::POLLIN, 0).unwrap(), 0);
        a.send(b"x").unwrap();
        assert_ne!(
            poll_one(b.as_fd(), libc::POLLIN, 1_000).unwrap() & libc::POLLIN,
            0
        );
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
