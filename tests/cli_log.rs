//! `RUST_LOG`: the library's log lines (portsock-core's `log` feature, through env_logger) on
//! stderr when asked for, and the chapter's transcript on stdout unchanged either way.

mod common;

use std::process::Command;

use common::{Running, STREAM_CLIENT_LINES};

/// The chapter's echo server for one client, with `RUST_LOG` as given (unset for `None`);
/// returns its stdout lines (the peer replaced by `PEER`, the port by `PORT`) and all of its
/// stderr.
fn serve_one(rust_log: Option<&str>) -> (Vec<String>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portsock"));
    cmd.args(["echo", "server", "--addr", "127.0.0.1:0", "--count", "1"]);
    match rust_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut server = Running::spawn(cmd);
    let port = server.wait_for_port();
    let client = Running::portsock(["echo", "client", "--addr", &format!("127.0.0.1:{port}")]);
    let client_lines = client.finish_ok();
    assert_eq!(client_lines[1..], STREAM_CLIENT_LINES);
    let done = server.finish();
    assert!(done.status.success(), "server: {done:?}");
    let peer = done.stdout[2]
        .strip_prefix("connection from ")
        .unwrap_or_else(|| panic!("{:?}", done.stdout))
        .to_owned();
    let stdout = done
        .stdout
        .iter()
        .map(|l| {
            l.replace(&peer, "PEER")
                .replace(&format!("port {port}"), "port PORT")
        })
        .collect();
    (stdout, done.stderr)
}

#[test]
fn rust_log_debug_prints_the_core_log_points_on_stderr_only() {
    let (quiet_stdout, quiet_stderr) = serve_one(None);
    assert_eq!(quiet_stderr, "", "no RUST_LOG: nothing on stderr");
    let (stdout, stderr) = serve_one(Some("debug"));
    assert_eq!(
        stdout, quiet_stdout,
        "the transcript is the same with RUST_LOG"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("echo session: peer closed after 42 bytes"))
        .unwrap_or_else(|| panic!("no core log line on stderr: {stderr:?}"));
    assert!(
        line.contains("DEBUG") && line.contains("portsock_core::echo::stream"),
        "level and target: {line:?}"
    );
}

#[test]
fn rust_log_filters_by_level_and_target() {
    let (_, stderr) = serve_one(Some("warn"));
    assert_eq!(stderr, "", "a debug point is below warn");
    let (_, stderr) = serve_one(Some("portsock_core::multicast=debug"));
    assert_eq!(stderr, "", "another module's filter");
    let (_, stderr) = serve_one(Some("portsock_core::echo=debug"));
    assert!(stderr.contains("peer closed after 42 bytes"), "{stderr:?}");
}
