//! Child processes of the tour: `portsock` itself, run for the sections that need a process of
//! their own (a fork, another user), with a deadline so a stuck child fails its section
//! instead of hanging the tour.

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished child left: its exit status and both outputs.
pub(super) struct Finished {
    pub(super) status: ExitStatus,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

/// This `portsock` with `args`, stdin empty, both outputs kept.
pub(super) fn portsock(args: &[&str]) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    Ok(command(&exe, args))
}

/// `exe` with `args`, stdin empty, both outputs kept.
pub(super) fn command(exe: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits up to `wait` for `child` (killing it after that), then reads what it printed.
///
/// The outputs are read once it has exited: the tour's children print a few lines, far less
/// than a pipe holds, so none of them waits on a full pipe.
pub(super) fn finish(mut child: Child, what: &str, wait: Duration) -> Result<Finished, String> {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("{what}: {e}"))? {
            break status;
        }
        if started.elapsed() > wait {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish in {wait:?}"));
        }
        thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .map_err(|e| format!("{what}'s stdout: {e}"))?;
    }
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr)
            .map_err(|e| format!("{what}'s stderr: {e}"))?;
    }
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}
