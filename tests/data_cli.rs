//! The data mode's behaviour as a user checks it: half-close each way against CPython, `-k`
//! serving client after client, `--json` events, and bad input refused with one clear line.

mod data_support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use data_support::{Proc, assert_same, file, random_file, tempdir};

/// Starts CPython running `script` (with `args`), returns it and the port from its first line.
fn python_server(
    script: &str,
    args: &[&str],
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut port = String::new();
    out.read_line(&mut port).unwrap();
    (child, out, port.trim().to_owned())
}

fn rest(mut out: BufReader<std::process::ChildStdout>) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut out, &mut text).unwrap();
    text
}

/// Our stdin ends first: CPython reads our end of stream, then sends 1 MiB and closes; all
/// of it must reach our stdout.
const PY_SENDS_AFTER_OUR_EOF: &str = r#"
import socket, sys
s = socket.create_server(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True)
c, _ = s.accept(); got = bytearray()
while True:
    b = c.recv(65536)
    if not b: break
    got += b
c.sendall(open(sys.argv[1], "rb").read()); c.close()
print("got", len(got), flush=True)
"#;

#[test]
fn peer_keeps_sending_after_our_stdin_ends() {
    let dir = tempdir();
    let (input, reply, out) = (file(&dir, "in"), file(&dir, "reply"), file(&dir, "out"));
    std::fs::write(&input, b"request\n").unwrap();
    random_file(&reply, 1 << 20);
    let (mut py, py_out, port) = python_server(PY_SENDS_AFTER_OUR_EOF, &[reply.to_str().unwrap()]);
    let report = Proc::portsock(
        &["connect", &format!("127.0.0.1:{port}")],
        Some(&input),
        Some(&out),
    )
    .finish_ok();
    assert!(py.wait().unwrap().success());
    assert_eq!(rest(py_out).trim(), "got 8");
    assert_same(&reply, &out, "the bytes sent after our end of stream");
    let eof_stdin = report.iter().position(|l| l.starts_with("stdin ended"));
    let eof_peer = report.iter().position(|l| l.ends_with("ended its stream"));
    assert!(eof_stdin < eof_peer && eof_stdin.is_some(), "{report:#?}");
}

/// The peer ends first: CPython sends a line and shuts its side down at once, then reads
/// until our end of stream, which comes only after our (slow) stdin has sent 1 MiB.
const PY_EOF_FIRST: &str = r#"
import socket
s = socket.create_server(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.sendall(b"hello\n"); c.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    b = c.recv(65536)
    if not b: break
    got += b
print("got", len(got), flush=True)
"#;

#[test]
fn we_keep_sending_after_the_peer_ends() {
    let dir = tempdir();
    let (input, out) = (file(&dir, "in"), file(&dir, "out"));
    random_file(&input, 1 << 20);
    let (mut py, py_out, port) = python_server(PY_EOF_FIRST, &[]);
    // stdin is a pipe fed after a pause, so the peer's end of stream surely comes first.
    let mut shell = Command::new("sh")
        .args(["-c", &format!("sleep 0.5; cat {}", input.display())])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = Command::new(data_support::PORTSOCK)
        .args(["connect", &format!("127.0.0.1:{port}"), "-q"])
        .stdin(shell.stdout.take().unwrap())
        .stdout(std::fs::File::create(&out).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    shell.wait().unwrap();
    assert!(py.wait().unwrap().success());
    assert_eq!(rest(py_out).trim(), format!("got {}", 1 << 20));
    assert_eq!(std::fs::read(&out).unwrap(), b"hello\n");
}

#[test]
fn keep_listening_serves_the_next_client() {
    let dir = tempdir();
    let out = file(&dir, "out");
    let mut listen = Proc::portsock(&["listen", "-k", "127.0.0.1:0", "--json"], None, Some(&out));
    let line = listen.wait_for("listening", |l| l.contains("\"listening\""));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr = event["address"].as_str().unwrap().to_owned();
    for (i, text) in ["first client\n", "second client\n"].iter().enumerate() {
        let input = file(&dir, &format!("in{i}"));
        std::fs::write(&input, text).unwrap();
        let received = file(&dir, &format!("got{i}"));
        Proc::portsock(&["connect", &addr, "-q"], Some(&input), Some(&received)).finish_ok();
        // The listener's stdin is /dev/null, ended: each client reads end of stream at once.
        assert_eq!(std::fs::read(&received).unwrap(), b"");
        listen.wait_for("closed", |l| l.contains("\"closed\""));
    }
    drop(listen);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "first client\nsecond client\n"
    );
}

/// `listen -k` shares its stdin as OpenBSD's `nc -lk` does: what comes while a client is
/// connected goes to it, what comes between clients waits for the next one, and once stdin
/// has ended each later client reads end of stream at once; every client's bytes reach stdout.
#[test]
fn keep_listening_sends_stdin_to_the_connected_client() {
    use std::io::{Read as _, Write as _};
    use std::net::{Shutdown, TcpStream};
    use std::time::Duration;

    let dir = tempdir();
    let out = file(&dir, "out");
    // Stdin is a FIFO this test writes to as it goes.
    let fifo = file(&dir, "stdin");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let opener = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(fifo))
    };
    let mut listen = Proc::portsock(
        &["listen", "-k", "127.0.0.1:0", "--json"],
        Some(&fifo),
        Some(&out),
    );
    let mut stdin = opener.join().unwrap().expect("the FIFO's writing end");
    let line = listen.wait_for("listening", |l| l.contains("\"listening\""));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr = event["address"].as_str().unwrap().to_owned();
    let client = || {
        let s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    };
    let read = |s: &mut TcpStream, n: usize| {
        let mut buf = vec![0u8; n];
        s.read_exact(&mut buf).expect("stdin's bytes");
        String::from_utf8(buf).unwrap()
    };

    // Stdin while the first client is connected goes to it.
    let mut first = client();
    stdin.write_all(b"to the first client\n").unwrap();
    assert_eq!(read(&mut first, 20), "to the first client\n");
    first.write_all(b"first client\n").unwrap();
    first.shutdown(Shutdown::Write).unwrap();
    // Its session ends at its end of stream (stdin goes on).
    listen.wait_for("closed", |l| l.contains("\"closed\""));
    drop(first);

    // Stdin between clients waits for the next one, then its end is that client's.
    stdin.write_all(b"to the second client\n").unwrap();
    let mut second = client();
    assert_eq!(read(&mut second, 21), "to the second client\n");
    drop(stdin);
    let mut rest = Vec::new();
    second.read_to_end(&mut rest).expect("end of stream");
    assert_eq!(rest, b"", "stdin's end is sent as end of stream");
    second.write_all(b"second client\n").unwrap();
    second.shutdown(Shutdown::Write).unwrap();
    listen.wait_for("closed", |l| l.contains("\"closed\""));

    // After stdin's end: end of stream at once, and still read from.
    let mut third = client();
    let mut rest = Vec::new();
    third.read_to_end(&mut rest).expect("end of stream");
    assert_eq!(rest, b"");
    third.write_all(b"third client\n").unwrap();
    third.shutdown(Shutdown::Write).unwrap();
    listen.wait_for("closed", |l| l.contains("\"closed\""));
    drop(listen);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "first client\nsecond client\nthird client\n"
    );
}

#[test]
fn json_events_parse_and_add_up() {
    let dir = tempdir();
    let (input, out) = (file(&dir, "in"), file(&dir, "out"));
    random_file(&input, 300_000);
    let mut listen = Proc::portsock(&["listen", "127.0.0.1:0", "--json"], None, Some(&out));
    let first: serde_json::Value =
        serde_json::from_str(&listen.wait_for("listening", |_| true)).unwrap();
    let addr = first["address"].as_str().unwrap().to_owned();
    let client = Proc::portsock(&["connect", &addr, "--json"], Some(&input), None).finish_ok();
    let server = listen.finish_ok();
    for (who, lines) in [("connect", &client), ("listen", &server)] {
        let events: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{who}: {l:?}: {e}")))
            .collect();
        let names: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"connected"), "{who}: {names:?}");
        assert_eq!(names.last(), Some(&"summary"), "{who}: {names:?}");
        assert_eq!(
            names.iter().filter(|n| **n == "eof").count(),
            2,
            "{who}: {names:?}"
        );
        let summary = events.last().unwrap();
        let moved = if who == "connect" { "sent" } else { "received" };
        assert_eq!(summary[moved], 300_000, "{who}: {summary}");
        assert_eq!(summary["sessions"], 1);
    }
    assert_same(&input, &out, "--json leaves stdout to the data");
}

#[test]
fn quiet_says_nothing() {
    let dir = tempdir();
    let input = file(&dir, "in");
    std::fs::write(&input, b"x").unwrap();
    let mut listen = Proc::portsock(&["listen", "127.0.0.1:0", "--json"], None, None);
    let first: serde_json::Value =
        serde_json::from_str(&listen.wait_for("listening", |_| true)).unwrap();
    let addr = first["address"].as_str().unwrap().to_owned();
    let client = Proc::portsock(&["connect", &addr, "-q"], Some(&input), None).finish_ok();
    assert!(client.is_empty(), "{client:#?}");
    listen.finish_ok();
}

fn assert_refused(args: &[&str], mentions: &str) {
    let out = Command::new(data_support::PORTSOCK)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(mentions),
        "{args:?}: {stderr}"
    );
}

#[test]
fn bad_input_is_one_clear_error() {
    assert_refused(&["connect", "localhost:70000"], "port 70000 out of range");
    assert_refused(&["connect", "localhost"], "HOST:PORT \"localhost\"");
    assert_refused(&["connect", "127.0.0.1:0"], "port 0 cannot be connected to");
    assert_refused(&["listen", "http"], "[HOST:]PORT \"http\"");
    let dir = tempdir();
    let missing = file(&dir, "no-such-socket");
    assert_refused(
        &["connect", "-U", missing.to_str().unwrap()],
        "No such file or directory",
    );
    assert_refused(
        &["connect", "-u", "-U", missing.to_str().unwrap()],
        "-u with -U",
    );
    assert_refused(&["listen", "-k", "-u", "0"], "-k with -u");
    assert_refused(&["connect", "--wait", "1", "127.0.0.1:9"], "--wait");
    assert_refused(&["connect", "-4", "[::1]:9"], "no IPv4 (-4) address");
    assert_refused(
        &["connect", "127.0.0.1:1", "--drop-chance", "5"],
        "--drop-chance",
    );
}

#[test]
fn refused_connection_is_one_clear_error() {
    // A port just released: nothing listens there.
    let port = data_support::free_port(false);
    assert_refused(
        &["connect", &format!("127.0.0.1:{port}")],
        "Connection refused",
    );
}

#[test]
fn udp_to_a_closed_port_is_one_clear_error() {
    let port = data_support::free_udp_port(false);
    let out = Command::new(data_support::PORTSOCK)
        .args(["connect", "-u", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(b"anyone?\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("nothing listens there"),
        "{stderr}"
    );
}

#[test]
fn a_terminal_gets_a_progress_line_for_a_long_transfer() {
    let dir = tempdir();
    let input = file(&dir, "in");
    random_file(&input, 4096);
    let mut listen = Proc::portsock(&["listen", "127.0.0.1:0", "--json"], None, None);
    let first: serde_json::Value =
        serde_json::from_str(&listen.wait_for("listening", |_| true)).unwrap();
    let addr = first["address"].as_str().unwrap().to_owned();
    // `script` gives the command a terminal (stderr is what matters); stdin is a pipe that
    // waits 3 s, past the second after which the progress line appears (with room for a slow
    // start on a busy machine).
    let inner = format!(
        "(sleep 3; cat {}) | {} connect {addr} > /dev/null",
        input.display(),
        data_support::PORTSOCK
    );
    let out = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (bsdutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // The progress line counts in human units; the summary in bytes.
    assert!(text.contains(", received 0 B ("), "{text:?}");
    assert!(
        text.contains("sent 4096 bytes, received 0 bytes in "),
        "{text:?}"
    );
    listen.finish_ok();
}

#[test]
fn an_interrupted_unix_listener_removes_its_node() {
    let dir = tempdir();
    let path = file(&dir, "sock");
    let mut listen = Proc::portsock(&["listen", "-k", "-U", path.to_str().unwrap()], None, None);
    listen.listening();
    assert!(path.exists());
    let pid = listen.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let ended = listen.finish();
    assert_eq!(ended.status.code(), Some(130), "{:?}", ended.stderr);
    assert!(!path.exists(), "the node is removed");
}
