//! `socket_echo_server_uds`: the echo server on a Unix-domain socket. The address is a path
//! in the file system, `./uds_socket`, rather than a host and port; clients connect to that
//! file, and file permissions on it decide who may.
//!
//! Binding removes a socket file left behind by an earlier run, as the chapter does, but only
//! if it really is a stale socket: a regular file (or a live server) at the path is an error
//! and stays untouched. The echo is the core's [`EchoSession`], run by [`run_stream`], exactly
//! as over TCP.
//!
//! ```text
//! cargo run --example socket_echo_server_uds [PATH] [--count N | --once]
//! cargo run --example socket_echo_client_uds [PATH]   # in a second terminal
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::CHAPTER_CHUNK;
use portsock::core::echo::stream::{EchoSession, SessionEvent};
use portsock::core::wire::repr::PyBytes;
use portsock::std::prelude::*;
use portsock::std::unix::UnixListener;

/// The echo server on a Unix-domain socket: listen at PATH (file permissions on it decide
/// who may connect), echo each client, and remove the node when done.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_server_uds", version)]
struct Args {
    #[command(flatten)]
    uds: common::UdsPath,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let server_address = args.uds.path;

    // Bind the socket to the path (removing a stale socket file there) and listen.
    println!("starting up on {server_address}");
    let mut sock = UnixListener::bind(&server_address)?;

    for _ in 0..args.count.get() {
        println!("waiting for a connection");
        let (mut connection, client_address) = sock.accept()?;
        // A client that did not bind a path has no address: Python prints an empty string.
        println!("connection from {client_address}");
        let mut session = EchoSession::chapter([0u8; CHAPTER_CHUNK]);
        run_stream(&mut connection, &mut session, &mut |session| {
            while let Some(event) = session.poll_event() {
                match event {
                    SessionEvent::Received(data) => println!("received {}", PyBytes(data)),
                    SessionEvent::Sending(_) => println!("sending data back to the client"),
                    SessionEvent::PeerClosed => {
                        println!("received b''");
                        println!("no data from {client_address}");
                    }
                    _ => {}
                }
            }
        })?;
    }
    Ok(())
}
