//! `socket_echo_client_dgram`: the chapter's UDP echo client. It sends the message to
//! `localhost` port 10000 in one datagram and waits for the echo.
//!
//! The core's [`DatagramEchoClient`] does it, run by [`run_datagram`]: it checks the echo byte
//! for byte, ignores datagrams from anyone but the server, and gives up after a second
//! instead of waiting forever (UDP may lose either datagram).
//!
//! ```text
//! cargo run --example socket_echo_server_dgram    # first, in another terminal
//! cargo run --example socket_echo_client_dgram [HOST] [PORT]
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_datagram;
use portsock::core::echo::datagram::{ClientEvent, DatagramEchoClient};
use portsock::core::echo::{CHAPTER_DATAGRAM_SIZE, CHAPTER_MESSAGE};
use portsock::core::wire::repr::PyBytes;
use portsock::std::prelude::*;
use portsock::std::udp::UdpSocket;

/// What the client sends, and expects back.
const MESSAGE: &[u8] = CHAPTER_MESSAGE;

/// The chapter's UDP echo client: send the message to HOST port PORT in one datagram and
/// wait for the echo.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_client_dgram", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
}

fn main() -> common::Result {
    let args = Args::parse();
    let server_address = common::server_addr(&args.server.host, args.server.port)?;
    let mut sock = UdpSocket::bind(common::client_bind_addr(server_address))?;

    // Send the message, then receive the response.
    let mut client = DatagramEchoClient::new(MESSAGE, server_address, [0u8; CHAPTER_DATAGRAM_SIZE]);
    let result = run_datagram(&mut sock, &mut client, &SystemClock, &mut |client| {
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Sending(message) => println!("sending {}", PyBytes(message)),
                ClientEvent::Waiting => println!("waiting to receive"),
                ClientEvent::Received(data) => println!("received {}", PyBytes(data)),
                _ => {}
            }
        }
    });

    println!("closing socket");
    drop(sock);
    Ok(result?)
}
