//! A client whose connection is refused prints what the chapter's does: `connecting to ...` on
//! stdout, then the error (one `error:` line on stderr, exit status 1). Bad input found before
//! any connection is tried still leaves stdout empty (tests/cli_net.rs).
#![cfg(feature = "std")]

mod common;

use common::{free_tcp_port, open_tempdir, portsock};

/// Asserts exit 1, exactly `stdout`, and one `error: {option}: ...` line mentioning `why`.
fn assert_refused(args: &[&str], stdout: &str, option: &str, why: &str) {
    let out = portsock(args);
    let what = args.join(" ");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), stdout, "{what}");
    assert!(
        stderr.starts_with(&format!("error: {option}: ")),
        "{what}: {stderr}"
    );
    assert!(stderr.contains(why), "{what}: {stderr:?} should say {why}");
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr:?}");
}

#[test]
fn a_refused_tcp_client_says_where_it_tried() {
    let port = free_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let line = format!("connecting to 127.0.0.1 port {port}\n");
    assert_refused(
        &["echo", "client", "--addr", &addr],
        &line,
        "--addr",
        "Connection refused",
    );
    // The host as given, as the chapter prints `connecting to localhost port 10000`.
    assert_refused(
        &["echo", "client", "--addr", &format!("localhost:{port}")],
        &format!("connecting to localhost port {port}\n"),
        "--addr",
        "Connection refused",
    );
    assert_refused(
        &["binary", "send", "--addr", &addr],
        &line,
        "--addr",
        "Connection refused",
    );
}

#[test]
fn a_unix_client_with_no_server_says_where_it_tried() {
    let dir = open_tempdir();
    let path = dir.path().join("uds_socket");
    let path = path.to_str().expect("utf-8 path");
    assert_refused(
        &["echo", "client", "--proto", "unix", "--path", path],
        &format!("connecting to {path}\n"),
        "--path",
        "No such file or directory",
    );
    // A stale node (its server is gone) refuses the connection.
    drop(std::os::unix::net::UnixListener::bind(path).expect("bind a node"));
    assert_refused(
        &["echo", "client", "--proto", "unix", "--path", path],
        &format!("connecting to {path}\n"),
        "--path",
        "Connection refused",
    );
}

#[test]
fn a_unix_node_without_write_permission_is_refused() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let dir = open_tempdir();
    let path = dir.path().join("uds_socket");
    let _server = std::os::unix::net::UnixListener::bind(&path).expect("bind a node");
    if std::fs::metadata(&path).expect("the node").uid() == 0 {
        // Root passes any mode (CAP_DAC_OVERRIDE): tests/netns.rs and the tour's permissions
        // section (tests/cli_tour.rs) run the client as `nobody` there.
        println!("SKIPPED: root ignores file modes");
        return;
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    let path = path.to_str().expect("utf-8 path");
    assert_refused(
        &["echo", "client", "--proto", "unix", "--path", path],
        &format!("connecting to {path}\n"),
        "--path",
        "Permission denied",
    );
}
