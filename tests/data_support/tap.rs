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

/// The userspace stack's `--ip` options in a test namespace (`tests/common/tap.rs`'s
/// `SMOL_V4` and `SMOL_V6`, with their prefixes).
pub const STACK_IPS: [&str; 2] = ["192.168.69.1/24", "fdaa::1/64"];

/// `portsock ARGS --backend BACKEND --tap TAP --ip ... EXTRA` (the [`STACK_IPS`]) in namespace
/// `ns`, stdin from `input` and stdout to `output` (`/dev/null` for `None`).
pub fn userspace(
    (ns, tap): (&str, &str),
    backend: &str,
    args: &[&str],
    extra: &[&str],
    input: Option<&Path>,
    output: Option<&Path>,
) -> Proc {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--backend", backend, "--tap", tap]);
    for ip in STACK_IPS {
        all.extend(["--ip", ip]);
    }
    all.extend(extra);
    Proc::spawn(in_ns(ns, PORTSOCK, &all), input, output)
}

/// The pieces of `path`'s bytes, `size` each (the last one shorter): the datagrams that reading
/// it `size` bytes at a time makes of it.
pub fn pieces(path: &Path, size: usize) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .expect("read the file")
        .chunks(size)
        .map(<[u8]>::to_vec)
        .collect()
}
