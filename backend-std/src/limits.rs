//! The process's resource limits a server runs into: [`raise_fd_limit`], since a server needs
//! one descriptor per client.

use std::io;

use crate::os;

/// Raises this process's limit on open descriptors (`RLIMIT_NOFILE`) to at least `want` if
/// it can, and returns the soft limit now in force. A server needs one descriptor per client.
///
/// The soft limit can go up to the hard limit; beyond it only with `CAP_SYS_RESOURCE`
/// (root), up to `fs.nr_open`. Without that privilege the soft limit becomes the hard one and
/// the result is less than `want`. The limit is never lowered.
///
/// ```
/// let limit = portsock_std::limits::raise_fd_limit(10_000)?;
/// println!("room for {limit} descriptors");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// `getrlimit(2)` or `setrlimit(2)` failed other than for lack of privilege.
pub fn raise_fd_limit(want: u64) -> io::Result<u64> {
    let (soft, hard) = os::nofile_limit()?;
    if soft >= want {
        return Ok(soft);
    }
    if want <= hard {
        os::set_nofile_limit(want, hard)?;
        return Ok(want);
    }
    match os::set_nofile_limit(want, want) {
        Ok(()) => Ok(want),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            os::set_nofile_limit(hard, hard)?;
            Ok(hard)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test that touches the process's descriptor limit (tests run in parallel).
    #[test]
    fn raise_fd_limit_raises_up_to_the_hard_limit_and_never_lowers() {
        let (soft, hard) = os::nofile_limit().unwrap();
        assert!(soft <= hard);
        // Lowering the soft limit needs no privilege.
        os::set_nofile_limit(soft - 1, hard).unwrap();
        assert_eq!(os::nofile_limit().unwrap(), (soft - 1, hard));
        assert_eq!(raise_fd_limit(1).unwrap(), soft - 1);
        assert_eq!(raise_fd_limit(soft).unwrap(), soft);
        assert_eq!(os::nofile_limit().unwrap(), (soft, hard));
        // A soft limit above the hard one is refused.
        if hard != libc::RLIM_INFINITY {
            let err = os::set_nofile_limit(hard + 1, hard).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        }
    }
}
