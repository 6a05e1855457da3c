//! Name lookups through smoltcp's DNS socket against dnsmasq on the kernel's side of a TAP
//! device (see `tests/common/tap.rs`).

mod common;

use std::process::Command;
use std::process::Stdio;

use common::tap::{KERNEL_V4, SMOL_V4, TapNet, run, skip};

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
