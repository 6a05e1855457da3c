//! `socket_echo_server_explicit`: the echo server bound to the address named on the command
//! line, so that clients on other hosts can reach it (`localhost` serves only this one).
//! It prints less than `socket_echo_server`: who connected, and each chunk received.
//!
//! The echo is the core's [`EchoSession`], run by [`run_stream`].
//!
//! ```text
//! cargo run --example socket_echo_server_explicit HOST [PORT] [--count N | --once]
//! cargo run --example socket_echo_client_explicit HOST [PORT]   # then, from any host
//! ```
//!
//! `HOST` is a name or an address of this machine (`127.0.0.1` to stay on it).

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::CHAPTER_CHUNK;
use portsock::core::echo::stream::{EchoSession, SessionEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::prelude::*;
use portsock::std::tcp::TcpListener;

/// The echo server bound to the address named on the command line (the chapter's
/// sys.argv[1]), so clients on other hosts can reach it.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_server_explicit", version)]
struct Args {
    #[command(flatten)]
    server: common::ExplicitServer,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    // Bind the socket to the address given on the command line.
    let server_address = (args.server.host, args.server.port);
    println!(
        "starting up on {} port {}",
        server_address.0, server_address.1
    );
    let mut sock = TcpListener::bind_host(&server_address.0, server_address.1)?;

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
