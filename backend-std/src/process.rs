//! `fork(2)` for the chapter's `socketpair` program: a parent and a child process talking over
//! a [`socketpair`](crate::unix::socketpair).
//!
//! [`fork_child`] runs a closure in a new child process and returns to the parent with a
//! [`ChildProcess`] to wait for. It is safe because it refuses to fork a process that has
//! more than one thread: the child of a multi-threaded process has only the forking thread,
//! any lock another thread held stays locked forever, and POSIX then allows only
//! async-signal-safe calls. A command-line program forks at the top of `main`, before any
//! thread starts; a test that forks needs its own single-threaded binary
//! (`harness = false`).
//!
//! Ownership does what the chapter's `close()` calls do: the end the closure captures moves
//! into the child and is closed in the parent when `fork_child` returns; the end the parent
//! keeps is left open in the child until it exits.
//!
//! ```no_run
//! use portsock_std::prelude::*;
//! use portsock_std::process::fork_child;
//! use portsock_std::unix::socketpair;
//!
//! let (mut parent, mut child) = socketpair()?;
//! let pid = fork_child(move || {
//!     let mut buf = [0u8; 1024];
//!     let n = child.read(&mut buf).unwrap_or(0);
//!     println!("message from parent: {:?}", String::from_utf8_lossy(&buf[..n]));
//!     if child.write_all(b"pong").is_err() { 1 } else { 0 }
//! })?;
//! parent.write_all(b"ping")?;
//! let mut buf = [0u8; 1024];
//! let n = parent.read(&mut buf)?;
//! assert_eq!(&buf[..n], b"pong");
//! assert!(pid.wait()?.success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Write as _};
use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitStatus;

use crate::os;
use crate::sys::{self, Forked};

/// A child process started by [`fork_child`]. Wait for it with [`wait`](Self::wait), or it
/// lingers as a zombie until this process exits.
#[derive(Debug)]
#[must_use = "wait for the child, or it stays a zombie until this process exits"]
pub struct ChildProcess {
    pid: libc::pid_t,
}

/// Forks; runs `child` in the new process and exits it with the closure's return value as its
/// status (101 if it panics), without returning to the caller's code. Returns to the parent
/// with the child.
///
/// Standard output and error are flushed before forking, so nothing buffered is printed
/// twice, and the child's standard output is flushed before it exits. The child exits with
/// [`std::process::exit`]: no destructors run there, so values the parent owns (temporary
/// directories, say) are cleaned up once, by the parent.
///
/// # Errors
///
/// `Other` if the process has more than one thread (or the count cannot be read from
/// `/proc/self/task`), naming the count; `fork(2)` failed (`EAGAIN`: process limit).
pub fn fork_child<F>(child: F) -> io::Result<ChildProcess>
where
    F: FnOnce() -> i32,
{
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "fork refused: this process has {threads} threads, and only the calling one would exist in the \
             child (locks the others hold would never be released); fork before starting threads"
        )));
    }
    io::stdout().flush()?;
    io::stderr().flush()?;
    match sys::fork()? {
        Forked::Child => {
            let code = panic::catch_unwind(AssertUnwindSafe(child)).unwrap_or(101);
            let _ = io::stdout().flush();
            std::process::exit(code)
        }
        Forked::Parent(pid) => Ok(ChildProcess { pid }),
    }
}

impl ChildProcess {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// Waits for the child to exit (`waitpid(2)`) and returns how it ended.
    ///
    /// # Errors
    ///
    /// `waitpid(2)` failed (`ECHILD`: already waited for elsewhere).
    pub fn wait(self) -> io::Result<ExitStatus> {
        os::waitpid(self.pid).map(ExitStatus::from_raw)
    }
}

/// How many threads this process has: the entries of `/proc/self/task`.
fn thread_count() -> io::Result<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").map_err(|e| {
        crate::sock::context(e, "fork refused: cannot count threads in /proc/self/task")
    })?;
    Ok(tasks.count())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn fork_is_refused_while_other_threads_run() {
        // The test harness runs this on its own thread, and a second one is kept alive here,
        // so the process certainly has more than one thread.
        let (stop, wait) = mpsc::channel::<()>();
        let helper = std::thread::spawn(move || wait.recv());
        let err = fork_child(|| 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        let msg = err.to_string();
        assert!(msg.starts_with("fork refused: this process has "), "{msg}");
        assert!(thread_count().unwrap() >= 2);
        stop.send(()).unwrap();
        helper.join().unwrap().unwrap();
    }
}
