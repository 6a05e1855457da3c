//! `socket_echo_client_explicit`: the echo client, connecting to the server named on the
//! command line rather than to `localhost`.
//!
//! The echo is the core's [`EchoClient`] (every echoed byte verified), run by [`run_stream`].
//!
//! ```text
//! cargo run --example socket_echo_server_explicit HOST    # first, on the server host
//! cargo run --example socket_echo_client_explicit HOST [PORT]
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

/// The echo client connecting to the server named on the command line (the chapter's
/// sys.argv[1]) rather than to localhost.
#[derive(Debug, Parser)]
#[command(name = "socket_echo_client_explicit", version)]
struct Args {
    #[command(flatten)]
    server: common::ExplicitServer,
}

fn main() -> common::Result {
    let args = Args::parse();
    // Connect the socket to the port on the server given by the caller.
    let server_address = (args.server.host, args.server.port);
    println!(
        "connecting to {} port {}",
        server_address.0, server_address.1
    );
    let addr = common::server_addr(&server_address.0, server_address.1)?;
    let mut sock = TcpStream::connect(addr, None)?;

    let mut client = EchoClient::chapter(MESSAGE, [0u8; CHAPTER_CHUNK]);
    run_stream(&mut sock, &mut client, &mut |client| {
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Sending(message) => println!("sending {}", PyBytes(message)),
                ClientEvent::Received(data) => println!("received {}", PyBytes(data)),
                _ => {}
            }
        }
    })?;
    Ok(())
}
