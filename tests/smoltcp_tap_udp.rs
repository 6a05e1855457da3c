//! UDP between the smoltcp stack and the kernel over a TAP device (see `tests/common/tap.rs`):
//! the datagram echo both ways (`tests/common/tap/udp.rs`), IPv4 and IPv6, from one byte up to
//! the largest datagram one frame carries, and a client that reports loss.

mod common;

use common::tap::udp::udp_both_ways;
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, Stack, TapNet};

#[test]
fn udp_echo_smoltcp_and_kernel_ipv4() {
    let Some(net) = TapNet::new("u4") else { return };
    udp_both_ways(&net, Stack::Smoltcp, KERNEL_V4, SMOL_V4);
}

#[test]
fn udp_echo_smoltcp_and_kernel_ipv6() {
    let Some(net) = TapNet::new("u6") else { return };
    udp_both_ways(&net, Stack::Smoltcp, KERNEL_V6, SMOL_V6);
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
