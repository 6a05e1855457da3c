//! `socket_echo_client_uds`: the echo client on a Unix-domain socket, connecting to the path
//! `./uds_socket` that `socket_echo_server_uds` created. If it cannot connect (no server, or
//! no permission on the socket file) it prints why and exits with status 1.
//!
//! The echo is the core's [`EchoClient`] (every byte verified), run by [`run_stream`].
//!
//! ```text
//! cargo run --example socket_echo_server_uds     # first, in another terminal
//! cargo run --example socket_echo_client_uds [PATH]
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::echo::stream::{ClientEvent, EchoClient};
use portsock::core::echo::{CHAPTER_CHUNK, CHAPTER_MESSAGE};
use portsock::core::wire::repr::PyBytes;
use portsock::std::unix::UnixStream;

/// What the client sends, and expects back.
const MESSAGE: &[u8] = CHAPTER_MESSAGE;

/// The echo client on a Unix-domain socket: connect to PATH, send the message, read the echo
/// 16 bytes at a time. If it cannot connect it says why and exits with status 1.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_client_uds", version)]
struct Args {
    #[command(flatten)]
    uds: common::UdsPath,
}

fn main() -> common::Result {
    let args = Args::parse();
    let server_address = args.uds.path;

    // Connect the socket to the path where the server is listening.
    println!("connecting to {server_address}");
    let mut sock = match UnixStream::connect(&server_address) {
        Ok(sock) => sock,
        Err(e) => {
            println!("{e}");
            std::process::exit(1);
        }
    };

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
