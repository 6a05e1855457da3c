//! The chapter's own multicast join, `struct.pack('4sL', inet_aton(group), INADDR_ANY)`, end
//! to end, in a private network namespace.
//!
//! That request names no interface, so the kernel joins on whatever interface its routing
//! table has for the group: on a host with a default route, a real network. So this test
//! re-runs itself under `unshare --user --map-root-user --net` (a user namespace, so no
//! privileges are needed where the system allows them), brings the namespace's loopback up
//! and routes 224.0.0.0/4 to it. There "any interface" is the loopback, and nothing can leave:
//! the namespace has no other interface, and it disappears with the process.
//!
//! Prints `SKIPPED: <why>` when namespaces are not available, and fails instead under
//! `PORTSOCK_REQUIRE_PRIVILEGED=1`. Own `main` (`harness = false`): the namespace is the
//! process's, set up once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use portsock_core::transport::{Datagram, Interface, Multicast};
use portsock_std::udp::UdpSocket;

const CHILD: &str = "PORTSOCK_NETNS_CHILD";
const UNSHARE: [&str; 4] = ["--user", "--map-root-user", "--net", "--"];

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return in_namespace();
    }
    // Can this system give us a namespace with a working `ip`? Ask with a harmless command.
    let probe = Command::new("unshare")
        .args(UNSHARE)
        .args(["ip", "link", "set", "lo", "up"])
        .output();
    let why = match probe {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "unshare/ip failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    };
    if let Some(why) = why {
        if std::env::var_os("PORTSOCK_REQUIRE_PRIVILEGED").is_some_and(|v| v == "1") {
            eprintln!("FAILED: {why} (PORTSOCK_REQUIRE_PRIVILEGED=1)");
            return ExitCode::FAILURE;
        }
        println!("SKIPPED: {why}");
        return ExitCode::SUCCESS;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let status = Command::new("unshare")
        .args(UNSHARE)
        .arg(exe)
        .env(CHILD, "1")
        .status()
        .expect("run unshare");
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn in_namespace() -> ExitCode {
    for args in [
        &["link", "set", "lo", "up"][..],
        &[
            "route",
            "add",
            "224.0.0.0/4",
            "dev",
            "lo",
            "src",
            "127.0.0.1",
        ],
    ] {
        let status = Command::new("ip").args(args).status().expect("run ip");
        assert!(status.success(), "ip {args:?} failed in the namespace");
    }
    let checks: [(&str, fn()); 2] = [
        (
            "chapter_request_joins_and_receives",
            chapter_request_joins_and_receives,
        ),
        (
            "any_interface_join_matches_the_chapter",
            any_interface_join_matches_the_chapter,
        ),
    ];
    for (name, check) in checks {
        check();
        println!("test {name} ... ok");
    }
    println!(
        "\ntest result: ok. {} passed (in a private network namespace)",
        checks.len()
    );
    ExitCode::SUCCESS
}

fn send_and_receive(receiver: &mut UdpSocket, group: Ipv4Addr, payload: &[u8]) {
    let port = receiver.local_addr().expect("receiver address").port();
    // The chapter's sender: no multicast interface set, TTL 1; the route picks the loopback.
    let mut sender = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).expect("sender");
    sender.set_multicast_ttl(1).expect("ttl");
    sender
        .send_to(payload, &SocketAddr::from((group, port)))
        .expect("send to the group");
    let mut buf = [0u8; 64];
    let deadline = Instant::now() + Duration::from_secs(5);
    let got = receiver
        .recv_from(&mut buf, Some(deadline))
        .expect("receive")
        .expect("the group's datagram");
    assert_eq!(&buf[..got.len], payload);
}

fn chapter_request_joins_and_receives() {
    let group = Ipv4Addr::new(224, 3, 29, 71);
    let mut receiver = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).expect("receiver");
    // The '4sL' bytes from the core's struct codec, through libc's setsockopt unchanged.
    receiver.join_chapter(group).expect("the chapter's join");
    send_and_receive(&mut receiver, group, b"very important data");
}

fn any_interface_join_matches_the_chapter() {
    let group = Ipv4Addr::new(224, 3, 29, 72);
    let mut receiver = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).expect("receiver");
    receiver
        .join_group(IpAddr::V4(group), Interface::Any)
        .expect("socket2's join");
    send_and_receive(&mut receiver, group, b"the idiomatic way");
    // Both ways make the same membership: the chapter's bytes now find it to drop.
    let bytes = portsock_core::wire::mreq::chapter_request(group).expect("pack");
    receiver
        .leave_raw(bytes.as_bytes())
        .expect("drop with the chapter's bytes");
}
