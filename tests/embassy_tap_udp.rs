//! UDP between the embassy backend (`--backend embassy`: portsock-embassy on an embassy-net
//! stack) and the kernel over a TAP device (see `tests/common/tap.rs`; the embassy stack takes
//! the smoltcp stack's addresses): the datagram echo both ways against portsock-std and
//! CPython, IPv4 and IPv6, from one byte up to the largest datagram one frame carries, every
//! byte checked; and the client's refusal of a larger one.

mod common;

use common::tap::udp::{bracket, largest, text_of, udp_both_ways};
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, Stack, TapNet};

/// The datagram echo both ways ([`udp_both_ways`]); then the embassy client refuses a message
/// one byte over the largest a frame carries, before sending anything (embassy-net does not
/// fragment; smoltcp does).
fn udp_both_ways_and_the_largest(tag: &str, kernel_ip: &str, ours: &str) {
    let Some(net) = TapNet::new(tag) else { return };
    udp_both_ways(&net, Stack::Embassy, kernel_ip, ours);
    let max = largest(ours);
    // One byte more does not fit in a frame: the client says so before sending anything.
    let done = net
        .embassy(
            &[
                "echo",
                "client",
                "--proto",
                "udp",
                "--addr",
                &bracket(kernel_ip, 10002),
                "--message",
                &text_of(max + 1),
            ],
            &[],
        )
        .finish();
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(done.stdout.is_empty(), "{:#?}", done.stdout);
    let at_most = format!("at most {},{:03} bytes", max / 1000, max % 1000);
    assert!(
        done.stderr.starts_with("error: --message: ") && done.stderr.contains(&at_most),
        "{}",
        done.stderr
    );
}

#[test]
fn udp_echo_embassy_and_kernel_ipv4() {
    udp_both_ways_and_the_largest("eu4", KERNEL_V4, SMOL_V4);
}

#[test]
fn udp_echo_embassy_and_kernel_ipv6() {
    udp_both_ways_and_the_largest("eu6", KERNEL_V6, SMOL_V6);
}
