//! Name lookups on a userspace stack ([`Stack`], `--dns SERVER`) against dnsmasq on the
//! kernel's side of the TAP (see `tests/common/dnsmasq.rs`): the zone and the `lookup host`
//! scenario `tests/smoltcp_tap_dns.rs` and `tests/embassy_tap_dns.rs` both run.

use super::{KERNEL_V4, SMOL_V4, Stack, TapNet};
use crate::common::dnsmasq::Dnsmasq;

/// dnsmasq's zone: the `lookup host` names are never contacted; the `echo` names are the
/// kernel's addresses, where the test's UDP echo servers run.
pub const DNSMASQ_ZONE: &[&str] = &[
    "--host-record=pymotw.test,198.18.7.1",
    "--host-record=target.python.test,198.18.7.2,fd70:7363::7",
    "--cname=www.python.test,alias.python.test",
    "--cname=alias.python.test,target.python.test",
    "--host-record=echo.test,192.168.69.100",
    "--host-record=echo6.test,fdaa::100",
];

/// `lookup host` on `stack` asks `dnsmasq` (serving [`DNSMASQ_ZONE`]): a name, one behind two
/// CNAMEs, one that does not exist (its error line, status 1) and a literal; then the same with
/// `--json`, as the std backend prints it.
pub fn lookup_host_through(net: &TapNet, stack: Stack, dnsmasq: &Dnsmasq) {
    let names = [
        "lookup",
        "host",
        "pymotw.test",
        "www.python.test",
        "nosuch.test",
        "198.18.9.9",
    ];
    let lines = net.on(stack, &names, &["--dns", KERNEL_V4]).finish();
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
        "dnsmasq saw the {stack:?} stack's query: {queries}"
    );
    // --json, as the std backend prints it.
    let mut json_args = names.to_vec();
    json_args.extend(["--json", "--always-zero"]);
    let lines = net.on(stack, &json_args, &["--dns", KERNEL_V4]).finish_ok();
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
}
