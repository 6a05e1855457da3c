//! dnsmasq (Debian's `dnsmasq-base`) as the DNS server on the kernel's side of a TAP test
//! network (see [`super::tap`]): no upstream, no hosts file, only the records the test gives,
//! every query logged to a file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::tap::{KERNEL_V4, TapNet, run, skip};

/// A dnsmasq answering on [`KERNEL_V4`] port 53 in a test's namespace; killed when dropped.
pub struct Dnsmasq {
    child: Child,
    log: PathBuf,
}

impl Dnsmasq {
    /// Starts dnsmasq in `net`'s namespace with the records `zone` (dnsmasq options such as
    /// `--host-record=NAME,ADDR`) and waits until it serves; `None` after a skip when there is
    /// no dnsmasq.
    pub fn start(net: &TapNet, zone: &[&str]) -> Option<Self> {
        if Command::new("dnsmasq").arg("--version").output().is_err() {
            skip("no dnsmasq (apt install dnsmasq-base)");
            return None;
        }
        let log = net.file("dnsmasq.log");
        let child = Command::new("ip")
            .args(["netns", "exec", &net.ns, "dnsmasq", "--keep-in-foreground"])
            .args(["--no-resolv", "--no-hosts", "--bind-interfaces"])
            .args(["--pid-file=", "--log-queries"])
            .arg(format!("--listen-address={KERNEL_V4}"))
            .arg(format!("--log-facility={}", log.display()))
            .args(zone)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        let server = Self { child, log };
        // Wait until it answers (on the kernel's own sockets).
        let deadline = std::time::Instant::now() + super::WAIT;
        let probe = format!(
            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('{KERNEL_V4}', 53))"
        );
        while run(&["ip", "netns", "exec", &net.ns, "python3", "-c", &probe]).is_err()
            || !server.queries().contains("started")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "dnsmasq did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(server)
    }

    /// Its log so far: every query it answered, with the asker's address.
    pub fn queries(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
