//! Name lookups on the embassy backend (`--backend embassy --dns SERVER`: embassy-net's DNS
//! client, through portsock-embassy's `resolve`) against dnsmasq on the kernel's side of a TAP
//! device (see `tests/common/tap.rs` and `tests/common/dnsmasq.rs`): `lookup host`, and a UDP
//! client that finds its server by name, by an A record and by an AAAA record only.

mod common;

use common::dnsmasq::Dnsmasq;
use common::tap::dns::{DNSMASQ_ZONE, lookup_host_through};
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, Stack, TapNet, started};

#[test]
fn dns_lookups_through_embassy_against_dnsmasq() {
    let Some(net) = TapNet::new("edns") else {
        return;
    };
    let Some(dnsmasq) = Dnsmasq::start(&net, DNSMASQ_ZONE) else {
        return;
    };
    lookup_host_through(&net, Stack::Embassy, &dnsmasq);

    // A UDP client finds the kernel's echo server by name: an A record, then a name with an
    // AAAA record only.
    for (name, ip) in [("echo.test", KERNEL_V4), ("echo6.test", KERNEL_V6)] {
        let listen = if ip.contains(':') {
            format!("[{ip}]:10000")
        } else {
            format!("{ip}:10000")
        };
        let mut server = net.kernel(&[
            "echo", "server", "--proto", "udp", "--addr", &listen, "--count", "1",
        ]);
        started(&mut server);
        let addr = format!("{name}:10000");
        let lines = net
            .embassy(
                &[
                    "echo",
                    "client",
                    "--proto",
                    "udp",
                    "--addr",
                    &addr,
                    "--timeout",
                    "10",
                ],
                &["--dns", KERNEL_V4],
            )
            .finish_ok();
        assert_eq!(
            lines[2],
            "received b'This is the message.  It will be repeated.'"
        );
        server.finish_ok();
    }
    let queries = dnsmasq.queries();
    assert!(
        queries.contains(&format!("query[AAAA] echo6.test from {SMOL_V4}")),
        "the client asked for the AAAA record once there was no A record: {queries}"
    );

    // Without --dns the stack has no server to ask.
    let done = net
        .embassy(&["lookup", "host", "pymotw.test"], &[])
        .finish();
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(
        done.stderr
            .starts_with("error: --backend embassy: lookup host needs --dns SERVER"),
        "{}",
        done.stderr
    );
}
