//! What core's edge-nal wrappers and the async driver cost: the same edge-nal-std socket
//! echoing a std client's bytes, once by a plain loop (edge-nal's `read` into 64 KiB, then
//! `write_all`) and once by the core's `EchoSession` (64 KiB buffer, 64 KiB reads) through
//! `EdgeStream` and `run_stream`, in one run, every echoed byte checked. Each server runs under
//! futures-lite's `block_on` on a thread of its own; the client writes from one thread and
//! reads in another.
//!
//! `cargo bench --bench edge_nal` prints the table (best of 5 alternating rounds of 256 MiB each way);
//! without `--bench` (as `cargo test --benches` runs it) it makes one small round.
#![allow(missing_docs)]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use edge_nal::io::{Read, Write};
use edge_nal::{TcpAccept, TcpBind};
use edge_nal_std::Stack;
use futures_lite::future::block_on;
use portsock::core::asynch::drive::run_stream;
use portsock::core::asynch::edge::EdgeListener;
use portsock::core::asynch::transport::Listener;
use portsock::core::echo::stream::EchoSession;

const BUF: usize = 64 * 1024;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, bytes) = if full { (5, 256 << 20) } else { (1, 4 << 20) };
    println!(
        "| server | MB/s (best of {rounds}, {} MiB each way) |",
        bytes >> 20
    );
    println!("|---|---|");
    // Rounds alternate, so that a busy moment of the machine hits both alike.
    let (mut plain, mut machine) = (0.0f64, 0.0f64);
    for _ in 0..rounds {
        plain = plain.max(echo_through(bytes, plain_echo));
        machine = machine.max(echo_through(bytes, machine_echo));
    }
    println!("| edge-nal-std, plain read / write_all loop | {plain:.0} |");
    println!("| edge-nal-std, EchoSession via EdgeStream + run_stream | {machine:.0} |");
    println!("ratio: {:.2}x", machine / plain);
}

/// The plain loop on edge-nal's own traits.
fn plain_echo(addr: SocketAddr) {
    block_on(async {
        let acceptor = TcpBind::bind(&Stack::new(), addr).await.expect("bind");
        let (_, mut socket) = acceptor.accept().await.expect("accept");
        let mut buf = vec![0u8; BUF];
        loop {
            let n = socket.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            socket.write_all(&buf[..n]).await.expect("write");
        }
    });
}

/// The core's machine through the wrappers.
fn machine_echo(addr: SocketAddr) {
    block_on(async {
        let acceptor = TcpBind::bind(&Stack::new(), addr).await.expect("bind");
        let listener = EdgeListener::new(acceptor, addr);
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut session = EchoSession::new(vec![0u8; BUF]).with_chunk(BUF);
        run_stream(&mut stream, &mut session, &mut |_| {})
            .await
            .expect("echo");
    });
}

/// Runs `server` on a free port, pushes `bytes` through it and returns the MB/s.
fn echo_through(bytes: usize, server: fn(SocketAddr)) -> f64 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("probe");
    let addr = probe.local_addr().expect("address");
    drop(probe);
    let server = thread::spawn(move || server(addr));
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().expect("clone");
    let started = Instant::now();
    let sender = thread::spawn(move || {
        let chunk: Vec<u8> = (0..BUF).map(|i| (i % 251) as u8).collect();
        let mut left = bytes;
        while left > 0 {
            let n = left.min(BUF);
            writer.write_all(&chunk[..n]).expect("send");
            left -= n;
        }
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let mut buf = vec![0u8; BUF];
    let mut got = 0usize;
    loop {
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        for (i, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, ((got + i) % BUF % 251) as u8, "byte {}", got + i);
        }
        got += n;
    }
    let elapsed = started.elapsed();
    sender.join().expect("sender");
    server.join().expect("server");
    assert_eq!(got, bytes, "every byte echoed");
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

/// Connects, retrying while the server thread binds.
fn connect(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr) {
            Ok(stream) => return stream,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("connect {addr}: {e}"),
        }
    }
}
