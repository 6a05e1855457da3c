//! The shared CLI checks (tests/common) fail when they should: every other CLI test relies on
//! them, so a check that passed anything would make those tests pass without checking.

mod common;

use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Output};

use common::{assert_cli_error, portsock, stdout_ok};

/// An `Output` as a process exiting with `code` would give.
fn output(code: i32, stdout: &str, stderr: &str) -> Output {
    Output {
        status: ExitStatus::from_raw(code << 8),
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

/// Whether `check` panics, and the panic's message.
fn panics(check: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    std::panic::catch_unwind(check).err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

#[test]
fn a_real_bad_input_passes_the_error_check_and_a_good_one_the_success_check() {
    assert_cli_error(&portsock(["struct", "calcsize", "I 2x!"]), "bad format");
    let out = portsock(["struct", "calcsize", "I 2s f"]);
    assert_eq!(stdout_ok(&out, "calcsize"), "12");
}

#[test]
fn the_error_check_refuses_every_other_shape_of_failure() {
    for (case, out) in [
        ("success", output(0, "", "error: x\n")),
        ("exit 2", output(2, "", "error: x\n")),
        ("stdout not empty", output(1, "12\n", "error: x\n")),
        ("no error: prefix", output(1, "", "x\n")),
        ("two lines", output(1, "", "error: x\nerror: y\n")),
    ] {
        let message = panics(|| assert_cli_error(&out, "the case"))
            .unwrap_or_else(|| panic!("{case}: assert_cli_error accepted it"));
        assert!(message.contains("the case"), "{case}: {message}");
    }
}

#[test]
fn the_success_check_refuses_a_failure_and_strips_one_newline() {
    let message = panics(|| {
        stdout_ok(&output(1, "12\n", "error: x\n"), "the case");
    })
    .expect("stdout_ok accepted exit 1");
    assert!(message.contains("the case"), "{message}");
    assert_eq!(stdout_ok(&output(0, "a\n\n", ""), "two"), "a\n");
}
