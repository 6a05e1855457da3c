//! The `portsock` command-line server as a contestant: `portsock echo server --concurrent`,
//! the release binary cargo builds beside the benchmark, in a child process of its own.
//!
//! The benchmark picks the TCP port itself (a port the system just handed out to a socket
//! that is then closed) and waits for the server's listening socket to show in
//! `/proc/net/tcp` (`/proc/net/unix` for a Unix socket), so that the server's standard output
//! can go anywhere: to `/dev/null`, or to a pipe nobody reads. Nothing connects to find out
//! whether it is up, so no connection is counted that a run did not make.

use std::fs;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to start listening.
const START: Duration = Duration::from_secs(10);

/// The `portsock` binary cargo built for this benchmark (release, under `cargo bench`).
pub(crate) fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_portsock"))
}

/// Whether this `portsock echo server` has `--quiet` (the chapter's per-chunk lines off).
pub(crate) fn has_quiet() -> bool {
    Command::new(binary())
        .args(["echo", "server", "--help"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--quiet"))
}

/// Where the server's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdout {
    /// `/dev/null`: every line is written, at once.
    Null,
    /// A pipe this process holds open and never reads: once its 64 KiB are full, every write
    /// to it would block.
    Stuck,
}

/// Where the server listens.
#[derive(Debug, Clone)]
pub(crate) enum Listen {
    /// TCP on the loopback; the port is chosen here.
    Tcp,
    /// A Unix stream socket at this path.
    Unix(PathBuf),
}

/// A running `portsock echo server --concurrent`, killed when dropped (and when the thread
/// that started it ends, by `PR_SET_PDEATHSIG`).
pub(crate) struct Cli {
    child: Child,
    /// Its TCP address (`None` for a Unix server).
    pub(crate) addr: Option<SocketAddr>,
    /// Held, unread, for [`Stdout::Stuck`]; drained by [`Cli::output`] once it has exited.
    stdout: Option<ChildStdout>,
    stderr: PathBuf,
}

impl Cli {
    /// Starts `portsock echo server --concurrent EXTRA…` on `listen`, its standard error in
    /// a file in `dir`, and waits until it listens.
    pub(crate) fn start(
        listen: &Listen,
        extra: &[&str],
        stdout: Stdout,
        dir: &Path,
    ) -> io::Result<Self> {
        let stderr = dir.join(format!("cli-{}.stderr", unique()));
        let mut command = Command::new(binary());
        command.args(["echo", "server", "--concurrent"]).args(extra);
        let addr = match listen {
            Listen::Tcp => {
                let addr = free_port()?;
                command.arg("--addr").arg(addr.to_string());
                Some(addr)
            }
            Listen::Unix(path) => {
                command.args(["--proto", "unix", "--path"]).arg(path);
                None
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(match stdout {
                Stdout::Null => Stdio::null(),
                Stdout::Stuck => Stdio::piped(),
            })
            .stderr(fs::File::create(&stderr)?);
        // SAFETY: runs in the child between fork and exec, and makes one system call,
        // prctl(2), which is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                // The server dies with the thread that started it, however that ends: no
                // server is left running after a benchmark killed mid-run.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take();
        let mut me = Self {
            child,
            addr,
            stdout,
            stderr,
        };
        let started = Instant::now();
        while !me.listening(listen)? {
            if let Some(status) = me.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "portsock echo server exited ({status}): {}",
                    me.output().trim()
                )));
            }
            if started.elapsed() > START {
                return Err(io::Error::other(
                    "portsock echo server did not start listening",
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
        Ok(me)
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn listening(&self, listen: &Listen) -> io::Result<bool> {
        match (listen, self.addr) {
            (Listen::Tcp, Some(addr)) => tcp_listening(addr.port()),
            (Listen::Unix(path), _) => unix_listening(path),
            (Listen::Tcp, None) => Ok(false),
        }
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit; returns how long it
    /// took, or `None` if it had not exited by then (it is then killed).
    pub(crate) fn terminate(&mut self, limit: Duration) -> io::Result<Option<Duration>> {
        let sent = Instant::now();
        signal(self.pid(), libc::SIGTERM)?;
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(Some(sent.elapsed()));
            }
            if sent.elapsed() > limit {
                self.kill()?;
                return Ok(None);
            }
            thread::sleep(Duration::from_micros(500));
        }
    }

    /// Kills it (SIGKILL) if it still runs, and waits for it.
    pub(crate) fn kill(&mut self) -> io::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
            self.child.wait()?;
        }
        Ok(())
    }

    /// Its resident memory now (`VmRSS` in `/proc/PID/status`), in bytes.
    pub(crate) fn rss(&self) -> io::Result<u64> {
        rss(self.pid())
    }

    /// Descriptors it has open now (each connection is one).
    pub(crate) fn open_fds(&self) -> io::Result<usize> {
        Ok(fs::read_dir(format!("/proc/{}/fd", self.pid()))?.count())
    }

    /// What it wrote to standard error, and, once it has exited, whatever is left unread in a
    /// [`Stdout::Stuck`] pipe.
    pub(crate) fn output(&mut self) -> String {
        let mut text = fs::read_to_string(&self.stderr).unwrap_or_default();
        if self.child.try_wait().ok().flatten().is_some()
            && let Some(mut out) = self.stdout.take()
        {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        text
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = fs::remove_file(&self.stderr);
    }
}

/// Sends `signal` to process `pid`.
pub(crate) fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Process `pid`'s resident memory (`VmRSS`), in bytes.
pub(crate) fn rss(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// A loopback address with a port the system just gave out and took back.
fn free_port() -> io::Result<SocketAddr> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?.local_addr()
}

/// Whether a socket listens on 127.0.0.1:`port` (state 0A in `/proc/net/tcp`).
fn tcp_listening(port: u16) -> io::Result<bool> {
    let local = format!("0100007F:{port:04X}");
    Ok(fs::read_to_string("/proc/net/tcp")?.lines().any(|l| {
        let mut f = l.split_whitespace().skip(1);
        f.next() == Some(&*local) && f.nth(1) == Some("0A")
    }))
}

/// Whether a socket listens at `path` (`__SO_ACCEPTCON`, 0x10000, in `/proc/net/unix`'s
/// flags).
fn unix_listening(path: &Path) -> io::Result<bool> {
    if !fs::metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        return Ok(false);
    }
    let path = path.to_string_lossy();
    Ok(fs::read_to_string("/proc/net/unix")?.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 8
            && f[7] == path
            && u32::from_str_radix(f[3], 16).is_ok_and(|flags| flags & 0x1_0000 != 0)
    }))
}

/// A number no other server of this process has had.
fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
