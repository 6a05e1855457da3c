//! The smoltcp and embassy backends against the Linux kernel over a TAP device: the namespace
//! every `tests/smoltcp_tap_*.rs` and `tests/embassy_tap_*.rs` test builds, and what they
//! share.
//!
//! Each test creates its own network namespace `ps-tap-<pid>-<tag>` with a TAP device inside
//! it; the kernel's side of the link is 192.168.69.100/24 and fdaa::100/64 (a unique local
//! prefix), portsock's smoltcp (or embassy) stack is 192.168.69.1 and fdaa::1 on the same TAP.
//! That side is `portsock ... --backend smoltcp --tap TAP` (or `--backend embassy`), run in the
//! namespace (a TAP device belongs to the namespace it was made in); its peers are the kernel
//! through portsock's std backend and CPython's `socket` and `struct`, also in the namespace.
//! Nothing leaves it. The namespace (and with it the TAP) is deleted by a `Drop` guard, also
//! when a test fails.
//!
//! Without root, `ip` or `/dev/net/tun` a test prints `SKIPPED: <why>` and passes, unless
//! `PORTSOCK_REQUIRE_PRIVILEGED=1`, which makes it fail.

pub mod dns;
pub mod multicast;
pub mod records;
pub mod tcp;
pub mod udp;

use std::path::PathBuf;
use std::process::Command;

use super::Running;
use super::privileged::{Netns, unavailable};
pub use super::privileged::{run, skip};

pub const PORTSOCK: &str = env!("CARGO_BIN_EXE_portsock");
pub const KERNEL_V4: &str = "192.168.69.100";
pub const KERNEL_V6: &str = "fdaa::100";
pub const SMOL_V4: &str = "192.168.69.1";
pub const SMOL_V6: &str = "fdaa::1";
/// The smoltcp stack's Ethernet address (the CLI's default).
pub const SMOL_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// A userspace stack on the TAP device, for the scenarios both backends' tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// `--backend smoltcp` ([`TapNet::smoltcp`]).
    Smoltcp,
    /// `--backend embassy` ([`TapNet::embassy`]).
    Embassy,
}

impl Stack {
    /// The stack's `--backend` value.
    pub fn backend(self) -> &'static str {
        match self {
            Self::Smoltcp => "smoltcp",
            Self::Embassy => "embassy",
        }
    }
}

/// A namespace with a TAP device whose kernel side has the test addresses.
pub struct TapNet {
    /// The namespace's name.
    pub ns: String,
    /// The TAP device's name.
    pub tap: String,
    dir: tempfile::TempDir,
    _netns: Netns,
}

impl TapNet {
    /// Namespace `ps-tap-<pid>-<tag>` with TAP `pstap<tag>`, or `None` after printing why
    /// these tests cannot run here (see [`skip`]).
    pub fn new(tag: &str) -> Option<Self> {
        if let Some(why) = unavailable(true) {
            skip(&why);
            return None;
        }
        let pid = std::process::id();
        let netns = Netns::new(format!("ps-tap-{pid}-{tag}")).expect("create the test namespace");
        let net = Self {
            ns: netns.name().to_owned(),
            tap: format!("pstap{tag}"),
            dir: tempfile::tempdir().expect("temporary directory"),
            _netns: netns,
        };
        let (ns, tap) = (net.ns.as_str(), net.tap.as_str());
        let v4 = format!("{KERNEL_V4}/24");
        let v6 = format!("{KERNEL_V6}/64");
        for cmd in [
            &["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"][..],
            &["ip", "-n", ns, "addr", "add", &v4, "dev", tap],
            &["ip", "-n", ns, "addr", "add", &v6, "dev", tap, "nodad"],
            &["ip", "-n", ns, "link", "set", tap, "up"],
            // Multicast to the chapter's group leaves by the TAP.
            &["ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", tap],
        ] {
            run(cmd).unwrap_or_else(|e| panic!("setting up {ns}: {e}"));
        }
        Some(net)
    }

    /// `portsock ARGS` in the namespace, on the kernel's sockets.
    pub fn kernel(&self, args: &[&str]) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, PORTSOCK]).args(args);
        Running::spawn(cmd)
    }

    /// `portsock ARGS --backend smoltcp --tap TAP --ip ...` in the namespace.
    pub fn smoltcp(&self, args: &[&str], extra: &[&str]) -> Running {
        self.userspace("smoltcp", args, extra)
    }

    /// `portsock ARGS --backend embassy --tap TAP --ip ...` in the namespace: the embassy-net
    /// stack, with the smoltcp stack's addresses ([`SMOL_V4`], [`SMOL_V6`], [`SMOL_MAC`]).
    pub fn embassy(&self, args: &[&str], extra: &[&str]) -> Running {
        self.userspace("embassy", args, extra)
    }

    /// `portsock ARGS` on `stack` ([`TapNet::smoltcp`] or [`TapNet::embassy`]).
    pub fn on(&self, stack: Stack, args: &[&str], extra: &[&str]) -> Running {
        match stack {
            Stack::Smoltcp => self.smoltcp(args, extra),
            Stack::Embassy => self.embassy(args, extra),
        }
    }

    /// `portsock ARGS` on a userspace stack (`--backend BACKEND`) on the TAP device.
    fn userspace(&self, backend: &str, args: &[&str], extra: &[&str]) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, PORTSOCK])
            .args(args)
            .args(["--backend", backend, "--tap", &self.tap])
            .args([
                "--ip",
                &format!("{SMOL_V4}/24"),
                "--ip",
                &format!("{SMOL_V6}/64"),
            ])
            .args(extra);
        Running::spawn(cmd)
    }

    /// Permanent neighbour entries for the stack's addresses ([`SMOL_V4`], [`SMOL_V6`] at
    /// [`SMOL_MAC`]) on the kernel's side: no ARP or neighbour exchange to lose (and retry a
    /// second later) before the first datagram, and none to hold datagrams in a queue that a
    /// later one can overtake once the address resolves.
    pub fn pin_stack_neighbour(&self) {
        let mac = SMOL_MAC.map(|b| format!("{b:02x}")).join(":");
        for ip in [SMOL_V4, SMOL_V6] {
            let args = ["neigh", "replace", ip, "lladdr", &mac, "dev", &self.tap];
            run(&[&["ip", "-n", &self.ns][..], &args, &["nud", "permanent"]].concat())
                .expect("a static neighbour entry");
        }
    }

    /// CPython running `script` in the namespace; its stdout.
    pub fn python(&self, script: &str, args: &[&str]) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, "python3", "-c", script])
            .args(args);
        Running::spawn(cmd)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Waits until the kernel calls the TAP's link up, after a smoltcp process opened it.
    /// Opening it turns the carrier on at once, but the kernel starts sending into the device
    /// only when its link watcher has run; until then it drops every frame it would send there
    /// (a datagram, an ARP or neighbour request, retried a second later). The watcher needs the
    /// lock that creating and deleting network namespaces take, so while other tests do that
    /// on a busy machine it can lag: call this before the kernel's side sends first.
    pub fn link_up(&self) {
        let deadline = std::time::Instant::now() + super::WAIT;
        loop {
            let show = run(&["ip", "-n", &self.ns, "-o", "link", "show", "dev", &self.tap])
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
            if matches!(&show, Ok(line) if line.contains(" state UP ")) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} in {}: link not up after {:?}: {show:?}",
                self.tap,
                self.ns,
                super::WAIT
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// `--timeout` of a multicast sender: how long it waits for one more ack. An ack may need the
/// kernel's second ARP or neighbour request, sent a second after the first (see
/// [`TapNet::link_up`]), and the sender waits this long after the last ack, on every run.
pub const ACK_WAIT: &str = "5";

/// Waits for a server's `starting up on ...` line.
pub fn started(server: &mut Running) {
    server.wait_for("starting up", |l| l.starts_with("starting up on"));
}

/// A CPython echo client in the chapter's style (`sendall`, `recv(16)` until all came back;
/// the sending in a thread of its own), with a message of `argv[3]` bytes of a pattern; prints
/// `ok N` when every byte matched.
pub const PY_ECHO_CLIENT: &str = r#"
import socket, sys, threading
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
message = bytes((i * 7 + 3) % 251 for i in range(size))
sock = socket.create_connection((host, port), timeout=20)
def send():
    sock.sendall(message)
    sock.shutdown(socket.SHUT_WR)
# Send while reading: an echo server stops reading when its echo cannot be sent.
sender = threading.Thread(target=send)
sender.start()
got = bytearray()
while True:
    data = sock.recv(65536 if size > 4096 else 16)
    if not data:
        break
    got += data
sender.join()
sock.close()
assert bytes(got) == message, f"echo differs: {len(got)} of {size} bytes"
print("ok", len(got))
"#;
