//! The data-mode tests over a TAP device in a test namespace (`tests/data_tap*.rs`): portsock
//! and its peers run with `ip netns exec`, portsock on a userspace stack with the TAP's
//! options. The namespace itself is `tests/common/tap.rs`'s `TapNet`; these take its name and
//! its TAP's, so the helpers need no more of it.

use std::path::Path;
use std::process::Command;

use super::{PORTSOCK, Proc};

/// `ip netns exec NS PROGRAM ARGS`.
pub fn in_ns(ns: &str, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, program]).args(args);
    cmd
}

/// `portsock ARGS --backend BACKEND --tap TAP --ip IP... EXTRA` in namespace `ns`, stdin from
/// `input` and stdout to `output` (`/dev/null` for `None`).
#[allow(clippy::too_many_arguments)]
pub fn userspace(
    (ns, tap): (&str, &str),
    ips: &[&str],
    backend: &str,
    args: &[&str],
    extra: &[&str],
    input: Option<&Path>,
    output: Option<&Path>,
) -> Proc {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--backend", backend, "--tap", tap]);
    for ip in ips {
        all.extend(["--ip", ip]);
    }
    all.extend(extra);
    Proc::spawn(in_ns(ns, PORTSOCK, &all), input, output)
}
