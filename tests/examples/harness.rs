//! Running the example binaries and the Python peers: [`Program`] reads a program's output line
//! by line while it runs and kills it if a test fails; [`Transcript`] is what a finished one
//! printed.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one step (a line to appear, a program to exit) may take before the test fails:
/// it only catches a hang, so it is generous for a busy 2-core machine.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// Where `cargo` put the example `name`: `target/<profile>/examples/`, beside `deps/`, where
/// this test runs from.
pub(crate) fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "example binary {} is missing: `cargo test` builds the examples before running \
         tests; when running this file alone, run `cargo build --examples` first",
        path.display()
    );
    // `cargo test --test examples` does not rebuild the examples: refuse to test an example
    // older than its own source.
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs"));
    let built = std::fs::metadata(&path).and_then(|m| m.modified());
    let written = std::fs::metadata(&source).and_then(|m| m.modified());
    if let (Ok(built), Ok(written)) = (built, written) {
        assert!(
            built >= written,
            "example binary {} is older than {}: run `cargo build --examples` (or all of \
             `cargo test`)",
            path.display(),
            source.display()
        );
    }
    path
}

/// A command running the example `name`.
pub(crate) fn example(name: &str) -> Command {
    Command::new(example_path(name))
}

/// A command running `script` with CPython.
pub(crate) fn python(script: &str) -> Command {
    let mut command = Command::new("python3");
    command.arg("-c").arg(script);
    command
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_tcp_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    probe.local_addr().expect("local address").port()
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_udp_port() -> u16 {
    let probe = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    probe.local_addr().expect("local address").port()
}

/// Whether this test may create network namespaces; if not, says it is skipped, or fails
/// under `PORTSOCK_REQUIRE_PRIVILEGED=1`.
pub(crate) fn privileged(why: &str) -> bool {
    let works = Command::new("unshare")
        .args(["--net", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        assert!(
            std::env::var_os("PORTSOCK_REQUIRE_PRIVILEGED").is_none_or(|v| v != "1"),
            "PORTSOCK_REQUIRE_PRIVILEGED=1, but {why}"
        );
        eprintln!("SKIPPED: {why}");
    }
    works
}

/// Starts `command` and waits for it to finish.
pub(crate) fn run(name: &str, command: &mut Command) -> Transcript {
    Program::start(name, command).finish()
}

/// A running program whose standard output is read line by line as it comes. Dropping it
/// kills the program if it is still running, so a failing test leaves nothing behind.
pub(crate) struct Program {
    name: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    lines: Vec<String>,
    /// Lines before this index were matched by an earlier `wait_for`.
    cursor: usize,
}

/// What a finished program printed, and how it ended.
pub(crate) struct Transcript {
    name: String,
    pub(crate) status: ExitStatus,
    pub(crate) lines: Vec<String>,
    pub(crate) stderr: String,
}

impl Program {
    pub(crate) fn start(name: &str, command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            name: name.to_owned(),
            child,
            stdout: rx,
            stderr: Some(stderr),
            lines: Vec::new(),
            cursor: 0,
        }
    }

    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Reads output until a line equal to `line` appears (after the previous match).
    pub(crate) fn wait_for(&mut self, line: &str) {
        self.wait_until(|l| l == line, line);
    }

    /// Reads output until a line starts with `prefix`, and returns the rest of that line.
    pub(crate) fn wait_for_value(&mut self, prefix: &str) -> String {
        let at = self.wait_until(|l| l.starts_with(prefix), prefix);
        self.lines[at][prefix.len()..].to_owned()
    }

    fn wait_until(&mut self, matches: impl Fn(&str) -> bool, what: &str) -> usize {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.lines[self.cursor..].iter().position(|l| matches(l)) {
                let at = self.cursor + i;
                self.cursor = at + 1;
                return at;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no line {what:?} within {WAIT:?}: {:#?}",
                        self.name, self.lines
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let t = self.finish();
                    panic!(
                        "{} ended before printing {what:?}\n{}",
                        self.name,
                        t.report()
                    );
                }
            }
        }
    }

    /// Waits for the program to exit (killing it after [`WAIT`]) and collects its output.
    pub(crate) fn finish(&mut self) -> Transcript {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                _ => break None,
            }
        };
        if status.is_none() {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("wait for the program");
        // The reader ends at end of file, which the exit brought (a slow reader thread must
        // not lose the last lines).
        while let Ok(line) = self.stdout.recv_timeout(WAIT) {
            self.lines.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        let transcript = Transcript {
            name: self.name.clone(),
            status,
            lines: std::mem::take(&mut self.lines),
            stderr,
        };
        assert!(
            status_known(status),
            "{} did not exit within {WAIT:?}, killed\n{}",
            self.name,
            transcript.report()
        );
        transcript
    }
}

/// Killed by us (SIGKILL) means it hung.
fn status_known(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() != Some(9)
}

impl Drop for Program {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Transcript {
    /// Everything about the run, for a failure message.
    pub(crate) fn report(&self) -> String {
        format!(
            "--- {} ({}) stdout:\n{}\n--- stderr:\n{}",
            self.name,
            self.status,
            self.lines.join("\n"),
            self.stderr
        )
    }

    /// The program succeeded and printed exactly `expected`.
    pub(crate) fn assert_lines<S: AsRef<str>>(&self, expected: &[S]) {
        assert!(
            self.status.success(),
            "{} failed\n{}",
            self.name,
            self.report()
        );
        let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
        assert_eq!(self.lines, expected, "{}\n{}", self.name, self.report());
    }

    /// The program succeeded and its last line is `expected`.
    pub(crate) fn assert_last_line(&self, expected: &str) {
        assert!(
            self.status.success(),
            "{} failed\n{}",
            self.name,
            self.report()
        );
        assert_eq!(
            self.lines.last().map(String::as_str),
            Some(expected),
            "{}",
            self.report()
        );
    }

    /// The rest of the first line starting with `prefix`.
    pub(crate) fn value_after(&self, prefix: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?}\n{}", self.report()))
            .to_owned()
    }

    /// The bytes of every `received b'...'` line, joined: what came back, or what arrived.
    pub(crate) fn received(&self) -> String {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix("received b'")?.strip_suffix('\''))
            .collect()
    }
}
