//! What the data-mode tests (`tests/data_*.rs`) share: processes whose stdin and stdout are
//! files (the data) and whose stderr is read line by line (portsock's report), random files,
//! free ports, and peers that may not be installed.
#![allow(dead_code, unreachable_pub)]

pub mod tap;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for any one thing before it calls it a hang (generous: a busy
/// 2-core machine).
pub const WAIT: Duration = Duration::from_secs(90);

/// 100 MiB, the size of the interop transfers.
pub const BIG: usize = 100 * 1024 * 1024;

pub const PORTSOCK: &str = env!("CARGO_BIN_EXE_portsock");

/// A process with its stdin and stdout on files; killed and reaped when dropped.
pub struct Proc {
    what: String,
    child: Child,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// How a [`Proc`] ended.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub stderr: Vec<String>,
}

impl Proc {
    /// Runs `cmd` with stdin from `input` (`/dev/null` for `None`) and stdout to `output`
    /// (`/dev/null` for `None`).
    pub fn spawn(mut cmd: Command, input: Option<&Path>, output: Option<&Path>) -> Self {
        let what = format!("{cmd:?}");
        let stdin = match input {
            Some(p) => Stdio::from(std::fs::File::open(p).expect("open the input")),
            None => Stdio::null(),
        };
        let stdout = match output {
            Some(p) => Stdio::from(std::fs::File::create(p).expect("create the output")),
            None => Stdio::null(),
        };
        let mut child = cmd
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let pipe = child.stderr.take().expect("piped stderr");
        let (tx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            what,
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// `portsock ARGS`.
    pub fn portsock(args: &[&str], input: Option<&Path>, output: Option<&Path>) -> Self {
        let mut cmd = Command::new(PORTSOCK);
        cmd.args(args);
        Self::spawn(cmd, input, output)
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line satisfying `want`.
    pub fn wait_for(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "{}: no stderr line {what} ({e:?}); saw {:#?}",
                        self.what, self.seen
                    );
                }
            }
        }
    }

    /// The address in portsock's `listening on ADDR` line.
    pub fn listening(&mut self) -> String {
        let line = self.wait_for("listening on", |l| l.starts_with("listening on "));
        line["listening on ".len()..].to_owned()
    }

    /// The port in portsock's `listening on ADDR` line.
    pub fn port(&mut self) -> u16 {
        let addr = self.listening();
        addr.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port")
    }

    /// Waits for the exit (a hang fails the test).
    pub fn finish(mut self) -> Ended {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {WAIT:?}; stderr {:#?}",
                    self.what, self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        Ended {
            status,
            stderr: std::mem::take(&mut self.seen),
        }
    }

    /// [`finish`](Self::finish), asserting success.
    pub fn finish_ok(self) -> Vec<String> {
        let what = self.what.clone();
        let ended = self.finish();
        assert!(
            ended.status.success(),
            "{what}: {}; stderr {:#?}",
            ended.status,
            ended.stderr
        );
        ended.stderr
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A file of `len` random bytes (from /dev/urandom) at `path`.
pub fn random_file(path: &Path, len: usize) {
    use std::io::Read as _;
    let mut urandom = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
    let mut out = std::fs::File::create(path).expect("create the random file");
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len());
        urandom
            .read_exact(&mut buf[..n])
            .expect("read /dev/urandom");
        out.write_all(&buf[..n]).expect("write the random file");
        left -= n;
    }
}

/// Asserts two files hold the same bytes (and says where they first differ if not).
pub fn assert_same(expected: &Path, got: &Path, what: &str) {
    let a = std::fs::read(expected).expect("read the expected file");
    let b = std::fs::read(got).unwrap_or_else(|e| panic!("{what}: {}: {e}", got.display()));
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "{what}: {} bytes expected, {} received, first difference at byte {at}",
            a.len(),
            b.len()
        );
    }
}

/// A port nobody listens on right now (bound and released: a peer that cannot print the
/// port it chose is given this one).
pub fn free_port(v6: bool) -> u16 {
    let addr = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A free UDP port.
pub fn free_udp_port(v6: bool) -> u16 {
    let addr = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
    std::net::UdpSocket::bind(addr)
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether `tool` runs here; without it a test fails, naming the package that brings it
/// (scripts/install-deps installs them), unless it is optional.
pub fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg(if tool == "nc" { "-h" } else { "--version" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "{tool} is not installed: apt-get install {package} (scripts/install-deps)"
    );
}

/// Runs `portsock connect ARGS` until it connects: the peer (socat, ncat) may not be
/// listening yet when it starts, and a refused connection sent nothing, so trying again
/// repeats no byte.
pub fn connect_retrying(args: &[&str], input: Option<&Path>, output: Option<&Path>) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let ended = Proc::portsock(args, input, output).finish();
        if ended.status.success() {
            return ended.stderr;
        }
        let refused = ended
            .stderr
            .iter()
            .any(|l| l.contains("Connection refused") || l.contains("No such file or directory"));
        assert!(
            refused && Instant::now() < deadline,
            "portsock {args:?}: {}; stderr {:#?}",
            ended.status,
            ended.stderr
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A temporary directory for one test's files.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// `dir/name`.
pub fn file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
