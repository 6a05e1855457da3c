//! `socket_echo_server`: the chapter's TCP echo server. It listens on `localhost` port 10000,
//! and for each client reads 16 bytes at a time, printing each chunk and sending it back,
//! until the client closes its side.
//!
//! The echo itself is the core's [`EchoSession`] state machine, run over a std TCP stream by
//! [`run_stream`]; this program only sets the socket up and prints the session's events.
//!
//! ```text
//! cargo run --example socket_echo_server [HOST] [PORT] [--count N | --once]
//! cargo run --example socket_echo_client          # in a second terminal
//! ```
//!
//! Without `--count` it serves clients one after another forever (Ctrl-C stops it).

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::CHAPTER_CHUNK;
use portsock::core::echo::stream::{EchoSession, SessionEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::prelude::*;
use portsock::std::tcp::TcpListener;

/// The chapter's TCP echo server: listen on HOST port PORT and, for each client, read 16
/// bytes at a time, print each chunk and send it back until the client closes.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_server", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let server_address = (args.server.host, args.server.port);

    // Bind the socket to the port and listen for incoming connections.
    println!(
        "starting up on {} port {}",
        server_address.0, server_address.1
    );
    let mut sock = TcpListener::bind_host(&server_address.0, server_address.1)?;

    for _ in 0..args.count.get() {
        // Wait for a connection.
        println!("waiting for a connection");
        let (mut connection, client_address) = sock.accept()?;
        println!("connection from {}", PyAddr(client_address));

        // Receive the data in small chunks and retransmit it, until the client closes.
        let mut session = EchoSession::chapter([0u8; CHAPTER_CHUNK]);
        run_stream(&mut connection, &mut session, &mut |session| {
            while let Some(event) = session.poll_event() {
                match event {
                    SessionEvent::Received(data) => println!("received {}", PyBytes(data)),
                    SessionEvent::Sending(_) => println!("sending data back to the client"),
                    SessionEvent::PeerClosed => {
                        println!("received b''");
                        println!("no data from {}", PyAddr(client_address));
                    }
                    _ => {}
                }
            }
        })?;
        // Dropping `connection` closes it.
    }
    Ok(())
}
