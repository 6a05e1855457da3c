//! `echo server --backend smoltcp --concurrent` over a TAP device (see `tests/common/tap.rs`):
//! clients served at once, a burst of them while the machine is loaded, SIGTERM, and the idle
//! timeout.

mod common;

use std::process::Command;

use common::tap::tcp::concurrent_server_serves;
use common::tap::{KERNEL_V4, PY_ECHO_CLIENT, SMOL_V4, Stack, TapNet};

/// `--concurrent` on smoltcp: three CPython clients at once, 256 KiB each, every byte checked;
/// then SIGTERM stops a server that still has a client connected, closing it cleanly.
#[test]
fn smoltcp_concurrent_server_serves_clients_at_once() {
    let Some(net) = TapNet::new("cc") else { return };
    let lines = concurrent_server_serves(&net, Stack::Smoltcp, 3, 262_144);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("no data from"))
            .count(),
        3,
        "every session ended normally: {lines:#?}"
    );

    let mut server = net.smoltcp(&["echo", "server", "--addr", ":10001", "--concurrent"], &[]);
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    let holder = net.python(
        "import socket, sys, time\ns = socket.create_connection((sys.argv[1], 10001), timeout=10)\nprint('connected', flush=True)\nprint(repr(s.recv(16)), flush=True)\n",
        &[SMOL_V4],
    );
    let mut holder = holder;
    holder.wait_for("connected", |l| l == "connected");
    server.wait_for("connection", |l| l.starts_with("connection from"));
    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let done = server.finish();
    assert!(done.status.success(), "SIGTERM is a clean stop: {done:?}");
    // The held connection was closed (FIN), not left hanging: the client reads end of stream.
    assert_eq!(holder.finish_ok().last().unwrap(), "b''");
}

/// Sixteen CPython clients connecting in the same instant (threads released by one barrier)
/// to the `--concurrent` smoltcp server while a busy loop holds a core: the stack takes SYNs
/// in one by one and refills its listening pool between them, and drops (rather than refuses)
/// a SYN past its sockets, so every client is served and none sees `ConnectionRefusedError`.
#[test]
fn smoltcp_concurrent_server_takes_a_burst_under_load() {
    let Some(net) = TapNet::new("burst") else {
        return;
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spin = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        })
    };
    let mut server = net.smoltcp(
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--concurrent",
            "--count",
            "16",
        ],
        &[],
    );
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    let burst = net.python(PY_BURST_CLIENTS, &[SMOL_V4, "10000", "16"]);
    let out = burst.finish_ok();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spin.join().unwrap();
    assert_eq!(out, ["ok 16"], "{out:#?}");
    let lines = server.finish_ok();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("connection from"))
            .count(),
        16,
        "{lines:#?}"
    );
}

/// `--idle-timeout` on smoltcp: a client that connects and sends nothing (its kernel would
/// answer keep-alives for ever) is closed after the timeout, gracefully (it reads end of
/// stream), with the std server's line; it counts as a connection served, and a client after
/// it is echoed as usual.
#[test]
fn smoltcp_concurrent_server_closes_a_silent_client() {
    let Some(net) = TapNet::new("idle") else {
        return;
    };
    let mut server = net.smoltcp(
        &[
            "echo",
            "server",
            "--addr",
            ":10000",
            "--concurrent",
            "--idle-timeout",
            "1",
            "--count",
            "2",
        ],
        &[],
    );
    server.wait_for("waiting", |l| l.starts_with("waiting for connections"));
    let mut silent = net.python(
        "import socket, sys\ns = socket.create_connection((sys.argv[1], 10000), timeout=20)\nprint('connected', s.getsockname()[1], flush=True)\nprint(repr(s.recv(16)), flush=True)\n",
        &[SMOL_V4],
    );
    let connected = silent.wait_for("connected", |l| l.starts_with("connected "));
    let port = connected.trim_start_matches("connected ");
    assert_eq!(silent.finish_ok().last().unwrap(), "b''");
    let client = net.python(PY_ECHO_CLIENT, &[SMOL_V4, "10000", "4096"]);
    assert_eq!(client.finish_ok(), ["ok 4096"]);
    let lines = server.finish_ok();
    let closed = format!("idle timeout: closed ('{KERNEL_V4}', {port})");
    assert_eq!(
        lines.iter().filter(|l| **l == closed).count(),
        1,
        "{closed}: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("no data from")),
        "the echo client ended normally: {lines:#?}"
    );
}

/// `host port n`: n threads connect at the same instant, each sends 1,000 bytes of its own,
/// half-closes and checks its echo; prints `ok n`, or the errors.
const PY_BURST_CLIENTS: &str = r#"
import socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
barrier = threading.Barrier(n)
errors = []
def client(k):
    message = bytes((k * 31 + i) % 251 for i in range(1000))
    barrier.wait()
    try:
        with socket.create_connection((host, port), timeout=30) as s:
            s.sendall(message)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                got += data
        if got != message:
            errors.append(f"client {k}: echo differs ({len(got)} bytes)")
    except OSError as e:
        errors.append(f"client {k}: {e!r}")
threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(errors) if errors else f"ok {n}")
"#;
