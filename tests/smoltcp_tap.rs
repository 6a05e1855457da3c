//! The smoltcp backend against the Linux kernel, over a TAP device (privileged).
//!
//! Each test creates its own network namespace `ps-tap-<pid>-<tag>` with a TAP device inside
//! it; the kernel's side of the link is 192.168.69.100/24 and fdaa::100/64 (a unique local
//! prefix), portsock's smoltcp stack is 192.168.69.1 and fdaa::1 on the same TAP. The smoltcp
//! side is `portsock ... --backend smoltcp --tap TAP`, run in the namespace (a TAP device
//! belongs to the namespace it was made in); its peers are the kernel through portsock's std
//! backend and CPython's `socket` and `struct`, also in the namespace. Nothing leaves it. The
//! namespace (and with it the TAP) is deleted by a `Drop` guard, also when a test fails.
//!
//! Without root, `ip` or `/dev/net/tun` a test prints `SKIPPED: <why>` and passes, unless
//! `PORTSOCK_REQUIRE_PRIVILEGED=1`, which makes it fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Running, STREAM_CLIENT_LINES};

const PORTSOCK: &str = env!("CARGO_BIN_EXE_portsock");
const KERNEL_V4: &str = "192.168.69.100";
const KERNEL_V6: &str = "fdaa::100";
const SMOL_V4: &str = "192.168.69.1";
const SMOL_V6: &str = "fdaa::1";
/// The smoltcp stack's Ethernet address (the CLI's default).
const SMOL_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// `--timeout` of a multicast sender: how long it waits for one more ack. An ack may need the
/// kernel's second ARP or neighbour request, sent a second after the first (see
/// [`TapNet::link_up`]), and the sender waits this long after the last ack, on every run.
const ACK_WAIT: &str = "5";

/// Why these tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false);
    if !root {
        return Some("not running as root (TAP devices and namespaces need it)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun (the tun module is not loaded)".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("cannot run `ip` (iproute2)".into()),
    }
}

fn skip(why: &str) {
    if std::env::var("PORTSOCK_REQUIRE_PRIVILEGED").is_ok_and(|v| v == "1") {
        panic!("PORTSOCK_REQUIRE_PRIVILEGED=1, but {why}");
    }
    println!("SKIPPED: {why}");
}

fn run(args: &[&str]) -> Result<Output, String> {
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

/// A namespace with a TAP device whose kernel side has the test addresses.
struct TapNet {
    ns: String,
    tap: String,
    dir: tempfile::TempDir,
}

impl TapNet {
    fn new(tag: &str) -> Option<Self> {
        if let Some(why) = unavailable() {
            skip(&why);
            return None;
        }
        let pid = std::process::id();
        let net = Self {
            ns: format!("ps-tap-{pid}-{tag}"),
            tap: format!("pstap{tag}"),
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        run(&["ip", "netns", "add", &net.ns]).expect("create the test namespace");
        let (ns, tap) = (net.ns.as_str(), net.tap.as_str());
        let v4 = format!("{KERNEL_V4}/24");
        let v6 = format!("{KERNEL_V6}/64");
        for cmd in [
            &["ip", "-n", ns, "link", "set", "lo", "up"][..],
            &["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"],
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
    fn kernel(&self, args: &[&str]) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, PORTSOCK]).args(args);
        Running::spawn(cmd)
    }

    /// `portsock ARGS --backend smoltcp --tap TAP --ip ...` in the namespace.
    fn smoltcp(&self, args: &[&str], extra: &[&str]) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, PORTSOCK])
            .args(args)
            .args(["--backend", "smoltcp", "--tap", &self.tap])
            .args([
                "--ip",
                &format!("{SMOL_V4}/24"),
                "--ip",
                &format!("{SMOL_V6}/64"),
            ])
            .args(extra);
        Running::spawn(cmd)
    }

    /// CPython running `script` in the namespace; its stdout.
    fn python(&self, script: &str, args: &[&str]) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, "python3", "-c", script])
            .args(args);
        Running::spawn(cmd)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Waits until the kernel calls the TAP's link up, after a smoltcp process opened it.
    /// Opening it turns the carrier on at once, but the kernel starts sending into the device
    /// only when its link watcher has run; until then it drops every frame it would send there
    /// (a datagram, an ARP or neighbour request, retried a second later). The watcher needs the
    /// lock that creating and deleting network namespaces take, so while other tests do that
    /// on a busy machine it can lag: call this before the kernel's side sends first.
    fn link_up(&self) {
        let deadline = std::time::Instant::now() + common::WAIT;
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
                common::WAIT
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Waits for a server's `starting up on ...` line.
fn started(server: &mut Running) {
    server.wait_for("starting up", |l| l.starts_with("starting up on"));
}

impl Drop for TapNet {
    fn drop(&mut self) {
        // Deleting the namespace deletes the TAP device in it.
        if let Err(e) = run(&["ip", "netns", "del", &self.ns]) {
            eprintln!("cleanup: {e}");
        }
    }
}

/// A CPython echo client in the chapter's style (`sendall`, `recv(16)` until all came back;
/// the sending in a thread of its own), with a message of `argv[3]` bytes of a pattern; prints
/// `ok N` when every byte matched.
const PY_ECHO_CLIENT: &str = r#"
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

/// A CPython echo server (one connection; reads until end of stream, echoes as it goes).
const PY_ECHO_SERVER: &str = r#"
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
print("listening", flush=True)
conn, peer = srv.accept()
total = 0
while True:
    data = conn.recv(16)
    if not data:
        break
    conn.sendall(data)
    total += len(data)
conn.close()
print("echoed", total, "from", peer[0], flush=True)
"#;

fn smoltcp_tcp_server_answers_the_kernel(tag: &str, bind: &str, server_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let mut server = net.smoltcp(
        &[
            "echo", "server", "--addr", bind, "--count", "3", "--chunk", "4096",
        ],
        &["--pcap", net.file("server.pcap").to_str().unwrap()],
    );
    started(&mut server);
    let target = if server_ip.contains(':') {
        format!("[{server_ip}]:10000")
    } else {
        format!("{server_ip}:10000")
    };
    // 1. portsock's std client: the chapter's lines, every byte verified by the client machine.
    let lines = net
        .kernel(&["echo", "client", "--addr", &target, "--timeout", "10"])
        .finish_ok();
    assert_eq!(lines[0], format!("connecting to {server_ip} port 10000"));
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    // 2. CPython, the chapter's way, 16 bytes per recv.
    let py = net
        .python(PY_ECHO_CLIENT, &[server_ip, "10000", "42"])
        .finish_ok();
    assert_eq!(py, ["ok 42"]);
    // 3. CPython again with 1 MiB: flow control both ways through smoltcp's windows.
    let py = net
        .python(PY_ECHO_CLIENT, &[server_ip, "10000", "1048576"])
        .finish_ok();
    assert_eq!(py, ["ok 1048576"]);
    let lines = server.finish_ok();
    let peers: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("connection from"))
        .collect();
    assert_eq!(peers.len(), 3, "{lines:#?}");
    let kernel = if server_ip.contains(':') {
        KERNEL_V6
    } else {
        KERNEL_V4
    };
    assert!(
        peers.iter().all(|p| p.contains(&format!("'{kernel}'"))),
        "{peers:?}"
    );
    assert!(
        net.file("server.pcap").metadata().unwrap().len() > 1 << 20,
        "the capture holds the traffic"
    );
}

#[test]
fn tcp_smoltcp_server_kernel_clients_ipv4() {
    smoltcp_tcp_server_answers_the_kernel("t4", ":10000", SMOL_V4);
}

#[test]
fn tcp_smoltcp_server_kernel_clients_ipv6() {
    smoltcp_tcp_server_answers_the_kernel("t6", "[::]:10000", SMOL_V6);
}

fn smoltcp_tcp_client_reaches_the_kernel(tag: &str, kernel_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let target = if kernel_ip.contains(':') {
        format!("[{kernel_ip}]:10000")
    } else {
        format!("{kernel_ip}:10000")
    };
    // 1. portsock's std server on the kernel's sockets.
    let mut server = net.kernel(&["echo", "server", "--addr", &target, "--count", "1"]);
    started(&mut server);
    let lines = net
        .smoltcp(
            &["echo", "client", "--addr", &target, "--timeout", "10"],
            &[],
        )
        .finish_ok();
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    let served = server.finish_ok();
    let smol = if kernel_ip.contains(':') {
        SMOL_V6
    } else {
        SMOL_V4
    };
    assert!(
        served
            .iter()
            .any(|l| l.starts_with(&format!("connection from ('{smol}'"))),
        "{served:#?}"
    );
    // 2. CPython's server, a 60,000-byte message (every byte checked by portsock's client).
    let mut py = net.python(PY_ECHO_SERVER, &[kernel_ip, "10001"]);
    py.wait_for("listening", |l| l == "listening");
    let message: String = (0..60_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let target = target.replace(":10000", ":10001");
    let lines = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--addr",
                &target,
                "--chunk",
                "4096",
                "--message",
                &message,
            ],
            &[],
        )
        .finish_ok();
    assert_eq!(lines.last().unwrap(), "closing socket");
    let received: usize = lines
        .iter()
        .filter_map(|l| l.strip_prefix("received b'"))
        .map(|l| l.len() - 1)
        .sum();
    assert_eq!(received, 60_000);
    let py = py.finish_ok();
    assert_eq!(py.last().unwrap(), &format!("echoed 60000 from {smol}"));
}

#[test]
fn tcp_smoltcp_client_kernel_servers_ipv4() {
    smoltcp_tcp_client_reaches_the_kernel("c4", KERNEL_V4);
}

#[test]
fn tcp_smoltcp_client_kernel_servers_ipv6() {
    smoltcp_tcp_client_reaches_the_kernel("c6", KERNEL_V6);
}

/// CPython's datagram client: sends argv[3], prints what came back.
const PY_UDP_CLIENT: &str = r#"
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.settimeout(5)
sock.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
data, server = sock.recvfrom(4096)
print(data.decode(), server[0])
"#;

fn udp_both_ways(tag: &str, kernel_ip: &str, smol_ip: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    let bracket = |ip: &str, port: u16| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    // smoltcp server; the kernel's clients: portsock std and CPython.
    let any = if smol_ip.contains(':') {
        "[::]:10000"
    } else {
        ":10000"
    };
    let mut server = net.smoltcp(
        &[
            "echo", "server", "--proto", "udp", "--addr", any, "--count", "2",
        ],
        &[],
    );
    started(&mut server);
    net.link_up();
    let lines = net
        .kernel(&[
            "echo",
            "client",
            "--proto",
            "udp",
            "--addr",
            &bracket(smol_ip, 10000),
            "--timeout",
            "10",
        ])
        .finish_ok();
    assert_eq!(
        lines,
        [
            "sending b'This is the message.  It will be repeated.'",
            "waiting to receive",
            "received b'This is the message.  It will be repeated.'",
            "closing socket"
        ]
    );
    let py = net
        .python(PY_UDP_CLIENT, &[smol_ip, "10000", "hello from CPython"])
        .finish_ok();
    assert_eq!(py, [format!("hello from CPython {smol_ip}")]);
    let served = server.finish_ok();
    assert_eq!(
        served.iter().filter(|l| l.starts_with("sent ")).count(),
        2,
        "{served:#?}"
    );
    // The kernel's server; the smoltcp client.
    let mut server = net.kernel(&[
        "echo",
        "server",
        "--proto",
        "udp",
        "--addr",
        &bracket(kernel_ip, 10001),
        "--count",
        "1",
    ]);
    started(&mut server);
    // The kernel's answer to the client's first ARP or neighbour request may be dropped (see
    // `TapNet::link_up`), so the client waits for the retry.
    let lines = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &bracket(kernel_ip, 10001),
                "--timeout",
                "10",
            ],
            &[],
        )
        .finish_ok();
    assert_eq!(
        lines[2],
        "received b'This is the message.  It will be repeated.'"
    );
    server.finish_ok();
}

#[test]
fn udp_echo_smoltcp_and_kernel_ipv4() {
    udp_both_ways("u4", KERNEL_V4, SMOL_V4);
}

#[test]
fn udp_echo_smoltcp_and_kernel_ipv6() {
    udp_both_ways("u6", KERNEL_V6, SMOL_V6);
}

/// Over a link that drops every frame, the UDP client reports the loss and exits non-zero.
#[test]
fn udp_echo_reports_loss_instead_of_hanging() {
    let Some(net) = TapNet::new("lo") else { return };
    let done = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &format!("{KERNEL_V4}:9"),
                "--timeout",
                "0.5",
            ],
            &["--drop-chance", "100"],
        )
        .finish();
    assert!(!done.status.success());
    assert!(
        done.stderr.starts_with("error: echo from "),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("no echo"), "{}", done.stderr);
}

/// The Ethernet frames of a pcap file, as smoltcp's `PcapWriter` writes it.
fn frames(pcap: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(pcap).expect("read the capture");
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian pcap file"
    );
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(bytes[at + 16..(at + 16 + caplen).min(bytes.len())].to_vec());
        at += 16 + caplen;
    }
    frames
}

/// The IGMP membership reports (v2, type 0x16) for `group` sent from `mac`.
fn igmp_reports(pcap: &Path, mac: [u8; 6], group: [u8; 4]) -> usize {
    frames(pcap)
        .iter()
        .filter(|f| {
            // Ethernet II from `mac`, IPv4, protocol 2 (IGMP).
            if f.len() < 14 + 20 + 8 || f[6..12] != mac || f[12..14] != [0x08, 0x00] || f[23] != 2 {
                return false;
            }
            let igmp = &f[14 + usize::from(f[14] & 0x0f) * 4..];
            igmp.len() >= 8 && igmp[0] == 0x16 && igmp[4..8] == group
        })
        .count()
}

/// The MLDv2 reports (ICMPv6 type 143 after a hop-by-hop header) naming `group`, sent from
/// `mac`.
fn mld_reports(pcap: &Path, mac: [u8; 6], group: [u8; 16]) -> usize {
    frames(pcap)
        .iter()
        .filter(|f| {
            // Ethernet II from `mac`, IPv6, next header 0 (hop-by-hop options).
            if f.len() < 14 + 40 + 8 + 8
                || f[6..12] != mac
                || f[12..14] != [0x86, 0xdd]
                || f[20] != 0
            {
                return false;
            }
            let hbh = &f[14 + 40..];
            let icmp = &hbh[(usize::from(hbh[1]) + 1) * 8..];
            // Type 143; records of 4 + 16 bytes (no sources) from offset 8.
            hbh[0] == 58
                && icmp.first() == Some(&143)
                && icmp[8..]
                    .chunks(20)
                    .any(|r| r.len() == 20 && r[4..20] == group)
        })
        .count()
}

#[test]
fn multicast_smoltcp_and_kernel_both_ways() {
    let Some(net) = TapNet::new("mc") else { return };
    let pcap = net.file("receiver.pcap");
    // A smoltcp receiver joined to the chapter's group answers the kernel's sender.
    let mut receiver = net.smoltcp(
        &["multicast", "receive", "--count", "1"],
        &["--pcap", pcap.to_str().unwrap()],
    );
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    net.link_up();
    let lines = net
        .kernel(&[
            "multicast",
            "send",
            "--iface",
            KERNEL_V4,
            "--timeout",
            ACK_WAIT,
        ])
        .finish_ok();
    assert!(
        lines.contains(&format!("received b'ack' from ('{SMOL_V4}', 10000)")),
        "{lines:#?}"
    );
    let got = receiver.finish_ok();
    assert!(
        got.contains(&"b'very important data'".to_string()),
        "{got:#?}"
    );
    assert!(
        igmp_reports(&pcap, SMOL_MAC, [224, 3, 29, 71]) >= 1,
        "no IGMP membership report for 224.3.29.71 from the smoltcp stack in the capture"
    );
    // A kernel receiver answers a smoltcp sender.
    let mut receiver = net.kernel(&["multicast", "receive", "--iface", KERNEL_V4, "--count", "1"]);
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    let lines = net
        .smoltcp(&["multicast", "send", "--timeout", ACK_WAIT], &[])
        .finish_ok();
    assert!(
        lines.contains(&format!("received b'ack' from ('{KERNEL_V4}', 10000)")),
        "{lines:#?}"
    );
    receiver.finish_ok();
}

/// IPv6: a smoltcp receiver joined to ff05::1:2 (MLDv2 report on the wire) acks the kernel's
/// sender, which sends on the TAP by name.
#[test]
fn multicast_ipv6_smoltcp_receiver_reports_mld() {
    let Some(net) = TapNet::new("m6") else { return };
    let pcap = net.file("receiver6.pcap");
    let mut receiver = net.smoltcp(
        &[
            "multicast",
            "receive",
            "--group",
            "ff05::1:2",
            "--count",
            "1",
        ],
        &["--pcap", pcap.to_str().unwrap()],
    );
    receiver.wait_for("waiting", |l| l == "waiting to receive message");
    net.link_up();
    let lines = net
        .kernel(&[
            "multicast",
            "send",
            "--group",
            "ff05::1:2",
            "--iface",
            &net.tap,
            "--timeout",
            ACK_WAIT,
        ])
        .finish_ok();
    assert!(
        lines.contains(&format!("received b'ack' from ('{SMOL_V6}', 10000, 0, 0)")),
        "{lines:#?}"
    );
    receiver.finish_ok();
    let group: std::net::Ipv6Addr = "ff05::1:2".parse().unwrap();
    assert!(
        mld_reports(&pcap, SMOL_MAC, group.octets()) >= 1,
        "no MLDv2 report for ff05::1:2 from the smoltcp stack in the capture"
    );
}

/// CPython packs the chapter's record and sends it.
const PY_BINARY_CLIENT: &str = r#"
import socket, struct, sys, binascii
packed = struct.Struct('I 2s f').pack(1, b'ab', 2.7)
sock = socket.create_connection((sys.argv[1], 10000), timeout=10)
sock.sendall(packed)
sock.close()
print(binascii.hexlify(packed).decode())
"#;

/// CPython receives one record and unpacks it.
const PY_BINARY_SERVER: &str = r#"
import socket, struct, sys
s = struct.Struct('I 2s f')
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 10000))
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
data = b""
while len(data) < s.size:
    chunk = conn.recv(s.size - len(data))
    if not chunk:
        break
    data += chunk
print(s.unpack(data), flush=True)
"#;

#[test]
fn binary_records_with_cpython_struct() {
    let Some(net) = TapNet::new("bin") else {
        return;
    };
    let mut receiver = net.smoltcp(
        &["binary", "receive", "--addr", ":10000", "--count", "1"],
        &[],
    );
    receiver.wait_for("waiting", |l| l == "waiting for a connection");
    let hex = net.python(PY_BINARY_CLIENT, &[SMOL_V4]).finish_ok();
    let got = receiver.finish_ok();
    assert!(got.contains(&format!("received b'{}'", hex[0])), "{got:#?}");
    assert!(
        got.contains(&"unpacked: (1, b'ab', 2.700000047683716)".to_string()),
        "{got:#?}"
    );

    let mut py = net.python(PY_BINARY_SERVER, &[KERNEL_V4]);
    py.wait_for("listening", |l| l == "listening");
    let sent = net
        .smoltcp(
            &["binary", "send", "--addr", &format!("{KERNEL_V4}:10000")],
            &[],
        )
        .finish_ok();
    assert_eq!(sent[0], "values = (1, b'ab', 2.7)");
    assert_eq!(
        py.finish_ok().last().unwrap(),
        "(1, b'ab', 2.700000047683716)"
    );
}

/// dnsmasq's zone for the DNS test: names only, their addresses are never contacted.
const DNSMASQ_ZONE: &[&str] = &[
    "--host-record=pymotw.test,198.18.7.1",
    "--host-record=target.python.test,198.18.7.2,fd70:7363::7",
    "--cname=www.python.test,alias.python.test",
    "--cname=alias.python.test,target.python.test",
];

#[test]
fn dns_lookups_through_smoltcp_against_dnsmasq() {
    let Some(net) = TapNet::new("dns") else {
        return;
    };
    if Command::new("dnsmasq").arg("--version").output().is_err() {
        skip("no dnsmasq (apt install dnsmasq-base)");
        return;
    }
    let log = net.file("dnsmasq.log");
    let mut dnsmasq = Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.ns,
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
        ])
        .args([
            "--no-hosts",
            "--bind-interfaces",
            "--pid-file=",
            "--log-queries",
        ])
        .arg(format!("--listen-address={KERNEL_V4}"))
        .arg(format!("--log-facility={}", log.display()))
        .args(DNSMASQ_ZONE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let guard = Kill(dnsmasq.try_wait().map(|_| dnsmasq).expect("dnsmasq"));
    // Wait until it answers (on the kernel's own sockets).
    let deadline = std::time::Instant::now() + common::WAIT;
    while run(&["ip", "netns", "exec", &net.ns, "python3", "-c", "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('192.168.69.100', 53))"]).is_err()
        || !std::fs::read_to_string(&log).unwrap_or_default().contains("started")
    {
        assert!(std::time::Instant::now() < deadline, "dnsmasq did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let lines = net
        .smoltcp(
            &[
                "lookup",
                "host",
                "pymotw.test",
                "www.python.test",
                "nosuch.test",
                "198.18.9.9",
            ],
            &["--dns", KERNEL_V4],
        )
        .finish_ok();
    assert_eq!(
        lines,
        [
            "pymotw.test : 198.18.7.1",
            // Two CNAMEs followed to the A record.
            "www.python.test : 198.18.7.2",
            "nosuch.test : [Errno -2] Name or service not known",
            // A literal needs no query.
            "198.18.9.9 : 198.18.9.9",
        ]
    );
    let queries = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        queries.contains(&format!("query[A] www.python.test from {SMOL_V4}")),
        "dnsmasq saw the smoltcp stack's query: {queries}"
    );
    // AAAA and both families through the library: this test binary again, inside the
    // namespace (where the TAP is), running only `resolve_in_namespace`.
    let inner = Command::new("ip")
        .args(["netns", "exec", &net.ns])
        .arg(std::env::current_exe().expect("this test binary"))
        .args([
            "resolve_in_namespace",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("PORTSOCK_TEST_TAP", &net.tap)
        .output()
        .expect("run the inner test");
    let text = String::from_utf8_lossy(&inner.stdout);
    assert!(
        inner.status.success() && text.contains("1 passed"),
        "inner test failed: {text}{}",
        String::from_utf8_lossy(&inner.stderr)
    );
    drop(guard);
}

/// Run by `dns_lookups_through_smoltcp_against_dnsmasq` inside its namespace, with the TAP's
/// name in `PORTSOCK_TEST_TAP`: `Stack::resolve` for A, AAAA and both, CNAMEs followed.
#[test]
#[ignore = "run inside a test namespace by dns_lookups_through_smoltcp_against_dnsmasq"]
fn resolve_in_namespace() {
    use portsock_core::time::Duration;
    use portsock_smoltcp::{Config, DnsError, Family, Stack, StdPlatform, open_tap, parse_cidr};
    let tap = std::env::var("PORTSOCK_TEST_TAP").expect("PORTSOCK_TEST_TAP");
    let device = open_tap(&tap).expect("open the TAP");
    let platform = StdPlatform::for_tap(&device);
    let config = Config::new([2, 0, 0, 0, 0, 9])
        .with_address(parse_cidr("192.168.69.9/24").unwrap())
        .unwrap()
        .with_dns_server(KERNEL_V4.parse::<std::net::IpAddr>().unwrap().into())
        .unwrap();
    let stack = Stack::new(&config, device, platform, vec![]).unwrap();
    stack.add_dns(2).unwrap();
    let t = Duration::from_secs(5);
    let v6: std::net::IpAddr = "fd70:7363::7".parse().unwrap();
    let v4: std::net::IpAddr = "198.18.7.2".parse().unwrap();
    assert_eq!(
        stack.resolve("www.python.test", Family::V6, t).unwrap()[..],
        [v6]
    );
    assert_eq!(
        stack.resolve("www.python.test", Family::Any, t).unwrap()[..],
        [v4, v6]
    );
    assert_eq!(
        stack.resolve("pymotw.test", Family::V6, t).unwrap_err(),
        DnsError::NotFound,
        "no AAAA record"
    );
    assert_eq!(
        stack.resolve("nosuch.test", Family::Any, t).unwrap_err(),
        DnsError::NotFound
    );
    assert_eq!(
        stack.resolve("bad..name", Family::V4, t).unwrap_err(),
        DnsError::InvalidName
    );
}

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
            "error: --tap: applies to --backend smoltcp only",
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

/// `--gateway`: the kernel side also holds 10.77.0.1 on its loopback, a network the smoltcp
/// stack reaches only through its default route via 192.168.69.100.
#[test]
fn smoltcp_client_reaches_another_network_through_the_gateway() {
    let Some(net) = TapNet::new("gw") else { return };
    run(&[
        "ip",
        "-n",
        &net.ns,
        "addr",
        "add",
        "10.77.0.1/32",
        "dev",
        "lo",
    ])
    .expect("add 10.77.0.1");
    let mut server = net.kernel(&[
        "echo",
        "server",
        "--addr",
        "10.77.0.1:10000",
        "--count",
        "1",
    ]);
    started(&mut server);
    // Without a gateway there is no route.
    let done = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--addr",
                "10.77.0.1:10000",
                "--timeout",
                "2",
            ],
            &[],
        )
        .finish();
    assert!(
        !done.status.success(),
        "no route without --gateway: {:?}",
        done.stdout
    );
    assert!(
        done.stderr.starts_with("error: --addr 10.77.0.1:10000: "),
        "{}",
        done.stderr
    );
    let lines = net
        .smoltcp(
            &[
                "echo",
                "client",
                "--addr",
                "10.77.0.1:10000",
                "--timeout",
                "5",
            ],
            &["--gateway", KERNEL_V4],
        )
        .finish_ok();
    assert_eq!(lines[1..], STREAM_CLIENT_LINES);
    let served = server.finish_ok();
    assert!(
        served
            .iter()
            .any(|l| l.starts_with(&format!("connection from ('{SMOL_V4}'"))),
        "{served:#?}"
    );
}

/// `--concurrent` on smoltcp: three CPython clients at once, 256 KiB each, every byte checked;
/// then SIGTERM stops a server that still has a client connected, closing it cleanly.
#[test]
fn smoltcp_concurrent_server_serves_clients_at_once() {
    let Some(net) = TapNet::new("cc") else { return };
    let mut server = net.smoltcp(
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--concurrent",
            "--count",
            "3",
            "--chunk",
            "4096",
        ],
        &[],
    );
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    let clients: Vec<Running> = (0..3)
        .map(|_| net.python(PY_ECHO_CLIENT, &[SMOL_V4, "10000", "262144"]))
        .collect();
    for client in clients {
        assert_eq!(client.finish_ok(), ["ok 262144"]);
    }
    let lines = server.finish_ok();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("connection from"))
            .count(),
        3,
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("no data from"))
            .count(),
        3,
        "every session ended normally: {lines:#?}"
    );

    let mut server = net.smoltcp(&["echo", "server", "--addr", ":10001", "--concurrent"], &[]);
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    let holder = net.python(
        "import socket, sys, time\ns = socket.create_connection((sys.argv[1], 10001), timeout=10)\nprint('connected', flush=True)\nprint(repr(s.recv(16)), flush=True)\n",
        &[SMOL_V4],
    );
    let mut holder = holder;
    holder.wait_for("connected", |l| l == "connected");
    server.wait_for("connection", |l| l.starts_with("connection from"));
    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let done = server.finish();
    assert!(done.status.success(), "SIGTERM is a clean stop: {done:?}");
    // The held connection was closed (FIN), not left hanging: the client reads end of stream.
    assert_eq!(holder.finish_ok().last().unwrap(), "b''");
}

/// Sixteen CPython clients connecting in the same instant (threads released by one barrier)
/// to the `--concurrent` smoltcp server while a busy loop holds a core: the stack takes SYNs
/// in one by one and refills its listening pool between them, and drops (rather than refuses)
/// a SYN past its sockets, so every client is served and none sees `ConnectionRefusedError`.
#[test]
fn smoltcp_concurrent_server_takes_a_burst_under_load() {
    let Some(net) = TapNet::new("burst") else {
        return;
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spin = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        })
    };
    let mut server = net.smoltcp(
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--concurrent",
            "--count",
            "16",
        ],
        &[],
    );
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    let burst = net.python(PY_BURST_CLIENTS, &[SMOL_V4, "10000", "16"]);
    let out = burst.finish_ok();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spin.join().unwrap();
    assert_eq!(out, ["ok 16"], "{out:#?}");
    let lines = server.finish_ok();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("connection from"))
            .count(),
        16,
        "{lines:#?}"
    );
}

/// `host port n`: n threads connect at the same instant, each sends 1,000 bytes of its own,
/// half-closes and checks its echo; prints `ok n`, or the errors.
const PY_BURST_CLIENTS: &str = r#"
import socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
barrier = threading.Barrier(n)
errors = []
def client(k):
    message = bytes((k * 31 + i) % 251 for i in range(1000))
    barrier.wait()
    try:
        with socket.create_connection((host, port), timeout=30) as s:
            s.sendall(message)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                got += data
        if got != message:
            errors.append(f"client {k}: echo differs ({len(got)} bytes)")
    except OSError as e:
        errors.append(f"client {k}: {e!r}")
threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(errors) if errors else f"ok {n}")
"#;
