//! The UDP load client and the multicast watcher on the smoltcp stack, against the kernel
//! over a TAP device in a namespace of the test's own (see `tests/common/tap.rs`; as root):
//! loss counted when the stack's fault injector drops frames, and a group watched on the
//! userspace stack without an acknowledgement going out.

mod common;

use serde_json::Value;

use common::tap::{KERNEL_V4, SMOL_V4, TapNet, started};

/// The JSON objects of `lines`, the last one the summary.
fn summary(lines: &[String]) -> Value {
    let all: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let last = all.last().cloned().expect("output");
    assert_eq!(last["event"], "summary", "{lines:#?}");
    last
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn udp_load_between_the_kernel_and_smoltcp() {
    let Some(net) = TapNet::new("ul") else { return };
    // The kernel's load client against the smoltcp echo server, clean then through the
    // stack's fault injector.
    let smol = format!("{SMOL_V4}:10000");
    let load = [
        "echo",
        "client",
        "--proto",
        "udp",
        "--json",
        "--timeout",
        "3",
        "--addr",
    ];
    for (faults, count) in [(None, 300), (Some("20"), 200)] {
        let extra: Vec<&str> = faults.map(|d| vec!["--drop-chance", d]).unwrap_or_default();
        let mut server = net.smoltcp(
            &["echo", "server", "--proto", "udp", "--addr", ":10000"],
            &extra,
        );
        started(&mut server);
        net.link_up();
        // A few datagrams first, until one comes back: a fresh stack learns the kernel's
        // address by ARP, and with frames dropped an ARP exchange lost holds the echoes for a
        // second's retry (the load's 8 queued echoes came back, 192 of 200 were lost, once).
        // The load then measures the dropped frames, not the address resolution.
        let warm = [
            "echo",
            "client",
            "--proto",
            "udp",
            "--json",
            "--addr",
            &smol,
            "--count",
            "5",
            "--rate",
            "50",
            "--timeout",
            "2",
        ];
        let answered = (0..5).any(|_| {
            net.kernel(&warm).finish().stdout.iter().any(|l| {
                serde_json::from_str::<Value>(l)
                    .is_ok_and(|v| v["event"] == "summary" && v["received"].as_u64() > Some(0))
            })
        });
        assert!(answered, "no echo from the smoltcp server in 5 tries");
        let mut args = load.to_vec();
        let count_text = count.to_string();
        args.extend([
            smol.as_str(),
            "--count",
            &count_text,
            "--rate",
            "300",
            "--size",
            "300",
        ]);
        let s = summary(&net.kernel(&args).finish_ok());
        assert_eq!(n(&s, "sent"), count);
        assert_eq!(n(&s, "received") + n(&s, "lost"), count);
        assert_eq!(n(&s, "corrupt"), 0);
        match faults {
            // The kernel holds its first datagrams while it resolves the stack's address.
            None => assert!(n(&s, "received") >= count - 10, "{s}"),
            // 20% of the frames dropped each way: about a third of the round trips lost.
            Some(_) => assert!((20..=140).contains(&n(&s, "lost")), "{s}"),
        }
        drop(server); // it serves until killed, and frees the TAP for the next
    }

    // The load client on smoltcp against the kernel's echo server. smoltcp drops what it
    // sends before the kernel's address is resolved (about a second on a fresh stack), so
    // only the datagrams after that are sure to come back.
    let addr = format!("{KERNEL_V4}:10001");
    let mut server = net.kernel(&["echo", "server", "--proto", "udp", "--addr", &addr]);
    started(&mut server);
    let mut args = load.to_vec();
    args.extend([addr.as_str(), "--count", "300", "--rate", "100"]);
    let s = summary(&net.smoltcp(&args, &[]).finish_ok());
    assert_eq!(n(&s, "sent"), 300);
    assert_eq!(n(&s, "received") + n(&s, "lost"), 300);
    assert!(n(&s, "received") >= 100, "{s}");
    assert_eq!(n(&s, "corrupt"), 0);
}

#[test]
fn smoltcp_watches_a_group_and_acknowledges_nothing() {
    let Some(net) = TapNet::new("mw") else { return };
    let pcap = net.file("watch.pcap");
    let mut watcher = net.smoltcp(
        &["multicast", "receive", "--no-ack", "--hex", "--count", "3"],
        &["--pcap", pcap.to_str().unwrap()],
    );
    watcher.wait_for("watching", |l| {
        l == "watching 224.3.29.71 port 10000 (no acknowledgements)"
    });
    net.link_up();
    let sent = net
        .kernel(&[
            "multicast",
            "send",
            "--iface",
            KERNEL_V4,
            "--count",
            "3",
            "--interval",
            "0.2",
            "--timeout",
            "0.3",
            "--message",
            "hi",
            "--json",
        ])
        .finish_ok();
    let s = summary(&sent);
    assert_eq!((n(&s, "sent"), n(&s, "replies")), (3, 0), "{s}");
    let lines = watcher.finish_ok();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    for line in &lines[1..] {
        let words: Vec<&str> = line.split(' ').collect();
        assert!(words[0].ends_with('Z') && words[0].contains('T'), "{line}");
        assert!(words[1].starts_with(&format!("{KERNEL_V4}:")), "{line}");
        assert_eq!(words[2..], ["2", "bytes", "6869"], "{line}");
    }
    // Nothing went from the stack to a unicast UDP port: no acknowledgement on the wire.
    let from_stack_udp = common::pcap::frames(&pcap)
        .iter()
        .filter(|f| f.len() > 34 && f[12..14] == [0x08, 0x00] && f[23] == 17)
        .filter(|f| f[26..30] == SMOL_V4.parse::<std::net::Ipv4Addr>().unwrap().octets())
        .count();
    assert_eq!(from_stack_udp, 0, "the watcher sent UDP");
}
