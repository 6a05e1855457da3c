//! Helpers shared by the integration tests: the vectors and the `portsock` binary.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Output};

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

/// Run the `portsock` binary built for this test run.
pub fn portsock<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_portsock"))
        .args(args)
        .output()
        .expect("run portsock")
}

/// Assert the CLI failed the documented way: exit 1, one `error: ` line on stderr, empty stdout.
pub fn assert_cli_error(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: expected exit 1, stderr {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{what}: stdout not empty: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.starts_with("error: "), "{what}: stderr {stderr:?}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{what}: one error line expected: {stderr:?}"
    );
}

/// Assert success and return stdout without its trailing newline.
pub fn stdout_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}, stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout.clone()).expect("utf-8 stdout");
    s.strip_suffix('\n').unwrap_or(&s).to_owned()
}
