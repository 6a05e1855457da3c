//! `tokio_echo_client`: `socket_echo_client` on tokio: the same core [`EchoClient`], run by
//! the core's async driver over portsock's tokio stream.
//!
//! ```text
//! cargo run --example tokio_echo_client [HOST] [PORT]
//! ```

mod common;

use clap::Parser;
use portsock::core::asynch::drive::run_stream;
use portsock::core::echo::stream::{ClientEvent, EchoClient};
use portsock::core::echo::{CHAPTER_CHUNK, CHAPTER_MESSAGE};
use portsock::core::wire::repr::PyBytes;
use portsock::std::tokio::TcpStream;

/// socket_echo_client on tokio: connect to HOST port PORT, send the message and check the
/// echo, with the core's async driver.
#[derive(Debug, Parser)]
#[command(name = "tokio_echo_client", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> common::Result {
    let args = Args::parse();
    let (host, port) = (args.server.host, args.server.port);
    println!("connecting to {host} port {port}");
    let mut sock = TcpStream::connect(common::server_addr(&host, port)?).await?;

    // Send the message, then look for the response, 16 bytes at a time.
    let mut client = EchoClient::new(CHAPTER_MESSAGE, [0u8; CHAPTER_CHUNK]);
    let result = run_stream(&mut sock, &mut client, &mut |client| {
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Sending(message) => println!("sending {}", PyBytes(message)),
                ClientEvent::Received(data) => println!("received {}", PyBytes(data)),
                _ => {}
            }
        }
    })
    .await;
    println!("closing socket");
    drop(sock);
    Ok(result?)
}
