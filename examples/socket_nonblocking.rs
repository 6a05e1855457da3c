//! `socket_nonblocking`: the three ways a socket can wait, from the chapter's section on
//! non-blocking communication and timeouts.
//!
//! * **Blocking** (the default): `recv` waits until data arrives, however long that takes.
//! * **Blocking with a timeout** (Python's `settimeout(0.2)`): `recv` waits at most 0.2 s, then
//!   fails with `TimedOut` (Python raises `socket.timeout`).
//! * **Non-blocking** (Python's `setblocking(False)`): `recv` and `accept` return at once and
//!   fail with `WouldBlock` when there is nothing to do yet (Python raises `BlockingIOError`).
//!   One thread can then look after many sockets, coming back to each when it is ready.
//!
//! The two failures stay apart: on Linux the kernel reports both as `EAGAIN`, and portsock's
//! sockets tell them apart by their mode. The last part runs the core's echo machines,
//! [`EchoClient`] and [`EchoSession`], over two non-blocking ends of one connection in a
//! single thread, one [`step_stream`] at a time: each step says whether it made progress, found
//! nothing to do yet ([`Status::Blocked`], "would block"), or finished; an error is a real one.
//!
//! It needs no server: it listens on a free port of `localhost` and connects to itself.
//!
//! ```text
//! cargo run --example socket_nonblocking [HOST] [PORT]
//! ```

mod common;

use std::io;
use std::thread;

use clap::Parser;
use portsock::core::drive::{run_stream, step_stream};
use portsock::core::echo::stream::{ClientEvent, EchoClient, EchoSession};
use portsock::core::echo::{CHAPTER_CHUNK, CHAPTER_MESSAGE};
use portsock::core::machine::Status;
use portsock::core::wire::repr::{PyAddr, PyBytes, PyFloat};
use portsock::std::prelude::*;
use portsock::std::tcp::{TcpListener, TcpStream};

use common::HOST;

/// How long a blocking `recv` waits (`settimeout(0.2)`).
const TIMEOUT: Duration = Duration::from_millis(200);
/// Port 0: the system picks a free one.
const ANY_FREE_PORT: u16 = 0;
/// What the event loop does when neither socket can make progress. A real program would wait
/// for readiness with `poll(2)` or mio instead, or do other work.
const IDLE: std::time::Duration = std::time::Duration::from_millis(1);
/// What the echo client sends.
const MESSAGE: &[u8] = CHAPTER_MESSAGE;

/// The three ways a socket waits (blocking, a timeout, non-blocking), and an echo over
/// non-blocking sockets, against its own server on HOST port PORT.
#[derive(Debug, Parser)]
#[command(name = "socket_nonblocking", version)]
struct Args {
    /// The host the server listens on.
    #[arg(default_value = HOST)]
    host: String,
    /// The server's port (0: one the system picks, printed).
    #[arg(default_value_t = ANY_FREE_PORT)]
    port: u16,
}

fn main() -> common::Result {
    let args = Args::parse();
    let host = args.host;
    let mut listener = TcpListener::bind_host(&host, args.port)?;
    let server_address = listener.local_addr()?;
    println!("starting up on {host} port {}", server_address.port());
    let mut sock = TcpStream::connect(server_address, None)?;
    let (mut connection, _) = listener.accept()?;
    println!("connected to {}", PyAddr(server_address));
    let mut data = [0u8; CHAPTER_CHUNK];

    // Blocking with a timeout: nothing has been sent, so recv waits 0.2 s and gives up.
    sock.set_read_timeout(Some(TIMEOUT))?;
    let got = sock.read(&mut data);
    let secs = PyFloat(TIMEOUT.as_secs_f64());
    println!("settimeout({secs}): recv(16) waits, then: {}", outcome(got));
    sock.set_read_timeout(None)?;

    // Non-blocking: recv and accept give up at once.
    sock.set_nonblocking(true)?;
    let got = sock.read(&mut data);
    println!("setblocking(False): recv(16) at once: {}", outcome(got));
    listener.set_nonblocking(true)?;
    let got = listener.accept().map(|_| 0);
    println!("setblocking(False): accept() at once: {}", outcome(got));

    // An event loop in one thread: the client and the server's end of the connection, both
    // non-blocking, each driven one step at a time by the core's driver.
    println!("echo over non-blocking sockets, one step at a time:");
    connection.set_nonblocking(true)?;
    let mut client = EchoClient::chapter(MESSAGE, [0u8; CHAPTER_CHUNK]);
    let mut session = EchoSession::chapter([0u8; CHAPTER_CHUNK]);
    let mut print = |client: &mut EchoClient<'_, [u8; CHAPTER_CHUNK]>| {
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Sending(message) => println!("sending {}", PyBytes(message)),
                ClientEvent::Received(data) => println!("received {}", PyBytes(data)),
                _ => {}
            }
        }
    };
    while !client.is_done() {
        let client_step = step_stream(&mut sock, &mut client, &mut print)?;
        let server_step = step_stream(&mut connection, &mut session, &mut |_| {})?;
        if client_step == Status::Blocked && server_step == Status::Blocked {
            thread::sleep(IDLE);
        }
    }
    println!("closing socket");
    drop(sock);

    // The server's end sees the client close; finish it blocking.
    connection.set_nonblocking(false)?;
    run_stream(&mut connection, &mut session, &mut |_| {})?;
    println!("the server echoed {} bytes", session.sent());
    Ok(())
}

/// How a call ended, for printing: the byte count, or the kind of error.
fn outcome(result: io::Result<usize>) -> String {
    match result {
        Ok(n) => format!("{n} bytes"),
        Err(e) => format!("{:?}", e.kind()),
    }
}
