//! Privileged tests (root, network namespaces, TAP devices): whether they can run here, how
//! they skip, and a namespace that is deleted when its guard drops, also when a test fails.

use std::path::Path;
use std::process::{Command, Output};

/// Whether the effective user is root (the second field of `Uid:` in /proc/self/status).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

/// Why namespace tests cannot run here (not root, no `ip`), if they cannot; with `tap`, also
/// no `/dev/net/tun`.
pub fn unavailable(tap: bool) -> Option<String> {
    if !is_root() {
        return Some("not running as root (network namespaces need it)".into());
    }
    if tap && !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun (the tun module is not loaded)".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("`ip -V` failed: {}", out.status)),
        Err(e) => Some(format!("cannot run `ip` (iproute2): {e}")),
    }
}

/// Passes with `SKIPPED: <why>`, or fails if `PORTSOCK_REQUIRE_PRIVILEGED=1`.
pub fn skip(why: &str) {
    if std::env::var("PORTSOCK_REQUIRE_PRIVILEGED").is_ok_and(|v| v == "1") {
        panic!("PORTSOCK_REQUIRE_PRIVILEGED=1, but {why}");
    }
    println!("SKIPPED: {why}");
}

/// Runs a command to its end; the error names it and carries its stderr.
pub fn run(args: &[&str]) -> Result<Output, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace of the test's own, with its loopback up; dropping it deletes the
/// namespace and every device in it.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` (make it unique: the test's pid and a tag).
    pub fn new(name: String) -> Result<Self, String> {
        run(&["ip", "netns", "add", &name])?;
        let ns = Self { name };
        run(&["ip", "-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Its name, for `ip -n` and `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = run(&["ip", "netns", "del", &self.name]) {
            eprintln!("cleanup: {e}");
        }
    }
}
