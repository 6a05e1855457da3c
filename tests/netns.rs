//! Privileged tests: what only root can set up.
//!
//! * **Multicast between two hosts**, the chapter's A/B run: two network namespaces created
//!   here, joined by a veth pair, with addresses from a test range (198.18.0.0/15, RFC 2544;
//!   fd70:7363::/64, a unique local prefix) that exist only inside them. A receiver runs in
//!   each namespace, the sender in B, and it must collect both acks, over IPv4 and IPv6.
//! * **Unix socket permissions**: a client running as `nobody` (`setpriv`) is refused with a
//!   permission error by a socket of mode 0600 and served by one of mode 0666.
//!
//! Namespaces (and the veth pair inside them) are removed by a `Drop` guard, also when a test
//! fails. Traffic stays inside those namespaces, or on a Unix socket in a temporary directory.
//! Without root (or without `ip`, namespaces, veth or `setpriv`) a test prints
//! `SKIPPED: <why>` and passes, unless `PORTSOCK_REQUIRE_PRIVILEGED=1`, which makes it fail.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::privileged::{Netns, is_root, run, skip, unavailable};
use common::{Running, STREAM_CLIENT_LINES, open_tempdir};

const PORTSOCK: &str = env!("CARGO_BIN_EXE_portsock");

/// Runs `ip ARGS`; the error is its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let mut cmd = vec!["ip"];
    cmd.extend_from_slice(args);
    run(&cmd).map(drop)
}

/// Two namespaces joined by a veth pair; both are deleted when this is dropped (deleting a
/// namespace deletes the veth end inside it, and with it the pair).
struct Hosts {
    namespaces: Vec<Netns>,
    /// The namespace and interface of host A, then of host B.
    a: (String, String),
    b: (String, String),
}

impl Hosts {
    /// Creates `ps-mc-a-<pid>-<tag>` and `ps-mc-b-<pid>-<tag>`, joined by `psa<pid><tag>` and
    /// `psb<pid><tag>`, each end up, loopbacks up, IPv6 duplicate address detection off (the
    /// addresses are ours alone, and a tentative address could not be used at once).
    fn new(tag: &str) -> Result<Self, String> {
        let pid = std::process::id();
        let mut hosts = Self {
            namespaces: Vec::new(),
            a: (format!("ps-mc-a-{pid}-{tag}"), format!("psa{pid}{tag}")),
            b: (format!("ps-mc-b-{pid}-{tag}"), format!("psb{pid}{tag}")),
        };
        for ns in [hosts.a.0.clone(), hosts.b.0.clone()] {
            hosts.namespaces.push(Netns::new(ns.clone())?);
            for conf in ["all", "default"] {
                let key = format!("net.ipv6.conf.{conf}.accept_dad=0");
                ip(&["netns", "exec", &ns, "sysctl", "-qw", &key])?;
            }
        }
        let (ns_a, if_a) = &hosts.a;
        let (ns_b, if_b) = &hosts.b;
        ip(&[
            "link", "add", "name", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
            "netns", ns_b,
        ])?;
        for (ns, dev) in [&hosts.a, &hosts.b] {
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(hosts)
    }

    /// Gives each end an address (`prefix` + 1 on A, + 2 on B, `/len`) and routes `group_net`
    /// to the veth end, as a host routes multicast to its LAN.
    fn address(&self, prefix: &str, len: u8, group_net: &str) -> Result<[String; 2], String> {
        let v6 = prefix.contains(':');
        let mut addrs = [String::new(), String::new()];
        for (i, (ns, dev)) in [&self.a, &self.b].into_iter().enumerate() {
            let addr = format!("{prefix}{}", i + 1);
            let cidr = format!("{addr}/{len}");
            let mut args = vec!["-n", ns.as_str(), "addr", "add", &cidr, "dev", dev];
            if v6 {
                args.push("nodad");
            }
            ip(&args)?;
            let family = if v6 { "-6" } else { "-4" };
            ip(&["-n", ns, family, "route", "add", group_net, "dev", dev])?;
            addrs[i] = addr;
        }
        Ok(addrs)
    }
}

/// `portsock ARGS` inside namespace `ns`.
fn in_namespace(ns: &str, args: &[&str]) -> Running {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, PORTSOCK]).args(args);
    Running::spawn(cmd)
}

/// The chapter's A/B run: receivers on A and B, the sender on B; returns the acks' sources.
fn ab_run(hosts: &Hosts, group: &str, iface: [&str; 2]) -> BTreeSet<String> {
    let mut receivers = [(&hosts.a.0, iface[0]), (&hosts.b.0, iface[1])].map(|(ns, iface)| {
        in_namespace(
            ns,
            &[
                "multicast",
                "receive",
                "--group",
                group,
                "--iface",
                iface,
                "--count",
                "1",
            ],
        )
    });
    for r in &mut receivers {
        r.wait_for("waiting to receive message", |l| {
            l == "waiting to receive message"
        });
    }
    let sender = in_namespace(
        &hosts.b.0,
        &[
            "multicast",
            "send",
            "--group",
            group,
            "--iface",
            iface[1],
            "--timeout",
            "1",
        ],
    );
    let lines = sender.finish_ok();
    assert_eq!(lines[0], "sending b'very important data'");
    assert_eq!(
        lines[lines.len() - 2..],
        ["timed out, no more responses", "closing socket"]
    );
    let acks: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("received b'ack' from "))
        .map(str::to_owned)
        .collect();
    assert_eq!(acks.len(), 2, "{lines:#?}");
    for r in receivers {
        let lines = r.finish_ok();
        assert!(
            lines.iter().any(|l| l == "b'very important data'"),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("sending acknowledgement to ")),
            "{lines:#?}"
        );
    }
    acks.into_iter().collect()
}

#[test]
fn multicast_between_two_hosts_ipv4() {
    if let Some(why) = unavailable(false) {
        return skip(&why);
    }
    let setup = Hosts::new("4").and_then(|h| {
        let addrs = h.address("198.18.4.", 24, "224.0.0.0/4")?;
        Ok((h, addrs))
    });
    let (hosts, [a, b]) = match setup {
        Ok(ok) => ok,
        Err(why) => return skip(&format!("cannot set up namespaces: {why}")),
    };
    let acks = ab_run(&hosts, "224.3.29.71", [&a, &b]);
    let expected: BTreeSet<String> = [&a, &b]
        .iter()
        .map(|addr| format!("('{addr}', 10000)"))
        .collect();
    assert_eq!(acks, expected);
}

#[test]
fn multicast_between_two_hosts_ipv6() {
    if let Some(why) = unavailable(false) {
        return skip(&why);
    }
    let setup = Hosts::new("6").and_then(|h| {
        let addrs = h.address("fd70:7363::", 64, "ff05::/16")?;
        Ok((h, addrs))
    });
    let (hosts, [a, b]) = match setup {
        Ok(ok) => ok,
        Err(why) => return skip(&format!("cannot set up namespaces: {why}")),
    };
    // A site-scope group, named with the interface (by name, looked up in each namespace).
    let acks = ab_run(&hosts, "ff05::3:29:71", [&hosts.a.1, &hosts.b.1]);
    let expected: BTreeSet<String> = [&a, &b]
        .iter()
        .map(|addr| format!("('{addr}', 10000, 0, 0)"))
        .collect();
    assert_eq!(acks, expected);
}

/// `portsock ARGS` as user `nobody`, group `nogroup`, no supplementary groups.
fn as_nobody(exe: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(exe)
        .args(args);
    cmd
}

/// A `portsock` that `nobody` can run: the built one, or a copy in `dir` if the build
/// directory is closed to other users.
fn portsock_for_nobody(dir: &Path) -> Result<PathBuf, String> {
    let built = PathBuf::from(PORTSOCK);
    let runs = |exe: &Path| {
        as_nobody(exe, &["--version"])
            .output()
            .is_ok_and(|o: Output| o.status.success())
    };
    if runs(&built) {
        return Ok(built);
    }
    let copy = dir.join("portsock");
    std::fs::copy(&built, &copy).map_err(|e| format!("copy portsock: {e}"))?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod portsock: {e}"))?;
    if runs(&copy) {
        Ok(copy)
    } else {
        Err("`setpriv --reuid=nobody` cannot run portsock".into())
    }
}

#[test]
fn unix_socket_mode_decides_who_may_connect() {
    if !is_root() {
        return skip("not running as root");
    }
    let dir = open_tempdir(); // mode 0755: nobody may enter it
    let exe = match portsock_for_nobody(dir.path()) {
        Ok(exe) => exe,
        Err(why) => return skip(&why),
    };
    for (mode, nobody_may_connect) in [("600", false), ("666", true)] {
        let path = dir.path().join(format!("uds_{mode}"));
        let path = path.to_str().expect("utf-8 path");
        let mut server = Running::portsock([
            "echo", "server", "--proto", "unix", "--path", path, "--mode", mode, "--count", "1",
        ]);
        server.wait_for("waiting for a connection", |l| {
            l == "waiting for a connection"
        });
        let bits = std::fs::metadata(path)
            .expect("socket node")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(format!("{bits:o}"), mode);

        let args = ["echo", "client", "--proto", "unix", "--path", path];
        if nobody_may_connect {
            let lines = Running::spawn(as_nobody(&exe, &args)).finish_ok();
            assert_eq!(lines[1..], STREAM_CLIENT_LINES);
        } else {
            let out = as_nobody(&exe, &args).output().expect("run setpriv");
            // As the chapter: where it tried, then the refusal.
            assert_eq!(out.status.code(), Some(1), "nobody on a 0600 socket");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("connecting to {path}\n")
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.starts_with("error: --path: "), "{stderr}");
            assert!(stderr.contains("Permission denied"), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            // The owner still gets in: the refusal was the mode's doing.
            let lines = Running::portsock(args).finish_ok();
            assert_eq!(lines[1..], STREAM_CLIENT_LINES);
        }
        let lines = server.finish_ok();
        assert_eq!(lines.last().map(String::as_str), Some("no data from "));
    }
}
