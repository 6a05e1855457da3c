//! Shared by `tests/lookup_local.rs` and `tests/lookup_dns.rs`: run a `portsock` command and
//! CPython's answer to the same command (`oracle.py`, which calls Python's `socket` module
//! and prints in the chapter's layout), optionally inside a network namespace, and compare.
#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// CPython's side: takes `portsock`'s arguments, prints what `portsock` must print.
pub const ORACLE: &str = include_str!("oracle.py");

/// The Python interpreter: `$PORTSOCK_PYTHON`, else `python3`, resolved once to the
/// executable itself (`sys.executable`), so that a wrapper such as pyenv's shim runs once
/// instead of once per command.
pub fn python() -> String {
    static RESOLVED: OnceLock<String> = OnceLock::new();
    RESOLVED
        .get_or_init(|| {
            let named = std::env::var("PORTSOCK_PYTHON").unwrap_or_else(|_| "python3".into());
            Command::new(&named)
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .filter(|p| !p.is_empty())
                .unwrap_or(named)
        })
        .clone()
}

/// Whether the interpreter runs at all.
pub fn have_python() -> bool {
    Command::new(python())
        .args(["-c", "import socket"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What a command did: exit status, stdout, stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Answer {
    fn from_output(out: &Output) -> Self {
        Self {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Where commands run: on the host, or through a prefix such as `ip netns exec NAME`.
#[derive(Debug, Clone, Default)]
pub struct Place {
    prefix: Vec<String>,
}

impl Place {
    /// This machine, as it is.
    pub fn host() -> Self {
        Self::default()
    }

    /// Inside network namespace `ns` (its `/etc/netns/ns` files bound over `/etc`).
    pub fn netns(ns: &str) -> Self {
        Self {
            prefix: ["ip", "netns", "exec", ns].map(String::from).to_vec(),
        }
    }

    /// A command running `program args...` here.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = if let Some((first, rest)) = self.prefix.split_first() {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        cmd
    }

    /// `portsock args...` here.
    pub fn portsock(&self, args: &[&str]) -> Answer {
        let out = self
            .command(env!("CARGO_BIN_EXE_portsock"), args)
            .output()
            .expect("run portsock");
        Answer::from_output(&out)
    }

    /// CPython's answer to `portsock args...`, here.
    pub fn oracle(&self, args: &[&str]) -> Answer {
        let mut full = vec!["-c", ORACLE];
        full.extend_from_slice(args);
        // `-c` puts the code in argv[0]'s place; the oracle reads sys.argv[1:].
        let out = self
            .command(&python(), &full)
            .output()
            .expect("run python3");
        Answer::from_output(&out)
    }

    /// Runs both and returns a description of every difference (empty: they agree). With
    /// `--json`, stdout is compared as JSON values; otherwise byte for byte.
    pub fn compare(&self, args: &[&str]) -> Vec<String> {
        let ours = self.portsock(args);
        let python = self.oracle(args);
        let mut diffs = Vec::new();
        let what = format!("portsock {}", shell_words(args));
        if python.status != Some(0) && python.status != Some(1) {
            diffs.push(format!(
                "{what}: the oracle itself failed ({:?}): {}",
                python.status, python.stderr
            ));
            return diffs;
        }
        if ours.status != python.status {
            diffs.push(format!(
                "{what}: exit {:?}, CPython {:?}\n  ours stderr: {}\n  CPython stderr: {}",
                ours.status, python.status, ours.stderr, python.stderr
            ));
        }
        if ours.stderr != python.stderr {
            diffs.push(format!(
                "{what}: stderr\n  ours:    {:?}\n  CPython: {:?}",
                ours.stderr, python.stderr
            ));
        }
        let same_stdout = if args.contains(&"--json") && !python.stdout.is_empty() {
            let parse = |s: &str| serde_json::from_str::<Value>(s).ok();
            parse(&ours.stdout).is_some() && parse(&ours.stdout) == parse(&python.stdout)
        } else {
            ours.stdout == python.stdout
        };
        if !same_stdout {
            diffs.push(format!(
                "{what}: stdout\n  ours:\n{}\n  CPython:\n{}",
                ours.stdout, python.stdout
            ));
        }
        diffs
    }

    /// CPython's results for a list of `socket` calls (`[["gethostbyname", "apu"], ...]`):
    /// `{"ok": value}` or `{"error": {"type", "errno", "message"}}` each.
    pub fn python_batch(&self, calls: &[Value]) -> Vec<Value> {
        let mut child = self
            .command(&python(), &["-c", ORACLE, "batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        let input = serde_json::to_vec(calls).expect("calls as JSON");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&input)
            .expect("write calls");
        let out = child.wait_with_output().expect("python3 batch");
        assert!(
            out.status.success(),
            "oracle batch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: Vec<Value> =
            serde_json::from_slice(&out.stdout).expect("oracle batch prints JSON");
        assert_eq!(results.len(), calls.len(), "one result per call");
        results
    }
}

/// Fails the test with every difference, if there are any.
pub fn assert_no_diffs(diffs: &[String]) {
    assert!(
        diffs.is_empty(),
        "{} difference(s) from CPython:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

/// Arguments as a shell would need them quoted, for messages.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=".contains(c))
            {
                (*a).to_owned()
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
