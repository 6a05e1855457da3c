//! `socket_echo_server_any`: the echo server listening on every address of the machine at
//! once. It binds `''` (Python's spelling of `INADDR_ANY`, `0.0.0.0`) and prints the address
//! it actually got with `getsockname()`.
//!
//! The echo is the core's [`EchoSession`], run by [`run_stream`].
//!
//! ```text
//! cargo run --example socket_echo_server_any [PORT] [--count N | --once]
//! cargo run --example socket_echo_client_explicit 127.0.0.1     # then, or from any host
//! ```
//!
//! Every interface means every network this machine is on: anyone who can reach it can
//! connect while it runs.

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::CHAPTER_CHUNK;
use portsock::core::echo::stream::{EchoSession, SessionEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::prelude::*;
use portsock::std::tcp::TcpListener;

/// Any address: `''` in Python, `INADDR_ANY`.
const ANY: &str = "";

/// The echo server on every address of the machine: bind '' (0.0.0.0) and PORT, print the
/// address getsockname() gives, and echo.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_server_any", version)]
struct Args {
    /// The port (0: one the system picks, printed).
    #[arg(default_value_t = portsock::core::echo::CHAPTER_PORT)]
    port: u16,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let mut sock = TcpListener::bind_host(ANY, args.port)?;
    let bound = sock.local_addr()?;
    println!("starting up on {} port {}", bound.ip(), bound.port());

    for _ in 0..args.count.get() {
        println!("waiting for a connection");
        let (mut connection, client_address) = sock.accept()?;
        println!("client connected: {}", PyAddr(client_address));
        let mut session = EchoSession::chapter([0u8; CHAPTER_CHUNK]);
        run_stream(&mut connection, &mut session, &mut |session| {
            while let Some(event) = session.poll_event() {
                match event {
                    SessionEvent::Received(data) => println!("received {}", PyBytes(data)),
                    SessionEvent::PeerClosed => println!("received b''"),
                    _ => {}
                }
            }
        })?;
    }
    Ok(())
}
