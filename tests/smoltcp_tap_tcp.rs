//! TCP between the smoltcp stack and the kernel over a TAP device (see `tests/common/tap.rs`):
//! the chapter's echo server and client on smoltcp against portsock's std backend and CPython,
//! IPv4 and IPv6, and a client reaching another network through `--gateway`.

mod common;

use common::STREAM_CLIENT_LINES;
use common::tap::tcp::{client_reaches_the_kernel, server_answers_the_kernel};
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, Stack, TapNet, run, started};

#[test]
fn tcp_smoltcp_server_kernel_clients_ipv4() {
    server_answers_the_kernel(Stack::Smoltcp, "t4", ":10000", SMOL_V4);
}

#[test]
fn tcp_smoltcp_server_kernel_clients_ipv6() {
    server_answers_the_kernel(Stack::Smoltcp, "t6", "[::]:10000", SMOL_V6);
}

#[test]
fn tcp_smoltcp_client_kernel_servers_ipv4() {
    client_reaches_the_kernel(Stack::Smoltcp, "c4", KERNEL_V4, "error: --addr ");
}

#[test]
fn tcp_smoltcp_client_kernel_servers_ipv6() {
    client_reaches_the_kernel(Stack::Smoltcp, "c6", KERNEL_V6, "error: --addr ");
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
