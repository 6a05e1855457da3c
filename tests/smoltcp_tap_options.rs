//! The smoltcp backend's command-line options: bad ones are refused with a clear message before
//! any device is opened (no privileges needed), good ones are used.

mod common;

use std::path::Path;

/// Bad smoltcp options: one clear `error:` line naming the option, exit 1, nothing on stdout,
/// and no device created (no privileges needed).
#[test]
fn smoltcp_options_are_checked() {
    use common::{assert_cli_error, portsock};
    let cases: &[(&[&str], &str)] = &[
        (
            &["echo", "client", "--backend", "smoltcp"],
            "error: --backend smoltcp: needs --tap",
        ),
        (
            &["echo", "client", "--backend", "smoltcp", "--tap", "t0"],
            "error: --backend smoltcp: needs --ip",
        ),
        (
            &[
                "echo",
                "client",
                "--backend",
                "smoltcp",
                "--tap",
                "t0",
                "--ip",
                "10.0.0.1",
            ],
            "error: --ip \"10.0.0.1\": invalid input: expected ADDRESS/PREFIX",
        ),
        (
            &[
                "echo",
                "client",
                "--backend",
                "smoltcp",
                "--tap",
                "t0",
                "--ip",
                "10.0.0.1/33",
            ],
            "error: --ip \"10.0.0.1/33\"",
        ),
        (
            &[
                "echo",
                "server",
                "--backend",
                "smoltcp",
                "--tap",
                "t0",
                "--ip",
                "10.0.0.1/8",
                "--mac",
                "02:00:00:00:00",
            ],
            "error: --mac \"02:00:00:00:00\": expected six hex octets",
        ),
        (
            &[
                "echo",
                "server",
                "--backend",
                "smoltcp",
                "--tap",
                "t0",
                "--ip",
                "10.0.0.1/8",
                "--drop-chance",
                "101",
            ],
            "error: --drop-chance 101: expected a percentage",
        ),
        (
            &[
                "echo",
                "server",
                "--backend",
                "smoltcp",
                "--tap",
                "no-such-tap0",
                "--ip",
                "10.0.0.1/8",
            ],
            "error: --tap no-such-tap0: no network device \"no-such-tap0\" in this network namespace",
        ),
        (
            &["echo", "client", "--tap", "t0"],
            "error: --tap: applies to --backend smoltcp or embassy only",
        ),
        (
            &[
                "echo",
                "server",
                "--backend",
                "smoltcp",
                "--proto",
                "unix",
                "--tap",
                "t0",
                "--ip",
                "10.0.0.1/8",
            ],
            "error: --proto unix: Unix sockets are the OS's",
        ),
        (
            &[
                "lookup",
                "host",
                "pymotw.com",
                "--backend",
                "smoltcp",
                "--tap",
                "t0",
                "--ip",
                "10.0.0.1/8",
            ],
            "error: --backend smoltcp: lookup host needs --dns SERVER",
        ),
    ];
    for (args, want) in cases {
        let out = portsock(*args);
        assert_cli_error(&out, &args.join(" "));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(want),
            "{args:?}: {stderr:?}, expected {want:?}"
        );
    }
    assert!(
        !Path::new("/sys/class/net/no-such-tap0").exists(),
        "a missing TAP must not be created"
    );
}
