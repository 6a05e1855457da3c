//! The system calls portsock-std makes beside socket2's that need no `unsafe` of ours: rustix
//! wraps them safely (`poll(2)`, `waitpid(2)`, `getrlimit(2)` / `setrlimit(2)`). What rustix
//! cannot do safely for us stays in [`sys`](crate::sys).

use std::io;
use std::os::fd::BorrowedFd;

use libc::{c_int, c_short};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, Resource, Rlimit, WaitOptions};

/// `poll(2)` on one descriptor: waits up to `timeout_ms` (negative: forever) for `events` (the
/// `libc::POLL*` bits) and returns the `revents` (0 when the time ran out).
pub(crate) fn poll_one(
    fd: BorrowedFd<'_>,
    events: c_short,
    timeout_ms: c_int,
) -> io::Result<c_short> {
    let mut fds = [PollFd::from_borrowed_fd(
        fd,
        PollFlags::from_bits_retain(events as _),
    )];
    let timeout = (timeout_ms >= 0).then(|| Timespec {
        tv_sec: (timeout_ms / 1000).into(),
        tv_nsec: ((timeout_ms % 1000) * 1_000_000).into(),
    });
    let ready = rustix::event::poll(&mut fds, timeout.as_ref())?;
    Ok(if ready == 0 {
        0
    } else {
        fds[0].revents().bits() as c_short
    })
}

/// `waitpid(2)` for one child, retrying on `EINTR`; returns the raw wait status.
pub(crate) fn waitpid(pid: libc::pid_t) -> io::Result<c_int> {
    let pid = Pid::from_raw(pid).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("pid {pid}: not a child's"),
        )
    })?;
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(status.as_raw()),
            // Without WNOHANG the call returns only once the child has changed state.
            Ok(None) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// `getrlimit(RLIMIT_NOFILE)`: the soft and hard limits on open descriptors (`RLIM_INFINITY`
/// for none).
pub(crate) fn nofile_limit() -> io::Result<(u64, u64)> {
    let lim = rustix::process::getrlimit(Resource::Nofile);
    Ok((
        lim.current.unwrap_or(libc::RLIM_INFINITY),
        lim.maximum.unwrap_or(libc::RLIM_INFINITY),
    ))
}

/// `setrlimit(RLIMIT_NOFILE)` to `soft` and `hard` (raising `hard` needs `CAP_SYS_RESOURCE`).
pub(crate) fn set_nofile_limit(soft: u64, hard: u64) -> io::Result<()> {
    let limit = |v: u64| (v != libc::RLIM_INFINITY).then_some(v);
    rustix::process::setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit(soft),
            maximum: limit(hard),
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use socket2::{Domain, Socket, Type};

    use super::*;

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
    fn poll_one_reports_a_closed_peer() {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
        drop(a);
        let revents = poll_one(b.as_fd(), libc::POLLIN, -1).unwrap();
        assert_ne!(revents & (libc::POLLIN | libc::POLLHUP), 0, "{revents:#x}");
    }

    #[test]
    fn nofile_limit_reads_back_what_was_set() {
        let (soft, hard) = nofile_limit().unwrap();
        assert!(soft <= hard, "soft {soft} > hard {hard}");
        // Lowering the soft limit needs no privilege; restore it afterwards.
        let lower = soft.min(hard).saturating_sub(1).max(64).min(soft);
        set_nofile_limit(lower, hard).unwrap();
        assert_eq!(nofile_limit().unwrap(), (lower, hard));
        set_nofile_limit(soft, hard).unwrap();
        assert_eq!(nofile_limit().unwrap(), (soft, hard));
    }

    #[test]
    fn waitpid_refuses_pid_0_with_a_message() {
        let err = waitpid(0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("pid 0"), "{err}");
    }
}
