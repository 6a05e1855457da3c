//! `--runtime tokio` under hostile conditions, as `cli_server.rs` tests the mio runtime: SIGTERM
//! with clients connected, a stdout nobody reads, a silent client and the idle timeout, and
//! running out of descriptors. Bounds are generous; speed goals are `scripts/bench-echo`'s.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Running;

/// The server's first two lines; returns the port of the first.
fn wait_ready(server: &mut Running) -> u16 {
    let port = server.wait_for_port();
    server.wait_for("waiting for connections", |l| {
        l == "waiting for connections (any number at once)"
    });
    port
}

#[test]
fn sigterm_stops_the_tokio_server_with_clients_connected() {
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        "tokio",
        "--quiet",
        "--addr",
        "127.0.0.1:0",
    ]);
    let port = wait_ready(&mut server);
    let idle: Vec<std::net::TcpStream> = (0..50)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    // Every connection is served: one echo each.
    for mut conn in &idle {
        use std::io::{Read as _, Write as _};
        conn.set_read_timeout(Some(common::WAIT)).expect("timeout");
        conn.write_all(b"hi").expect("write");
        let mut back = [0u8; 2];
        conn.read_exact(&mut back).expect("echo");
        assert_eq!(&back, b"hi");
    }
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let done = server.finish();
    let took = sent.elapsed();
    assert!(done.status.success(), "{done:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        done.stdout.last().is_some_and(|l| l.starts_with(
            "served 50 connections (0 failed, 0 timed out): 100 bytes in, 100 bytes out, "
        )),
        "{done:?}"
    );
    drop(idle);
}

#[test]
fn a_stdout_nobody_reads_stalls_no_tokio_client_and_sigterm_still_stops_it() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::process::Stdio;
    // The chapter's transcript (16-byte reads, two lines each) into a pipe the test stops
    // reading after the first two lines: far more lines than a pipe holds.
    let mut child = Command::new(env!("CARGO_BIN_EXE_portsock"))
        .args([
            "echo",
            "server",
            "--concurrent",
            "--runtime",
            "tokio",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portsock");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let port: u16 = first
        .trim_end()
        .rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    let clients: Vec<_> = (0..3u8)
        .map(|seed| {
            std::thread::spawn(move || {
                let message: Vec<u8> = (0..40_000u32)
                    .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                    .collect();
                let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                conn.set_read_timeout(Some(common::WAIT)).expect("timeout");
                let mut writer = conn.try_clone().expect("clone");
                let sent = message.clone();
                let sending = std::thread::spawn(move || writer.write_all(&sent));
                let mut echoed = vec![0u8; message.len()];
                conn.read_exact(&mut echoed).expect("the whole echo");
                sending.join().expect("writer").expect("write");
                assert!(echoed == message, "the echo differs");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client");
    }
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("try_wait") {
            break exit;
        }
        assert!(sent.elapsed() < common::WAIT, "SIGTERM went unheard");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(exit.success(), "{exit}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(
        stderr.contains("lines of output dropped: stdout did not take them"),
        "{stderr:?}"
    );
    drop(stdout);
}

#[test]
fn the_idle_timeout_closes_a_silent_client_with_the_chapter_style_line() {
    use std::io::Read as _;
    let mut server = Running::portsock([
        "echo",
        "server",
        "--concurrent",
        "--runtime",
        "tokio",
        "--idle-timeout",
        "0.3",
        "--addr",
        "127.0.0.1:0",
        "--count",
        "1",
    ]);
    let port = wait_ready(&mut server);
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    silent
        .set_read_timeout(Some(common::WAIT))
        .expect("timeout");
    let mut rest = Vec::new();
    // The server closes it: end of stream, nothing echoed.
    assert_eq!(silent.read_to_end(&mut rest).expect("end of stream"), 0);
    let peer = format!(
        "('127.0.0.1', {})",
        silent.local_addr().expect("addr").port()
    );
    let lines = server.finish_ok();
    assert_eq!(
        lines[2..],
        [
            format!("connection from {peer}"),
            format!("idle timeout: closed {peer}"),
        ]
    );
}

#[test]
fn out_of_descriptors_the_server_waits_for_closes_instead_of_failing() {
    use std::io::{Read as _, Write as _};
    const CLIENTS: usize = 60;
    for runtime in ["tokio", "mio"] {
        // 32 descriptors: a dozen go to the runtime, stdout and the listener, so most of the
        // clients wait in the backlog until earlier ones close.
        let mut cmd = Command::new("prlimit");
        cmd.arg("--nofile=32:32")
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_portsock"))
            .args([
                "echo",
                "server",
                "--concurrent",
                "--quiet",
                "--runtime",
                runtime,
            ])
            .args(["--addr", "127.0.0.1:0", "--count", &CLIENTS.to_string()]);
        let mut server = Running::spawn(cmd);
        let port = wait_ready(&mut server);
        let conns: Vec<std::net::TcpStream> = (0..CLIENTS)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
            .collect();
        for (i, mut conn) in conns.into_iter().enumerate() {
            conn.set_read_timeout(Some(common::WAIT)).expect("timeout");
            conn.write_all(&[i as u8]).expect("write");
            let mut back = [0u8; 1];
            conn.read_exact(&mut back)
                .expect("served once earlier clients closed");
            assert_eq!(back, [i as u8], "{runtime}");
            // Closing frees the server's descriptor for the next client.
        }
        let lines = server.finish_ok();
        assert!(
            lines.last().is_some_and(|l| l.starts_with(&format!(
                "served {CLIENTS} connections (0 failed, 0 timed out): {CLIENTS} bytes in, "
            ))),
            "{runtime}: {lines:?}"
        );
    }
}
