//! Name lookups through smoltcp's DNS socket against dnsmasq on the kernel's side of a TAP
//! device (see `tests/common/tap.rs`).

mod common;

use std::process::Command;

use common::dnsmasq::Dnsmasq;
use common::tap::dns::{DNSMASQ_ZONE, lookup_host_through};
use common::tap::{KERNEL_V4, Stack, TapNet};

#[test]
fn dns_lookups_through_smoltcp_against_dnsmasq() {
    let Some(net) = TapNet::new("dns") else {
        return;
    };
    let Some(dnsmasq) = Dnsmasq::start(&net, DNSMASQ_ZONE) else {
        return;
    };
    lookup_host_through(&net, Stack::Smoltcp, &dnsmasq);
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
    drop(dnsmasq);
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
