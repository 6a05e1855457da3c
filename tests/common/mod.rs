//! Helpers shared by the integration tests: the vectors and the `portsock` binary.
//!
//! One-shot runs ([`portsock`]) and their checks ([`assert_cli_error`], [`stdout_ok`]) are
//! assert_cmd's (with predicates); a process watched line by line while it runs ([`Running`])
//! is ours, since assert_cmd only looks at a process once it has exited.
#![allow(dead_code, unreachable_pub)]

pub mod dnsmasq;
pub mod pcap;
pub mod privileged;
pub mod tap;

use std::path::PathBuf;
use std::process::{Command, Output};

use assert_cmd::assert::OutputAssertExt as _;
use predicates::prelude::*;

/// The lines of `tests/data/vectors/NAME` as JSON values; panics loudly when the file is missing,
/// so a test can never pass by reading nothing.
pub fn vectors(name: &str) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("vector file {} is missing: {e}", path.display()));
    let lines: Vec<_> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect();
    assert!(!lines.is_empty(), "{} holds no vectors", path.display());
    lines
}

/// The `portsock` binary built for this test run.
pub fn portsock_bin() -> &'static std::path::Path {
    assert_cmd::cargo::cargo_bin!("portsock")
}

/// Run the `portsock` binary built for this test run, with an empty stdin (end of file at
/// once, as `std::process::Command::output` gives) and no `RUST_LOG`; a run that outlives
/// [`WAIT`] is killed, so a hang fails the test instead of stalling the suite.
pub fn portsock<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    assert_cmd::Command::new(portsock_bin())
        .args(args)
        .env_remove("RUST_LOG") // log lines on stderr are tests/cli_log.rs's business
        .write_stdin(Vec::new())
        .timeout(WAIT)
        .output()
        .expect("run portsock")
}

/// Assert the CLI failed the documented way: exit 1, one `error: ` line on stderr, empty stdout.
pub fn assert_cli_error(out: &Output, what: &str) {
    out.clone()
        .assert()
        .append_context("what", what.to_owned())
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::function(|e: &str| e.lines().count() == 1).trim());
}

/// Assert success and return stdout without its trailing newline.
pub fn stdout_ok(out: &Output, what: &str) -> String {
    out.clone()
        .assert()
        .append_context("what", what.to_owned())
        .success();
    let s = String::from_utf8(out.stdout.clone()).expect("utf-8 stdout");
    s.strip_suffix('\n').unwrap_or(&s).to_owned()
}

/// How long a test waits for any one thing (a line, an exit) before it fails: it only catches a
/// hang, so it is generous. On the busy CI machine (2 cores shared) a megabyte echoed through
/// the debug build's smoltcp stack took longer than 10 s.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A process under test, its stdout read line by line as it comes. Dropping it kills the
/// process (if it still runs) and reaps it, so a failing test leaves nothing behind.
pub struct Running {
    what: String,
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// How a [`Running`] process ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: std::process::ExitStatus,
    /// Every stdout line, without newlines.
    pub stdout: Vec<String>,
    /// All of stderr.
    pub stderr: String,
}

impl Running {
    /// Starts `cmd` with stdout and stderr piped (stdin: nothing).
    pub fn spawn(mut cmd: Command) -> Self {
        use std::io::{BufRead as _, Read as _};
        use std::process::Stdio;
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut pipe = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        Self {
            what,
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Starts the `portsock` binary with `args`.
    pub fn portsock<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(portsock_bin());
        cmd.args(args).env_remove("RUST_LOG");
        Self::spawn(cmd)
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to [`WAIT`]) for a stdout line that satisfies `want`, and returns it; panics
    /// with everything seen so far if none comes.
    pub fn wait_for(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => {
                    let stderr = self.kill_and_stderr();
                    panic!(
                        "{}: no line {what} ({e:?}); stdout so far {:#?}, stderr {stderr:?}",
                        self.what, self.seen
                    );
                }
            }
        }
    }

    /// The port in the server's `starting up on HOST port N` line.
    pub fn wait_for_port(&mut self) -> u16 {
        let line = self.wait_for("starting up on ... port N", |l| {
            l.starts_with("starting up on ")
        });
        line.rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    /// Waits (up to [`WAIT`]) for the process to exit and returns how, with all its output.
    pub fn finish(mut self) -> Finished {
        let deadline = std::time::Instant::now() + WAIT;
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break status,
                None if std::time::Instant::now() > deadline => {
                    let stderr = self.kill_and_stderr();
                    panic!(
                        "{} did not exit within {WAIT:?}; stdout {:#?}, stderr {stderr:?}",
                        self.what, self.seen
                    );
                }
                None => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        };
        // The reader ends at end of file, which the exit brought.
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            self.seen.push(line);
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default());
        Finished {
            status,
            stdout: std::mem::take(&mut self.seen),
            stderr: stderr.unwrap_or_default(),
        }
    }

    /// [`finish`](Self::finish), asserting exit status 0.
    pub fn finish_ok(self) -> Vec<String> {
        let what = self.what.clone();
        let done = self.finish();
        assert!(
            done.status.success(),
            "{what}: {}; stdout {:#?}, stderr {}",
            done.status,
            done.stdout,
            done.stderr
        );
        done.stdout
    }

    fn kill_and_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1 (for commands that print no port).
pub fn free_tcp_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address").port()
}

/// A UDP port that was free a moment ago on every address.
pub fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind port 0");
    socket.local_addr().expect("local address").port()
}

/// The chapter's message.
pub const MESSAGE: &str = "This is the message.  It will be repeated.";

/// What the chapter's stream client prints after its `connecting to` line.
pub const STREAM_CLIENT_LINES: [&str; 5] = [
    "sending b'This is the message.  It will be repeated.'",
    "received b'This is the mess'",
    "received b'age.  It will be'",
    "received b' repeated.'",
    "closing socket",
];

/// What the chapter's stream server prints for one connection from `peer` (as Python prints
/// the address), from `waiting for a connection` on.
pub fn stream_server_lines(peer: &str) -> Vec<String> {
    let mut lines = vec![
        "waiting for a connection".to_owned(),
        format!("connection from {peer}"),
    ];
    for chunk in ["This is the mess", "age.  It will be", " repeated."] {
        lines.push(format!("received b'{chunk}'"));
        lines.push("sending data back to the client".to_owned());
    }
    lines.push("received b''".to_owned());
    lines.push(format!("no data from {peer}"));
    lines
}

/// A fresh directory that anyone may enter (mode 0755), removed when dropped.
pub fn open_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::Builder::new()
        .prefix("portsock-test-")
        .tempdir()
        .expect("temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod 755");
    dir
}
