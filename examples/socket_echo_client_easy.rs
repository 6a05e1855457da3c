//! `socket_echo_client_easy`: the echo client again, connecting the easy way, with Python's
//! `socket.create_connection()`: resolve the host, then try each of its addresses in turn
//! until one accepts. It prints the family, type and protocol of the socket it got.
//!
//! [`TcpStream::create_connection`] does the resolving and trying; the core's [`EchoClient`]
//! does the echo, run by [`run_stream`].
//!
//! ```text
//! cargo run --example socket_echo_server          # first, in another terminal
//! cargo run --example socket_echo_client_easy [HOST] [PORT]
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::stream::{ClientEvent, EchoClient};
use portsock::core::echo::{CHAPTER_CHUNK, CHAPTER_MESSAGE};
use portsock::core::table::consts::{AF, IPPROTO, SOCK, name_of};
use portsock::core::wire::repr::PyBytes;
use portsock::std::tcp::TcpStream;

/// What the client sends, and expects back.
const MESSAGE: &[u8] = CHAPTER_MESSAGE;

/// The echo client connecting the easy way (Python's create_connection): try each address
/// of HOST in turn, print the socket's family, type and protocol, then echo.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_client_easy", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
}

fn main() -> common::Result {
    let args = Args::parse();
    let (host, port) = (args.server.host, args.server.port);

    // Resolve, then connect to the first address that accepts.
    let mut sock = TcpStream::create_connection(&host, port, None)?;

    // The socket's family, type and protocol, named as Python's socket module names them.
    let socket = sock.socket();
    let family = name_of(AF, socket.domain()?.into());
    let kind = name_of(SOCK, socket.r#type()?.into());
    let protocol = socket.protocol()?.and_then(|p| name_of(IPPROTO, p.into()));
    println!("Family  : {}", family.unwrap_or("?"));
    println!("Type    : {}", kind.unwrap_or("?"));
    println!("Protocol: {}", protocol.unwrap_or("?"));
    println!();

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

    println!("closing socket");
    drop(sock);
    Ok(result?)
}
