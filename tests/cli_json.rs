//! `--json` as a program reads it: every line of every network command's stdout parses as a
//! JSON object with an `event` (JSON lines), the last one a `summary`, and the objects carry
//! what the text lines say (addresses, payloads, counts); the one-shot commands print one
//! JSON value.

mod common;

use serde_json::Value;

use common::{MESSAGE, Running, open_tempdir, portsock, stdout_ok};

/// Every line of `lines` as a JSON object with a string `event`; panics naming the line that
/// is not.
fn events(lines: &[String]) -> Vec<Value> {
    assert!(!lines.is_empty(), "no JSON lines at all");
    lines
        .iter()
        .map(|line| {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
            assert!(value["event"].is_string(), "no event name in {line}");
            value
        })
        .collect()
}

/// The objects named `name`.
fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

/// The one `summary`, which must be the last object.
fn summary(events: &[Value]) -> &Value {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "summary", "the last object is the summary");
    assert_eq!(named(events, "summary").len(), 1);
    last
}

/// The bytes of the `data_hex` fields of `events`, in order, checked against their `len`.
fn payload(events: &[&Value]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for e in events {
        let hex = e["data_hex"].as_str().expect("data_hex");
        let part: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        assert_eq!(Some(part.len() as u64), e["len"].as_u64(), "len of {e}");
        bytes.extend(part);
    }
    bytes
}

/// Starts a `--json` server and returns it with the address of its `listening` event.
fn json_server(args: &[&str]) -> (Running, String) {
    let mut server = Running::portsock(args);
    let line = server.wait_for("a listening event", |l| l.contains("\"listening\""));
    let event: Value = serde_json::from_str(&line).expect("JSON");
    (server, event["addr"].as_str().expect("addr").to_owned())
}

#[test]
fn echo_tcp_both_sides() {
    let (server, addr) = json_server(&[
        "echo",
        "server",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
        "--json",
    ]);
    let client = Running::portsock(["echo", "client", "--addr", &addr, "--json"]);
    let client = events(&client.finish_ok());
    assert_eq!(client[0]["event"], "connecting");
    assert_eq!(client[0]["addr"], addr.as_str());
    assert_eq!(payload(&named(&client, "sending")), MESSAGE.as_bytes());
    let received = named(&client, "received");
    assert_eq!(received.len(), 3, "three 16-byte reads, as the text lines");
    assert_eq!(payload(&received), MESSAGE.as_bytes());
    let s = summary(&client);
    assert_eq!(s["bytes_sent"], MESSAGE.len());
    assert_eq!(s["bytes_received"], MESSAGE.len());
    assert_eq!(s["verified"], true);
    assert!(s["seconds"].as_f64().is_some_and(|t| t >= 0.0));

    let server = events(&server.finish_ok());
    assert_eq!(server[0]["event"], "listening");
    let peer = named(&server, "connection")[0]["peer"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(peer.starts_with("127.0.0.1:"), "{peer}");
    assert_eq!(payload(&named(&server, "received")), MESSAGE.as_bytes());
    let sent: u64 = named(&server, "sent")
        .iter()
        .map(|e| e["len"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, MESSAGE.len() as u64);
    assert_eq!(named(&server, "peer_closed")[0]["peer"], peer.as_str());
    let s = summary(&server);
    assert_eq!(
        (s["connections"].as_u64(), s["bytes_echoed"].as_u64()),
        (Some(1), Some(42))
    );
}

#[test]
fn echo_udp_and_unix() {
    let (server, addr) = json_server(&[
        "echo",
        "server",
        "--proto",
        "udp",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
        "--json",
    ]);
    let client = Running::portsock([
        "echo",
        "client",
        "--proto",
        "udp",
        "--addr",
        &addr,
        "--message",
        "hello",
        "--json",
    ]);
    let client = events(&client.finish_ok());
    assert_eq!(payload(&named(&client, "received")), b"hello");
    assert_eq!(summary(&client)["verified"], true);
    let server = events(&server.finish_ok());
    let received = named(&server, "received");
    assert_eq!(payload(&received), b"hello");
    assert_eq!(received[0]["datagram_len"], 5);
    assert_eq!(summary(&server)["datagrams"], 1);

    let dir = open_tempdir();
    let path = dir.path().join("s");
    let path = path.to_str().unwrap();
    let (server, addr) = json_server(&[
        "echo", "server", "--proto", "unix", "--path", path, "--count", "1", "--json",
    ]);
    assert_eq!(addr, path);
    let client = Running::portsock([
        "echo", "client", "--proto", "unix", "--path", path, "--json",
    ]);
    let client = events(&client.finish_ok());
    assert_eq!(client[0]["addr"], path);
    assert_eq!(payload(&named(&client, "received")), MESSAGE.as_bytes());
    let server = events(&server.finish_ok());
    assert_eq!(payload(&named(&server, "received")), MESSAGE.as_bytes());
}

#[test]
fn concurrent_server_events_and_summary() {
    let (server, addr) = json_server(&[
        "echo",
        "server",
        "--concurrent",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "2",
        "--json",
    ]);
    for message in ["one", "two"] {
        let out = portsock(["echo", "client", "--addr", &addr, "--message", message]);
        stdout_ok(&out, "echo client");
    }
    let server = events(&server.finish_ok());
    assert_eq!(named(&server, "connection").len(), 2);
    let mut got = payload(&named(&server, "received"));
    got.sort_unstable();
    let mut want = b"onetwo".to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
    let s = summary(&server);
    assert_eq!(
        (s["connections"].as_u64(), s["bytes_in"].as_u64()),
        (Some(2), Some(6))
    );
}

#[test]
fn multicast_send_and_receive() {
    let mut receiver = Running::portsock([
        "multicast",
        "receive",
        "--port",
        "0",
        "--count",
        "2",
        "--json",
    ]);
    let joined = receiver.wait_for("joined", |l| l.contains("\"joined\""));
    let joined: Value = serde_json::from_str(&joined).unwrap();
    assert_eq!(joined["group"], "224.3.29.71");
    let port = joined["port"].as_u64().unwrap().to_string();
    let sender = Running::portsock([
        "multicast",
        "send",
        "--port",
        &port,
        "--count",
        "2",
        "--interval",
        "0.05",
        // A busy machine's receiver may take longer than the chapter's 0.2 s to answer.
        "--timeout",
        "3",
        "--json",
    ]);
    let sender = events(&sender.finish_ok());
    assert_eq!(named(&sender, "sending").len(), 2);
    assert_eq!(
        named(&sender, "sending")[0]["group"],
        format!("224.3.29.71:{port}")
    );
    let replies = named(&sender, "reply");
    assert_eq!(payload(&replies), b"ackack");
    let s = summary(&sender);
    assert_eq!(
        (s["sent"].as_u64(), s["replies"].as_u64()),
        (Some(2), Some(2))
    );

    let receiver = events(&receiver.finish_ok());
    assert_eq!(
        payload(&named(&receiver, "received")),
        b"very important datavery important data"
    );
    assert_eq!(named(&receiver, "acknowledged").len(), 2);
    assert_eq!(summary(&receiver)["acknowledged"], 2);
}

/// `2026-12-06T13:56:35.586712Z`: RFC 3339, UTC, microseconds.
fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[26] == b'Z'
        && text[..4].parse::<u32>().is_ok_and(|y| y >= 2024)
}

#[test]
fn multicast_watcher_acknowledges_nothing_and_stamps_each_datagram() {
    let mut watcher = Running::portsock([
        "multicast",
        "receive",
        "--port",
        "0",
        "--no-ack",
        "--hex",
        "--count",
        "3",
    ]);
    let first = watcher.wait_for("watching", |l| l.starts_with("watching 224.3.29.71 port "));
    let port = first.split(' ').nth(3).unwrap().to_owned();
    let sender = Running::portsock([
        "multicast",
        "send",
        "--port",
        &port,
        "--count",
        "3",
        "--interval",
        "0.01",
        "--timeout",
        "0.05",
        "--message",
        "hi",
        "--json",
    ]);
    let sender = events(&sender.finish_ok());
    assert!(
        named(&sender, "reply").is_empty(),
        "a watcher answers nothing"
    );
    assert_eq!(summary(&sender)["replies"], 0);
    let lines = watcher.finish_ok();
    assert_eq!(lines.len(), 4, "{lines:?}");
    for line in &lines[1..] {
        // TIME FROM 2 bytes 6869
        let words: Vec<&str> = line.split(' ').collect();
        assert!(is_timestamp(words[0]), "{line}");
        assert!(words[1].starts_with("127.0.0.1:"), "{line}");
        assert_eq!(words[2..], ["2", "bytes", "6869"], "{line}");
    }

    let mut watcher = Running::portsock([
        "multicast",
        "receive",
        "--port",
        "0",
        "--no-ack",
        "--count",
        "1",
        "--json",
    ]);
    let joined = watcher.wait_for("joined", |l| l.contains("\"joined\""));
    let port = serde_json::from_str::<Value>(&joined).unwrap()["port"].to_string();
    let out = portsock(["multicast", "send", "--port", &port, "--timeout", "0.05"]);
    stdout_ok(&out, "multicast send");
    let watched = events(&watcher.finish_ok());
    let received = named(&watched, "received");
    assert_eq!(payload(&received), b"very important data");
    assert!(
        is_timestamp(received[0]["time"].as_str().unwrap()),
        "{}",
        received[0]
    );
    assert_eq!(received[0]["seq"], 1);
    assert_eq!(summary(&watched)["datagrams"], 1);
}

#[test]
fn binary_records() {
    let (server, addr) = json_server(&[
        "binary",
        "receive",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
        "--json",
    ]);
    let client = Running::portsock(["binary", "send", "--addr", &addr, "--json"]);
    let client = events(&client.finish_ok());
    assert_eq!(named(&client, "values")[0]["values"], "(1, b'ab', 2.7)");
    assert_eq!(
        named(&client, "sending")[0]["data_hex"],
        "0100000061620000cdcc2c40"
    );
    assert_eq!(summary(&client)["bytes_sent"], 12);
    let server = events(&server.finish_ok());
    let record = named(&server, "record")[0];
    assert_eq!(record["data_hex"], "0100000061620000cdcc2c40");
    assert_eq!(record["unpacked"], "(1, b'ab', 2.700000047683716)");
    assert_eq!(summary(&server)["records"], 1);
}

#[test]
fn socketpair_both_sides() {
    let lines: Vec<String> = stdout_ok(&portsock(["socketpair", "--json"]), "socketpair --json")
        .lines()
        .map(str::to_owned)
        .collect();
    let all = events(&lines);
    let side = |event: &str, side: &str| {
        let found: Vec<&Value> = named(&all, event)
            .into_iter()
            .filter(|e| e["side"] == side)
            .collect();
        payload(&found)
    };
    assert_eq!(side("sending", "parent"), b"ping");
    assert_eq!(side("received", "child"), b"ping");
    assert_eq!(side("sending", "child"), b"pong");
    assert_eq!(side("received", "parent"), b"pong");
    assert_eq!(summary(&all)["verified"], true);
}

#[test]
fn one_shot_commands_print_one_json_value() {
    let one = |args: &[&str]| -> Value {
        let text = stdout_ok(&portsock(args), &args.join(" "));
        assert_eq!(text.lines().count(), 1, "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    };
    assert_eq!(one(&["inet", "--json", "aton", "127.1"])["hex"], "7f000001");
    assert_eq!(
        one(&["inet", "pton", "inet6", "::1", "--json"])["hex"],
        "00000000000000000000000000000001"
    );
    let ntop = one(&["inet", "ntop", "inet", "c0a80101", "--json"]);
    assert_eq!(
        (ntop["input"].as_str(), ntop["address"].as_str()),
        (Some("c0a80101"), Some("192.168.1.1"))
    );
    assert_eq!(
        one(&["inet", "ntoa", "7f000001", "--json"])["address"],
        "127.0.0.1"
    );
    let af = one(&["constants", "AF_", "--builtin", "--json"]);
    let inet = af
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "AF_INET")
        .expect("AF_INET");
    assert_eq!(inet["value"], 2);
    assert!(one(&["hostname", "--json"])["hostname"].is_string());
}

#[test]
fn tour_one_object_per_section() {
    let out = portsock(["tour", "--json"]);
    let text = stdout_ok(&out, "tour --json");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let all = events(&lines);
    let sections = named(&all, "section");
    let s = summary(&all);
    assert_eq!(s["sections"].as_u64(), Some(sections.len() as u64));
    assert_eq!(s["failed"], serde_json::json!([]));
    for (i, section) in sections.iter().enumerate() {
        assert_eq!(section["number"], i + 1);
        assert_eq!(section["verified"], true, "{section}");
        assert!(section["why"].is_null());
    }
    let tcp = sections
        .iter()
        .find(|s| s["title"].as_str().unwrap().starts_with("TCP echo"))
        .expect("the TCP echo section");
    let tcp_lines: Vec<&str> = tcp["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        tcp_lines.contains(&"    client | received b'This is the mess'"),
        "{tcp_lines:?}"
    );
}
