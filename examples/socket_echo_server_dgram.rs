//! `socket_echo_server_dgram`: the chapter's UDP echo server. There is no connection: it
//! binds `localhost` port 10000, receives one datagram at a time (up to 4096 bytes), prints
//! it, and sends it back to whoever sent it.
//!
//! The core's [`DatagramEchoServer`] state machine does the echo, run over a std UDP socket
//! by [`run_datagram`].
//!
//! ```text
//! cargo run --example socket_echo_server_dgram [HOST] [PORT] [--count N | --once]
//! cargo run --example socket_echo_client_dgram   # in a second terminal
//! ```
//!
//! `--count N` stops it after N datagrams.

mod common;

use clap::Parser;
use portsock::core::drive::run_datagram;
use portsock::core::echo::CHAPTER_DATAGRAM_SIZE;
use portsock::core::echo::datagram::{DatagramEchoServer, ServerEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::prelude::*;
use portsock::std::udp::UdpSocket;

/// The chapter's UDP echo server: bind HOST port PORT, receive one datagram at a time (up to
/// 4096 bytes), print it and send it back to its sender.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_server_dgram", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let server_address = (args.server.host, args.server.port);

    // Bind the socket to the port.
    println!(
        "starting up on {} port {}",
        server_address.0, server_address.1
    );
    let mut sock = UdpSocket::bind_host(&server_address.0, server_address.1)?;

    let mut server =
        DatagramEchoServer::new([0u8; CHAPTER_DATAGRAM_SIZE]).with_limit(args.count.get());
    run_datagram(&mut sock, &mut server, &SystemClock, &mut |server| {
        while let Some(event) = server.poll_event() {
            match event {
                ServerEvent::Waiting => println!("\nwaiting to receive message"),
                ServerEvent::Received { from, data, .. } => {
                    println!("received {} bytes from {}", data.len(), PyAddr(*from));
                    println!("{}", PyBytes(data));
                }
                ServerEvent::Sent { to, len } => {
                    println!("sent {len} bytes back to {}", PyAddr(*to))
                }
                _ => {}
            }
        }
    })?;
    Ok(())
}
