//! `socket_echo_client`: the chapter's TCP echo client. It connects to `localhost` port 10000,
//! sends the message, and reads the echo 16 bytes at a time until all of it has come back.
//!
//! The core's [`EchoClient`] state machine does the protocol, run over a std TCP stream by
//! [`run_stream`]: it also checks that every echoed byte equals the one sent, and fails if the
//! server closes early. Start `socket_echo_server` (or any echo server on that port) first:
//!
//! ```text
//! cargo run --example socket_echo_server          # first, in another terminal
//! cargo run --example socket_echo_client [HOST] [PORT]
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::stream::{ClientEvent, EchoClient};
use portsock::core::echo::{CHAPTER_CHUNK, CHAPTER_MESSAGE};
use portsock::core::wire::repr::PyBytes;
use portsock::std::tcp::TcpStream;

/// What the client sends, and expects back.
const MESSAGE: &[u8] = CHAPTER_MESSAGE;

/// The chapter's TCP echo client: connect to HOST port PORT, send the message, and read the
/// echo 16 bytes at a time, checking every byte.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_client", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
}

fn main() -> common::Result {
    let args = Args::parse();
    let server_address = (args.server.host, args.server.port);

    // Connect the socket to the port where the server is listening.
    println!(
        "connecting to {} port {}",
        server_address.0, server_address.1
    );
    let addr = common::server_addr(&server_address.0, server_address.1)?;
    let mut sock = TcpStream::connect(addr, None)?;

    // Send the message, then look for the response, 16 bytes at a time.
    let mut client = EchoClient::chapter(MESSAGE, [0u8; CHAPTER_CHUNK]);
    let result = run_stream(&mut sock, &mut client, &mut |client| {
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Sending(message) => println!("sending {}", PyBytes(message)),
                ClientEvent::Received(data) => println!("received {}", PyBytes(data)),
                _ => {}
            }
        }
    });

    // Close whether or not the echo came back, as the chapter's `finally:` does.
    println!("closing socket");
    drop(sock);
    Ok(result?)
}
