//! Name lookups on the embassy backend (`--backend embassy --dns SERVER`: embassy-net's DNS
//! client, through portsock-embassy's `resolve`) against dnsmasq on the kernel's side of a TAP
//! device (see `tests/common/tap.rs` and `tests/common/dnsmasq.rs`): `lookup host`, and a UDP
//! client that finds its server by name, by an A record and by an AAAA record only.

mod common;

use common::dnsmasq::Dnsmasq;
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, TapNet, started};

/// dnsmasq's zone: the `lookup host` names are never contacted; the `echo` names are the
/// kernel's addresses, where the test's UDP echo servers run.
const DNSMASQ_ZONE: &[&str] = &[
    "--host-record=pymotw.test,198.18.7.1",
    "--host-record=target.python.test,198.18.7.2,fd70:7363::7",
    "--cname=www.python.test,alias.python.test",
    "--cname=alias.python.test,target.python.test",
    "--host-record=echo.test,192.168.69.100",
    "--host-record=echo6.test,fdaa::100",
];

#[test]
fn dns_lookups_through_embassy_against_dnsmasq() {
    let Some(net) = TapNet::new("edns") else {
        return;
    };
    let Some(dnsmasq) = Dnsmasq::start(&net, DNSMASQ_ZONE) else {
        return;
    };
    let names = [
        "lookup",
        "host",
        "pymotw.test",
        "www.python.test",
        "nosuch.test",
        "198.18.9.9",
    ];
    let lines = net.embassy(&names, &["--dns", KERNEL_V4]).finish();
    // One name failed: the others are printed, then the error line, and the status is 1.
    assert_eq!(lines.status.code(), Some(1), "{}", lines.stderr);
    assert_eq!(
        lines.stderr,
        "error: nosuch.test: [Errno -2] Name or service not known\n"
    );
    assert_eq!(
        lines.stdout,
        [
            "pymotw.test : 198.18.7.1",
            // Two CNAMEs followed to the A record.
            "www.python.test : 198.18.7.2",
            "nosuch.test : [Errno -2] Name or service not known",
            // A literal needs no query.
            "198.18.9.9 : 198.18.9.9",
        ]
    );
    let queries = dnsmasq.queries();
    assert!(
        queries.contains(&format!("query[A] www.python.test from {SMOL_V4}")),
        "dnsmasq saw the embassy stack's query: {queries}"
    );
    // --json, as the std backend prints it.
    let mut json_args = names.to_vec();
    json_args.extend(["--json", "--always-zero"]);
    let lines = net.embassy(&json_args, &["--dns", KERNEL_V4]).finish_ok();
    let rows: serde_json::Value = serde_json::from_str(&lines.join("\n")).expect("JSON");
    assert_eq!(
        rows,
        serde_json::json!([
            { "name": "pymotw.test", "address": "198.18.7.1" },
            { "name": "www.python.test", "address": "198.18.7.2" },
            { "name": "nosuch.test", "error": { "message": "[Errno -2] Name or service not known" } },
            { "name": "198.18.9.9", "address": "198.18.9.9" },
        ])
    );

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
